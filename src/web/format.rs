//! Figures as people read them: `KES 1,234,567.89`, `92.5 %`.

use crate::types::Money;

/// `KES 1,234,567.89` (minus sign before the currency).
pub fn kes(amount: Money) -> String {
    let (sign, digits) = parts(amount);
    format!("{sign}KES {digits}")
}

/// `1,234,567.89`, `-12.50`: for columns whose heading names the currency.
pub fn shillings(amount: Money) -> String {
    let (sign, digits) = parts(amount);
    format!("{sign}{digits}")
}

fn parts(amount: Money) -> (&'static str, String) {
    let minor = amount.minor();
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    (sign, format!("{}.{:02}", thousands(abs / 100), abs % 100))
}

/// `1234567` → `1,234,567`.
pub fn thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// `92.5 %`, or an en dash when there is no rate.
pub fn percent(value: Option<f64>) -> String {
    value.map_or_else(|| "–".to_owned(), |pct| format!("{pct:.1} %"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_have_thousands_separators_and_two_decimals() {
        assert_eq!(kes(Money(0)), "KES 0.00");
        assert_eq!(kes(Money(123_456_789)), "KES 1,234,567.89");
        assert_eq!(kes(Money(-100_050)), "-KES 1,000.50");
        assert_eq!(shillings(Money(-1_250)), "-12.50");
        assert_eq!(shillings(Money(2_500_000)), "25,000.00");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(percent(Some(92.456)), "92.5 %");
        assert_eq!(percent(None), "–");
    }
}
