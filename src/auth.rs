//! Passwords (argon2id) and bearer tokens (random, stored as SHA-256).
//!
//! Hashing is deliberately slow and memory-hungry: logins check passwords on
//! the [`Verifier`]'s own threads, `user add` hashes on the blocking pool.

use anyhow::Context;
use argon2::{
    Argon2, PasswordHash, PasswordHasher, PasswordVerifier,
    password_hash::{SaltString, rand_core::OsRng},
};
use rand::RngExt;
use sha2::{Digest, Sha256};

/// A token as handed to the client: 32 random bytes, hex-encoded, prefixed so
/// that a leaked token is recognisable in secret scanners.
pub fn new_token() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    format!("mfk_{}", hex::encode(bytes))
}

/// What the database stores for a token.
pub fn token_hash(token: &str) -> String {
    // Every authenticated request hashes its token: `encode_to_slice` is
    // several times faster than `hex::encode`'s char iterator.
    let mut hex = [0_u8; 64];
    let digest = Sha256::digest(token.as_bytes());
    match hex::encode_to_slice(digest, &mut hex) {
        Ok(()) => String::from_utf8_lossy(&hex).into_owned(),
        Err(_) => hex::encode(digest),
    }
}

/// Hashes a password with argon2id and a fresh salt (PHC string format).
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|err| anyhow::anyhow!("hashing password: {err}"))
}

/// Checks a password against a stored PHC string. A malformed stored hash is
/// an error, not a match.
pub fn verify_password(password: &str, stored: &str) -> anyhow::Result<bool> {
    let parsed = PasswordHash::new(stored).map_err(|err| anyhow::anyhow!("stored hash: {err}"))?;
    Ok(Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok())
}

/// [`hash_password`] off the async runtime.
pub async fn hash_password_async(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .context("password hashing task")?
}

/// A password check waiting for a [`Verifier`] thread.
struct Check {
    password: String,
    stored: Option<String>,
    answer: tokio::sync::oneshot::Sender<anyhow::Result<bool>>,
}

/// Checks passwords on a fixed set of threads, each with argon2 memory of its
/// own, allocated once and reused. A login flood then queues, and memory stays
/// at `threads` × ~19 MiB: with hashes on the blocking pool, every thread that
/// ever hashed kept its own 19 MiB in its own allocator arena (the probe saw
/// 100 concurrent logins grow the server by 1.5 GB, never released).
pub struct Verifier {
    checks: std::sync::mpsc::SyncSender<Check>,
}

/// Logins waiting beyond this many are refused (503) rather than queued.
const QUEUE: usize = 1024;

impl Verifier {
    pub fn new(threads: usize) -> Verifier {
        let (checks, queue) = std::sync::mpsc::sync_channel::<Check>(QUEUE);
        let queue = std::sync::Arc::new(std::sync::Mutex::new(queue));
        for n in 0..threads.max(1) {
            let queue = std::sync::Arc::clone(&queue);
            let spawned = std::thread::Builder::new()
                .name(format!("mfuko-verify-{n}"))
                .spawn(move || {
                    let mut memory = Vec::new();
                    loop {
                        let next = match queue.lock() {
                            Ok(queue) => queue.recv(),
                            Err(_) => return,
                        };
                        let Ok(check) = next else { return };
                        let stored = check.stored.as_deref().unwrap_or(DUMMY_HASH);
                        let verdict = verify_with_memory(&check.password, stored, &mut memory)
                            .map(|valid| valid && check.stored.is_some());
                        let _ = check.answer.send(verdict);
                    }
                });
            if let Err(err) = spawned {
                tracing::error!(error = %err, "could not start a password verification thread");
            }
        }
        Verifier { checks }
    }

    /// Whether `password` matches `stored`. With no stored hash (unknown
    /// email) the same work is done against a dummy, so the answer's timing
    /// does not tell which emails exist. `None` when too many wait already.
    pub async fn verify(
        &self,
        password: String,
        stored: Option<String>,
    ) -> Option<anyhow::Result<bool>> {
        let (answer, verdict) = tokio::sync::oneshot::channel();
        let check = Check {
            password,
            stored,
            answer,
        };
        self.checks.try_send(check).ok()?;
        Some(
            verdict.await.unwrap_or_else(|_| {
                Err(anyhow::anyhow!("the password verification thread stopped"))
            }),
        )
    }
}

/// A hash of a random password with the default parameters: what an unknown
/// email is checked against.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$bWZ1a29kdW1teXNhbHQ$\
                          0Q9wJ8oA0eN2b7cJm1mR1Y3aGQ0o1YxkM9k3cS1o7Xg";

/// [`verify_password`] into `memory` (grown to the hash's cost once, then reused).
fn verify_with_memory(
    password: &str,
    stored: &str,
    memory: &mut Vec<argon2::Block>,
) -> anyhow::Result<bool> {
    let parsed = PasswordHash::new(stored).map_err(|err| anyhow::anyhow!("stored hash: {err}"))?;
    let params =
        argon2::Params::try_from(&parsed).map_err(|err| anyhow::anyhow!("stored hash: {err}"))?;
    let algorithm = argon2::Algorithm::try_from(parsed.algorithm)
        .map_err(|err| anyhow::anyhow!("stored hash: {err}"))?;
    let version = parsed
        .version
        .map(argon2::Version::try_from)
        .transpose()
        .map_err(|err| anyhow::anyhow!("stored hash: {err}"))?
        .unwrap_or_default();
    let expected = parsed
        .hash
        .ok_or_else(|| anyhow::anyhow!("stored hash has no output"))?;
    let mut salt = [0u8; 64];
    let salt = parsed
        .salt
        .ok_or_else(|| anyhow::anyhow!("stored hash has no salt"))?
        .decode_b64(&mut salt)
        .map_err(|err| anyhow::anyhow!("stored hash: {err}"))?;
    let blocks = params.block_count();
    if memory.len() < blocks {
        memory.resize(blocks, argon2::Block::default());
    }
    let mut output = vec![0u8; expected.len()];
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(
            password.as_bytes(),
            salt,
            &mut output,
            &mut memory[..blocks],
        )
        .map_err(|err| anyhow::anyhow!("verifying password: {err}"))?;
    Ok(subtle::ConstantTimeEq::ct_eq(output.as_slice(), expected.as_bytes()).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_against_their_own_hash() {
        let hash = hash_password("correct horse").expect("hashes");
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &hash).expect("verifies"));
        assert!(!verify_password("wrong", &hash).expect("verifies"));
        assert!(verify_password("x", "not a hash").is_err());
    }

    #[test]
    fn reused_memory_verifies_like_the_library() {
        let hash = hash_password("correct horse").expect("hashes");
        let mut memory = Vec::new();
        for _ in 0..2 {
            assert!(verify_with_memory("correct horse", &hash, &mut memory).expect("verifies"));
            assert!(!verify_with_memory("wrong", &hash, &mut memory).expect("verifies"));
        }
        assert!(!verify_with_memory("anything", DUMMY_HASH, &mut memory).expect("dummy parses"));
        assert!(verify_with_memory("x", "not a hash", &mut memory).is_err());
    }

    #[tokio::test]
    async fn the_verifier_answers_for_known_and_unknown_users() {
        let verifier = Verifier::new(1);
        let hash = hash_password("pw").expect("hashes");
        let known = verifier.verify("pw".into(), Some(hash)).await;
        assert!(matches!(known, Some(Ok(true))));
        let unknown = verifier.verify("pw".into(), None).await;
        assert!(matches!(unknown, Some(Ok(false))));
    }

    #[test]
    fn tokens_are_random_and_hash_stably() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 4 + 64);
        assert_eq!(token_hash(&a), token_hash(&a));
        assert_ne!(token_hash(&a), token_hash(&b));
    }
}
