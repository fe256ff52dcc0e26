//! Read-your-writes with replicas: the WAL position of each landlord's last
//! acknowledged write. The write path records it after commit, before
//! answering: here, in Redis (so every instance finds it), and in the
//! generation announcement. A landlord's read then uses only a replica that
//! has replayed it ([`crate::db::replicas`]).
//!
//! When positions cannot be shared (no Redis, or Redis down), a read cannot
//! know other instances' writes and asks for everything the primary has
//! written so far ([`Needed::Unknown`]).

use std::{collections::HashMap, sync::Arc, sync::Mutex, time::Duration};

use futures_util::future::BoxFuture;

use crate::cache::{Cache, SCHEMA_VERSION, lock};
use crate::db::replicas::{Lsn, Needed, WrittenLsns};
use crate::types::Id;

/// How long Redis keeps a landlord's last write position. Far longer than any
/// replica may lag (`max_replica_lag_ms`): past it, every usable replica has
/// replayed the write anyway.
const LSN_TTL: Duration = Duration::from_secs(3600);

/// How long a write's in-flight mark outlives an instance that died between
/// marking and clearing it.
const PENDING_TTL: Duration = Duration::from_secs(30);

/// The positions this instance knows (`None`: a write that touched every
/// landlord).
#[derive(Default)]
pub(super) struct Positions(Mutex<HashMap<Option<Id>, Lsn>>);

impl Cache {
    /// Whether writes record their WAL position (set when the database has
    /// replicas).
    pub fn tracks_lsns(&self) -> bool {
        self.inner
            .tracks_lsns
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The source `Database::reader_for` asks; from now on writes record
    /// their positions.
    pub fn written_lsns(&self) -> Arc<dyn WrittenLsns> {
        self.inner
            .tracks_lsns
            .store(true, std::sync::atomic::Ordering::Relaxed);
        Arc::new(CacheLsns(self.clone()))
    }

    /// Remembers `lsn` for `landlord` here (never lowering it).
    pub(super) fn note_lsn(&self, landlord: Option<Id>, lsn: Lsn) {
        let mut positions = lock(&self.inner.positions.0);
        let known = positions.entry(landlord).or_default();
        *known = (*known).max(lsn);
    }

    /// Records a committed write's position for `landlords`, here and in
    /// Redis. Called before the generations move, so whoever sees the new
    /// generation also finds the position.
    pub(super) async fn record_lsn(&self, landlords: &[Option<Id>], lsn: Lsn) {
        for &landlord in landlords {
            self.note_lsn(landlord, lsn);
            if let Some(l2) = &self.inner.l2 {
                l2.raise(&self.lsn_key(landlord), &format!("{:016x}", lsn.0), LSN_TTL)
                    .await;
            }
        }
    }

    /// Marks `landlords` as being written (`by` = 1, before the commit) or
    /// no longer (`by` = -1, after the position is recorded or the write
    /// failed).
    pub async fn mark_writing(&self, landlords: &[Option<Id>], by: i64) {
        if let Some(l2) = &self.inner.l2 {
            for &landlord in landlords {
                l2.add(&self.pending_key(landlord), by, PENDING_TTL).await;
            }
        }
    }

    fn lsn_key(&self, landlord: Option<Id>) -> String {
        self.position_key("lsn", landlord)
    }

    fn pending_key(&self, landlord: Option<Id>) -> String {
        self.position_key("lsn-writing", landlord)
    }

    fn position_key(&self, kind: &str, landlord: Option<Id>) -> String {
        let who = landlord.map_or_else(|| "*".to_owned(), |id| id.to_string());
        format!(
            "{}:v{SCHEMA_VERSION}:{kind}:{who}",
            self.inner.settings.prefix
        )
    }

    /// What a read for `landlord` must see.
    async fn needed_lsn(&self, landlord: Id) -> Needed {
        let local = {
            let positions = lock(&self.inner.positions.0);
            let own = positions.get(&Some(landlord)).copied().unwrap_or_default();
            let everyone = positions.get(&None).copied().unwrap_or_default();
            own.max(everyone)
        };
        let Some(l2) = &self.inner.l2 else {
            return Needed::Unknown;
        };
        if l2.is_down() || !self.is_following() {
            return Needed::Unknown;
        }
        let keys = [
            self.lsn_key(Some(landlord)),
            self.lsn_key(None),
            self.pending_key(Some(landlord)),
            self.pending_key(None),
        ];
        let Some(values) = l2.get_strings(&keys).await else {
            return Needed::Unknown;
        };
        if values[2..].iter().any(Option::is_some) {
            // A write is committing: its position is not in Redis yet.
            return Needed::Unknown;
        }
        let shared = values[..2]
            .iter()
            .flatten()
            .filter_map(|hex| u64::from_str_radix(hex, 16).ok())
            .map(Lsn)
            .max()
            .unwrap_or_default();
        Needed::Known(local.max(shared))
    }
}

struct CacheLsns(Cache);

impl WrittenLsns for CacheLsns {
    fn needed(&self, landlord: Id) -> BoxFuture<'_, Needed> {
        Box::pin(self.0.needed_lsn(landlord))
    }
}
