//! The unique constraints whose violations the write paths turn into their own
//! error codes. PostgreSQL reports a violated constraint by name; SQLite reports
//! the columns (`UNIQUE constraint failed: units.property_id, units.label`), so
//! each constraint knows both, and this is the one place that reads them.

/// A unique constraint a write may violate on purpose (the database decides
/// races that a check before the insert cannot).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Constraint {
    /// A label is unique within its property.
    UnitLabel,
    /// Account references are unique per landlord (they are the account
    /// numbers tenants type into M-Pesa for that landlord's paybill).
    LeaseAccountRef,
    /// At most one active lease per unit.
    OneActiveLeasePerUnit,
    /// One rent charge per lease and period.
    OneRentPerPeriod,
    /// A landlord uses a payment reference once per method.
    PaymentReference,
    /// An M-Pesa shortcode belongs to one landlord.
    Shortcode,
    /// One user per email.
    UserEmail,
}

impl Constraint {
    /// The constraint's (or unique index's) name on PostgreSQL.
    fn postgres_name(self) -> &'static str {
        match self {
            Constraint::UnitLabel => "units_property_id_label_key",
            Constraint::LeaseAccountRef => "leases_account_ref_per_landlord",
            Constraint::OneActiveLeasePerUnit => "leases_one_active_per_unit",
            Constraint::OneRentPerPeriod => "charges_one_rent_per_period",
            Constraint::PaymentReference => "payments_reference_per_landlord",
            Constraint::Shortcode => "mpesa_shortcodes_pkey",
            Constraint::UserEmail => "users_email_key",
        }
    }

    /// The columns SQLite lists after `UNIQUE constraint failed: `.
    fn sqlite_columns(self) -> &'static str {
        match self {
            Constraint::UnitLabel => "units.property_id, units.label",
            Constraint::LeaseAccountRef => "leases.landlord_id, leases.account_ref",
            Constraint::OneActiveLeasePerUnit => "leases.unit_id",
            Constraint::OneRentPerPeriod => "charges.lease_id, charges.period",
            Constraint::PaymentReference => {
                "payments.landlord_id, payments.method, payments.reference"
            }
            Constraint::Shortcode => "mpesa_shortcodes.shortcode",
            Constraint::UserEmail => "users.email",
        }
    }

    /// Whether `err` is a violation of this constraint.
    pub fn violated_by(self, err: &sqlx::Error) -> bool {
        let sqlx::Error::Database(db) = err else {
            return false;
        };
        if !db.is_unique_violation() {
            return false;
        }
        match db.constraint() {
            Some(name) => name == self.postgres_name(),
            None => db
                .message()
                .strip_prefix("UNIQUE constraint failed: ")
                .is_some_and(|columns| columns == self.sqlite_columns()),
        }
    }
}

/// Whether `err` is a foreign-key violation (a delete of a row others refer to,
/// or an insert naming a row that does not exist).
pub fn is_reference_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_foreign_key_violation())
}
