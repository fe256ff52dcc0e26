//! Statements a write runs together at its end (its roll-ups and generation
//! bumps). On SQLite they are one multi-statement query: the connection runs
//! on its own worker thread, and each statement sent separately is a
//! hand-over there and back (two context switches, about a third of a
//! payment's CPU time before). PostgreSQL's extended protocol takes one
//! statement per query, so there they run in turn.

use crate::db::{TxConn, WriteTx};
use crate::types::Id;

/// A bound value: every roll-up and generation column is an integer or text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Value {
    Int(i64),
    Small(i16),
    Text(String),
}

impl From<Id> for Value {
    fn from(value: Id) -> Value {
        Value::Int(value)
    }
}

/// The most statements fused into one SQLite query. A single-row write's
/// roll-ups fit; a bulk write (a charge run) runs its statements in turn
/// rather than preparing one giant query (each distinct text is a prepared
/// statement in the connection's cache).
const FUSE_AT_MOST: usize = 16;

#[derive(Debug, Default)]
pub(crate) struct Batch {
    statements: Vec<(String, Vec<Value>)>,
}

/// One query of `$sql` with `$values` bound on `$conn` (either engine's
/// connection), and the first column of its rows.
macro_rules! fetch {
    ($conn:expr, $sql:expr, $values:expr) => {{
        use sqlx::Row;
        let mut query = sqlx::query(sqlx::AssertSqlSafe($sql));
        for value in $values {
            query = match value {
                Value::Int(int) => query.bind(int),
                Value::Small(small) => query.bind(small),
                Value::Text(text) => query.bind(text),
            };
        }
        let rows = query.fetch_all($conn).await?;
        rows.iter()
            .map(|row| row.try_get::<i64, _>(0))
            .collect::<sqlx::Result<Vec<i64>>>()
    }};
}

impl Batch {
    /// Adds a statement whose parameters are `$1`, `$2`… of `values`. Its
    /// text must hold no `$` other than those (no literals with one).
    pub fn push(&mut self, sql: impl Into<String>, values: Vec<Value>) {
        self.statements.push((sql.into(), values));
    }

    /// Runs the statements in order in `tx`. Returns the first column of
    /// every row they return (`RETURNING`), in order.
    pub async fn run(self, tx: &mut WriteTx) -> sqlx::Result<Vec<i64>> {
        if self.statements.is_empty() {
            return Ok(Vec::new());
        }
        match tx.conn_mut() {
            TxConn::Sqlite(conn) if self.statements.len() <= FUSE_AT_MOST => {
                let (sql, values) = fused(self.statements);
                fetch!(&mut **conn, sql, values)
            }
            TxConn::Sqlite(conn) => {
                let mut returned = Vec::new();
                for (sql, values) in self.statements {
                    returned.extend(fetch!(&mut **conn, sql, values)?);
                }
                Ok(returned)
            }
            TxConn::Postgres(conn) => {
                let mut returned = Vec::new();
                for (sql, values) in self.statements {
                    returned.extend(fetch!(&mut **conn, sql, values)?);
                }
                Ok(returned)
            }
        }
    }
}

/// The statements joined into one text, each one's parameters renumbered
/// after the previous ones', and their values in that order.
fn fused(statements: Vec<(String, Vec<Value>)>) -> (String, Vec<Value>) {
    let mut sql = String::new();
    let mut values = Vec::new();
    for (text, own) in statements {
        if !sql.is_empty() {
            sql.push_str(";\n");
        }
        renumber(&text, values.len(), &mut sql);
        values.extend(own);
    }
    (sql, values)
}

/// Appends `sql` to `out` with every `$N` made `$(N + offset)`.
fn renumber(sql: &str, offset: usize, out: &mut String) {
    let mut rest = sql;
    while let Some(dollar) = rest.find('$') {
        out.push_str(&rest[..=dollar]);
        rest = &rest[dollar + 1..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        match rest[..digits].parse::<usize>() {
            Ok(n) => out.push_str(&(n + offset).to_string()),
            Err(_) => out.push_str(&rest[..digits]),
        }
        rest = &rest[digits..];
    }
    out.push_str(rest);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_follow_the_previous_statements() {
        let (sql, values) = fused(vec![
            (
                "UPDATE a SET x = $2 WHERE id = $1".to_owned(),
                vec![Value::Int(7), Value::Text("t".into())],
            ),
            (
                "DELETE FROM b WHERE id = $1 AND y = $1".to_owned(),
                vec![Value::Int(9)],
            ),
            ("SELECT $10".to_owned(), vec![]),
        ]);
        assert_eq!(
            sql,
            "UPDATE a SET x = $2 WHERE id = $1;\nDELETE FROM b WHERE id = $3 AND y = $3;\nSELECT $13"
        );
        assert_eq!(
            values,
            [Value::Int(7), Value::Text("t".into()), Value::Int(9)]
        );
    }
}
