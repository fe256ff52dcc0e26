//! Roll-ups: running totals every write keeps in its own transaction, so
//! today's reports read a few rows instead of a landlord's whole history.
//!
//! A write never computes a delta by hand. It says what a charge or payment
//! contributed before the change and after it ([`ChargeFacts`],
//! [`PaymentFacts`]; `None` for "did not exist"), and [`Delta`] subtracts the
//! one contribution from the other. What a row contributes is one pure
//! function per kind, the same one `rebuild` and `verify` use in SQL form.
//!
//! Tables (migration 0005): `rollup_charge_months` (non-void charges by
//! landlord, property, due month), `rollup_payment_months` (payments but held
//! ones, by landlord, property — 0 for none — paid month, status, method),
//! `rollup_leases` (per lease: non-void charges and confirmed payments).
//! A row that comes to zero is deleted, so the tables hold activity only.
//!
//! Migration 0011 adds the same months summed over a landlord's properties
//! (`rollup_landlord_charge_months`, `rollup_landlord_payment_months`, by
//! status, month and method), and per landlord and day the open charges due
//! and the leases in arrears or overdue from it (`rollup_open_days`, kept by
//! [`open`]): the dashboard of all properties reads those.
//!
//! Migration 0010 adds occupancy: per property its units and active leases,
//! per tenant their active leases ([`occupancy`]), recomputed from the rows
//! of the properties and tenants a write touched.
//!
//! [`read`] has the reports' queries of them; [`audit`] checks them against
//! the history (`mfuko rollups verify`) and rebuilds them from it.

pub mod audit;
mod occupancy;
mod open;
pub mod read;

pub use audit::{Difference, rebuild, verify};
pub use open::{Relabel, relabel};

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use chrono::NaiveDate;

use crate::db::batch::{Batch, Value};
use crate::types::{Id, Money, PaymentMethod, PaymentStatus, Period};

/// What the roll-ups need to know of a charge.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ChargeFacts {
    pub landlord_id: Id,
    pub property_id: Id,
    pub lease_id: Id,
    pub amount: Money,
    pub due_date: NaiveDate,
    pub void: bool,
}

/// What the roll-ups need to know of a payment.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PaymentFacts {
    pub landlord_id: Option<Id>,
    pub property_id: Option<Id>,
    pub lease_id: Option<Id>,
    pub amount: Money,
    pub method: PaymentMethod,
    pub status: PaymentStatus,
    pub paid_on: NaiveDate,
}

/// A payment just created: its facts, and what the payments report lists of
/// it besides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedPayment {
    pub facts: PaymentFacts,
    pub id: Id,
    pub reference: Option<String>,
    pub payer: Option<String>,
}

/// A charge's or payment's month row: landlord, property (0: none), month.
type MonthKey = (Id, Id, Period);
/// A payment month row also has its status and method.
type PaymentMonthKey = (Id, Id, Period, PaymentStatus, PaymentMethod);

/// Count and amount.
type Sum = (i64, i128);

/// Changes to apply to the roll-ups, accumulated over a write and applied
/// once before it commits (zero entries are dropped).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Delta {
    charge_months: BTreeMap<MonthKey, Sum>,
    payment_months: BTreeMap<PaymentMonthKey, Sum>,
    /// lease → (landlord, property, charged, paid)
    leases: BTreeMap<Id, (Id, Id, i128, i128)>,
    /// (property, landlord) whose units or active leases changed.
    properties: BTreeSet<(Id, Id)>,
    /// Tenants whose active leases changed.
    tenants: BTreeSet<Id>,
    /// Payments created, while nothing else changed (see [`Delta::only_new_payment`]).
    created: Vec<CreatedPayment>,
    /// Whether anything but payments being created changed.
    other: bool,
}

impl Delta {
    /// Records that a charge went from `before` to `after`.
    pub fn charge(&mut self, before: Option<&ChargeFacts>, after: Option<&ChargeFacts>) {
        self.other = true;
        for (facts, sign) in [(before, -1_i64), (after, 1)] {
            let Some(c) = facts.filter(|c| !c.void) else {
                continue;
            };
            let amount = i128::from(c.amount.minor()) * i128::from(sign);
            let month = (c.landlord_id, c.property_id, Period::containing(c.due_date));
            let entry = self.charge_months.entry(month).or_default();
            entry.0 += sign;
            entry.1 += amount;
            let lease =
                self.leases
                    .entry(c.lease_id)
                    .or_insert((c.landlord_id, c.property_id, 0, 0));
            lease.2 += amount;
        }
    }

    /// Marks a lease whose open charges' sums depend on something else that
    /// changed (its grace days set the day it counts as overdue).
    pub fn touch_lease(&mut self, lease: Id, landlord: Id, property: Id) {
        self.other = true;
        self.leases
            .entry(lease)
            .or_insert((landlord, property, 0, 0));
    }

    /// Marks a property whose units (their number or market state) or
    /// active leases changed, and the tenant of a lease that did.
    pub fn touch_occupancy(&mut self, landlord: Id, property: Id, tenant: Option<Id>) {
        self.other = true;
        self.properties.insert((property, landlord));
        self.tenants.extend(tenant);
    }

    /// Records that a payment went from `before` to `after`.
    pub fn payment(&mut self, before: Option<&PaymentFacts>, after: Option<&PaymentFacts>) {
        self.other = true;
        self.add_payment(before, after);
    }

    /// Records that a payment was created (what the patches of the cached
    /// views need to know of it, `reports::patch`).
    pub fn created_payment(&mut self, created: CreatedPayment) {
        self.add_payment(None, Some(&created.facts));
        self.created.push(created);
    }

    fn add_payment(&mut self, before: Option<&PaymentFacts>, after: Option<&PaymentFacts>) {
        for (facts, sign) in [(before, -1_i64), (after, 1)] {
            let Some(p) = facts.filter(|p| p.status != PaymentStatus::Held) else {
                continue;
            };
            // A payment no landlord received is in nobody's reports.
            let Some(landlord) = p.landlord_id else {
                continue;
            };
            let amount = i128::from(p.amount.minor()) * i128::from(sign);
            let property = p.property_id.unwrap_or(0);
            let month = (
                landlord,
                property,
                Period::containing(p.paid_on),
                p.status,
                p.method,
            );
            let entry = self.payment_months.entry(month).or_default();
            entry.0 += sign;
            entry.1 += amount;
            if let (Some(lease), PaymentStatus::Confirmed) = (p.lease_id, p.status) {
                let row = self
                    .leases
                    .entry(lease)
                    .or_insert((landlord, property, 0, 0));
                row.3 += amount;
            }
        }
    }

    /// The payment this delta creates, when creating one payment is all it
    /// does: the cached views can then be patched with it instead of
    /// recomputed (`reports::patch`).
    pub fn only_new_payment(&self) -> Option<&CreatedPayment> {
        match self.created.as_slice() {
            [payment] if !self.other => Some(payment),
            _ => None,
        }
    }

    /// Nothing to apply. A lease whose totals did not change is still
    /// touched: its charges may have (one voided, an equal one added).
    pub fn is_empty(&self) -> bool {
        self.leases.is_empty()
            && self.properties.is_empty()
            && self.tenants.is_empty()
            && self.nets_to_zero()
    }

    /// Every total's change sums to zero.
    fn nets_to_zero(&self) -> bool {
        self.charge_months.values().all(|s| *s == (0, 0))
            && self.payment_months.values().all(|s| *s == (0, 0))
            && self.leases.values().all(|l| l.2 == 0 && l.3 == 0)
    }

    /// Adds the statements applying the changes to `batch`, in key order
    /// (two writes touching the same rows lock them in the same order):
    /// each landlord's rows after its properties'.
    pub(crate) fn statements(&self, postgres: bool, batch: &mut Batch) {
        static CHARGE_MONTHS: LazyLock<Counted> = LazyLock::new(|| {
            Counted::new(
                "rollup_charge_months",
                &["landlord_id", "property_id", "month"],
            )
        });
        static PAYMENT_MONTHS: LazyLock<Counted> = LazyLock::new(|| {
            Counted::new(
                "rollup_payment_months",
                &["landlord_id", "property_id", "month", "status", "method"],
            )
        });
        static LANDLORD_CHARGE_MONTHS: LazyLock<Counted> = LazyLock::new(|| {
            Counted::new("rollup_landlord_charge_months", &["landlord_id", "month"])
        });
        static LANDLORD_PAYMENT_MONTHS: LazyLock<Counted> = LazyLock::new(|| {
            Counted::new(
                "rollup_landlord_payment_months",
                &["landlord_id", "status", "month", "method"],
            )
        });
        let mut landlord_charges: BTreeMap<(Id, Period), Sum> = BTreeMap::new();
        for (&(landlord, property, month), &sum) in &self.charge_months {
            let key = vec![
                Value::from(landlord),
                Value::from(property),
                Value::Text(month.to_string()),
            ];
            CHARGE_MONTHS.add(batch, key, sum);
            add_sum(landlord_charges.entry((landlord, month)).or_default(), sum);
        }
        let mut landlord_payments: BTreeMap<(Id, PaymentStatus, Period, PaymentMethod), Sum> =
            BTreeMap::new();
        for (&(landlord, property, month, status, method), &sum) in &self.payment_months {
            let key = vec![
                Value::from(landlord),
                Value::from(property),
                Value::Text(month.to_string()),
                Value::Text(status.to_string()),
                Value::Text(method.to_string()),
            ];
            PAYMENT_MONTHS.add(batch, key, sum);
            add_sum(
                landlord_payments
                    .entry((landlord, status, month, method))
                    .or_default(),
                sum,
            );
        }
        for ((landlord, month), sum) in landlord_charges {
            let key = vec![Value::from(landlord), Value::Text(month.to_string())];
            LANDLORD_CHARGE_MONTHS.add(batch, key, sum);
        }
        for ((landlord, status, month, method), sum) in landlord_payments {
            let key = vec![
                Value::from(landlord),
                Value::Text(status.to_string()),
                Value::Text(month.to_string()),
                Value::Text(method.to_string()),
            ];
            LANDLORD_PAYMENT_MONTHS.add(batch, key, sum);
        }
        for (lease, (landlord, property, charged, paid)) in &self.leases {
            if (*charged, *paid) == (0, 0) {
                continue;
            }
            batch.push_independent(
                "INSERT INTO rollup_leases (lease_id, landlord_id, property_id, charged, paid) \
                 VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (lease_id) DO UPDATE SET \
                 charged = rollup_leases.charged + excluded.charged, \
                 paid = rollup_leases.paid + excluded.paid",
                vec![
                    Value::from(*lease),
                    Value::from(*landlord),
                    Value::from(*property),
                    Value::Int(narrow(*charged)),
                    Value::Int(narrow(*paid)),
                ],
            );
            if *charged < 0 || *paid < 0 {
                batch.push(
                    "DELETE FROM rollup_leases WHERE lease_id = $1 AND charged = 0 AND paid = 0",
                    vec![Value::from(*lease)],
                );
            }
        }
        open::refresh(postgres, batch, self.leases.keys().copied());
        occupancy::refresh(
            batch,
            self.properties.iter().copied(),
            self.tenants.iter().copied(),
        );
    }
}

fn add_sum(total: &mut Sum, (count, amount): Sum) {
    total.0 += count;
    total.1 += amount;
}

/// A roll-up table of counts and amounts by a key: what a write adds to a
/// row, and the row's removal once a decrease may have emptied it (the
/// tables hold activity only).
struct Counted {
    upsert: String,
    delete_empty: String,
}

impl Counted {
    fn new(table: &str, key: &[&str]) -> Counted {
        let columns = key.join(", ");
        let values: Vec<String> = (1..=key.len() + 2).map(|n| format!("${n}")).collect();
        let matches: Vec<String> = key
            .iter()
            .zip(1..)
            .map(|(column, n)| format!("{column} = ${n}"))
            .collect();
        Counted {
            upsert: format!(
                "INSERT INTO {table} ({columns}, count, amount) VALUES ({}) \
                 ON CONFLICT ({columns}) DO UPDATE SET \
                 count = {table}.count + excluded.count, amount = {table}.amount + excluded.amount",
                values.join(", ")
            ),
            delete_empty: format!(
                "DELETE FROM {table} WHERE {} AND count = 0",
                matches.join(" AND ")
            ),
        }
    }

    /// Adds `count` and `amount` to row `key` (its columns' values, in order).
    fn add(&self, batch: &mut Batch, key: Vec<Value>, (count, amount): Sum) {
        if (count, amount) == (0, 0) {
            return;
        }
        let mut values = key.clone();
        values.extend([Value::Int(count), Value::Int(narrow(amount))]);
        batch.push_independent(self.upsert.clone(), values);
        if count < 0 {
            batch.push(self.delete_empty.clone(), key);
        }
    }
}

/// Redoes one key's roll-up rows: adds `statements` (a delete, then an
/// insert from the source rows) to `batch`, each with `ids` bound as `$1`, `$2`…
fn redo(batch: &mut Batch, statements: &[String], ids: &[Id]) {
    for sql in statements {
        batch.push(sql.clone(), ids.iter().copied().map(Value::from).collect());
    }
}

/// A delta fits in `i64`: stored amounts are at most `Money::CEILING` and a
/// write changes few rows.
fn narrow(value: i128) -> i64 {
    i64::try_from(value).unwrap_or(if value < 0 { i64::MIN } else { i64::MAX })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn charge(amount: i64, due: &str, void: bool) -> ChargeFacts {
        ChargeFacts {
            landlord_id: 1,
            property_id: 2,
            lease_id: 3,
            amount: Money(amount),
            due_date: due.parse().expect("date"),
            void,
        }
    }

    fn payment(status: PaymentStatus, lease: Option<Id>) -> PaymentFacts {
        PaymentFacts {
            landlord_id: Some(1),
            property_id: lease.map(|_| 2),
            lease_id: lease,
            amount: Money(500),
            method: PaymentMethod::Mpesa,
            status,
            paid_on: "2026-11-30".parse().expect("date"),
        }
    }

    #[test]
    fn a_change_and_its_undoing_cancel_out() {
        let mut delta = Delta::default();
        let live = charge(1000, "2026-11-05", false);
        let voided = charge(1000, "2026-11-05", true);
        delta.charge(None, Some(&live));
        delta.charge(Some(&live), Some(&voided));
        assert!(delta.nets_to_zero(), "{delta:?}");
        // The lease was touched all the same: its open charges are redone.
        assert!(!delta.is_empty());

        let pending = payment(PaymentStatus::Pending, Some(3));
        let confirmed = payment(PaymentStatus::Confirmed, Some(3));
        delta.payment(None, Some(&pending));
        delta.payment(Some(&pending), Some(&confirmed));
        delta.payment(Some(&confirmed), None);
        assert!(delta.nets_to_zero(), "{delta:?}");
    }

    #[test]
    fn allocation_moves_money_between_rows() {
        let mut delta = Delta::default();
        let suspense = payment(PaymentStatus::Confirmed, None);
        let allocated = payment(PaymentStatus::Confirmed, Some(3));
        delta.payment(Some(&suspense), Some(&allocated));
        let month: Period = "2026-11".parse().expect("period");
        let key = |property| {
            (
                1,
                property,
                month,
                PaymentStatus::Confirmed,
                PaymentMethod::Mpesa,
            )
        };
        assert_eq!(delta.payment_months.get(&key(0)), Some(&(-1, -500)));
        assert_eq!(delta.payment_months.get(&key(2)), Some(&(1, 500)));
        assert_eq!(delta.leases.get(&3), Some(&(1, 2, 0, 500)));
    }

    #[test]
    fn held_and_nobodys_payments_count_nowhere() {
        let mut delta = Delta::default();
        delta.payment(None, Some(&payment(PaymentStatus::Held, None)));
        let orphan = PaymentFacts {
            landlord_id: None,
            ..payment(PaymentStatus::Confirmed, None)
        };
        delta.payment(None, Some(&orphan));
        assert!(delta.is_empty());
    }
}
