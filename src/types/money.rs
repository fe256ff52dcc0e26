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
    utoipa::ToSchema,
)]
#[serde(transparent)]
#[sqlx(transparent)]
#[schema(value_type = i64, examples(150000))]
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

    /// The most a stored amount may be: KES 1,000,000,000, enforced by a
    /// `CHECK` on every money column that is summed. A landlord's total then
    /// needs ~92 million maximal rows to reach `i64::MAX`.
    pub const CEILING: Money = Money(100_000_000_000);

    pub fn minor(self) -> i64 {
        self.0
    }

    pub fn from_major(shillings: i64) -> Money {
        Money(shillings * 100)
    }

    pub fn is_positive(self) -> bool {
        self.0 > 0
    }

    /// `2500.00`, `-12.50`: shillings with two decimals, no currency (CSV
    /// cells, form fields).
    pub fn decimal(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        format!("{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

// Arithmetic saturates instead of wrapping or panicking. Stored amounts are
// at most `CEILING`, so no real total comes near the bounds; the guard is for
// a report that must answer whatever the data.
impl std::ops::Add for Money {
    type Output = Money;
    fn add(self, rhs: Money) -> Money {
        Money(self.0.saturating_add(rhs.0))
    }
}

impl std::ops::AddAssign for Money {
    fn add_assign(&mut self, rhs: Money) {
        *self = *self + rhs;
    }
}

impl std::ops::SubAssign for Money {
    fn sub_assign(&mut self, rhs: Money) {
        *self = *self - rhs;
    }
}

impl std::ops::Sub for Money {
    type Output = Money;
    fn sub(self, rhs: Money) -> Money {
        Money(self.0.saturating_sub(rhs.0))
    }
}

/// Accumulated in `i128` (no intermediate overflow), converted once.
impl std::iter::Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        let total: i128 = iter.map(|m| i128::from(m.0)).sum();
        Money(i64::try_from(total).unwrap_or(if total < 0 { i64::MIN } else { i64::MAX }))
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
    fn sums_never_overflow() {
        let huge = [Money(i64::MAX), Money(i64::MAX), Money(-5)];
        assert_eq!(huge.into_iter().sum::<Money>(), Money(i64::MAX));
        assert_eq!(Money(i64::MAX) + Money(1), Money(i64::MAX));
        assert_eq!(Money(i64::MIN) - Money(1), Money(i64::MIN));
        let fine = [Money(i64::MAX), Money(-10)];
        assert_eq!(fine.into_iter().sum::<Money>(), Money(i64::MAX - 10));
    }

    #[test]
    fn displays_as_shillings() {
        assert_eq!(Money(123_456).to_string(), "KES 1234.56");
        assert_eq!(Money(-5).to_string(), "-KES 0.05");
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    /// `Display` without the currency: what M-Pesa would send.
    fn as_decimal(money: Money) -> String {
        format!("{}.{:02}", money.0 / 100, money.0 % 100)
    }

    proptest! {
        #[test]
        fn decimal_text_round_trips(cents in 0..=i64::MAX) {
            let money = Money(cents);
            prop_assert_eq!(as_decimal(money).parse::<Money>(), Ok(money));
            prop_assert_eq!(money.to_string(), format!("KES {}", as_decimal(money)));
        }

        #[test]
        fn whole_shillings_and_one_decimal_parse_exactly(whole in 0..=92_233_720_368_547_757_i64, tenth in 0..10_i64) {
            prop_assert_eq!(whole.to_string().parse::<Money>(), Ok(Money(whole * 100)));
            prop_assert_eq!(format!("{whole}.{tenth}").parse::<Money>(), Ok(Money(whole * 100 + tenth * 10)));
        }

        #[test]
        fn any_text_is_an_amount_or_an_error_never_a_panic(text in "\\PC{0,30}") {
            if let Ok(money) = text.parse::<Money>() {
                prop_assert!(money.0 >= 0);
            }
        }

        #[test]
        fn digit_strings_past_the_range_overflow_cleanly(text in "[0-9]{20,40}(\\.[0-9]{1,2})?") {
            let trimmed = text.trim_start_matches('0');
            let parsed = text.parse::<Money>();
            if trimmed.split('.').next().is_some_and(|whole| whole.len() > 17) {
                prop_assert_eq!(parsed, Err(MoneyError::Overflow));
            }
        }
    }
}
