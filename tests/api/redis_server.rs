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
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

/// How long the server may take to answer `PING` before we give up.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a stopped server's port may keep accepting connections.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// Connect, read and write timeout of [`RedisServer::command`].
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
            let port = free_port();
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

    /// Sends one command (binary-safe: each argument is sent as-is) over a new TCP connection
    /// and returns the reply as text, much like `redis-cli` prints it:
    /// status replies and bulk strings verbatim (`OK`, `PONG`, the value; bytes that are not
    /// UTF-8 become U+FFFD), integers in decimal, nil as `(nil)`, arrays as their elements one
    /// per line (nested ones flattened, so `SCAN` gives the cursor, then the keys).
    /// Panics on an error reply (`-ERR ...`) and when the server cannot be reached.
    pub fn command(&self, args: &[&[u8]]) -> String {
        let fail = |why: &dyn std::fmt::Display| -> ! {
            panic!(
                "redis command `{}` on 127.0.0.1:{}: {why}",
                show_command(args),
                self.port
            )
        };
        match request(self.port, args, COMMAND_TIMEOUT) {
            Ok(Reply::Error(message)) => fail(&format!("error reply: {message}")),
            Ok(reply) => reply.to_text(),
            Err(e) => fail(&e),
        }
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

/// A RESP2 reply.
#[derive(Debug)]
enum Reply {
    Status(String),
    Error(String),
    Integer(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Reply>>),
}

impl Reply {
    fn to_text(&self) -> String {
        match self {
            Reply::Status(text) => text.clone(),
            Reply::Error(message) => format!("(error) {message}"),
            Reply::Integer(n) => n.to_string(),
            Reply::Bulk(Some(bytes)) => String::from_utf8_lossy(bytes).into_owned(),
            Reply::Bulk(None) | Reply::Array(None) => "(nil)".to_owned(),
            Reply::Array(Some(_)) => {
                let mut lines = Vec::new();
                self.push_lines(&mut lines);
                lines.join("\n")
            }
        }
    }

    /// One line per leaf of a (nested) array; an empty array adds none.
    fn push_lines(&self, lines: &mut Vec<String>) {
        match self {
            Reply::Array(Some(items)) => items.iter().for_each(|item| item.push_lines(lines)),
            leaf => lines.push(leaf.to_text()),
        }
    }

    fn read(reader: &mut impl BufRead) -> io::Result<Reply> {
        let line = read_line(reader)?;
        let (kind, rest) = line
            .split_first()
            .ok_or_else(|| invalid("empty reply line".to_owned()))?;
        let text = String::from_utf8_lossy(rest).into_owned();
        let length = || -> io::Result<Option<usize>> {
            let n: i64 = text
                .parse()
                .map_err(|_| invalid(format!("bad length {text:?}")))?;
            // -1 is nil; other negative lengths do not occur.
            Ok(usize::try_from(n).ok())
        };
        Ok(match kind {
            b'+' => Reply::Status(text),
            b'-' => Reply::Error(text),
            b':' => Reply::Integer(
                text.parse()
                    .map_err(|_| invalid(format!("bad integer {text:?}")))?,
            ),
            b'$' => Reply::Bulk(match length()? {
                None => None,
                Some(len) => {
                    let mut bytes = vec![0; len + 2];
                    reader.read_exact(&mut bytes)?;
                    if !bytes.ends_with(b"\r\n") {
                        return Err(invalid("bulk string not followed by CRLF".to_owned()));
                    }
                    bytes.truncate(len);
                    Some(bytes)
                }
            }),
            b'*' => Reply::Array(match length()? {
                None => None,
                Some(len) => Some(
                    (0..len)
                        .map(|_| Reply::read(reader))
                        .collect::<io::Result<_>>()?,
                ),
            }),
            other => {
                return Err(invalid(format!(
                    "unexpected reply type {:?} in {:?}",
                    char::from(*other),
                    String::from_utf8_lossy(&line)
                )));
            }
        })
    }
}

/// One CRLF-terminated line, without the CRLF.
fn read_line(reader: &mut impl BufRead) -> io::Result<Vec<u8>> {
    let mut line = Vec::new();
    reader.read_until(b'\n', &mut line)?;
    if !line.ends_with(b"\r\n") {
        return Err(if line.is_empty() {
            io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed")
        } else {
            invalid(format!(
                "unterminated reply line {:?}",
                String::from_utf8_lossy(&line)
            ))
        });
    }
    line.truncate(line.len() - 2);
    Ok(line)
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

/// The command as a RESP array of bulk strings.
fn encode(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Sends one command on a new connection and reads its reply.
fn request(port: u16, args: &[&[u8]], timeout: Duration) -> io::Result<Reply> {
    let mut stream = TcpStream::connect_timeout(&loopback(port), timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    stream.write_all(&encode(args))?;
    Reply::read(&mut BufReader::new(stream))
}

fn answers_ping(port: u16) -> bool {
    matches!(
        request(port, &[b"PING"], Duration::from_secs(1)),
        Ok(Reply::Status(pong)) if pong == "PONG"
    )
}

fn accepts_connections(port: u16) -> bool {
    TcpStream::connect_timeout(&loopback(port), Duration::from_secs(1)).is_ok()
}

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

/// For panic messages: the arguments, lossily decoded and shortened.
fn show_command(args: &[&[u8]]) -> String {
    args.iter()
        .map(|arg| {
            let text = String::from_utf8_lossy(arg);
            if text.chars().count() > 40 {
                format!("{}…", text.chars().take(40).collect::<String>())
            } else {
                text.into_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A port that was free a moment ago. Another process could grab it before redis-server binds
/// it; `start` then notices "Address already in use" in the log and tries another port.
fn free_port() -> u16 {
    TcpListener::bind(("127.0.0.1", 0))
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .unwrap_or_else(|e| panic!("finding a free loopback port: {e}"))
}

fn in_ci() -> bool {
    env::var("CI").is_ok_and(|ci| ci.eq_ignore_ascii_case("true") || ci == "1")
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
                // Not `eprintln!`: libtest captures that and shows it only for failing tests,
                // so a skip would go unnoticed. Writing to stderr directly bypasses the capture.
                // Nothing to do if stderr itself is gone.
                let _ = writeln!(
                    io::stderr().lock(),
                    "\n\
                     ************************************************************************\n\
                     WARNING: redis-server not found ($REDIS_SERVER, PATH,\n\
                     /usr/bin/redis-server). The Redis tests were SKIPPED.\n\
                     Install Redis or set REDIS_SERVER to run them.\n\
                     ************************************************************************\n"
                );
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
    env::var_os("PATH")
        .and_then(|path| {
            env::split_paths(&path)
                .map(|dir| dir.join("redis-server"))
                .find(|binary| binary.is_file())
        })
        .or_else(|| {
            let fallback = PathBuf::from("/usr/bin/redis-server");
            fallback.is_file().then_some(fallback)
        })
}

#[test]
fn redis_server_stops_and_restarts_empty_on_the_same_port() {
    let Some(mut server) = RedisServer::start() else {
        return; // start() already warned that Redis tests are skipped
    };
    let port = server.port();
    assert_eq!(server.url(), format!("redis://127.0.0.1:{port}"));

    assert_eq!(server.command(&[b"SET", b"greeting", b"hello"]), "OK");
    assert_eq!(server.command(&[b"GET", b"greeting"]), "hello");
    // Arbitrary bytes (not UTF-8, CR LF, NUL) go through unharmed.
    let corrupt: &[u8] = b"\xff\xfe\r\n\0{\"half";
    assert_eq!(server.command(&[b"SET", b"corrupt", corrupt]), "OK");
    assert_eq!(
        server.command(&[b"STRLEN", b"corrupt"]),
        corrupt.len().to_string()
    );
    assert_eq!(server.command(&[b"DBSIZE"]), "2");
    let scan = server.command(&[b"SCAN", b"0", b"MATCH", b"greet*", b"COUNT", b"100"]);
    assert_eq!(scan, "0\ngreeting", "SCAN gives the cursor, then the keys");
    assert_eq!(server.command(&[b"GET", b"missing"]), "(nil)");

    server.stop();
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "a stopped server still accepts connections"
    );
    server.stop(); // stopping twice is harmless

    server.restart();
    assert_eq!(server.port(), port, "restart must keep the port");
    assert_eq!(server.command(&[b"PING"]), "PONG");
    assert_eq!(
        server.command(&[b"GET", b"greeting"]),
        "(nil)",
        "data survived"
    );
    assert_eq!(server.command(&[b"DBSIZE"]), "0");

    // restart() on a running server works too.
    assert_eq!(server.command(&[b"SET", b"k", b"v"]), "OK");
    server.restart();
    assert_eq!(server.command(&[b"DBSIZE"]), "0");
    assert_eq!(server.command(&[b"FLUSHALL"]), "OK");
}

#[test]
fn redis_servers_are_independent() {
    let (Some(first), Some(second)) = (RedisServer::start(), RedisServer::start()) else {
        return;
    };
    assert_ne!(first.port(), second.port());
    assert_ne!(first.url(), second.url());
    assert_eq!(first.command(&[b"SET", b"only-here", b"1"]), "OK");
    assert_eq!(second.command(&[b"GET", b"only-here"]), "(nil)");
    assert_eq!(first.command(&[b"GET", b"only-here"]), "1");
}

#[test]
fn redis_command_reports_error_replies() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let reply = request(server.port(), &[b"NO-SUCH-COMMAND"], COMMAND_TIMEOUT)
        .expect("a reply from the server");
    assert!(
        matches!(&reply, Reply::Error(message) if message.starts_with("ERR unknown command")),
        "unexpected reply {reply:?}"
    );
    // command() turns it into a panic naming the command.
    let panic = std::panic::catch_unwind(|| server.command(&[b"NO-SUCH-COMMAND", b"x"]))
        .expect_err("command() must panic on an error reply");
    let message = panic
        .downcast_ref::<String>()
        .expect("a formatted panic message");
    assert!(
        message.contains("`NO-SUCH-COMMAND x`") && message.contains("ERR unknown command"),
        "{message}"
    );
    // An empty SCAN page is just the cursor.
    assert_eq!(server.command(&[b"SCAN", b"0"]), "0");
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
