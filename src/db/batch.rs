//! Statements a write runs together at its end (its roll-ups and generation
//! bumps). On SQLite they are one multi-statement query: the connection runs
//! on its own worker thread, and each statement sent separately is a
//! hand-over there and back (two context switches, about a third of a
//! payment's CPU time before). PostgreSQL's extended protocol takes one
//! statement per query, and each is a round trip: there, runs of
//! independent statements (upserts of distinct rows that read nothing the
//! batch writes) are fused into one through data-modifying `WITH` clauses,
//! and the others run in turn.

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
    /// Which of `statements` may share one PostgreSQL statement.
    independent: Vec<bool>,
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
        self.add(sql.into(), values, false);
    }

    /// Adds a statement that writes rows no other statement of the batch
    /// writes and reads nothing the batch writes (an upsert of its own
    /// key): on PostgreSQL it may run inside one statement with its
    /// independent neighbours, which all see the database as it was before
    /// that statement. It may return one column (`RETURNING`).
    pub fn push_independent(&mut self, sql: impl Into<String>, values: Vec<Value>) {
        self.add(sql.into(), values, true);
    }

    fn add(&mut self, sql: String, values: Vec<Value>, independent: bool) {
        self.statements.push((sql, values));
        self.independent.push(independent);
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
                for (sql, values) in with_fused(self.statements, &self.independent) {
                    returned.extend(fetch!(&mut **conn, sql, values)?);
                }
                Ok(returned)
            }
        }
    }
}

/// PostgreSQL's statements: each run of consecutive independent ones (at
/// most [`FUSE_AT_MOST`], no text twice, so no key is upserted twice) made
/// one statement, the others as they are.
fn with_fused(
    statements: Vec<(String, Vec<Value>)>,
    independent: &[bool],
) -> Vec<(String, Vec<Value>)> {
    let mut out = Vec::new();
    let mut run: Vec<(String, Vec<Value>)> = Vec::new();
    for ((sql, values), independent) in statements.into_iter().zip(independent) {
        let fits = run.len() < FUSE_AT_MOST && run.iter().all(|(other, _)| *other != sql);
        if (!*independent || !fits) && !run.is_empty() {
            out.push(with_clauses(std::mem::take(&mut run)));
        }
        if *independent {
            run.push((sql, values));
        } else {
            out.push((sql, values));
        }
    }
    if !run.is_empty() {
        out.push(with_clauses(run));
    }
    out
}

/// One statement running all of `run`: each a data-modifying `WITH` clause,
/// the rows of those that return one (their first column, in order) selected
/// at the end; without such, the last one is the main statement.
fn with_clauses(mut run: Vec<(String, Vec<Value>)>) -> (String, Vec<Value>) {
    if run.len() == 1 {
        return run.remove(0);
    }
    let returning: Vec<usize> = (0..run.len())
        .filter(|&i| run[i].0.contains("RETURNING"))
        .collect();
    let main = if returning.is_empty() {
        run.pop()
    } else {
        None
    };
    let mut sql = String::from("WITH ");
    let mut values = Vec::new();
    for (i, (text, own)) in run.into_iter().enumerate() {
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&format!("c{i} AS ("));
        renumber(&text, values.len(), &mut sql);
        sql.push(')');
        values.extend(own);
    }
    match main {
        Some((text, own)) => {
            sql.push(' ');
            renumber(&text, values.len(), &mut sql);
            values.extend(own);
        }
        None => {
            let selects: Vec<String> = returning
                .iter()
                .enumerate()
                .map(|(order, i)| format!("SELECT {order}, * FROM c{i}"))
                .collect();
            sql.push_str(&format!(
                " SELECT r.v FROM ({}) AS r(o, v) ORDER BY r.o",
                selects.join(" UNION ALL ")
            ));
        }
    }
    (sql, values)
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
    fn independent_runs_become_one_statement_on_postgres() {
        let statement = |sql: &str, value: i64| (sql.to_owned(), vec![Value::Int(value)]);
        let fused = with_fused(
            vec![
                statement("INSERT INTO g VALUES ($1) RETURNING n", 1),
                statement("INSERT INTO a VALUES ($1)", 2),
                statement("DELETE FROM a WHERE x = $1", 3),
                statement("INSERT INTO b VALUES ($1)", 4),
                statement("INSERT INTO b VALUES ($1)", 5),
            ],
            &[true, true, false, true, true],
        );
        let texts: Vec<&str> = fused.iter().map(|(sql, _)| sql.as_str()).collect();
        assert_eq!(
            texts,
            [
                "WITH c0 AS (INSERT INTO g VALUES ($1) RETURNING n), c1 AS (INSERT INTO a VALUES ($2)) \
                 SELECT r.v FROM (SELECT 0, * FROM c0) AS r(o, v) ORDER BY r.o",
                "DELETE FROM a WHERE x = $1",
                // The same text twice would upsert one key twice: not fused.
                "INSERT INTO b VALUES ($1)",
                "INSERT INTO b VALUES ($1)",
            ]
        );
        assert_eq!(fused[0].1, [Value::Int(1), Value::Int(2)]);
        let without_returning = with_fused(
            vec![
                statement("INSERT INTO a VALUES ($1)", 1),
                statement("INSERT INTO b VALUES ($1)", 2),
            ],
            &[true, true],
        );
        assert_eq!(
            without_returning[0].0,
            "WITH c0 AS (INSERT INTO a VALUES ($1)) INSERT INTO b VALUES ($2)"
        );
    }

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
