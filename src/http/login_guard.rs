//! What keeps a login flood from hurting: password hashes computed a few at
//! a time (each argon2 verification takes ~19 MiB, so 100 at once would take
//! 2 GB), and failed logins counted per account and per client address, past
//! a limit answered 429 with `Retry-After` before any hashing is done.
//!
//! Counting only failures needs a look before the attempt and a count after
//! it, which a rate limiter (`governor`) cannot do without charging every
//! attempt; a bounded `moka` cache with one fixed window per key can, and
//! forgets idle keys by itself.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use moka::{ops::compute::Op, sync::Cache};
use tokio::sync::Semaphore;

use crate::auth;
use crate::config::AuthSettings;
use crate::error::AppError;

/// Keys remembered at most (an attacker rotating emails cannot grow memory).
const MAX_KEYS: u64 = 100_000;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Account(String),
    Address(IpAddr),
}

/// Failures since `started`; the window ends `window` after it.
#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    failures: u32,
}

pub struct LoginGuard {
    hashing: Semaphore,
    failures: Cache<Key, Window>,
    max_failures: u32,
    window: Duration,
}

impl LoginGuard {
    pub fn new(settings: &AuthSettings) -> LoginGuard {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let permits = match settings.hashing_concurrency {
            0 => cores,
            n => n,
        };
        let window = Duration::from_secs(settings.lockout_window_secs.max(1));
        LoginGuard {
            hashing: Semaphore::new(permits),
            failures: Cache::builder()
                .max_capacity(MAX_KEYS)
                .time_to_live(window)
                .build(),
            max_failures: settings.max_failed_logins.max(1),
            window,
        }
    }

    fn keys(email: &str, address: Option<IpAddr>) -> impl Iterator<Item = Key> {
        let account = Key::Account(email.trim().to_lowercase());
        std::iter::once(account).chain(address.map(Key::Address))
    }

    /// 429 while the account or the address is locked out.
    pub fn check(&self, email: &str, address: Option<IpAddr>) -> Result<(), AppError> {
        let now = Instant::now();
        let locked_for = Self::keys(email, address)
            .filter_map(|key| self.failures.get(&key))
            .filter(|w| w.failures >= self.max_failures)
            .filter_map(|w| (w.started + self.window).checked_duration_since(now))
            .max();
        match locked_for {
            Some(left) => Err(AppError::TooManyAttempts(left.as_secs().max(1))),
            None => Ok(()),
        }
    }

    /// Counts a failed attempt against the account and the address.
    pub fn failed(&self, email: &str, address: Option<IpAddr>) {
        let now = Instant::now();
        for key in Self::keys(email, address) {
            self.failures.entry(key).and_compute_with(|current| {
                let window = match current.map(|entry| entry.into_value()) {
                    Some(w) if now.duration_since(w.started) < self.window => Window {
                        failures: w.failures.saturating_add(1),
                        ..w
                    },
                    _ => Window {
                        started: now,
                        failures: 1,
                    },
                };
                Op::Put(window)
            });
        }
    }

    /// A successful login clears the account's failures (not the address's).
    pub fn succeeded(&self, email: &str) {
        self.failures
            .invalidate(&Key::Account(email.trim().to_lowercase()));
    }

    /// Verifies a password (see [`auth::verify_password_async`]) once a
    /// hashing slot is free. The lockout is checked again after the wait, so
    /// a burst queued behind the slots cannot all get their try.
    pub async fn verify(
        &self,
        email: &str,
        address: Option<IpAddr>,
        password: String,
        stored: Option<String>,
    ) -> Result<bool, AppError> {
        let _slot = self
            .hashing
            .acquire()
            .await
            .map_err(|_| AppError::Unavailable("shutting down"))?;
        self.check(email, address)?;
        Ok(auth::verify_password_async(password, stored).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard(max: u32) -> LoginGuard {
        LoginGuard::new(&AuthSettings {
            max_failed_logins: max,
            lockout_window_secs: 900,
            ..AuthSettings::default()
        })
    }

    #[test]
    fn locks_an_account_after_its_failures_whatever_the_address() {
        let guard = guard(3);
        let a = Some(IpAddr::from([10, 0, 0, 1]));
        let b = Some(IpAddr::from([10, 0, 0, 2]));
        for _ in 0..3 {
            assert!(guard.check("Wanjiru@example.com", a).is_ok());
            guard.failed("wanjiru@example.com ", a);
        }
        let locked = guard.check("wanjiru@example.com", b);
        assert!(
            matches!(locked, Err(AppError::TooManyAttempts(secs)) if (1..=900).contains(&secs)),
            "{locked:?}"
        );
        assert!(guard.check("otieno@example.com", b).is_ok());
        guard.succeeded("WANJIRU@example.com");
        assert!(guard.check("wanjiru@example.com", b).is_ok());
    }

    #[test]
    fn locks_an_address_that_tries_many_accounts() {
        let guard = guard(3);
        let address = Some(IpAddr::from([192, 168, 1, 9]));
        for n in 0..3 {
            guard.failed(&format!("user{n}@example.com"), address);
        }
        assert!(guard.check("new@example.com", address).is_err());
        assert!(guard.check("new@example.com", None).is_ok());
    }
}
