//! FIFO arrears from the newest charges backwards. Payments settle a lease's
//! oldest charges first, so what it still owes is its newest charges: walking
//! them newest first, each is open up to what remains unpaid. Only the
//! debtor leases' newest charges are read, never their whole history.

use chrono::NaiveDate;

use crate::db::{
    reports::{AgeLimits, ArrearsRow},
    rollups::read::LeaseLabel,
};
use crate::types::Money;

/// One debtor lease's open charges, aged as of a date, filled newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenCharges {
    /// Unpaid and not yet matched to a charge.
    pub remaining: Money,
    pub not_yet_due: Money,
    /// 0–30, 31–60, 61–90, 90+ days past due.
    pub aged: [Money; 4],
    pub oldest_due: Option<NaiveDate>,
    /// Whether any charge is open (a debtor without one would be drift).
    pub any: bool,
}

impl OpenCharges {
    pub fn new(unpaid: Money) -> OpenCharges {
        OpenCharges {
            remaining: unpaid,
            not_yet_due: Money::ZERO,
            aged: [Money::ZERO; 4],
            oldest_due: None,
            any: false,
        }
    }

    /// Takes the next-newer-to-older charge: it is open up to what remains.
    pub fn take(&mut self, due_date: NaiveDate, amount: Money, ages: &AgeLimits) {
        if !self.remaining.is_positive() {
            return;
        }
        let open = amount.min(self.remaining);
        self.remaining -= open;
        self.any = true;
        match ages.bucket(due_date) {
            None => self.not_yet_due += open,
            Some(bucket) => {
                self.aged[bucket] += open;
                self.oldest_due = Some(due_date);
            }
        }
    }

    /// A lease's stored open charges (all time, newest first), aged.
    pub fn of(charges: &[(NaiveDate, Money)], ages: &AgeLimits) -> OpenCharges {
        let mut open = OpenCharges::new(charges.iter().map(|(_, amount)| *amount).sum());
        for &(due_date, amount) in charges {
            open.take(due_date, amount, ages);
        }
        open
    }

    /// The report row, with the lease's label.
    pub fn into_row(self, label: LeaseLabel) -> ArrearsRow {
        let [days_0_30, days_31_60, days_61_90, days_90_plus] = self.aged;
        ArrearsRow {
            lease_id: label.lease_id,
            property_id: label.property_id,
            unit_label: label.unit_label,
            tenant_name: label.tenant_name,
            grace_days: label.grace_days,
            not_yet_due: self.not_yet_due,
            days_0_30,
            days_31_60,
            days_61_90,
            days_90_plus,
            oldest_due: self.oldest_due,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        text.parse().expect("date")
    }

    fn charge(due: &str, amount: i64) -> (NaiveDate, Money) {
        (date(due), Money(amount))
    }

    #[test]
    fn the_newest_charges_stay_open_and_are_aged() {
        let ages = AgeLimits::new(date("2026-12-01"));
        let mut open = OpenCharges::new(Money(2_500));
        // Newest first: next month's rent billed early, then three months back.
        for (due, amount) in [
            charge("2026-12-05", 1_000),
            charge("2026-11-05", 1_000),
            charge("2026-10-05", 1_000),
            charge("2026-09-05", 1_000),
        ] {
            open.take(due, amount, &ages);
        }
        assert_eq!(open.remaining, Money::ZERO);
        assert_eq!(open.not_yet_due, Money(1_000));
        assert_eq!(
            open.aged,
            [Money(1_000), Money(500), Money::ZERO, Money::ZERO]
        );
        assert_eq!(open.oldest_due, Some(date("2026-10-05")));
    }
}
