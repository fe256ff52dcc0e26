//! M-Pesa: the C2B confirmation callback Safaricom calls, and the shortcodes
//! (Paybill/Till numbers) landlords register so confirmations find them.

use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    routing::{get, post},
};
use serde::Deserialize;
use serde_json::{Value, json};
use subtle::ConstantTimeEq;

use crate::db::shortcodes::{self, Shortcode};
use crate::error::{AppError, AppResult};
use crate::http::{
    AppState,
    auth::Landlord,
    extract::{Json, Query},
};
use crate::write::mpesa;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/payments/mpesa/c2b", post(c2b_confirmation))
        .route(
            "/mpesa/shortcodes",
            get(list_shortcodes).post(register_shortcode),
        )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewShortcode {
    shortcode: String,
}

async fn register_shortcode(
    State(state): State<AppState>,
    Landlord(landlord): Landlord,
    Json(body): Json<NewShortcode>,
) -> AppResult<(StatusCode, Json<Shortcode>)> {
    let created = mpesa::register_shortcode(&state.writes, landlord, &body.shortcode).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

async fn list_shortcodes(
    State(state): State<AppState>,
    Landlord(landlord): Landlord,
) -> AppResult<Json<Vec<Shortcode>>> {
    let reader = state.db.reader_for(landlord);
    Ok(Json(shortcodes::list(reader, landlord).await?))
}

#[derive(Deserialize)]
struct SecretParam {
    secret: Option<String>,
}

/// Daraja cannot sign its callbacks, so the registered confirmation URL carries
/// a shared secret, as the `X-Mpesa-Secret` header or a `secret` query
/// parameter. Request logs record the route, never the query, so it does not leak.
/// The body is looked at only once the secret checks out: without it, every
/// request is a 401, whatever it carries. The body is kept as received.
async fn c2b_confirmation(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(param): Query<SecretParam>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> AppResult<Json<Value>> {
    let expected = state
        .settings
        .mpesa
        .c2b_secret
        .as_ref()
        .ok_or(AppError::Unavailable("M-Pesa intake is not configured"))?;
    let presented = headers
        .get("x-mpesa-secret")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
        .or(param.secret)
        .ok_or(AppError::Unauthorized)?;
    if !bool::from(presented.as_bytes().ct_eq(expected.expose().as_bytes())) {
        return Err(AppError::Unauthorized);
    }
    let bytes = body.map_err(|_| AppError::PayloadTooLarge(super::MAX_BODY_BYTES))?;
    let axum::Json(confirmation) = axum::Json::<mpesa::C2bConfirmation>::from_bytes(&bytes)?;
    let raw = String::from_utf8_lossy(&bytes).into_owned();
    let outcome = mpesa::confirm(&state.writes, confirmation, raw, state.tz).await?;
    tracing::info!(?outcome, "mpesa c2b confirmation");
    Ok(Json(json!({ "ResultCode": 0, "ResultDesc": "Accepted" })))
}
