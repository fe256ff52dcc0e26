//! Bad input is answered with the documented status and a machine-readable
//! code, and writes nothing.

use reqwest::{StatusCode, header::CONTENT_TYPE};
use serde_json::{Value, json};

use crate::helpers::{Reply, TestApp, id, new_property, new_tenant, new_unit, setup_lease};

/// Asserts a refusal: status and error code, with the body in the message.
#[track_caller]
fn assert_refused(reply: &Reply, status: StatusCode, code: &str, what: &str) {
    assert_eq!(reply.status, status, "{what}: {}", reply.body);
    assert_eq!(reply.code(), code, "{what}: {}", reply.body);
    assert!(
        reply.body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{what}: an error says what was wrong: {}",
        reply.body
    );
}

async fn malformed_json_is_a_400_and_creates_nothing(app: TestApp) {
    let (_, token) = app.landlord("wanjiru@example.co.ke").await;
    for body in [r#"{"name": "Wanjiru Kamau", "phone": "#, "{name: 'x'}", ""] {
        let request = app
            .client
            .post(app.url("/api/v1/tenants"))
            .bearer_auth(&token)
            .header(CONTENT_TYPE, "application/json")
            .body(body);
        let reply = app.send(request).await;
        assert_refused(&reply, StatusCode::BAD_REQUEST, "malformed_json", body);
    }
    assert!(app.list("/api/v1/tenants", &token).await.is_empty());
}

async fn a_body_without_a_json_content_type_is_a_400(app: TestApp) {
    let (_, token) = app.landlord("otieno@example.co.ke").await;
    let body = r#"{"name": "Kilimani Heights"}"#;
    let untyped = app
        .client
        .post(app.url("/api/v1/properties"))
        .bearer_auth(&token)
        .body(body);
    let reply = app.send(untyped).await;
    assert_refused(&reply, StatusCode::BAD_REQUEST, "expected_json", "no type");
    let text = app
        .client
        .post(app.url("/api/v1/properties"))
        .bearer_auth(&token)
        .header(CONTENT_TYPE, "text/plain")
        .body(body);
    let reply = app.send(text).await;
    assert_refused(
        &reply,
        StatusCode::BAD_REQUEST,
        "expected_json",
        "text/plain",
    );
    assert!(app.list("/api/v1/properties", &token).await.is_empty());
    // Routes that read raw bytes (the admin clear, the M-Pesa callback) too.
    let admin = app.admin("ops@mfuko.local").await;
    let request = app
        .client
        .post(app.url("/api/v1/admin/cache/clear"))
        .bearer_auth(&admin)
        .header(CONTENT_TYPE, "application/json")
        .body(" ".repeat(1024 * 1024));
    let reply = app.send(request).await;
    assert_refused(
        &reply,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        "admin clear",
    );
}

async fn wrong_types_unknown_values_and_unknown_fields_are_422_invalid_body(app: TestApp) {
    let (_, token) = app.landlord("akinyi@example.co.ke").await;
    let cases = [
        (
            "name is a number",
            json!({ "name": 42, "phone": "+254712345678" }),
        ),
        ("phone missing", json!({ "name": "Wanjiru Kamau" })),
        (
            "unknown status",
            json!({ "name": "Wanjiru Kamau", "phone": "+254712345678", "status": "evicted" }),
        ),
        (
            "unknown field",
            json!({ "name": "Wanjiru Kamau", "phone": "+254712345678", "email": "w@example.co.ke" }),
        ),
        ("not an object", json!(["Wanjiru Kamau"])),
    ];
    for (what, body) in cases {
        let reply = app.post("/api/v1/tenants", &token, body).await;
        assert_refused(
            &reply,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
            what,
        );
    }
    assert!(app.list("/api/v1/tenants", &token).await.is_empty());
}

async fn blank_names_are_required(app: TestApp) {
    let (_, token) = app.landlord("kamau@example.co.ke").await;
    let reply = app
        .post("/api/v1/properties", &token, json!({ "name": "   " }))
        .await;
    assert_refused(
        &reply,
        StatusCode::UNPROCESSABLE_ENTITY,
        "required",
        "property",
    );
    let reply = app
        .post(
            "/api/v1/tenants",
            &token,
            json!({ "name": "", "phone": "+254712345678" }),
        )
        .await;
    assert_refused(
        &reply,
        StatusCode::UNPROCESSABLE_ENTITY,
        "required",
        "tenant",
    );
    assert!(app.list("/api/v1/properties", &token).await.is_empty());
    assert!(app.list("/api/v1/tenants", &token).await.is_empty());

    // A blank name in a PATCH is refused too, and the old one stays.
    let property = new_property(&app, &token, "Kilimani Heights").await;
    let path = format!("/api/v1/properties/{property}");
    let reply = app.patch(&path, &token, json!({ "name": " " })).await;
    assert_refused(
        &reply,
        StatusCode::UNPROCESSABLE_ENTITY,
        "required",
        "patch",
    );
    let kept = app.get(&path, &token).await.expect(StatusCode::OK);
    assert_eq!(kept["name"], "Kilimani Heights");
}

async fn phones_that_are_not_kenyan_mobiles_are_refused(app: TestApp) {
    let (_, token) = app.landlord("mwangi@example.co.ke").await;
    for phone in [
        "12345",
        "+1 555 0100",
        "0812345678",
        "07123456789",
        "+2547123456ab",
    ] {
        let reply = app
            .post(
                "/api/v1/tenants",
                &token,
                json!({ "name": "Wanjiru Kamau", "phone": phone }),
            )
            .await;
        assert_refused(
            &reply,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_phone",
            phone,
        );
    }
    assert!(app.list("/api/v1/tenants", &token).await.is_empty());

    let tenant = new_tenant(&app, &token, "Wanjiru Kamau", "+254712345678").await;
    let path = format!("/api/v1/tenants/{tenant}");
    let reply = app.patch(&path, &token, json!({ "phone": "12345" })).await;
    assert_refused(
        &reply,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_phone",
        "patch",
    );
    let kept = app.get(&path, &token).await.expect(StatusCode::OK);
    assert_eq!(kept["phone"], "+254712345678");
}

async fn money_must_be_a_positive_integer_of_minor_units(app: TestApp) {
    let (_, token) = app.landlord("chebet@example.co.ke").await;
    let property = new_property(&app, &token, "Kileleshwa Court").await;
    let units = format!("/api/v1/properties/{property}/units");

    let negative = app
        .post(
            &units,
            &token,
            json!({ "label": "A1", "market_rent": -100 }),
        )
        .await;
    assert_refused(
        &negative,
        StatusCode::UNPROCESSABLE_ENTITY,
        "amount_out_of_range",
        "negative",
    );
    for rent in [json!(1500.5), json!(1500.0), json!("1500"), json!(1e6)] {
        let reply = app
            .post(
                &units,
                &token,
                json!({ "label": "A1", "market_rent": rent }),
            )
            .await;
        assert_refused(
            &reply,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
            &rent.to_string(),
        );
    }
    assert!(app.list(&units, &token).await.is_empty());

    let unit = new_unit(&app, &token, property, "A1").await;
    let tenant = new_tenant(&app, &token, "Wanjiru Kamau", "+254712345678").await;
    let lease = |rent: Value, deposit: Value| {
        json!({
            "unit_id": unit, "tenant_id": tenant, "rent": rent, "deposit": deposit,
            "start_date": "2024-01-01",
        })
    };
    for (what, body) in [
        ("zero rent", lease(json!(0), json!(0))),
        ("negative rent", lease(json!(-2_500_000), json!(0))),
        ("negative deposit", lease(json!(2_500_000), json!(-1))),
        ("rent over the limit", lease(json!(1_000_000_001), json!(0))),
        (
            "deposit over the limit",
            lease(json!(2_500_000), json!(i64::MAX)),
        ),
    ] {
        let reply = app.post("/api/v1/leases", &token, body).await;
        assert_refused(
            &reply,
            StatusCode::UNPROCESSABLE_ENTITY,
            "amount_out_of_range",
            what,
        );
    }
    let float = app
        .post("/api/v1/leases", &token, lease(json!(25000.5), json!(0)))
        .await;
    assert_refused(
        &float,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_body",
        "float rent",
    );
    assert!(app.list("/api/v1/leases", &token).await.is_empty());
    assert!(app.list("/api/v1/charges", &token).await.is_empty());
}

async fn payment_and_charge_amounts_must_be_positive(app: TestApp) {
    let (_, token) = app.landlord("njoroge@example.co.ke").await;
    let fixture = setup_lease(&app, &token, None).await;
    let charges_before = app.list("/api/v1/charges", &token).await;

    // 1 cent to KES 10,000,000 (the default `money.max_amount_kes`).
    for amount in [0, -150_000, 1_000_000_001, i64::MAX] {
        let payment = app
            .post(
                "/api/v1/payments",
                &token,
                json!({ "lease_id": fixture.lease, "amount": amount, "method": "cash" }),
            )
            .await;
        assert_refused(
            &payment,
            StatusCode::UNPROCESSABLE_ENTITY,
            "amount_out_of_range",
            "payment",
        );
        let charge = app
            .post(
                "/api/v1/charges",
                &token,
                json!({ "lease_id": fixture.lease, "period": "2024-03", "kind": "late_fee", "amount": amount }),
            )
            .await;
        assert_refused(
            &charge,
            StatusCode::UNPROCESSABLE_ENTITY,
            "amount_out_of_range",
            "charge",
        );
    }
    assert!(app.list("/api/v1/payments", &token).await.is_empty());
    assert_eq!(app.list("/api/v1/charges", &token).await, charges_before);
}

async fn lease_terms_are_checked(app: TestApp) {
    let (_, token) = app.landlord("omondi@example.co.ke").await;
    let property = new_property(&app, &token, "Parklands Residency").await;
    let unit = new_unit(&app, &token, property, "D4").await;
    let tenant = new_tenant(&app, &token, "Wanjiru Kamau", "+254712345678").await;
    let base = json!({
        "unit_id": unit, "tenant_id": tenant, "rent": 2_500_000, "start_date": "2024-03-01",
    });
    let with = |extra: Value| {
        let mut body = base.clone();
        for (key, value) in extra.as_object().expect("object") {
            body[key] = value.clone();
        }
        body
    };
    let cases = [
        (json!({ "due_day": 29 }), "invalid_due_day"),
        (json!({ "due_day": 0 }), "invalid_due_day"),
        (json!({ "grace_days": 61 }), "invalid_grace_days"),
        (json!({ "end_date": "2024-02-29" }), "invalid_date_range"),
        (json!({ "start_date": "2024-02-30" }), "invalid_body"),
        (json!({ "start_date": "01/03/2024" }), "invalid_body"),
        (
            json!({ "account_ref": "has spaces" }),
            "invalid_account_ref",
        ),
    ];
    for (extra, code) in cases {
        let reply = app
            .post("/api/v1/leases", &token, with(extra.clone()))
            .await;
        assert_refused(
            &reply,
            StatusCode::UNPROCESSABLE_ENTITY,
            code,
            &extra.to_string(),
        );
    }
    assert!(app.list("/api/v1/leases", &token).await.is_empty());

    // The same rule holds when a lease is ended with an end date before its start.
    let lease = id(&app.create("/api/v1/leases", &token, base).await);
    let path = format!("/api/v1/leases/{lease}");
    let reply = app
        .patch(
            &path,
            &token,
            json!({ "status": "ended", "end_date": "2024-01-31" }),
        )
        .await;
    assert_refused(
        &reply,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_date_range",
        "end",
    );
    let kept = app.get(&path, &token).await.expect(StatusCode::OK);
    assert_eq!(kept["status"], "active");
    assert_eq!(kept["end_date"], Value::Null);
}

async fn a_charge_period_must_be_a_real_month(app: TestApp) {
    let (_, token) = app.landlord("kiprop@example.co.ke").await;
    let fixture = setup_lease(&app, &token, None).await;
    let before = app.list("/api/v1/charges", &token).await;
    for period in ["2024-13", "2024-00", "2024-3", "March 2024"] {
        let reply = app
            .post(
                "/api/v1/charges",
                &token,
                json!({ "lease_id": fixture.lease, "period": period, "kind": "rent", "amount": 2_500_000 }),
            )
            .await;
        assert_refused(
            &reply,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
            period,
        );
        let run = app
            .post("/api/v1/charges/run", &token, json!({ "period": period }))
            .await;
        assert_refused(
            &run,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
            period,
        );
    }
    assert_eq!(app.list("/api/v1/charges", &token).await, before);
}

async fn path_ids_must_be_numbers(app: TestApp) {
    let (_, token) = app.landlord("mutua@example.co.ke").await;
    for path in [
        "/api/v1/properties/abc",
        "/api/v1/units/1.5",
        "/api/v1/tenants/99999999999999999999",
        "/api/v1/leases/%20",
    ] {
        let reply = app.get(path, &token).await;
        assert_refused(&reply, StatusCode::BAD_REQUEST, "invalid_path", path);
    }
    let patch = app
        .patch("/api/v1/tenants/abc", &token, json!({ "status": "notice" }))
        .await;
    assert_refused(&patch, StatusCode::BAD_REQUEST, "invalid_path", "patch");
}

async fn unknown_routes_are_404_not_found(app: TestApp) {
    let (_, token) = app.landlord("halima@example.co.ke").await;
    for path in ["/api/v1/landlords", "/api/v2/properties", "/nothing-here"] {
        let reply = app.get(path, &token).await;
        assert_refused(&reply, StatusCode::NOT_FOUND, "not_found", path);
    }
}

async fn bad_query_parameters_are_422_invalid_query(app: TestApp) {
    let (_, token) = app.landlord("baraka@example.co.ke").await;
    new_tenant(&app, &token, "Wanjiru Kamau", "+254712345678").await;
    for path in [
        "/api/v1/tenants?status=evicted",
        "/api/v1/tenants?status=Active",
        "/api/v1/tenants?limit=ten",
        "/api/v1/tenants?limit=0",
        "/api/v1/tenants?limit=-5",
        "/api/v1/tenants?limit=201",
        "/api/v1/properties?limit=0",
        "/api/v1/payments?limit=1000",
        "/api/v1/tenants?after=first",
        "/api/v1/leases?status=paused",
        "/api/v1/payments?status=settled",
        "/api/v1/charges?lease_id=abc",
    ] {
        let reply = app.get(path, &token).await;
        assert_refused(
            &reply,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_query",
            path,
        );
    }
    // The bounds themselves are fine.
    for path in ["/api/v1/tenants?limit=1", "/api/v1/tenants?limit=200"] {
        assert_eq!(app.get(path, &token).await.status, StatusCode::OK, "{path}");
    }
}

/// An oversized body is a 413 in the API's error shape, answered (not a reset
/// connection) even while the client is still sending, and writes nothing.
async fn an_oversized_body_is_a_413(app: TestApp) {
    let (_, token) = app.landlord("kerubo@example.co.ke").await;
    for size in [100 * 1024, 10 * 1024 * 1024] {
        let address = "x".repeat(size);
        let body = json!({ "name": "Big", "phone": "+254712345678", "address": address });
        let request = app
            .client
            .post(app.url("/api/v1/properties"))
            .bearer_auth(&token)
            .json(&body);
        let reply = app.send(request).await;
        assert_refused(
            &reply,
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            &format!("{size} bytes"),
        );
    }
    assert!(app.list("/api/v1/properties", &token).await.is_empty());
}

/// Text is trimmed, bounded and free of control characters, with the same
/// answer on both engines (PostgreSQL cannot even store a NUL).
async fn text_with_control_characters_or_past_its_bound_is_refused(app: TestApp) {
    let (_, token) = app.landlord("akinyi@example.co.ke").await;
    for (body, code) in [
        (json!({ "name": "Kilimani\u{0}Heights" }), "invalid_text"),
        (json!({ "name": "Kilimani\nHeights" }), "invalid_text"),
        (json!({ "name": "\u{1b}[31mred" }), "invalid_text"),
        (
            json!({ "name": "Ok", "address": "x".repeat(501) }),
            "too_long",
        ),
        (
            json!({ "name": "Ok", "county": "x".repeat(101) }),
            "too_long",
        ),
        (json!({ "name": "x".repeat(201) }), "too_long"),
    ] {
        let reply = app.post("/api/v1/properties", &token, body.clone()).await;
        assert_refused(
            &reply,
            StatusCode::UNPROCESSABLE_ENTITY,
            code,
            &body.to_string(),
        );
    }
    assert!(app.list("/api/v1/properties", &token).await.is_empty());
    let at_the_bound = json!({ "name": "  Ok  ", "address": "x".repeat(500), "county": "Nairobi" });
    let property = app.create("/api/v1/properties", &token, at_the_bound).await;
    assert_eq!(property["name"], "Ok");
    let tenant = json!({ "name": "Wanjiru\u{7}", "phone": "+254712345678" });
    let reply = app.post("/api/v1/tenants", &token, tenant).await;
    assert_refused(
        &reply,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_text",
        "tenant name",
    );
}

/// The probe's dates: far past, far future, loose forms. Each is a 422, the
/// reports keep answering, and nothing is billed or stored.
async fn dates_are_exactly_yyyy_mm_dd_within_the_century(app: TestApp) {
    let (_, token) = app.landlord("kerubo@example.co.ke").await;
    let property = new_property(&app, &token, "Ngong Road Flats").await;
    let unit = new_unit(&app, &token, property, "N1").await;
    let tenant = new_tenant(&app, &token, "Kerubo Nyaboke", "+254723456789").await;
    for start in [
        "1800-01-01",
        "+99999-01-01",
        "2026-1-1",
        "  2026-01-01",
        "2026-01-01T00:00:00",
        "2100-01-01",
    ] {
        let body = json!({
            "unit_id": unit, "tenant_id": tenant, "rent": 2_500_000, "deposit": 5_000_000,
            "start_date": start,
        });
        let reply = app.post("/api/v1/leases", &token, body).await;
        assert_refused(
            &reply,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
            start,
        );
    }
    assert!(app.list("/api/v1/leases", &token).await.is_empty());
    assert!(app.list("/api/v1/charges", &token).await.is_empty());

    let fixture = setup_lease(&app, &token, None).await;
    for period in ["2026-+1", "1800-01", "2026-1", " 2026-01"] {
        let body =
            json!({ "lease_id": fixture.lease, "period": period, "kind": "other", "amount": 100 });
        let reply = app.post("/api/v1/charges", &token, body).await;
        assert_refused(
            &reply,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
            period,
        );
    }
    for as_of in ["%202026-01-01", "2026-1-1", "1800-01-01", "%2B99999-01-01"] {
        let reply = app
            .get(&format!("/api/v1/reports/arrears?as_of={as_of}"), &token)
            .await;
        assert_refused(
            &reply,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_date",
            as_of,
        );
    }
    let old = app
        .post(
            "/api/v1/payments",
            &token,
            json!({ "lease_id": fixture.lease, "amount": 100, "method": "cash",
                    "paid_at": "1999-12-31T12:00:00Z" }),
        )
        .await;
    assert_refused(
        &old,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_date",
        "paid_at",
    );
    let notes = app
        .post(
            "/api/v1/payments",
            &token,
            json!({ "lease_id": fixture.lease, "amount": 100, "method": "cash",
                    "notes": "n".repeat(2001) }),
        )
        .await;
    assert_refused(
        &notes,
        StatusCode::UNPROCESSABLE_ENTITY,
        "too_long",
        "notes",
    );
    assert!(app.list("/api/v1/payments", &token).await.is_empty());
    for path in [
        "/api/v1/dashboard",
        "/api/v1/reports/arrears",
        "/api/v1/reports/financial",
    ] {
        assert_eq!(app.get(path, &token).await.status, StatusCode::OK, "{path}");
    }
}

crate::on_both_databases!(
    malformed_json_is_a_400_and_creates_nothing,
    a_body_without_a_json_content_type_is_a_400,
    wrong_types_unknown_values_and_unknown_fields_are_422_invalid_body,
    blank_names_are_required,
    phones_that_are_not_kenyan_mobiles_are_refused,
    money_must_be_a_positive_integer_of_minor_units,
    payment_and_charge_amounts_must_be_positive,
    lease_terms_are_checked,
    a_charge_period_must_be_a_real_month,
    path_ids_must_be_numbers,
    unknown_routes_are_404_not_found,
    bad_query_parameters_are_422_invalid_query,
    an_oversized_body_is_a_413,
    text_with_control_characters_or_past_its_bound_is_refused,
    dates_are_exactly_yyyy_mm_dd_within_the_century,
);

/// One CORS policy: a configured origin gets the CORS headers (preflight and
/// actual request); any other origin gets none, so browsers refuse it; by
/// default no origin is allowed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_lets_only_the_configured_origins_in() {
    let (url, dir) = crate::helpers::fresh_database(crate::helpers::Backend::Sqlite)
        .await
        .expect("sqlite");
    let mut settings = crate::helpers::test_settings(&url);
    settings.server.cors_allowed_origins = vec!["https://app.example.com".to_owned()];
    let app = crate::helpers::spawn_app_with(settings, dir).await;
    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/api/v1/properties"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization,content-type",
            )
            .send()
    };
    let allowed = preflight("https://app.example.com")
        .await
        .expect("preflight");
    assert!(allowed.status().is_success(), "{}", allowed.status());
    let headers = allowed.headers();
    assert_eq!(
        headers["access-control-allow-origin"],
        "https://app.example.com"
    );
    let allowed_headers = headers["access-control-allow-headers"]
        .to_str()
        .expect("ascii");
    assert!(
        allowed_headers.contains("authorization"),
        "{allowed_headers}"
    );

    let other = preflight("https://evil.example").await.expect("preflight");
    assert!(other.headers().get("access-control-allow-origin").is_none());

    let (_, token) = app.landlord("cors@example.co.ke").await;
    let read = app
        .client
        .get(app.url("/api/v1/properties"))
        .bearer_auth(&token)
        .header("origin", "https://app.example.com")
        .send()
        .await
        .expect("request");
    assert_eq!(read.status(), StatusCode::OK);
    assert_eq!(
        read.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );

    // The default: no origin at all.
    let plain = crate::helpers::spawn_app(crate::helpers::Backend::Sqlite)
        .await
        .expect("sqlite");
    let reply = plain
        .client
        .request(reqwest::Method::OPTIONS, plain.url("/api/v1/properties"))
        .header("origin", "https://app.example.com")
        .header("access-control-request-method", "GET")
        .send()
        .await
        .expect("preflight");
    assert!(reply.headers().get("access-control-allow-origin").is_none());
}
