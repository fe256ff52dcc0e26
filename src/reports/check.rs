//! Every report computed from the roll-ups and from the history, compared:
//! what `mfuko rollups verify` and the tests run after the table check. The
//! dates cover today, a past date, month edges and partial months.

use chrono::{Days, Months, NaiveDate};

use crate::db::{Reader, dispatch};
use crate::error::AppResult;
use crate::reports::{
    DateRange, Scope, Source, arrears, dashboard, financial, metrics, occupancy, payments,
};
use crate::types::{Id, PaymentStatus, Period};

/// One report that came out differently from the two sources.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportDifference {
    pub landlord: Id,
    /// The report and its parameters, e.g. `arrears as of 2026-11-15`.
    pub report: String,
    pub rollups: serde_json::Value,
    pub history: serde_json::Value,
}

/// The landlords that have any data.
pub async fn landlords(reader: &Reader) -> sqlx::Result<Vec<Id>> {
    dispatch!(reader.pool(), p => sqlx::query_scalar(
        "SELECT id FROM users WHERE role = 'landlord' ORDER BY id",
    )
    .fetch_all(p)
    .await)
}

/// Compares every report of `landlord` (all properties, and their first
/// property alone) around `today`.
pub async fn compare(
    reader: &Reader,
    landlord: Id,
    today: NaiveDate,
) -> AppResult<Vec<ReportDifference>> {
    let first_property: Option<Id> = dispatch!(reader.pool(), p => sqlx::query_scalar(
        "SELECT MIN(id) FROM properties WHERE landlord_id = $1",
    )
    .bind(landlord)
    .fetch_one(p)
    .await)?;
    let mut differences = Vec::new();
    let properties = std::iter::once(None).chain(first_property.map(Some));
    for property in properties {
        let scope = Scope { landlord, property };
        for (name, rollups, history) in reports_both_ways(reader, scope, today).await? {
            if rollups != history {
                differences.push(ReportDifference {
                    landlord,
                    report: format!("{name} (property {property:?})"),
                    rollups,
                    history,
                });
            }
        }
    }
    Ok(differences)
}

type Pair = (String, serde_json::Value, serde_json::Value);

async fn reports_both_ways(
    reader: &Reader,
    scope: Scope,
    today: NaiveDate,
) -> AppResult<Vec<Pair>> {
    let this_month = Period::containing(today);
    let past = today.checked_sub_days(Days::new(45)).unwrap_or(today);
    let ahead = this_month.next().day(10);
    let year_back = today.checked_sub_months(Months::new(12)).unwrap_or(today);
    let ranges = [
        DateRange::new(this_month.first_day(), today)?,
        DateRange::new(year_back, today)?,
        DateRange::new(year_back, this_month.last_day())?,
        DateRange::new(Period::containing(year_back).first_day(), ahead)?,
    ];
    let mut pairs = Vec::new();
    // Runs `$report` once per source, with `$source` bound to it.
    macro_rules! both {
        ($name:expr, |$source:ident| $report:expr) => {{
            let $source = Source::RollUps;
            let rollups = serde_json::to_value($report.await?).unwrap_or_default();
            let $source = Source::History;
            let history = serde_json::to_value($report.await?).unwrap_or_default();
            pairs.push(($name, rollups, history));
        }};
    }
    for day in [today, past, ahead, this_month.first_day()] {
        both!(format!("arrears as of {day}"), |source| arrears::compute(
            reader, scope, day, source
        ));
    }
    for day in [today, past, ahead] {
        both!(format!("dashboard on {day}"), |source| {
            dashboard::compute(reader, scope, day, source)
        });
    }
    both!(format!("occupancy on {today}"), |source| {
        occupancy::compute(reader, scope, today, source)
    });
    both!(format!("payment metrics on {past}"), |source| {
        metrics::compute(reader, scope, past, source)
    });
    for range in ranges {
        let name = format!("{} to {}", range.from, range.to);
        both!(format!("financial {name}"), |source| financial::compute(
            reader, scope, range, source
        ));
        for status in [None, Some(PaymentStatus::Confirmed)] {
            both!(format!("payments {name} ({status:?})"), |source| {
                payments::compute(reader, scope, range, status, source)
            });
        }
    }
    Ok(pairs)
}
