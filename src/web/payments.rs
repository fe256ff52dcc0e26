//! Payments: the latest, filtered by status, method or "unallocated"; a
//! form that records a cash or bank payment; and allocating a suspense
//! M-Pesa payment (one that matched no lease) to a lease. Every change goes
//! through the API's write.

use askama::Template;
use axum::{
    Form,
    extract::{Path, Query, State},
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;

use crate::db::{leases, payments, payments::ListFilter};
use crate::error::AppError;
use crate::http::AppState;
use crate::types::{Id, PaymentMethod, PaymentStatus};
use crate::web::{
    format::kes,
    pages::{after_write, form_record, money_input, optional_input, parse_id, shown},
    session::{Landlord, refuse_forged},
};
use crate::write::payments as write;

/// How many payments the list shows.
const SHOWN: i64 = 100;

struct LeaseOption {
    id: Id,
    label: String,
}

struct PaymentRow {
    id: Id,
    date: String,
    method: &'static str,
    reference: String,
    payer: String,
    status: &'static str,
    amount: String,
    allocated: bool,
}

/// A filter choice: its value, its label, and whether it is chosen.
struct Choice {
    value: &'static str,
    label: &'static str,
    chosen: bool,
}

#[derive(Template)]
#[template(path = "payments.html")]
struct PaymentsPage {
    signed_in: Option<String>,
    csrf: String,
    error: Option<String>,
    leases: Vec<LeaseOption>,
    statuses: Vec<Choice>,
    methods: Vec<Choice>,
    unallocated_only: bool,
    filtered: bool,
    payments: Vec<PaymentRow>,
    suspense: Vec<PaymentRow>,
}

/// `?status=&method=&unallocated=1`; values nobody knows mean "any".
#[derive(Debug, Default, Deserialize)]
pub struct Filters {
    #[serde(default)]
    status: String,
    #[serde(default)]
    method: String,
    #[serde(default)]
    unallocated: String,
}

impl Filters {
    fn parse(&self) -> ListFilter {
        ListFilter {
            lease: None,
            status: self.status.parse().ok(),
            method: self.method.parse().ok(),
            unallocated: !self.unallocated.is_empty(),
        }
    }
}

fn choices<T: Copy + PartialEq>(
    all: &[T],
    chosen: Option<T>,
    text: impl Fn(T) -> &'static str,
) -> Vec<Choice> {
    std::iter::once(Choice {
        value: "",
        label: "any",
        chosen: chosen.is_none(),
    })
    .chain(all.iter().map(|&item| Choice {
        value: text(item),
        label: text(item),
        chosen: chosen == Some(item),
    }))
    .collect()
}

async fn payments_page(
    state: &AppState,
    landlord: &Landlord,
    filter: ListFilter,
    error: Option<String>,
) -> Response {
    let id = landlord.id;
    let loaded = state
        .db
        .read(id, |reader| async move {
            let labels = leases::active_labels(&reader, id).await?;
            let latest = payments::recent(&reader, id, filter, SHOWN).await?;
            let unallocated = ListFilter {
                unallocated: true,
                ..ListFilter::default()
            };
            let suspense = payments::recent(&reader, id, unallocated, SHOWN).await?;
            Ok::<_, sqlx::Error>((labels, latest, suspense))
        })
        .await;
    let (labels, latest, suspense) = match loaded {
        Ok(loaded) => loaded,
        Err(err) => return AppError::from(err).into_response(),
    };
    let row = |payment: payments::Payment| PaymentRow {
        id: payment.id,
        date: payment
            .paid_at
            .with_timezone(&state.tz)
            .date_naive()
            .to_string(),
        method: payment.method.as_str(),
        reference: payment.reference.unwrap_or_default(),
        payer: payment.payer.unwrap_or_default(),
        status: payment.status.as_str(),
        amount: kes(payment.amount),
        allocated: payment.lease_id.is_some(),
    };
    let failed = error.is_some();
    shown(
        &PaymentsPage {
            signed_in: Some(landlord.csrf.clone()),
            csrf: landlord.csrf.clone(),
            error,
            leases: labels
                .into_iter()
                .map(|lease| LeaseOption {
                    id: lease.lease_id,
                    label: format!("{} {} — {}", lease.property, lease.unit, lease.tenant),
                })
                .collect(),
            statuses: choices(PaymentStatus::ALL, filter.status, PaymentStatus::as_str),
            methods: choices(PaymentMethod::ALL, filter.method, PaymentMethod::as_str),
            unallocated_only: filter.unallocated,
            filtered: filter.status.is_some() || filter.method.is_some() || filter.unallocated,
            payments: latest.into_iter().map(row).collect(),
            suspense: suspense
                .into_iter()
                // Only what can be allocated: held or confirmed money.
                .filter(|payment| {
                    matches!(
                        payment.status,
                        PaymentStatus::Confirmed | PaymentStatus::Held | PaymentStatus::Pending
                    )
                })
                .map(row)
                .collect(),
        },
        failed,
    )
}

pub async fn list(
    State(state): State<AppState>,
    landlord: Landlord,
    Query(filters): Query<Filters>,
) -> Response {
    payments_page(&state, &landlord, filters.parse(), None).await
}

#[derive(Deserialize)]
pub struct PaymentForm {
    csrf: String,
    lease_id: String,
    amount: String,
    method: String,
    #[serde(default)]
    reference: String,
}

/// Records a cash or bank payment through the API's write, then shows the
/// list again (post, redirect, get); a mistake re-shows the form with why.
pub async fn record(
    State(state): State<AppState>,
    landlord: Landlord,
    Form(form): Form<PaymentForm>,
) -> Response {
    if let Some(refused) = refuse_forged(&landlord.csrf, &form.csrf) {
        return refused;
    }
    let again =
        |message: String| payments_page(&state, &landlord, ListFilter::default(), Some(message));
    let Some(amount) = money_input(&form.amount).filter(|amount| amount.is_positive()) else {
        return again("Enter the amount in shillings, like 25,000 or 25000.50.".to_owned()).await;
    };
    let method = match form.method.as_str() {
        "bank" => PaymentMethod::Bank,
        _ => PaymentMethod::Cash,
    };
    let Some(lease_id) = parse_id(&form.lease_id) else {
        return again("Choose a lease.".to_owned()).await;
    };
    let input = write::CreatePayment {
        lease_id: Some(lease_id),
        amount,
        method,
        status: None,
        reference: optional_input(&form.reference),
        payer: None,
        notes: None,
        paid_at: None,
    };
    let recorded = write::create(&state.writes, landlord.id, input, state.tz).await;
    let done = |_| Redirect::to("/payments").into_response();
    after_write(&landlord, recorded, done, again).await
}

#[derive(Deserialize)]
pub struct AllocateForm {
    csrf: String,
    lease_id: String,
}

/// Gives a suspense payment its lease (the API's `PATCH /payments/{id}`
/// with `lease_id`): it then counts in that lease's figures.
pub async fn allocate(
    State(state): State<AppState>,
    landlord: Landlord,
    Path(payment): Path<String>,
    Form(form): Form<AllocateForm>,
) -> Response {
    let payment = match form_record(&landlord, &form.csrf, &payment) {
        Ok(payment) => payment,
        Err(refused) => return refused,
    };
    let again =
        |message: String| payments_page(&state, &landlord, ListFilter::default(), Some(message));
    let Some(lease_id) = parse_id(&form.lease_id) else {
        return again("Choose the lease this payment is for.".to_owned()).await;
    };
    let input = write::UpdatePayment {
        status: None,
        lease_id: Some(lease_id),
    };
    let allocated = write::update(&state.writes, landlord.id, payment, input).await;
    let done = |_| Redirect::to("/payments").into_response();
    after_write(&landlord, allocated, done, again).await
}
