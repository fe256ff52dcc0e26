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
    rollups::{read, read::Slice},
};
use crate::error::AppResult;
use crate::reports::{DateRange, Scope, payments::CountAmount};
use crate::types::{Id, Money, PaymentStatus, Period};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    RollUps,
    History,
}

/// Where a range's sums come from: the months read whole from the roll-ups
/// (`first..=last`) and the parts read from the history.
#[derive(Debug, Clone)]
pub(crate) struct Pieces {
    whole: Option<(Period, Period)>,
    parts: Vec<DateRange>,
}

/// `range` in [`Pieces`]: all of it from the history for
/// [`Source::History`]. For the roll-ups, the whole months the range
/// covers and the parts of months at its ends, except that a last part
/// running from its month's first day (a month to date, the reports'
/// default range) is read from that month's roll-up when nothing of the
/// scope is dated later in the month: the roll-up is then exactly the part.
/// Its history is a day's payments on the 1st of the month (thousands on a
/// busy one), half a month's on the 15th. Computed once per report (one
/// check), then read by each of its sums.
pub(crate) async fn pieces(
    reader: &Reader,
    scope: Scope,
    range: DateRange,
    source: Source,
) -> AppResult<Pieces> {
    if source == Source::History {
        return Ok(Pieces {
            whole: None,
            parts: vec![range],
        });
    }
    let (mut whole, mut parts) = range.split();
    if let Some(last) = parts.last().copied() {
        let month = Period::containing(last.to);
        if last.to == range.to
            && last.from == month.first_day()
            && !read::dated_after(reader, scope.landlord, scope.property, last.to, month).await?
        {
            parts.pop();
            whole = Some((whole.map_or(month, |(first, _)| first), month));
        }
    }
    Ok(Pieces { whole, parts })
}

/// Billed and collected over a range, by property and by month.
#[derive(Debug, Clone, Default)]
pub(crate) struct Sums {
    /// `None`: payments allocated to no lease.
    pub by_property: BTreeMap<Option<Id>, (Money, Money)>,
    pub by_month: BTreeMap<String, (Money, Money)>,
}

impl Sums {
    /// Adds (property, month) sums of billed (`side` 0) or collected (1).
    fn add_rows(&mut self, rows: &[MonthlyAmount], side: usize) {
        for row in rows {
            add(
                self.by_property.entry(row.property_id).or_default(),
                side,
                row.amount,
            );
            add(
                self.by_month.entry(row.month.clone()).or_default(),
                side,
                row.amount,
            );
        }
    }

    fn add_slices(&mut self, slices: &[Slice], side: usize) {
        for slice in slices {
            let sums = match (&slice.month, slice.by_month) {
                (Some(month), true) => self.by_month.entry(month.clone()).or_default(),
                _ => self.by_property.entry(slice.property_id).or_default(),
            };
            add(sums, side, slice.amount);
        }
    }
}

fn add(sums: &mut (Money, Money), side: usize, amount: Money) {
    match side {
        0 => sums.0 += amount,
        _ => sums.1 += amount,
    }
}

/// Billed and collected over a range (its `pieces`), by property and by
/// month.
pub(crate) async fn billed_and_collected(
    reader: &Reader,
    scope: Scope,
    pieces: &Pieces,
) -> AppResult<Sums> {
    let Scope { landlord, property } = scope;
    let mut totals = Sums::default();
    if let Some(months) = pieces.whole {
        let (billed, collected) = tokio::try_join!(
            read::billed(reader, landlord, property, months),
            read::collected(reader, landlord, property, months),
        )?;
        totals.add_slices(&billed, 0);
        totals.add_slices(&collected, 1);
    }
    // The parts are disjoint from the whole months: their sums only add.
    for part in &pieces.parts {
        let (billed, collected) = tokio::try_join!(
            reports::billed_by_property_month(reader, landlord, property, part.from, part.to),
            reports::collected_by_property_month(reader, landlord, property, part.from, part.to),
        )?;
        totals.add_rows(&billed, 0);
        totals.add_rows(&collected, 1);
    }
    Ok(totals)
}

/// Collected per method over a range (its `pieces`), in method order.
pub(crate) async fn collected_by_method(
    reader: &Reader,
    scope: Scope,
    pieces: &Pieces,
) -> AppResult<Vec<CollectedByMethod>> {
    let Scope { landlord, property } = scope;
    let mut rows = match pieces.whole {
        Some(months) => read::collected_by_method(reader, landlord, property, months).await?,
        None => Vec::new(),
    };
    for part in &pieces.parts {
        rows.extend(
            reports::collected_by_method(reader, landlord, property, part.from, part.to).await?,
        );
    }
    Ok(merged_by_method(rows))
}

/// One row per method, in method order, from rows that may repeat one.
pub(crate) fn merged_by_method(rows: Vec<CollectedByMethod>) -> Vec<CollectedByMethod> {
    let mut by_method = BTreeMap::new();
    for row in rows {
        let entry = by_method
            .entry(row.method.as_str())
            .or_insert((row.method, Money::ZERO));
        entry.1 += row.amount;
    }
    by_method
        .into_values()
        .map(|(method, amount)| CollectedByMethod { method, amount })
        .collect()
}

/// Payments per status and method over a range (its `pieces`; rows may
/// repeat a group: callers add them up).
pub(crate) async fn payment_groups(
    reader: &Reader,
    scope: Scope,
    pieces: &Pieces,
    status: Option<PaymentStatus>,
) -> AppResult<Vec<PaymentGroup>> {
    let Scope { landlord, property } = scope;
    let mut rows = match pieces.whole {
        Some(months) => read::payment_groups(reader, landlord, property, status, months).await?,
        None => Vec::new(),
    };
    for part in &pieces.parts {
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
