//! The money side of the history: rent, deposit and late-fee charges, and the
//! payments tenants made against them.
//!
//! Each lease draws from its own RNG stream. A tenant has a reliability (most
//! pay on time every month, a few struggle) and a preferred way to pay (mostly
//! M-Pesa); each month's behaviour is drawn from those. Payments that would
//! fall on or after the cutoff have simply not happened yet.

use std::collections::HashSet;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use rand::RngExt;

use super::frame::{Clock, Stream, local_instant, rng_for};
use super::names::{self, Rng, chance, pick, pick_weighted};
use super::{ChargeRow, DemoData, LeaseRow, PaymentRow};
use crate::types::{ChargeKind, Id, Money, PaymentMethod, PaymentStatus, Period, Role};

/// Fills `data.charges` and `data.payments` from its leases, then gives both
/// ids in time order.
pub(crate) fn build(seed: u64, clock: &Clock, data: &mut DemoData) {
    let mut refs = References::default();
    let mut charges = Vec::new();
    let mut payments = Vec::new();
    for lease in &data.leases {
        let payer = data
            .tenants
            .get(usize::try_from(lease.tenant_id - 1).unwrap_or(usize::MAX))
            .map_or("", |t| t.name.as_str());
        let mut rng = rng_for(seed, Stream::Ledger, lease.id.unsigned_abs());
        let habit = Habit::draw(&mut rng);
        Book {
            clock,
            rng,
            habit,
            lease,
            payer,
            refs: &mut refs,
            charges: &mut charges,
            payments: &mut payments,
        }
        .run();
    }
    suspense(seed, clock, data, &mut refs, &mut payments);

    charges.sort_by_key(|c| (c.due_date, c.lease_id, kind_rank(c.kind)));
    for (i, charge) in charges.iter_mut().enumerate() {
        charge.id = dense_id(i);
    }
    // Stable: payments at the same second keep their generation order.
    payments.sort_by_key(|p| p.paid_at);
    for (i, payment) in payments.iter_mut().enumerate() {
        payment.id = dense_id(i);
    }
    data.charges = charges;
    data.payments = payments;
}

fn dense_id(index: usize) -> Id {
    Id::try_from(index).unwrap_or(Id::MAX - 1) + 1
}

fn kind_rank(kind: ChargeKind) -> u8 {
    match kind {
        ChargeKind::Deposit => 0,
        ChargeKind::Rent => 1,
        ChargeKind::LateFee => 2,
        ChargeKind::Other => 3,
    }
}

/// How a month's rent gets paid.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Outcome {
    OnTime,
    Late,
    Partial,
    Missed,
}

/// A tenant's habits, fixed for the lease.
struct Habit {
    /// Per-mille odds of each month's outcome.
    odds: &'static [(Outcome, u32)],
    method: PaymentMethod,
}

const METHODS: &[(PaymentMethod, u32)] = &[
    (PaymentMethod::Mpesa, 80),
    (PaymentMethod::Cash, 12),
    (PaymentMethod::Bank, 8),
];

impl Habit {
    /// Three in four tenants are reliable; overall ~88 % of months are paid
    /// in full by the end of the grace period.
    fn draw(rng: &mut Rng) -> Habit {
        use Outcome::*;
        const GOOD: &[(Outcome, u32)] = &[(OnTime, 960), (Late, 30), (Partial, 10)];
        const FAIR: &[(Outcome, u32)] = &[(OnTime, 750), (Late, 150), (Partial, 60), (Missed, 40)];
        const POOR: &[(Outcome, u32)] =
            &[(OnTime, 450), (Late, 250), (Partial, 150), (Missed, 150)];
        let odds = pick_weighted(rng, &[(GOOD, 750), (FAIR, 170), (POOR, 80)]);
        Habit {
            odds,
            method: pick_weighted(rng, METHODS),
        }
    }
}

/// Writes one lease's charges and payments.
struct Book<'a> {
    clock: &'a Clock,
    rng: Rng,
    habit: Habit,
    lease: &'a LeaseRow,
    payer: &'a str,
    refs: &'a mut References,
    charges: &'a mut Vec<ChargeRow>,
    payments: &'a mut Vec<PaymentRow>,
}

impl Book<'_> {
    fn run(&mut self) {
        let lease = self.lease;
        let window_start = self.clock.first.first_day();
        if lease.deposit.is_positive() && lease.start_date >= window_start {
            self.charge(
                Period::containing(lease.start_date),
                ChargeKind::Deposit,
                lease.deposit,
                lease.start_date,
            );
            let days_before = self.rng.random_range(0..=3);
            self.pay(
                lease.start_date - Duration::days(days_before),
                lease.deposit,
            );
        }
        for &period in &self.clock.periods {
            let covered = lease.start_date <= period.last_day()
                && lease.end_date.is_none_or(|end| end >= period.first_day());
            if covered {
                self.month(period);
            }
        }
    }

    /// One month: the rent charge (the monthly charge run), maybe a late fee,
    /// and whatever the tenant paid.
    fn month(&mut self, period: Period) {
        let rent = self.lease.rent;
        let due = period.day(u32::try_from(self.lease.due_day).unwrap_or(1));
        let grace_end = due + Duration::days(self.lease.grace_days.into());
        // A rare waived month (billing error, repairs): void and unpaid.
        if chance(&mut self.rng, 3) {
            self.charges
                .push(self.charge_row(period, ChargeKind::Rent, rent, due, true));
            return;
        }
        self.charge(period, ChargeKind::Rent, rent, due);
        let outcome = pick_weighted(&mut self.rng, self.habit.odds);
        let fee = if outcome == Outcome::OnTime {
            None
        } else {
            self.late_fee(period, rent, grace_end)
        };
        match outcome {
            Outcome::OnTime => {
                let date = self.on_time(due, grace_end);
                self.pay(date, rent);
            }
            Outcome::Late => {
                // Some settle the late fee together with the rent.
                let with_fee = fee.filter(|_| chance(&mut self.rng, 600));
                let date = grace_end + Duration::days(self.rng.random_range(1..=20));
                self.pay(date, rent + with_fee.unwrap_or(Money::ZERO));
            }
            Outcome::Partial => {
                let percent = self.rng.random_range(30..=80);
                let part = Money(rent.minor() * percent / 100 / 10_000 * 10_000).max(Money(10_000));
                let date = self.on_time(due, grace_end);
                self.pay(date, part);
                if chance(&mut self.rng, 600) {
                    let later = grace_end + Duration::days(self.rng.random_range(3..=25));
                    self.pay(later, rent - part);
                }
            }
            Outcome::Missed => {}
        }
    }

    /// A date by the end of the grace period: one in five pays up to five
    /// days early, the rest on the due date or within the grace days.
    fn on_time(&mut self, due: NaiveDate, grace_end: NaiveDate) -> NaiveDate {
        let span = (grace_end - due).num_days();
        let offset = if chance(&mut self.rng, 200) {
            self.rng.random_range(-5..=-1)
        } else {
            self.rng.random_range(0..=span)
        };
        due + Duration::days(offset)
    }

    /// Half of late months draw a fee (5 % of rent, at least KES 500), charged
    /// the day after the grace period if that day is past; one in ten is
    /// waived (void). Returns the fee if it stands.
    fn late_fee(&mut self, period: Period, rent: Money, grace_end: NaiveDate) -> Option<Money> {
        let due = grace_end + Duration::days(1);
        if due >= self.clock.cutoff_date || !chance(&mut self.rng, 500) {
            return None;
        }
        let amount = Money((rent.minor() * 5 / 100 + 5_000) / 10_000 * 10_000).max(Money(50_000));
        let void = chance(&mut self.rng, 100);
        self.charges
            .push(self.charge_row(period, ChargeKind::LateFee, amount, due, void));
        (!void).then_some(amount)
    }

    fn charge(&mut self, period: Period, kind: ChargeKind, amount: Money, due: NaiveDate) {
        self.charges
            .push(self.charge_row(period, kind, amount, due, false));
    }

    fn charge_row(
        &self,
        period: Period,
        kind: ChargeKind,
        amount: Money,
        due_date: NaiveDate,
        void: bool,
    ) -> ChargeRow {
        ChargeRow {
            id: 0,
            landlord_id: self.lease.landlord_id,
            property_id: self.lease.property_id,
            lease_id: self.lease.id,
            period,
            kind,
            amount,
            due_date,
            void,
        }
    }

    /// Records a payment on `date` (local) unless it would be after the
    /// cutoff. Now and then a duplicate M-Pesa payment follows and is
    /// reversed, or a failed attempt precedes it.
    fn pay(&mut self, date: NaiveDate, amount: Money) {
        let date = date.max(self.clock.first.first_day());
        let method = if chance(&mut self.rng, 900) {
            self.habit.method
        } else {
            pick_weighted(&mut self.rng, METHODS)
        };
        let paid_at = local_instant(self.clock.tz, date, daytime(&mut self.rng));
        let status = if pending(&mut self.rng, self.clock, paid_at, method) {
            PaymentStatus::Pending
        } else {
            PaymentStatus::Confirmed
        };
        if !self.record(paid_at, amount, method, status) || status != PaymentStatus::Confirmed {
            return;
        }
        if chance(&mut self.rng, 10) {
            let later = paid_at + Duration::minutes(self.rng.random_range(1..=30));
            self.record(later, amount, PaymentMethod::Mpesa, PaymentStatus::Reversed);
        }
        if chance(&mut self.rng, 6) {
            let earlier = paid_at - Duration::minutes(self.rng.random_range(1..=10));
            let method = if method == PaymentMethod::Bank {
                PaymentMethod::Bank
            } else {
                PaymentMethod::Mpesa
            };
            self.record(earlier, amount, method, PaymentStatus::Failed);
        }
    }

    /// Pushes the payment row; false if it would not have happened yet.
    fn record(
        &mut self,
        paid_at: DateTime<Utc>,
        amount: Money,
        method: PaymentMethod,
        status: PaymentStatus,
    ) -> bool {
        let Some(row) = payment_row(self.clock, &mut self.rng, self.refs, paid_at, method) else {
            return false;
        };
        let with_account = method != PaymentMethod::Cash;
        self.payments.push(PaymentRow {
            landlord_id: Some(self.lease.landlord_id),
            property_id: Some(self.lease.property_id),
            lease_id: Some(self.lease.id),
            amount,
            status,
            account_ref: with_account.then(|| self.lease.account_ref.clone()),
            payer: Some(self.payer.to_owned()),
            ..row
        });
        true
    }
}

/// The parts of a payment row that depend only on when and how it was paid,
/// or `None` when that is not before the cutoff. Callers fill in the rest.
fn payment_row(
    clock: &Clock,
    rng: &mut Rng,
    refs: &mut References,
    paid_at: DateTime<Utc>,
    method: PaymentMethod,
) -> Option<PaymentRow> {
    // Safaricom's confirmation lands a few seconds after the payer's time.
    let delay = match method {
        PaymentMethod::Mpesa => rng.random_range(1..=20),
        PaymentMethod::Cash | PaymentMethod::Bank => rng.random_range(0..=5),
    };
    let received_at = paid_at + Duration::seconds(delay);
    if received_at >= clock.cutoff {
        return None;
    }
    let paid_on = paid_at.with_timezone(&clock.tz).date_naive();
    let reference = match method {
        PaymentMethod::Mpesa => Some(refs.mpesa(rng, paid_on)),
        PaymentMethod::Bank => Some(refs.bank(rng, paid_on)),
        PaymentMethod::Cash => None,
    };
    Some(PaymentRow {
        id: 0,
        landlord_id: None,
        property_id: None,
        lease_id: None,
        amount: Money::ZERO,
        method,
        status: PaymentStatus::Confirmed,
        reference,
        account_ref: None,
        payer: None,
        paid_at,
        paid_on,
        received_at,
    })
}

/// Whether a payment this close to the cutoff is still unconfirmed: some
/// M-Pesa confirmations of the last days, and bank transfers still clearing.
fn pending(rng: &mut Rng, clock: &Clock, paid_at: DateTime<Utc>, method: PaymentMethod) -> bool {
    let age = clock.cutoff - paid_at;
    match method {
        PaymentMethod::Mpesa => age < Duration::days(4) && chance(rng, 400),
        PaymentMethod::Bank => age < Duration::days(7) && chance(rng, 500),
        PaymentMethod::Cash => false,
    }
}

/// Seconds after local midnight between 06:30 and 22:30, when people pay.
fn daytime(rng: &mut Rng) -> u32 {
    rng.random_range(23_400..81_000)
}

/// A handful of M-Pesa payments per landlord whose BillRefNumber was mistyped:
/// they reached the landlord's shortcode but match no lease (suspense).
fn suspense(
    seed: u64,
    clock: &Clock,
    data: &DemoData,
    refs: &mut References,
    payments: &mut Vec<PaymentRow>,
) {
    let window_start = clock.first.first_day();
    let days = (clock.cutoff_date - window_start).num_days();
    if days <= 0 {
        return;
    }
    let real: HashSet<&str> = data.leases.iter().map(|l| l.account_ref.as_str()).collect();
    for landlord in data.users.iter().filter(|u| u.role == Role::Landlord) {
        let leases: Vec<&LeaseRow> = data
            .leases
            .iter()
            .filter(|l| l.landlord_id == landlord.id)
            .collect();
        if leases.is_empty() {
            continue;
        }
        let mut rng = rng_for(seed, Stream::Suspense, landlord.id.unsigned_abs());
        for _ in 0..1 + clock.months() / 8 {
            let lease = *pick(&mut rng, &leases);
            let date = window_start + Duration::days(rng.random_range(0..days));
            let paid_at = local_instant(clock.tz, date, daytime(&mut rng));
            let account_ref = mistype(&mut rng, &lease.account_ref, &real);
            let payer = names::person(&mut rng, "");
            let Some(row) = payment_row(clock, &mut rng, refs, paid_at, PaymentMethod::Mpesa)
            else {
                continue;
            };
            payments.push(PaymentRow {
                landlord_id: Some(landlord.id),
                amount: lease.rent,
                account_ref: Some(account_ref),
                payer: Some(payer),
                ..row
            });
        }
    }
}

/// How people mistype `MF000123`: no prefix, letter O for zero, an extra
/// digit, a dropped letter. Never a real reference.
fn mistype(rng: &mut Rng, real: &str, taken: &HashSet<&str>) -> String {
    let digits = real.trim_start_matches("MF");
    let candidates = [
        digits.to_owned(),
        format!("MF{}", digits.replacen('0', "O", 1)),
        format!("{real}{}", rng.random_range(0..10u8)),
        format!("M{digits}"),
    ];
    let first = rng.random_range(0..candidates.len() as u32) as usize;
    (0..candidates.len())
        .map(|i| &candidates[(first + i) % candidates.len()])
        .find(|c| !taken.contains(c.as_str()))
        .cloned()
        .unwrap_or_else(|| format!("{real}X"))
}

/// Payment references handed out so far: the (method, reference) pair is unique.
#[derive(Default)]
struct References {
    used: HashSet<String>,
}

const ALNUM: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

impl References {
    /// An M-Pesa TransID such as `SLK4H7Q2PX`: year letter (S = 2024), month
    /// letter, day in base 36, then seven random characters.
    fn mpesa(&mut self, rng: &mut Rng, date: NaiveDate) -> String {
        let year = u8::try_from((date.year() - 2006).rem_euclid(26)).unwrap_or(0);
        let month = u8::try_from(date.month0()).unwrap_or(0);
        let head = [
            char::from(b'A' + year),
            char::from(b'A' + month),
            char::from(ALNUM[date.day() as usize % ALNUM.len()]),
        ];
        self.fresh(rng, |rng| {
            let mut id: String = head.iter().collect();
            id.extend((0..7).map(|_| char::from(*pick(rng, ALNUM))));
            id
        })
    }

    /// A bank transfer reference like `FT24123K7Q2P`: year, day of year, random.
    fn bank(&mut self, rng: &mut Rng, date: NaiveDate) -> String {
        let head = format!("FT{:02}{:03}", date.year() % 100, date.ordinal());
        self.fresh(rng, |rng| {
            let mut id = head.clone();
            id.extend((0..5).map(|_| char::from(*pick(rng, ALNUM))));
            id
        })
    }

    fn fresh(&mut self, rng: &mut Rng, make: impl Fn(&mut Rng) -> String) -> String {
        loop {
            let id = make(rng);
            if self.used.insert(id.clone()) {
                return id;
            }
        }
    }
}
