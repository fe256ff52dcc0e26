//! The dashboard: metrics, occupancy, this month's financials, the arrears
//! summary and headline counts, in one response. Its queries run
//! concurrently on the landlord's reader and share their results (the
//! 12-month series yields this month's financials; one arrears pass feeds the
//! metrics and the summary).

use std::future::Future;

use axum::body::Bytes;
use chrono::NaiveDate;
use serde::Serialize;

use crate::cache::{Cache, Served, View, entry::json_body};
use crate::db::{Database, reports};
use crate::domain::{Id, Period};
use crate::error::AppResult;
use crate::reports::{
    Scope,
    arrears::{self, ArrearsSummary},
    financial::FinancialReport,
    metrics::{self, PaymentMetrics, Series},
    occupancy::{self, OccupancyReport},
    property_key,
};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dashboard {
    pub landlord_id: Id,
    pub property_id: Option<Id>,
    pub as_of: NaiveDate,
    pub counts: Counts,
    pub metrics: PaymentMetrics,
    pub occupancy: OccupancyReport,
    /// The current calendar month.
    pub financial: FinancialReport,
    pub arrears: ArrearsSummary,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Counts {
    pub properties: i64,
    pub units: i64,
    /// Tenants with a lease active today.
    pub active_tenants: i64,
    pub active_leases: i64,
}

/// The dashboard's cache parameters and loader. Keyed by date, it rolls over
/// at midnight without a write; the loader checks the property filter itself,
/// so a cache hit touches no database.
pub fn cached_load(
    db: Database,
    landlord: Id,
    property: Option<Id>,
    today: NaiveDate,
) -> (
    String,
    impl Future<Output = AppResult<Bytes>> + Send + 'static,
) {
    let params = format!("{today}:{}", property_key(property));
    let load = async move {
        let scope = Scope::new(&db, landlord, property).await?;
        json_body(&compute(&db, scope, today).await?)
    };
    (params, load)
}

/// A landlord's dashboard through the cache.
pub async fn cached(
    db: &Database,
    cache: &Cache,
    landlord: Id,
    property: Option<Id>,
    today: NaiveDate,
) -> AppResult<Served> {
    let (params, load) = cached_load(db.clone(), landlord, property, today);
    cache
        .get_or_load(View::Dashboard, landlord, &params, load)
        .await
}

pub async fn compute(db: &Database, scope: Scope, today: NaiveDate) -> AppResult<Dashboard> {
    let this_month = Period::containing(today);
    let reader = scope.reader(db);
    let (series, arrears, pending, occupancy, counts, methods) = tokio::try_join!(
        Series::load(db, scope, today),
        arrears::compute(db, scope, today),
        metrics::pending(db, scope),
        occupancy::compute(db, scope, today),
        async { Ok(reports::counts(reader, scope.landlord, scope.property, today).await?) },
        async {
            let month = (this_month.first_day(), this_month.last_day());
            Ok(reports::collected_by_method(
                reader,
                scope.landlord,
                scope.property,
                month.0,
                month.1,
            )
            .await?)
        },
    )?;
    let financial = series.month(scope, this_month, methods)?;
    let metrics = metrics::from_parts(scope, today, &series, &arrears, pending);
    Ok(Dashboard {
        landlord_id: scope.landlord,
        property_id: scope.property,
        as_of: today,
        counts: Counts {
            properties: counts.properties,
            units: counts.units,
            active_tenants: counts.active_tenants,
            active_leases: counts.active_leases,
        },
        metrics,
        occupancy,
        financial,
        arrears: arrears.summary,
    })
}
