//! The shared tier: two `mfuko serve` instances on one database and one real
//! Redis. L2 hits across instances, cross-instance freshness (strict and
//! default), Redis outages, corrupt values, clears and logouts everywhere.

use std::time::{Duration, Instant};

use redis::TypedCommands;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{
    Backend, TestApp, fresh_database, setup_lease, spawn_app_with, test_settings,
};
use crate::redis_server::RedisServer;

const METRICS: &str = "/api/v1/metrics/payments";

/// Two instances sharing a fresh database (PostgreSQL when available, else
/// SQLite) and `redis`.
async fn two_instances(redis: &RedisServer, strict: bool) -> (TestApp, TestApp) {
    let (url, dir) = match fresh_database(Backend::Postgres).await {
        Some(found) => found,
        None => fresh_database(Backend::Sqlite).await.expect("sqlite"),
    };
    two_instances_on(redis, &url, dir, strict).await
}

/// Two instances sharing the database at `url` and `redis`, both following
/// the invalidation channel.
pub(crate) async fn two_instances_on(
    redis: &RedisServer,
    url: &str,
    dir: Option<tempfile::TempDir>,
    strict: bool,
) -> (TestApp, TestApp) {
    let settings = || {
        let mut settings = test_settings(url);
        settings.redis.url = Some(mfuko::config::Secret::new(redis.url()));
        settings.cache.strict = strict;
        // The suite loads the machine: a slow reply is not what these tests
        // are about, so give Redis calls room before they count as failures.
        settings.cache.redis_timeout_ms = 2_000;
        settings
    };
    let a = spawn_app_with(settings(), dir).await;
    let b = spawn_app_with(settings(), None).await;
    // Both follow the invalidation channel before the test starts.
    for app in [&a, &b] {
        wait_until_subscribed(app).await;
    }
    (a, b)
}

async fn wait_until_subscribed(app: &TestApp) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if app.cache_is_following().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the instance never subscribed to the invalidation channel");
}

struct Read {
    x_cache: String,
    body: Value,
}

async fn read(app: &TestApp, path: &str, token: &str) -> Read {
    let response = app
        .client
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    let x_cache = response
        .headers()
        .get("x-cache")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let body = response.json().await.expect("json body");
    Read { x_cache, body }
}

fn collected(body: &Value) -> i64 {
    body["collected_this_month"]
        .as_i64()
        .expect("collected_this_month")
}

async fn pay(app: &TestApp, token: &str, lease: i64, amount: i64) {
    app.post(
        "/api/v1/payments",
        token,
        json!({ "lease_id": lease, "amount": amount, "method": "cash" }),
    )
    .await
    .expect(StatusCode::CREATED);
}

async fn a_value_loaded_by_one_instance_is_an_l2_hit_on_the_other() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let (a, b) = two_instances(&redis, false).await;
    let (_, token) = a.landlord("wanjiru@example.co.ke").await;
    setup_lease(&a, &token, None).await;

    let first = read(&a, METRICS, &token).await;
    assert_eq!(first.x_cache, "MISS");
    let other = read(&b, METRICS, &token).await;
    assert_eq!(other.x_cache, "HIT-L2");
    assert_eq!(other.body, first.body);
    assert_eq!(read(&b, METRICS, &token).await.x_cache, "HIT-L1");
}

/// A payment's patched views are shared: the other instance's first read
/// after the write (strict mode, so that read is already fresh) is the
/// patched entry from Redis, with the payment in it, not a recomputation.
async fn a_view_patched_by_one_instance_is_an_l2_hit_on_the_other() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let (a, b) = two_instances(&redis, true).await;
    let (_, token) = a.landlord("akinyi@example.co.ke").await;
    let lease = setup_lease(&a, &token, None).await.lease;
    let before = read(&a, METRICS, &token).await;
    assert_eq!(before.x_cache, "MISS");
    assert_eq!(read(&b, METRICS, &token).await.x_cache, "HIT-L2");
    let pattern = "mfuko:*:v2:metrics:payments:*";
    let keys = || -> Vec<String> {
        let mut keys = redis.keys(pattern);
        keys.retain(|key| !key.ends_with(":lease"));
        keys
    };
    let [key_before] = keys().try_into().expect("one metrics key");

    pay(&a, &token, lease, 450_000).await;
    let after = read(&b, METRICS, &token).await;
    assert_eq!(collected(&after.body), collected(&before.body) + 450_000);
    assert_eq!(after.x_cache, "HIT-L2", "{}", after.body);
    assert_eq!(after.body, read(&a, METRICS, &token).await.body);

    // The patched entry's predecessor leaves Redis within seconds instead of
    // holding its bytes for the rest of its TTL; the patched one keeps its.
    let mut redis_conn = redis.connection();
    let ttl_ms = |conn: &mut redis::Connection, key: &str| {
        redis::cmd("PTTL")
            .arg(key)
            .query::<i64>(conn)
            .expect("PTTL")
    };
    let left = ttl_ms(&mut redis_conn, &key_before);
    assert!(
        (0..=5_000).contains(&left),
        "the old key has {left} ms left"
    );
    for key in keys().iter().filter(|key| **key != key_before) {
        assert!(ttl_ms(&mut redis_conn, key) > 5_000, "{key} expires early");
    }
}

/// Default mode: another instance sees a write once the announcement
/// arrives; the delay is measured and printed (`--nocapture`).
async fn a_payment_posted_to_one_instance_reaches_the_other() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let (a, b) = two_instances(&redis, false).await;
    let (_, token) = a.landlord("otieno@example.co.ke").await;
    let lease = setup_lease(&a, &token, None).await.lease;
    let before = collected(&read(&a, METRICS, &token).await.body);
    read(&a, METRICS, &token).await; // cached on A

    pay(&b, &token, lease, 700_000).await;
    let acknowledged = Instant::now();
    loop {
        let now = read(&a, METRICS, &token).await;
        if collected(&now.body) == before + 700_000 {
            break;
        }
        assert!(
            acknowledged.elapsed() < Duration::from_secs(2),
            "instance A still serves the pre-write value after 2 s"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    eprintln!(
        "cross-instance invalidation delay (default mode): {:?}",
        acknowledged.elapsed()
    );
}

/// Strict mode: the very first read on the other instance after the write's
/// 2xx reflects it.
async fn strict_mode_makes_other_instances_fresh_at_once() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let (a, b) = two_instances(&redis, true).await;
    let (_, token) = a.landlord("njeri@example.co.ke").await;
    let lease = setup_lease(&a, &token, None).await.lease;
    for round in 1..=10 {
        let before = collected(&read(&a, METRICS, &token).await.body);
        assert_eq!(read(&a, METRICS, &token).await.x_cache, "HIT-L1");
        pay(&b, &token, lease, 10_000 * round).await;
        let after = read(&a, METRICS, &token).await;
        assert_eq!(
            collected(&after.body),
            before + 10_000 * round,
            "round {round}"
        );
    }
}

async fn requests_keep_working_while_redis_is_down_and_use_it_again_after() {
    let Some(mut redis) = RedisServer::start() else {
        return;
    };
    let (a, b) = two_instances(&redis, false).await;
    let (_, token) = a.landlord("akinyi@example.co.ke").await;
    let lease = setup_lease(&a, &token, None).await.lease;
    let base = collected(&read(&a, METRICS, &token).await.body);

    redis.stop();
    // Writes and reads go on, correct, on both instances.
    let mut expected = base;
    for amount in [100_000, 250_000] {
        pay(&a, &token, lease, amount).await;
        expected += amount;
        assert_eq!(collected(&read(&a, METRICS, &token).await.body), expected);
    }
    pay(&b, &token, lease, 50_000).await;
    expected += 50_000;
    assert_eq!(collected(&read(&b, METRICS, &token).await.body), expected);
    // A's L1 cannot have heard of B's write: its entries live only briefly
    // without Redis, so within that bound A is correct too.
    let deadline = Instant::now() + Duration::from_secs(8);
    while collected(&read(&a, METRICS, &token).await.body) != expected {
        assert!(
            Instant::now() < deadline,
            "A never saw B's write while Redis was down"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    redis.restart();
    for app in [&a, &b] {
        wait_until_subscribed(app).await;
    }
    // L1 was flushed on reconnection (A's entry, minutes from expiry, is
    // gone), and the numbers are still right.
    let again = read(&a, METRICS, &token).await;
    assert_eq!(again.x_cache, "MISS");
    assert_eq!(collected(&again.body), expected);
    assert_eq!(collected(&read(&b, METRICS, &token).await.body), expected);
    // And L2 is used again: a value one instance loads becomes an L2 hit on
    // the other (each try uses a new key; the first calls after the restart
    // may still fail while the connections come back).
    let deadline = Instant::now() + Duration::from_secs(5);
    for day in 0..1000 {
        let to =
            chrono::NaiveDate::from_ymd_opt(2024, 1, 1).expect("date") + chrono::Days::new(day);
        let path = format!("/api/v1/reports/financial?from=2024-01-01&to={to}");
        let loaded = read(&a, &path, &token).await;
        let shared = read(&b, &path, &token).await;
        assert_eq!(shared.body, loaded.body);
        if shared.x_cache == "HIT-L2" {
            return;
        }
        assert!(Instant::now() < deadline, "L2 never came back into use");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("L2 never came back into use");
}

async fn corrupt_bytes_in_redis_are_a_miss_not_a_crash() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let (a, b) = two_instances(&redis, false).await;
    let (_, token) = a.landlord("chebet@example.co.ke").await;
    setup_lease(&a, &token, None).await;
    let good = read(&a, METRICS, &token).await;

    let key = redis
        .keys("mfuko:*:v2:metrics:payments:*")
        .into_iter()
        .find(|key| !key.ends_with(":lease"))
        .expect("the metrics key is in Redis");
    let garbage: &[u8] = b"\x80\x04\x95pickle-ish garbage";
    redis.connection().set(&key, garbage).expect("SET");

    let served = read(&b, METRICS, &token).await;
    assert_eq!(served.x_cache, "MISS");
    assert_eq!(served.body, good.body);
}

async fn clears_and_logouts_reach_every_instance() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let (a, b) = two_instances(&redis, false).await;
    let (_, token) = a.landlord("mutua@example.co.ke").await;
    setup_lease(&a, &token, None).await;
    let admin = a.admin("ops@example.co.ke").await;

    read(&a, METRICS, &token).await;
    assert_eq!(read(&b, METRICS, &token).await.x_cache, "HIT-L2");
    assert_eq!(read(&b, METRICS, &token).await.x_cache, "HIT-L1");
    a.post(
        "/api/v1/admin/cache/clear",
        &admin,
        json!({ "pattern": "metrics:*" }),
    )
    .await
    .expect(StatusCode::OK);
    let left = redis.keys("mfuko:v2:metrics:*");
    assert!(left.is_empty(), "SCAN+UNLINK removed the keys: {left:?}");
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        if read(&b, METRICS, &token).await.x_cache == "MISS" {
            break;
        }
        assert!(Instant::now() < deadline, "B's L1 was never cleared");
        a.post(
            "/api/v1/admin/cache/clear",
            &admin,
            json!({ "pattern": "metrics:*" }),
        )
        .await
        .expect(StatusCode::OK);
    }

    // A token checked (and so cached) on B stops working there once A logs it out.
    assert_eq!(
        b.get("/api/v1/auth/me", &token).await.status,
        StatusCode::OK
    );
    a.post("/api/v1/auth/logout", &token, json!({}))
        .await
        .expect(StatusCode::NO_CONTENT);
    let deadline = Instant::now() + Duration::from_secs(2);
    while b.get("/api/v1/auth/me", &token).await.status != StatusCode::UNAUTHORIZED {
        assert!(
            Instant::now() < deadline,
            "B still accepts a logged-out token"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Two databases made the same way (same landlord ids, same generation
/// counters) behind one Redis with one prefix: each reads its own numbers,
/// never the other's entries (the database's cache namespace, migration
/// 0007, is part of every key).
async fn databases_sharing_a_redis_never_read_each_others_entries() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let mut apps = Vec::new();
    for amount in [11_100, 22_200] {
        let (url, dir) = fresh_database(Backend::Sqlite).await.expect("SQLite");
        let mut settings = test_settings(&url);
        settings.redis.url = Some(mfuko::config::Secret::new(redis.url()));
        let app = spawn_app_with(settings, dir).await;
        let (_, token) = app.landlord("wanjiru@example.co.ke").await;
        let lease = setup_lease(&app, &token, None).await;
        pay(&app, &token, lease.lease, amount).await;
        apps.push((app, token, amount));
    }
    for (app, token, amount) in &apps {
        let metrics = read(app, METRICS, token).await;
        assert_eq!(collected(&metrics.body), *amount, "{}", metrics.body);
    }
}

macro_rules! redis_tests {
    ($($test:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                super::$test().await;
            }
        )+
    };
}

mod run {
    redis_tests!(
        a_value_loaded_by_one_instance_is_an_l2_hit_on_the_other,
        a_view_patched_by_one_instance_is_an_l2_hit_on_the_other,
        a_payment_posted_to_one_instance_reaches_the_other,
        strict_mode_makes_other_instances_fresh_at_once,
        requests_keep_working_while_redis_is_down_and_use_it_again_after,
        corrupt_bytes_in_redis_are_a_miss_not_a_crash,
        clears_and_logouts_reach_every_instance,
        databases_sharing_a_redis_never_read_each_others_entries,
    );
}
