//! Per-landlord generations: O(1) invalidation. A write bumps the landlord's
//! counter for each kind of data it touched, after commit; every view key
//! carries the sum of the counters it depends on, so the old keys become
//! unreachable at once and simply age out. Nothing scans keys.
//!
//! A read takes the generation *before* it loads from the database, so a load
//! that raced a write can only be stored under the pre-write key, which no
//! later read asks for (the memcache "stale set" problem).

use std::{collections::HashMap, sync::Mutex};

use crate::cache::view::{Data, View};
use crate::types::Id;

#[derive(Debug, Default)]
pub struct Generations {
    inner: Mutex<Table>,
}

#[derive(Debug, Default)]
struct Table {
    /// Bumped for writes that touch every landlord (the CLI's charge run).
    global: [u64; Data::COUNT],
    landlords: HashMap<Id, [u64; Data::COUNT]>,
}

impl Generations {
    /// The generation of `view` for `landlord`: a sum of monotonic counters,
    /// so it grows with every relevant write and never repeats.
    pub fn of(&self, landlord: Id, view: View) -> u64 {
        let table = self.lock();
        let own = table.landlords.get(&landlord);
        view.depends_on()
            .iter()
            .map(|data| {
                table.global[data.index()] + own.map_or(0, |counters| counters[data.index()])
            })
            .sum()
    }

    pub fn bump(&self, landlord: Id, touched: &[Data]) {
        let mut table = self.lock();
        let counters = table.landlords.entry(landlord).or_default();
        for data in touched {
            counters[data.index()] += 1;
        }
    }

    pub fn bump_all(&self, touched: &[Data]) {
        let mut table = self.lock();
        for data in touched {
            table.global[data.index()] += 1;
        }
    }

    /// Whether this landlord's counters were loaded (or bumped) here.
    pub fn is_known(&self, landlord: Id) -> bool {
        self.lock().landlords.contains_key(&landlord)
    }

    /// Takes the counters Redis holds (the shared truth when it is configured).
    pub fn load(&self, landlord: Id, own: [u64; Data::COUNT], global: [u64; Data::COUNT]) {
        let mut table = self.lock();
        table.landlords.insert(landlord, own);
        table.global = global;
    }

    /// Applies a counter value announced by Redis (ours or another
    /// instance's); counters only move forward.
    pub fn apply(&self, landlord: Option<Id>, data: Data, value: u64) {
        let mut table = self.lock();
        let counter = match landlord {
            Some(id) => &mut table.landlords.entry(id).or_default()[data.index()],
            None => &mut table.global[data.index()],
        };
        *counter = (*counter).max(value);
    }

    /// Forgets every counter (after reconnecting to Redis, which is the truth).
    pub fn reset(&self) {
        *self.lock() = Table::default();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        // A panic while holding the lock cannot leave the counters torn
        // (each update is a plain increment), so a poisoned lock is usable.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_moves_exactly_the_views_that_depend_on_it() {
        let generations = Generations::default();
        let before: Vec<u64> = View::ALL
            .iter()
            .map(|view| generations.of(1, *view))
            .collect();
        generations.bump(1, &[Data::Payments]);
        for (view, old) in View::ALL.iter().zip(&before) {
            let moved = generations.of(1, *view) != *old;
            assert_eq!(
                moved,
                view.depends_on().contains(&Data::Payments),
                "{view:?}"
            );
        }
        // Other landlords are untouched.
        assert_eq!(generations.of(2, View::Dashboard), 0);
        generations.bump_all(&[Data::Charges]);
        assert_eq!(generations.of(2, View::Dashboard), 1);
        assert_eq!(generations.of(2, View::ReportOccupancy), 0);
    }
}
