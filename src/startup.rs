//! Building and running the server: `Application::build` connects, migrates
//! and binds; `run_until_stopped` serves until SIGINT/SIGTERM, letting
//! in-flight requests finish.

use std::{future::Future, sync::Arc, time::Duration};

use anyhow::Context;
use tokio::net::TcpListener;

use crate::cache::Cache;
use crate::config::Settings;
use crate::db::Database;
use axum::{body::Body, http::Request};

use crate::http::{self, AppState, login_guard::LoginGuard};
use crate::reports::patch::ReportPatcher;
use crate::write::WritePath;

pub struct Application {
    listener: TcpListener,
    state: AppState,
}

impl Application {
    /// Connects to the configured database, applies migrations unless
    /// disabled, and binds the listener (port 0 picks a free port).
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        let db = Database::connect(&settings.database).await?;
        if settings.database.migrate {
            db.migrate().await?;
        }
        Application::with_database(settings, db).await
    }

    /// Like [`Application::build`] for a database that is already connected
    /// and migrated (`serve --demo` seeds it first).
    pub async fn with_database(settings: Settings, db: Database) -> anyhow::Result<Application> {
        let tz = settings.timezone()?;
        let clock = settings.clock()?;
        if !clock.is_real() {
            tracing::warn!(today = %clock.today(tz), "running as of another day (the today setting)");
        }
        let cache = connect_cache(&settings, &db).await?;
        cache.use_generations_from(crate::write::generations_source(
            db.reader_prefer_primary().clone(),
        ));
        if let Some(url) = &settings.redis.url {
            tracing::info!(redis = %url.redacted_url(), strict = settings.cache.strict, "cache: L1 + Redis L2");
        }
        let listener = TcpListener::bind(settings.server.bind)
            .await
            .with_context(|| format!("binding {}", settings.server.bind))?;
        let state = AppState::new(http::Shared {
            writes: WritePath::new(
                db.writer().clone(),
                cache.clone(),
                settings.money.max_amount()?,
                clock,
            )
            .with_patcher(ReportPatcher::new(db.clone(), cache.clone(), clock, tz)),
            login: Arc::new(LoginGuard::new(&settings.auth)),
            db,
            cache,
            settings: Arc::new(settings),
            tz,
            clock,
        });
        Ok(Application { listener, state })
    }

    pub fn port(&self) -> u16 {
        self.listener
            .local_addr()
            .map(|addr| addr.port())
            .unwrap_or(0)
    }

    pub fn database(&self) -> &Database {
        &self.state.db
    }

    pub fn cache(&self) -> &Cache {
        &self.state.cache
    }

    /// Serves until SIGINT or SIGTERM.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `shutdown` completes, then drains in-flight requests for
    /// at most the configured grace period and closes the pools.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let grace = Duration::from_secs(self.state.settings.server.shutdown_grace_secs);
        let db = self.state.db.clone();
        let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
        let signal = async move {
            shutdown.await;
            tracing::info!("shutting down: draining in-flight requests");
            let _ = stopping_tx.send(());
        };
        crate::telemetry::metrics();
        crate::reports::warm::spawn(
            self.state.db.clone(),
            self.state.cache.clone(),
            self.state.tz,
            self.state.clock,
        );
        // The peer address reaches handlers (login throttling by client address).
        let service = axum::ServiceExt::<Request<Body>>::into_make_service_with_connect_info::<
            std::net::SocketAddr,
        >(http::app(self.state));
        let server = axum::serve(self.listener, service).with_graceful_shutdown(signal);
        let drained = async move {
            // Only once shutdown began does the grace period start counting.
            let _ = stopping_rx.await;
            tokio::time::sleep(grace).await;
        };
        tokio::select! {
            result = server => result.context("serving HTTP")?,
            () = drained => tracing::warn!("grace period over; dropping remaining requests"),
        }
        db.close().await;
        tracing::info!("stopped");
        Ok(())
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

/// The cache for `db`: L1, and Redis when configured. Its keys and channel
/// carry the database's namespace after the configured prefix, so two
/// databases never read each other's entries in a shared Redis.
pub async fn connect_cache(settings: &Settings, db: &Database) -> anyhow::Result<Cache> {
    let namespace = crate::db::generations::namespace(db.reader_prefer_primary())
        .await
        .context("reading the cache namespace")?;
    let mut cache_settings = settings.cache.clone();
    cache_settings.prefix = format!("{}:{namespace}", cache_settings.prefix);
    let redis_url = settings
        .redis
        .url
        .as_ref()
        .map(|url| url.expose().to_owned());
    let cache = Cache::connect(cache_settings, redis_url.as_deref()).await?;
    if db.has_replicas() {
        // Reads use only replicas that replayed the landlord's last write,
        // which the cache records and shares.
        db.use_written_lsns(cache.written_lsns());
    }
    Ok(cache)
}
