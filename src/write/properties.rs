//! Writing properties and units.

use serde::Deserialize;

use crate::cache::Data;
use crate::db::{
    Constraint, properties,
    properties::{Property, PropertyFields, PropertyPatch},
    rollups,
    rollups::Relabel,
    units,
    units::{Unit, UnitFields, UnitPatch},
};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::types::{Id, Money};
use crate::write::{ResultExt, WritePath, in_use, validate};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProperty {
    pub name: String,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub county: String,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateProperty {
    pub name: Option<String>,
    pub address: Option<String>,
    pub county: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUnit {
    pub label: String,
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    pub market_rent: Money,
    #[serde(default)]
    pub off_market: bool,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUnit {
    pub label: Option<String>,
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    pub market_rent: Option<Money>,
    pub off_market: Option<bool>,
}

pub async fn create(path: &WritePath, landlord: Id, input: CreateProperty) -> AppResult<Property> {
    let fields = PropertyFields {
        name: validate::text("name", &input.name, 200)?,
        address: validate::optional_text("address", Some(&input.address), 500)?.unwrap_or_default(),
        county: validate::optional_text("county", Some(&input.county), 100)?.unwrap_or_default(),
    };
    path.run_for(landlord, &[Data::Properties], async |write| {
        Ok(properties::insert(write.tx(), landlord, &fields).await?)
    })
    .await
}

pub async fn update(
    path: &WritePath,
    landlord: Id,
    id: Id,
    input: UpdateProperty,
) -> AppResult<Property> {
    let patch = PropertyPatch {
        name: input
            .name
            .map(|name| validate::text("name", &name, 200))
            .transpose()?,
        address: input
            .address
            .map(|address| validate::optional_text("address", Some(&address), 500))
            .transpose()?
            .map(Option::unwrap_or_default),
        county: input
            .county
            .map(|county| validate::optional_text("county", Some(&county), 100))
            .transpose()?
            .map(Option::unwrap_or_default),
    };
    path.run_for(landlord, &[Data::Properties], async |write| {
        properties::update(write.tx(), landlord, id, &patch)
            .await?
            .ok_or(AppError::NotFound("property"))
    })
    .await
}

/// Deletes a property that has no units (financial history is never dropped).
pub async fn delete(path: &WritePath, landlord: Id, id: Id) -> AppResult<()> {
    path.run_for(landlord, &[Data::Properties], async |write| {
        let deleted = properties::delete(write.tx(), landlord, id)
            .await
            .on_reference_violation(in_use)?;
        deleted.then_some(()).ok_or(AppError::NotFound("property"))
    })
    .await
}

pub async fn create_unit(
    path: &WritePath,
    landlord: Id,
    property: Id,
    input: CreateUnit,
) -> AppResult<Unit> {
    let fields = UnitFields {
        label: validate::text("label", &input.label, 50)?,
        market_rent: validate::amount_or_zero("market_rent", input.market_rent, path.max_amount())?,
        off_market: input.off_market,
    };
    path.run_for(landlord, &[Data::Units], async |write| {
        units::insert(write.tx(), landlord, property, &fields)
            .await
            .on_constraint(Constraint::UnitLabel, duplicate_label)?
            .ok_or(AppError::NotFound("property"))
    })
    .await
}

pub async fn update_unit(
    path: &WritePath,
    landlord: Id,
    id: Id,
    input: UpdateUnit,
) -> AppResult<Unit> {
    let patch = UnitPatch {
        label: input
            .label
            .map(|label| validate::text("label", &label, 50))
            .transpose()?,
        market_rent: input
            .market_rent
            .map(|rent| validate::amount_or_zero("market_rent", rent, path.max_amount()))
            .transpose()?,
        off_market: input.off_market,
    };
    path.run_for(landlord, &[Data::Units], async |write| {
        let unit = units::update(write.tx(), landlord, id, &patch)
            .await
            .on_constraint(Constraint::UnitLabel, duplicate_label)?
            .ok_or(AppError::NotFound("unit"))?;
        if patch.label.is_some() {
            let change = Relabel::Unit {
                id,
                label: &unit.label,
            };
            rollups::relabel(write.tx(), landlord, change).await?;
        }
        Ok(unit)
    })
    .await
}

pub async fn delete_unit(path: &WritePath, landlord: Id, id: Id) -> AppResult<()> {
    path.run_for(landlord, &[Data::Units], async |write| {
        let deleted = units::delete(write.tx(), landlord, id)
            .await
            .on_reference_violation(in_use)?;
        deleted.then_some(()).ok_or(AppError::NotFound("unit"))
    })
    .await
}

fn duplicate_label() -> AppError {
    AppError::conflict(
        ErrorCode::DuplicateLabel,
        "this property already has a unit with that label",
    )
}
