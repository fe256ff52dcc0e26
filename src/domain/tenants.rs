//! Writing tenants.

use serde::Deserialize;

use crate::cache::{Cache, Data};
use crate::db::{
    Database, tenants,
    tenants::{Tenant, TenantFields, TenantPatch},
};
use crate::domain::properties::in_use;
use crate::domain::{Id, TenantStatus, validate};
use crate::error::{AppError, AppResult};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateTenant {
    pub name: String,
    pub phone: String,
    pub national_id: Option<String>,
    pub status: Option<TenantStatus>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateTenant {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub national_id: Option<String>,
    pub status: Option<TenantStatus>,
}

pub async fn create(
    db: &Database,
    cache: &Cache,
    landlord: Id,
    input: CreateTenant,
) -> AppResult<Tenant> {
    let fields = TenantFields {
        name: validate::text("name", &input.name, 200)?,
        phone: validate::phone("phone", &input.phone)?,
        national_id: validate::optional_text("national_id", input.national_id.as_deref(), 20)?,
        status: input.status.unwrap_or(TenantStatus::Active),
    };
    let mut tx = db.writer().begin().await?;
    let tenant = tenants::insert(&mut tx, landlord, &fields).await?;
    tx.commit().await?;
    cache.invalidate(landlord, &[Data::Tenants]).await;
    Ok(tenant)
}

pub async fn update(
    db: &Database,
    cache: &Cache,
    landlord: Id,
    id: Id,
    input: UpdateTenant,
) -> AppResult<Tenant> {
    let patch = TenantPatch {
        name: input
            .name
            .map(|name| validate::text("name", &name, 200))
            .transpose()?,
        phone: input
            .phone
            .map(|phone| validate::phone("phone", &phone))
            .transpose()?,
        national_id: validate::optional_text("national_id", input.national_id.as_deref(), 20)?,
        status: input.status,
    };
    let mut tx = db.writer().begin().await?;
    let tenant = tenants::update(&mut tx, landlord, id, &patch)
        .await?
        .ok_or(AppError::NotFound("tenant"))?;
    tx.commit().await?;
    cache.invalidate(landlord, &[Data::Tenants]).await;
    Ok(tenant)
}

pub async fn delete(db: &Database, cache: &Cache, landlord: Id, id: Id) -> AppResult<()> {
    let mut tx = db.writer().begin().await?;
    if !tenants::delete(&mut tx, landlord, id)
        .await
        .map_err(in_use)?
    {
        return Err(AppError::NotFound("tenant"));
    }
    tx.commit().await?;
    cache.invalidate(landlord, &[Data::Tenants]).await;
    Ok(())
}
