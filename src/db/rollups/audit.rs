//! Checking the roll-ups against the history, and rebuilding them from it.
//! Both use the same grouping of the history ([`Table::history`]), stated
//! once per table.

use std::collections::{BTreeMap, BTreeSet};

use super::occupancy::{self, landlords_sql, properties_sql, tenants_sql};
use super::open::{Balance, days_sql, leases_sql, open_sql};
use crate::db::{Pool, Reader, WriteTx, dialect, dispatch, dispatch_tx};

/// One roll-up table and how the history groups into it.
struct Table {
    name: &'static str,
    columns: &'static str,
    /// The row's key as text, from the table's own column names.
    key: &'static str,
    /// What is compared, as text from the table's column names.
    values: &'static str,
    /// The history grouped like the table, aliased to its column names.
    history: String,
    /// What `rebuild` fills the table from, when the tables rebuilt before
    /// it give the same rows faster (the audit always uses `history`).
    rebuild_from: Option<String>,
    /// Which stored rows count (rows that came to zero may stay).
    live: &'static str,
}

fn tables(postgres: bool) -> [Table; 11] {
    let due_month = dialect::month_of(postgres, "due_date");
    let paid_month = dialect::month_of(postgres, "paid_on");
    [
        Table {
            name: "rollup_charge_months",
            columns: "landlord_id, property_id, month, count, amount",
            key: "CAST(landlord_id AS TEXT) || '/' || CAST(property_id AS TEXT) || '/' || month",
            values: COUNT_AMOUNT,
            history: format!(
                "SELECT landlord_id, property_id, {due_month} AS month, COUNT(*) AS count, \
                        CAST(SUM(amount) AS BIGINT) AS amount \
                 FROM charges WHERE NOT void GROUP BY landlord_id, property_id, {due_month}"
            ),
            rebuild_from: None,
            live: "TRUE",
        },
        Table {
            name: "rollup_payment_months",
            columns: "landlord_id, property_id, month, status, method, count, amount",
            key: "CAST(landlord_id AS TEXT) || '/' || CAST(property_id AS TEXT) || '/' || month \
                  || '/' || status || '/' || method",
            values: COUNT_AMOUNT,
            history: format!(
                "SELECT landlord_id, COALESCE(property_id, 0) AS property_id, {paid_month} AS month, \
                        status, method, COUNT(*) AS count, CAST(SUM(amount) AS BIGINT) AS amount \
                 FROM payments WHERE landlord_id IS NOT NULL AND status <> 'held' \
                 GROUP BY landlord_id, COALESCE(property_id, 0), {paid_month}, status, method"
            ),
            rebuild_from: None,
            live: "TRUE",
        },
        Table {
            name: "rollup_landlord_charge_months",
            columns: "landlord_id, month, count, amount",
            key: "CAST(landlord_id AS TEXT) || '/' || month",
            values: COUNT_AMOUNT,
            history: format!(
                "SELECT landlord_id, {due_month} AS month, COUNT(*) AS count, \
                        CAST(SUM(amount) AS BIGINT) AS amount \
                 FROM charges WHERE NOT void GROUP BY landlord_id, {due_month}"
            ),
            rebuild_from: Some(
                "SELECT landlord_id, month, CAST(SUM(count) AS BIGINT), CAST(SUM(amount) AS BIGINT) \
                 FROM rollup_charge_months GROUP BY landlord_id, month"
                    .to_owned(),
            ),
            live: "TRUE",
        },
        Table {
            name: "rollup_landlord_payment_months",
            columns: "landlord_id, status, month, method, count, amount",
            key: "CAST(landlord_id AS TEXT) || '/' || status || '/' || month || '/' || method",
            values: COUNT_AMOUNT,
            history: format!(
                "SELECT landlord_id, status, {paid_month} AS month, method, COUNT(*) AS count, \
                        CAST(SUM(amount) AS BIGINT) AS amount \
                 FROM payments WHERE landlord_id IS NOT NULL AND status <> 'held' \
                 GROUP BY landlord_id, status, {paid_month}, method"
            ),
            rebuild_from: Some(
                "SELECT landlord_id, status, month, method, CAST(SUM(count) AS BIGINT), \
                        CAST(SUM(amount) AS BIGINT) \
                 FROM rollup_payment_months GROUP BY landlord_id, status, month, method"
                    .to_owned(),
            ),
            live: "TRUE",
        },
        Table {
            name: "rollup_leases",
            columns: "lease_id, landlord_id, property_id, charged, paid",
            key: "CAST(lease_id AS TEXT)",
            values: "CAST(charged AS TEXT) || ' ' || CAST(paid AS TEXT)",
            // One pass over each covering index, grouped, not a lookup per lease.
            history: "SELECT lease_id, landlord_id, property_id, charged, paid FROM ( \
                 SELECT l.id AS lease_id, l.landlord_id, l.property_id, \
                        CAST(COALESCE(c.charged, 0) AS BIGINT) AS charged, \
                        CAST(COALESCE(p.paid, 0) AS BIGINT) AS paid \
                 FROM leases l \
                 LEFT JOIN (SELECT landlord_id, lease_id, SUM(amount) AS charged FROM charges \
                            WHERE NOT void GROUP BY landlord_id, lease_id) c \
                        ON c.landlord_id = l.landlord_id AND c.lease_id = l.id \
                 LEFT JOIN (SELECT landlord_id, lease_id, SUM(amount) AS paid FROM payments \
                            WHERE status = 'confirmed' AND lease_id IS NOT NULL \
                            GROUP BY landlord_id, lease_id) p \
                        ON p.landlord_id = l.landlord_id AND p.lease_id = l.id \
                 ) totals WHERE charged <> 0 OR paid <> 0"
                .to_owned(),
            rebuild_from: None,
            live: "TRUE",
        },
        Table {
            name: "rollup_open_charges",
            columns: super::open::COLUMNS,
            key: "CAST(lease_id AS TEXT) || '/' || CAST(charge_id AS TEXT)",
            values: "CAST(amount AS TEXT) || ' ' || CAST(property_id AS TEXT) || ' ' || CAST(due_date AS TEXT)",
            history: open_sql(false, Balance::History),
            rebuild_from: Some(open_sql(false, Balance::RollUp)),
            live: "TRUE",
        },
        Table {
            name: "rollup_open_leases",
            columns: super::open::LEASE_COLUMNS,
            key: "CAST(lease_id AS TEXT)",
            values: "CAST(open_total AS TEXT) || ' ' || CAST(oldest_due AS TEXT) || ' ' \
                     || CAST(newest_due AS TEXT) || ' ' || CAST(overdue_on AS TEXT) || ' ' \
                     || CAST(grace_days AS TEXT) || ' ' || unit_label || ' / ' || tenant_name \
                     || ' ' || charges",
            history: leases_sql(postgres, &open_sql(false, Balance::History), false),
            rebuild_from: Some(leases_sql(
                postgres,
                "SELECT * FROM rollup_open_charges",
                false,
            )),
            live: "TRUE",
        },
        Table {
            name: "rollup_open_days",
            columns: super::open::DAY_COLUMNS,
            key: "CAST(landlord_id AS TEXT) || '/' || CAST(day AS TEXT)",
            values: "CAST(amount AS TEXT) || ' ' || CAST(arrears_leases AS TEXT) || ' ' \
                     || CAST(overdue_leases AS TEXT)",
            history: days_sql(
                &format!("({}) charges", open_sql(false, Balance::History)),
                &format!(
                    "({}) sums",
                    leases_sql(postgres, &open_sql(false, Balance::History), false)
                ),
            ),
            rebuild_from: Some(days_sql("rollup_open_charges", "rollup_open_leases")),
            live: "amount <> 0 OR arrears_leases <> 0 OR overdue_leases <> 0",
        },
        Table {
            name: "rollup_occupancy",
            columns: occupancy::PROPERTY_COLUMNS,
            key: "CAST(property_id AS TEXT)",
            values: "CAST(landlord_id AS TEXT) || ' ' || CAST(units AS TEXT) || ' ' \
                     || CAST(available AS TEXT) || ' ' || CAST(active_leases AS TEXT) || ' ' \
                     || CAST(active_off_market AS TEXT)",
            history: properties_sql(false),
            rebuild_from: None,
            live: "TRUE",
        },
        Table {
            name: "rollup_tenant_leases",
            columns: occupancy::TENANT_COLUMNS,
            key: "CAST(tenant_id AS TEXT)",
            values: "CAST(landlord_id AS TEXT) || ' ' || CAST(active_leases AS TEXT)",
            history: tenants_sql(false),
            rebuild_from: None,
            live: "TRUE",
        },
        Table {
            name: "rollup_landlord_tenants",
            columns: occupancy::LANDLORD_COLUMNS,
            key: "CAST(landlord_id AS TEXT)",
            values: "CAST(tenants AS TEXT)",
            history: "SELECT landlord_id, CAST(COUNT(DISTINCT tenant_id) AS BIGINT) AS tenants \
                      FROM leases WHERE status = 'active' GROUP BY landlord_id"
                .to_owned(),
            rebuild_from: Some(landlords_sql(false)),
            live: "TRUE",
        },
    ]
}

const COUNT_AMOUNT: &str = "CAST(count AS TEXT) || ' ' || CAST(amount AS TEXT)";

/// One roll-up row that disagrees with the history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    pub table: &'static str,
    /// landlord/property/month[/status/method] or the lease id.
    pub key: String,
    /// The row's values (e.g. count and amount) as the history says and as
    /// stored; empty for no row.
    pub expected: String,
    pub stored: String,
}

type Rows = BTreeMap<String, String>;

async fn fetch(pool: &Pool, sql: String) -> sqlx::Result<Rows> {
    let rows: Vec<(String, String)> = dispatch!(pool, p => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .fetch_all(p)
        .await)?;
    Ok(rows.into_iter().collect())
}

/// Compares every roll-up with the history; empty when they agree.
pub async fn verify(db: &Reader) -> sqlx::Result<Vec<Difference>> {
    let pool = db.pool();
    let mut differences = Vec::new();
    for table in tables(pool.is_postgres()) {
        let Table {
            name,
            key,
            values,
            history,
            live,
            ..
        } = table;
        let expected = fetch(
            pool,
            format!("SELECT {key} AS key, {values} AS v FROM ({history}) history"),
        )
        .await?;
        let stored = fetch(
            pool,
            format!("SELECT {key} AS key, {values} AS v FROM {name} WHERE {live}"),
        )
        .await?;
        let keys: BTreeSet<&String> = expected.keys().chain(stored.keys()).collect();
        for key in keys {
            let e = expected.get(key).cloned().unwrap_or_default();
            let s = stored.get(key).cloned().unwrap_or_default();
            if e != s {
                differences.push(Difference {
                    table: name,
                    key: key.clone(),
                    expected: e,
                    stored: s,
                });
            }
        }
    }
    Ok(differences)
}

/// Recomputes every roll-up from the history, in `tx` (the demo loader's bulk
/// build, `mfuko rollups rebuild`).
pub async fn rebuild(tx: &mut WriteTx) -> sqlx::Result<()> {
    for table in tables(tx.is_postgres()) {
        let Table {
            name,
            columns,
            history,
            rebuild_from,
            ..
        } = table;
        let source = rebuild_from.unwrap_or(history);
        for sql in [
            format!("DELETE FROM {name}"),
            format!("INSERT INTO {name} ({columns}) {source}"),
        ] {
            dispatch_tx!(tx, conn => sqlx::query(sqlx::AssertSqlSafe(sql)).execute(conn).await.map(drop))?;
        }
    }
    Ok(())
}
