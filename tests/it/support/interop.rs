//! Whether the real-server tests run, and what a missing server means.
//!
//! A fresh clone has no servers, so plain `cargo test` must pass there; CI must never skip a
//! real-server test quietly. `servers()`, `dovecot()` and `smtp_servers()` all decide here:
//!
//! | environment                                        | servers missing or silent      |
//! |----------------------------------------------------|--------------------------------|
//! | `POSTHASTE_SKIP_INTEROP=1`                         | skipped (not looked for)       |
//! | `POSTHASTE_REQUIRE_INTEROP=1` (`scripts/test`)     | the test fails, saying why     |
//! | `POSTHASTE_TEST_SERVERS=FILE` (asked for them)     | the test fails, saying why     |
//! | none of these (plain `cargo test`)                 | skipped                        |
//!
//! A skip is said on stderr, one line per test file, naming how to run them; the test returns
//! early and counts as passed. When `.test-servers/env` names running servers, plain
//! `cargo test` runs the tests against them.

use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::panic::Location;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

/// How the real-server tests treat missing servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `POSTHASTE_SKIP_INTEROP=1`: skip without looking.
    Skip,
    /// Plain `cargo test`: run against the servers if they are there, else skip.
    Optional,
    /// `scripts/test`, or a settings file named by the user: missing servers fail the test.
    Required,
}

impl Mode {
    /// The mode from `POSTHASTE_SKIP_INTEROP`, `POSTHASTE_REQUIRE_INTEROP` and
    /// `POSTHASTE_TEST_SERVERS`. Skipping wins: it is the explicit way out.
    pub fn from_env() -> Mode {
        let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
        Mode::from_vars(
            var("POSTHASTE_SKIP_INTEROP").is_some_and(|v| v == "1"),
            var("POSTHASTE_REQUIRE_INTEROP").is_some_and(|v| v == "1"),
            var("POSTHASTE_TEST_SERVERS").is_some(),
        )
    }

    fn from_vars(skip: bool, require: bool, settings_named: bool) -> Mode {
        if skip {
            Mode::Skip
        } else if require || settings_named {
            Mode::Required
        } else {
            Mode::Optional
        }
    }
}

/// The servers' settings file: `$POSTHASTE_TEST_SERVERS`, else `<repo>/.test-servers/env`
/// (which `scripts/test-servers start` writes and `stop` removes).
pub fn env_path() -> PathBuf {
    match std::env::var_os("POSTHASTE_TEST_SERVERS") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".test-servers/env"),
    }
}

/// The `KEY=value` lines of the settings file.
pub struct Settings {
    path: PathBuf,
    map: HashMap<String, String>,
}

impl Settings {
    fn read() -> Result<Settings, String> {
        let path = env_path();
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let map = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim().to_string(), v.trim().trim_matches('"').to_string()))
            .collect();
        Ok(Settings { path, map })
    }

    /// The value of `key`, or why there is none (`what` names the servers that write it).
    pub fn get(&self, key: &str, what: &str) -> Result<String, String> {
        self.map
            .get(key)
            .cloned()
            .ok_or_else(|| format!("{} has no {key}: {what} did not start", self.path.display()))
    }

    /// [`Settings::get`] for a number (a port, a uid).
    pub fn number<T: std::str::FromStr>(&self, key: &str, what: &str) -> Result<T, String> {
        let v = self.get(key, what)?;
        v.parse()
            .map_err(|_| format!("{}: {key}={v} is not a number", self.path.display()))
    }
}

/// Ok when something accepts connections at `host:port`: a stale settings file (servers
/// stopped since) is then said as such, not as a confusing refusal inside the test.
pub fn answers(host: &str, port: u16, name: &str) -> Result<(), String> {
    let addr: SocketAddr = format!("{host}:{port}")
        .parse()
        .map_err(|e| format!("bad host {host}: {e}"))?;
    TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .map(drop)
        .map_err(|e| format!("the {name} server at {addr} does not answer: {e}"))
}

/// Loads the servers' settings with `load`: `Some` when they are there and answer; `None`
/// (the test returns early) when they are not and the mode allows skipping, said on stderr
/// once for the calling test file; a panic saying why when the mode requires them.
#[track_caller]
pub fn available<T>(load: impl FnOnce(&Settings) -> Result<T, String>) -> Option<T> {
    let file = Location::caller().file();
    let mode = Mode::from_env();
    let why = match mode {
        Mode::Skip => "POSTHASTE_SKIP_INTEROP=1".to_string(),
        Mode::Optional | Mode::Required => match Settings::read().and_then(|s| load(&s)) {
            Ok(servers) => return Some(servers),
            Err(why) => why,
        },
    };
    if mode == Mode::Required {
        panic!(
            "real-server tests need the loopback servers: run scripts/test (or scripts/test-servers start, as root) ({why})"
        );
    }
    skipped(file, &why);
    None
}

/// Says once per test file that its real-server tests are skipped. Written to the process's
/// standard error directly, past the test harness's capture, so a passing run shows it.
fn skipped(file: &'static str, why: &str) {
    static SAID: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());
    let first = SAID.lock().unwrap_or_else(|e| e.into_inner()).insert(file);
    if first {
        let _ = std::io::stderr().write_all(skip_line(file, why).as_bytes());
    }
}

fn skip_line(file: &str, why: &str) -> String {
    format!(
        "note: {file}: real-server tests skipped ({why}); run them with scripts/test, or \
         POSTHASTE_TEST_SERVERS=ENV_FILE cargo test (scripts/test-servers start writes one)\n"
    )
}

#[test]
fn skipping_wins_then_a_request_or_a_named_file_requires_the_servers() {
    assert_eq!(Mode::from_vars(true, true, true), Mode::Skip);
    assert_eq!(Mode::from_vars(true, false, false), Mode::Skip);
    assert_eq!(Mode::from_vars(false, true, false), Mode::Required);
    assert_eq!(Mode::from_vars(false, false, true), Mode::Required);
    assert_eq!(Mode::from_vars(false, false, false), Mode::Optional);
}

#[test]
fn a_skip_is_one_line_naming_the_file_the_reason_and_how_to_run_them() {
    let line = skip_line(
        "tests/it/interop_pop.rs",
        "/r/.test-servers/env: No such file",
    );
    assert_eq!(
        line,
        "note: tests/it/interop_pop.rs: real-server tests skipped (/r/.test-servers/env: No such \
         file); run them with scripts/test, or POSTHASTE_TEST_SERVERS=ENV_FILE cargo test \
         (scripts/test-servers start writes one)\n"
    );
    assert_eq!(line.lines().count(), 1);
}
