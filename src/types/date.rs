//! Calendar dates as the API accepts them: exactly `YYYY-MM-DD`, within
//! 2000-01-01..=2099-12-31. Nothing looser (`2026-1-1`, `+99999-01-01`,
//! surrounding spaces) gets in, so every stored date has one fixed form and
//! SQLite's text order is date order.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Deserializer};

/// The years a date may fall in.
pub const YEARS: std::ops::RangeInclusive<i32> = 2000..=2099;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    #[error("a date is written YYYY-MM-DD, got {0:?}")]
    Malformed(String),
    #[error("dates run from 2000-01-01 to 2099-12-31, got {0}")]
    OutOfRange(String),
}

/// `dddd-dd-dd`, or `dddd-dd` when `with_day` is false: only ASCII digits at
/// fixed places (no sign, no padding, no spaces).
pub(crate) fn fixed_form(text: &str, with_day: bool) -> bool {
    let shape: &[u8] = if with_day { b"dddd-dd-dd" } else { b"dddd-dd" };
    text.len() == shape.len()
        && text.bytes().zip(shape).all(|(b, s)| match s {
            b'd' => b.is_ascii_digit(),
            _ => b == *s,
        })
}

pub fn parse(text: &str) -> Result<NaiveDate, DateError> {
    if !fixed_form(text, true) {
        return Err(DateError::Malformed(text.to_owned()));
    }
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| DateError::Malformed(text.to_owned()))?;
    in_range(date)
}

pub fn in_range(date: NaiveDate) -> Result<NaiveDate, DateError> {
    if YEARS.contains(&date.year()) {
        Ok(date)
    } else {
        Err(DateError::OutOfRange(date.to_string()))
    }
}

/// Whether an instant's (UTC) year is within [`YEARS`].
pub fn instant_in_range(at: DateTime<Utc>) -> bool {
    YEARS.contains(&at.year())
}

/// `#[serde(deserialize_with = "date::strict")]` for a `NaiveDate` field.
pub fn strict<'de, D: Deserializer<'de>>(deserializer: D) -> Result<NaiveDate, D::Error> {
    let text = String::deserialize(deserializer)?;
    parse(&text).map_err(serde::de::Error::custom)
}

/// Like [`strict`], for an `Option<NaiveDate>` field (absent or `null` is `None`).
pub fn strict_opt<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<NaiveDate>, D::Error> {
    Option::<String>::deserialize(deserializer)?
        .map(|text| parse(&text).map_err(serde::de::Error::custom))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_fixed_form_within_the_century() {
        assert_eq!(
            parse("2026-01-31"),
            Ok(NaiveDate::from_ymd_opt(2026, 1, 31).expect("date"))
        );
        for bad in [
            "2026-1-1",
            "  2026-01-01",
            "2026-01-01 ",
            "+99999-01-01",
            "2026-02-30",
            "2026/01/01",
            "20260101",
            "",
            "２０２６-01-01",
        ] {
            assert!(
                matches!(parse(bad), Err(DateError::Malformed(_))),
                "{bad:?}"
            );
        }
        for far in ["1800-01-01", "1999-12-31", "2100-01-01", "9999-12-31"] {
            assert!(matches!(parse(far), Err(DateError::OutOfRange(_))), "{far}");
        }
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;
    use crate::types::Period;

    proptest! {
        #[test]
        fn dates_of_the_century_round_trip(days in 0..36_524_u64) {
            let date = NaiveDate::from_ymd_opt(2000, 1, 1).expect("date") + chrono::Days::new(days);
            prop_assert_eq!(parse(&date.format("%Y-%m-%d").to_string()), Ok(date));
            let period = Period::containing(date);
            prop_assert_eq!(period.to_string().parse::<Period>().ok(), Some(period));
        }

        #[test]
        fn any_text_is_a_date_or_an_error_never_a_panic(text in "\\PC{0,16}") {
            if let Ok(date) = parse(&text) {
                prop_assert!(YEARS.contains(&date.year()));
                prop_assert_eq!(date.format("%Y-%m-%d").to_string(), text);
            }
        }

        #[test]
        fn any_text_is_a_period_or_an_error_never_a_panic(text in "[-+ 0-9]{0,9}") {
            if let Ok(period) = text.parse::<Period>() {
                prop_assert_eq!(period.to_string(), text);
            }
        }
    }
}
