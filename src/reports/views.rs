//! The reports as cached views: for each, the canonical cache parameters and
//! the loader. The HTTP handlers and the cache warming both come through
//! here, so a view is keyed and computed the same way whoever asks.
//!
//! Every loader checks the property filter itself (inside the load), so a
//! cache hit touches no database and a foreign property answers 404 (errors
//! are never cached). Date-dependent views carry their date in the
//! parameters, so they roll over at midnight without a write.

use axum::body::Bytes;
use chrono::NaiveDate;

use crate::cache::{Cache, Served, View, entry::json_body};
use crate::db::{Database, Reader};
use crate::error::AppResult;
use crate::reports::{
    DateRange, Scope, Source, arrears, dashboard, financial, metrics, occupancy, payments,
};
use crate::types::{Id, PaymentStatus};

/// The API's reports read the roll-ups (the history is the tests' reference).
const ROLLUPS: Source = Source::RollUps;

/// One cached read of a landlord's reports (optionally for one property).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Report {
    Dashboard {
        today: NaiveDate,
    },
    PaymentMetrics {
        today: NaiveDate,
    },
    Occupancy {
        today: NaiveDate,
    },
    Financial {
        range: DateRange,
    },
    Payments {
        range: DateRange,
        status: Option<PaymentStatus>,
    },
    Arrears {
        as_of: NaiveDate,
    },
}

impl Report {
    pub fn view(self) -> View {
        match self {
            Report::Dashboard { .. } => View::Dashboard,
            Report::PaymentMetrics { .. } => View::PaymentMetrics,
            Report::Occupancy { .. } => View::ReportOccupancy,
            Report::Financial { .. } => View::ReportFinancial,
            Report::Payments { .. } => View::ReportPayments,
            Report::Arrears { .. } => View::ReportArrears,
        }
    }

    /// Every parameter the body depends on, in one canonical string.
    pub(crate) fn params(self, property: Option<Id>) -> String {
        let property = property.map_or_else(|| "p-".to_owned(), |id| format!("p{id}"));
        match self {
            Report::Dashboard { today }
            | Report::PaymentMetrics { today }
            | Report::Occupancy { today } => format!("{today}:{property}"),
            Report::Financial { range } => format!("{}:{}:{property}", range.from, range.to),
            Report::Payments { range, status } => format!(
                "{}:{}:{}:{property}",
                range.from,
                range.to,
                status.map_or("any", PaymentStatus::as_str)
            ),
            Report::Arrears { as_of } => format!("{as_of}:{property}"),
        }
    }

    /// Computes the report's JSON body on the landlord's reader.
    async fn load(self, db: Database, landlord: Id, property: Option<Id>) -> AppResult<Bytes> {
        db.read(landlord, |reader| async move {
            self.load_on(&reader, landlord, property).await
        })
        .await
    }

    /// Computes the report's JSON body on `reader`.
    async fn load_on(
        self,
        reader: &Reader,
        landlord: Id,
        property: Option<Id>,
    ) -> AppResult<Bytes> {
        let scope = Scope::new(reader, landlord, property).await?;
        match self {
            Report::Dashboard { today } => {
                json_body(&dashboard::compute(reader, scope, today, ROLLUPS).await?)
            }
            Report::PaymentMetrics { today } => {
                json_body(&metrics::compute(reader, scope, today, ROLLUPS).await?)
            }
            Report::Occupancy { today } => {
                json_body(&occupancy::compute(reader, scope, today, ROLLUPS).await?)
            }
            Report::Financial { range } => {
                json_body(&financial::compute(reader, scope, range, ROLLUPS).await?)
            }
            Report::Payments { range, status } => {
                json_body(&payments::compute(reader, scope, range, status, ROLLUPS).await?)
            }
            Report::Arrears { as_of } => {
                json_body(&arrears::compute(reader, scope, as_of, ROLLUPS).await?)
            }
        }
    }
}

/// `report` for `landlord` (and `property`), through the cache.
pub async fn serve(
    db: &Database,
    cache: &Cache,
    landlord: Id,
    property: Option<Id>,
    report: Report,
) -> AppResult<Served> {
    let db = db.clone();
    let load = move || report.load(db, landlord, property);
    cache
        .get_or_load(report.view(), landlord, &report.params(property), load)
        .await
}

/// Recomputes `report` and stores it whatever the cache holds (warming).
pub async fn refresh(
    db: &Database,
    cache: &Cache,
    landlord: Id,
    property: Option<Id>,
    report: Report,
) -> AppResult<()> {
    let load = report.load(db.clone(), landlord, property);
    cache
        .refresh(report.view(), landlord, &report.params(property), load)
        .await
}
