//! `mfuko bench`: side-by-side HTTP measurements. The load generator (and
//! its HTTP client) is compiled only with the `bench` cargo feature, so a
//! server built without it carries none of it.

pub mod floor;
#[cfg(feature = "bench")]
mod measure;

use std::path::PathBuf;

use clap::Args;

#[cfg(feature = "bench")]
pub use measure::run;

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Target a running server instead of starting one (its data is its
    /// own); give it twice (`--url A --url B`) for the freshness scenario.
    #[arg(long)]
    pub url: Vec<String>,
    /// Redis for the `dashboard-l2` scenario and the cached ones.
    #[arg(long)]
    pub redis_url: Option<String>,
    /// The data set (seeded into `bench-data/` unless `--database-url` or
    /// `--url` is given).
    #[command(flatten)]
    pub data: super::seed::SeedArgs,
    /// Run as of this day (`2026-12-15`): the data set is seeded as of it
    /// and the servers' clock is on it (the `today` setting).
    #[arg(long)]
    pub today: Option<chrono::NaiveDate>,
    /// Concurrent connections of the closed-loop load.
    #[arg(long, default_value_t = 16)]
    pub connections: usize,
    /// Measured seconds per scenario.
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// Unmeasured seconds before each measurement.
    #[arg(long, default_value_t = 2.0)]
    pub warmup: f64,
    /// Rounds of every scenario; each figure is the median of the rounds,
    /// each ratio the median of the rounds' (each to the baseline and floor
    /// measured in alternation with the scenario).
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// Comma-separated subset of: floor, baseline, dashboard-hit,
    /// page-dashboard (the web app's page), dashboard-l2, dashboard-cold,
    /// reports-cold, write-mix, month-start, freshness.
    #[arg(long, value_delimiter = ',')]
    pub scenarios: Option<Vec<String>>,
    /// Where to write the JSON results.
    #[arg(long, default_value = "bench-results.json")]
    pub out: PathBuf,
}

#[cfg(not(feature = "bench"))]
pub async fn run(_settings: crate::config::Settings, _args: BenchArgs) -> anyhow::Result<()> {
    anyhow::bail!(
        "this mfuko was built without the load generator; \
         run `cargo run --release --features bench -- bench …`"
    )
}
