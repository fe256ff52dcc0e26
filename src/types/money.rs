//! Money as integer minor units (KES cents). Never a float.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

/// An amount in minor units (1 KES = 100). Serialized as a plain integer.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    Serialize,
    Deserialize,
    sqlx::Type,
)]
#[serde(transparent)]
#[sqlx(transparent)]
pub struct Money(pub i64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("amount is not a decimal number with at most two decimals: {0:?}")]
    Malformed(String),
    #[error("amount is too large")]
    Overflow,
}

impl Money {
    pub const ZERO: Money = Money(0);

    pub fn minor(self) -> i64 {
        self.0
    }

    pub fn from_major(shillings: i64) -> Money {
        Money(shillings * 100)
    }

    pub fn is_positive(self) -> bool {
        self.0 > 0
    }
}

impl std::ops::Add for Money {
    type Output = Money;
    fn add(self, rhs: Money) -> Money {
        Money(self.0 + rhs.0)
    }
}

impl std::ops::AddAssign for Money {
    fn add_assign(&mut self, rhs: Money) {
        self.0 += rhs.0;
    }
}

impl std::ops::Sub for Money {
    type Output = Money;
    fn sub(self, rhs: Money) -> Money {
        Money(self.0 - rhs.0)
    }
}

impl std::iter::Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        Money(iter.map(|m| m.0).sum())
    }
}

/// Parses a non-negative decimal string such as M-Pesa's `TransAmount`
/// (`"10"`, `"10.5"`, `"10.00"`) exactly, without going through a float.
impl FromStr for Money {
    type Err = MoneyError;

    fn from_str(text: &str) -> Result<Money, MoneyError> {
        let malformed = || MoneyError::Malformed(text.to_owned());
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !all_digits(whole) || !all_digits(fraction) || fraction.len() > 2 {
            return Err(malformed());
        }
        if text.ends_with('.') {
            return Err(malformed());
        }
        let whole: i64 = whole.parse().map_err(|_| MoneyError::Overflow)?;
        let cents = match fraction.len() {
            0 => 0,
            1 => fraction.parse::<i64>().map_err(|_| malformed())? * 10,
            _ => fraction.parse::<i64>().map_err(|_| malformed())?,
        };
        whole
            .checked_mul(100)
            .and_then(|minor| minor.checked_add(cents))
            .map(Money)
            .ok_or(MoneyError::Overflow)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}KES {}.{:02}", abs / 100, abs % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_mpesa_amounts_exactly() {
        assert_eq!("10.00".parse(), Ok(Money(1000)));
        assert_eq!("10".parse(), Ok(Money(1000)));
        assert_eq!("10.5".parse(), Ok(Money(1050)));
        assert_eq!("0.01".parse(), Ok(Money(1)));
        assert_eq!("25000.99".parse(), Ok(Money(2_500_099)));
    }

    #[test]
    fn rejects_anything_that_is_not_a_plain_decimal() {
        for bad in [
            "", ".5", "10.", "-1", "1e3", "10.001", "1,000", " 10", "ten", "+5",
        ] {
            assert!(bad.parse::<Money>().is_err(), "{bad:?} should be rejected");
        }
        assert_eq!(
            "99999999999999999999".parse::<Money>(),
            Err(MoneyError::Overflow)
        );
    }

    #[test]
    fn displays_as_shillings() {
        assert_eq!(Money(123_456).to_string(), "KES 1234.56");
        assert_eq!(Money(-5).to_string(), "-KES 0.05");
    }
}
