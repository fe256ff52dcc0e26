//! The measuring half of `mfuko bench` (only with the `bench` feature):
//! prepares the data set, runs the scenarios (`crate::bench`), prints the
//! table and writes the JSON.

use std::time::{Duration, Instant};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use crate::bench::{self, ALL_SCENARIOS, Plan};
use crate::config::{Secret, Settings};
use crate::db::{Database, users};
use crate::demo::{self, SeedSpec};

use super::BenchArgs;

pub async fn run(mut settings: Settings, args: BenchArgs) -> anyhow::Result<()> {
    if args.today.is_some() {
        settings.today = args.today;
    }
    let tz = settings.timezone()?;
    let today = settings.clock()?.today(tz);
    let spec = args.data.spec(today);
    let mut seed_rows_per_sec = None;
    let database_url = if !args.url.is_empty() {
        settings.database.url.expose().to_owned()
    } else {
        let url = data_set_url(&settings, &spec)?;
        seed_rows_per_sec = prepare(&settings, &url, &spec, tz, today).await?;
        url
    };
    let plan = Plan {
        urls: args.url.clone(),
        database_url: database_url.clone(),
        redis_url: args.redis_url.clone(),
        connections: args.connections.max(1),
        warmup: Duration::from_secs_f64(args.warmup.max(0.0)),
        duration: Duration::from_secs_f64(args.duration.max(0.1)),
        rounds: args.rounds.max(1),
        scenarios: args
            .scenarios
            .clone()
            .unwrap_or_else(|| ALL_SCENARIOS.iter().map(|s| (*s).to_owned()).collect()),
        landlords: spec.landlords.min(5),
        today: settings.today,
    };
    let progress = ProgressBar::new_spinner()
        .with_style(ProgressStyle::with_template("{spinner} {msg} {elapsed}")?);
    progress.enable_steady_tick(Duration::from_millis(200));
    let results = bench::run(&plan, &progress).await?;
    progress.finish_and_clear();

    println!(
        "\n{:<16} {:>10} {:>9} {:>9} {:>9} {:>9} {:>7} {:>9} {:>9} {:>9}  rounds' req/s",
        "scenario",
        "req/s",
        "p50 µs",
        "p90 µs",
        "p99 µs",
        "max µs",
        "errors",
        "vs base",
        "vs floor",
        "peak MiB"
    );
    let ratio = |x: Option<f64>| x.map_or_else(|| "-".to_owned(), |x| format!("{x:.3}"));
    for r in &results {
        let o = &r.outcome;
        println!(
            "{:<16} {:>10.0} {:>9} {:>9} {:>9} {:>9} {:>7} {:>9} {:>9} {:>9}  {}",
            r.scenario,
            o.throughput,
            o.p50_us,
            o.p90_us,
            o.p99_us,
            o.max_us,
            o.errors,
            ratio(r.vs_baseline),
            ratio(r.vs_floor),
            r.peak_rss_mib
                .map_or_else(|| "-".to_owned(), |x| format!("{x:.0}")),
            r.rounds
                .iter()
                .map(|x| format!("{x:.0}"))
                .collect::<Vec<_>>()
                .join(" / ")
        );
    }
    let throughput = |name: &str| {
        results
            .iter()
            .find(|r| r.scenario == name)
            .map(|r| r.outcome.throughput)
    };
    if let (Some(hit), Some(cold)) = (throughput("dashboard-hit"), throughput("dashboard-cold"))
        && cold > 0.0
    {
        println!(
            "dashboard: an L1 hit serves {:.0}× the throughput of a cold computation",
            hit / cold
        );
    }
    for checked in results.iter().filter_map(|r| r.freshness.as_ref()) {
        let report = &checked.report;
        println!(
            "freshness: {} reads, {} writes; stale reads on the writing instance {}, on the other \
             {} (longest {:.1} ms); lost writes {}; failed requests {}",
            report.reads,
            report.writes,
            report.stale_same_instance,
            report.stale_other_instance,
            report.longest_stale_ms,
            checked.lost_writes,
            report.failed
        );
    }
    if let Some(rows) = seed_rows_per_sec {
        println!("seed: {rows:.0} rows/s");
    }
    let report = json!({
        "machine": {
            "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
            "os": std::env::consts::OS,
            "arch": std::env::consts::ARCH,
            "mfuko": env!("CARGO_PKG_VERSION"),
        },
        "data": {
            "landlords": spec.landlords, "properties": spec.properties, "units": spec.units,
            "months": spec.months, "seed": spec.seed,
            "database": Secret::new(database_url).redacted_url(),
            "redis": args.redis_url.is_some(),
        },
        "load": {
            "connections": plan.connections, "warmup_s": args.warmup,
            "duration_s": args.duration, "rounds": plan.rounds,
        },
        "seed_rows_per_sec": seed_rows_per_sec,
        "scenarios": results,
    });
    std::fs::write(&args.out, serde_json::to_vec_pretty(&report)?)
        .with_context(|| format!("writing {}", args.out.display()))?;
    println!("results written to {}", args.out.display());
    Ok(())
}

/// The database for `spec`: `--database-url` when given, else a SQLite file
/// named after the spec (reused by later runs).
fn data_set_url(settings: &Settings, spec: &SeedSpec) -> anyhow::Result<String> {
    let configured = settings.database.url.expose();
    if configured != Settings::default().database.url.expose() {
        return Ok(configured.to_owned());
    }
    let dir = bench::data_dir();
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    // A data set as of a chosen day (`--today`) has that day's payments.
    let day = settings
        .today
        .map_or_else(String::new, |today| format!("_d{today}"));
    let name = format!(
        "{}x{}x{}x{}_s{}_{}{day}.db",
        spec.landlords, spec.properties, spec.units, spec.months, spec.seed, spec.end
    );
    Ok(format!("sqlite://{}", dir.join(name).display()))
}

/// Migrates and, when empty, seeds the data set; returns the seeding rate.
async fn prepare(
    settings: &Settings,
    url: &str,
    spec: &SeedSpec,
    tz: chrono_tz::Tz,
    today: chrono::NaiveDate,
) -> anyhow::Result<Option<f64>> {
    let mut db_settings = settings.database.clone();
    db_settings.url = Secret::new(url);
    let db = Database::connect(&db_settings).await?;
    db.migrate().await?;
    let mut rate = None;
    if users::count(db.reader_prefer_primary()).await? == 0 {
        let progress = ProgressBar::new(0).with_style(
            ProgressStyle::with_template(
                "seeding [{bar:40}] {human_pos}/{human_len} rows ({per_sec})",
            )?
            .progress_chars("=> "),
        );
        let started = Instant::now();
        let summary = demo::load_as_of(&db, spec, tz, today, &progress).await?;
        progress.finish_and_clear();
        let rows = summary.users
            + summary.properties
            + summary.units
            + summary.tenants
            + summary.leases
            + summary.charges
            + summary.payments;
        rate = Some(rows as f64 / started.elapsed().as_secs_f64());
    }
    db.close().await;
    Ok(rate)
}
