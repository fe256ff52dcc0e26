//! Units: the lettable spaces of a property. Occupancy is derived from leases.

use serde::Serialize;

use crate::db::page::PageRequest;
use crate::db::{Reader, WriteTx, dispatch, dispatch_tx};
use crate::types::{Id, Money};

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Unit {
    pub id: Id,
    pub property_id: Id,
    pub label: String,
    pub market_rent: Money,
    pub off_market: bool,
}

#[derive(Debug, Clone)]
pub struct UnitFields {
    pub label: String,
    pub market_rent: Money,
    pub off_market: bool,
}

/// A partial update: `None` leaves the column as it is.
#[derive(Debug, Clone, Default)]
pub struct UnitPatch {
    pub label: Option<String>,
    pub market_rent: Option<Money>,
    pub off_market: Option<bool>,
}

const COLUMNS: &str = "id, property_id, label, market_rent, off_market";

/// Adds a unit to one of the landlord's properties; `None` when the property is
/// not theirs (the INSERT selects its parent, so the check and the write are one
/// statement).
pub async fn insert(
    tx: &mut WriteTx,
    landlord: Id,
    property: Id,
    fields: &UnitFields,
) -> sqlx::Result<Option<Unit>> {
    let sql = format!(
        "INSERT INTO units (property_id, landlord_id, label, market_rent, off_market) \
         SELECT id, landlord_id, $3, $4, $5 FROM properties WHERE id = $1 AND landlord_id = $2 \
         RETURNING {COLUMNS}"
    );
    let unit: Option<Unit> = dispatch_tx!(tx, conn => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(property)
        .bind(landlord)
        .bind(&fields.label)
        .bind(fields.market_rent)
        .bind(fields.off_market)
        .fetch_optional(conn)
        .await)?;
    if let Some(unit) = &unit {
        tx.rollups()
            .touch_occupancy(landlord, unit.property_id, None);
    }
    Ok(unit)
}

pub async fn update(
    tx: &mut WriteTx,
    landlord: Id,
    id: Id,
    patch: &UnitPatch,
) -> sqlx::Result<Option<Unit>> {
    let sql = format!(
        "UPDATE units SET label = COALESCE($3, label), market_rent = COALESCE($4, market_rent), \
         off_market = COALESCE($5, off_market) \
         WHERE id = $1 AND landlord_id = $2 RETURNING {COLUMNS}"
    );
    let unit: Option<Unit> = dispatch_tx!(tx, conn => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(landlord)
        .bind(&patch.label)
        .bind(patch.market_rent)
        .bind(patch.off_market)
        .fetch_optional(conn)
        .await)?;
    if let Some(unit) = unit.as_ref().filter(|_| patch.off_market.is_some()) {
        tx.rollups()
            .touch_occupancy(landlord, unit.property_id, None);
    }
    Ok(unit)
}

pub async fn delete(tx: &mut WriteTx, landlord: Id, id: Id) -> sqlx::Result<bool> {
    let property: Option<Id> = dispatch_tx!(tx, conn => sqlx::query_scalar(
        "DELETE FROM units WHERE id = $1 AND landlord_id = $2 RETURNING property_id",
    )
    .bind(id)
    .bind(landlord)
    .fetch_optional(conn)
    .await)?;
    if let Some(property) = property {
        tx.rollups().touch_occupancy(landlord, property, None);
    }
    Ok(property.is_some())
}

pub async fn get(db: &Reader, landlord: Id, id: Id) -> sqlx::Result<Option<Unit>> {
    let sql = format!("SELECT {COLUMNS} FROM units WHERE id = $1 AND landlord_id = $2");
    dispatch!(db.pool(), p => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(landlord)
        .fetch_optional(p)
        .await)
}

pub async fn list_for_property(
    db: &Reader,
    landlord: Id,
    property: Id,
    page: PageRequest,
) -> sqlx::Result<Vec<Unit>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM units WHERE landlord_id = $1 AND property_id = $2 AND id > $3 \
         ORDER BY id LIMIT $4"
    );
    dispatch!(db.pool(), p => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(landlord)
        .bind(property)
        .bind(page.after_id())
        .bind(page.fetch_limit())
        .fetch_all(p)
        .await)
}

/// A unit a new lease can take: on the market and without an active lease.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct VacantUnit {
    pub id: Id,
    pub property: String,
    pub label: String,
    pub market_rent: Money,
}

/// The landlord's vacant units, by property and label; at most 2,000.
pub async fn vacant(db: &Reader, landlord: Id) -> sqlx::Result<Vec<VacantUnit>> {
    dispatch!(db.pool(), p => sqlx::query_as(
        "SELECT u.id, p.name AS property, u.label, u.market_rent \
         FROM units u JOIN properties p ON p.id = u.property_id \
         WHERE u.landlord_id = $1 AND NOT u.off_market AND NOT EXISTS \
           (SELECT 1 FROM leases l WHERE l.unit_id = u.id AND l.status = 'active') \
         ORDER BY p.name, u.label LIMIT 2000",
    )
    .bind(landlord)
    .fetch_all(p)
    .await)
}
