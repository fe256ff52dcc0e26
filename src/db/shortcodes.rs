//! M-Pesa shortcodes (Paybill or Till numbers): each belongs to one landlord,
//! and a C2B confirmation belongs to whoever registered its `BusinessShortCode`.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::db::{Reader, WriteTx, dispatch, dispatch_tx};
use crate::types::Id;

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Shortcode {
    pub shortcode: String,
    pub created_at: DateTime<Utc>,
}

/// Registers `shortcode` for `landlord`; one already registered (by anyone)
/// is a violation of `Constraint::Shortcode`.
pub async fn insert(
    tx: &mut WriteTx,
    landlord: Id,
    shortcode: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<Shortcode> {
    dispatch_tx!(tx, conn => sqlx::query_as(
        "INSERT INTO mpesa_shortcodes (shortcode, landlord_id, created_at) VALUES ($1, $2, $3) \
         RETURNING shortcode, created_at",
    )
    .bind(shortcode)
    .bind(landlord)
    .bind(now)
    .fetch_one(conn)
    .await)
}

pub async fn list(db: &Reader, landlord: Id) -> sqlx::Result<Vec<Shortcode>> {
    dispatch!(db.pool(), p => sqlx::query_as(
        "SELECT shortcode, created_at FROM mpesa_shortcodes WHERE landlord_id = $1 ORDER BY shortcode",
    )
    .bind(landlord)
    .fetch_all(p)
    .await)
}

/// The landlord who registered `shortcode`.
pub async fn landlord_of(tx: &mut WriteTx, shortcode: &str) -> sqlx::Result<Option<Id>> {
    dispatch_tx!(tx, conn => sqlx::query_scalar(
        "SELECT landlord_id FROM mpesa_shortcodes WHERE shortcode = $1",
    )
    .bind(shortcode)
    .fetch_optional(conn)
    .await)
}
