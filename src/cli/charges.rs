//! `mfuko charges run --period YYYY-MM`.

use clap::Subcommand;

use crate::config::Settings;
use crate::types::Period;
use crate::write::{WritePath, charges};

#[derive(Debug, Subcommand)]
pub enum ChargesCommand {
    /// Create the month's rent charges for every lease, idempotently.
    Run {
        /// The month to bill, YYYY-MM (default: the current month).
        #[arg(long)]
        period: Option<Period>,
    },
}

pub async fn run(settings: Settings, command: ChargesCommand) -> anyhow::Result<()> {
    let ChargesCommand::Run { period } = command;
    let tz = settings.timezone()?;
    let clock = settings.clock()?;
    let period = period.unwrap_or_else(|| Period::containing(clock.today(tz)));
    let db = super::connect_migrated(&settings).await?;
    // With Redis the bump reaches every server at once; without, servers on
    // the same database see the new charges when their views expire.
    let cache = crate::startup::connect_cache(&settings, &db).await?;
    let path = WritePath::new(
        db.writer().clone(),
        cache,
        settings.money.max_amount()?,
        clock,
    );
    let summary = charges::run(&path, None, period)
        .await
        .map_err(|err| anyhow::anyhow!("charge run failed: {}", err.cause()))?;
    db.close().await;
    println!(
        "{}: {} leases owe rent, {} charges created",
        summary.period, summary.leases, summary.created
    );
    Ok(())
}
