//! Occupancy and the dashboard's counts from index-only reads (migration
//! 0006), in one statement: units per property with their market state, and
//! the leases in force on a date, without visiting a unit per lease or a
//! lease per unit.
//! `reports::occupancy` and `reports::counts` are the reference.

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
