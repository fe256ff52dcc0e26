//! Recording payments (cash, bank, M-Pesa entered by hand) and their status
//! changes. M-Pesa confirmations arrive through [`crate::write::mpesa`].

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use serde::Deserialize;

use crate::cache::Data;
use crate::db::{Constraint, leases, payments, payments::NewPayment, payments::Payment};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::types::{Id, Money, PaymentMethod, PaymentStatus, whole_seconds};
use crate::write::{ResultExt, WritePath, validate};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreatePayment {
    /// Absent for money that is not yet matched to a lease.
    pub lease_id: Option<Id>,
    pub amount: Money,
    pub method: PaymentMethod,
    /// `confirmed` (default) or `pending`; other states are reached by updates.
    pub status: Option<PaymentStatus>,
    /// The M-Pesa TransID or bank reference; unique per method.
    pub reference: Option<String>,
    pub payer: Option<String>,
    /// When the payer paid (RFC 3339); defaults to now.
    pub paid_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdatePayment {
    pub status: PaymentStatus,
}

/// The transitions a payment may make; anything else is a 409.
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
    let amount = validate::positive("amount", input.amount)?;
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
    let now = whole_seconds(Utc::now());
    let paid_at = whole_seconds(input.paid_at.unwrap_or(now));
    if paid_at > now + Duration::minutes(5) {
        return Err(AppError::validation(
            ErrorCode::PaidInFuture,
            "paid_at is in the future",
        ));
    }

    let payer = validate::optional_text("payer", input.payer.as_deref(), 100)?;
    path.run_for(landlord, &[Data::Payments], async |write| {
        let lease = match input.lease_id {
            Some(id) => Some(
                leases::owner(write.tx(), landlord, id)
                    .await?
                    .ok_or(AppError::NotFound("lease"))?,
            ),
            None => None,
        };
        let payment = NewPayment {
            landlord_id: Some(landlord),
            property_id: lease.as_ref().map(|lease| lease.property_id),
            lease_id: lease.as_ref().map(|lease| lease.id),
            amount,
            method: input.method,
            status,
            reference,
            account_ref: None,
            payer,
            paid_at,
            paid_on: paid_at.with_timezone(&tz).date_naive(),
            received_at: now,
        };
        payments::insert(write.tx(), &payment).await.on_constraint(
            Constraint::PaymentReference,
            || {
                AppError::conflict(
                    ErrorCode::DuplicateReference,
                    "a payment with this reference exists",
                )
            },
        )
    })
    .await
}

pub async fn update_status(
    path: &WritePath,
    landlord: Id,
    id: Id,
    input: UpdatePayment,
) -> AppResult<Payment> {
    path.run_for(landlord, &[Data::Payments], async |write| {
        let current = payments::get_for_update(write.tx(), landlord, id)
            .await?
            .ok_or(AppError::NotFound("payment"))?;
        if current.status == input.status {
            return Ok(current);
        }
        if !allowed(current.status, input.status) {
            return Err(AppError::conflict(
                ErrorCode::InvalidTransition,
                format!(
                    "a {} payment cannot become {}",
                    current.status, input.status
                ),
            ));
        }
        // Conditional on the status we read, so a concurrent change cannot be overwritten.
        payments::set_status(write.tx(), landlord, id, current.status, input.status)
            .await?
            .ok_or_else(|| {
                AppError::conflict(
                    ErrorCode::StatusChanged,
                    "the payment changed meanwhile; retry",
                )
            })
    })
    .await
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
