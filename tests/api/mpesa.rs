//! The M-Pesa C2B confirmation callback: the shared secret, matching by
//! shortcode and account reference, exact amounts and times, idempotency on
//! TransID (also under concurrent duplicates), reconciliation with payments
//! entered by hand, held amounts, and money that matches no lease.

use chrono::{DateTime, Days, NaiveDateTime, NaiveTime, TimeZone, Utc};
use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{
    ACCOUNT_REF, LeaseIds, MPESA_SECRET, PAYBILL, Reply, TestApp, id, register_paybill, setup_lease,
};

const C2B: &str = "/api/v1/payments/mpesa/c2b";

fn accepted() -> Value {
    json!({ "ResultCode": 0, "ResultDesc": "Accepted" })
}

/// `days` before today at `time` in Nairobi, as Daraja writes a `TransTime`.
fn nairobi(days: u64, time: &str) -> NaiveDateTime {
    let today = Utc::now()
        .with_timezone(&chrono_tz::Africa::Nairobi)
        .date_naive();
    let time = NaiveTime::parse_from_str(time, "%H:%M").expect("HH:MM");
    (today - Days::new(days)).and_time(time)
}

fn trans_time(local: NaiveDateTime) -> String {
    local.format("%Y%m%d%H%M%S").to_string()
}

fn utc(local: NaiveDateTime) -> DateTime<Utc> {
    chrono_tz::Africa::Nairobi
        .from_local_datetime(&local)
        .single()
        .expect("no DST in Nairobi")
        .with_timezone(&Utc)
}

/// A confirmation as Safaricom's Daraja sends it: KES 1,500 paid to the
/// [`PAYBILL`] with `bill_ref` as the account number, two days ago at 14:30 EAT.
fn confirmation(trans_id: &str, bill_ref: &str) -> Value {
    json!({
        "TransactionType": "Pay Bill",
        "TransID": trans_id,
        "TransTime": trans_time(nairobi(2, "14:30")),
        "TransAmount": "1500.00",
        "BusinessShortCode": PAYBILL,
        "BillRefNumber": bill_ref,
        "InvoiceNumber": "",
        "OrgAccountBalance": "49197.00",
        "ThirdPartyTransID": "",
        "MSISDN": "2547 ***** 678",
        "FirstName": "WANJIRU",
        "MiddleName": "",
        "LastName": "KAMAU",
    })
}

/// Posts a confirmation with the secret in the `X-Mpesa-Secret` header.
async fn confirm(app: &TestApp, body: &Value) -> Reply {
    confirm_with(app, Some(MPESA_SECRET), body).await
}

async fn confirm_with(app: &TestApp, secret: Option<&str>, body: &Value) -> Reply {
    let mut request = app.client.post(app.url(C2B)).json(body);
    if let Some(secret) = secret {
        request = request.header("X-Mpesa-Secret", secret);
    }
    app.send(request).await
}

/// The fixture lease, and the landlord's [`PAYBILL`] registered.
async fn lease_with_paybill(app: &TestApp, token: &str) -> LeaseIds {
    let lease = setup_lease(app, token, Some(ACCOUNT_REF)).await;
    register_paybill(app, token, PAYBILL).await;
    lease
}

fn instant(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|err| panic!("{text:?}: {err}"))
        .with_timezone(&Utc)
}

async fn the_callback_needs_the_shared_secret(app: TestApp) {
    let (_, token) = app.landlord("wanjiru@example.co.ke").await;
    lease_with_paybill(&app, &token).await;
    let body = confirmation("SC51A2B3C4", ACCOUNT_REF);

    let anonymous = confirm_with(&app, None, &body).await;
    assert_eq!(
        anonymous.status,
        StatusCode::UNAUTHORIZED,
        "{}",
        anonymous.body
    );
    assert_eq!(anonymous.code(), "unauthorized");
    let wrong_header = confirm_with(&app, Some("not-the-secret"), &body).await;
    assert_eq!(wrong_header.status, StatusCode::UNAUTHORIZED);
    let prefix = confirm_with(&app, Some(&MPESA_SECRET[..4]), &body).await;
    assert_eq!(prefix.status, StatusCode::UNAUTHORIZED);
    let wrong_query = app
        .send(
            app.client
                .post(app.url(&format!("{C2B}?secret=guess")))
                .json(&body),
        )
        .await;
    assert_eq!(wrong_query.status, StatusCode::UNAUTHORIZED);
    // A landlord's bearer token is no substitute for the secret.
    let bearer = app
        .send(
            app.client
                .post(app.url(C2B))
                .bearer_auth(&token)
                .json(&body),
        )
        .await;
    assert_eq!(bearer.status, StatusCode::UNAUTHORIZED);
    // Without the secret, nothing about the body is looked at, even a bad one.
    let mut bad = body.clone();
    bad["TransAmount"] = json!(10.5);
    let probe = confirm_with(&app, Some("not-the-secret"), &bad).await;
    assert_eq!(probe.status, StatusCode::UNAUTHORIZED, "{}", probe.body);
    let garbage = app
        .send(
            app.client
                .post(app.url(C2B))
                .header("content-type", "application/json")
                .body("{\"TransID\": "),
        )
        .await;
    assert_eq!(garbage.status, StatusCode::UNAUTHORIZED, "{}", garbage.body);
    assert!(app.list("/api/v1/payments", &token).await.is_empty());

    // The secret in the query string works as well as the header.
    let by_query = app
        .send(
            app.client
                .post(app.url(&format!("{C2B}?secret={MPESA_SECRET}")))
                .json(&body),
        )
        .await;
    assert_eq!(by_query.expect(StatusCode::OK), accepted());
    assert_eq!(app.list("/api/v1/payments", &token).await.len(), 1);
}

async fn a_confirmation_is_stored_against_the_lease_its_account_ref_names(app: TestApp) {
    let (_, token) = app.landlord("otieno@example.co.ke").await;
    let fixture = lease_with_paybill(&app, &token).await;

    // Payers type the account number in any letter case.
    let reply = confirm(&app, &confirmation("SC51A2B3C4", "kamau-a1")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body, accepted());

    let payments = app
        .list(
            &format!("/api/v1/payments?lease_id={}", fixture.lease),
            &token,
        )
        .await;
    assert_eq!(payments.len(), 1, "{payments:?}");
    let payment = &payments[0];
    assert_eq!(payment["lease_id"], fixture.lease);
    assert_eq!(payment["method"], "mpesa");
    assert_eq!(payment["status"], "confirmed");
    assert_eq!(payment["amount"], 150_000, "KES 1,500.00 in cents");
    assert_eq!(payment["reference"], "SC51A2B3C4");
    // TransTime is East Africa Time (UTC+3): 14:30 in Nairobi is 11:30 UTC.
    assert_eq!(
        instant(payment["paid_at"].as_str().expect("paid_at")),
        utc(nairobi(2, "14:30"))
    );
    assert_eq!(payment["mpesa_receipt"], "SC51A2B3C4");
    let payer = payment["payer"].as_str().expect("payer");
    assert!(
        payer.contains("WANJIRU") && payer.contains("KAMAU"),
        "{payer}"
    );

    // A payment just after midnight in Nairobi was made the day before in UTC;
    // a whole-number amount is accepted as shillings too.
    let mut early = confirmation("SD61B3C4D5", ACCOUNT_REF);
    early["TransTime"] = json!(trans_time(nairobi(1, "01:30")));
    early["TransAmount"] = json!(25000);
    assert_eq!(
        confirm(&app, &early).await.expect(StatusCode::OK),
        accepted()
    );
    let payments = app
        .list(
            &format!("/api/v1/payments?lease_id={}", fixture.lease),
            &token,
        )
        .await;
    assert_eq!(payments.len(), 2, "{payments:?}");
    assert_eq!(payments[1]["reference"], "SD61B3C4D5");
    assert_eq!(payments[1]["amount"], 2_500_000);
    let paid_at = instant(payments[1]["paid_at"].as_str().expect("paid_at"));
    assert_eq!(paid_at, utc(nairobi(1, "01:30")));
    assert_eq!(paid_at.format("%H:%M").to_string(), "22:30");
}

async fn replaying_a_trans_id_is_accepted_and_stores_nothing_new(app: TestApp) {
    let (_, token) = app.landlord("akinyi@example.co.ke").await;
    lease_with_paybill(&app, &token).await;
    let body = confirmation("SC51A2B3C4", ACCOUNT_REF);

    assert_eq!(
        confirm(&app, &body).await.expect(StatusCode::OK),
        accepted()
    );
    let stored = app.list("/api/v1/payments", &token).await;
    assert_eq!(stored.len(), 1);

    let replay = confirm(&app, &body).await;
    assert_eq!(replay.expect(StatusCode::OK), accepted());
    // Safaricom's retry may differ in letter case; the TransID is the same.
    let mut lower = body.clone();
    lower["TransID"] = json!("sc51a2b3c4");
    assert_eq!(
        confirm(&app, &lower).await.expect(StatusCode::OK),
        accepted()
    );
    assert_eq!(app.list("/api/v1/payments", &token).await, stored);
}

async fn concurrent_duplicate_confirmations_store_one_payment(app: TestApp) {
    let (_, token) = app.landlord("kamau@example.co.ke").await;
    let fixture = lease_with_paybill(&app, &token).await;
    let body = confirmation("SE71C4D5E6", ACCOUNT_REF);

    let replies = join_all((0..20).map(|_| confirm(&app, &body))).await;
    for reply in &replies {
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(reply.body, accepted());
    }

    let payments = app.list("/api/v1/payments", &token).await;
    assert_eq!(payments.len(), 1, "{payments:?}");
    assert_eq!(payments[0]["reference"], "SE71C4D5E6");
    assert_eq!(payments[0]["lease_id"], fixture.lease);
    assert_eq!(payments[0]["amount"], 150_000);
}

async fn an_unknown_account_ref_is_kept_unallocated_for_the_shortcode_owner(app: TestApp) {
    let (_, token) = app.landlord("mwangi@example.co.ke").await;
    let (_, other) = app.landlord("chebet@example.co.ke").await;
    lease_with_paybill(&app, &token).await;

    let reply = confirm(&app, &confirmation("SF81D5E6F7", "KAMAU-B7")).await;
    assert_eq!(reply.expect(StatusCode::OK), accepted());

    let payments = app.list("/api/v1/payments", &token).await;
    assert_eq!(payments.len(), 1, "{payments:?}");
    let payment = &payments[0];
    assert_eq!(payment["lease_id"], Value::Null, "not allocated to a lease");
    assert_eq!(payment["amount"], 150_000);
    assert_eq!(payment["status"], "confirmed");
    assert_eq!(payment["reference"], "SF81D5E6F7");
    let path = format!("/api/v1/payments/{}", id(payment));
    assert_eq!(
        app.get(&path, &token).await.expect(StatusCode::OK),
        *payment
    );
    assert!(app.list("/api/v1/payments", &other).await.is_empty());
    assert_eq!(app.get(&path, &other).await.status, StatusCode::NOT_FOUND);

    // Money to a shortcode nobody registered is accepted too, but is nobody's to see.
    let mut elsewhere = confirmation("SG91E6F7G8", "HOUSE 12B");
    elsewhere["BusinessShortCode"] = json!("174379");
    assert_eq!(
        confirm(&app, &elsewhere).await.expect(StatusCode::OK),
        accepted()
    );
    assert_eq!(app.list("/api/v1/payments", &token).await, payments);
    assert!(app.list("/api/v1/payments", &other).await.is_empty());
}

async fn a_float_amount_is_refused_and_nothing_is_stored(app: TestApp) {
    let (_, token) = app.landlord("omondi@example.co.ke").await;
    lease_with_paybill(&app, &token).await;

    let mut float = confirmation("SH01F7G8H9", ACCOUNT_REF);
    float["TransAmount"] = json!(10.5);
    let reply = confirm(&app, &float).await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.body
    );
    assert_eq!(reply.code(), "invalid_body");

    for amount in [
        "10.505",
        "-5.00",
        "1,500.00",
        "KES 1500",
        "92233720368547758.08",
    ] {
        let mut body = confirmation("SH01F7G8H9", ACCOUNT_REF);
        body["TransAmount"] = json!(amount);
        let reply = confirm(&app, &body).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{amount}: {}",
            reply.body
        );
        assert_eq!(reply.code(), "invalid_amount", "{amount}");
    }
    let mut zero = confirmation("SH01F7G8H9", ACCOUNT_REF);
    zero["TransAmount"] = json!("0.00");
    let reply = confirm(&app, &zero).await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.body
    );
    assert_eq!(reply.code(), "amount_out_of_range");
    assert!(app.list("/api/v1/payments", &token).await.is_empty());
}

async fn a_malformed_trans_time_is_refused_and_nothing_is_stored(app: TestApp) {
    let (_, token) = app.landlord("njoroge@example.co.ke").await;
    lease_with_paybill(&app, &token).await;
    for trans_time in ["2024-03-05 14:30:00", "20240230143000", "202403051430", ""] {
        let mut body = confirmation("SJ11G8H9J0", ACCOUNT_REF);
        body["TransTime"] = json!(trans_time);
        let reply = confirm(&app, &body).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{trans_time:?}: {}",
            reply.body
        );
        assert_eq!(reply.code(), "invalid_trans_time", "{trans_time:?}");
    }
    assert!(app.list("/api/v1/payments", &token).await.is_empty());
}

/// Every report answers 200; returns the dashboard's collected figure and
/// the total arrears.
async fn reports_answer(app: &TestApp, token: &str) -> (i64, i64) {
    for path in [
        "/api/v1/metrics/payments",
        "/api/v1/reports/financial",
        "/api/v1/reports/payments",
        "/api/v1/reports/arrears",
        "/api/v1/reports/occupancy",
    ] {
        let reply = app.get(path, token).await;
        assert_eq!(reply.status, StatusCode::OK, "GET {path}: {}", reply.body);
    }
    let dashboard = app
        .get("/api/v1/dashboard", token)
        .await
        .expect(StatusCode::OK);
    let figure = |pointer: &str| {
        dashboard
            .pointer(pointer)
            .and_then(Value::as_i64)
            .unwrap_or_else(|| panic!("{pointer} in {dashboard}"))
    };
    (
        figure("/metrics/collected_this_month"),
        figure("/arrears/total_arrears"),
    )
}

/// Paid today at 00:05 in Nairobi: it counts this month.
fn this_morning(trans_id: &str, bill_ref: &str) -> Value {
    let mut body = confirmation(trans_id, bill_ref);
    body["TransTime"] = json!(trans_time(nairobi(0, "00:05")));
    body
}

async fn a_receipt_for_a_hand_entered_payment_reconciles_with_it(app: TestApp) {
    let (_, token) = app.landlord("atieno@example.co.ke").await;
    let fixture = lease_with_paybill(&app, &token).await;
    let manual = app
        .create(
            "/api/v1/payments",
            &token,
            json!({ "lease_id": fixture.lease, "amount": 150_000, "method": "mpesa",
                    "reference": "sk21a2b3c4", "status": "pending" }),
        )
        .await;
    assert_eq!(manual["mpesa_receipt"], Value::Null);

    for _ in 0..2 {
        let reply = confirm(&app, &confirmation("SK21A2B3C4", ACCOUNT_REF)).await;
        assert_eq!(reply.expect(StatusCode::OK), accepted());
    }
    let payments = app.list("/api/v1/payments", &token).await;
    assert_eq!(payments.len(), 1, "one payment, not two: {payments:?}");
    assert_eq!(payments[0]["id"], manual["id"]);
    assert_eq!(payments[0]["status"], "confirmed", "confirmed by M-Pesa");
    assert_eq!(payments[0]["mpesa_receipt"], "SK21A2B3C4");

    // Entering a receipt M-Pesa already confirmed is the landlord's own duplicate.
    let again = app
        .post(
            "/api/v1/payments",
            &token,
            json!({ "lease_id": fixture.lease, "amount": 150_000, "method": "mpesa",
                    "reference": "SK21A2B3C4" }),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    assert_eq!(again.code(), "duplicate_reference");
}

/// The probe's squatting attack: landlord 2 records landlord 1's coming
/// TransID by hand; Safaricom's confirmation still lands with landlord 1,
/// and no answer depends on the other landlord's rows.
async fn another_landlords_references_change_nothing(app: TestApp) {
    let (_, token) = app.landlord("wairimu@example.co.ke").await;
    let (_, squatter) = app.landlord("squatter@example.co.ke").await;
    let fixture = lease_with_paybill(&app, &token).await;
    let theirs = setup_lease(&app, &squatter, Some(ACCOUNT_REF)).await;
    register_paybill(&app, &squatter, "600999").await;
    for (method, reference) in [("mpesa", "TKSQUAT001"), ("bank", "FT24001XYZ")] {
        let reply = app
            .post(
                "/api/v1/payments",
                &squatter,
                json!({ "lease_id": theirs.lease, "amount": 100, "method": method,
                        "reference": reference }),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    }

    let reply = confirm(&app, &confirmation("TKSQUAT001", ACCOUNT_REF)).await;
    assert_eq!(reply.expect(StatusCode::OK), accepted());
    let mine = app.list("/api/v1/payments", &token).await;
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert_eq!(mine[0]["lease_id"], fixture.lease);
    assert_eq!(mine[0]["mpesa_receipt"], "TKSQUAT001");
    let squatted = app.list("/api/v1/payments", &squatter).await;
    assert_eq!(squatted.len(), 2);
    assert!(
        squatted.iter().all(|p| p["mpesa_receipt"].is_null()),
        "{squatted:?}"
    );

    // The same bank reference is the first landlord's to use too.
    let bank = app
        .post(
            "/api/v1/payments",
            &token,
            json!({ "lease_id": fixture.lease, "amount": 100, "method": "bank",
                    "reference": "FT24001XYZ" }),
        )
        .await;
    assert_eq!(bank.status, StatusCode::CREATED, "{}", bank.body);
}

async fn an_amount_above_the_limit_is_held_outside_every_sum(app: TestApp) {
    let (_, token) = app.landlord("kiprono@example.co.ke").await;
    lease_with_paybill(&app, &token).await;
    let before = reports_answer(&app, &token).await;

    for (trans_id, amount) in [
        ("SL31A2B3C4", "92233720368547758.07"),
        ("SL31A2B3C5", "10000000.01"),
    ] {
        let mut body = this_morning(trans_id, ACCOUNT_REF);
        body["TransAmount"] = json!(amount);
        let reply = confirm(&app, &body).await;
        assert_eq!(reply.expect(StatusCode::OK), accepted(), "{amount}");
    }
    let held = app.list("/api/v1/payments?unallocated=true", &token).await;
    assert_eq!(held.len(), 2, "{held:?}");
    assert!(
        held.iter()
            .all(|p| p["status"] == "held" && p["lease_id"].is_null())
    );
    assert_eq!(held[0]["amount"], i64::MAX);
    assert_eq!(
        reports_answer(&app, &token).await,
        before,
        "held money is not collected"
    );

    // Allocating it needs an amount within the limit; it cannot be moved
    // into a state that is summed.
    let path = format!("/api/v1/payments/{}", id(&held[0]));
    let leases = app.list("/api/v1/leases", &token).await;
    let allocate = app
        .patch(&path, &token, json!({ "lease_id": id(&leases[0]) }))
        .await;
    assert_eq!(
        allocate.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        allocate.body
    );
    assert_eq!(allocate.code(), "amount_out_of_range");
    for status in ["reversed", "confirmed", "failed"] {
        let reply = app.patch(&path, &token, json!({ "status": status })).await;
        assert_eq!(
            reply.status,
            StatusCode::CONFLICT,
            "{status}: {}",
            reply.body
        );
        assert_eq!(reply.code(), "invalid_transition");
    }
    assert_eq!(reports_answer(&app, &token).await, before);
}

async fn a_trans_time_far_from_arrival_dates_the_payment_on_arrival(app: TestApp) {
    let (_, token) = app.landlord("nyambura@example.co.ke").await;
    lease_with_paybill(&app, &token).await;
    let sent = Utc::now();
    for (trans_id, stated) in [
        ("SM41A2B3C4", "20991231235959"),
        ("SM41A2B3C5", "00010101000000"),
        ("SM41A2B3C6", trans_time(nairobi(40, "12:00")).as_str()),
    ] {
        let mut body = confirmation(trans_id, ACCOUNT_REF);
        body["TransTime"] = json!(stated);
        assert_eq!(
            confirm(&app, &body).await.expect(StatusCode::OK),
            accepted()
        );
    }
    let payments = app.list("/api/v1/payments", &token).await;
    assert_eq!(payments.len(), 3);
    for payment in &payments {
        let paid_at = instant(payment["paid_at"].as_str().expect("paid_at"));
        let received_at = instant(payment["received_at"].as_str().expect("received_at"));
        assert_eq!(paid_at, received_at, "{payment}");
        assert!((paid_at - sent).num_seconds().abs() <= 60, "{payment}");
    }
}

async fn suspense_payments_are_listed_and_allocated(app: TestApp) {
    let (_, token) = app.landlord("muthoni@example.co.ke").await;
    let (_, other) = app.landlord("kibet@example.co.ke").await;
    let admin = app.admin("ops@example.co.ke").await;
    let fixture = lease_with_paybill(&app, &token).await;
    let before = reports_answer(&app, &token).await;

    // A mistyped account number: the landlord's, but no lease's.
    let reply = confirm(&app, &this_morning("SN51A2B3C4", "KAMAU A1")).await;
    assert_eq!(reply.expect(StatusCode::OK), accepted());
    let suspense = app.list("/api/v1/payments?unallocated=true", &token).await;
    assert_eq!(suspense.len(), 1, "{suspense:?}");
    assert_eq!(suspense[0]["account_ref"], "KAMAU A1");
    assert!(
        app.list("/api/v1/payments?unallocated=true", &other)
            .await
            .is_empty()
    );
    // Money at the landlord's paybill is collected, but pays no lease yet.
    let (collected, arrears) = before;
    assert_eq!(
        reports_answer(&app, &token).await,
        (collected + 150_000, arrears)
    );

    let path = format!("/api/v1/payments/{}", id(&suspense[0]));
    let theirs = app
        .patch(&path, &other, json!({ "lease_id": fixture.lease }))
        .await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND, "{}", theirs.body);
    let allocated = app
        .patch(&path, &token, json!({ "lease_id": fixture.lease }))
        .await
        .expect(StatusCode::OK);
    assert_eq!(allocated["lease_id"], fixture.lease);
    assert_eq!(allocated["status"], "confirmed");
    assert_eq!(
        reports_answer(&app, &token).await,
        (collected + 150_000, arrears - 150_000)
    );
    assert!(
        app.list("/api/v1/payments?unallocated=true", &token)
            .await
            .is_empty()
    );
    let again = app
        .patch(&path, &token, json!({ "lease_id": fixture.lease }))
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    assert_eq!(again.code(), "already_allocated");

    // Paid to a shortcode nobody registered: only an admin sees and places it.
    let mut stray = this_morning("SN51A2B3C5", ACCOUNT_REF);
    stray["BusinessShortCode"] = json!("174379");
    assert_eq!(
        confirm(&app, &stray).await.expect(StatusCode::OK),
        accepted()
    );
    assert!(
        app.list("/api/v1/payments?unallocated=true", &token)
            .await
            .is_empty()
    );
    let forbidden = app.get("/api/v1/admin/payments/unallocated", &token).await;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN);
    let orphans = app.list("/api/v1/admin/payments/unallocated", &admin).await;
    assert_eq!(orphans.len(), 1, "{orphans:?}");
    assert_eq!(orphans[0]["landlord_id"], Value::Null);
    assert_eq!(orphans[0]["mpesa_receipt"], "SN51A2B3C5");
    let placed = app
        .patch(
            &format!("/api/v1/admin/payments/{}", id(&orphans[0])),
            &admin,
            json!({ "lease_id": fixture.lease }),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(placed["lease_id"], fixture.lease);
    assert_eq!(
        reports_answer(&app, &token).await,
        (collected + 300_000, arrears - 300_000)
    );
    assert!(
        app.list("/api/v1/admin/payments/unallocated", &admin)
            .await
            .is_empty()
    );
}

async fn shortcodes_are_unique_across_the_service(app: TestApp) {
    let (_, token) = app.landlord("gathoni@example.co.ke").await;
    let (_, other) = app.landlord("barasa@example.co.ke").await;
    register_paybill(&app, &token, PAYBILL).await;
    register_paybill(&app, &token, "5123456").await;
    let taken = app
        .post(
            "/api/v1/mpesa/shortcodes",
            &other,
            json!({ "shortcode": PAYBILL }),
        )
        .await;
    assert_eq!(taken.status, StatusCode::CONFLICT, "{}", taken.body);
    assert_eq!(taken.code(), "shortcode_taken");
    for bad in ["1234", "60063A", "", "12345678"] {
        let reply = app
            .post(
                "/api/v1/mpesa/shortcodes",
                &other,
                json!({ "shortcode": bad }),
            )
            .await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad:?}");
        assert_eq!(reply.code(), "invalid_shortcode");
    }
    let mine = app
        .get("/api/v1/mpesa/shortcodes", &token)
        .await
        .expect(StatusCode::OK);
    let codes: Vec<&str> = mine
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|row| row["shortcode"].as_str())
        .collect();
    assert_eq!(codes, ["5123456", PAYBILL]);
    let theirs = app
        .get("/api/v1/mpesa/shortcodes", &other)
        .await
        .expect(StatusCode::OK);
    assert_eq!(theirs, json!([]));
}

crate::on_both_databases!(
    the_callback_needs_the_shared_secret,
    a_confirmation_is_stored_against_the_lease_its_account_ref_names,
    replaying_a_trans_id_is_accepted_and_stores_nothing_new,
    concurrent_duplicate_confirmations_store_one_payment,
    an_unknown_account_ref_is_kept_unallocated_for_the_shortcode_owner,
    a_float_amount_is_refused_and_nothing_is_stored,
    a_malformed_trans_time_is_refused_and_nothing_is_stored,
    a_receipt_for_a_hand_entered_payment_reconciles_with_it,
    another_landlords_references_change_nothing,
    an_amount_above_the_limit_is_held_outside_every_sum,
    a_trans_time_far_from_arrival_dates_the_payment_on_arrival,
    suspense_payments_are_listed_and_allocated,
    shortcodes_are_unique_across_the_service,
);
