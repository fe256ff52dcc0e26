//! PostgreSQL read replicas: which one a landlord's read may use.
//!
//! A background task polls every replica's replay position (and the
//! primary's write position) every `replica_poll_ms`. A read for a landlord
//! asks [`WrittenLsns`] (the cache, which knows every instance's writes) the
//! WAL position of that landlord's last acknowledged write, and goes to a
//! usable replica that has replayed it: one that answers, lags less than
//! `max_replica_lag_bytes` / `max_replica_lag_secs`, least lagging first.
//! When none has, the read waits up to `replica_wait_ms` for one to catch up
//! (checked on demand), then goes to the primary. Reads that fall back to the
//! primary hold a slot of a bounded set, so a cascade of shunned replicas
//! cannot flood it: past the bound a read waits briefly, then is refused
//! with 503. See `docs/REPLICAS.md`.

use std::{
    fmt,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use futures_util::future::BoxFuture;
use sqlx::PgPool;
use tokio::sync::Semaphore;

use crate::config::DatabaseSettings;
use crate::types::Id;

/// A WAL position (`pg_lsn`) as a number, so positions compare and subtract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Lsn(pub u64);

impl Lsn {
    /// `16/B374D848` → the 64-bit position.
    pub fn parse(text: &str) -> Option<Lsn> {
        let (high, low) = text.split_once('/')?;
        let high = u64::from_str_radix(high, 16).ok()?;
        let low = u64::from_str_radix(low, 16).ok()?;
        (high <= u64::from(u32::MAX) && low <= u64::from(u32::MAX)).then_some(Lsn(high << 32 | low))
    }
}

impl fmt::Display for Lsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:X}/{:X}", self.0 >> 32, self.0 & 0xFFFF_FFFF)
    }
}

/// What a read must see: the landlord's last acknowledged write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needed {
    /// The WAL position of the landlord's last write known to any instance
    /// (zero: none recorded).
    Known(Lsn),
    /// Not knowable now (no Redis to share positions, or Redis down): the
    /// read waits for everything the primary has written so far.
    Unknown,
}

/// Where the WAL positions of landlords' writes are kept (the cache: in
/// this process, and in Redis for every instance).
pub trait WrittenLsns: Send + Sync + 'static {
    fn needed(&self, landlord: Id) -> BoxFuture<'_, Needed>;
}

/// One replica's pool and what the last poll saw of it.
pub struct Replica {
    pub name: String,
    /// The URL with its password hidden, for `/admin/db`.
    pub url: String,
    pub pool: PgPool,
    state: Mutex<Seen>,
    pub reads: AtomicU64,
}

/// One poll of a replica.
#[derive(Debug, Clone, Copy, Default)]
struct Seen {
    healthy: bool,
    replay: Lsn,
    lag_bytes: u64,
    lag_secs: f64,
    /// When the replica last answered a poll.
    at: Option<Instant>,
    /// When it was last polled, answering or not.
    tried: Option<Instant>,
}

/// The replicas of one database and the rules for using them.
pub struct Replicas {
    pub replicas: Vec<Replica>,
    max_lag_bytes: u64,
    max_lag: Duration,
    wait: Duration,
    poll: Duration,
    /// How often a replica that does not answer is tried again.
    health: Duration,
    /// Reads sent to the primary because no replica could take them.
    fallback: Arc<Semaphore>,
    fallback_slots: u32,
    pub reads_fallback: AtomicU64,
    pub reads_refused: AtomicU64,
    pub waits: AtomicU64,
}

/// Where a read goes.
pub enum Route {
    /// The replica of this index.
    Replica(usize),
    /// The primary, because no replica could take the read.
    Fallback,
}

/// `/admin/db`'s replica section.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ReplicasStats {
    pub replicas: Vec<ReplicaStats>,
    pub reads: ReadCounts,
    /// Reads running on the primary because no replica could take them,
    /// and the bound on them (`database.max_fallback_reads`).
    pub fallback_in_use: u32,
    pub fallback_max: u32,
}

/// `/admin/db`'s view of one replica.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ReplicaStats {
    pub name: String,
    pub url: String,
    pub healthy: bool,
    /// Healthy and within the lag limits: reads may use it.
    pub usable: bool,
    pub replay_lsn: String,
    pub lag_bytes: u64,
    /// 0 when the replica has replayed all it received (an idle primary is
    /// not lag).
    pub lag_seconds: f64,
    pub reads: u64,
    pub pool: super::PoolStats,
}

/// How many reads went where.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ReadCounts {
    /// Reads sent to the primary because no replica had replayed what they
    /// need (or none was usable).
    pub primary_fallback: u64,
    /// Reads refused (503) because too many were falling back at once.
    pub refused: u64,
    /// Reads that waited for a replica to catch up.
    pub waited: u64,
    pub replicas: u64,
}

impl Replicas {
    pub fn new(replicas: Vec<Replica>, settings: &DatabaseSettings) -> Replicas {
        let slots = settings.max_fallback_reads();
        Replicas {
            replicas,
            max_lag_bytes: settings.max_replica_lag_bytes,
            max_lag: Duration::from_millis(settings.max_replica_lag_ms),
            wait: Duration::from_millis(settings.replica_wait_ms),
            poll: Duration::from_millis(settings.replica_poll_ms.max(10)),
            health: Duration::from_millis(settings.replica_health_ms.max(10)),
            fallback: Arc::new(Semaphore::new(slots as usize)),
            fallback_slots: slots,
            reads_fallback: AtomicU64::new(0),
            reads_refused: AtomicU64::new(0),
            waits: AtomicU64::new(0),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.replicas.is_empty()
    }

    /// A usable replica that has replayed `needed` (least lag first); else,
    /// after waiting up to `replica_wait_ms` for one to catch up, the primary.
    pub async fn route(&self, primary: &PgPool, needed: Needed) -> Route {
        let needed = match needed {
            Needed::Known(lsn) => lsn,
            Needed::Unknown => match primary_lsn(primary).await {
                Ok(lsn) => lsn,
                Err(_) => return Route::Fallback,
            },
        };
        let mut usable: Vec<(usize, Seen)> = self
            .replicas
            .iter()
            .map(Replica::seen)
            .enumerate()
            .filter(|(_, seen)| self.is_usable(seen))
            .collect();
        // Least lag first; among equals, the least busy pool.
        usable.sort_by_key(|(index, seen)| {
            let pool = &self.replicas[*index].pool;
            (seen.lag_bytes, pool.size() as usize - pool.num_idle())
        });
        if let Some((index, _)) = usable.iter().find(|(_, seen)| seen.replay >= needed) {
            return Route::Replica(*index);
        }
        // The least lagging usable replica may catch up within the wait.
        let Some(&(index, _)) = usable.first() else {
            return Route::Fallback;
        };
        if self.wait.is_zero() {
            return Route::Fallback;
        }
        self.waits.fetch_add(1, Ordering::Relaxed);
        let deadline = Instant::now() + self.wait;
        loop {
            if let Ok(replay) = replay_lsn(&self.replicas[index].pool).await
                && replay >= needed
            {
                return Route::Replica(index);
            }
            if Instant::now() + Duration::from_millis(5) > deadline {
                return Route::Fallback;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// A slot for a read falling back to the primary, waiting up to a second
    /// for one; `None`: too many reads are falling back (answer 503).
    pub async fn fallback_slot(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        let slot = tokio::time::timeout(
            Duration::from_secs(1),
            Arc::clone(&self.fallback).acquire_owned(),
        )
        .await;
        match slot {
            Ok(Ok(permit)) => {
                self.reads_fallback.fetch_add(1, Ordering::Relaxed);
                Some(permit)
            }
            _ => {
                self.reads_refused.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }

    fn is_usable(&self, seen: &Seen) -> bool {
        let recent = seen
            .at
            .is_some_and(|at| at.elapsed() < self.poll * 20 + Duration::from_secs(1));
        seen.healthy
            && recent
            && seen.lag_bytes <= self.max_lag_bytes
            && seen.lag_secs <= self.max_lag.as_secs_f64()
    }

    /// Marks a replica down after a failed read (the next poll re-checks it).
    pub fn mark_down(&self, index: usize) {
        let replica = &self.replicas[index];
        replica.lock().healthy = false;
        tracing::warn!(replica = %replica.name, "replica read failed; skipping it until it answers");
    }

    /// Polls every replica forever (spawned by `Database::connect`).
    pub async fn poll_forever(self: Arc<Self>, primary: PgPool) {
        let mut ticker = tokio::time::interval(self.poll);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            if Arc::strong_count(&self) == 1 {
                return; // the database was dropped
            }
            let head = primary_lsn(&primary).await.ok();
            for replica in &self.replicas {
                let seen = replica.seen();
                let resting = !seen.healthy
                    && seen
                        .tried
                        .is_some_and(|tried| tried.elapsed() < self.health);
                if !resting {
                    let was_usable = self.is_usable(&seen);
                    replica.poll(head).await;
                    let now = replica.seen();
                    if was_usable && now.healthy && !self.is_usable(&now) {
                        tracing::warn!(
                            replica = %replica.name,
                            lag_bytes = now.lag_bytes,
                            lag_seconds = now.lag_secs,
                            "replica lags beyond max_replica_lag; its reads go to the primary"
                        );
                    }
                }
            }
        }
    }

    pub fn stats(&self) -> ReplicasStats {
        let replicas: Vec<ReplicaStats> = self
            .replicas
            .iter()
            .map(|replica| {
                let seen = replica.seen();
                ReplicaStats {
                    name: replica.name.clone(),
                    url: replica.url.clone(),
                    healthy: seen.healthy,
                    usable: self.is_usable(&seen),
                    replay_lsn: seen.replay.to_string(),
                    lag_bytes: seen.lag_bytes,
                    lag_seconds: seen.lag_secs,
                    reads: replica.reads.load(Ordering::Relaxed),
                    pool: super::PoolStats::of(&replica.pool),
                }
            })
            .collect();
        let reads = ReadCounts {
            primary_fallback: self.reads_fallback.load(Ordering::Relaxed),
            refused: self.reads_refused.load(Ordering::Relaxed),
            waited: self.waits.load(Ordering::Relaxed),
            replicas: replicas.iter().map(|replica| replica.reads).sum(),
        };
        ReplicasStats {
            replicas,
            reads,
            fallback_in_use: self
                .fallback_slots
                .saturating_sub(self.fallback.available_permits() as u32),
            fallback_max: self.fallback_slots,
        }
    }
}

impl Replica {
    pub fn new(name: String, url: String, pool: PgPool) -> Replica {
        Replica {
            name,
            url,
            pool,
            state: Mutex::new(Seen::default()),
            reads: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn seen(&self) -> Seen {
        *self.lock()
    }

    /// One poll: replay and receive positions, and the replay delay. `head`
    /// is the primary's write position, for the lag in bytes.
    async fn poll(&self, head: Option<Lsn>) {
        let query = sqlx::query_as::<_, (Option<String>, Option<String>, Option<f64>)>(
            "SELECT pg_last_wal_replay_lsn()::text, pg_last_wal_receive_lsn()::text, \
             EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())::float8",
        )
        .fetch_one(&self.pool);
        let answer = tokio::time::timeout(Duration::from_secs(1), query).await;
        let mut seen = self.lock();
        seen.tried = Some(Instant::now());
        match answer {
            Ok(Ok((Some(replay), receive, delay))) => {
                let was_healthy = seen.healthy;
                let replay = Lsn::parse(&replay).unwrap_or_default();
                let receive = receive.as_deref().and_then(Lsn::parse);
                seen.healthy = true;
                seen.replay = replay;
                seen.lag_bytes = head.map_or(0, |head| head.0.saturating_sub(replay.0));
                // Caught up with all it received: an idle primary is no lag.
                seen.lag_secs = if receive == Some(replay) || seen.lag_bytes == 0 {
                    0.0
                } else {
                    delay.unwrap_or(0.0).max(0.0)
                };
                seen.at = Some(Instant::now());
                if !was_healthy {
                    tracing::info!(replica = %self.name, lsn = %replay, "replica answers; using it again");
                }
            }
            Ok(Ok((None, _, _))) => {
                // Not in recovery: this is no replica (a promoted one, or a
                // wrong URL). Never read from it as a replica.
                if seen.healthy {
                    tracing::warn!(replica = %self.name, "not a replica (not in recovery); skipping it");
                }
                seen.healthy = false;
            }
            Ok(Err(err)) => {
                if seen.healthy {
                    tracing::warn!(replica = %self.name, error = %err, "replica does not answer; skipping it");
                }
                seen.healthy = false;
            }
            Err(_) => {
                if seen.healthy {
                    tracing::warn!(replica = %self.name, "replica poll timed out; skipping it");
                }
                seen.healthy = false;
            }
        }
    }
}

/// The primary's current WAL write position.
pub async fn primary_lsn(primary: &PgPool) -> sqlx::Result<Lsn> {
    let text: String = sqlx::query_scalar("SELECT pg_current_wal_lsn()::text")
        .fetch_one(primary)
        .await?;
    Lsn::parse(&text).ok_or_else(|| sqlx::Error::Protocol(format!("unexpected LSN {text:?}")))
}

async fn replay_lsn(replica: &PgPool) -> sqlx::Result<Lsn> {
    let text: Option<String> = sqlx::query_scalar("SELECT pg_last_wal_replay_lsn()::text")
        .fetch_one(replica)
        .await?;
    Ok(text.as_deref().and_then(Lsn::parse).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::Lsn;

    #[test]
    fn lsns_parse_compare_and_print() {
        let low = Lsn::parse("0/16B3748").expect("parses");
        let high = Lsn::parse("16/B374D848").expect("parses");
        assert_eq!(high.0, 0x16_B374_D848);
        assert!(low < high);
        assert_eq!(high.to_string(), "16/B374D848");
        assert_eq!(Lsn::parse("nonsense"), None);
        assert_eq!(Lsn::parse("1/"), None);
    }
}
