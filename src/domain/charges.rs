//! Writing charges, and the monthly rent run.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::cache::{Cache, Data};
use crate::db::{Database, charges, charges::Charge, charges::NewCharge, leases};
use crate::domain::properties::duplicate;
use crate::domain::{ChargeKind, Id, Money, Period, validate};
use crate::error::{AppError, AppResult};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateCharge {
    pub lease_id: Id,
    pub period: Period,
    pub kind: ChargeKind,
    pub amount: Money,
    /// Defaults to the lease's due day in `period`.
    pub due_date: Option<NaiveDate>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateCharge {
    pub void: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunCharges {
    pub period: Period,
}

/// What a charge run did.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    pub period: Period,
    /// Leases that owe rent for the period.
    pub leases: u64,
    /// Charges created now; 0 when the run had already been done.
    pub created: u64,
}

pub async fn create(
    db: &Database,
    cache: &Cache,
    landlord: Id,
    input: CreateCharge,
) -> AppResult<Charge> {
    let amount = validate::positive("amount", input.amount)?;
    let mut tx = db.writer().begin().await?;
    let lease = leases::owner(&mut tx, landlord, input.lease_id)
        .await?
        .ok_or(AppError::NotFound("lease"))?;
    let charge = NewCharge {
        lease_id: lease.id,
        period: input.period,
        kind: input.kind,
        amount,
        due_date: input
            .due_date
            .unwrap_or_else(|| input.period.day(lease.due_day.unsigned_abs())),
    };
    let created = charges::insert(&mut tx, landlord, &charge)
        .await
        .map_err(|err| {
            duplicate(
                err,
                "duplicate_charge",
                "this lease already has rent for that period",
            )
        })?
        .ok_or(AppError::NotFound("lease"))?;
    tx.commit().await?;
    cache.invalidate(landlord, &[Data::Charges]).await;
    Ok(created)
}

pub async fn set_void(
    db: &Database,
    cache: &Cache,
    landlord: Id,
    id: Id,
    input: UpdateCharge,
) -> AppResult<Charge> {
    let mut tx = db.writer().begin().await?;
    let charge = charges::set_void(&mut tx, landlord, id, input.void)
        .await?
        .ok_or(AppError::NotFound("charge"))?;
    tx.commit().await?;
    cache.invalidate(landlord, &[Data::Charges]).await;
    Ok(charge)
}

/// Creates `period`'s rent charges for one landlord (or all when `None`),
/// idempotently, in one transaction.
pub async fn run(
    db: &Database,
    cache: &Cache,
    landlord: Option<Id>,
    period: Period,
) -> AppResult<RunSummary> {
    let mut tx = db.writer().begin().await?;
    let billable = leases::billable(&mut tx, landlord, period).await?;
    let created = charges::insert_rent(&mut tx, period, &billable).await?;
    tx.commit().await?;
    match landlord {
        Some(landlord) => cache.invalidate(landlord, &[Data::Charges]).await,
        None => cache.invalidate_everyone(&[Data::Charges]).await,
    }
    tracing::info!(%period, leases = billable.len(), created, "charge run");
    Ok(RunSummary {
        period,
        leases: billable.len() as u64,
        created,
    })
}
