//! Each lease's open charges under FIFO, all time (`rollup_open_charges`):
//! payments settle the oldest charges first, so what a lease owes is its
//! newest non-void charges whose sum reaches the balance, the oldest of them
//! only partly. A write recomputes the rows of the leases it touched, from
//! the lease's own charges and payments; arrears as of today read them.
//!
//! `rollup_open_leases` sums each lease's rows: the open total, the oldest
//! and newest due dates, and the day the lease counts as overdue. The
//! dashboard counts and ranks debtors from its indexes. Each row also holds
//! what the arrears list shows of its lease (unit, tenant, grace days, the
//! open charges newest first), so the list is one read of these rows: a
//! tenant's rename and a unit's relabel update them ([`relabel`]).
//!
//! `rollup_open_days` sums both per landlord and day: the open charges due
//! that day, the leases whose oldest open charge is due then and those
//! overdue from then. A lease's refresh adds its new rows' entries there and
//! takes its old rows' off, so a landlord's arrears as of any day are range
//! sums of a row per day.

use std::sync::LazyLock;

use crate::db::{WriteTx, batch::Batch, dialect, dispatch_tx};
use crate::types::Id;

pub(super) const COLUMNS: &str = "lease_id, charge_id, landlord_id, property_id, due_date, amount";

/// Where a lease's balance (charged − paid) comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Balance {
    /// Summed from `charges` and `payments`: the audit's reference.
    History,
    /// Read from `rollup_leases` (up to date when the open charges are redone).
    RollUp,
}

/// The open charges, of every lease or (`one_lease`) of lease `$1`.
pub(super) fn open_sql(one_lease: bool, balance: Balance) -> String {
    let (charges, payments) = if one_lease {
        ("lease_id = $1 AND", "lease_id = $1 AND")
    } else {
        ("", "lease_id IS NOT NULL AND")
    };
    let (debtors, owing) = match balance {
        Balance::History => (
            format!(
                "SELECT lease_id, CAST(SUM(amount) AS BIGINT) AS unpaid FROM ( \
                     SELECT lease_id, amount FROM charges WHERE {charges} NOT void \
                     UNION ALL \
                     SELECT lease_id, -amount FROM payments WHERE {payments} status = 'confirmed' \
                 ) entries GROUP BY lease_id"
            ),
            "",
        ),
        // Only the debtors' charges are ordered, not everyone's.
        Balance::RollUp => (
            format!(
                "SELECT lease_id, charged - paid AS unpaid FROM rollup_leases \
                 WHERE {charges} charged > paid"
            ),
            if one_lease {
                ""
            } else {
                "AND lease_id IN (SELECT lease_id FROM rollup_leases WHERE charged > paid)"
            },
        ),
    };
    format!(
        "SELECT {COLUMNS} FROM ( \
           SELECT c.lease_id, c.id AS charge_id, c.landlord_id, c.property_id, c.due_date, \
                  CASE WHEN c.newer <= b.unpaid THEN c.amount ELSE b.unpaid - (c.newer - c.amount) END AS amount \
           FROM (SELECT id, lease_id, landlord_id, property_id, due_date, amount, \
                        CAST(SUM(amount) OVER (PARTITION BY lease_id ORDER BY due_date DESC, id DESC \
                                     ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS BIGINT) AS newer \
                 FROM charges WHERE {charges} NOT void {owing}) c \
           JOIN ({debtors}) b ON b.lease_id = c.lease_id \
           WHERE c.newer - c.amount < b.unpaid \
         ) open_charges"
    )
}

pub(super) const LEASE_COLUMNS: &str = "lease_id, landlord_id, property_id, open_total, \
     oldest_due, newest_due, overdue_on, unit_label, tenant_name, grace_days, charges";

/// Each lease's open charges summed (`open` is the open charges' rows: the
/// table, or [`open_sql`] for the audit), of every lease or of lease `$1`.
/// Summed before the lease, unit and tenant are joined: once per lease, not
/// once per open charge.
pub(super) fn leases_sql(postgres: bool, open: &str, one_lease: bool) -> String {
    let overdue_on = dialect::plus_days(postgres, "s.oldest_due", "l.grace_days + 1");
    let charge = format!(
        "{} || ':' || CAST(o.amount AS TEXT)",
        dialect::iso_date(postgres, "o.due_date")
    );
    let charges = dialect::joined(postgres, &charge, "o.due_date DESC, o.charge_id DESC");
    let filter = if one_lease {
        "WHERE o.lease_id = $1"
    } else {
        ""
    };
    format!(
        "SELECT s.lease_id, s.landlord_id, s.property_id, s.open_total, s.oldest_due, \
                s.newest_due, {overdue_on} AS overdue_on, u.label AS unit_label, \
                t.name AS tenant_name, l.grace_days, s.charges \
         FROM (SELECT o.lease_id, o.landlord_id, o.property_id, \
                      CAST(SUM(o.amount) AS BIGINT) AS open_total, MIN(o.due_date) AS oldest_due, \
                      MAX(o.due_date) AS newest_due, {charges} AS charges \
               FROM ({open}) o {filter} GROUP BY o.lease_id, o.landlord_id, o.property_id) s \
         JOIN leases l ON l.id = s.lease_id \
         JOIN units u ON u.id = l.unit_id JOIN tenants t ON t.id = l.tenant_id"
    )
}

pub(super) const DAY_COLUMNS: &str = "landlord_id, day, amount, arrears_leases, overdue_leases";

/// What open charges (`charges`: rows with `rollup_open_charges`' columns)
/// and their leases' sums (`leases`: rows with `rollup_open_leases`')
/// contribute to `rollup_open_days`, an entry each, negated by `sign` "-".
fn day_entries(charges: &str, leases: &str, sign: &str) -> String {
    format!(
        "SELECT landlord_id, due_date AS day, {sign}amount AS amount, 0 AS arrears_leases, \
                0 AS overdue_leases FROM {charges} \
         UNION ALL SELECT landlord_id, oldest_due, 0, {sign}1, 0 FROM {leases} \
         UNION ALL SELECT landlord_id, overdue_on, 0, 0, {sign}1 FROM {leases}"
    )
}

/// Entries ([`day_entries`]) summed per landlord and day.
fn days_of(entries: &str) -> String {
    format!(
        "SELECT landlord_id, day, CAST(SUM(amount) AS BIGINT) AS amount, \
                CAST(SUM(arrears_leases) AS BIGINT) AS arrears_leases, \
                CAST(SUM(overdue_leases) AS BIGINT) AS overdue_leases \
         FROM ({entries}) entries GROUP BY landlord_id, day"
    )
}

/// `rollup_open_days` from open charges and their leases' sums (tables or
/// queries, see [`day_entries`]): the audit's and the rebuild's.
pub(super) fn days_sql(charges: &str, leases: &str) -> String {
    days_of(&day_entries(charges, leases, ""))
}

/// Adds the entries' sums to `rollup_open_days`, in day order.
fn add_days_sql(entries: &str) -> String {
    format!(
        "INSERT INTO rollup_open_days ({DAY_COLUMNS}) SELECT {DAY_COLUMNS} FROM ({days}) changed \
         WHERE amount <> 0 OR arrears_leases <> 0 OR overdue_leases <> 0 \
         ORDER BY landlord_id, day \
         ON CONFLICT (landlord_id, day) DO UPDATE SET \
         amount = rollup_open_days.amount + excluded.amount, \
         arrears_leases = rollup_open_days.arrears_leases + excluded.arrears_leases, \
         overdue_leases = rollup_open_days.overdue_leases + excluded.overdue_leases",
        days = days_of(entries),
    )
}

/// Lease `$1`'s stored rows.
const LEASE_CHARGES: &str = "(SELECT * FROM rollup_open_charges WHERE lease_id = $1) charges";
const LEASE_SUMS: &str = "(SELECT * FROM rollup_open_leases WHERE lease_id = $1) sums";

/// Adds the statements recomputing the open charges of `leases`, and their
/// sums, to `batch`.
pub(super) fn refresh(postgres: bool, batch: &mut Batch, leases: impl Iterator<Item = Id>) {
    // Built once: every payment runs them.
    static POSTGRES: LazyLock<Vec<String>> = LazyLock::new(|| vec![merge_sql()]);
    static SQLITE: LazyLock<Vec<String>> = LazyLock::new(|| {
        vec![
            // The lease's old rows off its landlord's days, its new ones on.
            add_days_sql(&day_entries(LEASE_CHARGES, LEASE_SUMS, "-")),
            "DELETE FROM rollup_open_charges WHERE lease_id = $1".to_owned(),
            format!(
                "INSERT INTO rollup_open_charges ({COLUMNS}) {}",
                open_sql(true, Balance::RollUp)
            ),
            "DELETE FROM rollup_open_leases WHERE lease_id = $1".to_owned(),
            format!(
                "INSERT INTO rollup_open_leases ({LEASE_COLUMNS}) {}",
                leases_sql(false, "SELECT * FROM rollup_open_charges", true)
            ),
            add_days_sql(&day_entries(LEASE_CHARGES, LEASE_SUMS, "")),
        ]
    });
    let statements = if postgres { &*POSTGRES } else { &*SQLITE };
    for lease in leases {
        super::redo(batch, statements, &[lease]);
    }
}

/// PostgreSQL's refresh of lease `$1` as one statement (each statement is a
/// round trip there; SQLite runs the four of the delete-and-insert in one
/// query instead): the open charges computed once, rows no longer open
/// deleted, the others inserted or updated only where they changed (a
/// payment changes one charge's open amount and closes a few; rewriting all
/// would write every row and index entry again), and the landlord's days
/// changed by the difference between the new rows and the old (which every
/// part of the statement still sees). The sub-statements touch disjoint
/// rows, as PostgreSQL requires of one statement.
fn merge_sql() -> String {
    let lease_updates = LEASE_COLUMNS
        .split(", ")
        .filter(|column| *column != "lease_id")
        .collect::<Vec<_>>();
    let set = |columns: &[&str], table: &str| {
        let assignments: Vec<String> = columns
            .iter()
            .map(|column| format!("{column} = excluded.{column}"))
            .collect();
        let old: Vec<String> = columns.iter().map(|c| format!("{table}.{c}")).collect();
        let new: Vec<String> = columns.iter().map(|c| format!("excluded.{c}")).collect();
        format!(
            "DO UPDATE SET {} WHERE ({}) IS DISTINCT FROM ({})",
            assignments.join(", "),
            old.join(", "),
            new.join(", ")
        )
    };
    let charge_columns = ["landlord_id", "property_id", "due_date", "amount"];
    format!(
        "WITH fresh AS MATERIALIZED ({open}), \
         closed AS (DELETE FROM rollup_open_charges o WHERE o.lease_id = $1 \
                    AND NOT EXISTS (SELECT 1 FROM fresh f WHERE f.charge_id = o.charge_id)), \
         charges_kept AS (INSERT INTO rollup_open_charges ({COLUMNS}) SELECT {COLUMNS} FROM fresh \
                    ON CONFLICT (lease_id, charge_id) {charge_set}), \
         summed AS MATERIALIZED ({leases}), \
         settled AS (DELETE FROM rollup_open_leases WHERE lease_id = $1 \
                    AND NOT EXISTS (SELECT 1 FROM fresh)), \
         leases_kept AS (INSERT INTO rollup_open_leases ({LEASE_COLUMNS}) SELECT * FROM summed \
                    ON CONFLICT (lease_id) {lease_set}) \
         {days}",
        open = open_sql(true, Balance::RollUp),
        charge_set = set(&charge_columns, "rollup_open_charges"),
        leases = leases_sql(true, "SELECT * FROM fresh", true),
        lease_set = set(&lease_updates, "rollup_open_leases"),
        days = add_days_sql(&format!(
            "{} UNION ALL {}",
            day_entries("fresh", "summed", ""),
            day_entries(LEASE_CHARGES, LEASE_SUMS, "-")
        )),
    )
}

/// Whose name or label changed: the rows of their leases show it.
#[derive(Debug, Clone, Copy)]
pub enum Relabel<'a> {
    Unit { id: Id, label: &'a str },
    Tenant { id: Id, name: &'a str },
}

/// Updates the arrears list's labels of the leases of a relabelled unit or
/// a renamed tenant of `landlord`, in `tx`.
pub async fn relabel(tx: &mut WriteTx, landlord: Id, change: Relabel<'_>) -> sqlx::Result<()> {
    let (column, lease_column, id, text) = match change {
        Relabel::Unit { id, label } => ("unit_label", "unit_id", id, label),
        Relabel::Tenant { id, name } => ("tenant_name", "tenant_id", id, name),
    };
    let sql = format!(
        "UPDATE rollup_open_leases SET {column} = $3 \
         WHERE landlord_id = $1 \
           AND lease_id IN (SELECT id FROM leases WHERE {lease_column} = $2 AND landlord_id = $1)"
    );
    dispatch_tx!(tx, conn => sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(landlord)
        .bind(id)
        .bind(text)
        .execute(conn)
        .await
        .map(drop))
}
