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

    /// Admits a login attempt, or answers 429 while the account or the
    /// address is locked out. The attempt counts against the account at once,
    /// until [`LoginGuard::succeeded`] clears it: a burst of concurrent guesses
    /// at one account gets no more tries than a sequence would. Against the
    /// address only failures count ([`LoginGuard::failed`]), so an office
    /// behind one address can log many people in at once.
    pub fn admit(&self, email: &str, address: Option<IpAddr>) -> Result<(), AppError> {
        let now = Instant::now();
        if let Some(address) = address
            && let Some(left) = self
                .failures
                .get(&Key::Address(address))
                .and_then(|w| self.locked_for(w, now))
        {
            return Err(AppError::TooManyAttempts(left.as_secs().max(1)));
        }
        let mut locked = None;
        self.failures
            .entry(Self::account(email))
            .and_compute_with(|current| match current.map(|e| e.into_value()) {
                Some(w) if now.duration_since(w.started) < self.window => {
                    locked = self.locked_for(w, now);
                    if locked.is_some() {
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
        match locked {
            Some(left) => Err(AppError::TooManyAttempts(left.as_secs().max(1))),
            None => Ok(()),
        }
    }

    /// How long `w` still locks its key out, if it does.
    fn locked_for(&self, w: Window, now: Instant) -> Option<Duration> {
        (w.failures >= self.max_failures)
            .then(|| (w.started + self.window).checked_duration_since(now))
            .flatten()
    }

    /// Counts a failed attempt against the address (the account's was
    /// counted on admission).
    pub fn failed(&self, address: Option<IpAddr>) {
        let Some(address) = address else { return };
        let now = Instant::now();
        self.failures
            .entry(Key::Address(address))
            .and_compute_with(|current| {
                Op::Put(match current.map(|e| e.into_value()) {
                    Some(w) if now.duration_since(w.started) < self.window => Window {
                        failures: w.failures.saturating_add(1),
                        ..w
                    },
                    _ => Window {
                        started: now,
                        failures: 1,
                    },
                })
            });
    }

    /// A successful login clears the account's count.
    pub fn succeeded(&self, email: &str) {
        self.failures.invalidate(&Self::account(email));
    }

    fn account(email: &str) -> Key {
        Key::Account(email.trim().to_lowercase())
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
    fn locks_an_account_after_its_attempts_whatever_the_address() {
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
        guard.succeeded("WANJIRU@example.com");
        assert!(guard.admit("wanjiru@example.com", b).is_ok());
    }

    #[test]
    fn locks_an_address_that_fails_at_many_accounts() {
        let guard = guard(3);
        let address = Some(IpAddr::from([192, 168, 1, 9]));
        for n in 0..3 {
            assert!(
                guard
                    .admit(&format!("user{n}@example.com"), address)
                    .is_ok()
            );
            guard.failed(address);
        }
        assert!(guard.admit("new@example.com", address).is_err());
        assert!(guard.admit("new@example.com", None).is_ok());
    }

    #[test]
    fn many_people_log_in_at_once_from_one_address() {
        let guard = guard(3);
        let office = Some(IpAddr::from([172, 16, 0, 1]));
        for n in 0..10 {
            assert!(
                guard
                    .admit(&format!("landlord{n}@example.com"), office)
                    .is_ok(),
                "login {n}"
            );
        }
    }
}
