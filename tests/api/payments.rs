//! Payments entered by hand: cash, bank and M-Pesa references, ownership,
//! and the status machine (`pending → confirmed | failed`, `confirmed → reversed`).

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{RENT, TestApp, id, ids, setup_lease};

fn instant(value: &Value) -> DateTime<Utc> {
    value
        .as_str()
        .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
        .unwrap_or_else(|| panic!("not an RFC 3339 instant: {value}"))
        .with_timezone(&Utc)
}

async fn a_cash_payment_is_recorded_as_confirmed(app: TestApp) {
    let (_, token) = app.landlord("wanjiru@example.co.ke").await;
    let fixture = setup_lease(&app, &token, None).await;

    let payment = app
        .create(
            "/api/v1/payments",
            &token,
            json!({
                "lease_id": fixture.lease,
                "amount": RENT,
                "method": "cash",
                "payer": "Wanjiru Kamau",
                "paid_at": "2024-03-05T10:15:00+03:00",
            }),
        )
        .await;
    assert_eq!(payment["status"], "confirmed", "confirmed by default");
    assert_eq!(payment["lease_id"], fixture.lease);
    assert_eq!(payment["amount"], RENT);
    assert_eq!(payment["method"], "cash");
    assert_eq!(payment["reference"], Value::Null);
    assert_eq!(payment["payer"], "Wanjiru Kamau");
    assert_eq!(
        instant(&payment["paid_at"]),
        instant(&json!("2024-03-05T07:15:00Z"))
    );
    assert!(instant(&payment["received_at"]) > instant(&payment["paid_at"]));

    let path = format!("/api/v1/payments/{}", id(&payment));
    assert_eq!(app.get(&path, &token).await.expect(StatusCode::OK), payment);
    let listed = app
        .list(
            &format!("/api/v1/payments?lease_id={}", fixture.lease),
            &token,
        )
        .await;
    assert_eq!(listed, vec![payment]);

    // Cash needs no reference, so two cash payments may both lack one.
    app.create(
        "/api/v1/payments",
        &token,
        json!({ "lease_id": fixture.lease, "amount": 50_000, "method": "cash" }),
    )
    .await;
    assert_eq!(app.list("/api/v1/payments", &token).await.len(), 2);
}

async fn mpesa_and_bank_payments_need_a_reference(app: TestApp) {
    let (_, token) = app.landlord("otieno@example.co.ke").await;
    let fixture = setup_lease(&app, &token, None).await;
    for (method, reference) in [
        ("mpesa", Value::Null),
        ("bank", Value::Null),
        ("mpesa", json!("   ")),
    ] {
        let mut body = json!({ "lease_id": fixture.lease, "amount": RENT, "method": method });
        if !reference.is_null() {
            body["reference"] = reference;
        }
        let reply = app.post("/api/v1/payments", &token, body.clone()).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            reply.body
        );
        assert_eq!(reply.code(), "reference_required", "{body}");
    }
    assert!(app.list("/api/v1/payments", &token).await.is_empty());
}

async fn a_bank_reference_is_recorded_once(app: TestApp) {
    let (_, token) = app.landlord("akinyi@example.co.ke").await;
    let fixture = setup_lease(&app, &token, None).await;
    let body = |reference: &str, method: &str| json!({ "lease_id": fixture.lease, "amount": RENT, "method": method, "reference": reference });

    let first = app
        .create("/api/v1/payments", &token, body("eqb-2024-0001", "bank"))
        .await;
    assert_eq!(first["reference"], "EQB-2024-0001", "stored upper-case");
    for reference in ["EQB-2024-0001", "eqb-2024-0001", " Eqb-2024-0001 "] {
        let duplicate = app
            .post("/api/v1/payments", &token, body(reference, "bank"))
            .await;
        assert_eq!(duplicate.status, StatusCode::CONFLICT, "{}", duplicate.body);
        assert_eq!(duplicate.code(), "duplicate_reference");
    }
    assert_eq!(
        ids(&app.list("/api/v1/payments", &token).await),
        [id(&first)]
    );

    // References are unique per method: an M-Pesa code may look like a bank one.
    let mpesa = app
        .create("/api/v1/payments", &token, body("EQB-2024-0001", "mpesa"))
        .await;
    assert_eq!(
        ids(&app.list("/api/v1/payments", &token).await),
        [id(&first), id(&mpesa)]
    );
}

async fn a_payment_for_another_landlords_lease_is_not_found(app: TestApp) {
    let (_, mine) = app.landlord("kamau@example.co.ke").await;
    let (_, theirs) = app.landlord("mwangi@example.co.ke").await;
    setup_lease(&app, &mine, None).await;
    let their_lease = setup_lease(&app, &theirs, None).await;

    let reply = app
        .post(
            "/api/v1/payments",
            &mine,
            json!({ "lease_id": their_lease.lease, "amount": RENT, "method": "cash" }),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.body);
    assert_eq!(reply.code(), "not_found");
    assert!(app.list("/api/v1/payments", &mine).await.is_empty());
    assert!(app.list("/api/v1/payments", &theirs).await.is_empty());

    // Nor can I read or change their payments.
    let theirs_paid = app
        .create(
            "/api/v1/payments",
            &theirs,
            json!({ "lease_id": their_lease.lease, "amount": RENT, "method": "cash" }),
        )
        .await;
    let path = format!("/api/v1/payments/{}", id(&theirs_paid));
    assert_eq!(app.get(&path, &mine).await.status, StatusCode::NOT_FOUND);
    let reversal = app
        .patch(&path, &mine, json!({ "status": "reversed" }))
        .await;
    assert_eq!(reversal.status, StatusCode::NOT_FOUND);
    let still = app.get(&path, &theirs).await.expect(StatusCode::OK);
    assert_eq!(still["status"], "confirmed");
}

async fn payment_statuses_only_move_forward(app: TestApp) {
    let (_, token) = app.landlord("chebet@example.co.ke").await;
    let fixture = setup_lease(&app, &token, None).await;
    let pending = app
        .create(
            "/api/v1/payments",
            &token,
            json!({
                "lease_id": fixture.lease, "amount": RENT, "method": "mpesa",
                "reference": "SC51A2B3C4", "status": "pending",
            }),
        )
        .await;
    assert_eq!(pending["status"], "pending");
    let path = format!("/api/v1/payments/{}", id(&pending));
    let listed = app.list("/api/v1/payments?status=pending", &token).await;
    assert_eq!(ids(&listed), [id(&pending)]);

    let confirmed = app
        .patch(&path, &token, json!({ "status": "confirmed" }))
        .await
        .expect(StatusCode::OK);
    assert_eq!(confirmed["status"], "confirmed");
    let reversed = app
        .patch(&path, &token, json!({ "status": "reversed" }))
        .await
        .expect(StatusCode::OK);
    assert_eq!(reversed["status"], "reversed");

    for status in ["confirmed", "pending", "failed"] {
        let refused = app.patch(&path, &token, json!({ "status": status })).await;
        assert_eq!(
            refused.status,
            StatusCode::CONFLICT,
            "{status}: {}",
            refused.body
        );
        assert_eq!(refused.code(), "invalid_transition", "{status}");
    }
    let now = app.get(&path, &token).await.expect(StatusCode::OK);
    assert_eq!(now["status"], "reversed");
    assert!(
        app.list("/api/v1/payments?status=confirmed", &token)
            .await
            .is_empty()
    );
    assert_eq!(
        ids(&app.list("/api/v1/payments?status=reversed", &token).await),
        [id(&pending)]
    );

    // A failed payment is final too.
    let attempt = app
        .create(
            "/api/v1/payments",
            &token,
            json!({
                "lease_id": fixture.lease, "amount": RENT, "method": "bank",
                "reference": "KCB-778899", "status": "pending",
            }),
        )
        .await;
    let attempt_path = format!("/api/v1/payments/{}", id(&attempt));
    app.patch(&attempt_path, &token, json!({ "status": "failed" }))
        .await
        .expect(StatusCode::OK);
    let revived = app
        .patch(&attempt_path, &token, json!({ "status": "confirmed" }))
        .await;
    assert_eq!(revived.status, StatusCode::CONFLICT);
    assert_eq!(revived.code(), "invalid_transition");
    assert_eq!(
        app.get(&attempt_path, &token).await.expect(StatusCode::OK)["status"],
        "failed"
    );
}

async fn a_new_payment_is_confirmed_or_pending_only(app: TestApp) {
    let (_, token) = app.landlord("njoroge@example.co.ke").await;
    let fixture = setup_lease(&app, &token, None).await;
    for status in ["reversed", "failed"] {
        let reply = app
            .post(
                "/api/v1/payments",
                &token,
                json!({ "lease_id": fixture.lease, "amount": RENT, "method": "cash", "status": status }),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            reply.body
        );
        assert_eq!(reply.code(), "invalid_status");
    }
    assert!(app.list("/api/v1/payments", &token).await.is_empty());
}

async fn a_payment_dated_in_the_future_is_refused(app: TestApp) {
    let (_, token) = app.landlord("omondi@example.co.ke").await;
    let fixture = setup_lease(&app, &token, None).await;
    let tomorrow = (Utc::now() + Duration::days(1)).to_rfc3339_opts(SecondsFormat::Secs, true);
    for paid_at in [tomorrow.as_str(), "2099-01-01T00:00:00Z"] {
        let reply = app
            .post(
                "/api/v1/payments",
                &token,
                json!({ "lease_id": fixture.lease, "amount": RENT, "method": "cash", "paid_at": paid_at }),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{paid_at}: {}",
            reply.body
        );
        assert_eq!(reply.code(), "paid_in_future");
    }
    assert!(app.list("/api/v1/payments", &token).await.is_empty());
}

/// A server running as of another day (the `today` setting, for benchmarks
/// of the 15th) dates payments and reports on that day, and its "future"
/// starts after it.
async fn a_server_running_as_of_another_day_dates_payments_on_it(app: TestApp) {
    let nairobi = chrono_tz::Africa::Nairobi;
    let real_today = Utc::now().with_timezone(&nairobi).date_naive();
    let day = real_today + Duration::days(14);
    let app = crate::helpers::respawn_with(app, |settings| settings.today = Some(day)).await;
    let (_, token) = app.landlord("omondi@example.co.ke").await;
    let fixture = setup_lease(&app, &token, None).await;
    let paid = app
        .create(
            "/api/v1/payments",
            &token,
            json!({ "lease_id": fixture.lease, "amount": RENT, "method": "cash" }),
        )
        .await;
    assert_eq!(
        instant(&paid["paid_at"])
            .with_timezone(&nairobi)
            .date_naive(),
        day
    );
    let in_two_days = (Utc::now() + Duration::days(2)).to_rfc3339_opts(SecondsFormat::Secs, true);
    app.create(
        "/api/v1/payments",
        &token,
        json!({ "lease_id": fixture.lease, "amount": RENT, "method": "cash", "paid_at": in_two_days }),
    )
    .await;
    let dashboard = app
        .get("/api/v1/dashboard", &token)
        .await
        .expect(StatusCode::OK);
    assert_eq!(dashboard["as_of"], day.to_string());
}

crate::on_both_databases!(
    a_server_running_as_of_another_day_dates_payments_on_it,
    a_cash_payment_is_recorded_as_confirmed,
    mpesa_and_bank_payments_need_a_reference,
    a_bank_reference_is_recorded_once,
    a_payment_for_another_landlords_lease_is_not_found,
    payment_statuses_only_move_forward,
    a_new_payment_is_confirmed_or_pending_only,
    a_payment_dated_in_the_future_is_refused,
);
