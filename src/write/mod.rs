//! Every change to the data, and the one path each goes through.
//!
//! [`WritePath::run`] opens the write transaction, runs the operation, commits,
//! and only then announces what changed to the cache (generation bumps and
//! forgotten tokens, here and on every instance). An operation that fails
//! leaves nothing behind: its transaction is dropped, so it rolls back, and
//! nothing is announced. No other code commits (the demo loader aside).
//!
//! The operations live in one module per resource; they validate their input
//! (see [`validate`]), then write through `db` inside the closure they give
//! [`WritePath::run`].

pub mod charges;
pub mod leases;
pub mod mpesa;
pub mod payments;
pub mod properties;
pub mod tenants;
pub mod validate;

use crate::cache::{Cache, Data, patch::Patched};
use std::sync::Arc;

use futures_util::future::BoxFuture;

use crate::cache::generations::{Counters, Source};
use crate::clock::Clock;
use crate::db::generations::{self, EVERY_LANDLORD};
use crate::db::replicas::Lsn;
use crate::db::rollups::CreatedPayment;
use crate::db::{Constraint, Reader, WriteTx, Writer, is_reference_violation};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::types::{Id, Money};

/// The writer and the cache its commits invalidate. Cheap to clone.
#[derive(Clone)]
pub struct WritePath {
    writer: Writer,
    cache: Cache,
    /// The largest amount a write accepts (`money.max_amount_kes`).
    max_amount: Money,
    /// What "now" is for the writes' timestamps.
    clock: Clock,
    /// Patches cached views after a write that created a payment.
    patcher: Option<Arc<dyn Patcher>>,
    /// With a patcher: one landlord's writes through [`WritePath::run_for`]
    /// run one at a time on this instance, each with its patch. They queue
    /// at the database anyway (SQLite's one writer, PostgreSQL's lock on the
    /// landlord's generation row); a second write committing while the first
    /// one's patch reads would make that patch give up (see `Patcher`).
    landlord_locks: Arc<[tokio::sync::Mutex<()>]>,
}

/// Stripes of [`WritePath::landlord_locks`].
const LANDLORD_LOCKS: usize = 64;

/// What patches the cached views with a payment a write created, once it
/// has committed (`reports::patch`). Best effort: a view it does not patch
/// is recomputed on its next read, as after any other write.
pub trait Patcher: Send + Sync {
    /// `payment` was created; the landlord's payments counter is now
    /// `generation`.
    /// Returns what the patches leave to do: their entries to share in
    /// Redis, and the entries they replaced, to drop once the write has
    /// moved this instance to the new keys.
    fn new_payment<'a>(
        &'a self,
        payment: &'a CreatedPayment,
        generation: u64,
    ) -> BoxFuture<'a, Patched>;
}

/// A write in progress: its transaction, and what it has changed so far.
pub struct Write {
    tx: WriteTx,
    touched: Vec<(Option<Id>, Data)>,
    forgotten_tokens: Vec<String>,
}

impl Write {
    pub fn tx(&mut self) -> &mut WriteTx {
        &mut self.tx
    }

    /// Records that `landlord`'s `data` changed: every view depending on it
    /// moves to a new key once the write commits.
    pub fn touch(&mut self, landlord: Id, data: &[Data]) {
        self.touched
            .extend(data.iter().map(|data| (Some(landlord), *data)));
    }

    /// Like [`Write::touch`] for every landlord at once (the CLI's charge run).
    pub fn touch_everyone(&mut self, data: &[Data]) {
        self.touched.extend(data.iter().map(|data| (None, *data)));
    }

    /// Records that a bearer token was revoked: its cached check is dropped
    /// on every instance once the write commits.
    pub fn forget_token(&mut self, token_hash: &str) {
        self.forgotten_tokens.push(token_hash.to_owned());
    }
}

impl WritePath {
    pub fn new(writer: Writer, cache: Cache, max_amount: Money, clock: Clock) -> WritePath {
        WritePath {
            writer,
            cache,
            max_amount,
            clock,
            patcher: None,
            landlord_locks: (0..LANDLORD_LOCKS)
                .map(|_| tokio::sync::Mutex::new(()))
                .collect(),
        }
    }

    /// Patches cached views with `patcher` after writes that create a payment.
    pub fn with_patcher(mut self, patcher: Arc<dyn Patcher>) -> WritePath {
        self.patcher = Some(patcher);
        self
    }

    pub fn max_amount(&self) -> Money {
        self.max_amount
    }

    /// Now, on the service's clock (when a payment was received).
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        crate::types::whole_seconds(self.clock.now())
    }

    /// Runs `op` in one write transaction. If it succeeds, bumps the
    /// generation of everything it touched in the same transaction (so the
    /// new numbers exist exactly when the data does), commits, then applies
    /// them to the cache and announces them. Call before answering the
    /// request, so the next read on this instance sees the write.
    pub async fn run<T>(&self, op: impl AsyncFnOnce(&mut Write) -> AppResult<T>) -> AppResult<T> {
        let mut write = Write {
            tx: self.writer.begin().await?,
            touched: Vec::new(),
            forgotten_tokens: Vec::new(),
        };
        let value = op(&mut write).await?;
        let Write {
            tx,
            mut touched,
            forgotten_tokens,
        } = write;
        // A fixed order, so two writes bumping the same rows cannot deadlock.
        touched.sort_by_key(|(landlord, data)| (landlord.unwrap_or(EVERY_LANDLORD), data.index()));
        touched.dedup();
        let counters: Vec<(Id, i16)> = touched
            .iter()
            .map(|(landlord, data)| (landlord.unwrap_or(EVERY_LANDLORD), data.code()))
            .collect();
        // With replicas, other instances must not trust a landlord's old
        // position from the moment the new generation can be read (the
        // commit) until its position is recorded (`cache::lsns`).
        let writing: Vec<Option<Id>> = if self.cache.tracks_lsns() {
            let mut landlords: Vec<Option<Id>> = touched.iter().map(|(l, _)| *l).collect();
            landlords.dedup();
            self.cache.mark_writing(&landlords, 1).await;
            landlords
        } else {
            Vec::new()
        };
        // The generations are bumped in the same transaction, with the
        // roll-ups, so the new numbers exist exactly when the data does.
        let committed = tx.commit_bumping(&counters).await;
        if let Ok(committed) = &committed {
            let bumped: Vec<(Option<Id>, Data, u64)> = touched
                .iter()
                .zip(&committed.counters)
                .map(|(&(landlord, data), value)| (landlord, data, value.unsigned_abs()))
                .collect();
            // A write that only created a payment patches the views it
            // changed, before this instance moves to their new keys: its
            // next reads find them (see `Patcher`).
            let mut patched = Patched::default();
            if let (Some(patcher), Some(payment), [(Some(landlord), Data::Payments, generation)]) =
                (&self.patcher, &committed.new_payment, bumped.as_slice())
                && payment.facts.landlord_id == Some(*landlord)
            {
                patched = patcher.new_payment(payment, *generation).await;
            }
            let lsn = self.position_after_commit().await;
            self.cache.advance(&bumped, lsn, &mut patched).await;
            self.cache.drop_superseded(patched).await;
        }
        if !writing.is_empty() {
            self.cache.mark_writing(&writing, -1).await;
        }
        committed?;
        for token_hash in &forgotten_tokens {
            self.cache.forget_token(token_hash).await;
        }
        Ok(value)
    }

    /// With replicas: the primary's WAL position now, which covers the
    /// commit just made, so reads wait for a replica that has replayed it.
    /// Tried three times; should the primary not answer, the write stands
    /// and only its position is unknown (logged).
    async fn position_after_commit(&self) -> Option<Lsn> {
        if !self.cache.tracks_lsns() {
            return None;
        }
        for attempt in 0..3 {
            match self.writer.wal_position().await {
                Ok(position) => return position,
                Err(err) if attempt == 2 => {
                    tracing::error!(error = %err, "reading the WAL position after a commit failed; replicas may serve this write late");
                }
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(10)).await,
            }
        }
        None
    }

    /// [`WritePath::run`] for a write that changes `data` of one landlord.
    pub async fn run_for<T>(
        &self,
        landlord: Id,
        data: &[Data],
        op: impl AsyncFnOnce(&mut Write) -> AppResult<T>,
    ) -> AppResult<T> {
        let _one_at_a_time = match &self.patcher {
            Some(_) => {
                let stripe = landlord.unsigned_abs() as usize % LANDLORD_LOCKS;
                Some(self.landlord_locks[stripe].lock().await)
            }
            None => None,
        };
        self.run(async move |write| {
            let value = op(write).await?;
            write.touch(landlord, data);
            Ok(value)
        })
        .await
    }
}

/// The committed generation counters, read on the reader that sees the
/// primary's commits (the cache's [`Source`]).
pub fn generations_source(reader: Reader) -> Arc<dyn Source> {
    Arc::new(CommittedGenerations(reader))
}

struct CommittedGenerations(Reader);

impl Source for CommittedGenerations {
    fn load(&self, landlord: Id) -> BoxFuture<'static, anyhow::Result<(Counters, Counters)>> {
        let reader = self.0.clone();
        Box::pin(async move {
            let rows = generations::of(&reader, landlord).await?;
            let (mut own, mut global) = ([0; Data::COUNT], [0; Data::COUNT]);
            for (row, code, value) in rows {
                let Some(data) = Data::from_code(code) else {
                    continue;
                };
                let counters = if row == EVERY_LANDLORD {
                    &mut global
                } else {
                    &mut own
                };
                counters[data.index()] = value.unsigned_abs();
            }
            Ok((own, global))
        })
    }
}

/// A constraint and the error its violation means at a call site.
pub type ConstraintError = (Constraint, fn() -> AppError);

/// Maps the database errors a write expects to the API's errors, at the call
/// site that knows what they mean (realworld-axum-sqlx's `on_constraint`).
pub trait ResultExt<T> {
    /// A violation of `constraint` becomes `error()`.
    fn on_constraint(self, constraint: Constraint, error: fn() -> AppError) -> AppResult<T>;

    /// Each constraint's violation becomes its own error.
    fn on_constraints(self, map: &[ConstraintError]) -> AppResult<T>;

    /// A foreign-key violation becomes `error()`.
    fn on_reference_violation(self, error: fn() -> AppError) -> AppResult<T>;
}

impl<T> ResultExt<T> for sqlx::Result<T> {
    fn on_constraint(self, constraint: Constraint, error: fn() -> AppError) -> AppResult<T> {
        self.on_constraints(&[(constraint, error)])
    }

    fn on_constraints(self, map: &[ConstraintError]) -> AppResult<T> {
        self.map_err(|err| {
            map.iter()
                .find(|(constraint, _)| constraint.violated_by(&err))
                .map_or_else(|| err.into(), |(_, error)| error())
        })
    }

    fn on_reference_violation(self, error: fn() -> AppError) -> AppResult<T> {
        self.map_err(|err| {
            if is_reference_violation(&err) {
                error()
            } else {
                err.into()
            }
        })
    }
}

/// A delete blocked by rows that still point at the record.
fn in_use() -> AppError {
    AppError::conflict(ErrorCode::InUse, "other records still refer to this one")
}
