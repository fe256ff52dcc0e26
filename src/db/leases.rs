//! Leases: a tenant renting a unit. At most one `active` lease per unit.

use chrono::NaiveDate;
use serde::Serialize;

use crate::db::page::PageRequest;
use crate::db::{Reader, WriteTx, dialect, dispatch, dispatch_tx};
use crate::types::{Id, LeaseStatus, Money, Period, TenantStatus};

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Lease {
    pub id: Id,
    pub property_id: Id,
    pub unit_id: Id,
    pub tenant_id: Id,
    pub rent: Money,
    pub deposit: Money,
    pub due_day: i32,
    pub grace_days: i32,
    pub start_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
    pub status: LeaseStatus,
    pub account_ref: String,
}

#[derive(Debug, Clone)]
pub struct NewLease {
    pub unit_id: Id,
    pub tenant_id: Id,
    pub rent: Money,
    pub deposit: Money,
    pub due_day: i32,
    pub grace_days: i32,
    pub start_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
    pub account_ref: String,
}

/// What must hold before a lease is created, read in one statement inside the
/// write transaction. `None` when the unit is not the landlord's.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LeasePreconditions {
    pub off_market: bool,
    /// `None` when the tenant is not the landlord's.
    pub tenant_status: Option<TenantStatus>,
    pub occupied: bool,
}

/// A lease as the charge run needs it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct BillableLease {
    pub id: Id,
    pub landlord_id: Id,
    pub property_id: Id,
    pub rent: Money,
    pub due_day: i32,
}

/// The owner of an M-Pesa account reference.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LeaseOwner {
    pub id: Id,
    pub landlord_id: Id,
    pub property_id: Id,
    pub due_day: i32,
}

const COLUMNS: &str = "id, property_id, unit_id, tenant_id, rent, deposit, due_day, grace_days, \
                       start_date, end_date, status, account_ref";

pub async fn preconditions(
    tx: &mut WriteTx,
    landlord: Id,
    unit: Id,
    tenant: Id,
) -> sqlx::Result<Option<LeasePreconditions>> {
    dispatch_tx!(tx, conn => sqlx::query_as(
        "SELECT u.off_market, \
                (SELECT t.status FROM tenants t WHERE t.id = $2 AND t.landlord_id = $3) AS tenant_status, \
                EXISTS (SELECT 1 FROM leases l WHERE l.unit_id = u.id AND l.status = 'active') AS occupied \
         FROM units u WHERE u.id = $1 AND u.landlord_id = $3",
    )
    .bind(unit)
    .bind(tenant)
    .bind(landlord)
    .fetch_optional(conn)
    .await)
}

/// Inserts the lease; the unit's property and landlord come from the unit row.
pub async fn insert(
    tx: &mut WriteTx,
    landlord: Id,
    lease: &NewLease,
) -> sqlx::Result<Option<Lease>> {
    let sql = format!(
        "INSERT INTO leases (landlord_id, property_id, unit_id, tenant_id, rent, deposit, due_day, \
                             grace_days, start_date, end_date, status, account_ref) \
         SELECT landlord_id, property_id, id, $3, $4, $5, $6, $7, $8, $9, 'active', $10 \
         FROM units WHERE id = $1 AND landlord_id = $2 \
         RETURNING {COLUMNS}"
    );
    let lease: Option<Lease> = dispatch_tx!(tx, conn => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(lease.unit_id)
        .bind(landlord)
        .bind(lease.tenant_id)
        .bind(lease.rent)
        .bind(lease.deposit)
        .bind(lease.due_day)
        .bind(lease.grace_days)
        .bind(lease.start_date)
        .bind(lease.end_date)
        .bind(&lease.account_ref)
        .fetch_optional(conn)
        .await)?;
    touch_occupancy(tx, landlord, lease.as_ref());
    Ok(lease)
}

/// A lease's status counts in its property's and tenant's occupancy rows.
fn touch_occupancy(tx: &mut WriteTx, landlord: Id, lease: Option<&Lease>) {
    if let Some(lease) = lease {
        let rollups = tx.rollups();
        rollups.touch_occupancy(landlord, lease.property_id, Some(lease.tenant_id));
    }
}

/// Changes the terms that may change during a lease, and ends it when
/// `status` is `ended` (which frees the unit).
pub async fn update(
    tx: &mut WriteTx,
    landlord: Id,
    id: Id,
    grace_days: i32,
    end_date: Option<NaiveDate>,
    status: LeaseStatus,
) -> sqlx::Result<Option<Lease>> {
    let sql = format!(
        "UPDATE leases SET grace_days = $3, end_date = $4, status = $5 \
         WHERE id = $1 AND landlord_id = $2 RETURNING {COLUMNS}"
    );
    let lease: Option<Lease> = dispatch_tx!(tx, conn => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(landlord)
        .bind(grace_days)
        .bind(end_date)
        .bind(status)
        .fetch_optional(conn)
        .await)?;
    touch_occupancy(tx, landlord, lease.as_ref());
    Ok(lease)
}

pub async fn get(db: &Reader, landlord: Id, id: Id) -> sqlx::Result<Option<Lease>> {
    let sql = format!("SELECT {COLUMNS} FROM leases WHERE id = $1 AND landlord_id = $2");
    dispatch!(db.pool(), p => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(landlord)
        .fetch_optional(p)
        .await)
}

/// The lease row, locked until the write transaction ends (read-modify-write).
pub async fn get_for_update(tx: &mut WriteTx, landlord: Id, id: Id) -> sqlx::Result<Option<Lease>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM leases WHERE id = $1 AND landlord_id = $2{}",
        dialect::for_update(tx)
    );
    dispatch_tx!(tx, conn => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(landlord)
        .fetch_optional(conn)
        .await)
}

pub async fn list(
    db: &Reader,
    landlord: Id,
    status: Option<LeaseStatus>,
    page: PageRequest,
) -> sqlx::Result<Vec<Lease>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM leases WHERE landlord_id = $1 AND ($2 IS NULL OR status = $2) \
         AND id > $3 ORDER BY id LIMIT $4"
    );
    dispatch!(db.pool(), p => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(landlord)
        .bind(status)
        .bind(page.after_id())
        .bind(page.fetch_limit())
        .fetch_all(p)
        .await)
}

/// The landlord's lease with this account reference (stored normalised, so
/// pass it through `validate::account_ref`).
pub async fn owner_of_account(
    tx: &mut WriteTx,
    landlord: Id,
    account_ref: &str,
) -> sqlx::Result<Option<LeaseOwner>> {
    dispatch_tx!(tx, conn => sqlx::query_as(
        "SELECT id, landlord_id, property_id, due_day FROM leases \
         WHERE landlord_id = $1 AND account_ref = $2",
    )
    .bind(landlord)
    .bind(account_ref)
    .fetch_optional(conn)
    .await)
}

/// Any landlord's lease (an admin allocating a payment nobody claimed).
pub async fn owner_any(tx: &mut WriteTx, id: Id) -> sqlx::Result<Option<LeaseOwner>> {
    dispatch_tx!(tx, conn => sqlx::query_as(
        "SELECT id, landlord_id, property_id, due_day FROM leases WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(conn)
    .await)
}

pub async fn owner(tx: &mut WriteTx, landlord: Id, id: Id) -> sqlx::Result<Option<LeaseOwner>> {
    dispatch_tx!(tx, conn => sqlx::query_as(
        "SELECT id, landlord_id, property_id, due_day FROM leases WHERE id = $1 AND landlord_id = $2",
    )
    .bind(id)
    .bind(landlord)
    .fetch_optional(conn)
    .await)
}

/// Leases that owe rent for `period`: those whose term overlaps the month.
/// A lease that ended is still billed for the months it covered, so a late
/// charge run is still right.
pub async fn billable(
    tx: &mut WriteTx,
    landlord: Option<Id>,
    period: Period,
) -> sqlx::Result<Vec<BillableLease>> {
    dispatch_tx!(tx, conn => sqlx::query_as(
        "SELECT id, landlord_id, property_id, rent, due_day FROM leases \
         WHERE ($1 IS NULL OR landlord_id = $1) AND start_date <= $2 \
           AND (end_date IS NULL OR end_date >= $3) \
           AND (status = 'active' OR end_date IS NOT NULL) \
         ORDER BY id",
    )
    .bind(landlord)
    .bind(period.last_day())
    .bind(period.first_day())
    .fetch_all(conn)
    .await)
}

/// An active lease as a person picks it: property, unit and tenant.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ActiveLabel {
    pub lease_id: Id,
    pub property: String,
    pub unit: String,
    pub tenant: String,
}

/// The landlord's active leases, by property and unit (the web app's
/// payment form).
pub async fn active_labels(db: &Reader, landlord: Id) -> sqlx::Result<Vec<ActiveLabel>> {
    dispatch!(db.pool(), p => sqlx::query_as(
        "SELECT l.id AS lease_id, p.name AS property, u.label AS unit, t.name AS tenant \
         FROM leases l JOIN properties p ON p.id = l.property_id \
         JOIN units u ON u.id = l.unit_id JOIN tenants t ON t.id = l.tenant_id \
         WHERE l.landlord_id = $1 AND l.status = 'active' \
         ORDER BY p.name, u.label, l.id LIMIT 2000",
    )
    .bind(landlord)
    .fetch_all(p)
    .await)
}

/// A lease as the web app lists it: with its property, unit and tenant.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LeaseRow {
    pub id: Id,
    pub property: String,
    pub unit: String,
    pub tenant_id: Id,
    pub tenant: String,
    pub rent: Money,
    pub start_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
    pub status: LeaseStatus,
}

/// Which leases [`rows`] lists: each field, when given, narrows the list.
#[derive(Debug, Clone, Copy, Default)]
pub struct RowFilter {
    pub lease: Option<Id>,
    pub tenant: Option<Id>,
    pub status: Option<LeaseStatus>,
}

/// The landlord's leases that pass `filter`, active ones first, by property
/// and unit; at most 2,000.
pub async fn rows(db: &Reader, landlord: Id, filter: RowFilter) -> sqlx::Result<Vec<LeaseRow>> {
    dispatch!(db.pool(), p => sqlx::query_as(
        "SELECT l.id, p.name AS property, u.label AS unit, l.tenant_id, t.name AS tenant, \
                l.rent, l.start_date, l.end_date, l.status \
         FROM leases l JOIN properties p ON p.id = l.property_id \
         JOIN units u ON u.id = l.unit_id JOIN tenants t ON t.id = l.tenant_id \
         WHERE l.landlord_id = $1 AND ($2 IS NULL OR l.tenant_id = $2) \
         AND ($3 IS NULL OR l.status = $3) AND ($4 IS NULL OR l.id = $4) \
         ORDER BY l.status, p.name, u.label, l.id LIMIT 2000",
    )
    .bind(landlord)
    .bind(filter.tenant)
    .bind(filter.status)
    .bind(filter.lease)
    .fetch_all(p)
    .await)
}
