//! `/charges`, including the monthly rent run.

use axum::{extract::State, http::StatusCode};
use serde::Deserialize;

use crate::db::{
    charges::{self, Charge},
    page::{Page, PageRequest},
};
use crate::error::{AppError, AppResult};
use crate::http::{
    AppState,
    auth::Landlord,
    extract::{Json, Path, Query},
};
use crate::types::Id;
use crate::write::charges as write;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(run))
        .routes(routes!(show, update))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct Filter {
    lease_id: Option<Id>,
}

#[utoipa::path(get, path = "/charges", tag = "charges", params(Filter, PageRequest), responses((status = 200, description = "OK", body = Page<Charge>)))]
async fn list(
    State(state): State<AppState>,
    Landlord(landlord): Landlord,
    Query(filter): Query<Filter>,
    Query(page): Query<PageRequest>,
) -> AppResult<Json<Page<Charge>>> {
    let rows = state
        .db
        .read(landlord, |reader| async move {
            charges::list(&reader, landlord, filter.lease_id, page).await
        })
        .await?;
    Ok(Json(Page::from_rows(rows, page, |c| c.id)))
}

#[utoipa::path(post, path = "/charges", tag = "charges", request_body = write::CreateCharge, responses((status = 201, description = "created", body = Charge)))]
async fn create(
    State(state): State<AppState>,
    Landlord(landlord): Landlord,
    Json(body): Json<write::CreateCharge>,
) -> AppResult<(StatusCode, Json<Charge>)> {
    let charge = write::create(&state.writes, landlord, body).await?;
    Ok((StatusCode::CREATED, Json(charge)))
}

#[utoipa::path(get, path = "/charges/{id}", tag = "charges", params(("id" = i64, Path, description = "the record's id")), responses((status = 200, description = "OK", body = Charge)))]
async fn show(
    State(state): State<AppState>,
    Landlord(landlord): Landlord,
    Path(id): Path<Id>,
) -> AppResult<Json<Charge>> {
    let found = state
        .db
        .read(landlord, |reader| async move {
            charges::get(&reader, landlord, id).await
        })
        .await?;
    found.map(Json).ok_or(AppError::NotFound("charge"))
}

#[utoipa::path(patch, path = "/charges/{id}", tag = "charges", params(("id" = i64, Path, description = "the record's id")), request_body = write::UpdateCharge, responses((status = 200, description = "OK", body = Charge)))]
async fn update(
    State(state): State<AppState>,
    Landlord(landlord): Landlord,
    Path(id): Path<Id>,
    Json(body): Json<write::UpdateCharge>,
) -> AppResult<Json<Charge>> {
    Ok(Json(
        write::set_void(&state.writes, landlord, id, body).await?,
    ))
}

#[utoipa::path(post, path = "/charges/run", tag = "charges", request_body = write::RunCharges, responses((status = 200, description = "OK", body = write::RunSummary)))]
async fn run(
    State(state): State<AppState>,
    Landlord(landlord): Landlord,
    Json(body): Json<write::RunCharges>,
) -> AppResult<Json<write::RunSummary>> {
    Ok(Json(
        write::run(&state.writes, Some(landlord), body.period).await?,
    ))
}
