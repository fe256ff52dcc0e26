//! M-Pesa C2B confirmations (Safaricom Daraja): parsed exactly, matched to a
//! lease by `BillRefNumber` (= the lease's account reference; phone numbers
//! arrive masked, so they are never used to match), stored once per TransID.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Deserializer};

use crate::cache::Data;
use crate::db::{leases, payments, payments::NewPayment};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::types::{Money, PaymentMethod, PaymentStatus, whole_seconds};
use crate::write::{WritePath, validate};

/// The confirmation body. Unknown fields are ignored: Safaricom adds some.
#[derive(Debug, Deserialize)]
pub struct C2bConfirmation {
    #[serde(rename = "TransID")]
    pub trans_id: String,
    #[serde(rename = "TransTime")]
    pub trans_time: String,
    #[serde(rename = "TransAmount", deserialize_with = "decimal_text")]
    pub trans_amount: String,
    #[serde(rename = "BusinessShortCode", default)]
    pub business_short_code: Option<String>,
    #[serde(rename = "BillRefNumber", default)]
    pub bill_ref_number: Option<String>,
    #[serde(rename = "MSISDN", default)]
    pub msisdn: Option<String>,
    #[serde(rename = "FirstName", default)]
    pub first_name: Option<String>,
    #[serde(rename = "LastName", default)]
    pub last_name: Option<String>,
}

/// What happened to a confirmation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Stored and matched to a lease.
    Matched,
    /// Stored without a lease (kept for the landlord or an admin to allocate).
    Unallocated,
    /// The TransID was seen before; nothing was written.
    Duplicate,
}

/// `TransAmount` is documented as a string (`"10.00"`) but integers are
/// accepted too; a JSON float is refused rather than rounded.
fn decimal_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Amount {
        Text(String),
        Whole(u64),
    }
    Ok(match Amount::deserialize(deserializer)? {
        Amount::Text(text) => text,
        Amount::Whole(whole) => whole.to_string(),
    })
}

/// `TransTime` is `YYYYMMDDHHmmss` in East Africa Time.
fn parse_trans_time(text: &str) -> AppResult<DateTime<Utc>> {
    let local = NaiveDateTime::parse_from_str(text, "%Y%m%d%H%M%S").map_err(|_| {
        AppError::validation(
            ErrorCode::InvalidTransTime,
            "TransTime must be YYYYMMDDHHmmss",
        )
    })?;
    chrono_tz::Africa::Nairobi
        .from_local_datetime(&local)
        .single()
        .map(|at| at.with_timezone(&Utc))
        .ok_or_else(|| {
            AppError::validation(ErrorCode::InvalidTransTime, "TransTime is not a valid time")
        })
}

fn trans_id(text: &str) -> AppResult<String> {
    let id = text.trim().to_ascii_uppercase();
    if (1..=20).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(id)
    } else {
        Err(AppError::validation(
            ErrorCode::InvalidTransId,
            "TransID must be 1–20 letters or digits",
        ))
    }
}

/// Records one confirmation, idempotently on TransID.
pub async fn confirm(path: &WritePath, body: C2bConfirmation, tz: Tz) -> AppResult<Outcome> {
    let reference = trans_id(&body.trans_id)?;
    let amount: Money = body.trans_amount.trim().parse().map_err(|err| {
        AppError::validation(ErrorCode::InvalidAmount, format!("TransAmount: {err}"))
    })?;
    let amount = validate::positive("TransAmount", amount)?;
    let paid_at = whole_seconds(parse_trans_time(&body.trans_time)?);
    // A reference the payer mistyped beyond repair is kept as typed (bounded),
    // but cannot match a lease.
    let typed_ref = body.bill_ref_number.as_deref().map(str::trim).unwrap_or("");
    let account_ref = validate::account_ref(typed_ref).ok();
    let payer = [body.msisdn, body.first_name, body.last_name]
        .into_iter()
        .flatten()
        .map(|part| part.trim().to_owned())
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ");

    path.run(async move |write| {
        let lease = match &account_ref {
            Some(account_ref) => leases::owner_of_account(write.tx(), account_ref).await?,
            None => None,
        };
        let landlord = match (&lease, body.business_short_code.as_deref()) {
            (Some(lease), _) => Some(lease.landlord_id),
            (None, Some(shortcode)) => {
                payments::landlord_for_shortcode(write.tx(), shortcode.trim()).await?
            }
            (None, None) => None,
        };
        let now = whole_seconds(Utc::now());
        let payment = NewPayment {
            landlord_id: landlord,
            property_id: lease.as_ref().map(|lease| lease.property_id),
            lease_id: lease.as_ref().map(|lease| lease.id),
            amount,
            method: PaymentMethod::Mpesa,
            status: PaymentStatus::Confirmed,
            reference: Some(reference),
            account_ref: Some(typed_ref.chars().take(20).collect())
                .filter(|r: &String| !r.is_empty()),
            payer: Some(payer.chars().take(100).collect()).filter(|p: &String| !p.is_empty()),
            paid_at,
            paid_on: paid_at.with_timezone(&tz).date_naive(),
            received_at: now,
        };
        let inserted = payments::insert_if_new(write.tx(), &payment).await?;
        if inserted.is_some()
            && let Some(landlord) = landlord
        {
            write.touch(landlord, &[Data::Payments]);
        }
        Ok(match (inserted, lease) {
            (None, _) => Outcome::Duplicate,
            (Some(_), Some(_)) => Outcome::Matched,
            (Some(_), None) => Outcome::Unallocated,
        })
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trans_time_is_east_africa_time() {
        let at = parse_trans_time("20240131235959").expect("valid");
        assert_eq!(at.to_rfc3339(), "2024-01-31T20:59:59+00:00");
        assert!(parse_trans_time("2024-01-31").is_err());
        assert!(parse_trans_time("20241301000000").is_err());
    }

    #[test]
    fn amounts_may_be_text_or_whole_numbers_but_not_floats() {
        let parse = |amount: &str| {
            serde_json::from_str::<C2bConfirmation>(&format!(
                r#"{{"TransID":"A1","TransTime":"20240101000000","TransAmount":{amount}}}"#
            ))
            .map(|body| body.trans_amount)
        };
        assert_eq!(parse("\"10.00\"").expect("text"), "10.00");
        assert_eq!(parse("10").expect("whole"), "10");
        assert!(parse("10.5").is_err());
    }
}
