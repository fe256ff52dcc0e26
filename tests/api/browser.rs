//! The web app in a real browser: Debian's headless Chromium driven through
//! chromedriver (WebDriver, with `fantoccini`), on SQLite and PostgreSQL.
//! Signs in as a landlord, checks the dashboard's collected figure against
//! the API's, records a cash payment through the form and sees the figure
//! change, finds another landlord's property answering 404, checks that every
//! form field has a label and every chart a text alternative, saves
//! full-page screenshots (desktop and a 390 px phone) under
//! `target/screenshots/`, and signs out.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, setup_lease};
use crate::support::{free_port, in_ci, on_path, warn_loudly};

/// chromedriver on a free loopback port, stopped when dropped.
struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_driver() -> Option<Driver> {
    let (Some(driver), Some(_)) = (on_path("chromedriver"), on_path("chromium")) else {
        assert!(
            !in_ci(),
            "CI is set but chromium / chromedriver are missing (apt-get install chromium chromium-driver)"
        );
        warn_loudly(&[
            "WARNING: chromium or chromedriver not found: the browser tests were SKIPPED.",
            "Install them (apt-get install chromium chromium-driver) to run them.",
        ]);
        return None;
    };
    let port = free_port().expect("a free port");
    let child = Command::new(driver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting chromedriver");
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Some(Driver { child, port })
}

async fn browser(driver: &Driver) -> Client {
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".to_owned(),
        json!({ "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,900"] }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("a browser session")
}

async fn text(browser: &Client, css: &str) -> String {
    browser
        .wait()
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .expect("text")
}

/// Every visible form field has a label, every chart a title and description.
async fn assert_accessible(browser: &Client) {
    let missing = browser
        .execute(
            "return [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
                .filter(f => !f.id || !document.querySelector(`label[for='${f.id}']`))
                .map(f => f.name);",
            vec![],
        )
        .await
        .expect("checking labels");
    assert_eq!(missing, json!([]), "form fields without a label");
    let charts = browser
        .execute(
            "return [...document.querySelectorAll('svg')]
                .filter(s => s.getAttribute('role') !== 'img' || !s.querySelector('title') || !s.querySelector('desc'))
                .length;",
            vec![],
        )
        .await
        .expect("checking charts");
    assert_eq!(charts, json!(0), "charts without a text alternative");
}

/// A screenshot of the whole page at `width`, under `target/screenshots/`.
async fn screenshot(browser: &Client, width: u32, name: &str) -> PathBuf {
    browser.set_window_size(width, 900).await.expect("resize");
    let height = browser
        .execute("return document.documentElement.scrollHeight;", vec![])
        .await
        .expect("page height")
        .as_u64()
        .unwrap_or(900);
    browser
        .set_window_size(
            width,
            u32::try_from(height).unwrap_or(900).clamp(600, 6000) + 120,
        )
        .await
        .expect("resize to the page");
    let png = browser.screenshot().await.expect("screenshot");
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    let path = dir.join(name);
    std::fs::write(&path, png).expect("writing the screenshot");
    path
}

/// Waits (up to 10 s) until the browser has navigated to `path`: a click
/// returns before the navigation it starts has finished.
async fn wait_for_path(browser: &Client, path: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let url = browser.current_url().await.expect("url");
        if url.path() == path {
            return;
        }
        assert!(Instant::now() < deadline, "still at {url}, expected {path}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn sign_in(browser: &Client, base: &str, email: &str, password: &str) {
    browser.goto(&format!("{base}/")).await.expect("home");
    wait_for_path(browser, "/login").await;
    assert_accessible(browser).await;
    for (field, value) in [("email", email), ("password", password)] {
        browser
            .find(Locator::Id(field))
            .await
            .unwrap_or_else(|e| panic!("the {field} field: {e}"))
            .send_keys(value)
            .await
            .expect("typing");
    }
    browser
        .find(Locator::Css("form[action='/login'] button"))
        .await
        .expect("sign-in button")
        .click()
        .await
        .expect("signing in");
}

async fn a_landlord_signs_in_sees_their_figures_and_signs_out(app: TestApp) {
    let Some(driver) = start_driver() else { return };
    let (_, api) = app.landlord("wanjiru@example.co.ke").await;
    let ids = setup_lease(&app, &api, None).await;
    let lease = ids.lease;
    app.post(
        "/api/v1/payments",
        &api,
        json!({ "lease_id": lease, "amount": 250_000, "method": "cash" }),
    )
    .await
    .expect(StatusCode::CREATED);
    let base = app.url("");
    let browser = browser(&driver).await;

    sign_in(&browser, &base, "wanjiru@example.co.ke", "secret-pw").await;
    wait_for_path(&browser, "/dashboard").await;
    let api_figures: Value = app
        .get("/api/v1/dashboard", &api)
        .await
        .expect(StatusCode::OK);
    assert_eq!(api_figures["metrics"]["collected_this_month"], 250_000);
    assert_eq!(
        text(&browser, "#collected-this-month").await,
        "KES 2,500.00"
    );
    assert_accessible(&browser).await;
    let engine = if app.db.is_postgres() {
        "postgres"
    } else {
        "sqlite"
    };
    screenshot(&browser, 1280, &format!("dashboard-desktop-{engine}.png")).await;
    screenshot(&browser, 390, &format!("dashboard-phone-{engine}.png")).await;

    // A cash payment recorded through the form shows on the dashboard.
    browser
        .goto(&format!("{base}/payments"))
        .await
        .expect("payments page");
    assert_accessible(&browser).await;
    browser
        .find(Locator::Id("amount"))
        .await
        .expect("amount field")
        .send_keys("10,000")
        .await
        .expect("typing");
    browser
        .find(Locator::Css("form[action='/payments'] button"))
        .await
        .expect("record button")
        .click()
        .await
        .expect("recording");
    // The form posts to the page it is on: wait for the new row.
    browser
        .wait()
        .for_element(Locator::XPath("//td[text()='KES 10,000.00']"))
        .await
        .expect("the recorded payment listed");
    screenshot(&browser, 390, &format!("payments-phone-{engine}.png")).await;
    browser.set_window_size(1280, 900).await.expect("resize");
    let api_figures: Value = app
        .get("/api/v1/dashboard", &api)
        .await
        .expect(StatusCode::OK);
    assert_eq!(api_figures["metrics"]["collected_this_month"], 1_250_000);
    browser
        .goto(&format!("{base}/dashboard"))
        .await
        .expect("dashboard");
    assert_eq!(
        text(&browser, "#collected-this-month").await,
        "KES 12,500.00"
    );

    // Another landlord's property is not found; one's own is shown.
    let (_, theirs) = app.landlord("otieno@example.co.ke").await;
    let foreign = crate::helpers::new_property(&app, &theirs, "Otieno Court").await;
    browser
        .goto(&format!("{base}/properties/{foreign}"))
        .await
        .expect("foreign property");
    assert_eq!(text(&browser, "h1").await, "Not found");
    browser
        .goto(&format!("{base}/properties"))
        .await
        .expect("properties");
    browser
        .find(Locator::LinkText("Kilimani Heights"))
        .await
        .expect("own property link")
        .click()
        .await
        .expect("opening the property");
    assert!(text(&browser, "h1").await.starts_with("Kilimani Heights"));

    // Every page fits a 390 px phone (tables scroll inside their card, the
    // page itself never sideways) and labels its fields.
    browser.set_window_size(390, 900).await.expect("resize");
    let pages = [
        "/dashboard".to_owned(),
        "/properties".to_owned(),
        format!("/properties/{}", ids.property),
        format!("/units/{}", ids.unit),
        "/tenants".to_owned(),
        format!("/tenants/{}", ids.tenant),
        format!("/tenants/{}/statement", ids.tenant),
        "/leases".to_owned(),
        format!("/leases/{lease}"),
        "/payments".to_owned(),
        "/reports".to_owned(),
    ];
    for path in &pages {
        browser
            .goto(&format!("{base}{path}"))
            .await
            .expect("a page");
        assert_ne!(text(&browser, "h1").await, "Not found", "{path}");
        assert_accessible(&browser).await;
        let overflow = browser
            .execute(
                "return document.documentElement.scrollWidth - window.innerWidth;",
                vec![],
            )
            .await
            .expect("page width");
        assert!(
            overflow.as_i64().unwrap_or(i64::MAX) <= 0,
            "{path} is wider than the phone by {overflow} px"
        );
    }
    screenshot(&browser, 390, &format!("reports-phone-{engine}.png")).await;
    browser
        .goto(&format!("{base}/tenants/{}/statement", ids.tenant))
        .await
        .expect("statement");
    screenshot(&browser, 390, &format!("statement-phone-{engine}.png")).await;
    browser.set_window_size(1280, 900).await.expect("resize");

    // Signing out ends the session: the dashboard leads to sign-in again.
    browser
        .find(Locator::Css("form[action='/logout'] button"))
        .await
        .expect("sign-out button")
        .click()
        .await
        .expect("signing out");
    wait_for_path(&browser, "/login").await;
    browser
        .goto(&format!("{base}/dashboard"))
        .await
        .expect("dashboard");
    wait_for_path(&browser, "/login").await;
    browser.close().await.expect("closing the browser");
}

crate::on_both_databases!(a_landlord_signs_in_sees_their_figures_and_signs_out);
