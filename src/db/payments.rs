//! Payments: money received, by M-Pesa, cash or bank.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::db::page::PageRequest;
use crate::db::{Reader, WriteTx, dialect, dispatch, dispatch_tx};
use crate::types::{Id, Money, PaymentMethod, PaymentStatus};

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Payment {
    pub id: Id,
    pub lease_id: Option<Id>,
    pub amount: Money,
    pub method: PaymentMethod,
    pub status: PaymentStatus,
    pub reference: Option<String>,
    pub account_ref: Option<String>,
    pub payer: Option<String>,
    pub paid_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NewPayment {
    /// `None` only for an M-Pesa payment nobody could be matched to (suspense).
    pub landlord_id: Option<Id>,
    pub property_id: Option<Id>,
    pub lease_id: Option<Id>,
    pub amount: Money,
    pub method: PaymentMethod,
    pub status: PaymentStatus,
    pub reference: Option<String>,
    pub account_ref: Option<String>,
    pub payer: Option<String>,
    pub paid_at: DateTime<Utc>,
    /// `paid_at`'s calendar date in the service time zone.
    pub paid_on: NaiveDate,
    pub received_at: DateTime<Utc>,
}

const COLUMNS: &str =
    "id, lease_id, amount, method, status, reference, account_ref, payer, paid_at, received_at";

const INSERT: &str = "INSERT INTO payments (landlord_id, property_id, lease_id, amount, method, \
                      status, reference, account_ref, payer, paid_at, paid_on, received_at) \
                      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";

macro_rules! bind_new_payment {
    ($query:expr, $p:expr) => {
        $query
            .bind($p.landlord_id)
            .bind($p.property_id)
            .bind($p.lease_id)
            .bind($p.amount)
            .bind($p.method)
            .bind($p.status)
            .bind(&$p.reference)
            .bind(&$p.account_ref)
            .bind(&$p.payer)
            .bind($p.paid_at)
            .bind($p.paid_on)
            .bind($p.received_at)
    };
}

/// Inserts a payment; a reused reference for the same method is a unique violation.
pub async fn insert(tx: &mut WriteTx, payment: &NewPayment) -> sqlx::Result<Payment> {
    let sql = format!("{INSERT} RETURNING {COLUMNS}");
    dispatch_tx!(tx, conn => bind_new_payment!(sqlx::query_as(sqlx::AssertSqlSafe(sql)), payment)
        .fetch_one(conn)
        .await)
}

/// Inserts a payment unless one with the same method and reference exists;
/// `None` means it was a duplicate and nothing was written. Safe under
/// concurrent duplicates: the unique index decides, not a prior SELECT.
pub async fn insert_if_new(
    tx: &mut WriteTx,
    payment: &NewPayment,
) -> sqlx::Result<Option<Payment>> {
    let sql = format!("{INSERT} ON CONFLICT (method, reference) DO NOTHING RETURNING {COLUMNS}");
    dispatch_tx!(tx, conn => bind_new_payment!(sqlx::query_as(sqlx::AssertSqlSafe(sql)), payment)
        .fetch_optional(conn)
        .await)
}

/// Moves a payment to `to` if its status is one of `from`. Returns the row,
/// or `None` if it is not the landlord's; the caller compares the status to
/// learn whether the transition happened.
pub async fn set_status(
    tx: &mut WriteTx,
    landlord: Id,
    id: Id,
    from: PaymentStatus,
    to: PaymentStatus,
) -> sqlx::Result<Option<Payment>> {
    let sql = format!(
        "UPDATE payments SET status = $4 WHERE id = $1 AND landlord_id = $2 AND status = $3 \
         RETURNING {COLUMNS}"
    );
    dispatch_tx!(tx, conn => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(landlord)
        .bind(from)
        .bind(to)
        .fetch_optional(conn)
        .await)
}

pub async fn get_for_update(
    tx: &mut WriteTx,
    landlord: Id,
    id: Id,
) -> sqlx::Result<Option<Payment>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM payments WHERE id = $1 AND landlord_id = $2{}",
        dialect::for_update(tx)
    );
    dispatch_tx!(tx, conn => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(landlord)
        .fetch_optional(conn)
        .await)
}

pub async fn get(db: &Reader, landlord: Id, id: Id) -> sqlx::Result<Option<Payment>> {
    let sql = format!("SELECT {COLUMNS} FROM payments WHERE id = $1 AND landlord_id = $2");
    dispatch!(db.pool(), p => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(landlord)
        .fetch_optional(p)
        .await)
}

pub async fn list(
    db: &Reader,
    landlord: Id,
    lease: Option<Id>,
    status: Option<PaymentStatus>,
    page: PageRequest,
) -> sqlx::Result<Vec<Payment>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM payments WHERE landlord_id = $1 AND ($2 IS NULL OR lease_id = $2) \
         AND ($3 IS NULL OR status = $3) AND id > $4 ORDER BY id LIMIT $5"
    );
    dispatch!(db.pool(), p => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(landlord)
        .bind(lease)
        .bind(status)
        .bind(page.after_id())
        .bind(page.fetch_limit())
        .fetch_all(p)
        .await)
}

/// The landlord who registered an M-Pesa shortcode, for payments whose
/// account reference matches no lease.
pub async fn landlord_for_shortcode(tx: &mut WriteTx, shortcode: &str) -> sqlx::Result<Option<Id>> {
    dispatch_tx!(tx, conn => sqlx::query_scalar(
        "SELECT id FROM users WHERE mpesa_shortcode = $1 AND role = 'landlord'",
    )
    .bind(shortcode)
    .fetch_optional(conn)
    .await)
}
