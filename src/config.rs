//! One typed `Settings`, layered: defaults < `mfuko.toml` < the seed's env names
//! (`DATABASE_URL`, `REDIS_URL`, `READ_REPLICA_URLS`) < `MFUKO_*` env < CLI flags.
//!
//! Secrets (database passwords, the M-Pesa shared secret) are held in [`Secret`],
//! whose `Debug` never prints them, so a logged `Settings` is safe.

use std::{fmt, net::SocketAddr, path::PathBuf, time::Duration};

use anyhow::Context;
use figment::{
    Figment,
    providers::{Env, Format, Serialized, Toml},
};
use serde::{Deserialize, Deserializer, Serialize};

use crate::types::Money;

/// The whole configuration of one `mfuko` process.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub redis: RedisSettings,
    pub cache: CacheSettings,
    pub auth: AuthSettings,
    pub mpesa: MpesaSettings,
    pub money: MoneySettings,
    pub log: LogSettings,
    pub web: WebSettings,
    /// IANA time zone that decides what "today" and "this month" mean.
    pub timezone: String,
    /// Run as if today were this date (`2026-12-15`): benchmarks and demos
    /// of a chosen day of the month. The clock is shifted by whole days, so
    /// time still passes. Never set it in production.
    pub today: Option<chrono::NaiveDate>,
}

/// The web app's sessions.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct WebSettings {
    /// Mark the session cookie `Secure` (set it when mfuko is served over
    /// HTTPS, e.g. behind a TLS-terminating proxy).
    pub secure_cookies: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerSettings {
    pub bind: SocketAddr,
    /// How long in-flight requests get to finish after SIGINT/SIGTERM.
    pub shutdown_grace_secs: u64,
    /// Origins a browser may call the API from (`https://app.example.com`);
    /// none by default: only same-origin pages (the web app) can.
    #[serde(deserialize_with = "list")]
    pub cors_allowed_origins: Vec<String>,
}

/// Pool settings use the seed's names: `pool_size` → min connections,
/// `pool_size + max_overflow` → max connections, `timeout` → acquire timeout.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct DatabaseSettings {
    pub url: Secret,
    #[serde(deserialize_with = "comma_separated")]
    pub replica_urls: Vec<Secret>,
    pub pool_size: u32,
    pub max_overflow: u32,
    pub timeout_secs: u64,
    pub replica_pool_size: u32,
    pub replica_max_overflow: u32,
    /// Acquire timeout of a replica's pool, in seconds.
    pub replica_timeout_secs: u64,
    /// A replica further behind the primary than this many bytes of WAL, or
    /// than `max_replica_lag_ms` of replay, is skipped until it catches up.
    pub max_replica_lag_bytes: u64,
    pub max_replica_lag_ms: u64,
    /// How often each replica's replay position is polled.
    pub replica_poll_ms: u64,
    /// How often a replica that does not answer is tried again.
    pub replica_health_ms: u64,
    /// How long a read waits for a replica to replay its landlord's last
    /// write before it goes to the primary (0: never waits).
    pub replica_wait_ms: u64,
    /// At most this many reads run on the primary at once because no replica
    /// could take them; more wait a second, then get 503 (0: the primary's
    /// reader pool size).
    pub max_fallback_reads: u32,
    /// Apply pending migrations when `serve` starts.
    pub migrate: bool,
    /// SQLite: page cache per connection, in MiB. The reports read roll-ups,
    /// so a small one holds what they touch.
    pub sqlite_cache_mib: u32,
    /// SQLite: how much of the file each connection maps, in MiB (0: none,
    /// the default). Every commit makes each reader drop its map and fault
    /// it in again on its next read (`munmap` was ~6 % of a payment's CPU),
    /// which costs writes more than the map saves reads.
    pub sqlite_mmap_mib: u32,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RedisSettings {
    pub url: Option<Secret>,
}

/// The read cache (docs/DESIGN.md §6). TTLs are seconds per class; 0 disables caching
/// of that class.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct CacheSettings {
    pub enabled: bool,
    /// First segment of every key (lets several deployments share a Redis).
    pub prefix: String,
    pub l1_max_bytes: u64,
    pub ttl_metrics_secs: u64,
    pub ttl_payments_secs: u64,
    pub ttl_occupancy_secs: u64,
    pub ttl_reports_secs: u64,
    pub ttl_static_lists_secs: u64,
    /// TTLs get ± this many percent, so entries made together expire apart.
    pub jitter_pct: u32,
    /// How long after its TTL an entry may still be served while it refreshes.
    pub stale_secs: u64,
    /// How long a bearer-token check is remembered (logout forgets it at once).
    pub token_ttl_secs: u64,
    /// Read the generation from Redis on every request: another instance's
    /// write is then seen at once, for one Redis round trip per read.
    pub strict: bool,
    /// Timeout of every Redis call; past it Redis counts as failing.
    pub redis_timeout_ms: u64,
    /// Dashboards of this many of the most active landlords are computed at
    /// start-up (in the background) and on every refresh; 0 turns it off.
    pub warm_landlords: u32,
    /// Dashboards computed at once while warming.
    pub warm_concurrency: usize,
    /// Period of the scheduled refresh of the warmed dashboards; 0 = never.
    pub refresh_interval_secs: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthSettings {
    /// Lifetime of a bearer token issued at login.
    pub token_ttl_hours: i64,
    /// Failed logins allowed per account, and per client address, within
    /// `lockout_window_secs`; past it, logins answer 429 until the window ends.
    pub max_failed_logins: u32,
    pub lockout_window_secs: u64,
    /// Password hashes computed at once (each takes ~19 MiB for ~50 ms);
    /// 0 = one per CPU core. Further logins queue.
    pub hashing_concurrency: usize,
}

/// Bounds on amounts (manual payments, charges, rents, deposits).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct MoneySettings {
    /// The largest amount accepted, in whole shillings (at most
    /// 1,000,000,000, the database's ceiling). An M-Pesa confirmation above it
    /// is stored as `held`, outside every sum.
    pub max_amount_kes: i64,
}

impl MoneySettings {
    /// The configured maximum as [`Money`], checked against the ceiling.
    pub fn max_amount(&self) -> anyhow::Result<Money> {
        let max = self
            .max_amount_kes
            .checked_mul(100)
            .map(Money)
            .filter(|max| max.is_positive() && *max <= Money::CEILING);
        max.ok_or_else(|| {
            anyhow::anyhow!(
                "money.max_amount_kes must be between 1 and {}, got {}",
                Money::CEILING.minor() / 100,
                self.max_amount_kes
            )
        })
    }
}

impl Default for MoneySettings {
    fn default() -> Self {
        Self {
            max_amount_kes: 10_000_000,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct MpesaSettings {
    /// Shared secret the C2B confirmation callback must present; the route is
    /// disabled (503) while it is unset.
    pub c2b_secret: Option<Secret>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct LogSettings {
    /// `tracing` filter directives, e.g. `info,mfuko=debug`.
    pub level: String,
    /// `text` for people, `json` for log shippers.
    pub format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            server: ServerSettings::default(),
            database: DatabaseSettings::default(),
            redis: RedisSettings::default(),
            cache: CacheSettings::default(),
            auth: AuthSettings::default(),
            mpesa: MpesaSettings::default(),
            money: MoneySettings::default(),
            log: LogSettings::default(),
            web: WebSettings::default(),
            timezone: "Africa/Nairobi".into(),
            today: None,
        }
    }
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            shutdown_grace_secs: 10,
            cors_allowed_origins: Vec::new(),
        }
    }
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: Secret::new("sqlite://mfuko.db"),
            replica_urls: Vec::new(),
            pool_size: 10,
            max_overflow: 20,
            timeout_secs: 30,
            replica_pool_size: 20,
            replica_max_overflow: 30,
            replica_timeout_secs: 30,
            max_replica_lag_bytes: 16 * 1024 * 1024,
            max_replica_lag_ms: 10_000,
            replica_poll_ms: 100,
            replica_health_ms: 1_000,
            replica_wait_ms: 50,
            max_fallback_reads: 0,
            migrate: true,
            sqlite_cache_mib: 8,
            sqlite_mmap_mib: 0,
        }
    }
}

impl Default for CacheSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            prefix: "mfuko".into(),
            l1_max_bytes: 64 * 1024 * 1024,
            ttl_metrics_secs: 300,
            ttl_payments_secs: 300,
            ttl_occupancy_secs: 600,
            ttl_reports_secs: 900,
            ttl_static_lists_secs: 86_400,
            jitter_pct: 10,
            stale_secs: 30,
            token_ttl_secs: 60,
            strict: false,
            redis_timeout_ms: 250,
            warm_landlords: 20,
            warm_concurrency: 2,
            refresh_interval_secs: 3600,
        }
    }
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            token_ttl_hours: 24 * 30,
            max_failed_logins: 10,
            lockout_window_secs: 15 * 60,
            hashing_concurrency: 0,
        }
    }
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            level: "info".into(),
            format: LogFormat::Text,
        }
    }
}

impl DatabaseSettings {
    pub fn min_connections(&self) -> u32 {
        self.pool_size
    }

    pub fn max_connections(&self) -> u32 {
        (self.pool_size + self.max_overflow).max(1)
    }

    pub fn replica_max_connections(&self) -> u32 {
        (self.replica_pool_size + self.replica_max_overflow).max(1)
    }

    pub fn max_fallback_reads(&self) -> u32 {
        match self.max_fallback_reads {
            0 => self.max_connections(),
            bound => bound,
        }
    }

    pub fn acquire_timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs)
    }

    pub fn is_postgres(&self) -> bool {
        let url = self.url.expose();
        url.starts_with("postgres://") || url.starts_with("postgresql://")
    }
}

impl Settings {
    /// Loads settings from defaults, the config file (if present) and the
    /// environment. CLI flags are applied by the caller afterwards.
    pub fn load(config_file: Option<&PathBuf>) -> anyhow::Result<Self> {
        let file = config_file
            .cloned()
            .unwrap_or_else(|| PathBuf::from("mfuko.toml"));
        let seed_names = Env::raw().filter_map(|key| seed_env_key(key.as_str()).map(Into::into));
        Figment::from(Serialized::defaults(Settings::default()))
            .merge(Toml::file(&file))
            .merge(seed_names)
            .merge(Env::prefixed("MFUKO_").ignore(&["CONFIG"]).split("__"))
            .extract()
            .with_context(|| format!("reading configuration (file {})", file.display()))
    }

    pub fn timezone(&self) -> anyhow::Result<chrono_tz::Tz> {
        self.timezone
            .parse()
            .map_err(|_| anyhow::anyhow!("unknown time zone {:?}", self.timezone))
    }

    /// The clock: real, or on the `today` setting's day.
    pub fn clock(&self) -> anyhow::Result<crate::clock::Clock> {
        Ok(match self.today {
            Some(today) => crate::clock::Clock::today_is(today, self.timezone()?),
            None => crate::clock::Clock::real(),
        })
    }
}

/// The setting an environment variable of the seed application sets.
fn seed_env_key(name: &str) -> Option<&'static str> {
    match name.to_ascii_uppercase().as_str() {
        "DATABASE_URL" => Some("database.url"),
        "REDIS_URL" => Some("redis.url"),
        "READ_REPLICA_URLS" => Some("database.replica_urls"),
        _ => None,
    }
}

/// A string that must never reach a log: `Debug` and `Display` redact it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// A loggable form of a connection URL: scheme, host and path, no credentials.
    pub fn redacted_url(&self) -> String {
        match self.0.split_once("://") {
            Some((scheme, rest)) => {
                let host = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
                let host = host.split('?').next().unwrap_or(host);
                format!("{scheme}://{host}")
            }
            None => "[redacted]".into(),
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Accepts `READ_REPLICA_URLS=a,b` from the environment as well as a TOML list.
fn comma_separated<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Secret>, D::Error> {
    Ok(list(deserializer)?.into_iter().map(Secret).collect())
}

/// A list from TOML (`["a", "b"]`) or from the environment (`a,b`); blank
/// items dropped.
fn list<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum ListOrString {
        List(Vec<String>),
        String(String),
    }
    let items = match ListOrString::deserialize(deserializer)? {
        ListOrString::List(items) => items,
        ListOrString::String(joined) => joined.split(',').map(str::to_owned).collect(),
    };
    Ok(items
        .into_iter()
        .map(|item| item.trim().to_owned())
        .filter(|item| !item.is_empty())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_in_debug_output() {
        let mut settings = Settings::default();
        settings.database.url = Secret::new("postgres://app:hunter2@db:5432/mfuko");
        settings.mpesa.c2b_secret = Some(Secret::new("s3cr3t"));
        let printed = format!("{settings:?}");
        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(!printed.contains("s3cr3t"), "{printed}");
        assert_eq!(
            settings.database.url.redacted_url(),
            "postgres://db:5432/mfuko"
        );
    }

    #[test]
    fn the_seed_env_names_map_to_their_settings() {
        assert_eq!(seed_env_key("DATABASE_URL"), Some("database.url"));
        assert_eq!(seed_env_key("database_url"), Some("database.url"));
        assert_eq!(seed_env_key("REDIS_URL"), Some("redis.url"));
        assert_eq!(
            seed_env_key("READ_REPLICA_URLS"),
            Some("database.replica_urls")
        );
        assert_eq!(seed_env_key("HOME"), None);
    }

    #[test]
    fn pool_sizes_follow_the_seed_mapping() {
        let db = DatabaseSettings::default();
        assert_eq!(db.min_connections(), 10);
        assert_eq!(db.max_connections(), 30);
        assert_eq!(db.acquire_timeout(), Duration::from_secs(30));
    }

    #[test]
    fn replica_urls_accept_a_comma_separated_string() {
        let settings: DatabaseSettings =
            serde_json::from_str(r#"{"replica_urls": "postgres://a/x, postgres://b/x,"}"#)
                .expect("parses");
        let urls: Vec<_> = settings.replica_urls.iter().map(Secret::expose).collect();
        assert_eq!(urls, ["postgres://a/x", "postgres://b/x"]);
    }
}
