//! Financial report over a date range: billed (non-void charges due in the
//! range), collected (confirmed payments paid in the range), outstanding
//! (billed − collected; negative when arrears from earlier were collected),
//! collection % (collected ÷ billed); by property, by month and by method.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::db::{Reader, reports};
use crate::error::AppResult;
use crate::reports::{DateRange, Scope, Source, percent, sums, sums::Sums};
use crate::types::{Id, Money, PaymentMethod, Period};

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct FinancialReport {
    pub from: chrono::NaiveDate,
    pub to: chrono::NaiveDate,
    pub property_id: Option<Id>,
    pub total: Totals,
    /// One entry per property with activity; `property_id: null` holds
    /// payments not allocated to a lease.
    pub by_property: Vec<PropertyTotals>,
    /// Every calendar month the range touches, with or without activity.
    pub by_month: Vec<MonthTotals>,
    pub by_method: Vec<MethodTotal>,
}

#[derive(
    Debug, Clone, Copy, Default, PartialEq, Serialize, serde::Deserialize, utoipa::ToSchema,
)]
pub struct Totals {
    pub billed: Money,
    pub collected: Money,
    pub outstanding: Money,
    pub collection_pct: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct PropertyTotals {
    pub property_id: Option<Id>,
    #[serde(flatten)]
    pub totals: Totals,
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct MonthTotals {
    pub month: Period,
    #[serde(flatten)]
    pub totals: Totals,
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct MethodTotal {
    pub method: PaymentMethod,
    pub collected: Money,
}

impl Totals {
    pub fn new(billed: Money, collected: Money) -> Totals {
        Totals {
            billed,
            collected,
            outstanding: billed - collected,
            collection_pct: percent(collected.minor(), billed.minor()),
        }
    }
}

pub async fn compute(
    reader: &Reader,
    scope: Scope,
    range: DateRange,
    source: Source,
) -> AppResult<FinancialReport> {
    let pieces = sums::pieces(reader, scope, range, source).await?;
    let (totals, methods) = tokio::try_join!(
        sums::billed_and_collected(reader, scope, &pieces),
        sums::collected_by_method(reader, scope, &pieces),
    )?;
    Ok(assemble(scope, range, totals, methods))
}

/// The report's three views from the sums by property and by month.
pub(crate) fn assemble(
    scope: Scope,
    range: DateRange,
    totals: Sums,
    methods: Vec<reports::CollectedByMethod>,
) -> FinancialReport {
    let Sums {
        by_property,
        by_month: sums_by_month,
    } = totals;
    // Every month of the range, with or without activity.
    let mut by_month: BTreeMap<String, (Money, Money)> = range
        .months()
        .into_iter()
        .map(|month| (month.to_string(), (Money::ZERO, Money::ZERO)))
        .collect();
    for (month, (billed, collected)) in sums_by_month {
        let sums = by_month.entry(month).or_default();
        sums.0 += billed;
        sums.1 += collected;
    }
    let total_billed = by_property.values().map(|sums| sums.0).sum();
    let total_collected = by_property.values().map(|sums| sums.1).sum();
    FinancialReport {
        from: range.from,
        to: range.to,
        property_id: scope.property,
        total: Totals::new(total_billed, total_collected),
        by_property: by_property
            .into_iter()
            .map(|(property_id, (billed, collected))| PropertyTotals {
                property_id,
                totals: Totals::new(billed, collected),
            })
            .collect(),
        by_month: by_month
            .into_iter()
            .filter_map(|(month, (billed, collected))| {
                Some(MonthTotals {
                    month: month.parse().ok()?,
                    totals: Totals::new(billed, collected),
                })
            })
            .collect(),
        by_method: methods
            .into_iter()
            .map(|row| MethodTotal {
                method: row.method,
                collected: row.amount,
            })
            .collect(),
    }
}
