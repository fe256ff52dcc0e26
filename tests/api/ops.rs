//! Operator routes: `/healthz`, `/readyz`, `/metrics` — no auth, no data.

use reqwest::{Method, StatusCode};

use crate::helpers::{TestApp, setup_lease};

async fn health_and_readiness_need_no_token(app: TestApp) {
    let health = app.request(Method::GET, "/healthz", None, None).await;
    assert_eq!(health.expect(StatusCode::OK)["status"], "ok");
    let ready = app.request(Method::GET, "/readyz", None, None).await;
    assert_eq!(ready.expect(StatusCode::OK)["status"], "ready");

    // With the database gone, the process is alive but not ready.
    app.db.close().await;
    let ready = app.request(Method::GET, "/readyz", None, None).await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    let health = app.request(Method::GET, "/healthz", None, None).await;
    assert_eq!(health.status, StatusCode::OK);
}

async fn metrics_count_requests_and_cache_outcomes(app: TestApp) {
    let (_, token) = app.landlord("metrics@example.co.ke").await;
    setup_lease(&app, &token, None).await;
    app.get("/api/v1/dashboard", &token)
        .await
        .expect(StatusCode::OK);
    app.get("/api/v1/dashboard", &token)
        .await
        .expect(StatusCode::OK);

    let response = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.expect("body");
    assert!(
        text.contains(
            "mfuko_http_requests_total{method=\"GET\",route=\"/api/v1/dashboard\",status=\"200\"}"
        ),
        "{text}"
    );
    assert!(
        text.contains("mfuko_http_request_duration_seconds_bucket"),
        "{text}"
    );
    assert!(
        text.contains("mfuko_cache_misses_total{view=\"dashboard\"}"),
        "{text}"
    );
    assert!(
        text.contains("mfuko_cache_hits_total{view=\"dashboard\",tier=\"l1\"}"),
        "{text}"
    );
    assert!(
        text.contains("mfuko_db_pool_connections{pool=\"writer\"}"),
        "{text}"
    );
    // Labels are route templates, never raw paths or query strings.
    assert!(!text.contains(&token), "no token in metrics");
    assert!(!text.contains("secret"), "no secrets in metrics");
}

crate::on_both_databases!(
    health_and_readiness_need_no_token,
    metrics_count_requests_and_cache_outcomes,
);
