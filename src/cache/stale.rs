//! Stale-while-revalidate: an entry past its TTL (never one made unreachable
//! by a write: that is a different key) is served while exactly one refresh
//! of it runs on this instance.

use std::{collections::HashSet, sync::Mutex};

use crate::cache::{Cache, lock};

/// The keys being refreshed right now.
#[derive(Default)]
pub(super) struct InFlight(Mutex<HashSet<String>>);

/// The right to refresh one key; released when dropped (also when the
/// refresh fails or panics).
pub(super) struct Refreshing {
    cache: Cache,
    key: String,
}

impl Refreshing {
    /// `None` when another refresh of `key` is already running.
    pub(super) fn claim(cache: &Cache, key: &str) -> Option<Refreshing> {
        lock(&cache.inner.refreshing.0)
            .insert(key.to_owned())
            .then(|| Refreshing {
                cache: cache.clone(),
                key: key.to_owned(),
            })
    }
}

impl Drop for Refreshing {
    fn drop(&mut self) {
        lock(&self.cache.inner.refreshing.0).remove(&self.key);
    }
}
