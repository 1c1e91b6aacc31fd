//! ftp-get end to end: the real binary against the scriptable fake server, checked by what a
//! user sees: the bytes on disk, the commands on the wire, the exit status and the one-line
//! message on stderr.
//!
//! One module per part of the plan the tests follow; the helpers every part uses are here.

mod curl_users;
mod download;
mod hostile_files;
mod hostile_servers;
mod login_glob;
mod options;
mod parallel;
mod trees;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::support::assert_in_order;
use crate::support::fake_ftp::*;
use crate::support::files::{TempDir, assert_file, mkfifo, part, sample, sha256};
use crate::support::run;
use crate::support::tool::{self, Out, tool};

/// A HOME with no .netrc: not the one of whoever runs the tests.
fn no_home() -> PathBuf {
    tool::no_home("ftp-get")
}

/// ftp-get with `args` and `env`, and `--timeout 5` unless the test gives one.
fn command(args: &[&str], env: &[(&str, &str)]) -> Command {
    tool("ftp-get").args(args).envs(env).timeout(5).command()
}

/// Runs ftp-get (under the watchdog of `support::run`) and records what it showed.
fn ftp_get_env(args: &[&str], env: &[(&str, &str)]) -> Out {
    tool("ftp-get").args(args).envs(env).timeout(5).run()
}

fn ftp_get(args: &[&str]) -> Out {
    ftp_get_env(args, &[])
}

/// The password of [`user_server`]'s user `u`.
const SECRET: &str = "s3cr3t-Pw!";

/// A server with one file, `f`, behind a login (`u`, [`SECRET`]).
fn user_server() -> FakeFtp {
    FakeFtp::builder()
        .file("f", "private data")
        .login("u", SECRET)
        .start()
}

/// `f` on [`user_server`], as user `u` without a password.
fn user_url(ftp: &FakeFtp) -> String {
    format!("ftp://u@127.0.0.1:{}/f", ftp.port())
}

/// ftp-get on [`user_url`] with `args`, given `password` in `$PW` (`--password-env PW`).
fn as_user(ftp: &FakeFtp, password: &str, args: &[&str]) -> Out {
    let url = user_url(ftp);
    let mut all = vec!["--password-env", "PW"];
    all.extend_from_slice(args);
    all.push(&url);
    ftp_get_env(&all, &[("PW", password)])
}

/// CSV files in `dir/` (a hidden one, one in a subfolder) and beside it, for the globs.
fn glob_server(b: Builder) -> FakeFtp {
    b.file("dir/a.csv", "a")
        .file("dir/b.csv", "bb")
        .file("dir/c.txt", "c")
        .file("dir/.hidden.csv", "h")
        .file("dir/sub/deep.csv", "d")
        .file("top.csv", "t")
        .start()
}

fn position(lines: &[String], line: &str) -> usize {
    lines
        .iter()
        .position(|l| l == line)
        .unwrap_or_else(|| panic!("{line:?} not in {lines:#?}"))
}

fn mtime(path: &Path) -> SystemTime {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .expect("mtime")
}
