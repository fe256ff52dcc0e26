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

/// Drives `next` (called with a running request number) from `connections`
/// concurrent loops.
pub async fn run<F>(
    client: &Client,
    connections: usize,
    warmup: Duration,
    duration: Duration,
    next: F,
) -> Outcome
where
    F: Fn(u64) -> Request + Send + Sync + 'static,
{
    let next = Arc::new(next);
    let start = Instant::now();
    let measure_from = start + warmup;
    let end = measure_from + duration;
    let mut tasks = Vec::with_capacity(connections);
    for worker in 0..connections {
        let (client, next) = (client.clone(), Arc::clone(&next));
        tasks.push(tokio::spawn(async move {
            let mut histogram = new_histogram();
            let (mut requests, mut errors) = (0_u64, 0_u64);
            let mut n = worker as u64;
            while Instant::now() < end {
                let request = next(n);
                n += connections as u64;
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
            (histogram, requests, errors)
        }));
    }
    let mut histogram = new_histogram();
    let (mut requests, mut errors) = (0, 0);
    for task in tasks {
        if let Ok((part, r, e)) = task.await {
            let _ = histogram.add(part);
            requests += r;
            errors += e;
        }
    }
    Outcome::new(&histogram, requests, errors, duration)
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
