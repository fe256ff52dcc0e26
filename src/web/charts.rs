//! Charts as SVG drawn on the server: no chart library, nothing fetched at
//! run time. Each chart has a text alternative (`role="img"`, a title and a
//! description listing its figures) and readable labels.

use std::fmt::Write as _;

use crate::reports::{arrears::Buckets, financial::MonthTotals};
use crate::types::Money;
use crate::web::format::kes;

/// Escapes text for SVG/HTML content and attributes.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `2026-03` → `Mar`.
fn month_name(period: &str) -> &'static str {
    const NAMES: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    period
        .get(5..7)
        .and_then(|month| month.parse::<usize>().ok())
        .and_then(|month| NAMES.get(month.wrapping_sub(1)))
        .copied()
        .unwrap_or("")
}

/// Horizontal bars of the arrears by age (0–30, 31–60, 61–90, 90+ days).
pub fn aging(buckets: &Buckets) -> String {
    let rows = [
        ("0–30 days", buckets.days_0_30),
        ("31–60 days", buckets.days_31_60),
        ("61–90 days", buckets.days_61_90),
        ("over 90 days", buckets.days_90_plus),
    ];
    let max = rows
        .iter()
        .map(|(_, amount)| amount.minor())
        .max()
        .unwrap_or(0)
        .max(1);
    let description: Vec<String> = rows
        .iter()
        .map(|(label, amount)| format!("{label}: {}", kes(*amount)))
        .collect();
    let mut svg = format!(
        r#"<svg viewBox="0 0 600 170" role="img" aria-labelledby="aging-title aging-desc"><title id="aging-title">Arrears by age</title><desc id="aging-desc">{}</desc>"#,
        escape(&description.join("; "))
    );
    for (index, (label, amount)) in rows.iter().enumerate() {
        let y = 10 + index * 40;
        let width = (amount.minor().max(0) as f64 / max as f64 * 330.0).round();
        let _ = write!(
            svg,
            r##"<text x="0" y="{text_y}">{label}</text><rect x="110" y="{y}" width="{width}" height="26" rx="3" fill="#c0392b" opacity="{opacity}"></rect><text x="{amount_x}" y="{text_y}">{amount}</text>"##,
            text_y = y + 18,
            opacity = 0.45 + 0.18 * index as f64,
            amount_x = 110.0 + width + 8.0,
            amount = escape(&kes(*amount)),
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Billed and collected per month, side by side, with the largest amount
/// on the axis.
pub fn monthly(months: &[MonthTotals]) -> String {
    let max = months
        .iter()
        .flat_map(|month| [month.totals.billed.minor(), month.totals.collected.minor()])
        .max()
        .unwrap_or(0)
        .max(1);
    let description: Vec<String> = months
        .iter()
        .map(|month| {
            format!(
                "{}: billed {}, collected {}",
                month.month,
                kes(month.totals.billed),
                kes(month.totals.collected)
            )
        })
        .collect();
    let mut svg = format!(
        r#"<svg viewBox="0 0 640 260" role="img" aria-labelledby="monthly-title monthly-desc"><title id="monthly-title">Billed and collected per month</title><desc id="monthly-desc">{}</desc>"#,
        escape(&description.join("; "))
    );
    let _ = write!(
        svg,
        r##"<text x="0" y="14">{}</text><line x1="0" y1="220" x2="640" y2="220" stroke="#dde3ea"></line>"##,
        escape(&kes(Money(max)))
    );
    let slot = 640.0 / months.len().max(1) as f64;
    for (index, month) in months.iter().enumerate() {
        let x = index as f64 * slot;
        let bar = (slot - 8.0) / 2.0;
        for (offset, amount, colour) in [
            (0.0, month.totals.billed, "#9db4cc"),
            (bar, month.totals.collected, "#0b7a53"),
        ] {
            let height = (amount.minor().max(0) as f64 / max as f64 * 190.0).round();
            let _ = write!(
                svg,
                r#"<rect x="{:.1}" y="{:.1}" width="{bar:.1}" height="{height}" fill="{colour}"><title>{}</title></rect>"#,
                x + 4.0 + offset,
                220.0 - height,
                escape(&format!("{} {}", month.month, kes(amount))),
            );
        }
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="240" text-anchor="middle">{}</text>"#,
            x + slot / 2.0,
            month_name(&month.month.to_string()),
        );
    }
    svg.push_str(
        r##"<rect x="0" y="248" width="10" height="10" fill="#9db4cc"></rect><text x="14" y="257">billed</text><rect x="70" y="248" width="10" height="10" fill="#0b7a53"></rect><text x="84" y="257">collected</text></svg>"##,
    );
    svg
}
