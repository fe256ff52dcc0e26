//! What keeps a login flood from hurting: passwords checked on a few threads
//! with reused memory ([`auth::Verifier`]; each argon2 check takes ~19 MiB, so
//! 100 at once would take 2 GB), and failed logins counted per account and per
//! client address, past a limit answered 429 with `Retry-After` before any
//! hashing is done.
//!
//! Counting only failures needs a look before the attempt and a count after
//! it, which a rate limiter (`governor`) cannot do without charging every
//! attempt; a bounded `moka` cache with one fixed window per key can, and
//! forgets idle keys by itself.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use moka::{ops::compute::Op, sync::Cache};

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
    verifier: auth::Verifier,
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
            verifier: auth::Verifier::new(permits),
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

    /// Admits a login attempt, or answers 429 while the account or the
    /// address is locked out. An admitted attempt counts as a failure until
    /// [`LoginGuard::succeeded`] says otherwise: counted before the password
    /// is checked, a burst of concurrent guesses gets no more tries than a
    /// sequence would.
    pub fn admit(&self, email: &str, address: Option<IpAddr>) -> Result<(), AppError> {
        let now = Instant::now();
        let mut counted = Vec::new();
        for key in Self::keys(email, address) {
            let mut locked_for = None;
            self.failures
                .entry(key.clone())
                .and_compute_with(|current| match current.map(|entry| entry.into_value()) {
                    Some(w) if now.duration_since(w.started) < self.window => {
                        if w.failures >= self.max_failures {
                            locked_for = Some(self.window - now.duration_since(w.started));
                            Op::Nop
                        } else {
                            Op::Put(Window {
                                failures: w.failures + 1,
                                ..w
                            })
                        }
                    }
                    _ => Op::Put(Window {
                        started: now,
                        failures: 1,
                    }),
                });
            match locked_for {
                Some(left) => {
                    for key in counted {
                        self.refund(key);
                    }
                    return Err(AppError::TooManyAttempts(left.as_secs().max(1)));
                }
                None => counted.push(key),
            }
        }
        Ok(())
    }

    /// Takes back one counted attempt of `key`.
    fn refund(&self, key: Key) {
        self.failures
            .entry(key)
            .and_compute_with(|current| match current {
                Some(entry) => {
                    let w = entry.into_value();
                    Op::Put(Window {
                        failures: w.failures.saturating_sub(1),
                        ..w
                    })
                }
                None => Op::Nop,
            });
    }

    /// A successful login clears the account's failures and takes its own
    /// attempt back from the address's.
    pub fn succeeded(&self, email: &str, address: Option<IpAddr>) {
        self.failures
            .invalidate(&Key::Account(email.trim().to_lowercase()));
        if let Some(address) = address {
            self.refund(Key::Address(address));
        }
    }

    /// Verifies a password on the verification threads (see
    /// [`auth::Verifier`]); 503 when too many logins wait already.
    pub async fn verify(&self, password: String, stored: Option<String>) -> Result<bool, AppError> {
        let verdict = self
            .verifier
            .verify(password, stored)
            .await
            .ok_or(AppError::Unavailable(
                "too many logins at once; retry shortly",
            ))?;
        Ok(verdict?)
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
            assert!(guard.admit("Wanjiru@example.com", a).is_ok());
        }
        let locked = guard.admit("wanjiru@example.com ", b);
        assert!(
            matches!(locked, Err(AppError::TooManyAttempts(secs)) if (1..=900).contains(&secs)),
            "{locked:?}"
        );
        assert!(guard.admit("otieno@example.com", b).is_ok());
        guard.succeeded("WANJIRU@example.com", b);
        assert!(guard.admit("wanjiru@example.com", b).is_ok());
    }

    #[test]
    fn locks_an_address_that_tries_many_accounts() {
        let guard = guard(3);
        let address = Some(IpAddr::from([192, 168, 1, 9]));
        for n in 0..3 {
            assert!(
                guard
                    .admit(&format!("user{n}@example.com"), address)
                    .is_ok()
            );
        }
        assert!(guard.admit("new@example.com", address).is_err());
        assert!(guard.admit("new@example.com", None).is_ok());
    }

    #[test]
    fn successful_logins_do_not_lock_their_address() {
        let guard = guard(3);
        let office = Some(IpAddr::from([172, 16, 0, 1]));
        for n in 0..10 {
            let email = format!("landlord{n}@example.com");
            assert!(guard.admit(&email, office).is_ok(), "login {n}");
            guard.succeeded(&email, office);
        }
    }
}
