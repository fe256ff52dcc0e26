//! The web app, over HTTP as a browser uses it (cookies and forms, no
//! redirects followed): sign-in with its CSRF check, the dashboard showing
//! the API's figures, a payment changing them, isolation, sign-out revoking
//! the session, and the accessibility basics of every page.

use reqwest::{StatusCode, header};
use serde_json::json;

use crate::helpers::{TestApp, setup_lease};

/// A browser: no redirects followed, cookies kept by hand.
struct Browser {
    client: reqwest::Client,
    base: String,
    cookies: Vec<(String, String)>,
}

struct Page {
    status: StatusCode,
    location: Option<String>,
    set_cookies: Vec<String>,
    etag: Option<String>,
    html: String,
}

impl Browser {
    fn new(app: &TestApp) -> Browser {
        Browser {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            base: app.url(""),
            cookies: Vec::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> Page {
        let response = request
            .header(header::COOKIE, self.cookie_header())
            .send()
            .await
            .expect("request");
        let set_cookies: Vec<String> = response
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|value| value.to_str().expect("ascii cookie").to_owned())
            .collect();
        for cookie in &set_cookies {
            let pair = cookie.split(';').next().expect("a pair");
            let (name, value) = pair.split_once('=').expect("name=value");
            self.cookies.retain(|(known, _)| known != name);
            if !value.is_empty() {
                self.cookies.push((name.to_owned(), value.to_owned()));
            }
        }
        Page {
            status: response.status(),
            location: response
                .headers()
                .get(header::LOCATION)
                .map(|value| value.to_str().expect("location").to_owned()),
            etag: response
                .headers()
                .get(header::ETAG)
                .map(|value| value.to_str().expect("etag").to_owned()),
            set_cookies,
            html: response.text().await.expect("body"),
        }
    }

    async fn get(&mut self, path: &str) -> Page {
        let request = self.client.get(format!("{}{path}", self.base));
        self.send(request).await
    }

    /// A GET that names the page it holds (`If-None-Match`).
    async fn revalidate(&mut self, path: &str, etag: &str) -> Page {
        let request = self
            .client
            .get(format!("{}{path}", self.base))
            .header(header::IF_NONE_MATCH, etag);
        self.send(request).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let request = self.client.post(format!("{}{path}", self.base)).form(form);
        self.send(request).await
    }
}

/// The value of the first `name="csrf"` field of a page.
fn csrf(html: &str) -> String {
    let start = html.find(r#"name="csrf" value=""#).expect("a csrf field") + 19;
    html[start..start + html[start..].find('"').expect("end of value")].to_owned()
}

/// The text of the element with `id`.
fn text_of(html: &str, id: &str) -> String {
    let start = html.find(&format!(r#"id="{id}">"#)).expect("the element") + id.len() + 6;
    html[start..start + html[start..].find('<').expect("end of text")].to_owned()
}

/// Every visible form field has a label, every chart a text alternative.
fn assert_accessible(html: &str) {
    for input in html.split("<input").skip(1) {
        let tag = &input[..input.find('>').expect("end of tag")];
        if tag.contains(r#"type="hidden""#) {
            continue;
        }
        let id_start = tag.find(r#"id=""#).expect("a field without an id") + 4;
        let id = &tag[id_start..id_start + tag[id_start..].find('"').expect("id end")];
        assert!(
            html.contains(&format!(r#"<label for="{id}">"#)),
            "field {id} has no label"
        );
    }
    for svg in html.split("<svg").skip(1) {
        assert!(
            svg.starts_with(r#" viewBox"#) && svg.contains(r#"role="img""#),
            "chart without role"
        );
        assert!(svg.contains("<title"), "chart without a title");
        assert!(svg.contains("<desc"), "chart without a description");
    }
}

async fn sign_in(browser: &mut Browser, email: &str, password: &str) -> Page {
    let form = browser.get("/login").await;
    assert_eq!(form.status, StatusCode::OK);
    assert_accessible(&form.html);
    let token = csrf(&form.html);
    browser
        .post(
            "/login",
            &[("email", email), ("password", password), ("csrf", &token)],
        )
        .await
}

async fn the_dashboard_page_shows_the_apis_figures_and_sign_out_ends_the_session(app: TestApp) {
    let (_, api) = app.landlord("wanjiru@example.co.ke").await;
    let lease = setup_lease(&app, &api, None).await.lease;
    app.post(
        "/api/v1/payments",
        &api,
        json!({ "lease_id": lease, "amount": 150_000, "method": "cash" }),
    )
    .await
    .expect(StatusCode::CREATED);
    let mut browser = Browser::new(&app);

    // Signed out, everything leads to the sign-in page.
    for path in ["/", "/dashboard"] {
        let page = browser.get(path).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(page.location.as_deref(), Some("/login"), "{path}");
    }

    // A forged or missing CSRF token is refused, a wrong password too.
    let form = browser.get("/login").await;
    let token = csrf(&form.html);
    let forged = browser
        .post(
            "/login",
            &[
                ("email", "wanjiru@example.co.ke"),
                ("password", "secret-pw"),
                ("csrf", "0123"),
            ],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let wrong = browser
        .post(
            "/login",
            &[
                ("email", "wanjiru@example.co.ke"),
                ("password", "nope"),
                ("csrf", &token),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.html.contains("do not match"));

    let signed = sign_in(&mut browser, "wanjiru@example.co.ke", "secret-pw").await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER);
    assert_eq!(signed.location.as_deref(), Some("/dashboard"));
    let session = signed
        .set_cookies
        .iter()
        .find(|cookie| cookie.starts_with("mfuko_session="))
        .expect("a session cookie");
    assert!(
        session.contains("HttpOnly") && session.contains("SameSite=Lax"),
        "{session}"
    );

    // The collected figure is the API's, formatted.
    let dashboard = browser.get("/dashboard").await;
    assert_eq!(dashboard.status, StatusCode::OK);
    assert_accessible(&dashboard.html);
    let api_dashboard = app
        .get("/api/v1/dashboard", &api)
        .await
        .expect(StatusCode::OK);
    assert_eq!(api_dashboard["metrics"]["collected_this_month"], 150_000);
    assert_eq!(
        text_of(&dashboard.html, "collected-this-month"),
        "KES 1,500.00"
    );
    assert!(dashboard.html.contains("Arrears by age"));

    // A payment shows on the next load.
    app.post(
        "/api/v1/payments",
        &api,
        json!({ "lease_id": lease, "amount": 123_456_700, "method": "bank", "reference": "FT26335ABC" }),
    )
    .await
    .expect(StatusCode::CREATED);
    let dashboard = browser.get("/dashboard").await;
    assert_eq!(
        text_of(&dashboard.html, "collected-this-month"),
        "KES 1,236,067.00"
    );

    // Pages are revalidated by ETag: the same page is a 304, a changed one
    // (after the next payment) is sent whole.
    let etag = dashboard.etag.clone().expect("the page's ETag");
    let unchanged = browser.revalidate("/dashboard", &etag).await;
    assert_eq!(unchanged.status, StatusCode::NOT_MODIFIED);
    assert!(unchanged.html.is_empty());

    // The payment form: a forged token is refused, a bad amount explained,
    // a good one recorded (and shown on the dashboard).
    let payments = browser.get("/payments").await;
    assert_eq!(payments.status, StatusCode::OK);
    assert_accessible(&payments.html);
    let token = csrf(&payments.html);
    let lease_field = lease.to_string();
    let forged = browser
        .post(
            "/payments",
            &[
                ("csrf", "forged"),
                ("lease_id", &lease_field),
                ("amount", "100"),
                ("method", "cash"),
            ],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let bad = browser
        .post(
            "/payments",
            &[
                ("csrf", &token),
                ("lease_id", &lease_field),
                ("amount", "ten"),
                ("method", "cash"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.html.contains("Enter the amount"));
    let recorded = browser
        .post(
            "/payments",
            &[
                ("csrf", &token),
                ("lease_id", &lease_field),
                ("amount", "1,000"),
                ("method", "cash"),
            ],
        )
        .await;
    assert_eq!(recorded.status, StatusCode::SEE_OTHER);
    let dashboard = browser.revalidate("/dashboard", &etag).await;
    assert_eq!(dashboard.status, StatusCode::OK, "the page changed");
    assert_eq!(
        text_of(&dashboard.html, "collected-this-month"),
        "KES 1,237,067.00"
    );

    // Tenants: search by name (any case) or phone (as people type it), and
    // add one through the form.
    for query in ["wanjiru", "0712345678", "254%20712"] {
        let found = browser.get(&format!("/tenants?q={query}")).await;
        assert_eq!(found.status, StatusCode::OK);
        assert!(found.html.contains("Wanjiru Kamau"), "search {query}");
    }
    assert_accessible(&browser.get("/tenants").await.html);
    let none = browser.get("/tenants?q=%25").await;
    assert!(!none.html.contains("Wanjiru Kamau"), "% is literal text");
    let tenants = browser.get("/tenants").await;
    let token = csrf(&tenants.html);
    let bad = browser
        .post(
            "/tenants",
            &[
                ("csrf", &token),
                ("name", "Achieng Otieno"),
                ("phone", "not a phone"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let added = browser
        .post(
            "/tenants",
            &[
                ("csrf", &token),
                ("name", "Achieng Otieno"),
                ("phone", "0722 000 111"),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER);
    let listed = browser
        .get(added.location.as_deref().expect("location"))
        .await;
    assert!(listed.html.contains("Achieng Otieno") && listed.html.contains("+254722000111"));

    // Reports: the page, and each report as CSV with the API's figures.
    let reports = browser.get("/reports").await;
    assert_eq!(reports.status, StatusCode::OK);
    assert_accessible(&reports.html);
    assert!(
        reports.html.contains("KES 1,237,067.00"),
        "the month's collected total"
    );
    let financial = app
        .get("/api/v1/reports/financial", &api)
        .await
        .expect(StatusCode::OK);
    let collected = financial["total"]["collected"].as_i64().expect("collected");
    let csv = browser.get("/reports/financial.csv").await;
    assert_eq!(csv.status, StatusCode::OK);
    let lines: Vec<&str> = csv.html.lines().collect();
    assert_eq!(
        lines[0],
        "scope,key,billed,collected,outstanding,collection_pct"
    );
    let total: Vec<&str> = lines.last().expect("a total row").split(',').collect();
    assert_eq!(total[0], "total");
    assert_eq!(
        total[3],
        format!("{}.{:02}", collected / 100, collected % 100)
    );
    let arrears = browser.get("/reports/arrears.csv").await;
    assert!(
        arrears
            .html
            .starts_with("lease_id,property_id,unit,tenant,balance")
    );
    // She has paid ahead: nobody is in arrears.
    assert_eq!(arrears.html.lines().count(), 1, "{}", arrears.html);
    assert_eq!(
        browser.get("/reports/secrets.csv").await.status,
        StatusCode::NOT_FOUND
    );

    // Another landlord sees only their own figures.
    app.landlord("otieno@example.co.ke").await;
    let mut other = Browser::new(&app);
    sign_in(&mut other, "otieno@example.co.ke", "secret-pw").await;
    let theirs = other.get("/dashboard").await;
    assert_eq!(text_of(&theirs.html, "collected-this-month"), "KES 0.00");
    assert!(!theirs.html.contains("Wanjiru"));
    // Wanjiru's property: hers to open, not found for the other landlord.
    let properties = browser.get("/properties").await;
    let property = properties
        .html
        .split(r#"href="/properties/"#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a property link")
        .to_owned();
    let own = browser.get(&format!("/properties/{property}")).await;
    assert_eq!(own.status, StatusCode::OK);
    assert!(own.html.contains("Kilimani Heights"));
    let foreign = other.get(&format!("/properties/{property}")).await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
    assert!(!foreign.html.contains("Kilimani"));
    let their_search = other.get("/tenants?q=wanjiru").await;
    assert!(
        !their_search.html.contains("Wanjiru"),
        "another landlord's tenant"
    );
    let their_financial = other.get("/reports/financial.csv").await;
    let their_total = their_financial
        .html
        .lines()
        .last()
        .expect("a total row")
        .to_owned();
    assert!(
        their_total.starts_with("total,") && their_total.contains(",0.00,0.00,0.00,"),
        "{their_total}"
    );

    // Sign-out needs the page's CSRF token, then revokes the session.
    let token = csrf(&dashboard.html);
    let forged = browser.post("/logout", &[("csrf", "forged")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let old_session = browser.cookie_header();
    let out = browser.post("/logout", &[("csrf", &token)]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.location.as_deref(), Some("/login"));
    assert!(
        out.set_cookies
            .iter()
            .any(|cookie| cookie.starts_with("mfuko_session=;"))
    );
    // The old cookie no longer opens anything.
    let replay = browser
        .send(
            browser
                .client
                .get(format!("{}/dashboard", browser.base))
                .header(header::COOKIE, old_session),
        )
        .await;
    assert_eq!(replay.status, StatusCode::SEE_OTHER);
}

async fn the_operator_page_is_for_admins_and_its_buttons_need_the_csrf_token(app: TestApp) {
    app.admin("ops@example.co.ke").await;
    let (landlord_id, api) = app.landlord("wanjiru@example.co.ke").await;
    crate::helpers::new_property(&app, &api, "Kilimani Heights").await;
    let mut landlord = Browser::new(&app);
    sign_in(&mut landlord, "wanjiru@example.co.ke", "secret-pw").await;
    assert_eq!(
        landlord.get("/operator").await.status,
        StatusCode::FORBIDDEN
    );
    let dashboard = landlord.get("/dashboard").await;
    let token = csrf(&dashboard.html);
    let refused = landlord
        .post("/operator/cache/clear", &[("csrf", &token)])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    let mut admin = Browser::new(&app);
    let signed = sign_in(&mut admin, "ops@example.co.ke", "admin-pw").await;
    assert_eq!(signed.location.as_deref(), Some("/operator"));
    let page = admin.get("/operator").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_accessible(&page.html);
    assert!(page.html.contains("dashboard") && page.html.contains("writer"));
    assert!(page.html.contains(r#"href="/metrics""#) && page.html.contains(r#"href="/docs""#));
    // The landlord's new property is the latest invalidation.
    let recent = page
        .html
        .split("Recent invalidations")
        .nth(1)
        .expect("the invalidations section");
    assert!(
        recent.contains(&format!(
            "<td>{landlord_id}</td><td>properties</td><td>write here</td>"
        )),
        "{recent}"
    );
    let forged = admin
        .post("/operator/cache/clear", &[("csrf", "forged")])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let token = csrf(&page.html);
    let cleared = admin
        .post("/operator/cache/clear", &[("csrf", &token)])
        .await;
    assert_eq!(cleared.status, StatusCode::SEE_OTHER);
    let after = admin
        .get(cleared.location.as_deref().expect("back to the page"))
        .await;
    assert!(after.html.contains("The cache was cleared"));
    assert!(
        after
            .html
            .contains("<td>every landlord</td><td>every cached view</td><td>admin clear</td>")
    );
    let warmed = admin
        .post("/operator/cache/warm", &[("csrf", &token)])
        .await;
    assert_eq!(warmed.status, StatusCode::SEE_OTHER);
    assert!(
        warmed
            .location
            .expect("location")
            .starts_with("/operator?done=warmed-")
    );
}

/// The first number after `prefix` in `text` (an id in a link or Location).
fn id_after(text: &str, prefix: &str) -> i64 {
    let start = text
        .find(prefix)
        .unwrap_or_else(|| panic!("no {prefix} in {text}"))
        + prefix.len();
    let digits: String = text[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().expect("an id")
}

/// Properties, units, tenants, leases, payment filters, suspense allocation
/// and the tenant statement, each changed through its form and checked
/// through the API (the same write path), with CSRF, 422 explanations and
/// another landlord's records answering 404.
async fn the_working_pages_change_data_through_the_apis_writes(app: TestApp) {
    let (_, api) = app.landlord("wanjiru@example.co.ke").await;
    app.landlord("otieno@example.co.ke").await;
    let mut browser = Browser::new(&app);
    sign_in(&mut browser, "wanjiru@example.co.ke", "secret-pw").await;
    let mut other = Browser::new(&app);
    sign_in(&mut other, "otieno@example.co.ke", "secret-pw").await;
    let other_token = csrf(&other.get("/dashboard").await.html);

    // A property through its form.
    let page = browser.get("/properties").await;
    assert_accessible(&page.html);
    let token = csrf(&page.html);
    let forged = browser
        .post("/properties", &[("csrf", "forged"), ("name", "Nope")])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let unnamed = browser
        .post("/properties", &[("csrf", &token), ("name", "  ")])
        .await;
    assert_eq!(unnamed.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unnamed.html.contains(r#"class="error""#));
    let added = browser
        .post(
            "/properties",
            &[
                ("csrf", &token),
                ("name", "Riverside Court"),
                ("address", "Riverside Dr"),
                ("county", "Nairobi"),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER);
    let property_path = added.location.expect("to the property");
    let property = id_after(&property_path, "/properties/");
    assert_eq!(
        app.get(&format!("/api/v1/properties/{property}"), &api)
            .await
            .expect(StatusCode::OK)["address"],
        "Riverside Dr"
    );

    // Units: a bad rent is explained, a good unit added, then taken off
    // the market on its page.
    let units_path = format!("{property_path}/units");
    let bad_rent = browser
        .post(
            &units_path,
            &[("csrf", &token), ("label", "R1"), ("market_rent", "lots")],
        )
        .await;
    assert_eq!(bad_rent.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad_rent.html.contains("market rent in shillings"));
    for label in ["R1", "R2"] {
        let unit = browser
            .post(
                &units_path,
                &[
                    ("csrf", &token),
                    ("label", label),
                    ("market_rent", "18,500"),
                ],
            )
            .await;
        assert_eq!(unit.status, StatusCode::SEE_OTHER, "{label}");
    }
    let page = browser.get(&property_path).await;
    assert_accessible(&page.html);
    assert!(page.html.contains("KES 18,500.00"));
    let r2 = id_after(
        page.html
            .split(">R2<")
            .next()
            .expect("R2 listed")
            .rsplit("/units/")
            .next()
            .expect("link"),
        "",
    );
    let unit_page = browser.get(&format!("/units/{r2}")).await;
    assert_eq!(unit_page.status, StatusCode::OK);
    assert_accessible(&unit_page.html);
    let off = browser
        .post(
            &format!("/units/{r2}"),
            &[
                ("csrf", &token),
                ("label", "R2"),
                ("market_rent", "19000"),
                ("off_market", "on"),
            ],
        )
        .await;
    assert_eq!(off.status, StatusCode::SEE_OTHER);
    let unit = app
        .get(&format!("/api/v1/units/{r2}"), &api)
        .await
        .expect(StatusCode::OK);
    assert_eq!(unit["off_market"], true);
    assert_eq!(unit["market_rent"], 1_900_000);
    assert_eq!(
        other.get(&property_path).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        other.get(&format!("/units/{r2}")).await.status,
        StatusCode::NOT_FOUND
    );
    let foreign_edit = other
        .post(
            &format!("/units/{r2}"),
            &[("csrf", &other_token), ("label", "X"), ("market_rent", "1")],
        )
        .await;
    assert_eq!(foreign_edit.status, StatusCode::NOT_FOUND);

    // A tenant, edited on their page.
    let added = browser
        .post(
            "/tenants",
            &[
                ("csrf", &token),
                ("name", "Achieng Otieno"),
                ("phone", "0722000111"),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER);
    let listed = browser.get("/tenants?q=achieng").await;
    let tenant = id_after(&listed.html, "/tenants/");
    let tenant_path = format!("/tenants/{tenant}");
    let page = browser.get(&tenant_path).await;
    assert_accessible(&page.html);
    let edited = browser
        .post(
            &tenant_path,
            &[
                ("csrf", &token),
                ("name", "Achieng Otieno"),
                ("phone", "0733 000 222"),
                ("national_id", "12345678"),
                ("status", "active"),
            ],
        )
        .await;
    assert_eq!(edited.status, StatusCode::SEE_OTHER);
    let shown = app
        .get(&format!("/api/v1/tenants/{tenant}"), &api)
        .await
        .expect(StatusCode::OK);
    assert_eq!(shown["phone"], "+254733000222");
    assert_eq!(shown["national_id"], "12345678");
    assert_eq!(other.get(&tenant_path).await.status, StatusCode::NOT_FOUND);

    // A lease started on R1 (the off-market R2 is not offered) at the
    // market rent, then ended.
    let page = browser.get(&format!("/leases?tenant_id={tenant}")).await;
    assert_accessible(&page.html);
    assert!(
        page.html.contains("R1") && !page.html.contains("R2 ("),
        "{}",
        page.html
    );
    let r1 = id_after(&page.html, r#"name="unit_id" required><option value=""#);
    let no_date = browser
        .post(
            "/leases",
            &[
                ("csrf", &token),
                ("unit_id", &r1.to_string()),
                ("tenant_id", &tenant.to_string()),
                ("start_date", "someday"),
            ],
        )
        .await;
    assert_eq!(no_date.status, StatusCode::UNPROCESSABLE_ENTITY);
    let started = browser
        .post(
            "/leases",
            &[
                ("csrf", &token),
                ("unit_id", &r1.to_string()),
                ("tenant_id", &tenant.to_string()),
                ("rent", ""),
                ("deposit", "37,000"),
                ("due_day", "5"),
                ("start_date", "2024-01-01"),
            ],
        )
        .await;
    assert_eq!(started.status, StatusCode::SEE_OTHER);
    let lease_path = started.location.expect("to the lease");
    let lease = id_after(&lease_path, "/leases/");
    let terms = app
        .get(&format!("/api/v1/leases/{lease}"), &api)
        .await
        .expect(StatusCode::OK);
    assert_eq!(terms["rent"], 1_850_000, "the unit's market rent");
    assert_eq!(terms["deposit"], 3_700_000);
    assert_eq!(terms["due_day"], 5);
    let page = browser.get(&lease_path).await;
    assert_accessible(&page.html);
    assert_eq!(other.get(&lease_path).await.status, StatusCode::NOT_FOUND);

    // Charges and payments for the statement and the payments page: one
    // charge voided, one payment pending (neither counts), a bank payment
    // and a suspense M-Pesa payment allocated through the page.
    for (period, due) in [
        ("2024-01", "2024-01-05"),
        ("2024-02", "2024-02-05"),
        ("2024-03", "2024-03-05"),
    ] {
        app.post(
            "/api/v1/charges",
            &api,
            json!({ "lease_id": lease, "period": period, "kind": "rent", "amount": 1_850_000, "due_date": due }),
        )
        .await
        .expect(StatusCode::CREATED);
    }
    let charges = app
        .list(&format!("/api/v1/charges?lease_id={lease}"), &api)
        .await;
    let voided = crate::helpers::id(&charges[2]);
    app.patch(
        &format!("/api/v1/charges/{voided}"),
        &api,
        json!({ "void": true }),
    )
    .await
    .expect(StatusCode::OK);
    for body in [
        json!({ "lease_id": lease, "amount": 2_000_000, "method": "bank", "reference": "FT24001", "paid_at": "2024-01-04T09:00:00+03:00" }),
        json!({ "lease_id": lease, "amount": 500_000, "method": "cash", "status": "pending", "paid_at": "2024-02-04T09:00:00+03:00" }),
        json!({ "amount": 700_000, "method": "mpesa", "reference": "SUS0000001", "payer": "ACHIENG O", "paid_at": "2024-02-06T09:00:00+03:00" }),
    ] {
        app.post("/api/v1/payments", &api, body)
            .await
            .expect(StatusCode::CREATED);
    }
    let page = browser.get("/payments").await;
    assert_accessible(&page.html);
    assert!(page.html.contains("Suspense") && page.html.contains("SUS0000001"));
    let suspense = id_after(&page.html, r#"action="/payments/"#);
    let bank_only = browser.get("/payments?method=bank").await;
    assert!(bank_only.html.contains("FT24001") && !bank_only.html.contains("SUS0000001</td><td>"));
    let pending_only = browser.get("/payments?status=pending").await;
    assert!(!pending_only.html.contains("FT24001") && pending_only.html.contains("KES 5,000.00"));
    let forged = browser
        .post(
            &format!("/payments/{suspense}/allocate"),
            &[("csrf", "forged"), ("lease_id", &lease.to_string())],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let stolen = other
        .post(
            &format!("/payments/{suspense}/allocate"),
            &[("csrf", &other_token), ("lease_id", &lease.to_string())],
        )
        .await;
    assert_eq!(stolen.status, StatusCode::NOT_FOUND);
    let allocated = browser
        .post(
            &format!("/payments/{suspense}/allocate"),
            &[("csrf", &token), ("lease_id", &lease.to_string())],
        )
        .await;
    assert_eq!(allocated.status, StatusCode::SEE_OTHER);
    let payment = app
        .get(&format!("/api/v1/payments/{suspense}"), &api)
        .await
        .expect(StatusCode::OK);
    assert_eq!(payment["lease_id"], lease);
    let again = browser
        .post(
            &format!("/payments/{suspense}/allocate"),
            &[("csrf", &token), ("lease_id", &lease.to_string())],
        )
        .await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        again.html.contains("allocated to a lease already"),
        "{}",
        again.html
    );

    // The statement: independent sums from the API's lists.
    let charges = app
        .list(&format!("/api/v1/charges?lease_id={lease}"), &api)
        .await;
    let charged: i64 = charges
        .iter()
        .filter(|charge| charge["void"] == false)
        .map(|charge| charge["amount"].as_i64().expect("amount"))
        .sum();
    let payments = app
        .list(&format!("/api/v1/payments?lease_id={lease}"), &api)
        .await;
    let paid: i64 = payments
        .iter()
        .filter(|payment| payment["status"] == "confirmed")
        .map(|payment| payment["amount"].as_i64().expect("amount"))
        .sum();
    // Two rents and the deposit (charged when the lease started).
    assert_eq!((charged, paid), (7_400_000, 2_700_000));
    let statement = browser.get(&format!("{tenant_path}/statement")).await;
    assert_eq!(statement.status, StatusCode::OK);
    assert_eq!(
        text_of(&statement.html, "statement-charged"),
        "KES 74,000.00"
    );
    assert_eq!(text_of(&statement.html, "statement-paid"), "KES 27,000.00");
    assert_eq!(
        text_of(&statement.html, "statement-balance"),
        "KES 47,000.00"
    );
    assert!(statement.html.contains("payment, M-Pesa SUS0000001"));
    assert_eq!(
        other.get(&format!("{tenant_path}/statement")).await.status,
        StatusCode::NOT_FOUND
    );

    // Ending the lease frees R1.
    let bad_end = browser
        .post(
            &format!("{lease_path}/end"),
            &[("csrf", &token), ("end_date", "2023-12-31")],
        )
        .await;
    assert_eq!(bad_end.status, StatusCode::UNPROCESSABLE_ENTITY);
    let ended = browser
        .post(
            &format!("{lease_path}/end"),
            &[("csrf", &token), ("end_date", "2024-03-31")],
        )
        .await;
    assert_eq!(ended.status, StatusCode::SEE_OTHER);
    let terms = app
        .get(&format!("/api/v1/leases/{lease}"), &api)
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        (terms["status"].as_str(), terms["end_date"].as_str()),
        (Some("ended"), Some("2024-03-31"))
    );
    let page = browser.get(&lease_path).await;
    assert_eq!(text_of(&page.html, "lease-status"), "ended");
    assert!(
        browser
            .get("/leases")
            .await
            .html
            .contains(&format!(r#"<option value="{r1}">"#))
    );
}

crate::on_both_databases!(
    the_dashboard_page_shows_the_apis_figures_and_sign_out_ends_the_session,
    the_operator_page_is_for_admins_and_its_buttons_need_the_csrf_token,
    the_working_pages_change_data_through_the_apis_writes,
);
