//! `/charges`, including the monthly rent run.

use axum::{
    Router,
    extract::State,
    http::StatusCode,
    routing::{get, post},
};
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

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/charges", get(list).post(create))
        .route("/charges/run", post(run))
        .route("/charges/{id}", get(show).patch(update))
}

#[derive(Deserialize)]
struct Filter {
    lease_id: Option<Id>,
}

async fn list(
    State(state): State<AppState>,
    Landlord(landlord): Landlord,
    Query(filter): Query<Filter>,
    Query(page): Query<PageRequest>,
) -> AppResult<Json<Page<Charge>>> {
    let rows = charges::list(
        state.db.reader_for(landlord),
        landlord,
        filter.lease_id,
        page,
    )
    .await?;
    Ok(Json(Page::from_rows(rows, page, |c| c.id)))
}

async fn create(
    State(state): State<AppState>,
    Landlord(landlord): Landlord,
    Json(body): Json<write::CreateCharge>,
) -> AppResult<(StatusCode, Json<Charge>)> {
    let charge = write::create(&state.writes, landlord, body).await?;
    Ok((StatusCode::CREATED, Json(charge)))
}

async fn show(
    State(state): State<AppState>,
    Landlord(landlord): Landlord,
    Path(id): Path<Id>,
) -> AppResult<Json<Charge>> {
    let found = charges::get(state.db.reader_for(landlord), landlord, id).await?;
    found.map(Json).ok_or(AppError::NotFound("charge"))
}

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

async fn run(
    State(state): State<AppState>,
    Landlord(landlord): Landlord,
    Json(body): Json<write::RunCharges>,
) -> AppResult<Json<write::RunSummary>> {
    Ok(Json(
        write::run(&state.writes, Some(landlord), body.period).await?,
    ))
}
