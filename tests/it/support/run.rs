//! Every program the tests run (ftp-get, mime-pack, curl, sh, script, python3) runs through
//! here, under one watchdog: no run takes [`WATCHDOG`], so one that does is a hang (a timeout
//! that does not bound, a reader that never gets EOF). It is killed, with everything in its
//! process group, and the test fails saying so, instead of the suite never ending.
//!
//! ```ignore
//! let out = run::output(Command::new("curl").arg(url));          // stdin is /dev/null
//! let out = run::output_with_input(Command::new(BIN).args(a), b"body");
//! let mut child = run::spawn(Command::new(BIN).stdout(Stdio::piped()));
//! // ... read some of child.stdout, send a signal to child.id() ...
//! let status = child.wait();
//! ```

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{
    Child, ChildStderr, ChildStdin, ChildStdout, Command, ExitStatus, Output, Stdio,
};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::Duration;

/// No run in these tests takes this long.
pub const WATCHDOG: Duration = Duration::from_secs(60);

/// Runs `cmd` to its end with standard input from `/dev/null` (as `Command::output` does) and
/// standard output and error captured.
pub fn output(cmd: &mut Command) -> Output {
    output_with_stdin(cmd, Stdio::null())
}

/// Like [`output`], with standard input from `stdin` (a file, say).
pub fn output_with_stdin(cmd: &mut Command, stdin: impl Into<Stdio>) -> Output {
    cmd.stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    spawn(cmd).wait_with_output()
}

/// Like [`output`], writing `input` into a pipe on standard input from another thread (so a
/// program that writes before it has read everything cannot deadlock the test), then
/// closing it. A program that exits before reading everything is fine.
pub fn output_with_input(cmd: &mut Command, input: &[u8]) -> Output {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = spawn(cmd);
    let mut pipe = child.stdin.take().expect("piped stdin");
    let data = input.to_vec();
    let feeder = thread::spawn(move || {
        let _ = pipe.write_all(&data);
    });
    let out = child.wait_with_output();
    feeder.join().expect("stdin feeder");
    out
}

/// Starts `cmd` (with the standard streams it was given: `Command::spawn` inherits them by
/// default) under the watchdog, in a process group of its own so that the watchdog reaches
/// what it started too. Dropping the handle kills and reaps a child still running.
pub fn spawn(cmd: &mut Command) -> Watched {
    spawn_within(cmd, WATCHDOG)
}

/// Starts the program with SIGINT, SIGTERM and SIGHUP at their default action, whatever
/// the test run inherited: a test runner started in the background by a shell without job
/// control has SIGINT ignored, and the tools rightly leave an ignored signal ignored, so a
/// test of what a signal does would otherwise depend on how `cargo test` was started.
pub fn default_signals(cmd: &mut Command) -> &mut Command {
    use std::os::unix::process::CommandExt;
    // SAFETY: signal(2) is async-signal-safe, as pre_exec requires.
    unsafe {
        cmd.pre_exec(|| {
            for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
                libc::signal(sig, libc::SIG_DFL);
            }
            Ok(())
        })
    }
}

/// Sends SIGINT (Ctrl-C) to a child started with [`default_signals`], and its output once
/// it ended, checked to have ended by that signal.
pub fn interrupt(child: std::process::Child) -> Output {
    // SAFETY: kill(2) of our own child's pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().expect("wait for the child");
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGINT),
        "ends by the signal"
    );
    out
}

/// [`spawn`] with another limit than [`WATCHDOG`].
pub fn spawn_within(cmd: &mut Command, limit: Duration) -> Watched {
    let what = describe(cmd);
    cmd.process_group(0);
    default_signals(cmd);
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    let guard = Arc::new(Guard {
        reaped: Mutex::new(false),
        wake: Condvar::new(),
        killed: AtomicBool::new(false),
    });
    let pid = child.id() as libc::pid_t;
    let g = Arc::clone(&guard);
    thread::spawn(move || g.watch(pid, limit));
    Watched {
        stdin: child.stdin.take(),
        stdout: child.stdout.take(),
        stderr: child.stderr.take(),
        child: Some(child),
        guard,
        what,
        limit,
    }
}

/// A running program under the watchdog. Take its pipes from the public fields, as from
/// `std::process::Child`.
pub struct Watched {
    pub stdin: Option<ChildStdin>,
    pub stdout: Option<ChildStdout>,
    pub stderr: Option<ChildStderr>,
    /// `None` once reaped.
    child: Option<Child>,
    guard: Arc<Guard>,
    what: String,
    limit: Duration,
}

struct Guard {
    /// Set, under the lock, when the child is reaped: until then its pid (and process group)
    /// cannot belong to another process, so the watchdog never kills a stranger.
    reaped: Mutex<bool>,
    wake: Condvar,
    killed: AtomicBool,
}

impl Guard {
    fn watch(&self, pid: libc::pid_t, limit: Duration) {
        let reaped = self.reaped.lock().unwrap_or_else(|e| e.into_inner());
        let (reaped, _) = self
            .wake
            .wait_timeout_while(reaped, limit, |r| !*r)
            .unwrap_or_else(|e| e.into_inner());
        if !*reaped {
            self.killed.store(true, Ordering::SeqCst);
            kill_group(pid);
        }
    }
}

fn kill_group(pid: libc::pid_t) {
    // SAFETY: kill(2) with the negated pid of a process group leader we started and have
    // not reaped (the caller holds `Guard::reaped` or owns the unreaped child).
    unsafe { libc::kill(-pid, libc::SIGKILL) };
}

impl Watched {
    pub fn id(&self) -> u32 {
        self.child.as_ref().expect("not reaped").id()
    }

    /// Sends the program SIGTERM (as `kill` does), then waits for it as
    /// [`wait_with_output`](Watched::wait_with_output) does.
    pub fn terminate(self) -> Output {
        let status = Command::new("kill")
            .args(["-TERM", &self.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        self.wait_with_output()
    }

    /// Closes standard input (if the test did not take it), waits for the exit and returns
    /// the status. Panics if the watchdog had to kill the program.
    pub fn wait(&mut self) -> ExitStatus {
        drop(self.stdin.take());
        let status = self.reap();
        assert!(
            !self.guard.killed.load(Ordering::SeqCst),
            "{} ran for more than {:?}: killed",
            self.what,
            self.limit
        );
        status
    }

    /// Closes standard input, reads standard output and error to their ends (whichever were
    /// piped and not taken) and waits for the exit.
    pub fn wait_with_output(mut self) -> Output {
        drop(self.stdin.take());
        let out = self.stdout.take().map(reader);
        let err = self.stderr.take().map(reader);
        let status = self.wait();
        let collect = |h: Option<thread::JoinHandle<Vec<u8>>>| {
            h.map(|h| h.join().expect("pipe reader"))
                .unwrap_or_default()
        };
        Output {
            status,
            stdout: collect(out),
            stderr: collect(err),
        }
    }

    fn reap(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("reaped once");
        let pid = child.id();
        // Wait for the exit without reaping (WNOWAIT), then reap under the lock, so the
        // watchdog either kills before the reap or not at all.
        loop {
            // SAFETY: waitid(2) on our own child, into a zeroed siginfo_t.
            let rc = unsafe {
                let mut info: libc::siginfo_t = std::mem::zeroed();
                libc::waitid(libc::P_PID, pid, &mut info, libc::WEXITED | libc::WNOWAIT)
            };
            if rc == 0 || std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted
            {
                break;
            }
        }
        let mut reaped = self.guard.reaped.lock().unwrap_or_else(|e| e.into_inner());
        let status = child
            .wait()
            .unwrap_or_else(|e| panic!("wait for {}: {e}", self.what));
        *reaped = true;
        self.guard.wake.notify_all();
        status
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        if let Some(child) = &self.child {
            kill_group(child.id() as libc::pid_t);
            self.reap();
        }
    }
}

/// The peak resident memory (VmHWM) of the running process `pid`, in KiB.
pub fn peak_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|e| panic!("/proc/{pid}/status: {e}"));
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no VmHWM in /proc/{pid}/status: {status}"))
}

fn reader<R: Read + Send + 'static>(mut r: R) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut v = Vec::new();
        let _ = r.read_to_end(&mut v);
        v
    })
}

/// `program arg...`, for messages.
fn describe(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| a.to_string_lossy())
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn the_watchdog_kills_a_hung_program_and_what_it_started() {
    let dir = super::files::TempDir::new("watchdog");
    let pid_file = dir.join("background.pid");
    let start = std::time::Instant::now();
    let mut child = spawn_within(
        Command::new("sh")
            .arg("-c")
            .arg("sleep 30 & echo $! > \"$0\"; exec sleep 30")
            .arg(&pid_file)
            .stdin(Stdio::null()),
        Duration::from_secs(1),
    );
    let hung = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| child.wait()));
    let message = *hung
        .expect_err("a program past its limit fails the test")
        .downcast::<String>()
        .unwrap();
    assert!(
        message.ends_with("ran for more than 1s: killed"),
        "{message}"
    );
    assert!(message.starts_with("sh -c sleep 30 &"), "{message}");
    assert!(start.elapsed() < Duration::from_secs(10));
    // The background sleep, in the same process group, is gone too (or a zombie that
    // nobody reaps, in a container without an init).
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid.trim())).unwrap_or_default();
    let state = stat.rsplit(") ").next().and_then(|r| r.chars().next());
    assert!(matches!(state, None | Some('Z')), "{stat}");
}

#[test]
fn a_program_within_its_limit_is_untouched() {
    let out = output_with_input(
        Command::new("sh").args(["-c", "cat; echo err >&2; exit 3"]),
        b"in",
    );
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(out.stdout, b"in");
    assert_eq!(out.stderr, b"err\n");
}
