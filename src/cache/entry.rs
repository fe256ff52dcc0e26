//! A cached value: the serialized response body with its ETag and age, and
//! its byte envelope for shared tiers (versioned; anything that fails to
//! decode is a miss, never a crash — no pickle-like formats).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::{body::Bytes, http::HeaderValue};

/// Bumped whenever the envelope layout changes.
/// 2: the ETag is an XXH3-128 digest of the body (was SHA-256).
pub const ENVELOPE_VERSION: u8 = 2;
const MAGIC: &[u8; 3] = b"MFK";
const HEADER: usize = 3 + 1 + 8 + 16;

#[derive(Debug)]
pub struct Entry {
    /// The JSON body, sent as is on every hit.
    pub body: Bytes,
    /// Strong validator: a 128-bit XXH3 digest of the body, hex ([`digest`]).
    pub etag: String,
    /// The `ETag` header's value (the validator quoted), made once rather
    /// than on every hit.
    pub etag_header: HeaderValue,
    pub created_at_ms: u64,
    /// Until when the entry is served as fresh; after it, as stale while a
    /// refresh runs (the L1 keeps it a little longer for that).
    pub fresh_until: Instant,
    /// Whether the body is exactly the state its key names: nothing it
    /// depends on was committed while it loaded (or it was patched from such
    /// an entry). Only these are shared in Redis and patched after a write.
    pub exact: bool,
    /// The typed value the body serializes, kept by a patch for the next
    /// one (a loaded body is parsed on its first patch).
    pub model: Option<Model>,
}

/// A report's typed value, of whatever type its view has, for the one
/// patch that starts from it to take ([`Model::take`]) while readers still
/// hold the entry for its body.
#[derive(Clone)]
pub struct Model(std::sync::Arc<dyn std::any::Any + Send + Sync>);

impl Model {
    pub fn new<T: Send + 'static>(value: T) -> Model {
        Model(std::sync::Arc::new(std::sync::Mutex::new(Some(value))))
    }

    /// The value, if it is a `T` and not taken yet.
    pub fn take<T: Send + 'static>(&self) -> Option<T> {
        let cell = self.0.downcast_ref::<std::sync::Mutex<Option<T>>>()?;
        cell.lock().ok()?.take()
    }
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Model")
    }
}

impl Entry {
    pub fn new(body: Bytes, ttl: Duration) -> Entry {
        let etag = hex::encode(digest(&body));
        Entry {
            etag_header: HeaderValue::from_str(&format!("\"{etag}\""))
                .unwrap_or_else(|_| HeaderValue::from_static("\"\"")),
            etag,
            body,
            created_at_ms: now_ms(),
            fresh_until: Instant::now() + ttl,
            exact: false,
            model: None,
        }
    }

    pub fn is_fresh(&self) -> bool {
        Instant::now() < self.fresh_until
    }

    /// `MFK`, version, created-at (ms, big-endian), ETag (16 bytes), body.
    pub fn encode(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(HEADER + self.body.len());
        bytes.extend_from_slice(MAGIC);
        bytes.push(ENVELOPE_VERSION);
        bytes.extend_from_slice(&self.created_at_ms.to_be_bytes());
        bytes.extend_from_slice(&hex::decode(&self.etag).unwrap_or_else(|_| vec![0; 16]));
        bytes.extend_from_slice(&self.body);
        bytes
    }

    /// Reads an envelope; `None` for anything malformed or of another version.
    /// The ETag is checked against the body, so a truncated or altered value
    /// is refused too.
    pub fn decode(bytes: &[u8], ttl: Duration) -> Option<Entry> {
        if bytes.len() < HEADER || &bytes[..3] != MAGIC || bytes[3] != ENVELOPE_VERSION {
            return None;
        }
        let created_at_ms = u64::from_be_bytes(bytes[4..12].try_into().ok()?);
        let etag = hex::encode(&bytes[12..28]);
        let entry = Entry::new(Bytes::copy_from_slice(&bytes[HEADER..]), ttl);
        // Only exact bodies are written to Redis.
        (entry.etag == etag).then_some(Entry {
            created_at_ms,
            exact: true,
            ..entry
        })
    }

    /// Bytes the L1 charges for this entry. A kept model is counted as
    /// large as its body (about what a report's structs take).
    pub fn weight(&self, key: &str) -> u32 {
        let model = if self.model.is_some() {
            self.body.len()
        } else {
            0
        };
        u32::try_from(key.len() + self.body.len() + model + self.etag.len() + 64)
            .unwrap_or(u32::MAX)
    }
}

/// What an ETag is made of: 128 bits of XXH3 over the body. An ETag only
/// has to change when its resource does (no adversary gains from a
/// collision between two versions of their own report), and XXH3 reads a
/// 200 KiB arrears list in microseconds where SHA-256 took a tenth of its
/// cold time.
pub fn digest(body: &[u8]) -> [u8; 16] {
    xxhash_rust::xxh3::xxh3_128(body).to_be_bytes()
}

/// Serializes a freshly computed body for the cache.
pub fn json_body<T: serde::Serialize>(value: &T) -> crate::error::AppResult<Bytes> {
    let body = serde_json::to_vec(value).map_err(|err| {
        crate::error::AppError::Internal(anyhow::Error::new(err).context("serializing a response"))
    })?;
    // An exact copy: the buffer grew by doubling, `Bytes` would keep its
    // spare capacity, which the L1's weight (the length) does not count, and
    // mimalloc does not shrink a block in place (`shrink_to_fit`) by less than
    // half. write-mix on the 15th peaked at 255–262 MiB RSS before, 221–243 after.
    Ok(Bytes::copy_from_slice(&body))
}

/// Serializes a patched body (`reports::patch`), in a buffer sized for
/// `about` bytes (its previous version's length) so that it is neither
/// regrown nor copied; a body that outgrew it is copied exact.
pub fn json_body_about<T: serde::Serialize>(
    value: &T,
    about: usize,
) -> crate::error::AppResult<Bytes> {
    let mut body = Vec::with_capacity(about + about / 64 + 64);
    let capacity = body.capacity();
    serde_json::to_writer(&mut body, value).map_err(|err| {
        crate::error::AppError::Internal(anyhow::Error::new(err).context("serializing a response"))
    })?;
    Ok(if body.capacity() == capacity {
        Bytes::from(body)
    } else {
        Bytes::copy_from_slice(&body)
    })
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_round_trip_and_refuse_garbage() {
        let entry = Entry::new(Bytes::from_static(br#"{"a":1}"#), Duration::from_secs(60));
        let bytes = entry.encode();
        let back = Entry::decode(&bytes, Duration::from_secs(60)).expect("decodes");
        assert_eq!(back.body, entry.body);
        assert_eq!(back.etag, entry.etag);
        assert_eq!(back.created_at_ms, entry.created_at_ms);

        assert!(Entry::decode(b"", Duration::ZERO).is_none());
        assert!(Entry::decode(b"\x80\x04pickle", Duration::ZERO).is_none());
        let mut other_version = bytes.clone();
        other_version[3] = ENVELOPE_VERSION + 1;
        assert!(Entry::decode(&other_version, Duration::ZERO).is_none());
        let mut altered = bytes.clone();
        let last = altered.len() - 1;
        altered[last] ^= 1;
        assert!(Entry::decode(&altered, Duration::ZERO).is_none());
        assert!(Entry::decode(&bytes[..bytes.len() - 1], Duration::ZERO).is_none());
    }

    #[test]
    fn etags_follow_the_body() {
        let a = Entry::new(Bytes::from_static(b"one"), Duration::ZERO);
        let b = Entry::new(Bytes::from_static(b"two"), Duration::ZERO);
        assert_ne!(a.etag, b.etag);
        assert_eq!(
            a.etag,
            Entry::new(Bytes::from_static(b"one"), Duration::ZERO).etag
        );
        assert_eq!(a.etag.len(), 32);
    }
}
