//! Operator routes: `/healthz`, `/readyz`, `/metrics` — no auth, no data.
//!
//! The metrics recorder is shared by the whole test process, and every scrape writes every
//! series, so these tests never ask whether a series exists: they compare values before and
//! after requests of their own, on labels that no other test produces. Scrapes are
//! serialised by [`SCRAPES`], so the tests here do not count each other's requests.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};

use reqwest::{Method, StatusCode};

use crate::helpers::{TestApp, id, new_property, setup_lease};

/// Held by every test that scrapes `/metrics`, from its first scrape to its last.
static SCRAPES: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn health_and_readiness_need_no_token(app: TestApp) {
    let health = app.request(Method::GET, "/healthz", None, None).await;
    assert_eq!(health.expect(StatusCode::OK)["status"], "ok");
    let ready = app.request(Method::GET, "/readyz", None, None).await;
    assert_eq!(ready.expect(StatusCode::OK)["status"], "ready");

    // With the database gone, the process is alive but not ready.
    app.db.close().await;
    let ready = app.request(Method::GET, "/readyz", None, None).await;
    let body = ready.expect(StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["status"], "unavailable", "{body}");
    assert_eq!(body["database"], "unreachable", "{body}");
    let health = app.request(Method::GET, "/healthz", None, None).await;
    assert_eq!(health.expect(StatusCode::OK)["status"], "ok");
}

/// Each request is counted once, under its method, route template and status, and timed
/// once, under its method and route template.
async fn metrics_count_each_request_once(app: TestApp) {
    const HEADS: u32 = 3;
    const POSTS: u32 = 2;
    let _serial = SCRAPES.lock().await;
    let before = scrape(&app).await;
    // HEAD and POST of `/healthz`: no other test sends either.
    for _ in 0..HEADS {
        let reply = app.request(Method::HEAD, "/healthz", None, None).await;
        assert_eq!(reply.status, StatusCode::OK);
    }
    for _ in 0..POSTS {
        let reply = app.request(Method::POST, "/healthz", None, None).await;
        assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    }
    let after = scrape(&app).await;

    let requests = |method, status| {
        after.delta(
            &before,
            "mfuko_http_requests_total",
            &[
                ("method", method),
                ("route", "/healthz"),
                ("status", status),
            ],
        )
    };
    let shown = after.show("mfuko_http_requests_total");
    assert_eq!(requests("HEAD", "200"), f64::from(HEADS), "{shown}");
    assert_eq!(requests("POST", "405"), f64::from(POSTS), "{shown}");
    let timings = |series, method| {
        after.delta(
            &before,
            series,
            &[("method", method), ("route", "/healthz")],
        )
    };
    assert_eq!(
        timings("mfuko_http_request_duration_seconds_count", "HEAD"),
        f64::from(HEADS)
    );
    assert_eq!(
        timings("mfuko_http_request_duration_seconds_count", "POST"),
        f64::from(POSTS)
    );
    assert!(timings("mfuko_http_request_duration_seconds_sum", "HEAD") > 0.0);
    let every_timing = after.delta(
        &before,
        "mfuko_http_request_duration_seconds_bucket",
        &[("method", "HEAD"), ("route", "/healthz"), ("le", "+Inf")],
    );
    assert_eq!(every_timing, f64::from(HEADS));
    // The first scrape is counted by the time its reply arrives; only the tests here scrape.
    assert_eq!(
        after.delta(
            &before,
            "mfuko_http_requests_total",
            &[("method", "GET"), ("route", "/metrics"), ("status", "200")],
        ),
        1.0
    );
}

/// Routes are labelled by their template: never a raw path, a query string or a token.
async fn metrics_label_routes_by_template(app: TestApp) {
    let (_, token) = app.landlord("metrics@example.co.ke").await;
    let property = new_property(&app, &token, "Lavington Court").await;
    let raw_path = format!("/api/v1/properties/{property}");
    let query = "marker=ops-metrics-label-test";

    let _serial = SCRAPES.lock().await;
    let before = scrape(&app).await;
    let row = app
        .get(&format!("{raw_path}?{query}"), &token)
        .await
        .expect(StatusCode::OK);
    assert_eq!(id(&row), property);
    let after = scrape(&app).await;

    // At least: other tests read properties too.
    let template = [
        ("method", "GET"),
        ("route", "/api/v1/properties/{id}"),
        ("status", "200"),
    ];
    assert!(
        after.delta(&before, "mfuko_http_requests_total", &template) >= 1.0,
        "{}",
        after.show("mfuko_http_requests_total")
    );
    assert!(!after.text.contains(&raw_path), "raw path in metrics");
    assert!(!after.text.contains(query), "query string in metrics");
    assert!(!after.text.contains(&token), "token in metrics");
}

/// `/metrics` reports the cache's counters and the pools' sizes.
async fn metrics_report_cache_outcomes_and_pools(app: TestApp) {
    // The cache counters are copied from the scraped app's own statistics with `absolute`,
    // which keeps the largest value any app in this process reported. Each run makes more
    // hits than any run before it, so the value scraped is this app's.
    static RUNS: AtomicU64 = AtomicU64::new(0);
    let hits = 3 + 2 * RUNS.fetch_add(1, Ordering::Relaxed);

    let (_, token) = app.landlord("metrics@example.co.ke").await;
    setup_lease(&app, &token, None).await;
    let _serial = SCRAPES.lock().await;
    assert_eq!(dashboard(&app, &token).await, "MISS");
    for _ in 0..hits {
        assert_eq!(dashboard(&app, &token).await, "HIT-L1");
    }
    let after = scrape(&app).await;

    let dashboard_counter = |name, tier: Option<&'static str>| {
        let mut labels = vec![("view", "dashboard")];
        labels.extend(tier.map(|tier| ("tier", tier)));
        after.value(name, &labels)
    };
    assert_eq!(
        dashboard_counter("mfuko_cache_hits_total", Some("l1")),
        hits as f64,
        "{}",
        after.show("mfuko_cache_")
    );
    assert_eq!(
        dashboard_counter("mfuko_cache_misses_total", None),
        1.0,
        "{}",
        after.show("mfuko_cache_")
    );
    // Gauges are set by the latest scrape: this one.
    assert!(
        after.value("mfuko_db_pool_connections", &[("pool", "writer")]) >= 1.0,
        "{}",
        after.show("mfuko_db_pool_")
    );
}

/// The `X-Cache` header of a dashboard read.
async fn dashboard(app: &TestApp, token: &str) -> String {
    let response = app
        .client
        .get(app.url("/api/v1/dashboard"))
        .bearer_auth(token)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::OK);
    response
        .headers()
        .get("x-cache")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// One scrape of `/metrics`: every sample, keyed by [`series`].
struct Scrape {
    text: String,
    samples: HashMap<String, f64>,
}

impl Scrape {
    /// The sample's value; 0 when the series is not there yet.
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let labels = labels.iter().map(|&(k, v)| (k.to_owned(), v.to_owned()));
        let key = series(name, &labels.collect());
        self.samples.get(&key).copied().unwrap_or(0.0)
    }

    /// The samples whose series name starts with `prefix`, for failure messages.
    fn show(&self, prefix: &str) -> String {
        let lines: Vec<&str> = self
            .text
            .lines()
            .filter(|line| line.starts_with(prefix))
            .collect();
        lines.join("\n")
    }

    /// How much the sample grew since `before`.
    fn delta(&self, before: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.value(name, labels) - before.value(name, labels)
    }
}

async fn scrape(app: &TestApp) -> Scrape {
    let response = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.expect("body");
    let samples = text
        .lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| parse_sample(line).unwrap_or_else(|| panic!("unparsable sample: {line}")))
        .collect();
    Scrape { text, samples }
}

/// `name{a="1",b="2"}` with the labels sorted: the same series, however it was written.
fn series(name: &str, labels: &BTreeMap<String, String>) -> String {
    let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{name}{{{}}}", labels.join(","))
}

/// A line of the Prometheus text format, `name{label="value",...} value` (no timestamp).
fn parse_sample(line: &str) -> Option<(String, f64)> {
    let (head, value) = line.trim().rsplit_once(' ')?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        number => number.parse().ok()?,
    };
    let Some((name, rest)) = head.split_once('{') else {
        return Some((series(head, &BTreeMap::new()), value));
    };
    let mut labels = BTreeMap::new();
    let mut rest = rest.strip_suffix('}')?;
    while !rest.is_empty() {
        let (key, after) = rest.split_once("=\"")?;
        // The value runs to the first quote not escaped by a backslash.
        let mut label = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next()? {
                (_, '\\') => label.push(match chars.next()?.1 {
                    'n' => '\n',
                    other => other,
                }),
                (at, '"') => break at,
                (_, other) => label.push(other),
            }
        };
        labels.insert(key.to_owned(), label);
        rest = after[end + 1..].trim_start_matches(',');
    }
    Some((series(name, &labels), value))
}

crate::on_both_databases!(
    health_and_readiness_need_no_token,
    metrics_count_each_request_once,
    metrics_label_routes_by_template,
    metrics_report_cache_outcomes_and_pools,
);
