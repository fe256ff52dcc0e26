//! The dashboard: metrics, occupancy, this month's financials, the arrears
//! summary and headline counts, in one response. Its queries run
//! concurrently on the landlord's reader and share their results (the
//! 12-month series yields this month's financials; one arrears pass feeds the
//! metrics and the summary).

use chrono::NaiveDate;
use serde::Serialize;

use crate::db::{Reader, reports, reports::CollectedByMethod, rollups::read};
use crate::error::{AppError, AppResult};
use crate::reports::{
    DateRange, Scope, Source,
    arrears::{self, ArrearsSummary},
    financial::{self, FinancialReport},
    metrics::{self, PaymentMetrics, Series},
    occupancy::{self, OccupancyReport},
    payments::CountAmount,
    sums::{self, Sums},
};
use crate::types::{Id, Money, Period};

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, utoipa::ToSchema)]
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

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Counts {
    pub properties: i64,
    pub units: i64,
    /// Tenants with a lease active today.
    pub active_tenants: i64,
    pub active_leases: i64,
}

pub async fn compute(
    reader: &Reader,
    scope: Scope,
    today: NaiveDate,
    source: Source,
) -> AppResult<Dashboard> {
    let ((series, financial, pending), arrears, (occupancy, counts)) = tokio::try_join!(
        money(reader, scope, today, source),
        arrears::overview(reader, scope, today, metrics::TOP_DEBTORS, source),
        occupancy_and_counts(reader, scope, today, source),
    )?;
    let metrics = metrics::from_parts(scope, today, &series, &arrears, pending);
    Ok(Dashboard {
        landlord_id: scope.landlord,
        property_id: scope.property,
        as_of: today,
        counts,
        metrics,
        occupancy,
        financial,
        arrears: arrears.summary,
    })
}

/// The 12-month series, this month's financial report and the payments
/// pending: from the roll-ups in one read (the first two cover whole months
/// only), from the history as the reports compute them.
async fn money(
    reader: &Reader,
    scope: Scope,
    today: NaiveDate,
    source: Source,
) -> AppResult<(Series, FinancialReport, CountAmount)> {
    let this_month = Period::containing(today);
    let month = DateRange::new(this_month.first_day(), this_month.last_day())?;
    if source == Source::History {
        return Ok(tokio::try_join!(
            Series::load(reader, scope, today, source),
            financial::compute(reader, scope, month, source),
            sums::pending(reader, scope, source),
        )?);
    }
    let series_range = Series::range(today)?;
    let first = Period::containing(series_range.from);
    let rows =
        read::dashboard_money(reader, scope.landlord, scope.property, (first, this_month)).await?;
    let (mut series, mut this) = (Sums::default(), Sums::default());
    let mut methods = Vec::new();
    let mut pending = CountAmount::default();
    for row in rows {
        let side = |sums: &mut (Money, Money)| match row.side {
            0 => sums.0 += row.amount,
            _ => sums.1 += row.amount,
        };
        match (row.side, row.by_month, row.key) {
            (3, _, _) => {
                pending = CountAmount {
                    count: row.count.unwrap_or_default(),
                    amount: row.amount,
                }
            }
            (2, _, Some(method)) => methods.push(CollectedByMethod {
                method: method.parse().map_err(|err| {
                    AppError::Internal(anyhow::Error::new(err).context("a stored payment method"))
                })?,
                amount: row.amount,
            }),
            (_, 1, Some(key)) => {
                if key == this_month.to_string() {
                    side(this.by_month.entry(key.clone()).or_default());
                }
                side(series.by_month.entry(key).or_default());
            }
            (_, 0, _) => side(this.by_property.entry(row.property_id).or_default()),
            _ => {}
        }
    }
    let series = Series {
        range: series_range,
        sums: series,
    };
    let methods = sums::merged_by_method(methods);
    Ok((
        series,
        financial::assemble(scope, month, this, methods),
        pending,
    ))
}

async fn occupancy_and_counts(
    reader: &Reader,
    scope: Scope,
    today: NaiveDate,
    source: Source,
) -> AppResult<(OccupancyReport, Counts)> {
    match source {
        Source::RollUps => occupancy::indexed(reader, scope, today).await,
        Source::History => {
            let (report, counts) =
                tokio::try_join!(occupancy::compute(reader, scope, today, source), async {
                    Ok(reports::counts(reader, scope.landlord, scope.property, today).await?)
                },)?;
            let counts = Counts {
                properties: counts.properties,
                units: counts.units,
                active_tenants: counts.active_tenants,
                active_leases: counts.active_leases,
            };
            Ok((report, counts))
        }
    }
}
