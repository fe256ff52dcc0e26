//! Reads: reports, payment metrics and the dashboard.

use std::future::Future;

use axum::{Router, extract::State, routing::get};
use serde::Deserialize;

use crate::cache::View;
use crate::db::Database;
use crate::domain::{Id, PaymentStatus, Role};
use crate::error::{AppError, AppResult};
use crate::http::{
    AppState,
    auth::{AuthUser, Landlord},
    cached::{Cached, IfNoneMatch, json_bytes},
    extract::{Path, Query},
};
use crate::reports::{
    DateRange, RangeParams, Scope, arrears, dashboard, financial, metrics, occupancy, parse_date,
    payments, property_key,
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

/// Serves `view` through the cache. The loader checks the property filter
/// itself, so a cache hit touches no database and a foreign property is a 404
/// (errors are never cached).
async fn serve<T, F, Fut>(
    state: &AppState,
    view: View,
    landlord: Id,
    property: Option<Id>,
    params: String,
    if_none_match: IfNoneMatch,
    compute: F,
) -> AppResult<Cached>
where
    T: serde::Serialize,
    F: FnOnce(Database, Scope) -> Fut + Send + 'static,
    Fut: Future<Output = AppResult<T>> + Send,
{
    let db = state.db.clone();
    let load = async move {
        let scope = Scope::new(&db, landlord, property).await?;
        json_bytes(&compute(db, scope).await?)
    };
    let served = state
        .cache
        .get_or_load(view, landlord, &params, load)
        .await?;
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
    let today = state.today();
    let params = format!("{today}:{}", property_key(filter.property_id));
    serve(
        &state,
        View::ReportOccupancy,
        landlord,
        filter.property_id,
        params,
        if_none_match,
        move |db, scope| async move { occupancy::compute(&db, scope, today).await },
    )
    .await
}

async fn financial_report(
    State(state): State<AppState>,
    Landlord(landlord): Landlord,
    Query(filter): Query<PropertyFilter>,
    Query(range): Query<RangeParams>,
    if_none_match: IfNoneMatch,
) -> AppResult<Cached> {
    let range = DateRange::parse(&range, state.today())?;
    let params = format!(
        "{}:{}:{}",
        range.from,
        range.to,
        property_key(filter.property_id)
    );
    serve(
        &state,
        View::ReportFinancial,
        landlord,
        filter.property_id,
        params,
        if_none_match,
        move |db, scope| async move { financial::compute(&db, scope, range).await },
    )
    .await
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
    let status = status.status;
    let params = format!(
        "{}:{}:{}:{}",
        range.from,
        range.to,
        status.map_or("any", PaymentStatus::as_str),
        property_key(filter.property_id)
    );
    serve(
        &state,
        View::ReportPayments,
        landlord,
        filter.property_id,
        params,
        if_none_match,
        move |db, scope| async move { payments::compute(&db, scope, range, status).await },
    )
    .await
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
    let params = format!("{as_of}:{}", property_key(filter.property_id));
    serve(
        &state,
        View::ReportArrears,
        landlord,
        filter.property_id,
        params,
        if_none_match,
        move |db, scope| async move { arrears::compute(&db, scope, as_of).await },
    )
    .await
}

async fn payment_metrics(
    State(state): State<AppState>,
    Landlord(landlord): Landlord,
    Query(filter): Query<PropertyFilter>,
    if_none_match: IfNoneMatch,
) -> AppResult<Cached> {
    let today = state.today();
    let params = format!("{today}:{}", property_key(filter.property_id));
    serve(
        &state,
        View::PaymentMetrics,
        landlord,
        filter.property_id,
        params,
        if_none_match,
        move |db, scope| async move { metrics::compute(&db, scope, today).await },
    )
    .await
}

async fn own_dashboard(
    State(state): State<AppState>,
    Landlord(landlord): Landlord,
    Query(filter): Query<PropertyFilter>,
    if_none_match: IfNoneMatch,
) -> AppResult<Cached> {
    dashboard_of(&state, landlord, filter.property_id, if_none_match).await
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
    dashboard_of(&state, landlord, filter.property_id, if_none_match).await
}

async fn dashboard_of(
    state: &AppState,
    landlord: Id,
    property: Option<Id>,
    if_none_match: IfNoneMatch,
) -> AppResult<Cached> {
    let served =
        dashboard::cached(&state.db, &state.cache, landlord, property, state.today()).await?;
    Ok(Cached {
        served,
        if_none_match,
    })
}
