//! `mfuko rollups verify` and `mfuko rollups rebuild`.

use std::time::Instant;

use clap::Subcommand;

use crate::cache::Data;
use crate::config::Settings;
use crate::db::rollups;
use crate::reports::check;
use crate::write::WritePath;

#[derive(Debug, Subcommand)]
pub enum RollupsCommand {
    /// Compare the roll-ups with the history; exit 1 and list the
    /// differences when they disagree.
    Verify,
    /// Recompute the roll-ups from the history (in one transaction).
    Rebuild,
}

pub async fn run(settings: Settings, command: RollupsCommand) -> anyhow::Result<()> {
    let db = super::connect_migrated(&settings).await?;
    let started = Instant::now();
    match command {
        RollupsCommand::Verify => {
            let differences = rollups::verify(db.reader_prefer_primary()).await?;
            let reports = if differences.is_empty() {
                compare_reports(&db, &settings).await?
            } else {
                0
            };
            db.close().await;
            if differences.is_empty() && reports == 0 {
                println!(
                    "roll-ups and every report agree with the history ({} ms)",
                    started.elapsed().as_millis()
                );
                return Ok(());
            }
            if differences.is_empty() {
                anyhow::bail!("{reports} reports from the roll-ups disagree with the history");
            }
            println!(
                "{:<22} {:<40} {:>44} {:>44}",
                "table", "row", "history", "stored"
            );
            for d in &differences {
                println!(
                    "{:<22} {:<40} {:>44} {:>44}",
                    d.table, d.key, d.expected, d.stored
                );
            }
            anyhow::bail!(
                "{} roll-up rows disagree with the history; `mfuko rollups rebuild` recomputes them",
                differences.len()
            )
        }
        RollupsCommand::Rebuild => {
            let cache = crate::startup::connect_cache(&settings, &db).await?;
            let path = WritePath::new(
                db.writer().clone(),
                cache,
                settings.money.max_amount()?,
                settings.clock()?,
            );
            path.run(async |write| {
                rollups::rebuild(write.tx()).await?;
                // Every view built on them moves to new keys.
                write.touch_everyone(&[Data::Charges, Data::Payments]);
                Ok(())
            })
            .await
            .map_err(|err| anyhow::anyhow!("rebuilding the roll-ups: {}", err.cause()))?;
            db.close().await;
            println!("roll-ups rebuilt ({} ms)", started.elapsed().as_millis());
            Ok(())
        }
    }
}

/// Every landlord's reports from both sources; prints and counts the ones
/// that differ.
async fn compare_reports(db: &crate::db::Database, settings: &Settings) -> anyhow::Result<usize> {
    let today = settings.clock()?.today(settings.timezone()?);
    let mut count = 0;
    for landlord in check::landlords(db.reader_prefer_primary()).await? {
        for difference in check::compare(db.reader_prefer_primary(), landlord, today)
            .await
            .map_err(|err| anyhow::anyhow!("computing reports: {}", err.cause()))?
        {
            count += 1;
            println!(
                "landlord {}: {} differs\n  roll-ups: {}\n  history:  {}",
                difference.landlord, difference.report, difference.rollups, difference.history
            );
        }
    }
    Ok(count)
}
