//! Patching a landlord's cached reports with a payment just created, instead
//! of recomputing them on the next read: on the 1st of the month every
//! payment used to make its landlord's dashboard and reports cold (see
//! `docs/PERFORMANCE.md`). Why a patched entry is exact: `cache::patch`.
//!
//! What a new payment changes, as of today, without a property filter:
//! - financial (the 1st to today; the dashboard's whole month): collected,
//!   in total and by property, month and method, when it is confirmed and
//!   paid in the range;
//! - payment metrics: the collected of its month in the 12-month series;
//!   pending when it is pending; overdue leases and top debtors;
//! - arrears: the lease's row and the summary; money paid to no lease is
//!   unallocated;
//! - the dashboard: all of these.
//!
//! - the payments report (the 1st to today, any status): counted by status
//!   and method, and listed among the most recent payments.
//!
//! A lease's arrears before and after the payment are read after the commit
//! the way the report makes a lease's row ([`arrears::lease_change`]). A
//! patch that cannot be made exactly is not made, and the view is computed
//! on its next read as after any other write: the lease was charged for a
//! later period or paid after today; a top debtor paid and the arrears list
//! is not cached to say who comes next; the list does not hold the lease's
//! row as it should (a bug: logged).

use std::sync::Arc;

use chrono::NaiveDate;
use chrono_tz::Tz;
use futures_util::future::BoxFuture;
use serde::Serialize;

use axum::body::Bytes;

use crate::cache::{
    Cache, Data, Entry,
    entry::Model,
    entry::json_body_about,
    patch::{Patched, Target},
};
use crate::clock::Clock;
use crate::db::{Database, rollups::CreatedPayment, rollups::PaymentFacts};
use crate::reports::{
    DateRange, RangeParams, Scope,
    arrears::{self, ArrearsReport, LeaseChange},
    dashboard::Dashboard,
    financial::{FinancialReport, MonthTotals, Totals},
    metrics::{self, Debtor, PaymentMetrics},
    payments::{CountAmount, MethodGroup, PaymentsReport, RECENT, Recent, StatusGroup},
    views::Report,
};
use crate::types::{Id, Money, PaymentStatus, Period};
use crate::write::Patcher;

/// Patches the views of the landlord of every payment created through the
/// write path it is given to.
pub struct ReportPatcher {
    db: Database,
    cache: Cache,
    clock: Clock,
    tz: Tz,
}

impl ReportPatcher {
    pub fn new(db: Database, cache: Cache, clock: Clock, tz: Tz) -> Arc<ReportPatcher> {
        Arc::new(ReportPatcher {
            db,
            cache,
            clock,
            tz,
        })
    }
}

impl Patcher for ReportPatcher {
    fn new_payment<'a>(
        &'a self,
        payment: &'a CreatedPayment,
        generation: u64,
    ) -> BoxFuture<'a, Patched> {
        Box::pin(async move {
            let today = self.clock.today(self.tz);
            let mut patched = Patched::default();
            if let Err(err) = self.patch(payment, generation, today, &mut patched).await {
                tracing::debug!(error = %err, "patching the views after a payment failed");
            }
            patched
        })
    }
}

/// What the payment changes, as the patches need it.
#[derive(Debug, Clone)]
struct Change {
    /// Confirmed money collected on this day, and where (`None`: no lease).
    collected: Option<(NaiveDate, Option<Id>, crate::types::PaymentMethod, Money)>,
    /// Money now pending.
    pending: Money,
    /// Confirmed money paid to no lease.
    unallocated: Money,
    /// The lease's arrears before and after.
    lease: Option<LeaseChange>,
}

impl Change {
    /// What `payment` changes, but for the lease's arrears (read apart).
    fn of(payment: &PaymentFacts) -> Change {
        let confirmed = payment.status == PaymentStatus::Confirmed;
        let only_if = |yes: bool| if yes { payment.amount } else { Money::ZERO };
        Change {
            collected: confirmed.then_some((
                payment.paid_on,
                payment.property_id,
                payment.method,
                payment.amount,
            )),
            pending: only_if(payment.status == PaymentStatus::Pending),
            unallocated: only_if(confirmed && payment.lease_id.is_none()),
            lease: None,
        }
    }
}

impl ReportPatcher {
    async fn patch(
        &self,
        created: &CreatedPayment,
        generation: u64,
        today: NaiveDate,
        outcome: &mut Patched,
    ) -> crate::error::AppResult<()> {
        let payment = &created.facts;
        let Some(landlord) = payment.landlord_id else {
            return Ok(());
        };
        if payment.paid_on > today {
            // Paid "tomorrow" (a clock ahead of ours): the views as of today
            // set it apart. Rare; not patched.
            return Ok(());
        }
        let this_month = DateRange::parse(&RangeParams::default(), today)?;
        let reports = [
            Report::Arrears { as_of: today },
            Report::Dashboard { today },
            Report::PaymentMetrics { today },
            Report::Financial { range: this_month },
            Report::Payments {
                range: this_month,
                status: None,
            },
        ];
        let mut bases = Vec::new();
        for report in reports {
            let params = report.params(None);
            let Some(target) = self.cache.patch_target(
                landlord,
                report.view(),
                &params,
                Data::Payments,
                generation,
            ) else {
                continue;
            };
            match self.cache.patch_base(&target).await {
                Some(base) => bases.push((report, target, base)),
                None => tracing::debug!(
                    view = target.view.name(),
                    "not patched: no exact entry before"
                ),
            }
        }
        if bases.is_empty() {
            return Ok(());
        }
        let mut change = Change::of(payment);
        if let (PaymentStatus::Confirmed, Some(lease)) = (payment.status, payment.lease_id) {
            let scope = Scope {
                landlord,
                property: None,
            };
            // On the primary: this instance has not recorded the write's
            // position for the replicas yet (the patch comes first).
            let reader = self.db.reader_prefer_primary();
            match arrears::lease_change(reader, scope, today, lease, payment.amount).await? {
                Some(lease) => change.lease = Some(lease),
                // Only these do without the lease's arrears.
                None => bases.retain(|(report, _, _)| {
                    matches!(report, Report::Financial { .. } | Report::Payments { .. })
                }),
            }
        }
        // The keys after the write name what is committed now (this
        // instance may not know another's write yet), and what was read
        // above is that state.
        let targets: Vec<Target> = bases.iter().map(|(_, target, _)| target.clone()).collect();
        if !self.cache.still_after(landlord, &targets).await {
            tracing::debug!(
                landlord,
                "not patched: another write was committed meanwhile"
            );
            return Ok(());
        }
        // The arrears list first: it says who the top debtors are.
        let mut top: Option<Vec<Debtor>> = None;
        for (report, target, base) in bases {
            let fresh_until = base.fresh_until;
            let patched = match report {
                Report::Arrears { .. } => patched(&base, |list: &mut ArrearsModel| {
                    let done = arrears_list(list, &change);
                    if done {
                        top = Some(
                            list.report
                                .leases
                                .iter()
                                .take(metrics::TOP_DEBTORS)
                                .map(Debtor::of)
                                .collect(),
                        );
                    }
                    done
                }),
                Report::Dashboard { .. } => patched(&base, |dashboard: &mut Dashboard| {
                    financial(&mut dashboard.financial, &change)
                        && change
                            .lease
                            .as_ref()
                            .is_none_or(|lease| lease.apply_to(&mut dashboard.arrears))
                        && {
                            dashboard.arrears.unallocated += change.unallocated;
                            payment_metrics(&mut dashboard.metrics, &change, top.as_deref())
                        }
                }),
                Report::PaymentMetrics { .. } => patched(&base, |metrics: &mut PaymentMetrics| {
                    payment_metrics(metrics, &change, top.as_deref())
                }),
                Report::Payments { .. } => patched(&base, |report: &mut PaymentsReport| {
                    payments_report(report, created)
                }),
                Report::Financial { .. } => patched(&base, |report: &mut FinancialReport| {
                    financial(report, &change)
                }),
                _ => None,
            };
            match patched {
                Some((body, model)) => {
                    self.cache
                        .put_patched(target, fresh_until, body, model, outcome)
                        .await
                }
                None => tracing::debug!(view = target.view.name(), "view not patched"),
            }
        }
        Ok(())
    }
}

/// A cached view's value as a patch works on it.
trait Patchable: Send + Sync + Sized + 'static {
    /// The value of a body.
    fn parse(body: &[u8]) -> Option<Self>;
    /// The body of the value, about `about` bytes long.
    fn body(&self, about: usize) -> Option<Bytes>;
}

/// The reports patched as they are serialized.
macro_rules! patchable {
    ($($report:ty),+) => {$(
        impl Patchable for $report {
            fn parse(body: &[u8]) -> Option<Self> {
                serde_json::from_slice(body).ok()
            }

            fn body(&self, about: usize) -> Option<Bytes> {
                json_body_about(self, about).ok()
            }
        }
    )+};
}
patchable!(Dashboard, PaymentMetrics, FinancialReport, PaymentsReport);

/// `base`'s value patched by `patch`, serialized; `None` when `patch` could
/// not make it (returned `false`) or the body does not parse. The value is
/// the base's model, taken over (no other patch starts from that entry), or
/// parsed from its body.
fn patched<T: Patchable>(
    base: &Entry,
    patch: impl FnOnce(&mut T) -> bool,
) -> Option<(Bytes, Model)> {
    let mut value: T = match base.model.as_ref().and_then(Model::take) {
        Some(model) => model,
        None => T::parse(&base.body)?,
    };
    if !patch(&mut value) {
        return None;
    }
    let body = value.body(base.body.len())?;
    Some((body, Model::new(value)))
}

/// The arrears list as a patch keeps it: with each listed lease's JSON
/// apart, so a payment serializes one row again, not the whole list (a
/// tenth of a payment's time on the large set).
#[derive(Debug)]
struct ArrearsModel {
    report: ArrearsReport,
    /// `report.leases[i]` serialized.
    rows: Vec<Vec<u8>>,
}

/// The arrears report's fields before its list, serialized as the report
/// serializes them.
#[derive(Serialize)]
struct ArrearsHead<'a> {
    as_of: NaiveDate,
    property_id: Option<Id>,
    summary: &'a crate::reports::arrears::ArrearsSummary,
}

impl Patchable for ArrearsModel {
    fn parse(body: &[u8]) -> Option<ArrearsModel> {
        let report: ArrearsReport = serde_json::from_slice(body).ok()?;
        let rows = report
            .leases
            .iter()
            .map(serde_json::to_vec)
            .collect::<Result<_, _>>()
            .ok()?;
        Some(ArrearsModel { report, rows })
    }

    /// Byte for byte what serializing the report makes.
    fn body(&self, about: usize) -> Option<Bytes> {
        let head = ArrearsHead {
            as_of: self.report.as_of,
            property_id: self.report.property_id,
            summary: &self.report.summary,
        };
        let mut body = Vec::with_capacity(about + about / 64 + 64);
        serde_json::to_writer(&mut body, &head).ok()?;
        body.pop(); // the head's closing brace
        body.extend_from_slice(b",\"leases\":[");
        for (i, row) in self.rows.iter().enumerate() {
            if i > 0 {
                body.push(b',');
            }
            body.extend_from_slice(row);
        }
        body.extend_from_slice(b"]}");
        Some(Bytes::from(body))
    }
}

/// The arrears list (as of today): the lease's row and the summary.
fn arrears_list(model: &mut ArrearsModel, change: &Change) -> bool {
    model.report.summary.unallocated += change.unallocated;
    let Some(lease) = &change.lease else {
        return true;
    };
    let Some(moved) = lease.apply_to_list(&mut model.report.leases) else {
        tracing::warn!(
            lease = lease.lease_id,
            "the cached arrears list does not hold the lease's row as computed; not patched"
        );
        return false;
    };
    if let Some(at) = moved.removed {
        model.rows.remove(at);
    }
    if let Some(at) = moved.inserted {
        let Ok(row) = serde_json::to_vec(&model.report.leases[at]) else {
            return false;
        };
        model.rows.insert(at, row);
    }
    lease.apply_to(&mut model.report.summary)
}

/// A payments report (any status): the payment counted by status and by
/// method, and listed among the most recent if it is one of them (the list
/// is in the order of the payer's day, then the id; a list shorter than its
/// limit held every payment of the range).
fn payments_report(report: &mut PaymentsReport, created: &CreatedPayment) -> bool {
    let payment = &created.facts;
    if report.status.is_some()
        || payment.status == PaymentStatus::Held
        || payment.paid_on < report.from
        || payment.paid_on > report.to
    {
        return report.status.is_none();
    }
    let add = |totals: &mut CountAmount| {
        totals.count += 1;
        totals.amount += payment.amount;
    };
    let one = CountAmount {
        count: 1,
        amount: payment.amount,
    };
    add(&mut report.total);
    add_or_insert(
        &mut report.by_status,
        |group| group.status.as_str().cmp(payment.status.as_str()),
        |group| add(&mut group.totals),
        || StatusGroup {
            status: payment.status,
            totals: one,
        },
    );
    add_or_insert(
        &mut report.by_method,
        |group| group.method.as_str().cmp(payment.method.as_str()),
        |group| add(&mut group.totals),
        || MethodGroup {
            method: payment.method,
            totals: one,
        },
    );
    let newest_first = |recent: &Recent| std::cmp::Reverse((recent.paid_on, recent.id));
    let row = Recent {
        id: created.id,
        lease_id: payment.lease_id,
        property_id: payment.property_id,
        amount: payment.amount,
        method: payment.method,
        status: payment.status,
        reference: created.reference.clone(),
        payer: created.payer.clone(),
        paid_on: payment.paid_on,
    };
    let at = report
        .recent
        .partition_point(|recent| newest_first(recent) < newest_first(&row));
    report.recent.insert(at, row);
    report.recent.truncate(usize::try_from(RECENT).unwrap_or(0));
    true
}

/// A financial report: the money collected, if in its range.
fn financial(report: &mut FinancialReport, change: &Change) -> bool {
    let Some((paid_on, property, method, amount)) = change.collected else {
        return true;
    };
    if paid_on < report.from || paid_on > report.to {
        return true;
    }
    let add = |totals: &mut Totals| *totals = Totals::new(totals.billed, totals.collected + amount);
    add(&mut report.total);
    add_or_insert(
        &mut report.by_property,
        |entry| entry.property_id.cmp(&property),
        |entry| add(&mut entry.totals),
        || crate::reports::financial::PropertyTotals {
            property_id: property,
            totals: Totals::new(Money::ZERO, amount),
        },
    );
    let month = Period::containing(paid_on);
    let Some(entry) = report
        .by_month
        .iter_mut()
        .find(|entry| entry.month == month)
    else {
        // Every month of the range is listed.
        return false;
    };
    add(&mut entry.totals);
    add_or_insert(
        &mut report.by_method,
        |entry| entry.method.as_str().cmp(method.as_str()),
        |entry| entry.collected += amount,
        || crate::reports::financial::MethodTotal {
            method,
            collected: amount,
        },
    );
    true
}

/// In `groups`, sorted as `order` says (how a group compares with the one
/// sought), changes the group sought with `add`, or inserts `new()` where it
/// belongs: a report lists a group only once it has something in it.
fn add_or_insert<G>(
    groups: &mut Vec<G>,
    order: impl FnMut(&G) -> std::cmp::Ordering,
    add: impl FnOnce(&mut G),
    new: impl FnOnce() -> G,
) {
    match groups.binary_search_by(order) {
        Ok(at) => add(&mut groups[at]),
        Err(at) => groups.insert(at, new()),
    }
}

/// The payment metrics: the series, pending money, the arrears figures.
/// `top`: the top debtors from the patched arrears list, if it was cached.
fn payment_metrics(metrics: &mut PaymentMetrics, change: &Change, top: Option<&[Debtor]>) -> bool {
    let mut monthly: Vec<MonthTotals> = std::mem::take(&mut metrics.monthly);
    if let Some((paid_on, _, _, amount)) = change.collected {
        let month = Period::containing(paid_on);
        if let Some(entry) = monthly.iter_mut().find(|entry| entry.month == month) {
            entry.totals = Totals::new(entry.totals.billed, entry.totals.collected + amount);
        }
    }
    let mut pending = metrics.pending;
    if change.pending.is_positive() {
        pending.count += 1;
        pending.amount += change.pending;
    }
    let (mut overdue, mut top_debtors) = (metrics.overdue_leases, metrics.top_debtors.clone());
    if let Some(lease) = &change.lease {
        overdue = lease.overdue(overdue);
        top_debtors = match top {
            Some(top) => top.to_vec(),
            None => match top_without_list(&metrics.top_debtors, lease) {
                Some(top) => top,
                None => return false,
            },
        };
    }
    *metrics = PaymentMetrics::new(metrics.as_of, monthly, pending, overdue, top_debtors);
    true
}

/// The top debtors after a payment, from the top before alone: known when
/// the lease was not among them (a payment only lowers its balance), or
/// still ranks above the last of them (whoever comes next ranks below it).
fn top_without_list(top: &[Debtor], lease: &LeaseChange) -> Option<Vec<Debtor>> {
    let rank = |debtor: &Debtor| (std::cmp::Reverse(debtor.balance), debtor.lease_id);
    let Some(at) = top
        .iter()
        .position(|debtor| debtor.lease_id == lease.lease_id)
    else {
        return Some(top.to_vec());
    };
    let mut rest: Vec<Debtor> = top.to_vec();
    let last = rest.last().map(rank);
    rest.remove(at);
    let full = top.len() == metrics::TOP_DEBTORS;
    match LeaseChange::listed(&lease.after).map(Debtor::of) {
        Some(after) if !full || (at + 1 < top.len() && Some(rank(&after)) < last) => {
            let at = rest.partition_point(|debtor| rank(debtor) < rank(&after));
            rest.insert(at, after);
            Some(rest)
        }
        // No one else owes: the others stay.
        None if !full => Some(rest),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
