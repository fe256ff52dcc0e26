//! The API's description: served, complete, with its security. (That it is
//! true is `tests/fuzz`'s business: schemathesis against every operation.)

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::TestApp;

/// Every route the server answers, as `METHOD path`.
const OPERATIONS: &[&str] = &[
    "POST /api/v1/auth/login",
    "POST /api/v1/auth/logout",
    "GET /api/v1/auth/me",
    "GET /api/v1/properties",
    "POST /api/v1/properties",
    "GET /api/v1/properties/{id}",
    "PATCH /api/v1/properties/{id}",
    "DELETE /api/v1/properties/{id}",
    "GET /api/v1/properties/{id}/units",
    "POST /api/v1/properties/{id}/units",
    "GET /api/v1/units/{id}",
    "PATCH /api/v1/units/{id}",
    "DELETE /api/v1/units/{id}",
    "GET /api/v1/tenants",
    "POST /api/v1/tenants",
    "GET /api/v1/tenants/{id}",
    "PATCH /api/v1/tenants/{id}",
    "DELETE /api/v1/tenants/{id}",
    "GET /api/v1/leases",
    "POST /api/v1/leases",
    "GET /api/v1/leases/{id}",
    "PATCH /api/v1/leases/{id}",
    "GET /api/v1/charges",
    "POST /api/v1/charges",
    "POST /api/v1/charges/run",
    "GET /api/v1/charges/{id}",
    "PATCH /api/v1/charges/{id}",
    "GET /api/v1/payments",
    "POST /api/v1/payments",
    "GET /api/v1/payments/{id}",
    "PATCH /api/v1/payments/{id}",
    "POST /api/v1/payments/mpesa/c2b",
    "GET /api/v1/mpesa/shortcodes",
    "POST /api/v1/mpesa/shortcodes",
    "GET /api/v1/dashboard",
    "GET /api/v1/landlords/{id}/dashboard",
    "GET /api/v1/metrics/payments",
    "GET /api/v1/reports/occupancy",
    "GET /api/v1/reports/financial",
    "GET /api/v1/reports/payments",
    "GET /api/v1/reports/arrears",
    "GET /api/v1/admin/db",
    "GET /api/v1/admin/cache/stats",
    "POST /api/v1/admin/cache/clear",
    "POST /api/v1/admin/cache/warm",
    "GET /api/v1/admin/payments/unallocated",
    "PATCH /api/v1/admin/payments/{id}",
    "GET /healthz",
    "GET /readyz",
    "GET /metrics",
];

async fn the_document(app: &TestApp) -> Value {
    app.request(Method::GET, "/api/v1/openapi.json", None, None)
        .await
        .expect(StatusCode::OK)
}

async fn every_route_is_described_with_its_security(app: TestApp) {
    let api = the_document(&app).await;
    assert_eq!(api["openapi"], "3.1.0");
    let mut described = Vec::new();
    for (path, item) in api["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            described.push(format!("{} {path}", method.to_uppercase()));
            let responses = operation["responses"].as_object().expect("responses");
            for status in ["400", "401", "404", "422", "500"] {
                assert!(
                    responses.contains_key(status),
                    "{method} {path}: no {status}"
                );
            }
        }
    }
    described.sort();
    let mut expected: Vec<String> = OPERATIONS.iter().map(|op| (*op).to_owned()).collect();
    expected.sort();
    assert_eq!(described, expected);

    let schemes = &api["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["c2b_secret"]["name"], "X-Mpesa-Secret");
    assert_eq!(api["security"], json!([{ "bearer": [] }]));
    let login = &api["paths"]["/api/v1/auth/login"]["post"];
    assert_eq!(login["security"], json!([{}]), "login needs no token");
    let codes = api["components"]["schemas"]["ErrorCode"]["enum"]
        .as_array()
        .expect("error codes");
    assert!(codes.contains(&json!("amount_out_of_range")), "{codes:?}");

    let docs = app
        .client
        .get(app.url("/docs"))
        .send()
        .await
        .expect("GET /docs");
    assert_eq!(docs.status(), StatusCode::OK);
    let page = docs.text().await.expect("docs page");
    assert!(page.contains("/api/v1/openapi.json"));
    assert!(
        !page.contains("http://") && !page.contains("https://"),
        "nothing fetched from elsewhere"
    );
}

crate::on_both_databases!(every_route_is_described_with_its_security);
