//! Roll-ups under random writes (`proptest`), on SQLite and PostgreSQL: each
//! case gives a new landlord two leases, then runs a random sequence of every
//! write kind that changes a figure — charges created (any month, back to a
//! year and a half, and next month's), voided and run; payments created
//! (backdated, future-dated, unallocated), confirmed, failed, reversed and
//! allocated; leases ended mid-month; grace days changed; units taken off the
//! market. After every step the roll-up reports must equal the history's
//! (the reference) and the independent oracle's (`tests/api/oracle.rs`);
//! after every case every report of `reports::check` must, and every so
//! often the roll-up tables must equal the history row for row.
//!
//! `MFUKO_PROPTEST_CASES` sets the cases per engine (default 16, what CI
//! runs); the closing notes report runs of 10,000.

// Only part of the borrowed harness is used here.
#![allow(dead_code)]

#[path = "../api/helpers.rs"]
mod helpers;
#[path = "../api/oracle.rs"]
mod oracle;
#[path = "../api/pg_cluster.rs"]
mod pg_cluster;
#[path = "../api/support.rs"]
mod support;

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use mfuko::db::{users, users::NewUser};
use mfuko::reports::patch::ReportPatcher;
use mfuko::reports::views::{self, Report};
use mfuko::reports::{self, DateRange, Scope, Source};
use mfuko::types::{
    ChargeKind, Id, LeaseStatus, Money, PaymentMethod, PaymentStatus, Period, Role,
};
use mfuko::write::{self, WritePath};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::Value;

use crate::helpers::{Backend, TestApp, spawn_app};

const TZ: chrono_tz::Tz = chrono_tz::Africa::Nairobi;

#[derive(Debug, Clone)]
enum Op {
    /// A charge for the period `months_back` before this one (−1: next month).
    Charge {
        lease: usize,
        months_back: i32,
        day: u32,
        amount: i64,
        rent: bool,
    },
    /// A payment made `days_back` days ago (negative: in the future).
    Pay {
        lease: Option<usize>,
        days_back: i64,
        amount: i64,
        pending: bool,
        method: usize,
    },
    SetStatus {
        payment: usize,
        status: usize,
    },
    Void {
        charge: usize,
    },
    Allocate {
        payment: usize,
        lease: usize,
    },
    EndLease {
        lease: usize,
        days_back: i64,
    },
    Grace {
        lease: usize,
        days: i32,
    },
    Run {
        months_back: i32,
    },
    OffMarket {
        unit: usize,
        off: bool,
    },
    /// A lease on a unit (refused when it is let), starting `days_ahead`
    /// days from today (negative: in the past).
    NewLease {
        unit: usize,
        tenant: usize,
        days_ahead: i64,
    },
    /// A lease's end date set, its status left active (it may lie in the
    /// past: active, yet no longer in force).
    EndDate {
        lease: usize,
        days_back: i64,
    },
    /// A unit relabelled or a tenant renamed: the arrears list shows both.
    Rename {
        unit: bool,
        which: usize,
        n: u32,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..2usize, -1..18i32, 1..29u32, 1..60_000i64, any::<bool>()).prop_map(
            |(lease, months_back, day, amount, rent)| Op::Charge { lease, months_back, day, amount: amount * 100, rent }
        ),
        5 => (proptest::option::weighted(0.85, 0..2usize), -3..500i64, 1..80_000i64, any::<bool>(), 0..3usize)
            .prop_map(|(lease, days_back, amount, pending, method)| Op::Pay { lease, days_back, amount: amount * 100, pending, method }),
        2 => (0..16usize, 0..3usize).prop_map(|(payment, status)| Op::SetStatus { payment, status }),
        1 => (0..16usize).prop_map(|charge| Op::Void { charge }),
        1 => (0..16usize, 0..2usize).prop_map(|(payment, lease)| Op::Allocate { payment, lease }),
        1 => (0..2usize, -40..120i64).prop_map(|(lease, days_back)| Op::EndLease { lease, days_back }),
        1 => (0..2usize, 0..30i32).prop_map(|(lease, days)| Op::Grace { lease, days }),
        1 => (-1..3i32).prop_map(|months_back| Op::Run { months_back }),
        1 => (0..3usize, any::<bool>()).prop_map(|(unit, off)| Op::OffMarket { unit, off }),
        1 => (any::<bool>(), 0..3usize, 0..1000u32).prop_map(|(unit, which, n)| Op::Rename { unit, which, n }),
        1 => (0..3usize, 0..2usize, -60..60i64).prop_map(|(unit, tenant, days_ahead)| Op::NewLease { unit, tenant, days_ahead }),
        1 => (0..2usize, -30..30i64).prop_map(|(lease, days_back)| Op::EndDate { lease, days_back }),
    ]
}

/// One case's landlord and what it has created.
struct World {
    landlord: Id,
    units: Vec<Id>,
    tenants: Vec<Id>,
    leases: Vec<Id>,
    charges: Vec<Id>,
    payments: Vec<Id>,
}

fn today() -> NaiveDate {
    Utc::now().with_timezone(&TZ).date_naive()
}

fn months_back(period: Period, n: i32) -> Period {
    if n < 0 {
        return (0..-n).fold(period, |p, _| p.next());
    }
    (0..n).fold(period, |p, _| p.prev())
}

/// Builds the landlord, one property, three units, three tenants and two
/// leases: a long one (due on the 1st) and a recent one (due on the 10th,
/// three grace days).
async fn world(path: &WritePath, app: &TestApp, n: u64) -> World {
    let mut tx = app.db.writer().begin().await.expect("begin");
    let email = format!("prop{n}@mfuko.local");
    let landlord = users::insert(
        &mut tx,
        &NewUser {
            email: &email,
            name: "Proptest",
            phone: None,
            role: Role::Landlord,
            password_hash: "unused",
        },
    )
    .await
    .expect("landlord")
    .id;
    tx.commit().await.expect("commit");
    let property = write::properties::create(
        path,
        landlord,
        serde_json::from_value(serde_json::json!({ "name": "Block" })).expect("property"),
    )
    .await
    .expect("property")
    .id;
    let mut units = Vec::new();
    for label in ["A1", "A2", "A3"] {
        let unit =
            serde_json::from_value(serde_json::json!({ "label": label, "market_rent": 1_500_000 }));
        units.push(
            write::properties::create_unit(path, landlord, property, unit.expect("unit"))
                .await
                .expect("unit")
                .id,
        );
    }
    let mut tenants = Vec::new();
    for k in 0..2 {
        let tenant = serde_json::json!({ "name": format!("Tenant {k}"), "phone": format!("+2547{:08}", n * 2 + k) });
        tenants.push(
            write::tenants::create(
                path,
                landlord,
                serde_json::from_value(tenant).expect("tenant"),
            )
            .await
            .expect("tenant")
            .id,
        );
    }
    let this_month = Period::containing(today());
    let mut leases = Vec::new();
    for (k, (start, due_day, grace)) in [
        (months_back(this_month, 16).day(1), 1, 0),
        (months_back(this_month, 5).day(7), 10, 3),
    ]
    .into_iter()
    .enumerate()
    {
        let lease = serde_json::json!({
            "unit_id": units[k], "tenant_id": tenants[k], "rent": 1_500_000,
            "due_day": due_day, "grace_days": grace, "start_date": start,
        });
        leases.push(
            write::leases::create(
                path,
                landlord,
                serde_json::from_value(lease).expect("lease"),
            )
            .await
            .expect("lease")
            .id,
        );
    }
    World {
        landlord,
        units,
        tenants,
        leases,
        charges: Vec::new(),
        payments: Vec::new(),
    }
}

/// Applies one write; refusals (a 4xx) are part of the game.
async fn apply(path: &WritePath, world: &mut World, op: &Op) {
    let landlord = world.landlord;
    let this_month = Period::containing(today());
    let pick = |ids: &[Id], i: usize| (!ids.is_empty()).then(|| ids[i % ids.len()]);
    match *op {
        Op::Charge {
            lease,
            months_back: back,
            day,
            amount,
            rent,
        } => {
            let period = months_back(this_month, back);
            let input = serde_json::json!({
                "lease_id": world.leases[lease], "period": period.to_string(),
                "kind": if rent { ChargeKind::Rent } else { ChargeKind::Other },
                "amount": amount, "due_date": period.day(day),
            });
            let input = serde_json::from_value(input).expect("charge");
            if let Ok(charge) = write::charges::create(path, landlord, input).await {
                world.charges.push(charge.id);
            }
        }
        Op::Pay {
            lease,
            days_back,
            amount,
            pending,
            method,
        } => {
            let paid_at = TZ
                .from_local_datetime(&today().and_hms_opt(9, 0, 0).expect("time"))
                .single()
                .expect("local time")
                .with_timezone(&Utc)
                - Duration::days(days_back);
            let method = [
                PaymentMethod::Cash,
                PaymentMethod::Bank,
                PaymentMethod::Mpesa,
            ][method];
            // Bank and M-Pesa payments need a reference, unique per landlord.
            let reference = (method != PaymentMethod::Cash)
                .then(|| format!("TX{:08}", world.charges.len() * 1000 + world.payments.len()));
            let input = serde_json::json!({
                "reference": reference,
                "lease_id": lease.map(|l| world.leases[l]), "amount": amount, "method": method,
                "status": if pending { PaymentStatus::Pending } else { PaymentStatus::Confirmed },
                "paid_at": paid_at,
            });
            let input = serde_json::from_value(input).expect("payment");
            if let Ok(payment) = write::payments::create(path, landlord, input, TZ).await {
                world.payments.push(payment.id);
            }
        }
        Op::SetStatus { payment, status } => {
            if let Some(id) = pick(&world.payments, payment) {
                let status = [
                    PaymentStatus::Confirmed,
                    PaymentStatus::Failed,
                    PaymentStatus::Reversed,
                ][status];
                let input = serde_json::from_value(serde_json::json!({ "status": status }));
                let _ = write::payments::update(path, landlord, id, input.expect("update")).await;
            }
        }
        Op::Void { charge } => {
            if let Some(id) = pick(&world.charges, charge) {
                let input = serde_json::from_value(serde_json::json!({ "void": true }));
                let _ = write::charges::set_void(path, landlord, id, input.expect("void")).await;
            }
        }
        Op::Allocate { payment, lease } => {
            if let Some(id) = pick(&world.payments, payment) {
                let input = serde_json::json!({ "lease_id": world.leases[lease] });
                let input = serde_json::from_value(input).expect("allocate");
                let _ = write::payments::update(path, landlord, id, input).await;
            }
        }
        Op::EndLease { lease, days_back } => {
            let end = today() - Duration::days(days_back);
            let input = serde_json::json!({ "status": LeaseStatus::Ended, "end_date": end });
            let input = serde_json::from_value(input).expect("end lease");
            let _ =
                write::leases::update(path, landlord, world.leases[lease], input, today()).await;
        }
        Op::Grace { lease, days } => {
            let input = serde_json::from_value(serde_json::json!({ "grace_days": days }));
            let _ = write::leases::update(
                path,
                landlord,
                world.leases[lease],
                input.expect("grace"),
                today(),
            )
            .await;
        }
        Op::Run { months_back: back } => {
            let _ = write::charges::run(path, Some(landlord), months_back(this_month, back)).await;
        }
        Op::OffMarket { unit, off } => {
            let input = serde_json::from_value(serde_json::json!({ "off_market": off }));
            let _ = write::properties::update_unit(
                path,
                landlord,
                world.units[unit],
                input.expect("unit"),
            )
            .await;
        }
        Op::NewLease {
            unit,
            tenant,
            days_ahead,
        } => {
            let lease = serde_json::json!({
                "unit_id": world.units[unit], "tenant_id": world.tenants[tenant], "rent": 1_200_000,
                "due_day": 5, "start_date": today() + Duration::days(days_ahead),
            });
            let input = serde_json::from_value(lease).expect("lease");
            let _ = write::leases::create(path, landlord, input).await;
        }
        Op::EndDate { lease, days_back } => {
            let end = today() - Duration::days(days_back);
            let input = serde_json::from_value(serde_json::json!({ "end_date": end }));
            let _ = write::leases::update(
                path,
                landlord,
                world.leases[lease],
                input.expect("end date"),
                today(),
            )
            .await;
        }
        Op::Rename { unit, which, n } => {
            // A clash with another unit's label is a refusal, as in the API.
            let _ = if unit {
                let input = serde_json::json!({ "label": format!("B{n}") });
                let input = serde_json::from_value(input).expect("unit");
                write::properties::update_unit(path, landlord, world.units[which], input)
                    .await
                    .map(drop)
            } else {
                let tenant = world.tenants[which % world.tenants.len()];
                let input = serde_json::json!({ "name": format!("Renamed {n}") });
                let input = serde_json::from_value(input).expect("tenant");
                write::tenants::update(path, landlord, tenant, input)
                    .await
                    .map(drop)
            };
        }
    }
}

fn fail(what: &str, a: &Value, b: &Value) -> TestCaseError {
    TestCaseError::fail(format!(
        "{what} differ:\n--- roll-ups:\n{a:#}\n--- other:\n{b:#}"
    ))
}

fn json<T: serde::Serialize>(value: T) -> Value {
    serde_json::to_value(value).expect("serializable")
}

/// After a step: the dashboard and the arrears as of today and as of a past
/// day, and a range with partial months, from the roll-ups, the history and
/// the oracle.
async fn check_step(app: &TestApp, landlord: Id) -> Result<(), TestCaseError> {
    let reader = app.db.reader_prefer_primary();
    let scope = Scope {
        landlord,
        property: None,
    };
    let today = today();
    let rows = oracle::load(&app.db, landlord).await;
    let past = today - Duration::days(20);
    for day in [today, past] {
        let rollups = json(
            reports::arrears::compute(reader, scope, day, Source::RollUps)
                .await
                .expect("arrears"),
        );
        let history = json(
            reports::arrears::compute(reader, scope, day, Source::History)
                .await
                .expect("arrears"),
        );
        if rollups != history {
            return Err(fail(
                &format!("arrears as of {day} (history)"),
                &rollups,
                &history,
            ));
        }
        if let Some(at) = oracle::first_difference("", &rollups, &oracle::arrears(&rows, day, None))
        {
            return Err(fail(
                &format!("arrears as of {day} (oracle, at {at})"),
                &rollups,
                &oracle::arrears(&rows, day, None),
            ));
        }
    }
    let rollups = json(
        reports::dashboard::compute(reader, scope, today, Source::RollUps)
            .await
            .expect("dashboard"),
    );
    let history = json(
        reports::dashboard::compute(reader, scope, today, Source::History)
            .await
            .expect("dashboard"),
    );
    if rollups != history {
        return Err(fail("dashboard (history)", &rollups, &history));
    }
    let expected = oracle::dashboard(&rows, today, None);
    if let Some(at) = oracle::first_difference("", &rollups, &expected) {
        return Err(fail(
            &format!("dashboard (oracle, at {at})"),
            &rollups,
            &expected,
        ));
    }
    check_cached_views(app, landlord, today, &rows).await?;
    let range = DateRange::new(today - Duration::days(75), today).expect("range");
    let rollups = json(
        reports::financial::compute(reader, scope, range, Source::RollUps)
            .await
            .expect("financial"),
    );
    let expected = oracle::financial(&rows, range.from, range.to, None);
    if let Some(at) = oracle::first_difference("", &rollups, &expected) {
        return Err(fail(
            &format!("financial (oracle, at {at})"),
            &rollups,
            &expected,
        ));
    }
    Ok(())
}

/// The views a new payment patches, as the cache serves them (patched after
/// the step's payment, or loaded), against the oracle.
async fn check_cached_views(
    app: &TestApp,
    landlord: Id,
    today: NaiveDate,
    rows: &oracle::Rows,
) -> Result<(), TestCaseError> {
    let month = DateRange::parse(&reports::RangeParams::default(), today).expect("range");
    let views = [
        (
            Report::Dashboard { today },
            oracle::dashboard(rows, today, None),
        ),
        (
            Report::PaymentMetrics { today },
            oracle::metrics(rows, today, None),
        ),
        (
            Report::Arrears { as_of: today },
            oracle::arrears(rows, today, None),
        ),
        (
            Report::Financial { range: month },
            oracle::financial(rows, month.from, month.to, None),
        ),
        (
            Report::Payments {
                range: month,
                status: None,
            },
            oracle::payments(rows, month.from, month.to, None, None),
        ),
    ];
    for (report, expected) in views {
        let served = views::serve(&app.db, &app.cache, landlord, None, report)
            .await
            .expect("a cached view");
        let body: Value = serde_json::from_slice(&served.entry.body).expect("JSON");
        if let Some(at) = oracle::first_difference("", &body, &expected) {
            return Err(fail(
                &format!("{report:?} as cached ({:?}, at {at})", served.tier),
                &body,
                &expected,
            ));
        }
    }
    Ok(())
}

fn cases() -> u32 {
    std::env::var("MFUKO_PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(16)
}

fn run(backend: Backend) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let Some(app) = runtime.block_on(spawn_app(backend)) else {
        eprintln!("PostgreSQL is not available: skipped");
        return;
    };
    let clock = mfuko::clock::Clock::real();
    let path = WritePath::new(
        app.db.writer().clone(),
        app.cache.clone(),
        Money(1_000_000_000),
        clock,
    )
    .with_patcher(ReportPatcher::new(
        app.db.clone(),
        app.cache.clone(),
        clock,
        TZ,
    ));
    let mut runner = TestRunner::new(Config {
        cases: cases(),
        failure_persistence: None,
        max_shrink_iters: 256,
        ..Config::default()
    });
    let counter = std::sync::atomic::AtomicU64::new(0);
    let written = std::sync::atomic::AtomicUsize::new(0);
    let started = std::time::Instant::now();
    let result = runner.run(&proptest::collection::vec(op(), 1..14), |ops| {
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        runtime.block_on(async {
            let mut world = world(&path, &app, n).await;
            for op in &ops {
                apply(&path, &mut world, op).await;
                check_step(&app, world.landlord).await?;
            }
            written.fetch_add(
                world.charges.len() + world.payments.len(),
                std::sync::atomic::Ordering::Relaxed,
            );
            let differences =
                reports::check::compare(app.db.reader_prefer_primary(), world.landlord, today())
                    .await
                    .expect("reports from both sources");
            if !differences.is_empty() {
                return Err(TestCaseError::fail(format!("{differences:#?}")));
            }
            if n.is_multiple_of(50) {
                let drift = mfuko::db::rollups::verify(app.db.reader_prefer_primary())
                    .await
                    .expect("verify");
                if !drift.is_empty() {
                    return Err(TestCaseError::fail(format!(
                        "roll-up tables drifted: {drift:#?}"
                    )));
                }
            }
            Ok(())
        })
    });
    let drift = runtime
        .block_on(mfuko::db::rollups::verify(app.db.reader_prefer_primary()))
        .expect("verify");
    assert!(drift.is_empty(), "roll-up tables drifted: {drift:#?}");
    let patched: u64 = runtime
        .block_on(app.cache.stats())
        .views
        .iter()
        .map(|view| view.patched)
        .sum();
    eprintln!(
        "{backend:?}: {} cases ({} charges and payments written, {patched} views patched) run in {:.1} s",
        counter.into_inner(),
        written.into_inner(),
        started.elapsed().as_secs_f64()
    );
    assert!(patched > 0, "payments patched the cached views");
    if let Err(failure) = result {
        panic!("{failure}");
    }
    drop(app);
}

#[test]
fn random_writes_keep_the_rollups_exact_on_sqlite() {
    run(Backend::Sqlite);
}

#[test]
fn random_writes_keep_the_rollups_exact_on_postgres() {
    run(Backend::Postgres);
}
