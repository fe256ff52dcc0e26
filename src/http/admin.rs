//! `/admin/*`: operator views, for the `admin` role only.

use axum::{Router, extract::State, routing::get};

use crate::db::DatabaseStats;
use crate::error::AppResult;
use crate::http::{AppState, auth::AdminUser, extract::Json};

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/db", get(database))
}

/// Pools and their occupancy (replicas and lag join when replicas do).
async fn database(
    State(state): State<AppState>,
    _admin: AdminUser,
) -> AppResult<Json<DatabaseStats>> {
    Ok(Json(state.db.stats()))
}
