//! Operator routes: no auth, no data.

use std::{
    collections::HashMap,
    sync::{OnceLock, PoisonError, RwLock},
    time::Instant,
};

use axum::{
    extract::{MatchedPath, Request, State},
    http::{
        Method, StatusCode,
        header::{CONTENT_LENGTH, CONTENT_TYPE},
    },
    middleware::Next,
    response::{IntoResponse, Response},
};
use metrics::{Counter, Histogram};
use serde::Serialize;

use futures_util::StreamExt;

use crate::error::AppError;
use crate::http::{AppState, DRAIN_BYTES, MAX_BODY_BYTES, extract::Json};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(prometheus))
}

/// The answer of `/healthz` and `/readyz`.
#[derive(Serialize, utoipa::ToSchema)]
struct Status {
    status: &'static str,
    /// Set when the database does not answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    database: Option<&'static str>,
}

/// The process is alive; touches nothing.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "alive", body = Status)), security(()))]
async fn healthz() -> Json<Status> {
    Json(Status {
        status: "ok",
        database: None,
    })
}

/// The database answers on both the writer and the reader handles.
#[utoipa::path(get, path = "/readyz", tag = "operations", responses((status = 200, description = "ready", body = Status), (status = 503, description = "the database does not answer", body = Status)), security(()))]
async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Status>) {
    match state.db.ping().await {
        Ok(()) => (
            StatusCode::OK,
            Json(Status {
                status: "ready",
                database: None,
            }),
        ),
        Err(err) => {
            tracing::warn!(error = %err, "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(Status {
                    status: "unavailable",
                    database: Some("unreachable"),
                }),
            )
        }
    }
}

/// Prometheus text format: request counts and latencies (recorded by
/// [`record`]), and the cache and pool counters, copied in at scrape time.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, description = "Prometheus text format", body = String, content_type = "text/plain")), security(()))]
async fn prometheus(State(state): State<AppState>) -> Response {
    let stats = state.cache.stats().await;
    for view in &stats.views {
        let name = view.view.name();
        for (tier, value) in [
            ("l1", view.hits_l1),
            ("l2", view.hits_l2),
            ("stale", view.stale),
        ] {
            metrics::counter!("mfuko_cache_hits_total", "view" => name, "tier" => tier)
                .absolute(value);
        }
        metrics::counter!("mfuko_cache_misses_total", "view" => name).absolute(view.misses);
        metrics::counter!("mfuko_cache_coalesced_total", "view" => name).absolute(view.coalesced);
        metrics::counter!("mfuko_cache_loads_total", "view" => name).absolute(view.loads);
        metrics::gauge!("mfuko_cache_load_seconds_total", "view" => name)
            .set(view.load_ms_total / 1000.0);
    }
    metrics::gauge!("mfuko_cache_l1_items").set(stats.l1.items as f64);
    metrics::gauge!("mfuko_cache_l1_bytes").set(stats.l1.bytes as f64);
    metrics::counter!("mfuko_cache_l1_evictions_total").absolute(stats.l1.evictions);
    metrics::gauge!("mfuko_cache_l2_up").set(if stats.l2 == "up" { 1.0 } else { 0.0 });
    let pools = state.db.stats();
    for (pool, numbers) in [("writer", &pools.writer), ("reader", &pools.reader)] {
        metrics::gauge!("mfuko_db_pool_connections", "pool" => pool).set(f64::from(numbers.size));
        metrics::gauge!("mfuko_db_pool_idle", "pool" => pool).set(numbers.idle as f64);
    }
    if let Some(replicas) = &pools.replicas {
        for replica in &replicas.replicas {
            let name = replica.name.clone();
            metrics::gauge!("mfuko_db_pool_connections", "pool" => name.clone())
                .set(f64::from(replica.pool.size));
            metrics::gauge!("mfuko_db_pool_idle", "pool" => name.clone())
                .set(replica.pool.idle as f64);
            metrics::gauge!("mfuko_db_replica_healthy", "replica" => name.clone())
                .set(if replica.usable { 1.0 } else { 0.0 });
            metrics::gauge!("mfuko_db_replica_lag_bytes", "replica" => name.clone())
                .set(replica.lag_bytes as f64);
            metrics::gauge!("mfuko_db_replica_lag_seconds", "replica" => name.clone())
                .set(replica.lag_seconds);
            metrics::counter!("mfuko_db_reads_total", "target" => name).absolute(replica.reads);
        }
        let reads = &replicas.reads;
        metrics::counter!("mfuko_db_reads_total", "target" => "primary_fallback")
            .absolute(reads.primary_fallback);
        metrics::counter!("mfuko_db_reads_refused_total").absolute(reads.refused);
        metrics::counter!("mfuko_db_reads_waited_total").absolute(reads.waited);
    }
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4")],
        crate::telemetry::metrics().render(),
    )
        .into_response()
}

/// Middleware: logs one access line per request (INFO), counts every request
/// by route template and status, and records its latency.
pub async fn record(request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().cloned();
    let route = route.as_ref().map_or("unmatched", MatchedPath::as_str);
    let method = method_label(request.method());
    let started = Instant::now();
    let response = next.run(request).await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    // The access line: one event, no span (a span per request costs the hot
    // path more than the line itself). The route template, never the URI:
    // query strings may carry secrets (the M-Pesa callback's).
    tracing::info!(
        target: "mfuko::access",
        method,
        route,
        status,
        micros = elapsed.as_micros() as u64,
    );
    let (requests, duration) = request_metrics(method, route, status);
    requests.increment(1);
    duration.record(elapsed.as_secs_f64());
    response
}

/// The standard methods by name; anything else is one label, so a client
/// cannot grow the metrics with made-up methods.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// The request counter and latency histogram of one method, route template
/// and status. The handles are registered once per combination (routes are
/// templates, so there are few), and a request then builds no labels at all.
fn request_metrics(method: &'static str, route: &str, status: u16) -> (Counter, Histogram) {
    type ByRoute = HashMap<String, HashMap<(&'static str, u16), (Counter, Histogram)>>;
    static HANDLES: OnceLock<RwLock<ByRoute>> = OnceLock::new();
    let handles = HANDLES.get_or_init(RwLock::default);
    if let Some(found) = handles
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .get(route)
        .and_then(|by_status| by_status.get(&(method, status)))
    {
        return found.clone();
    }
    let labels = [("method", method.to_owned()), ("route", route.to_owned())];
    let counter = metrics::counter!(
        "mfuko_http_requests_total",
        "method" => method,
        "route" => route.to_owned(),
        "status" => status.to_string()
    );
    let histogram = metrics::histogram!("mfuko_http_request_duration_seconds", &labels);
    handles
        .write()
        .unwrap_or_else(PoisonError::into_inner)
        .entry(route.to_owned())
        .or_default()
        .insert((method, status), (counter.clone(), histogram.clone()));
    (counter, histogram)
}

/// Middleware: a body announced (`Content-Length`) as larger than
/// [`MAX_BODY_BYTES`] is answered 413 in the API's error shape. The body is
/// read and dropped first (up to [`DRAIN_BYTES`]), so a client still sending
/// receives the answer instead of a reset connection.
pub async fn limit_body(request: Request, next: Next) -> Response {
    let announced = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if announced.is_none_or(|length| length <= MAX_BODY_BYTES as u64) {
        return next.run(request).await;
    }
    let mut body = request.into_body().into_data_stream();
    let mut drained = 0;
    while drained <= DRAIN_BYTES {
        match body.next().await {
            Some(Ok(chunk)) => drained += chunk.len(),
            _ => break,
        }
    }
    AppError::PayloadTooLarge(MAX_BODY_BYTES).into_response()
}
