//! Payment metrics for the dashboard: this month against last month, pending
//! money, overdue leases, a 12-month billed-vs-collected series, top debtors.

use chrono::NaiveDate;
use serde::Serialize;

use crate::db::Reader;
use crate::error::AppResult;
use crate::reports::{
    DateRange, Scope, Source,
    arrears::{self, ArrearsOverview, LeaseArrears},
    financial::{self, MonthTotals},
    payments::CountAmount,
    percent, sums,
    sums::Sums,
};
use crate::types::{Id, Money, Period};

/// Months in the billed-vs-collected series, the current one included.
pub const SERIES_MONTHS: u32 = 12;
pub const TOP_DEBTORS: usize = 5;

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct PaymentMetrics {
    pub as_of: NaiveDate,
    pub month: Period,
    /// Confirmed payments paid this calendar month.
    pub collected_this_month: Money,
    pub collected_last_month: Money,
    /// Change against last month; `null` when last month collected nothing.
    pub collected_change_pct: Option<f64>,
    /// Non-void charges due this calendar month (including later this month).
    pub billed_this_month: Money,
    pub collection_pct: Option<f64>,
    pub pending: CountAmount,
    /// Leases with money past its due date plus grace days.
    pub overdue_leases: i64,
    pub monthly: Vec<MonthTotals>,
    pub top_debtors: Vec<Debtor>,
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Debtor {
    pub lease_id: Id,
    pub tenant: String,
    pub unit: String,
    pub balance: Money,
    pub days_overdue: i64,
}

/// The billed-vs-collected sums of the series' months.
pub(crate) struct Series {
    pub range: DateRange,
    pub sums: Sums,
}

impl Series {
    /// The series window: the first day of the month `SERIES_MONTHS - 1`
    /// before `today`'s, to the last day of `today`'s month.
    pub(crate) async fn load(
        reader: &Reader,
        scope: Scope,
        today: NaiveDate,
        source: Source,
    ) -> AppResult<Series> {
        let range = Series::range(today)?;
        let pieces = sums::pieces(reader, scope, range, source).await?;
        let sums = sums::billed_and_collected(reader, scope, &pieces).await?;
        Ok(Series { range, sums })
    }

    /// The whole months of the series ending with `today`'s.
    pub(crate) fn range(today: NaiveDate) -> AppResult<DateRange> {
        let this_month = Period::containing(today);
        let first = (1..SERIES_MONTHS).fold(this_month, |month, _| month.prev());
        DateRange::new(first.first_day(), this_month.last_day())
    }
}

pub async fn compute(
    reader: &Reader,
    scope: Scope,
    today: NaiveDate,
    source: Source,
) -> AppResult<PaymentMetrics> {
    let (series, arrears, pending) = tokio::try_join!(
        Series::load(reader, scope, today, source),
        arrears::overview(reader, scope, today, TOP_DEBTORS, source),
        sums::pending(reader, scope, source),
    )?;
    Ok(from_parts(scope, today, &series, &arrears, pending))
}

pub(crate) fn from_parts(
    scope: Scope,
    today: NaiveDate,
    series: &Series,
    arrears: &ArrearsOverview,
    pending: CountAmount,
) -> PaymentMetrics {
    let monthly =
        financial::assemble(scope, series.range, series.sums.clone(), Vec::new()).by_month;
    let top_debtors = arrears.top.iter().map(Debtor::of).collect();
    PaymentMetrics::new(today, monthly, pending, arrears.overdue_leases, top_debtors)
}

impl PaymentMetrics {
    /// The metrics from the 12-month series and the arrears figures (a patch
    /// after a payment comes through here too, `reports::patch`).
    pub(crate) fn new(
        today: NaiveDate,
        monthly: Vec<MonthTotals>,
        pending: CountAmount,
        overdue_leases: i64,
        top_debtors: Vec<Debtor>,
    ) -> PaymentMetrics {
        let this_month = Period::containing(today);
        let totals_of = |month: Period| {
            monthly
                .iter()
                .find(|entry| entry.month == month)
                .map(|entry| entry.totals)
                .unwrap_or_default()
        };
        let (now, last) = (totals_of(this_month), totals_of(this_month.prev()));
        PaymentMetrics {
            as_of: today,
            month: this_month,
            collected_this_month: now.collected,
            collected_last_month: last.collected,
            collected_change_pct: percent(
                now.collected.minor() - last.collected.minor(),
                last.collected.minor(),
            ),
            billed_this_month: now.billed,
            collection_pct: now.collection_pct,
            pending,
            overdue_leases,
            top_debtors,
            monthly,
        }
    }
}

impl Debtor {
    pub(crate) fn of(lease: &LeaseArrears) -> Debtor {
        Debtor {
            lease_id: lease.lease_id,
            tenant: lease.tenant.clone(),
            unit: lease.unit.clone(),
            balance: lease.balance,
            days_overdue: lease.days_overdue,
        }
    }
}
