//! The freshness checker's bookkeeping, shared by its test
//! (`tests/api/freshness.rs`) and `mfuko bench --scenarios freshness`: two
//! writers post payments, one to each of two instances, while readers on both
//! read this month's collected total. Each writer's payments have their own
//! unit of amount (instance A's 1,000,000 cents, B's 1 cent), so a total says
//! how many of each instance's payments a read reflects. A read that misses a
//! payment acknowledged before it started is stale: on the instance that
//! acknowledged it, that breaks read-your-writes; on the other, it measures
//! the invalidation delay.

use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

/// The amount of one payment posted to instance 0 (A) and instance 1 (B).
pub const UNIT: [i64; 2] = [1_000_000, 1];

/// What the writers and readers saw, in run time (since the start).
#[derive(Debug, Default)]
pub struct Log {
    /// Per instance: when each of its payments was acknowledged (2xx).
    pub acks: [Vec<Duration>; 2],
    pub reads: Vec<Sample>,
    pub failed: Vec<String>,
}

/// One read: on which instance, when it started, what it showed.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub instance: usize,
    pub started: Duration,
    /// The collected total minus the one before the run.
    pub collected: i64,
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct Report {
    pub reads: usize,
    pub writes: usize,
    /// Reads that missed a payment their own instance had acknowledged.
    pub stale_same_instance: usize,
    /// Reads that missed a payment the other instance had acknowledged.
    pub stale_other_instance: usize,
    /// The longest time a read on the other instance still missed an
    /// acknowledged payment.
    pub longest_stale_ms: f64,
    pub failed: usize,
}

/// The collected total of a dashboard or financial report body.
pub fn collected(body: &Value) -> Option<i64> {
    body.pointer("/financial/total/collected")
        .or_else(|| body.pointer("/total/collected"))
        .and_then(Value::as_i64)
}

/// How many of each instance's payments a collected total (above the base)
/// reflects.
fn reflected(collected: i64) -> [usize; 2] {
    let count = |n: i64| usize::try_from(n).unwrap_or(0);
    [count(collected / UNIT[0]), count(collected % UNIT[0])]
}

impl Log {
    pub fn analyze(&self) -> Report {
        let mut report = Report {
            reads: self.reads.len(),
            writes: self.acks.iter().map(Vec::len).sum(),
            failed: self.failed.len(),
            ..Report::default()
        };
        let mut longest = Duration::ZERO;
        for read in &self.reads {
            let seen = reflected(read.collected);
            for (writer, acks) in self.acks.iter().enumerate() {
                let acknowledged = acks.iter().take_while(|at| **at < read.started).count();
                if seen[writer] >= acknowledged {
                    continue;
                }
                if writer == read.instance {
                    report.stale_same_instance += 1;
                } else {
                    report.stale_other_instance += 1;
                    // Since when the oldest missed payment had been acknowledged.
                    longest = longest.max(read.started.saturating_sub(acks[seen[writer]]));
                }
            }
        }
        report.longest_stale_ms = longest.as_secs_f64() * 1e3;
        report
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn reads_are_judged_against_what_was_acknowledged_before_them() {
        let log = Log {
            acks: [vec![ms(10), ms(20)], vec![ms(15)]],
            reads: vec![
                // Sees both of A's and B's: fresh.
                Sample {
                    instance: 0,
                    started: ms(30),
                    collected: 2 * UNIT[0] + 1,
                },
                // On A, misses A's second payment: stale on the writing instance.
                Sample {
                    instance: 0,
                    started: ms(30),
                    collected: UNIT[0] + 1,
                },
                // On A, misses B's payment acknowledged at 15: late by 25 ms.
                Sample {
                    instance: 0,
                    started: ms(40),
                    collected: 2 * UNIT[0],
                },
                // Started before anything was acknowledged: fresh.
                Sample {
                    instance: 1,
                    started: ms(5),
                    collected: 0,
                },
            ],
            failed: Vec::new(),
        };
        let report = log.analyze();
        assert_eq!((report.reads, report.writes), (4, 3));
        assert_eq!(report.stale_same_instance, 1);
        assert_eq!(report.stale_other_instance, 1);
        assert!((report.longest_stale_ms - 25.0).abs() < 1e-9);
    }
}
