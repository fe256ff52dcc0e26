//! `/payments`: listing (with the suspense view), recording, status changes
//! and allocation. M-Pesa confirmations arrive through `http::mpesa`.

use axum::{extract::State, http::StatusCode};
use serde::Deserialize;

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
use crate::write::payments as write;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(show, update))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct Filter {
    lease_id: Option<Id>,
    status: Option<PaymentStatus>,
    /// `true`: only payments without a lease (suspense), to allocate.
    #[serde(default)]
    unallocated: bool,
}

#[utoipa::path(get, path = "/payments", tag = "payments", params(Filter, PageRequest), responses((status = 200, description = "OK", body = Page<Payment>)))]
async fn list(
    State(state): State<AppState>,
    Landlord(landlord): Landlord,
    Query(filter): Query<Filter>,
    Query(page): Query<PageRequest>,
) -> AppResult<Json<Page<Payment>>> {
    let filter = payments::ListFilter {
        lease: filter.lease_id,
        status: filter.status,
        method: None,
        unallocated: filter.unallocated,
    };
    let rows = state
        .db
        .read(landlord, |reader| async move {
            payments::list(&reader, landlord, filter, page).await
        })
        .await?;
    Ok(Json(Page::from_rows(rows, page, |p| p.id)))
}

#[utoipa::path(post, path = "/payments", tag = "payments", request_body = write::CreatePayment, responses((status = 201, description = "created", body = Payment)))]
async fn create(
    State(state): State<AppState>,
    Landlord(landlord): Landlord,
    Json(body): Json<write::CreatePayment>,
) -> AppResult<(StatusCode, Json<Payment>)> {
    let payment = write::create(&state.writes, landlord, body, state.tz).await?;
    Ok((StatusCode::CREATED, Json(payment)))
}

/// A payment's current status: real-time data, never cached.
#[utoipa::path(get, path = "/payments/{id}", tag = "payments", params(("id" = i64, Path, description = "the record's id")), responses((status = 200, description = "OK", body = Payment)))]
async fn show(
    State(state): State<AppState>,
    Landlord(landlord): Landlord,
    Path(id): Path<Id>,
) -> AppResult<Json<Payment>> {
    let found = state
        .db
        .read(landlord, |reader| async move {
            payments::get(&reader, landlord, id).await
        })
        .await?;
    found.map(Json).ok_or(AppError::NotFound("payment"))
}

#[utoipa::path(patch, path = "/payments/{id}", tag = "payments", params(("id" = i64, Path, description = "the record's id")), request_body = write::UpdatePayment, responses((status = 200, description = "OK", body = Payment)))]
async fn update(
    State(state): State<AppState>,
    Landlord(landlord): Landlord,
    Path(id): Path<Id>,
    Json(body): Json<write::UpdatePayment>,
) -> AppResult<Json<Payment>> {
    Ok(Json(
        write::update(&state.writes, landlord, id, body).await?,
    ))
}
