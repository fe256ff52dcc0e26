//! What every page shares: the 404 page, reading form fields (ids, amounts,
//! dates) as people type them, and a form page's status.

use askama::Template;
use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
};
use chrono::NaiveDate;

use crate::error::{AppError, AppResult};
use crate::types::{Id, Money};
use crate::web::{
    page,
    session::{Landlord, refuse_forged},
};

#[derive(Template)]
#[template(path = "not_found.html")]
struct NotFound {
    signed_in: Option<String>,
}

/// 404 in the app's frame (another landlord's record looks like none).
pub fn not_found(csrf: &str) -> Response {
    let mut response = page(&NotFound {
        signed_in: Some(csrf.to_owned()),
    });
    *response.status_mut() = StatusCode::NOT_FOUND;
    response
}

/// The record a form posts to (`/…/{id}/…`): the form's CSRF token is
/// checked first (403), then the id (a malformed one is the 404 page).
#[allow(clippy::result_large_err)] // the refusal goes straight back to axum
pub fn form_record(landlord: &Landlord, csrf: &str, id: &str) -> Result<Id, Response> {
    if let Some(refused) = refuse_forged(&landlord.csrf, csrf) {
        return Err(refused);
    }
    parse_id(id).ok_or_else(|| not_found(&landlord.csrf))
}

/// Where a form's write leads: `done` on success; the 404 page when a
/// record it names is not the landlord's; the form again with the reason
/// (422) for a mistake; the error itself otherwise.
pub async fn after_write<T>(
    landlord: &Landlord,
    written: AppResult<T>,
    done: impl FnOnce(T) -> Response,
    again: impl AsyncFnOnce(String) -> Response,
) -> Response {
    match written {
        Ok(value) => done(value),
        Err(AppError::NotFound(_)) => not_found(&landlord.csrf),
        Err(err) if err.status().is_client_error() => again(err.to_string()).await,
        Err(err) => err.into_response(),
    }
}

/// A page that may re-show a form with what was wrong: 422 when it does.
pub fn shown(template: &impl Template, failed: bool) -> Response {
    let mut response = page(template);
    if failed && response.status() == StatusCode::OK {
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    response
}

/// A record's id from the URL or a form; anything else is no record.
pub fn parse_id(text: &str) -> Option<Id> {
    text.trim().parse::<Id>().ok().filter(|id| *id > 0)
}

/// An amount as people type it: `25,000`, `25 000`, `25000.50`; not negative.
pub fn money_input(text: &str) -> Option<Money> {
    text.replace([',', ' '], "").trim().parse().ok()
}

/// A date from a date picker (`2026-12-01`).
pub fn date_input(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok()
}

/// A text field: `None` when left empty.
pub fn optional_input(text: &str) -> Option<String> {
    Some(text.trim().to_owned()).filter(|text| !text.is_empty())
}

/// Percent-encodes a query value (everything but unreserved characters).
pub fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (byte as char).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_fields_are_read_as_people_type_them() {
        assert_eq!(money_input("25,000"), Some(Money(2_500_000)));
        assert_eq!(money_input(" 25 000.5 "), Some(Money(2_500_050)));
        assert_eq!(money_input("-5"), None);
        assert_eq!(money_input("ten"), None);
        assert_eq!(parse_id("12"), Some(12));
        assert_eq!(parse_id("0"), None);
        assert_eq!(parse_id("1e3"), None);
        assert_eq!(
            date_input("2026-12-01"),
            NaiveDate::from_ymd_opt(2026, 12, 1)
        );
        assert_eq!(date_input("01/12/2026"), None);
        assert_eq!(optional_input("  "), None);
        assert_eq!(url_encode("a b&c"), "a%20b%26c");
    }
}
