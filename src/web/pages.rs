//! The working pages: properties and their units, payments (list, and
//! recording a cash or bank payment through the same write as the API).

use askama::Template;
use axum::{
    Form,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;

use crate::db::{leases, occupancy, page::PageRequest, payments, properties, units};
use crate::error::AppError;
use crate::http::AppState;
use crate::types::{Id, Money, PaymentMethod};
use crate::web::{
    format::kes,
    page,
    session::{Landlord, refuse_forged},
};
use crate::write::payments as write;

#[derive(Template)]
#[template(path = "not_found.html")]
struct NotFound {
    signed_in: Option<String>,
}

/// 404 in the app's frame (another landlord's record looks like none).
pub fn not_found(csrf: &str) -> Response {
    let mut response = page(&NotFound {
        signed_in: Some(csrf.to_owned()),
    });
    *response.status_mut() = StatusCode::NOT_FOUND;
    response
}

struct PropertyRow {
    id: Id,
    name: String,
    units: i64,
    available: i64,
}

#[derive(Template)]
#[template(path = "properties.html")]
struct PropertiesPage {
    signed_in: Option<String>,
    properties: Vec<PropertyRow>,
}

pub async fn properties(State(state): State<AppState>, landlord: Landlord) -> Response {
    let id = landlord.id;
    let rows = state
        .db
        .read(id, |reader| async move {
            occupancy::units(&reader, id, None).await
        })
        .await;
    match rows {
        Ok(rows) => page(&PropertiesPage {
            signed_in: Some(landlord.csrf),
            properties: rows
                .into_iter()
                .map(|row| PropertyRow {
                    id: row.property_id,
                    name: row.name,
                    units: row.units,
                    available: row.available,
                })
                .collect(),
        }),
        Err(err) => AppError::from(err).into_response(),
    }
}

struct UnitRow {
    label: String,
    rent: String,
    market: &'static str,
}

#[derive(Template)]
#[template(path = "property.html")]
struct PropertyPage {
    signed_in: Option<String>,
    name: String,
    address: String,
    units: Vec<UnitRow>,
}

pub async fn property(
    State(state): State<AppState>,
    landlord: Landlord,
    Path(property): Path<String>,
) -> Response {
    let Ok(property) = property.parse::<Id>() else {
        return not_found(&landlord.csrf);
    };
    let id = landlord.id;
    let found = state
        .db
        .read(id, |reader| async move {
            let Some(found) = properties::get(&reader, id, property).await? else {
                return Ok(None);
            };
            let page = PageRequest {
                limit: Some(200),
                after: None,
            };
            let units = units::list_for_property(&reader, id, property, page).await?;
            Ok::<_, sqlx::Error>(Some((found, units)))
        })
        .await;
    match found {
        Ok(Some((found, units))) => page(&PropertyPage {
            signed_in: Some(landlord.csrf),
            name: found.name,
            address: found.address,
            units: units
                .into_iter()
                .map(|unit| UnitRow {
                    label: unit.label,
                    rent: kes(unit.market_rent),
                    market: if unit.off_market {
                        "off the market"
                    } else {
                        "on the market"
                    },
                })
                .collect(),
        }),
        Ok(None) => not_found(&landlord.csrf),
        Err(err) => AppError::from(err).into_response(),
    }
}

struct LeaseOption {
    id: Id,
    label: String,
}

struct PaymentRow {
    date: String,
    method: &'static str,
    reference: String,
    status: &'static str,
    amount: String,
}

#[derive(Template)]
#[template(path = "payments.html")]
struct PaymentsPage {
    signed_in: Option<String>,
    csrf: String,
    error: Option<String>,
    leases: Vec<LeaseOption>,
    payments: Vec<PaymentRow>,
}

async fn payments_page(state: &AppState, landlord: &Landlord, error: Option<String>) -> Response {
    let id = landlord.id;
    let loaded = state
        .db
        .read(id, |reader| async move {
            let labels = leases::active_labels(&reader, id).await?;
            let latest = payments::recent(&reader, id, 50).await?;
            Ok::<_, sqlx::Error>((labels, latest))
        })
        .await;
    let (labels, latest) = match loaded {
        Ok(loaded) => loaded,
        Err(err) => return AppError::from(err).into_response(),
    };
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let mut response = page(&PaymentsPage {
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
        payments: latest
            .into_iter()
            .map(|payment| PaymentRow {
                date: payment.paid_at.date_naive().to_string(),
                method: payment.method.as_str(),
                reference: payment.reference.unwrap_or_default(),
                status: payment.status.as_str(),
                amount: kes(payment.amount),
            })
            .collect(),
    });
    *response.status_mut() = status;
    response
}

pub async fn payments(State(state): State<AppState>, landlord: Landlord) -> Response {
    payments_page(&state, &landlord, None).await
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
pub async fn record_payment(
    State(state): State<AppState>,
    landlord: Landlord,
    Form(form): Form<PaymentForm>,
) -> Response {
    if let Some(refused) = refuse_forged(&landlord.csrf, &form.csrf) {
        return refused;
    }
    let amount: Option<Money> = form
        .amount
        .replace([',', ' '], "")
        .trim()
        .parse()
        .ok()
        .filter(|amount: &Money| amount.is_positive());
    let Some(amount) = amount else {
        let message = "Enter the amount in shillings, like 25,000 or 25000.50.".to_owned();
        return payments_page(&state, &landlord, Some(message)).await;
    };
    let method = match form.method.as_str() {
        "bank" => PaymentMethod::Bank,
        _ => PaymentMethod::Cash,
    };
    let Ok(lease_id) = form.lease_id.parse::<Id>() else {
        return payments_page(&state, &landlord, Some("Choose a lease.".to_owned())).await;
    };
    let reference = Some(form.reference.trim().to_owned()).filter(|r| !r.is_empty());
    let input = write::CreatePayment {
        lease_id: Some(lease_id),
        amount,
        method,
        status: None,
        reference,
        payer: None,
        notes: None,
        paid_at: None,
    };
    match write::create(&state.writes, landlord.id, input, state.tz).await {
        Ok(_) => Redirect::to("/payments").into_response(),
        Err(err) if err.status().is_client_error() => {
            payments_page(&state, &landlord, Some(err.to_string())).await
        }
        Err(err) => err.into_response(),
    }
}

#[derive(Template)]
#[template(path = "tenants.html")]
struct TenantsPage {
    signed_in: Option<String>,
    csrf: String,
    query: String,
    error: Option<String>,
    tenants: Vec<(String, String, &'static str)>,
}

#[derive(Deserialize)]
pub struct TenantQuery {
    #[serde(default)]
    q: String,
}

async fn tenants_page(
    state: &AppState,
    landlord: &Landlord,
    query: String,
    error: Option<String>,
) -> Response {
    let id = landlord.id;
    let text = query.trim().chars().take(100).collect::<String>();
    let found = state
        .db
        .read(id, |reader| {
            let text = text.clone();
            async move {
                if text.is_empty() {
                    let page = PageRequest {
                        limit: Some(100),
                        after: None,
                    };
                    crate::db::tenants::list(&reader, id, None, page).await
                } else {
                    crate::db::tenants::search(&reader, id, &text, 100).await
                }
            }
        })
        .await;
    let found = match found {
        Ok(found) => found,
        Err(err) => return AppError::from(err).into_response(),
    };
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let mut response = page(&TenantsPage {
        signed_in: Some(landlord.csrf.clone()),
        csrf: landlord.csrf.clone(),
        query: text,
        error,
        tenants: found
            .into_iter()
            .map(|tenant| (tenant.name, tenant.phone, tenant.status.as_str()))
            .collect(),
    });
    *response.status_mut() = status;
    response
}

/// The landlord's tenants, or those matching `?q=` by name or phone.
pub async fn tenants(
    State(state): State<AppState>,
    landlord: Landlord,
    Query(query): Query<TenantQuery>,
) -> Response {
    tenants_page(&state, &landlord, query.q, None).await
}

#[derive(Deserialize)]
pub struct TenantForm {
    csrf: String,
    name: String,
    phone: String,
}

/// Adds a tenant through the API's write, then shows them.
pub async fn add_tenant(
    State(state): State<AppState>,
    landlord: Landlord,
    Form(form): Form<TenantForm>,
) -> Response {
    if let Some(refused) = refuse_forged(&landlord.csrf, &form.csrf) {
        return refused;
    }
    let input = crate::write::tenants::CreateTenant {
        name: form.name.clone(),
        phone: form.phone.clone(),
        national_id: None,
        status: None,
    };
    match crate::write::tenants::create(&state.writes, landlord.id, input).await {
        Ok(tenant) => {
            let query: String = url_encode(&tenant.name);
            Redirect::to(&format!("/tenants?q={query}")).into_response()
        }
        Err(err) if err.status().is_client_error() => {
            tenants_page(&state, &landlord, String::new(), Some(err.to_string())).await
        }
        Err(err) => err.into_response(),
    }
}

/// Percent-encodes a query value (everything but unreserved characters).
fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (byte as char).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}
