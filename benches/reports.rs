//! Report queries on a prepared database, without any cache: the dashboard and
//! each report for the first landlord, and the dashboard of a landlord alone
//! vs. among nine others (its cost must not grow with others' data). Each
//! runs as of two days, on data seeded as of that day: the 1st of this month
//! (every lease just billed, little paid yet) and the 15th of last month
//! (most of the month's rent paid).
//!
//! `cargo bench --bench reports` uses the large set (10 landlords × 20
//! properties × 50 units × 36 months) on SQLite, seeded once into
//! `target/bench-data/` under a name derived from the spec. Set
//! `MFUKO_BENCH_PG_URL=postgres://…/` (a server where databases may be
//! created) to run the same on PostgreSQL. Under `cargo test` the benches run
//! once each on a small set, as a smoke test.

use std::path::PathBuf;

use chrono::{NaiveDate, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use mfuko::config::{DatabaseSettings, Secret};
use mfuko::db::Database;
use mfuko::demo::{self, SeedSpec};
use mfuko::reports::{self, DateRange, Scope, Source};

const ROLLUPS: Source = Source::RollUps;
use mfuko::types::Period;

const TZ: chrono_tz::Tz = chrono_tz::Africa::Nairobi;

fn benchmarking() -> bool {
    std::env::args().any(|arg| arg == "--bench")
}

fn spec(landlords: u32) -> SeedSpec {
    let end = Period::containing(Utc::now().with_timezone(&TZ).date_naive());
    if benchmarking() {
        SeedSpec {
            landlords,
            ..SeedSpec::large(end)
        }
    } else {
        SeedSpec {
            landlords,
            properties: 2,
            units: 4,
            months: 6,
            seed: 42,
            end,
        }
    }
}

fn settings(url: String) -> DatabaseSettings {
    DatabaseSettings {
        url: Secret::new(url),
        pool_size: 2,
        max_overflow: 6,
        ..DatabaseSettings::default()
    }
}

/// Opens (seeding on first use) the database for `spec` as of `day`, named
/// after both.
async fn prepared(spec: &SeedSpec, day: NaiveDate, postgres: Option<&str>) -> Database {
    let name = format!(
        "mfuko_bench_{}x{}x{}x{}_s{}_{}",
        spec.landlords, spec.properties, spec.units, spec.months, spec.seed, day
    )
    .replace('-', "_");
    let url = match postgres {
        Some(base) => {
            let admin = Database::connect(&settings(format!("{base}postgres")))
                .await
                .expect("server");
            let exists: Option<i32> = match mfuko::db::testing::reader_pool(&admin) {
                mfuko::db::Pool::Postgres(pool) => {
                    sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = $1")
                        .bind(&name)
                        .fetch_optional(pool)
                        .await
                        .expect("pg_database")
                }
                mfuko::db::Pool::Sqlite(_) => unreachable!("a PostgreSQL URL"),
            };
            if exists.is_none()
                && let mfuko::db::Pool::Postgres(pool) = mfuko::db::testing::writer_pool(&admin)
            {
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(pool)
                    .await
                    .expect("create database");
            }
            admin.close().await;
            format!("{base}{name}")
        }
        None => {
            let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-data");
            std::fs::create_dir_all(&dir).expect("bench data dir");
            format!("sqlite://{}", dir.join(format!("{name}.db")).display())
        }
    };
    let db = Database::connect(&settings(url))
        .await
        .expect("bench database");
    db.migrate().await.expect("migrations");
    if mfuko::db::users::count(db.reader_prefer_primary())
        .await
        .expect("count users")
        == 0
    {
        let started = std::time::Instant::now();
        let summary = demo::load_as_of(&db, spec, TZ, day, &indicatif::ProgressBar::hidden())
            .await
            .expect("seed");
        eprintln!(
            "seeded {name}: {summary:?} in {:.1}s",
            started.elapsed().as_secs_f64()
        );
    }
    db
}

/// The days the benches run as of: the 1st of this month and the 15th of
/// the last.
fn days() -> [(&'static str, NaiveDate); 2] {
    let this_month = Period::containing(Utc::now().with_timezone(&TZ).date_naive());
    [
        ("1st", this_month.first_day()),
        ("15th", this_month.prev().day(15)),
    ]
}

fn bench_engine(c: &mut Criterion, engine: &str, postgres: Option<&str>) {
    for (label, day) in days() {
        bench_day(c, &format!("{engine}/{label}"), day, postgres);
    }
}

fn bench_day(c: &mut Criterion, name: &str, today: NaiveDate, postgres: Option<&str>) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let (crowded, alone) = runtime.block_on(async {
        (
            prepared(&spec(10), today, postgres).await,
            prepared(&spec(1), today, postgres).await,
        )
    });
    let scope = Scope {
        landlord: 1,
        property: None,
    };
    let this_month = DateRange::new(Period::containing(today).first_day(), today).expect("range");
    let three_years = DateRange::new(today - chrono::Months::new(36), today).expect("range");

    let mut group = c.benchmark_group(format!("reports/{name}"));
    group.bench_function("dashboard (10 landlords)", |b| {
        b.to_async(&runtime).iter(|| async {
            reports::dashboard::compute(crowded.reader_prefer_primary(), scope, today, ROLLUPS)
                .await
                .expect("dashboard")
        })
    });
    group.bench_function("dashboard (1 landlord)", |b| {
        b.to_async(&runtime).iter(|| async {
            reports::dashboard::compute(alone.reader_prefer_primary(), scope, today, ROLLUPS)
                .await
                .expect("dashboard")
        })
    });
    group.bench_function("occupancy", |b| {
        b.to_async(&runtime).iter(|| async {
            reports::occupancy::compute(crowded.reader_prefer_primary(), scope, today, ROLLUPS)
                .await
                .expect("report")
        })
    });
    group.bench_function("financial (this month)", |b| {
        b.to_async(&runtime).iter(|| async {
            reports::financial::compute(crowded.reader_prefer_primary(), scope, this_month, ROLLUPS)
                .await
                .expect("report")
        })
    });
    group.bench_function("financial (36 months)", |b| {
        b.to_async(&runtime).iter(|| async {
            reports::financial::compute(
                crowded.reader_prefer_primary(),
                scope,
                three_years,
                ROLLUPS,
            )
            .await
            .expect("report")
        })
    });
    group.bench_function("payments (this month)", |b| {
        b.to_async(&runtime).iter(|| async {
            reports::payments::compute(
                crowded.reader_prefer_primary(),
                scope,
                this_month,
                None,
                ROLLUPS,
            )
            .await
            .expect("report")
        })
    });
    group.bench_function("arrears", |b| {
        b.to_async(&runtime).iter(|| async {
            reports::arrears::compute(crowded.reader_prefer_primary(), scope, today, ROLLUPS)
                .await
                .expect("report")
        })
    });
    group.bench_function("payment metrics", |b| {
        b.to_async(&runtime).iter(|| async {
            reports::metrics::compute(crowded.reader_prefer_primary(), scope, today, ROLLUPS)
                .await
                .expect("report")
        })
    });
    group.finish();
    runtime.block_on(async {
        crowded.close().await;
        alone.close().await;
    });
}

fn reports_sqlite(c: &mut Criterion) {
    bench_engine(c, "sqlite", None);
}

fn reports_postgres(c: &mut Criterion) {
    if let Ok(base) = std::env::var("MFUKO_BENCH_PG_URL") {
        bench_engine(c, "postgres", Some(&base));
    }
}

criterion_group!(benches, reports_sqlite, reports_postgres);
criterion_main!(benches);
