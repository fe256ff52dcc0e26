//! Per-landlord generations: O(1) invalidation. Every write bumps, inside its
//! own transaction, the database's counter of each kind of data it touched
//! (`db::generations`, through the single write path); the new values are
//! applied here after the commit and announced to the other instances. A
//! view's key carries the counters of every kind it depends on, so a write
//! makes every dependent key unreachable at once; old keys simply age out.
//!
//! Why this is safe: the database assigns the numbers, so they never repeat
//! (not even after a Redis restart) and never run ahead of the data. What an
//! instance knows is at most what is committed, counter by counter. A read
//! takes the key *before* it loads, so the body it stores under that key is at
//! least as new as every counter in the key (the memcache "stale set" problem
//! cannot happen). The key holds the counters themselves, not their sum: two
//! different states can have equal sums, never equal counters. So whoever
//! asks for a key gets a body at least as new as everything they know of,
//! and the writing instance knows its own write before it answers.

use std::{
    collections::HashMap,
    fmt::Write as _,
    sync::Mutex,
    time::{Duration, Instant},
};

use futures_util::future::BoxFuture;

use crate::cache::view::{Data, View};
use crate::types::Id;

/// One counter per kind of data.
pub type Counters = [u64; Data::COUNT];

/// Where the committed counters are read (the database); a trait, so the
/// cache needs no database types.
pub trait Source: Send + Sync + 'static {
    /// `landlord`'s counters and those of writes that touched every landlord.
    fn load(&self, landlord: Id) -> BoxFuture<'static, anyhow::Result<(Counters, Counters)>>;
}

#[derive(Debug, Default)]
pub struct Generations {
    inner: Mutex<Table>,
}

#[derive(Debug, Default)]
struct Table {
    /// Counters of writes that touched every landlord (the CLI's charge run).
    global: Counters,
    landlords: HashMap<Id, Known>,
}

#[derive(Debug)]
struct Known {
    counters: Counters,
    /// When they were last read from the source (`None`: re-read them).
    checked: Option<Instant>,
}

impl Generations {
    /// The generation part of `view`'s key for `landlord`: the landlord's and
    /// the global counters of every kind the view depends on.
    pub fn tag(&self, landlord: Id, view: View) -> String {
        let table = self.lock();
        let own = table.landlords.get(&landlord).map(|known| &known.counters);
        tag_of(own, &table.global, view)
    }

    /// `landlord`'s counters and the global ones as known now (`None`: the
    /// landlord's are not loaded).
    pub fn counters(&self, landlord: Id) -> Option<(Counters, Counters)> {
        let table = self.lock();
        let known = table.landlords.get(&landlord)?;
        Some((known.counters, table.global))
    }

    /// Whether `landlord`'s counters must be read from the source first: never
    /// read, forgotten, or read longer than `max_age` ago (`None`: any age).
    pub fn needs_check(&self, landlord: Id, max_age: Option<Duration>) -> bool {
        match self.lock().landlords.get(&landlord) {
            Some(Known {
                checked: Some(at), ..
            }) => max_age.is_some_and(|max_age| at.elapsed() >= max_age),
            _ => true,
        }
    }

    /// Takes the counters read from the source; counters only move forward
    /// (an announcement may have brought a newer value meanwhile).
    pub fn load(&self, landlord: Id, own: Counters, global: Counters) {
        let mut table = self.lock();
        raise(&mut table.global, &global);
        let known = table.landlords.entry(landlord).or_insert(Known {
            counters: [0; Data::COUNT],
            checked: None,
        });
        raise(&mut known.counters, &own);
        known.checked = Some(Instant::now());
    }

    /// Applies a committed counter value (this instance's write, or another's
    /// announcement). A landlord not loaded yet is skipped: its first read
    /// loads every counter from the source. Whether the counter moved.
    pub fn apply(&self, landlord: Option<Id>, data: Data, value: u64) -> bool {
        let mut table = self.lock();
        let counter = match landlord {
            None => &mut table.global[data.index()],
            Some(id) => match table.landlords.get_mut(&id) {
                Some(known) => &mut known.counters[data.index()],
                None => return false,
            },
        };
        let moved = value > *counter;
        *counter = (*counter).max(value);
        moved
    }

    /// Marks every landlord's counters for a re-read (announcements may have
    /// been missed while the channel was down).
    pub fn forget_checks(&self) {
        for known in self.lock().landlords.values_mut() {
            known.checked = None;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        // A panic while holding the lock cannot leave the counters torn
        // (each update is a plain max), so a poisoned lock is usable.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The generation part of `view`'s key for these counters: the landlord's
/// counters of the kinds it depends on (`3.0.7…`), then the global ones
/// (`~0~2…`) once any is set.
pub fn tag_of(own: Option<&Counters>, global: &Counters, view: View) -> String {
    let mut tag = String::with_capacity(32);
    for (i, data) in view.depends_on().iter().enumerate() {
        let separator = if i == 0 { "" } else { "." };
        let count = own.map_or(0, |counters| counters[data.index()]);
        let _ = write!(tag, "{separator}{count}");
    }
    if view
        .depends_on()
        .iter()
        .any(|data| global[data.index()] > 0)
    {
        for data in view.depends_on() {
            let _ = write!(tag, "~{}", global[data.index()]);
        }
    }
    tag
}

fn raise(counters: &mut Counters, to: &Counters) {
    for (counter, value) in counters.iter_mut().zip(to) {
        *counter = (*counter).max(*value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counters(values: &[(Data, u64)]) -> Counters {
        let mut counters = [0; Data::COUNT];
        for (data, value) in values {
            counters[data.index()] = *value;
        }
        counters
    }

    #[test]
    fn a_write_moves_exactly_the_views_that_depend_on_it() {
        let generations = Generations::default();
        generations.load(1, [0; Data::COUNT], [0; Data::COUNT]);
        let before: Vec<String> = View::ALL
            .iter()
            .map(|view| generations.tag(1, *view))
            .collect();
        generations.apply(Some(1), Data::Payments, 1);
        for (view, old) in View::ALL.iter().zip(&before) {
            let moved = generations.tag(1, *view) != *old;
            assert_eq!(
                moved,
                view.depends_on().contains(&Data::Payments),
                "{view:?}"
            );
        }
        // Other landlords are untouched; a global bump reaches everyone.
        generations.load(2, [0; Data::COUNT], [0; Data::COUNT]);
        let other = generations.tag(2, View::Dashboard);
        generations.apply(None, Data::Charges, 1);
        assert_ne!(generations.tag(2, View::Dashboard), other);
        assert_eq!(
            generations.tag(2, View::ReportOccupancy),
            "0.0.0.0",
            "occupancy does not depend on charges"
        );
    }

    #[test]
    fn states_with_equal_sums_have_different_tags() {
        let a = Generations::default();
        a.load(
            1,
            counters(&[(Data::Payments, 5), (Data::Charges, 2)]),
            [0; Data::COUNT],
        );
        let b = Generations::default();
        b.load(
            1,
            counters(&[(Data::Payments, 4), (Data::Charges, 3)]),
            [0; Data::COUNT],
        );
        assert_ne!(a.tag(1, View::Dashboard), b.tag(1, View::Dashboard));
    }

    #[test]
    fn counters_only_move_forward_and_unknown_landlords_wait_for_a_load() {
        let generations = Generations::default();
        generations.apply(Some(3), Data::Payments, 9);
        assert!(generations.needs_check(3, None));
        generations.load(3, counters(&[(Data::Payments, 4)]), [0; Data::COUNT]);
        generations.apply(Some(3), Data::Payments, 6);
        generations.load(3, counters(&[(Data::Payments, 5)]), [0; Data::COUNT]);
        assert!(generations.tag(3, View::Dashboard).ends_with(".6"));
        assert!(!generations.needs_check(3, None));
        assert!(generations.needs_check(3, Some(Duration::ZERO)));
        generations.forget_checks();
        assert!(generations.needs_check(3, None));
    }
}
