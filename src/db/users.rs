//! Users: landlords and admins.

use serde::Serialize;

use crate::db::{Reader, WriteTx, dispatch, dispatch_tx};
use crate::types::{Id, Role};

/// A user as the API shows it: never with the password hash.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct User {
    pub id: Id,
    pub email: String,
    pub name: String,
    pub phone: Option<String>,
    pub role: Role,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Credentials {
    pub id: Id,
    pub password_hash: String,
}

pub struct NewUser<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub phone: Option<&'a str>,
    pub role: Role,
    pub password_hash: &'a str,
}

pub async fn insert(tx: &mut WriteTx, user: &NewUser<'_>) -> sqlx::Result<User> {
    dispatch_tx!(tx, conn => sqlx::query_as(
        "INSERT INTO users (email, name, phone, role, password_hash) VALUES ($1, $2, $3, $4, $5) \
         RETURNING id, email, name, phone, role",
    )
    .bind(user.email.to_lowercase())
    .bind(user.name)
    .bind(user.phone)
    .bind(user.role)
    .bind(user.password_hash)
    .fetch_one(conn)
    .await)
}

pub async fn credentials_by_email(db: &Reader, email: &str) -> sqlx::Result<Option<Credentials>> {
    dispatch!(db.pool(), p => sqlx::query_as("SELECT id, password_hash FROM users WHERE email = $1")
        .bind(email.to_lowercase())
        .fetch_optional(p)
        .await)
}

pub async fn get(db: &Reader, id: Id) -> sqlx::Result<Option<User>> {
    dispatch!(db.pool(), p => sqlx::query_as(
        "SELECT id, email, name, phone, role FROM users WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(p)
    .await)
}

/// Whether `id` is a landlord: admins acting for a landlord must name a real one.
pub async fn is_landlord(db: &Reader, id: Id) -> sqlx::Result<bool> {
    let found: Option<i64> = dispatch!(db.pool(), p => sqlx::query_scalar(
        "SELECT id FROM users WHERE id = $1 AND role = 'landlord'",
    )
    .bind(id)
    .fetch_optional(p)
    .await)?;
    Ok(found.is_some())
}

pub async fn count(db: &Reader) -> sqlx::Result<i64> {
    dispatch!(db.pool(), p => sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(p).await)
}
