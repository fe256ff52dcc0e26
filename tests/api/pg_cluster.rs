//! One throwaway PostgreSQL cluster per test process, shared by every test in the binary.
//!
//! Each test asks for its own empty database (`fresh_database`), so tests stay isolated while
//! `initdb` and server start-up are paid only once. The server runs under a tiny shell watchdog
//! that stops it and deletes its files as soon as this process exits, however it exits (normal
//! end, panic, SIGKILL): nothing is left running between test runs.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use sqlx::{Connection, PgConnection};

use crate::support::{free_port, in_ci, on_path, warn_loudly};

/// How long the server may take to accept connections before we give up.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// Server log, inside the cluster's root directory; shown when start-up fails.
const LOG_FILE: &str = "postgres.log";

/// Runs postgres in the background, then blocks reading stdin. Stdin is a pipe whose write end
/// only the test process holds, so `read` returns (EOF) exactly when that process is gone; we
/// then ask for a fast shutdown and remove the cluster's files.
/// Terminal signals (Ctrl-C, hang-up) are ignored here so the clean-up still runs; postgres
/// installs its own handlers, so it is unaffected by the inherited "ignore".
/// Arguments: $1 bin dir, $2 data dir, $3 root dir (socket + log), then server options.
const WATCHDOG: &str = r#"
trap '' HUP INT TERM
bin=$1 data=$2 root=$3
shift 3
"$bin/postgres" -D "$data" -k "$root" "$@" </dev/null >>"$root/postgres.log" 2>&1 &
pid=$!
read -r _ || :
kill -INT "$pid" 2>/dev/null
wait "$pid"
rm -rf "$root"
"#;

/// A running PostgreSQL cluster listening on 127.0.0.1, with trust authentication.
pub struct PgCluster {
    port: u16,
    bin_dir: PathBuf,
    data_dir: PathBuf,
    /// The watchdog. It lives in a static and is never dropped: its stdin pipe must stay open
    /// for as long as this process lives, and the OS closes it when the process exits.
    _watchdog: Child,
}

/// `Err` keeps a failed start-up (with its reason) so later tests fail fast with the same
/// message instead of each one running `initdb` again.
static CLUSTER: OnceLock<Result<Option<PgCluster>, String>> = OnceLock::new();

/// The shared cluster, started on first use. `None` when PostgreSQL binaries are absent
/// and we are not in CI: the caller then skips the PostgreSQL variant of the test, and this
/// function prints a loud warning (once) saying PostgreSQL tests were SKIPPED.
/// Under `CI=true` (env var CI equal to "true" or "1") absent binaries are a panic instead.
pub fn cluster() -> Option<&'static PgCluster> {
    let state = CLUSTER.get_or_init(|| match find_bin_dir()? {
        Some(bin_dir) => PgCluster::start(bin_dir, &[]).map(Some),
        None if in_ci() => Err("CI is set but no PostgreSQL binaries were found (checked \
             $PG_BIN, /usr/lib/postgresql/*/bin and initdb on PATH); install PostgreSQL \
             or set PG_BIN"
            .to_owned()),
        None => {
            warn_loudly(&[
                "WARNING: PostgreSQL binaries not found ($PG_BIN, /usr/lib/postgresql/*/bin,",
                "PATH). The PostgreSQL variants of the tests were SKIPPED; only SQLite",
                "was tested. Install PostgreSQL or set PG_BIN to run them.",
            ]);
            Ok(None)
        }
    });
    match state {
        Ok(cluster) => cluster.as_ref(),
        Err(reason) => panic!("test PostgreSQL cluster unavailable: {reason}"),
    }
}

impl PgCluster {
    /// A cluster of its own (not the shared one), e.g. the primary of the replica tests,
    /// which pause replay and must not slow the other tests. `None` as for [`cluster`].
    pub fn dedicated() -> Option<PgCluster> {
        match find_bin_dir() {
            // Commits flushed (and so streamed) when acknowledged, and other WAL within
            // milliseconds, as on a production primary.
            Ok(Some(bin_dir)) => Some(
                PgCluster::start(bin_dir, &["synchronous_commit=on", "wal_writer_delay=10ms"])
                    .unwrap_or_else(|e| panic!("{e}")),
            ),
            Ok(None) if !in_ci() => None,
            Ok(None) => panic!("CI is set but no PostgreSQL binaries were found"),
            Err(e) => panic!("{e}"),
        }
    }

    #[allow(
        dead_code,
        reason = "part of the harness API; not every test binary uses it"
    )]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Creates a new empty database with a unique name and returns its URL
    /// `postgres://postgres@127.0.0.1:PORT/NAME`.
    pub async fn fresh_database(&self) -> String {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "t_{}_{}",
            COUNTER.fetch_add(1, Ordering::Relaxed),
            std::process::id()
        );
        let mut admin = PgConnection::connect(&self.url("postgres"))
            .await
            .unwrap_or_else(|e| {
                panic!("connecting to the test cluster on port {}: {e}", self.port)
            });
        // The name is generated above (no user input), so building the SQL by hand is safe;
        // CREATE DATABASE cannot take bind parameters anyway.
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .unwrap_or_else(|e| panic!("creating test database {name}: {e}"));
        // A failed goodbye does not matter: the database exists, the connection is discarded.
        let _ = admin.close().await;
        self.url(&name)
    }

    /// The primary's data directory (e.g. as the source of `pg_basebackup`). Its parent is a
    /// scratch directory removed together with the cluster, usable for replicas' data dirs.
    #[allow(dead_code, reason = "for the streaming-replica tests")]
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Directory holding `postgres`, `initdb`, `pg_basebackup`, `pg_isready`, ...
    #[allow(dead_code, reason = "for the streaming-replica tests")]
    pub fn bin_dir(&self) -> &Path {
        &self.bin_dir
    }

    fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    fn start(bin_dir: PathBuf, extra_settings: &[&str]) -> Result<Self, String> {
        // initdb and postgres refuse to run as root; CI and dev containers are root.
        let as_postgres = running_as_root();
        // The postgres user must traverse every parent of the cluster dir, and $TMPDIR may be
        // under /root; /tmp is world-traversable. The short path also keeps the Unix socket
        // path under its ~107 byte limit.
        let parent = if as_postgres {
            PathBuf::from("/tmp")
        } else {
            env::temp_dir()
        };
        // Until `keep()` below, dropping `root` (any early return) deletes the directory.
        let root = tempfile::Builder::new()
            .prefix("mfuko-pg-")
            .tempdir_in(&parent)
            .map_err(|e| format!("creating a temp dir in {}: {e}", parent.display()))?;
        let root_path = root.path().to_path_buf();
        if as_postgres {
            run(Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&root_path))?;
        }
        let data_dir = root_path.join("data");

        run(
            server_command(as_postgres, &bin_dir.join("initdb"), &root_path)
                .args(["-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"])
                // The C locale always exists; the machine's $LANG locale may not be generated.
                .arg("--no-locale")
                .arg("-D")
                .arg(&data_dir),
        )?;
        ensure_replication_hba(&data_dir)?;

        // Were the port taken meanwhile, start-up would time out with "could not bind" in the log.
        let port = free_port()?;
        let mut watchdog = server_command(as_postgres, Path::new("sh"), &root_path)
            .arg("-c")
            .arg(WATCHDOG)
            .arg("sh") // $0
            .arg(&bin_dir)
            .arg(&data_dir)
            .arg(&root_path)
            .arg("-p")
            .arg(port.to_string())
            .args(SERVER_SETTINGS.iter().flat_map(|setting| ["-c", setting]))
            .args(extra_settings.iter().flat_map(|setting| ["-c", setting]))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| format!("spawning the postgres watchdog: {e}"))?;

        let log_path = root_path.join(LOG_FILE);
        let server_log = || {
            fs::read_to_string(&log_path)
                .unwrap_or_else(|e| format!("<cannot read {}: {e}>", log_path.display()))
        };
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        while !is_ready(&bin_dir, port)? {
            // Catches e.g. `runuser` failing; if postgres itself dies the watchdog keeps
            // waiting on stdin, so that case ends at the timeout (with the log).
            if let Ok(Some(status)) = watchdog.try_wait() {
                return Err(format!(
                    "the postgres watchdog exited early ({status}); server log:\n{}",
                    server_log()
                ));
            }
            if Instant::now() > deadline {
                // Returning drops `watchdog`, closing its stdin: it stops postgres and cleans up.
                return Err(format!(
                    "PostgreSQL on 127.0.0.1:{port} not ready after {STARTUP_TIMEOUT:?}; \
                     server log:\n{}",
                    server_log()
                ));
            }
            thread::sleep(Duration::from_millis(50));
        }

        // From now on the watchdog owns the directory and removes it at shutdown.
        let _ = root.keep();
        Ok(Self {
            port,
            bin_dir,
            data_dir,
            _watchdog: watchdog,
        })
    }
}

/// A streaming replica of a [`PgCluster`], made with `pg_basebackup -R` and run on its own
/// loopback port under a watchdog that also takes `stop` and `start` lines on stdin (so a test
/// can take the replica down and bring it back); it stops the server and removes the files
/// when this process exits.
pub struct PgReplica {
    port: u16,
    bin_dir: PathBuf,
    watchdog: std::sync::Mutex<(Child, std::process::ChildStdin)>,
}

/// Like [`WATCHDOG`], plus `stop` / `start` commands, one per line on stdin.
const REPLICA_WATCHDOG: &str = r#"
trap '' HUP INT TERM
bin=$1 data=$2 root=$3
shift 3
run() { "$bin/postgres" -D "$data" -k "$root" "$@" </dev/null >>"$root/postgres.log" 2>&1 & pid=$!; }
run "$@"
while read -r command; do
  case $command in
    stop) kill -INT "$pid" 2>/dev/null; wait "$pid";;
    start) run "$@";;
  esac
done
kill -INT "$pid" 2>/dev/null
wait "$pid"
rm -rf "$root"
"#;

impl PgReplica {
    /// Copies `primary` with `pg_basebackup -R` and starts the copy as a hot standby.
    pub fn start(primary: &PgCluster) -> PgReplica {
        use std::io::Write as _;
        let as_postgres = running_as_root();
        let root = tempfile::Builder::new()
            .prefix("mfuko-replica-")
            .tempdir_in("/tmp")
            .expect("replica temp dir");
        let root_path = root.path().to_path_buf();
        if as_postgres {
            run(Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&root_path))
            .expect("chown the replica dir");
        }
        let data_dir = root_path.join("data");
        run(server_command(
            as_postgres,
            &primary.bin_dir.join("pg_basebackup"),
            &root_path,
        )
        .args([
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-R",
            "--checkpoint=fast",
            "-p",
        ])
        .arg(primary.port.to_string())
        .arg("-D")
        .arg(&data_dir))
        .unwrap_or_else(|e| panic!("pg_basebackup: {e}"));
        let port = free_port().expect("a free port");
        let mut watchdog = server_command(as_postgres, Path::new("sh"), &root_path)
            .arg("-c")
            .arg(REPLICA_WATCHDOG)
            .arg("sh")
            .arg(&primary.bin_dir)
            .arg(&data_dir)
            .arg(&root_path)
            .arg("-p")
            .arg(port.to_string())
            .args(SERVER_SETTINGS.iter().flat_map(|setting| ["-c", setting]))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("spawning the replica watchdog");
        let stdin = watchdog.stdin.take().expect("watchdog stdin");
        let _ = root.keep();
        let replica = PgReplica {
            port,
            bin_dir: primary.bin_dir.clone(),
            watchdog: std::sync::Mutex::new((watchdog, stdin)),
        };
        replica.wait_until(true);
        let _ = std::io::stdout().flush();
        replica
    }

    /// The URL of `database` on the replica (the primary's database of the same name).
    pub fn url_of(&self, primary_url: &str) -> String {
        let name = primary_url.rsplit('/').next().expect("a database name");
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// Stops the replica (fast shutdown) and waits until it refuses connections.
    pub fn stop(&self) {
        self.command("stop");
        self.wait_until(false);
    }

    /// Starts the stopped replica again and waits until it accepts connections.
    pub fn restart(&self) {
        self.command("start");
        self.wait_until(true);
    }

    fn command(&self, line: &str) {
        use std::io::Write as _;
        let mut watchdog = self.watchdog.lock().unwrap_or_else(|e| e.into_inner());
        writeln!(watchdog.1, "{line}").expect("writing to the replica watchdog");
        watchdog.1.flush().expect("flushing the replica watchdog");
    }

    fn wait_until(&self, ready: bool) {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        while is_ready(&self.bin_dir, self.port).unwrap_or(false) != ready {
            assert!(
                Instant::now() < deadline,
                "replica on port {} not {} after {STARTUP_TIMEOUT:?}",
                self.port,
                if ready { "up" } else { "down" }
            );
            thread::sleep(Duration::from_millis(50));
        }
    }
}

/// `-c` options for the server. Durability is off (throwaway data, speed matters); WAL settings
/// allow streaming replicas made with `pg_basebackup`; 400 connections leave room for many
/// tests running in parallel, each with its own pools.
const SERVER_SETTINGS: &[&str] = &[
    "listen_addresses=127.0.0.1",
    "fsync=off",
    "synchronous_commit=off",
    "full_page_writes=off",
    "max_connections=400",
    "shared_buffers=128MB",
    "wal_level=replica",
    "max_wal_senders=10",
    "logging_collector=off",
];

/// `program` run directly, or as the `postgres` user when we are root. The working directory is
/// the cluster root, which that user can always enter (the caller's may be root-only).
fn server_command(as_postgres: bool, program: &Path, cwd: &Path) -> Command {
    let mut command = if as_postgres {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    };
    command.current_dir(cwd).stdin(Stdio::null());
    command
}

/// Runs a short command to completion; its output becomes the error message on failure.
fn run(command: &mut Command) -> Result<(), String> {
    let output = command
        .output()
        .map_err(|e| format!("running {command:?}: {e}"))?;
    if output.status.success() {
        return Ok(());
    }
    Err(format!(
        "{command:?} failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    ))
}

fn is_ready(bin_dir: &Path, port: u16) -> Result<bool, String> {
    let pg_isready = bin_dir.join("pg_isready");
    let status = Command::new(&pg_isready)
        .args(["-q", "-h", "127.0.0.1", "-t", "1", "-p"])
        .arg(port.to_string())
        .stdin(Stdio::null())
        .status()
        .map_err(|e| format!("running {}: {e}", pg_isready.display()))?;
    Ok(status.success())
}

/// `-A trust` normally yields this pg_hba.conf line; `pg_basebackup` from 127.0.0.1 needs it,
/// so add it if some packaging's template lacks it.
fn ensure_replication_hba(data_dir: &Path) -> Result<(), String> {
    const LINE: [&str; 5] = ["host", "replication", "all", "127.0.0.1/32", "trust"];
    let hba_path = data_dir.join("pg_hba.conf");
    let hba = fs::read_to_string(&hba_path)
        .map_err(|e| format!("reading {}: {e}", hba_path.display()))?;
    let present = hba
        .lines()
        .any(|line| line.split_whitespace().eq(LINE.iter().copied()));
    if !present {
        // Written by us (maybe root) into an existing file: its owner stays unchanged.
        fs::write(&hba_path, format!("{hba}\n{}\n", LINE.join(" ")))
            .map_err(|e| format!("writing {}: {e}", hba_path.display()))?;
    }
    Ok(())
}

/// Effective uid 0? Read from /proc (no libc crate), falling back to `id -u`.
fn running_as_root() -> bool {
    if let Ok(status) = fs::read_to_string("/proc/self/status") {
        // "Uid:\treal\teffective\tsaved\tfs"
        if let Some(euid) = status
            .lines()
            .find_map(|line| line.strip_prefix("Uid:"))
            .and_then(|ids| ids.split_whitespace().nth(1))
        {
            return euid == "0";
        }
    }
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

/// `$PG_BIN`, else the newest `/usr/lib/postgresql/<version>/bin` (Debian layout), else the
/// directory of `initdb` on PATH. `Err` when PG_BIN is set but wrong: that is a setup mistake
/// to report, not a reason to skip.
fn find_bin_dir() -> Result<Option<PathBuf>, String> {
    if let Some(dir) = env::var_os("PG_BIN").filter(|dir| !dir.is_empty()) {
        let dir = PathBuf::from(dir);
        return if dir.join("initdb").is_file() {
            Ok(Some(dir))
        } else {
            Err(format!("PG_BIN={} contains no initdb", dir.display()))
        };
    }

    let newest_debian = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version: Vec<u64> = entry
                .file_name()
                .to_str()?
                .split('.')
                .map(|part| part.parse().ok())
                .collect::<Option<_>>()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .max();
    if let Some((_, bin)) = newest_debian {
        return Ok(Some(bin));
    }

    // Resolve symlinks (e.g. /usr/local/bin/initdb -> .../15/bin/initdb) so that postgres and
    // pg_isready are taken from the same installation.
    Ok(on_path("initdb")
        .and_then(|initdb| fs::canonicalize(initdb).ok())
        .and_then(|initdb| initdb.parent().map(Path::to_path_buf)))
}

#[tokio::test]
async fn cluster_hands_out_separate_databases() {
    let Some(cluster) = cluster() else {
        return; // cluster() already warned that PostgreSQL tests are skipped
    };
    let first = cluster.fresh_database().await;
    let second = cluster.fresh_database().await;
    assert_ne!(first, second, "each call must create a new database");

    let mut conn = PgConnection::connect(&first)
        .await
        .expect("connect to the first database");
    sqlx::raw_sql("CREATE TABLE probe (id integer)")
        .execute(&mut conn)
        .await
        .expect("create a table in the first database");
    assert!(probe_exists(&mut conn).await, "table missing where created");

    let mut conn = PgConnection::connect(&second)
        .await
        .expect("connect to the second database");
    assert!(
        !probe_exists(&mut conn).await,
        "a table created in one fresh database is visible in another"
    );
}

async fn probe_exists(conn: &mut PgConnection) -> bool {
    sqlx::query_scalar("SELECT to_regclass('public.probe') IS NOT NULL")
        .fetch_one(conn)
        .await
        .expect("query the catalog")
}
