//! The service's clock: the real time, or (for benchmarks and demos as of a
//! chosen day, the `today` setting) the real time shifted by whole days, so
//! that time still passes and the time of day stays real. Everything that
//! asks "what day is it" or stamps a write goes through it; token expiry and
//! logs keep the real time.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use chrono_tz::Tz;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Clock {
    shift: TimeDelta,
}

impl Clock {
    pub fn real() -> Clock {
        Clock::default()
    }

    /// A clock on which it is `today` in `tz` now.
    pub fn today_is(today: NaiveDate, tz: Tz) -> Clock {
        let real = Utc::now().with_timezone(&tz).date_naive();
        Clock {
            shift: TimeDelta::days((today - real).num_days()),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.shift
    }

    /// Today's date in `tz`.
    pub fn today(&self, tz: Tz) -> NaiveDate {
        self.now().with_timezone(&tz).date_naive()
    }

    pub fn is_real(&self) -> bool {
        self.shift.is_zero()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shifted_clock_is_on_its_day_with_the_real_time_of_day() {
        let tz = chrono_tz::Africa::Nairobi;
        let day = NaiveDate::from_ymd_opt(2026, 12, 15).expect("date");
        let clock = Clock::today_is(day, tz);
        assert_eq!(clock.today(tz), day);
        let real = Utc::now();
        let shifted = clock.now();
        assert_eq!((shifted - real).num_seconds() % 86_400, 0);
        assert!(Clock::real().is_real());
        assert_eq!(
            Clock::real().today(tz),
            real.with_timezone(&tz).date_naive()
        );
    }
}
