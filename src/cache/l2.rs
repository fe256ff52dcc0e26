//! The shared tier on Redis. Redis is an optimisation, never a dependency: every call has a
//! short timeout, and after repeated failures a circuit breaker skips Redis
//! for a cool-down, after which one call probes it again. A failed call is a
//! miss (reads) or a no-op (writes); nothing here returns an error to a request.

use std::{
    sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::Relaxed},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use redis::{
    Client, Value,
    aio::{ConnectionManager, ConnectionManagerConfig},
};

/// Consecutive failures that open the breaker.
const FAILURES_TO_OPEN: u32 = 3;
/// How long an open breaker skips Redis before letting one call probe it.
const COOL_DOWN: Duration = Duration::from_secs(2);
/// How long another instance's load of a key is waited for.
pub const LEASE_MS: u64 = 3_000;

pub struct L2 {
    client: Client,
    conn: ConnectionManager,
    timeout: Duration,
    breaker: Breaker,
}

/// Closed: every call goes to Redis. Open (after `FAILURES_TO_OPEN`
/// consecutive failures): calls skip Redis until the cool-down ends. Then
/// half-open: exactly one call probes Redis; its success closes the breaker,
/// its failure opens it for another cool-down; the others keep skipping.
#[derive(Default)]
struct Breaker {
    failures: AtomicU32,
    /// 0 while closed.
    open_until_ms: AtomicU64,
    /// Whether the half-open probe is out.
    probing: AtomicBool,
}

impl Breaker {
    fn allows(&self) -> bool {
        let until = self.open_until_ms.load(Relaxed);
        if until == 0 {
            return true;
        }
        now_ms() >= until
            && self
                .probing
                .compare_exchange(false, true, Relaxed, Relaxed)
                .is_ok()
    }

    fn succeeded(&self) {
        self.failures.store(0, Relaxed);
        self.open_until_ms.store(0, Relaxed);
        self.probing.store(false, Relaxed);
    }

    fn failed(&self) {
        if self.failures.fetch_add(1, Relaxed) + 1 >= FAILURES_TO_OPEN {
            let until = now_ms() + u64::try_from(COOL_DOWN.as_millis()).unwrap_or(u64::MAX);
            self.open_until_ms.store(until, Relaxed);
            self.probing.store(false, Relaxed);
        }
    }

    fn is_open(&self) -> bool {
        self.failures.load(Relaxed) >= FAILURES_TO_OPEN
    }
}

impl L2 {
    /// Builds the client; connecting happens lazily and never fails the
    /// caller (a Redis that is down at start-up is just an open breaker).
    pub fn new(url: &str, timeout: Duration) -> anyhow::Result<L2> {
        let client =
            Client::open(url).map_err(|err| anyhow::anyhow!("invalid REDIS_URL: {err}"))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(1);
        let conn = ConnectionManager::new_lazy_with_config(client.clone(), config)
            .map_err(|err| anyhow::anyhow!("redis client: {err}"))?;
        Ok(L2 {
            client,
            conn,
            timeout,
            breaker: Breaker::default(),
        })
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Closes the breaker: Redis just answered on another connection (the
    /// subscription), so there is no need to wait out the cool-down.
    pub fn mark_reachable(&self) {
        self.breaker.succeeded();
    }

    /// Whether Redis is currently being skipped.
    pub fn is_down(&self) -> bool {
        self.breaker.is_open()
    }

    /// Runs one command or pipeline under the timeout and the breaker.
    async fn run<T: redis::FromRedisValue>(&self, call: impl Into<Call>) -> Option<T> {
        if !self.breaker.allows() {
            return None;
        }
        let mut conn = self.conn.clone();
        let reply = async {
            match call.into() {
                Call::Cmd(cmd) => cmd.query_async::<Value>(&mut conn).await,
                Call::Pipe(pipe) => pipe.query_async::<Value>(&mut conn).await,
            }
        };
        match tokio::time::timeout(self.timeout, reply).await {
            Ok(Ok(value)) => match redis::from_redis_value(value) {
                Ok(typed) => {
                    self.breaker.succeeded();
                    Some(typed)
                }
                Err(err) => {
                    // Redis answered (so the breaker closes), just not as expected.
                    self.breaker.succeeded();
                    tracing::warn!(error = %err, "unexpected reply from Redis");
                    None
                }
            },
            Ok(Err(err)) => {
                self.breaker.failed();
                tracing::debug!(error = %err, "redis call failed");
                None
            }
            Err(_) => {
                self.breaker.failed();
                tracing::debug!("redis call timed out");
                None
            }
        }
    }

    pub async fn get(&self, key: &str) -> Option<Vec<u8>> {
        self.run::<Option<Vec<u8>>>(redis::cmd("GET").arg(key).clone())
            .await
            .flatten()
    }

    pub async fn set(&self, key: &str, bytes: &[u8], ttl: Duration) {
        let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let _: Option<Value> = self
            .run(
                redis::cmd("SET")
                    .arg(key)
                    .arg(bytes)
                    .arg("PX")
                    .arg(ms)
                    .clone(),
            )
            .await;
    }

    /// `SET … PX` of every `(key, bytes, ttl)`, `PEXPIRE` of every
    /// `(key, ttl)` in `expire`, then `PUBLISH` of `announce` (channel,
    /// message): one round trip, which Redis runs in order, so a subscriber
    /// hears the message after the keys are set.
    pub async fn set_many(
        &self,
        items: Vec<(String, Vec<u8>, Duration)>,
        expire: Vec<(String, Duration)>,
        announce: Option<(&str, &str)>,
    ) {
        let millis = |ttl: Duration| u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let mut pipe = redis::pipe();
        for (key, bytes, ttl) in items {
            pipe.cmd("SET")
                .arg(key)
                .arg(bytes)
                .arg("PX")
                .arg(millis(ttl))
                .ignore();
        }
        for (key, ttl) in expire {
            pipe.cmd("PEXPIRE").arg(key).arg(millis(ttl)).ignore();
        }
        if let Some((channel, message)) = announce {
            pipe.cmd("PUBLISH").arg(channel).arg(message).ignore();
        }
        let _: Option<Value> = self.run(pipe).await;
    }

    /// `SET key:lease NX PX`: true when this instance should compute `key`.
    /// With Redis unreachable every instance computes (correct, just slower).
    pub async fn lease(&self, key: &str) -> bool {
        let reply: Option<Option<String>> = self
            .run(
                redis::cmd("SET")
                    .arg(format!("{key}:lease"))
                    .arg(1)
                    .arg("NX")
                    .arg("PX")
                    .arg(LEASE_MS)
                    .clone(),
            )
            .await;
        !matches!(reply, Some(None))
    }

    pub async fn release(&self, key: &str) {
        let _: Option<Value> = self
            .run(redis::cmd("DEL").arg(format!("{key}:lease")).clone())
            .await;
    }

    /// Sets `key` to `value` unless it already holds a greater one (values
    /// compare as strings: callers give fixed-width hex), and (re)sets its
    /// expiry. One script, so two instances raising it at once cannot lower it.
    pub async fn raise(&self, key: &str, value: &str, ttl: Duration) -> bool {
        const RAISE: &str = "local current = redis.call('GET', KEYS[1]) \
            if (not current) or current < ARGV[1] then \
              redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) \
            else redis.call('PEXPIRE', KEYS[1], ARGV[2]) end \
            return 1";
        let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let reply: Option<Value> = self
            .run(
                redis::cmd("EVAL")
                    .arg(RAISE)
                    .arg(1)
                    .arg(key)
                    .arg(value)
                    .arg(ms)
                    .clone(),
            )
            .await;
        reply.is_some()
    }

    /// Adds `by` to the counter at `key` (deleting it at zero or below) and
    /// keeps it for `ttl`; `false` when Redis could not be asked.
    pub async fn add(&self, key: &str, by: i64, ttl: Duration) -> bool {
        const ADD: &str = "local n = redis.call('INCRBY', KEYS[1], ARGV[1]) \
            if n <= 0 then redis.call('DEL', KEYS[1]) \
            else redis.call('PEXPIRE', KEYS[1], ARGV[2]) end \
            return n";
        let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let reply: Option<Value> = self
            .run(
                redis::cmd("EVAL")
                    .arg(ADD)
                    .arg(1)
                    .arg(key)
                    .arg(by)
                    .arg(ms)
                    .clone(),
            )
            .await;
        reply.is_some()
    }

    /// `MGET`: `None` when Redis could not be asked.
    pub async fn get_strings(&self, keys: &[String]) -> Option<Vec<Option<String>>> {
        self.run(redis::cmd("MGET").arg(keys).clone()).await
    }

    pub async fn publish(&self, channel: &str, message: &str) {
        let _: Option<Value> = self
            .run(redis::cmd("PUBLISH").arg(channel).arg(message).clone())
            .await;
    }

    /// Deletes the keys matching `pattern` with `SCAN` + `UNLINK` in batches
    /// (never `KEYS`, which blocks the server). Returns how many went.
    pub async fn unlink_matching(&self, pattern: &str) -> Option<u64> {
        let mut cursor: u64 = 0;
        let mut unlinked = 0;
        loop {
            let (next, keys): (u64, Vec<String>) = self
                .run(
                    redis::cmd("SCAN")
                        .arg(cursor)
                        .arg("MATCH")
                        .arg(pattern)
                        .arg("COUNT")
                        .arg(500)
                        .clone(),
                )
                .await?;
            if !keys.is_empty() {
                unlinked += self
                    .run::<u64>(redis::cmd("UNLINK").arg(&keys).clone())
                    .await?;
            }
            if next == 0 {
                return Some(unlinked);
            }
            cursor = next;
        }
    }
}

/// A single command or a pipeline.
enum Call {
    Cmd(redis::Cmd),
    Pipe(redis::Pipeline),
}

impl From<redis::Cmd> for Call {
    fn from(cmd: redis::Cmd) -> Call {
        Call::Cmd(cmd)
    }
}

impl From<redis::Pipeline> for Call {
    fn from(pipe: redis::Pipeline) -> Call {
        Call::Pipe(pipe)
    }
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
    fn an_open_breaker_lets_one_probe_through_after_the_cool_down() {
        let breaker = Breaker::default();
        assert!(breaker.allows());
        for _ in 0..FAILURES_TO_OPEN {
            breaker.failed();
        }
        assert!(breaker.is_open() && !breaker.allows());
        // The cool-down is over: one caller probes, the others still skip.
        breaker.open_until_ms.store(now_ms() - 1, Relaxed);
        assert!(breaker.allows());
        assert!(!breaker.allows() && !breaker.allows());
        // A failed probe opens it again; a successful one closes it.
        breaker.failed();
        assert!(!breaker.allows());
        breaker.open_until_ms.store(now_ms() - 1, Relaxed);
        assert!(breaker.allows());
        breaker.succeeded();
        assert!(!breaker.is_open() && breaker.allows() && breaker.allows());
    }
}
