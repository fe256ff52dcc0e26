//! `mfuko bench --scenarios freshness`: the freshness checker against two
//! instances (two servers the bench starts on one database — sharing Redis
//! with `--redis-url` — or an operator's own with `--url A --url B`). Two
//! writers post payments, one to each instance, to one lease of the demo
//! landlord while four readers read the dashboard and this month's financial
//! report on both; see `crate::freshness` for how reads are judged. Run it
//! against a landlord nobody else is writing to.

use super::BENCH_NOTE;
use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use anyhow::Context;
use hdrhistogram::Histogram;
use reqwest::Client;
use serde_json::{Value, json};

use super::load::{Outcome, new_histogram};
use crate::freshness::{Log, Report, Sample, UNIT, collected};

struct Shared {
    log: Mutex<Log>,
    latencies: Mutex<Histogram<u64>>,
}

impl Shared {
    fn record(&self, sent: Instant, add: impl FnOnce(&mut Log)) {
        let micros = u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX);
        let _ = lock(&self.latencies).record(micros.max(1));
        add(&mut lock(&self.log));
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Runs the checker for `duration` against `bases[0]` (A) and `bases[1]` (B).
pub async fn run(
    client: &Client,
    bases: [String; 2],
    token: &str,
    duration: Duration,
) -> anyhow::Result<(Outcome, Report, i64)> {
    let leases: Value = get(
        client,
        &format!("{}/api/v1/leases?status=active&limit=1", bases[0]),
        token,
    )
    .await?;
    let lease = leases["items"][0]["id"]
        .as_i64()
        .context("an active lease to pay")?;
    let payments_before = count_payments(client, &bases[0], token, lease).await?;
    let financial = get(
        client,
        &format!("{}/api/v1/reports/financial", bases[0]),
        token,
    )
    .await?;
    let base = collected(&financial).context("a collected total")?;

    let shared = Arc::new(Shared {
        log: Mutex::new(Log::default()),
        latencies: Mutex::new(new_histogram()),
    });
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::new();
    for instance in 0..2 {
        let (client, shared, token) = (client.clone(), Arc::clone(&shared), token.to_owned());
        let url = format!("{}/api/v1/payments", bases[instance]);
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                let sent = Instant::now();
                let body = json!({ "lease_id": lease, "amount": UNIT[instance], "method": "cash", "notes": BENCH_NOTE });
                let reply = client
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&body)
                    .send()
                    .await;
                shared.record(sent, |log| match reply {
                    Ok(reply) if reply.status().is_success() => {
                        log.acks[instance].push(started.elapsed());
                    }
                    Ok(reply) => log.failed.push(format!("payment: {}", reply.status())),
                    Err(err) => log.failed.push(format!("payment: {err}")),
                });
                tokio::time::sleep(Duration::from_millis(3)).await;
            }
        }));
    }
    for reader in 0..4 {
        let (client, shared, token) = (client.clone(), Arc::clone(&shared), token.to_owned());
        let instance = reader % 2;
        let path = if reader < 2 {
            "/api/v1/dashboard"
        } else {
            "/api/v1/reports/financial"
        };
        let url = format!("{}{path}", bases[instance]);
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                let at = started.elapsed();
                let sent = Instant::now();
                let body = get(&client, &url, &token).await;
                shared.record(sent, |log| match body.as_ref().ok().and_then(collected) {
                    Some(total) => log.reads.push(Sample {
                        instance,
                        started: at,
                        collected: total - base,
                    }),
                    None => log.failed.push(format!("{path}: no collected total")),
                });
            }
        }));
    }
    for task in tasks {
        task.await.context("a freshness worker")?;
    }
    let elapsed = started.elapsed();
    let payments_after = count_payments(client, &bases[0], token, lease).await?;
    let report = lock(&shared.log).analyze();
    let lost = report.writes as i64 - (payments_after - payments_before);
    let requests = (report.reads + report.writes + report.failed) as u64;
    let outcome = Outcome::new(
        &lock(&shared.latencies),
        requests,
        report.failed as u64,
        elapsed,
    );
    Ok((outcome, report, lost))
}

async fn get(client: &Client, url: &str, token: &str) -> anyhow::Result<Value> {
    Ok(client
        .get(url)
        .bearer_auth(token)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?)
}

/// The lease's payments, following the pages.
async fn count_payments(
    client: &Client,
    base: &str,
    token: &str,
    lease: i64,
) -> anyhow::Result<i64> {
    let mut count = 0;
    let mut after = String::new();
    loop {
        let page = get(
            client,
            &format!("{base}/api/v1/payments?lease_id={lease}&limit=200{after}"),
            token,
        )
        .await?;
        count += page["items"].as_array().map_or(0, Vec::len) as i64;
        match page["next"].as_i64() {
            Some(next) => after = format!("&after={next}"),
            None => return Ok(count),
        }
    }
}
