//! The few places where SQLite and PostgreSQL need different SQL.

use crate::db::{WriteTx, dispatch_tx};

/// After rows were inserted with explicit ids (the demo-data loader does), move
/// PostgreSQL's identity sequences past them. SQLite needs nothing: its rowid
/// allocation always continues from the largest id.
pub async fn resync_identities(tx: &mut WriteTx, tables: &[&str]) -> sqlx::Result<()> {
    if !tx.is_postgres() {
        return Ok(());
    }
    for table in tables {
        let sql = format!(
            "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
             COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
        );
        dispatch_tx!(tx, conn => sqlx::query(sqlx::AssertSqlSafe(sql)).execute(conn).await.map(drop))?;
    }
    Ok(())
}

/// SQL for the `YYYY-MM` month of a date column (`DATE` on PostgreSQL, ISO
/// text on SQLite).
pub fn month_of(postgres: bool, column: &str) -> String {
    if postgres {
        format!("to_char({column}, 'YYYY-MM')")
    } else {
        format!("substr({column}, 1, 7)")
    }
}
