//! Leases: the list with a form that starts one (a vacant unit, a tenant,
//! the rent — the unit's market rent unless given — and the first day), and
//! a lease's page with a form that ends it. Every change goes through the
//! API's write.

use askama::Template;
use axum::{
    Form,
    extract::{Path, Query, State},
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;

use crate::db::{leases, page::PageRequest, tenants, units};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::http::AppState;
use crate::types::{Id, LeaseStatus, Money, TenantStatus};
use crate::web::{
    format::kes,
    pages::{after_write, date_input, form_record, money_input, not_found, parse_id, shown},
    session::{Landlord, refuse_forged},
};
use crate::write::leases as write;

struct Choice {
    id: Id,
    label: String,
    chosen: bool,
}

struct LeaseRow {
    id: Id,
    place: String,
    tenant_id: Id,
    tenant: String,
    rent: String,
    from: String,
    until: String,
}

#[derive(Template)]
#[template(path = "leases.html")]
struct LeasesPage {
    signed_in: Option<String>,
    csrf: String,
    error: Option<String>,
    today: String,
    units: Vec<Choice>,
    tenants: Vec<Choice>,
    leases: Vec<LeaseRow>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Chosen {
    /// The tenant to preselect (from a tenant's page).
    #[serde(default)]
    tenant_id: String,
}

async fn leases_page(
    state: &AppState,
    landlord: &Landlord,
    tenant: Option<Id>,
    error: Option<String>,
) -> Response {
    let id = landlord.id;
    let loaded = state
        .db
        .read(id, |reader| async move {
            let vacant = units::vacant(&reader, id).await?;
            let page = PageRequest {
                limit: Some(i64::MAX),
                after: None,
            };
            let mut people = tenants::list(&reader, id, Some(TenantStatus::Active), page).await?;
            if let Some(tenant) = tenant
                && !people.iter().any(|person| person.id == tenant)
                && let Some(found) = tenants::get(&reader, id, tenant).await?
            {
                people.insert(0, found);
            }
            let active = leases::RowFilter {
                status: Some(LeaseStatus::Active),
                ..leases::RowFilter::default()
            };
            let rows = leases::rows(&reader, id, active).await?;
            Ok::<_, sqlx::Error>((vacant, people, rows))
        })
        .await;
    let (vacant, people, rows) = match loaded {
        Ok(loaded) => loaded,
        Err(err) => return AppError::from(err).into_response(),
    };
    let failed = error.is_some();
    shown(
        &LeasesPage {
            signed_in: Some(landlord.csrf.clone()),
            csrf: landlord.csrf.clone(),
            error,
            today: state.today().to_string(),
            units: vacant
                .into_iter()
                .map(|unit| Choice {
                    id: unit.id,
                    label: format!(
                        "{} {} ({})",
                        unit.property,
                        unit.label,
                        kes(unit.market_rent)
                    ),
                    chosen: false,
                })
                .collect(),
            tenants: people
                .into_iter()
                .map(|person| Choice {
                    id: person.id,
                    chosen: Some(person.id) == tenant,
                    label: format!("{} ({})", person.name, person.phone),
                })
                .collect(),
            leases: rows.into_iter().map(lease_row).collect(),
        },
        failed,
    )
}

fn lease_row(lease: leases::LeaseRow) -> LeaseRow {
    LeaseRow {
        id: lease.id,
        place: format!("{} {}", lease.property, lease.unit),
        tenant_id: lease.tenant_id,
        tenant: lease.tenant,
        rent: kes(lease.rent),
        from: lease.start_date.to_string(),
        until: lease
            .end_date
            .map_or_else(|| "open-ended".to_owned(), |end| end.to_string()),
    }
}

/// The active leases and the form that starts one.
pub async fn list(
    State(state): State<AppState>,
    landlord: Landlord,
    Query(chosen): Query<Chosen>,
) -> Response {
    leases_page(&state, &landlord, parse_id(&chosen.tenant_id), None).await
}

#[derive(Deserialize)]
pub struct StartForm {
    csrf: String,
    unit_id: String,
    tenant_id: String,
    #[serde(default)]
    rent: String,
    #[serde(default)]
    deposit: String,
    #[serde(default)]
    due_day: String,
    start_date: String,
}

fn invalid(message: &str) -> AppError {
    AppError::validation(ErrorCode::InvalidBody, message)
}

/// What the start form asks for, read: amounts as people type them, an
/// empty rent meaning the unit's market rent.
async fn read_start(
    state: &AppState,
    landlord: Id,
    form: &StartForm,
) -> AppResult<write::CreateLease> {
    let unit_id = parse_id(&form.unit_id).ok_or_else(|| invalid("Choose a vacant unit."))?;
    let tenant_id = parse_id(&form.tenant_id).ok_or_else(|| invalid("Choose the tenant."))?;
    let rent = if form.rent.trim().is_empty() {
        let unit = state
            .db
            .read(landlord, |reader| async move {
                units::get(&reader, landlord, unit_id).await
            })
            .await?
            .ok_or(AppError::NotFound("unit"))?;
        unit.market_rent
    } else {
        money_input(&form.rent)
            .ok_or_else(|| invalid("Enter the rent in shillings, like 25,000."))?
    };
    let deposit = if form.deposit.trim().is_empty() {
        Money::ZERO
    } else {
        money_input(&form.deposit).ok_or_else(|| {
            invalid("Enter the deposit in shillings, like 50,000, or leave it empty.")
        })?
    };
    let due_day = match form.due_day.trim() {
        "" => 1,
        text => text
            .parse()
            .map_err(|_| invalid("The rent is due on a day from 1 to 28."))?,
    };
    let start_date =
        date_input(&form.start_date).ok_or_else(|| invalid("Choose the lease's first day."))?;
    Ok(write::CreateLease {
        unit_id,
        tenant_id,
        rent,
        deposit,
        due_day,
        grace_days: 0,
        start_date,
        end_date: None,
        account_ref: None,
    })
}

/// Starts a lease, then shows it.
pub async fn start(
    State(state): State<AppState>,
    landlord: Landlord,
    Form(form): Form<StartForm>,
) -> Response {
    if let Some(refused) = refuse_forged(&landlord.csrf, &form.csrf) {
        return refused;
    }
    let started = match read_start(&state, landlord.id, &form).await {
        Ok(input) => write::create(&state.writes, landlord.id, input).await,
        Err(err) => Err(err),
    };
    let tenant = parse_id(&form.tenant_id);
    after_write(
        &landlord,
        started,
        |lease| Redirect::to(&format!("/leases/{}", lease.id)).into_response(),
        async |message| leases_page(&state, &landlord, tenant, Some(message)).await,
    )
    .await
}

#[derive(Template)]
#[template(path = "lease.html")]
struct LeasePage {
    signed_in: Option<String>,
    csrf: String,
    error: Option<String>,
    today: String,
    lease: LeaseRow,
    account_ref: String,
    deposit: String,
    due_day: i32,
    active: bool,
}

async fn lease_page(
    state: &AppState,
    landlord: &Landlord,
    lease: Id,
    error: Option<String>,
) -> Response {
    let id = landlord.id;
    let found = state
        .db
        .read(id, |reader| async move {
            let Some(terms) = leases::get(&reader, id, lease).await? else {
                return Ok(None);
            };
            let only = leases::RowFilter {
                lease: Some(lease),
                ..leases::RowFilter::default()
            };
            let row = leases::rows(&reader, id, only).await?.into_iter().next();
            Ok::<_, sqlx::Error>(row.map(|row| (terms, row)))
        })
        .await;
    let (terms, row) = match found {
        Ok(Some(found)) => found,
        Ok(None) => return not_found(&landlord.csrf),
        Err(err) => return AppError::from(err).into_response(),
    };
    let failed = error.is_some();
    shown(
        &LeasePage {
            signed_in: Some(landlord.csrf.clone()),
            csrf: landlord.csrf.clone(),
            error,
            today: state.today().max(terms.start_date).to_string(),
            lease: lease_row(row),
            account_ref: terms.account_ref,
            deposit: kes(terms.deposit),
            due_day: terms.due_day,
            active: terms.status == LeaseStatus::Active,
        },
        failed,
    )
}

/// A lease's terms, and (while active) the form that ends it.
pub async fn show(
    State(state): State<AppState>,
    landlord: Landlord,
    Path(lease): Path<String>,
) -> Response {
    match parse_id(&lease) {
        Some(lease) => lease_page(&state, &landlord, lease, None).await,
        None => not_found(&landlord.csrf),
    }
}

#[derive(Deserialize)]
pub struct EndForm {
    csrf: String,
    end_date: String,
}

/// Ends a lease on the chosen day (it is no longer billed after it, and
/// its unit is free for a new lease).
pub async fn end(
    State(state): State<AppState>,
    landlord: Landlord,
    Path(lease): Path<String>,
    Form(form): Form<EndForm>,
) -> Response {
    let lease = match form_record(&landlord, &form.csrf, &lease) {
        Ok(lease) => lease,
        Err(refused) => return refused,
    };
    let Some(end_date) = date_input(&form.end_date) else {
        let message = "Choose the lease's last day.".to_owned();
        return lease_page(&state, &landlord, lease, Some(message)).await;
    };
    let input = write::UpdateLease {
        grace_days: None,
        end_date: Some(end_date),
        status: Some(LeaseStatus::Ended),
    };
    let ended = write::update(&state.writes, landlord.id, lease, input, state.today()).await;
    after_write(
        &landlord,
        ended,
        |_| Redirect::to(&format!("/leases/{lease}")).into_response(),
        async |message| lease_page(&state, &landlord, lease, Some(message)).await,
    )
    .await
}
