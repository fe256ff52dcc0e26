//! Shared test setup: `spawn_app()` starts a real server on a free loopback
//! port over a fresh database (a SQLite file in a temp dir, or a new database
//! in the test binary's PostgreSQL cluster), and a typed client talks to it.
//!
//! The servers are silent; run with `TEST_LOG=1` (any value) to see their logs on stderr, at
//! the level `RUST_LOG` names, else `debug`. Many tests run at once, so pick one or a few.

use std::sync::OnceLock;

use mfuko::config::{LogFormat, LogSettings, Secret, Settings};
use mfuko::db::{users, users::NewUser};
use mfuko::startup::Application;
use mfuko::types::{Id, Role};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::pg_cluster;

pub const MPESA_SECRET: &str = "test-mpesa-secret";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub db: mfuko::db::Database,
    pub cache: mfuko::cache::Cache,
    alive: std::sync::Arc<Alive>,
}

/// Settings for a test server on `db_url`: port 0, small pools, quiet logs.
pub fn test_settings(db_url: &str) -> Settings {
    let mut settings = Settings::default();
    settings.server.bind = "127.0.0.1:0".parse().expect("loopback address");
    settings.server.shutdown_grace_secs = 1;
    settings.database.url = Secret::new(db_url);
    settings.database.pool_size = 1;
    settings.database.max_overflow = 4;
    settings.database.timeout_secs = 10;
    settings.mpesa.c2b_secret = Some(Secret::new(MPESA_SECRET));
    settings.log.level = "warn".into();
    settings.log.format = LogFormat::Text;
    settings
}

/// A fresh database URL for `backend`; `None` when PostgreSQL is unavailable
/// outside CI (the cluster module has already said so loudly).
pub async fn fresh_database(backend: Backend) -> Option<(String, Option<tempfile::TempDir>)> {
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!("sqlite://{}", dir.path().join("mfuko.db").display());
            Some((url, Some(dir)))
        }
        Backend::Postgres => Some((pg_cluster::cluster()?.fresh_database().await, None)),
    }
}

/// What keeps a test server up: its database directory and its shutdown
/// signal. The server stops when the last holder drops it.
pub struct Alive {
    _dir: Option<tempfile::TempDir>,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

/// A fresh server on a fresh database of `app`'s engine, with settings
/// changed by `configure` (`app` is dropped first).
pub async fn respawn_with(
    app: TestApp,
    configure: impl FnOnce(&mut mfuko::config::Settings),
) -> TestApp {
    let backend = if app.db.is_postgres() {
        Backend::Postgres
    } else {
        Backend::Sqlite
    };
    drop(app);
    let (url, dir) = fresh_database(backend)
        .await
        .expect("the backend the first server ran on");
    let mut settings = test_settings(&url);
    configure(&mut settings);
    spawn_app_with(settings, dir).await
}

impl TestApp {
    /// Keeps the server (and its database) up beyond the `TestApp`.
    pub fn keep_alive(&self) -> std::sync::Arc<Alive> {
        std::sync::Arc::clone(&self.alive)
    }
}

pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    let (db_url, dir) = fresh_database(backend).await?;
    Some(spawn_app_with(test_settings(&db_url), dir).await)
}

pub async fn spawn_app_with(settings: Settings, dir: Option<tempfile::TempDir>) -> TestApp {
    init_test_log(&settings.log);
    let app = Application::build(settings)
        .await
        .expect("application builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let db = app.database().clone();
    let cache = app.cache().clone();
    let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    TestApp {
        address,
        client: reqwest::Client::new(),
        db,
        cache,
        alive: std::sync::Arc::new(Alive {
            _dir: dir,
            _shutdown: shutdown,
        }),
    }
}

/// Installs the log subscriber, once per process, if `TEST_LOG` is set; otherwise nothing
/// is installed and the servers' logs go nowhere.
fn init_test_log(settings: &LogSettings) {
    // Held for the life of the process: dropping it would stop the log writer.
    static GUARD: OnceLock<Option<mfuko::telemetry::LogGuard>> = OnceLock::new();
    GUARD.get_or_init(|| {
        std::env::var_os("TEST_LOG")?;
        // `RUST_LOG`, when set, overrides this level.
        let level = "debug".to_owned();
        Some(mfuko::telemetry::init(&LogSettings {
            level,
            ..settings.clone()
        }))
    });
}

/// A response, read whole: status and JSON body (`Value::Null` when empty).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
}

impl Reply {
    /// The error code of an error response.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }

    #[track_caller]
    pub fn expect(self, status: StatusCode) -> Value {
        assert_eq!(self.status, status, "unexpected reply: {}", self.body);
        self.body
    }
}

impl TestApp {
    /// The absolute URL of `path` on this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut request = self.client.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        self.send(request).await
    }

    /// Sends a hand-built request (raw bodies, custom headers) and reads the reply.
    pub async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let response = request.send().await.expect("request reaches the server");
        let status = response.status();
        let text = response.text().await.expect("response body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Reply { status, body }
    }

    /// Whether the app's cache follows the Redis invalidation channel.
    pub async fn cache_is_following(&self) -> bool {
        self.cache.is_following()
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.request(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Reply {
        self.request(Method::POST, path, Some(token), Some(body))
            .await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Reply {
        self.request(Method::PATCH, path, Some(token), Some(body))
            .await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Reply {
        self.request(Method::DELETE, path, Some(token), None).await
    }

    /// POSTs `body` to `path`, expecting 201 Created; returns the created row.
    pub async fn create(&self, path: &str, token: &str, body: Value) -> Value {
        let reply = self.post(path, token, body).await;
        assert_eq!(
            reply.status,
            StatusCode::CREATED,
            "POST {path}: {}",
            reply.body
        );
        reply.body
    }

    /// The items of a list endpoint (one page of up to 200 rows, enough for any test).
    pub async fn list(&self, path: &str, token: &str) -> Vec<Value> {
        let separator = if path.contains('?') { '&' } else { '?' };
        let page = self
            .get(&format!("{path}{separator}limit=200"), token)
            .await
            .expect(StatusCode::OK);
        assert_eq!(page["next"], Value::Null, "more than one page at {path}");
        page["items"].as_array().expect("items").clone()
    }

    /// Creates a user directly in the database (as `mfuko user add` does).
    pub async fn add_user(&self, email: &str, password: &str, role: Role) -> Id {
        let hash = mfuko::auth::hash_password(password).expect("hash");
        let mut tx = self.db.writer().begin().await.expect("begin");
        let new_user = NewUser {
            email,
            name: email,
            phone: None,
            role,
            password_hash: &hash,
        };
        let user = users::insert(&mut tx, &new_user)
            .await
            .expect("insert user");
        tx.commit().await.expect("commit");
        user.id
    }

    pub async fn login(&self, email: &str, password: &str) -> String {
        let body = serde_json::json!({ "email": email, "password": password });
        let reply = self
            .request(Method::POST, "/api/v1/auth/login", None, Some(body))
            .await;
        let body = reply.expect(StatusCode::OK);
        body["token"]
            .as_str()
            .expect("token in login reply")
            .to_owned()
    }

    /// A new landlord, logged in: `(id, token)`.
    pub async fn landlord(&self, email: &str) -> (Id, String) {
        let id = self.add_user(email, "secret-pw", Role::Landlord).await;
        (id, self.login(email, "secret-pw").await)
    }

    /// A new admin, logged in.
    pub async fn admin(&self, email: &str) -> String {
        self.add_user(email, "admin-pw", Role::Admin).await;
        self.login(email, "admin-pw").await
    }
}

/// The `id` of a row in a reply.
#[track_caller]
pub fn id(row: &Value) -> Id {
    row["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no id in {row}"))
}

/// The ids of a list's items, in list order.
pub fn ids(items: &[Value]) -> Vec<Id> {
    items.iter().map(id).collect()
}

/// Rent of the fixture lease: KES 25,000.
pub const RENT: i64 = 2_500_000;
/// Deposit of the fixture lease: two months' rent.
pub const DEPOSIT: i64 = 5_000_000;
/// The fixture lease's M-Pesa account reference, as stored (upper case).
pub const ACCOUNT_REF: &str = "KAMAU-A1";

/// After every API test, whatever it wrote: the roll-ups its writes kept
/// must equal what the history says (`mfuko rollups verify`).
pub async fn assert_rollups_agree(db: &mfuko::db::Database) {
    let differences = match mfuko::db::rollups::verify(db.reader_prefer_primary()).await {
        Ok(differences) => differences,
        // The test closed the database on purpose (readiness checks).
        Err(sqlx::Error::PoolClosed) => return,
        Err(err) => panic!("verifying roll-ups: {err}"),
    };
    assert!(
        differences.is_empty(),
        "roll-ups drifted from the history: {differences:#?}"
    );
    // And every report reads the same from the roll-ups as from the history.
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Africa::Nairobi)
        .date_naive();
    let reader = db.reader_prefer_primary();
    for landlord in mfuko::reports::check::landlords(reader)
        .await
        .expect("landlords")
    {
        let differences = mfuko::reports::check::compare(reader, landlord, today)
            .await
            .expect("reports from both sources");
        assert!(
            differences.is_empty(),
            "reports from the roll-ups differ from the history: {differences:#?}"
        );
    }
}

/// The Paybill number tests register for a landlord (Daraja's sandbox one).
pub const PAYBILL: &str = "600638";

/// Registers `shortcode` as the landlord's Paybill, so C2B confirmations
/// sent to it find them.
pub async fn register_paybill(app: &TestApp, token: &str, shortcode: &str) {
    let created = app
        .create(
            "/api/v1/mpesa/shortcodes",
            token,
            serde_json::json!({ "shortcode": shortcode }),
        )
        .await;
    assert_eq!(created["shortcode"], shortcode, "{created}");
}

/// What [`setup_lease`] created.
#[derive(Debug, Clone, Copy)]
pub struct LeaseIds {
    pub property: Id,
    pub unit: Id,
    pub tenant: Id,
    pub lease: Id,
}

pub async fn new_property(app: &TestApp, token: &str, name: &str) -> Id {
    let body =
        serde_json::json!({ "name": name, "address": "Argwings Kodhek Rd", "county": "Nairobi" });
    id(&app.create("/api/v1/properties", token, body).await)
}

pub async fn new_unit(app: &TestApp, token: &str, property: Id, label: &str) -> Id {
    let body = serde_json::json!({ "label": label, "market_rent": RENT });
    id(&app
        .create(&format!("/api/v1/properties/{property}/units"), token, body)
        .await)
}

pub async fn new_tenant(app: &TestApp, token: &str, name: &str, phone: &str) -> Id {
    let body = serde_json::json!({ "name": name, "phone": phone });
    id(&app.create("/api/v1/tenants", token, body).await)
}

/// A property with one unit let to Wanjiru Kamau since 2024-01-01: rent
/// [`RENT`] due on the 5th, deposit [`DEPOSIT`] (when `account_ref` is given,
/// it is the lease's M-Pesa account reference).
pub async fn setup_lease(app: &TestApp, token: &str, account_ref: Option<&str>) -> LeaseIds {
    let property = new_property(app, token, "Kilimani Heights").await;
    let unit = new_unit(app, token, property, "A1").await;
    let tenant = new_tenant(app, token, "Wanjiru Kamau", "+254712345678").await;
    let mut body = serde_json::json!({
        "unit_id": unit,
        "tenant_id": tenant,
        "rent": RENT,
        "deposit": DEPOSIT,
        "due_day": 5,
        "start_date": "2024-01-01",
    });
    if let Some(account_ref) = account_ref {
        body["account_ref"] = account_ref.into();
    }
    let lease = id(&app.create("/api/v1/leases", token, body).await);
    LeaseIds {
        property,
        unit,
        tenant,
        lease,
    }
}

/// Generates `sqlite::<test>` and `postgres::<test>` tests that each run
/// `async fn <test>(app: TestApp)` against a fresh server on that database.
#[macro_export]
macro_rules! on_both_databases {
    ($($test:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    let app = $crate::helpers::spawn_app($crate::helpers::Backend::Sqlite)
                        .await
                        .expect("SQLite is always available");
                    let (db, alive) = (app.db.clone(), app.keep_alive());
                    super::$test(app).await;
                    $crate::helpers::assert_rollups_agree(&db).await;
                    drop(alive);
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    if let Some(app) = $crate::helpers::spawn_app($crate::helpers::Backend::Postgres).await {
                        let (db, alive) = (app.db.clone(), app.keep_alive());
                        super::$test(app).await;
                        $crate::helpers::assert_rollups_agree(&db).await;
                        drop(alive);
                    }
                }
            )+
        }
    };
}
