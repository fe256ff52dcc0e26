//! A billing period: one calendar month, written `YYYY-MM`.

use std::{fmt, str::FromStr};

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Period {
    year: i32,
    month: u32,
}

impl Period {
    /// A month within [`crate::types::date::YEARS`].
    pub fn new(year: i32, month: u32) -> Option<Period> {
        ((1..=12).contains(&month) && super::date::YEARS.contains(&year))
            .then_some(Period { year, month })
    }

    pub fn containing(date: NaiveDate) -> Period {
        Period {
            year: date.year(),
            month: date.month(),
        }
    }

    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).unwrap_or(NaiveDate::MIN)
    }

    pub fn last_day(self) -> NaiveDate {
        self.next().first_day().pred_opt().unwrap_or(NaiveDate::MAX)
    }

    /// The given day of this month, clamped to the month's length.
    pub fn day(self, day: u32) -> NaiveDate {
        let last = self.last_day();
        self.first_day()
            .with_day(day.clamp(1, last.day()))
            .unwrap_or(last)
    }

    pub fn next(self) -> Period {
        if self.month == 12 {
            Period {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Period {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    pub fn prev(self) -> Period {
        if self.month == 1 {
            Period {
                year: self.year - 1,
                month: 12,
            }
        } else {
            Period {
                year: self.year,
                month: self.month - 1,
            }
        }
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("a period is written YYYY-MM (2000-01 to 2099-12), got {0:?}")]
pub struct PeriodError(String);

impl FromStr for Period {
    type Err = PeriodError;

    fn from_str(text: &str) -> Result<Period, PeriodError> {
        let err = || PeriodError(text.to_owned());
        if !super::date::fixed_form(text, false) {
            return Err(err());
        }
        let (year, month) = text.split_once('-').ok_or_else(err)?;
        let year = year.parse().map_err(|_| err())?;
        let month = month.parse().map_err(|_| err())?;
        Period::new(year, month).ok_or_else(err)
    }
}

impl Serialize for Period {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Period {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

crate::types::enums::text_column!(Period);

impl utoipa::PartialSchema for Period {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some(r"^20[0-9]{2}-(0[1-9]|1[0-2])$"))
            .examples(["2026-12"])
            .description(Some("A month, YYYY-MM (2000-01 to 2099-12)"))
            .into()
    }
}

impl utoipa::ToSchema for Period {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_months() {
        let p: Period = "2024-02".parse().expect("valid");
        assert_eq!(p.to_string(), "2024-02");
        assert_eq!(
            p.last_day(),
            NaiveDate::from_ymd_opt(2024, 2, 29).expect("date")
        );
        assert_eq!(p.day(31), p.last_day());
        assert_eq!(
            "2023-12"
                .parse::<Period>()
                .expect("valid")
                .next()
                .to_string(),
            "2024-01"
        );
        for bad in [
            "2024-13", "2024-1", "24-01", "2024/01", "", "2024-00", "2026-+1", "1800-01",
            "2100-01", " 2024-01",
        ] {
            assert!(bad.parse::<Period>().is_err(), "{bad}");
        }
    }
}
