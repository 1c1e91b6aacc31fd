//! Credentials (docs/CONVENTIONS.md, "Credentials"): the user name from `--user`, the URL or
//! (with `--netrc-file`) netrc; the password, first found wins, from the URL,
//! `--password-file`, `--password-env`, netrc, a prompt at a terminal; otherwise exit 77.
//!
//! netrc is used as curl uses it: its entries are per host, not per service (the FTP
//! password of `machine mail.example.com` is no SMTP password), so an entry never chooses
//! who logs in unless the user asked for that file (`--netrc-file`, curl's `-n`), and it
//! gives a password only to the login the user named, from an entry with that login.
//!
//! What it finds is the session layer's [`Credentials`], for every protocol.

use super::common::CredArgs;
use crate::error::{Error, Kind, Result, io_reason};
use crate::net::url::Target;
use crate::netrc;
use crate::session::credentials::{sendable, unsendable};
use crate::session::{Credentials, Method};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// The warning for a password in the URL.
const URL_WARNING: &str = "a password in the URL is visible to other users in the process list; prefer --password-file or --password-env";

/// The login of a mail tool, which needs a user name (there is no anonymous login): the
/// secret is the OAuth2 token in the variable `token_env` when given, else the password
/// ([`password_warn`]); `method` is `--auth`. `example` is the URL a user name goes in
/// (`pop3s://USER@HOST`), for the message that asks for one (64).
pub fn mail_login(
    target: &Target,
    args: &CredArgs,
    token_env: Option<&str>,
    method: Method,
    example: &str,
    warn: &dyn Fn(&str),
) -> Result<Credentials> {
    let Some(user) = user_name(target, args)? else {
        return Err(Error::new(
            Kind::Usage,
            format!(
                "{target}: no user name: give it in the URL ({example}://USER@{}), with --user, or from a netrc file named by --netrc-file",
                target.host
            ),
        ));
    };
    let creds = match token_env {
        Some(var) => Credentials::token(user, token(var)?),
        None => password_warn(target, &user, args, &mut |w| warn(w))?,
    };
    Ok(creds.with_method(method))
}

/// The OAuth2 access token in the environment variable `var` (`--oauth2-token-env`), without
/// one line ending: not set or empty is 77, CR, LF or NUL inside 64.
pub fn token(var: &str) -> Result<String> {
    let value = std::env::var(var).unwrap_or_default();
    let token = strip_line_end(&value);
    if token.is_empty() {
        return Err(Error::new(
            Kind::Auth,
            format!("--oauth2-token-env {var}: the environment variable is not set or empty"),
        ));
    }
    if !sendable(token) {
        return Err(unsendable(
            format_args!("--oauth2-token-env {var}"),
            "token",
        ));
    }
    Ok(token.to_string())
}

/// Finds the user name: `--user`, then the URL, then, only when `--netrc-file` asks for
/// netrc (curl's `-n`), that file's entry for the host. `None` when none of them names one.
/// A user name holding CR, LF or NUL is refused (64), naming where it came from.
pub fn user_name(target: &Target, args: &CredArgs) -> Result<Option<String>> {
    let checked = |user: &String, source: &dyn std::fmt::Display| {
        if sendable(user) {
            Ok(Some(user.clone()))
        } else {
            Err(unsendable(source, "user name"))
        }
    };
    if let Some(u) = &args.user {
        return checked(u, &"--user");
    }
    if let Some(u) = &target.user {
        return checked(u, &"the URL");
    }
    if args.netrc_file.is_none() {
        return Ok(None);
    }
    let Some((path, text)) = read_netrc(args)? else {
        return Ok(None);
    };
    match netrc::lookup(&text, &target.host, None).and_then(|e| e.login) {
        Some(u) => checked(
            &u,
            &format_args!("netrc file {}, machine {}", path.display(), target.host),
        ),
        None => Ok(None),
    }
}

/// Removes one line ending (CRLF, LF or CR) from the end of a password read from a file or
/// a variable: `echo secret > file` and Windows editors add one that is never meant to be
/// part of the password.
pub fn strip_line_end(p: &str) -> &str {
    p.strip_suffix("\r\n")
        .or_else(|| p.strip_suffix('\n'))
        .or_else(|| p.strip_suffix('\r'))
        .unwrap_or(p)
}

/// A password can never contain CR, LF or NUL: it would end the command that carries it.
/// Refused with a message that names where it came from, never the password itself.
fn check_password(p: String, source: impl std::fmt::Display) -> Result<String> {
    if !sendable(&p) {
        return Err(unsendable(source, "password"));
    }
    Ok(p)
}

/// Finds the password for `user` at `target`'s host.
pub fn password(target: &Target, user: &str, args: &CredArgs) -> Result<Credentials> {
    password_warn(target, user, args, &mut |_| {})
}

/// [`password`], with `warn` told what is worth a warning (a password in the URL, a netrc
/// file others can read).
pub fn password_warn(
    target: &Target,
    user: &str,
    args: &CredArgs,
    warn: &mut dyn FnMut(&str),
) -> Result<Credentials> {
    let found = |password: String| Credentials::password(user, password);
    if let Some(p) = &target.password {
        warn(URL_WARNING);
        return Ok(found(p.clone()));
    }
    if let Some(path) = &args.password_file {
        return Ok(found(read_password_file(path)?));
    }
    if let Some(var) = &args.password_env {
        return match std::env::var(var) {
            Ok(v) if !strip_line_end(&v).is_empty() => Ok(found(check_password(
                strip_line_end(&v).to_string(),
                format_args!("--password-env {var}"),
            )?)),
            _ => Err(Error::new(
                Kind::Auth,
                format!("--password-env {var}: the environment variable is not set or empty"),
            )),
        };
    }
    if let Some((path, text)) = read_netrc(args)? {
        if let Some(p) = netrc::lookup(&text, &target.host, Some(user)).and_then(|e| e.password) {
            warn_if_readable(&path, warn);
            let p = check_password(
                p,
                format_args!("netrc file {}, machine {}", path.display(), target.host),
            )?;
            return Ok(found(p).from_netrc(Some(path)));
        }
    }
    if terminal_attached() {
        let prompt = format!("Password for {user}@{}: ", target.host);
        return match rpassword::prompt_password(prompt) {
            Ok(p) => Ok(found(check_password(p, "the password typed")?)),
            Err(e) => Err(Error::new(
                Kind::Auth,
                format!(
                    "cannot read the password from the terminal: {}",
                    io_reason(&e)
                ),
            )),
        };
    }
    Err(Error::new(
        Kind::Auth,
        format!(
            "no password for {user}@{}: give --password-file FILE, --password-env VAR or a netrc entry (no terminal to ask at)",
            target.host
        ),
    ))
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
            return Err(Error::new(
                Kind::Auth,
                format!(
                    "--password-file {shown}: readable by group or others (mode {:o}); refusing it: chmod 600 {shown}",
                    mode & 0o777
                ),
            ));
        }
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::no_input(format!("--password-file {shown}"), &e))?;
    // The first line, without its line end (LF, CRLF, or a lone CR at the very end).
    let line = match text.find('\n') {
        Some(i) => &text[..=i],
        None => text.as_str(),
    };
    let line = strip_line_end(line);
    if line.is_empty() {
        return Err(Error::new(
            Kind::Auth,
            format!("--password-file {shown}: the first line is empty"),
        ));
    }
    check_password(line.to_string(), format_args!("--password-file {shown}"))
}

/// Warns when a netrc file that holds a password can be read by group or others: curl
/// does not, ssh would refuse it. (It is still used: refusing would break existing setups.)
fn warn_if_readable(path: &Path, warn: &mut dyn FnMut(&str)) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(m) = std::fs::metadata(path) {
        let mode = m.permissions().mode();
        if mode & 0o077 != 0 {
            warn(&format!(
                "netrc file {} is readable by group or others (mode {:o}): chmod 600 {}",
                path.display(),
                mode & 0o777,
                path.display()
            ));
        }
    }
}

/// The netrc file and its text: `--netrc-file` (must exist), else `$NETRC`, else `~/.netrc`
/// (optional).
fn read_netrc(args: &CredArgs) -> Result<Option<(PathBuf, String)>> {
    if args.no_netrc {
        return Ok(None);
    }
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
        Ok(t) => Ok(Some((path, t))),
        Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::no_input(
            format!("netrc file {}", path.display()),
            &e,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::url::Scheme;

    /// A netrc file only its owner can read, in a folder of its own.
    fn netrc_file(tag: &str, text: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("ph-cred-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("netrc");
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        path
    }

    #[test]
    fn netrc_names_the_user_only_when_asked_for() {
        let rc = netrc_file("user", "machine mx.example login ftpuser password ftp-pw\n");
        let target = Target::parse("smtp://mx.example", &[Scheme::Smtp]).unwrap();
        // ~/.netrc or $NETRC alone never choose who logs in (curl without -n).
        let args = CredArgs::default();
        assert_eq!(user_name(&target, &args).unwrap(), None);
        // --netrc-file asks for it, as curl's -n.
        let args = CredArgs {
            netrc_file: Some(rc.clone()),
            ..CredArgs::default()
        };
        assert_eq!(
            user_name(&target, &args).unwrap().as_deref(),
            Some("ftpuser")
        );
        // The password of the login named, and where it came from.
        let c = password(&target, "ftpuser", &args).unwrap();
        assert_eq!(c.secret(), "ftp-pw");
        assert_eq!(c.origin, crate::session::Origin::Netrc(rc.clone()));
        // A login the user names wins over netrc's.
        let args = CredArgs {
            user: Some("ci".into()),
            netrc_file: Some(rc.clone()),
            ..CredArgs::default()
        };
        assert_eq!(user_name(&target, &args).unwrap().as_deref(), Some("ci"));
        let _ = std::fs::remove_dir_all(rc.parent().unwrap());
    }
}
