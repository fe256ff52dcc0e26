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
//! The generations live in the database, bumped inside each write's own
//! transaction; Redis (when configured) only announces them on a pub/sub
//! channel every instance follows ([`sync`]). See `docs/CACHE.md`.

mod clear;
pub mod entry;
pub mod generations;
mod glob;
pub mod l2;
mod lsns;
pub mod patch;
pub mod recent;
mod stale;
pub mod stats;
mod sync;
mod tokens;
pub mod view;

use std::{
    future::Future,
    pin::Pin,
    sync::{
        Arc, Mutex, OnceLock,
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
use crate::db::replicas::Lsn;
use crate::error::{AppError, AppResult};
use crate::types::Id;
use generations::Generations;
use l2::L2;
use stats::Stats;
use sync::Announcement;

/// A view's body being computed. Boxed, so that a request served from L1
/// never carries (and moves) the state of a report computation it does not
/// run: an unboxed loader made every hit copy kilobytes of future state.
pub type Load = Pin<Box<dyn Future<Output = AppResult<Bytes>> + Send>>;

/// Bumped when the layout of cached bodies changes, so old entries in a
/// shared tier are never read by new code.
pub const SCHEMA_VERSION: u32 = 2;

/// While Redis is down, L1 entries live at most this long: other instances'
/// writes cannot reach this one then.
const L1_TTL_WITHOUT_REDIS: Duration = Duration::from_secs(5);

/// Without an invalidation channel, a landlord's counters are re-read from the
/// database at most this often (the bound on how late another instance's
/// write is seen).
const RECHECK_WITHOUT_CHANNEL: Duration = Duration::from_secs(1);

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
    /// Where committed generation counters are read (the database).
    source: OnceLock<Arc<dyn generations::Source>>,
    /// Bearer-token checks (token hash → owner), so a cache hit touches no
    /// database at all.
    tokens: Moka<String, CachedToken>,
    stats: Arc<Stats>,
    /// Keys whose stale entry is being refreshed, so only one refresh runs.
    refreshing: stale::InFlight,
    /// Whether the invalidation channel is being followed (with Redis).
    subscribed: AtomicBool,
    /// The WAL positions of landlords' last writes (with replicas).
    positions: lsns::Positions,
    tracks_lsns: AtomicBool,
    /// The last invalidations applied here (the operator's page).
    recent: recent::Recent,
}

/// Where one view's body lives: its key, and whose and which generations
/// the key names.
#[derive(Debug, Clone)]
struct Slot {
    view: View,
    landlord: Id,
    key: String,
    tag: String,
}

/// A response body and where it came from.
#[derive(Debug, Clone)]
pub struct Served {
    pub entry: Arc<Entry>,
    pub tier: Tier,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CacheStats {
    pub enabled: bool,
    /// `off` (no Redis configured), `up`, or `down` (skipped by the breaker).
    pub l2: &'static str,
    pub strict: bool,
    pub l1: L1Stats,
    pub views: Vec<ViewStats>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
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
        let timeout = Duration::from_millis(settings.redis_timeout_ms);
        let l2 = L2::new(url, timeout)?;
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
            // LRU, not TinyLFU: every write moves its views to new keys, and
            // TinyLFU's admission refused the new entries in favour of the
            // old ones, read often before the write made them unreachable.
            .eviction_policy(moka::policy::EvictionPolicy::lru())
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
                source: OnceLock::new(),
                tokens,
                stats,
                refreshing: stale::InFlight::default(),
                subscribed: AtomicBool::new(false),
                positions: lsns::Positions::default(),
                tracks_lsns: AtomicBool::new(false),
                recent: recent::Recent::default(),
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

    /// Reads generations from `source` (the database, where the write path
    /// bumps them). Without a source, counters are local to this instance.
    pub fn use_generations_from(&self, source: Arc<dyn generations::Source>) {
        if self.inner.source.set(source).is_err() {
            tracing::warn!("the generation source was set twice; keeping the first");
        }
    }

    /// `{prefix}:v{schema}:{service}:{operation}:{landlord}:g{generations}:{params}`.
    pub async fn key(&self, view: View, landlord: Id, params: &str) -> String {
        self.slot(view, landlord, params).await.key
    }

    async fn slot(&self, view: View, landlord: Id, params: &str) -> Slot {
        self.check_generations(landlord).await;
        let tag = self.inner.generations.tag(landlord, view);
        self.slot_with(view, landlord, params, tag)
    }

    /// The slot of `view` under generation tag `tag`.
    fn slot_with(&self, view: View, landlord: Id, params: &str, tag: String) -> Slot {
        let (service, operation) = view.key_parts();
        let key = format!(
            "{}:v{SCHEMA_VERSION}:{service}:{operation}:{landlord}:g{tag}:{params}",
            self.inner.settings.prefix
        );
        Slot {
            view,
            landlord,
            key,
            tag,
        }
    }

    /// Whether nothing `slot`'s view depends on was committed since its key
    /// was taken (read from the database): then the body just loaded is
    /// exactly the state the key names and may be shared in Redis. Otherwise
    /// it may be newer than its key — fine for this instance, but shared it
    /// would let a lower generation hold more money than a higher one.
    async fn still_current(&self, slot: &Slot) -> bool {
        let Some(source) = self.inner.source.get() else {
            return true;
        };
        match source.load(slot.landlord).await {
            Ok((own, global)) => {
                let now = generations::tag_of(Some(&own), &global, slot.view);
                self.inner.generations.load(slot.landlord, own, global);
                now == slot.tag
            }
            Err(_) => false,
        }
    }

    /// Reads the landlord's committed counters when this instance cannot be
    /// sure it knows them: the first time; on every read in strict mode (so
    /// another instance's write is seen at once); and at most once a second
    /// while no invalidation channel is followed (no Redis, or Redis down),
    /// so instances sharing a database stay within a second of each other.
    async fn check_generations(&self, landlord: Id) {
        let max_age = if self.inner.settings.strict {
            Some(Duration::ZERO)
        } else if self.is_following() {
            None
        } else {
            Some(RECHECK_WITHOUT_CHANNEL)
        };
        if !self.inner.generations.needs_check(landlord, max_age) {
            return;
        }
        let Some(source) = self.inner.source.get() else {
            let zero = [0; Data::COUNT];
            self.inner.generations.load(landlord, zero, zero);
            return;
        };
        match source.load(landlord).await {
            Ok((own, global)) => self.inner.generations.load(landlord, own, global),
            // Keep what is known (never ahead of the data); retry next read.
            Err(err) => tracing::warn!(
                landlord,
                error = format!("{err:#}"),
                "reading generations failed"
            ),
        }
    }

    /// The cached body of `view` for `landlord` and `params` (a canonical
    /// string of every parameter the body depends on, dates included), or
    /// `load`'s result, stored for the view's TTL. `load` is only called on a
    /// miss or a stale refresh.
    pub async fn get_or_load<L, F>(
        &self,
        view: View,
        landlord: Id,
        params: &str,
        load: L,
    ) -> AppResult<Served>
    where
        L: FnOnce() -> F + Send + 'static,
        F: Future<Output = AppResult<Bytes>> + Send + 'static,
    {
        let load = move || -> Load { Box::pin(load()) };
        if !self.enabled() || view.ttl_class().secs(&self.inner.settings) == 0 {
            let started = Instant::now();
            let body = load().await?;
            self.inner.stats.loaded(view, started.elapsed());
            self.inner.stats.served(view, Tier::Miss);
            return Ok(Served {
                entry: Arc::new(Entry::new(body, Duration::ZERO)),
                tier: Tier::Miss,
            });
        }
        // The generation is read here, before any load (see `generations`).
        let slot = self.slot(view, landlord, params).await;
        if let Some(entry) = self.inner.l1.get(&slot.key).await {
            let tier = if entry.is_fresh() {
                Tier::L1
            } else {
                self.refresh_in_background(slot, load());
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
            let slot = slot.clone();
            async move {
                let (entry, tier) = cache.l2_or_load(&slot, ttl, load()).await?;
                *lock(&outcome) = Some(tier);
                Ok::<_, AppError>(entry)
            }
        };
        let entry = self
            .inner
            .l1
            .entry(slot.key)
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
        let slot = self.slot(view, landlord, params).await;
        let started = Instant::now();
        let entry = self.store(&slot, load.await?, started, ttl).await;
        self.inner.l1.insert(slot.key, entry).await;
        Ok(())
    }

    /// A body just loaded becomes an entry: counted, and written to Redis
    /// (when present, and when it is exactly the state its key names) for the
    /// other instances. The caller puts it in L1.
    async fn store(&self, slot: &Slot, body: Bytes, started: Instant, ttl: Duration) -> Arc<Entry> {
        self.inner.stats.loaded(slot.view, started.elapsed());
        let mut entry = Entry::new(body, self.l1_ttl(ttl));
        if self.inner.l2.is_some() || slot.view.is_patched() {
            entry.exact = self.still_current(slot).await;
        }
        if let Some(l2) = &self.inner.l2
            && entry.exact
        {
            l2.set(&slot.key, &entry.encode(), ttl).await;
        }
        Arc::new(entry)
    }

    /// The L1 miss path: L2 (a value that fails to decode is a miss), else a
    /// load — by this instance if it wins the Redis lease on the key, else
    /// after waiting briefly for the instance that did.
    async fn l2_or_load(
        &self,
        slot: &Slot,
        ttl: Duration,
        load: Load,
    ) -> AppResult<(Arc<Entry>, Tier)> {
        let key = &slot.key;
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
        let entry = self.store(slot, load.await?, started, ttl).await;
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
    fn refresh_in_background(&self, slot: Slot, load: Load) {
        let Some(claim) = stale::Refreshing::claim(self, &slot.key) else {
            return;
        };
        let cache = self.clone();
        let ttl = self.ttl(slot.view);
        tokio::spawn(async move {
            let started = Instant::now();
            match load.await {
                Ok(body) => {
                    let entry = cache.store(&slot, body, started, ttl).await;
                    cache.inner.l1.insert(slot.key, entry).await;
                }
                Err(err) => {
                    tracing::warn!(view = slot.view.name(), error = %err, "stale refresh failed")
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

    /// Call after a write has committed, before answering it, with the
    /// counters it bumped in its transaction (`None`: every landlord) and,
    /// with replicas, the primary's WAL position after the commit: every
    /// view that depends on them moves to a new key, here at once and on the
    /// other instances when the announcement arrives, and their reads use
    /// only replicas that have replayed the write.
    ///
    /// A write's patched entries ([`patch::Patched`]) go to Redis in the
    /// pipeline of its first announcement, ahead of it (one SET after
    /// another cost ~2 ms per payment; a pipeline of their own, a round trip
    /// more), so the other instances find them when they move to the new
    /// keys; a failure only leaves them to compute the views.
    pub async fn advance(
        &self,
        bumped: &[(Option<Id>, Data, u64)],
        lsn: Option<Lsn>,
        patched: &mut patch::Patched,
    ) {
        let mut by_landlord = std::collections::BTreeMap::<Option<Id>, Vec<_>>::new();
        for &(landlord, data, value) in bumped {
            by_landlord.entry(landlord).or_default().push((data, value));
        }
        if let Some(lsn) = lsn {
            let landlords: Vec<Option<Id>> = by_landlord.keys().copied().collect();
            self.record_lsn(&landlords, lsn).await;
        }
        for &(landlord, data, value) in bumped {
            self.inner.generations.apply(landlord, data, value);
        }
        let (mut shared, mut retired) = patched.take_shared();
        for (landlord, counters) in by_landlord {
            let data: Vec<Data> = counters.iter().map(|&(data, _)| data).collect();
            self.inner
                .recent
                .push_data(landlord, &data, recent::Origin::Write);
            let announcement = Announcement::Generations {
                landlord,
                counters,
                lsn,
            };
            if let Some(l2) = &self.inner.l2 {
                let message = announcement.encode();
                l2.set_many(
                    std::mem::take(&mut shared),
                    std::mem::take(&mut retired),
                    Some((&self.inner.channel, &message)),
                )
                .await;
            }
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
