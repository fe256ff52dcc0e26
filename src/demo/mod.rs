//! Deterministic demo data (`mfuko seed`, `serve --demo`, benchmarks).
//!
//! [`generate`] builds the whole data set in memory from a [`SeedSpec`] with a
//! seeded RNG, so the same spec always gives the same rows; [`load`] writes it
//! into an empty database with multi-row INSERTs of explicit ids. The rows are
//! plain structs mirroring the schema, so tests can compute expected report
//! numbers from [`DemoData`] without reading the database back.
//!
//! Time: the history covers `spec.months` months ending with `spec.end`. When
//! `spec.end` is the current month (or later), the history stops at the start
//! of today in the service time zone, so no payment is ever in the future; the
//! rows are then a function of the spec and today's date. For a finished month
//! they depend on the spec alone.

mod frame;
mod generate;
mod ledger;
mod load;
mod names;
#[cfg(test)]
mod tests;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::types::{
    ChargeKind, Id, LeaseStatus, Money, PaymentMethod, PaymentStatus, Period, Role, TenantStatus,
};

pub use generate::generate_as_of;
pub use load::{load, load_as_of};

/// How much demo data to make, and from which seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeedSpec {
    pub landlords: u32,
    /// Per landlord.
    pub properties: u32,
    /// Per property.
    pub units: u32,
    pub months: u32,
    pub seed: u64,
    /// The last month of history, normally the current month.
    pub end: Period,
}

impl SeedSpec {
    /// The `serve --demo` set: 2 landlords × 3 properties × 8 units × 12 months.
    pub fn small(end: Period) -> SeedSpec {
        SeedSpec {
            landlords: 2,
            properties: 3,
            units: 8,
            months: 12,
            seed: 42,
            end,
        }
    }

    /// The benchmark set (DESIGN.md §8): 10 × 20 × 50 units × 36 months,
    /// about 360k rent charges and as many payments.
    pub fn large(end: Period) -> SeedSpec {
        SeedSpec {
            landlords: 10,
            properties: 20,
            units: 50,
            months: 36,
            seed: 42,
            end,
        }
    }
}

/// Rows written per table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SeedSummary {
    pub users: u64,
    pub properties: u64,
    pub units: u64,
    pub tenants: u64,
    pub leases: u64,
    pub charges: u64,
    pub payments: u64,
}

/// A demo user. The password is kept in clear (it is a published demo
/// password) and hashed once per distinct value when loading, because argon2
/// is deliberately slow and salts randomly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRow {
    pub id: Id,
    pub email: String,
    pub name: String,
    pub phone: Option<String>,
    pub role: Role,
    pub password: &'static str,
    pub mpesa_shortcode: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertyRow {
    pub id: Id,
    pub landlord_id: Id,
    pub name: String,
    pub address: String,
    pub county: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitRow {
    pub id: Id,
    pub property_id: Id,
    pub landlord_id: Id,
    pub label: String,
    pub market_rent: Money,
    pub off_market: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantRow {
    pub id: Id,
    pub landlord_id: Id,
    pub name: String,
    pub phone: String,
    pub national_id: Option<String>,
    pub status: TenantStatus,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseRow {
    pub id: Id,
    pub landlord_id: Id,
    pub property_id: Id,
    pub unit_id: Id,
    pub tenant_id: Id,
    pub rent: Money,
    pub deposit: Money,
    pub due_day: i32,
    pub grace_days: i32,
    pub start_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
    pub status: LeaseStatus,
    pub account_ref: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChargeRow {
    pub id: Id,
    pub landlord_id: Id,
    pub property_id: Id,
    pub lease_id: Id,
    pub period: Period,
    pub kind: ChargeKind,
    pub amount: Money,
    pub due_date: NaiveDate,
    pub void: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentRow {
    pub id: Id,
    pub landlord_id: Option<Id>,
    pub property_id: Option<Id>,
    pub lease_id: Option<Id>,
    pub amount: Money,
    pub method: PaymentMethod,
    pub status: PaymentStatus,
    pub reference: Option<String>,
    pub account_ref: Option<String>,
    pub payer: Option<String>,
    /// Whole seconds, so that RFC 3339 text order is time order on SQLite.
    pub paid_at: DateTime<Utc>,
    /// `paid_at`'s calendar date in the service time zone.
    pub paid_on: NaiveDate,
    pub received_at: DateTime<Utc>,
}

impl PaymentRow {
    /// Safaricom's receipt: M-Pesa payments that came as C2B confirmations
    /// (those with a typed account reference, or no landlord) carry their
    /// TransID as one; the migration to 0004 draws the same line.
    pub fn mpesa_receipt(&self) -> Option<&String> {
        let c2b = self.method == PaymentMethod::Mpesa
            && (self.account_ref.is_some() || self.landlord_id.is_none());
        self.reference.as_ref().filter(|_| c2b)
    }
}

/// The whole data set. Ids are explicit and dense from 1 in each table; charge
/// and payment ids increase with time, as they would in production.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DemoData {
    pub users: Vec<UserRow>,
    pub properties: Vec<PropertyRow>,
    pub units: Vec<UnitRow>,
    pub tenants: Vec<TenantRow>,
    pub leases: Vec<LeaseRow>,
    pub charges: Vec<ChargeRow>,
    pub payments: Vec<PaymentRow>,
    /// The instant the history stops: every `paid_at` and `received_at` is before it.
    pub cutoff: DateTime<Utc>,
}

impl DemoData {
    pub fn summary(&self) -> SeedSummary {
        let count = |n: usize| n as u64;
        SeedSummary {
            users: count(self.users.len()),
            properties: count(self.properties.len()),
            units: count(self.units.len()),
            tenants: count(self.tenants.len()),
            leases: count(self.leases.len()),
            charges: count(self.charges.len()),
            payments: count(self.payments.len()),
        }
    }

    pub fn total_rows(&self) -> u64 {
        let s = self.summary();
        let shortcodes = self
            .users
            .iter()
            .filter(|u| u.mpesa_shortcode.is_some())
            .count();
        s.users
            + s.properties
            + s.units
            + s.tenants
            + s.leases
            + s.charges
            + s.payments
            + shortcodes as u64
    }
}

/// Generates the data set for `spec`, with history up to today at the latest
/// (see the module docs). Same spec and same day → identical rows.
pub fn generate(spec: &SeedSpec, tz: chrono_tz::Tz) -> DemoData {
    let today = Utc::now().with_timezone(&tz).date_naive();
    generate_as_of(spec, tz, today)
}
