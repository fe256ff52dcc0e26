//! Occupancy without scanning units and leases: per property with units, its
//! unit counts and its active leases (all, and those on units off the
//! market) in `rollup_occupancy`; per tenant with active leases, how many
//! (`rollup_tenant_leases`); per landlord, how many of its tenants have one
//! (`rollup_landlord_tenants`). A write that adds, removes or changes a
//! unit's market state or a lease's status recomputes its property's and
//! tenant's rows from their own units and leases, and its landlord's from
//! the tenants' rows, in the same transaction.
//!
//! "Active" is the lease's status. Which of them are in force on a date
//! (started, not ended) is decided at read time from the few active leases
//! outside their dates (`occupancy::all_of`).

use crate::db::batch::Batch;
use crate::types::Id;

pub(super) const PROPERTY_COLUMNS: &str =
    "property_id, landlord_id, units, available, active_leases, active_off_market";

/// Each property's row (only properties with units), or (`one`) property
/// `$1` of landlord `$2`'s. A unit has at most one active lease.
pub(super) fn properties_sql(one: bool) -> String {
    let filter = if one {
        "WHERE u.property_id = $1 AND u.landlord_id = $2"
    } else {
        ""
    };
    format!(
        "SELECT u.property_id, u.landlord_id, CAST(COUNT(*) AS BIGINT) AS units, \
                CAST(SUM(CASE WHEN u.off_market THEN 0 ELSE 1 END) AS BIGINT) AS available, \
                CAST(SUM(CASE WHEN l.id IS NULL THEN 0 ELSE 1 END) AS BIGINT) AS active_leases, \
                CAST(SUM(CASE WHEN l.id IS NOT NULL AND u.off_market THEN 1 ELSE 0 END) AS BIGINT) \
                  AS active_off_market \
         FROM units u LEFT JOIN leases l ON l.unit_id = u.id AND l.status = 'active' \
         {filter} GROUP BY u.property_id, u.landlord_id"
    )
}

pub(super) const TENANT_COLUMNS: &str = "tenant_id, landlord_id, active_leases";

/// Each tenant's active leases (only tenants with some), or tenant `$1`'s.
pub(super) fn tenants_sql(one: bool) -> String {
    let filter = if one { "AND tenant_id = $1" } else { "" };
    format!(
        "SELECT tenant_id, landlord_id, CAST(COUNT(*) AS BIGINT) AS active_leases FROM leases \
         WHERE status = 'active' {filter} GROUP BY tenant_id, landlord_id"
    )
}

pub(super) const LANDLORD_COLUMNS: &str = "landlord_id, tenants";

/// Each landlord's tenants with active leases (only landlords with some),
/// or (`one`) landlord `$1`'s, from the tenants' rows.
pub(super) fn landlords_sql(one: bool) -> String {
    let filter = if one { "WHERE landlord_id = $1" } else { "" };
    format!(
        "SELECT landlord_id, CAST(COUNT(*) AS BIGINT) AS tenants FROM rollup_tenant_leases \
         {filter} GROUP BY landlord_id"
    )
}

/// Adds the statements recomputing the rows of the touched properties (with
/// their landlord) and tenants to `batch`, and of the landlords of the
/// properties, once their tenants' rows are.
pub(super) fn refresh(
    batch: &mut Batch,
    properties: impl Iterator<Item = (Id, Id)>,
    tenants: impl Iterator<Item = Id>,
) {
    let property_statements = [
        "DELETE FROM rollup_occupancy WHERE property_id = $1 AND landlord_id = $2".to_owned(),
        format!(
            "INSERT INTO rollup_occupancy ({PROPERTY_COLUMNS}) {}",
            properties_sql(true)
        ),
    ];
    let mut landlords = Vec::new();
    for (property, landlord) in properties {
        super::redo(batch, &property_statements, &[property, landlord]);
        landlords.push(landlord);
    }
    let tenant_statements = [
        "DELETE FROM rollup_tenant_leases WHERE tenant_id = $1".to_owned(),
        format!(
            "INSERT INTO rollup_tenant_leases ({TENANT_COLUMNS}) {}",
            tenants_sql(true)
        ),
    ];
    for tenant in tenants {
        super::redo(batch, &tenant_statements, &[tenant]);
    }
    let landlord_statements = [
        "DELETE FROM rollup_landlord_tenants WHERE landlord_id = $1".to_owned(),
        format!(
            "INSERT INTO rollup_landlord_tenants ({LANDLORD_COLUMNS}) {}",
            landlords_sql(true)
        ),
    ];
    landlords.sort_unstable();
    landlords.dedup();
    for landlord in landlords {
        super::redo(batch, &landlord_statements, &[landlord]);
    }
}
