//! An independent oracle for the reports, written from `docs/REPORTS.md`
//! alone: it reads the landlord's raw rows (plain `SELECT`s, no aggregates) and
//! recomputes every report with loops over those rows, producing the same JSON
//! shape as the API so the two can be compared value for value.
//!
//! It is deliberately naive: no indexes, no SQL arithmetic, every number is a
//! fold over a `Vec`. Keep it that way; its only job is to be obviously right.

use chrono::{Datelike, NaiveDate};
use mfuko::db::{Database, Pool};
use serde_json::{Value, json};

#[derive(Debug, Clone)]
pub struct Property {
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Clone)]
pub struct Unit {
    pub id: i64,
    pub property_id: i64,
    pub label: String,
    pub off_market: bool,
}

#[derive(Debug, Clone)]
pub struct Tenant {
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Clone)]
pub struct Lease {
    pub id: i64,
    pub property_id: i64,
    pub unit_id: i64,
    pub tenant_id: i64,
    pub grace_days: i64,
    pub start_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
    pub status: String,
}

#[derive(Debug, Clone)]
pub struct Charge {
    pub id: i64,
    pub property_id: i64,
    pub lease_id: i64,
    /// `YYYY-MM`.
    pub period: String,
    pub amount: i64,
    pub due_date: NaiveDate,
    pub void: bool,
}

#[derive(Debug, Clone)]
pub struct Payment {
    pub id: i64,
    pub property_id: Option<i64>,
    pub lease_id: Option<i64>,
    pub amount: i64,
    pub method: String,
    pub status: String,
    pub reference: Option<String>,
    pub payer: Option<String>,
    pub paid_on: NaiveDate,
}

/// Every row of one landlord, sorted by id.
#[derive(Debug, Clone)]
pub struct Rows {
    pub landlord_id: i64,
    pub properties: Vec<Property>,
    pub units: Vec<Unit>,
    pub tenants: Vec<Tenant>,
    pub leases: Vec<Lease>,
    pub charges: Vec<Charge>,
    pub payments: Vec<Payment>,
}

type LeaseTuple = (
    i64,
    i64,
    i64,
    i64,
    i32,
    NaiveDate,
    Option<NaiveDate>,
    String,
);
type ChargeTuple = (i64, i64, i64, String, i64, NaiveDate, bool);
type PaymentTuple = (
    i64,
    Option<i64>,
    Option<i64>,
    i64,
    String,
    String,
    Option<String>,
    Option<String>,
    NaiveDate,
);

/// Reads the landlord's rows, one plain `SELECT` per table.
pub async fn load(db: &Database, landlord_id: i64) -> Rows {
    macro_rules! rows {
        ($sql:literal) => {
            match mfuko::db::testing::reader_pool(db) {
                Pool::Sqlite(p) => sqlx::query_as($sql).bind(landlord_id).fetch_all(p).await,
                Pool::Postgres(p) => sqlx::query_as($sql).bind(landlord_id).fetch_all(p).await,
            }
            .expect($sql)
        };
    }
    let properties: Vec<(i64, String)> =
        rows!("SELECT id, name FROM properties WHERE landlord_id = $1");
    let units: Vec<(i64, i64, String, bool)> =
        rows!("SELECT id, property_id, label, off_market FROM units WHERE landlord_id = $1");
    let tenants: Vec<(i64, String)> = rows!("SELECT id, name FROM tenants WHERE landlord_id = $1");
    let leases: Vec<LeaseTuple> = rows!(
        "SELECT id, property_id, unit_id, tenant_id, grace_days, start_date, end_date, status \
         FROM leases WHERE landlord_id = $1"
    );
    let charges: Vec<ChargeTuple> = rows!(
        "SELECT id, property_id, lease_id, period, amount, due_date, void \
         FROM charges WHERE landlord_id = $1"
    );
    let payments: Vec<PaymentTuple> = rows!(
        "SELECT id, property_id, lease_id, amount, method, status, reference, payer, paid_on \
         FROM payments WHERE landlord_id = $1"
    );

    let mut rows = Rows {
        landlord_id,
        properties: properties
            .into_iter()
            .map(|(id, name)| Property { id, name })
            .collect(),
        units: units
            .into_iter()
            .map(|(id, property_id, label, off_market)| Unit {
                id,
                property_id,
                label,
                off_market,
            })
            .collect(),
        tenants: tenants
            .into_iter()
            .map(|(id, name)| Tenant { id, name })
            .collect(),
        leases: leases
            .into_iter()
            .map(
                |(id, property_id, unit_id, tenant_id, grace, start, end, status)| Lease {
                    id,
                    property_id,
                    unit_id,
                    tenant_id,
                    grace_days: i64::from(grace),
                    start_date: start,
                    end_date: end,
                    status,
                },
            )
            .collect(),
        charges: charges
            .into_iter()
            .map(
                |(id, property_id, lease_id, period, amount, due_date, void)| Charge {
                    id,
                    property_id,
                    lease_id,
                    period,
                    amount,
                    due_date,
                    void,
                },
            )
            .collect(),
        payments: payments
            .into_iter()
            .map(
                |(id, property_id, lease_id, amount, method, status, reference, payer, paid_on)| {
                    Payment {
                        id,
                        property_id,
                        lease_id,
                        amount,
                        method,
                        status,
                        reference,
                        payer,
                        paid_on,
                    }
                },
            )
            .collect(),
    };
    rows.properties.sort_by_key(|p| p.id);
    rows.units.sort_by_key(|u| u.id);
    rows.tenants.sort_by_key(|t| t.id);
    rows.leases.sort_by_key(|l| l.id);
    rows.charges.sort_by_key(|c| c.id);
    rows.payments.sort_by_key(|p| p.id);
    rows
}

// ---------------------------------------------------------------------------
// Small shared rules.

/// `numerator × 100 ÷ denominator`, rounded half up (towards +∞ on a tie) to
/// two decimals, in integer arithmetic; `null` when the denominator is 0.
pub fn pct(numerator: i64, denominator: i64) -> Value {
    if denominator == 0 {
        return Value::Null;
    }
    assert!(denominator > 0, "no report divides by a negative number");
    // hundredths = floor(numerator × 10000 ÷ denominator + 1/2)
    //            = floor((2 × numerator × 10000 + denominator) ÷ (2 × denominator))
    let n = i128::from(numerator) * 10_000 * 2 + i128::from(denominator);
    let d = i128::from(denominator) * 2;
    let hundredths = n.div_euclid(d);
    let hundredths = i64::try_from(hundredths).expect("percentage fits");
    json!(hundredths as f64 / 100.0)
}

/// `YYYY-MM` of a date.
pub fn month_of(date: NaiveDate) -> String {
    format!("{:04}-{:02}", date.year(), date.month())
}

pub fn first_of_month(date: NaiveDate) -> NaiveDate {
    NaiveDate::from_ymd_opt(date.year(), date.month(), 1).expect("first of month")
}

pub fn next_month_first(date: NaiveDate) -> NaiveDate {
    let (y, m) = if date.month() == 12 {
        (date.year() + 1, 1)
    } else {
        (date.year(), date.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1).expect("first of next month")
}

pub fn last_of_month(date: NaiveDate) -> NaiveDate {
    next_month_first(date).pred_opt().expect("last of month")
}

/// The first day of the month `n` months before `date`'s month.
pub fn months_back(date: NaiveDate, n: u32) -> NaiveDate {
    let mut first = first_of_month(date);
    for _ in 0..n {
        first = first_of_month(first.pred_opt().expect("previous month"));
    }
    first
}

/// Is the row in scope of the optional property filter?
fn in_scope(row_property: Option<i64>, filter: Option<i64>) -> bool {
    match filter {
        None => true,
        Some(p) => row_property == Some(p),
    }
}

fn charge_counts(c: &Charge) -> bool {
    !c.void
}

fn payment_counts(p: &Payment) -> bool {
    p.status == "confirmed"
}

fn lease_active_on(l: &Lease, day: NaiveDate) -> bool {
    l.status == "active" && l.start_date <= day && (l.end_date.is_none() || l.end_date >= Some(day))
}

fn properties_in_scope(rows: &Rows, property: Option<i64>) -> Vec<&Property> {
    rows.properties
        .iter()
        .filter(|p| in_scope(Some(p.id), property))
        .collect()
}

// ---------------------------------------------------------------------------
// Occupancy.

pub fn occupancy(rows: &Rows, today: NaiveDate, property: Option<i64>) -> Value {
    let mut list = Vec::new();
    let (mut t_units, mut t_available, mut t_occupied) = (0i64, 0i64, 0i64);
    for p in properties_in_scope(rows, property) {
        let mut units = 0;
        let mut available = 0;
        let mut occupied = 0;
        for u in rows.units.iter().filter(|u| u.property_id == p.id) {
            units += 1;
            if u.off_market {
                continue;
            }
            available += 1;
            let mut has_active_lease = false;
            for l in &rows.leases {
                if l.unit_id == u.id && lease_active_on(l, today) {
                    has_active_lease = true;
                }
            }
            if has_active_lease {
                occupied += 1;
            }
        }
        t_units += units;
        t_available += available;
        t_occupied += occupied;
        list.push(json!({
            "property_id": p.id,
            "name": p.name,
            "units": units,
            "available": available,
            "occupied": occupied,
            "vacant": available - occupied,
            "occupancy_pct": pct(occupied, available),
        }));
    }
    json!({
        "as_of": today.to_string(),
        "total": {
            "units": t_units,
            "available": t_available,
            "occupied": t_occupied,
            "vacant": t_available - t_occupied,
            "occupancy_pct": pct(t_occupied, t_available),
        },
        "properties": list,
    })
}

// ---------------------------------------------------------------------------
// Financial.

fn money_line(billed: i64, collected: i64) -> Value {
    json!({
        "billed": billed,
        "collected": collected,
        "outstanding": billed - collected,
        "collection_pct": pct(collected, billed),
    })
}

fn billed_between(rows: &Rows, from: NaiveDate, to: NaiveDate, property: Option<i64>) -> i64 {
    let mut sum = 0;
    for c in &rows.charges {
        if charge_counts(c)
            && from <= c.due_date
            && c.due_date <= to
            && in_scope(Some(c.property_id), property)
        {
            sum += c.amount;
        }
    }
    sum
}

/// Σ confirmed payments paid between `from` and `to`, allocated or not.
fn collected_between(rows: &Rows, from: NaiveDate, to: NaiveDate, property: Option<i64>) -> i64 {
    let mut sum = 0;
    for p in &rows.payments {
        if payment_counts(p)
            && from <= p.paid_on
            && p.paid_on <= to
            && in_scope(p.property_id, property)
        {
            sum += p.amount;
        }
    }
    sum
}

/// The `by_month` series: one entry per calendar month the range touches.
fn by_month(rows: &Rows, from: NaiveDate, to: NaiveDate, property: Option<i64>) -> Vec<Value> {
    let mut out = Vec::new();
    let mut month_start = first_of_month(from);
    while month_start <= to {
        let month_end = last_of_month(month_start);
        // Clip the month to the range.
        let lo = month_start.max(from);
        let hi = month_end.min(to);
        let billed = billed_between(rows, lo, hi, property);
        let collected = collected_between(rows, lo, hi, property);
        let mut entry = money_line(billed, collected);
        entry["month"] = json!(month_of(month_start));
        out.push(entry);
        month_start = next_month_first(month_start);
    }
    out
}

pub fn financial(rows: &Rows, from: NaiveDate, to: NaiveDate, property: Option<i64>) -> Value {
    let billed = billed_between(rows, from, to, property);
    let collected = collected_between(rows, from, to, property);

    // by_property: unallocated (null) first, then properties by id; only keys
    // with any billed or collected amount.
    let mut keys: Vec<Option<i64>> = vec![None];
    for p in &rows.properties {
        keys.push(Some(p.id));
    }
    let mut by_property = Vec::new();
    for key in keys {
        let mut has_activity = false;
        let mut b = 0;
        for c in &rows.charges {
            if charge_counts(c)
                && from <= c.due_date
                && c.due_date <= to
                && in_scope(Some(c.property_id), property)
                && Some(c.property_id) == key
            {
                b += c.amount;
                has_activity = true;
            }
        }
        let mut k = 0;
        for p in &rows.payments {
            if payment_counts(p)
                && from <= p.paid_on
                && p.paid_on <= to
                && in_scope(p.property_id, property)
                && p.property_id == key
            {
                k += p.amount;
                has_activity = true;
            }
        }
        if has_activity {
            let mut line = money_line(b, k);
            line["property_id"] = json!(key);
            by_property.push(line);
        }
    }

    let mut by_method = Vec::new();
    let mut methods: Vec<String> = Vec::new();
    for p in &rows.payments {
        if !methods.contains(&p.method) {
            methods.push(p.method.clone());
        }
    }
    methods.sort();
    for method in methods {
        let mut sum = 0;
        let mut any = false;
        for p in &rows.payments {
            if p.method == method
                && payment_counts(p)
                && from <= p.paid_on
                && p.paid_on <= to
                && in_scope(p.property_id, property)
            {
                sum += p.amount;
                any = true;
            }
        }
        if any {
            by_method.push(json!({ "method": method, "collected": sum }));
        }
    }

    json!({
        "from": from.to_string(),
        "to": to.to_string(),
        "property_id": property,
        "total": money_line(billed, collected),
        "by_property": by_property,
        "by_month": by_month(rows, from, to, property),
        "by_method": by_method,
    })
}

// ---------------------------------------------------------------------------
// Payments.

pub fn payments(
    rows: &Rows,
    from: NaiveDate,
    to: NaiveDate,
    status: Option<&str>,
    property: Option<i64>,
) -> Value {
    let selected: Vec<&Payment> = rows
        .payments
        .iter()
        .filter(|p| from <= p.paid_on && p.paid_on <= to)
        .filter(|p| status.is_none_or(|s| p.status == s))
        .filter(|p| in_scope(p.property_id, property))
        .collect();

    let count = selected.len() as i64;
    let amount: i64 = selected.iter().fold(0, |acc, p| acc + p.amount);

    let group = |name_of: &dyn Fn(&Payment) -> String, field: &str| -> Vec<Value> {
        let mut names: Vec<String> = Vec::new();
        for p in &selected {
            let name = name_of(p);
            if !names.contains(&name) {
                names.push(name);
            }
        }
        names.sort();
        let mut out = Vec::new();
        for name in names {
            let mut n = 0i64;
            let mut sum = 0i64;
            for p in &selected {
                if name_of(p) == name {
                    n += 1;
                    sum += p.amount;
                }
            }
            out.push(json!({ field: name, "count": n, "amount": sum }));
        }
        out
    };
    let by_status = group(&|p: &Payment| p.status.clone(), "status");
    let by_method = group(&|p: &Payment| p.method.clone(), "method");

    let mut recent = selected.clone();
    recent.sort_by(|a, b| b.paid_on.cmp(&a.paid_on).then(b.id.cmp(&a.id)));
    recent.truncate(20);
    let recent: Vec<Value> = recent
        .into_iter()
        .map(|p| {
            json!({
                "id": p.id,
                "lease_id": p.lease_id,
                "property_id": p.property_id,
                "amount": p.amount,
                "method": p.method,
                "status": p.status,
                "reference": p.reference,
                "payer": p.payer,
                "paid_on": p.paid_on.to_string(),
            })
        })
        .collect();

    json!({
        "from": from.to_string(),
        "to": to.to_string(),
        "property_id": property,
        "status": status,
        "total": { "count": count, "amount": amount },
        "by_status": by_status,
        "by_method": by_method,
        "recent": recent,
    })
}

// ---------------------------------------------------------------------------
// Arrears.

/// One lease's FIFO allocation as of a date.
#[derive(Debug, Clone)]
pub struct LeaseArrears {
    pub lease: Lease,
    pub unit: String,
    pub tenant: String,
    pub b0_30: i64,
    pub b31_60: i64,
    pub b61_90: i64,
    pub b90_plus: i64,
    pub not_yet_due: i64,
    pub paid: i64,
    pub considered: i64,
    pub oldest_due: Option<NaiveDate>,
}

impl LeaseArrears {
    pub fn balance(&self) -> i64 {
        self.b0_30 + self.b31_60 + self.b61_90 + self.b90_plus
    }

    pub fn days_overdue(&self, as_of: NaiveDate) -> i64 {
        match self.oldest_due {
            Some(due) => (as_of - due).num_days(),
            None => 0,
        }
    }

    pub fn overdue(&self, as_of: NaiveDate) -> bool {
        self.days_overdue(as_of) > self.lease.grace_days
    }
}

fn lease_arrears(rows: &Rows, lease: &Lease, as_of: NaiveDate) -> LeaseArrears {
    let as_of_period = month_of(as_of);
    let mut considered: Vec<&Charge> = rows
        .charges
        .iter()
        .filter(|c| c.lease_id == lease.id)
        .filter(|c| charge_counts(c))
        .filter(|c| c.due_date <= as_of || c.period <= as_of_period)
        .collect();
    considered.sort_by(|a, b| a.due_date.cmp(&b.due_date).then(a.id.cmp(&b.id)));

    let mut paid = 0;
    for p in &rows.payments {
        if p.lease_id == Some(lease.id) && payment_counts(p) && p.paid_on <= as_of {
            paid += p.amount;
        }
    }

    let unit = rows
        .units
        .iter()
        .find(|u| u.id == lease.unit_id)
        .map(|u| u.label.clone())
        .expect("the lease's unit");
    let tenant = rows
        .tenants
        .iter()
        .find(|t| t.id == lease.tenant_id)
        .map(|t| t.name.clone())
        .expect("the lease's tenant");

    let mut out = LeaseArrears {
        lease: lease.clone(),
        unit,
        tenant,
        b0_30: 0,
        b31_60: 0,
        b61_90: 0,
        b90_plus: 0,
        not_yet_due: 0,
        paid,
        considered: 0,
        oldest_due: None,
    };

    // FIFO: the paid amount settles the charges in (due_date, id) order.
    let mut left_to_allocate = paid;
    for c in considered {
        out.considered += c.amount;
        let settled = left_to_allocate.min(c.amount);
        left_to_allocate -= settled;
        let open = c.amount - settled;
        if open == 0 {
            continue;
        }
        if c.due_date > as_of {
            out.not_yet_due += open;
            continue;
        }
        let d = (as_of - c.due_date).num_days();
        if d <= 30 {
            out.b0_30 += open;
        } else if d <= 60 {
            out.b31_60 += open;
        } else if d <= 90 {
            out.b61_90 += open;
        } else {
            out.b90_plus += open;
        }
        if out.oldest_due.is_none_or(|oldest| c.due_date < oldest) {
            out.oldest_due = Some(c.due_date);
        }
    }
    out
}

/// Every lease in scope, allocated; `listed` are those with a positive
/// balance in report order.
pub fn arrears_of(
    rows: &Rows,
    as_of: NaiveDate,
    property: Option<i64>,
) -> (Vec<LeaseArrears>, Vec<LeaseArrears>) {
    let all: Vec<LeaseArrears> = rows
        .leases
        .iter()
        .filter(|l| in_scope(Some(l.property_id), property))
        .map(|l| lease_arrears(rows, l, as_of))
        .collect();
    let mut listed: Vec<LeaseArrears> = all.iter().filter(|a| a.balance() > 0).cloned().collect();
    listed.sort_by(|a, b| {
        b.balance()
            .cmp(&a.balance())
            .then(a.lease.id.cmp(&b.lease.id))
    });
    (all, listed)
}

fn buckets(b0: i64, b31: i64, b61: i64, b90: i64) -> Value {
    json!({ "0_30": b0, "31_60": b31, "61_90": b61, "90_plus": b90 })
}

pub fn arrears_summary(rows: &Rows, as_of: NaiveDate, property: Option<i64>) -> Value {
    let (all, listed) = arrears_of(rows, as_of, property);
    let mut total = 0;
    let (mut b0, mut b31, mut b61, mut b90) = (0, 0, 0, 0);
    for a in &listed {
        total += a.balance();
        b0 += a.b0_30;
        b31 += a.b31_60;
        b61 += a.b61_90;
        b90 += a.b90_plus;
    }
    let mut not_yet_due = 0;
    let mut prepayments = 0;
    for a in &all {
        not_yet_due += a.not_yet_due;
        if a.paid - a.considered > 0 {
            prepayments += a.paid - a.considered;
        }
    }
    let mut unallocated = 0;
    if property.is_none() {
        for p in &rows.payments {
            if p.lease_id.is_none() && payment_counts(p) && p.paid_on <= as_of {
                unallocated += p.amount;
            }
        }
    }
    json!({
        "total_arrears": total,
        "leases_in_arrears": listed.len(),
        "buckets": buckets(b0, b31, b61, b90),
        "not_yet_due": not_yet_due,
        "prepayments": prepayments,
        "unallocated": unallocated,
    })
}

pub fn arrears(rows: &Rows, as_of: NaiveDate, property: Option<i64>) -> Value {
    let (_, listed) = arrears_of(rows, as_of, property);
    let leases: Vec<Value> = listed
        .iter()
        .map(|a| {
            json!({
                "lease_id": a.lease.id,
                "property_id": a.lease.property_id,
                "unit": a.unit,
                "tenant": a.tenant,
                "balance": a.balance(),
                "buckets": buckets(a.b0_30, a.b31_60, a.b61_90, a.b90_plus),
                "not_yet_due": a.not_yet_due,
                "oldest_due": a.oldest_due.map(|d| d.to_string()),
                "days_overdue": a.days_overdue(as_of),
                "overdue": a.overdue(as_of),
            })
        })
        .collect();
    json!({
        "as_of": as_of.to_string(),
        "property_id": property,
        "summary": arrears_summary(rows, as_of, property),
        "leases": leases,
    })
}

// ---------------------------------------------------------------------------
// Payment metrics and dashboard.

pub fn metrics(rows: &Rows, today: NaiveDate, property: Option<i64>) -> Value {
    let from = months_back(today, 11);
    let to = last_of_month(today);
    let monthly = by_month(rows, from, to, property);
    assert_eq!(monthly.len(), 12);
    let this = &monthly[11];
    let last = &monthly[10];
    let billed_this = this["billed"].as_i64().expect("billed");
    let collected_this = this["collected"].as_i64().expect("collected");
    let collected_last = last["collected"].as_i64().expect("collected");

    let mut pending_count = 0i64;
    let mut pending_amount = 0i64;
    for p in &rows.payments {
        if p.status == "pending" && in_scope(p.property_id, property) {
            pending_count += 1;
            pending_amount += p.amount;
        }
    }

    let (_, listed) = arrears_of(rows, today, property);
    let overdue = listed.iter().filter(|a| a.overdue(today)).count();
    let top_debtors: Vec<Value> = listed
        .iter()
        .take(5)
        .map(|a| {
            json!({
                "lease_id": a.lease.id,
                "tenant": a.tenant,
                "unit": a.unit,
                "balance": a.balance(),
                "days_overdue": a.days_overdue(today),
            })
        })
        .collect();

    json!({
        "as_of": today.to_string(),
        "month": month_of(today),
        "collected_this_month": collected_this,
        "collected_last_month": collected_last,
        "collected_change_pct": pct(collected_this - collected_last, collected_last),
        "billed_this_month": billed_this,
        "collection_pct": pct(collected_this, billed_this),
        "pending": { "count": pending_count, "amount": pending_amount },
        "overdue_leases": overdue,
        "monthly": monthly,
        "top_debtors": top_debtors,
    })
}

pub fn dashboard(rows: &Rows, today: NaiveDate, property: Option<i64>) -> Value {
    let properties = properties_in_scope(rows, property);
    let mut units = 0i64;
    for u in &rows.units {
        if in_scope(Some(u.property_id), property) {
            units += 1;
        }
    }
    let mut active_leases = 0i64;
    let mut tenants: Vec<i64> = Vec::new();
    for l in &rows.leases {
        if in_scope(Some(l.property_id), property) && lease_active_on(l, today) {
            active_leases += 1;
            if !tenants.contains(&l.tenant_id) {
                tenants.push(l.tenant_id);
            }
        }
    }
    json!({
        "landlord_id": rows.landlord_id,
        "property_id": property,
        "as_of": today.to_string(),
        "counts": {
            "properties": properties.len(),
            "units": units,
            "active_leases": active_leases,
            "active_tenants": tenants.len(),
        },
        "metrics": metrics(rows, today, property),
        "occupancy": occupancy(rows, today, property),
        "financial": financial(rows, first_of_month(today), last_of_month(today), property),
        "arrears": arrears_summary(rows, today, property),
    })
}

// ---------------------------------------------------------------------------
// Comparison.

/// The first place where two JSON values differ, as a path and both sides.
pub fn first_difference(path: &str, api: &Value, oracle: &Value) -> Option<String> {
    match (api, oracle) {
        (Value::Object(a), Value::Object(o)) => {
            let mut keys: Vec<&String> = a.keys().chain(o.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                let sub = format!("{path}.{key}");
                match (a.get(key), o.get(key)) {
                    (Some(x), Some(y)) => {
                        if let Some(diff) = first_difference(&sub, x, y) {
                            return Some(diff);
                        }
                    }
                    (x, y) => {
                        return Some(format!("{sub}: api {x:?}, oracle {y:?}"));
                    }
                }
            }
            None
        }
        (Value::Array(a), Value::Array(o)) => {
            for (i, (x, y)) in a.iter().zip(o.iter()).enumerate() {
                if let Some(diff) = first_difference(&format!("{path}[{i}]"), x, y) {
                    return Some(diff);
                }
            }
            (a.len() != o.len()).then(|| {
                format!(
                    "{path}: api has {} items, oracle {} items",
                    a.len(),
                    o.len()
                )
            })
        }
        (a, o) if a == o => None,
        (a, o) => Some(format!("{path}: api {a}, oracle {o}")),
    }
}

/// Panics, naming the first differing field, unless the API's report equals
/// the oracle's.
#[track_caller]
pub fn assert_same(what: &str, api: &Value, oracle: &Value) {
    if let Some(diff) = first_difference("", api, oracle) {
        panic!(
            "{what}: API and oracle disagree at {diff}\n--- api:\n{api:#}\n--- oracle:\n{oracle:#}"
        );
    }
}
