//! Writes demo data into an empty database, fast: multi-row INSERTs of
//! explicit ids, a prepared statement reused per batch size, and a commit
//! every ~50k rows so neither the SQLite WAL nor a PostgreSQL transaction
//! grows without bound.

use std::sync::Arc;

use anyhow::Context;
use indicatif::ProgressBar;

use super::{DemoData, SeedSpec, SeedSummary, generate};
use crate::db::{Database, WriteTx, dialect, dispatch_tx, rollups};
use crate::types::Id;

/// Rows between commits.
const COMMIT_EVERY: u64 = 50_000;

/// SQLite's page cache while loading, in KiB.
const LOAD_CACHE_KIB: i64 = 256 * 1024;

/// Inserts `$rows` into `$table` in batches as large as the engine's bound
/// parameter limit allows. Each `column: value` names a column and the value
/// bound for it; the SQL is built once per batch size.
macro_rules! insert_rows {
    ($loader:ident, $table:literal, $rows:expr, |$row:ident| { $($column:ident: $value:expr),+ $(,)? }) => {{
        const COLUMNS: &[&str] = &[$(stringify!($column)),+];
        let started = std::time::Instant::now();
        let rows = $rows;
        let per_batch = $loader.rows_per_batch(COLUMNS.len());
        let mut cached: Option<(usize, Arc<str>)> = None;
        for batch in rows.chunks(per_batch) {
            let sql = match &cached {
                Some((len, sql)) if *len == batch.len() => Arc::clone(sql),
                _ => {
                    let sql: Arc<str> = $loader.insert_sql($table, COLUMNS, batch.len()).into();
                    cached = Some((batch.len(), Arc::clone(&sql)));
                    sql
                }
            };
            let tx = $loader.tx().await?;
            let written = dispatch_tx!(tx, conn => {
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
                for $row in batch {
                    $(query = query.bind($value);)+
                }
                query.execute(conn).await.map(|done| done.rows_affected())
            })
            .with_context(|| format!("inserting demo {}", $table))?;
            $loader.landed(written).await?;
        }
        tracing::debug!(table = $table, rows = rows.len(), elapsed = ?started.elapsed(), "demo rows inserted");
    }};
}

/// Writes `generate(spec, tz)` into an empty database and returns the row
/// counts. Refuses a database whose `users` table has rows. Progress is
/// reported on `progress` (length = total rows); finishing it is the caller's
/// choice. A load that fails part-way leaves the rows committed so far: start
/// again from an empty database.
#[tracing::instrument(skip_all, fields(
    landlords = spec.landlords, properties = spec.properties, units = spec.units,
    months = spec.months, seed = spec.seed, end = %spec.end,
))]
pub async fn load(
    db: &Database,
    spec: &SeedSpec,
    tz: chrono_tz::Tz,
    progress: &ProgressBar,
) -> anyhow::Result<SeedSummary> {
    load_data(db, generate(spec, tz), progress).await
}

/// [`load`] of the data set as it stood at the start of `today` (the
/// benchmarks' 1st and 15th of a month).
pub async fn load_as_of(
    db: &Database,
    spec: &SeedSpec,
    tz: chrono_tz::Tz,
    today: chrono::NaiveDate,
    progress: &ProgressBar,
) -> anyhow::Result<SeedSummary> {
    load_data(db, super::generate_as_of(spec, tz, today), progress).await
}

async fn load_data(
    db: &Database,
    data: super::DemoData,
    progress: &ProgressBar,
) -> anyhow::Result<SeedSummary> {
    let hashes = PasswordHashes::for_users(&data).await?;
    progress.set_length(data.total_rows());

    let mut tx = db
        .writer()
        .begin()
        .await
        .context("opening a write transaction")?;
    ensure_empty(&mut tx).await?;
    // A bulk load maintains every index of hundreds of thousands of rows: the
    // writer's page cache, sized for serving, is far too small for that, so
    // SQLite's is raised while loading (and set back after).
    let serving_cache = dialect::set_sqlite_cache_kib(&mut tx, LOAD_CACHE_KIB).await?;
    let mut loader = Loader {
        db,
        tx: Some(tx),
        uncommitted: 0,
        postgres: db.is_postgres(),
        progress,
    };

    insert_rows!(loader, "users", &data.users, |u| {
        id: u.id,
        email: &u.email,
        name: &u.name,
        phone: &u.phone,
        role: u.role,
        password_hash: hashes.get(u.password),
    });
    let shortcodes: Vec<(Id, &String)> = data
        .users
        .iter()
        .filter_map(|u| Some((u.id, u.mpesa_shortcode.as_ref()?)))
        .collect();
    insert_rows!(loader, "mpesa_shortcodes", &shortcodes, |s| {
        shortcode: s.1,
        landlord_id: s.0,
    });
    insert_rows!(loader, "properties", &data.properties, |p| {
        id: p.id,
        landlord_id: p.landlord_id,
        name: &p.name,
        address: &p.address,
        county: &p.county,
    });
    insert_rows!(loader, "units", &data.units, |u| {
        id: u.id,
        property_id: u.property_id,
        landlord_id: u.landlord_id,
        label: &u.label,
        market_rent: u.market_rent,
        off_market: u.off_market,
    });
    insert_rows!(loader, "tenants", &data.tenants, |t| {
        id: t.id,
        landlord_id: t.landlord_id,
        name: &t.name,
        phone: &t.phone,
        national_id: &t.national_id,
        status: t.status,
    });
    insert_rows!(loader, "leases", &data.leases, |l| {
        id: l.id,
        landlord_id: l.landlord_id,
        property_id: l.property_id,
        unit_id: l.unit_id,
        tenant_id: l.tenant_id,
        rent: l.rent,
        deposit: l.deposit,
        due_day: l.due_day,
        grace_days: l.grace_days,
        start_date: l.start_date,
        end_date: l.end_date,
        status: l.status,
        account_ref: &l.account_ref,
    });
    insert_rows!(loader, "charges", &data.charges, |c| {
        id: c.id,
        landlord_id: c.landlord_id,
        property_id: c.property_id,
        lease_id: c.lease_id,
        period: c.period,
        kind: c.kind,
        amount: c.amount,
        due_date: c.due_date,
        void: c.void,
    });
    insert_rows!(loader, "payments", &data.payments, |p| {
        id: p.id,
        landlord_id: p.landlord_id,
        property_id: p.property_id,
        lease_id: p.lease_id,
        amount: p.amount,
        method: p.method,
        status: p.status,
        reference: &p.reference,
        mpesa_receipt: p.mpesa_receipt(),
        account_ref: &p.account_ref,
        payer: &p.payer,
        paid_at: p.paid_at,
        paid_on: p.paid_on,
        received_at: p.received_at,
    });

    let tx = loader.tx().await?;
    dialect::resync_identities(
        tx,
        &[
            "users",
            "properties",
            "units",
            "tenants",
            "leases",
            "charges",
            "payments",
        ],
    )
    .await
    .context("moving identity sequences past the demo ids")?;
    // The roll-ups in bulk, from what was just loaded.
    rollups::rebuild(loader.tx().await?)
        .await
        .context("building the roll-ups")?;
    if let Some(kib) = serving_cache {
        dialect::set_sqlite_cache_kib(loader.tx().await?, kib).await?;
    }
    loader.commit().await?;
    dialect::analyze(db.writer().pool())
        .await
        .context("refreshing planner statistics")?;
    let summary = data.summary();
    tracing::info!(?summary, "demo data loaded");
    Ok(summary)
}

async fn ensure_empty(tx: &mut WriteTx) -> anyhow::Result<()> {
    let users: i64 = dispatch_tx!(tx, conn => sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(conn)
        .await)
    .context("counting users")?;
    anyhow::ensure!(
        users == 0,
        "the database is not empty ({users} users): demo data is only loaded into an empty database"
    );
    Ok(())
}

/// The open transaction, committed and reopened every [`COMMIT_EVERY`] rows.
struct Loader<'a> {
    db: &'a Database,
    tx: Option<WriteTx>,
    uncommitted: u64,
    postgres: bool,
    progress: &'a ProgressBar,
}

impl Loader<'_> {
    /// As many rows as the engine's bound-parameter limit allows.
    fn rows_per_batch(&self, columns: usize) -> usize {
        let max_params = if self.postgres { 65_535 } else { 32_766 };
        (max_params / columns.max(1)).max(1)
    }

    /// `INSERT INTO t (a, b) VALUES (…), (…)` for `rows` rows, with the
    /// engine's placeholders (anonymous on SQLite: see `dialect::values_rows`).
    fn insert_sql(&self, table: &str, columns: &[&str], rows: usize) -> String {
        format!(
            "INSERT INTO {table} ({}) VALUES {}",
            columns.join(", "),
            dialect::values_rows(self.postgres, rows, columns.len())
        )
    }

    async fn tx(&mut self) -> anyhow::Result<&mut WriteTx> {
        if self.tx.is_none() {
            let tx = self
                .db
                .writer()
                .begin()
                .await
                .context("opening a write transaction")?;
            self.tx = Some(tx);
        }
        self.tx.as_mut().context("no open transaction")
    }

    async fn landed(&mut self, rows: u64) -> anyhow::Result<()> {
        self.progress.inc(rows);
        self.uncommitted += rows;
        if self.uncommitted >= COMMIT_EVERY {
            self.commit().await?;
        }
        Ok(())
    }

    async fn commit(&mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.tx.take() {
            tx.commit().await.context("committing demo data")?;
        }
        self.uncommitted = 0;
        Ok(())
    }
}

/// One argon2 hash per distinct demo password: hashing is slow on purpose.
struct PasswordHashes(Vec<(&'static str, String)>);

impl PasswordHashes {
    async fn for_users(data: &DemoData) -> anyhow::Result<PasswordHashes> {
        let mut passwords: Vec<&'static str> = data.users.iter().map(|u| u.password).collect();
        passwords.sort_unstable();
        passwords.dedup();
        let hashes = tokio::task::spawn_blocking(move || {
            passwords
                .into_iter()
                .map(|p| crate::auth::hash_password(p).map(|hash| (p, hash)))
                .collect::<anyhow::Result<Vec<_>>>()
        })
        .await
        .context("hashing demo passwords")??;
        Ok(PasswordHashes(hashes))
    }

    fn get(&self, password: &str) -> &str {
        self.0
            .iter()
            .find(|(p, _)| *p == password)
            .map_or("", |(_, hash)| hash.as_str())
    }
}
