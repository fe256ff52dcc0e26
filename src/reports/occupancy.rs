//! Occupancy: units available (not off-market), occupied (an active lease
//! today) and vacant, per property and in total.

use chrono::NaiveDate;
use serde::Serialize;

use crate::db::{Reader, reports};
use crate::error::AppResult;
use crate::reports::{Scope, percent};
use crate::types::Id;

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct OccupancyReport {
    pub as_of: NaiveDate,
    pub total: Occupancy,
    pub properties: Vec<PropertyOccupancy>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Occupancy {
    /// Every unit, off-market ones included.
    pub units: i64,
    pub available: i64,
    pub occupied: i64,
    pub vacant: i64,
    /// Occupied ÷ available; `null` with no available unit.
    pub occupancy_pct: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
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
) -> AppResult<OccupancyReport> {
    let rows = reports::occupancy(reader, scope.landlord, scope.property, today).await?;
    let (mut units, mut available, mut occupied) = (0, 0, 0);
    let properties = rows
        .into_iter()
        .map(|row| {
            units += row.total_units;
            available += row.available;
            occupied += row.occupied;
            PropertyOccupancy {
                property_id: row.property_id,
                name: row.name,
                occupancy: Occupancy::new(row.total_units, row.available, row.occupied),
            }
        })
        .collect();
    Ok(OccupancyReport {
        as_of: today,
        total: Occupancy::new(units, available, occupied),
        properties,
    })
}
