//! `/admin/*`: operator views and cache control, for the `admin` role only.

use axum::{body::Bytes, extract::State};
use serde::{Deserialize, Serialize};

use crate::cache::CacheStats;
use crate::db::{
    DatabaseStats,
    page::{Page, PageRequest},
    payments::{self, Payment, Unallocated},
};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::http::{
    AppState,
    auth::AdminUser,
    extract::{Json, Path, Query},
};
use crate::types::Id;
use crate::write::payments as write;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(database))
        .routes(routes!(cache_stats))
        .routes(routes!(cache_clear))
        .routes(routes!(cache_warm))
        .routes(routes!(unallocated_payments))
        .routes(routes!(allocate_payment))
}

/// Every payment without a lease, across landlords: suspense M-Pesa payments
/// (`landlord_id` null when nobody registered the shortcode) and held ones.
#[utoipa::path(get, path = "/admin/payments/unallocated", tag = "admin", params(PageRequest), responses((status = 200, description = "OK", body = Page<Unallocated>)))]
async fn unallocated_payments(
    State(state): State<AppState>,
    _admin: AdminUser,
    Query(page): Query<PageRequest>,
) -> AppResult<Json<Page<Unallocated>>> {
    let rows = payments::unallocated(state.db.reader_prefer_primary(), page).await?;
    Ok(Json(Page::from_rows(rows, page, |row| row.payment.id)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Allocation {
    lease_id: Id,
}

/// Allocates any unallocated payment to a lease (of the payment's landlord,
/// or of any landlord when nobody's shortcode received it).
#[utoipa::path(patch, path = "/admin/payments/{id}", tag = "admin", params(("id" = i64, Path, description = "the record's id")), request_body = Allocation, responses((status = 200, description = "OK", body = Payment)))]
async fn allocate_payment(
    State(state): State<AppState>,
    _admin: AdminUser,
    Path(id): Path<Id>,
    Json(body): Json<Allocation>,
) -> AppResult<Json<Payment>> {
    let payment = write::allocate_as_admin(&state.writes, id, body.lease_id).await?;
    Ok(Json(payment))
}

/// Pools and their occupancy; with replicas, each replica (health, replay
/// position, lag) and how many reads went where.
#[utoipa::path(get, path = "/admin/db", tag = "admin", responses((status = 200, description = "OK", body = DatabaseStats)))]
async fn database(
    State(state): State<AppState>,
    _admin: AdminUser,
) -> AppResult<Json<DatabaseStats>> {
    Ok(Json(state.db.stats()))
}

#[utoipa::path(get, path = "/admin/cache/stats", tag = "admin", responses((status = 200, description = "OK", body = CacheStats)))]
async fn cache_stats(
    State(state): State<AppState>,
    _admin: AdminUser,
) -> AppResult<Json<CacheStats>> {
    Ok(Json(state.cache.stats().await))
}

#[derive(Serialize, utoipa::ToSchema)]
struct Warmed {
    dashboards: usize,
}

/// Recomputes the dashboards of the most active landlords now.
#[utoipa::path(post, path = "/admin/cache/warm", tag = "admin", responses((status = 200, description = "OK", body = Warmed)))]
async fn cache_warm(State(state): State<AppState>, _admin: AdminUser) -> AppResult<Json<Warmed>> {
    let dashboards = crate::reports::warm::warm(&state.db, &state.cache, state.today()).await?;
    Ok(Json(Warmed { dashboards }))
}

/// What to clear; an empty body clears everything.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ClearRequest {
    /// A key pattern after the prefix and schema version, `*` as wildcard:
    /// `report:*`, `dashboard:*`.
    pattern: Option<String>,
    landlord_id: Option<Id>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct Cleared {
    cleared: String,
}

#[utoipa::path(post, path = "/admin/cache/clear", tag = "admin", request_body = Option<ClearRequest>, responses((status = 200, description = "OK", body = Cleared)))]
async fn cache_clear(
    State(state): State<AppState>,
    _admin: AdminUser,
    body: Bytes,
) -> AppResult<Json<Cleared>> {
    let request: ClearRequest = if body.iter().all(u8::is_ascii_whitespace) {
        ClearRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|err| {
            use serde_json::error::Category;
            match err.classify() {
                // Broken JSON is a 400, as on every route; valid JSON with
                // wrong fields or values is a 422.
                Category::Syntax | Category::Eof | Category::Io => {
                    AppError::bad_request(ErrorCode::MalformedJson, err.to_string())
                }
                Category::Data => AppError::validation(ErrorCode::InvalidBody, err.to_string()),
            }
        })?
    };
    let cleared = match (request.pattern, request.landlord_id) {
        (Some(_), Some(_)) => {
            return Err(AppError::validation(
                ErrorCode::InvalidBody,
                "give a pattern or a landlord_id, not both",
            ));
        }
        (Some(pattern), None) => {
            if pattern.is_empty() || pattern.len() > 200 {
                return Err(AppError::validation(
                    ErrorCode::InvalidPattern,
                    "pattern must be 1–200 characters",
                ));
            }
            state
                .cache
                .clear_pattern(&pattern)
                .await
                .map_err(|err| AppError::Internal(err.into()))?;
            format!("pattern {pattern}")
        }
        (None, Some(landlord)) => {
            state
                .cache
                .clear_landlord(landlord)
                .await
                .map_err(|err| AppError::Internal(err.into()))?;
            format!("landlord {landlord}")
        }
        (None, None) => {
            state.cache.clear_all().await;
            "all".to_owned()
        }
    };
    // Debug-formatted: the pattern is user input, so quotes and control
    // characters are escaped rather than written raw into the log.
    tracing::info!(?cleared, "cache cleared by an admin");
    Ok(Json(Cleared { cleared }))
}
