//! `/payments`, and the M-Pesa C2B confirmation callback.

use axum::{
    Router,
    extract::State,
    http::{HeaderMap, StatusCode},
    routing::{get, post},
};
use serde::Deserialize;
use serde_json::{Value, json};
use subtle::ConstantTimeEq;

use crate::db::{
    page::{Page, PageRequest},
    payments::{self, Payment},
};
use crate::error::{AppError, AppResult};
use crate::http::{
    AppState,
    auth::Landlord,
    extract::{Json, Path, Query},
};
use crate::types::{Id, PaymentStatus};
use crate::write::{mpesa, payments as write};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/payments", get(list).post(create))
        .route("/payments/mpesa/c2b", post(mpesa_c2b))
        .route("/payments/{id}", get(show).patch(update))
}

#[derive(Deserialize)]
struct Filter {
    lease_id: Option<Id>,
    status: Option<PaymentStatus>,
}

async fn list(
    State(state): State<AppState>,
    Landlord(landlord): Landlord,
    Query(filter): Query<Filter>,
    Query(page): Query<PageRequest>,
) -> AppResult<Json<Page<Payment>>> {
    let reader = state.db.reader_for(landlord);
    let rows = payments::list(reader, landlord, filter.lease_id, filter.status, page).await?;
    Ok(Json(Page::from_rows(rows, page, |p| p.id)))
}

async fn create(
    State(state): State<AppState>,
    Landlord(landlord): Landlord,
    Json(body): Json<write::CreatePayment>,
) -> AppResult<(StatusCode, Json<Payment>)> {
    let payment = write::create(&state.writes, landlord, body, state.tz).await?;
    Ok((StatusCode::CREATED, Json(payment)))
}

/// A payment's current status: real-time data, never cached.
async fn show(
    State(state): State<AppState>,
    Landlord(landlord): Landlord,
    Path(id): Path<Id>,
) -> AppResult<Json<Payment>> {
    let found = payments::get(state.db.reader_for(landlord), landlord, id).await?;
    found.map(Json).ok_or(AppError::NotFound("payment"))
}

async fn update(
    State(state): State<AppState>,
    Landlord(landlord): Landlord,
    Path(id): Path<Id>,
    Json(body): Json<write::UpdatePayment>,
) -> AppResult<Json<Payment>> {
    Ok(Json(
        write::update_status(&state.writes, landlord, id, body).await?,
    ))
}

#[derive(Deserialize)]
struct SecretParam {
    secret: Option<String>,
}

/// Daraja cannot sign its callbacks, so the registered confirmation URL carries
/// a shared secret, as the `X-Mpesa-Secret` header or a `secret` query
/// parameter. Request logs record the route, never the query, so it does not leak.
/// The body is looked at only once the secret checks out: without it, every
/// request is a 401, whatever it carries.
async fn mpesa_c2b(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(param): Query<SecretParam>,
    body: Result<Json<mpesa::C2bConfirmation>, AppError>,
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
    let Json(body) = body?;
    let outcome = mpesa::confirm(&state.writes, body, state.tz).await?;
    tracing::info!(?outcome, "mpesa c2b confirmation");
    Ok(Json(json!({ "ResultCode": 0, "ResultDesc": "Accepted" })))
}
