//! Passwords (argon2id) and bearer tokens (random, stored as SHA-256).
//!
//! Hashing is deliberately slow, so callers on the async runtime use the
//! `*_blocking`-free async wrappers, which run it on the blocking pool.

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
    hex::encode(Sha256::digest(token.as_bytes()))
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

/// [`verify_password`] off the async runtime. With no stored hash (unknown
/// email) it still does the same work against a dummy, so response time does
/// not reveal which emails exist.
pub async fn verify_password_async(
    password: String,
    stored: Option<String>,
) -> anyhow::Result<bool> {
    tokio::task::spawn_blocking(move || match stored {
        Some(stored) => verify_password(&password, &stored),
        None => {
            let _ = hash_password(&password);
            Ok(false)
        }
    })
    .await
    .context("password verification task")?
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
    fn tokens_are_random_and_hash_stably() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 4 + 64);
        assert_eq!(token_hash(&a), token_hash(&a));
        assert_ne!(token_hash(&a), token_hash(&b));
    }
}
