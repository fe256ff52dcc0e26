//! A closed-loop HTTP load generator: `connections` tasks each send a request,
//! wait for its answer, and send the next, for a warm-up and then a measured
//! period; latencies of the measured period go into an HDR histogram.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use hdrhistogram::Histogram;
use reqwest::{Client, Method};
use serde::Serialize;
use serde_json::Value;

/// One request of a scenario.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    pub url: String,
    pub token: Option<String>,
    /// Send the token as the web app's session cookie, not a bearer header.
    pub session: bool,
    pub body: Option<Value>,
}

impl Request {
    pub fn get(url: String, token: Option<&str>) -> Request {
        Request {
            method: Method::GET,
            url,
            token: token.map(str::to_owned),
            session: false,
            body: None,
        }
    }

    /// A web page, as a signed-in browser asks for it.
    pub fn page(url: String, token: &str) -> Request {
        Request {
            session: true,
            ..Request::get(url, Some(token))
        }
    }
}

/// What one scenario measured.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub requests: u64,
    pub errors: u64,
    pub seconds: f64,
    pub throughput: f64,
    pub p50_us: u64,
    pub p90_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
}

/// What a scenario sends: its `n`th request (numbers run on across the
/// slices of an alternated run).
pub type Next = Arc<dyn Fn(u64) -> Request + Send + Sync>;

/// Drives `next` (called with a running request number) from `connections`
/// concurrent loops: `warmup` unmeasured, then `duration` measured.
pub async fn run(
    client: &Client,
    connections: usize,
    warmup: Duration,
    duration: Duration,
    next: Next,
) -> Outcome {
    let mut load = Load::new(next, connections);
    load.slice(client, warmup, duration).await;
    load.outcome()
}

/// How long a slice of an alternated run settles before it is measured:
/// the requests of the last slice's target have drained by then.
const SETTLE: Duration = Duration::from_millis(100);

/// How long each measured slice of the main load lasts in an alternated
/// run; each reference gets half as long after it.
const SLICE: Duration = Duration::from_secs(1);

/// Drives `main` for `duration` in slices of a second, each followed by
/// half a second of every one of `references` (after a short settling of
/// each), and returns the main outcome and the references'. This machine's
/// speed moves by a third within minutes; a ratio of two loads measured in
/// alternation over the same seconds moves much less than one of two loads
/// measured a scenario apart.
pub async fn run_alongside(
    client: &Client,
    connections: usize,
    warmup: Duration,
    duration: Duration,
    main: Next,
    references: Vec<Next>,
) -> (Outcome, Vec<Outcome>) {
    let mut main = Load::new(main, connections);
    let mut references: Vec<Load> = references
        .into_iter()
        .map(|next| Load::new(next, connections))
        .collect();
    main.slice(client, warmup, Duration::ZERO).await;
    let mut left = duration;
    while !left.is_zero() {
        let length = left.min(SLICE);
        left -= length;
        main.slice(client, SETTLE, length).await;
        for reference in &mut references {
            reference.slice(client, SETTLE, length / 2).await;
        }
    }
    let outcomes = references.iter().map(Load::outcome).collect();
    (main.outcome(), outcomes)
}

/// One target's load over the slices it is driven in.
struct Load {
    next: Next,
    /// Each loop's next request number: loop `w` sends `w`, `w + connections`, …
    numbers: Vec<u64>,
    histogram: Histogram<u64>,
    requests: u64,
    errors: u64,
    measured: Duration,
}

impl Load {
    fn new(next: Next, connections: usize) -> Load {
        Load {
            next,
            numbers: (0..connections.max(1) as u64).collect(),
            histogram: new_histogram(),
            requests: 0,
            errors: 0,
            measured: Duration::ZERO,
        }
    }

    /// `settle` unmeasured, then `length` measured: the requests sent and
    /// answered within it.
    async fn slice(&mut self, client: &Client, settle: Duration, length: Duration) {
        let step = self.numbers.len() as u64;
        let measure_from = Instant::now() + settle;
        let end = measure_from + length;
        let mut tasks = Vec::with_capacity(self.numbers.len());
        for &first in &self.numbers {
            let (client, next) = (client.clone(), Arc::clone(&self.next));
            tasks.push(tokio::spawn(async move {
                let mut histogram = new_histogram();
                let (mut requests, mut errors) = (0_u64, 0_u64);
                let mut n = first;
                while Instant::now() < end {
                    let request = next(n);
                    n += step;
                    let sent = Instant::now();
                    let ok = send(&client, request).await;
                    let done = Instant::now();
                    if sent >= measure_from && done <= end {
                        requests += 1;
                        if !ok {
                            errors += 1;
                        }
                        let micros = u64::try_from((done - sent).as_micros()).unwrap_or(u64::MAX);
                        let _ = histogram.record(micros.max(1));
                    }
                }
                (histogram, requests, errors, n)
            }));
        }
        for (number, task) in self.numbers.iter_mut().zip(tasks) {
            if let Ok((part, requests, errors, n)) = task.await {
                let _ = self.histogram.add(part);
                self.requests += requests;
                self.errors += errors;
                *number = n;
            }
        }
        self.measured += length;
    }

    fn outcome(&self) -> Outcome {
        Outcome::new(&self.histogram, self.requests, self.errors, self.measured)
    }
}

impl Outcome {
    /// `requests` (of which `errors` failed) over `duration`, with their
    /// latencies in `histogram` (µs).
    pub fn new(
        histogram: &Histogram<u64>,
        requests: u64,
        errors: u64,
        duration: Duration,
    ) -> Outcome {
        let seconds = duration.as_secs_f64();
        Outcome {
            requests,
            errors,
            seconds,
            throughput: requests as f64 / seconds,
            p50_us: histogram.value_at_quantile(0.50),
            p90_us: histogram.value_at_quantile(0.90),
            p99_us: histogram.value_at_quantile(0.99),
            max_us: histogram.max(),
        }
    }
}

pub fn new_histogram() -> Histogram<u64> {
    // 1 µs to 60 s at 3 significant digits: constant, valid bounds.
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds")
}

async fn send(client: &Client, request: Request) -> bool {
    let mut builder = client.request(request.method, &request.url);
    match (&request.token, request.session) {
        (Some(token), true) => {
            builder = builder.header(
                reqwest::header::COOKIE,
                format!("{}={token}", crate::web::SESSION_COOKIE),
            );
        }
        (Some(token), false) => builder = builder.bearer_auth(token),
        (None, _) => {}
    }
    if let Some(body) = &request.body {
        builder = builder.json(body);
    }
    match builder.send().await {
        Ok(response) => {
            let ok = response.status().is_success();
            // Read the body: a response is done when its bytes arrived.
            ok && response.bytes().await.is_ok()
        }
        Err(_) => false,
    }
}
