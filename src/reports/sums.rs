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

/// Where a range's sums come from, per source table: charges (billed) and
/// payments (collected, by method, by status).
#[derive(Debug, Clone)]
pub(crate) struct Pieces {
    charges: Side,
    payments: Side,
}

/// One table's part of [`Pieces`]: the months read whole from the roll-ups
/// (`first..=last`) and the parts read from the history.
#[derive(Debug, Clone)]
struct Side {
    whole: Option<(Period, Period)>,
    parts: Vec<DateRange>,
}

impl Side {
    /// The last part folded into the whole months, when it is a month to
    /// date that nothing of the table is dated after.
    fn with_month_to_date(mut self, to_date: Option<Period>) -> Side {
        if let Some(month) = to_date {
            self.parts.pop();
            self.whole = Some((self.whole.map_or(month, |(first, _)| first), month));
        }
        self
    }
}

/// `range` in [`Pieces`]: all of it from the history for
/// [`Source::History`]. For the roll-ups, the whole months the range
/// covers and the parts of months at its ends, except that a last part
/// running from its month's first day (a month to date, the reports'
/// default range) is read from that month's roll-up when nothing of the
/// scope in that table is dated later in the month: the roll-up is then
/// exactly the part. Each table is decided on its own: payments are rarely
/// dated after today, so the month's payments (thousands on the 1st of a
/// busy one) come from its roll-up, while the charges due later in the
/// month leave the charges due so far to the history (those due on the
/// 1st, on the 1st). Computed once per report (one check), then read by
/// each of its sums.
pub(crate) async fn pieces(
    reader: &Reader,
    scope: Scope,
    range: DateRange,
    source: Source,
) -> AppResult<Pieces> {
    if source == Source::History {
        let side = Side {
            whole: None,
            parts: vec![range],
        };
        return Ok(Pieces {
            charges: side.clone(),
            payments: side,
        });
    }
    let (whole, parts) = range.split();
    let side = Side { whole, parts };
    let (mut charges_to_date, mut payments_to_date) = (None, None);
    if let Some(last) = side.parts.last().copied() {
        let month = Period::containing(last.to);
        if last.to == range.to && last.from == month.first_day() {
            let later =
                read::dated_after(reader, scope.landlord, scope.property, last.to, month).await?;
            charges_to_date = (!later.charges).then_some(month);
            payments_to_date = (!later.payments).then_some(month);
        }
    }
    Ok(Pieces {
        charges: side.clone().with_month_to_date(charges_to_date),
        payments: side.with_month_to_date(payments_to_date),
    })
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
    let (billed, collected) = tokio::try_join!(
        whole(pieces.charges.whole, |months| read::billed(
            reader, landlord, property, months
        )),
        whole(pieces.payments.whole, |months| read::collected(
            reader, landlord, property, months
        )),
    )?;
    totals.add_slices(&billed, 0);
    totals.add_slices(&collected, 1);
    // The parts are disjoint from the whole months: their sums only add.
    // Both tables' parts are read at once, as the whole months are.
    let (billed, collected) = tokio::try_join!(
        async {
            let mut rows = Vec::new();
            for part in &pieces.charges.parts {
                rows.extend(
                    reports::billed_by_property_month(
                        reader, landlord, property, part.from, part.to,
                    )
                    .await?,
                );
            }
            Ok::<_, sqlx::Error>(rows)
        },
        async {
            let mut rows = Vec::new();
            for part in &pieces.payments.parts {
                rows.extend(
                    reports::collected_by_property_month(
                        reader, landlord, property, part.from, part.to,
                    )
                    .await?,
                );
            }
            Ok::<_, sqlx::Error>(rows)
        },
    )?;
    totals.add_rows(&billed, 0);
    totals.add_rows(&collected, 1);
    Ok(totals)
}

/// Collected per method over a range (its `pieces`), in method order.
pub(crate) async fn collected_by_method(
    reader: &Reader,
    scope: Scope,
    pieces: &Pieces,
) -> AppResult<Vec<CollectedByMethod>> {
    let Scope { landlord, property } = scope;
    let mut rows = match pieces.payments.whole {
        Some(months) => read::collected_by_method(reader, landlord, property, months).await?,
        None => Vec::new(),
    };
    for part in &pieces.payments.parts {
        rows.extend(
            reports::collected_by_method(reader, landlord, property, part.from, part.to).await?,
        );
    }
    Ok(merged_by_method(rows))
}

/// The slices of the whole months `months`, read by `read`, or none.
async fn whole<F, Fut>(months: Option<(Period, Period)>, read: F) -> sqlx::Result<Vec<Slice>>
where
    F: FnOnce((Period, Period)) -> Fut,
    Fut: std::future::Future<Output = sqlx::Result<Vec<Slice>>>,
{
    match months {
        Some(months) => read(months).await,
        None => Ok(Vec::new()),
    }
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
    let mut rows = match pieces.payments.whole {
        Some(months) => read::payment_groups(reader, landlord, property, status, months).await?,
        None => Vec::new(),
    };
    for part in &pieces.payments.parts {
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
