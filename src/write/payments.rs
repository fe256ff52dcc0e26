//! Recording payments (cash, bank, M-Pesa entered by hand) and their status
//! changes. M-Pesa confirmations arrive through [`crate::write::mpesa`].

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use serde::Deserialize;

use crate::cache::Data;
use crate::db::{
    Constraint, leases, leases::LeaseOwner, payments, payments::NewPayment, payments::Payment,
};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::types::{Id, Money, PaymentMethod, PaymentStatus, date, whole_seconds};
use crate::write::{ResultExt, Write, WritePath, validate};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePayment {
    /// Absent for money that is not yet matched to a lease.
    pub lease_id: Option<Id>,
    #[schema(minimum = 1, maximum = 1_000_000_000)]
    pub amount: Money,
    pub method: PaymentMethod,
    /// `confirmed` (default) or `pending`; other states are reached by updates.
    pub status: Option<PaymentStatus>,
    /// The M-Pesa TransID or bank reference; the landlord uses each once per
    /// method. An M-Pesa one is confirmed when Safaricom's receipt arrives.
    pub reference: Option<String>,
    pub payer: Option<String>,
    /// Free text for the landlord, up to 2,000 characters.
    pub notes: Option<String>,
    /// When the payer paid (RFC 3339); defaults to now.
    pub paid_at: Option<DateTime<Utc>>,
}

/// A change to a payment: its status, or (for one without a lease: a
/// suspense M-Pesa payment or a held one) the lease it pays.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePayment {
    pub status: Option<PaymentStatus>,
    pub lease_id: Option<Id>,
}

/// The transitions a payment may make; anything else is a 409. A `held`
/// payment leaves that state only by allocation, within the amount limit: it
/// stays on record, outside every sum (a refund happens at Safaricom).
fn allowed(from: PaymentStatus, to: PaymentStatus) -> bool {
    use PaymentStatus::*;
    matches!(
        (from, to),
        (Pending, Confirmed) | (Pending, Failed) | (Confirmed, Reversed)
    )
}

pub async fn create(
    path: &WritePath,
    landlord: Id,
    input: CreatePayment,
    tz: Tz,
) -> AppResult<Payment> {
    let amount = validate::amount("amount", input.amount, path.max_amount())?;
    let status = input.status.unwrap_or(PaymentStatus::Confirmed);
    if !matches!(status, PaymentStatus::Confirmed | PaymentStatus::Pending) {
        return Err(AppError::validation(
            ErrorCode::InvalidStatus,
            "a new payment is confirmed or pending",
        ));
    }
    let reference = validate::optional_text("reference", input.reference.as_deref(), 40)?
        .map(|reference| reference.to_ascii_uppercase());
    if input.method != PaymentMethod::Cash && reference.is_none() {
        return Err(AppError::validation(
            ErrorCode::ReferenceRequired,
            "M-Pesa and bank payments need their transaction reference",
        ));
    }
    let now = path.now();
    let paid_at = whole_seconds(input.paid_at.unwrap_or(now));
    if paid_at > now + Duration::minutes(5) {
        return Err(AppError::validation(
            ErrorCode::PaidInFuture,
            "paid_at is in the future",
        ));
    }
    if !date::instant_in_range(paid_at) {
        return Err(AppError::validation(
            ErrorCode::InvalidDate,
            "paid_at must be in the year 2000 or later",
        ));
    }

    let payer = validate::optional_text("payer", input.payer.as_deref(), 100)?;
    let notes = validate::optional_text("notes", input.notes.as_deref(), 2000)?;
    path.run_for(landlord, &[Data::Payments], async |write| {
        let payment = NewPayment {
            landlord_id: Some(landlord),
            // Taken from the lease as the payment is inserted.
            property_id: None,
            lease_id: input.lease_id,
            amount,
            method: input.method,
            status,
            reference,
            mpesa_receipt: None,
            account_ref: None,
            payer,
            notes,
            paid_at,
            paid_on: paid_at.with_timezone(&tz).date_naive(),
            received_at: now,
            raw_payload: None,
        };
        let duplicate = || {
            AppError::conflict(
                ErrorCode::DuplicateReference,
                "a payment with this reference exists",
            )
        };
        match input.lease_id {
            Some(_) => payments::insert_for_lease(write.tx(), &payment)
                .await
                .on_constraint(Constraint::PaymentReference, duplicate)?
                .ok_or(AppError::NotFound("lease")),
            None => payments::insert(write.tx(), &payment)
                .await
                .on_constraint(Constraint::PaymentReference, duplicate),
        }
    })
    .await
}

/// Applies a landlord's change: the allocation first (if any), then the status.
pub async fn update(
    path: &WritePath,
    landlord: Id,
    id: Id,
    input: UpdatePayment,
) -> AppResult<Payment> {
    if input.status.is_none() && input.lease_id.is_none() {
        return Err(AppError::validation(
            ErrorCode::InvalidBody,
            "send the new status or the lease_id to allocate to",
        ));
    }
    let max_amount = path.max_amount();
    path.run_for(landlord, &[Data::Payments], async |write| {
        let mut current = payments::get_for_update(write.tx(), landlord, id)
            .await?
            .ok_or(AppError::NotFound("payment"))?;
        if let Some(lease_id) = input.lease_id {
            let lease = leases::owner(write.tx(), landlord, lease_id)
                .await?
                .ok_or(AppError::NotFound("lease"))?;
            current = allocate(write, Some(landlord), &current, &lease, max_amount).await?;
        }
        match input.status {
            Some(status) => change_status(write, landlord, current, status).await,
            None => Ok(current),
        }
    })
    .await
}

/// An admin allocates any unallocated payment, including one paid to a
/// shortcode nobody registered: it then belongs to the lease's landlord.
pub async fn allocate_as_admin(path: &WritePath, id: Id, lease_id: Id) -> AppResult<Payment> {
    let max_amount = path.max_amount();
    path.run(async |write| {
        let found = payments::get_any_for_update(write.tx(), id)
            .await?
            .ok_or(AppError::NotFound("payment"))?;
        let lease = match found.landlord_id {
            Some(landlord) => leases::owner(write.tx(), landlord, lease_id).await?,
            None => leases::owner_any(write.tx(), lease_id).await?,
        }
        .ok_or(AppError::NotFound("lease"))?;
        let allocated = allocate(write, None, &found.payment, &lease, max_amount).await?;
        write.touch(lease.landlord_id, &[Data::Payments]);
        Ok(allocated)
    })
    .await
}

/// Gives an unallocated payment its lease; a held one becomes confirmed if
/// its amount is now within the limit.
async fn allocate(
    write: &mut Write,
    landlord: Option<Id>,
    current: &Payment,
    lease: &LeaseOwner,
    max_amount: Money,
) -> AppResult<Payment> {
    if current.lease_id.is_some() {
        return Err(AppError::conflict(
            ErrorCode::AlreadyAllocated,
            "the payment is allocated to a lease already",
        ));
    }
    let status = match current.status {
        PaymentStatus::Held => {
            validate::amount("amount", current.amount, max_amount)?;
            PaymentStatus::Confirmed
        }
        other => other,
    };
    payments::allocate(write.tx(), landlord, current.id, lease, status)
        .await?
        .ok_or_else(|| {
            AppError::conflict(
                ErrorCode::StatusChanged,
                "the payment changed meanwhile; retry",
            )
        })
}

async fn change_status(
    write: &mut Write,
    landlord: Id,
    current: Payment,
    to: PaymentStatus,
) -> AppResult<Payment> {
    if current.status == to {
        return Ok(current);
    }
    if !allowed(current.status, to) {
        return Err(AppError::conflict(
            ErrorCode::InvalidTransition,
            format!("a {} payment cannot become {to}", current.status),
        ));
    }
    // Conditional on the status we read, so a concurrent change cannot be overwritten.
    payments::set_status(write.tx(), landlord, current.id, current.status, to)
        .await?
        .ok_or_else(|| {
            AppError::conflict(
                ErrorCode::StatusChanged,
                "the payment changed meanwhile; retry",
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_forward_transitions_are_allowed() {
        use PaymentStatus::*;
        assert!(allowed(Pending, Confirmed));
        assert!(allowed(Confirmed, Reversed));
        assert!(!allowed(Reversed, Confirmed));
        assert!(!allowed(Failed, Confirmed));
        assert!(!allowed(Confirmed, Pending));
    }
}
