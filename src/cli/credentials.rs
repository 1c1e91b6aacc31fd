//! Credentials (CONVENTIONS.md, "Credentials"): the user name from `--user`, the URL or
//! netrc; the password, first found wins, from the URL, `--password-file`, `--password-env`,
//! netrc, a prompt at a terminal; otherwise exit 77.

use super::common::CredArgs;
use crate::error::{Error, Result, io_reason};
use crate::net::url::Target;
use crate::netrc;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// A user name and where its password came from.
#[derive(Clone)]
pub struct Credentials {
    pub user: String,
    pub password: String,
    /// The password was in the URL (visible in the process list): worth a warning.
    pub from_url: bool,
}

/// Finds the user name: `--user`, then the URL, then the netrc entry for the host.
/// `None` when none of them names one.
pub fn user_name(target: &Target, args: &CredArgs) -> Result<Option<String>> {
    if let Some(u) = args.user.clone().or_else(|| target.user.clone()) {
        return Ok(Some(u));
    }
    Ok(read_netrc(args)?
        .and_then(|text| netrc::lookup(&text, &target.host, None))
        .and_then(|e| e.login))
}

/// Finds the password for `user` at `target`'s host.
pub fn password(target: &Target, user: &str, args: &CredArgs) -> Result<Credentials> {
    let found = |password: String, from_url: bool| Credentials {
        user: user.to_string(),
        password,
        from_url,
    };
    if let Some(p) = &target.password {
        return Ok(found(p.clone(), true));
    }
    if let Some(path) = &args.password_file {
        return Ok(found(read_password_file(path)?, false));
    }
    if let Some(var) = &args.password_env {
        return match std::env::var(var) {
            Ok(v) if !v.is_empty() => Ok(found(v, false)),
            _ => Err(Error::Auth(format!(
                "--password-env {var}: the environment variable is not set or empty"
            ))),
        };
    }
    if let Some(text) = read_netrc(args)? {
        if let Some(p) = netrc::lookup(&text, &target.host, Some(user)).and_then(|e| e.password) {
            return Ok(found(p, false));
        }
    }
    if terminal_attached() {
        let prompt = format!("Password for {user}@{}: ", target.host);
        return match rpassword::prompt_password(prompt) {
            Ok(p) => Ok(found(p, false)),
            Err(e) => Err(Error::Auth(format!(
                "cannot read the password from the terminal: {}",
                io_reason(&e)
            ))),
        };
    }
    Err(Error::Auth(format!(
        "no password for {user}@{}: give --password-file FILE, --password-env VAR or a netrc entry (no terminal to ask at)",
        target.host
    )))
}

fn terminal_attached() -> bool {
    (std::io::stdin().is_terminal() || std::io::stderr().is_terminal())
        && std::fs::File::open("/dev/tty").is_ok()
}

/// The first line of a password file, which must not be readable by group or others.
pub fn read_password_file(path: &Path) -> Result<String> {
    let shown = path.display();
    let meta = std::fs::metadata(path)
        .map_err(|e| Error::no_input(format!("--password-file {shown}"), &e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(Error::Auth(format!(
                "--password-file {shown}: readable by group or others (mode {:o}); refusing it: chmod 600 {shown}",
                mode & 0o777
            )));
        }
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::no_input(format!("--password-file {shown}"), &e))?;
    let line = text.lines().next().unwrap_or("");
    if line.is_empty() {
        return Err(Error::Auth(format!(
            "--password-file {shown}: the first line is empty"
        )));
    }
    Ok(line.to_string())
}

/// The netrc text: `--netrc-file` (must exist), else `$NETRC`, else `~/.netrc` (optional).
fn read_netrc(args: &CredArgs) -> Result<Option<String>> {
    let (path, required): (PathBuf, bool) = if let Some(p) = &args.netrc_file {
        (p.clone(), true)
    } else if let Some(p) = std::env::var_os("NETRC").filter(|p| !p.is_empty()) {
        (PathBuf::from(p), false)
    } else if let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        (Path::new(&home).join(".netrc"), false)
    } else {
        return Ok(None);
    };
    match std::fs::read_to_string(&path) {
        Ok(t) => Ok(Some(t)),
        Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::no_input(
            format!("netrc file {}", path.display()),
            &e,
        )),
    }
}
