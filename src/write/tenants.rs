//! Writing tenants.

use serde::Deserialize;

use crate::cache::Data;
use crate::db::{
    rollups,
    rollups::Relabel,
    tenants,
    tenants::{Tenant, TenantFields, TenantPatch},
};
use crate::error::{AppError, AppResult};
use crate::types::{Id, TenantStatus};
use crate::write::{ResultExt, WritePath, in_use, validate};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTenant {
    pub name: String,
    pub phone: String,
    pub national_id: Option<String>,
    pub status: Option<TenantStatus>,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTenant {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub national_id: Option<String>,
    pub status: Option<TenantStatus>,
}

pub async fn create(path: &WritePath, landlord: Id, input: CreateTenant) -> AppResult<Tenant> {
    let fields = TenantFields {
        name: validate::text("name", &input.name, 200)?,
        phone: validate::phone("phone", &input.phone)?,
        national_id: validate::optional_text("national_id", input.national_id.as_deref(), 20)?,
        status: input.status.unwrap_or(TenantStatus::Active),
    };
    path.run_for(landlord, &[Data::Tenants], async |write| {
        Ok(tenants::insert(write.tx(), landlord, &fields).await?)
    })
    .await
}

pub async fn update(
    path: &WritePath,
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
    path.run_for(landlord, &[Data::Tenants], async |write| {
        let tenant = tenants::update(write.tx(), landlord, id, &patch)
            .await?
            .ok_or(AppError::NotFound("tenant"))?;
        if patch.name.is_some() {
            let change = Relabel::Tenant {
                id,
                name: &tenant.name,
            };
            rollups::relabel(write.tx(), landlord, change).await?;
        }
        Ok(tenant)
    })
    .await
}

pub async fn delete(path: &WritePath, landlord: Id, id: Id) -> AppResult<()> {
    path.run_for(landlord, &[Data::Tenants], async |write| {
        let deleted = tenants::delete(write.tx(), landlord, id)
            .await
            .on_reference_violation(in_use)?;
        deleted.then_some(()).ok_or(AppError::NotFound("tenant"))
    })
    .await
}
