//! `/tenants`.

use axum::{Router, extract::State, http::StatusCode, routing::get};
use serde::Deserialize;

use crate::db::{
    page::{Page, PageRequest},
    tenants::{self, Tenant},
};
use crate::domain::{Id, TenantStatus, tenants as write};
use crate::error::{AppError, AppResult};
use crate::http::{
    AppState,
    auth::Landlord,
    extract::{Json, Path, Query},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/tenants", get(list).post(create))
        .route("/tenants/{id}", get(show).patch(update).delete(delete))
}

#[derive(Deserialize)]
struct Filter {
    status: Option<TenantStatus>,
}

async fn list(
    State(state): State<AppState>,
    Landlord(landlord): Landlord,
    Query(filter): Query<Filter>,
    Query(page): Query<PageRequest>,
) -> AppResult<Json<Page<Tenant>>> {
    let rows = tenants::list(state.db.reader_for(landlord), landlord, filter.status, page).await?;
    Ok(Json(Page::from_rows(rows, page, |t| t.id)))
}

async fn create(
    State(state): State<AppState>,
    Landlord(landlord): Landlord,
    Json(body): Json<write::CreateTenant>,
) -> AppResult<(StatusCode, Json<Tenant>)> {
    let tenant = write::create(&state.db, landlord, body).await?;
    Ok((StatusCode::CREATED, Json(tenant)))
}

async fn show(
    State(state): State<AppState>,
    Landlord(landlord): Landlord,
    Path(id): Path<Id>,
) -> AppResult<Json<Tenant>> {
    let found = tenants::get(state.db.reader_for(landlord), landlord, id).await?;
    found.map(Json).ok_or(AppError::NotFound("tenant"))
}

async fn update(
    State(state): State<AppState>,
    Landlord(landlord): Landlord,
    Path(id): Path<Id>,
    Json(body): Json<write::UpdateTenant>,
) -> AppResult<Json<Tenant>> {
    Ok(Json(write::update(&state.db, landlord, id, body).await?))
}

async fn delete(
    State(state): State<AppState>,
    Landlord(landlord): Landlord,
    Path(id): Path<Id>,
) -> AppResult<StatusCode> {
    write::delete(&state.db, landlord, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
