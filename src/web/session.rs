//! The session cookie and CSRF tokens.

use axum::{
    extract::FromRequestParts,
    http::{HeaderMap, HeaderValue, header, request::Parts},
    response::{IntoResponse, Redirect, Response},
};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::http::{AppState, auth::AuthUser};

/// The session cookie's name.
pub const SESSION: &str = "mfuko_session";
const LOGIN_CSRF: &str = "mfuko_login";

/// A signed-in user of the web app, and the CSRF token their forms carry.
pub struct SignedIn {
    pub user: AuthUser,
    pub csrf: String,
}

/// A signed-in landlord (the pages show a landlord's own data; an admin is
/// refused with 403 until the operator pages exist).
pub struct Landlord {
    pub id: crate::types::Id,
    pub csrf: String,
}

impl FromRequestParts<AppState> for Landlord {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Landlord, Response> {
        let signed_in =
            <SignedIn as FromRequestParts<AppState>>::from_request_parts(parts, state).await?;
        if signed_in.user.role != crate::types::Role::Landlord {
            return Err((
                axum::http::StatusCode::FORBIDDEN,
                "these pages are for landlords; admins use the API with ?landlord_id=",
            )
                .into_response());
        }
        Ok(Landlord {
            id: signed_in.user.id,
            csrf: signed_in.csrf,
        })
    }
}

/// The value of cookie `name`, if the request sent it.
fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find_map(|(key, value)| (key == name).then_some(value))
}

/// The CSRF token of a session: a digest of its token (never the token).
fn csrf_of(token: &str) -> String {
    let digest = Sha256::digest(format!("mfuko-csrf:{token}").as_bytes());
    hex::encode(&digest[..16])
}

/// The 403 for a form whose token is not the session's, if it is not.
pub fn refuse_forged(expected: &str, given: &str) -> Option<Response> {
    (!csrf_matches(expected, given)).then(|| {
        (
            axum::http::StatusCode::FORBIDDEN,
            "the form expired; reload the page",
        )
            .into_response()
    })
}

pub fn csrf_matches(expected: &str, given: &str) -> bool {
    !expected.is_empty() && bool::from(expected.as_bytes().ct_eq(given.as_bytes()))
}

/// The login form's CSRF token: the pre-session cookie's value, or a new one
/// (with the cookie that sets it).
pub fn login_csrf(headers: &HeaderMap) -> (String, Option<HeaderValue>) {
    if let Some(value) = cookie_value(headers, LOGIN_CSRF).filter(|value| value.len() == 32) {
        return (value.to_owned(), None);
    }
    let value = crate::auth::new_token()
        .chars()
        .take(32)
        .collect::<String>();
    let cookie = format!("{LOGIN_CSRF}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=3600");
    (value, HeaderValue::from_str(&cookie).ok())
}

pub fn has_login_cookie(headers: &HeaderMap) -> bool {
    cookie_value(headers, LOGIN_CSRF).is_some()
}

/// `Set-Cookie` for a new session: `HttpOnly`, `SameSite=Lax`, `Secure`
/// when served over TLS (`web.secure_cookies`), living as long as its token.
pub fn cookie(state: &AppState, token: &str) -> HeaderValue {
    session_cookie(state, token, state.settings.auth.token_ttl_hours * 3600)
}

/// `Set-Cookie` that removes the session cookie.
pub fn cleared_cookie(state: &AppState) -> HeaderValue {
    session_cookie(state, "", 0)
}

fn session_cookie(state: &AppState, value: &str, max_age: i64) -> HeaderValue {
    let secure = if state.settings.web.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{SESSION}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Pages need a session: without one (or with a revoked or expired one),
/// the browser is sent to the sign-in page.
impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<SignedIn, Response> {
        let Some(token) = cookie_value(&parts.headers, SESSION).filter(|t| !t.is_empty()) else {
            return Err(Redirect::to("/login").into_response());
        };
        match AuthUser::from_token(state, token).await {
            Ok(user) => Ok(SignedIn {
                user,
                csrf: csrf_of(token),
            }),
            Err(crate::error::AppError::Unauthorized) => {
                Err(Redirect::to("/login").into_response())
            }
            Err(err) => Err(err.into_response()),
        }
    }
}

impl axum::extract::OptionalFromRequestParts<AppState> for SignedIn {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Option<SignedIn>, std::convert::Infallible> {
        Ok(
            <SignedIn as FromRequestParts<AppState>>::from_request_parts(parts, state)
                .await
                .ok(),
        )
    }
}
