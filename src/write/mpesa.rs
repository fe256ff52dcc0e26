//! M-Pesa C2B confirmations (Safaricom Daraja) and the shortcodes they are
//! paid to. A confirmation belongs to the landlord who registered its
//! `BusinessShortCode`, and to that landlord's lease whose account reference
//! is its `BillRefNumber` (phone numbers arrive masked, so they never match).
//! Its `TransID` is Safaricom's receipt: stored once across the service.

use chrono::{DateTime, Duration, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Deserializer};

use crate::cache::Data;
use crate::db::{
    Constraint, leases, payments, payments::NewPayment, shortcodes, shortcodes::Shortcode,
};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::types::{Id, Money, PaymentMethod, PaymentStatus, whole_seconds};
use crate::write::{ResultExt, WritePath, validate};

/// The confirmation body. Unknown fields are ignored: Safaricom adds some.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct C2bConfirmation {
    #[serde(rename = "TransID")]
    pub trans_id: String,
    #[serde(rename = "TransTime")]
    pub trans_time: String,
    #[serde(rename = "TransAmount", deserialize_with = "decimal_text")]
    pub trans_amount: String,
    #[serde(
        rename = "BusinessShortCode",
        default,
        deserialize_with = "optional_decimal_text"
    )]
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

/// What happened to a confirmation. Safaricom is told `Accepted` for each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Stored and matched to a lease.
    Matched,
    /// Stored without a lease (suspense: the landlord, or an admin when no
    /// landlord registered the shortcode, allocates it).
    Unallocated,
    /// Stored as `held`: above the amount limit, outside every sum until
    /// someone looks at it.
    Held,
    /// The landlord had entered this receipt by hand: that payment is now
    /// confirmed by M-Pesa, and nothing new was stored.
    Reconciled,
    /// The TransID was seen before; nothing was written.
    Duplicate,
}

/// How far a `TransTime` may lie from when the confirmation arrived before
/// the payment is dated on arrival instead (the stated time stays in the
/// raw payload).
const TRANS_TIME_BEFORE: Duration = Duration::days(30);
const TRANS_TIME_AFTER: Duration = Duration::days(1);

/// `TransAmount` is documented as a string (`"10.00"`) but integers are
/// accepted too; a JSON float is refused rather than rounded.
fn decimal_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    #[derive(Deserialize, utoipa::ToSchema)]
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

/// `BusinessShortCode` arrives as text or as a number.
fn optional_decimal_text<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize, utoipa::ToSchema)]
    struct Wrapped(#[serde(deserialize_with = "decimal_text")] String);
    Ok(Option::<Wrapped>::deserialize(deserializer)?.map(|Wrapped(text)| text))
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

/// A Paybill or Till number: 5–7 digits.
pub fn shortcode(text: &str) -> AppResult<String> {
    let code = text.trim();
    if (5..=7).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_digit()) {
        Ok(code.to_owned())
    } else {
        Err(AppError::validation(
            ErrorCode::InvalidShortcode,
            "a shortcode is a Paybill or Till number of 5–7 digits",
        ))
    }
}

/// Registers a shortcode for `landlord`; each is unique across the service.
pub async fn register_shortcode(
    path: &WritePath,
    landlord: Id,
    text: &str,
) -> AppResult<Shortcode> {
    let code = shortcode(text)?;
    path.run(async |write| {
        shortcodes::insert(write.tx(), landlord, &code, path.now())
            .await
            .on_constraint(Constraint::Shortcode, || {
                AppError::conflict(
                    ErrorCode::ShortcodeTaken,
                    "this shortcode is registered already",
                )
            })
    })
    .await
}

/// When the payment counts as paid: the stated `TransTime`, unless it lies
/// outside [received − 30 days, received + 1 day] (a clock or a forgery
/// cannot move money into another month).
fn dated(stated: DateTime<Utc>, received: DateTime<Utc>) -> DateTime<Utc> {
    if stated >= received - TRANS_TIME_BEFORE && stated <= received + TRANS_TIME_AFTER {
        stated
    } else {
        received
    }
}

/// Records one confirmation (`raw` is its body as received), idempotently on
/// TransID.
pub async fn confirm(
    path: &WritePath,
    body: C2bConfirmation,
    raw: String,
    tz: Tz,
) -> AppResult<Outcome> {
    let receipt = trans_id(&body.trans_id)?;
    let amount: Money = body.trans_amount.trim().parse().map_err(|err| {
        AppError::validation(ErrorCode::InvalidAmount, format!("TransAmount: {err}"))
    })?;
    if !amount.is_positive() {
        return Err(AppError::validation(
            ErrorCode::AmountOutOfRange,
            "TransAmount must be greater than zero",
        ));
    }
    let held = amount > path.max_amount();
    let received = path.now();
    let paid_at = dated(whole_seconds(parse_trans_time(&body.trans_time)?), received);
    let shortcode = body.business_short_code.as_deref().map(str::trim);
    // A reference the payer mistyped beyond repair is kept as typed (bounded),
    // but cannot match a lease.
    let typed_ref: String = body
        .bill_ref_number
        .as_deref()
        .map(str::trim)
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_control())
        .take(20)
        .collect();
    let account_ref = validate::account_ref(&typed_ref).ok();
    let payer: String = [body.msisdn, body.first_name, body.last_name]
        .into_iter()
        .flatten()
        .map(|part| {
            part.trim()
                .chars()
                .filter(|c| !c.is_control())
                .collect::<String>()
        })
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(100)
        .collect();
    if held {
        tracing::warn!(
            receipt,
            amount = amount.minor(),
            max = path.max_amount().minor(),
            "M-Pesa confirmation above the amount limit: stored as held"
        );
    }

    path.run(async move |write| {
        let landlord = match shortcode {
            Some(code) if !code.is_empty() => shortcodes::landlord_of(write.tx(), code).await?,
            _ => None,
        };
        let lease = match (landlord, &account_ref) {
            (Some(landlord), Some(account_ref)) if !held => {
                leases::owner_of_account(write.tx(), landlord, account_ref).await?
            }
            _ => None,
        };
        let payment = NewPayment {
            landlord_id: landlord,
            property_id: lease.as_ref().map(|lease| lease.property_id),
            lease_id: lease.as_ref().map(|lease| lease.id),
            amount,
            method: PaymentMethod::Mpesa,
            status: if held {
                PaymentStatus::Held
            } else {
                PaymentStatus::Confirmed
            },
            reference: Some(receipt.clone()),
            mpesa_receipt: Some(receipt.clone()),
            account_ref: Some(typed_ref).filter(|r| !r.is_empty()),
            payer: Some(payer).filter(|p| !p.is_empty()),
            notes: None,
            paid_at,
            paid_on: paid_at.with_timezone(&tz).date_naive(),
            received_at: received,
            raw_payload: Some(raw),
        };
        // Twice at most: a hand-entered payment with this reference may be
        // committed between the look-up and the insert; the second round
        // then reconciles with it.
        for _ in 0..2 {
            if payments::receipt_exists(write.tx(), &receipt).await? {
                return Ok(Outcome::Duplicate);
            }
            if let Some(landlord) = landlord
                && let Some(manual) =
                    payments::manual_mpesa_for_update(write.tx(), landlord, &receipt).await?
            {
                if manual.amount != amount {
                    tracing::warn!(
                        receipt,
                        entered = manual.amount.minor(),
                        confirmed = amount.minor(),
                        "M-Pesa receipt confirms a hand-entered payment of another amount"
                    );
                }
                // The receipt proves the money arrived; a reversal stays a reversal.
                let status = match manual.status {
                    PaymentStatus::Pending | PaymentStatus::Failed => PaymentStatus::Confirmed,
                    other => other,
                };
                let raw = payment.raw_payload.as_deref().unwrap_or_default();
                payments::reconcile(write.tx(), manual.id, &receipt, status, raw).await?;
                write.touch(landlord, &[Data::Payments]);
                return Ok(Outcome::Reconciled);
            }
            if payments::insert_if_new(write.tx(), &payment)
                .await?
                .is_some()
            {
                if let Some(landlord) = landlord {
                    write.touch(landlord, &[Data::Payments]);
                }
                return Ok(match (held, &lease) {
                    (true, _) => Outcome::Held,
                    (false, Some(_)) => Outcome::Matched,
                    (false, None) => Outcome::Unallocated,
                });
            }
        }
        Err(AppError::Internal(anyhow::anyhow!(
            "M-Pesa receipt {receipt} neither stored nor found"
        )))
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
    fn trans_time_far_from_arrival_is_replaced_by_arrival() {
        let received = parse_trans_time("20261201120000").expect("valid");
        let near = parse_trans_time("20261125080000").expect("valid");
        assert_eq!(dated(near, received), near);
        for far in [
            "20991231235959",
            "20001010000000",
            "20261030000000",
            "20261203000000",
        ] {
            let stated = parse_trans_time(far).expect("valid");
            assert_eq!(dated(stated, received), received, "{far}");
        }
    }

    #[test]
    fn shortcodes_are_five_to_seven_digits() {
        assert_eq!(shortcode(" 600123 ").expect("ok"), "600123");
        for bad in ["1234", "12345678", "60O123", "", "-60012"] {
            assert!(shortcode(bad).is_err(), "{bad:?}");
        }
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

#[cfg(test)]
mod properties {
    use chrono::{Datelike, Timelike};
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn trans_times_round_trip(seconds in 946_684_800_i64..4_102_444_800_i64) {
            let at = DateTime::from_timestamp(seconds, 0).expect("instant");
            let local = at.with_timezone(&chrono_tz::Africa::Nairobi);
            let text = format!(
                "{:04}{:02}{:02}{:02}{:02}{:02}",
                local.year(), local.month(), local.day(), local.hour(), local.minute(), local.second()
            );
            prop_assert_eq!(parse_trans_time(&text).ok(), Some(at));
        }

        #[test]
        fn any_trans_time_text_parses_or_is_refused(text in "\\PC{0,20}") {
            let _ = parse_trans_time(&text);
        }

        #[test]
        fn any_trans_id_is_normalised_or_refused(text in "\\PC{0,24}") {
            if let Ok(id) = trans_id(&text) {
                prop_assert!((1..=20).contains(&id.len()));
                prop_assert!(id.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
            }
        }

        /// Whatever JSON arrives, reading it as a confirmation answers or
        /// refuses; it never panics, and what it accepts keeps the text.
        #[test]
        fn any_payload_is_read_or_refused(
            id in "\\PC{0,12}",
            time in "[0-9]{0,16}",
            amount in prop_oneof![
                "[0-9]{1,22}(\\.[0-9]{0,3})?".prop_map(serde_json::Value::from),
                any::<u64>().prop_map(serde_json::Value::from),
                any::<f64>().prop_map(serde_json::Value::from),
                Just(serde_json::Value::Null),
            ],
            shortcode in prop_oneof![
                "[0-9]{0,8}".prop_map(serde_json::Value::from),
                any::<u32>().prop_map(serde_json::Value::from),
                Just(serde_json::Value::Null),
            ],
            bill_ref in proptest::option::of("\\PC{0,30}"),
        ) {
            let payload = serde_json::json!({
                "TransID": id, "TransTime": time, "TransAmount": amount,
                "BusinessShortCode": shortcode, "BillRefNumber": bill_ref,
            });
            if let Ok(body) = serde_json::from_value::<C2bConfirmation>(payload) {
                prop_assert_eq!(body.trans_id, id);
                let _ = body.trans_amount.trim().parse::<Money>();
                if let Some(code) = body.business_short_code {
                    let _ = super::shortcode(&code);
                }
            }
        }
    }
}
