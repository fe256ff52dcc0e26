//! Domain types and the write paths: money, ids, enumerations, validated inputs,
//! and the operations that change data (each one transaction). No HTTP types.

pub mod charges;
pub mod enums;
pub mod leases;
pub mod money;
pub mod mpesa;
pub mod payments;
pub mod period;
pub mod properties;
pub mod tenants;
pub mod validate;

pub use enums::{ChargeKind, LeaseStatus, PaymentMethod, PaymentStatus, Role, TenantStatus};
pub use money::Money;
pub use period::Period;

/// Database row id. Ids are opaque to clients; they are plain integers.
pub type Id = i64;
