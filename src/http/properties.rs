//! `/properties`, `/properties/{id}/units`, `/units/{id}`.

use axum::{extract::State, http::StatusCode};

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
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(show, update, delete))
        .routes(routes!(list_units, create_unit))
        .routes(routes!(show_unit, update_unit, delete_unit))
}

/// A static list: cached for a day, moved to a new key by any property or
/// unit write.
#[utoipa::path(get, path = "/properties", tag = "properties", params(PageRequest), responses((status = 200, description = "OK", body = Page<Property>)))]
async fn list(
    State(state): State<AppState>,
    Landlord(landlord): Landlord,
    Query(page): Query<PageRequest>,
    if_none_match: IfNoneMatch,
) -> AppResult<Cached> {
    let params = format!("{}:{}", page.after_id(), page.page_size());
    let db = state.db.clone();
    let load = move || async move {
        let rows = db
            .read(landlord, |reader| async move {
                properties::list(&reader, landlord, page).await
            })
            .await?;
        json_bytes(&Page::from_rows(rows, page, |p| p.id))
    };
    let served = state
        .cache
        .get_or_load(View::PropertyList, landlord, &params, load)
        .await?;
    Ok(Cached::json(served, if_none_match))
}

#[utoipa::path(post, path = "/properties", tag = "properties", request_body = write::CreateProperty, responses((status = 201, description = "created", body = Property)))]
async fn create(
    State(state): State<AppState>,
    Landlord(landlord): Landlord,
    Json(body): Json<write::CreateProperty>,
) -> AppResult<(StatusCode, Json<Property>)> {
    let property = write::create(&state.writes, landlord, body).await?;
    Ok((StatusCode::CREATED, Json(property)))
}

#[utoipa::path(get, path = "/properties/{id}", tag = "properties", params(("id" = i64, Path, description = "the record's id")), responses((status = 200, description = "OK", body = Property)))]
async fn show(
    State(state): State<AppState>,
    Landlord(landlord): Landlord,
    Path(id): Path<Id>,
) -> AppResult<Json<Property>> {
    let found = state
        .db
        .read(landlord, |reader| async move {
            properties::get(&reader, landlord, id).await
        })
        .await?;
    found.map(Json).ok_or(AppError::NotFound("property"))
}

#[utoipa::path(patch, path = "/properties/{id}", tag = "properties", params(("id" = i64, Path, description = "the record's id")), request_body = write::UpdateProperty, responses((status = 200, description = "OK", body = Property)))]
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

#[utoipa::path(delete, path = "/properties/{id}", tag = "properties", params(("id" = i64, Path, description = "the record's id")), responses((status = 204, description = "deleted")))]
async fn delete(
    State(state): State<AppState>,
    Landlord(landlord): Landlord,
    Path(id): Path<Id>,
) -> AppResult<StatusCode> {
    write::delete(&state.writes, landlord, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/properties/{id}/units", tag = "properties", params(("id" = i64, Path, description = "the record's id"), PageRequest), responses((status = 200, description = "OK", body = Page<Unit>)))]
async fn list_units(
    State(state): State<AppState>,
    Landlord(landlord): Landlord,
    Path(property): Path<Id>,
    Query(page): Query<PageRequest>,
) -> AppResult<Json<Page<Unit>>> {
    let rows = state
        .db
        .read(landlord, |reader| async move {
            // An empty list must not hide that the property is not the landlord's.
            if properties::get(&reader, landlord, property)
                .await?
                .is_none()
            {
                return Ok(None);
            }
            units::list_for_property(&reader, landlord, property, page)
                .await
                .map(Some)
        })
        .await?
        .ok_or(AppError::NotFound("property"))?;
    Ok(Json(Page::from_rows(rows, page, |u| u.id)))
}

#[utoipa::path(post, path = "/properties/{id}/units", tag = "properties", params(("id" = i64, Path, description = "the record's id")), request_body = write::CreateUnit, responses((status = 201, description = "created", body = Unit)))]
async fn create_unit(
    State(state): State<AppState>,
    Landlord(landlord): Landlord,
    Path(property): Path<Id>,
    Json(body): Json<write::CreateUnit>,
) -> AppResult<(StatusCode, Json<Unit>)> {
    let unit = write::create_unit(&state.writes, landlord, property, body).await?;
    Ok((StatusCode::CREATED, Json(unit)))
}

#[utoipa::path(get, path = "/units/{id}", tag = "properties", params(("id" = i64, Path, description = "the record's id")), responses((status = 200, description = "OK", body = Unit)))]
async fn show_unit(
    State(state): State<AppState>,
    Landlord(landlord): Landlord,
    Path(id): Path<Id>,
) -> AppResult<Json<Unit>> {
    let found = state
        .db
        .read(landlord, |reader| async move {
            units::get(&reader, landlord, id).await
        })
        .await?;
    found.map(Json).ok_or(AppError::NotFound("unit"))
}

#[utoipa::path(patch, path = "/units/{id}", tag = "properties", params(("id" = i64, Path, description = "the record's id")), request_body = write::UpdateUnit, responses((status = 200, description = "OK", body = Unit)))]
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

#[utoipa::path(delete, path = "/units/{id}", tag = "properties", params(("id" = i64, Path, description = "the record's id")), responses((status = 204, description = "deleted")))]
async fn delete_unit(
    State(state): State<AppState>,
    Landlord(landlord): Landlord,
    Path(id): Path<Id>,
) -> AppResult<StatusCode> {
    write::delete_unit(&state.writes, landlord, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
