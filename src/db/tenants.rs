//! Tenants: the people who rent a landlord's units.

use serde::Serialize;

use crate::db::page::PageRequest;
use crate::db::{Reader, WriteTx, dispatch, dispatch_tx};
use crate::types::{Id, TenantStatus};

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Tenant {
    pub id: Id,
    pub name: String,
    pub phone: String,
    pub national_id: Option<String>,
    pub status: TenantStatus,
}

#[derive(Debug, Clone)]
pub struct TenantFields {
    pub name: String,
    pub phone: String,
    pub national_id: Option<String>,
    pub status: TenantStatus,
}

/// A partial update: `None` leaves the column as it is.
#[derive(Debug, Clone, Default)]
pub struct TenantPatch {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub national_id: Option<String>,
    pub status: Option<TenantStatus>,
}

pub async fn insert(tx: &mut WriteTx, landlord: Id, fields: &TenantFields) -> sqlx::Result<Tenant> {
    dispatch_tx!(tx, conn => sqlx::query_as(
        "INSERT INTO tenants (landlord_id, name, phone, national_id, status) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id, name, phone, national_id, status",
    )
    .bind(landlord)
    .bind(&fields.name)
    .bind(&fields.phone)
    .bind(&fields.national_id)
    .bind(fields.status)
    .fetch_one(conn)
    .await)
}

pub async fn update(
    tx: &mut WriteTx,
    landlord: Id,
    id: Id,
    patch: &TenantPatch,
) -> sqlx::Result<Option<Tenant>> {
    dispatch_tx!(tx, conn => sqlx::query_as(
        "UPDATE tenants SET name = COALESCE($3, name), phone = COALESCE($4, phone), \
         national_id = COALESCE($5, national_id), status = COALESCE($6, status) \
         WHERE id = $1 AND landlord_id = $2 RETURNING id, name, phone, national_id, status",
    )
    .bind(id)
    .bind(landlord)
    .bind(&patch.name)
    .bind(&patch.phone)
    .bind(&patch.national_id)
    .bind(patch.status)
    .fetch_optional(conn)
    .await)
}

pub async fn delete(tx: &mut WriteTx, landlord: Id, id: Id) -> sqlx::Result<bool> {
    let deleted = dispatch_tx!(tx, conn => sqlx::query(
        "DELETE FROM tenants WHERE id = $1 AND landlord_id = $2",
    )
    .bind(id)
    .bind(landlord)
    .execute(conn)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(deleted > 0)
}

pub async fn get(db: &Reader, landlord: Id, id: Id) -> sqlx::Result<Option<Tenant>> {
    dispatch!(db.pool(), p => sqlx::query_as(
        "SELECT id, name, phone, national_id, status FROM tenants WHERE id = $1 AND landlord_id = $2",
    )
    .bind(id)
    .bind(landlord)
    .fetch_optional(p)
    .await)
}

/// Tenants whose name contains `name` (any case) or whose phone contains
/// `digits`, by name, at most `limit` (the web app's search). The caller
/// passes plain text: `%`, `_` and a backslash match themselves.
pub async fn search(
    db: &Reader,
    landlord: Id,
    text: &str,
    limit: i64,
) -> sqlx::Result<Vec<Tenant>> {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    let pattern = format!("%{}%", escaped.to_lowercase());
    // Phones are stored as +2547…: a search for 0712… or 254712… finds them.
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    let digits = digits
        .strip_prefix("254")
        .or_else(|| digits.strip_prefix('0'))
        .unwrap_or(&digits)
        .to_owned();
    let phone = (digits.len() >= 3).then(|| format!("%{digits}%"));
    dispatch!(db.pool(), p => sqlx::query_as(
        "SELECT id, name, phone, national_id, status FROM tenants \
         WHERE landlord_id = $1 AND (LOWER(name) LIKE $2 ESCAPE '\\' OR phone LIKE $3) \
         ORDER BY name, id LIMIT $4",
    )
    .bind(landlord)
    .bind(pattern)
    .bind(phone)
    .bind(limit)
    .fetch_all(p)
    .await)
}

pub async fn list(
    db: &Reader,
    landlord: Id,
    status: Option<TenantStatus>,
    page: PageRequest,
) -> sqlx::Result<Vec<Tenant>> {
    dispatch!(db.pool(), p => sqlx::query_as(
        "SELECT id, name, phone, national_id, status FROM tenants \
         WHERE landlord_id = $1 AND ($2 IS NULL OR status = $2) AND id > $3 ORDER BY id LIMIT $4",
    )
    .bind(landlord)
    .bind(status)
    .bind(page.after_id())
    .bind(page.fetch_limit())
    .fetch_all(p)
    .await)
}
