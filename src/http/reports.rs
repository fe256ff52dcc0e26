//! Reads: reports, payment metrics and the dashboard.

use axum::{Router, extract::State, routing::get};
use serde::Deserialize;

use crate::domain::{Id, PaymentStatus, Role};
use crate::error::{AppError, AppResult};
use crate::http::{
    AppState,
    auth::{AuthUser, Landlord},
    extract::{Json, Path, Query},
};
use crate::reports::{
    DateRange, RangeParams, Scope,
    arrears::{self, ArrearsReport},
    dashboard::{self, Dashboard},
    financial::{self, FinancialReport},
    metrics::{self, PaymentMetrics},
    occupancy::{self, OccupancyReport},
    parse_date,
    payments::{self, PaymentsReport},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/reports/occupancy", get(occupancy_report))
        .route("/reports/financial", get(financial_report))
        .route("/reports/payments", get(payments_report))
        .route("/reports/arrears", get(arrears_report))
        .route("/metrics/payments", get(payment_metrics))
        .route("/dashboard", get(own_dashboard))
        .route("/landlords/{id}/dashboard", get(landlord_dashboard))
}

#[derive(Deserialize)]
struct PropertyFilter {
    property_id: Option<Id>,
}

#[derive(Deserialize)]
struct StatusFilter {
    status: Option<PaymentStatus>,
}

#[derive(Deserialize)]
struct AsOf {
    as_of: Option<String>,
}

async fn scope(state: &AppState, landlord: Id, filter: PropertyFilter) -> AppResult<Scope> {
    Scope::new(&state.db, landlord, filter.property_id).await
}

async fn occupancy_report(
    State(state): State<AppState>,
    Landlord(landlord): Landlord,
    Query(filter): Query<PropertyFilter>,
) -> AppResult<Json<OccupancyReport>> {
    let scope = scope(&state, landlord, filter).await?;
    Ok(Json(
        occupancy::compute(&state.db, scope, state.today()).await?,
    ))
}

async fn financial_report(
    State(state): State<AppState>,
    Landlord(landlord): Landlord,
    Query(filter): Query<PropertyFilter>,
    Query(range): Query<RangeParams>,
) -> AppResult<Json<FinancialReport>> {
    let range = DateRange::parse(&range, state.today())?;
    let scope = scope(&state, landlord, filter).await?;
    Ok(Json(financial::compute(&state.db, scope, range).await?))
}

async fn payments_report(
    State(state): State<AppState>,
    Landlord(landlord): Landlord,
    Query(filter): Query<PropertyFilter>,
    Query(range): Query<RangeParams>,
    Query(status): Query<StatusFilter>,
) -> AppResult<Json<PaymentsReport>> {
    let range = DateRange::parse(&range, state.today())?;
    let scope = scope(&state, landlord, filter).await?;
    Ok(Json(
        payments::compute(&state.db, scope, range, status.status).await?,
    ))
}

async fn arrears_report(
    State(state): State<AppState>,
    Landlord(landlord): Landlord,
    Query(filter): Query<PropertyFilter>,
    Query(as_of): Query<AsOf>,
) -> AppResult<Json<ArrearsReport>> {
    let as_of = match &as_of.as_of {
        Some(text) => parse_date("as_of", text)?,
        None => state.today(),
    };
    let scope = scope(&state, landlord, filter).await?;
    Ok(Json(arrears::compute(&state.db, scope, as_of).await?))
}

async fn payment_metrics(
    State(state): State<AppState>,
    Landlord(landlord): Landlord,
    Query(filter): Query<PropertyFilter>,
) -> AppResult<Json<PaymentMetrics>> {
    let scope = scope(&state, landlord, filter).await?;
    Ok(Json(
        metrics::compute(&state.db, scope, state.today()).await?,
    ))
}

async fn own_dashboard(
    State(state): State<AppState>,
    Landlord(landlord): Landlord,
    Query(filter): Query<PropertyFilter>,
) -> AppResult<Json<Dashboard>> {
    let scope = scope(&state, landlord, filter).await?;
    Ok(Json(
        dashboard::compute(&state.db, scope, state.today()).await?,
    ))
}

/// The seed's `/dashboard/<landlord_id>`, authenticated: a landlord may open
/// their own; an admin any landlord's; anyone else's answers 404.
async fn landlord_dashboard(
    State(state): State<AppState>,
    user: AuthUser,
    Path(landlord): Path<Id>,
    Query(filter): Query<PropertyFilter>,
) -> AppResult<Json<Dashboard>> {
    let allowed = match user.role {
        Role::Landlord => user.id == landlord,
        Role::Admin => crate::db::users::is_landlord(state.db.reader(), landlord).await?,
    };
    if !allowed {
        return Err(AppError::NotFound("landlord"));
    }
    let scope = scope(&state, landlord, filter).await?;
    Ok(Json(
        dashboard::compute(&state.db, scope, state.today()).await?,
    ))
}
