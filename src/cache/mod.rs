//! The tiered cache in front of the reports and lists.
//!
//! One entry point, [`Cache::get_or_load`]: L1 (moka, in-process, bounded by
//! bytes, per-entry TTL) → L2 (Redis, when configured) → loader. Keys carry
//! the landlord's generation for the data the view depends on
//! ([`generations`]), so a write makes every dependent key unreachable in O(1)
//! and a read after an acknowledged write always misses into the database.
//! Concurrent misses of one key run one load per instance (single-flight) and,
//! with Redis, one per cluster (a short `SET NX PX` lease: the others wait
//! briefly for its result). An entry past its TTL is served stale while one
//! refresh runs (never across an invalidation: that is a different key).
//!
//! With Redis the generations live there (bumped with `HINCRBY`, announced on
//! a pub/sub channel every instance follows, see [`sync`]). See `docs/CACHE.md`.

mod clear;
pub mod entry;
pub mod generations;
mod glob;
pub mod l2;
mod stale;
pub mod stats;
mod sync;
mod tokens;
pub mod view;

use std::{
    future::Future,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use axum::body::Bytes;
use moka::{future::Cache as Moka, notification::RemovalCause};
use rand::RngExt;
use serde::Serialize;

pub use clear::ClearError;
pub use entry::Entry;
pub use stats::{Tier, ViewStats};
pub use tokens::CachedToken;
pub use view::{Data, TtlClass, View};

use crate::config::CacheSettings;
use crate::error::{AppError, AppResult};
use crate::types::Id;
use generations::Generations;
use l2::L2;
use stats::Stats;
use sync::Announcement;

/// Bumped when the layout of cached bodies changes, so old entries in a
/// shared tier are never read by new code.
pub const SCHEMA_VERSION: u32 = 1;

/// While Redis is down, L1 entries live at most this long: other instances'
/// writes cannot reach this one then.
const L1_TTL_WITHOUT_REDIS: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub struct Cache {
    inner: Arc<Inner>,
}

struct Inner {
    settings: CacheSettings,
    l1: Moka<String, Arc<Entry>>,
    l2: Option<L2>,
    /// The pub/sub channel of invalidations between instances.
    channel: String,
    generations: Generations,
    /// Generation bumps made while Redis was unreachable, replayed to it when
    /// it is back (else its counters would lag behind data written meanwhile
    /// and old L2 entries would become reachable again).
    pending: Mutex<Vec<(Option<Id>, Data)>>,
    /// Bearer-token checks (token hash → owner), so a cache hit touches no
    /// database at all.
    tokens: Moka<String, CachedToken>,
    stats: Arc<Stats>,
    /// Keys whose stale entry is being refreshed, so only one refresh runs.
    refreshing: stale::InFlight,
    /// Whether the invalidation channel is being followed (with Redis).
    subscribed: AtomicBool,
}

/// A response body and where it came from.
#[derive(Debug, Clone)]
pub struct Served {
    pub entry: Arc<Entry>,
    pub tier: Tier,
}

#[derive(Debug, Serialize)]
pub struct CacheStats {
    pub enabled: bool,
    /// `off` (no Redis configured), `up`, or `down` (skipped by the breaker).
    pub l2: &'static str,
    pub strict: bool,
    pub l1: L1Stats,
    pub views: Vec<ViewStats>,
}

#[derive(Debug, Serialize)]
pub struct L1Stats {
    pub items: u64,
    pub bytes: u64,
    pub max_bytes: u64,
    pub evictions: u64,
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Every critical section here leaves the data consistent, so a poisoned
    // lock is still usable.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Cache {
    /// An L1-only cache (no `REDIS_URL`).
    pub fn new(settings: CacheSettings) -> Cache {
        Cache::build(settings, None)
    }

    /// The cache for these settings: with a Redis URL, L1 + L2 and the
    /// invalidation channel (followed by a background task); without, L1
    /// only. An unreachable Redis is not an error: requests go on without it.
    pub async fn connect(
        settings: CacheSettings,
        redis_url: Option<&str>,
    ) -> anyhow::Result<Cache> {
        let Some(url) = redis_url else {
            return Ok(Cache::new(settings));
        };
        let root = format!("{}:v{SCHEMA_VERSION}", settings.prefix);
        let timeout = Duration::from_millis(settings.redis_timeout_ms);
        let l2 = L2::new(url, root, timeout)?;
        let cache = Cache::build(settings, Some(l2));
        sync::follow(cache.clone());
        Ok(cache)
    }

    fn build(settings: CacheSettings, l2: Option<L2>) -> Cache {
        let stats = Arc::new(Stats::default());
        let evictions = Arc::clone(&stats);
        let stale_window = Duration::from_secs(settings.stale_secs);
        let l1 = Moka::builder()
            .max_capacity(settings.l1_max_bytes)
            .weigher(|key: &String, entry: &Arc<Entry>| entry.weight(key))
            .expire_after(KeepWhileServable { stale_window })
            .support_invalidation_closures()
            .eviction_listener(move |_key, _entry, cause| {
                if cause == RemovalCause::Size {
                    evictions.evictions.fetch_add(1, Ordering::Relaxed);
                }
            })
            .build();
        let tokens = Moka::builder()
            .max_capacity(100_000)
            .time_to_live(Duration::from_secs(settings.token_ttl_secs))
            .build();
        Cache {
            inner: Arc::new(Inner {
                channel: format!("{}:v{SCHEMA_VERSION}:invalidate", settings.prefix),
                settings,
                l1,
                l2,
                generations: Generations::default(),
                pending: Mutex::new(Vec::new()),
                tokens,
                stats,
                refreshing: stale::InFlight::default(),
                subscribed: AtomicBool::new(false),
            }),
        }
    }

    pub fn enabled(&self) -> bool {
        self.inner.settings.enabled
    }

    pub fn settings(&self) -> &CacheSettings {
        &self.inner.settings
    }

    /// Whether this instance follows the Redis invalidation channel (false
    /// without Redis, and while the channel is down).
    pub fn is_following(&self) -> bool {
        self.inner.subscribed.load(Ordering::Relaxed)
    }

    /// `{prefix}:v{schema}:{service}:{operation}:{landlord}:g{generation}:{params}`.
    /// With Redis, the landlord's counters come from it the first time, and on
    /// every call in strict mode (so another instance's write is seen at once
    /// rather than when its announcement arrives).
    pub async fn key(&self, view: View, landlord: Id, params: &str) -> String {
        if let Some(l2) = &self.inner.l2
            && (self.inner.settings.strict || !self.inner.generations.is_known(landlord))
            && let Some((own, global)) = l2.generations(landlord).await
        {
            self.inner.generations.load(landlord, own, global);
        }
        let (service, operation) = view.key_parts();
        let generation = self.inner.generations.of(landlord, view);
        format!(
            "{}:v{SCHEMA_VERSION}:{service}:{operation}:{landlord}:g{generation}:{params}",
            self.inner.settings.prefix
        )
    }

    /// The cached body of `view` for `landlord` and `params` (a canonical
    /// string of every parameter the body depends on, dates included), or
    /// `load`'s result, stored for the view's TTL. `load` is only polled on a
    /// miss or a stale refresh.
    pub async fn get_or_load<F>(
        &self,
        view: View,
        landlord: Id,
        params: &str,
        load: F,
    ) -> AppResult<Served>
    where
        F: Future<Output = AppResult<Bytes>> + Send + 'static,
    {
        if !self.enabled() || view.ttl_class().secs(&self.inner.settings) == 0 {
            let started = Instant::now();
            let body = load.await?;
            self.inner.stats.loaded(view, started.elapsed());
            self.inner.stats.served(view, Tier::Miss);
            return Ok(Served {
                entry: Arc::new(Entry::new(body, Duration::ZERO)),
                tier: Tier::Miss,
            });
        }
        // The generation is read here, before any load (see `generations`).
        let key = self.key(view, landlord, params).await;
        if let Some(entry) = self.inner.l1.get(&key).await {
            let tier = if entry.is_fresh() {
                Tier::L1
            } else {
                self.refresh_in_background(view, key, load);
                Tier::Stale
            };
            self.inner.stats.served(view, tier);
            return Ok(Served { entry, tier });
        }

        // A miss: only now is the jittered TTL worth drawing.
        let ttl = self.ttl(view);
        // Whoever runs `init` records where the value came from; requests
        // that waited on another's `init` find nothing recorded.
        let outcome = Arc::new(Mutex::new(None::<Tier>));
        let init = {
            let outcome = Arc::clone(&outcome);
            let cache = self.clone();
            let key = key.clone();
            async move {
                let (entry, tier) = cache.l2_or_load(view, &key, ttl, load).await?;
                *lock(&outcome) = Some(tier);
                Ok::<_, AppError>(entry)
            }
        };
        let entry = self
            .inner
            .l1
            .entry(key)
            .or_try_insert_with(init)
            .await
            .map_err(shared_error)?
            .into_value();
        let recorded = *lock(&outcome);
        let tier = recorded.unwrap_or_else(|| {
            self.inner.stats.coalesced(view);
            Tier::L1
        });
        self.inner.stats.served(view, tier);
        Ok(Served { entry, tier })
    }

    /// Recomputes `view` now and stores it (warming and the scheduled
    /// refresh), whatever the cache holds.
    pub async fn refresh<F>(&self, view: View, landlord: Id, params: &str, load: F) -> AppResult<()>
    where
        F: Future<Output = AppResult<Bytes>> + Send + 'static,
    {
        if !self.enabled() {
            return Ok(());
        }
        let ttl = self.ttl(view);
        let key = self.key(view, landlord, params).await;
        let started = Instant::now();
        let entry = self.store(view, &key, load.await?, started, ttl).await;
        self.inner.l1.insert(key, entry).await;
        Ok(())
    }

    /// A body just loaded becomes an entry: counted, and written to Redis
    /// (when present) for the other instances. The caller puts it in L1.
    async fn store(
        &self,
        view: View,
        key: &str,
        body: Bytes,
        started: Instant,
        ttl: Duration,
    ) -> Arc<Entry> {
        self.inner.stats.loaded(view, started.elapsed());
        let entry = Arc::new(Entry::new(body, self.l1_ttl(ttl)));
        if let Some(l2) = &self.inner.l2 {
            l2.set(key, &entry.encode(), ttl).await;
        }
        entry
    }

    /// The L1 miss path: L2 (a value that fails to decode is a miss), else a
    /// load — by this instance if it wins the Redis lease on the key, else
    /// after waiting briefly for the instance that did.
    async fn l2_or_load<F>(
        &self,
        view: View,
        key: &str,
        ttl: Duration,
        load: F,
    ) -> AppResult<(Arc<Entry>, Tier)>
    where
        F: Future<Output = AppResult<Bytes>> + Send + 'static,
    {
        if let Some(l2) = &self.inner.l2 {
            if let Some(entry) = self.l2_entry(l2, key, ttl).await {
                return Ok((entry, Tier::L2));
            }
            if !l2.lease(key).await {
                // Another instance is computing this key: wait briefly for it.
                for _ in 0..20 {
                    tokio::time::sleep(Duration::from_millis(25)).await;
                    if let Some(entry) = self.l2_entry(l2, key, ttl).await {
                        return Ok((entry, Tier::L2));
                    }
                }
            }
        }
        let started = Instant::now();
        let entry = self.store(view, key, load.await?, started, ttl).await;
        if let Some(l2) = &self.inner.l2 {
            l2.release(key).await;
        }
        Ok((entry, Tier::Miss))
    }

    async fn l2_entry(&self, l2: &L2, key: &str, ttl: Duration) -> Option<Arc<Entry>> {
        let bytes = l2.get(key).await?;
        match Entry::decode(&bytes, self.l1_ttl(ttl)) {
            Some(entry) => Some(Arc::new(entry)),
            None => {
                tracing::warn!(key, "undecodable value in Redis; treated as a miss");
                None
            }
        }
    }

    /// L1 entries live briefly while Redis is unreachable or its
    /// invalidations cannot be followed.
    fn l1_ttl(&self, ttl: Duration) -> Duration {
        match &self.inner.l2 {
            Some(l2) if l2.is_down() || !self.inner.subscribed.load(Ordering::Relaxed) => {
                ttl.min(L1_TTL_WITHOUT_REDIS)
            }
            _ => ttl,
        }
    }

    /// Reloads a stale entry once, in the background, under the same key.
    fn refresh_in_background<F>(&self, view: View, key: String, load: F)
    where
        F: Future<Output = AppResult<Bytes>> + Send + 'static,
    {
        let Some(claim) = stale::Refreshing::claim(self, &key) else {
            return;
        };
        let cache = self.clone();
        let ttl = self.ttl(view);
        tokio::spawn(async move {
            let started = Instant::now();
            match load.await {
                Ok(body) => {
                    let entry = cache.store(view, &key, body, started, ttl).await;
                    cache.inner.l1.insert(key, entry).await;
                }
                Err(err) => {
                    tracing::warn!(view = view.name(), error = %err, "stale refresh failed")
                }
            }
            drop(claim);
        });
    }

    async fn announce(&self, announcement: Announcement) {
        if let Some(l2) = &self.inner.l2 {
            l2.publish(&self.inner.channel, &announcement.encode())
                .await;
        }
    }

    /// Call after a write has committed, before answering it: every view
    /// that depends on a touched `(landlord, data)` (`None`: every landlord)
    /// moves to a new key, here at once and on other instances when the
    /// announcement arrives.
    pub async fn invalidate(&self, touched: &[(Option<Id>, Data)]) {
        let mut by_landlord: Vec<(Option<Id>, Vec<Data>)> = Vec::new();
        for &(landlord, data) in touched {
            match by_landlord.iter_mut().find(|(who, _)| *who == landlord) {
                Some((_, kinds)) if kinds.contains(&data) => {}
                Some((_, kinds)) => kinds.push(data),
                None => by_landlord.push((landlord, vec![data])),
            }
        }
        for (landlord, kinds) in by_landlord {
            self.bump(landlord, &kinds).await;
        }
    }

    async fn bump(&self, landlord: Option<Id>, touched: &[Data]) {
        match landlord {
            Some(id) => self.inner.generations.bump(id, touched),
            None => self.inner.generations.bump_all(touched),
        }
        let Some(l2) = &self.inner.l2 else { return };
        match l2.bump(landlord, touched).await {
            Some(counters) => {
                for &(data, value) in &counters {
                    self.inner.generations.apply(landlord, data, value);
                }
                self.announce(Announcement::Generations { landlord, counters })
                    .await;
            }
            None => lock(&self.inner.pending).extend(touched.iter().map(|data| (landlord, *data))),
        }
    }

    pub async fn stats(&self) -> CacheStats {
        self.inner.l1.run_pending_tasks().await;
        CacheStats {
            enabled: self.enabled(),
            l2: match &self.inner.l2 {
                None => "off",
                Some(l2) if l2.is_down() => "down",
                Some(_) => "up",
            },
            strict: self.inner.settings.strict,
            l1: L1Stats {
                items: self.inner.l1.entry_count(),
                bytes: self.inner.l1.weighted_size(),
                max_bytes: self.inner.settings.l1_max_bytes,
                evictions: self.inner.stats.evictions.load(Ordering::Relaxed),
            },
            views: self.inner.stats.snapshot(),
        }
    }

    /// The view's TTL with ±`jitter_pct` so entries made together do not
    /// expire together.
    fn ttl(&self, view: View) -> Duration {
        let base = view.ttl_class().secs(&self.inner.settings);
        if base == 0 {
            return Duration::ZERO;
        }
        let jitter = f64::from(self.inner.settings.jitter_pct) / 100.0;
        let factor = 1.0 + rand::rng().random_range(-jitter..=jitter);
        Duration::from_secs_f64(base as f64 * factor)
    }
}

/// moka keeps an entry for its TTL plus the stale window, during which it is
/// served stale while one refresh runs.
struct KeepWhileServable {
    stale_window: Duration,
}

impl moka::Expiry<String, Arc<Entry>> for KeepWhileServable {
    fn expire_after_create(
        &self,
        _key: &String,
        entry: &Arc<Entry>,
        created_at: Instant,
    ) -> Option<Duration> {
        Some(entry.fresh_until.saturating_duration_since(created_at) + self.stale_window)
    }

    /// A refreshed entry replaces the stale one with a lifetime of its own.
    fn expire_after_update(
        &self,
        key: &String,
        entry: &Arc<Entry>,
        updated_at: Instant,
        _remaining: Option<Duration>,
    ) -> Option<Duration> {
        self.expire_after_create(key, entry, updated_at)
    }
}

/// moka shares a failed load's error among the waiters.
fn shared_error(err: Arc<AppError>) -> AppError {
    Arc::try_unwrap(err).unwrap_or_else(|shared| shared.replicate())
}
