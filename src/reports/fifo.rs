//! FIFO arrears from the newest charges backwards. Payments settle a lease's
//! oldest charges first, so what it still owes is its newest charges: walking
//! them newest first, each is open up to what remains unpaid. Only the
//! debtor leases' newest charges are read, never their whole history.

use chrono::{Days, NaiveDate};

use crate::db::{reports::ArrearsRow, rollups::read::ChargeLine, rollups::read::LeaseLabel};
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

/// The first due date of each age bucket after the first, as of a date.
#[derive(Debug, Clone, Copy)]
pub struct AgeLimits {
    as_of: NaiveDate,
    /// `as_of` − 30, − 60, − 90 days.
    limits: [NaiveDate; 3],
}

impl AgeLimits {
    pub fn new(as_of: NaiveDate) -> AgeLimits {
        let back = |days| {
            as_of
                .checked_sub_days(Days::new(days))
                .unwrap_or(NaiveDate::MIN)
        };
        AgeLimits {
            as_of,
            limits: [back(30), back(60), back(90)],
        }
    }

    /// The bucket of a charge due on `due`; `None` when not yet due.
    fn bucket(&self, due: NaiveDate) -> Option<usize> {
        if due > self.as_of {
            return None;
        }
        Some(self.limits.iter().take_while(|limit| due < **limit).count())
    }
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
    pub fn take(&mut self, charge: &ChargeLine, ages: &AgeLimits) {
        if !self.remaining.is_positive() {
            return;
        }
        let open = charge.amount.min(self.remaining);
        self.remaining -= open;
        self.any = true;
        match ages.bucket(charge.due_date) {
            None => self.not_yet_due += open,
            Some(bucket) => {
                self.aged[bucket] += open;
                self.oldest_due = Some(charge.due_date);
            }
        }
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

    fn charge(id: i64, due: &str, amount: i64) -> ChargeLine {
        ChargeLine {
            lease_id: 1,
            id,
            due_date: date(due),
            amount: Money(amount),
        }
    }

    #[test]
    fn the_newest_charges_stay_open_and_are_aged() {
        let ages = AgeLimits::new(date("2026-12-01"));
        let mut open = OpenCharges::new(Money(2_500));
        // Newest first: next month's rent billed early, then three months back.
        for c in [
            charge(9, "2026-12-05", 1_000),
            charge(8, "2026-11-05", 1_000),
            charge(7, "2026-10-05", 1_000),
            charge(6, "2026-09-05", 1_000),
        ] {
            open.take(&c, &ages);
        }
        assert_eq!(open.remaining, Money::ZERO);
        assert_eq!(open.not_yet_due, Money(1_000));
        assert_eq!(
            open.aged,
            [Money(1_000), Money(500), Money::ZERO, Money::ZERO]
        );
        assert_eq!(open.oldest_due, Some(date("2026-10-05")));
    }

    #[test]
    fn bucket_edges_follow_the_day_counts() {
        let ages = AgeLimits::new(date("2026-12-31"));
        assert_eq!(ages.bucket(date("2027-01-01")), None);
        assert_eq!(ages.bucket(date("2026-12-31")), Some(0));
        assert_eq!(ages.bucket(date("2026-12-01")), Some(0)); // 30 days
        assert_eq!(ages.bucket(date("2026-11-30")), Some(1)); // 31 days
        assert_eq!(ages.bucket(date("2026-11-01")), Some(1)); // 60 days
        assert_eq!(ages.bucket(date("2026-10-31")), Some(2));
        assert_eq!(ages.bucket(date("2026-10-02")), Some(2)); // 90 days
        assert_eq!(ages.bucket(date("2026-10-01")), Some(3));
    }
}
