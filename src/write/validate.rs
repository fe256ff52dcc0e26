//! Edge validation shared by the write paths: every rule answers 422 with a
//! stable code naming what was wrong.

use crate::error::{AppError, AppResult, ErrorCode};
use crate::types::Money;

/// Trimmed, non-empty text of at most `max` characters, without control
/// characters (NUL, newlines, escapes): the same answer on every engine.
pub fn text(field: &'static str, value: &str, max: usize) -> AppResult<String> {
    let value = value.trim();
    if value.is_empty() {
        return Err(AppError::validation(
            ErrorCode::Required,
            format!("{field} must not be empty"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(AppError::validation(
            ErrorCode::InvalidText,
            format!("{field} must not contain control characters"),
        ));
    }
    if value.chars().count() > max {
        return Err(AppError::validation(
            ErrorCode::TooLong,
            format!("{field} is longer than {max} characters"),
        ));
    }
    Ok(value.to_owned())
}

/// Optional text: blank means absent.
pub fn optional_text(
    field: &'static str,
    value: Option<&str>,
    max: usize,
) -> AppResult<Option<String>> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(value) => text(field, value, max).map(Some),
    }
}

/// A Kenyan mobile number, normalised to `+254XXXXXXXXX` (accepts `07…`, `01…`,
/// `2547…`, `+2547…`, spaces and dashes).
pub fn phone(field: &'static str, value: &str) -> AppResult<String> {
    let digits: String = value.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    let national = digits
        .strip_prefix("+254")
        .or_else(|| digits.strip_prefix("254"))
        .or_else(|| digits.strip_prefix('0'))
        .unwrap_or("");
    let valid = national.len() == 9
        && national.bytes().all(|b| b.is_ascii_digit())
        && matches!(national.as_bytes()[0], b'7' | b'1');
    if !valid {
        return Err(AppError::validation(
            ErrorCode::InvalidPhone,
            format!("{field} must be a Kenyan mobile number such as +254712345678"),
        ));
    }
    Ok(format!("+254{national}"))
}

/// An amount of at least one cent and at most `max`.
pub fn amount(field: &'static str, amount: Money, max: Money) -> AppResult<Money> {
    within(field, amount, Money(1), max)
}

/// An amount that may be zero (a deposit, a unit's market rent), at most `max`.
pub fn amount_or_zero(field: &'static str, amount: Money, max: Money) -> AppResult<Money> {
    within(field, amount, Money::ZERO, max)
}

fn within(field: &'static str, amount: Money, min: Money, max: Money) -> AppResult<Money> {
    if (min..=max).contains(&amount) {
        Ok(amount)
    } else {
        Err(AppError::validation(
            ErrorCode::AmountOutOfRange,
            format!(
                "{field} must be between {min} and {max} (in cents: {} to {})",
                min.minor(),
                max.minor()
            ),
        ))
    }
}

/// An account reference as payers type it into M-Pesa: 1–20 letters, digits or
/// dashes, compared case-insensitively (stored upper-case).
pub fn account_ref(value: &str) -> AppResult<String> {
    let value = value.trim().to_ascii_uppercase();
    let valid = (1..=20).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if valid {
        Ok(value)
    } else {
        Err(AppError::validation(
            ErrorCode::InvalidAccountRef,
            "account_ref must be 1–20 letters, digits or dashes",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_are_normalised() {
        for input in [
            "0712345678",
            "+254712345678",
            "254712345678",
            "0712 345 678",
            "0112-345-678",
        ] {
            let phone = phone("phone", input).expect(input);
            assert!(phone.starts_with("+254") && phone.len() == 13, "{phone}");
        }
        for bad in ["12345", "0812345678", "+1 555 0100", "07123456789", ""] {
            assert!(phone("phone", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn text_is_trimmed_and_bounded() {
        assert_eq!(text("name", "  Jua Kali  ", 20).expect("ok"), "Jua Kali");
        assert_eq!(
            text("name", "   ", 20).map_err(|e| e.code()).err(),
            Some(ErrorCode::Required)
        );
        assert_eq!(
            text("name", "a\u{0}b", 20).map_err(|e| e.code()).err(),
            Some(ErrorCode::InvalidText)
        );
        assert_eq!(
            text("name", "line\nbreak", 20).map_err(|e| e.code()).err(),
            Some(ErrorCode::InvalidText)
        );
        assert_eq!(
            text("name", "abcdef", 5).map_err(|e| e.code()).err(),
            Some(ErrorCode::TooLong)
        );
    }

    #[test]
    fn account_refs_are_upper_cased_and_bounded() {
        assert_eq!(account_ref(" mf-0001 ").expect("ok"), "MF-0001");
        assert!(account_ref("").is_err());
        assert!(account_ref("has space").is_err());
        assert!(account_ref(&"X".repeat(21)).is_err());
    }
}
