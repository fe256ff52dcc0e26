//! `/properties`, `/properties/{id}/units`, `/units/{id}`.

use axum::{Router, extract::State, http::StatusCode, routing::get};

use crate::cache::View;
use crate::db::{
    page::{Page, PageRequest},
    properties::{self, Property},
    units::{self, Unit},
};
use crate::error::{AppError, AppResult};
use crate::http::{
    AppState,
    auth::Landlord,
    cached::{Cached, IfNoneMatch, json_bytes},
    extract::{Json, Path, Query},
};
use crate::types::Id;
use crate::write::properties as write;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/properties", get(list).post(create))
        .route("/properties/{id}", get(show).patch(update).delete(delete))
        .route("/properties/{id}/units", get(list_units).post(create_unit))
        .route(
            "/units/{id}",
            get(show_unit).patch(update_unit).delete(delete_unit),
        )
}

/// A static list: cached for a day, moved to a new key by any property or
/// unit write.
async fn list(
    State(state): State<AppState>,
    Landlord(landlord): Landlord,
    Query(page): Query<PageRequest>,
    if_none_match: IfNoneMatch,
) -> AppResult<Cached> {
    let params = format!("{}:{}", page.after_id(), page.page_size());
    let db = state.db.clone();
    let load = async move {
        let rows = properties::list(db.reader_for(landlord), landlord, page).await?;
        json_bytes(&Page::from_rows(rows, page, |p| p.id))
    };
    let served = state
        .cache
        .get_or_load(View::PropertyList, landlord, &params, load)
        .await?;
    Ok(Cached {
        served,
        if_none_match,
    })
}

async fn create(
    State(state): State<AppState>,
    Landlord(landlord): Landlord,
    Json(body): Json<write::CreateProperty>,
) -> AppResult<(StatusCode, Json<Property>)> {
    let property = write::create(&state.writes, landlord, body).await?;
    Ok((StatusCode::CREATED, Json(property)))
}

async fn show(
    State(state): State<AppState>,
    Landlord(landlord): Landlord,
    Path(id): Path<Id>,
) -> AppResult<Json<Property>> {
    let found = properties::get(state.db.reader_for(landlord), landlord, id).await?;
    found.map(Json).ok_or(AppError::NotFound("property"))
}

async fn update(
    State(state): State<AppState>,
    Landlord(landlord): Landlord,
    Path(id): Path<Id>,
    Json(body): Json<write::UpdateProperty>,
) -> AppResult<Json<Property>> {
    Ok(Json(
        write::update(&state.writes, landlord, id, body).await?,
    ))
}

async fn delete(
    State(state): State<AppState>,
    Landlord(landlord): Landlord,
    Path(id): Path<Id>,
) -> AppResult<StatusCode> {
    write::delete(&state.writes, landlord, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_units(
    State(state): State<AppState>,
    Landlord(landlord): Landlord,
    Path(property): Path<Id>,
    Query(page): Query<PageRequest>,
) -> AppResult<Json<Page<Unit>>> {
    let reader = state.db.reader_for(landlord);
    // An empty list must not hide that the property is not the landlord's.
    if properties::get(reader, landlord, property).await?.is_none() {
        return Err(AppError::NotFound("property"));
    }
    let rows = units::list_for_property(reader, landlord, property, page).await?;
    Ok(Json(Page::from_rows(rows, page, |u| u.id)))
}

async fn create_unit(
    State(state): State<AppState>,
    Landlord(landlord): Landlord,
    Path(property): Path<Id>,
    Json(body): Json<write::CreateUnit>,
) -> AppResult<(StatusCode, Json<Unit>)> {
    let unit = write::create_unit(&state.writes, landlord, property, body).await?;
    Ok((StatusCode::CREATED, Json(unit)))
}

async fn show_unit(
    State(state): State<AppState>,
    Landlord(landlord): Landlord,
    Path(id): Path<Id>,
) -> AppResult<Json<Unit>> {
    let found = units::get(state.db.reader_for(landlord), landlord, id).await?;
    found.map(Json).ok_or(AppError::NotFound("unit"))
}

async fn update_unit(
    State(state): State<AppState>,
    Landlord(landlord): Landlord,
    Path(id): Path<Id>,
    Json(body): Json<write::UpdateUnit>,
) -> AppResult<Json<Unit>> {
    Ok(Json(
        write::update_unit(&state.writes, landlord, id, body).await?,
    ))
}

async fn delete_unit(
    State(state): State<AppState>,
    Landlord(landlord): Landlord,
    Path(id): Path<Id>,
) -> AppResult<StatusCode> {
    write::delete_unit(&state.writes, landlord, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
