//! The M-Pesa C2B confirmation callback: the shared secret, matching by
//! account reference, exact amounts and times, idempotency on TransID (also
//! under concurrent duplicates), and money that matches no lease.

use chrono::{DateTime, Utc};
use futures::future::join_all;
use mfuko::db::Pool;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{ACCOUNT_REF, MPESA_SECRET, Reply, TestApp, id, setup_lease};

const C2B: &str = "/api/v1/payments/mpesa/c2b";

fn accepted() -> Value {
    json!({ "ResultCode": 0, "ResultDesc": "Accepted" })
}

/// A confirmation as Safaricom's Daraja sends it: KES 1,500 paid to the
/// paybill with `bill_ref` as the account number, on 5 March 2024 at 14:30 EAT.
fn confirmation(trans_id: &str, bill_ref: &str) -> Value {
    json!({
        "TransactionType": "Pay Bill",
        "TransID": trans_id,
        "TransTime": "20240305143000",
        "TransAmount": "1500.00",
        "BusinessShortCode": "600638",
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

/// There is no API for a landlord's paybill shortcode yet: set it in the database.
async fn set_mpesa_shortcode(app: &TestApp, landlord: i64, shortcode: &str) {
    let sql = "UPDATE users SET mpesa_shortcode = $1 WHERE id = $2";
    let done = match mfuko::db::testing::writer_pool(&app.db) {
        Pool::Sqlite(pool) => sqlx::query(sql)
            .bind(shortcode)
            .bind(landlord)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()),
        Pool::Postgres(pool) => sqlx::query(sql)
            .bind(shortcode)
            .bind(landlord)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()),
    };
    assert_eq!(done.expect("shortcode update"), 1);
}

fn instant(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|err| panic!("{text:?}: {err}"))
        .with_timezone(&Utc)
}

async fn the_callback_needs_the_shared_secret(app: TestApp) {
    let (_, token) = app.landlord("wanjiru@example.co.ke").await;
    setup_lease(&app, &token, Some(ACCOUNT_REF)).await;
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
    let fixture = setup_lease(&app, &token, Some(ACCOUNT_REF)).await;

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
        instant("2024-03-05T11:30:00Z")
    );
    let payer = payment["payer"].as_str().expect("payer");
    assert!(
        payer.contains("WANJIRU") && payer.contains("KAMAU"),
        "{payer}"
    );

    // A payment just after midnight in Nairobi was made the day before in UTC;
    // a whole-number amount is accepted as shillings too.
    let mut early = confirmation("SD61B3C4D5", ACCOUNT_REF);
    early["TransTime"] = json!("20240401013000");
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
    assert_eq!(
        instant(payments[1]["paid_at"].as_str().expect("paid_at")),
        instant("2024-03-31T22:30:00Z")
    );
}

async fn replaying_a_trans_id_is_accepted_and_stores_nothing_new(app: TestApp) {
    let (_, token) = app.landlord("akinyi@example.co.ke").await;
    setup_lease(&app, &token, Some(ACCOUNT_REF)).await;
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
    let fixture = setup_lease(&app, &token, Some(ACCOUNT_REF)).await;
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
    let (landlord, token) = app.landlord("mwangi@example.co.ke").await;
    let (_, other) = app.landlord("chebet@example.co.ke").await;
    setup_lease(&app, &token, Some(ACCOUNT_REF)).await;
    set_mpesa_shortcode(&app, landlord, "600638").await;

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
    setup_lease(&app, &token, Some(ACCOUNT_REF)).await;

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

    for amount in ["10.505", "-5.00", "0.00", "1,500.00", "KES 1500"] {
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
    assert!(app.list("/api/v1/payments", &token).await.is_empty());
}

async fn a_malformed_trans_time_is_refused_and_nothing_is_stored(app: TestApp) {
    let (_, token) = app.landlord("njoroge@example.co.ke").await;
    setup_lease(&app, &token, Some(ACCOUNT_REF)).await;
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

crate::on_both_databases!(
    the_callback_needs_the_shared_secret,
    a_confirmation_is_stored_against_the_lease_its_account_ref_names,
    replaying_a_trans_id_is_accepted_and_stores_nothing_new,
    concurrent_duplicate_confirmations_store_one_payment,
    an_unknown_account_ref_is_kept_unallocated_for_the_shortcode_owner,
    a_float_amount_is_refused_and_nothing_is_stored,
    a_malformed_trans_time_is_refused_and_nothing_is_stored,
);
