//! `/tenants`.

use axum::{extract::State, http::StatusCode};
use serde::Deserialize;

use crate::cache::View;
use crate::db::{
    page::{Page, PageRequest},
    tenants::{self, Tenant},
};
use crate::error::{AppError, AppResult};
use crate::http::{
    AppState,
    auth::Landlord,
    cached::{Cached, IfNoneMatch, json_bytes},
    extract::{Json, Path, Query},
};
use crate::types::{Id, TenantStatus};
use crate::write::tenants as write;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(show, update, delete))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct Filter {
    status: Option<TenantStatus>,
}

/// A static list, cached like the property list.
#[utoipa::path(get, path = "/tenants", tag = "tenants", params(Filter, PageRequest), responses((status = 200, description = "OK", body = Page<Tenant>)))]
async fn list(
    State(state): State<AppState>,
    Landlord(landlord): Landlord,
    Query(filter): Query<Filter>,
    Query(page): Query<PageRequest>,
    if_none_match: IfNoneMatch,
) -> AppResult<Cached> {
    let status = filter.status;
    let params = format!(
        "{}:{}:{}",
        status.map_or("any", TenantStatus::as_str),
        page.after_id(),
        page.page_size()
    );
    let db = state.db.clone();
    let load = move || async move {
        let rows = db
            .read(landlord, |reader| async move {
                tenants::list(&reader, landlord, status, page).await
            })
            .await?;
        json_bytes(&Page::from_rows(rows, page, |t| t.id))
    };
    let served = state
        .cache
        .get_or_load(View::TenantList, landlord, &params, load)
        .await?;
    Ok(Cached::json(served, if_none_match))
}

#[utoipa::path(post, path = "/tenants", tag = "tenants", request_body = write::CreateTenant, responses((status = 201, description = "created", body = Tenant)))]
async fn create(
    State(state): State<AppState>,
    Landlord(landlord): Landlord,
    Json(body): Json<write::CreateTenant>,
) -> AppResult<(StatusCode, Json<Tenant>)> {
    let tenant = write::create(&state.writes, landlord, body).await?;
    Ok((StatusCode::CREATED, Json(tenant)))
}

#[utoipa::path(get, path = "/tenants/{id}", tag = "tenants", params(("id" = i64, Path, description = "the record's id")), responses((status = 200, description = "OK", body = Tenant)))]
async fn show(
    State(state): State<AppState>,
    Landlord(landlord): Landlord,
    Path(id): Path<Id>,
) -> AppResult<Json<Tenant>> {
    let found = state
        .db
        .read(landlord, |reader| async move {
            tenants::get(&reader, landlord, id).await
        })
        .await?;
    found.map(Json).ok_or(AppError::NotFound("tenant"))
}

#[utoipa::path(patch, path = "/tenants/{id}", tag = "tenants", params(("id" = i64, Path, description = "the record's id")), request_body = write::UpdateTenant, responses((status = 200, description = "OK", body = Tenant)))]
async fn update(
    State(state): State<AppState>,
    Landlord(landlord): Landlord,
    Path(id): Path<Id>,
    Json(body): Json<write::UpdateTenant>,
) -> AppResult<Json<Tenant>> {
    Ok(Json(
        write::update(&state.writes, landlord, id, body).await?,
    ))
}

#[utoipa::path(delete, path = "/tenants/{id}", tag = "tenants", params(("id" = i64, Path, description = "the record's id")), responses((status = 204, description = "deleted")))]
async fn delete(
    State(state): State<AppState>,
    Landlord(landlord): Landlord,
    Path(id): Path<Id>,
) -> AppResult<StatusCode> {
    write::delete(&state.writes, landlord, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
