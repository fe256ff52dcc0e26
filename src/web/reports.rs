//! The reports page (date pickers) and each report as a CSV download. The
//! figures are the API's cached views, read from the same bytes.

use askama::Template;
use axum::{
    extract::{Path, Query, State},
    http::header,
    response::{IntoResponse, Response},
};
use serde::de::DeserializeOwned;

use crate::error::{AppError, AppResult};
use crate::http::AppState;
use crate::reports::{
    DateRange, RangeParams,
    arrears::ArrearsReport,
    csv,
    financial::{FinancialReport, Totals},
    occupancy::OccupancyReport,
    parse_date,
    payments::PaymentsReport,
    views::{self, Report},
};
use crate::types::Id;
use crate::web::{
    format::{kes, percent},
    page,
    session::Landlord,
};

/// A report of `landlord`'s, through the cache, as its type.
async fn load<T: DeserializeOwned>(state: &AppState, landlord: Id, report: Report) -> AppResult<T> {
    let served = views::serve(&state.db, &state.cache, landlord, None, report).await?;
    serde_json::from_slice(&served.entry.body)
        .map_err(|err| AppError::Internal(anyhow::Error::new(err).context("reading a report")))
}

struct Row {
    key: String,
    billed: String,
    collected: String,
    outstanding: String,
    rate: String,
}

impl Row {
    fn of(key: String, totals: &Totals) -> Row {
        Row {
            key,
            billed: kes(totals.billed),
            collected: kes(totals.collected),
            outstanding: kes(totals.outstanding),
            rate: percent(totals.collection_pct),
        }
    }
}

#[derive(Template)]
#[template(path = "reports.html")]
struct ReportsPage {
    signed_in: Option<String>,
    from: String,
    to: String,
    error: Option<String>,
    months: Vec<Row>,
    total: Row,
    statuses: Vec<(&'static str, i64, String)>,
    arrears_total: String,
    arrears_leases: i64,
    occupancy: Vec<(String, i64, i64, i64, String)>,
}

pub async fn page_of_reports(
    State(state): State<AppState>,
    landlord: Landlord,
    Query(params): Query<RangeParams>,
) -> Response {
    let today = state.today();
    let (range, error) = match DateRange::parse(&params, today) {
        Ok(range) => (range, None),
        Err(err) => (
            DateRange::parse(
                &RangeParams {
                    from: None,
                    to: None,
                },
                today,
            )
            .unwrap_or_else(|_| unreachable!("this month is a valid range")),
            Some(err.to_string()),
        ),
    };
    let id = landlord.id;
    let loaded = tokio::try_join!(
        load::<FinancialReport>(&state, id, Report::Financial { range }),
        load::<PaymentsReport>(
            &state,
            id,
            Report::Payments {
                range,
                status: None
            }
        ),
        load::<ArrearsReport>(&state, id, Report::Arrears { as_of: range.to }),
        load::<OccupancyReport>(&state, id, Report::Occupancy { today }),
    );
    let (financial, payments, arrears, occupancy) = match loaded {
        Ok(loaded) => loaded,
        Err(err) => return err.into_response(),
    };
    page(&ReportsPage {
        signed_in: Some(landlord.csrf),
        from: range.from.to_string(),
        to: range.to.to_string(),
        error,
        months: financial
            .by_month
            .iter()
            .map(|month| Row::of(month.month.to_string(), &month.totals))
            .collect(),
        total: Row::of("Total".to_owned(), &financial.total),
        statuses: payments
            .by_status
            .iter()
            .map(|group| {
                (
                    group.status.as_str(),
                    group.totals.count,
                    kes(group.totals.amount),
                )
            })
            .collect(),
        arrears_total: kes(arrears.summary.total_arrears),
        arrears_leases: arrears.summary.leases_in_arrears,
        occupancy: occupancy
            .properties
            .iter()
            .map(|property| {
                let figures = &property.occupancy;
                (
                    property.name.clone(),
                    figures.units,
                    figures.occupied,
                    figures.vacant,
                    percent(figures.occupancy_pct),
                )
            })
            .collect(),
    })
}

#[derive(serde::Deserialize)]
pub struct CsvParams {
    from: Option<String>,
    to: Option<String>,
    as_of: Option<String>,
}

/// `/reports/{financial,payments,arrears,occupancy}.csv`: the cached
/// report rendered as CSV, as the API's `?format=csv` renders it.
pub async fn download(
    State(state): State<AppState>,
    landlord: Landlord,
    Path(file): Path<String>,
    Query(params): Query<CsvParams>,
) -> Response {
    let report = match report_of_file(&state, &file, params) {
        Ok(Some(report)) => report,
        Ok(None) => return crate::web::pages::not_found(&landlord.csrf),
        Err(err) => return err.into_response(),
    };
    let served = match views::serve(&state.db, &state.cache, landlord.id, None, report).await {
        Ok(served) => served,
        Err(err) => return err.into_response(),
    };
    match csv::from_json(&report, &served.entry.body) {
        Some(Ok(file)) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{}\"", file.name),
                ),
                (header::CACHE_CONTROL, "private, no-store".to_owned()),
            ],
            file.text,
        )
            .into_response(),
        Some(Err(err)) => {
            AppError::Internal(anyhow::Error::new(err).context("reading a report")).into_response()
        }
        None => crate::web::pages::not_found(&landlord.csrf),
    }
}

/// The report a CSV file name asks for; `None` for an unknown name.
fn report_of_file(state: &AppState, file: &str, params: CsvParams) -> AppResult<Option<Report>> {
    let today = state.today();
    let range = || {
        DateRange::parse(
            &RangeParams {
                from: params.from.clone(),
                to: params.to.clone(),
            },
            today,
        )
    };
    Ok(Some(match file {
        "financial.csv" => Report::Financial { range: range()? },
        "payments.csv" => Report::Payments {
            range: range()?,
            status: None,
        },
        "arrears.csv" => Report::Arrears {
            as_of: match &params.as_of {
                Some(text) => parse_date("as_of", text)?,
                None => today,
            },
        },
        "occupancy.csv" => Report::Occupancy { today },
        _ => return Ok(None),
    }))
}
