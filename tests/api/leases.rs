//! Leases: the deposit charge, one active lease per unit (also under
//! concurrency), ending a lease, and the checks on unit and tenant.

use chrono::{NaiveDate, Utc};
use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{
    DEPOSIT, RENT, TestApp, id, ids, new_property, new_tenant, new_unit, setup_lease,
};

/// Today where the landlords are (the service's default time zone).
fn nairobi_today() -> NaiveDate {
    Utc::now()
        .with_timezone(&chrono_tz::Africa::Nairobi)
        .date_naive()
}

fn lease_body(unit: i64, tenant: i64) -> Value {
    json!({
        "unit_id": unit,
        "tenant_id": tenant,
        "rent": RENT,
        "deposit": DEPOSIT,
        "due_day": 5,
        "grace_days": 3,
        "start_date": "2024-02-01",
    })
}

async fn creating_a_lease_with_a_deposit_also_charges_the_deposit(app: TestApp) {
    let (_, token) = app.landlord("wanjiru@example.co.ke").await;
    let property = new_property(&app, &token, "Kilimani Heights").await;
    let unit = new_unit(&app, &token, property, "A1").await;
    let tenant = new_tenant(&app, &token, "Wanjiru Kamau", "+254712345678").await;

    let lease = app
        .create("/api/v1/leases", &token, lease_body(unit, tenant))
        .await;
    assert_eq!(lease["unit_id"], unit);
    assert_eq!(lease["tenant_id"], tenant);
    assert_eq!(lease["property_id"], property);
    assert_eq!(lease["rent"], RENT);
    assert_eq!(lease["deposit"], DEPOSIT);
    assert_eq!(lease["due_day"], 5);
    assert_eq!(lease["grace_days"], 3);
    assert_eq!(lease["start_date"], "2024-02-01");
    assert_eq!(lease["end_date"], Value::Null);
    assert_eq!(lease["status"], "active");
    let account_ref = lease["account_ref"]
        .as_str()
        .expect("generated account_ref");
    assert!(
        account_ref.len() >= 6 && account_ref == account_ref.to_ascii_uppercase(),
        "{account_ref}"
    );

    let charges = app
        .list(&format!("/api/v1/charges?lease_id={}", id(&lease)), &token)
        .await;
    assert_eq!(charges.len(), 1, "{charges:?}");
    assert_eq!(charges[0]["kind"], "deposit");
    assert_eq!(charges[0]["amount"], DEPOSIT);
    assert_eq!(charges[0]["period"], "2024-02");
    assert_eq!(charges[0]["due_date"], "2024-02-01");
    assert_eq!(charges[0]["void"], false);
    assert_eq!(charges[0]["lease_id"], id(&lease));

    // Without a deposit there is nothing to charge.
    let second_unit = new_unit(&app, &token, property, "A2").await;
    let second_tenant = new_tenant(&app, &token, "Otieno Ochieng", "+254723456789").await;
    let mut body = lease_body(second_unit, second_tenant);
    body.as_object_mut().expect("object").remove("deposit");
    let no_deposit = app.create("/api/v1/leases", &token, body).await;
    assert_eq!(no_deposit["deposit"], 0);
    let none = app
        .list(
            &format!("/api/v1/charges?lease_id={}", id(&no_deposit)),
            &token,
        )
        .await;
    assert!(none.is_empty(), "{none:?}");
}

async fn a_second_active_lease_on_a_unit_is_refused(app: TestApp) {
    let (_, token) = app.landlord("otieno@example.co.ke").await;
    let fixture = setup_lease(&app, &token, None).await;
    let newcomer = new_tenant(&app, &token, "Achieng Atieno", "+254734567890").await;

    let refused = app
        .post("/api/v1/leases", &token, lease_body(fixture.unit, newcomer))
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    assert_eq!(refused.code(), "unit_occupied");

    let leases = app.list("/api/v1/leases", &token).await;
    assert_eq!(ids(&leases), [fixture.lease]);
    let charges = app.list("/api/v1/charges", &token).await;
    assert_eq!(
        charges.len(),
        1,
        "only the first lease's deposit: {charges:?}"
    );
    assert_eq!(charges[0]["lease_id"], fixture.lease);
}

async fn ending_a_lease_dates_it_today_and_frees_the_unit(app: TestApp) {
    let (_, token) = app.landlord("akinyi@example.co.ke").await;
    let fixture = setup_lease(&app, &token, None).await;

    let before = nairobi_today();
    let ended = app
        .patch(
            &format!("/api/v1/leases/{}", fixture.lease),
            &token,
            json!({ "status": "ended" }),
        )
        .await
        .expect(StatusCode::OK);
    let after = nairobi_today();
    assert_eq!(ended["status"], "ended");
    let end_date: NaiveDate = ended["end_date"]
        .as_str()
        .expect("end_date is set")
        .parse()
        .expect("a date");
    assert!(
        end_date == before || end_date == after,
        "ended on {end_date}, today is {before}"
    );
    assert_eq!(ended["start_date"], "2024-01-01", "untouched");
    assert_eq!(ended["rent"], RENT, "untouched");

    let newcomer = new_tenant(&app, &token, "Kiprop Kibet", "+254745678901").await;
    let next = app
        .create("/api/v1/leases", &token, lease_body(fixture.unit, newcomer))
        .await;
    assert_eq!(next["status"], "active");

    let active = app.list("/api/v1/leases?status=active", &token).await;
    assert_eq!(ids(&active), [id(&next)]);
    let ended_list = app.list("/api/v1/leases?status=ended", &token).await;
    assert_eq!(ids(&ended_list), [fixture.lease]);

    // The old lease cannot come back while the unit is let again.
    let revived = app
        .patch(
            &format!("/api/v1/leases/{}", fixture.lease),
            &token,
            json!({ "status": "active" }),
        )
        .await;
    assert_eq!(revived.status, StatusCode::CONFLICT, "{}", revived.body);
    assert_eq!(revived.code(), "unit_occupied");
    let active = app.list("/api/v1/leases?status=active", &token).await;
    assert_eq!(ids(&active), [id(&next)]);
}

async fn a_lease_on_another_landlords_unit_or_tenant_is_not_found(app: TestApp) {
    let (_, mine) = app.landlord("kamau@example.co.ke").await;
    let (_, theirs) = app.landlord("mwangi@example.co.ke").await;
    let my_property = new_property(&app, &mine, "Kilimani Heights").await;
    let my_unit = new_unit(&app, &mine, my_property, "A1").await;
    let my_tenant = new_tenant(&app, &mine, "Wanjiru Kamau", "+254712345678").await;
    let their_property = new_property(&app, &theirs, "Mwangi Towers").await;
    let their_unit = new_unit(&app, &theirs, their_property, "M1").await;
    let their_tenant = new_tenant(&app, &theirs, "Baraka Mwangi", "+254723456789").await;

    for (what, unit, tenant) in [
        ("their unit", their_unit, my_tenant),
        ("their tenant", my_unit, their_tenant),
        ("both theirs", their_unit, their_tenant),
    ] {
        let reply = app
            .post("/api/v1/leases", &mine, lease_body(unit, tenant))
            .await;
        assert_eq!(
            reply.status,
            StatusCode::NOT_FOUND,
            "{what}: {}",
            reply.body
        );
        assert_eq!(reply.code(), "not_found", "{what}");
    }
    assert!(app.list("/api/v1/leases", &mine).await.is_empty());
    assert!(app.list("/api/v1/leases", &theirs).await.is_empty());
    assert!(app.list("/api/v1/charges", &mine).await.is_empty());
    assert!(app.list("/api/v1/charges", &theirs).await.is_empty());

    // Nor can I see or end their lease.
    let their_lease = id(&app
        .create(
            "/api/v1/leases",
            &theirs,
            lease_body(their_unit, their_tenant),
        )
        .await);
    let path = format!("/api/v1/leases/{their_lease}");
    assert_eq!(app.get(&path, &mine).await.status, StatusCode::NOT_FOUND);
    let end = app.patch(&path, &mine, json!({ "status": "ended" })).await;
    assert_eq!(end.status, StatusCode::NOT_FOUND);
    let still = app.get(&path, &theirs).await.expect(StatusCode::OK);
    assert_eq!(still["status"], "active");
}

async fn a_moved_out_tenant_cannot_take_a_lease(app: TestApp) {
    let (_, token) = app.landlord("chebet@example.co.ke").await;
    let property = new_property(&app, &token, "Lavington Gardens").await;
    let unit = new_unit(&app, &token, property, "L1").await;
    let tenant = new_tenant(&app, &token, "Zawadi Njoroge", "+254756789012").await;
    app.patch(
        &format!("/api/v1/tenants/{tenant}"),
        &token,
        json!({ "status": "moved_out" }),
    )
    .await
    .expect(StatusCode::OK);

    let reply = app
        .post("/api/v1/leases", &token, lease_body(unit, tenant))
        .await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.body
    );
    assert_eq!(reply.code(), "tenant_moved_out");
    assert!(app.list("/api/v1/leases", &token).await.is_empty());
    assert!(app.list("/api/v1/charges", &token).await.is_empty());
}

async fn an_off_market_unit_cannot_be_let(app: TestApp) {
    let (_, token) = app.landlord("njoroge@example.co.ke").await;
    let property = new_property(&app, &token, "Westlands Court").await;
    let unit = app
        .create(
            &format!("/api/v1/properties/{property}/units"),
            &token,
            json!({ "label": "W1", "market_rent": RENT, "off_market": true }),
        )
        .await;
    let tenant = new_tenant(&app, &token, "Mutua Musyoka", "+254767890123").await;

    let reply = app
        .post("/api/v1/leases", &token, lease_body(id(&unit), tenant))
        .await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.body
    );
    assert_eq!(reply.code(), "unit_off_market");
    assert!(app.list("/api/v1/leases", &token).await.is_empty());
    assert!(app.list("/api/v1/charges", &token).await.is_empty());
}

async fn account_refs_are_unique_whatever_the_letter_case(app: TestApp) {
    let (_, token) = app.landlord("omondi@example.co.ke").await;
    let fixture = setup_lease(&app, &token, Some("kamau-a1")).await;
    let first = app
        .get(&format!("/api/v1/leases/{}", fixture.lease), &token)
        .await
        .expect(StatusCode::OK);
    assert_eq!(first["account_ref"], "KAMAU-A1", "stored upper-case");

    let unit = new_unit(&app, &token, fixture.property, "A2").await;
    let tenant = new_tenant(&app, &token, "Halima Hassan", "+254778901234").await;
    let mut body = lease_body(unit, tenant);
    body["account_ref"] = json!("Kamau-A1");
    let reply = app.post("/api/v1/leases", &token, body).await;
    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.body);
    assert_eq!(reply.code(), "duplicate_account_ref");
    assert_eq!(
        ids(&app.list("/api/v1/leases", &token).await),
        [fixture.lease]
    );
    let charges = app.list("/api/v1/charges", &token).await;
    assert_eq!(charges.len(), 1, "{charges:?}");

    // Another landlord's references are another matter (payers reach them
    // through that landlord's paybill): the same one is theirs to use, and
    // nothing in the answer depends on the first landlord's lease.
    let (_, other) = app.landlord("other@example.co.ke").await;
    let property = new_property(&app, &other, "Other Flats").await;
    let unit = new_unit(&app, &other, property, "O1").await;
    let tenant = new_tenant(&app, &other, "Kiprop Kibet", "+254745678901").await;
    let mut body = lease_body(unit, tenant);
    body["account_ref"] = json!(" kamau-a1 ");
    let created = app
        .post("/api/v1/leases", &other, body)
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(created["account_ref"], "KAMAU-A1");
}

async fn concurrent_leases_on_one_unit_leave_exactly_one_active(app: TestApp) {
    let (_, token) = app.landlord("wekesa@example.co.ke").await;
    let property = new_property(&app, &token, "Kasarani Apartments").await;
    let unit = new_unit(&app, &token, property, "K1").await;
    let mut tenants = Vec::new();
    for i in 0..8 {
        tenants.push(
            new_tenant(
                &app,
                &token,
                &format!("Tenant {i}"),
                &format!("+25471100000{i}"),
            )
            .await,
        );
    }

    let attempts = tenants
        .iter()
        .map(|&tenant| app.post("/api/v1/leases", &token, lease_body(unit, tenant)));
    let replies = join_all(attempts).await;

    let created: Vec<_> = replies
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .collect();
    assert_eq!(created.len(), 1, "{replies:?}");
    for reply in replies.iter().filter(|r| r.status != StatusCode::CREATED) {
        assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.body);
        assert_eq!(reply.code(), "unit_occupied", "{}", reply.body);
    }

    let winner = id(&created[0].body);
    let all = app.list("/api/v1/leases", &token).await;
    assert_eq!(ids(&all), [winner]);
    let active = app.list("/api/v1/leases?status=active", &token).await;
    assert_eq!(ids(&active), [winner]);
    let charges = app.list("/api/v1/charges", &token).await;
    assert_eq!(charges.len(), 1, "one deposit, the winner's: {charges:?}");
    assert_eq!(charges[0]["lease_id"], winner);
}

/// A lease update reads the row, then writes it whole: two updates of
/// different fields must queue (the row is locked), or the later one writes
/// back the earlier one's field as it read it (a lost update). Each round
/// sends 20 concurrent updates of a lease, half to the grace period and half
/// to the end date (every value distinct), then checks that the answers and
/// the final row fit one serial order of the 20 updates.
async fn concurrent_updates_of_different_fields_all_land(app: TestApp) {
    let (_, token) = app.landlord("kamau@example.co.ke").await;
    for round in 0..5 {
        let lease = setup_lease_on(&app, &token, &format!("R{round}")).await;
        let path = format!("/api/v1/leases/{lease}");
        let grace = (1..=10).map(|days| json!({ "grace_days": days }));
        let ends = (1..=10).map(|day| json!({ "end_date": format!("2030-01-{day:02}") }));
        let bodies: Vec<Value> = grace.chain(ends).collect();
        let replies = join_all(
            bodies
                .iter()
                .map(|body| app.patch(&path, &token, body.clone())),
        )
        .await;
        let mut answers = Vec::new();
        for (body, reply) in bodies.iter().zip(&replies) {
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
            let (own, other) = match body.get("grace_days") {
                Some(_) => ("grace_days", "end_date"),
                None => ("end_date", "grace_days"),
            };
            answers.push((body[own].clone(), reply.body[other].clone()));
        }
        let after = app.get(&path, &token).await.body;
        let last = [after["grace_days"].clone(), after["end_date"].clone()];
        assert!(
            fits_a_serial_order(&answers, &last),
            "round {round}: lost update; answers (own value, other field seen) {answers:?}, final {after}"
        );
    }
}

/// Whether single-field writes to a pair of registers (grace days, end date),
/// each answered with the other register as it saw it, fit one serial order
/// ending in `last`. Builds the orderings the answers force (a write follows
/// the write it saw; it precedes every write of the other field when it saw
/// the initial value; a write seen as the latest follows every other write of
/// its field that precedes the reader) and looks for a cycle.
fn fits_a_serial_order(answers: &[(Value, Value)], last: &[Value; 2]) -> bool {
    let n = answers.len();
    let writer_of = |value: &Value| answers.iter().position(|(own, _)| own == value);
    let field = |i: usize| usize::from(answers[i].0.is_string());
    let mut before = vec![vec![false; n]; n];
    for (i, (_, seen)) in answers.iter().enumerate() {
        match writer_of(seen) {
            Some(w) => before[w][i] = true,
            None => (0..n)
                .filter(|&j| field(j) != field(i))
                .for_each(|j| before[i][j] = true),
        }
    }
    for (f, value) in last.iter().enumerate() {
        let Some(w) = writer_of(value) else {
            return false;
        };
        (0..n)
            .filter(|&j| field(j) == f && j != w)
            .for_each(|j| before[j][w] = true);
    }
    loop {
        // Transitive closure, then "the write seen is the latest before the reader".
        for k in 0..n {
            for i in 0..n {
                for j in 0..n {
                    before[i][j] |= before[i][k] && before[k][j];
                }
            }
        }
        let mut added = false;
        for (reader, (_, seen)) in answers.iter().enumerate() {
            let Some(w) = writer_of(seen) else { continue };
            for other in (0..n).filter(|&j| field(j) == field(w) && j != w) {
                if before[other][reader] && !before[other][w] {
                    before[other][w] = true;
                    added = true;
                }
            }
        }
        if !added {
            return (0..n).all(|i| !before[i][i]);
        }
    }
}

/// A fresh unit (labelled `label`) let to a fresh tenant with grace 0 and no
/// end date; returns the lease id.
async fn setup_lease_on(app: &TestApp, token: &str, label: &str) -> i64 {
    let property = new_property(app, token, &format!("Block {label}")).await;
    let unit = new_unit(app, token, property, label).await;
    let tenant = new_tenant(app, token, "Wanjiru Kamau", "+254712345678").await;
    let mut body = lease_body(unit, tenant);
    body["grace_days"] = 0.into();
    id(&app.create("/api/v1/leases", token, body).await)
}

crate::on_both_databases!(
    creating_a_lease_with_a_deposit_also_charges_the_deposit,
    a_second_active_lease_on_a_unit_is_refused,
    ending_a_lease_dates_it_today_and_frees_the_unit,
    a_lease_on_another_landlords_unit_or_tenant_is_not_found,
    a_moved_out_tenant_cannot_take_a_lease,
    an_off_market_unit_cannot_be_let,
    account_refs_are_unique_whatever_the_letter_case,
    concurrent_leases_on_one_unit_leave_exactly_one_active,
    concurrent_updates_of_different_fields_all_land,
);
