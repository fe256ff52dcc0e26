//! Writing properties and units.

use serde::Deserialize;

use crate::cache::{Cache, Data};
use crate::db::{
    Database, properties,
    properties::{Property, PropertyFields, PropertyPatch},
    units,
    units::{Unit, UnitFields, UnitPatch},
};
use crate::domain::{Id, Money, validate};
use crate::error::{AppError, AppResult};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateProperty {
    pub name: String,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub county: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateProperty {
    pub name: Option<String>,
    pub address: Option<String>,
    pub county: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateUnit {
    pub label: String,
    pub market_rent: Money,
    #[serde(default)]
    pub off_market: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateUnit {
    pub label: Option<String>,
    pub market_rent: Option<Money>,
    pub off_market: Option<bool>,
}

pub async fn create(
    db: &Database,
    cache: &Cache,
    landlord: Id,
    input: CreateProperty,
) -> AppResult<Property> {
    let fields = PropertyFields {
        name: validate::text("name", &input.name, 200)?,
        address: input.address.trim().to_owned(),
        county: input.county.trim().to_owned(),
    };
    let mut tx = db.writer().begin().await?;
    let property = properties::insert(&mut tx, landlord, &fields).await?;
    tx.commit().await?;
    cache.invalidate(landlord, &[Data::Properties]).await;
    Ok(property)
}

pub async fn update(
    db: &Database,
    cache: &Cache,
    landlord: Id,
    id: Id,
    input: UpdateProperty,
) -> AppResult<Property> {
    let patch = PropertyPatch {
        name: input
            .name
            .map(|name| validate::text("name", &name, 200))
            .transpose()?,
        address: input.address.map(|a| a.trim().to_owned()),
        county: input.county.map(|c| c.trim().to_owned()),
    };
    let mut tx = db.writer().begin().await?;
    let property = properties::update(&mut tx, landlord, id, &patch)
        .await?
        .ok_or(AppError::NotFound("property"))?;
    tx.commit().await?;
    cache.invalidate(landlord, &[Data::Properties]).await;
    Ok(property)
}

/// Deletes a property that has no units (financial history is never dropped).
pub async fn delete(db: &Database, cache: &Cache, landlord: Id, id: Id) -> AppResult<()> {
    let mut tx = db.writer().begin().await?;
    let deleted = properties::delete(&mut tx, landlord, id)
        .await
        .map_err(in_use)?;
    if !deleted {
        return Err(AppError::NotFound("property"));
    }
    tx.commit().await?;
    cache.invalidate(landlord, &[Data::Properties]).await;
    Ok(())
}

pub async fn create_unit(
    db: &Database,
    cache: &Cache,
    landlord: Id,
    property: Id,
    input: CreateUnit,
) -> AppResult<Unit> {
    let fields = UnitFields {
        label: validate::text("label", &input.label, 50)?,
        market_rent: validate::non_negative("market_rent", input.market_rent)?,
        off_market: input.off_market,
    };
    let mut tx = db.writer().begin().await?;
    let unit = units::insert(&mut tx, landlord, property, &fields)
        .await
        .map_err(|err| {
            duplicate(
                err,
                "duplicate_label",
                "this property already has a unit with that label",
            )
        })?
        .ok_or(AppError::NotFound("property"))?;
    tx.commit().await?;
    cache.invalidate(landlord, &[Data::Units]).await;
    Ok(unit)
}

pub async fn update_unit(
    db: &Database,
    cache: &Cache,
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
            .map(|rent| validate::non_negative("market_rent", rent))
            .transpose()?,
        off_market: input.off_market,
    };
    let mut tx = db.writer().begin().await?;
    let unit = units::update(&mut tx, landlord, id, &patch)
        .await
        .map_err(|err| {
            duplicate(
                err,
                "duplicate_label",
                "this property already has a unit with that label",
            )
        })?
        .ok_or(AppError::NotFound("unit"))?;
    tx.commit().await?;
    cache.invalidate(landlord, &[Data::Units]).await;
    Ok(unit)
}

pub async fn delete_unit(db: &Database, cache: &Cache, landlord: Id, id: Id) -> AppResult<()> {
    let mut tx = db.writer().begin().await?;
    if !units::delete(&mut tx, landlord, id).await.map_err(in_use)? {
        return Err(AppError::NotFound("unit"));
    }
    tx.commit().await?;
    cache.invalidate(landlord, &[Data::Units]).await;
    Ok(())
}

/// A unique violation as a 409 with a precise code.
pub(crate) fn duplicate(err: sqlx::Error, code: &'static str, message: &'static str) -> AppError {
    match AppError::from(err) {
        AppError::Conflict { .. } => AppError::conflict(code, message),
        other => other,
    }
}

/// A delete blocked by rows that still point at the record.
pub(crate) fn in_use(err: sqlx::Error) -> AppError {
    match AppError::from(err) {
        AppError::Validation {
            code: "invalid_reference",
            ..
        } => AppError::conflict("in_use", "other records still refer to this one"),
        other => other,
    }
}
