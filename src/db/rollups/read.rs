//! The reports' reads of the roll-ups, and the few history reads that turn
//! them into figures as of a date: what was charged or paid after it, and the
//! newest charges of the leases that owe.
//!
//! Each reads rows proportional to months or to open charges, never to a
//! landlord's whole history; the indexes they seek by are in migration 0006.

use chrono::NaiveDate;

use crate::db::{
    Pool, Reader, dialect, dispatch,
    reports::{AgeLimits, CollectedByMethod, PaymentGroup, PendingTotals},
};
use crate::types::{Id, Money, PaymentStatus, Period};

/// A total over a range of months, either of one property (`month` is
/// `None`) or of one month (`by_month`; `property_id` is `None`).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Slice {
    pub by_month: bool,
    /// `None` by property: payments allocated to no lease.
    pub property_id: Option<Id>,
    pub month: Option<String>,
    pub amount: Money,
}

/// Non-void charges due in the months `first..=last`, by property and by
/// month (two small groupings, not their product).
pub async fn billed(
    db: &Reader,
    landlord: Id,
    property: Option<Id>,
    (first, last): (Period, Period),
) -> sqlx::Result<Vec<Slice>> {
    let rows = "FROM rollup_charge_months \
                WHERE landlord_id = $1 AND month >= $2 AND month <= $3 \
                  AND ($4 IS NULL OR property_id = $4)";
    slices(db, landlord, property, (first, last), "property_id", rows).await
}

/// Confirmed payments paid in the months `first..=last`, by property and by
/// month.
pub async fn collected(
    db: &Reader,
    landlord: Id,
    property: Option<Id>,
    (first, last): (Period, Period),
) -> sqlx::Result<Vec<Slice>> {
    let rows = "FROM rollup_payment_months \
                WHERE landlord_id = $1 AND status = 'confirmed' AND month >= $2 AND month <= $3 \
                  AND ($4 IS NULL OR property_id = $4)";
    slices(
        db,
        landlord,
        property,
        (first, last),
        "NULLIF(property_id, 0)",
        rows,
    )
    .await
}

async fn slices(
    db: &Reader,
    landlord: Id,
    property: Option<Id>,
    (first, last): (Period, Period),
    property_column: &str,
    rows: &str,
) -> sqlx::Result<Vec<Slice>> {
    let sql = format!(
        "SELECT FALSE AS by_month, {property_column} AS property_id, CAST(NULL AS TEXT) AS month, \
                CAST(SUM(amount) AS BIGINT) AS amount {rows} GROUP BY {property_column} \
         UNION ALL \
         SELECT TRUE, NULL, month, CAST(SUM(amount) AS BIGINT) {rows} GROUP BY month"
    );
    dispatch!(db.pool(), p => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(landlord)
        .bind(first)
        .bind(last)
        .bind(property)
        .fetch_all(p)
        .await)
}

/// One row of [`dashboard_money`] (read from a JSON array, fields in order).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct MoneyRow {
    /// 0: billed (non-void charges by due month); 1: collected (confirmed
    /// payments by payment date); 2: collected in the last month, per method;
    /// 3: pending, whatever the date (`count` and `amount`).
    pub side: i32,
    /// 1: a month's total (`key` is the month); 0: the last month's per
    /// property (or, side 2, per method: `key` is the method).
    pub by_month: i32,
    /// `None` by property: payments allocated to no lease.
    pub property_id: Option<Id>,
    pub key: Option<String>,
    pub amount: Money,
    pub count: Option<i64>,
}

/// What the dashboard shows of money, in one read: billed and collected per
/// month over `first..=last`, in `last` per property and per method, and
/// the payments pending — the 12-month series, this month's financial report
/// and the metrics' pending total, which would otherwise take six statements. For all of a landlord's properties the
/// months and methods come from the landlord's roll-ups (a row per month,
/// not per property and method).
pub async fn dashboard_money(
    db: &Reader,
    landlord: Id,
    property: Option<Id>,
    (first, last): (Period, Period),
) -> sqlx::Result<Vec<MoneyRow>> {
    let this_month_by_property = "SELECT 0, 0, property_id, CAST(NULL AS TEXT), CAST(SUM(amount) AS BIGINT), NULL \
         FROM rollup_charge_months WHERE landlord_id = $1 AND month = $3 {property} \
         GROUP BY property_id \
         UNION ALL \
         SELECT 1, 0, NULLIF(property_id, 0), CAST(NULL AS TEXT), CAST(SUM(amount) AS BIGINT), \
                NULL \
         FROM rollup_payment_months WHERE landlord_id = $1 AND status = 'confirmed' \
           AND month = $3 {property} GROUP BY property_id";
    let rows = match property {
        None => format!(
            "SELECT 0 AS side, 1 AS by_month, CAST(NULL AS BIGINT) AS property_id, month AS key, \
                    amount, CAST(NULL AS BIGINT) AS count FROM rollup_landlord_charge_months \
             WHERE landlord_id = $1 AND month >= $2 AND month <= $3 \
             UNION ALL {by_property} \
             UNION ALL \
             SELECT 1, 1, CAST(NULL AS BIGINT), month, CAST(SUM(amount) AS BIGINT), NULL \
             FROM rollup_landlord_payment_months WHERE landlord_id = $1 AND status = 'confirmed' \
               AND month >= $2 AND month <= $3 GROUP BY month \
             UNION ALL \
             SELECT 2, 0, CAST(NULL AS BIGINT), method, amount, NULL \
             FROM rollup_landlord_payment_months WHERE landlord_id = $1 AND status = 'confirmed' \
               AND month = $3 \
             UNION ALL \
             SELECT 3, 0, CAST(NULL AS BIGINT), CAST(NULL AS TEXT), \
                    CAST(COALESCE(SUM(amount), 0) AS BIGINT), CAST(COALESCE(SUM(count), 0) AS BIGINT) \
             FROM rollup_landlord_payment_months WHERE landlord_id = $1 AND status = 'pending'",
            by_property = this_month_by_property.replace("{property}", ""),
        ),
        Some(_) => format!(
            "SELECT 0 AS side, 1 AS by_month, CAST(NULL AS BIGINT) AS property_id, month AS key, \
                    CAST(SUM(amount) AS BIGINT) AS amount, CAST(NULL AS BIGINT) AS count \
             FROM rollup_charge_months \
             WHERE landlord_id = $1 AND month >= $2 AND month <= $3 AND property_id = $4 \
             GROUP BY month \
             UNION ALL {by_property} \
             UNION ALL \
             SELECT 1, 1, CAST(NULL AS BIGINT), month, CAST(SUM(amount) AS BIGINT), NULL \
             FROM rollup_payment_months WHERE landlord_id = $1 AND status = 'confirmed' \
               AND month >= $2 AND month <= $3 AND property_id = $4 GROUP BY month \
             UNION ALL \
             SELECT 2, 0, CAST(NULL AS BIGINT), method, CAST(SUM(amount) AS BIGINT), NULL \
             FROM rollup_payment_months WHERE landlord_id = $1 AND status = 'confirmed' \
               AND month = $3 AND property_id = $4 GROUP BY method \
             UNION ALL \
             SELECT 3, 0, CAST(NULL AS BIGINT), CAST(NULL AS TEXT), \
                    CAST(COALESCE(SUM(amount), 0) AS BIGINT), CAST(COALESCE(SUM(count), 0) AS BIGINT) \
             FROM rollup_payment_months WHERE landlord_id = $1 AND status = 'pending' \
               AND property_id = $4",
            by_property = this_month_by_property.replace("{property}", "AND property_id = $4"),
        ),
    };
    let sql = dialect::json_select(
        db.pool().is_postgres(),
        "side, by_month, property_id, key, amount, count",
        &rows,
    );
    dispatch!(db.pool(), p => {
        let mut query = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(landlord)
            .bind(first)
            .bind(last);
        if let Some(property) = property {
            query = query.bind(property);
        }
        query.fetch_one(p).await
    })
    .and_then(|json: String| dialect::parse_rows(&json))
}

/// Whether anything of the landlord's (one property's) that a month's
/// roll-ups count is dated after `day` in `month`, per table: a non-void
/// charge due, a payment (any status) paid. Two index probes.
#[derive(Debug, Clone, Copy, sqlx::FromRow)]
pub struct DatedAfter {
    pub charges: bool,
    pub payments: bool,
}

pub async fn dated_after(
    db: &Reader,
    landlord: Id,
    property: Option<Id>,
    day: NaiveDate,
    month: Period,
) -> sqlx::Result<DatedAfter> {
    let sql = "SELECT EXISTS (SELECT 1 FROM charges WHERE landlord_id = $1 AND due_date > $2 \
                                AND due_date <= $3 AND NOT void \
                                AND ($4 IS NULL OR property_id = $4)) AS charges, \
                      EXISTS (SELECT 1 FROM payments WHERE landlord_id = $1 AND paid_on > $2 \
                                AND paid_on <= $3 AND ($4 IS NULL OR property_id = $4)) AS payments";
    dispatch!(db.pool(), p => sqlx::query_as(sql)
        .bind(landlord)
        .bind(day)
        .bind(month.last_day())
        .bind(property)
        .fetch_one(p)
        .await)
}

/// Confirmed payments paid in the months `first..=last`, per method.
pub async fn collected_by_method(
    db: &Reader,
    landlord: Id,
    property: Option<Id>,
    (first, last): (Period, Period),
) -> sqlx::Result<Vec<CollectedByMethod>> {
    dispatch!(db.pool(), p => sqlx::query_as(
        "SELECT method, CAST(SUM(amount) AS BIGINT) AS amount FROM rollup_payment_months \
         WHERE landlord_id = $1 AND status = 'confirmed' AND month >= $2 AND month <= $3 \
           AND ($4 IS NULL OR property_id = $4) \
         GROUP BY method",
    )
    .bind(landlord)
    .bind(first)
    .bind(last)
    .bind(property)
    .fetch_all(p)
    .await)
}

/// Payments (optionally of one status) paid in the months `first..=last`,
/// per status and method. Each status is its own index range.
pub async fn payment_groups(
    db: &Reader,
    landlord: Id,
    property: Option<Id>,
    status: Option<PaymentStatus>,
    (first, last): (Period, Period),
) -> sqlx::Result<Vec<PaymentGroup>> {
    dispatch!(db.pool(), p => sqlx::query_as(
        "SELECT status, method, CAST(SUM(count) AS BIGINT) AS count, CAST(SUM(amount) AS BIGINT) AS amount \
         FROM rollup_payment_months \
         WHERE landlord_id = $1 AND status IN ('pending', 'confirmed', 'failed', 'reversed') \
           AND month >= $2 AND month <= $3 \
           AND ($4 IS NULL OR property_id = $4) AND ($5 IS NULL OR status = $5) \
         GROUP BY status, method",
    )
    .bind(landlord)
    .bind(first)
    .bind(last)
    .bind(property)
    .bind(status)
    .fetch_all(p)
    .await)
}

/// Payments awaiting confirmation, whatever their date.
pub async fn pending(
    db: &Reader,
    landlord: Id,
    property: Option<Id>,
) -> sqlx::Result<PendingTotals> {
    dispatch!(db.pool(), p => sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(count), 0) AS BIGINT) AS count, \
                CAST(COALESCE(SUM(amount), 0) AS BIGINT) AS amount \
         FROM rollup_payment_months \
         WHERE landlord_id = $1 AND status = 'pending' AND ($2 IS NULL OR property_id = $2)",
    )
    .bind(landlord)
    .bind(property)
    .fetch_one(p)
    .await)
}

/// A lease's non-void charges and confirmed payments, all time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct LeaseBalance {
    pub lease_id: Id,
    pub charged: Money,
    pub paid: Money,
}

/// The balances of the given leases (of `landlord`), settled or not.
pub async fn balances_of(
    db: &Reader,
    landlord: Id,
    leases: &[Id],
) -> sqlx::Result<Vec<LeaseBalance>> {
    if leases.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT lease_id, charged, paid FROM rollup_leases \
         WHERE landlord_id = $1 AND lease_id IN ({})",
        placeholders(2, leases.len())
    );
    dispatch!(db.pool(), p => {
        let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(landlord);
        for lease in leases {
            query = query.bind(lease);
        }
        query.fetch_all(p).await
    })
}

/// What a payment's patch needs of its lease, in one read: the lease's
/// all-time balance (`None` without roll-up totals), whether it was
/// charged for a later period or paid after `as_of` (what
/// [`as_of_prelude`] lists as "later"), its labels, and its charges as of `as_of`,
/// newest first, as many as FIFO needs to cover the balance plus `extra`
/// (the balance before the payment).
pub async fn lease_for_patch(
    db: &Reader,
    landlord: Id,
    lease: Id,
    as_of: NaiveDate,
    extra: Money,
) -> sqlx::Result<Option<LeaseForPatch>> {
    type Row = (
        Money,
        Money,
        bool,
        Id,
        String,
        String,
        i32,
        Option<Id>,
        Option<NaiveDate>,
        Option<Money>,
    );
    // The charges are read only for a balance before the payment: a lease
    // in credit needs none.
    let sql = format!(
        "SELECT r.charged, r.paid, \
                (EXISTS (SELECT 1 FROM charges WHERE lease_id = $2 AND landlord_id = $1 \
                           AND due_date > $3 AND period > $4 AND NOT void) \
                 OR EXISTS (SELECT 1 FROM payments WHERE lease_id = $2 AND landlord_id = $1 \
                           AND paid_on > $3 AND status = 'confirmed')) AS later, \
                l.property_id, u.label, t.name, l.grace_days, c.id, c.due_date, c.amount \
         FROM rollup_leases r JOIN leases l ON l.id = r.lease_id \
         JOIN units u ON u.id = l.unit_id JOIN tenants t ON t.id = l.tenant_id \
         LEFT JOIN (SELECT id, due_date, amount, \
                           CAST(SUM(amount) OVER (ORDER BY due_date DESC, id DESC \
                                ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS BIGINT) AS newer \
                    FROM charges {covering} WHERE lease_id = $2 AND landlord_id = $1 AND NOT void \
                      AND (due_date <= $3 OR period <= $4) \
                      AND (SELECT charged - paid FROM rollup_leases WHERE lease_id = $2) + $5 > 0) c \
           ON c.newer - c.amount < r.charged - r.paid + $5 \
         WHERE r.landlord_id = $1 AND r.lease_id = $2 \
         ORDER BY c.due_date DESC, c.id DESC",
        covering = dialect::indexed_by(db.pool().is_postgres(), "charges_landlord_lease"),
    );
    let rows: Vec<Row> = dispatch!(db.pool(), p => sqlx::query_as(sqlx::AssertSqlSafe(sql))
    .bind(landlord)
    .bind(lease)
    .bind(as_of)
    .bind(Period::containing(as_of))
    .bind(extra)
    .fetch_all(p)
    .await)?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let (charged, paid, later, property_id, ref unit_label, ref tenant_name, grace_days, ..) =
        *first;
    let label = LeaseLabel {
        lease_id: lease,
        property_id,
        unit_label: unit_label.clone(),
        tenant_name: tenant_name.clone(),
        grace_days,
    };
    let charges = rows
        .iter()
        .filter_map(|row| match (row.7, row.8, row.9) {
            (Some(id), Some(due_date), Some(amount)) => Some(ChargeLine {
                lease_id: lease,
                id,
                due_date,
                amount,
            }),
            _ => None,
        })
        .collect();
    Ok(Some(LeaseForPatch {
        balance: LeaseBalance {
            lease_id: lease,
            charged,
            paid,
        },
        later,
        label,
        charges,
    }))
}

/// [`lease_for_patch`]'s answer.
#[derive(Debug, Clone)]
pub struct LeaseForPatch {
    pub balance: LeaseBalance,
    pub later: bool,
    pub label: LeaseLabel,
    /// Newest first.
    pub charges: Vec<ChargeLine>,
}

/// One row of [`as_of_prelude`] (read from a JSON array, fields in order).
#[derive(Debug, Clone, Copy, serde::Deserialize)]
pub struct PreludeRow {
    /// 0: a lease paid beyond its charges (`a` charged, `b` paid, all
    /// time); 1: a non-void charge not considered as of the date (`a`); 2: a
    /// confirmed payment after the date (`a`; no lease: unallocated); 3: the
    /// landlord's unallocated confirmed payments, all time (`a`; zero for
    /// one property).
    pub kind: i32,
    pub lease_id: Option<Id>,
    pub a: Money,
    pub b: Money,
}

const PRELUDE_COLUMNS: &str = "kind, lease_id, a, b";

/// The prelude's rows ([`as_of_prelude`]); `$1` landlord, `$2` the date,
/// `$3` its period, `$4` the property or null.
const PRELUDE: &str = "SELECT 0 AS kind, lease_id, charged AS a, paid AS b FROM rollup_leases \
         WHERE landlord_id = $1 AND in_credit AND ($4 IS NULL OR property_id = $4) \
         UNION ALL \
         SELECT 1, lease_id, amount, CAST(0 AS BIGINT) FROM charges \
         WHERE landlord_id = $1 AND due_date > $2 AND period > $3 AND NOT void \
           AND ($4 IS NULL OR property_id = $4) \
         UNION ALL \
         SELECT 2, lease_id, amount, CAST(0 AS BIGINT) FROM payments \
         WHERE landlord_id = $1 AND paid_on > $2 AND status = 'confirmed' \
           AND ($4 IS NULL OR property_id = $4) \
         UNION ALL \
         SELECT 3, CAST(NULL AS BIGINT), CAST(COALESCE(SUM(amount), 0) AS BIGINT), CAST(0 AS BIGINT) \
         FROM rollup_payment_months \
         WHERE landlord_id = $1 AND property_id = 0 AND status = 'confirmed' AND $4 IS NULL";

/// What every roll-up read of arrears as of `as_of` starts from, in one
/// statement: the leases in credit (the partial index `rollup_leases_credit`
/// holds exactly those), what was charged — due after `as_of` and billed for
/// a later period — or paid after it (one row each, for today next to none:
/// a grouping would tempt the planner into the lease-ordered index), and the
/// unallocated total.
pub async fn as_of_prelude(
    db: &Reader,
    landlord: Id,
    property: Option<Id>,
    as_of: NaiveDate,
) -> sqlx::Result<Vec<PreludeRow>> {
    let sql = dialect::json_select(db.pool().is_postgres(), PRELUDE_COLUMNS, PRELUDE);
    dispatch!(db.pool(), p => sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(landlord)
        .bind(as_of)
        .bind(Period::containing(as_of))
        .bind(property)
        .fetch_one(p)
        .await)
    .and_then(|json: String| dialect::parse_rows(&json))
}

/// One non-void charge of a lease that owes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct ChargeLine {
    pub lease_id: Id,
    pub id: Id,
    pub due_date: NaiveDate,
    pub amount: Money,
}

/// Which of a lease's charges [`debtor_charges`] reads.
#[derive(Debug, Clone, Copy)]
pub enum Due {
    /// Due on or after the date: the newest, enough for most debtors.
    Since(NaiveDate),
    /// Due before it: the rest, for the few who owe for longer.
    Before(NaiveDate),
}

/// The charges considered as of `as_of` (see `reports::owed_per_lease`) of
/// the given leases, newest first per lease (at most `DEBTOR_BATCH` leases).
pub async fn debtor_charges(
    db: &Reader,
    landlord: Id,
    as_of: NaiveDate,
    due: Due,
    leases: &[Id],
) -> sqlx::Result<Vec<ChargeLine>> {
    if leases.is_empty() {
        return Ok(Vec::new());
    }
    let (bound, op) = match due {
        Due::Since(date) => (date, ">="),
        Due::Before(date) => (date, "<"),
    };
    let sql = format!(
        "SELECT lease_id, id, due_date, amount FROM charges \
         WHERE landlord_id = $1 AND lease_id IN ({}) AND NOT void \
           AND (due_date <= $2 OR period <= $3) AND due_date {op} $4 \
         ORDER BY lease_id, due_date DESC, id DESC",
        placeholders(5, leases.len())
    );
    dispatch!(db.pool(), p => {
        let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(landlord)
            .bind(as_of)
            .bind(Period::containing(as_of))
            .bind(bound);
        for lease in leases {
            query = query.bind(lease);
        }
        query.fetch_all(p).await
    })
}

/// Who and where a lease is, for the arrears list.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LeaseLabel {
    pub lease_id: Id,
    pub property_id: Id,
    pub unit_label: String,
    pub tenant_name: String,
    pub grace_days: i32,
}

/// The labels of the given leases of `landlord` (at most `DEBTOR_BATCH`).
pub async fn lease_labels(
    db: &Reader,
    landlord: Id,
    leases: &[Id],
) -> sqlx::Result<Vec<LeaseLabel>> {
    if leases.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT l.id AS lease_id, l.property_id, u.label AS unit_label, t.name AS tenant_name, \
                l.grace_days \
         FROM leases l JOIN units u ON u.id = l.unit_id JOIN tenants t ON t.id = l.tenant_id \
         WHERE l.landlord_id = $1 AND l.id IN ({})",
        placeholders(2, leases.len())
    );
    dispatch!(db.pool(), p => {
        let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(landlord);
        for lease in leases {
            query = query.bind(lease);
        }
        query.fetch_all(p).await
    })
}

/// Which leases' open charges a read covers.
#[derive(Debug, Clone, Copy)]
pub enum Leases<'a> {
    /// All but these (their open charges differ as of the date).
    Except(&'a [Id]),
    /// Only these.
    Only(&'a [Id]),
}

impl Leases<'_> {
    fn ids(&self) -> &[Id] {
        match self {
            Leases::Except(ids) | Leases::Only(ids) => ids,
        }
    }

    /// The filter, with its ids bound from `$first` on.
    fn filter(&self, first: usize) -> String {
        match self {
            Leases::Except(ids) => excluding(first, ids),
            Leases::Only(ids) => format!(
                "AND lease_id IN ({})",
                placeholders(first, ids.len().max(1))
            ),
        }
    }
}

/// [`OpenLease`]'s columns, in order.
const OPEN_LEASE_COLUMNS: &str =
    "lease_id, property_id, unit_label, tenant_name, grace_days, charges";

/// A lease with open charges, with what the arrears list shows of it (read
/// from a JSON array, fields in order).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct OpenLease {
    pub lease_id: Id,
    pub property_id: Id,
    pub unit_label: String,
    pub tenant_name: String,
    pub grace_days: i32,
    /// Its open charges, newest first, stored as `due_date:amount` pairs
    /// joined by commas (nothing a JSON string escapes, so read in place).
    #[serde(deserialize_with = "charges_from_text")]
    pub charges: Vec<(NaiveDate, Money)>,
}

fn charges_from_text<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<(NaiveDate, Money)>, D::Error> {
    let text = <&'de str as serde::Deserialize>::deserialize(deserializer)?;
    open_charges(text).map_err(serde::de::Error::custom)
}

/// Stored open charges (`due_date:amount` pairs joined by commas).
fn open_charges(text: &str) -> Result<Vec<(NaiveDate, Money)>, String> {
    let charge = |pair: &str| {
        let (due, amount) = pair.split_once(':')?;
        Some((iso_date(due)?, Money(amount.parse().ok()?)))
    };
    text.split(',')
        .map(charge)
        .collect::<Option<_>>()
        .ok_or_else(|| format!("malformed open charges: {text:?}"))
}

/// A `YYYY-MM-DD` date; thousands per arrears list, so not through chrono's
/// general-purpose format parser.
fn iso_date(text: &str) -> Option<NaiveDate> {
    let number = |range| {
        text.get(range)
            .and_then(|part: &str| part.parse::<u32>().ok())
    };
    if text.len() != 10 || text.as_bytes()[4] != b'-' || text.as_bytes()[7] != b'-' {
        return None;
    }
    let year = i32::try_from(number(0..4)?).ok()?;
    NaiveDate::from_ymd_opt(year, number(5..7)?, number(8..10)?)
}

impl OpenLease {
    /// Who and where the lease is.
    pub fn into_label(self) -> LeaseLabel {
        LeaseLabel {
            lease_id: self.lease_id,
            property_id: self.property_id,
            unit_label: self.unit_label,
            tenant_name: self.tenant_name,
            grace_days: self.grace_days,
        }
    }
}

/// The leases with open charges (all time), one row each: an index range of
/// `rollup_open_leases`, nothing grouped or joined.
pub async fn open_leases(
    db: &Reader,
    landlord: Id,
    property: Option<Id>,
    leases: Leases<'_>,
) -> sqlx::Result<Vec<OpenLease>> {
    if let Leases::Only([]) = leases {
        return Ok(Vec::new());
    }
    let filter = leases.filter(3);
    let rows =
        "FROM rollup_open_leases WHERE landlord_id = $1 AND ($2 IS NULL OR property_id = $2)";
    match db.pool() {
        // Every debtor on the 1st (~1,000 leases): one JSON value, not
        // 1,000 rows, from SQLite.
        Pool::Sqlite(p) => {
            let json = dialect::json_rows(false, OPEN_LEASE_COLUMNS);
            let sql = format!("SELECT {json} {rows} {filter}");
            let mut query = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .bind(landlord)
                .bind(property);
            for lease in leases.ids() {
                query = query.bind(lease);
            }
            let json: String = query.fetch_one(p).await?;
            dialect::parse_rows(&json)
        }
        // PostgreSQL builds JSON slowly (`json_agg` of 1,015 rows: ~2.3 ms
        // against 0.6 ms for the rows themselves): rows.
        Pool::Postgres(p) => {
            let sql = format!("SELECT {OPEN_LEASE_COLUMNS} {rows} {filter}");
            let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(landlord)
                .bind(property);
            for lease in leases.ids() {
                query = query.bind(lease);
            }
            let rows: Vec<(Id, Id, String, String, i32, String)> = query.fetch_all(p).await?;
            rows.into_iter()
                .map(
                    |(lease_id, property_id, unit_label, tenant_name, grace_days, charges)| {
                        Ok(OpenLease {
                            lease_id,
                            property_id,
                            unit_label,
                            tenant_name,
                            grace_days,
                            charges: open_charges(&charges)
                                .map_err(|err| sqlx::Error::Decode(err.into()))?,
                        })
                    },
                )
                .collect()
        }
    }
}

/// The open charges of all leases, summed by age as of `as_of`, and the
/// leases in arrears and overdue: from a row per day for a landlord, from
/// the open charges and leases of one property.
#[derive(Debug, Clone, Copy, Default, serde::Deserialize)]
pub struct AgedTotals {
    pub not_yet_due: Money,
    pub days_0_30: Money,
    pub days_31_60: Money,
    pub days_61_90: Money,
    pub days_90_plus: Money,
    /// Leases with an open charge due by `as_of`.
    pub leases_in_arrears: i64,
    /// Leases past their oldest open due date plus grace days.
    pub overdue_leases: i64,
}

const AGED_COLUMNS: &str = "not_yet_due, days_0_30, days_31_60, days_61_90, days_90_plus, \
     leases_in_arrears, overdue_leases";

/// The aged totals' one row; `$1` landlord, `$2` the date, `$4` the
/// property or null, `$5`–`$7` the 30-, 60- and 90-day limits. All of a
/// landlord's properties: one pass over a row per day with open charges
/// (`rollup_open_days`, its partial index of the non-zero rows). One
/// property: five index ranges of its open charges and two of its open
/// leases.
fn aged_sql(property: Option<Id>) -> String {
    let named = |values: [String; 7]| {
        let names = AGED_COLUMNS.split(", ").map(str::trim);
        let columns: Vec<String> = values
            .iter()
            .zip(names)
            .map(|(value, name)| format!("{value} AS {name}"))
            .collect();
        columns.join(", ")
    };
    if property.is_none() {
        let sum = |column: &str, days: &str| {
            format!("CAST(COALESCE(SUM(CASE WHEN {days} THEN {column} END), 0) AS BIGINT)")
        };
        return format!(
            "SELECT {} FROM rollup_open_days WHERE landlord_id = $1 \
               AND (amount <> 0 OR arrears_leases <> 0 OR overdue_leases <> 0)",
            named([
                sum("amount", "day > $2"),
                sum("amount", "day <= $2 AND day >= $5"),
                sum("amount", "day < $5 AND day >= $6"),
                sum("amount", "day < $6 AND day >= $7"),
                sum("amount", "day < $7"),
                sum("arrears_leases", "day <= $2"),
                sum("overdue_leases", "day <= $2"),
            ])
        );
    }
    let sum = |range: &str| {
        format!(
            "(SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM rollup_open_charges \
              WHERE landlord_id = $1 AND {range} AND property_id = $4)"
        )
    };
    let count = |column: &str| {
        format!(
            "(SELECT COUNT(*) FROM rollup_open_leases \
              WHERE landlord_id = $1 AND {column} <= $2 AND property_id = $4)"
        )
    };
    format!(
        "SELECT {}",
        named([
            sum("due_date > $2"),
            sum("due_date <= $2 AND due_date >= $5"),
            sum("due_date < $5 AND due_date >= $6"),
            sum("due_date < $6 AND due_date >= $7"),
            sum("due_date < $7"),
            count("oldest_due"),
            count("overdue_on"),
        ])
    )
}

/// What the arrears overview (the dashboard's and the metrics') reads, in
/// one statement: the prelude ([`as_of_prelude`]), the aged totals and the
/// `limit` leases with the largest open totals ([`largest_open`]).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct OverviewParts {
    pub prelude: Vec<PreludeRow>,
    /// One row.
    pub aged: Vec<AgedTotals>,
    pub largest: Vec<OpenLease>,
}

pub async fn overview(
    db: &Reader,
    landlord: Id,
    property: Option<Id>,
    as_of: NaiveDate,
    limit: i64,
) -> sqlx::Result<OverviewParts> {
    let postgres = db.pool().is_postgres();
    let sql = dialect::json_object(
        postgres,
        &[
            (
                "prelude",
                &dialect::json_select(postgres, PRELUDE_COLUMNS, PRELUDE),
            ),
            (
                "aged",
                &dialect::json_select(postgres, AGED_COLUMNS, &aged_sql(property)),
            ),
            (
                "largest",
                &dialect::json_select(postgres, OPEN_LEASE_COLUMNS, &largest_sql("$4", "$8")),
            ),
        ],
    );
    let [limit_30, limit_60, limit_90] = AgeLimits::new(as_of).limits();
    let json: String = dispatch!(db.pool(), p => sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(landlord)
        .bind(as_of)
        .bind(Period::containing(as_of))
        .bind(property)
        .bind(limit_30)
        .bind(limit_60)
        .bind(limit_90)
        .bind(limit)
        .fetch_one(p)
        .await)?;
    serde_json::from_str(&json).map_err(|err| sqlx::Error::Decode(Box::new(err)))
}

/// The leases with the largest open totals; `$1` landlord, `property` and
/// `limit` the parameters of the property (or null) and of how many.
fn largest_sql(property: &str, limit: &str) -> String {
    format!(
        "SELECT {OPEN_LEASE_COLUMNS} FROM rollup_open_leases \
         WHERE landlord_id = $1 AND ({property} IS NULL OR property_id = {property}) \
         ORDER BY open_total DESC, lease_id DESC LIMIT {limit}"
    )
}

/// The `limit` leases with the largest open totals (all time), in no
/// particular order: an index range of `rollup_open_leases` and the rows.
pub async fn largest_open(
    db: &Reader,
    landlord: Id,
    property: Option<Id>,
    limit: i64,
) -> sqlx::Result<Vec<OpenLease>> {
    let sql = dialect::json_select(
        db.pool().is_postgres(),
        OPEN_LEASE_COLUMNS,
        &largest_sql("$2", "$3"),
    );
    dispatch!(db.pool(), p => sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(landlord)
        .bind(property)
        .bind(limit)
        .fetch_one(p)
        .await)
    .and_then(|json: String| dialect::parse_rows(&json))
}

/// `AND lease_id NOT IN ($first, …)`, or nothing for no leases.
fn excluding(first: usize, leases: &[Id]) -> String {
    if leases.is_empty() {
        return String::new();
    }
    format!(
        "AND lease_id NOT IN ({})",
        placeholders(first, leases.len())
    )
}

/// `$first, $first+1, …`, `count` of them.
fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_open_charges_are_read_newest_first() {
        let json = r#"[[7, 2, "A1", "Wanjiru", 3, "2026-12-05:100000,2026-11-05:150000"]]"#;
        let leases: Vec<OpenLease> = dialect::parse_rows(json).expect("rows");
        let date = |text: &str| text.parse::<NaiveDate>().expect("date");
        assert_eq!(
            leases[0].charges,
            [
                (date("2026-12-05"), Money(100_000)),
                (date("2026-11-05"), Money(150_000))
            ]
        );
        for malformed in [
            "",
            "2026-12-05",
            "2026-12-05:x",
            "2026-13-05:1",
            "26-12-05:1",
        ] {
            let json = format!(r#"[[7, 2, "A1", "W", 0, "{malformed}"]]"#);
            assert!(
                dialect::parse_rows::<OpenLease>(&json).is_err(),
                "{malformed}"
            );
        }
    }
}
