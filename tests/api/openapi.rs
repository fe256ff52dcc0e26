//! The API's description: served, complete, and true. `schemathesis` (from
//! PyPI) fuzzes every operation against it, on both databases, checking that
//! no answer is a server error and every answer matches its schema.
//!
//! schemathesis is found in `$SCHEMATHESIS`, then on `PATH`; without it these
//! fuzz runs are skipped with a loud warning, except under `CI=true`, where
//! they fail (`.ci/run` installs it). `SCHEMATHESIS_MAX_EXAMPLES` sets the
//! examples per operation (default 25).

use std::path::PathBuf;
use std::process::Stdio;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{
    Backend, MPESA_SECRET, TestApp, fresh_database, spawn_app_with, test_settings,
};
use crate::support::{in_ci, on_path, warn_loudly};

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

fn schemathesis() -> Option<PathBuf> {
    std::env::var_os("SCHEMATHESIS")
        .map(PathBuf::from)
        .or_else(|| on_path("schemathesis"))
}

/// Logs in as a user of the demo data.
async fn token(app: &TestApp, email: &str, password: &str) -> String {
    app.login(email, password).await
}

/// Runs schemathesis against `app` with `headers`; panics with its report on
/// any failure.
async fn fuzz(program: &PathBuf, app: &TestApp, who: &str, headers: &[String]) {
    let examples = std::env::var("SCHEMATHESIS_MAX_EXAMPLES").unwrap_or_else(|_| "25".into());
    let mut command = tokio::process::Command::new(program);
    command
        .arg("run")
        .arg(app.url("/api/v1/openapi.json"))
        .args(["--checks", "not_a_server_error,response_schema_conformance"])
        .args(["--max-examples", &examples])
        // Logging out would revoke the token the rest of the run uses.
        .args(["--exclude-path", "/api/v1/auth/logout"])
        .args(["--no-color", "--workers", "1"])
        .stdin(Stdio::null());
    for header in headers {
        command.args(["--header", header]);
    }
    let output = command.output().await.expect("running schemathesis");
    let report = String::from_utf8_lossy(&output.stdout);
    let summary: Vec<&str> = report
        .lines()
        .skip_while(|line| !line.contains("SUMMARY"))
        .collect();
    // The command and counts, for the record (`cargo test -- --nocapture`).
    println!("schemathesis as {who}:\n{}", summary.join("\n"));
    assert!(
        output.status.success(),
        "schemathesis as {who} found failures:\n{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

async fn schemathesis_finds_nothing(backend: Backend) {
    let Some(program) = schemathesis() else {
        let message = "schemathesis not found ($SCHEMATHESIS or PATH): the API fuzz run is SKIPPED";
        assert!(!in_ci(), "{message}");
        warn_loudly(&[message, "install it with `pip install schemathesis`"]);
        return;
    };
    let Some((url, dir)) = fresh_database(backend).await else {
        return;
    };
    let mut settings = test_settings(&url);
    settings.database.max_overflow = 8;
    let app = spawn_app_with(settings, dir).await;
    let end = mfuko::types::Period::containing(chrono::Utc::now().date_naive());
    mfuko::demo::load(
        &app.db,
        &mfuko::demo::SeedSpec::small(end),
        chrono_tz::Africa::Nairobi,
        &indicatif::ProgressBar::hidden(),
    )
    .await
    .expect("demo data");
    // Both tokens first: the fuzzed logins lock the loopback address out.
    let landlord = token(&app, "demo@mfuko.local", "demo").await;
    let admin = token(&app, "admin@mfuko.local", "admin").await;
    fuzz(
        &program,
        &app,
        "the demo landlord",
        &[
            format!("Authorization: Bearer {landlord}"),
            format!("X-Mpesa-Secret: {MPESA_SECRET}"),
        ],
    )
    .await;
    fuzz(
        &program,
        &app,
        "an admin",
        &[format!("Authorization: Bearer {admin}")],
    )
    .await;
    // The fuzzing left the reports answering.
    let dashboard = app.get("/api/v1/dashboard", &landlord).await;
    assert_eq!(dashboard.status, StatusCode::OK, "{}", dashboard.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_nothing_on_sqlite() {
    schemathesis_finds_nothing(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_nothing_on_postgres() {
    schemathesis_finds_nothing(Backend::Postgres).await;
}

crate::on_both_databases!(every_route_is_described_with_its_security);
