//! The few places where SQLite and PostgreSQL need different SQL.

use crate::db::{Pool, TxConn, WriteTx, dispatch_tx};

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

/// The row-lock clause for a read-modify-write inside a write transaction:
/// `FOR UPDATE` on PostgreSQL, so concurrent updates of one row queue instead
/// of losing one another; nothing on SQLite, whose `BEGIN IMMEDIATE` already
/// serialises every writer.
pub fn for_update(tx: &WriteTx) -> &'static str {
    if tx.is_postgres() { " FOR UPDATE" } else { "" }
}

/// Refreshes the planner's statistics after a bulk load; on PostgreSQL also
/// the visibility map, without which index-only scans still visit the table.
/// On SQLite only the per-index statistics are kept ([`drop_stat4`]).
pub async fn analyze(pool: &Pool) -> sqlx::Result<()> {
    match pool {
        Pool::Postgres(p) => sqlx::query("VACUUM (ANALYZE)").execute(p).await.map(drop),
        Pool::Sqlite(p) => {
            sqlx::query("ANALYZE").execute(p).await?;
            drop_stat4(p).await
        }
    }
}

/// SQLite: deletes the STAT4 samples `ANALYZE` collects (the bundled SQLite
/// is built with STAT4) and reloads the statistics. With samples, SQLite
/// prepares a statement again at every step after a bound value changes,
/// whenever that value could change the plan: a third of a cold dashboard's
/// CPU went to re-parsing and re-planning. The per-index statistics of
/// `sqlite_stat1` plan these queries as well. Run on the writer when a
/// database opens (readers open after it) and after every `ANALYZE`.
pub async fn drop_stat4(pool: &sqlx::SqlitePool) -> sqlx::Result<()> {
    let samples: Option<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat4'",
    )
    .fetch_optional(pool)
    .await?;
    if samples.is_some() {
        sqlx::query("DELETE FROM sqlite_stat4")
            .execute(pool)
            .await?;
        // `ANALYZE sqlite_schema` reloads the statistics into the planner.
        sqlx::query("ANALYZE sqlite_schema").execute(pool).await?;
    }
    Ok(())
}

/// SQLite: sets the page cache of the transaction's connection to `kib` KiB
/// and returns what it was (`None` on PostgreSQL, whose cache is the
/// server's).
pub async fn set_sqlite_cache_kib(tx: &mut WriteTx, kib: i64) -> sqlx::Result<Option<i64>> {
    let TxConn::Sqlite(conn) = tx.conn_mut() else {
        return Ok(None);
    };
    let before: i64 = sqlx::query_scalar("PRAGMA cache_size")
        .fetch_one(&mut **conn)
        .await?;
    // A negative cache_size is in KiB, a positive one in pages.
    let before_kib = if before < 0 { -before } else { before * 4 };
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("PRAGMA cache_size = -{kib}")))
        .execute(&mut **conn)
        .await?;
    Ok(Some(before_kib))
}

/// `INDEXED BY index` on SQLite (nothing on PostgreSQL): for a read of one
/// lease's charges, which lie on as many table pages as there are charges,
/// where SQLite's planner prefers a narrower index that needs those pages
/// over a covering one. A reader reads them again after every commit (its
/// page cache is reset), so the covering index is what keeps that cheap.
pub fn indexed_by(postgres: bool, index: &str) -> String {
    if postgres {
        String::new()
    } else {
        format!("INDEXED BY {index}")
    }
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

/// An aggregate of every row's `columns` into one JSON array of arrays, as
/// text: a read of tens or hundreds of rows then crosses the driver as one
/// value (sqlx hands SQLite's rows over one by one, several microseconds
/// each). Booleans must be selected as 0/1: SQLite has no JSON `true`.
pub fn json_rows(postgres: bool, columns: &str) -> String {
    if postgres {
        format!("COALESCE(json_agg(json_build_array({columns})), '[]')::text")
    } else {
        format!("json_group_array(json_array({columns}))")
    }
}

/// The aggregate of a group's `text` values in the order `order` (e.g.
/// `due_date DESC`), joined by commas.
pub fn joined(postgres: bool, text: &str, order: &str) -> String {
    let function = if postgres {
        "string_agg"
    } else {
        "group_concat"
    };
    format!("{function}({text}, ',' ORDER BY {order})")
}

/// A date column as `YYYY-MM-DD` text (PostgreSQL's own cast follows the
/// session's `DateStyle`).
pub fn iso_date(postgres: bool, column: &str) -> String {
    if postgres {
        format!("to_char({column}, 'YYYY-MM-DD')")
    } else {
        column.to_owned()
    }
}

/// `SELECT` of [`json_rows`] over the rows of `inner`, whose columns are
/// named `columns` (`a, b, c`).
pub fn json_select(postgres: bool, columns: &str, inner: &str) -> String {
    let qualified: Vec<String> = columns
        .split(',')
        .map(|column| format!("r.{}", column.trim()))
        .collect();
    format!(
        "SELECT {} FROM ({inner}) r",
        json_rows(postgres, &qualified.join(", "))
    )
}

/// `SELECT` of one JSON object, as text, of named parts: each a
/// [`json_select`] (a subquery of one JSON text value), nested as JSON. One
/// statement instead of one per part.
pub fn json_object(postgres: bool, parts: &[(&str, &str)]) -> String {
    let fields: Vec<String> = parts
        .iter()
        .map(|(name, sql)| {
            if postgres {
                format!("'{name}', CAST(({sql}) AS json)")
            } else {
                format!("'{name}', json(({sql}))")
            }
        })
        .collect();
    if postgres {
        format!("SELECT json_build_object({})::text", fields.join(", "))
    } else {
        format!("SELECT json_object({})", fields.join(", "))
    }
}

/// The rows of a [`json_rows`] value: each a JSON array, read as `T` field
/// by field in declaration order.
pub fn parse_rows<T: serde::de::DeserializeOwned>(json: &str) -> sqlx::Result<Vec<T>> {
    serde_json::from_str(json).map_err(|err| sqlx::Error::Decode(Box::new(err)))
}

/// `date_expr` plus `days_expr` days, as a date.
pub fn plus_days(postgres: bool, date_expr: &str, days_expr: &str) -> String {
    if postgres {
        format!("({date_expr} + {days_expr})")
    } else {
        format!("date({date_expr}, '+' || ({days_expr}) || ' days')")
    }
}

/// The `(…), (…)` rows of a multi-row `INSERT … VALUES` with `rows × columns`
/// placeholders. SQLite gets anonymous `?` (bound in order): it resolves a
/// numbered `$N` by a linear search of the statement's parameter names, which
/// makes binding a statement with thousands of them quadratic.
pub fn values_rows(postgres: bool, rows: usize, columns: usize) -> String {
    let mut sql = String::with_capacity(rows * columns * 7);
    let mut param = 0;
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for column in 0..columns {
            if column > 0 {
                sql.push_str(", ");
            }
            if postgres {
                param += 1;
                sql.push('$');
                sql.push_str(&param.to_string());
            } else {
                sql.push('?');
            }
        }
        sql.push(')');
    }
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_rows_number_postgres_and_not_sqlite() {
        assert_eq!(values_rows(true, 2, 2), "($1, $2), ($3, $4)");
        assert_eq!(values_rows(false, 2, 3), "(?, ?, ?), (?, ?, ?)");
    }
}
