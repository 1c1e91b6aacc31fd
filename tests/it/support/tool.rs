//! Running one of posthaste's tools as a test does: away from the tester's own settings (a
//! HOME of its own, no `$NETRC`, no XDG folders), standard input from `/dev/null` unless
//! given, under the watchdog of [`super::run`]; what it showed comes back as an [`Out`].
//!
//! ```ignore
//! let out = tool("ftp-get").args(["-O", dir.arg(), &url]).timeout(5).run();
//! out.ok();                                   // exit 0, nothing on stderr
//! let line = out.fails(66);                   // exit 66, one "ftp-get: ..." line
//! let out = tool("ftp-put").args(["-", &url]).input(b"body").run();
//! let child = tool("pop-fetch").args(a).command().stdout(Stdio::piped()); // then run::spawn
//! ```

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::run;

/// The path of a tool built for these tests.
pub fn bin(name: &str) -> &'static str {
    match name {
        "ftp-get" => env!("CARGO_BIN_EXE_ftp-get"),
        "ftp-put" => env!("CARGO_BIN_EXE_ftp-put"),
        "ftp-ls" => env!("CARGO_BIN_EXE_ftp-ls"),
        "smtp-send" => env!("CARGO_BIN_EXE_smtp-send"),
        "pop-fetch" => env!("CARGO_BIN_EXE_pop-fetch"),
        "imap-fetch" => env!("CARGO_BIN_EXE_imap-fetch"),
        "mime-pack" => env!("CARGO_BIN_EXE_mime-pack"),
        _ => panic!("no tool {name}"),
    }
}

/// A HOME without a .netrc or config: not the one of whoever runs the tests.
pub fn no_home(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("posthaste-{}-no-home", name.replace('-', "_")))
}

/// One run of a tool, being set up.
pub struct Tool {
    name: &'static str,
    cmd: Command,
    input: Option<Vec<u8>>,
    timeout: Option<u32>,
}

/// `name` (`"ftp-get"`, ...) with a HOME of its own and none of the tester's `$NETRC`,
/// `$XDG_CONFIG_HOME`, `$XDG_STATE_HOME` or proxy variables; no terminal to prompt at.
pub fn tool(name: &'static str) -> Tool {
    let mut cmd = Command::new(bin(name));
    cmd.env("HOME", no_home(name))
        .env_remove("NETRC")
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("XDG_STATE_HOME")
        .stdin(Stdio::null());
    // The tests talk to loopback servers directly, unless they set a proxy themselves.
    for (key, _) in std::env::vars_os() {
        if key
            .to_string_lossy()
            .to_ascii_lowercase()
            .ends_with("_proxy")
        {
            cmd.env_remove(&key);
        }
    }
    Tool {
        name,
        cmd,
        input: None,
        timeout: None,
    }
}

impl Tool {
    pub fn args<S: AsRef<OsStr>>(mut self, args: impl IntoIterator<Item = S>) -> Tool {
        self.cmd.args(args);
        self
    }

    pub fn env(mut self, key: &str, value: impl AsRef<OsStr>) -> Tool {
        self.cmd.env(key, value);
        self
    }

    pub fn envs<'a>(mut self, vars: impl IntoIterator<Item = &'a (&'a str, &'a str)>) -> Tool {
        self.cmd.envs(vars.into_iter().copied());
        self
    }

    pub fn home(self, dir: impl AsRef<Path>) -> Tool {
        self.env("HOME", dir.as_ref())
    }

    /// Standard input from a pipe fed with `data` (then closed).
    pub fn input(mut self, data: &[u8]) -> Tool {
        self.input = Some(data.to_vec());
        self
    }

    /// `--timeout SECS` unless the arguments give one: every wait is bounded, so a hang shows
    /// up as a failure instead of a stuck suite.
    pub fn timeout(mut self, secs: u32) -> Tool {
        self.timeout = Some(secs);
        self
    }

    /// The command as set up so far, for a test that spawns it itself (`run::spawn`).
    pub fn command(mut self) -> Command {
        let given = self.cmd.get_args().any(|a| a == "--timeout");
        if let (Some(secs), false) = (self.timeout, given) {
            self.cmd.args(["--timeout", &secs.to_string()]);
        }
        self.cmd
    }

    /// Runs the tool to its end (under the watchdog) and records what it showed.
    pub fn run(self) -> Out {
        let name = self.name;
        let input = self.input.clone();
        let mut cmd = self.command();
        let start = Instant::now();
        let output = match input {
            Some(data) => run::output_with_input(&mut cmd, &data),
            None => run::output(&mut cmd),
        };
        Out::of(name, output, start.elapsed())
    }
}

/// What one run of a tool showed.
#[derive(Debug)]
pub struct Out {
    tool: &'static str,
    /// `None` when a signal ended it.
    pub code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Out {
    /// What a run of `tool` that a test spawned itself showed.
    pub fn of(tool: &'static str, output: Output, elapsed: Duration) -> Out {
        Out {
            tool,
            code: output.status.code(),
            stdout: output.stdout,
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            elapsed,
        }
    }

    /// Asserts success with nothing on stderr.
    pub fn ok(&self) -> &Self {
        assert_eq!(self.code, Some(0), "{self:#?}");
        assert_eq!(self.stderr, "", "{self:#?}");
        self
    }

    /// Asserts the exit status and that stderr is exactly one `TOOL: ...` line; returns it.
    pub fn fails(&self, code: i32) -> &str {
        assert_eq!(self.code, Some(code), "{self:#?}");
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "one line on stderr expected: {self:#?}");
        assert!(
            lines[0].starts_with(&format!("{}: ", self.tool)),
            "{self:#?}"
        );
        lines[0]
    }

    /// Standard output as text (a tool's listing or report, not a file's bytes).
    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.stdout)
            .unwrap_or_else(|e| panic!("{} wrote no UTF-8 ({e}): {self:#?}", self.tool))
    }

    /// Standard output's lines.
    pub fn lines(&self) -> Vec<&str> {
        self.text().lines().collect()
    }
}
