//! Occupancy and the dashboard's counts from index-only reads (migration
//! 0006): units per property with their market state, and the leases in
//! force on a date, without visiting a unit per lease or a lease per unit.
//! `reports::occupancy` and `reports::counts` are the reference.

use chrono::NaiveDate;

use crate::db::{Reader, dispatch};
use crate::types::Id;

/// A property's units, and how many are on the market.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UnitCounts {
    pub property_id: Id,
    pub name: String,
    pub units: i64,
    pub available: i64,
}

/// Every property of the landlord (or the one), with its unit counts.
pub async fn units(
    db: &Reader,
    landlord: Id,
    property: Option<Id>,
) -> sqlx::Result<Vec<UnitCounts>> {
    dispatch!(db.pool(), p => sqlx::query_as(
        "SELECT p.id AS property_id, p.name, COALESCE(u.units, 0) AS units, \
                COALESCE(u.available, 0) AS available \
         FROM properties p LEFT JOIN ( \
             SELECT property_id, COUNT(*) AS units, \
                    SUM(CASE WHEN off_market THEN 0 ELSE 1 END) AS available \
             FROM units WHERE landlord_id = $1 AND ($2 IS NULL OR property_id = $2) \
             GROUP BY property_id) u ON u.property_id = p.id \
         WHERE p.landlord_id = $1 AND ($2 IS NULL OR p.id = $2) \
         ORDER BY p.id",
    )
    .bind(landlord)
    .bind(property)
    .fetch_all(p)
    .await)
}

/// Leases in force on `today` (active, started, not ended) per property:
/// all of them, and those on units taken off the market.
#[derive(Debug, Clone, Copy, sqlx::FromRow)]
pub struct InForce {
    pub property_id: Id,
    pub leases: i64,
    pub off_market: i64,
}

pub async fn leases_in_force(
    db: &Reader,
    landlord: Id,
    property: Option<Id>,
    today: NaiveDate,
) -> sqlx::Result<Vec<InForce>> {
    dispatch!(db.pool(), p => sqlx::query_as(
        "SELECT l.property_id, l.leases, COALESCE(o.leases, 0) AS off_market \
         FROM (SELECT property_id, COUNT(*) AS leases FROM leases \
               WHERE landlord_id = $1 AND status = 'active' AND start_date <= $2 \
                 AND (end_date IS NULL OR end_date >= $2) AND ($3 IS NULL OR property_id = $3) \
               GROUP BY property_id) l \
         LEFT JOIN (SELECT le.property_id, COUNT(*) AS leases FROM units u \
               JOIN leases le ON le.unit_id = u.id AND le.status = 'active' \
               WHERE u.landlord_id = $1 AND u.off_market AND le.start_date <= $2 \
                 AND (le.end_date IS NULL OR le.end_date >= $2) \
                 AND ($3 IS NULL OR u.property_id = $3) \
               GROUP BY le.property_id) o ON o.property_id = l.property_id",
    )
    .bind(landlord)
    .bind(today)
    .bind(property)
    .fetch_all(p)
    .await)
}

/// Tenants with a lease in force on `today`.
pub async fn tenants_in_force(
    db: &Reader,
    landlord: Id,
    property: Option<Id>,
    today: NaiveDate,
) -> sqlx::Result<i64> {
    dispatch!(db.pool(), p => sqlx::query_scalar(
        "SELECT COUNT(DISTINCT tenant_id) FROM leases \
         WHERE landlord_id = $1 AND status = 'active' AND start_date <= $2 \
           AND (end_date IS NULL OR end_date >= $2) AND ($3 IS NULL OR property_id = $3)",
    )
    .bind(landlord)
    .bind(today)
    .bind(property)
    .fetch_one(p)
    .await)
}
