//! Throwaway Redis servers for tests, one per [`RedisServer`] value.
//!
//! Unlike the shared PostgreSQL cluster (`pg_cluster`), each test that wants Redis starts its
//! own server: tests kill and restart Redis mid-test (to check that the app survives an outage)
//! and must not disturb each other. Every server runs under a tiny shell watchdog that kills it
//! and deletes its temp dir as soon as the owning `RedisServer` is dropped or stopped, or this
//! process exits, however it exits (normal end, panic, SIGKILL): nothing is left running.

use std::env;
use std::fs;
use std::io::{self, BufRead, BufReader, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

use redis::TypedCommands;

use crate::support::{free_port, in_ci, on_path, warn_loudly};

/// How long the server may take to answer `PING` before we give up.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a stopped server's port may keep accepting connections.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// Connect, read and write timeout of [`RedisServer::connection`].
const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

/// Fresh ports tried by [`RedisServer::start`] when another process grabs the chosen one first.
const PORT_ATTEMPTS: usize = 5;

/// redis-server's stdout and stderr (its log), inside the server's temp dir.
const LOG_FILE: &str = "redis.log";

/// The server's pid, written by the watchdog; used to notice a server that died at start-up.
const PID_FILE: &str = "redis.pid";

/// Runs redis-server in the background, then blocks reading stdin. Stdin is a pipe whose write
/// end only the owning `RedisServer` holds, so `read` returns (EOF) exactly when that value is
/// dropped or the test process is gone; we then kill the server outright (no persistence, so
/// nothing is lost), reap it (its port is closed once `wait` returns) and remove its directory.
/// Terminal signals (Ctrl-C, hang-up) are ignored here so the clean-up still runs.
/// Arguments: $1 the temp dir, then the redis-server command line.
const WATCHDOG: &str = r#"
trap '' HUP INT TERM
dir=$1
shift
"$@" </dev/null >>"$dir/redis.log" 2>&1 &
pid=$!
echo "$pid" >"$dir/redis.pid.tmp" && mv "$dir/redis.pid.tmp" "$dir/redis.pid"
read -r _ || :
kill -9 "$pid" 2>/dev/null
wait "$pid"
rm -rf "$dir"
"#;

/// A redis-server on 127.0.0.1:<free port> in its own temp dir (no persistence:
/// `--save "" --appendonly no`), stopped when dropped and, via a watchdog, when the test
/// process dies.
pub struct RedisServer {
    binary: PathBuf,
    port: u16,
    /// `None` while stopped.
    running: Option<Running>,
}

impl RedisServer {
    /// `None` when redis-server is unavailable outside CI (after the loud SKIPPED warning).
    /// Panics when it is unavailable under `CI=true`, or when the server does not come up.
    pub fn start() -> Option<RedisServer> {
        let binary = redis_server_binary()?.to_path_buf();
        let mut failures = Vec::new();
        for _ in 0..PORT_ATTEMPTS {
            let port = free_port().unwrap_or_else(|e| panic!("{e}"));
            match Running::launch(&binary, port) {
                Ok(running) => {
                    return Some(RedisServer {
                        binary,
                        port,
                        running: Some(running),
                    });
                }
                // Another process bound the port between `free_port` and redis-server.
                Err(Failure::PortTaken(log)) => failures.push(format!("port {port}:\n{log}")),
                Err(Failure::Fatal(message)) => panic!("{message}"),
            }
        }
        panic!(
            "redis-server found every one of {PORT_ATTEMPTS} free ports taken; server logs:\n{}",
            failures.join("\n")
        );
    }

    /// `redis://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server abruptly (SIGKILL: like a crash, no goodbye to clients). When this
    /// returns the port refuses connections. Does nothing if already stopped.
    pub fn stop(&mut self) {
        // Dropping `Running` kills the server and waits until it is reaped.
        if self.running.take().is_none() {
            return;
        }
        let deadline = Instant::now() + STOP_TIMEOUT;
        while accepts_connections(self.port) {
            assert!(
                Instant::now() < deadline,
                "127.0.0.1:{} still accepts connections {STOP_TIMEOUT:?} after redis-server \
                 was killed (another process on the port?)",
                self.port
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts it again on the SAME port (empty dataset), waiting until it answers PING.
    /// Stops it first if it is running.
    pub fn restart(&mut self) {
        self.stop();
        match Running::launch(&self.binary, self.port) {
            Ok(running) => self.running = Some(running),
            Err(Failure::PortTaken(log)) => panic!(
                "restarting redis-server: port {} was taken by another process meanwhile; \
                 server log:\n{log}",
                self.port
            ),
            Err(Failure::Fatal(message)) => panic!("restarting redis-server: {message}"),
        }
    }

    /// A new connection (sync API of the `redis` crate, with [`COMMAND_TIMEOUT`] on connecting,
    /// reading and writing), for tests that inspect or tamper with what the app stored.
    /// Panics when the server cannot be reached.
    pub fn connection(&self) -> redis::Connection {
        connect(self.port, COMMAND_TIMEOUT)
            .unwrap_or_else(|e| panic!("connecting to redis on 127.0.0.1:{}: {e}", self.port))
    }

    /// Every key matching the glob `pattern` (`SCAN ... MATCH`, all pages).
    pub fn keys(&self, pattern: &str) -> Vec<String> {
        let mut connection = self.connection();
        let keys = connection
            .scan_match(pattern)
            .and_then(|keys| keys.collect::<redis::RedisResult<Vec<String>>>());
        keys.unwrap_or_else(|e| panic!("SCAN MATCH {pattern} on 127.0.0.1:{}: {e}", self.port))
    }
}

/// One run of redis-server and its watchdog. Dropping it closes the watchdog's stdin, so the
/// watchdog kills the server, reaps it and removes the temp dir; the drop waits for all that.
struct Running {
    watchdog: Child,
    /// The temp dir (server's `--dir`, log, pid file); the watchdog removes it when it ends.
    dir: PathBuf,
}

enum Failure {
    /// The server exited because the port was in use; carries the server log.
    PortTaken(String),
    Fatal(String),
}

impl Running {
    /// Starts redis-server on `port` and waits until it answers `PING`.
    fn launch(binary: &Path, port: u16) -> Result<Running, Failure> {
        // Until `keep()` below, dropping `dir` (a failed spawn) deletes the directory.
        let dir = tempfile::Builder::new()
            .prefix("mfuko-redis-")
            .tempdir()
            .map_err(|e| Failure::Fatal(format!("creating a temp dir for redis-server: {e}")))?;
        let watchdog = Command::new("sh")
            .arg("-c")
            .arg(WATCHDOG)
            .arg("sh") // $0
            .arg(dir.path())
            .arg(binary)
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--protected-mode", "no", "--daemonize", "no"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir.path())
            .current_dir(dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| Failure::Fatal(format!("spawning the redis-server watchdog: {e}")))?;
        // From now on the watchdog owns the directory and removes it when it ends.
        let mut running = Running {
            watchdog,
            dir: dir.keep(),
        };

        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            if answers_ping(port) {
                return Ok(running);
            }
            if let Some(why) = running.exited_early() {
                let log = running.log();
                return Err(if log.contains("Address already in use") {
                    Failure::PortTaken(log)
                } else {
                    Failure::Fatal(format!(
                        "redis-server on 127.0.0.1:{port} failed to start ({why}); \
                         server log:\n{log}"
                    ))
                });
            }
            if Instant::now() > deadline {
                // Returning drops `running`: the watchdog kills the server and cleans up.
                return Err(Failure::Fatal(format!(
                    "redis-server on 127.0.0.1:{port} not answering PING after \
                     {STARTUP_TIMEOUT:?}; server log:\n{}",
                    running.log()
                )));
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn log(&self) -> String {
        let path = self.dir.join(LOG_FILE);
        fs::read_to_string(&path)
            .unwrap_or_else(|e| format!("<cannot read {}: {e}>", path.display()))
    }

    /// Why the server is already gone, if it is. The watchdog only reaps it after its stdin
    /// closes, so a server that died on its own stays a zombie (or, without /proc, unknown).
    fn exited_early(&mut self) -> Option<String> {
        if let Ok(Some(status)) = self.watchdog.try_wait() {
            return Some(format!("its watchdog exited: {status}"));
        }
        let pid: u32 = fs::read_to_string(self.dir.join(PID_FILE))
            .ok()?
            .trim()
            .parse()
            .ok()?;
        if !Path::new("/proc/self/stat").exists() {
            return None; // no procfs: only the start-up timeout catches a dead server
        }
        // "pid (comm) STATE ...": comm may contain spaces and parentheses, so find the last ')'.
        let state = fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|stat| {
                let (_, rest) = stat.rsplit_once(')')?;
                rest.trim_start().chars().next()
            });
        match state {
            None | Some('Z' | 'X') => Some(format!("redis-server (pid {pid}) exited")),
            Some(_) => None,
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // EOF on the watchdog's `read`; then it kills, reaps, cleans up and exits.
        drop(self.watchdog.stdin.take());
        // Nothing useful to do if waiting fails (it cannot for our own unwaited child).
        let _ = self.watchdog.wait();
    }
}

/// Whether a Redis server on 127.0.0.1:`port` answers `PING` within a second.
fn answers_ping(port: u16) -> bool {
    let ping = || -> redis::RedisResult<String> {
        let mut connection = connect(port, Duration::from_secs(1))?;
        connection.ping()
    };
    matches!(ping(), Ok(pong) if pong == "PONG")
}

/// A new connection to 127.0.0.1:`port`; `timeout` bounds connecting, each read and each write.
fn connect(port: u16, timeout: Duration) -> redis::RedisResult<redis::Connection> {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}"))?;
    let connection = client.get_connection_with_timeout(timeout)?;
    connection.set_read_timeout(Some(timeout))?;
    connection.set_write_timeout(Some(timeout))?;
    Ok(connection)
}

fn accepts_connections(port: u16) -> bool {
    TcpStream::connect_timeout(&loopback(port), Duration::from_secs(1)).is_ok()
}

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

/// The redis-server binary, looked up once. `None` (after a loud warning, printed once) when it
/// is absent outside CI; a panic when absent under CI or when `$REDIS_SERVER` is set but wrong.
fn redis_server_binary() -> Option<&'static Path> {
    static BINARY: OnceLock<Option<PathBuf>> = OnceLock::new();
    BINARY
        .get_or_init(|| match find_binary() {
            Some(binary) => Some(binary),
            None if in_ci() => panic!(
                "CI is set but redis-server was not found (checked $REDIS_SERVER, PATH and \
                 /usr/bin/redis-server); install Redis or set REDIS_SERVER"
            ),
            None => {
                warn_loudly(&[
                    "WARNING: redis-server not found ($REDIS_SERVER, PATH,",
                    "/usr/bin/redis-server). The Redis tests were SKIPPED.",
                    "Install Redis or set REDIS_SERVER to run them.",
                ]);
                None
            }
        })
        .as_deref()
}

/// `$REDIS_SERVER`, else `redis-server` on PATH, else `/usr/bin/redis-server`.
fn find_binary() -> Option<PathBuf> {
    if let Some(binary) = env::var_os("REDIS_SERVER").filter(|binary| !binary.is_empty()) {
        let binary = PathBuf::from(binary);
        // A setup mistake to report, not a reason to skip.
        assert!(
            binary.is_file(),
            "REDIS_SERVER={} is not a file",
            binary.display()
        );
        return Some(binary);
    }
    on_path("redis-server").or_else(|| {
        let fallback = PathBuf::from("/usr/bin/redis-server");
        fallback.is_file().then_some(fallback)
    })
}

/// The number of keys in the server's database.
fn dbsize(server: &RedisServer) -> usize {
    redis::cmd("DBSIZE")
        .query(&mut server.connection())
        .expect("DBSIZE")
}

#[test]
fn redis_server_stops_and_restarts_empty_on_the_same_port() {
    let Some(mut server) = RedisServer::start() else {
        return; // start() already warned that Redis tests are skipped
    };
    let port = server.port();
    assert_eq!(server.url(), format!("redis://127.0.0.1:{port}"));

    let mut redis = server.connection();
    redis.set("greeting", "hello").expect("SET");
    assert_eq!(
        redis.get("greeting").expect("GET").as_deref(),
        Some("hello")
    );
    redis.set("other", "value").expect("SET");
    assert_eq!(dbsize(&server), 2);
    assert_eq!(server.keys("greet*"), ["greeting"]);

    server.stop();
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "a stopped server still accepts connections"
    );
    assert!(redis.ping().is_err(), "a connection survived the kill");
    server.stop(); // stopping twice is harmless

    server.restart();
    assert_eq!(server.port(), port, "restart must keep the port");
    let mut redis = server.connection();
    assert_eq!(redis.ping().expect("PING"), "PONG");
    assert_eq!(redis.get("greeting").expect("GET"), None, "data survived");
    assert_eq!(dbsize(&server), 0);

    // restart() on a running server works too.
    redis.set("k", "v").expect("SET");
    server.restart();
    assert_eq!(dbsize(&server), 0);
}

#[test]
fn redis_servers_are_independent() {
    let (Some(first), Some(second)) = (RedisServer::start(), RedisServer::start()) else {
        return;
    };
    assert_ne!(first.port(), second.port());
    assert_ne!(first.url(), second.url());
    first.connection().set("only-here", 1).expect("SET");
    assert_eq!(second.connection().get("only-here").expect("GET"), None);
    assert_eq!(
        first.connection().get("only-here").expect("GET").as_deref(),
        Some("1")
    );
}

#[test]
fn redis_server_is_gone_with_its_files_when_dropped() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let port = server.port();
    let dir = server.running.as_ref().expect("just started").dir.clone();
    assert!(dir.join(LOG_FILE).is_file());
    drop(server);
    assert!(!accepts_connections(port), "the server outlived its value");
    assert!(!dir.exists(), "{} was not removed", dir.display());
}

/// Set for the child process of `redis_server_dies_with_its_test_process`.
const HELPER_ENV: &str = "MFUKO_REDIS_WATCHDOG_HELPER";

/// Not a test by itself: a no-op unless run as the child of
/// `redis_server_dies_with_its_test_process`. Starts a server, reports its port and dir on
/// stdout, then waits for stdin to close (the parent SIGKILLs it before that).
#[test]
fn redis_watchdog_helper_process() {
    if env::var_os(HELPER_ENV).is_none() {
        return;
    }
    let server = RedisServer::start().expect("the parent checked that redis-server exists");
    let dir = &server.running.as_ref().expect("just started").dir;
    println!("REDIS_PORT={}", server.port());
    println!("REDIS_DIR={}", dir.display());
    io::stdout().flush().expect("flush stdout");
    let _ = io::stdin().read_line(&mut String::new());
}

#[test]
fn redis_server_dies_with_its_test_process() {
    if redis_server_binary().is_none() {
        return;
    }
    // This same test binary, running only the helper above.
    let mut child = Command::new(env::current_exe().expect("path of the test binary"))
        .args(["--exact", "redis_server::redis_watchdog_helper_process"])
        .args(["--nocapture", "--test-threads", "1"])
        .env(HELPER_ENV, "1")
        .stdin(Stdio::piped()) // if we panic early, dropping it lets the helper end cleanly
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the helper process");
    let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
    let (mut port, mut dir) = (None, None);
    for line in stdout.lines() {
        let line = line.expect("read the helper's stdout");
        // libtest prints "test NAME ... " without a newline before the helper's first line.
        if let Some((_, value)) = line.split_once("REDIS_PORT=") {
            port = Some(value.parse::<u16>().expect("a port number"));
        } else if let Some((_, value)) = line.split_once("REDIS_DIR=") {
            dir = Some(PathBuf::from(value));
            break;
        }
    }
    let (Some(port), Some(dir)) = (port, dir) else {
        panic!("the helper process did not report its Redis server");
    };
    assert!(answers_ping(port), "the helper's server is not up");

    child.kill().expect("SIGKILL the helper process");
    child.wait().expect("reap the helper process");

    let deadline = Instant::now() + STOP_TIMEOUT;
    while accepts_connections(port) || dir.exists() {
        assert!(
            Instant::now() < deadline,
            "redis-server on port {port} (dir {}) outlived its killed test process",
            dir.display()
        );
        thread::sleep(Duration::from_millis(20));
    }
}
