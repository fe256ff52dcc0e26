//! Charges: the idempotent monthly rent run, manual charges and voiding.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{RENT, TestApp, id, ids, new_property, new_tenant, new_unit, setup_lease};

/// A lease without deposit (so its only charges are rent) on a new unit of
/// `property`, for a new tenant.
async fn lease(
    app: &TestApp,
    token: &str,
    property: i64,
    label: &str,
    rent: i64,
    due_day: u32,
    start_date: &str,
) -> i64 {
    let unit = new_unit(app, token, property, label).await;
    let tenant = new_tenant(app, token, &format!("Tenant of {label}"), "+254712345678").await;
    let body = json!({
        "unit_id": unit,
        "tenant_id": tenant,
        "rent": rent,
        "due_day": due_day,
        "start_date": start_date,
    });
    id(&app.create("/api/v1/leases", token, body).await)
}

async fn end_lease(app: &TestApp, token: &str, lease: i64, end_date: &str) {
    let ended = app
        .patch(
            &format!("/api/v1/leases/{lease}"),
            token,
            json!({ "status": "ended", "end_date": end_date }),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(ended["end_date"], end_date);
}

async fn run(app: &TestApp, token: &str, period: &str) -> Value {
    app.post("/api/v1/charges/run", token, json!({ "period": period }))
        .await
        .expect(StatusCode::OK)
}

async fn the_monthly_run_bills_each_lease_covering_the_month_once(app: TestApp) {
    let (_, token) = app.landlord("wanjiru@example.co.ke").await;
    let property = new_property(&app, &token, "Kilimani Heights").await;
    let since_january = lease(&app, &token, property, "A1", 2_500_000, 5, "2024-01-01").await;
    let from_mid_march = lease(&app, &token, property, "A2", 1_800_000, 10, "2024-03-20").await;
    let from_april = lease(&app, &token, property, "A3", 3_000_000, 1, "2024-04-01").await;
    let ended_in_february = lease(&app, &token, property, "A4", 2_000_000, 1, "2023-06-01").await;
    end_lease(&app, &token, ended_in_february, "2024-02-20").await;
    assert!(app.list("/api/v1/charges", &token).await.is_empty());

    let summary = run(&app, &token, "2024-03").await;
    assert_eq!(
        summary,
        json!({ "period": "2024-03", "leases": 2, "created": 2 })
    );

    let charges = app.list("/api/v1/charges", &token).await;
    assert_eq!(charges.len(), 2, "{charges:?}");
    let of = |lease: i64| {
        charges
            .iter()
            .find(|c| c["lease_id"] == lease)
            .unwrap_or_else(|| panic!("no charge for lease {lease}: {charges:?}"))
    };
    let first = of(since_january);
    assert_eq!(first["kind"], "rent");
    assert_eq!(first["period"], "2024-03");
    assert_eq!(first["amount"], 2_500_000);
    assert_eq!(first["due_date"], "2024-03-05");
    assert_eq!(first["void"], false);
    let second = of(from_mid_march);
    assert_eq!(second["kind"], "rent");
    assert_eq!(second["period"], "2024-03");
    assert_eq!(second["amount"], 1_800_000);
    assert_eq!(second["due_date"], "2024-03-10");
    for skipped in [from_april, ended_in_february] {
        let none = app
            .list(&format!("/api/v1/charges?lease_id={skipped}"), &token)
            .await;
        assert!(none.is_empty(), "lease {skipped}: {none:?}");
    }

    let again = run(&app, &token, "2024-03").await;
    assert_eq!(again["created"], 0);
    assert_eq!(again["leases"], 2);
    assert_eq!(app.list("/api/v1/charges", &token).await, charges);
}

async fn a_lease_that_ended_mid_month_is_billed_for_that_month(app: TestApp) {
    let (_, token) = app.landlord("otieno@example.co.ke").await;
    let property = new_property(&app, &token, "Westlands Court").await;
    let leaving = lease(&app, &token, property, "B1", RENT, 1, "2024-01-01").await;
    end_lease(&app, &token, leaving, "2024-03-15").await;

    let march = run(&app, &token, "2024-03").await;
    assert_eq!(march["created"], 1);
    let charges = app
        .list(&format!("/api/v1/charges?lease_id={leaving}"), &token)
        .await;
    assert_eq!(charges.len(), 1, "{charges:?}");
    assert_eq!(charges[0]["period"], "2024-03");
    assert_eq!(charges[0]["amount"], RENT, "rent is not pro-rated");
    assert_eq!(charges[0]["due_date"], "2024-03-01");

    let april = run(&app, &token, "2024-04").await;
    assert_eq!(
        april,
        json!({ "period": "2024-04", "leases": 0, "created": 0 })
    );
    assert_eq!(
        app.list(&format!("/api/v1/charges?lease_id={leaving}"), &token)
            .await,
        charges
    );
}

async fn due_days_follow_the_month(app: TestApp) {
    let (_, token) = app.landlord("akinyi@example.co.ke").await;
    let property = new_property(&app, &token, "Kileleshwa Court").await;
    let late_payer = lease(&app, &token, property, "C1", RENT, 28, "2024-01-01").await;
    run(&app, &token, "2024-02").await;
    let charges = app
        .list(&format!("/api/v1/charges?lease_id={late_payer}"), &token)
        .await;
    assert_eq!(charges.len(), 1, "{charges:?}");
    assert_eq!(charges[0]["due_date"], "2024-02-28");
}

async fn a_manual_duplicate_rent_charge_is_refused(app: TestApp) {
    let (_, token) = app.landlord("kamau@example.co.ke").await;
    let fixture = setup_lease(&app, &token, None).await;
    run(&app, &token, "2024-03").await;
    let before = app.list("/api/v1/charges", &token).await;

    let duplicate = app
        .post(
            "/api/v1/charges",
            &token,
            json!({ "lease_id": fixture.lease, "period": "2024-03", "kind": "rent", "amount": RENT }),
        )
        .await;
    assert_eq!(duplicate.status, StatusCode::CONFLICT, "{}", duplicate.body);
    assert_eq!(duplicate.code(), "duplicate_charge");
    assert_eq!(app.list("/api/v1/charges", &token).await, before);

    // Other kinds may share the period; a manual rent charge for another month
    // falls due on the lease's due day, and the run then leaves that month alone.
    let late_fee = app
        .create(
            "/api/v1/charges",
            &token,
            json!({ "lease_id": fixture.lease, "period": "2024-03", "kind": "late_fee", "amount": 250_000 }),
        )
        .await;
    assert_eq!(late_fee["kind"], "late_fee");
    assert_eq!(late_fee["due_date"], "2024-03-05");
    let april = app
        .create(
            "/api/v1/charges",
            &token,
            json!({ "lease_id": fixture.lease, "period": "2024-04", "kind": "rent", "amount": RENT }),
        )
        .await;
    assert_eq!(april["due_date"], "2024-04-05");
    assert_eq!(run(&app, &token, "2024-04").await["created"], 0);
    let rent_in_april: Vec<_> = app
        .list("/api/v1/charges", &token)
        .await
        .into_iter()
        .filter(|c| c["period"] == "2024-04" && c["kind"] == "rent")
        .collect();
    assert_eq!(ids(&rent_in_april), [id(&april)]);
}

async fn voiding_a_charge_keeps_it_listed_as_void(app: TestApp) {
    let (_, token) = app.landlord("mwangi@example.co.ke").await;
    let fixture = setup_lease(&app, &token, None).await;
    run(&app, &token, "2024-03").await;
    let charges = app
        .list(
            &format!("/api/v1/charges?lease_id={}", fixture.lease),
            &token,
        )
        .await;
    let rent = charges
        .iter()
        .find(|c| c["kind"] == "rent")
        .expect("a rent charge");
    let path = format!("/api/v1/charges/{}", id(rent));

    let voided = app
        .patch(&path, &token, json!({ "void": true }))
        .await
        .expect(StatusCode::OK);
    assert_eq!(voided["void"], true);
    assert_eq!(voided["amount"], rent["amount"], "untouched");
    assert_eq!(app.get(&path, &token).await.expect(StatusCode::OK), voided);

    let after = app
        .list(
            &format!("/api/v1/charges?lease_id={}", fixture.lease),
            &token,
        )
        .await;
    assert_eq!(ids(&after), ids(&charges), "nothing deleted");
    let listed = after
        .iter()
        .find(|c| c["id"] == rent["id"])
        .expect("still listed");
    assert_eq!(listed["void"], true);

    // A voided rent charge still counts as this month's: the run does not re-bill.
    assert_eq!(run(&app, &token, "2024-03").await["created"], 0);
    assert_eq!(
        app.list(
            &format!("/api/v1/charges?lease_id={}", fixture.lease),
            &token
        )
        .await,
        after
    );
}

async fn runs_and_charges_are_scoped_to_the_landlord(app: TestApp) {
    let (_, mine) = app.landlord("chebet@example.co.ke").await;
    let (_, theirs) = app.landlord("omondi@example.co.ke").await;
    let my_lease = setup_lease(&app, &mine, None).await;
    let their_lease = setup_lease(&app, &theirs, None).await;
    let their_before = app.list("/api/v1/charges", &theirs).await;

    let summary = run(&app, &mine, "2024-03").await;
    assert_eq!(summary["leases"], 1);
    assert_eq!(summary["created"], 1);
    assert_eq!(app.list("/api/v1/charges", &theirs).await, their_before);
    let mine_after = app.list("/api/v1/charges", &mine).await;
    assert!(mine_after.iter().all(|c| c["lease_id"] == my_lease.lease));

    // Their run then bills their lease, once.
    assert_eq!(run(&app, &theirs, "2024-03").await["created"], 1);
    assert_eq!(app.list("/api/v1/charges", &mine).await, mine_after);

    // Neither can charge or void on the other's lease.
    let foreign = app
        .post(
            "/api/v1/charges",
            &mine,
            json!({ "lease_id": their_lease.lease, "period": "2024-05", "kind": "other", "amount": 100_000 }),
        )
        .await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND, "{}", foreign.body);
    let their_charges = app.list("/api/v1/charges", &theirs).await;
    let void = app
        .patch(
            &format!("/api/v1/charges/{}", id(&their_charges[0])),
            &mine,
            json!({ "void": true }),
        )
        .await;
    assert_eq!(void.status, StatusCode::NOT_FOUND);
    assert_eq!(app.list("/api/v1/charges", &theirs).await, their_charges);
}

crate::on_both_databases!(
    the_monthly_run_bills_each_lease_covering_the_month_once,
    a_lease_that_ended_mid_month_is_billed_for_that_month,
    due_days_follow_the_month,
    a_manual_duplicate_rent_charge_is_refused,
    voiding_a_charge_keeps_it_listed_as_void,
    runs_and_charges_are_scoped_to_the_landlord,
);
