//! The read cache, black-box through HTTP (DESIGN §6): `X-Cache`, strong
//! ETags and 304s; fresh numbers right after every kind of write (generation
//! keys); isolation between landlords; the admin stats and clear routes;
//! single-flight loads; read-your-writes under concurrent readers; dates in
//! keys; stale-while-revalidate; and a server with the cache turned off.

use std::sync::{
    Arc,
    atomic::{AtomicBool, AtomicI64, Ordering},
};
use std::time::{Duration, Instant};

use chrono::{NaiveDate, Utc};
use futures::future::join_all;
use mfuko::types::{Id, Period};
use reqwest::{
    StatusCode,
    header::{CACHE_CONTROL, ETAG, IF_NONE_MATCH},
};
use serde_json::{Value, json};

use crate::helpers::{
    self, ACCOUNT_REF, MPESA_SECRET, RENT, TestApp, id, ids, new_property, new_tenant, new_unit,
    setup_lease,
};

const TZ: chrono_tz::Tz = chrono_tz::Africa::Nairobi;

const DASHBOARD: &str = "/api/v1/dashboard";
const METRICS: &str = "/api/v1/metrics/payments";
const OCCUPANCY: &str = "/api/v1/reports/occupancy";
const ARREARS: &str = "/api/v1/reports/arrears";
const PAYMENTS: &str = "/api/v1/reports/payments";
const PROPERTIES: &str = "/api/v1/properties";
const TENANTS: &str = "/api/v1/tenants";
const STATS: &str = "/api/v1/admin/cache/stats";
const CLEAR: &str = "/api/v1/admin/cache/clear";

/// Today where the server decides what "this month" is.
fn today() -> NaiveDate {
    Utc::now().with_timezone(&TZ).date_naive()
}

fn this_month() -> Period {
    Period::containing(today())
}

/// The financial report over the whole current month.
fn financial_this_month() -> String {
    let month = this_month();
    format!(
        "/api/v1/reports/financial?from={}&to={}",
        month.first_day(),
        month.last_day()
    )
}

/// A cached read, headers and raw bytes kept.
#[derive(Debug)]
pub struct Read {
    status: StatusCode,
    pub x_cache: String,
    etag: Option<String>,
    cache_control: String,
    raw: Vec<u8>,
}

impl Read {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.raw).unwrap_or_else(|err| {
            panic!("not JSON ({err}): {:?}", String::from_utf8_lossy(&self.raw))
        })
    }

    #[track_caller]
    pub fn ok(self, path: &str) -> Read {
        assert_eq!(
            self.status,
            StatusCode::OK,
            "GET {path}: {}",
            String::from_utf8_lossy(&self.raw)
        );
        self
    }

    pub fn etag(&self) -> &str {
        self.etag.as_deref().expect("an ETag header")
    }
}

async fn read_if(app: &TestApp, path: &str, token: &str, if_none_match: Option<&str>) -> Read {
    let mut request = app.client.get(app.url(path)).bearer_auth(token);
    if let Some(tag) = if_none_match {
        request = request.header(IF_NONE_MATCH, tag);
    }
    let response = request.send().await.expect("request reaches the server");
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|value| value.to_str().expect("an ASCII header").to_owned())
    };
    let x_cache = header("x-cache").unwrap_or_default();
    let etag = header(ETAG.as_str());
    let cache_control = header(CACHE_CONTROL.as_str()).unwrap_or_default();
    let status = response.status();
    let raw = response.bytes().await.expect("response body").to_vec();
    Read {
        status,
        x_cache,
        etag,
        cache_control,
        raw,
    }
}

pub async fn read(app: &TestApp, path: &str, token: &str) -> Read {
    read_if(app, path, token, None).await
}

/// Reads `path` twice: the second read must be an L1 hit with the same bytes.
/// Returns the body, now cached.
async fn warm(app: &TestApp, path: &str, token: &str) -> Value {
    let first = read(app, path, token).await.ok(path);
    let second = read(app, path, token).await.ok(path);
    assert_eq!(second.x_cache, "HIT-L1", "GET {path} twice");
    assert_eq!(
        second.raw, first.raw,
        "GET {path}: a hit serves the same bytes"
    );
    second.json()
}

/// Reads `path` right after a write it depends on: the key has moved, so the
/// read is a miss into the database, or, for the views a new payment patches
/// in place (`reports::patch`), a hit on the patched entry. Either way the
/// callers check that the numbers moved. Returns the body.
async fn after_write(app: &TestApp, path: &str, token: &str) -> Value {
    let read = read(app, path, token).await.ok(path);
    let patched = [
        DASHBOARD,
        METRICS,
        ARREARS,
        PAYMENTS,
        "/api/v1/reports/financial",
    ]
    .contains(&path);
    assert!(
        read.x_cache == "MISS" || (patched && read.x_cache == "HIT-L1"),
        "GET {path} after a write it depends on: {}",
        read.x_cache
    );
    read.json()
}

/// The integer at `pointer` (a JSON pointer) in `body`.
#[track_caller]
fn n(body: &Value, pointer: &str) -> i64 {
    body.pointer(pointer)
        .and_then(Value::as_i64)
        .unwrap_or_else(|| panic!("no integer at {pointer} in {body}"))
}

/// `n(after) - n(before)` at `pointer`.
#[track_caller]
fn change(before: &Value, after: &Value, pointer: &str) -> i64 {
    n(after, pointer) - n(before, pointer)
}

/// An assertion on a response body.
type Check = Box<dyn Fn(&Value)>;

/// The `id`s of a cached list's items.
fn listed(page: &Value) -> Vec<Id> {
    ids(page["items"].as_array().expect("items"))
}

async fn cash_payment(app: &TestApp, token: &str, lease: Id, amount: i64, status: &str) -> Id {
    id(&app
        .create(
            "/api/v1/payments",
            token,
            json!({ "lease_id": lease, "amount": amount, "method": "cash", "status": status }),
        )
        .await)
}

async fn cache_stats(app: &TestApp, admin: &str) -> Value {
    app.get(STATS, admin).await.expect(StatusCode::OK)
}

/// One view's counters in a stats reply.
#[track_caller]
fn view_stats<'a>(stats: &'a Value, view: &str) -> &'a Value {
    stats["views"]
        .as_array()
        .expect("views")
        .iter()
        .find(|entry| entry["view"] == view)
        .unwrap_or_else(|| panic!("no view {view} in {stats}"))
}

/// How much counter `field` of `view` moved between two stats replies.
#[track_caller]
fn moved(before: &Value, after: &Value, view: &str, field: &str) -> i64 {
    let pointer = format!("/{field}");
    n(view_stats(after, view), &pointer) - n(view_stats(before, view), &pointer)
}

async fn clear(app: &TestApp, admin: &str, body: Option<&str>) -> helpers::Reply {
    let mut request = app.client.post(app.url(CLEAR)).bearer_auth(admin);
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_owned());
    }
    app.send(request).await
}

// ---------------------------------------------------------------- headers

async fn the_dashboard_misses_then_hits_with_a_strong_etag_and_304s(app: TestApp) {
    let (_, token) = app.landlord("wanjiru@example.co.ke").await;
    setup_lease(&app, &token, None).await;

    let first = read(&app, DASHBOARD, &token).await.ok(DASHBOARD);
    assert_eq!(first.x_cache, "MISS");
    let second = read(&app, DASHBOARD, &token).await.ok(DASHBOARD);
    assert_eq!(second.x_cache, "HIT-L1");
    assert_eq!(second.raw, first.raw, "a hit serves the stored bytes");
    assert_eq!(n(&second.json(), "/counts/units"), 1, "{}", second.json());

    let etag = first.etag().to_owned();
    assert_eq!(second.etag(), etag, "same bytes, same validator");
    assert!(
        etag.len() > 2 && etag.starts_with('"') && etag.ends_with('"'),
        "a quoted ETag: {etag}"
    );
    assert!(!etag.starts_with("W/"), "a strong ETag: {etag}");
    assert!(
        first.cache_control.contains("private") && second.cache_control.contains("private"),
        "Cache-Control: {:?} / {:?}",
        first.cache_control,
        second.cache_control
    );

    let not_modified = read_if(&app, DASHBOARD, &token, Some(&etag)).await;
    assert_eq!(not_modified.status, StatusCode::NOT_MODIFIED);
    assert!(not_modified.raw.is_empty(), "a 304 has no body");
    assert_eq!(not_modified.etag(), etag);

    // One of several validators matching is enough.
    let listed = format!("\"0000\", {etag}");
    let not_modified = read_if(&app, DASHBOARD, &token, Some(&listed)).await;
    assert_eq!(not_modified.status, StatusCode::NOT_MODIFIED);

    let other = read_if(&app, DASHBOARD, &token, Some("\"not-the-etag\""))
        .await
        .ok(DASHBOARD);
    assert_eq!(other.raw, first.raw, "a stale validator gets the full body");
    assert_eq!(other.etag(), etag);

    // After a write the body changes, and so does its validator: the old one
    // no longer earns a 304.
    new_property(&app, &token, "Lavington Court").await;
    let changed = read_if(&app, DASHBOARD, &token, Some(&etag))
        .await
        .ok(DASHBOARD);
    assert_eq!(changed.x_cache, "MISS");
    assert_ne!(changed.etag(), etag);
    assert_eq!(n(&changed.json(), "/counts/properties"), 2);
}

async fn every_cached_read_misses_then_hits_and_honours_if_none_match(app: TestApp) {
    let (_, token) = app.landlord("wanjiru@example.co.ke").await;
    let fixture = setup_lease(&app, &token, None).await;
    let month = this_month();

    for path in [
        financial_this_month(),
        OCCUPANCY.to_owned(),
        ARREARS.to_owned(),
        PAYMENTS.to_owned(),
        METRICS.to_owned(),
        PROPERTIES.to_owned(),
        TENANTS.to_owned(),
    ] {
        let path = path.as_str();
        let first = read(&app, path, &token).await.ok(path);
        assert_eq!(first.x_cache, "MISS", "first GET {path}");
        let second = read(&app, path, &token).await.ok(path);
        assert_eq!(second.x_cache, "HIT-L1", "second GET {path}");
        assert_eq!(second.raw, first.raw, "GET {path}");
        let etag = first.etag().to_owned();
        assert!(
            etag.starts_with('"') && etag.ends_with('"') && etag.len() > 2,
            "GET {path}: {etag}"
        );
        assert_eq!(second.etag(), etag, "GET {path}");
        assert!(second.cache_control.contains("private"), "GET {path}");

        let not_modified = read_if(&app, path, &token, Some(&etag)).await;
        assert_eq!(not_modified.status, StatusCode::NOT_MODIFIED, "GET {path}");
        assert!(not_modified.raw.is_empty(), "GET {path}");
        assert_eq!(not_modified.etag(), etag, "GET {path}");
        let full = read_if(&app, path, &token, Some("\"something-else\""))
            .await
            .ok(path);
        assert_eq!(full.raw, first.raw, "GET {path}");
    }

    // Each distinct parameter set is its own entry, with its own body.
    let earlier = month.prev();
    let other_range = format!(
        "/api/v1/reports/financial?from={}&to={}",
        earlier.first_day(),
        earlier.last_day()
    );
    let property = fixture.property;
    let distinct: Vec<(String, Check)> = vec![
        (
            other_range.clone(),
            Box::new(move |body: &Value| {
                assert_eq!(body["from"], earlier.first_day().to_string());
                assert_eq!(body["to"], earlier.last_day().to_string());
            }),
        ),
        (
            format!("{PAYMENTS}?status=pending"),
            Box::new(|body: &Value| assert_eq!(body["status"], "pending")),
        ),
        (
            format!("{OCCUPANCY}?property_id={property}"),
            Box::new(move |body: &Value| {
                assert_eq!(body["properties"].as_array().map(Vec::len), Some(1));
            }),
        ),
        (
            format!("{DASHBOARD}?property_id={property}"),
            Box::new(move |body: &Value| assert_eq!(body["property_id"], property)),
        ),
        (
            format!("{PROPERTIES}?limit=1"),
            Box::new(|body: &Value| assert_eq!(body["items"].as_array().map(Vec::len), Some(1))),
        ),
        (
            format!("{TENANTS}?status=notice"),
            Box::new(|body: &Value| assert_eq!(listed(body), Vec::<Id>::new())),
        ),
    ];
    for (path, check) in distinct {
        let path = path.as_str();
        let first = read(&app, path, &token).await.ok(path);
        assert_eq!(first.x_cache, "MISS", "GET {path} is a new entry");
        check(&first.json());
        let second = read(&app, path, &token).await.ok(path);
        assert_eq!(second.x_cache, "HIT-L1", "GET {path} again");
        assert_eq!(second.raw, first.raw, "GET {path}");
    }
    // The default dashboard and the tenant list are still their own entries.
    assert_eq!(
        read(&app, TENANTS, &token).await.ok(TENANTS).x_cache,
        "HIT-L1"
    );
    let all = read(&app, DASHBOARD, &token).await.ok(DASHBOARD);
    assert_eq!(
        all.x_cache, "MISS",
        "the unfiltered dashboard was never read"
    );
    assert_eq!(all.json()["property_id"], Value::Null);
}

async fn arrears_as_of_different_days_are_different_entries(app: TestApp) {
    let (_, token) = app.landlord("wanjiru@example.co.ke").await;
    let fixture = setup_lease(&app, &token, None).await;
    // Rent for February 2024, due on its first day.
    app.create(
        "/api/v1/charges",
        &token,
        json!({ "lease_id": fixture.lease, "period": "2024-02", "kind": "rent",
                "amount": RENT, "due_date": "2024-02-01" }),
    )
    .await;

    let january = format!("{ARREARS}?as_of=2024-01-31");
    let february = format!("{ARREARS}?as_of=2024-02-01");
    let first_january = read(&app, &january, &token).await.ok(&january);
    assert_eq!(first_january.x_cache, "MISS");
    let first_february = read(&app, &february, &token).await.ok(&february);
    assert_eq!(
        first_february.x_cache, "MISS",
        "another date, another entry"
    );
    let (jan, feb) = (first_january.json(), first_february.json());
    assert_eq!(jan["as_of"], "2024-01-31");
    assert_eq!(feb["as_of"], "2024-02-01");
    // Only the deposit is due by 31 January; February's rent is too a day later.
    assert_eq!(n(&jan, "/summary/total_arrears"), helpers::DEPOSIT, "{jan}");
    assert_eq!(
        n(&feb, "/summary/total_arrears"),
        helpers::DEPOSIT + RENT,
        "{feb}"
    );

    for (path, first) in [(&january, &first_january), (&february, &first_february)] {
        let again = read(&app, path, &token).await.ok(path);
        assert_eq!(again.x_cache, "HIT-L1", "GET {path} again");
        assert_eq!(again.raw, first.raw, "GET {path}");
    }
}

// ------------------------------------------------- freshness after writes

async fn creating_a_property_shows_at_once(app: TestApp) {
    let (_, token) = app.landlord("wanjiru@example.co.ke").await;
    setup_lease(&app, &token, None).await;
    let dashboard = warm(&app, DASHBOARD, &token).await;
    let list = warm(&app, PROPERTIES, &token).await;
    assert_eq!(listed(&list).len(), 1);

    let property = new_property(&app, &token, "Lavington Court").await;

    let now = after_write(&app, DASHBOARD, &token).await;
    assert_eq!(change(&dashboard, &now, "/counts/properties"), 1, "{now}");
    let list = after_write(&app, PROPERTIES, &token).await;
    assert!(listed(&list).contains(&property), "{list}");
    assert_eq!(listed(&list).len(), 2);
}

async fn creating_a_unit_shows_at_once(app: TestApp) {
    let (_, token) = app.landlord("wanjiru@example.co.ke").await;
    let fixture = setup_lease(&app, &token, None).await;
    let dashboard = warm(&app, DASHBOARD, &token).await;
    let occupancy = warm(&app, OCCUPANCY, &token).await;

    new_unit(&app, &token, fixture.property, "A2").await;

    let now = after_write(&app, DASHBOARD, &token).await;
    assert_eq!(change(&dashboard, &now, "/counts/units"), 1, "{now}");
    assert_eq!(
        change(&dashboard, &now, "/occupancy/total/available"),
        1,
        "{now}"
    );
    assert_eq!(
        change(&dashboard, &now, "/occupancy/total/vacant"),
        1,
        "{now}"
    );
    let report = after_write(&app, OCCUPANCY, &token).await;
    assert_eq!(change(&occupancy, &report, "/total/units"), 1, "{report}");
    assert_eq!(
        change(&occupancy, &report, "/total/available"),
        1,
        "{report}"
    );
}

async fn taking_a_unit_off_the_market_shows_at_once(app: TestApp) {
    let (_, token) = app.landlord("wanjiru@example.co.ke").await;
    let fixture = setup_lease(&app, &token, None).await;
    let spare = new_unit(&app, &token, fixture.property, "A2").await;
    let dashboard = warm(&app, DASHBOARD, &token).await;
    let occupancy = warm(&app, OCCUPANCY, &token).await;
    assert_eq!(n(&occupancy, "/total/available"), 2, "{occupancy}");

    app.patch(
        &format!("/api/v1/units/{spare}"),
        &token,
        json!({ "off_market": true }),
    )
    .await
    .expect(StatusCode::OK);

    let now = after_write(&app, DASHBOARD, &token).await;
    assert_eq!(
        change(&dashboard, &now, "/occupancy/total/available"),
        -1,
        "{now}"
    );
    assert_eq!(change(&dashboard, &now, "/counts/units"), 0, "{now}");
    let report = after_write(&app, OCCUPANCY, &token).await;
    assert_eq!(
        change(&occupancy, &report, "/total/available"),
        -1,
        "{report}"
    );
    assert_eq!(change(&occupancy, &report, "/total/vacant"), -1, "{report}");
}

async fn creating_a_tenant_shows_at_once(app: TestApp) {
    let (_, token) = app.landlord("wanjiru@example.co.ke").await;
    setup_lease(&app, &token, None).await;
    let list = warm(&app, TENANTS, &token).await;
    assert_eq!(listed(&list).len(), 1);

    let tenant = new_tenant(&app, &token, "Otieno Ochieng", "+254722000111").await;

    let list = after_write(&app, TENANTS, &token).await;
    assert!(listed(&list).contains(&tenant), "{list}");
    assert_eq!(listed(&list).len(), 2);
}

async fn a_tenant_status_change_shows_at_once(app: TestApp) {
    let (_, token) = app.landlord("wanjiru@example.co.ke").await;
    let fixture = setup_lease(&app, &token, None).await;
    let on_notice = format!("{TENANTS}?status=notice");
    assert_eq!(
        listed(&warm(&app, &on_notice, &token).await),
        Vec::<Id>::new()
    );
    let all = warm(&app, TENANTS, &token).await;
    assert_eq!(all["items"][0]["status"], "active");

    app.patch(
        &format!("/api/v1/tenants/{}", fixture.tenant),
        &token,
        json!({ "status": "notice" }),
    )
    .await
    .expect(StatusCode::OK);

    let list = after_write(&app, &on_notice, &token).await;
    assert_eq!(listed(&list), vec![fixture.tenant], "{list}");
    let all = after_write(&app, TENANTS, &token).await;
    assert_eq!(all["items"][0]["status"], "notice", "{all}");
}

async fn creating_a_lease_shows_at_once(app: TestApp) {
    let (_, token) = app.landlord("wanjiru@example.co.ke").await;
    let fixture = setup_lease(&app, &token, None).await;
    let unit = new_unit(&app, &token, fixture.property, "A2").await;
    let tenant = new_tenant(&app, &token, "Otieno Ochieng", "+254722000111").await;
    let dashboard = warm(&app, DASHBOARD, &token).await;
    let occupancy = warm(&app, OCCUPANCY, &token).await;

    app.create(
        "/api/v1/leases",
        &token,
        json!({ "unit_id": unit, "tenant_id": tenant, "rent": 1_800_000,
                "due_day": 1, "start_date": "2024-01-01" }),
    )
    .await;

    let now = after_write(&app, DASHBOARD, &token).await;
    assert_eq!(
        change(&dashboard, &now, "/occupancy/total/occupied"),
        1,
        "{now}"
    );
    assert_eq!(
        change(&dashboard, &now, "/counts/active_leases"),
        1,
        "{now}"
    );
    let report = after_write(&app, OCCUPANCY, &token).await;
    assert_eq!(
        change(&occupancy, &report, "/total/occupied"),
        1,
        "{report}"
    );
    assert_eq!(change(&occupancy, &report, "/total/vacant"), -1, "{report}");
}

async fn ending_a_lease_shows_at_once(app: TestApp) {
    let (_, token) = app.landlord("wanjiru@example.co.ke").await;
    let fixture = setup_lease(&app, &token, None).await;
    let dashboard = warm(&app, DASHBOARD, &token).await;
    let occupancy = warm(&app, OCCUPANCY, &token).await;
    assert_eq!(n(&occupancy, "/total/occupied"), 1, "{occupancy}");

    app.patch(
        &format!("/api/v1/leases/{}", fixture.lease),
        &token,
        json!({ "status": "ended" }),
    )
    .await
    .expect(StatusCode::OK);

    let now = after_write(&app, DASHBOARD, &token).await;
    assert_eq!(
        change(&dashboard, &now, "/occupancy/total/occupied"),
        -1,
        "{now}"
    );
    assert_eq!(
        change(&dashboard, &now, "/counts/active_leases"),
        -1,
        "{now}"
    );
    let report = after_write(&app, OCCUPANCY, &token).await;
    assert_eq!(
        change(&occupancy, &report, "/total/occupied"),
        -1,
        "{report}"
    );
}

/// A manual charge of `amount`, due today, in this month.
async fn charge_today(app: &TestApp, token: &str, lease: Id, amount: i64) -> Id {
    id(&app
        .create(
            "/api/v1/charges",
            token,
            json!({ "lease_id": lease, "period": this_month().to_string(), "kind": "other",
                    "amount": amount, "due_date": today().to_string() }),
        )
        .await)
}

async fn creating_a_charge_shows_at_once(app: TestApp) {
    let (_, token) = app.landlord("wanjiru@example.co.ke").await;
    let fixture = setup_lease(&app, &token, None).await;
    let financial = financial_this_month();
    let dashboard = warm(&app, DASHBOARD, &token).await;
    let report = warm(&app, &financial, &token).await;
    let metrics = warm(&app, METRICS, &token).await;

    charge_today(&app, &token, fixture.lease, 123_400).await;

    let now = after_write(&app, DASHBOARD, &token).await;
    assert_eq!(
        change(&dashboard, &now, "/financial/total/billed"),
        123_400,
        "{now}"
    );
    assert_eq!(
        change(&dashboard, &now, "/metrics/billed_this_month"),
        123_400,
        "{now}"
    );
    let fresh = after_write(&app, &financial, &token).await;
    assert_eq!(change(&report, &fresh, "/total/billed"), 123_400, "{fresh}");
    let fresh = after_write(&app, METRICS, &token).await;
    assert_eq!(
        change(&metrics, &fresh, "/billed_this_month"),
        123_400,
        "{fresh}"
    );
}

async fn voiding_a_charge_shows_at_once(app: TestApp) {
    let (_, token) = app.landlord("wanjiru@example.co.ke").await;
    let fixture = setup_lease(&app, &token, None).await;
    let charge = charge_today(&app, &token, fixture.lease, 123_400).await;
    let financial = financial_this_month();
    let dashboard = warm(&app, DASHBOARD, &token).await;
    let report = warm(&app, &financial, &token).await;
    assert_eq!(n(&report, "/total/billed"), 123_400, "{report}");

    app.patch(
        &format!("/api/v1/charges/{charge}"),
        &token,
        json!({ "void": true }),
    )
    .await
    .expect(StatusCode::OK);

    let now = after_write(&app, DASHBOARD, &token).await;
    assert_eq!(
        change(&dashboard, &now, "/financial/total/billed"),
        -123_400,
        "{now}"
    );
    let fresh = after_write(&app, &financial, &token).await;
    assert_eq!(
        change(&report, &fresh, "/total/billed"),
        -123_400,
        "{fresh}"
    );
}

async fn the_charge_run_shows_at_once(app: TestApp) {
    let (_, token) = app.landlord("wanjiru@example.co.ke").await;
    setup_lease(&app, &token, None).await;
    let financial = financial_this_month();
    let dashboard = warm(&app, DASHBOARD, &token).await;
    let report = warm(&app, &financial, &token).await;

    let period = this_month().to_string();
    let summary = app
        .post("/api/v1/charges/run", &token, json!({ "period": period }))
        .await
        .expect(StatusCode::OK);
    assert_eq!(summary["created"], 1, "{summary}");

    let now = after_write(&app, DASHBOARD, &token).await;
    assert_eq!(
        change(&dashboard, &now, "/financial/total/billed"),
        RENT,
        "{now}"
    );
    let fresh = after_write(&app, &financial, &token).await;
    assert_eq!(change(&report, &fresh, "/total/billed"), RENT, "{fresh}");
}

async fn a_payment_shows_at_once(app: TestApp) {
    let (_, token) = app.landlord("wanjiru@example.co.ke").await;
    let fixture = setup_lease(&app, &token, None).await;
    let financial = financial_this_month();
    let dashboard = warm(&app, DASHBOARD, &token).await;
    let metrics = warm(&app, METRICS, &token).await;
    let arrears = warm(&app, ARREARS, &token).await;
    let report = warm(&app, &financial, &token).await;
    let payments = warm(&app, PAYMENTS, &token).await;
    assert_eq!(
        n(&arrears, "/summary/total_arrears"),
        helpers::DEPOSIT,
        "{arrears}"
    );

    cash_payment(&app, &token, fixture.lease, 700_000, "confirmed").await;

    let now = after_write(&app, DASHBOARD, &token).await;
    assert_eq!(
        change(&dashboard, &now, "/financial/total/collected"),
        700_000,
        "{now}"
    );
    assert_eq!(
        change(&dashboard, &now, "/metrics/collected_this_month"),
        700_000,
        "{now}"
    );
    assert_eq!(
        change(&dashboard, &now, "/arrears/total_arrears"),
        -700_000,
        "{now}"
    );
    let fresh = after_write(&app, METRICS, &token).await;
    assert_eq!(
        change(&metrics, &fresh, "/collected_this_month"),
        700_000,
        "{fresh}"
    );
    let fresh = after_write(&app, ARREARS, &token).await;
    assert_eq!(
        change(&arrears, &fresh, "/summary/total_arrears"),
        -700_000,
        "{fresh}"
    );
    let fresh = after_write(&app, &financial, &token).await;
    assert_eq!(
        change(&report, &fresh, "/total/collected"),
        700_000,
        "{fresh}"
    );
    let fresh = after_write(&app, PAYMENTS, &token).await;
    assert_eq!(change(&payments, &fresh, "/total/count"), 1, "{fresh}");
    assert_eq!(
        change(&payments, &fresh, "/total/amount"),
        700_000,
        "{fresh}"
    );
}

async fn confirming_a_pending_payment_shows_at_once(app: TestApp) {
    let (_, token) = app.landlord("wanjiru@example.co.ke").await;
    let fixture = setup_lease(&app, &token, None).await;
    let payment = cash_payment(&app, &token, fixture.lease, 450_000, "pending").await;
    let dashboard = warm(&app, DASHBOARD, &token).await;
    let metrics = warm(&app, METRICS, &token).await;
    assert_eq!(n(&metrics, "/pending/count"), 1, "{metrics}");

    app.patch(
        &format!("/api/v1/payments/{payment}"),
        &token,
        json!({ "status": "confirmed" }),
    )
    .await
    .expect(StatusCode::OK);

    let now = after_write(&app, DASHBOARD, &token).await;
    assert_eq!(
        change(&dashboard, &now, "/financial/total/collected"),
        450_000,
        "{now}"
    );
    let fresh = after_write(&app, METRICS, &token).await;
    assert_eq!(
        change(&metrics, &fresh, "/collected_this_month"),
        450_000,
        "{fresh}"
    );
    assert_eq!(change(&metrics, &fresh, "/pending/count"), -1, "{fresh}");
}

async fn reversing_a_payment_shows_at_once(app: TestApp) {
    let (_, token) = app.landlord("wanjiru@example.co.ke").await;
    let fixture = setup_lease(&app, &token, None).await;
    let payment = cash_payment(&app, &token, fixture.lease, 450_000, "confirmed").await;
    let dashboard = warm(&app, DASHBOARD, &token).await;
    let metrics = warm(&app, METRICS, &token).await;
    let arrears = warm(&app, ARREARS, &token).await;

    app.patch(
        &format!("/api/v1/payments/{payment}"),
        &token,
        json!({ "status": "reversed" }),
    )
    .await
    .expect(StatusCode::OK);

    let now = after_write(&app, DASHBOARD, &token).await;
    assert_eq!(
        change(&dashboard, &now, "/financial/total/collected"),
        -450_000,
        "{now}"
    );
    let fresh = after_write(&app, METRICS, &token).await;
    assert_eq!(
        change(&metrics, &fresh, "/collected_this_month"),
        -450_000,
        "{fresh}"
    );
    let fresh = after_write(&app, ARREARS, &token).await;
    assert_eq!(
        change(&arrears, &fresh, "/summary/total_arrears"),
        450_000,
        "{fresh}"
    );
}

async fn an_mpesa_confirmation_shows_at_once(app: TestApp) {
    let (_, token) = app.landlord("wanjiru@example.co.ke").await;
    setup_lease(&app, &token, Some(ACCOUNT_REF)).await;
    crate::helpers::register_paybill(&app, &token, crate::helpers::PAYBILL).await;
    let dashboard = warm(&app, DASHBOARD, &token).await;
    let metrics = warm(&app, METRICS, &token).await;

    let body = json!({
        "TransactionType": "Pay Bill",
        "TransID": "QKT7AB12CD",
        "TransTime": format!("{}120000", today().format("%Y%m%d")),
        "TransAmount": "1500.00",
        "BusinessShortCode": "600638",
        "BillRefNumber": ACCOUNT_REF,
        "MSISDN": "2547 ***** 678",
        "FirstName": "WANJIRU",
        "LastName": "KAMAU",
    });
    let request = app
        .client
        .post(app.url("/api/v1/payments/mpesa/c2b"))
        .header("X-Mpesa-Secret", MPESA_SECRET)
        .json(&body);
    let reply = app.send(request).await.expect(StatusCode::OK);
    assert_eq!(reply["ResultCode"], 0, "{reply}");

    let now = after_write(&app, DASHBOARD, &token).await;
    assert_eq!(
        change(&dashboard, &now, "/metrics/collected_this_month"),
        150_000,
        "{now}"
    );
    assert_eq!(
        change(&dashboard, &now, "/financial/total/collected"),
        150_000,
        "{now}"
    );
    let fresh = after_write(&app, METRICS, &token).await;
    assert_eq!(
        change(&metrics, &fresh, "/collected_this_month"),
        150_000,
        "{fresh}"
    );
}

// ---------------------------------------------------------------- isolation

async fn one_landlords_writes_leave_anothers_entries_cached(app: TestApp) {
    let (_, token_a) = app.landlord("wanjiru@example.co.ke").await;
    let (_, token_b) = app.landlord("otieno@example.co.ke").await;
    let a = setup_lease(&app, &token_a, None).await;
    setup_lease(&app, &token_b, None).await;
    let dashboard_a = warm(&app, DASHBOARD, &token_a).await;
    warm(&app, DASHBOARD, &token_b).await;
    warm(&app, METRICS, &token_b).await;
    let cached_b = read(&app, DASHBOARD, &token_b).await.ok(DASHBOARD);
    let cached_b_metrics = read(&app, METRICS, &token_b).await.ok(METRICS);

    // Every kind of write, by A.
    new_property(&app, &token_a, "Lavington Court").await;
    new_unit(&app, &token_a, a.property, "A2").await;
    new_tenant(&app, &token_a, "Otieno Ochieng", "+254722000111").await;
    charge_today(&app, &token_a, a.lease, 10_000).await;
    cash_payment(&app, &token_a, a.lease, 20_000, "confirmed").await;
    app.patch(
        &format!("/api/v1/leases/{}", a.lease),
        &token_a,
        json!({ "status": "ended" }),
    )
    .await
    .expect(StatusCode::OK);

    for (path, cached) in [(DASHBOARD, &cached_b), (METRICS, &cached_b_metrics)] {
        let b = read(&app, path, &token_b).await.ok(path);
        assert_eq!(b.x_cache, "HIT-L1", "B's {path} survives A's writes");
        assert_eq!(b.raw, cached.raw, "B's {path} is unchanged");
    }
    let now_a = after_write(&app, DASHBOARD, &token_a).await;
    assert_eq!(change(&dashboard_a, &now_a, "/counts/properties"), 1);
    assert_eq!(
        change(&dashboard_a, &now_a, "/financial/total/collected"),
        20_000
    );
}

// -------------------------------------------------------------------- admin

async fn the_cache_admin_routes_are_for_admins_only(app: TestApp) {
    let (_, token) = app.landlord("wanjiru@example.co.ke").await;
    setup_lease(&app, &token, None).await;
    warm(&app, DASHBOARD, &token).await;

    let stats = app.get(STATS, &token).await;
    assert_eq!(stats.status, StatusCode::FORBIDDEN, "{}", stats.body);
    for body in [None, Some("{}")] {
        let cleared = clear(&app, &token, body).await;
        assert_eq!(cleared.status, StatusCode::FORBIDDEN, "{}", cleared.body);
    }
    let anonymous = app.send(app.client.post(app.url(CLEAR))).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    // Nothing was cleared.
    let still = read(&app, DASHBOARD, &token).await.ok(DASHBOARD);
    assert_eq!(still.x_cache, "HIT-L1");
}

async fn the_stats_count_each_request(app: TestApp) {
    let admin = app.admin("ops@mfuko.local").await;
    let (_, token) = app.landlord("wanjiru@example.co.ke").await;
    setup_lease(&app, &token, None).await;
    let financial = financial_this_month();

    let before = cache_stats(&app, &admin).await;
    assert_eq!(before["enabled"], true, "{before}");
    let tiers: Vec<String> = [
        read(&app, DASHBOARD, &token).await,
        read(&app, DASHBOARD, &token).await,
        read(&app, DASHBOARD, &token).await,
        read(&app, &financial, &token).await,
    ]
    .into_iter()
    .map(|read| read.ok("a cached view").x_cache)
    .collect();
    assert_eq!(tiers, ["MISS", "HIT-L1", "HIT-L1", "MISS"]);
    let after = cache_stats(&app, &admin).await;

    let dashboard = |field| moved(&before, &after, "dashboard", field);
    assert_eq!(dashboard("requests"), 3, "{after}");
    assert_eq!(dashboard("misses"), 1, "{after}");
    assert_eq!(dashboard("hits_l1"), 2, "{after}");
    assert_eq!(dashboard("loads"), 1, "{after}");
    assert_eq!(dashboard("stale"), 0, "{after}");
    assert_eq!(moved(&before, &after, "report_financial", "requests"), 1);
    assert_eq!(moved(&before, &after, "report_financial", "misses"), 1);
    assert_eq!(moved(&before, &after, "report_occupancy", "requests"), 0);
    let hit_rate = view_stats(&after, "dashboard")["hit_rate"]
        .as_f64()
        .expect("a hit rate once requested");
    assert!((0.0..=1.0).contains(&hit_rate) && hit_rate > 0.0, "{after}");
    assert!(n(&after, "/l1/items") >= 2, "two entries cached: {after}");
    assert!(n(&after, "/l1/bytes") > 0, "{after}");
}

async fn clearing_everything_makes_the_next_read_a_miss(app: TestApp) {
    let admin = app.admin("ops@mfuko.local").await;
    let (_, token) = app.landlord("wanjiru@example.co.ke").await;
    setup_lease(&app, &token, None).await;
    let dashboard = warm(&app, DASHBOARD, &token).await;
    let arrears = warm(&app, ARREARS, &token).await;

    let cleared = clear(&app, &admin, None).await;
    assert_eq!(cleared.status, StatusCode::OK, "{}", cleared.body);
    assert_eq!(n(&cache_stats(&app, &admin).await, "/l1/items"), 0);

    for (path, before) in [(DASHBOARD, &dashboard), (ARREARS, &arrears)] {
        let now = read(&app, path, &token).await.ok(path);
        assert_eq!(now.x_cache, "MISS", "GET {path} after a full clear");
        assert_eq!(&now.json(), before, "same data, reloaded");
        assert_eq!(read(&app, path, &token).await.x_cache, "HIT-L1");
    }
}

async fn clearing_a_pattern_drops_only_matching_entries(app: TestApp) {
    let admin = app.admin("ops@mfuko.local").await;
    let (_, token) = app.landlord("wanjiru@example.co.ke").await;
    setup_lease(&app, &token, None).await;
    let financial = financial_this_month();
    warm(&app, DASHBOARD, &token).await;
    warm(&app, &financial, &token).await;
    warm(&app, ARREARS, &token).await;
    warm(&app, METRICS, &token).await;

    let cleared = clear(&app, &admin, Some(r#"{"pattern":"report:*"}"#)).await;
    assert_eq!(cleared.status, StatusCode::OK, "{}", cleared.body);

    for path in [financial.as_str(), ARREARS] {
        assert_eq!(
            read(&app, path, &token).await.ok(path).x_cache,
            "MISS",
            "GET {path} matched report:*"
        );
    }
    for path in [DASHBOARD, METRICS] {
        assert_eq!(
            read(&app, path, &token).await.ok(path).x_cache,
            "HIT-L1",
            "GET {path} does not match report:*"
        );
    }
}

async fn clearing_a_landlord_drops_only_their_entries(app: TestApp) {
    let admin = app.admin("ops@mfuko.local").await;
    let (a, token_a) = app.landlord("wanjiru@example.co.ke").await;
    let (_, token_b) = app.landlord("otieno@example.co.ke").await;
    setup_lease(&app, &token_a, None).await;
    setup_lease(&app, &token_b, None).await;
    for token in [&token_a, &token_b] {
        warm(&app, DASHBOARD, token).await;
        warm(&app, ARREARS, token).await;
    }

    let cleared = clear(&app, &admin, Some(&json!({ "landlord_id": a }).to_string())).await;
    assert_eq!(cleared.status, StatusCode::OK, "{}", cleared.body);

    for path in [DASHBOARD, ARREARS] {
        assert_eq!(read(&app, path, &token_a).await.ok(path).x_cache, "MISS");
        assert_eq!(read(&app, path, &token_b).await.ok(path).x_cache, "HIT-L1");
    }
}

async fn a_bad_clear_request_is_refused_and_clears_nothing(app: TestApp) {
    let admin = app.admin("ops@mfuko.local").await;
    let (landlord, token) = app.landlord("wanjiru@example.co.ke").await;
    setup_lease(&app, &token, None).await;
    warm(&app, DASHBOARD, &token).await;

    let both = json!({ "pattern": "report:*", "landlord_id": landlord }).to_string();
    for body in [
        r#"{"pattern":""}"#,
        r#"{"pattern":"report:*","bogus":1}"#,
        r#"{"everything":true}"#,
        r#"{"landlord_id":"one"}"#,
        both.as_str(),
    ] {
        let reply = clear(&app, &admin, Some(body)).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            reply.body
        );
        assert!(!reply.code().is_empty(), "{body}: {}", reply.body);
    }
    // Broken JSON is a 400, as on every other route.
    for body in ["not json", r#"{"pattern":"#] {
        let reply = clear(&app, &admin, Some(body)).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{body}: {}",
            reply.body
        );
        assert_eq!(reply.code(), "malformed_json", "{body}: {}", reply.body);
    }
    assert_eq!(
        read(&app, DASHBOARD, &token).await.ok(DASHBOARD).x_cache,
        "HIT-L1",
        "a refused clear clears nothing"
    );
}

// ------------------------------------------------------------- single-flight

async fn concurrent_cold_reads_run_one_load(app: TestApp) {
    let admin = app.admin("ops@mfuko.local").await;
    let (_, token) = app.landlord("wanjiru@example.co.ke").await;
    let fixture = setup_lease(&app, &token, None).await;
    // A little data, so the load takes a moment.
    for i in 0..5 {
        let unit = new_unit(&app, &token, fixture.property, &format!("B{i}")).await;
        let tenant = new_tenant(&app, &token, &format!("Tenant {i}"), "+254722000111").await;
        app.create(
            "/api/v1/leases",
            &token,
            json!({ "unit_id": unit, "tenant_id": tenant, "rent": 1_000_000 + i,
                    "due_day": 1, "start_date": "2024-01-01" }),
        )
        .await;
    }
    // A burst whose reads all arrive after the load has finished is sequential in effect and
    // proves nothing about single-flight; on a busy machine that can happen, so try again.
    const BURSTS: usize = 5;
    let mut burst = 0;
    let (reads, before, after) = loop {
        burst += 1;
        // Cold again; the token is checked once before the burst, as in normal use.
        clear(&app, &admin, None).await.expect(StatusCode::OK);
        read(&app, PROPERTIES, &token).await.ok(PROPERTIES);
        let before = cache_stats(&app, &admin).await;
        let reads = join_all((0..50).map(|_| read(&app, DASHBOARD, &token))).await;
        let after = cache_stats(&app, &admin).await;
        if moved(&before, &after, "dashboard", "coalesced") > 0 || burst == BURSTS {
            break (reads, before, after);
        }
    };

    let first = &reads[0];
    for read in &reads {
        assert_eq!(
            read.status,
            StatusCode::OK,
            "{}",
            String::from_utf8_lossy(&read.raw)
        );
        assert_eq!(read.raw, first.raw, "every reader gets the same body");
        assert_eq!(read.etag, first.etag);
    }
    assert_eq!(n(&first.json(), "/counts/active_leases"), 6);
    let misses = reads.iter().filter(|read| read.x_cache == "MISS").count();
    let hits = reads.iter().filter(|read| read.x_cache == "HIT-L1").count();
    assert_eq!((misses, hits), (1, 49), "one load, the rest served from it");

    let dashboard = |field| moved(&before, &after, "dashboard", field);
    assert_eq!(dashboard("loads"), 1, "exactly one load: {after}");
    assert_eq!(dashboard("requests"), 50, "{after}");
    assert_eq!(dashboard("misses"), 1, "{after}");
    assert_eq!(dashboard("hits_l1"), 49, "{after}");
    // Those that waited for the load count as coalesced hits (the others found
    // the entry already there): at least one did, so the reads overlapped the
    // load and the single load above is single-flight at work.
    assert!(
        dashboard("coalesced") >= 1,
        "no read waited for the load in {BURSTS} bursts: {after}"
    );
}

// ----------------------------------------------- read-your-writes, concurrently

async fn every_read_after_an_acknowledged_write_reflects_it(app: TestApp) {
    const WRITES: i64 = 20;
    const READERS: usize = 4;
    const MAX_READS: usize = 1_000;

    let (_, token) = app.landlord("wanjiru@example.co.ke").await;
    let fixture = setup_lease(&app, &token, None).await;
    let baseline = n(&warm(&app, METRICS, &token).await, "/collected_this_month");

    let app = Arc::new(app);
    let token = Arc::new(token);
    // The collected total every write answered so far adds up to.
    let acknowledged = Arc::new(AtomicI64::new(baseline));
    let done = Arc::new(AtomicBool::new(false));

    let readers: Vec<_> = (0..READERS)
        .map(|_| {
            let (app, token) = (Arc::clone(&app), Arc::clone(&token));
            let (acknowledged, done) = (Arc::clone(&acknowledged), Arc::clone(&done));
            tokio::spawn(async move {
                // (acknowledged before sending, collected seen, X-Cache)
                let mut seen: Vec<(i64, i64, String)> = Vec::new();
                for _ in 0..MAX_READS {
                    let finished = done.load(Ordering::SeqCst);
                    let floor = acknowledged.load(Ordering::SeqCst);
                    let read = read(&app, METRICS, &token).await.ok(METRICS);
                    seen.push((
                        floor,
                        n(&read.json(), "/collected_this_month"),
                        read.x_cache,
                    ));
                    if finished {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                seen
            })
        })
        .collect();

    let writer = {
        let (app, token) = (Arc::clone(&app), Arc::clone(&token));
        let acknowledged = Arc::clone(&acknowledged);
        tokio::spawn(async move {
            let mut total = baseline;
            for i in 0..WRITES {
                let amount = 10_000 + i * 100;
                cash_payment(&app, &token, fixture.lease, amount, "confirmed").await;
                total += amount;
                acknowledged.store(total, Ordering::SeqCst);
            }
            total
        })
    };
    let expected = writer.await.expect("the writer finishes");
    done.store(true, Ordering::SeqCst);

    let mut during = 0;
    let mut reads = 0;
    for reader in readers {
        let seen = reader.await.expect("a reader finishes");
        for (floor, collected, tier) in &seen {
            assert!(
                collected >= floor,
                "a read sent after writes totalling {floor} were acknowledged saw {collected} ({tier})"
            );
            assert!(
                *collected <= expected,
                "more than was ever paid: {collected}"
            );
            if *floor > baseline && *floor < expected {
                during += 1;
            }
        }
        let last = seen.last().expect("at least one read");
        assert_eq!(last.1, expected, "the reader's read after the last write");
        reads += seen.len();
    }
    assert!(during > 0, "no read overlapped the writes ({reads} reads)");

    let last = read(&app, METRICS, &token).await.ok(METRICS);
    assert_eq!(n(&last.json(), "/collected_this_month"), expected);
    assert_eq!(
        expected - baseline,
        (0..WRITES).map(|i| 10_000 + i * 100).sum::<i64>()
    );
}

// ------------------------------------------------ servers with other settings

async fn a_server_with_the_cache_disabled_always_misses(app: TestApp) {
    let app = helpers::respawn_with(app, |settings| settings.cache.enabled = false).await;
    let admin = app.admin("ops@mfuko.local").await;
    let (_, token) = app.landlord("wanjiru@example.co.ke").await;
    let fixture = setup_lease(&app, &token, None).await;

    for path in [
        DASHBOARD,
        METRICS,
        OCCUPANCY,
        ARREARS,
        PAYMENTS,
        PROPERTIES,
        TENANTS,
        financial_this_month().as_str(),
    ] {
        let first = read(&app, path, &token).await.ok(path);
        let second = read(&app, path, &token).await.ok(path);
        assert_eq!(
            (first.x_cache.as_str(), second.x_cache.as_str()),
            ("MISS", "MISS"),
            "GET {path}"
        );
        assert_eq!(first.raw, second.raw, "GET {path}");
    }
    let before = read(&app, DASHBOARD, &token).await.ok(DASHBOARD).json();
    assert_eq!(n(&before, "/counts/units"), 1);
    assert_eq!(n(&before, "/arrears/total_arrears"), helpers::DEPOSIT);

    cash_payment(&app, &token, fixture.lease, 300_000, "confirmed").await;
    new_unit(&app, &token, fixture.property, "A2").await;
    let now = after_write(&app, DASHBOARD, &token).await;
    assert_eq!(change(&before, &now, "/financial/total/collected"), 300_000);
    assert_eq!(change(&before, &now, "/arrears/total_arrears"), -300_000);
    assert_eq!(change(&before, &now, "/counts/units"), 1);

    let stats = cache_stats(&app, &admin).await;
    assert_eq!(stats["enabled"], false, "{stats}");
    assert_eq!(n(&stats, "/l1/items"), 0, "nothing stored: {stats}");
    let dashboard = view_stats(&stats, "dashboard");
    assert_eq!(n(dashboard, "/hits_l1"), 0, "{stats}");
    assert_eq!(
        n(dashboard, "/misses"),
        n(dashboard, "/requests"),
        "{stats}"
    );
}

/// Polls `path` until its `X-Cache` is `tier` (bounded), returning that read.
async fn until_tier(app: &TestApp, path: &str, token: &str, tier: &str) -> Read {
    for _ in 0..200 {
        let read = read(app, path, token).await.ok(path);
        if read.x_cache == tier {
            return read;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("GET {path} never became {tier}");
}

/// Sleeps until `at`.
async fn sleep_until(at: Instant) {
    tokio::time::sleep(at.saturating_duration_since(Instant::now())).await;
}

async fn an_expired_entry_is_served_stale_while_one_refresh_runs(app: TestApp) {
    let app = helpers::respawn_with(app, |settings| {
        settings.cache.ttl_metrics_secs = 1;
        settings.cache.stale_secs = 2;
        settings.cache.jitter_pct = 0;
    })
    .await;
    let (_, token) = app.landlord("wanjiru@example.co.ke").await;
    let fixture = setup_lease(&app, &token, None).await;

    // t = 0: loaded; fresh for 1 s, then servable stale for 2 s more (moka
    // keeps it until at most `loaded_at + 3 s`).
    let start = Instant::now();
    let loaded = read(&app, METRICS, &token).await.ok(METRICS);
    assert_eq!(loaded.x_cache, "MISS");
    let loaded_at = Instant::now();

    // Past the TTL: served stale (same bytes) while one refresh runs, which
    // then serves as a fresh hit.
    sleep_until(start + Duration::from_millis(1_300)).await;
    let stale_sent = Instant::now();
    let stale = read(&app, METRICS, &token).await.ok(METRICS);
    assert_eq!(stale.x_cache, "STALE");
    assert_eq!(stale.raw, loaded.raw);
    until_tier(&app, METRICS, &token, "HIT-L1").await;
    // The refresh was stored between `stale_sent` and now.
    let refreshed_by = Instant::now();

    // The refreshed entry has a TTL and stale window of its own, counted
    // from the refresh: read it past its TTL (≤ refreshed_by + 1 s) and past
    // the replaced entry's deadline (≤ loaded_at + 3 s), but inside its own
    // stale window (≥ stale_sent + 3 s): it is served stale again, not
    // dropped at the deadline of the entry it replaced.
    let at = (loaded_at + Duration::from_secs(3)).max(refreshed_by + Duration::from_secs(1))
        + Duration::from_millis(150);
    assert!(
        at + Duration::from_millis(300) < stale_sent + Duration::from_secs(3),
        "the refresh took too long to check anything"
    );
    sleep_until(at).await;
    let again = read(&app, METRICS, &token).await.ok(METRICS);
    assert_eq!(
        again.x_cache, "STALE",
        "the refreshed entry outlives the deadline of the entry it replaced"
    );
    assert_eq!(again.raw, loaded.raw);
    until_tier(&app, METRICS, &token, "HIT-L1").await;

    // Never stale across an invalidation: an entry being served stale (its
    // refresh racing the write) is not what a read after the write gets.
    sleep_until(Instant::now() + Duration::from_millis(1_100)).await;
    let expired = read(&app, METRICS, &token).await.ok(METRICS);
    assert_eq!(expired.x_cache, "STALE");
    cash_payment(&app, &token, fixture.lease, 5_000, "confirmed").await;
    let now = after_write(&app, METRICS, &token).await;
    assert_eq!(change(&loaded.json(), &now, "/collected_this_month"), 5_000);
}

/// Warming computes the dashboards of the landlords with recent payments,
/// so their next read is a hit with the current numbers.
async fn warming_precomputes_the_dashboards_of_active_landlords(app: TestApp) {
    let (_, token) = app.landlord("warm@example.co.ke").await;
    let fixture = setup_lease(&app, &token, None).await;
    cash_payment(&app, &token, fixture.lease, 12_345, "confirmed").await;
    let admin = app.admin("ops-warm@example.co.ke").await;
    let (_, quiet) = app.landlord("quiet@example.co.ke").await;

    let warmed = app
        .post("/api/v1/admin/cache/warm", &admin, json!({}))
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        warmed["dashboards"], 1,
        "only the landlord with payments: {warmed}"
    );
    let dashboard = read(&app, DASHBOARD, &token).await.ok(DASHBOARD);
    assert_eq!(dashboard.x_cache, "HIT-L1");
    assert_eq!(dashboard.json()["metrics"]["collected_this_month"], 12_345);
    assert_eq!(
        read(&app, DASHBOARD, &quiet).await.ok(DASHBOARD).x_cache,
        "MISS"
    );
    let forbidden = app
        .post("/api/v1/admin/cache/warm", &token, json!({}))
        .await;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN);
}

crate::on_both_databases!(
    the_dashboard_misses_then_hits_with_a_strong_etag_and_304s,
    every_cached_read_misses_then_hits_and_honours_if_none_match,
    arrears_as_of_different_days_are_different_entries,
    creating_a_property_shows_at_once,
    creating_a_unit_shows_at_once,
    taking_a_unit_off_the_market_shows_at_once,
    creating_a_tenant_shows_at_once,
    a_tenant_status_change_shows_at_once,
    creating_a_lease_shows_at_once,
    ending_a_lease_shows_at_once,
    creating_a_charge_shows_at_once,
    voiding_a_charge_shows_at_once,
    the_charge_run_shows_at_once,
    a_payment_shows_at_once,
    confirming_a_pending_payment_shows_at_once,
    reversing_a_payment_shows_at_once,
    an_mpesa_confirmation_shows_at_once,
    one_landlords_writes_leave_anothers_entries_cached,
    the_cache_admin_routes_are_for_admins_only,
    the_stats_count_each_request,
    clearing_everything_makes_the_next_read_a_miss,
    clearing_a_pattern_drops_only_matching_entries,
    clearing_a_landlord_drops_only_their_entries,
    a_bad_clear_request_is_refused_and_clears_nothing,
    concurrent_cold_reads_run_one_load,
    every_read_after_an_acknowledged_write_reflects_it,
    a_server_with_the_cache_disabled_always_misses,
    an_expired_entry_is_served_stale_while_one_refresh_runs,
    warming_precomputes_the_dashboards_of_active_landlords,
);
