//! The `mfuko` binary, black-box: `seed` determinism (across runs and across
//! engines), `migrate`, `user add`, `charges run`.

use std::process::Command;

use chrono::NaiveDate;
use mfuko::db::{Database, Pool};

use crate::helpers::{Backend, fresh_database, test_settings};

/// Runs `mfuko --database-url URL ARGS…` and returns stdout; panics with
/// stderr on failure.
fn mfuko(url: &str, args: &[&str]) -> String {
    let output = run(url, args);
    assert!(
        output.status.success(),
        "mfuko {args:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn run(url: &str, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_mfuko"))
        .arg("--database-url")
        .arg(url)
        .args(args)
        .env("MFUKO_LOG__LEVEL", "warn")
        .output()
        .expect("the mfuko binary runs")
}

const SEED_ARGS: [&str; 13] = [
    "seed",
    "--landlords",
    "2",
    "--properties",
    "2",
    "--units",
    "4",
    "--months",
    "6",
    "--seed",
    "7",
    "--end",
    "2024-06",
];

type LeaseRow = (
    i64,
    i64,
    i64,
    i64,
    NaiveDate,
    Option<NaiveDate>,
    String,
    String,
);
type ChargeRow = (i64, i64, String, String, i64, NaiveDate, bool);
type PaymentRow = (
    i64,
    Option<i64>,
    Option<i64>,
    i64,
    String,
    String,
    Option<String>,
    NaiveDate,
);

/// Everything that matters about the seeded rows, in id order, decoded into
/// the same Rust types on both engines so the dumps compare across engines.
#[derive(Debug, PartialEq)]
struct Dump {
    users: Vec<(i64, String, String)>,
    units: Vec<(i64, i64, String, i64, bool)>,
    leases: Vec<LeaseRow>,
    charges: Vec<ChargeRow>,
    payments: Vec<PaymentRow>,
}

async fn dump(url: &str) -> Dump {
    let db = Database::connect(&test_settings(url).database)
        .await
        .expect("connects");
    macro_rules! rows {
        ($sql:literal) => {
            match mfuko::db::testing::reader_pool(&db) {
                Pool::Sqlite(p) => sqlx::query_as($sql).fetch_all(p).await,
                Pool::Postgres(p) => sqlx::query_as($sql).fetch_all(p).await,
            }
            .expect($sql)
        };
    }
    let dump = Dump {
        users: rows!("SELECT id, email, role FROM users ORDER BY id"),
        units: rows!(
            "SELECT id, property_id, label, market_rent, off_market FROM units ORDER BY id"
        ),
        leases: rows!(
            "SELECT id, unit_id, tenant_id, rent, start_date, end_date, status, account_ref \
             FROM leases ORDER BY id"
        ),
        charges: rows!(
            "SELECT id, lease_id, period, kind, amount, due_date, void FROM charges ORDER BY id"
        ),
        payments: rows!(
            "SELECT id, landlord_id, lease_id, amount, method, status, reference, paid_on \
             FROM payments ORDER BY id"
        ),
    };
    db.close().await;
    dump
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_is_deterministic_across_runs_and_engines() {
    let (first, _a) = fresh_database(Backend::Sqlite).await.expect("sqlite");
    let (second, _b) = fresh_database(Backend::Sqlite).await.expect("sqlite");
    let out = mfuko(&first, &SEED_ARGS);
    assert!(out.contains("seeded 2 landlords"), "{out}");
    mfuko(&second, &SEED_ARGS);
    let reference = dump(&first).await;
    assert!(reference.payments.len() > 20, "the spec makes real data");
    assert_eq!(reference, dump(&second).await, "same seed, same rows");

    let (other, _c) = fresh_database(Backend::Sqlite).await.expect("sqlite");
    let mut other_args = SEED_ARGS;
    other_args[10] = "8";
    mfuko(&other, &other_args);
    assert_ne!(reference, dump(&other).await, "another seed, other rows");

    if let Some((pg, _)) = fresh_database(Backend::Postgres).await {
        mfuko(&pg, &SEED_ARGS);
        assert_eq!(
            reference,
            dump(&pg).await,
            "PostgreSQL holds the same rows as SQLite"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_refuses_a_database_that_has_data() {
    let (url, _dir) = fresh_database(Backend::Sqlite).await.expect("sqlite");
    mfuko(&url, &SEED_ARGS);
    let before = dump(&url).await;
    let again = run(&url, &SEED_ARGS);
    assert!(!again.status.success());
    assert_eq!(before, dump(&url).await, "a refused seed writes nothing");
}

/// The seed application's `DATABASE_URL` names the database, and the
/// `MFUKO_` name wins over it.
#[test]
fn database_url_comes_from_the_environment() {
    let dir = tempfile::tempdir().expect("temp dir");
    let seed_name = dir.path().join("seed.db");
    let mfuko_name = dir.path().join("mfuko.db");
    let migrate = |envs: &[(&str, String)]| {
        let output = Command::new(env!("CARGO_BIN_EXE_mfuko"))
            .arg("migrate")
            .current_dir(dir.path())
            .envs(envs.iter().map(|(k, v)| (*k, v.as_str())))
            .env("MFUKO_LOG__LEVEL", "warn")
            .output()
            .expect("the mfuko binary runs");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    migrate(&[("DATABASE_URL", format!("sqlite://{}", seed_name.display()))]);
    assert!(seed_name.exists());
    migrate(&[
        ("DATABASE_URL", format!("sqlite://{}", seed_name.display())),
        (
            "MFUKO_DATABASE__URL",
            format!("sqlite://{}", mfuko_name.display()),
        ),
    ]);
    assert!(mfuko_name.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_add_creates_a_user_once() {
    let (url, _dir) = fresh_database(Backend::Sqlite).await.expect("sqlite");
    mfuko(&url, &["migrate"]);
    mfuko(&url, &["migrate"]);
    let args = [
        "user",
        "add",
        "--email",
        "Ops@Example.com",
        "--password",
        "s3cret!",
        "--role",
        "admin",
    ];
    let out = mfuko(&url, &args);
    assert!(out.contains("created admin ops@example.com"), "{out}");
    let again = run(&url, &args);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    assert!(
        !String::from_utf8_lossy(&again.stderr).contains("s3cret!"),
        "no password in output"
    );
    let bad_role = run(
        &url,
        &[
            "user",
            "add",
            "--email",
            "x@y.z",
            "--password",
            "pass",
            "--role",
            "owner",
        ],
    );
    assert!(!bad_role.status.success());
    assert_eq!(dump(&url).await.users.len(), 1);
}

/// The password may come from a file (its first line), so it need not be on
/// the command line; the stored hash verifies against exactly that line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_add_reads_the_password_from_a_file() {
    let (url, dir) = fresh_database(Backend::Sqlite).await.expect("sqlite");
    let dir = dir.expect("a SQLite temp dir");
    let file = dir.path().join("password");
    std::fs::write(&file, "from-a-file\nsecond line\n").expect("password file");
    let file = file.to_str().expect("utf-8 path");
    let args = [
        "user",
        "add",
        "--email",
        "f@example.com",
        "--role",
        "landlord",
    ];
    let out = mfuko(&url, &[&args[..], &["--password-file", file]].concat());
    assert!(out.contains("created landlord f@example.com"), "{out}");

    let mut settings = mfuko::config::Settings::default();
    settings.database.url = mfuko::config::Secret::new(url.clone());
    let db = mfuko::db::Database::connect(&settings.database)
        .await
        .expect("db");
    let stored =
        mfuko::db::users::credentials_by_email(db.reader_prefer_primary(), "f@example.com")
            .await
            .expect("query")
            .expect("the user exists");
    assert!(mfuko::auth::verify_password("from-a-file", &stored.password_hash).expect("hash"));
    assert!(!mfuko::auth::verify_password("second line", &stored.password_hash).expect("hash"));
    db.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn charges_run_is_idempotent() {
    let (url, _dir) = fresh_database(Backend::Sqlite).await.expect("sqlite");
    mfuko(&url, &SEED_ARGS);
    // The seed billed up to 2024-06; July is new.
    let before = dump(&url).await.charges.len();
    let first = mfuko(&url, &["charges", "run", "--period", "2024-07"]);
    let after_first = dump(&url).await.charges;
    let created = after_first.len() - before;
    assert!(created > 0, "{first}");
    assert!(
        first.contains(&format!("{created} charges created")),
        "{first}"
    );
    assert!(
        after_first[before..]
            .iter()
            .all(|c| c.2 == "2024-07" && c.3 == "rent")
    );

    let second = mfuko(&url, &["charges", "run", "--period", "2024-07"]);
    assert!(second.contains(" 0 charges created"), "{second}");
    assert_eq!(dump(&url).await.charges, after_first);
}

/// `mfuko bench` end to end on a tiny data set, as of a day two weeks ahead
/// (`--today`, as the month's 15th is measured on any day): every scenario
/// runs against real servers it starts itself, none errs, and the JSON says
/// so.
#[cfg(feature = "bench")]
#[test]
fn bench_measures_every_scenario() {
    let dir = tempfile::tempdir().expect("temp dir");
    let redis = crate::redis_server::RedisServer::start();
    let day = chrono::Utc::now()
        .with_timezone(&chrono_tz::Africa::Nairobi)
        .date_naive()
        + chrono::Duration::days(14);
    let mut command = Command::new(env!("CARGO_BIN_EXE_mfuko"));
    command
        .current_dir(dir.path())
        .env("MFUKO_LOG__LEVEL", "warn")
        .args([
            "bench",
            "--landlords",
            "2",
            "--properties",
            "1",
            "--units",
            "3",
            "--months",
            "2",
            "--duration",
            "0.3",
            "--warmup",
            "0.1",
            "--connections",
            "2",
            "--rounds",
            "2",
            "--today",
            &day.to_string(),
        ]);
    if let Some(redis) = &redis {
        command.args(["--redis-url", &redis.url()]);
    }
    let output = command.output().expect("the mfuko binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("vs floor"), "{stdout}");
    let results: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.path().join("bench-results.json")).expect("results file"),
    )
    .expect("JSON results");
    let scenarios = results["scenarios"].as_array().expect("scenarios");
    let mut names: Vec<&str> = scenarios
        .iter()
        .filter_map(|s| s["scenario"].as_str())
        .collect();
    names.sort_unstable();
    let mut expected = vec![
        "floor",
        "month-start",
        "baseline",
        "dashboard-cold",
        "dashboard-hit",
        "page-dashboard",
        "reports-cold",
        "write-mix",
        "freshness",
    ];
    if redis.is_some() {
        expected.push("dashboard-l2");
    }
    expected.sort_unstable();
    assert_eq!(names, expected);
    // Two instances on one database: no read misses its own instance's
    // write, and no acknowledged write is lost.
    let freshness = scenarios
        .iter()
        .find(|s| s["scenario"] == "freshness")
        .expect("the freshness scenario");
    assert_eq!(
        freshness["freshness"]["stale_same_instance"], 0,
        "{freshness}"
    );
    assert_eq!(freshness["freshness"]["lost_writes"], 0, "{freshness}");
    assert!(
        freshness["freshness"]["writes"].as_u64().unwrap_or(0) > 0,
        "{freshness}"
    );
    assert!(stdout.contains("freshness: "), "{stdout}");
    for scenario in scenarios {
        assert_eq!(scenario["errors"], 0, "{scenario}");
        // Every scenario ran in both rounds but the freshness check.
        let rounds = if scenario["scenario"] == "freshness" {
            1
        } else {
            2
        };
        assert_eq!(
            scenario["rounds"].as_array().map(Vec::len),
            Some(rounds),
            "{scenario}"
        );
        // Each ran against a server whose peak memory was read.
        assert!(
            scenario["peak_rss_mib"]
                .as_f64()
                .is_some_and(|mib| mib > 1.0),
            "{scenario}"
        );
        assert!(scenario["requests"].as_u64().unwrap_or(0) > 0, "{scenario}");
        // The others were measured in alternation with the floor and the
        // baseline, and have ratios to them.
        let name = scenario["scenario"].as_str().unwrap_or("");
        if !["floor", "baseline", "freshness"].contains(&name) {
            for field in [
                "baseline_alongside",
                "floor_alongside",
                "vs_baseline",
                "vs_floor",
            ] {
                assert!(
                    scenario[field].as_f64().unwrap_or(0.0) > 0.0,
                    "{field}: {scenario}"
                );
            }
        }
    }
    assert_eq!(
        results["machine"]["cores"].as_u64().map(|c| c > 0),
        Some(true)
    );
    // The data set of that day has its own file, which the scenarios that
    // post payments left as seeded (they ran on copies).
    let data_set = format!(
        "bench-data/2x1x3x2_s42_{}_d{day}.db",
        mfuko::types::Period::containing(day)
    );
    assert!(dir.path().join(&data_set).exists(), "{data_set}");
    let url = format!("sqlite://{}", dir.path().join(&data_set).display());
    let written = tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(async {
            let db = mfuko::db::Database::connect(&crate::helpers::test_settings(&url).database)
                .await
                .expect("the data set opens");
            let mfuko::db::Pool::Sqlite(pool) = mfuko::db::testing::writer_pool(&db) else {
                unreachable!("a SQLite URL");
            };
            let count: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM payments WHERE mpesa_receipt LIKE 'MS%' OR notes = $1",
            )
            .bind(mfuko::bench::BENCH_NOTE)
            .fetch_one(pool)
            .await
            .expect("counting");
            db.close().await;
            count
        });
    assert_eq!(
        written, 0,
        "payments the scenarios posted reached the data set"
    );
}

/// `rollups verify` finds nothing wrong with a freshly seeded database, names
/// a drifted row (exit 1), and `rollups rebuild` repairs it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollups_verify_finds_drift_and_rebuild_repairs_it() {
    let (url, _dir) = fresh_database(Backend::Sqlite).await.expect("sqlite");
    mfuko(&url, &SEED_ARGS);
    let verified = mfuko(&url, &["rollups", "verify"]);
    assert!(verified.contains("agree"), "{verified}");

    let db = mfuko::db::Database::connect(&crate::helpers::test_settings(&url).database)
        .await
        .expect("connect");
    let mfuko::db::Pool::Sqlite(pool) = mfuko::db::testing::writer_pool(&db) else {
        unreachable!("a SQLite URL");
    };
    // The seed's ANALYZE left the per-index statistics, not the STAT4
    // samples that make SQLite re-prepare statements (dialect::drop_stat4).
    let stats: (i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM sqlite_stat1), (SELECT COUNT(*) FROM sqlite_stat4)",
    )
    .fetch_one(pool)
    .await
    .expect("the statistics tables");
    assert!(stats.0 > 0 && stats.1 == 0, "{stats:?}");
    sqlx::query("UPDATE rollup_leases SET paid = paid + 1 WHERE lease_id = 1")
        .execute(pool)
        .await
        .expect("corrupting a roll-up");
    db.close().await;

    let drifted = run(&url, &["rollups", "verify"]);
    assert!(!drifted.status.success(), "drift is exit 1");
    let table = String::from_utf8_lossy(&drifted.stdout);
    assert!(
        table.contains("rollup_leases") && table.lines().count() == 2,
        "{table}"
    );

    mfuko(&url, &["rollups", "rebuild"]);
    let verified = mfuko(&url, &["rollups", "verify"]);
    assert!(verified.contains("agree"), "{verified}");
}
