//! Authentication, roles and isolation between landlords.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::TestApp;

async fn data_routes_need_a_valid_token(app: TestApp) {
    for path in [
        "/api/v1/properties",
        "/api/v1/tenants",
        "/api/v1/payments",
        "/api/v1/auth/me",
    ] {
        let anonymous = app.request(Method::GET, path, None, None).await;
        assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(anonymous.code(), "unauthorized");
        let forged = app.get(path, "mfk_not-a-real-token").await;
        assert_eq!(forged.status, StatusCode::UNAUTHORIZED, "{path}");
    }
}

async fn login_returns_a_token_that_logout_revokes(app: TestApp) {
    let (id, token) = app.landlord("wanjiku@example.com").await;
    let me = app
        .get("/api/v1/auth/me", &token)
        .await
        .expect(StatusCode::OK);
    assert_eq!(me["id"], id);
    assert_eq!(me["role"], "landlord");
    assert!(me.get("password_hash").is_none());

    app.post("/api/v1/auth/logout", &token, json!({}))
        .await
        .expect(StatusCode::NO_CONTENT);
    let after = app.get("/api/v1/auth/me", &token).await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
}

async fn wrong_passwords_and_unknown_emails_are_refused_alike(app: TestApp) {
    app.landlord("otieno@example.com").await;
    for (email, password) in [
        ("otieno@example.com", "wrong"),
        ("nobody@example.com", "secret-pw"),
        // A NUL (which PostgreSQL refuses in text) is a wrong email, not a 500.
        ("otieno@example.com\u{0}", "secret-pw"),
        ("S\u{4}\u{10}\u{0}", "secret-pw"),
    ] {
        let body = json!({ "email": email, "password": password });
        let reply = app
            .request(Method::POST, "/api/v1/auth/login", None, Some(body))
            .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        assert_eq!(reply.code(), "invalid_credentials");
    }
    // Emails are case-insensitive.
    app.login("OTIENO@example.com", "secret-pw").await;
}

async fn a_landlord_cannot_see_or_change_another_landlords_rows(app: TestApp) {
    let (_, alice) = app.landlord("alice@example.com").await;
    let (bob_id, bob) = app.landlord("bob@example.com").await;
    let property = app
        .post(
            "/api/v1/properties",
            &alice,
            json!({ "name": "Alice Court" }),
        )
        .await
        .expect(StatusCode::CREATED);
    let id = property["id"].as_i64().expect("id");

    let seen = app.get(&format!("/api/v1/properties/{id}"), &bob).await;
    assert_eq!(seen.status, StatusCode::NOT_FOUND);
    let changed = app
        .patch(
            &format!("/api/v1/properties/{id}"),
            &bob,
            json!({ "name": "Mine now" }),
        )
        .await;
    assert_eq!(changed.status, StatusCode::NOT_FOUND);
    let unit = app
        .post(
            &format!("/api/v1/properties/{id}/units"),
            &bob,
            json!({ "label": "X1", "market_rent": 1_000_000 }),
        )
        .await;
    assert_eq!(unit.status, StatusCode::NOT_FOUND);
    let listed = app
        .get("/api/v1/properties", &bob)
        .await
        .expect(StatusCode::OK);
    assert_eq!(listed["items"], json!([]));
    // Naming another landlord explicitly is a 404 too, not a 403 that confirms they exist.
    let acting = app
        .get(
            &format!("/api/v1/properties?landlord_id={}", bob_id + 100),
            &bob,
        )
        .await;
    assert_eq!(acting.status, StatusCode::NOT_FOUND);

    let still = app
        .get(&format!("/api/v1/properties/{id}"), &alice)
        .await
        .expect(StatusCode::OK);
    assert_eq!(still["name"], "Alice Court");
}

async fn admins_act_for_a_landlord_and_landlords_cannot_use_admin_routes(app: TestApp) {
    let (landlord_id, landlord) = app.landlord("mama.njeri@example.com").await;
    let admin = app.admin("ops@example.com").await;
    app.post(
        "/api/v1/properties",
        &landlord,
        json!({ "name": "Njeri Flats" }),
    )
    .await
    .expect(StatusCode::CREATED);

    let without = app.get("/api/v1/properties", &admin).await;
    assert_eq!(without.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(without.code(), "landlord_id_required");
    let listed = app
        .get(
            &format!("/api/v1/properties?landlord_id={landlord_id}"),
            &admin,
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(listed["items"][0]["name"], "Njeri Flats");
    let missing = app
        .get("/api/v1/properties?landlord_id=999999", &admin)
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);

    let forbidden = app.get("/api/v1/admin/db", &landlord).await;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN);
    assert_eq!(forbidden.code(), "forbidden");
    let db = app
        .get("/api/v1/admin/db", &admin)
        .await
        .expect(StatusCode::OK);
    assert!(db["engine"].is_string(), "{db}");
}

/// A token checked (and so cached) stops working when it expires, not when
/// the cached check would.
async fn an_expired_token_is_refused_even_when_its_check_is_cached(app: TestApp) {
    let (user, _) = app.landlord("expiring@example.com").await;
    let token = mfuko::auth::new_token();
    let now = chrono::Utc::now();
    let now = chrono::DateTime::from_timestamp(now.timestamp(), 0).expect("now");
    let mut tx = app.db.writer().begin().await.expect("begin");
    mfuko::db::tokens::insert(
        &mut tx,
        user,
        &mfuko::auth::token_hash(&token),
        now,
        now + chrono::Duration::seconds(2),
    )
    .await
    .expect("token");
    tx.commit().await.expect("commit");

    app.get("/api/v1/auth/me", &token)
        .await
        .expect(StatusCode::OK);
    tokio::time::sleep(std::time::Duration::from_millis(2_200)).await;
    let after = app.get("/api/v1/auth/me", &token).await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
}

/// The probe's flood: wrong passwords past the limit (10 per 15 minutes by
/// default) are answered 429 with `Retry-After`, even with the right
/// password, and so is the same client trying other accounts.
async fn failed_logins_past_the_limit_are_429_with_retry_after(app: TestApp) {
    let (_, token) = app.landlord("wambui@example.com").await;
    let attempt = |email: &'static str, password: &'static str| {
        let body = json!({ "email": email, "password": password });
        app.request(Method::POST, "/api/v1/auth/login", None, Some(body))
    };
    for n in 0..10 {
        let reply = attempt("wambui@example.com", "guess").await;
        assert_eq!(
            reply.status,
            StatusCode::UNAUTHORIZED,
            "attempt {n}: {}",
            reply.body
        );
    }
    for (email, password) in [
        ("wambui@example.com", "secret-pw"),
        ("WAMBUI@example.com", "guess"),
        ("someone-else@example.com", "secret-pw"),
    ] {
        let request = app
            .client
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({ "email": email, "password": password }));
        let response = request.send().await.expect("login request");
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS, "{email}");
        let retry_after: u64 = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .expect("a Retry-After in seconds");
        assert!((1..=900).contains(&retry_after), "{retry_after}");
        let body: serde_json::Value = response.json().await.expect("json");
        assert_eq!(body["error"]["code"], "too_many_attempts");
    }
    // Tokens issued before keep working: the lockout is about logging in.
    app.get("/api/v1/auth/me", &token)
        .await
        .expect(StatusCode::OK);
}

crate::on_both_databases!(
    data_routes_need_a_valid_token,
    login_returns_a_token_that_logout_revokes,
    wrong_passwords_and_unknown_emails_are_refused_alike,
    a_landlord_cannot_see_or_change_another_landlords_rows,
    admins_act_for_a_landlord_and_landlords_cannot_use_admin_routes,
    an_expired_token_is_refused_even_when_its_check_is_cached,
    failed_logins_past_the_limit_are_429_with_retry_after,
);
