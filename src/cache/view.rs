//! The named views the cache serves, the data each depends on, and their TTL
//! classes.

use serde::Serialize;

use crate::config::CacheSettings;

/// What a write can touch. Each landlord has a generation per kind; a view's
/// key carries the generations of the kinds it depends on. The numbers are
/// stored (the database's generation rows, announcements): never renumber.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Data {
    Properties = 0,
    Units = 1,
    Tenants = 2,
    Leases = 3,
    Charges = 4,
    Payments = 5,
}

impl Data {
    pub const COUNT: usize = 6;

    pub const ALL: [Data; Data::COUNT] = [
        Data::Properties,
        Data::Units,
        Data::Tenants,
        Data::Leases,
        Data::Charges,
        Data::Payments,
    ];

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn from_index(index: usize) -> Option<Data> {
        Data::ALL.get(index).copied()
    }

    /// The kind's number as the database's generation table stores it.
    pub fn code(self) -> i16 {
        self as i16
    }

    pub fn from_code(code: i16) -> Option<Data> {
        usize::try_from(code).ok().and_then(Data::from_index)
    }

    pub fn name(self) -> &'static str {
        match self {
            Data::Properties => "properties",
            Data::Units => "units",
            Data::Tenants => "tenants",
            Data::Leases => "leases",
            Data::Charges => "charges",
            Data::Payments => "payments",
        }
    }
}

/// How long a class of view may live (configurable; see `CacheSettings`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TtlClass {
    Metrics,
    Payments,
    Occupancy,
    Reports,
    StaticLists,
}

impl TtlClass {
    /// The configured lifetime of this class, in seconds (0: not cached).
    pub fn secs(self, settings: &CacheSettings) -> u64 {
        match self {
            TtlClass::Metrics => settings.ttl_metrics_secs,
            TtlClass::Payments => settings.ttl_payments_secs,
            TtlClass::Occupancy => settings.ttl_occupancy_secs,
            TtlClass::Reports => settings.ttl_reports_secs,
            TtlClass::StaticLists => settings.ttl_static_lists_secs,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum View {
    Dashboard,
    PaymentMetrics,
    ReportFinancial,
    ReportPayments,
    ReportArrears,
    ReportOccupancy,
    PropertyList,
    TenantList,
}

use Data::*;

/// Every view depends on units and properties (they frame all reports).
const ALL: &[Data] = &[Properties, Units, Tenants, Leases, Charges, Payments];

impl View {
    pub const ALL: [View; 8] = [
        View::Dashboard,
        View::PaymentMetrics,
        View::ReportFinancial,
        View::ReportPayments,
        View::ReportArrears,
        View::ReportOccupancy,
        View::PropertyList,
        View::TenantList,
    ];

    pub fn name(self) -> &'static str {
        match self {
            View::Dashboard => "dashboard",
            View::PaymentMetrics => "payment_metrics",
            View::ReportFinancial => "report_financial",
            View::ReportPayments => "report_payments",
            View::ReportArrears => "report_arrears",
            View::ReportOccupancy => "report_occupancy",
            View::PropertyList => "property_list",
            View::TenantList => "tenant_list",
        }
    }

    /// The seed's `{service}:{operation}` part of the key.
    pub fn key_parts(self) -> (&'static str, &'static str) {
        match self {
            View::Dashboard => ("dashboard", "landlord"),
            View::PaymentMetrics => ("metrics", "payments"),
            View::ReportFinancial => ("report", "financial"),
            View::ReportPayments => ("report", "payments"),
            View::ReportArrears => ("report", "arrears"),
            View::ReportOccupancy => ("report", "occupancy"),
            View::PropertyList => ("list", "properties"),
            View::TenantList => ("list", "tenants"),
        }
    }

    pub fn ttl_class(self) -> TtlClass {
        match self {
            View::Dashboard | View::PaymentMetrics => TtlClass::Metrics,
            View::ReportPayments => TtlClass::Payments,
            View::ReportOccupancy => TtlClass::Occupancy,
            View::ReportFinancial | View::ReportArrears => TtlClass::Reports,
            View::PropertyList | View::TenantList => TtlClass::StaticLists,
        }
    }

    /// Whether a new payment patches this view in place instead of leaving
    /// it to be recomputed (`reports::patch`).
    pub fn is_patched(self) -> bool {
        matches!(
            self,
            View::Dashboard
                | View::PaymentMetrics
                | View::ReportFinancial
                | View::ReportPayments
                | View::ReportArrears
        )
    }

    /// Which writes make this view stale (DESIGN §6): payments and charges
    /// → financial, payments, arrears, metrics, dashboard; leases and tenant
    /// changes → occupancy, arrears, dashboard; units and properties → all.
    pub fn depends_on(self) -> &'static [Data] {
        match self {
            View::Dashboard | View::PaymentMetrics | View::ReportArrears => ALL,
            View::ReportFinancial | View::ReportPayments => &[Properties, Units, Charges, Payments],
            View::ReportOccupancy => &[Properties, Units, Tenants, Leases],
            View::PropertyList => &[Properties, Units],
            View::TenantList => &[Properties, Units, Tenants],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_write_reaches_the_dashboard_and_payments_reach_the_reports() {
        for data in ALL {
            assert!(View::Dashboard.depends_on().contains(data));
        }
        for view in [
            View::ReportFinancial,
            View::ReportPayments,
            View::ReportArrears,
            View::PaymentMetrics,
        ] {
            assert!(view.depends_on().contains(&Payments), "{view:?}");
            assert!(view.depends_on().contains(&Charges), "{view:?}");
        }
        assert!(View::ReportOccupancy.depends_on().contains(&Leases));
        assert!(!View::ReportOccupancy.depends_on().contains(&Payments));
        for view in View::ALL {
            assert!(view.depends_on().contains(&Units) && view.depends_on().contains(&Properties));
        }
    }
}
