//! Following the invalidation channel: every instance subscribes to
//! `{prefix}:v{schema}:invalidate` and applies what the others announce —
//! generation bumps, forgotten tokens, admin clears. While the subscription
//! is down this instance could miss announcements, so its L1 is flushed when
//! the subscription drops and again when it is back, and new L1 entries live
//! only briefly in between. Bumps that could not reach Redis are replayed on
//! reconnection.

use std::{sync::atomic::Ordering, time::Duration};

use futures_util::StreamExt;

use crate::cache::{Cache, Data, lock};
use crate::types::Id;

/// Starts the background task that follows the channel for `cache`'s life.
pub(super) fn follow(cache: Cache) {
    tokio::spawn(async move {
        let mut backoff = Duration::from_millis(100);
        loop {
            if follow_once(&cache).await {
                backoff = Duration::from_millis(100);
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(2));
        }
    });
}

/// One subscription, from connecting to losing it. Returns whether it got
/// as far as subscribing.
async fn follow_once(cache: &Cache) -> bool {
    let Some(l2) = &cache.inner.l2 else {
        return false;
    };
    let timeout = Duration::from_millis(cache.inner.settings.redis_timeout_ms.max(100) * 5);
    let pubsub = match tokio::time::timeout(timeout, l2.client().get_async_pubsub()).await {
        Ok(Ok(pubsub)) => pubsub,
        Ok(Err(err)) => {
            tracing::debug!(error = %err, "invalidation channel: cannot connect");
            return false;
        }
        Err(_) => return false,
    };
    let mut pubsub = pubsub;
    if pubsub.subscribe(&cache.inner.channel).await.is_err() {
        return false;
    }
    l2.mark_reachable();
    resynchronize(cache).await;
    cache.inner.subscribed.store(true, Ordering::Relaxed);
    tracing::info!("following the cache invalidation channel");
    let mut messages = pubsub.into_on_message();
    while let Some(message) = messages.next().await {
        match std::str::from_utf8(message.get_payload_bytes()) {
            Ok(text) => apply(cache, text).await,
            Err(_) => tracing::warn!("ignoring a non-UTF-8 invalidation message"),
        }
    }
    cache.inner.subscribed.store(false, Ordering::Relaxed);
    cache.inner.l1.invalidate_all();
    tracing::warn!("lost the cache invalidation channel; L1 flushed, retrying");
    true
}

/// After (re)subscribing: anything may have been missed, so drop the L1 and
/// the local counters (Redis holds the truth), then replay the bumps made
/// while Redis was out of reach.
async fn resynchronize(cache: &Cache) {
    cache.inner.l1.invalidate_all();
    cache.inner.generations.reset();
    let pending = std::mem::take(&mut *lock(&cache.inner.pending));
    for (landlord, data) in pending {
        cache.bump(landlord, &[data]).await;
    }
}

/// Applies one announcement (see `Cache::announce` and `L2::bump`):
/// `g:{landlord|*}:{data}={value},…`, `t:{token hash}`, `c:all`,
/// `c:l:{landlord}`, `c:p:{pattern}`.
async fn apply(cache: &Cache, message: &str) {
    if let Some(rest) = message.strip_prefix("g:") {
        let Some((who, counters)) = rest.split_once(':') else {
            return;
        };
        let landlord: Option<Id> = match who {
            "*" => None,
            id => match id.parse() {
                Ok(id) => Some(id),
                Err(_) => return,
            },
        };
        for counter in counters.split(',') {
            let parsed = counter.split_once('=').and_then(|(data, value)| {
                Some((
                    Data::from_index(data.parse().ok()?)?,
                    value.parse::<u64>().ok()?,
                ))
            });
            if let Some((data, value)) = parsed {
                cache.inner.generations.apply(landlord, data, value);
            }
        }
    } else if let Some(token_hash) = message.strip_prefix("t:") {
        cache.inner.tokens.invalidate(token_hash).await;
    } else if message == "c:all" {
        cache.inner.l1.invalidate_all();
    } else if let Some(id) = message.strip_prefix("c:l:") {
        if let Ok(id) = id.parse() {
            let _ = cache.clear_l1_landlord(id);
        }
    } else if let Some(pattern) = message.strip_prefix("c:p:") {
        let _ = cache.clear_l1_matching(pattern);
    }
}
