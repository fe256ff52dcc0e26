//! The whole API fuzzed against its OpenAPI document by `schemathesis` (from
//! PyPI), on both databases, as the demo landlord and as the admin: no answer
//! may be a server error, and every answer must match its schema.
//!
//! schemathesis is found in `$SCHEMATHESIS`, then on `PATH`; without it these
//! runs are skipped with a loud warning, except under `CI=true`, where they
//! fail (`.ci/run` installs it). `SCHEMATHESIS_MAX_EXAMPLES` sets the examples
//! per operation (default 25).
//!
//! A test binary of its own: the servers it fuzzes share this process's
//! metrics recorder, which the API tests' metric checks must have to
//! themselves. It borrows their harness.

// Only part of the borrowed harness is used here.
#![allow(dead_code)]

#[path = "../api/helpers.rs"]
mod helpers;
#[path = "../api/pg_cluster.rs"]
mod pg_cluster;
#[path = "../api/support.rs"]
mod support;

use std::path::PathBuf;
use std::process::Stdio;

use reqwest::StatusCode;

use crate::helpers::{
    Backend, MPESA_SECRET, TestApp, fresh_database, spawn_app_with, test_settings,
};
use crate::support::{in_ci, on_path, warn_loudly};

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
