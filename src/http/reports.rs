//! Reads: reports, payment metrics and the dashboard.

use axum::extract::State;
use serde::Deserialize;

use crate::error::{AppError, AppResult};
use crate::http::{
    AppState,
    auth::{AuthUser, Landlord},
    cached::{Cached, Format, IfNoneMatch},
    extract::{Path, Query},
};
use crate::reports::{
    DateRange, RangeParams, parse_date,
    views::{self, Report},
};
use crate::reports::{
    arrears::ArrearsReport, dashboard::Dashboard, financial::FinancialReport,
    metrics::PaymentMetrics, occupancy::OccupancyReport, payments::PaymentsReport,
};
use crate::types::{Id, PaymentStatus, Role};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(occupancy_report))
        .routes(routes!(financial_report))
        .routes(routes!(payments_report))
        .routes(routes!(arrears_report))
        .routes(routes!(payment_metrics))
        .routes(routes!(own_dashboard))
        .routes(routes!(landlord_dashboard))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct PropertyFilter {
    property_id: Option<Id>,
}

/// The query of a report that also comes as CSV.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct TableFilter {
    property_id: Option<Id>,
    /// `json` (the default) or `csv`.
    #[serde(default)]
    format: Format,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct StatusFilter {
    status: Option<PaymentStatus>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
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
    Ok(Cached::json(served, if_none_match))
}

/// Serves `report` through the cache as JSON or, from the same bytes, CSV.
async fn serve_table(
    state: &AppState,
    landlord: Id,
    filter: TableFilter,
    report: Report,
    if_none_match: IfNoneMatch,
) -> AppResult<Cached> {
    let served = views::serve(
        &state.db,
        &state.cache,
        landlord,
        filter.property_id,
        report,
    )
    .await?;
    Ok(Cached {
        served,
        if_none_match,
        csv: matches!(filter.format, Format::Csv).then_some(report),
    })
}

#[utoipa::path(get, path = "/reports/occupancy", tag = "reports", params(TableFilter), responses((status = 200, description = "OK", content((OccupancyReport = "application/json"), (String = "text/csv")))))]
async fn occupancy_report(
    State(state): State<AppState>,
    Landlord(landlord): Landlord,
    Query(filter): Query<TableFilter>,
    if_none_match: IfNoneMatch,
) -> AppResult<Cached> {
    let report = Report::Occupancy {
        today: state.today(),
    };
    serve_table(&state, landlord, filter, report, if_none_match).await
}

#[utoipa::path(get, path = "/reports/financial", tag = "reports", params(TableFilter, RangeParams), responses((status = 200, description = "OK", content((FinancialReport = "application/json"), (String = "text/csv")))))]
async fn financial_report(
    State(state): State<AppState>,
    Landlord(landlord): Landlord,
    Query(filter): Query<TableFilter>,
    Query(range): Query<RangeParams>,
    if_none_match: IfNoneMatch,
) -> AppResult<Cached> {
    let range = DateRange::parse(&range, state.today())?;
    let report = Report::Financial { range };
    serve_table(&state, landlord, filter, report, if_none_match).await
}

#[utoipa::path(get, path = "/reports/payments", tag = "reports", params(TableFilter, RangeParams, StatusFilter), responses((status = 200, description = "OK", content((PaymentsReport = "application/json"), (String = "text/csv")))))]
async fn payments_report(
    State(state): State<AppState>,
    Landlord(landlord): Landlord,
    Query(filter): Query<TableFilter>,
    Query(range): Query<RangeParams>,
    Query(status): Query<StatusFilter>,
    if_none_match: IfNoneMatch,
) -> AppResult<Cached> {
    let range = DateRange::parse(&range, state.today())?;
    let report = Report::Payments {
        range,
        status: status.status,
    };
    serve_table(&state, landlord, filter, report, if_none_match).await
}

#[utoipa::path(get, path = "/reports/arrears", tag = "reports", params(TableFilter, AsOf), responses((status = 200, description = "OK", content((ArrearsReport = "application/json"), (String = "text/csv")))))]
async fn arrears_report(
    State(state): State<AppState>,
    Landlord(landlord): Landlord,
    Query(filter): Query<TableFilter>,
    Query(as_of): Query<AsOf>,
    if_none_match: IfNoneMatch,
) -> AppResult<Cached> {
    let as_of = match &as_of.as_of {
        Some(text) => parse_date("as_of", text)?,
        None => state.today(),
    };
    let report = Report::Arrears { as_of };
    serve_table(&state, landlord, filter, report, if_none_match).await
}

#[utoipa::path(get, path = "/metrics/payments", tag = "reports", params(PropertyFilter), responses((status = 200, description = "OK", body = PaymentMetrics)))]
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

#[utoipa::path(get, path = "/dashboard", tag = "reports", params(PropertyFilter), responses((status = 200, description = "OK", body = Dashboard)))]
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
#[utoipa::path(get, path = "/landlords/{id}/dashboard", tag = "reports", params(("id" = i64, Path, description = "the landlord's id"), PropertyFilter), responses((status = 200, description = "OK", body = Dashboard)))]
async fn landlord_dashboard(
    State(state): State<AppState>,
    user: AuthUser,
    Path(landlord): Path<Id>,
    Query(filter): Query<PropertyFilter>,
    if_none_match: IfNoneMatch,
) -> AppResult<Cached> {
    let allowed = match user.role {
        Role::Landlord => user.id == landlord,
        Role::Admin => {
            crate::db::users::is_landlord(state.db.reader_prefer_primary(), landlord).await?
        }
    };
    if !allowed {
        return Err(AppError::NotFound("landlord"));
    }
    let report = Report::Dashboard {
        today: state.today(),
    };
    serve(&state, landlord, filter.property_id, report, if_none_match).await
}
