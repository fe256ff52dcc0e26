//! The reports as CSV, for spreadsheets: one header row, amounts in
//! shillings with two decimals (`2500.00`), dates as `YYYY-MM-DD`. Text is
//! quoted when it must be, and a cell that a spreadsheet would read as a
//! formula (`=`, `+`, `-`, `@` first) is prefixed with `'` (CSV injection).

use std::fmt::Write as _;

use crate::reports::{
    arrears::ArrearsReport, financial::FinancialReport, financial::Totals,
    occupancy::OccupancyReport, payments::PaymentsReport, views::Report,
};
use crate::types::Money;

/// A report's CSV and the file name to save it under.
pub struct CsvFile {
    pub name: String,
    pub text: String,
}

/// The CSV of `report`, from its served JSON bytes (the cached view, so the
/// CSV and the JSON are the same figures); `None` when it has no CSV form.
pub fn from_json(report: &Report, body: &[u8]) -> Option<serde_json::Result<CsvFile>> {
    let file =
        |name: String, text: serde_json::Result<String>| text.map(|text| CsvFile { name, text });
    Some(match *report {
        Report::Financial { range } => file(
            format!("financial-{}-{}.csv", range.from, range.to),
            serde_json::from_slice(body).map(|report| financial(&report)),
        ),
        Report::Payments { range, status } => file(
            match status {
                Some(status) => format!(
                    "payments-{}-{}-{}.csv",
                    status.as_str(),
                    range.from,
                    range.to
                ),
                None => format!("payments-{}-{}.csv", range.from, range.to),
            },
            serde_json::from_slice(body).map(|report| payments(&report)),
        ),
        Report::Arrears { as_of } => file(
            format!("arrears-{as_of}.csv"),
            serde_json::from_slice(body).map(|report| arrears(&report)),
        ),
        Report::Occupancy { today } => file(
            format!("occupancy-{today}.csv"),
            serde_json::from_slice(body).map(|report| occupancy(&report)),
        ),
        Report::Dashboard { .. } | Report::PaymentMetrics { .. } => return None,
    })
}

/// Rows of cells, written as CSV.
struct Table(String);

impl Table {
    fn new(header: &[&str]) -> Table {
        let mut table = Table(String::new());
        table.row(header.iter().map(|cell| (*cell).to_owned()));
        table
    }

    fn row(&mut self, cells: impl IntoIterator<Item = String>) {
        let cells: Vec<String> = cells.into_iter().map(|cell| escape(&cell)).collect();
        let _ = writeln!(self.0, "{}", cells.join(","));
    }
}

fn escape(cell: &str) -> String {
    let cell = if cell.starts_with(['=', '+', '-', '@']) && cell.parse::<f64>().is_err() {
        format!("'{cell}")
    } else {
        cell.to_owned()
    };
    if cell.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", cell.replace('"', "\"\""))
    } else {
        cell
    }
}

/// `2500.00`, `-12.50`.
fn amount(money: Money) -> String {
    money.decimal()
}

fn pct(value: Option<f64>) -> String {
    value.map_or_else(String::new, |pct| format!("{pct}"))
}

fn totals_cells(totals: &Totals) -> [String; 4] {
    [
        amount(totals.billed),
        amount(totals.collected),
        amount(totals.outstanding),
        pct(totals.collection_pct),
    ]
}

/// One row per month, then per property, then the total.
pub fn financial(report: &FinancialReport) -> String {
    let mut table = Table::new(&[
        "scope",
        "key",
        "billed",
        "collected",
        "outstanding",
        "collection_pct",
    ]);
    for month in &report.by_month {
        let [billed, collected, outstanding, pct] = totals_cells(&month.totals);
        table.row([
            "month".into(),
            month.month.to_string(),
            billed,
            collected,
            outstanding,
            pct,
        ]);
    }
    for property in &report.by_property {
        let key = property
            .property_id
            .map_or_else(|| "unallocated".to_owned(), |id| id.to_string());
        let [billed, collected, outstanding, pct] = totals_cells(&property.totals);
        table.row(["property".into(), key, billed, collected, outstanding, pct]);
    }
    let [billed, collected, outstanding, pct] = totals_cells(&report.total);
    let range = format!("{}..{}", report.from, report.to);
    table.row(["total".into(), range, billed, collected, outstanding, pct]);
    table.0
}

/// Counts and amounts by status, then by method.
pub fn payments(report: &PaymentsReport) -> String {
    let mut table = Table::new(&["group", "key", "count", "amount"]);
    for group in &report.by_status {
        table.row([
            "status".into(),
            group.status.as_str().into(),
            group.totals.count.to_string(),
            amount(group.totals.amount),
        ]);
    }
    for group in &report.by_method {
        table.row([
            "method".into(),
            group.method.as_str().into(),
            group.totals.count.to_string(),
            amount(group.totals.amount),
        ]);
    }
    table.0
}

/// One row per lease in arrears.
pub fn arrears(report: &ArrearsReport) -> String {
    let mut table = Table::new(&[
        "lease_id",
        "property_id",
        "unit",
        "tenant",
        "balance",
        "days_0_30",
        "days_31_60",
        "days_61_90",
        "days_90_plus",
        "not_yet_due",
        "oldest_due",
        "days_overdue",
        "overdue",
    ]);
    for lease in &report.leases {
        table.row([
            lease.lease_id.to_string(),
            lease.property_id.to_string(),
            lease.unit.clone(),
            lease.tenant.clone(),
            amount(lease.balance),
            amount(lease.buckets.days_0_30),
            amount(lease.buckets.days_31_60),
            amount(lease.buckets.days_61_90),
            amount(lease.buckets.days_90_plus),
            amount(lease.not_yet_due),
            lease
                .oldest_due
                .map_or_else(String::new, |date| date.to_string()),
            lease.days_overdue.to_string(),
            lease.overdue.to_string(),
        ]);
    }
    table.0
}

/// One row per property.
pub fn occupancy(report: &OccupancyReport) -> String {
    let mut table = Table::new(&[
        "property_id",
        "name",
        "units",
        "available",
        "occupied",
        "vacant",
        "occupancy_pct",
    ]);
    for property in &report.properties {
        let figures = &property.occupancy;
        table.row([
            property.property_id.to_string(),
            property.name.clone(),
            figures.units.to_string(),
            figures.available.to_string(),
            figures.occupied.to_string(),
            figures.vacant.to_string(),
            pct(figures.occupancy_pct),
        ]);
    }
    table.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_quoted_and_formulas_defused() {
        assert_eq!(escape("Kamau, Wanjiru"), "\"Kamau, Wanjiru\"");
        assert_eq!(escape("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(escape("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(escape("-12.50"), "-12.50");
        assert_eq!(escape("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(amount(Money(-1_250)), "-12.50");
        assert_eq!(amount(Money(250_000)), "2500.00");
    }
}
