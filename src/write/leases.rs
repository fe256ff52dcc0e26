//! Writing leases: creation checks the unit and tenant, records the deposit
//! charge in the same transaction, and relies on the database for "one active
//! lease per unit" under concurrency.

use chrono::NaiveDate;
use rand::RngExt;
use serde::Deserialize;

use crate::cache::Data;
use crate::db::{
    Constraint, charges,
    charges::NewCharge,
    leases,
    leases::{Lease, NewLease},
};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::types::{ChargeKind, Id, LeaseStatus, Money, Period, TenantStatus, date};
use crate::write::{ResultExt, WritePath, validate};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateLease {
    pub unit_id: Id,
    pub tenant_id: Id,
    #[schema(minimum = 1, maximum = 1_000_000_000)]
    pub rent: Money,
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    pub deposit: Money,
    #[serde(default = "default_due_day")]
    pub due_day: i32,
    #[serde(default)]
    pub grace_days: i32,
    #[serde(deserialize_with = "date::strict")]
    #[schema(pattern = r"^20[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")]
    pub start_date: NaiveDate,
    #[serde(default, deserialize_with = "date::strict_opt")]
    #[schema(pattern = r"^20[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")]
    pub end_date: Option<NaiveDate>,
    pub account_ref: Option<String>,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateLease {
    pub grace_days: Option<i32>,
    #[serde(default, deserialize_with = "date::strict_opt")]
    #[schema(pattern = r"^20[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")]
    pub end_date: Option<NaiveDate>,
    /// `ended` ends the lease (end date defaults to today) and frees the unit.
    pub status: Option<LeaseStatus>,
}

fn default_due_day() -> i32 {
    1
}

fn check_terms(
    due_day: i32,
    grace_days: i32,
    start: NaiveDate,
    end: Option<NaiveDate>,
) -> AppResult<()> {
    if !(1..=28).contains(&due_day) {
        return Err(AppError::validation(
            ErrorCode::InvalidDueDay,
            "due_day must be between 1 and 28",
        ));
    }
    if !(0..=60).contains(&grace_days) {
        return Err(AppError::validation(
            ErrorCode::InvalidGraceDays,
            "grace_days must be between 0 and 60",
        ));
    }
    if end.is_some_and(|end| end < start) {
        return Err(AppError::validation(
            ErrorCode::InvalidDateRange,
            "end_date is before start_date",
        ));
    }
    Ok(())
}

/// A fresh account reference payers can type: `MF` and eight characters that
/// cannot be misread (no 0/O, 1/I).
fn generate_account_ref() -> String {
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
    let mut rng = rand::rng();
    let tail: String = (0..8)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect();
    format!("MF{tail}")
}

pub async fn create(path: &WritePath, landlord: Id, input: CreateLease) -> AppResult<Lease> {
    check_terms(
        input.due_day,
        input.grace_days,
        input.start_date,
        input.end_date,
    )?;
    let lease = NewLease {
        unit_id: input.unit_id,
        tenant_id: input.tenant_id,
        rent: validate::amount("rent", input.rent, path.max_amount())?,
        deposit: validate::amount_or_zero("deposit", input.deposit, path.max_amount())?,
        due_day: input.due_day,
        grace_days: input.grace_days,
        start_date: input.start_date,
        end_date: input.end_date,
        account_ref: match &input.account_ref {
            Some(account_ref) => validate::account_ref(account_ref)?,
            None => generate_account_ref(),
        },
    };
    path.run_for(landlord, &[Data::Leases, Data::Charges], async |write| {
        let checks = leases::preconditions(write.tx(), landlord, lease.unit_id, lease.tenant_id)
            .await?
            .ok_or(AppError::NotFound("unit"))?;
        match checks.tenant_status {
            None => return Err(AppError::NotFound("tenant")),
            Some(TenantStatus::MovedOut) => {
                return Err(AppError::validation(
                    ErrorCode::TenantMovedOut,
                    "the tenant has moved out",
                ));
            }
            Some(_) => {}
        }
        if checks.off_market {
            return Err(AppError::validation(
                ErrorCode::UnitOffMarket,
                "the unit is off the market",
            ));
        }
        if checks.occupied {
            return Err(unit_occupied());
        }
        // Two creations racing for one unit both pass the check above (neither
        // sees the other's uncommitted lease); the partial unique index decides.
        let created = leases::insert(write.tx(), landlord, &lease)
            .await
            .on_constraints(&[
                (Constraint::OneActiveLeasePerUnit, unit_occupied),
                (Constraint::LeaseAccountRef, || {
                    AppError::conflict(
                        ErrorCode::DuplicateAccountRef,
                        "account_ref is already in use",
                    )
                }),
            ])?
            .ok_or(AppError::NotFound("unit"))?;
        if created.deposit.is_positive() {
            let deposit = NewCharge {
                lease_id: created.id,
                period: Period::containing(created.start_date),
                kind: ChargeKind::Deposit,
                amount: created.deposit,
                due_date: created.start_date,
            };
            charges::insert(write.tx(), landlord, &deposit).await?;
        }
        Ok(created)
    })
    .await
}

fn unit_occupied() -> AppError {
    AppError::conflict(
        ErrorCode::UnitOccupied,
        "the unit already has an active lease",
    )
}

pub async fn update(
    path: &WritePath,
    landlord: Id,
    id: Id,
    input: UpdateLease,
    today: NaiveDate,
) -> AppResult<Lease> {
    path.run_for(landlord, &[Data::Leases], async |write| {
        // Locked until commit, so concurrent updates apply one after the other.
        let current = leases::get_for_update(write.tx(), landlord, id)
            .await?
            .ok_or(AppError::NotFound("lease"))?;
        let status = input.status.unwrap_or(current.status);
        let grace_days = input.grace_days.unwrap_or(current.grace_days);
        let mut end_date = input.end_date.or(current.end_date);
        if status == LeaseStatus::Ended && end_date.is_none() {
            end_date = Some(today.max(current.start_date));
        }
        check_terms(current.due_day, grace_days, current.start_date, end_date)?;
        if grace_days != current.grace_days {
            // The day its arrears count as overdue moves.
            let tx = write.tx();
            tx.rollups().touch_lease(id, landlord, current.property_id);
        }
        leases::update(write.tx(), landlord, id, grace_days, end_date, status)
            .await
            .on_constraint(Constraint::OneActiveLeasePerUnit, unit_occupied)?
            .ok_or(AppError::NotFound("lease"))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_account_refs_are_valid_and_distinct() {
        let a = generate_account_ref();
        assert_eq!(validate::account_ref(&a).expect("valid"), a);
        assert_ne!(a, generate_account_ref());
    }

    #[test]
    fn terms_are_checked() {
        let start = NaiveDate::from_ymd_opt(2024, 1, 1).expect("date");
        assert!(check_terms(1, 0, start, None).is_ok());
        assert!(check_terms(29, 0, start, None).is_err());
        assert!(check_terms(0, 0, start, None).is_err());
        assert!(check_terms(5, 61, start, None).is_err());
        assert!(check_terms(5, 3, start, start.pred_opt()).is_err());
    }
}
