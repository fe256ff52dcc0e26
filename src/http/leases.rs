//! `/leases`.

use axum::{Router, extract::State, http::StatusCode, routing::get};
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

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/leases", get(list).post(create))
        .route("/leases/{id}", get(show).patch(update))
}

#[derive(Deserialize)]
struct Filter {
    status: Option<LeaseStatus>,
}

async fn list(
    State(state): State<AppState>,
    Landlord(landlord): Landlord,
    Query(filter): Query<Filter>,
    Query(page): Query<PageRequest>,
) -> AppResult<Json<Page<Lease>>> {
    let rows = leases::list(state.db.reader_for(landlord), landlord, filter.status, page).await?;
    Ok(Json(Page::from_rows(rows, page, |l| l.id)))
}

async fn create(
    State(state): State<AppState>,
    Landlord(landlord): Landlord,
    Json(body): Json<write::CreateLease>,
) -> AppResult<(StatusCode, Json<Lease>)> {
    let lease = write::create(&state.writes, landlord, body).await?;
    Ok((StatusCode::CREATED, Json(lease)))
}

async fn show(
    State(state): State<AppState>,
    Landlord(landlord): Landlord,
    Path(id): Path<Id>,
) -> AppResult<Json<Lease>> {
    let found = leases::get(state.db.reader_for(landlord), landlord, id).await?;
    found.map(Json).ok_or(AppError::NotFound("lease"))
}

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
