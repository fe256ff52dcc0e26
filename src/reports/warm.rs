//! Cache warming: the dashboards of the most active landlords are computed
//! in the background at start-up (so `/readyz` does not wait for them) and
//! again on a schedule, with bounded concurrency.

use std::time::Duration;

use chrono::{Days, NaiveDate};
use futures_util::{StreamExt, stream};

use crate::cache::Cache;
use crate::db::{Database, reports};
use crate::error::AppResult;
use crate::reports::views::{self, Report};

/// Starts the warming at start-up and the periodic refresh.
pub fn spawn(db: Database, cache: Cache, tz: chrono_tz::Tz, clock: crate::clock::Clock) {
    let settings = cache.settings().clone();
    if settings.warm_landlords == 0 || !settings.enabled {
        return;
    }
    tokio::spawn(async move {
        let every = Duration::from_secs(settings.refresh_interval_secs);
        loop {
            let today = clock.today(tz);
            match warm(&db, &cache, today).await {
                Ok(count) => tracing::info!(dashboards = count, "cache warmed"),
                Err(err) => tracing::warn!(error = ?err, "cache warming failed"),
            }
            if every.is_zero() {
                return;
            }
            tokio::time::sleep(every).await;
        }
    });
}

/// Recomputes the dashboards of the most active landlords (by payments over
/// the last 30 days); returns how many were stored.
pub async fn warm(db: &Database, cache: &Cache, today: NaiveDate) -> AppResult<usize> {
    let settings = cache.settings();
    let since = today.checked_sub_days(Days::new(30)).unwrap_or(today);
    let landlords = reports::most_active_landlords(
        db.reader_prefer_primary(),
        since,
        i64::from(settings.warm_landlords),
    )
    .await?;
    let results: Vec<AppResult<()>> =
        stream::iter(landlords)
            .map(|landlord| {
                let (db, cache) = (db.clone(), cache.clone());
                async move {
                    views::refresh(&db, &cache, landlord, None, Report::Dashboard { today }).await
                }
            })
            .buffer_unordered(settings.warm_concurrency.max(1))
            .collect()
            .await;
    let warmed = results.iter().filter(|result| result.is_ok()).count();
    if let Some(Err(err)) = results.into_iter().find(Result::is_err) {
        tracing::warn!(error = %err, "a dashboard could not be warmed");
    }
    Ok(warmed)
}
