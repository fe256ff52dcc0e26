//! Hit/miss counters per view (moka keeps none), read by `/admin/cache/stats`.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use serde::Serialize;

use crate::cache::view::View;

/// Where a response came from; also the `X-Cache` header value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub enum Tier {
    #[serde(rename = "HIT-L1")]
    L1,
    #[serde(rename = "HIT-L2")]
    L2,
    #[serde(rename = "MISS")]
    Miss,
    #[serde(rename = "STALE")]
    Stale,
}

impl Tier {
    pub fn header(self) -> &'static str {
        match self {
            Tier::L1 => "HIT-L1",
            Tier::L2 => "HIT-L2",
            Tier::Miss => "MISS",
            Tier::Stale => "STALE",
        }
    }
}

#[derive(Debug, Default)]
struct Counters {
    hits_l1: AtomicU64,
    hits_l2: AtomicU64,
    misses: AtomicU64,
    stale: AtomicU64,
    /// Requests that waited for another request's load of the same key.
    coalesced: AtomicU64,
    loads: AtomicU64,
    load_micros: AtomicU64,
    patched: AtomicU64,
}

#[derive(Debug, Default)]
pub struct Stats {
    views: [Counters; View::ALL.len()],
    pub(crate) evictions: AtomicU64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ViewStats {
    pub view: View,
    pub requests: u64,
    pub hits_l1: u64,
    pub hits_l2: u64,
    pub misses: u64,
    pub stale: u64,
    pub coalesced: u64,
    /// Hits (either tier, stale and coalesced included) ÷ requests.
    pub hit_rate: Option<f64>,
    pub loads: u64,
    pub load_ms_total: f64,
    pub load_ms_mean: Option<f64>,
    /// Entries made by patching the one before a write (`reports::patch`)
    /// instead of a load.
    pub patched: u64,
}

impl Stats {
    fn of(&self, view: View) -> &Counters {
        &self.views[View::ALL.iter().position(|v| *v == view).unwrap_or(0)]
    }

    pub fn served(&self, view: View, tier: Tier) {
        let counters = self.of(view);
        match tier {
            Tier::L1 => &counters.hits_l1,
            Tier::L2 => &counters.hits_l2,
            Tier::Miss => &counters.misses,
            Tier::Stale => &counters.stale,
        }
        .fetch_add(1, Relaxed);
    }

    pub fn coalesced(&self, view: View) {
        self.of(view).coalesced.fetch_add(1, Relaxed);
    }

    pub fn loaded(&self, view: View, elapsed: std::time::Duration) {
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        let counters = self.of(view);
        counters.loads.fetch_add(1, Relaxed);
        counters.load_micros.fetch_add(micros, Relaxed);
    }

    pub fn patched(&self, view: View) {
        self.of(view).patched.fetch_add(1, Relaxed);
    }

    pub fn snapshot(&self) -> Vec<ViewStats> {
        View::ALL
            .iter()
            .map(|view| {
                let c = self.of(*view);
                let (l1, l2, misses, stale, coalesced) = (
                    c.hits_l1.load(Relaxed),
                    c.hits_l2.load(Relaxed),
                    c.misses.load(Relaxed),
                    c.stale.load(Relaxed),
                    c.coalesced.load(Relaxed),
                );
                let requests = l1 + l2 + misses + stale;
                let loads = c.loads.load(Relaxed);
                let load_ms_total = c.load_micros.load(Relaxed) as f64 / 1000.0;
                ViewStats {
                    view: *view,
                    requests,
                    hits_l1: l1,
                    hits_l2: l2,
                    misses,
                    stale,
                    coalesced,
                    hit_rate: (requests > 0).then(|| (l1 + l2 + stale) as f64 / requests as f64),
                    loads,
                    load_ms_total,
                    load_ms_mean: (loads > 0).then(|| load_ms_total / loads as f64),
                    patched: c.patched.load(Relaxed),
                }
            })
            .collect()
    }
}
