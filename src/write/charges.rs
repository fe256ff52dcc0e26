//! Writing charges, and the monthly rent run.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::cache::Data;
use crate::db::{Constraint, charges, charges::Charge, charges::NewCharge, leases};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::types::{ChargeKind, Id, Money, Period, date};
use crate::write::{ResultExt, WritePath, validate};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCharge {
    pub lease_id: Id,
    pub period: Period,
    pub kind: ChargeKind,
    #[schema(minimum = 1, maximum = 1_000_000_000)]
    pub amount: Money,
    /// Defaults to the lease's due day in `period`.
    #[serde(default, deserialize_with = "date::strict_opt")]
    #[schema(pattern = r"^20[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")]
    pub due_date: Option<NaiveDate>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateCharge {
    pub void: bool,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunCharges {
    pub period: Period,
}

/// What a charge run did.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RunSummary {
    pub period: Period,
    /// Leases that owe rent for the period.
    pub leases: u64,
    /// Charges created now; 0 when the run had already been done.
    pub created: u64,
}

pub async fn create(path: &WritePath, landlord: Id, input: CreateCharge) -> AppResult<Charge> {
    let amount = validate::amount("amount", input.amount, path.max_amount())?;
    path.run_for(landlord, &[Data::Charges], async |write| {
        let lease = leases::owner(write.tx(), landlord, input.lease_id)
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
        charges::insert(write.tx(), landlord, &charge)
            .await
            .on_constraint(Constraint::OneRentPerPeriod, || {
                AppError::conflict(
                    ErrorCode::DuplicateCharge,
                    "this lease already has rent for that period",
                )
            })?
            .ok_or(AppError::NotFound("lease"))
    })
    .await
}

pub async fn set_void(
    path: &WritePath,
    landlord: Id,
    id: Id,
    input: UpdateCharge,
) -> AppResult<Charge> {
    path.run_for(landlord, &[Data::Charges], async |write| {
        charges::set_void(write.tx(), landlord, id, input.void)
            .await?
            .ok_or(AppError::NotFound("charge"))
    })
    .await
}

/// Creates `period`'s rent charges for one landlord (or all when `None`),
/// idempotently, in one transaction.
pub async fn run(path: &WritePath, landlord: Option<Id>, period: Period) -> AppResult<RunSummary> {
    let (leases, created) = path
        .run(async |write| {
            let billable = leases::billable(write.tx(), landlord, period).await?;
            let created = charges::insert_rent(write.tx(), period, &billable).await?;
            match landlord {
                Some(landlord) => write.touch(landlord, &[Data::Charges]),
                None => write.touch_everyone(&[Data::Charges]),
            }
            Ok((billable.len() as u64, created))
        })
        .await?;
    tracing::info!(%period, leases, created, "charge run");
    Ok(RunSummary {
        period,
        leases,
        created,
    })
}
