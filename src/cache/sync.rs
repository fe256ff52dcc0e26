//! Following the invalidation channel: every instance subscribes to
//! `{prefix}:v{schema}:invalidate` and applies what the others announce —
//! generation bumps, forgotten tokens, admin clears. While the subscription
//! is down this instance could miss announcements, so its L1 is flushed when
//! the subscription drops and again when it is back, new L1 entries live
//! only briefly in between, and the counters are re-read from the database
//! (at most once a second per landlord meanwhile, then once after the
//! channel is back).

use std::{sync::atomic::Ordering, time::Duration};

use futures_util::StreamExt;

use crate::cache::{Cache, Data, recent::Origin};
use crate::db::replicas::Lsn;
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
            Ok(text) => match Announcement::parse(text) {
                Some(announcement) => apply(cache, announcement).await,
                None => tracing::warn!(message = ?text, "ignoring an unknown invalidation message"),
            },
            Err(_) => tracing::warn!("ignoring a non-UTF-8 invalidation message"),
        }
    }
    cache.inner.subscribed.store(false, Ordering::Relaxed);
    cache.inner.l1.invalidate_all();
    tracing::warn!("lost the cache invalidation channel; L1 flushed, retrying");
    true
}

/// After (re)subscribing: announcements may have been missed, so drop the
/// L1 and re-read every landlord's counters from the database on its next
/// read (the database holds them; nothing needs replaying).
async fn resynchronize(cache: &Cache) {
    cache.inner.l1.invalidate_all();
    cache.inner.generations.forget_checks();
}

/// A message between instances on the invalidation channel. Encoded and
/// parsed only here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Announcement {
    /// New generation counters of one landlord (`None`: every landlord).
    Generations {
        landlord: Option<Id>,
        counters: Vec<(Data, u64)>,
        /// The primary's WAL position after the write (with replicas).
        lsn: Option<Lsn>,
    },
    /// A token was revoked: drop its cached check.
    ForgetToken(String),
    ClearAll,
    ClearLandlord(Id),
    /// A Redis glob pattern, after the key root.
    ClearPattern(String),
}

impl Announcement {
    /// `g:{landlord|*}:{data}={value},…[@{lsn hex}]`, `t:{token hash}`, `c:all`,
    /// `c:l:{landlord}`, `c:p:{pattern}`.
    pub(super) fn encode(&self) -> String {
        match self {
            Announcement::Generations {
                landlord,
                counters,
                lsn,
            } => {
                let who = landlord.map_or_else(|| "*".to_owned(), |id| id.to_string());
                let counters: Vec<String> = counters
                    .iter()
                    .map(|(data, value)| format!("{}={value}", data.index()))
                    .collect();
                let lsn = lsn.map_or_else(String::new, |lsn| format!("@{:x}", lsn.0));
                format!("g:{who}:{}{lsn}", counters.join(","))
            }
            Announcement::ForgetToken(hash) => format!("t:{hash}"),
            Announcement::ClearAll => "c:all".to_owned(),
            Announcement::ClearLandlord(id) => format!("c:l:{id}"),
            Announcement::ClearPattern(pattern) => format!("c:p:{pattern}"),
        }
    }

    pub(super) fn parse(message: &str) -> Option<Announcement> {
        if let Some(rest) = message.strip_prefix("g:") {
            let (who, counters) = rest.split_once(':')?;
            let (counters, lsn) = match counters.split_once('@') {
                Some((counters, lsn)) => (counters, Some(Lsn(u64::from_str_radix(lsn, 16).ok()?))),
                None => (counters, None),
            };
            let landlord = match who {
                "*" => None,
                id => Some(id.parse().ok()?),
            };
            let counters = counters
                .split(',')
                .map(|counter| {
                    let (data, value) = counter.split_once('=')?;
                    Some((Data::from_index(data.parse().ok()?)?, value.parse().ok()?))
                })
                .collect::<Option<Vec<_>>>()?;
            return Some(Announcement::Generations {
                landlord,
                counters,
                lsn,
            });
        }
        if let Some(hash) = message.strip_prefix("t:") {
            return Some(Announcement::ForgetToken(hash.to_owned()));
        }
        if message == "c:all" {
            return Some(Announcement::ClearAll);
        }
        if let Some(id) = message.strip_prefix("c:l:") {
            return id.parse().ok().map(Announcement::ClearLandlord);
        }
        message
            .strip_prefix("c:p:")
            .map(|pattern| Announcement::ClearPattern(pattern.to_owned()))
    }
}

/// Applies what another instance (or this one) announced.
async fn apply(cache: &Cache, announcement: Announcement) {
    match announcement {
        Announcement::Generations {
            landlord,
            counters,
            lsn,
        } => {
            // The position first: whoever sees the new generation must also
            // find the write it names.
            if let Some(lsn) = lsn {
                cache.note_lsn(landlord, lsn);
            }
            // Only what moved is logged: this instance's own announcements
            // come back to it, already applied.
            let moved: Vec<Data> = counters
                .into_iter()
                .filter(|&(data, value)| cache.inner.generations.apply(landlord, data, value))
                .map(|(data, _)| data)
                .collect();
            if !moved.is_empty() {
                cache
                    .inner
                    .recent
                    .push_data(landlord, &moved, Origin::Announced);
            }
        }
        Announcement::ForgetToken(hash) => cache.inner.tokens.invalidate(&hash).await,
        Announcement::ClearAll => cache.inner.l1.invalidate_all(),
        Announcement::ClearLandlord(id) => {
            if let Err(err) = cache.clear_l1_landlord(id) {
                tracing::warn!(error = %err, "announced clear failed here");
            }
        }
        Announcement::ClearPattern(pattern) => {
            if let Err(err) = cache.clear_l1_matching(&pattern) {
                tracing::warn!(error = %err, "announced clear failed here");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announcements_round_trip() {
        let all = [
            Announcement::Generations {
                landlord: Some(7),
                counters: vec![(Data::Payments, 42), (Data::Charges, 3)],
                lsn: None,
            },
            Announcement::Generations {
                landlord: None,
                counters: vec![(Data::Charges, 1)],
                lsn: Some(Lsn(0x16_B374_D848)),
            },
            Announcement::ForgetToken("ab12".to_owned()),
            Announcement::ClearAll,
            Announcement::ClearLandlord(9),
            Announcement::ClearPattern("report:*:g[0-9]".to_owned()),
        ];
        for announcement in all {
            assert_eq!(
                Announcement::parse(&announcement.encode()),
                Some(announcement)
            );
        }
        for junk in ["", "g:x:1=1", "g:1:99=1", "c:l:abc", "x:1"] {
            assert_eq!(Announcement::parse(junk), None, "{junk}");
        }
    }
}
