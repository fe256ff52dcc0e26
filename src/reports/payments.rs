//! Payments report over a date range (by the payer's date): counts and sums
//! by status and by method, and the most recent payments.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;

use crate::db::{Reader, reports, reports::RecentPayment};
use crate::error::AppResult;
use crate::reports::{DateRange, Scope, Source, sums};
use crate::types::{Id, Money, PaymentMethod, PaymentStatus};

/// How many recent payments the report lists.
pub const RECENT: i64 = 20;

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct PaymentsReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub property_id: Option<Id>,
    pub status: Option<PaymentStatus>,
    pub total: CountAmount,
    pub by_status: Vec<StatusGroup>,
    pub by_method: Vec<MethodGroup>,
    pub recent: Vec<Recent>,
}

#[derive(
    Debug, Clone, Copy, Default, PartialEq, Serialize, serde::Deserialize, utoipa::ToSchema,
)]
pub struct CountAmount {
    pub count: i64,
    pub amount: Money,
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct StatusGroup {
    pub status: PaymentStatus,
    #[serde(flatten)]
    pub totals: CountAmount,
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct MethodGroup {
    pub method: PaymentMethod,
    #[serde(flatten)]
    pub totals: CountAmount,
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Recent {
    pub id: Id,
    pub lease_id: Option<Id>,
    pub property_id: Option<Id>,
    pub amount: Money,
    pub method: PaymentMethod,
    pub status: PaymentStatus,
    pub reference: Option<String>,
    pub payer: Option<String>,
    pub paid_on: NaiveDate,
}

impl CountAmount {
    fn add(&mut self, count: i64, amount: Money) {
        self.count += count;
        self.amount += amount;
    }
}

pub async fn compute(
    reader: &Reader,
    scope: Scope,
    range: DateRange,
    status: Option<PaymentStatus>,
    source: Source,
) -> AppResult<PaymentsReport> {
    let pieces = sums::pieces(reader, scope, range, source).await?;
    let (groups, recent) = tokio::try_join!(
        sums::payment_groups(reader, scope, &pieces, status),
        async {
            Ok(reports::recent_payments(
                reader,
                scope.landlord,
                scope.property,
                status,
                range.from,
                range.to,
                RECENT,
            )
            .await?)
        },
    )?;
    let mut total = CountAmount::default();
    let mut by_status: BTreeMap<&str, (PaymentStatus, CountAmount)> = BTreeMap::new();
    let mut by_method: BTreeMap<&str, (PaymentMethod, CountAmount)> = BTreeMap::new();
    for group in &groups {
        total.add(group.count, group.amount);
        by_status
            .entry(group.status.as_str())
            .or_insert((group.status, CountAmount::default()))
            .1
            .add(group.count, group.amount);
        by_method
            .entry(group.method.as_str())
            .or_insert((group.method, CountAmount::default()))
            .1
            .add(group.count, group.amount);
    }
    Ok(PaymentsReport {
        from: range.from,
        to: range.to,
        property_id: scope.property,
        status,
        total,
        by_status: by_status
            .into_values()
            .map(|(status, totals)| StatusGroup { status, totals })
            .collect(),
        by_method: by_method
            .into_values()
            .map(|(method, totals)| MethodGroup { method, totals })
            .collect(),
        recent: recent.into_iter().map(Recent::from).collect(),
    })
}

impl From<RecentPayment> for Recent {
    fn from(row: RecentPayment) -> Recent {
        Recent {
            id: row.id,
            lease_id: row.lease_id,
            property_id: row.property_id,
            amount: row.amount,
            method: row.method,
            status: row.status,
            reference: row.reference,
            payer: row.payer,
            paid_on: row.paid_on,
        }
    }
}
