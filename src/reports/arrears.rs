//! Arrears as of a date: each lease's open balance after FIFO allocation of its
//! confirmed payments to its oldest charges, aged by days past due.
//!
//! Buckets: `not_yet_due` (charged for the current period, due later — shown
//! apart, not arrears), `0–30`, `31–60`, `61–90`, `90+` days past the due date.
//! A lease is listed when it is in arrears (a positive balance due). Money paid
//! beyond what was charged (prepayments) and money not allocated to a lease are
//! reported apart, never netted against other leases' arrears.
//!
//! From the roll-ups, a lease's balance is its all-time totals less what was
//! charged or paid after `as_of`, and its open charges are read newest first
//! ([`super::fifo`]); the history computes both in SQL (the reference).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;

use crate::db::{
    Reader, reports,
    reports::{AgeLimits, ArrearsRow, LeaseTotal},
    rollups::read::{self, ChargeLine, Due, LeaseLabel, Leases, OpenLease},
};
use crate::error::AppResult;
use crate::reports::{Scope, Source, fifo::OpenCharges};
use crate::types::{Id, Money, Period};

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ArrearsReport {
    pub as_of: NaiveDate,
    pub property_id: Option<Id>,
    pub summary: ArrearsSummary,
    /// Leases in arrears, largest balance first.
    pub leases: Vec<LeaseArrears>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ArrearsSummary {
    /// Total due and unpaid (the sum of the aged buckets).
    pub total_arrears: Money,
    pub leases_in_arrears: i64,
    pub buckets: Buckets,
    /// Charged for the current period but not yet due.
    pub not_yet_due: Money,
    /// Paid beyond the charges so far (credit on leases).
    pub prepayments: Money,
    /// Confirmed payments not matched to any lease.
    pub unallocated: Money,
}

#[derive(
    Debug, Clone, Copy, Default, PartialEq, Serialize, serde::Deserialize, utoipa::ToSchema,
)]
pub struct Buckets {
    #[serde(rename = "0_30")]
    pub days_0_30: Money,
    #[serde(rename = "31_60")]
    pub days_31_60: Money,
    #[serde(rename = "61_90")]
    pub days_61_90: Money,
    #[serde(rename = "90_plus")]
    pub days_90_plus: Money,
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct LeaseArrears {
    pub lease_id: Id,
    pub property_id: Id,
    pub unit: String,
    pub tenant: String,
    pub balance: Money,
    pub buckets: Buckets,
    pub not_yet_due: Money,
    pub oldest_due: Option<NaiveDate>,
    pub days_overdue: i64,
    /// Past the due date plus the lease's grace days.
    pub overdue: bool,
}

impl Buckets {
    pub fn total(&self) -> Money {
        self.days_0_30 + self.days_31_60 + self.days_61_90 + self.days_90_plus
    }

    fn add(&mut self, other: &Buckets) {
        self.days_0_30 += other.days_0_30;
        self.days_31_60 += other.days_31_60;
        self.days_61_90 += other.days_61_90;
        self.days_90_plus += other.days_90_plus;
    }

    fn subtract(&mut self, other: &Buckets) {
        self.days_0_30 -= other.days_0_30;
        self.days_31_60 -= other.days_31_60;
        self.days_61_90 -= other.days_61_90;
        self.days_90_plus -= other.days_90_plus;
    }
}

impl LeaseArrears {
    /// The list's order: largest balance first, then by lease (unique, so an
    /// unstable sort is deterministic).
    pub(crate) fn rank(&self) -> (std::cmp::Reverse<Money>, Id) {
        (std::cmp::Reverse(self.balance), self.lease_id)
    }

    fn new(row: ArrearsRow, as_of: NaiveDate) -> LeaseArrears {
        let buckets = Buckets {
            days_0_30: row.days_0_30,
            days_31_60: row.days_31_60,
            days_61_90: row.days_61_90,
            days_90_plus: row.days_90_plus,
        };
        let days_overdue = row.oldest_due.map_or(0, |due| (as_of - due).num_days());
        LeaseArrears {
            lease_id: row.lease_id,
            property_id: row.property_id,
            unit: row.unit_label,
            tenant: row.tenant_name,
            balance: buckets.total(),
            buckets,
            not_yet_due: row.not_yet_due,
            oldest_due: row.oldest_due,
            days_overdue,
            overdue: days_overdue > i64::from(row.grace_days),
        }
    }
}

pub async fn compute(
    reader: &Reader,
    scope: Scope,
    as_of: NaiveDate,
    source: Source,
) -> AppResult<ArrearsReport> {
    let open = match source {
        Source::RollUps => from_rollups(reader, scope, as_of).await?,
        Source::History => from_history(reader, scope, as_of).await?,
    };
    let mut summary = ArrearsSummary {
        prepayments: open.prepaid,
        unallocated: open.unallocated,
        not_yet_due: open.not_yet_due,
        ..ArrearsSummary::default()
    };
    let mut leases = Vec::new();
    for row in open.rows {
        let lease = LeaseArrears::new(row, as_of);
        if lease.balance.is_positive() {
            summary.buckets.add(&lease.buckets);
            summary.leases_in_arrears += 1;
            leases.push(lease);
        }
    }
    summary.total_arrears = summary.buckets.total();
    leases.sort_unstable_by_key(LeaseArrears::rank);
    Ok(ArrearsReport {
        as_of,
        property_id: scope.property,
        summary,
        leases,
    })
}

/// What either source finds as of a date.
struct Open {
    /// Debtor leases' open charges, aged (rows with nothing due are ignored).
    rows: Vec<ArrearsRow>,
    /// Open charges not yet due, over all debtors.
    not_yet_due: Money,
    prepaid: Money,
    unallocated: Money,
}

/// The reference: every lease's charges and payments summed from the
/// history, and the debtors' open charges found in SQL.
async fn from_history(reader: &Reader, scope: Scope, as_of: NaiveDate) -> AppResult<Open> {
    let (owed, paid, unallocated) = tokio::try_join!(
        reports::owed_per_lease(reader, scope.landlord, scope.property, as_of),
        reports::paid_per_lease(reader, scope.landlord, scope.property, as_of),
        async {
            match scope.property {
                Some(_) => Ok(Money::ZERO),
                None => reports::unallocated(reader, scope.landlord, as_of).await,
            }
        },
    )?;
    let balances = Balances::of(&owed, &paid);
    let mut rows = Vec::new();
    for batch in balances.debtors.chunks(reports::DEBTOR_BATCH) {
        rows.extend(reports::open_charges(reader, scope.landlord, as_of, batch).await?);
    }
    Ok(Open {
        not_yet_due: rows.iter().map(|row| row.not_yet_due).sum(),
        rows,
        prepaid: balances.prepaid,
        unallocated,
    })
}

/// What the roll-up reads of arrears as of a date start from.
struct Prelude {
    /// Leases charged or paid after `as_of`: (charged, paid) since then. For
    /// today, next to none; their open charges as of `as_of` differ.
    later: BTreeMap<Id, (Money, Money)>,
    /// Paid beyond charges, over the other leases.
    prepaid: Money,
    unallocated: Money,
}

impl Prelude {
    async fn load(reader: &Reader, scope: Scope, as_of: NaiveDate) -> AppResult<Prelude> {
        let Scope { landlord, property } = scope;
        let rows = read::as_of_prelude(reader, landlord, property, as_of).await?;
        Ok(Prelude::of(rows))
    }

    fn of(rows: Vec<read::PreludeRow>) -> Prelude {
        let mut later: BTreeMap<Id, (Money, Money)> = BTreeMap::new();
        let (mut credit, mut unallocated, mut paid_unallocated) =
            (Vec::new(), Money::ZERO, Money::ZERO);
        for row in rows {
            match (row.kind, row.lease_id) {
                (0, Some(lease)) => credit.push((lease, row.b - row.a)),
                (1, Some(lease)) => later.entry(lease).or_default().0 += row.a,
                (2, Some(lease)) => later.entry(lease).or_default().1 += row.a,
                (2, None) => paid_unallocated += row.a,
                (3, _) => unallocated = row.a,
                _ => {}
            }
        }
        let unallocated = unallocated - paid_unallocated;
        let prepaid = credit
            .iter()
            .filter(|(lease, _)| !later.contains_key(lease))
            .map(|(_, credit)| *credit)
            .sum();
        Prelude {
            later,
            prepaid,
            unallocated,
        }
    }
}

/// From the roll-ups: the all-time open charges aged as of `as_of`, for the
/// leases with nothing charged or paid after it. The few others get their
/// balance as of `as_of` from their totals less what came after, and their
/// open charges from their newest charges.
async fn from_rollups(reader: &Reader, scope: Scope, as_of: NaiveDate) -> AppResult<Open> {
    let landlord = scope.landlord;
    let Prelude {
        later,
        mut prepaid,
        unallocated,
    } = Prelude::load(reader, scope, as_of).await?;
    let except: Vec<Id> = later.keys().copied().collect();
    let mut rows = open_rows(reader, scope, as_of, Leases::Except(&except)).await?;
    let mut not_yet_due = rows.iter().map(|row| row.not_yet_due).sum();
    let mut debtors = Vec::new();
    for batch in except.chunks(reports::DEBTOR_BATCH) {
        for lease in read::balances_of(reader, landlord, batch).await? {
            let (charged_later, paid_later) =
                later.get(&lease.lease_id).copied().unwrap_or_default();
            let (charged, paid) = (lease.charged - charged_later, lease.paid - paid_later);
            if charged > paid {
                debtors.push(LeaseTotal {
                    lease_id: lease.lease_id,
                    amount: charged - paid,
                });
            } else {
                prepaid += paid - charged;
            }
        }
    }
    for batch in debtors.chunks(reports::DEBTOR_BATCH) {
        let found = open_from_newest(reader, landlord, as_of, batch).await?;
        not_yet_due += found.iter().map(|row| row.not_yet_due).sum::<Money>();
        rows.extend(found);
    }
    Ok(Open {
        rows,
        not_yet_due,
        prepaid,
        unallocated,
    })
}

/// What a confirmed payment of `paid` to `lease` changed in the arrears as
/// of `as_of`, read after it committed: the lease's row before and after
/// (`None`: it owed nothing), and the change in prepayments. Each row is the
/// one the report makes (the lease's newest charges, FIFO), from its balance
/// now and, before, that balance plus the payment. `None` when the lease was
/// charged for a later period or paid after `as_of`: the report sets those
/// apart, and the patch is not made (`reports::patch`).
pub(crate) async fn lease_change(
    reader: &Reader,
    scope: Scope,
    as_of: NaiveDate,
    lease: Id,
    paid: Money,
) -> AppResult<Option<LeaseChange>> {
    let Some(read::LeaseForPatch {
        balance,
        later: false,
        label,
        charges,
    }) = read::lease_for_patch(reader, scope.landlord, lease, as_of, paid).await?
    else {
        return Ok(None);
    };
    let unpaid = balance.charged - balance.paid;
    let before_unpaid = unpaid + paid;
    let credit = |unpaid: Money| (Money::ZERO - unpaid).max(Money::ZERO);
    let ages = AgeLimits::new(as_of);
    let [mut before, mut after] =
        [before_unpaid, unpaid].map(|amount| OpenCharges::new(amount.max(Money::ZERO)));
    for charge in &charges {
        before.take(charge.due_date, charge.amount, &ages);
        after.take(charge.due_date, charge.amount, &ages);
    }
    let row_of = |open: OpenCharges| {
        open.any
            .then(|| LeaseArrears::new(open.into_row(label.clone()), as_of))
    };
    Ok(Some(LeaseChange {
        lease_id: lease,
        before: row_of(before),
        after: row_of(after),
        prepaid: credit(unpaid) - credit(before_unpaid),
    }))
}

/// Where [`LeaseChange::apply_to_list`] took a row out and put one in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Moved {
    pub removed: Option<usize>,
    pub inserted: Option<usize>,
}

/// One lease's arrears before and after a payment (see [`lease_change`]).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LeaseChange {
    pub lease_id: Id,
    pub before: Option<LeaseArrears>,
    pub after: Option<LeaseArrears>,
    /// The change in the lease's credit (paid beyond its charges).
    pub prepaid: Money,
}

impl LeaseChange {
    /// The row as listed (only leases with a balance due are).
    pub fn listed(row: &Option<LeaseArrears>) -> Option<&LeaseArrears> {
        row.as_ref().filter(|lease| lease.balance.is_positive())
    }

    /// Applies the change to a summary; `false` when it does not fit it.
    pub fn apply_to(&self, summary: &mut ArrearsSummary) -> bool {
        let not_yet_due =
            |row: &Option<LeaseArrears>| row.as_ref().map_or(Money::ZERO, |r| r.not_yet_due);
        if let Some(before) = Self::listed(&self.before) {
            summary.buckets.subtract(&before.buckets);
            summary.leases_in_arrears -= 1;
        }
        if let Some(after) = Self::listed(&self.after) {
            summary.buckets.add(&after.buckets);
            summary.leases_in_arrears += 1;
        }
        summary.total_arrears = summary.buckets.total();
        summary.not_yet_due += not_yet_due(&self.after) - not_yet_due(&self.before);
        summary.prepayments += self.prepaid;
        summary.leases_in_arrears >= 0
    }

    /// Applies the change to the list of leases in arrears, largest balance
    /// first: where the lease's row was taken out and where it went in.
    /// `None` when the list does not hold the row before as it should (then
    /// nothing is patched).
    pub fn apply_to_list(&self, leases: &mut Vec<LeaseArrears>) -> Option<Moved> {
        let found = leases
            .iter()
            .position(|lease| lease.lease_id == self.lease_id);
        let removed = match (found, Self::listed(&self.before)) {
            (Some(at), Some(before)) if &leases[at] == before => {
                leases.remove(at);
                Some(at)
            }
            (None, None) => None,
            _ => return None,
        };
        let inserted = Self::listed(&self.after).map(|after| {
            let at = leases.partition_point(|lease| lease.rank() < after.rank());
            leases.insert(at, after.clone());
            at
        });
        Some(Moved { removed, inserted })
    }

    /// Overdue leases after the change, from the count before.
    pub fn overdue(&self, before: i64) -> i64 {
        let overdue =
            |row: &Option<LeaseArrears>| i64::from(Self::listed(row).is_some_and(|r| r.overdue));
        before - overdue(&self.before) + overdue(&self.after)
    }
}

/// The arrears summary, the overdue leases and the largest debtors: what the
/// dashboard and the payment metrics show.
#[derive(Debug, Clone, PartialEq)]
pub struct ArrearsOverview {
    pub summary: ArrearsSummary,
    pub overdue_leases: i64,
    /// At most `top` leases in arrears, largest balance first.
    pub top: Vec<LeaseArrears>,
}

/// The overview as of `as_of`. From the roll-ups it reads a few index ranges
/// and the largest debtors' rows, not every debtor; when some lease was
/// charged or paid after `as_of` it falls back to the whole report.
pub async fn overview(
    reader: &Reader,
    scope: Scope,
    as_of: NaiveDate,
    top: usize,
    source: Source,
) -> AppResult<ArrearsOverview> {
    let from_report = |report: ArrearsReport| ArrearsOverview {
        summary: report.summary,
        overdue_leases: report.leases.iter().filter(|lease| lease.overdue).count() as i64,
        top: report.leases.into_iter().take(top).collect(),
    };
    if source == Source::History {
        return Ok(from_report(compute(reader, scope, as_of, source).await?));
    }
    let Scope { landlord, property } = scope;
    let limit = candidates(top);
    let parts = read::overview(reader, landlord, property, as_of, limit as i64).await?;
    let prelude = Prelude::of(parts.prelude);
    if !prelude.later.is_empty() {
        return Ok(from_report(compute(reader, scope, as_of, source).await?));
    }
    let totals = parts.aged.first().copied().unwrap_or_default();
    let top_rows = largest_debtors(reader, scope, as_of, top, (limit, parts.largest)).await?;
    let buckets = Buckets {
        days_0_30: totals.days_0_30,
        days_31_60: totals.days_31_60,
        days_61_90: totals.days_61_90,
        days_90_plus: totals.days_90_plus,
    };
    Ok(ArrearsOverview {
        summary: ArrearsSummary {
            total_arrears: buckets.total(),
            leases_in_arrears: totals.leases_in_arrears,
            buckets,
            not_yet_due: totals.not_yet_due,
            prepayments: prelude.prepaid,
            unallocated: prelude.unallocated,
        },
        overdue_leases: totals.overdue_leases,
        top: top_rows,
    })
}

/// The `top` leases with the largest balance due as of `as_of`, from the
/// leases with the largest open totals: a lease's balance is its open total
/// less what is not yet due, so it never exceeds it, and once the `top`-th
/// balance found beats the smallest open total read, nobody further down
/// can enter. `first` are the `limit` largest, read with the rest of the
/// overview; more are read only when those do not settle it.
async fn largest_debtors(
    reader: &Reader,
    scope: Scope,
    as_of: NaiveDate,
    top: usize,
    first: (usize, Vec<OpenLease>),
) -> AppResult<Vec<LeaseArrears>> {
    if top == 0 {
        return Ok(Vec::new());
    }
    let Scope { landlord, property } = scope;
    let ages = AgeLimits::new(as_of);
    let (mut limit, mut candidates) = first;
    loop {
        let exhausted = candidates.len() < limit;
        let bound = candidates
            .iter()
            .map(|lease| {
                lease
                    .charges
                    .iter()
                    .map(|(_, amount)| *amount)
                    .sum::<Money>()
            })
            .min();
        let mut leases: Vec<LeaseArrears> = candidates
            .into_iter()
            .map(|lease| {
                let row = OpenCharges::of(&lease.charges, &ages).into_row(lease.into_label());
                LeaseArrears::new(row, as_of)
            })
            .filter(|lease| lease.oldest_due.is_some())
            .collect();
        leases.sort_unstable_by_key(LeaseArrears::rank);
        leases.truncate(top);
        let settled =
            leases.len() == top && bound.is_some_and(|bound| leases[top - 1].balance > bound);
        if exhausted || settled {
            return Ok(leases);
        }
        limit *= 4;
        candidates = read::largest_open(reader, landlord, property, limit as i64).await?;
    }
}

/// How many of the largest open totals are read first for the `top` debtors.
fn candidates(top: usize) -> usize {
    if top == 0 { 0 } else { (top * 4).max(16) }
}

/// The stored open charges of the leases that have any (all time), aged as
/// of `as_of`: right as of any day nothing was charged or paid after.
async fn open_rows(
    reader: &Reader,
    scope: Scope,
    as_of: NaiveDate,
    leases: Leases<'_>,
) -> AppResult<Vec<ArrearsRow>> {
    let ages = AgeLimits::new(as_of);
    let open = read::open_leases(reader, scope.landlord, scope.property, leases).await?;
    Ok(open
        .into_iter()
        .map(|lease| OpenCharges::of(&lease.charges, &ages).into_row(lease.into_label()))
        .collect())
}

/// The open charges of `debtors` (one batch), from their newest charges: a
/// few months of them first, older ones only for the leases still short.
async fn open_from_newest(
    reader: &Reader,
    landlord: Id,
    as_of: NaiveDate,
    debtors: &[LeaseTotal],
) -> AppResult<Vec<ArrearsRow>> {
    let (mut open, labels) = newest_open_charges(reader, landlord, as_of, debtors).await?;
    Ok(labels
        .into_iter()
        .filter_map(|label| {
            let lease = open
                .remove(&label.lease_id)?
                .pop()
                .filter(|lease| lease.any)?;
            Some(lease.into_row(label))
        })
        .collect())
}

/// The open charges of each of `debtors` from their newest charges, by lease
/// (a lease may be asked for with several balances, in the order asked), and
/// the leases' labels. One read of the newest charges serves them all.
async fn newest_open_charges(
    reader: &Reader,
    landlord: Id,
    as_of: NaiveDate,
    debtors: &[LeaseTotal],
) -> AppResult<(BTreeMap<Id, Vec<OpenCharges>>, Vec<LeaseLabel>)> {
    let mut open: BTreeMap<Id, Vec<OpenCharges>> = BTreeMap::new();
    for debtor in debtors {
        open.entry(debtor.lease_id)
            .or_default()
            .push(OpenCharges::new(debtor.amount));
    }
    let ids: Vec<Id> = open.keys().copied().collect();
    let recent = (0..RECENT_MONTHS)
        .fold(Period::containing(as_of), |month, _| month.prev())
        .first_day();
    let ages = AgeLimits::new(as_of);
    let (newest, labels) = tokio::try_join!(
        read::debtor_charges(reader, landlord, as_of, Due::Since(recent), &ids),
        read::lease_labels(reader, landlord, &ids),
    )?;
    let take = |open: &mut BTreeMap<Id, Vec<OpenCharges>>, charges: Vec<ChargeLine>| {
        for charge in charges {
            for lease in open.get_mut(&charge.lease_id).into_iter().flatten() {
                lease.take(charge.due_date, charge.amount, &ages);
            }
        }
    };
    take(&mut open, newest);
    let short: Vec<Id> = open
        .iter()
        .filter(|(_, leases)| leases.iter().any(|lease| lease.remaining.is_positive()))
        .map(|(&id, _)| id)
        .collect();
    if !short.is_empty() {
        let older = read::debtor_charges(reader, landlord, as_of, Due::Before(recent), &short);
        take(&mut open, older.await?);
    }
    Ok((open, labels))
}

/// How many months before `as_of`'s the first read of a debtor's charges
/// goes back: enough for everyone but the long-standing debtors.
const RECENT_MONTHS: u32 = 3;

/// Per-lease charges against payments.
struct Balances {
    /// Leases that owe, with how much.
    debtors: Vec<LeaseTotal>,
    /// Paid beyond what was charged, summed over leases.
    prepaid: Money,
}

impl Balances {
    /// Sets each lease's charges against its payments (a lease may appear in
    /// either list or both).
    fn of(owed: &[LeaseTotal], paid: &[LeaseTotal]) -> Balances {
        let mut per_lease: BTreeMap<Id, (Money, Money)> = BTreeMap::new();
        for total in owed {
            per_lease.entry(total.lease_id).or_default().0 += total.amount;
        }
        for total in paid {
            per_lease.entry(total.lease_id).or_default().1 += total.amount;
        }
        let mut balances = Balances {
            debtors: Vec::new(),
            prepaid: Money::ZERO,
        };
        for (lease_id, (charged, received)) in per_lease {
            if charged > received {
                balances.debtors.push(LeaseTotal {
                    lease_id,
                    amount: charged - received,
                });
            } else {
                balances.prepaid += received - charged;
            }
        }
        balances
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn totals(rows: &[(Id, i64)]) -> Vec<LeaseTotal> {
        rows.iter()
            .map(|&(lease_id, amount)| LeaseTotal {
                lease_id,
                amount: Money(amount),
            })
            .collect()
    }

    #[test]
    fn balances_merge_both_sides() {
        let owed = totals(&[(1, 100), (2, 50), (4, 70), (6, 10)]);
        let paid = totals(&[(1, 100), (2, 20), (3, 30), (4, 90), (5, 5)]);
        let balances = Balances::of(&owed, &paid);
        let debtors: Vec<_> = balances
            .debtors
            .iter()
            .map(|d| (d.lease_id, d.amount.0))
            .collect();
        assert_eq!(debtors, [(2, 30), (6, 10)]);
        assert_eq!(balances.prepaid, Money(30 + 20 + 5));
    }
}
