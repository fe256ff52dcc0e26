//! Tenants: the list with search by name or phone and an add form, a
//! tenant's page (edit them, their leases), and their printable statement.
//! Every change goes through the API's write.

use askama::Template;
use axum::{
    Form,
    extract::{Path, Query, State},
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;

use crate::db::{leases, page::PageRequest, statements, tenants};
use crate::error::AppError;
use crate::http::AppState;
use crate::types::{Id, Money, TenantStatus};
use crate::web::{
    format::{kes, shillings},
    pages::{after_write, form_record, not_found, optional_input, parse_id, shown, url_encode},
    session::{Landlord, refuse_forged},
};
use crate::write::tenants as write;

struct TenantRow {
    id: Id,
    name: String,
    phone: String,
    status: &'static str,
}

#[derive(Template)]
#[template(path = "tenants.html")]
struct TenantsPage {
    signed_in: Option<String>,
    csrf: String,
    query: String,
    error: Option<String>,
    tenants: Vec<TenantRow>,
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
                    tenants::list(&reader, id, None, page).await
                } else {
                    tenants::search(&reader, id, &text, 100).await
                }
            }
        })
        .await;
    let found = match found {
        Ok(found) => found,
        Err(err) => return AppError::from(err).into_response(),
    };
    let failed = error.is_some();
    shown(
        &TenantsPage {
            signed_in: Some(landlord.csrf.clone()),
            csrf: landlord.csrf.clone(),
            query: text,
            error,
            tenants: found
                .into_iter()
                .map(|tenant| TenantRow {
                    id: tenant.id,
                    name: tenant.name,
                    phone: tenant.phone,
                    status: tenant.status.as_str(),
                })
                .collect(),
        },
        failed,
    )
}

/// The landlord's tenants, or those matching `?q=` by name or phone.
pub async fn list(
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
    #[serde(default)]
    national_id: String,
    #[serde(default)]
    status: String,
}

/// Adds a tenant through the API's write, then shows them.
pub async fn add(
    State(state): State<AppState>,
    landlord: Landlord,
    Form(form): Form<TenantForm>,
) -> Response {
    if let Some(refused) = refuse_forged(&landlord.csrf, &form.csrf) {
        return refused;
    }
    let input = write::CreateTenant {
        name: form.name,
        phone: form.phone,
        national_id: optional_input(&form.national_id),
        status: None,
    };
    let created = write::create(&state.writes, landlord.id, input).await;
    after_write(
        &landlord,
        created,
        |tenant| Redirect::to(&format!("/tenants?q={}", url_encode(&tenant.name))).into_response(),
        async |message| tenants_page(&state, &landlord, String::new(), Some(message)).await,
    )
    .await
}

struct LeaseRow {
    id: Id,
    place: String,
    rent: String,
    from: String,
    until: String,
    status: &'static str,
}

struct StatusChoice {
    value: &'static str,
    chosen: bool,
}

#[derive(Template)]
#[template(path = "tenant.html")]
struct TenantPage {
    signed_in: Option<String>,
    csrf: String,
    error: Option<String>,
    id: Id,
    name: String,
    phone: String,
    national_id: String,
    statuses: Vec<StatusChoice>,
    leases: Vec<LeaseRow>,
}

fn of_tenant(tenant: Id) -> leases::RowFilter {
    leases::RowFilter {
        tenant: Some(tenant),
        ..leases::RowFilter::default()
    }
}

fn lease_rows(rows: Vec<leases::LeaseRow>) -> Vec<LeaseRow> {
    rows.into_iter()
        .map(|lease| LeaseRow {
            id: lease.id,
            place: format!("{} {}", lease.property, lease.unit),
            rent: kes(lease.rent),
            from: lease.start_date.to_string(),
            until: lease
                .end_date
                .map_or_else(|| "open-ended".to_owned(), |end| end.to_string()),
            status: lease.status.as_str(),
        })
        .collect()
}

async fn tenant_page(
    state: &AppState,
    landlord: &Landlord,
    tenant: Id,
    error: Option<String>,
) -> Response {
    let id = landlord.id;
    let found = state
        .db
        .read(id, |reader| async move {
            let Some(found) = tenants::get(&reader, id, tenant).await? else {
                return Ok(None);
            };
            let leases = leases::rows(&reader, id, of_tenant(tenant)).await?;
            Ok::<_, sqlx::Error>(Some((found, leases)))
        })
        .await;
    let (found, leases) = match found {
        Ok(Some(found)) => found,
        Ok(None) => return not_found(&landlord.csrf),
        Err(err) => return AppError::from(err).into_response(),
    };
    let failed = error.is_some();
    shown(
        &TenantPage {
            signed_in: Some(landlord.csrf.clone()),
            csrf: landlord.csrf.clone(),
            error,
            id: found.id,
            name: found.name,
            phone: found.phone,
            national_id: found.national_id.unwrap_or_default(),
            statuses: TenantStatus::ALL
                .iter()
                .map(|&status| StatusChoice {
                    value: status.as_str(),
                    chosen: status == found.status,
                })
                .collect(),
            leases: lease_rows(leases),
        },
        failed,
    )
}

/// A tenant: their details to edit, their leases, their statement.
pub async fn show(
    State(state): State<AppState>,
    landlord: Landlord,
    Path(tenant): Path<String>,
) -> Response {
    match parse_id(&tenant) {
        Some(tenant) => tenant_page(&state, &landlord, tenant, None).await,
        None => not_found(&landlord.csrf),
    }
}

/// Saves a tenant's name, phone, national id and status.
pub async fn edit(
    State(state): State<AppState>,
    landlord: Landlord,
    Path(tenant): Path<String>,
    Form(form): Form<TenantForm>,
) -> Response {
    let tenant = match form_record(&landlord, &form.csrf, &tenant) {
        Ok(tenant) => tenant,
        Err(refused) => return refused,
    };
    let Ok(status) = form.status.parse::<TenantStatus>() else {
        let message = "Choose the tenant's status.".to_owned();
        return tenant_page(&state, &landlord, tenant, Some(message)).await;
    };
    let input = write::UpdateTenant {
        name: Some(form.name),
        phone: Some(form.phone),
        national_id: Some(form.national_id.trim().to_owned()),
        status: Some(status),
    };
    let saved = write::update(&state.writes, landlord.id, tenant, input).await;
    after_write(
        &landlord,
        saved,
        |_| Redirect::to(&format!("/tenants/{tenant}")).into_response(),
        async |message| tenant_page(&state, &landlord, tenant, Some(message)).await,
    )
    .await
}

struct StatementLine {
    date: String,
    description: String,
    /// A charge, or a payment with a minus sign.
    amount: String,
    balance: String,
}

#[derive(Template)]
#[template(path = "statement.html")]
struct StatementPage {
    signed_in: Option<String>,
    id: Id,
    name: String,
    phone: String,
    printed: String,
    leases: Vec<LeaseRow>,
    lines: Vec<StatementLine>,
    charged: String,
    paid: String,
    balance: String,
}

/// Every charge and confirmed payment of the tenant's leases with the
/// running balance, oldest first: a page to print or save as PDF.
pub async fn statement(
    State(state): State<AppState>,
    landlord: Landlord,
    Path(tenant): Path<String>,
) -> Response {
    let Some(tenant) = parse_id(&tenant) else {
        return not_found(&landlord.csrf);
    };
    let id = landlord.id;
    let found = state
        .db
        .read(id, |reader| async move {
            let Some(found) = tenants::get(&reader, id, tenant).await? else {
                return Ok(None);
            };
            let leases = leases::rows(&reader, id, of_tenant(tenant)).await?;
            let lines = statements::lines(&reader, id, tenant).await?;
            Ok::<_, sqlx::Error>(Some((found, leases, lines)))
        })
        .await;
    let (found, leases, lines) = match found {
        Ok(Some(found)) => found,
        Ok(None) => return not_found(&landlord.csrf),
        Err(err) => return AppError::from(err).into_response(),
    };
    let (mut charged, mut paid) = (Money::ZERO, Money::ZERO);
    let lines = lines
        .into_iter()
        .map(|line| {
            let detail = line.detail.clone().unwrap_or_default();
            let (description, amount) = if line.is_charge() {
                charged += line.amount;
                let kind = line.kind.replace('_', " ");
                (format!("{kind} {detail}"), shillings(line.amount))
            } else {
                paid += line.amount;
                let method = match line.kind.as_str() {
                    "mpesa" => "M-Pesa",
                    "bank" => "bank",
                    _ => "cash",
                };
                (
                    format!("payment, {method} {detail}"),
                    shillings(Money::ZERO - line.amount),
                )
            };
            StatementLine {
                date: line.on_date.to_string(),
                description: description.trim().to_owned(),
                amount,
                balance: shillings(charged - paid),
            }
        })
        .collect();
    crate::web::page(&StatementPage {
        signed_in: Some(landlord.csrf.clone()),
        id: found.id,
        name: found.name,
        phone: found.phone,
        printed: state.today().to_string(),
        leases: lease_rows(leases),
        lines,
        charged: kes(charged),
        paid: kes(paid),
        balance: kes(charged - paid),
    })
}
