//! Bearer-token checks remembered by the cache, so a cache hit touches no
//! database at all: whose token, until when. A logout drops the entry here
//! and, through the invalidation channel, on every instance.

use crate::cache::{Cache, sync::Announcement};
use crate::types::{Id, Role};

/// A bearer-token check remembered by the cache: whose token, until when.
#[derive(Debug, Clone, Copy)]
pub struct CachedToken {
    pub user_id: Id,
    pub role: Role,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

impl Cache {
    /// The owner of a token checked recently, if any and if the token has
    /// not expired since.
    pub async fn token_owner(&self, token_hash: &str) -> Option<CachedToken> {
        if self.inner.settings.token_ttl_secs == 0 {
            return None;
        }
        let cached = self.inner.tokens.get(token_hash).await?;
        (cached.expires_at > chrono::Utc::now()).then_some(cached)
    }

    pub async fn remember_token(&self, token_hash: String, token: CachedToken) {
        if self.inner.settings.token_ttl_secs > 0 {
            self.inner.tokens.insert(token_hash, token).await;
        }
    }

    /// After logout or revocation, on every instance.
    pub async fn forget_token(&self, token_hash: &str) {
        self.inner.tokens.invalidate(token_hash).await;
        self.announce(Announcement::ForgetToken(token_hash.to_owned()))
            .await;
    }
}
