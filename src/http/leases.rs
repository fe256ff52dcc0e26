//! `/leases`.

use axum::{extract::State, http::StatusCode};
use serde::Deserialize;

use crate::db::{
    leases::{self, Lease},
    page::{Page, PageRequest},
};
use crate::error::{AppError, AppResult};
use crate::http::{
    AppState,
    auth::Landlord,
    extract::{Json, Path, Query},
};
use crate::types::{Id, LeaseStatus};
use crate::write::leases as write;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(show, update))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct Filter {
    status: Option<LeaseStatus>,
}

#[utoipa::path(get, path = "/leases", tag = "leases", params(Filter, PageRequest), responses((status = 200, description = "OK", body = Page<Lease>)))]
async fn list(
    State(state): State<AppState>,
    Landlord(landlord): Landlord,
    Query(filter): Query<Filter>,
    Query(page): Query<PageRequest>,
) -> AppResult<Json<Page<Lease>>> {
    let rows = state
        .db
        .read(landlord, |reader| async move {
            leases::list(&reader, landlord, filter.status, page).await
        })
        .await?;
    Ok(Json(Page::from_rows(rows, page, |l| l.id)))
}

#[utoipa::path(post, path = "/leases", tag = "leases", request_body = write::CreateLease, responses((status = 201, description = "created", body = Lease)))]
async fn create(
    State(state): State<AppState>,
    Landlord(landlord): Landlord,
    Json(body): Json<write::CreateLease>,
) -> AppResult<(StatusCode, Json<Lease>)> {
    let lease = write::create(&state.writes, landlord, body).await?;
    Ok((StatusCode::CREATED, Json(lease)))
}

#[utoipa::path(get, path = "/leases/{id}", tag = "leases", params(("id" = i64, Path, description = "the record's id")), responses((status = 200, description = "OK", body = Lease)))]
async fn show(
    State(state): State<AppState>,
    Landlord(landlord): Landlord,
    Path(id): Path<Id>,
) -> AppResult<Json<Lease>> {
    let found = state
        .db
        .read(landlord, |reader| async move {
            leases::get(&reader, landlord, id).await
        })
        .await?;
    found.map(Json).ok_or(AppError::NotFound("lease"))
}

#[utoipa::path(patch, path = "/leases/{id}", tag = "leases", params(("id" = i64, Path, description = "the record's id")), request_body = write::UpdateLease, responses((status = 200, description = "OK", body = Lease)))]
async fn update(
    State(state): State<AppState>,
    Landlord(landlord): Landlord,
    Path(id): Path<Id>,
    Json(body): Json<write::UpdateLease>,
) -> AppResult<Json<Lease>> {
    let today = state.today();
    Ok(Json(
        write::update(&state.writes, landlord, id, body, today).await?,
    ))
}
