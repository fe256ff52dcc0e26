//! Properties: a landlord's buildings.

use serde::Serialize;

use crate::db::page::PageRequest;
use crate::db::{Reader, WriteTx, dispatch, dispatch_tx};
use crate::types::Id;

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Property {
    pub id: Id,
    pub landlord_id: Id,
    pub name: String,
    pub address: String,
    pub county: String,
}

#[derive(Debug, Clone)]
pub struct PropertyFields {
    pub name: String,
    pub address: String,
    pub county: String,
}

/// A partial update: `None` leaves the column as it is.
#[derive(Debug, Clone, Default)]
pub struct PropertyPatch {
    pub name: Option<String>,
    pub address: Option<String>,
    pub county: Option<String>,
}

pub async fn insert(
    tx: &mut WriteTx,
    landlord: Id,
    fields: &PropertyFields,
) -> sqlx::Result<Property> {
    dispatch_tx!(tx, conn => sqlx::query_as(
        "INSERT INTO properties (landlord_id, name, address, county) VALUES ($1, $2, $3, $4) \
         RETURNING id, landlord_id, name, address, county",
    )
    .bind(landlord)
    .bind(&fields.name)
    .bind(&fields.address)
    .bind(&fields.county)
    .fetch_one(conn)
    .await)
}

pub async fn update(
    tx: &mut WriteTx,
    landlord: Id,
    id: Id,
    patch: &PropertyPatch,
) -> sqlx::Result<Option<Property>> {
    dispatch_tx!(tx, conn => sqlx::query_as(
        "UPDATE properties SET name = COALESCE($3, name), address = COALESCE($4, address), \
         county = COALESCE($5, county) \
         WHERE id = $1 AND landlord_id = $2 \
         RETURNING id, landlord_id, name, address, county",
    )
    .bind(id)
    .bind(landlord)
    .bind(&patch.name)
    .bind(&patch.address)
    .bind(&patch.county)
    .fetch_optional(conn)
    .await)
}

/// Deletes a property without units; returns whether a row went.
pub async fn delete(tx: &mut WriteTx, landlord: Id, id: Id) -> sqlx::Result<bool> {
    let deleted = dispatch_tx!(tx, conn => sqlx::query(
        "DELETE FROM properties WHERE id = $1 AND landlord_id = $2",
    )
    .bind(id)
    .bind(landlord)
    .execute(conn)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(deleted > 0)
}

pub async fn get(db: &Reader, landlord: Id, id: Id) -> sqlx::Result<Option<Property>> {
    dispatch!(db.pool(), p => sqlx::query_as(
        "SELECT id, landlord_id, name, address, county FROM properties \
         WHERE id = $1 AND landlord_id = $2",
    )
    .bind(id)
    .bind(landlord)
    .fetch_optional(p)
    .await)
}

pub async fn list(db: &Reader, landlord: Id, page: PageRequest) -> sqlx::Result<Vec<Property>> {
    dispatch!(db.pool(), p => sqlx::query_as(
        "SELECT id, landlord_id, name, address, county FROM properties \
         WHERE landlord_id = $1 AND id > $2 ORDER BY id LIMIT $3",
    )
    .bind(landlord)
    .bind(page.after_id())
    .bind(page.fetch_limit())
    .fetch_all(p)
    .await)
}
