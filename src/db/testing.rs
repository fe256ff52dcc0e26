//! The raw pools, for tests and benches that look at the database directly
//! (the independent report oracle, fixtures the API cannot make). The
//! application itself only ever holds a `Reader` or a `WriteTx`.

use crate::db::{Database, Pool};

/// The pool behind the database's reader.
pub fn reader_pool(db: &Database) -> &Pool {
    db.reader_prefer_primary().pool()
}

/// The pool behind the database's writer.
pub fn writer_pool(db: &Database) -> &Pool {
    db.writer().pool()
}
