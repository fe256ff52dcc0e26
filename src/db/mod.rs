//! Database access with read/write separation visible in the types.
//!
//! [`Writer`] is the only handle that can open a write transaction ([`WriteTx`]);
//! [`Reader`] only runs reads. On SQLite the writer is exactly one connection and
//! the readers a WAL pool of the same file, so every read sees every committed
//! write. On PostgreSQL both are pools on the primary, plus one pool per read
//! replica: [`Database::reader_for`] sends a landlord's reads to a replica that
//! has replayed that landlord's last write ([`replicas`]).
//!
//! Queries are written once, in SQL both engines accept (`$N` parameters,
//! `RETURNING`, `ON CONFLICT`), and run on either concrete pool through
//! [`dispatch!`] / [`dispatch_tx!`]. Anything that must differ per engine lives in
//! [`dialect`].

pub(crate) mod batch;
pub mod charges;
mod constraint;
pub mod dialect;
pub mod generations;
pub mod leases;
pub mod occupancy;
pub mod page;
pub mod payments;
pub mod properties;
pub mod replicas;
pub mod reports;
pub mod rollups;
pub mod shortcodes;
pub mod statements;
pub mod tenants;
pub mod testing;
pub mod tokens;
pub mod units;
pub mod users;

use std::{
    future::Future,
    str::FromStr,
    sync::{Arc, OnceLock, atomic::Ordering},
    time::Duration,
};

use anyhow::Context;
use sqlx::{
    PgPool, Postgres, Sqlite, SqlitePool, Transaction,
    pool::PoolOptions,
    postgres::PgConnectOptions,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous},
};

use crate::config::DatabaseSettings;
use crate::types::Id;

pub use constraint::{Constraint, is_reference_violation};

/// A pool of either engine. Code outside `db` never matches on it.
#[derive(Clone, Debug)]
pub enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$conn` bound to the concrete pool of either engine; the
/// body is compiled once per engine, so it may use engine-specific types.
macro_rules! dispatch {
    ($pool:expr, $conn:ident => $body:expr) => {
        match $pool {
            $crate::db::Pool::Sqlite($conn) => $body,
            $crate::db::Pool::Postgres($conn) => $body,
        }
    };
}
pub(crate) use dispatch;

/// Like [`dispatch!`] for an open write transaction: `$conn` is the connection.
macro_rules! dispatch_tx {
    ($tx:expr, $conn:ident => $body:expr) => {
        match $tx.conn_mut() {
            $crate::db::TxConn::Sqlite(tx) => {
                let $conn = &mut **tx;
                $body
            }
            $crate::db::TxConn::Postgres(tx) => {
                let $conn = &mut **tx;
                $body
            }
        }
    };
}
pub(crate) use dispatch_tx;

/// The handle that writes. Cloning shares the pool.
#[derive(Clone, Debug)]
pub struct Writer(Pool);

/// A handle that only reads: the primary's reader pool or a replica's.
#[derive(Clone, Debug)]
pub struct Reader {
    pool: Pool,
    /// Which replica, if it is one (so a failed read can skip it).
    replica: Option<usize>,
    /// A read falling back to the primary holds one of a bounded set of
    /// slots while it runs.
    _slot: Option<Arc<tokio::sync::OwnedSemaphorePermit>>,
}

/// An open write transaction; dropped without [`WriteTx::commit`] it rolls back,
/// so an error anywhere in a multi-row write leaves nothing half-written.
/// It carries the roll-up changes its writes made ([`rollups::Delta`]; the
/// query functions that change charges or payments record them), applied
/// when it commits: a committed write and its roll-ups are never apart.
pub struct WriteTx {
    conn: TxConn,
    rollups: rollups::Delta,
}

/// What a committed write did, as the cache needs to know it.
#[derive(Debug)]
pub struct Committed {
    /// The bumped generation counters' new values, in the order asked.
    pub counters: Vec<i64>,
    /// The payment it created, when that is all it did.
    pub new_payment: Option<rollups::CreatedPayment>,
}

pub enum TxConn {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

/// Both handles of one database, and its replicas.
#[derive(Clone)]
pub struct Database {
    writer: Writer,
    reader: Reader,
    replicas: Option<Arc<replicas::Replicas>>,
    /// Where the WAL positions of landlords' writes are found (the cache),
    /// set once at start-up; shared by every clone.
    written: Arc<OnceLock<Arc<dyn replicas::WrittenLsns>>>,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("writer", &self.writer)
            .field(
                "replicas",
                &self.replicas.as_ref().map_or(0, |r| r.replicas.len()),
            )
            .finish_non_exhaustive()
    }
}

impl Writer {
    /// Opens a write transaction. SQLite's is `BEGIN IMMEDIATE`: it takes the
    /// write lock up front, so it can never fail later with `SQLITE_BUSY_SNAPSHOT`
    /// (which `busy_timeout` does not retry) when another process writes too.
    pub async fn begin(&self) -> sqlx::Result<WriteTx> {
        let conn = match &self.0 {
            Pool::Sqlite(pool) => TxConn::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?),
            Pool::Postgres(pool) => TxConn::Postgres(pool.begin().await?),
        };
        Ok(WriteTx {
            conn,
            rollups: rollups::Delta::default(),
        })
    }

    pub(crate) fn pool(&self) -> &Pool {
        &self.0
    }

    /// PostgreSQL: the primary's WAL write position (`None` on SQLite).
    pub async fn wal_position(&self) -> sqlx::Result<Option<replicas::Lsn>> {
        match &self.0 {
            Pool::Postgres(pool) => replicas::primary_lsn(pool).await.map(Some),
            Pool::Sqlite(_) => Ok(None),
        }
    }
}

impl WriteTx {
    /// Applies the roll-up changes, then commits.
    pub async fn commit(self) -> sqlx::Result<()> {
        self.commit_bumping(&[]).await.map(drop)
    }

    /// Applies the roll-up changes and bumps the generation counters
    /// (`(landlord row, data code)`, see [`generations::bump`]) in one batch,
    /// then commits.
    pub async fn commit_bumping(mut self, counters: &[(Id, i16)]) -> sqlx::Result<Committed> {
        let mut batch = batch::Batch::default();
        // The bumps first: on PostgreSQL they share a statement with the
        // roll-up upserts that follow (the order within the transaction
        // does not matter; it commits as one).
        for &(landlord, data) in counters {
            generations::bump(&mut batch, landlord, data);
        }
        let delta = std::mem::take(&mut self.rollups);
        if !delta.is_empty() {
            delta.statements(self.is_postgres(), &mut batch);
        }
        let values = batch.run(&mut self).await?;
        if values.len() != counters.len() {
            return Err(sqlx::Error::Protocol(format!(
                "{} generation counters bumped, {} values returned",
                counters.len(),
                values.len()
            )));
        }
        match self.conn {
            TxConn::Sqlite(tx) => tx.commit().await?,
            TxConn::Postgres(tx) => tx.commit().await?,
        }
        Ok(Committed {
            counters: values,
            new_payment: delta.only_new_payment().cloned(),
        })
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self.conn, TxConn::Postgres(_))
    }

    /// The connection, for `dispatch_tx!`.
    pub fn conn_mut(&mut self) -> &mut TxConn {
        &mut self.conn
    }

    /// Where this transaction's writes record their roll-up changes.
    pub(crate) fn rollups(&mut self) -> &mut rollups::Delta {
        &mut self.rollups
    }
}

impl Reader {
    fn primary(pool: Pool) -> Reader {
        Reader {
            pool,
            replica: None,
            _slot: None,
        }
    }

    pub(crate) fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Whether this reader reads a replica.
    pub fn is_replica(&self) -> bool {
        self.replica.is_some()
    }
}

/// Errors that say the connection (not the query) failed: a replica that
/// went away since it was last polled.
pub trait ConnectionFailure {
    fn is_connection_failure(&self) -> bool;
}

impl ConnectionFailure for sqlx::Error {
    fn is_connection_failure(&self) -> bool {
        matches!(
            self,
            sqlx::Error::Io(_)
                | sqlx::Error::Tls(_)
                | sqlx::Error::Protocol(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::WorkerCrashed
        ) || matches!(self, sqlx::Error::Database(err) if err.code().is_some_and(|code| code.starts_with("57P")))
    }
}

impl Database {
    /// Connects to the database named by `settings.url` (`sqlite:` or
    /// `postgres:`), creating a SQLite file if it does not exist yet.
    pub async fn connect(settings: &DatabaseSettings) -> anyhow::Result<Database> {
        let url = settings.url.expose();
        let target = settings.url.redacted_url();
        if settings.is_postgres() {
            let options = PgConnectOptions::from_str(url)
                .with_context(|| format!("parsing database URL {target}"))
                .map(generic_plans)?;
            let pool = pool_options(settings)
                .connect_with(options)
                .await
                .with_context(|| format!("connecting to {target}"))?;
            tracing::info!(database = %target, "connected to PostgreSQL");
            let replicas = connect_replicas(settings, &pool)?;
            let pool = Pool::Postgres(pool);
            return Ok(Database {
                writer: Writer(pool.clone()),
                reader: Reader::primary(pool),
                replicas,
                written: Arc::default(),
            });
        }

        let options = SqliteConnectOptions::from_str(url)
            .with_context(|| format!("parsing database URL {target}"))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5))
            // Sized in the settings: each connection has its own cache and map,
            // so both count once per reader.
            .pragma(
                "mmap_size",
                (u64::from(settings.sqlite_mmap_mib) << 20).to_string(),
            )
            .pragma(
                "cache_size",
                format!("-{}", u64::from(settings.sqlite_cache_mib) << 10),
            );
        // Exactly one writer connection: SQLite serializes writers anyway, and
        // queueing in our pool is cheaper than spinning on the file lock.
        let writer = PoolOptions::<Sqlite>::new()
            .min_connections(1)
            .max_connections(1)
            .acquire_timeout(settings.acquire_timeout())
            .connect_with(options.clone())
            .await
            .with_context(|| format!("opening {target}"))?;
        // Before any reader opens (they load the statistics when they do).
        dialect::drop_stat4(&writer)
            .await
            .with_context(|| format!("dropping the STAT4 samples of {target}"))?;
        // Each SQLite reader is a thread doing CPU work on cached pages: more
        // than two per core only adds memory.
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get() as u32);
        let readers = settings.max_connections().min(2 * cores).max(2);
        let reader = pool_options(settings)
            .min_connections(settings.min_connections().min(readers))
            .max_connections(readers)
            .connect_lazy_with(options.read_only(true));
        tracing::info!(database = %target, "opened SQLite database (WAL)");
        if !settings.replica_urls.is_empty() {
            tracing::warn!("READ_REPLICA_URLS is ignored on SQLite: its readers share the file");
        }
        Ok(Database {
            writer: Writer(Pool::Sqlite(writer)),
            reader: Reader::primary(Pool::Sqlite(reader)),
            replicas: None,
            written: Arc::default(),
        })
    }

    pub fn writer(&self) -> &Writer {
        &self.writer
    }

    /// The reader for a landlord's reads: a replica that has replayed the
    /// landlord's last acknowledged write, else the primary (see
    /// [`replicas`]). Without replicas (and always on SQLite), the primary's
    /// reader pool. `Err(PoolTimedOut)` (503) when too many reads are falling
    /// back to the primary at once.
    pub async fn reader_for(&self, landlord: crate::types::Id) -> sqlx::Result<Reader> {
        let (Some(replicas), Pool::Postgres(primary)) = (&self.replicas, &self.reader.pool) else {
            return Ok(self.reader.clone());
        };
        let needed = match self.written.get() {
            Some(written) => written.needed(landlord).await,
            None => replicas::Needed::Unknown,
        };
        match replicas.route(primary, needed).await {
            replicas::Route::Replica(index) => {
                let replica = &replicas.replicas[index];
                replica.reads.fetch_add(1, Ordering::Relaxed);
                Ok(Reader {
                    pool: Pool::Postgres(replica.pool.clone()),
                    replica: Some(index),
                    _slot: None,
                })
            }
            replicas::Route::Fallback => match replicas.fallback_slot().await {
                Some(slot) => Ok(Reader {
                    _slot: Some(Arc::new(slot)),
                    ..self.reader.clone()
                }),
                None => Err(sqlx::Error::PoolTimedOut),
            },
        }
    }

    /// Runs `op` on [`Database::reader_for`]'s reader. When that was a
    /// replica and the connection failed (it went away since its last poll),
    /// the replica is skipped and `op` runs again on the primary.
    pub async fn read<T, E, F>(
        &self,
        landlord: crate::types::Id,
        op: impl Fn(Reader) -> F,
    ) -> Result<T, E>
    where
        F: Future<Output = Result<T, E>>,
        E: From<sqlx::Error> + ConnectionFailure,
    {
        let reader = self.reader_for(landlord).await?;
        let replica = reader.replica;
        match op(reader).await {
            Err(err) if err.is_connection_failure() => {
                let (Some(replicas), Some(index)) = (&self.replicas, replica) else {
                    return Err(err);
                };
                replicas.mark_down(index);
                op(self.reader.clone()).await
            }
            result => result,
        }
    }

    /// The primary's reader, for reads that must see the latest data
    /// whoever wrote it: login and token checks, the write path's own reads,
    /// generation counters, admin lists.
    pub fn reader_prefer_primary(&self) -> &Reader {
        &self.reader
    }

    /// Where [`Database::reader_for`] learns each landlord's last write (the
    /// cache); without it, reads wait for all the primary has written.
    pub fn use_written_lsns(&self, written: Arc<dyn replicas::WrittenLsns>) {
        if self.written.set(written).is_err() {
            tracing::warn!("the written-LSN source was set twice; keeping the first");
        }
    }

    /// Whether reads may go to replicas (PostgreSQL with `READ_REPLICA_URLS`).
    pub fn has_replicas(&self) -> bool {
        self.replicas.is_some()
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self.writer.0, Pool::Postgres(_))
    }

    /// Applies pending migrations for this engine.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        match &self.writer.0 {
            Pool::Sqlite(pool) => sqlx::migrate!("./migrations/sqlite").run(pool).await,
            Pool::Postgres(pool) => sqlx::migrate!("./migrations/postgres").run(pool).await,
        }
        .context("applying migrations")
    }

    /// Readiness: both handles answer a trivial query (replicas are
    /// optional: reads go to the primary without them).
    pub async fn ping(&self) -> sqlx::Result<()> {
        for pool in [&self.writer.0, &self.reader.pool] {
            dispatch!(pool, p => sqlx::query("SELECT 1").execute(p).await.map(drop))?;
        }
        Ok(())
    }

    /// Pool occupancy, for `/admin/db`.
    pub fn stats(&self) -> DatabaseStats {
        DatabaseStats {
            engine: if self.is_postgres() {
                "postgres"
            } else {
                "sqlite"
            },
            writer: self.writer.0.stats(),
            reader: self.reader.pool.stats(),
            replicas: self.replicas.as_ref().map(|r| r.stats()),
        }
    }

    pub async fn close(&self) {
        for pool in [&self.writer.0, &self.reader.pool] {
            dispatch!(pool, p => p.close().await);
        }
        for replica in self.replicas.iter().flat_map(|r| &r.replicas) {
            replica.pool.close().await;
        }
    }
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct DatabaseStats {
    pub engine: &'static str,
    pub writer: PoolStats,
    /// The primary's reader pool.
    pub reader: PoolStats,
    /// With `READ_REPLICA_URLS` (PostgreSQL): each replica, and where reads
    /// went.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replicas: Option<replicas::ReplicasStats>,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct PoolStats {
    pub size: u32,
    pub idle: usize,
    pub in_use: usize,
    pub max: u32,
}

impl PoolStats {
    fn of<DB: sqlx::Database>(pool: &sqlx::Pool<DB>) -> PoolStats {
        let size = pool.size();
        let idle = pool.num_idle();
        PoolStats {
            size,
            idle,
            in_use: (size as usize).saturating_sub(idle),
            max: pool.options().get_max_connections(),
        }
    }
}

impl Pool {
    pub fn is_postgres(&self) -> bool {
        matches!(self, Pool::Postgres(_))
    }

    fn stats(&self) -> PoolStats {
        dispatch!(self, p => PoolStats::of(p))
    }
}

/// One lazily connected pool per replica URL, and the task polling them.
fn connect_replicas(
    settings: &DatabaseSettings,
    primary: &PgPool,
) -> anyhow::Result<Option<Arc<replicas::Replicas>>> {
    if settings.replica_urls.is_empty() {
        return Ok(None);
    }
    let mut pools = Vec::new();
    for (index, url) in settings.replica_urls.iter().enumerate() {
        let redacted = url.redacted_url();
        let options = PgConnectOptions::from_str(url.expose())
            .with_context(|| format!("parsing replica URL {redacted}"))
            .map(generic_plans)?;
        let pool = PoolOptions::<Postgres>::new()
            .min_connections(
                settings
                    .replica_pool_size
                    .min(settings.replica_max_connections()),
            )
            .max_connections(settings.replica_max_connections())
            .acquire_timeout(Duration::from_secs(settings.replica_timeout_secs))
            .connect_lazy_with(options);
        tracing::info!(replica = %redacted, "read replica configured");
        pools.push(replicas::Replica::new(
            format!("replica-{}", index + 1),
            redacted.to_string(),
            pool,
        ));
    }
    let replicas = Arc::new(replicas::Replicas::new(pools, settings));
    tokio::spawn(Arc::clone(&replicas).poll_forever(primary.clone()));
    Ok(Some(replicas))
}

/// Plans each prepared statement once per connection. The reports'
/// statements are large (`UNION ALL` of several reads) and take an optional
/// property (`$n IS NULL OR property_id = $n`); by default PostgreSQL keeps
/// re-planning such statements for every execution (1–3 ms each, more than
/// running them), because a plan for the bound values looks cheaper.
/// Their generic plans seek the same landlord-first indexes.
fn generic_plans(options: PgConnectOptions) -> PgConnectOptions {
    options.options([("plan_cache_mode", "force_generic_plan")])
}

fn pool_options<DB: sqlx::Database>(settings: &DatabaseSettings) -> PoolOptions<DB> {
    PoolOptions::<DB>::new()
        .min_connections(settings.min_connections().min(settings.max_connections()))
        .max_connections(settings.max_connections())
        .acquire_timeout(settings.acquire_timeout())
}
