//! Clearing entries on an admin's request: everything, one landlord, or the
//! keys matching a Redis glob pattern — in L1 and in Redis with the same
//! matcher ([`glob`]), so both tiers drop the same keys, and on every
//! instance (announced on the invalidation channel).

use crate::cache::{Cache, SCHEMA_VERSION, glob, recent::Origin, sync::Announcement};
use crate::types::Id;

/// Why a clear could not run.
#[derive(Debug, thiserror::Error)]
pub enum ClearError {
    /// moka refused the predicate (the cache was built without support for it).
    #[error("the in-process cache cannot clear selectively: {0}")]
    L1(#[from] moka::PredicateError),
}

impl Cache {
    /// `{prefix}:v{schema}:`, the part of every key before the view.
    fn root(&self) -> String {
        format!("{}:v{SCHEMA_VERSION}:", self.inner.settings.prefix)
    }

    /// Drops every entry, in both tiers and on every instance.
    pub async fn clear_all(&self) {
        self.inner.l1.invalidate_all();
        let everything = "every cached view".to_owned();
        self.inner.recent.push(None, everything, Origin::Clear);
        if let Some(l2) = &self.inner.l2 {
            l2.unlink_matching(&format!("{}*", self.root())).await;
        }
        self.announce(Announcement::ClearAll).await;
    }

    /// Drops the entries whose key, after the prefix and schema version,
    /// matches the Redis glob `pattern` (`report:*`), in both tiers and
    /// everywhere.
    pub async fn clear_pattern(&self, pattern: &str) -> Result<(), ClearError> {
        self.clear_l1_matching(pattern)?;
        let what = format!("keys matching {pattern}");
        self.inner.recent.push(None, what, Origin::Clear);
        if let Some(l2) = &self.inner.l2 {
            l2.unlink_matching(&format!("{}{pattern}", self.root()))
                .await;
        }
        self.announce(Announcement::ClearPattern(pattern.to_owned()))
            .await;
        Ok(())
    }

    /// Drops one landlord's entries, in both tiers and everywhere.
    pub async fn clear_landlord(&self, landlord: Id) -> Result<(), ClearError> {
        self.clear_l1_landlord(landlord)?;
        let what = "every cached view".to_owned();
        self.inner.recent.push(Some(landlord), what, Origin::Clear);
        if let Some(l2) = &self.inner.l2 {
            l2.unlink_matching(&format!("{}{}", self.root(), landlord_pattern(landlord)))
                .await;
        }
        self.announce(Announcement::ClearLandlord(landlord)).await;
        Ok(())
    }

    pub(super) fn clear_l1_matching(&self, pattern: &str) -> Result<(), ClearError> {
        let full = format!("{}{pattern}", self.root());
        self.inner
            .l1
            .invalidate_entries_if(move |key, _| glob::matches(&full, key))?;
        Ok(())
    }

    pub(super) fn clear_l1_landlord(&self, landlord: Id) -> Result<(), ClearError> {
        self.clear_l1_matching(&landlord_pattern(landlord))
    }
}

/// Keys are `{root}{service}:{operation}:{landlord}:g{generation}:{params}`.
fn landlord_pattern(landlord: Id) -> String {
    format!("*:*:{landlord}:g*")
}
