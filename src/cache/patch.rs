//! Patching cached views in place after this instance's write, instead of
//! leaving them to be recomputed (the patches themselves are in
//! `reports::patch`).
//!
//! A write that moved a landlord's counter of `data` from `value - 1` to
//! `value` changed exactly what lies between the states those two keys
//! name. So an entry that is *exact* for the key before (its body is the
//! state its key names, see [`Entry::exact`]), patched with that change, is
//! exact for the key after. Both keys are built from one reading of the
//! other counters, so they differ in `data` only. Anything the patch reads
//! from the database after the commit is checked afterwards: if another
//! write committed meanwhile, nothing is stored ([`Cache::still_after`]).
//! The patch runs after the commit and before this instance moves to the
//! new keys, so its next reads find the patched entries waiting.
//! There is no lost update: a patch only ever creates the key after its own
//! write, from the key just before it, and a second write's patch finds
//! nothing to start from until the first one's is stored.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use axum::body::Bytes;

use crate::cache::{
    Cache, Entry, View,
    entry::Model,
    generations::{self},
    view::Data,
};
use crate::types::Id;

/// What a write's patches leave to do around the instance's move to the
/// new keys: their entries to share in Redis, in the pipeline that
/// announces the move ([`Cache::advance`]), and the keys they replaced,
/// dropped from the L1 after it ([`Cache::drop_superseded`]).
#[derive(Debug, Default)]
pub struct Patched {
    superseded: Vec<String>,
    shared: SharedEntries,
    /// The keys the patched entries replace (shared or not: a large one's
    /// predecessor may be in Redis), with their shortened lives
    /// ([`RETIRED_GRACE`]).
    retired: Vec<(String, Duration)>,
}

/// How long Redis keeps a patched entry's predecessor. The other instances
/// move to the new key within milliseconds of the announcement (or re-read
/// the counters within a second while the channel is down); left to its
/// TTL, each payment's predecessors stayed for minutes — a ~225 KiB arrears
/// list per payment, gigabytes of Redis on a busy 1st of the month.
const RETIRED_GRACE: Duration = Duration::from_secs(5);

/// The largest patched body shared in Redis. A landlord's arrears list
/// (~150 bytes a debtor: ~216 KiB for 1,455) went to Redis with every
/// payment, and that cost ~0.6 ms of the machine per payment, a quarter of
/// it (PERFORMANCE.md); another instance that reads the list computes it
/// from the roll-ups instead, and shares that. The other views are a few
/// KiB.
const SHARED_PATCH_MAX_BYTES: usize = 64 * 1024;

impl Patched {
    /// The entries to share and the keys to retire, taken.
    pub(super) fn take_shared(&mut self) -> (SharedEntries, Vec<(String, Duration)>) {
        (
            std::mem::take(&mut self.shared),
            std::mem::take(&mut self.retired),
        )
    }
}

/// `(key, envelope, time to live)` of the entries to share.
pub(super) type SharedEntries = Vec<(String, Vec<u8>, Duration)>;

/// Where one view is patched: its keys before and after the write.
#[derive(Debug, Clone)]
pub struct Target {
    pub view: View,
    landlord: Id,
    before: String,
    after: String,
    /// The generation part of `after`.
    after_tag: String,
}

impl Cache {
    /// The keys of `landlord`'s `view` (with `params`) just before and just
    /// after this instance's write moved their `data` counter to `value`.
    /// `None` when the cache is off or does not know the landlord's counters.
    pub fn patch_target(
        &self,
        landlord: Id,
        view: View,
        params: &str,
        data: Data,
        value: u64,
    ) -> Option<Target> {
        if !self.enabled() || value == 0 || view.ttl_class().secs(&self.inner.settings) == 0 {
            return None;
        }
        let (mut own, global) = self.inner.generations.counters(landlord)?;
        let mut tag_at = |value: u64| {
            own[data.index()] = value;
            generations::tag_of(Some(&own), &global, view)
        };
        let (before_tag, after_tag) = (tag_at(value - 1), tag_at(value));
        let before = self.slot_with(view, landlord, params, before_tag).key;
        let after = self
            .slot_with(view, landlord, params, after_tag.clone())
            .key;
        Some(Target {
            view,
            landlord,
            before,
            after,
            after_tag,
        })
    }

    /// The entry a patch of `target` starts from: exact, still fresh, at the
    /// key before the write, and nothing stored at the key after yet. It
    /// stays in the L1 for the reads that still use the key before (the
    /// patch runs before the write moves this instance to the key after);
    /// the L1 drops it when it is the least recently used.
    pub async fn patch_base(&self, target: &Target) -> Option<Arc<Entry>> {
        if self.inner.l1.contains_key(&target.after) {
            return None;
        }
        let entry = self.inner.l1.get(&target.before).await?;
        (entry.exact && entry.is_fresh()).then_some(entry)
    }

    /// Whether the counters committed now are still those of the targets'
    /// keys after the write: then what the patch read after the commit is
    /// the state those keys name.
    pub async fn still_after(&self, landlord: Id, targets: &[Target]) -> bool {
        let Some(source) = self.inner.source.get() else {
            return true;
        };
        match source.load(landlord).await {
            Ok((own, global)) => targets.iter().all(|target| {
                target.landlord == landlord
                    && generations::tag_of(Some(&own), &global, target.view) == target.after_tag
            }),
            Err(_) => false,
        }
    }

    /// Stores a patched body under the key after the write: in L1 with its
    /// model, and (with the others, [`Cache::share_patched`]) in Redis for
    /// the other instances. It lives no longer than
    /// the entry it was patched from (`base_fresh_until`), so a chain of
    /// patches is recomputed at least once per TTL.
    pub async fn put_patched(
        &self,
        target: Target,
        base_fresh_until: Instant,
        body: Bytes,
        model: Model,
        patched: &mut Patched,
    ) {
        let started = Instant::now();
        let mut entry = Entry::new(body, self.l1_ttl(self.ttl(target.view)));
        entry.fresh_until = entry.fresh_until.min(base_fresh_until);
        entry.exact = true;
        if self.inner.l2.is_some() {
            let ttl = entry.fresh_until.saturating_duration_since(started);
            if entry.body.len() <= SHARED_PATCH_MAX_BYTES {
                patched
                    .shared
                    .push((target.after.clone(), entry.encode(), ttl));
            }
            // Never longer than it had left: the patched entry lives no
            // longer than its base.
            patched
                .retired
                .push((target.before.clone(), ttl.min(RETIRED_GRACE)));
        }
        entry.model = Some(model);
        self.inner.stats.patched(target.view);
        self.inner.l1.insert(target.after, Arc::new(entry)).await;
        patched.superseded.push(target.before);
    }

    /// Drops the entries patches replaced: after the write has moved this
    /// instance to the new keys nothing reads them, and left to age out they
    /// filled the L1 (a patched arrears list and its model weigh ~0.4 MiB).
    pub async fn drop_superseded(&self, patched: Patched) {
        for key in patched.superseded {
            self.inner.l1.invalidate(&key).await;
        }
    }
}

/// Counters, for the tests of [`Cache::patch_target`].
#[cfg(test)]
fn counters(values: &[(Data, u64)]) -> generations::Counters {
    let mut counters = [0; Data::COUNT];
    for (data, value) in values {
        counters[data.index()] = *value;
    }
    counters
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::CacheSettings;

    #[tokio::test]
    async fn a_patch_moves_one_counter_and_needs_an_exact_fresh_base() {
        let cache = Cache::new(CacheSettings::default());
        cache.inner.generations.load(
            7,
            counters(&[(Data::Payments, 4), (Data::Charges, 2)]),
            [0; Data::COUNT],
        );
        let target = cache
            .patch_target(7, View::Dashboard, "p", Data::Payments, 4)
            .expect("a target");
        assert_ne!(target.before, target.after);
        let before_now = cache.key(View::Dashboard, 7, "p").await;
        assert_eq!(target.after, before_now, "the key after is today's key");

        // Nothing to start from, then an inexact base: no patch.
        assert!(cache.patch_base(&target).await.is_none());
        let inexact = Entry::new(Bytes::from_static(b"{}"), Duration::from_secs(60));
        cache
            .inner
            .l1
            .insert(target.before.clone(), Arc::new(inexact))
            .await;
        assert!(cache.patch_base(&target).await.is_none());

        let mut exact = Entry::new(Bytes::from_static(b"{}"), Duration::from_secs(60));
        exact.exact = true;
        cache
            .inner
            .l1
            .insert(target.before.clone(), Arc::new(exact))
            .await;
        let base = cache.patch_base(&target).await.expect("a base");
        let model = Model::new(1_u8);
        cache
            .put_patched(
                target.clone(),
                base.fresh_until,
                Bytes::from_static(b"{\"a\":1}"),
                model,
                &mut Patched::default(),
            )
            .await;
        // Once stored, the key after is not patched again.
        assert!(cache.patch_base(&target).await.is_none());
    }
}
