//! What the generator and the ledger share: the time frame of the history and
//! the seeded RNG streams.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use rand::SeedableRng;

use super::SeedSpec;
use super::names::Rng;
use crate::types::Period;

/// RNG streams; each part of the data set draws from its own, so changing how
/// one part is drawn does not reshuffle the others.
#[derive(Clone, Copy)]
pub(crate) enum Stream {
    Landlord = 1,
    Ledger = 2,
    Suspense = 3,
}

/// An RNG for one `stream` and `index` under `seed` (SplitMix64 mixing, so
/// neighbouring indices get unrelated streams).
pub(crate) fn rng_for(seed: u64, stream: Stream, index: u64) -> Rng {
    let mixed = mix(mix(seed ^ (stream as u64).wrapping_mul(0xA24B_AED4_963E_E407)) ^ index);
    Rng::seed_from_u64(mixed)
}

fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The time frame of the history: months `first ..= end`, and the cutoff
/// before which everything happened.
pub(crate) struct Clock {
    pub tz: Tz,
    pub first: Period,
    pub end: Period,
    /// Month index (0 = `first`) → period.
    pub periods: Vec<Period>,
    /// History is the local days strictly before this date.
    pub cutoff_date: NaiveDate,
    /// Local midnight starting `cutoff_date`: every instant is before it.
    pub cutoff: DateTime<Utc>,
}

impl Clock {
    /// The history never runs past `today`: a current or future `spec.end`
    /// becomes today's month, and the cutoff is today's midnight.
    pub(crate) fn new(spec: &SeedSpec, tz: Tz, today: NaiveDate) -> Clock {
        let end = spec.end.min(Period::containing(today));
        let months = i32::try_from(spec.months.max(1)).unwrap_or(i32::MAX);
        let first = shift(end, 1 - months);
        let periods = (0..months).map(|i| shift(first, i)).collect();
        let cutoff_date = today.min(end.next().first_day());
        Clock {
            tz,
            first,
            end,
            periods,
            cutoff_date,
            cutoff: local_instant(tz, cutoff_date, 0),
        }
    }

    pub fn months(&self) -> i32 {
        i32::try_from(self.periods.len()).unwrap_or(i32::MAX)
    }

    /// The period `index` months after `first` (negative: before the window).
    pub fn period(&self, index: i32) -> Period {
        usize::try_from(index)
            .ok()
            .and_then(|i| self.periods.get(i).copied())
            .unwrap_or_else(|| shift(self.first, index))
    }
}

/// `period` moved by `months` (either direction).
pub(crate) fn shift(mut period: Period, months: i32) -> Period {
    for _ in 0..months.unsigned_abs() {
        period = if months > 0 {
            period.next()
        } else {
            period.prev()
        };
    }
    period
}

/// The UTC instant of `seconds` after local midnight of `date` in `tz`. A
/// local time that does not exist (a DST gap) moves an hour later.
pub(crate) fn local_instant(tz: Tz, date: NaiveDate, seconds: u32) -> DateTime<Utc> {
    let naive = date.and_time(chrono::NaiveTime::MIN) + chrono::Duration::seconds(seconds.into());
    tz.from_local_datetime(&naive)
        .earliest()
        .or_else(|| {
            tz.from_local_datetime(&(naive + chrono::Duration::hours(1)))
                .earliest()
        })
        .map_or_else(|| naive.and_utc(), |t| t.with_timezone(&Utc))
}
