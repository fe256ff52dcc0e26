//! Properties, units and tenants: create, show, partial update, delete,
//! keyset pagination and list filters.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, id, ids, new_property, new_tenant, new_unit, setup_lease};

async fn a_property_is_created_shown_patched_and_deleted(app: TestApp) {
    let (landlord_id, token) = app.landlord("wanjiru@example.co.ke").await;
    let created = app
        .create(
            "/api/v1/properties",
            &token,
            json!({ "name": "  Kilimani Heights ", "address": "Argwings Kodhek Rd", "county": "Nairobi" }),
        )
        .await;
    let property = id(&created);
    assert_eq!(created["landlord_id"], landlord_id);
    assert_eq!(created["name"], "Kilimani Heights", "names are trimmed");
    assert_eq!(created["address"], "Argwings Kodhek Rd");
    assert_eq!(created["county"], "Nairobi");

    let path = format!("/api/v1/properties/{property}");
    let shown = app.get(&path, &token).await.expect(StatusCode::OK);
    assert_eq!(shown, created);

    let patched = app
        .patch(&path, &token, json!({ "name": "Kilimani Heights II" }))
        .await
        .expect(StatusCode::OK);
    assert_eq!(patched["name"], "Kilimani Heights II");
    assert_eq!(patched["address"], "Argwings Kodhek Rd", "untouched");
    assert_eq!(patched["county"], "Nairobi", "untouched");
    let reread = app.get(&path, &token).await.expect(StatusCode::OK);
    assert_eq!(reread, patched);

    let deleted = app.delete(&path, &token).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(deleted.body, Value::Null);
    let gone = app.get(&path, &token).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(gone.code(), "not_found");
    assert_eq!(
        app.delete(&path, &token).await.status,
        StatusCode::NOT_FOUND
    );
    assert!(app.list("/api/v1/properties", &token).await.is_empty());
}

async fn a_unit_is_created_shown_patched_and_deleted(app: TestApp) {
    let (_, token) = app.landlord("otieno@example.co.ke").await;
    let property = new_property(&app, &token, "Westlands Court").await;
    let created = app
        .create(
            &format!("/api/v1/properties/{property}/units"),
            &token,
            json!({ "label": "B2", "market_rent": 3_500_000 }),
        )
        .await;
    let unit = id(&created);
    assert_eq!(created["property_id"], property);
    assert_eq!(created["label"], "B2");
    assert_eq!(created["market_rent"], 3_500_000);
    assert_eq!(created["off_market"], false, "on the market by default");

    let path = format!("/api/v1/units/{unit}");
    assert_eq!(app.get(&path, &token).await.expect(StatusCode::OK), created);
    let listed = app
        .list(&format!("/api/v1/properties/{property}/units"), &token)
        .await;
    assert_eq!(listed, vec![created.clone()]);

    let patched = app
        .patch(&path, &token, json!({ "off_market": true }))
        .await
        .expect(StatusCode::OK);
    assert_eq!(patched["off_market"], true);
    assert_eq!(patched["label"], "B2", "untouched");
    assert_eq!(patched["market_rent"], 3_500_000, "untouched");
    let patched = app
        .patch(&path, &token, json!({ "market_rent": 3_800_000 }))
        .await
        .expect(StatusCode::OK);
    assert_eq!(patched["market_rent"], 3_800_000);
    assert_eq!(patched["off_market"], true, "untouched");
    assert_eq!(app.get(&path, &token).await.expect(StatusCode::OK), patched);

    assert_eq!(
        app.delete(&path, &token).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(app.get(&path, &token).await.status, StatusCode::NOT_FOUND);
    assert!(
        app.list(&format!("/api/v1/properties/{property}/units"), &token)
            .await
            .is_empty()
    );
}

async fn a_second_unit_with_the_same_label_in_a_property_is_refused(app: TestApp) {
    let (_, token) = app.landlord("akinyi@example.co.ke").await;
    let property = new_property(&app, &token, "Lavington Gardens").await;
    let first = new_unit(&app, &token, property, "C3").await;
    let again = app
        .post(
            &format!("/api/v1/properties/{property}/units"),
            &token,
            json!({ "label": "C3", "market_rent": 1_000_000 }),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    assert_eq!(again.code(), "duplicate_label");
    let units = app
        .list(&format!("/api/v1/properties/{property}/units"), &token)
        .await;
    assert_eq!(ids(&units), [first]);
}

async fn a_tenant_is_created_shown_patched_and_deleted(app: TestApp) {
    let (_, token) = app.landlord("kamau@example.co.ke").await;
    let created = app
        .create(
            "/api/v1/tenants",
            &token,
            json!({ "name": "Achieng Odhiambo", "phone": "0722 123 456", "national_id": "23456789" }),
        )
        .await;
    let tenant = id(&created);
    assert_eq!(created["name"], "Achieng Odhiambo");
    assert_eq!(created["phone"], "+254722123456", "phones are normalised");
    assert_eq!(created["national_id"], "23456789");
    assert_eq!(created["status"], "active", "new tenants are active");

    let path = format!("/api/v1/tenants/{tenant}");
    assert_eq!(app.get(&path, &token).await.expect(StatusCode::OK), created);

    let patched = app
        .patch(&path, &token, json!({ "status": "notice" }))
        .await
        .expect(StatusCode::OK);
    assert_eq!(patched["status"], "notice");
    assert_eq!(patched["name"], "Achieng Odhiambo", "untouched");
    assert_eq!(patched["phone"], "+254722123456", "untouched");
    assert_eq!(patched["national_id"], "23456789", "untouched");
    let patched = app
        .patch(&path, &token, json!({ "phone": "+254 110 987 654" }))
        .await
        .expect(StatusCode::OK);
    assert_eq!(patched["phone"], "+254110987654");
    assert_eq!(patched["status"], "notice", "untouched");
    assert_eq!(app.get(&path, &token).await.expect(StatusCode::OK), patched);

    assert_eq!(
        app.delete(&path, &token).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(app.get(&path, &token).await.status, StatusCode::NOT_FOUND);
    assert!(app.list("/api/v1/tenants", &token).await.is_empty());
}

async fn deleting_a_property_that_still_has_units_is_refused(app: TestApp) {
    let (_, token) = app.landlord("mwangi@example.co.ke").await;
    let property = new_property(&app, &token, "Ngong Road Flats").await;
    let unit = new_unit(&app, &token, property, "G1").await;

    let refused = app
        .delete(&format!("/api/v1/properties/{property}"), &token)
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    assert_eq!(refused.code(), "in_use");
    let still = app
        .get(&format!("/api/v1/properties/{property}"), &token)
        .await
        .expect(StatusCode::OK);
    assert_eq!(still["name"], "Ngong Road Flats");
    let units = app
        .list(&format!("/api/v1/properties/{property}/units"), &token)
        .await;
    assert_eq!(ids(&units), [unit]);

    // Once the unit is gone the property may go too.
    app.delete(&format!("/api/v1/units/{unit}"), &token)
        .await
        .expect(StatusCode::NO_CONTENT);
    app.delete(&format!("/api/v1/properties/{property}"), &token)
        .await
        .expect(StatusCode::NO_CONTENT);
}

async fn units_and_tenants_with_a_lease_cannot_be_deleted(app: TestApp) {
    let (_, token) = app.landlord("chebet@example.co.ke").await;
    let fixture = setup_lease(&app, &token, None).await;

    let unit = app
        .delete(&format!("/api/v1/units/{}", fixture.unit), &token)
        .await;
    assert_eq!(unit.status, StatusCode::CONFLICT, "{}", unit.body);
    assert_eq!(unit.code(), "in_use");
    let tenant = app
        .delete(&format!("/api/v1/tenants/{}", fixture.tenant), &token)
        .await;
    assert_eq!(tenant.status, StatusCode::CONFLICT, "{}", tenant.body);
    assert_eq!(tenant.code(), "in_use");

    app.get(&format!("/api/v1/units/{}", fixture.unit), &token)
        .await
        .expect(StatusCode::OK);
    app.get(&format!("/api/v1/tenants/{}", fixture.tenant), &token)
        .await
        .expect(StatusCode::OK);
    let lease = app
        .get(&format!("/api/v1/leases/{}", fixture.lease), &token)
        .await
        .expect(StatusCode::OK);
    assert_eq!(lease["status"], "active");
}

async fn tenants_are_paged_by_id_following_next_until_it_is_null(app: TestApp) {
    let (_, token) = app.landlord("njeri@example.co.ke").await;
    let names = [
        "Wanjiru Kamau",
        "Otieno Ochieng",
        "Achieng Atieno",
        "Kiprop Kibet",
        "Mutua Musyoka",
    ];
    let mut created = Vec::new();
    for (i, name) in names.iter().enumerate() {
        created.push(new_tenant(&app, &token, name, &format!("+25471234567{i}")).await);
    }
    // Another landlord's tenants never show up in my pages.
    let (_, other) = app.landlord("other@example.co.ke").await;
    new_tenant(&app, &other, "Halima Hassan", "+254733000111").await;

    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    let mut path = "/api/v1/tenants?limit=2".to_owned();
    loop {
        let page = app.get(&path, &token).await.expect(StatusCode::OK);
        let items = page["items"].as_array().expect("items");
        sizes.push(items.len());
        seen.extend(ids(items));
        match page["next"].as_i64() {
            Some(next) => {
                assert_eq!(Some(next), seen.last().copied(), "next is the last id");
                path = format!("/api/v1/tenants?limit=2&after={next}");
            }
            None => {
                assert_eq!(page["next"], Value::Null);
                break;
            }
        }
        assert!(sizes.len() <= 5, "pagination does not end");
    }
    assert_eq!(sizes, [2, 2, 1]);
    let mut sorted = created.clone();
    sorted.sort_unstable();
    assert_eq!(seen, sorted, "all five, once each, in id order");
}

async fn tenants_are_filtered_by_status(app: TestApp) {
    let (_, token) = app.landlord("omondi@example.co.ke").await;
    let staying = new_tenant(&app, &token, "Wanjiru Kamau", "+254712345678").await;
    let leaving = new_tenant(&app, &token, "Baraka Mwangi", "+254723456789").await;
    let gone = new_tenant(&app, &token, "Zawadi Njoroge", "+254734567890").await;
    app.patch(
        &format!("/api/v1/tenants/{leaving}"),
        &token,
        json!({ "status": "notice" }),
    )
    .await
    .expect(StatusCode::OK);
    app.patch(
        &format!("/api/v1/tenants/{gone}"),
        &token,
        json!({ "status": "moved_out" }),
    )
    .await
    .expect(StatusCode::OK);

    let on_notice = app.list("/api/v1/tenants?status=notice", &token).await;
    assert_eq!(ids(&on_notice), [leaving]);
    assert_eq!(on_notice[0]["name"], "Baraka Mwangi");
    let active = app.list("/api/v1/tenants?status=active", &token).await;
    assert_eq!(ids(&active), [staying]);
    let moved_out = app.list("/api/v1/tenants?status=moved_out", &token).await;
    assert_eq!(ids(&moved_out), [gone]);
    let all = app.list("/api/v1/tenants", &token).await;
    assert_eq!(ids(&all), [staying, leaving, gone]);
}

crate::on_both_databases!(
    a_property_is_created_shown_patched_and_deleted,
    a_unit_is_created_shown_patched_and_deleted,
    a_second_unit_with_the_same_label_in_a_property_is_refused,
    a_tenant_is_created_shown_patched_and_deleted,
    deleting_a_property_that_still_has_units_is_refused,
    units_and_tenants_with_a_lease_cannot_be_deleted,
    tenants_are_paged_by_id_following_next_until_it_is_null,
    tenants_are_filtered_by_status,
);
