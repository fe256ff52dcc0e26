//! Reads: reports, payment metrics and the dashboard.

use axum::{Router, extract::State, routing::get};
use serde::Deserialize;

use crate::error::{AppError, AppResult};
use crate::http::{
    AppState,
    auth::{AuthUser, Landlord},
    cached::{Cached, IfNoneMatch},
    extract::{Path, Query},
};
use crate::reports::{
    DateRange, RangeParams, parse_date,
    views::{self, Report},
};
use crate::types::{Id, PaymentStatus, Role};

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

/// Serves `report` through the cache, with the cache headers.
async fn serve(
    state: &AppState,
    landlord: Id,
    property: Option<Id>,
    report: Report,
    if_none_match: IfNoneMatch,
) -> AppResult<Cached> {
    let served = views::serve(&state.db, &state.cache, landlord, property, report).await?;
    Ok(Cached {
        served,
        if_none_match,
    })
}

async fn occupancy_report(
    State(state): State<AppState>,
    Landlord(landlord): Landlord,
    Query(filter): Query<PropertyFilter>,
    if_none_match: IfNoneMatch,
) -> AppResult<Cached> {
    let report = Report::Occupancy {
        today: state.today(),
    };
    serve(&state, landlord, filter.property_id, report, if_none_match).await
}

async fn financial_report(
    State(state): State<AppState>,
    Landlord(landlord): Landlord,
    Query(filter): Query<PropertyFilter>,
    Query(range): Query<RangeParams>,
    if_none_match: IfNoneMatch,
) -> AppResult<Cached> {
    let range = DateRange::parse(&range, state.today())?;
    let report = Report::Financial { range };
    serve(&state, landlord, filter.property_id, report, if_none_match).await
}

async fn payments_report(
    State(state): State<AppState>,
    Landlord(landlord): Landlord,
    Query(filter): Query<PropertyFilter>,
    Query(range): Query<RangeParams>,
    Query(status): Query<StatusFilter>,
    if_none_match: IfNoneMatch,
) -> AppResult<Cached> {
    let range = DateRange::parse(&range, state.today())?;
    let report = Report::Payments {
        range,
        status: status.status,
    };
    serve(&state, landlord, filter.property_id, report, if_none_match).await
}

async fn arrears_report(
    State(state): State<AppState>,
    Landlord(landlord): Landlord,
    Query(filter): Query<PropertyFilter>,
    Query(as_of): Query<AsOf>,
    if_none_match: IfNoneMatch,
) -> AppResult<Cached> {
    let as_of = match &as_of.as_of {
        Some(text) => parse_date("as_of", text)?,
        None => state.today(),
    };
    let report = Report::Arrears { as_of };
    serve(&state, landlord, filter.property_id, report, if_none_match).await
}

async fn payment_metrics(
    State(state): State<AppState>,
    Landlord(landlord): Landlord,
    Query(filter): Query<PropertyFilter>,
    if_none_match: IfNoneMatch,
) -> AppResult<Cached> {
    let report = Report::PaymentMetrics {
        today: state.today(),
    };
    serve(&state, landlord, filter.property_id, report, if_none_match).await
}

async fn own_dashboard(
    State(state): State<AppState>,
    Landlord(landlord): Landlord,
    Query(filter): Query<PropertyFilter>,
    if_none_match: IfNoneMatch,
) -> AppResult<Cached> {
    let report = Report::Dashboard {
        today: state.today(),
    };
    serve(&state, landlord, filter.property_id, report, if_none_match).await
}

/// The seed's `/dashboard/<landlord_id>`, authenticated: a landlord may open
/// their own; an admin any landlord's; anyone else's answers 404.
async fn landlord_dashboard(
    State(state): State<AppState>,
    user: AuthUser,
    Path(landlord): Path<Id>,
    Query(filter): Query<PropertyFilter>,
    if_none_match: IfNoneMatch,
) -> AppResult<Cached> {
    let allowed = match user.role {
        Role::Landlord => user.id == landlord,
        Role::Admin => crate::db::users::is_landlord(state.db.reader(), landlord).await?,
    };
    if !allowed {
        return Err(AppError::NotFound("landlord"));
    }
    let report = Report::Dashboard {
        today: state.today(),
    };
    serve(&state, landlord, filter.property_id, report, if_none_match).await
}
