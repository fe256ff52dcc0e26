//! The dashboard page: KPI cards, the arrears aging and 12-month charts,
//! top debtors and recent payments, all from the API's cached dashboard
//! view (the same bytes, formatted) plus one indexed read of the latest
//! payments.

use askama::Template;
use axum::{
    extract::State,
    response::{IntoResponse, Response},
};

use crate::db::payments;
use crate::error::AppError;
use crate::http::AppState;
use crate::reports::{dashboard::Dashboard, views};
use crate::web::{
    charts,
    format::{kes, percent, thousands},
    page,
    session::Landlord,
};

struct DebtorRow {
    tenant: String,
    unit: String,
    balance: String,
    days_overdue: i64,
}

struct PaymentRow {
    date: String,
    method: &'static str,
    status: &'static str,
    amount: String,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    signed_in: Option<String>,
    as_of: String,
    collected: String,
    billed: String,
    collection_rate: String,
    occupancy: String,
    occupied: String,
    available: String,
    arrears: String,
    leases_in_arrears: i64,
    overdue_leases: i64,
    pending_amount: String,
    pending_count: i64,
    aging_chart: String,
    monthly_chart: String,
    debtors: Vec<DebtorRow>,
    payments: Vec<PaymentRow>,
}

/// The dashboard: the API's cached dashboard view (the same bytes), shown.
pub async fn page_of_dashboard(State(state): State<AppState>, viewer: Landlord) -> Response {
    let landlord = viewer.id;
    let report = views::Report::Dashboard {
        today: state.today(),
    };
    let served = match views::serve(&state.db, &state.cache, landlord, None, report).await {
        Ok(served) => served,
        Err(err) => return err.into_response(),
    };
    let figures: Dashboard = match serde_json::from_slice(&served.entry.body) {
        Ok(figures) => figures,
        Err(err) => {
            return AppError::Internal(anyhow::Error::new(err).context("reading the dashboard"))
                .into_response();
        }
    };
    let recent = state
        .db
        .read(landlord, |reader| async move {
            payments::recent(&reader, landlord, payments::ListFilter::default(), 8).await
        })
        .await;
    let recent = match recent {
        Ok(rows) => rows,
        Err(err) => return AppError::from(err).into_response(),
    };
    let metrics = &figures.metrics;
    let total = &figures.occupancy.total;
    page(&DashboardPage {
        signed_in: Some(viewer.csrf),
        as_of: figures.as_of.to_string(),
        collected: kes(metrics.collected_this_month),
        billed: kes(metrics.billed_this_month),
        collection_rate: format!("{} collected", percent(metrics.collection_pct)),
        occupancy: percent(total.occupancy_pct),
        occupied: thousands(total.occupied.unsigned_abs()),
        available: thousands(total.available.unsigned_abs()),
        arrears: kes(figures.arrears.total_arrears),
        leases_in_arrears: figures.arrears.leases_in_arrears,
        overdue_leases: metrics.overdue_leases,
        pending_amount: kes(metrics.pending.amount),
        pending_count: metrics.pending.count,
        aging_chart: charts::aging(&figures.arrears.buckets),
        monthly_chart: charts::monthly(&metrics.monthly),
        debtors: metrics
            .top_debtors
            .iter()
            .map(|debtor| DebtorRow {
                tenant: debtor.tenant.clone(),
                unit: debtor.unit.clone(),
                balance: kes(debtor.balance),
                days_overdue: debtor.days_overdue,
            })
            .collect(),
        payments: recent
            .iter()
            .map(|payment| PaymentRow {
                date: payment
                    .paid_at
                    .with_timezone(&state.tz)
                    .date_naive()
                    .to_string(),
                method: payment.method.as_str(),
                status: payment.status.as_str(),
                amount: kes(payment.amount),
            })
            .collect(),
    })
}
