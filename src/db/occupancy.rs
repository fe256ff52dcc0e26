//! Occupancy and the dashboard's counts in one statement. For a landlord's
//! every property, from the occupancy roll-ups (migrations 0010 and 0011: a
//! row per property and the landlord's count of tenants) less the few
//! active leases not in force on the day; for one property, from index-only
//! reads of its units and leases (migration 0006).
//! `reports::occupancy` and `reports::counts` are the reference.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use crate::db::{Reader, dialect, dispatch};
use crate::types::Id;

/// One row of [`all_of`]: a property's unit counts (`kind` 0), its leases
/// in force (1), or the tenants in force (2, in `a`).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Row {
    pub kind: i32,
    pub property_id: Option<Id>,
    pub name: Option<String>,
    /// Units; leases in force; tenants in force.
    pub a: i64,
    /// Units on the market; leases in force on units off the market.
    pub b: i64,
}

/// One row of the roll-up read: a [`Row`], or (`kind` 3) an active lease
/// not in force on the day, with its property, tenant (`a`), whether its
/// unit is off the market (`b`) and its tenant's active leases (`c`).
#[derive(Debug, Clone, serde::Deserialize)]
struct RollUpRow {
    kind: i32,
    property_id: Option<Id>,
    name: Option<String>,
    a: i64,
    b: i64,
    c: Option<i64>,
}

/// Every property of the landlord (or the one) with its unit counts, the
/// leases in force on `today` (active, started, not ended) per property —
/// all of them, and those on units taken off the market — and the tenants
/// with a lease in force: the occupancy report and the dashboard's counts in
/// one statement.
pub async fn all_of(
    db: &Reader,
    landlord: Id,
    property: Option<Id>,
    today: NaiveDate,
) -> sqlx::Result<Vec<Row>> {
    match property {
        None => from_rollups(db, landlord, today).await,
        Some(_) => indexed(db, landlord, property, today).await,
    }
}

/// Every property's counts from the roll-ups: O(properties), plus the
/// active leases outside their dates on `today` (two index ranges from it,
/// next to none), which are taken off.
async fn from_rollups(db: &Reader, landlord: Id, today: NaiveDate) -> sqlx::Result<Vec<Row>> {
    let outside = |dates: &str| {
        format!(
            "SELECT 3, l.property_id, CAST(NULL AS TEXT), l.tenant_id, \
                    CASE WHEN u.off_market THEN 1 ELSE 0 END, t.active_leases \
             FROM leases l JOIN units u ON u.id = l.unit_id \
             JOIN rollup_tenant_leases t ON t.tenant_id = l.tenant_id \
             WHERE l.landlord_id = $1 AND l.status = 'active' AND {dates}"
        )
    };
    let sql = dialect::json_select(
        db.pool().is_postgres(),
        "kind, property_id, name, a, b, c",
        &format!(
            "SELECT 0 AS kind, p.id AS property_id, p.name, CAST(COALESCE(r.units, 0) AS BIGINT) AS a, \
                    CAST(COALESCE(r.available, 0) AS BIGINT) AS b, CAST(NULL AS BIGINT) AS c \
             FROM properties p LEFT JOIN rollup_occupancy r ON r.property_id = p.id \
             WHERE p.landlord_id = $1 \
             UNION ALL \
             SELECT 1, property_id, CAST(NULL AS TEXT), active_leases, active_off_market, \
                    CAST(NULL AS BIGINT) \
             FROM rollup_occupancy WHERE landlord_id = $1 AND active_leases > 0 \
             UNION ALL \
             SELECT 2, CAST(NULL AS BIGINT), CAST(NULL AS TEXT), \
                    COALESCE((SELECT tenants FROM rollup_landlord_tenants WHERE landlord_id = $1), 0), \
                    CAST(0 AS BIGINT), CAST(NULL AS BIGINT) \
             UNION ALL {} UNION ALL {}",
            outside("l.start_date > $2"),
            outside("l.end_date < $2"),
        ),
    );
    let rows: Vec<RollUpRow> =
        dispatch!(db.pool(), p => sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(landlord)
        .bind(today)
        .fetch_one(p)
        .await)
        .and_then(|json: String| dialect::parse_rows(&json))?;
    Ok(in_force(rows))
}

/// The roll-up rows less the active leases not in force: each off its
/// property's leases (and off-market leases), and a tenant off the count
/// when none of their active leases is in force.
fn in_force(rows: Vec<RollUpRow>) -> Vec<Row> {
    let mut per_property: BTreeMap<Id, (i64, i64)> = BTreeMap::new();
    // tenant → (leases outside their dates, active leases)
    let mut per_tenant: BTreeMap<Id, (i64, i64)> = BTreeMap::new();
    let mut kept = Vec::new();
    for row in rows {
        match (row.kind, row.property_id) {
            (3, Some(property)) => {
                let taken = per_property.entry(property).or_default();
                taken.0 += 1;
                taken.1 += row.b;
                let tenant = per_tenant.entry(row.a).or_default();
                tenant.0 += 1;
                tenant.1 = row.c.unwrap_or_default();
            }
            _ => kept.push(Row {
                kind: row.kind,
                property_id: row.property_id,
                name: row.name,
                a: row.a,
                b: row.b,
            }),
        }
    }
    let idle_tenants = per_tenant
        .values()
        .filter(|(outside, active)| outside >= active)
        .count() as i64;
    for row in &mut kept {
        match (row.kind, row.property_id) {
            (1, Some(property)) => {
                let (leases, off_market) = per_property.get(&property).copied().unwrap_or_default();
                row.a -= leases;
                row.b -= off_market;
            }
            (2, _) => row.a -= idle_tenants,
            _ => {}
        }
    }
    kept
}

/// One property's counts from index-only reads of its units and leases.
async fn indexed(
    db: &Reader,
    landlord: Id,
    property: Option<Id>,
    today: NaiveDate,
) -> sqlx::Result<Vec<Row>> {
    let sql = dialect::json_select(
        db.pool().is_postgres(),
        "kind, property_id, name, a, b",
        "SELECT 0 AS kind, p.id AS property_id, p.name, CAST(COALESCE(u.units, 0) AS BIGINT) AS a, \
                CAST(COALESCE(u.available, 0) AS BIGINT) AS b \
         FROM properties p LEFT JOIN ( \
             SELECT property_id, COUNT(*) AS units, \
                    SUM(CASE WHEN off_market THEN 0 ELSE 1 END) AS available \
             FROM units WHERE landlord_id = $1 AND ($3 IS NULL OR property_id = $3) \
             GROUP BY property_id) u ON u.property_id = p.id \
         WHERE p.landlord_id = $1 AND ($3 IS NULL OR p.id = $3) \
         UNION ALL \
         SELECT 1, l.property_id, CAST(NULL AS TEXT), CAST(l.leases AS BIGINT), \
                CAST(COALESCE(o.leases, 0) AS BIGINT) \
         FROM (SELECT property_id, COUNT(*) AS leases FROM leases \
               WHERE landlord_id = $1 AND status = 'active' AND start_date <= $2 \
                 AND (end_date IS NULL OR end_date >= $2) AND ($3 IS NULL OR property_id = $3) \
               GROUP BY property_id) l \
         LEFT JOIN (SELECT le.property_id, COUNT(*) AS leases FROM units u \
               JOIN leases le ON le.unit_id = u.id AND le.status = 'active' \
               WHERE u.landlord_id = $1 AND u.off_market AND le.start_date <= $2 \
                 AND (le.end_date IS NULL OR le.end_date >= $2) \
                 AND ($3 IS NULL OR u.property_id = $3) \
               GROUP BY le.property_id) o ON o.property_id = l.property_id \
         UNION ALL \
         SELECT 2, CAST(NULL AS BIGINT), CAST(NULL AS TEXT), CAST(COUNT(DISTINCT tenant_id) AS BIGINT), \
                CAST(0 AS BIGINT) FROM leases \
         WHERE landlord_id = $1 AND status = 'active' AND start_date <= $2 \
           AND (end_date IS NULL OR end_date >= $2) AND ($3 IS NULL OR property_id = $3)",
    );
    dispatch!(db.pool(), p => sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(landlord)
        .bind(today)
        .bind(property)
        .fetch_one(p)
        .await)
    .and_then(|json: String| dialect::parse_rows(&json))
}
