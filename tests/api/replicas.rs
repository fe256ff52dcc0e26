//! Read replicas on a real PostgreSQL streaming replica (`pg_basebackup -R`):
//! reads go to the replica when it has replayed the landlord's writes; with
//! replay paused, stopped or too far behind, every read still reflects every
//! acknowledged write (from the primary, or after waiting); the replica is
//! used again once it recovers. The tests share one primary and one replica
//! of their own and take turns (they pause and stop the replica).

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{
    Backend, TestApp, fresh_database, setup_lease, spawn_app_with, test_settings,
};
use crate::pg_cluster::{PgCluster, PgReplica};
use crate::redis_server::RedisServer;

const DASHBOARD: &str = "/api/v1/dashboard";

/// The primary and its replica, started on first use (`None`: no PostgreSQL
/// here, outside CI).
fn pair() -> Option<&'static (PgCluster, PgReplica)> {
    static PAIR: OnceLock<Option<(PgCluster, PgReplica)>> = OnceLock::new();
    PAIR.get_or_init(|| {
        let primary = PgCluster::dedicated()?;
        let replica = PgReplica::start(&primary);
        Some((primary, replica))
    })
    .as_ref()
}

/// One replica test at a time.
async fn turn() -> tokio::sync::MutexGuard<'static, ()> {
    static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    TURN.lock().await
}

struct Setup {
    apps: Vec<TestApp>,
    replica_url: String,
    admin: String,
    landlord: String,
    lease: i64,
    _redis: Option<RedisServer>,
}

/// `instances` servers on a fresh database of the pair's primary, reading
/// from its replica (sharing a Redis when `instances` > 1), with a landlord
/// and one lease; returns once the replica is usable.
async fn setup(
    pair: &(PgCluster, PgReplica),
    instances: usize,
    tweak: impl Fn(&mut mfuko::config::Settings),
) -> Setup {
    let url = pair.0.fresh_database().await;
    let replica_url = pair.1.url_of(&url);
    let redis = if instances > 1 {
        Some(RedisServer::start().expect("Redis for the multi-instance replica tests"))
    } else {
        None
    };
    let mut apps = Vec::new();
    for _ in 0..instances {
        let mut settings = test_settings(&url);
        settings.database.replica_urls = vec![mfuko::config::Secret::new(&replica_url)];
        settings.database.replica_pool_size = 1;
        settings.database.replica_max_overflow = 4;
        settings.database.replica_timeout_secs = 5;
        settings.database.replica_poll_ms = 20;
        settings.database.replica_health_ms = 100;
        // The suite loads the machine: let a read wait a little longer for
        // the replica to replay what it needs.
        settings.database.replica_wait_ms = 300;
        if let Some(redis) = &redis {
            settings.redis.url = Some(mfuko::config::Secret::new(redis.url()));
            settings.cache.redis_timeout_ms = 2_000;
        }
        tweak(&mut settings);
        apps.push(spawn_app_with(settings, None).await);
    }
    let (_, landlord) = apps[0].landlord("wanjiru@example.co.ke").await;
    let admin = apps[0].admin("ops@example.co.ke").await;
    let lease = setup_lease(&apps[0], &landlord, None).await.lease;
    let setup = Setup {
        apps,
        replica_url,
        admin,
        landlord,
        lease,
        _redis: redis,
    };
    for app in &setup.apps {
        setup
            .wait_for(app, "the replica to catch up", |db| {
                db["replicas"]["replicas"][0]["usable"] == true
                    && db["replicas"]["replicas"][0]["lag_bytes"] == 0
            })
            .await;
    }
    setup
}

impl Setup {
    async fn db_stats(&self, app: &TestApp) -> Value {
        app.get("/api/v1/admin/db", &self.admin)
            .await
            .expect(StatusCode::OK)
    }

    async fn replica_reads(&self, app: &TestApp) -> u64 {
        let stats = self.db_stats(app).await;
        stats["replicas"]["reads"]["replicas"]
            .as_u64()
            .expect("replica read count")
    }

    async fn wait_for(&self, app: &TestApp, what: &str, done: impl Fn(&Value) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let stats = self.db_stats(app).await;
            if done(&stats) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "waited too long for {what}: {stats:#}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn pay(&self, amount: i64) {
        self.apps[0]
            .post(
                "/api/v1/payments",
                &self.landlord,
                json!({ "lease_id": self.lease, "amount": amount, "method": "cash" }),
            )
            .await
            .expect(StatusCode::CREATED);
    }

    async fn collected(&self, app: &TestApp) -> i64 {
        let dashboard = app
            .get(DASHBOARD, &self.landlord)
            .await
            .expect(StatusCode::OK);
        dashboard["metrics"]["collected_this_month"]
            .as_i64()
            .expect("collected_this_month")
    }

    /// The landlord's payments as the plain (uncached) list shows them.
    async fn payment_amounts(&self, app: &TestApp) -> Vec<i64> {
        app.list("/api/v1/payments", &self.landlord)
            .await
            .iter()
            .map(|payment| payment["amount"].as_i64().expect("amount"))
            .collect()
    }

    async fn on_replica(&self, sql: &str) {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&self.replica_url)
            .await
            .expect("connecting to the replica");
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_go_to_a_replica_that_has_replayed_the_writes() {
    let Some(pair) = pair() else { return };
    let _turn = turn().await;
    let setup = setup(pair, 1, |_| {}).await;
    let app = &setup.apps[0];
    setup.pay(150_000).await;
    setup
        .wait_for(app, "the payment to be replayed", |db| {
            db["replicas"]["replicas"][0]["lag_bytes"] == 0
        })
        .await;
    let before = setup.replica_reads(app).await;
    assert_eq!(setup.payment_amounts(app).await, vec![150_000]);
    assert_eq!(setup.collected(app).await, 150_000);
    let after = setup.replica_reads(app).await;
    assert!(
        after >= before + 2,
        "the list and the dashboard were not read on the replica ({before} → {after}): {:#}",
        setup.db_stats(app).await
    );
    let stats = setup.db_stats(app).await;
    assert_eq!(
        stats["replicas"]["replicas"][0]["healthy"], true,
        "{stats:#}"
    );
    assert!(
        stats["replicas"]["replicas"][0]["replay_lsn"]
            .as_str()
            .is_some_and(|lsn| lsn.contains('/')),
        "{stats:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paused_replay_never_hides_an_acknowledged_write_on_any_instance() {
    let Some(pair) = pair() else { return };
    if RedisServer::start().is_none() {
        return; // the Redis harness already said it is skipped
    }
    let _turn = turn().await;
    let setup = setup(pair, 2, |_| {}).await;
    let (a, b) = (&setup.apps[0], &setup.apps[1]);
    setup.pay(100_000).await;
    setup
        .wait_for(a, "the first payment to be replayed", |db| {
            db["replicas"]["replicas"][0]["lag_bytes"] == 0
        })
        .await;
    // Both instances hold the dashboard in their caches.
    assert_eq!(setup.collected(a).await, 100_000);
    assert_eq!(setup.collected(b).await, 100_000);

    setup.on_replica("SELECT pg_wal_replay_pause()").await;
    setup.pay(25_000).await;
    // The writing instance: at once, cached view and plain list alike.
    assert_eq!(
        setup.collected(a).await,
        125_000,
        "stale dashboard on the writer"
    );
    let mut amounts = setup.payment_amounts(a).await;
    amounts.sort_unstable();
    assert_eq!(amounts, vec![25_000, 100_000], "stale list on the writer");
    // The other instance: once the invalidation arrives, and never the
    // pre-write figure after that.
    let deadline = Instant::now() + Duration::from_secs(5);
    while setup.collected(b).await != 125_000 {
        assert!(
            Instant::now() < deadline,
            "the other instance never saw the write"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut amounts = setup.payment_amounts(b).await;
    amounts.sort_unstable();
    assert_eq!(
        amounts,
        vec![25_000, 100_000],
        "stale list on the other instance"
    );
    let stats = setup.db_stats(a).await;
    assert!(
        stats["replicas"]["reads"]["primary_fallback"].as_u64() > Some(0),
        "reads during the pause should have gone to the primary: {stats:#}"
    );

    setup.on_replica("SELECT pg_wal_replay_resume()").await;
    for app in [a, b] {
        setup
            .wait_for(app, "the replica to catch up after the pause", |db| {
                db["replicas"]["replicas"][0]["lag_bytes"] == 0
            })
            .await;
        // What was cached during the pause came from the primary: still right.
        assert_eq!(setup.collected(app).await, 125_000);
        let before = setup.replica_reads(app).await;
        assert_eq!(setup.payment_amounts(app).await.len(), 2);
        assert!(
            setup.replica_reads(app).await > before,
            "reads did not return to the replica after the pause"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_replica_sends_reads_to_the_primary_until_it_returns() {
    let Some(pair) = pair() else { return };
    let _turn = turn().await;
    let setup = setup(pair, 1, |_| {}).await;
    let app = &setup.apps[0];
    setup.pay(40_000).await;
    pair.1.stop();
    // At once (before any poll noticed) and after: every read answers.
    for _ in 0..3 {
        assert_eq!(setup.payment_amounts(app).await, vec![40_000]);
    }
    setup
        .wait_for(app, "the stopped replica to be marked down", |db| {
            db["replicas"]["replicas"][0]["healthy"] == false
        })
        .await;
    setup.pay(2_000).await;
    assert_eq!(setup.collected(app).await, 42_000);
    assert_eq!(setup.payment_amounts(app).await.len(), 2);

    pair.1.restart();
    setup
        .wait_for(app, "the restarted replica to be used again", |db| {
            db["replicas"]["replicas"][0]["usable"] == true
                && db["replicas"]["replicas"][0]["lag_bytes"] == 0
        })
        .await;
    let before = setup.replica_reads(app).await;
    assert_eq!(setup.payment_amounts(app).await.len(), 2);
    assert!(
        setup.replica_reads(app).await > before,
        "the replica was not used again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_further_behind_than_the_limit_is_skipped() {
    let Some(pair) = pair() else { return };
    let _turn = turn().await;
    let setup = setup(pair, 1, |settings| {
        settings.database.max_replica_lag_bytes = 1;
        settings.database.replica_wait_ms = 0;
    })
    .await;
    let app = &setup.apps[0];
    setup.on_replica("SELECT pg_wal_replay_pause()").await;
    setup.pay(9_000).await;
    setup
        .wait_for(app, "the lagging replica to be skipped", |db| {
            db["replicas"]["replicas"][0]["usable"] == false
                && db["replicas"]["replicas"][0]["healthy"] == true
                && db["replicas"]["replicas"][0]["lag_bytes"].as_u64() > Some(1)
        })
        .await;
    let before = setup.replica_reads(app).await;
    assert_eq!(setup.payment_amounts(app).await, vec![9_000]);
    assert_eq!(setup.collected(app).await, 9_000);
    assert_eq!(
        setup.replica_reads(app).await,
        before,
        "a replica beyond max_replica_lag served reads"
    );
    setup.on_replica("SELECT pg_wal_replay_resume()").await;
    setup
        .wait_for(app, "the replica to be usable again", |db| {
            db["replicas"]["replicas"][0]["usable"] == true
        })
        .await;
}

/// SQLite has no replicas: its readers share the WAL file, so every read sees
/// every committed write. Replica URLs are ignored (with a warning).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_reads_its_own_file_whatever_the_replica_setting() {
    let (url, dir) = fresh_database(Backend::Sqlite).await.expect("sqlite");
    let mut settings = test_settings(&url);
    settings.database.replica_urls = vec![mfuko::config::Secret::new(
        "postgres://nobody@127.0.0.1:1/none",
    )];
    let app = spawn_app_with(settings, dir).await;
    let (_, token) = app.landlord("wanjiru@example.co.ke").await;
    let admin = app.admin("ops@example.co.ke").await;
    let lease = setup_lease(&app, &token, None).await.lease;
    for amount in [1_000, 2_000] {
        app.post(
            "/api/v1/payments",
            &token,
            json!({ "lease_id": lease, "amount": amount, "method": "cash" }),
        )
        .await
        .expect(StatusCode::CREATED);
        let listed = app.list("/api/v1/payments", &token).await;
        assert!(listed.iter().any(|payment| payment["amount"] == amount));
    }
    let stats = app
        .get("/api/v1/admin/db", &admin)
        .await
        .expect(StatusCode::OK);
    assert_eq!(stats["engine"], "sqlite");
    assert!(stats.get("replicas").is_none(), "{stats:#}");
}

/// Between a write's commit and the moment its WAL position reaches Redis,
/// another instance may already read the new generation from the database:
/// the write marks its landlord as being written first, and reads on every
/// instance then wait for all the primary has written (found by
/// `mfuko bench --scenarios freshness` with replay paused: 31 stale reads).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_in_flight_makes_every_instance_wait_for_the_primary() {
    use mfuko::db::replicas::Needed;
    let Some(pair) = pair() else { return };
    if RedisServer::start().is_none() {
        return;
    }
    let _turn = turn().await;
    let setup = setup(pair, 2, |_| {}).await;
    let (a, b) = (&setup.apps[0], &setup.apps[1]);
    let landlord = crate::helpers::id(
        &a.get("/api/v1/auth/me", &setup.landlord)
            .await
            .expect(StatusCode::OK),
    );
    setup.pay(1_000).await;
    let on_b = b.cache.written_lsns();
    let Needed::Known(before) = on_b.needed(landlord).await else {
        panic!("the position of the payment should be known in Redis");
    };
    assert!(before.0 > 0, "no position recorded for the payment");
    a.cache.mark_writing(&[Some(landlord)], 1).await;
    assert_eq!(on_b.needed(landlord).await, Needed::Unknown);
    a.cache.mark_writing(&[Some(landlord)], -1).await;
    assert_eq!(on_b.needed(landlord).await, Needed::Known(before));
}
