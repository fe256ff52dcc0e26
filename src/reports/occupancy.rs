//! Occupancy: units available (not off-market), occupied (an active lease
//! today) and vacant, per property and in total. The API's come from
//! index-only reads ([`crate::db::occupancy`]), which also give the
//! dashboard its counts; the per-unit SQL is the reference.

use chrono::NaiveDate;
use serde::Serialize;

use std::collections::BTreeMap;

use crate::db::{Reader, occupancy, reports};
use crate::error::AppResult;
use crate::reports::{Scope, Source, dashboard::Counts, percent};
use crate::types::Id;

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct OccupancyReport {
    pub as_of: NaiveDate,
    pub total: Occupancy,
    pub properties: Vec<PropertyOccupancy>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Occupancy {
    /// Every unit, off-market ones included.
    pub units: i64,
    pub available: i64,
    pub occupied: i64,
    pub vacant: i64,
    /// Occupied ÷ available; `null` with no available unit.
    pub occupancy_pct: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct PropertyOccupancy {
    pub property_id: Id,
    pub name: String,
    #[serde(flatten)]
    pub occupancy: Occupancy,
}

impl Occupancy {
    fn new(units: i64, available: i64, occupied: i64) -> Occupancy {
        Occupancy {
            units,
            available,
            occupied,
            vacant: available - occupied,
            occupancy_pct: percent(occupied, available),
        }
    }
}

pub async fn compute(
    reader: &Reader,
    scope: Scope,
    today: NaiveDate,
    source: Source,
) -> AppResult<OccupancyReport> {
    Ok(match source {
        Source::RollUps => indexed(reader, scope, today).await?.0,
        Source::History => {
            let rows = reports::occupancy(reader, scope.landlord, scope.property, today).await?;
            assemble(
                today,
                rows.into_iter().map(|row| {
                    (
                        row.property_id,
                        row.name,
                        row.total_units,
                        row.available,
                        row.occupied,
                    )
                }),
            )
        }
    })
}

/// The occupancy report and the dashboard's counts, from index-only reads.
pub(crate) async fn indexed(
    reader: &Reader,
    scope: Scope,
    today: NaiveDate,
) -> AppResult<(OccupancyReport, Counts)> {
    let Scope { landlord, property } = scope;
    let rows = occupancy::all_of(reader, landlord, property, today).await?;
    let mut properties: BTreeMap<Id, (String, i64, i64)> = BTreeMap::new();
    // Leases in force per property: all of them, those off the market.
    let mut in_force: BTreeMap<Id, (i64, i64)> = BTreeMap::new();
    let mut tenants = 0;
    for row in rows {
        match (row.kind, row.property_id) {
            (0, Some(id)) => {
                properties.insert(id, (row.name.unwrap_or_default(), row.a, row.b));
            }
            (1, Some(id)) => {
                in_force.insert(id, (row.a, row.b));
            }
            _ => tenants = row.a,
        }
    }
    let counts = Counts {
        properties: properties.len() as i64,
        units: properties.values().map(|p| p.1).sum(),
        active_tenants: tenants,
        active_leases: in_force.values().map(|f| f.0).sum(),
    };
    let report = assemble(
        today,
        properties
            .into_iter()
            .map(|(id, (name, units, available))| {
                let occupied = in_force
                    .get(&id)
                    .map_or(0, |(leases, off_market)| leases - off_market);
                (id, name, units, available, occupied)
            }),
    );
    Ok((report, counts))
}

/// The report from (property, name, units, available, occupied) rows.
fn assemble(
    today: NaiveDate,
    rows: impl Iterator<Item = (Id, String, i64, i64, i64)>,
) -> OccupancyReport {
    let (mut units, mut available, mut occupied) = (0, 0, 0);
    let properties = rows
        .map(|(property_id, name, total_units, on_market, taken)| {
            units += total_units;
            available += on_market;
            occupied += taken;
            PropertyOccupancy {
                property_id,
                name,
                occupancy: Occupancy::new(total_units, on_market, taken),
            }
        })
        .collect();
    OccupancyReport {
        as_of: today,
        total: Occupancy::new(units, available, occupied),
        properties,
    }
}
