//! Migration 0004 (hardening) on a database that already holds data written
//! under 0003: shortcodes move to their table, C2B payments get their
//! receipt, amounts past the ceiling are held (payments) or voided (charges),
//! references become per landlord, and nothing is lost; then 0005 builds
//! the roll-ups from that history. On both engines.

use mfuko::db::{Database, Pool, testing::writer_pool};
use serde_json::json;

use crate::helpers::{Backend, fresh_database, spawn_app_with, test_settings};

/// Runs literal SQL (the same text on both engines).
async fn exec(pool: &Pool, sql: &str) {
    let done = match pool {
        Pool::Sqlite(pool) => sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(pool)
            .await
            .map(drop),
        Pool::Postgres(pool) => sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(pool)
            .await
            .map(drop),
    };
    done.unwrap_or_else(|err| panic!("{sql}: {err}"));
}

async fn scalar(pool: &Pool, sql: &str) -> i64 {
    let value = match pool {
        Pool::Sqlite(pool) => {
            sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .fetch_one(pool)
                .await
        }
        Pool::Postgres(pool) => {
            sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .fetch_one(pool)
                .await
        }
    };
    value.unwrap_or_else(|err| panic!("{sql}: {err}"))
}

async fn data_written_before_0004_survives_it(backend: Backend) {
    let Some((url, dir)) = fresh_database(backend).await else {
        return;
    };
    let settings = test_settings(&url);
    let db = Database::connect(&settings.database)
        .await
        .expect("connect");
    let pool = writer_pool(&db);
    match pool {
        Pool::Sqlite(p) => sqlx::migrate!("./migrations/sqlite").run_to(3, p).await,
        Pool::Postgres(p) => sqlx::migrate!("./migrations/postgres").run_to(3, p).await,
    }
    .expect("migrations up to 0003");
    let hash = mfuko::auth::hash_password("secret-pw").expect("hash");
    exec(
        pool,
        &format!(
            "INSERT INTO users (id, email, name, role, password_hash, mpesa_shortcode) VALUES \
             (1, 'one@example.com', 'One', 'landlord', '{hash}', '600638'), \
             (2, 'two@example.com', 'Two', 'landlord', '{hash}', NULL); \
             INSERT INTO properties (id, landlord_id, name) VALUES (1, 1, 'Kilimani'); \
             INSERT INTO units (id, property_id, landlord_id, label, market_rent) VALUES (1, 1, 1, 'A1', 2500000); \
             INSERT INTO tenants (id, landlord_id, name, phone) VALUES (1, 1, 'Wanjiru', '+254712345678'); \
             INSERT INTO leases (id, landlord_id, property_id, unit_id, tenant_id, rent, due_day, start_date, account_ref) \
               VALUES (1, 1, 1, 1, 1, 2500000, 5, '2026-01-01', 'kamau-a1'); \
             INSERT INTO charges (id, landlord_id, property_id, lease_id, period, kind, amount, due_date) VALUES \
               (1, 1, 1, 1, '2026-11', 'rent', 2500000, '2026-11-05'), \
               (2, 1, 1, 1, '2026-11', 'other', 9000000000000000000, '2026-11-05'); \
             INSERT INTO payments (id, landlord_id, property_id, lease_id, amount, method, status, reference, account_ref, paid_at, paid_on, received_at) VALUES \
               (1, 1, 1, 1, 150000, 'mpesa', 'confirmed', 'SC51A2B3C4', 'KAMAU-A1', '2026-11-10T08:00:00Z', '2026-11-10', '2026-11-10T08:00:01Z'), \
               (2, 1, 1, 1, 100000, 'mpesa', 'pending', 'SK21A2B3C4', NULL, '2026-11-11T08:00:00Z', '2026-11-11', '2026-11-11T08:00:00Z'), \
               (3, 1, 1, 1, 9223372036854775807, 'cash', 'confirmed', NULL, NULL, '2026-11-12T08:00:00Z', '2026-11-12', '2026-11-12T08:00:00Z');"
        ),
    )
    .await;

    db.migrate().await.expect("migrating to the latest schema");
    crate::helpers::assert_rollups_agree(&db).await;
    let pool = writer_pool(&db);
    assert_eq!(
        scalar(
            pool,
            "SELECT landlord_id FROM mpesa_shortcodes WHERE shortcode = '600638'"
        )
        .await,
        1
    );
    assert_eq!(
        scalar(pool, "SELECT COUNT(*) FROM payments").await,
        3,
        "nothing lost"
    );
    assert_eq!(
        scalar(
            pool,
            "SELECT COUNT(*) FROM payments WHERE id = 1 AND mpesa_receipt = 'SC51A2B3C4'"
        )
        .await,
        1,
        "a C2B payment carries its receipt"
    );
    assert_eq!(
        scalar(
            pool,
            "SELECT COUNT(*) FROM payments WHERE id = 2 AND mpesa_receipt IS NULL"
        )
        .await,
        1,
        "a hand-entered one does not"
    );
    assert_eq!(
        scalar(
            pool,
            "SELECT COUNT(*) FROM payments WHERE id = 3 AND status = 'held'"
        )
        .await,
        1
    );
    assert_eq!(
        scalar(pool, "SELECT COUNT(*) FROM charges WHERE id = 2 AND void").await,
        1
    );
    assert_eq!(
        scalar(
            pool,
            "SELECT COUNT(*) FROM leases WHERE account_ref = 'KAMAU-A1'"
        )
        .await,
        1
    );
    if let Pool::Sqlite(p) = pool {
        let broken: Vec<(String, i64, String, i64)> = sqlx::query_as("PRAGMA foreign_key_check")
            .fetch_all(p)
            .await
            .expect("foreign key check");
        assert!(broken.is_empty(), "{broken:?}");
    }
    drop(db);

    // The service runs on it: reports answer, and the receipt is recognised.
    let app = spawn_app_with(settings, dir).await;
    let token = app.login("one@example.com", "secret-pw").await;
    for path in [
        "/api/v1/dashboard",
        "/api/v1/reports/payments",
        "/api/v1/reports/arrears",
    ] {
        let reply = app.get(path, &token).await;
        assert_eq!(
            reply.status,
            reqwest::StatusCode::OK,
            "{path}: {}",
            reply.body
        );
    }
    let c2b = app
        .client
        .post(app.url("/api/v1/payments/mpesa/c2b"))
        .header("X-Mpesa-Secret", crate::helpers::MPESA_SECRET)
        .json(&json!({
            "TransID": "SK21A2B3C4", "TransTime": "20261111110000", "TransAmount": "1000.00",
            "BusinessShortCode": "600638", "BillRefNumber": "KAMAU-A1",
        }));
    let reply = app.send(c2b).await.expect(reqwest::StatusCode::OK);
    assert_eq!(reply["ResultCode"], 0);
    let payment = app
        .get("/api/v1/payments/2", &token)
        .await
        .expect(reqwest::StatusCode::OK);
    assert_eq!(payment["status"], "confirmed", "{payment}");
    assert_eq!(payment["mpesa_receipt"], "SK21A2B3C4");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_written_before_0004_survives_it_on_sqlite() {
    data_written_before_0004_survives_it(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_written_before_0004_survives_it_on_postgres() {
    data_written_before_0004_survives_it(Backend::Postgres).await;
}
