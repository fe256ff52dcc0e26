//! The closed vocabularies of the data model. Each is stored as lower-case text
//! (portable across SQLite and PostgreSQL, readable in `psql`) and serialized
//! the same way in JSON.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

/// Stores a type as TEXT through its `Display` / `FromStr`, for any sqlx database.
macro_rules! text_column {
    ($ty:ty) => {
        impl<DB: sqlx::Database> sqlx::Type<DB> for $ty
        where
            str: sqlx::Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <str as sqlx::Type<DB>>::type_info()
            }
            fn compatible(ty: &DB::TypeInfo) -> bool {
                <str as sqlx::Type<DB>>::compatible(ty)
            }
        }

        impl<'q, DB: sqlx::Database> sqlx::Encode<'q, DB> for $ty
        where
            String: sqlx::Encode<'q, DB>,
        {
            fn encode_by_ref(
                &self,
                buf: &mut <DB as sqlx::Database>::ArgumentBuffer,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <String as sqlx::Encode<'q, DB>>::encode(self.to_string(), buf)
            }
        }

        impl<'r, DB: sqlx::Database> sqlx::Decode<'r, DB> for $ty
        where
            &'r str: sqlx::Decode<'r, DB>,
        {
            fn decode(
                value: <DB as sqlx::Database>::ValueRef<'r>,
            ) -> Result<Self, sqlx::error::BoxDynError> {
                let text = <&'r str as sqlx::Decode<'r, DB>>::decode(value)?;
                Ok(text.parse::<$ty>()?)
            }
        }
    };
}
pub(crate) use text_column;

/// Declares a closed enumeration stored and serialized as lower-case text.
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $(#[serde(rename = $text)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownVariant;

            fn from_str(text: &str) -> Result<Self, UnknownVariant> {
                match text {
                    $($text => Ok($name::$variant),)+
                    _ => Err(UnknownVariant {
                        kind: stringify!($name),
                        value: text.to_owned(),
                    }),
                }
            }
        }

        text_column!($name);
    };
}

#[derive(Debug, thiserror::Error)]
#[error("unknown {kind} {value:?}")]
pub struct UnknownVariant {
    kind: &'static str,
    value: String,
}

text_enum!(
    /// What a user may do: a landlord sees their own data; an admin any landlord's.
    Role { Landlord => "landlord", Admin => "admin" }
);

text_enum!(
    TenantStatus { Active => "active", Notice => "notice", MovedOut => "moved_out" }
);

text_enum!(
    /// `active` leases are unique per unit (a partial unique index); ending a
    /// lease frees the unit.
    LeaseStatus { Active => "active", Ended => "ended" }
);

text_enum!(
    ChargeKind { Rent => "rent", Deposit => "deposit", LateFee => "late_fee", Other => "other" }
);

text_enum!(
    PaymentMethod { Mpesa => "mpesa", Cash => "cash", Bank => "bank" }
);

text_enum!(
    /// Only `confirmed` payments count towards balances.
    PaymentStatus {
        Pending => "pending",
        Confirmed => "confirmed",
        Failed => "failed",
        Reversed => "reversed",
        Held => "held",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_text_and_json() {
        for status in PaymentStatus::ALL {
            assert_eq!(status.as_str().parse::<PaymentStatus>().ok(), Some(*status));
            let json = serde_json::to_string(status).expect("serializes");
            assert_eq!(json, format!("\"{}\"", status.as_str()));
        }
        assert_eq!(ChargeKind::LateFee.as_str(), "late_fee");
        assert!("Rent".parse::<ChargeKind>().is_err());
    }
}
