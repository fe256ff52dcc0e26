//! The freshness checker: two instances on one database and one real Redis;
//! two writers post payments (one to each instance), four readers (two per
//! instance) read the dashboard and this month's financial report; Redis is
//! SIGKILLed a third of the way through and restarted at two thirds. Then:
//!
//! - no read on the instance that acknowledged a write misses it;
//! - in strict mode no read misses any acknowledged write;
//! - reads on the other instance miss a write for at most the documented bound;
//! - no entry in Redis holds less money than an entry of the same view under
//!   generations that are all lower or equal (no inversion);
//! - the database holds exactly the acknowledged payments; no request fails.
//!
//! The bookkeeping is `mfuko::freshness` (shared with `mfuko bench
//! --scenarios freshness`). `FRESHNESS_SECS` sets the run length (default
//! 12 s; 30 s for the long runs in the docs).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use reqwest::StatusCode;
use serde_json::{Value, json};

use mfuko::freshness::{Log, Report, Sample, UNIT, collected};

use crate::helpers::{Backend, TestApp, fresh_database, setup_lease};
use crate::redis_cache::two_instances_on;
use crate::redis_server::RedisServer;

/// How late the other instance may see a write: the invalidation broadcast
/// with Redis up, one generation re-read a second while it is down, plus
/// room for a loaded CI machine.
const OTHER_INSTANCE_BOUND: Duration = Duration::from_millis(2_500);

/// Appends to the shared log (the lock is never held across an await).
fn record(log: &Mutex<Log>, add: impl FnOnce(&mut Log)) {
    add(&mut log.lock().expect("log"));
}

fn run_secs() -> f64 {
    std::env::var("FRESHNESS_SECS")
        .ok()
        .and_then(|secs| secs.parse().ok())
        .unwrap_or(12.0)
}

/// What a run found beyond the report: payments missing from the database,
/// and inversions among the entries left in Redis.
struct Checked {
    report: Report,
    lost: i64,
    inversions: Vec<String>,
}

async fn check(backend: Backend, strict: bool) -> Option<Checked> {
    let mut redis = RedisServer::start()?;
    let (url, dir) = fresh_database(backend).await?;
    let (a, b) = two_instances_on(&redis, &url, dir, strict).await;
    let (_, token) = a.landlord("freshness@example.co.ke").await;
    let lease = setup_lease(&a, &token, None).await.lease;
    let apps = Arc::new([a, b]);
    let log = Arc::new(Mutex::new(Log::default()));
    let started = Instant::now();
    let run = Duration::from_secs_f64(run_secs());
    let deadline = started + run;

    let mut tasks = Vec::new();
    for instance in 0..2 {
        let (apps, log, token) = (Arc::clone(&apps), Arc::clone(&log), token.clone());
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                let body = json!({ "lease_id": lease, "amount": UNIT[instance], "method": "cash" });
                let reply = apps[instance].post("/api/v1/payments", &token, body).await;
                record(&log, |log| {
                    if reply.status == StatusCode::CREATED {
                        log.acks[instance].push(started.elapsed());
                    } else {
                        log.failed
                            .push(format!("payment: {} {}", reply.status, reply.body));
                    }
                });
                tokio::time::sleep(Duration::from_millis(3)).await;
            }
        }));
    }
    for reader in 0..4 {
        let (apps, log, token) = (Arc::clone(&apps), Arc::clone(&log), token.clone());
        let instance = reader % 2;
        let path = if reader < 2 {
            "/api/v1/dashboard"
        } else {
            "/api/v1/reports/financial"
        };
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                let at = started.elapsed();
                let reply = apps[instance].get(path, &token).await;
                record(&log, |log| match (reply.status, collected(&reply.body)) {
                    (StatusCode::OK, Some(total)) => log.reads.push(Sample {
                        instance,
                        started: at,
                        collected: total,
                    }),
                    _ => log
                        .failed
                        .push(format!("{path}: {} {}", reply.status, reply.body)),
                });
            }
        }));
    }
    // Redis dies (SIGKILL) a third of the way through and comes back at two thirds.
    tokio::time::sleep(run / 3).await;
    tokio::task::block_in_place(|| redis.stop());
    tokio::time::sleep(run / 3).await;
    tokio::task::block_in_place(|| redis.restart());
    for task in tasks {
        task.await.expect("worker");
    }

    let log = Arc::try_unwrap(log)
        .expect("workers done")
        .into_inner()
        .expect("log");
    for failure in log.failed.iter().take(5) {
        eprintln!("failed request: {failure}");
    }
    let report = log.analyze();
    // Every acknowledged payment is in the database, and nothing else.
    let listed = count_payments(&apps[0], &token, lease).await;
    let lost = report.writes as i64 - listed;
    let inversions = inversions(&redis);
    eprintln!(
        "freshness {backend:?} strict={strict} {:.0}s: {report:?}, lost {lost}, inversions {}",
        run.as_secs_f64(),
        inversions.len()
    );
    Some(Checked {
        report,
        lost,
        inversions,
    })
}

/// Every payment of the lease, following the pages.
async fn count_payments(app: &TestApp, token: &str, lease: i64) -> i64 {
    let mut count = 0;
    let mut after: Option<String> = None;
    loop {
        let mut path = format!("/api/v1/payments?lease_id={lease}&limit=200");
        if let Some(after) = &after {
            path.push_str(&format!("&after={after}"));
        }
        let page = app.get(&path, token).await.expect(StatusCode::OK);
        count += page["items"].as_array().map_or(0, Vec::len) as i64;
        match page["next"].as_i64() {
            Some(next) => after = Some(next.to_string()),
            None => return count,
        }
    }
}

/// Entries of one view and parameters where one's generations are all lower
/// or equal to another's, yet it holds more money.
fn inversions(redis: &RedisServer) -> Vec<String> {
    let mut connection = redis.connection();
    // view + landlord + params → (generations, collected)
    let mut entries: HashMap<String, Vec<(Vec<u64>, i64)>> = HashMap::new();
    for key in redis.keys("mfuko:v2:*") {
        let Some((head, rest)) = key.split_once(":g") else {
            continue;
        };
        let Some((tag, params)) = rest.split_once(':') else {
            continue;
        };
        let Ok(Some(bytes)) = redis::cmd("GET")
            .arg(&key)
            .query::<Option<Vec<u8>>>(&mut connection)
        else {
            continue;
        };
        let Some(entry) = mfuko::cache::Entry::decode(&bytes, Duration::from_secs(60)) else {
            continue;
        };
        let Some(total) = serde_json::from_slice::<Value>(&entry.body)
            .ok()
            .as_ref()
            .and_then(collected)
        else {
            continue;
        };
        let generations = tag
            .split(['.', '~'])
            .filter_map(|n| n.parse().ok())
            .collect();
        entries
            .entry(format!("{head}:{params}"))
            .or_default()
            .push((generations, total));
    }
    let mut found = Vec::new();
    for (view, versions) in &entries {
        for (low, low_total) in versions {
            for (high, high_total) in versions {
                let dominates =
                    low.len() == high.len() && low.iter().zip(high).all(|(l, h)| l <= h);
                if dominates && high_total < low_total {
                    found.push(format!(
                        "{view}: {low:?}={low_total} > {high:?}={high_total}"
                    ));
                }
            }
        }
    }
    found
}

async fn assert_fresh(backend: Backend, strict: bool) {
    let Some(Checked {
        report,
        lost,
        inversions,
    }) = check(backend, strict).await
    else {
        return;
    };
    assert!(report.reads > 0 && report.writes > 0, "{report:?}");
    assert_eq!(report.failed, 0, "failed requests");
    assert_eq!(lost, 0, "acknowledged payments missing from the database");
    assert_eq!(
        report.stale_same_instance, 0,
        "stale reads on the writing instance"
    );
    if strict {
        assert_eq!(report.stale_other_instance, 0, "stale reads in strict mode");
    }
    assert!(
        report.longest_stale_ms <= OTHER_INSTANCE_BOUND.as_secs_f64() * 1e3,
        "the other instance missed a write for {} ms",
        report.longest_stale_ms
    );
    assert!(inversions.is_empty(), "{inversions:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_default_mode_survives_a_redis_restart() {
    assert_fresh(Backend::Sqlite, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_strict_mode_is_never_stale() {
    assert_fresh(Backend::Sqlite, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_default_mode_survives_a_redis_restart() {
    assert_fresh(Backend::Postgres, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_strict_mode_is_never_stale() {
    assert_fresh(Backend::Postgres, true).await;
}
