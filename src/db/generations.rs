//! The generation counters of the cached views (see `cache::generations`):
//! bumped inside a write's transaction, read when an instance needs a
//! landlord's current numbers.

use crate::db::batch::{Batch, Value};
use crate::db::{Reader, dispatch};
use crate::types::Id;

/// The row of writes that touch every landlord.
pub const EVERY_LANDLORD: Id = 0;

/// Adds the statement that adds one to `landlord`'s counter of `data` to
/// `batch`; it returns the new value (1 for a counter never bumped before).
/// The row stays locked until the write commits, so two writes of one
/// landlord's data get distinct numbers in commit order.
pub(crate) fn bump(batch: &mut Batch, landlord: Id, data: i16) {
    batch.push_independent(
        "INSERT INTO cache_generations (landlord_id, data, generation) VALUES ($1, $2, 1) \
         ON CONFLICT (landlord_id, data) DO UPDATE SET generation = cache_generations.generation + 1 \
         RETURNING generation",
        vec![Value::Int(landlord), Value::Small(data)],
    );
}

/// `(landlord_id, data, generation)` of `landlord` and of every landlord.
pub async fn of(db: &Reader, landlord: Id) -> sqlx::Result<Vec<(Id, i16, i64)>> {
    dispatch!(db.pool(), p => sqlx::query_as(
        "SELECT landlord_id, data, generation FROM cache_generations \
         WHERE landlord_id IN ($1, $2)",
    )
    .bind(landlord)
    .bind(EVERY_LANDLORD)
    .fetch_all(p)
    .await)
}

/// The database's cache namespace (migration 0007): part of every cache key.
pub async fn namespace(db: &Reader) -> sqlx::Result<String> {
    dispatch!(db.pool(), p => sqlx::query_scalar("SELECT id FROM cache_namespace")
        .fetch_one(p)
        .await)
}
