//! Properties and their units: the list with an add form, a property's page
//! (edit it, add units), and a unit's page (edit it, take it off the
//! market). Every change goes through the API's write.

use askama::Template;
use axum::{
    Form,
    extract::{Path, State},
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;

use crate::db::{occupancy, page::PageRequest, properties, units};
use crate::error::{AppError, AppResult};
use crate::http::AppState;
use crate::types::{Id, Money};
use crate::web::{
    format::kes,
    pages::{after_write, form_record, money_input, not_found, parse_id, shown},
    session::{Landlord, refuse_forged},
};
use crate::write::properties as write;

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
    csrf: String,
    error: Option<String>,
    properties: Vec<PropertyRow>,
}

async fn properties_page(state: &AppState, landlord: &Landlord, error: Option<String>) -> Response {
    let (id, today) = (landlord.id, state.today());
    let rows = state
        .db
        .read(id, |reader| async move {
            occupancy::all_of(&reader, id, None, today).await
        })
        .await;
    let rows = match rows {
        Ok(rows) => rows,
        Err(err) => return AppError::from(err).into_response(),
    };
    let mut properties: Vec<PropertyRow> = rows
        .into_iter()
        .filter(|row| row.kind == 0)
        .filter_map(|row| {
            Some(PropertyRow {
                id: row.property_id?,
                name: row.name.unwrap_or_default(),
                units: row.a,
                available: row.b,
            })
        })
        .collect();
    properties.sort_by_key(|property| property.id);
    let failed = error.is_some();
    shown(
        &PropertiesPage {
            signed_in: Some(landlord.csrf.clone()),
            csrf: landlord.csrf.clone(),
            properties,
            error,
        },
        failed,
    )
}

pub async fn list(State(state): State<AppState>, landlord: Landlord) -> Response {
    properties_page(&state, &landlord, None).await
}

#[derive(Deserialize)]
pub struct PropertyForm {
    csrf: String,
    name: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    county: String,
}

pub async fn add(
    State(state): State<AppState>,
    landlord: Landlord,
    Form(form): Form<PropertyForm>,
) -> Response {
    if let Some(refused) = refuse_forged(&landlord.csrf, &form.csrf) {
        return refused;
    }
    let input = write::CreateProperty {
        name: form.name,
        address: form.address,
        county: form.county,
    };
    let created = write::create(&state.writes, landlord.id, input).await;
    after_write(
        &landlord,
        created,
        |created| Redirect::to(&format!("/properties/{}", created.id)).into_response(),
        async |message| properties_page(&state, &landlord, Some(message)).await,
    )
    .await
}

struct UnitRow {
    id: Id,
    label: String,
    rent: String,
    market: &'static str,
}

#[derive(Template)]
#[template(path = "property.html")]
struct PropertyPage {
    signed_in: Option<String>,
    csrf: String,
    error: Option<String>,
    id: Id,
    name: String,
    address: String,
    county: String,
    units: Vec<UnitRow>,
}

async fn property_page(
    state: &AppState,
    landlord: &Landlord,
    property: Id,
    error: Option<String>,
) -> Response {
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
    let failed = error.is_some();
    match found {
        Ok(Some((found, units))) => shown(
            &PropertyPage {
                signed_in: Some(landlord.csrf.clone()),
                csrf: landlord.csrf.clone(),
                error,
                id: found.id,
                name: found.name,
                address: found.address,
                county: found.county,
                units: units
                    .into_iter()
                    .map(|unit| UnitRow {
                        id: unit.id,
                        label: unit.label,
                        rent: kes(unit.market_rent),
                        market: if unit.off_market {
                            "off the market"
                        } else {
                            "on the market"
                        },
                    })
                    .collect(),
            },
            failed,
        ),
        Ok(None) => not_found(&landlord.csrf),
        Err(err) => AppError::from(err).into_response(),
    }
}

/// A property and its units; another landlord's is a 404 page.
pub async fn show(
    State(state): State<AppState>,
    landlord: Landlord,
    Path(property): Path<String>,
) -> Response {
    match parse_id(&property) {
        Some(property) => property_page(&state, &landlord, property, None).await,
        None => not_found(&landlord.csrf),
    }
}

/// Saves the property's name, address and county.
pub async fn edit(
    State(state): State<AppState>,
    landlord: Landlord,
    Path(property): Path<String>,
    Form(form): Form<PropertyForm>,
) -> Response {
    let property = match form_record(&landlord, &form.csrf, &property) {
        Ok(property) => property,
        Err(refused) => return refused,
    };
    let input = write::UpdateProperty {
        name: Some(form.name),
        address: Some(form.address),
        county: Some(form.county),
    };
    let saved = write::update(&state.writes, landlord.id, property, input).await;
    back_to_property(&state, &landlord, property, saved).await
}

#[derive(Deserialize)]
pub struct UnitForm {
    csrf: String,
    label: String,
    market_rent: String,
    /// A checkbox: present (`on`) when ticked.
    off_market: Option<String>,
}

fn rent_of(text: &str) -> AppResult<Money> {
    money_input(text).ok_or_else(|| {
        AppError::validation(
            crate::error::ErrorCode::InvalidBody,
            "Enter the market rent in shillings, like 25,000.",
        )
    })
}

/// Adds a unit to the property.
pub async fn add_unit(
    State(state): State<AppState>,
    landlord: Landlord,
    Path(property): Path<String>,
    Form(form): Form<UnitForm>,
) -> Response {
    let property = match form_record(&landlord, &form.csrf, &property) {
        Ok(property) => property,
        Err(refused) => return refused,
    };
    let created = match rent_of(&form.market_rent) {
        Ok(market_rent) => {
            let input = write::CreateUnit {
                label: form.label,
                market_rent,
                off_market: form.off_market.is_some(),
            };
            write::create_unit(&state.writes, landlord.id, property, input).await
        }
        Err(err) => Err(err),
    };
    back_to_property(&state, &landlord, property, created).await
}

/// Back to the property's page after a write; a mistake is shown on it.
async fn back_to_property<T>(
    state: &AppState,
    landlord: &Landlord,
    property: Id,
    written: AppResult<T>,
) -> Response {
    after_write(
        landlord,
        written,
        |_| Redirect::to(&format!("/properties/{property}")).into_response(),
        async |message| property_page(state, landlord, property, Some(message)).await,
    )
    .await
}

#[derive(Template)]
#[template(path = "unit.html")]
struct UnitPage {
    signed_in: Option<String>,
    csrf: String,
    error: Option<String>,
    id: Id,
    property_id: Id,
    property: String,
    label: String,
    market_rent: String,
    off_market: bool,
}

async fn unit_page(
    state: &AppState,
    landlord: &Landlord,
    unit: Id,
    error: Option<String>,
) -> Response {
    let id = landlord.id;
    let found = state
        .db
        .read(id, |reader| async move {
            let Some(unit) = units::get(&reader, id, unit).await? else {
                return Ok(None);
            };
            let property = properties::get(&reader, id, unit.property_id).await?;
            Ok::<_, sqlx::Error>(property.map(|property| (unit, property)))
        })
        .await;
    let failed = error.is_some();
    match found {
        Ok(Some((unit, property))) => shown(
            &UnitPage {
                signed_in: Some(landlord.csrf.clone()),
                csrf: landlord.csrf.clone(),
                error,
                id: unit.id,
                property_id: property.id,
                property: property.name,
                label: unit.label,
                market_rent: unit.market_rent.decimal(),
                off_market: unit.off_market,
            },
            failed,
        ),
        Ok(None) => not_found(&landlord.csrf),
        Err(err) => AppError::from(err).into_response(),
    }
}

pub async fn unit(
    State(state): State<AppState>,
    landlord: Landlord,
    Path(unit): Path<String>,
) -> Response {
    match parse_id(&unit) {
        Some(unit) => unit_page(&state, &landlord, unit, None).await,
        None => not_found(&landlord.csrf),
    }
}

/// Saves a unit's label, rent and whether it is on the market.
pub async fn edit_unit(
    State(state): State<AppState>,
    landlord: Landlord,
    Path(unit): Path<String>,
    Form(form): Form<UnitForm>,
) -> Response {
    let unit = match form_record(&landlord, &form.csrf, &unit) {
        Ok(unit) => unit,
        Err(refused) => return refused,
    };
    let saved = match rent_of(&form.market_rent) {
        Ok(market_rent) => {
            let input = write::UpdateUnit {
                label: Some(form.label),
                market_rent: Some(market_rent),
                off_market: Some(form.off_market.is_some()),
            };
            write::update_unit(&state.writes, landlord.id, unit, input).await
        }
        Err(err) => Err(err),
    };
    after_write(
        &landlord,
        saved,
        |saved| Redirect::to(&format!("/properties/{}", saved.property_id)).into_response(),
        async |message| unit_page(&state, &landlord, unit, Some(message)).await,
    )
    .await
}
