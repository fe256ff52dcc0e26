//! Small helpers shared by the test harnesses (`pg_cluster`, `redis_server`) and the tests.

use std::env;
use std::io::{self, Write};
use std::net::TcpListener;
use std::path::PathBuf;

/// Whether this is a CI run (`CI` is `true` or `1`): there, a missing server binary is a
/// failure rather than a reason to skip.
pub fn in_ci() -> bool {
    env::var("CI").is_ok_and(|ci| ci.eq_ignore_ascii_case("true") || ci == "1")
}

/// A loopback port that was free a moment ago. Another process could grab it before the
/// server meant to use it binds it: callers either retry with another port or say so.
pub fn free_port() -> Result<u16, String> {
    TcpListener::bind(("127.0.0.1", 0))
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .map_err(|e| format!("finding a free loopback port: {e}"))
}

/// The first `name` in a directory of `PATH`, if any.
pub fn on_path(name: &str) -> Option<PathBuf> {
    env::var_os("PATH").and_then(|path| {
        env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|program| program.is_file())
    })
}

/// Prints `lines` in a banner that cannot be missed, e.g. to say a group of tests was skipped.
/// Not `eprintln!`: libtest captures that and shows it only for failing tests, so a skip would
/// go unnoticed. Writing to stderr directly bypasses the capture.
pub fn warn_loudly(lines: &[&str]) {
    let rule = "*".repeat(72);
    let mut text = format!("\n{rule}\n");
    for line in lines {
        text.push_str(line);
        text.push('\n');
    }
    text.push_str(&rule);
    text.push('\n');
    // Nothing to do if stderr itself is gone.
    let _ = io::stderr().lock().write_all(text.as_bytes());
}
