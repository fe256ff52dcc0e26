//! The report queries: SQL aggregates over the `landlord_id` indexes, returning
//! small grouped row sets. No rows are loaded just to be summed in Rust.
//!
//! PostgreSQL's `SUM(bigint)` is `numeric`, hence the `CAST(… AS BIGINT)` that
//! both engines accept.

use chrono::{Days, NaiveDate};

use crate::db::{Reader, dialect, dispatch};
use crate::types::{Id, Money, PaymentMethod, PaymentStatus, Period};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OccupancyRow {
    pub property_id: Id,
    pub name: String,
    pub total_units: i64,
    pub available: i64,
    pub occupied: i64,
}

/// Billed (charges) or collected (payments) per property and month.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MonthlyAmount {
    /// `None` for payments not allocated to a lease.
    pub property_id: Option<Id>,
    pub month: String,
    pub amount: Money,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CollectedByMethod {
    pub method: PaymentMethod,
    pub amount: Money,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PaymentGroup {
    pub status: PaymentStatus,
    pub method: PaymentMethod,
    pub count: i64,
    pub amount: Money,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RecentPayment {
    pub id: Id,
    pub lease_id: Option<Id>,
    pub property_id: Option<Id>,
    pub amount: Money,
    pub method: PaymentMethod,
    pub status: PaymentStatus,
    pub reference: Option<String>,
    pub payer: Option<String>,
    pub paid_on: NaiveDate,
}

/// One lease's open charges after FIFO allocation of its confirmed payments,
/// split by age. (Also read from a JSON array of the fields in this order.)
#[derive(Debug, Clone, sqlx::FromRow, serde::Deserialize)]
pub struct ArrearsRow {
    pub lease_id: Id,
    pub property_id: Id,
    pub unit_label: String,
    pub tenant_name: String,
    pub grace_days: i32,
    pub not_yet_due: Money,
    pub days_0_30: Money,
    pub days_31_60: Money,
    pub days_61_90: Money,
    pub days_90_plus: Money,
    /// The oldest open charge that is due (`None` when only not-yet-due remains).
    pub oldest_due: Option<NaiveDate>,
}

#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub struct PendingTotals {
    pub count: i64,
    pub amount: Money,
}

#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub struct Counts {
    pub properties: i64,
    pub units: i64,
    pub active_tenants: i64,
    pub active_leases: i64,
}

/// Units per property: available (not off-market) and occupied (an active
/// lease covering `today`).
pub async fn occupancy(
    db: &Reader,
    landlord: Id,
    property: Option<Id>,
    today: NaiveDate,
) -> sqlx::Result<Vec<OccupancyRow>> {
    dispatch!(db.pool(), p => sqlx::query_as(
        "SELECT p.id AS property_id, p.name, COUNT(u.id) AS total_units, \
                COALESCE(SUM(CASE WHEN NOT u.off_market THEN 1 ELSE 0 END), 0) AS available, \
                COALESCE(SUM(CASE WHEN NOT u.off_market AND EXISTS ( \
                    SELECT 1 FROM leases l WHERE l.unit_id = u.id AND l.status = 'active' \
                      AND l.start_date <= $2 AND (l.end_date IS NULL OR l.end_date >= $2) \
                ) THEN 1 ELSE 0 END), 0) AS occupied \
         FROM properties p LEFT JOIN units u ON u.property_id = p.id AND u.landlord_id = $1 \
         WHERE p.landlord_id = $1 AND ($3 IS NULL OR p.id = $3) \
         GROUP BY p.id, p.name ORDER BY p.id",
    )
    .bind(landlord)
    .bind(today)
    .bind(property)
    .fetch_all(p)
    .await)
}

/// Non-void charges due in `[from, to]`, per property and month of due date.
pub async fn billed_by_property_month(
    db: &Reader,
    landlord: Id,
    property: Option<Id>,
    from: NaiveDate,
    to: NaiveDate,
) -> sqlx::Result<Vec<MonthlyAmount>> {
    let month = dialect::month_of(db.pool().is_postgres(), "due_date");
    let sql = format!(
        "SELECT property_id, {month} AS month, CAST(SUM(amount) AS BIGINT) AS amount FROM charges \
         WHERE landlord_id = $1 AND due_date >= $2 AND due_date <= $3 AND NOT void \
           AND ($4 IS NULL OR property_id = $4) \
         GROUP BY property_id, {month}"
    );
    dispatch!(db.pool(), p => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(landlord)
        .bind(from)
        .bind(to)
        .bind(property)
        .fetch_all(p)
        .await)
}

/// Confirmed payments paid in `[from, to]`, per property and month.
pub async fn collected_by_property_month(
    db: &Reader,
    landlord: Id,
    property: Option<Id>,
    from: NaiveDate,
    to: NaiveDate,
) -> sqlx::Result<Vec<MonthlyAmount>> {
    let month = dialect::month_of(db.pool().is_postgres(), "paid_on");
    let sql = format!(
        "SELECT property_id, {month} AS month, CAST(SUM(amount) AS BIGINT) AS amount FROM payments \
         WHERE landlord_id = $1 AND paid_on >= $2 AND paid_on <= $3 AND status = 'confirmed' \
           AND ($4 IS NULL OR property_id = $4) \
         GROUP BY property_id, {month}"
    );
    dispatch!(db.pool(), p => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(landlord)
        .bind(from)
        .bind(to)
        .bind(property)
        .fetch_all(p)
        .await)
}

/// Confirmed payments paid in `[from, to]`, per method.
pub async fn collected_by_method(
    db: &Reader,
    landlord: Id,
    property: Option<Id>,
    from: NaiveDate,
    to: NaiveDate,
) -> sqlx::Result<Vec<CollectedByMethod>> {
    dispatch!(db.pool(), p => sqlx::query_as(
        "SELECT method, CAST(SUM(amount) AS BIGINT) AS amount FROM payments \
         WHERE landlord_id = $1 AND paid_on >= $2 AND paid_on <= $3 AND status = 'confirmed' \
           AND ($4 IS NULL OR property_id = $4) \
         GROUP BY method ORDER BY method",
    )
    .bind(landlord)
    .bind(from)
    .bind(to)
    .bind(property)
    .fetch_all(p)
    .await)
}

/// Payments paid in `[from, to]` (optionally of one status), counted and summed
/// per status and method.
pub async fn payment_groups(
    db: &Reader,
    landlord: Id,
    property: Option<Id>,
    status: Option<PaymentStatus>,
    from: NaiveDate,
    to: NaiveDate,
) -> sqlx::Result<Vec<PaymentGroup>> {
    dispatch!(db.pool(), p => sqlx::query_as(
        "SELECT status, method, COUNT(*) AS count, CAST(SUM(amount) AS BIGINT) AS amount \
         FROM payments \
         WHERE landlord_id = $1 AND paid_on >= $2 AND paid_on <= $3 AND status <> 'held' \
           AND ($4 IS NULL OR property_id = $4) AND ($5 IS NULL OR status = $5) \
         GROUP BY status, method ORDER BY status, method",
    )
    .bind(landlord)
    .bind(from)
    .bind(to)
    .bind(property)
    .bind(status)
    .fetch_all(p)
    .await)
}

/// The latest payments in `[from, to]`, newest first: a backward range of
/// `payments_landlord_recent`. The optional filters are left out of the SQL
/// rather than written `($n IS NULL OR …)`: PostgreSQL's generic plan for
/// those estimated one row after them, and so preferred sorting every
/// payment of the range (thousands on a busy 1st) to reading the newest 20.
pub async fn recent_payments(
    db: &Reader,
    landlord: Id,
    property: Option<Id>,
    status: Option<PaymentStatus>,
    from: NaiveDate,
    to: NaiveDate,
    limit: i64,
) -> sqlx::Result<Vec<RecentPayment>> {
    let mut sql = String::from(
        "SELECT id, lease_id, property_id, amount, method, status, reference, payer, paid_on \
         FROM payments \
         WHERE landlord_id = $1 AND paid_on >= $2 AND paid_on <= $3 AND status <> 'held'",
    );
    let mut next = 5;
    if property.is_some() {
        sql.push_str(&format!(" AND property_id = ${next}"));
        next += 1;
    }
    if status.is_some() {
        sql.push_str(&format!(" AND status = ${next}"));
    }
    sql.push_str(" ORDER BY paid_on DESC, id DESC LIMIT $4");
    dispatch!(db.pool(), p => {
        let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(landlord)
            .bind(from)
            .bind(to)
            .bind(limit);
        if let Some(property) = property {
            query = query.bind(property);
        }
        if let Some(status) = status {
            query = query.bind(status);
        }
        query.fetch_all(p).await
    })
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

    /// `as_of` − 30, − 60 and − 90 days: where the 31–60, 61–90 and 90+
    /// buckets begin (older than).
    pub fn limits(&self) -> [NaiveDate; 3] {
        self.limits
    }

    /// The bucket of a charge due on `due`; `None` when not yet due.
    pub fn bucket(&self, due: NaiveDate) -> Option<usize> {
        if due > self.as_of {
            return None;
        }
        Some(self.limits.iter().take_while(|limit| due < **limit).count())
    }
}

/// A lease's total of considered charges or of confirmed payments.
#[derive(Debug, Clone, Copy, sqlx::FromRow)]
pub struct LeaseTotal {
    pub lease_id: Id,
    pub amount: Money,
}

/// Leases whose open balance is looked at in detail, at most this many per
/// statement (two bound parameters each).
pub const DEBTOR_BATCH: usize = 500;

/// Per lease, the non-void charges considered as of `as_of`: those due by
/// then, and those of `as_of`'s billing period or earlier that fall due later.
/// A streaming aggregate over `charges_landlord_lease`, no sort.
pub async fn owed_per_lease(
    db: &Reader,
    landlord: Id,
    property: Option<Id>,
    as_of: NaiveDate,
) -> sqlx::Result<Vec<LeaseTotal>> {
    dispatch!(db.pool(), p => sqlx::query_as(
        "SELECT lease_id, CAST(SUM(amount) AS BIGINT) AS amount FROM charges \
         WHERE landlord_id = $1 AND NOT void AND (due_date <= $2 OR period <= $3) \
           AND ($4 IS NULL OR property_id = $4) \
         GROUP BY lease_id ORDER BY lease_id",
    )
    .bind(landlord)
    .bind(as_of)
    .bind(Period::containing(as_of))
    .bind(property)
    .fetch_all(p)
    .await)
}

/// Per lease, the confirmed payments paid by `as_of`.
pub async fn paid_per_lease(
    db: &Reader,
    landlord: Id,
    property: Option<Id>,
    as_of: NaiveDate,
) -> sqlx::Result<Vec<LeaseTotal>> {
    dispatch!(db.pool(), p => sqlx::query_as(
        "SELECT lease_id, CAST(SUM(amount) AS BIGINT) AS amount FROM payments \
         WHERE landlord_id = $1 AND lease_id IS NOT NULL AND status = 'confirmed' \
           AND paid_on <= $2 AND ($3 IS NULL OR property_id = $3) \
         GROUP BY lease_id ORDER BY lease_id",
    )
    .bind(landlord)
    .bind(as_of)
    .bind(property)
    .fetch_all(p)
    .await)
}

/// Confirmed payments of the landlord matched to no lease, paid by `as_of`.
pub async fn unallocated(db: &Reader, landlord: Id, as_of: NaiveDate) -> sqlx::Result<Money> {
    dispatch!(db.pool(), p => sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM payments \
         WHERE landlord_id = $1 AND lease_id IS NULL AND status = 'confirmed' AND paid_on <= $2",
    )
    .bind(landlord)
    .bind(as_of)
    .fetch_one(p)
    .await)
}

/// The open charges of leases that owe `amount`, aged as of `as_of` (at most
/// [`DEBTOR_BATCH`] leases per call). Under FIFO the payments settled the
/// oldest charges, so what stays open is the *newest* charges: a running sum
/// from the newest charge backwards says how much of each is still unpaid.
pub async fn open_charges(
    db: &Reader,
    landlord: Id,
    as_of: NaiveDate,
    debtors: &[LeaseTotal],
) -> sqlx::Result<Vec<ArrearsRow>> {
    if debtors.is_empty() {
        return Ok(Vec::new());
    }
    let [limit_30, limit_60, limit_90] = AgeLimits::new(as_of).limits();
    // A VALUES list takes its column types from its first row: the casts
    // there make PostgreSQL see bigints.
    let debt_rows = (0..debtors.len())
        .map(|i| match i {
            0 => "(CAST($7 AS BIGINT), CAST($8 AS BIGINT))".to_owned(),
            _ => format!("(${}, ${})", 7 + 2 * i, 8 + 2 * i),
        })
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "WITH debt (lease_id, unpaid) AS (VALUES {debt_rows}), \
         newest AS ( \
             SELECT c.lease_id, c.due_date, c.amount, d.unpaid, \
                    SUM(c.amount) OVER (PARTITION BY c.lease_id ORDER BY c.due_date DESC, c.id DESC \
                                        ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS newer \
             FROM debt d JOIN charges c ON c.lease_id = d.lease_id \
             WHERE c.landlord_id = $1 AND NOT c.void AND (c.due_date <= $2 OR c.period <= $3)), \
         open AS ( \
             SELECT lease_id, due_date, \
                    CASE WHEN newer <= unpaid THEN amount ELSE unpaid - (newer - amount) END AS amount \
             FROM newest WHERE newer - amount < unpaid) \
         SELECT l.id AS lease_id, l.property_id, u.label AS unit_label, t.name AS tenant_name, \
                l.grace_days, \
                CAST(SUM(CASE WHEN o.due_date > $2 THEN o.amount ELSE 0 END) AS BIGINT) AS not_yet_due, \
                CAST(SUM(CASE WHEN o.due_date <= $2 AND o.due_date >= $4 THEN o.amount ELSE 0 END) AS BIGINT) AS days_0_30, \
                CAST(SUM(CASE WHEN o.due_date < $4 AND o.due_date >= $5 THEN o.amount ELSE 0 END) AS BIGINT) AS days_31_60, \
                CAST(SUM(CASE WHEN o.due_date < $5 AND o.due_date >= $6 THEN o.amount ELSE 0 END) AS BIGINT) AS days_61_90, \
                CAST(SUM(CASE WHEN o.due_date < $6 THEN o.amount ELSE 0 END) AS BIGINT) AS days_90_plus, \
                MIN(CASE WHEN o.due_date <= $2 THEN o.due_date END) AS oldest_due \
         FROM open o \
         JOIN leases l ON l.id = o.lease_id \
         JOIN units u ON u.id = l.unit_id \
         JOIN tenants t ON t.id = l.tenant_id \
         GROUP BY l.id, l.property_id, u.label, t.name, l.grace_days \
         ORDER BY l.id"
    );
    dispatch!(db.pool(), p => {
        let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(landlord)
            .bind(as_of)
            .bind(Period::containing(as_of))
            .bind(limit_30)
            .bind(limit_60)
            .bind(limit_90);
        for debtor in debtors {
            query = query.bind(debtor.lease_id).bind(debtor.amount);
        }
        query.fetch_all(p).await
    })
}

/// Payments awaiting confirmation, whatever their date.
pub async fn pending(
    db: &Reader,
    landlord: Id,
    property: Option<Id>,
) -> sqlx::Result<PendingTotals> {
    dispatch!(db.pool(), p => sqlx::query_as(
        "SELECT COUNT(*) AS count, CAST(COALESCE(SUM(amount), 0) AS BIGINT) AS amount FROM payments \
         WHERE landlord_id = $1 AND status = 'pending' AND ($2 IS NULL OR property_id = $2)",
    )
    .bind(landlord)
    .bind(property)
    .fetch_one(p)
    .await)
}

/// Headline counts for the dashboard; leases count as active on `today`.
pub async fn counts(
    db: &Reader,
    landlord: Id,
    property: Option<Id>,
    today: NaiveDate,
) -> sqlx::Result<Counts> {
    dispatch!(db.pool(), p => sqlx::query_as(
        "SELECT \
           (SELECT COUNT(*) FROM properties WHERE landlord_id = $1 AND ($2 IS NULL OR id = $2)) AS properties, \
           (SELECT COUNT(*) FROM units WHERE landlord_id = $1 AND ($2 IS NULL OR property_id = $2)) AS units, \
           (SELECT COUNT(DISTINCT l.tenant_id) FROM leases l \
              WHERE l.landlord_id = $1 AND l.status = 'active' AND l.start_date <= $3 \
                AND (l.end_date IS NULL OR l.end_date >= $3) \
                AND ($2 IS NULL OR l.property_id = $2)) AS active_tenants, \
           (SELECT COUNT(*) FROM leases l \
              WHERE l.landlord_id = $1 AND l.status = 'active' AND l.start_date <= $3 \
                AND (l.end_date IS NULL OR l.end_date >= $3) \
                AND ($2 IS NULL OR l.property_id = $2)) AS active_leases",
    )
    .bind(landlord)
    .bind(property)
    .bind(today)
    .fetch_one(p)
    .await)
}

/// The landlords with the most payments paid since `since`, busiest first:
/// whose dashboards are worth warming.
pub async fn most_active_landlords(
    db: &Reader,
    since: NaiveDate,
    limit: i64,
) -> sqlx::Result<Vec<Id>> {
    dispatch!(db.pool(), p => sqlx::query_scalar(
        "SELECT landlord_id FROM payments WHERE landlord_id IS NOT NULL AND paid_on >= $1 \
         GROUP BY landlord_id ORDER BY COUNT(*) DESC, landlord_id LIMIT $2",
    )
    .bind(since)
    .bind(limit)
    .fetch_all(p)
    .await)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        text.parse().expect("date")
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
