//! Views patched in place after a payment (`reports::patch`): the arrears
//! list, the dashboard, the payment metrics and this month's financial and
//! payments reports are not recomputed after a payment, and each patched view equals
//! the independent oracle's computation of the data after it, for payments
//! of every kind: part of a debt, a top debtor's, paying a debt off into
//! credit, pending, to no lease, backdated into last month and beyond the
//! 12-month series, and by M-Pesa, cash and bank.

use chrono::{Duration, NaiveTime};
use mfuko::cache::{View, ViewStats};
use mfuko::reports::payments;
use mfuko::types::{Id, Period};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::cache::read;
use crate::helpers::TestApp;
use crate::oracle::{self, assert_same};
use crate::reports::{load_seed, me, today};

const PATCHED: [(View, &str); 5] = [
    (View::ReportArrears, "/api/v1/reports/arrears"),
    (View::Dashboard, "/api/v1/dashboard"),
    (View::PaymentMetrics, "/api/v1/metrics/payments"),
    (View::ReportFinancial, "/api/v1/reports/financial"),
    (View::ReportPayments, "/api/v1/reports/payments"),
];

async fn stats_of(app: &TestApp, view: View) -> ViewStats {
    app.cache
        .stats()
        .await
        .views
        .into_iter()
        .find(|stats| stats.view == view)
        .expect("stats of every view")
}

/// Every patched view as the API serves it equals the oracle's.
async fn check_views(app: &TestApp, token: &str, landlord: Id, what: &str) {
    let rows = oracle::load(&app.db, landlord).await;
    let today = today();
    for (view, path) in PATCHED {
        let expected = match view {
            View::ReportArrears => oracle::arrears(&rows, today, None),
            View::Dashboard => oracle::dashboard(&rows, today, None),
            View::PaymentMetrics => oracle::metrics(&rows, today, None),
            View::ReportPayments => oracle::payments(
                &rows,
                Period::containing(today).first_day(),
                today,
                None,
                None,
            ),
            _ => oracle::financial(&rows, Period::containing(today).first_day(), today, None),
        };
        let body = app.get(path, token).await.expect(StatusCode::OK);
        assert_same(&format!("{what}: GET {path}"), &body, &expected);
    }
}

async fn payments_patch_the_views_exactly(app: TestApp) {
    load_seed(&app, 42).await;
    let token = app.login("demo@mfuko.local", "demo").await;
    let landlord = me(&app, &token).await;
    check_views(&app, &token, landlord, "before any payment").await;

    let arrears = app
        .get("/api/v1/reports/arrears", &token)
        .await
        .expect(StatusCode::OK);
    let debtors: Vec<(Id, i64)> = arrears["leases"]
        .as_array()
        .expect("leases")
        .iter()
        .map(|lease| {
            let number = |key: &str| lease[key].as_i64().expect("a number");
            (number("lease_id"), number("balance"))
        })
        .collect();
    assert!(debtors.len() >= 6, "{} debtors", debtors.len());
    let leases = app.list("/api/v1/leases?status=active", &token).await;
    let settled = leases
        .iter()
        .map(crate::helpers::id)
        .find(|lease| debtors.iter().all(|(debtor, _)| debtor != lease))
        .expect("an active lease that owes nothing");
    let at = |days_ago: i64| {
        (today() - Duration::days(days_ago))
            .and_time(NaiveTime::from_hms_opt(9, 0, 0).expect("time"))
            .and_utc()
            .to_rfc3339()
    };
    // Enough payments this month that the payments report's recent list is
    // full: a new one pushes the oldest out.
    for n in 0..payments::RECENT {
        let body = json!({ "lease_id": settled, "amount": 100 + n, "method": "cash" });
        app.post("/api/v1/payments", &token, body)
            .await
            .expect(StatusCode::CREATED);
    }
    check_views(&app, &token, landlord, "after filling the recent list").await;
    let (top, fifth, last) = (debtors[0], debtors[4], debtors[debtors.len() - 1]);
    let payments = [
        // A third of the top debtor's balance: they may stay on top.
        json!({ "lease_id": top.0, "amount": top.1 / 3, "method": "cash" }),
        // The fifth pays a little: who comes sixth decides the top five.
        json!({ "lease_id": fifth.0, "amount": 100, "method": "mpesa", "reference": "PATCH0001" }),
        // A debtor pays off everything and more: out of the list, into credit.
        json!({ "lease_id": last.0, "amount": last.1 + 5_000, "method": "bank", "reference": "BANK-1" }),
        // A lease that owes nothing pays ahead.
        json!({ "lease_id": settled, "amount": 7_000, "method": "cash" }),
        json!({ "lease_id": top.0, "amount": 2_500, "method": "cash", "status": "pending" }),
        json!({ "amount": 4_200, "method": "mpesa", "reference": "PATCH0002" }),
        // Backdated into last month, and beyond the 12-month series.
        json!({ "lease_id": fifth.0, "amount": 1_000, "method": "cash", "paid_at": at(31) }),
        json!({ "lease_id": top.0, "amount": 1_000, "method": "cash", "paid_at": at(400) }),
        json!({ "lease_id": top.0, "amount": top.1, "method": "cash" }),
    ];
    for (n, payment) in payments.into_iter().enumerate() {
        let before: Vec<ViewStats> =
            futures_util::future::join_all(PATCHED.iter().map(|(view, _)| stats_of(&app, *view)))
                .await;
        app.post("/api/v1/payments", &token, payment.clone())
            .await
            .expect(StatusCode::CREATED);
        check_views(&app, &token, landlord, &format!("payment {n}: {payment}")).await;
        for ((view, _), before) in PATCHED.iter().zip(before) {
            let after = stats_of(&app, *view).await;
            assert_eq!(
                (after.patched, after.loads),
                (before.patched + 1, before.loads),
                "payment {n} ({payment}): {view:?} patched, not loaded"
            );
        }
    }
    // A patched body is byte for byte the one a load makes: same ETag.
    let mut patched = Vec::new();
    for (_, path) in PATCHED {
        patched.push(read(&app, path, &token).await.ok(path));
    }
    app.cache.clear_all().await;
    for ((_, path), patched) in PATCHED.iter().zip(patched) {
        assert_eq!(
            patched.x_cache, "HIT-L1",
            "{path} served from L1 after the payments"
        );
        let loaded = read(&app, path, &token).await.ok(path);
        assert_eq!(
            loaded.x_cache, "MISS",
            "{path} loaded again after the clear"
        );
        assert_eq!(
            patched.etag(),
            loaded.etag(),
            "{path}: the patched body is the loaded one"
        );
    }
}

/// A payment to a lease charged for a later period is not patched into the
/// arrears-dependent views (the report sets such leases apart); they are
/// recomputed, and still right.
async fn payments_to_leases_billed_ahead_are_recomputed(app: TestApp) {
    load_seed(&app, 7).await;
    let token = app.login("demo@mfuko.local", "demo").await;
    let landlord = me(&app, &token).await;
    let lease = app.list("/api/v1/leases?status=active", &token).await[0].clone();
    let lease = crate::helpers::id(&lease);
    let next = Period::containing(today()).next();
    app.post(
        "/api/v1/charges",
        &token,
        json!({ "lease_id": lease, "period": next.to_string(), "kind": "rent", "amount": 9_000, "due_date": next.first_day().to_string() }),
    )
    .await
    .expect(StatusCode::CREATED);
    check_views(&app, &token, landlord, "after billing ahead").await;
    let arrears = stats_of(&app, View::ReportArrears).await;
    app.post(
        "/api/v1/payments",
        &token,
        json!({ "lease_id": lease, "amount": 3_000, "method": "cash" }),
    )
    .await
    .expect(StatusCode::CREATED);
    check_views(&app, &token, landlord, "after paying a lease billed ahead").await;
    let after = stats_of(&app, View::ReportArrears).await;
    assert_eq!(after.patched, arrears.patched, "not patched");
    assert_eq!(after.loads, arrears.loads + 1, "recomputed");
    let _: Value = app
        .get("/api/v1/dashboard", &token)
        .await
        .expect(StatusCode::OK);
}

crate::on_both_databases!(
    payments_patch_the_views_exactly,
    payments_to_leases_billed_ahead_are_recomputed,
);
