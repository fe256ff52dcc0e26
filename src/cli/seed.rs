//! `mfuko seed`: deterministic demo data, with a progress bar.

use std::time::Instant;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use crate::config::Settings;
use crate::demo::{self, SeedSpec};
use crate::types::Period;

/// The size and seed of a demo data set (`seed`, and `bench`'s data set).
#[derive(Debug, Args)]
pub struct SeedArgs {
    /// Number of landlords.
    #[arg(long, default_value_t = 10)]
    pub landlords: u32,
    /// Properties per landlord.
    #[arg(long, default_value_t = 20)]
    pub properties: u32,
    /// Units per property.
    #[arg(long, default_value_t = 50)]
    pub units: u32,
    /// Months of history, ending with `--end`.
    #[arg(long, default_value_t = 36)]
    pub months: u32,
    /// Random seed: the same seed (and sizes, and end month) gives the same data.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Last month of history, YYYY-MM (default: the current month).
    #[arg(long)]
    pub end: Option<Period>,
}

impl SeedArgs {
    /// The spec these flags describe, ending in `--end` or `today`'s month.
    pub fn spec(&self, today: chrono::NaiveDate) -> SeedSpec {
        let end = self.end.unwrap_or_else(|| Period::containing(today));
        SeedSpec {
            landlords: self.landlords,
            properties: self.properties,
            units: self.units,
            months: self.months,
            seed: self.seed,
            end,
        }
    }
}

pub async fn run(settings: Settings, args: SeedArgs) -> anyhow::Result<()> {
    let tz = settings.timezone()?;
    let today = settings.clock()?.today(tz);
    let spec = args.spec(today);
    let db = super::connect_migrated(&settings).await?;
    let progress = ProgressBar::new(0).with_style(
        ProgressStyle::with_template(
            "{spinner} {msg} [{bar:40}] {human_pos}/{human_len} rows ({per_sec}, eta {eta})",
        )?
        .progress_chars("=> "),
    );
    progress.set_message("seeding");
    let started = Instant::now();
    let summary = demo::load_as_of(&db, &spec, tz, today, &progress).await?;
    progress.finish_and_clear();
    db.close().await;
    let elapsed = started.elapsed();
    println!(
        "seeded {} landlords: {} properties, {} units, {} tenants, {} leases, {} charges, {} payments in {:.1}s",
        spec.landlords,
        summary.properties,
        summary.units,
        summary.tenants,
        summary.leases,
        summary.charges,
        summary.payments,
        elapsed.as_secs_f64()
    );
    println!(
        "logins: demo@mfuko.local / demo, landlord2..N@mfuko.local / demo, admin@mfuko.local / admin"
    );
    Ok(())
}
