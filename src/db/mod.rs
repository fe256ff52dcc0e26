//! Database access with read/write separation visible in the types.
//!
//! [`Writer`] is the only handle that can open a write transaction ([`WriteTx`]);
//! [`Reader`] only runs reads. On SQLite the writer is exactly one connection and
//! the readers a WAL pool; on PostgreSQL both are pools (replica routing arrives
//! with the replica work: until then readers use the primary, which keeps
//! read-your-writes trivially true).
//!
//! Queries are written once, in SQL both engines accept (`$N` parameters,
//! `RETURNING`, `ON CONFLICT`), and run on either concrete pool through
//! [`dispatch!`] / [`dispatch_tx!`]. Anything that must differ per engine lives in
//! [`dialect`].

pub mod charges;
mod constraint;
pub mod dialect;
pub mod generations;
pub mod leases;
pub mod occupancy;
pub mod page;
pub mod payments;
pub mod properties;
pub mod reports;
pub mod rollups;
pub mod shortcodes;
pub mod tenants;
pub mod testing;
pub mod tokens;
pub mod units;
pub mod users;

use std::{str::FromStr, time::Duration};

use anyhow::Context;
use sqlx::{
    PgPool, Postgres, Sqlite, SqlitePool, Transaction,
    pool::PoolOptions,
    postgres::PgConnectOptions,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous},
};

use crate::config::DatabaseSettings;

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

/// A handle that only reads.
#[derive(Clone, Debug)]
pub struct Reader(Pool);

/// An open write transaction; dropped without [`WriteTx::commit`] it rolls back,
/// so an error anywhere in a multi-row write leaves nothing half-written.
/// It carries the roll-up changes its writes made ([`rollups::Delta`]; the
/// query functions that change charges or payments record them), applied
/// when it commits: a committed write and its roll-ups are never apart.
pub struct WriteTx {
    conn: TxConn,
    rollups: rollups::Delta,
}

pub enum TxConn {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

/// Both handles of one database.
#[derive(Clone, Debug)]
pub struct Database {
    writer: Writer,
    reader: Reader,
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
}

impl WriteTx {
    /// Applies the roll-up changes, then commits.
    pub async fn commit(mut self) -> sqlx::Result<()> {
        let delta = std::mem::take(&mut self.rollups);
        if !delta.is_empty() {
            delta.apply(&mut self).await?;
        }
        match self.conn {
            TxConn::Sqlite(tx) => tx.commit().await,
            TxConn::Postgres(tx) => tx.commit().await,
        }
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
    pub(crate) fn pool(&self) -> &Pool {
        &self.0
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
                .with_context(|| format!("parsing database URL {target}"))?;
            let pool = pool_options(settings)
                .connect_with(options)
                .await
                .with_context(|| format!("connecting to {target}"))?;
            tracing::info!(database = %target, "connected to PostgreSQL");
            let pool = Pool::Postgres(pool);
            return Ok(Database {
                writer: Writer(pool.clone()),
                reader: Reader(pool),
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
        // Each SQLite reader is a thread doing CPU work on cached pages: more
        // than two per core only adds memory.
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get() as u32);
        let readers = settings.max_connections().min(2 * cores).max(2);
        let reader = pool_options(settings)
            .min_connections(settings.min_connections().min(readers))
            .max_connections(readers)
            .connect_lazy_with(options.read_only(true));
        tracing::info!(database = %target, "opened SQLite database (WAL)");
        Ok(Database {
            writer: Writer(Pool::Sqlite(writer)),
            reader: Reader(Pool::Sqlite(reader)),
        })
    }

    pub fn writer(&self) -> &Writer {
        &self.writer
    }

    /// The reader for a landlord's reads. Today every landlord shares one reader;
    /// the landlord parameter is where replica choice by write LSN will hook in.
    pub fn reader_for(&self, _landlord: crate::types::Id) -> &Reader {
        &self.reader
    }

    /// The reader for reads that belong to no landlord (auth, admin).
    pub fn reader(&self) -> &Reader {
        &self.reader
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

    /// Readiness: both handles answer a trivial query.
    pub async fn ping(&self) -> sqlx::Result<()> {
        for pool in [&self.writer.0, &self.reader.0] {
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
            reader: self.reader.0.stats(),
        }
    }

    pub async fn close(&self) {
        for pool in [&self.writer.0, &self.reader.0] {
            dispatch!(pool, p => p.close().await);
        }
    }
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct DatabaseStats {
    pub engine: &'static str,
    pub writer: PoolStats,
    pub reader: PoolStats,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct PoolStats {
    pub size: u32,
    pub idle: usize,
    pub max: u32,
}

impl Pool {
    pub fn is_postgres(&self) -> bool {
        matches!(self, Pool::Postgres(_))
    }

    fn stats(&self) -> PoolStats {
        dispatch!(self, p => PoolStats {
            size: p.size(),
            idle: p.num_idle(),
            max: p.options().get_max_connections(),
        })
    }
}

fn pool_options<DB: sqlx::Database>(settings: &DatabaseSettings) -> PoolOptions<DB> {
    PoolOptions::<DB>::new()
        .min_connections(settings.min_connections().min(settings.max_connections()))
        .max_connections(settings.max_connections())
        .acquire_timeout(settings.acquire_timeout())
}
