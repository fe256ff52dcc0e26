//! `mfuko bench`: prepares (or reuses) a data set made by the seed generator,
//! starts real `mfuko serve` processes configured per scenario (or targets
//! `--url`), logs in, and drives them over HTTP with a closed-loop load
//! generator. Every scenario is compared with `baseline` (`/healthz`) and
//! `floor` (a bare server of the dashboard's bytes), measured in alternation
//! with it second by second.

mod freshness;
pub mod load;
mod month_start;

use std::{path::PathBuf, process::Stdio, sync::Arc, time::Duration};

use anyhow::Context;
use reqwest::{Client, Method};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

use load::{Next, Outcome, Request};

/// What to run and against what.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Running servers to target instead of starting our own (the
    /// freshness scenario uses two).
    pub urls: Vec<String>,
    pub database_url: String,
    pub redis_url: Option<String>,
    pub connections: usize,
    pub warmup: Duration,
    pub duration: Duration,
    /// Times the scenarios are run, one after another in each round; every
    /// figure is the median round's (see [`combine`]).
    pub rounds: usize,
    pub scenarios: Vec<String>,
    /// Landlords the write-mix spreads over.
    pub landlords: u32,
    /// The day the servers run as of (`None`: the real one).
    pub today: Option<chrono::NaiveDate>,
}

pub const ALL_SCENARIOS: &[&str] = &[
    "floor",
    "baseline",
    "dashboard-hit",
    "page-dashboard",
    "dashboard-l2",
    "dashboard-cold",
    "reports-cold",
    "write-mix",
    "month-start",
    "freshness",
];

#[derive(Debug, Clone, Serialize)]
pub struct ScenarioResult {
    pub scenario: String,
    #[serde(flatten)]
    pub outcome: Outcome,
    /// Throughput ÷ the baseline's, measured in alternation with it (or,
    /// for the floor, in the same round); the median over the rounds.
    pub vs_baseline: Option<f64>,
    /// Throughput ÷ the floor's (a bare server of the same bytes), measured
    /// in alternation with it (for the baseline, in the same round); the
    /// median over the rounds.
    pub vs_floor: Option<f64>,
    /// The baseline's throughput in the slices between this scenario's (the
    /// median round's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline_alongside: Option<f64>,
    /// The floor's throughput in the slices between this scenario's (the
    /// median round's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub floor_alongside: Option<f64>,
    /// Each round's throughput, in order (the outcome is the median one's).
    pub rounds: Vec<f64>,
    /// The server's peak resident memory (VmHWM) over the scenario, the
    /// highest of the rounds.
    pub peak_rss_mib: Option<f64>,
    /// What the freshness scenario found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub freshness: Option<Freshness>,
}

impl ScenarioResult {
    fn new(scenario: &str, outcome: Outcome) -> ScenarioResult {
        ScenarioResult {
            scenario: scenario.to_owned(),
            rounds: vec![outcome.throughput],
            outcome,
            vs_baseline: None,
            vs_floor: None,
            baseline_alongside: None,
            floor_alongside: None,
            peak_rss_mib: None,
            freshness: None,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Freshness {
    #[serde(flatten)]
    pub report: crate::freshness::Report,
    /// Acknowledged payments missing from the database.
    pub lost_writes: i64,
}

/// A `mfuko serve` child process, killed when dropped.
struct Server {
    url: String,
    child: tokio::process::Child,
}

/// The note on every payment a scenario posts by hand (M-Pesa ones have
/// `MS…` receipts), so they can be told from the seeded ones.
pub const BENCH_NOTE: &str = "mfuko bench";

/// The scenarios that post payments: on a SQLite data set they run on a copy
/// of it, so every run (and every later scenario) measures the data as
/// seeded. A PostgreSQL data set keeps what they wrote (see PERFORMANCE.md).
fn writes(scenario: &str) -> bool {
    matches!(scenario, "write-mix" | "month-start" | "freshness")
}

/// A copy of a SQLite data set (its file and write-ahead log), deleted when
/// dropped.
struct Scratch {
    path: PathBuf,
    url: String,
}

impl Scratch {
    /// A copy of `database_url`'s file, or `None` when it is no SQLite file.
    /// The copy gets its own cache namespace (as a restored backup must):
    /// its generation counters restart where the original's are, and a
    /// shared Redis still holds what the last copy's writes cached under them.
    async fn of(database_url: &str) -> anyhow::Result<Option<Scratch>> {
        let Some(file) = database_url.strip_prefix("sqlite://") else {
            return Ok(None);
        };
        let file = file.split('?').next().unwrap_or(file);
        static COPIES: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = COPIES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("mfuko-bench-{}-{n}.db", std::process::id()));
        std::fs::copy(file, &path).with_context(|| format!("copying {file}"))?;
        let wal = format!("{file}-wal");
        if std::path::Path::new(&wal).exists() {
            std::fs::copy(&wal, format!("{}-wal", path.display()))
                .with_context(|| format!("copying {wal}"))?;
        }
        let url = format!("sqlite://{}", path.display());
        let scratch = Scratch { path, url };
        let mut db = <sqlx::SqliteConnection as sqlx::Connection>::connect(&scratch.url)
            .await
            .context("opening the copy")?;
        sqlx::query("UPDATE cache_namespace SET id = lower(hex(randomblob(8)))")
            .execute(&mut db)
            .await
            .context("giving the copy its own cache namespace")?;
        sqlx::Connection::close(db).await?;
        Ok(Some(scratch))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.path.display()));
        }
    }
}

impl Server {
    /// Starts `mfuko serve` on a free port with extra environment.
    async fn start(plan: &Plan, env: &[(&str, String)]) -> anyhow::Result<Server> {
        Server::start_on(plan, &plan.database_url, env).await
    }

    /// [`Server::start`] on another copy of the data set.
    async fn start_on(
        plan: &Plan,
        database_url: &str,
        env: &[(&str, String)],
    ) -> anyhow::Result<Server> {
        let args = [
            "--database-url",
            database_url,
            "serve",
            "--bind",
            "127.0.0.1:0",
        ];
        Server::spawn(&args, env, plan.today).await
    }

    /// Starts `mfuko` with `args`, and waits for it to say where it listens.
    async fn spawn(
        args: &[&str],
        env: &[(&str, String)],
        today: Option<chrono::NaiveDate>,
    ) -> anyhow::Result<Server> {
        let exe = std::env::current_exe().context("finding the mfuko binary")?;
        let mut command = tokio::process::Command::new(exe);
        command
            .args(args)
            .env("MFUKO_LOG__LEVEL", "warn")
            .env_remove("REDIS_URL")
            .env_remove("MFUKO_REDIS__URL")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        for (key, value) in env {
            command.env(key, value);
        }
        if let Some(today) = today {
            command.env("MFUKO_TODAY", today.to_string());
        }
        let mut child = command.spawn().context("starting mfuko serve")?;
        let stdout = child.stdout.take().context("server stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let url = tokio::time::timeout(Duration::from_secs(60), async {
            while let Some(line) = lines.next_line().await? {
                if let Some(url) = line.strip_prefix("mfuko is listening on ") {
                    return Ok::<_, std::io::Error>(Some(url.trim().to_owned()));
                }
            }
            Ok(None)
        })
        .await
        .context("the server did not start within 60 s")??
        .context("the server exited before listening")?;
        // Keep draining stdout so the child never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Server { url, child })
    }

    /// The process's peak resident memory so far, from `/proc` (Linux).
    fn peak_rss_mib(&self) -> Option<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()?)).ok()?;
        let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
        let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib / 1024.0)
    }
}

/// Runs the plan's scenarios `plan.rounds` times over, reporting each on
/// `progress`, and combines the rounds ([`combine`]). The floor's server,
/// when the plan has it, stays up throughout: every other scenario is
/// measured in alternation with it.
pub async fn run(
    plan: &Plan,
    progress: &indicatif::ProgressBar,
) -> anyhow::Result<Vec<ScenarioResult>> {
    let client = Client::builder()
        .pool_max_idle_per_host(plan.connections)
        .build()
        .context("HTTP client")?;
    let floor = match plan.scenarios.iter().any(|s| s == "floor") {
        true => Some(floor_server(&client, plan).await?),
        false => None,
    };
    let mut rounds = Vec::new();
    for round in 1..=plan.rounds.max(1) {
        rounds.push(run_round(&client, plan, progress, round, floor.as_ref()).await?);
    }
    Ok(combine(rounds))
}

/// One round: every scenario once, in the plan's order. The freshness
/// check, a count of stale reads rather than a speed, runs in the first.
/// A scenario other than the floor and the baseline is measured in
/// alternation with them ([`load::run_alongside`]), when the plan has them:
/// its ratios are to the floor's and the baseline's throughput in the same
/// seconds, the baseline being the scenario's own server's `/healthz`.
async fn run_round(
    client: &Client,
    plan: &Plan,
    progress: &indicatif::ProgressBar,
    round: usize,
    floor: Option<&Server>,
) -> anyhow::Result<Vec<ScenarioResult>> {
    let floor_url = floor.map(|server| server.url.as_str());
    let with_baseline = plan.scenarios.iter().any(|s| s == "baseline");
    let mut results: Vec<ScenarioResult> = Vec::new();
    for scenario in &plan.scenarios {
        if scenario == "freshness" && round > 1 {
            continue;
        }
        if scenario == "dashboard-l2" && plan.redis_url.is_none() && plan.urls.is_empty() {
            progress.println("dashboard-l2: skipped (needs --redis-url)");
            continue;
        }
        progress.set_message(format!("round {round}: {scenario}"));
        if scenario == "freshness" {
            match freshness_scenario(client, plan).await? {
                Some(result) => results.push(result),
                None => progress.println("freshness: skipped (give two --url, or none)"),
            }
            continue;
        }
        let (server, base) = match (scenario.as_str(), plan.urls.first(), floor_url) {
            ("floor", _, Some(floor)) => (None, floor.to_owned()),
            (_, Some(url), _) => (None, url.trim_end_matches('/').to_owned()),
            (_, None, _) => {
                let copy = if writes(scenario) {
                    Scratch::of(&plan.database_url).await?
                } else {
                    None
                };
                let url = copy.as_ref().map_or(plan.database_url.as_str(), |c| &c.url);
                let server = Server::start_on(plan, url, &server_env(plan, scenario)).await?;
                let base = server.url.clone();
                (Some((server, copy)), base)
            }
        };
        let next = load_for(client, plan, scenario, &base).await?;
        let (warmup, duration, connections) = (plan.warmup, plan.duration, plan.connections);
        let mut result = if matches!(scenario.as_str(), "floor" | "baseline") {
            let outcome = load::run(client, connections, warmup, duration, next).await;
            ScenarioResult::new(scenario, outcome)
        } else {
            let mut references = Vec::new();
            if with_baseline {
                references.push(baseline_load(&base));
            }
            if let Some(floor) = floor_url {
                references.push(floor_load(floor));
            }
            let (outcome, alongside) =
                load::run_alongside(client, connections, warmup, duration, next, references).await;
            let mut alongside = alongside.into_iter().map(|o| o.throughput);
            let mut result = ScenarioResult::new(scenario, outcome);
            result.baseline_alongside = with_baseline.then(|| alongside.next()).flatten();
            result.floor_alongside = floor_url.and_then(|_| alongside.next());
            result
        };
        result.peak_rss_mib = match (&server, scenario.as_str()) {
            (Some((server, _)), _) => server.peak_rss_mib(),
            (None, "floor") => floor.and_then(Server::peak_rss_mib),
            (None, _) => None,
        };
        drop(server);
        results.push(result);
    }
    let throughput = |name: &str| {
        results
            .iter()
            .find(|r| r.scenario == name)
            .map(|r| r.outcome.throughput)
            .filter(|x| *x > 0.0)
    };
    let (baseline, floor) = (throughput("baseline"), throughput("floor"));
    for result in &mut results {
        if result.freshness.is_some() {
            continue;
        }
        let ratio = |alongside: Option<f64>, apart: Option<f64>| {
            alongside
                .or(apart)
                .filter(|x| *x > 0.0)
                .map(|x| result.outcome.throughput / x)
        };
        result.vs_baseline = ratio(result.baseline_alongside, baseline);
        result.vs_floor = ratio(result.floor_alongside, floor);
        progress.println(format!(
            "round {round}: {}: {:.0} req/s, p50 {} µs, p99 {} µs, vs base {}, vs floor {}",
            result.scenario,
            result.outcome.throughput,
            result.outcome.p50_us,
            result.outcome.p99_us,
            result
                .vs_baseline
                .map_or_else(|| "-".to_owned(), |x| format!("{x:.3}")),
            result
                .vs_floor
                .map_or_else(|| "-".to_owned(), |x| format!("{x:.3}")),
        ));
    }
    Ok(results)
}

/// One result per scenario from the rounds' (each compared with its own
/// round's baseline and floor). This machine's speed drifts by a third
/// within minutes, more than most changes move a figure; a ratio of two
/// measurements seconds apart, the median of several, moves much less than
/// one of two measurements minutes apart. The outcome (throughput and
/// latencies) is the round's with the median throughput.
pub fn combine(rounds: Vec<Vec<ScenarioResult>>) -> Vec<ScenarioResult> {
    let mut combined: Vec<ScenarioResult> = Vec::new();
    let mut all: Vec<Vec<ScenarioResult>> = Vec::new();
    for result in rounds.into_iter().flatten() {
        match combined.iter().position(|c| c.scenario == result.scenario) {
            Some(at) => all[at].push(result),
            None => {
                combined.push(result.clone());
                all.push(vec![result]);
            }
        }
    }
    for (result, mut runs) in combined.iter_mut().zip(all) {
        result.vs_baseline = median(runs.iter().filter_map(|r| r.vs_baseline));
        result.vs_floor = median(runs.iter().filter_map(|r| r.vs_floor));
        result.rounds = runs.iter().map(|r| r.outcome.throughput).collect();
        result.peak_rss_mib = runs.iter().filter_map(|r| r.peak_rss_mib).reduce(f64::max);
        runs.sort_by(|a, b| a.outcome.throughput.total_cmp(&b.outcome.throughput));
        let middle = &runs[runs.len() / 2];
        result.outcome = middle.outcome.clone();
        result.baseline_alongside = middle.baseline_alongside;
        result.floor_alongside = middle.floor_alongside;
    }
    combined
}

/// The middle value (the upper of the two middle ones of an even count).
fn median(values: impl Iterator<Item = f64>) -> Option<f64> {
    let mut values: Vec<f64> = values.collect();
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied()
}

/// The floor: a bare axum server (`mfuko bench-floor`) answering with the
/// bytes of the demo landlord's real dashboard, taken from one of our servers.
async fn floor_server(client: &Client, plan: &Plan) -> anyhow::Result<Server> {
    let bytes = match plan.urls.first() {
        Some(url) => dashboard_bytes(client, url.trim_end_matches('/')).await?,
        None => {
            let server = Server::start(plan, &server_env(plan, "dashboard-hit")).await?;
            dashboard_bytes(client, &server.url).await?
        }
    };
    let file = std::env::temp_dir().join(format!("mfuko-floor-{}.json", std::process::id()));
    std::fs::write(&file, &bytes).with_context(|| format!("writing {}", file.display()))?;
    let body = file.display().to_string();
    Server::spawn(
        &["bench-floor", "--bind", "127.0.0.1:0", "--body", &body],
        &[],
        None,
    )
    .await
}

async fn dashboard_bytes(client: &Client, base: &str) -> anyhow::Result<Vec<u8>> {
    let token = login(client, base, "demo@mfuko.local", "demo").await?;
    let bytes = client
        .get(format!("{base}/api/v1/dashboard"))
        .bearer_auth(&token)
        .send()
        .await?
        .error_for_status()?
        .bytes()
        .await?;
    Ok(bytes.to_vec())
}

/// Two instances (ours, on the plan's database and Redis, or the two given
/// URLs) checked for freshness; `None` when exactly one URL was given.
async fn freshness_scenario(
    client: &Client,
    plan: &Plan,
) -> anyhow::Result<Option<ScenarioResult>> {
    let mut servers = Vec::new();
    let scratch = match plan.urls.as_slice() {
        [] => Scratch::of(&plan.database_url).await?,
        _ => None,
    };
    let database_url = scratch
        .as_ref()
        .map_or(plan.database_url.as_str(), |copy| copy.url.as_str());
    let bases: [String; 2] = match plan.urls.as_slice() {
        [] => {
            for _ in 0..2 {
                let env = server_env(plan, "freshness");
                servers.push(Server::start_on(plan, database_url, &env).await?);
            }
            [servers[0].url.clone(), servers[1].url.clone()]
        }
        [_] => return Ok(None),
        [a, b, ..] => [a, b].map(|url| url.trim_end_matches('/').to_owned()),
    };
    let token = login(client, &bases[0], "demo@mfuko.local", "demo").await?;
    tokio::time::sleep(plan.warmup).await;
    let (outcome, report, lost_writes) =
        freshness::run(client, bases, &token, plan.duration).await?;
    let peak_rss_mib = servers
        .iter()
        .filter_map(Server::peak_rss_mib)
        .reduce(f64::max);
    drop(servers);
    drop(scratch);
    let mut result = ScenarioResult::new("freshness", outcome);
    result.peak_rss_mib = peak_rss_mib;
    result.freshness = Some(Freshness {
        report,
        lost_writes,
    });
    Ok(Some(result))
}

/// The server configuration a scenario needs.
fn server_env(plan: &Plan, scenario: &str) -> Vec<(&'static str, String)> {
    let mut env = Vec::new();
    match scenario {
        "dashboard-cold" | "reports-cold" => env.push(("MFUKO_CACHE__ENABLED", "false".to_owned())),
        "dashboard-l2" => env.push(("MFUKO_CACHE__L1_MAX_BYTES", "0".to_owned())),
        "month-start" => env.push(("MFUKO_MPESA__C2B_SECRET", month_start::SECRET.to_owned())),
        _ => {}
    }
    if let Some(redis) = &plan.redis_url
        && scenario != "dashboard-cold"
        && scenario != "reports-cold"
    {
        env.push(("REDIS_URL", redis.clone()));
    }
    env.extend(postgres_pool(plan));
    env
}

/// PostgreSQL shares this machine with the server and the load. The default
/// pool (10 to 30 connections) keeps up to 30 backends busy on its cores,
/// and sqlx hands idle connections out first in, first out, so each
/// statement runs on a backend whose caches have gone cold: a cold dashboard
/// cost ~2.0 ms of CPU with it and ~1.5 ms with 2 to 8 connections
/// (PERFORMANCE.md). Unless the environment sizes the pool, the bench gives
/// it a few connections per core, as one would a PostgreSQL of that size.
fn postgres_pool(plan: &Plan) -> Vec<(&'static str, String)> {
    if !plan.database_url.starts_with("postgres")
        || std::env::var_os("MFUKO_DATABASE__POOL_SIZE").is_some()
        || std::env::var_os("MFUKO_DATABASE__MAX_OVERFLOW").is_some()
    {
        return Vec::new();
    }
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    vec![
        ("MFUKO_DATABASE__POOL_SIZE", cores.to_string()),
        ("MFUKO_DATABASE__MAX_OVERFLOW", (3 * cores).to_string()),
    ]
}

pub(crate) async fn login(
    client: &Client,
    base: &str,
    email: &str,
    password: &str,
) -> anyhow::Result<String> {
    let reply: Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await?
        .error_for_status()
        .with_context(|| format!("logging in as {email}"))?
        .json()
        .await?;
    reply["token"]
        .as_str()
        .map(str::to_owned)
        .context("no token in the login reply")
}

pub(crate) fn landlord_email(k: u32) -> String {
    if k == 1 {
        "demo@mfuko.local".to_owned()
    } else {
        format!("landlord{k}@mfuko.local")
    }
}

const REPORTS: &[&str] = &[
    "/api/v1/reports/occupancy",
    "/api/v1/reports/financial",
    "/api/v1/reports/payments",
    "/api/v1/reports/arrears",
    "/api/v1/metrics/payments",
];

/// What `scenario` sends to the server at `base` (logged in as it needs).
async fn load_for(
    client: &Client,
    plan: &Plan,
    scenario: &str,
    base: &str,
) -> anyhow::Result<Next> {
    if scenario == "floor" {
        return Ok(floor_load(base));
    }
    if scenario == "baseline" {
        return Ok(baseline_load(base));
    }
    let token = login(client, base, "demo@mfuko.local", "demo").await?;
    Ok(match scenario {
        "dashboard-hit" | "dashboard-l2" | "dashboard-cold" => {
            let url = format!("{base}/api/v1/dashboard");
            Arc::new(move |_| Request::get(url.clone(), Some(&token)))
        }
        "page-dashboard" => {
            // The web app's dashboard page on an L1 hit: the cached view,
            // the recent payments read, and the template rendered.
            let url = format!("{base}/dashboard");
            Arc::new(move |_| Request::page(url.clone(), &token))
        }
        "reports-cold" => {
            let urls: Vec<String> = REPORTS.iter().map(|path| format!("{base}{path}")).collect();
            Arc::new(move |n| Request::get(urls[(n as usize) % urls.len()].clone(), Some(&token)))
        }
        "write-mix" => write_mix(client, plan, base).await?,
        "month-start" => month_start::load(client, plan, base).await?,
        other => anyhow::bail!(
            "unknown scenario {other:?}; known: {}",
            ALL_SCENARIOS.join(", ")
        ),
    })
}

/// The baseline's request: `/healthz`, no authentication, no database.
fn baseline_load(base: &str) -> Next {
    let url = format!("{base}/healthz");
    Arc::new(move |_| Request::get(url.clone(), None))
}

/// The floor's request: the dashboard's bytes from a bare server.
fn floor_load(base: &str) -> Next {
    let url = format!("{base}/api/v1/dashboard");
    Arc::new(move |_| Request::get(url.clone(), Some("unused")))
}

/// Active leases per landlord the write-mix pays in turn. Paying one lease
/// thousands of times a minute, as it did, is nobody's traffic: the lease
/// soon owed nothing, so the payments skipped the work of settling open
/// charges, and its roll-up row, updated in credit each time, bloated the
/// index of leases in credit until PostgreSQL stopped using it.
const WRITE_MIX_LEASES: u32 = 50;

/// 95 % reads (dashboard and reports) and 5 % payments posted, spread over
/// several landlords and their leases.
async fn write_mix(client: &Client, plan: &Plan, base: &str) -> anyhow::Result<Next> {
    let mut landlords = Vec::new();
    for k in 1..=plan.landlords.max(1) {
        let token = login(client, base, &landlord_email(k), "demo").await?;
        let leases: Vec<i64> = active_leases(client, base, &token, WRITE_MIX_LEASES)
            .await?
            .iter()
            .filter_map(|lease| lease["id"].as_i64())
            .collect();
        anyhow::ensure!(
            !leases.is_empty(),
            "landlord {k} has no active lease to pay"
        );
        landlords.push((token, leases));
    }
    let base = base.to_owned();
    let reads: Vec<&'static str> = std::iter::once("/api/v1/dashboard")
        .chain(REPORTS.iter().copied())
        .collect();
    Ok(Arc::new(move |n| {
        let (token, leases) = &landlords[landlord_for(n, landlords.len())];
        if is_write(n) {
            // This landlord's writes so far, whose turn it is.
            let turn = n / WRITE_EVERY / landlords.len() as u64;
            let lease = leases[usize::try_from(turn).unwrap_or_default() % leases.len()];
            Request {
                method: Method::POST,
                url: format!("{base}/api/v1/payments"),
                token: Some(token.clone()),
                session: false,
                body: Some(
                    json!({ "lease_id": lease, "amount": 10_000, "method": "cash", "notes": BENCH_NOTE }),
                ),
            }
        } else {
            let path = reads[(n as usize / landlords.len()) % reads.len()];
            Request::get(format!("{base}{path}"), Some(token))
        }
    }))
}

/// One request in this many writes (write-mix, month-start): 5 %.
pub(crate) const WRITE_EVERY: u64 = 20;

pub(crate) fn is_write(n: u64) -> bool {
    n.is_multiple_of(WRITE_EVERY)
}

/// Which of `landlords` request `n` is for. Writes take the landlords in
/// turn, and so do reads: a plain `n % landlords` would hand every write to
/// the same landlord whenever their number divides `WRITE_EVERY`.
pub(crate) fn landlord_for(n: u64, landlords: usize) -> usize {
    let turn = if is_write(n) { n / WRITE_EVERY } else { n };
    usize::try_from(turn).unwrap_or_default() % landlords.max(1)
}

/// Up to `limit` of the landlord's active leases, as the API lists them.
pub(crate) async fn active_leases(
    client: &Client,
    base: &str,
    token: &str,
    limit: u32,
) -> anyhow::Result<Vec<Value>> {
    let mut page: Value = client
        .get(format!("{base}/api/v1/leases?status=active&limit={limit}"))
        .bearer_auth(token)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(match page["items"].take() {
        Value::Array(items) => items,
        _ => Vec::new(),
    })
}

/// Where the default SQLite data sets live, named after their content.
pub fn data_dir() -> PathBuf {
    PathBuf::from("bench-data")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(scenario: &str, throughput: f64, baseline: f64) -> ScenarioResult {
        let outcome = Outcome {
            requests: 0,
            errors: 0,
            seconds: 1.0,
            throughput,
            p50_us: throughput as u64,
            p90_us: 0,
            p99_us: 0,
            max_us: 0,
        };
        let mut result = ScenarioResult::new(scenario, outcome);
        result.vs_baseline = Some(throughput / baseline);
        result.baseline_alongside = Some(baseline);
        result.peak_rss_mib = Some(throughput / 1000.0);
        result
    }

    #[test]
    fn rounds_combine_into_medians_of_same_round_ratios() {
        // The machine slows down in round 2 and speeds up in round 3: each
        // round's ratio holds, whatever the speed.
        let rounds = [(100.0, 50.0), (60.0, 31.0), (140.0, 69.0)].map(|(baseline, hit)| {
            vec![
                result("baseline", baseline, baseline),
                result("hit", hit, baseline),
            ]
        });
        let combined = combine(rounds.into());
        let hit = &combined[1];
        assert_eq!(hit.scenario, "hit");
        assert_eq!(hit.rounds, [50.0, 31.0, 69.0]);
        // Ratios 0.5, 0.517, 0.493: the median is 0.5 (the median
        // throughputs, 50 of 100, would agree here, not in general).
        assert_eq!(hit.vs_baseline, Some(0.5));
        assert_eq!(hit.outcome.throughput, 50.0);
        assert_eq!(hit.outcome.p50_us, 50, "the median round's latencies");
        assert_eq!(hit.baseline_alongside, Some(100.0), "the median round's");
        assert_eq!(hit.peak_rss_mib, Some(0.069), "the highest peak");
        assert_eq!(combined[0].vs_baseline, Some(1.0));
    }

    #[test]
    fn writes_are_spread_over_every_landlord() {
        let mut writes = [0; 5];
        for n in 0..1_000 {
            if is_write(n) {
                writes[landlord_for(n, 5)] += 1;
            }
        }
        assert_eq!(writes, [10; 5]);
    }
}
