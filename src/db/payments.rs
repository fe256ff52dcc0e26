//! Payments: money received, by M-Pesa, cash or bank.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::db::page::PageRequest;
use crate::db::rollups::{CreatedPayment, PaymentFacts};
use crate::db::{Reader, WriteTx, dialect, dispatch, dispatch_tx, leases::LeaseOwner};
use crate::types::{Id, Money, PaymentMethod, PaymentStatus};

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Payment {
    pub id: Id,
    pub lease_id: Option<Id>,
    pub amount: Money,
    pub method: PaymentMethod,
    pub status: PaymentStatus,
    pub reference: Option<String>,
    /// Safaricom's receipt (TransID) once a C2B confirmation recorded or
    /// confirmed this payment; `None` for payments only entered by hand.
    pub mpesa_receipt: Option<String>,
    pub account_ref: Option<String>,
    pub payer: Option<String>,
    pub notes: Option<String>,
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
    pub mpesa_receipt: Option<String>,
    pub account_ref: Option<String>,
    pub payer: Option<String>,
    pub notes: Option<String>,
    pub paid_at: DateTime<Utc>,
    /// `paid_at`'s calendar date in the service time zone.
    pub paid_on: NaiveDate,
    pub received_at: DateTime<Utc>,
    /// A C2B confirmation's body as received.
    pub raw_payload: Option<String>,
}

const COLUMNS: &str = "id, lease_id, amount, method, status, reference, mpesa_receipt, \
                       account_ref, payer, notes, paid_at, received_at";

/// A payment as written, with what the roll-ups need of it.
#[derive(sqlx::FromRow)]
struct Stored {
    #[sqlx(flatten)]
    payment: Payment,
    #[sqlx(flatten)]
    facts: PaymentFacts,
}

impl Stored {
    /// The payment as just created, for the roll-ups and the patches.
    fn created(&self) -> CreatedPayment {
        CreatedPayment {
            facts: self.facts.clone(),
            id: self.payment.id,
            reference: self.payment.reference.clone(),
            payer: self.payment.payer.clone(),
        }
    }
}

/// The roll-up facts beyond [`COLUMNS`], for `RETURNING`.
const FACTS: &str = "landlord_id, property_id, paid_on";

const INSERT_INTO: &str = "INSERT INTO payments (landlord_id, property_id, lease_id, amount, \
                           method, status, reference, mpesa_receipt, account_ref, payer, notes, \
                           paid_at, paid_on, received_at, raw_payload)";
const VALUES: &str = "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)";

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
            .bind(&$p.mpesa_receipt)
            .bind(&$p.account_ref)
            .bind(&$p.payer)
            .bind(&$p.notes)
            .bind($p.paid_at)
            .bind($p.paid_on)
            .bind($p.received_at)
            .bind(&$p.raw_payload)
    };
}

/// Inserts a payment; a reference the landlord used before for the same
/// method is a unique violation (`Constraint::PaymentReference`).
pub async fn insert(tx: &mut WriteTx, payment: &NewPayment) -> sqlx::Result<Payment> {
    inserted(tx, format!("{INSERT_INTO} {VALUES}"), payment)
        .await?
        .ok_or(sqlx::Error::RowNotFound)
}

/// Inserts a payment to its lease (`lease_id`), which must be its
/// landlord's, the property taken from the lease in the same statement (on
/// PostgreSQL one round trip fewer than looking the lease up first); `None`,
/// with nothing written, when the lease is not the landlord's. The payment's
/// own `property_id`, if set, wins.
pub async fn insert_for_lease(
    tx: &mut WriteTx,
    payment: &NewPayment,
) -> sqlx::Result<Option<Payment>> {
    let sql = format!(
        "{INSERT_INTO} \
         SELECT $1, COALESCE($2, l.property_id), l.id, $4, $5, $6, $7, $8, $9, $10, $11, \
                $12, $13, $14, $15 \
         FROM leases l WHERE l.id = $3 AND l.landlord_id = $1"
    );
    inserted(tx, sql, payment).await
}

/// Inserts a payment unless it collides with one already stored (the same
/// M-Pesa receipt, or the same landlord's reference); `None` means nothing
/// was written. Safe under concurrent duplicates: the unique indexes decide,
/// not a prior SELECT.
pub async fn insert_if_new(
    tx: &mut WriteTx,
    payment: &NewPayment,
) -> sqlx::Result<Option<Payment>> {
    let sql = format!("{INSERT_INTO} {VALUES} ON CONFLICT DO NOTHING");
    inserted(tx, sql, payment).await
}

/// Runs `insert` (an insert of `payment` binding it as `$1`…`$15`) and
/// records the stored payment, if any, in the write's roll-ups.
async fn inserted(
    tx: &mut WriteTx,
    insert: String,
    payment: &NewPayment,
) -> sqlx::Result<Option<Payment>> {
    let sql = format!("{insert} RETURNING {COLUMNS}, {FACTS}");
    let stored: Option<Stored> = dispatch_tx!(tx, conn => bind_new_payment!(sqlx::query_as(sqlx::AssertSqlSafe(sql)), payment)
        .fetch_optional(conn)
        .await)?;
    Ok(stored.map(|stored| {
        tx.rollups().created_payment(stored.created());
        stored.payment
    }))
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
         RETURNING {COLUMNS}, {FACTS}"
    );
    let stored: Option<Stored> = dispatch_tx!(tx, conn => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(landlord)
        .bind(from)
        .bind(to)
        .fetch_optional(conn)
        .await)?;
    Ok(stored.map(|stored| {
        let before = PaymentFacts {
            status: from,
            ..stored.facts.clone()
        };
        tx.rollups().payment(Some(&before), Some(&stored.facts));
        stored.payment
    }))
}

/// What the roll-ups know of a payment now (before a change that cannot
/// say what it changed).
async fn facts(tx: &mut WriteTx, id: Id) -> sqlx::Result<Option<PaymentFacts>> {
    dispatch_tx!(tx, conn => sqlx::query_as(
        "SELECT landlord_id, property_id, lease_id, amount, method, status, paid_on \
         FROM payments WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(conn)
    .await)
}

/// Whether a C2B confirmation with this receipt (TransID) is stored.
pub async fn receipt_exists(tx: &mut WriteTx, receipt: &str) -> sqlx::Result<bool> {
    dispatch_tx!(tx, conn => sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM payments WHERE mpesa_receipt = $1)",
    )
    .bind(receipt)
    .fetch_one(conn)
    .await)
}

/// The landlord's own M-Pesa payment entered by hand with this reference and
/// not yet confirmed by a C2B receipt, locked (a receipt reconciles with it).
pub async fn manual_mpesa_for_update(
    tx: &mut WriteTx,
    landlord: Id,
    reference: &str,
) -> sqlx::Result<Option<Payment>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM payments WHERE landlord_id = $1 AND method = 'mpesa' \
         AND reference = $2 AND mpesa_receipt IS NULL{}",
        dialect::for_update(tx)
    );
    dispatch_tx!(tx, conn => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(landlord)
        .bind(reference)
        .fetch_optional(conn)
        .await)
}

/// Marks a hand-entered payment as confirmed by M-Pesa receipt `receipt`.
pub async fn reconcile(
    tx: &mut WriteTx,
    id: Id,
    receipt: &str,
    status: PaymentStatus,
    raw_payload: &str,
) -> sqlx::Result<Payment> {
    let before = facts(tx, id).await?;
    let sql = format!(
        "UPDATE payments SET mpesa_receipt = $2, status = $3, raw_payload = $4 WHERE id = $1 \
         RETURNING {COLUMNS}, {FACTS}"
    );
    let stored: Stored = dispatch_tx!(tx, conn => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(receipt)
        .bind(status)
        .bind(raw_payload)
        .fetch_one(conn)
        .await)?;
    tx.rollups().payment(before.as_ref(), Some(&stored.facts));
    Ok(stored.payment)
}

/// A payment without a lease, with its landlord (`None`: nobody's shortcode).
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Unallocated {
    pub landlord_id: Option<Id>,
    #[serde(flatten)]
    #[sqlx(flatten)]
    pub payment: Payment,
}

/// Gives an unallocated payment of `landlord` (any landlord's, or nobody's,
/// when `None`: an admin) its lease, and the status it gets with it. `None`
/// when no such payment is still unallocated.
pub async fn allocate(
    tx: &mut WriteTx,
    landlord: Option<Id>,
    id: Id,
    lease: &LeaseOwner,
    status: PaymentStatus,
) -> sqlx::Result<Option<Payment>> {
    let before = facts(tx, id).await?;
    let sql = format!(
        "UPDATE payments SET lease_id = $3, property_id = $4, landlord_id = $5, status = $6 \
         WHERE id = $1 AND ($2 IS NULL OR landlord_id = $2) AND lease_id IS NULL \
         RETURNING {COLUMNS}, {FACTS}"
    );
    let stored: Option<Stored> = dispatch_tx!(tx, conn => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(landlord)
        .bind(lease.id)
        .bind(lease.property_id)
        .bind(lease.landlord_id)
        .bind(status)
        .fetch_optional(conn)
        .await)?;
    Ok(stored.map(|stored| {
        tx.rollups().payment(before.as_ref(), Some(&stored.facts));
        stored.payment
    }))
}

/// Any payment with its landlord, locked (an admin's allocation).
pub async fn get_any_for_update(tx: &mut WriteTx, id: Id) -> sqlx::Result<Option<Unallocated>> {
    let sql = format!(
        "SELECT landlord_id, {COLUMNS} FROM payments WHERE id = $1{}",
        dialect::for_update(tx)
    );
    dispatch_tx!(tx, conn => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(conn)
        .await)
}

/// Every payment without a lease, across landlords (the admin's suspense list).
pub async fn unallocated(db: &Reader, page: PageRequest) -> sqlx::Result<Vec<Unallocated>> {
    let sql = format!(
        "SELECT landlord_id, {COLUMNS} FROM payments WHERE lease_id IS NULL AND id > $1 \
         ORDER BY id LIMIT $2"
    );
    dispatch!(db.pool(), p => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(page.after_id())
        .bind(page.fetch_limit())
        .fetch_all(p)
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

/// [`ListFilter`] in SQL, on the parameters `$2` to `$5`.
const FILTER: &str = "AND ($2 IS NULL OR lease_id = $2) AND ($3 IS NULL OR status = $3) \
                      AND ($4 IS NULL OR method = $4) AND ($5 = FALSE OR lease_id IS NULL)";

/// Which of a landlord's payments a list shows.
#[derive(Debug, Clone, Copy, Default)]
pub struct ListFilter {
    pub lease: Option<Id>,
    pub status: Option<PaymentStatus>,
    pub method: Option<PaymentMethod>,
    /// Only those without a lease (suspense).
    pub unallocated: bool,
}

/// The landlord's `limit` most recently recorded payments that pass
/// `filter` (the web app's "recent payments"): newest id first, which walks
/// the (landlord, id) index backwards instead of sorting a landlord's whole
/// history by date.
pub async fn recent(
    db: &Reader,
    landlord: Id,
    filter: ListFilter,
    limit: i64,
) -> sqlx::Result<Vec<Payment>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM payments WHERE landlord_id = $1 {FILTER} ORDER BY id DESC LIMIT $6"
    );
    dispatch!(db.pool(), p => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(landlord)
        .bind(filter.lease)
        .bind(filter.status)
        .bind(filter.method)
        .bind(filter.unallocated)
        .bind(limit)
        .fetch_all(p)
        .await)
}

pub async fn list(
    db: &Reader,
    landlord: Id,
    filter: ListFilter,
    page: PageRequest,
) -> sqlx::Result<Vec<Payment>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM payments WHERE landlord_id = $1 {FILTER} \
         AND id > $6 ORDER BY id LIMIT $7"
    );
    dispatch!(db.pool(), p => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(landlord)
        .bind(filter.lease)
        .bind(filter.status)
        .bind(filter.method)
        .bind(filter.unallocated)
        .bind(page.after_id())
        .bind(page.fetch_limit())
        .fetch_all(p)
        .await)
}
