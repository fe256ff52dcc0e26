//! Charges: what a lease owes (rent, deposit, late fees, other).

use chrono::NaiveDate;
use serde::Serialize;

use crate::db::leases::BillableLease;
use crate::db::page::PageRequest;
use crate::db::rollups::ChargeFacts;
use crate::db::{Reader, WriteTx, dialect, dispatch, dispatch_tx};
use crate::types::{ChargeKind, Id, Money, Period};

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Charge {
    pub id: Id,
    pub lease_id: Id,
    pub period: Period,
    pub kind: ChargeKind,
    pub amount: Money,
    pub due_date: NaiveDate,
    pub void: bool,
}

#[derive(Debug, Clone)]
pub struct NewCharge {
    pub lease_id: Id,
    pub period: Period,
    pub kind: ChargeKind,
    pub amount: Money,
    pub due_date: NaiveDate,
}

/// Rows per multi-row INSERT of the charge run: well under SQLite's 32,766
/// bound parameters and PostgreSQL's 65,535.
const INSERT_BATCH: usize = 500;

const COLUMNS: &str = "id, lease_id, period, kind, amount, due_date, void";

/// A charge as written, with what the roll-ups need of it.
#[derive(sqlx::FromRow)]
struct Stored {
    #[sqlx(flatten)]
    charge: Charge,
    #[sqlx(flatten)]
    facts: ChargeFacts,
}

/// [`COLUMNS`] and the roll-up facts, for `RETURNING`.
const STORED: &str = "id, lease_id, period, kind, amount, due_date, void, landlord_id, property_id";

/// Inserts a charge on one of the landlord's leases; `None` if the lease is not theirs.
pub async fn insert(
    tx: &mut WriteTx,
    landlord: Id,
    charge: &NewCharge,
) -> sqlx::Result<Option<Charge>> {
    let sql = format!(
        "INSERT INTO charges (landlord_id, property_id, lease_id, period, kind, amount, due_date) \
         SELECT landlord_id, property_id, id, $3, $4, $5, $6 FROM leases \
         WHERE id = $1 AND landlord_id = $2 RETURNING {STORED}"
    );
    let stored: Option<Stored> = dispatch_tx!(tx, conn => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(charge.lease_id)
        .bind(landlord)
        .bind(charge.period)
        .bind(charge.kind)
        .bind(charge.amount)
        .bind(charge.due_date)
        .fetch_optional(conn)
        .await)?;
    Ok(stored.map(|stored| {
        tx.rollups().charge(None, Some(&stored.facts));
        stored.charge
    }))
}

/// Voids (or un-voids) a charge: charges are never deleted.
pub async fn set_void(
    tx: &mut WriteTx,
    landlord: Id,
    id: Id,
    void: bool,
) -> sqlx::Result<Option<Charge>> {
    let sql = format!(
        "UPDATE charges SET void = $3 WHERE id = $1 AND landlord_id = $2 AND void <> $3 \
         RETURNING {STORED}"
    );
    let changed: Option<Stored> = dispatch_tx!(tx, conn => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(landlord)
        .bind(void)
        .fetch_optional(conn)
        .await)?;
    if let Some(stored) = changed {
        let before = ChargeFacts {
            void: !void,
            ..stored.facts.clone()
        };
        tx.rollups().charge(Some(&before), Some(&stored.facts));
        return Ok(Some(stored.charge));
    }
    // Already so, or not the landlord's.
    let sql = format!("SELECT {COLUMNS} FROM charges WHERE id = $1 AND landlord_id = $2");
    dispatch_tx!(tx, conn => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(landlord)
        .fetch_optional(conn)
        .await)
}

pub async fn get(db: &Reader, landlord: Id, id: Id) -> sqlx::Result<Option<Charge>> {
    let sql = format!("SELECT {COLUMNS} FROM charges WHERE id = $1 AND landlord_id = $2");
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
    page: PageRequest,
) -> sqlx::Result<Vec<Charge>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM charges WHERE landlord_id = $1 AND ($2 IS NULL OR lease_id = $2) \
         AND id > $3 ORDER BY id LIMIT $4"
    );
    dispatch!(db.pool(), p => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(landlord)
        .bind(lease)
        .bind(page.after_id())
        .bind(page.fetch_limit())
        .fetch_all(p)
        .await)
}

/// Creates `period`'s rent charge for each lease that has none yet and returns
/// how many were created. Idempotent: the unique index on (lease, period) for
/// rent turns a repeat into nothing (`ON CONFLICT DO NOTHING`), even when two
/// runs race.
pub async fn insert_rent(
    tx: &mut WriteTx,
    period: Period,
    leases: &[BillableLease],
) -> sqlx::Result<u64> {
    let mut created = 0;
    for batch in leases.chunks(INSERT_BATCH) {
        let sql = format!(
            "INSERT INTO charges (landlord_id, property_id, lease_id, period, kind, amount, due_date) \
             VALUES {} ON CONFLICT (lease_id, period) WHERE kind = 'rent' DO NOTHING \
             RETURNING landlord_id, property_id, lease_id, amount, due_date, void",
            dialect::values_rows(tx.is_postgres(), batch.len(), 7)
        );
        let inserted: Vec<ChargeFacts> = dispatch_tx!(tx, conn => {
            let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql));
            for lease in batch {
                query = query
                    .bind(lease.landlord_id)
                    .bind(lease.property_id)
                    .bind(lease.id)
                    .bind(period)
                    .bind(ChargeKind::Rent)
                    .bind(lease.rent)
                    .bind(period.day(lease.due_day.unsigned_abs()));
            }
            query.fetch_all(conn).await
        })?;
        for facts in &inserted {
            tx.rollups().charge(None, Some(facts));
        }
        created += inserted.len() as u64;
    }
    Ok(created)
}
