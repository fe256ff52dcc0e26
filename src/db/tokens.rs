//! Bearer tokens, stored as SHA-256 hashes: a database leak yields no usable token.

use chrono::{DateTime, Utc};

use crate::db::{Reader, WriteTx, dispatch, dispatch_tx};
use crate::types::{Id, Role};

/// Who a valid token belongs to.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TokenOwner {
    pub user_id: Id,
    pub role: Role,
    pub expires_at: DateTime<Utc>,
}

pub async fn insert(
    tx: &mut WriteTx,
    user_id: Id,
    token_hash: &str,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> sqlx::Result<()> {
    dispatch_tx!(tx, conn => sqlx::query(
        "INSERT INTO api_tokens (user_id, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(user_id)
    .bind(token_hash)
    .bind(now)
    .bind(expires_at)
    .execute(conn)
    .await
    .map(drop))
}

pub async fn owner(
    db: &Reader,
    token_hash: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<Option<TokenOwner>> {
    dispatch!(db.pool(), p => sqlx::query_as(
        "SELECT u.id AS user_id, u.role, t.expires_at FROM api_tokens t JOIN users u ON u.id = t.user_id \
         WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND t.expires_at > $2",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(p)
    .await)
}

/// Revokes one token; returns whether it was live.
pub async fn revoke(tx: &mut WriteTx, token_hash: &str, now: DateTime<Utc>) -> sqlx::Result<bool> {
    let revoked = dispatch_tx!(tx, conn => sqlx::query(
        "UPDATE api_tokens SET revoked_at = $2 WHERE token_hash = $1 AND revoked_at IS NULL",
    )
    .bind(token_hash)
    .bind(now)
    .execute(conn)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(revoked > 0)
}
