//! The value types every layer shares: ids, money, periods, the enumerations
//! and instants as stored. A leaf: it imports nothing else of the crate.

pub mod date;
pub mod enums;
pub mod money;
pub mod period;

pub use enums::{ChargeKind, LeaseStatus, PaymentMethod, PaymentStatus, Role, TenantStatus};
pub use money::Money;
pub use period::Period;

use chrono::{DateTime, Utc};

/// Database row id. Ids are opaque to clients; they are plain integers.
pub type Id = i64;

/// Truncated to whole seconds: instants are stored as text on SQLite, where
/// only a fixed format keeps text order equal to time order.
pub fn whole_seconds(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(at.timestamp(), 0).unwrap_or(at)
}
