//! The landlord's reports, computed from SQL aggregates on a reader.
//!
//! Money stays integer minor units end to end. Percentages are computed last,
//! once, in integer arithmetic: `numerator × 100 / denominator`, rounded half
//! up to two decimals, and `null` when the denominator is zero (see
//! [`percent`]).
//!
//! The sums come from the roll-ups ([`Source::RollUps`], what the API serves)
//! or from the whole history ([`Source::History`], the reference the tests
//! and `mfuko rollups verify` hold the roll-ups to); see [`sums`].

pub mod arrears;
pub mod check;
pub mod csv;
pub mod dashboard;
mod fifo;
pub mod financial;
pub mod metrics;
pub mod occupancy;
pub mod patch;
pub mod payments;
pub mod sums;
pub mod views;
pub mod warm;

use chrono::{Months, NaiveDate};
use serde::Deserialize;

use crate::db::{Reader, properties};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::types::{Id, Period};

pub use sums::Source;

/// Whose data a report covers: one landlord, optionally one of their properties.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Scope {
    pub landlord: Id,
    pub property: Option<Id>,
}

impl Scope {
    /// Checks that the property filter names one of the landlord's properties,
    /// so a foreign id answers 404 rather than an empty report.
    pub async fn new(reader: &Reader, landlord: Id, property: Option<Id>) -> AppResult<Scope> {
        if let Some(id) = property
            && properties::get(reader, landlord, id).await?.is_none()
        {
            return Err(AppError::NotFound("property"));
        }
        Ok(Scope { landlord, property })
    }
}

/// `?from=&to=` as sent: parsed here so each mistake gets its own code.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RangeParams {
    #[param(pattern = r"^20[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")]
    pub from: Option<String>,
    #[param(pattern = r"^20[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")]
    pub to: Option<String>,
}

/// An inclusive date range of at most ten years.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, utoipa::ToSchema)]
pub struct DateRange {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

pub const MAX_RANGE_YEARS: u32 = 10;

impl DateRange {
    /// Defaults: `to` = today, `from` = the first day of `to`'s month.
    pub fn parse(params: &RangeParams, today: NaiveDate) -> AppResult<DateRange> {
        let to = match &params.to {
            Some(text) => parse_date("to", text)?,
            None => today,
        };
        let from = match &params.from {
            Some(text) => parse_date("from", text)?,
            None => Period::containing(to).first_day(),
        };
        DateRange::new(from, to)
    }

    pub fn new(from: NaiveDate, to: NaiveDate) -> AppResult<DateRange> {
        if from > to {
            return Err(AppError::validation(
                ErrorCode::InvalidDateRange,
                "from is after to",
            ));
        }
        let limit = from.checked_add_months(Months::new(12 * MAX_RANGE_YEARS));
        if limit.is_none_or(|limit| to >= limit) {
            return Err(AppError::validation(
                ErrorCode::RangeTooLong,
                format!("a report covers at most {MAX_RANGE_YEARS} years"),
            ));
        }
        Ok(DateRange { from, to })
    }

    /// The range cut at month boundaries: the whole calendar months it covers
    /// (`first..=last`, if any) and the parts of months at either end.
    pub fn split(&self) -> (Option<(Period, Period)>, Vec<DateRange>) {
        let (from_month, to_month) = (Period::containing(self.from), Period::containing(self.to));
        let (mut first, mut last) = (from_month, to_month);
        let mut parts = Vec::new();
        if self.from != from_month.first_day() {
            let to = self.to.min(from_month.last_day());
            parts.push(DateRange {
                from: self.from,
                to,
            });
            first = from_month.next();
        }
        if self.to != to_month.last_day() {
            if parts.is_empty() || to_month != from_month {
                let from = self.from.max(to_month.first_day());
                parts.push(DateRange { from, to: self.to });
            }
            last = to_month.prev();
        }
        ((first <= last).then_some((first, last)), parts)
    }

    /// The calendar months the range touches, in order.
    pub fn months(&self) -> Vec<Period> {
        let mut months = Vec::new();
        let mut month = Period::containing(self.from);
        let last = Period::containing(self.to);
        while month <= last {
            months.push(month);
            month = month.next();
        }
        months
    }
}

/// A `YYYY-MM-DD` date from a query parameter.
pub fn parse_date(field: &'static str, text: &str) -> AppResult<NaiveDate> {
    crate::types::date::parse(text)
        .map_err(|err| AppError::validation(ErrorCode::InvalidDate, format!("{field}: {err}")))
}

/// `numerator / denominator` as a percentage rounded half up to two decimals,
/// computed in integers; `None` when the denominator is not positive.
pub fn percent(numerator: i64, denominator: i64) -> Option<f64> {
    if denominator <= 0 {
        return None;
    }
    let (n, d) = (i128::from(numerator), i128::from(denominator));
    // Hundredths of a percent, rounded half up (floor of x + 1/2).
    let hundredths = (n * 20_000 + d).div_euclid(2 * d);
    Some(hundredths as f64 / 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        parse_date("d", text).expect("valid date")
    }

    #[test]
    fn percentages_round_half_up_once() {
        assert_eq!(percent(1, 3), Some(33.33));
        assert_eq!(percent(2, 3), Some(66.67));
        assert_eq!(percent(1, 8), Some(12.5));
        assert_eq!(percent(1, 80_000), Some(0.0)); // 0.00125 % → 0.00
        assert_eq!(percent(1, 40_000), Some(0.0)); // 0.0025 % → 0.00 (half of a hundredth rounds up only at .005)
        assert_eq!(percent(1, 20_000), Some(0.01)); // 0.005 % → 0.01
        assert_eq!(percent(3, 2), Some(150.0));
        assert_eq!(percent(5, 0), None);
    }

    #[test]
    fn ranges_default_to_this_month_and_are_checked() {
        let today = date("2024-02-29");
        let range = DateRange::parse(&RangeParams::default(), today).expect("defaults");
        assert_eq!((range.from, range.to), (date("2024-02-01"), today));
        let bad = |from: &str, to: &str| {
            let params = RangeParams {
                from: Some(from.into()),
                to: Some(to.into()),
            };
            DateRange::parse(&params, today).map_err(|e| e.code()).err()
        };
        assert_eq!(
            bad("2024-03-01", "2024-02-01"),
            Some(ErrorCode::InvalidDateRange)
        );
        assert_eq!(
            bad("2014-01-01", "2024-01-01"),
            Some(ErrorCode::RangeTooLong)
        );
        assert_eq!(bad("2014-01-02", "2024-01-01"), None);
        assert_eq!(
            bad("2024-02-30", "2024-03-01"),
            Some(ErrorCode::InvalidDate)
        );
        assert_eq!(
            bad("01/02/2024", "2024-03-01"),
            Some(ErrorCode::InvalidDate)
        );
    }

    #[test]
    fn ranges_split_into_whole_months_and_parts() {
        let split = |from: &str, to: &str| {
            let (whole, parts) = DateRange::new(date(from), date(to)).expect("range").split();
            let whole = whole.map(|(a, b)| format!("{a}..{b}"));
            let parts: Vec<String> = parts
                .iter()
                .map(|r| format!("{}..{}", r.from, r.to))
                .collect();
            (whole, parts)
        };
        let s = |text: &str| text.to_owned();
        assert_eq!(
            split("2024-01-01", "2024-03-31"),
            (Some(s("2024-01..2024-03")), vec![])
        );
        assert_eq!(
            split("2024-01-03", "2024-03-20"),
            (
                Some(s("2024-02..2024-02")),
                vec![s("2024-01-03..2024-01-31"), s("2024-03-01..2024-03-20")]
            )
        );
        assert_eq!(
            split("2024-02-03", "2024-02-20"),
            (None, vec![s("2024-02-03..2024-02-20")])
        );
        assert_eq!(
            split("2024-02-01", "2024-02-20"),
            (None, vec![s("2024-02-01..2024-02-20")])
        );
        assert_eq!(
            split("2024-02-03", "2024-02-29"),
            (None, vec![s("2024-02-03..2024-02-29")])
        );
        assert_eq!(
            split("2024-02-01", "2024-02-29"),
            (Some(s("2024-02..2024-02")), vec![])
        );
        assert_eq!(
            split("2024-01-31", "2024-02-01"),
            (
                None,
                vec![s("2024-01-31..2024-01-31"), s("2024-02-01..2024-02-01")]
            )
        );
    }

    #[test]
    fn months_cover_the_range() {
        let range = DateRange::new(date("2023-11-15"), date("2024-02-01")).expect("range");
        let months: Vec<String> = range.months().iter().map(ToString::to_string).collect();
        assert_eq!(months, ["2023-11", "2023-12", "2024-01", "2024-02"]);
    }
}
