//! Where the reports' sums come from. Both sources return the same row sets,
//! so everything after them (assembly, percentages, ordering) is shared.
//!
//! - [`Source::RollUps`] reads whole months from the roll-ups and only the
//!   parts of months at a range's ends from the history, so a report costs
//!   O(months) and at most two months of rows, whatever the history's length.
//! - [`Source::History`] sums the history itself: the reference
//!   implementation, kept for the tests and `mfuko rollups verify`.

use std::collections::BTreeMap;

use crate::db::{
    Reader, reports,
    reports::{CollectedByMethod, MonthlyAmount, PaymentGroup},
    rollups::read,
};
use crate::error::AppResult;
use crate::reports::{DateRange, Scope, payments::CountAmount};
use crate::types::{Money, PaymentStatus};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    RollUps,
    History,
}

/// Billed and collected per property and month over `range`.
pub(crate) async fn billed_and_collected(
    reader: &Reader,
    scope: Scope,
    range: DateRange,
    source: Source,
) -> AppResult<(Vec<MonthlyAmount>, Vec<MonthlyAmount>)> {
    let Scope { landlord, property } = scope;
    let (whole, parts) = match source {
        Source::RollUps => range.split(),
        Source::History => (None, vec![range]),
    };
    let (mut billed, mut collected) = match whole {
        Some(months) => tokio::try_join!(
            read::billed_by_property_month(reader, landlord, property, months),
            read::collected_by_property_month(reader, landlord, property, months),
        )?,
        None => (Vec::new(), Vec::new()),
    };
    // The parts are disjoint from the whole months: their rows only add.
    for part in parts {
        let (b, c) = tokio::try_join!(
            reports::billed_by_property_month(reader, landlord, property, part.from, part.to),
            reports::collected_by_property_month(reader, landlord, property, part.from, part.to),
        )?;
        billed.extend(b);
        collected.extend(c);
    }
    Ok((billed, collected))
}

/// Collected per method over `range`, in method order.
pub(crate) async fn collected_by_method(
    reader: &Reader,
    scope: Scope,
    range: DateRange,
    source: Source,
) -> AppResult<Vec<CollectedByMethod>> {
    let Scope { landlord, property } = scope;
    let (whole, parts) = match source {
        Source::RollUps => range.split(),
        Source::History => (None, vec![range]),
    };
    let mut rows = match whole {
        Some(months) => read::collected_by_method(reader, landlord, property, months).await?,
        None => Vec::new(),
    };
    for part in parts {
        rows.extend(
            reports::collected_by_method(reader, landlord, property, part.from, part.to).await?,
        );
    }
    let mut by_method = BTreeMap::new();
    for row in rows {
        let entry = by_method
            .entry(row.method.as_str())
            .or_insert((row.method, Money::ZERO));
        entry.1 += row.amount;
    }
    Ok(by_method
        .into_values()
        .map(|(method, amount)| CollectedByMethod { method, amount })
        .collect())
}

/// Payments per status and method over `range` (rows may repeat a group:
/// callers add them up).
pub(crate) async fn payment_groups(
    reader: &Reader,
    scope: Scope,
    range: DateRange,
    status: Option<PaymentStatus>,
    source: Source,
) -> AppResult<Vec<PaymentGroup>> {
    let Scope { landlord, property } = scope;
    let (whole, parts) = match source {
        Source::RollUps => range.split(),
        Source::History => (None, vec![range]),
    };
    let mut rows = match whole {
        Some(months) => read::payment_groups(reader, landlord, property, status, months).await?,
        None => Vec::new(),
    };
    for part in parts {
        rows.extend(
            reports::payment_groups(reader, landlord, property, status, part.from, part.to).await?,
        );
    }
    Ok(rows)
}

/// Payments awaiting confirmation, whatever their date.
pub(crate) async fn pending(
    reader: &Reader,
    scope: Scope,
    source: Source,
) -> AppResult<CountAmount> {
    let totals = match source {
        Source::RollUps => read::pending(reader, scope.landlord, scope.property).await?,
        Source::History => reports::pending(reader, scope.landlord, scope.property).await?,
    };
    Ok(CountAmount {
        count: totals.count,
        amount: totals.amount,
    })
}
