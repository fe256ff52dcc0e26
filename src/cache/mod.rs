//! The tiered cache in front of the reports and lists.
//!
//! One entry point, [`Cache::get_or_load`]: L1 (moka, in-process, bounded by
//! bytes, per-entry TTL) → loader. Keys carry the landlord's generation for
//! the data the view depends on ([`generations`]), so a write makes every
//! dependent key unreachable in O(1) and a read after an acknowledged write
//! always misses into the database. Concurrent misses of one key run one load
//! (single-flight); an entry past its TTL is served stale while one refresh
//! runs (never across an invalidation: that is a different key).
//!
//! The shared Redis tier (L2), the cross-instance invalidation channel and the
//! Redis lease against cross-instance stampedes plug in here next; see
//! `docs/CACHE.md`.

pub mod entry;
pub mod generations;
pub mod stats;
pub mod view;

use std::{
    collections::HashSet,
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

pub use entry::Entry;
pub use stats::{Tier, ViewStats};
pub use view::{Data, TtlClass, View};

use crate::config::CacheSettings;
use crate::domain::{Id, Role};
use crate::error::{AppError, AppResult};
use generations::Generations;
use stats::Stats;

/// Bumped when the layout of cached bodies changes, so old entries in a
/// shared tier are never read by new code.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Clone)]
pub struct Cache {
    inner: Arc<Inner>,
}

struct Inner {
    settings: CacheSettings,
    l1: Moka<String, Arc<Entry>>,
    /// Bearer-token checks (token hash → owner), so a cache hit touches no
    /// database at all.
    tokens: Moka<String, (Id, Role)>,
    generations: Generations,
    stats: Arc<Stats>,
    /// Keys whose stale entry is being refreshed, so only one refresh runs.
    refreshing: Mutex<HashSet<String>>,
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

impl Cache {
    pub fn new(settings: CacheSettings) -> Cache {
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
                settings,
                l1,
                tokens,
                generations: Generations::default(),
                stats,
                refreshing: Mutex::new(HashSet::new()),
            }),
        }
    }

    pub fn enabled(&self) -> bool {
        self.inner.settings.enabled
    }

    /// `{prefix}:v{schema}:{service}:{operation}:{landlord}:g{generation}:{params}`.
    pub fn key(&self, view: View, landlord: Id, params: &str) -> String {
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
        let ttl = self.ttl(view);
        if !self.enabled() || ttl.is_zero() {
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
        let key = self.key(view, landlord, params);
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

        let loaded_here = Arc::new(AtomicBool::new(false));
        let init = {
            let loaded_here = Arc::clone(&loaded_here);
            let stats = Arc::clone(&self.inner.stats);
            async move {
                loaded_here.store(true, Ordering::Relaxed);
                let started = Instant::now();
                let body = load.await?;
                stats.loaded(view, started.elapsed());
                Ok::<_, AppError>(Arc::new(Entry::new(body, ttl)))
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
        let tier = if loaded_here.load(Ordering::Relaxed) {
            Tier::Miss
        } else {
            self.inner.stats.coalesced(view);
            Tier::L1
        };
        self.inner.stats.served(view, tier);
        Ok(Served { entry, tier })
    }

    /// Reloads a stale entry once, in the background, under the same key.
    fn refresh_in_background<F>(&self, view: View, key: String, load: F)
    where
        F: Future<Output = AppResult<Bytes>> + Send + 'static,
    {
        {
            let mut refreshing = self
                .inner
                .refreshing
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if !refreshing.insert(key.clone()) {
                return;
            }
        }
        let cache = self.clone();
        let ttl = self.ttl(view);
        tokio::spawn(async move {
            let started = Instant::now();
            match load.await {
                Ok(body) => {
                    cache.inner.stats.loaded(view, started.elapsed());
                    cache
                        .inner
                        .l1
                        .insert(key.clone(), Arc::new(Entry::new(body, ttl)))
                        .await;
                }
                Err(err) => {
                    tracing::warn!(view = view.name(), error = %err, "stale refresh failed")
                }
            }
            cache
                .inner
                .refreshing
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&key);
        });
    }

    /// The owner of a token checked recently, if any.
    pub async fn token_owner(&self, token_hash: &str) -> Option<(Id, Role)> {
        if self.inner.settings.token_ttl_secs == 0 {
            return None;
        }
        self.inner.tokens.get(token_hash).await
    }

    pub async fn remember_token(&self, token_hash: String, owner: (Id, Role)) {
        if self.inner.settings.token_ttl_secs > 0 {
            self.inner.tokens.insert(token_hash, owner).await;
        }
    }

    /// After logout or revocation.
    pub async fn forget_token(&self, token_hash: &str) {
        self.inner.tokens.invalidate(token_hash).await;
    }

    /// Call after a write has committed: every view of `landlord` that depends
    /// on `touched` moves to a new key.
    pub fn invalidate(&self, landlord: Id, touched: &[Data]) {
        self.inner.generations.bump(landlord, touched);
    }

    /// After a write that touched every landlord (the CLI's charge run).
    pub fn invalidate_everyone(&self, touched: &[Data]) {
        self.inner.generations.bump_all(touched);
    }

    /// Drops every L1 entry.
    pub fn clear_all(&self) {
        self.inner.l1.invalidate_all();
    }

    /// Drops the L1 entries whose key matches `pattern` (`*` wildcards, the
    /// prefix and schema version implied: `report:*`, `*:7:*`). Returns an
    /// error message for a pattern that cannot be used.
    pub fn clear_matching(&self, pattern: &str) -> Result<(), String> {
        let full = format!("{}:v{SCHEMA_VERSION}:{pattern}", self.inner.settings.prefix);
        let parts: Vec<String> = full.split('*').map(str::to_owned).collect();
        self.inner
            .l1
            .invalidate_entries_if(move |key, _| glob_match(&parts, key))
            .map(drop)
            .map_err(|err| err.to_string())
    }

    /// Drops one landlord's L1 entries.
    pub fn clear_landlord(&self, landlord: Id) -> Result<(), String> {
        // Keys are `{prefix}:v{n}:{service}:{operation}:{landlord}:…`.
        let landlord = landlord.to_string();
        let prefix = format!("{}:v{SCHEMA_VERSION}:", self.inner.settings.prefix);
        self.inner
            .l1
            .invalidate_entries_if(move |key, _| {
                key.strip_prefix(&prefix)
                    .and_then(|rest| rest.split(':').nth(2))
                    .is_some_and(|id| id == landlord)
            })
            .map(drop)
            .map_err(|err| err.to_string())
    }

    pub async fn stats(&self) -> CacheStats {
        self.inner.l1.run_pending_tasks().await;
        CacheStats {
            enabled: self.enabled(),
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
        let base = self.inner.settings.ttl_secs(view.ttl_class());
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
}

/// `*` matches any run of characters.
fn glob_match(parts: &[String], text: &str) -> bool {
    let Some((first, rest)) = parts.split_first() else {
        return text.is_empty();
    };
    let Some(mut remaining) = text.strip_prefix(first.as_str()) else {
        return false;
    };
    for (i, part) in rest.iter().enumerate() {
        let last = i == rest.len() - 1;
        if last {
            return remaining.ends_with(part.as_str());
        }
        match remaining.find(part.as_str()) {
            Some(at) => remaining = &remaining[at + part.len()..],
            None => return false,
        }
    }
    remaining.is_empty()
}

/// moka shares a failed load's error among the waiters.
fn shared_error(err: Arc<AppError>) -> AppError {
    Arc::try_unwrap(err).unwrap_or_else(|shared| shared.replicate())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(pattern: &str) -> Vec<String> {
        pattern.split('*').map(str::to_owned).collect()
    }

    #[test]
    fn globs_match_like_redis_patterns() {
        assert!(glob_match(
            &parts("mfuko:v1:report:*"),
            "mfuko:v1:report:financial:1:g0:x"
        ));
        assert!(!glob_match(
            &parts("mfuko:v1:report:*"),
            "mfuko:v1:dashboard:landlord:1:g0:x"
        ));
        assert!(glob_match(
            &parts("*:1:g*"),
            "mfuko:v1:report:financial:1:g0:x"
        ));
        assert!(!glob_match(
            &parts("*:1:g*"),
            "mfuko:v1:report:financial:11:g0:x"
        ));
        assert!(glob_match(&parts("exact"), "exact"));
        assert!(!glob_match(&parts("exact"), "exactly"));
    }
}
