//! Recording payments (cash, bank, M-Pesa entered by hand) and their status
//! changes. M-Pesa confirmations arrive through [`crate::domain::mpesa`].

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use serde::Deserialize;

use crate::cache::{Cache, Data};
use crate::db::{Database, leases, payments, payments::NewPayment, payments::Payment};
use crate::domain::properties::duplicate;
use crate::domain::{Id, Money, PaymentMethod, PaymentStatus, validate};
use crate::error::{AppError, AppResult};

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

/// Truncated to whole seconds: instants are stored as text on SQLite, where
/// only a fixed format keeps text order equal to time order.
pub fn whole_seconds(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(at.timestamp(), 0).unwrap_or(at)
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
    db: &Database,
    cache: &Cache,
    landlord: Id,
    input: CreatePayment,
    tz: Tz,
) -> AppResult<Payment> {
    let amount = validate::positive("amount", input.amount)?;
    let status = input.status.unwrap_or(PaymentStatus::Confirmed);
    if !matches!(status, PaymentStatus::Confirmed | PaymentStatus::Pending) {
        return Err(AppError::validation(
            "invalid_status",
            "a new payment is confirmed or pending",
        ));
    }
    let reference = validate::optional_text("reference", input.reference.as_deref(), 40)?
        .map(|reference| reference.to_ascii_uppercase());
    if input.method != PaymentMethod::Cash && reference.is_none() {
        return Err(AppError::validation(
            "reference_required",
            "M-Pesa and bank payments need their transaction reference",
        ));
    }
    let now = whole_seconds(Utc::now());
    let paid_at = whole_seconds(input.paid_at.unwrap_or(now));
    if paid_at > now + Duration::minutes(5) {
        return Err(AppError::validation(
            "paid_in_future",
            "paid_at is in the future",
        ));
    }

    let mut tx = db.writer().begin().await?;
    let lease = match input.lease_id {
        Some(id) => Some(
            leases::owner(&mut tx, landlord, id)
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
        payer: validate::optional_text("payer", input.payer.as_deref(), 100)?,
        paid_at,
        paid_on: paid_at.with_timezone(&tz).date_naive(),
        received_at: now,
    };
    let created = payments::insert(&mut tx, &payment).await.map_err(|err| {
        duplicate(
            err,
            "duplicate_reference",
            "a payment with this reference exists",
        )
    })?;
    tx.commit().await?;
    cache.invalidate(landlord, &[Data::Payments]).await;
    Ok(created)
}

pub async fn update_status(
    db: &Database,
    cache: &Cache,
    landlord: Id,
    id: Id,
    input: UpdatePayment,
) -> AppResult<Payment> {
    let mut tx = db.writer().begin().await?;
    let current = payments::get_for_update(&mut tx, landlord, id)
        .await?
        .ok_or(AppError::NotFound("payment"))?;
    if current.status == input.status {
        return Ok(current);
    }
    if !allowed(current.status, input.status) {
        return Err(AppError::conflict(
            "invalid_transition",
            format!(
                "a {} payment cannot become {}",
                current.status, input.status
            ),
        ));
    }
    // Conditional on the status we read, so a concurrent change cannot be overwritten.
    let updated = payments::set_status(&mut tx, landlord, id, current.status, input.status)
        .await?
        .ok_or_else(|| {
            AppError::conflict("status_changed", "the payment changed meanwhile; retry")
        })?;
    tx.commit().await?;
    cache.invalidate(landlord, &[Data::Payments]).await;
    Ok(updated)
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
