//! The last invalidations this instance applied, newest first, for the
//! operator's page: which landlord's data moved, what kind, and whether the
//! write was made here, announced by another instance, or an admin's clear.

use std::collections::VecDeque;
use std::sync::Mutex;

use chrono::{DateTime, Utc};

use crate::cache::{Cache, lock, view::Data};
use crate::types::Id;

/// How many invalidations are kept.
const KEPT: usize = 50;

/// Where an invalidation came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A write committed by this instance.
    Write,
    /// Another instance's write, announced on the channel.
    Announced,
    /// An admin's clear, asked of this instance.
    Clear,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Write => "write here",
            Origin::Announced => "announced",
            Origin::Clear => "admin clear",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Invalidation {
    pub at: DateTime<Utc>,
    /// `None`: every landlord.
    pub landlord: Option<Id>,
    /// The data kinds that moved, or what a clear dropped.
    pub what: String,
    pub origin: Origin,
}

#[derive(Default)]
pub(super) struct Recent(Mutex<VecDeque<Invalidation>>);

impl Recent {
    pub(super) fn push(&self, landlord: Option<Id>, what: String, origin: Origin) {
        let mut kept = lock(&self.0);
        if kept.len() == KEPT {
            kept.pop_back();
        }
        kept.push_front(Invalidation {
            at: Utc::now(),
            landlord,
            what,
            origin,
        });
    }

    pub(super) fn push_data(&self, landlord: Option<Id>, data: &[Data], origin: Origin) {
        let names: Vec<&str> = data.iter().map(|data| data.name()).collect();
        self.push(landlord, names.join(", "), origin);
    }
}

impl Cache {
    /// The last invalidations applied here, newest first.
    pub fn recent_invalidations(&self) -> Vec<Invalidation> {
        lock(&self.inner.recent.0).iter().cloned().collect()
    }
}
