use std::collections::{HashMap, HashSet};

use chrono::{NaiveDate, Timelike};
use chrono_tz::Africa::Nairobi;

use super::*;
use crate::config::{DatabaseSettings, Secret};
use crate::db::{Database, dispatch};

fn period(text: &str) -> Period {
    text.parse().expect("valid period")
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}

/// Big enough for the percentages to settle, small enough to run in a blink.
fn mid_spec() -> SeedSpec {
    SeedSpec {
        landlords: 3,
        properties: 5,
        units: 12,
        months: 24,
        seed: 7,
        end: period("2024-06"),
    }
}

fn mid_data() -> DemoData {
    generate_as_of(&mid_spec(), Nairobi, date(2025, 1, 15))
}

#[test]
fn same_spec_gives_identical_rows() {
    let spec = SeedSpec::small(period("2024-06"));
    let a = generate_as_of(&spec, Nairobi, date(2025, 1, 15));
    let b = generate_as_of(&spec, Nairobi, date(2025, 1, 15));
    assert_eq!(format!("{a:?}"), format!("{b:?}"));
    assert!(a == b);
    // A finished month does not depend on today's date.
    let c = generate(&spec, Nairobi);
    assert!(a == c);
}

#[test]
fn another_seed_gives_other_rows() {
    let spec = SeedSpec::small(period("2024-06"));
    let other = SeedSpec { seed: 43, ..spec };
    let a = generate_as_of(&spec, Nairobi, date(2025, 1, 15));
    let b = generate_as_of(&other, Nairobi, date(2025, 1, 15));
    assert!(a.units != b.units);
    assert!(a.payments != b.payments);
}

#[test]
fn users_follow_the_published_demo_logins() {
    let data = generate_as_of(
        &SeedSpec::small(period("2024-06")),
        Nairobi,
        date(2025, 1, 1),
    );
    let emails: Vec<&str> = data.users.iter().map(|u| u.email.as_str()).collect();
    assert_eq!(
        emails,
        [
            "demo@mfuko.local",
            "landlord2@mfuko.local",
            "admin@mfuko.local"
        ]
    );
    assert_eq!(data.users[0].password, "demo");
    assert_eq!(data.users[2].password, "admin");
    assert_eq!(data.users[2].role, Role::Admin);
    let codes: HashSet<_> = data
        .users
        .iter()
        .filter_map(|u| u.mpesa_shortcode.clone())
        .collect();
    assert_eq!(codes.len(), 2);
    assert!(
        codes
            .iter()
            .all(|c| c.len() == 6 && c.bytes().all(|b| b.is_ascii_digit()))
    );
}

#[test]
fn leases_respect_the_schema_constraints() {
    let data = mid_data();
    let mut active_units = HashSet::new();
    for lease in data
        .leases
        .iter()
        .filter(|l| l.status == LeaseStatus::Active)
    {
        assert!(
            active_units.insert(lease.unit_id),
            "two active leases on unit {}",
            lease.unit_id
        );
    }
    let refs: HashSet<&str> = data.leases.iter().map(|l| l.account_ref.as_str()).collect();
    assert_eq!(refs.len(), data.leases.len());
    for lease in &data.leases {
        assert!(lease.account_ref.len() <= 20);
        assert!(
            lease
                .account_ref
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        );
        assert!((1..=28).contains(&lease.due_day));
        assert!((0..=7).contains(&lease.grace_days));
        assert!((500_000..=8_000_000).contains(&lease.rent.minor()));
        assert_eq!(lease.deposit, lease.rent);
        assert!(lease.end_date.is_none_or(|end| end >= lease.start_date));
        if lease.status == LeaseStatus::Ended {
            assert!(
                lease
                    .end_date
                    .is_some_and(|end| end < data.cutoff.date_naive())
            );
        }
    }
    // Tenancies of one unit never overlap.
    let mut by_unit: HashMap<Id, Vec<&LeaseRow>> = HashMap::new();
    for lease in &data.leases {
        by_unit.entry(lease.unit_id).or_default().push(lease);
    }
    for leases in by_unit.values_mut() {
        leases.sort_by_key(|l| l.start_date);
        for pair in leases.windows(2) {
            assert!(pair[0].end_date.is_some_and(|end| end < pair[1].start_date));
        }
    }
    assert!(data.leases.iter().any(|l| l.status == LeaseStatus::Ended));
    assert!(
        data.tenants
            .iter()
            .any(|t| t.status == TenantStatus::Notice)
    );
    assert!(
        data.tenants
            .iter()
            .any(|t| t.status == TenantStatus::MovedOut)
    );
}

#[test]
fn units_are_mostly_let_and_labelled_uniquely() {
    let data = mid_data();
    let mut labels = HashSet::new();
    for unit in &data.units {
        assert!(labels.insert((unit.property_id, unit.label.clone())));
        assert!((500_000..=8_000_000).contains(&unit.market_rent.minor()));
        assert_eq!(unit.market_rent.minor() % 100, 0, "whole shillings");
    }
    let on_market = data.units.iter().filter(|u| !u.off_market).count();
    let let_now = data
        .leases
        .iter()
        .filter(|l| l.status == LeaseStatus::Active)
        .count();
    let occupancy = let_now as f64 / on_market as f64;
    assert!((0.82..=0.97).contains(&occupancy), "occupancy {occupancy}");
}

#[test]
fn charges_are_one_rent_per_lease_and_month() {
    let data = mid_data();
    let mut rent = HashSet::new();
    for charge in data.charges.iter().filter(|c| c.kind == ChargeKind::Rent) {
        assert!(
            rent.insert((charge.lease_id, charge.period)),
            "duplicate rent charge"
        );
        assert_eq!(Period::containing(charge.due_date), charge.period);
    }
    assert!(data.charges.iter().all(|c| c.amount.is_positive()));
    assert!(data.charges.iter().any(|c| c.kind == ChargeKind::Deposit));
    assert!(data.charges.iter().any(|c| c.kind == ChargeKind::LateFee));
    assert!(data.charges.iter().any(|c| c.void));
    let ids: Vec<Id> = data.charges.iter().map(|c| c.id).collect();
    assert_eq!(ids, (1..=data.charges.len() as Id).collect::<Vec<_>>());
}

#[test]
fn payments_look_like_a_real_ledger() {
    let data = mid_data();
    let mut references = HashSet::new();
    for p in &data.payments {
        if let Some(reference) = &p.reference {
            assert!(
                references.insert((p.method, reference.clone())),
                "duplicate {reference}"
            );
        }
        if p.method == PaymentMethod::Mpesa {
            let reference = p.reference.as_deref().expect("M-Pesa has a TransID");
            assert_eq!(reference.len(), 10);
            assert!(
                reference
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
            );
        }
        assert_eq!(p.paid_at.nanosecond(), 0);
        assert_eq!(p.received_at.nanosecond(), 0);
        assert!(p.received_at >= p.paid_at && p.received_at < data.cutoff);
        assert_eq!(p.paid_on, p.paid_at.with_timezone(&Nairobi).date_naive());
        assert!(p.amount.is_positive());
    }
    let count = |f: &dyn Fn(&PaymentRow) -> bool| data.payments.iter().filter(|p| f(p)).count();
    let total = data.payments.len() as f64;
    let mpesa = count(&|p| p.method == PaymentMethod::Mpesa) as f64 / total;
    assert!((0.70..=0.90).contains(&mpesa), "M-Pesa share {mpesa}");
    let reversed = count(&|p| p.status == PaymentStatus::Reversed) as f64 / total;
    assert!(
        (0.003..=0.03).contains(&reversed),
        "reversed share {reversed}"
    );
    assert!(count(&|p| p.status == PaymentStatus::Failed) > 0);
    assert!(count(&|p| p.status == PaymentStatus::Pending) > 0);
    let suspense = count(&|p| p.lease_id.is_none());
    assert!((3..=30).contains(&suspense), "{suspense} unallocated");
    let refs: HashSet<&str> = data.leases.iter().map(|l| l.account_ref.as_str()).collect();
    for p in data.payments.iter().filter(|p| p.lease_id.is_none()) {
        assert!(p.landlord_id.is_some() && p.property_id.is_none());
        assert!(!refs.contains(p.account_ref.as_deref().expect("mistyped ref")));
    }
    // Ids increase with time.
    assert!(
        data.payments
            .windows(2)
            .all(|w| w[0].paid_at <= w[1].paid_at)
    );
    assert!(
        data.payments
            .iter()
            .enumerate()
            .all(|(i, p)| p.id == i as Id + 1)
    );
}

#[test]
fn most_of_what_is_billed_is_collected() {
    let data = mid_data();
    let cutoff = data.cutoff.with_timezone(&Nairobi).date_naive();
    let billed: i64 = data
        .charges
        .iter()
        .filter(|c| !c.void && c.due_date < cutoff)
        .map(|c| c.amount.minor())
        .sum();
    let collected: i64 = data
        .payments
        .iter()
        .filter(|p| p.status == PaymentStatus::Confirmed && p.lease_id.is_some())
        .map(|p| p.amount.minor())
        .sum();
    let rate = collected as f64 / billed as f64;
    assert!((0.88..=1.0).contains(&rate), "collection rate {rate}");
}

#[test]
fn history_stops_at_the_start_of_today_in_the_current_month() {
    let today = date(2024, 6, 10);
    // An end month after today's is clamped to today's month.
    let spec = SeedSpec {
        end: period("2024-09"),
        ..SeedSpec::small(period("2024-09"))
    };
    let data = generate_as_of(&spec, Nairobi, today);
    let midnight = data.cutoff.with_timezone(&Nairobi);
    assert_eq!(midnight.date_naive(), today);
    assert_eq!(
        (midnight.hour(), midnight.minute(), midnight.second()),
        (0, 0, 0)
    );
    assert!(
        data.payments
            .iter()
            .all(|p| p.received_at < data.cutoff && p.paid_on < today)
    );
    let last = data
        .charges
        .iter()
        .map(|c| c.period)
        .max()
        .expect("charges");
    assert_eq!(last, period("2024-06"));
    assert!(
        data.payments.iter().any(|p| p.paid_on >= date(2024, 6, 1)),
        "this month's payments"
    );
    assert!(
        data.charges
            .iter()
            .filter(|c| c.kind == ChargeKind::LateFee)
            .all(|c| c.due_date < today)
    );
    assert!(data.leases.iter().all(|l| l.start_date <= today));
}

fn temp_db_settings(dir: &tempfile::TempDir) -> DatabaseSettings {
    let path = dir.path().join("demo.db");
    DatabaseSettings {
        url: Secret::new(format!("sqlite://{}", path.display())),
        ..Default::default()
    }
}

async fn table_counts(db: &Database) -> SeedSummary {
    let mut counts = Vec::new();
    for table in [
        "users",
        "properties",
        "units",
        "tenants",
        "leases",
        "charges",
        "payments",
    ] {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        let n: i64 =
            dispatch!(db.reader_prefer_primary().pool(), p => sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(p)
            .await)
            .expect("count");
        counts.push(n as u64);
    }
    SeedSummary {
        users: counts[0],
        properties: counts[1],
        units: counts[2],
        tenants: counts[3],
        leases: counts[4],
        charges: counts[5],
        payments: counts[6],
    }
}

#[tokio::test]
async fn loads_into_an_empty_sqlite_database_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = Database::connect(&temp_db_settings(&dir))
        .await
        .expect("connect");
    db.migrate().await.expect("migrate");
    let spec = SeedSpec {
        units: 5,
        months: 6,
        ..SeedSpec::small(period("2024-03"))
    };
    let bar = indicatif::ProgressBar::hidden();

    let summary = load(&db, &spec, Nairobi, &bar).await.expect("load");
    let data = generate(&spec, Nairobi);
    assert_eq!(summary, data.summary());
    assert_eq!(table_counts(&db).await, summary);
    assert_eq!(bar.position(), data.total_rows());
    assert!(summary.payments > 0 && summary.charges > 0);

    // Text order is time order: ids (given in time order) agree with paid_at.
    let out_of_order: i64 = dispatch!(db.reader_prefer_primary().pool(), p => sqlx::query_scalar(
        "SELECT COUNT(*) FROM payments a JOIN payments b ON b.id = a.id + 1 WHERE a.paid_at > b.paid_at",
    )
    .fetch_one(p)
    .await)
    .expect("query");
    assert_eq!(out_of_order, 0);
    // The demo login works.
    let creds =
        crate::db::users::credentials_by_email(db.reader_prefer_primary(), "demo@mfuko.local")
            .await
            .expect("query")
            .expect("demo user");
    assert!(crate::auth::verify_password("demo", &creds.password_hash).expect("verify"));

    let again = load(&db, &spec, Nairobi, &bar)
        .await
        .expect_err("second load must fail");
    assert!(format!("{again:#}").contains("not empty"), "{again:#}");
    assert_eq!(table_counts(&db).await, summary);
}

/// `cargo test --release -- --ignored seed_large --nocapture`
#[tokio::test]
#[ignore = "benchmark: loads the large data set"]
async fn seed_large() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = Database::connect(&temp_db_settings(&dir))
        .await
        .expect("connect");
    db.migrate().await.expect("migrate");
    let spec = SeedSpec::large(period("2025-06"));

    let started = std::time::Instant::now();
    let data = generate(&spec, Nairobi);
    let generated = started.elapsed();
    let started = std::time::Instant::now();
    let summary = load(&db, &spec, Nairobi, &indicatif::ProgressBar::hidden())
        .await
        .expect("load");
    let loaded = started.elapsed();
    let rows = data.total_rows();
    println!(
        "generate: {generated:.2?}; load (incl. generate + hashing): {loaded:.2?}, \
         {rows} rows, {:.0} rows/s\n{summary:#?}",
        rows as f64 / loaded.as_secs_f64()
    );
    assert_eq!(table_counts(&db).await, summary);
}
