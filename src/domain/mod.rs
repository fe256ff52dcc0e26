//! Domain types: money, ids, enumerations and validated inputs. No HTTP or SQL
//! here beyond the column encodings of the enumerations.

pub mod enums;
pub mod money;
pub mod period;

pub use enums::{ChargeKind, LeaseStatus, PaymentMethod, PaymentStatus, Role, TenantStatus};
pub use money::Money;
pub use period::Period;

/// Database row id. Ids are opaque to clients; they are plain integers.
pub type Id = i64;
