//! M-Pesa: the C2B confirmation callback Safaricom calls, and the shortcodes
//! (Paybill/Till numbers) landlords register so confirmations find them.

use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::db::shortcodes::{self, Shortcode};
use crate::error::{AppError, AppResult};
use crate::http::{
    AppState,
    auth::Landlord,
    extract::{Json, Query},
};
use crate::write::mpesa;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(c2b_confirmation))
        .routes(routes!(list_shortcodes, register_shortcode))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct NewShortcode {
    #[schema(pattern = r"^[0-9]{5,7}$")]
    shortcode: String,
}

#[utoipa::path(post, path = "/mpesa/shortcodes", tag = "mpesa", request_body = NewShortcode, responses((status = 201, description = "registered", body = Shortcode)))]
async fn register_shortcode(
    State(state): State<AppState>,
    Landlord(landlord): Landlord,
    Json(body): Json<NewShortcode>,
) -> AppResult<(StatusCode, Json<Shortcode>)> {
    let created = mpesa::register_shortcode(&state.writes, landlord, &body.shortcode).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(get, path = "/mpesa/shortcodes", tag = "mpesa", responses((status = 200, description = "OK", body = Vec<Shortcode>)))]
async fn list_shortcodes(
    State(state): State<AppState>,
    Landlord(landlord): Landlord,
) -> AppResult<Json<Vec<Shortcode>>> {
    let list = state
        .db
        .read(landlord, |reader| async move {
            shortcodes::list(&reader, landlord).await
        })
        .await?;
    Ok(Json(list))
}

/// What Daraja expects back: `ResultCode` 0 accepts the confirmation.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "PascalCase")]
struct C2bAnswer {
    result_code: u8,
    result_desc: &'static str,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct SecretParam {
    secret: Option<String>,
}

/// Daraja cannot sign its callbacks, so the registered confirmation URL carries
/// a shared secret, as the `X-Mpesa-Secret` header or a `secret` query
/// parameter. Request logs record the route, never the query, so it does not leak.
/// The body is looked at only once the secret checks out: without it, every
/// request is a 401, whatever it carries. The body is kept as received.
#[utoipa::path(post, path = "/payments/mpesa/c2b", tag = "mpesa", params(SecretParam), request_body = mpesa::C2bConfirmation, responses((status = 200, description = "accepted (also a duplicate, a held amount, or money that matches no lease)", body = C2bAnswer)), security(("c2b_secret" = []), ("c2b_secret_query" = [])))]
async fn c2b_confirmation(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(param): Query<SecretParam>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> AppResult<Json<C2bAnswer>> {
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
    Ok(Json(C2bAnswer {
        result_code: 0,
        result_desc: "Accepted",
    }))
}
