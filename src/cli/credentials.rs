//! Credentials (docs/CONVENTIONS.md, "Credentials"): the user name from `--user`, the URL or
//! (with `--netrc-file`) netrc; the password, first found wins, from the URL,
//! `--password-file`, `--password-env`, `--password-cmd`, netrc, a prompt at a terminal;
//! otherwise exit 77.
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
use crate::session::sasl::Mechanism;
use crate::session::{Credentials, Method};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The warning for a password in the URL.
const URL_WARNING: &str = "a password in the URL is visible to other users in the process list; prefer --password-file, --password-env or --password-cmd";

/// The user name of a mail tool's login, which needs one (there is no anonymous login):
/// `example` is the URL a user name goes in (`pop3s://USER@HOST`), for the message that
/// asks for one (64).
pub fn mail_user(target: &Target, args: &CredArgs, example: &str) -> Result<String> {
    user_name(target, args)?.ok_or_else(|| {
        Error::new(
            Kind::Usage,
            format!(
                "{target}: no user name: give it in the URL ({example}://USER@{}), with --user, or from a netrc file named by --netrc-file",
                target.host
            ),
        )
    })
}

/// How `user` logs in: with the OAuth2 token in the variable `token_env` when given, else
/// with the password ([`password_warn`]); `method` is `--auth`. With `--auth external`, or
/// a client certificate (`cert`), `--auth` auto and no password given (nor a prompt), by
/// SASL EXTERNAL ([`external`]).
pub fn secret_for(
    target: &Target,
    user: &str,
    args: &CredArgs,
    token_env: Option<&str>,
    (method, cert): (Method, bool),
    warn: &dyn Fn(&str),
) -> Result<Credentials> {
    if method == Method::Sasl(Mechanism::External) {
        external_checked(token_env.is_some(), cert)?;
        return Ok(external(user, args));
    }
    let creds = match token_env {
        Some(var) => Credentials::token(user, token(var)?),
        None if cert && method == Method::Auto => {
            match given_password(target, user, args, &mut |w| warn(w))? {
                Some(creds) => creds,
                None => return Ok(external(user, args)),
            }
        }
        None => password_warn(target, user, args, &mut |w| warn(w))?,
    };
    Ok(creds.with_method(method))
}

/// A login by SASL EXTERNAL as `user` (RFC 4422 appendix A), msmtp's `auth external`: the
/// authorization identity is `--user`'s name when given, else empty (the certificate
/// names who logs in; a name in the URL only names the account here).
pub fn external(user: &str, args: &CredArgs) -> Credentials {
    Credentials::external(user, args.user.clone().unwrap_or_default())
}

/// `--auth external` asked for (the TLS client certificate is the login), checked against
/// the rest of the command line (an account's keys included): without `--cert` the server
/// could only refuse it, and an OAuth2 token given too (`token`) would be dropped unsaid.
/// Both are 64 before anything is connected.
pub fn external_checked(token: bool, cert: bool) -> Result<()> {
    let why = match (token, cert) {
        (true, _) => {
            "--auth external logs in with the client certificate, not with an OAuth2 token: leave out --auth external or the OAuth2 flags"
        }
        (false, false) => {
            "--auth external logs in with a client certificate: give --cert FILE (and --key FILE)"
        }
        (false, true) => return Ok(()),
    };
    Err(Error::new(Kind::Usage, why))
}

/// The OAuth2 access token in the environment variable `var` (`--oauth2-token-env`), without
/// one line ending: not set or empty is 77, CR, LF or NUL inside 64.
pub fn token(var: &str) -> Result<String> {
    env_secret("--oauth2-token-env", var, "token")
}

/// The secret (`what`: password, token) in the environment variable `var`, which `flag`
/// named, without one line ending: not set or empty is 77, CR, LF or NUL inside 64, said
/// without the secret.
fn env_secret(flag: &str, var: &str, what: &str) -> Result<String> {
    let value = std::env::var(var).unwrap_or_default();
    let secret = strip_line_end(&value);
    if secret.is_empty() {
        return Err(Error::new(
            Kind::Auth,
            format!("{flag} {var}: the environment variable is not set or empty"),
        ));
    }
    if !sendable(secret) {
        return Err(unsendable(format_args!("{flag} {var}"), what));
    }
    Ok(secret.to_string())
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
    if let Some(creds) = given_password(target, user, args, warn)? {
        return Ok(creds);
    }
    let found = |password: String| Credentials::password(user, password);
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
            "no password for {user}@{}: give --password-file FILE, --password-env VAR, --password-cmd CMD or a netrc entry (no terminal to ask at)",
            target.host
        ),
    ))
}

/// The password from where the user put one, as [`password_warn`] looks (the URL, the
/// files, variables and commands named, netrc), without asking at a terminal: `None` when
/// there is none.
fn given_password(
    target: &Target,
    user: &str,
    args: &CredArgs,
    warn: &mut dyn FnMut(&str),
) -> Result<Option<Credentials>> {
    let found = |password: String| Some(Credentials::password(user, password));
    if let Some(p) = &target.password {
        warn(URL_WARNING);
        return Ok(found(p.clone()));
    }
    if let Some(path) = &args.password_file {
        return Ok(found(read_password_file(path)?));
    }
    if let Some(p) = super::account::selected().and_then(|a| a.password.clone()) {
        return Ok(found(p));
    }
    if let Some(var) = &args.password_env {
        return Ok(found(env_secret("--password-env", var, "password")?));
    }
    if let Some(cmd) = &args.password_cmd {
        return Ok(found(run_password_cmd(cmd, PASSWORD_CMD_TIMEOUT)?));
    }
    if let Some((path, text)) = read_netrc(args)? {
        if let Some(p) = netrc::lookup(&text, &target.host, Some(user)).and_then(|e| e.password) {
            warn_if_readable(&path, warn);
            let p = check_password(
                p,
                format_args!("netrc file {}, machine {}", path.display(), target.host),
            )?;
            return Ok(found(p).map(|c| c.from_netrc(Some(path))));
        }
    }
    Ok(None)
}

/// How long `--password-cmd` may take: long enough for a passphrase typed into gpg's
/// pinentry, short enough that a command that hangs does not hold a cron job for ever.
pub const PASSWORD_CMD_TIMEOUT: Duration = Duration::from_secs(60);

/// The most a password command may print: a password is one short line.
const PASSWORD_CMD_MAX_OUTPUT: u64 = 64 * 1024;

/// `--password-cmd CMD` (msmtp's `passwordeval`): runs `sh -c CMD` with standard input
/// closed (smtp-send's message is there, and a secret helper that wants a passphrase asks
/// at the terminal itself), its standard error the tool's, and takes the first line it
/// prints, without its line ending, as the password. A command that fails, prints nothing,
/// or runs longer than `limit` (it is killed, with any child it started) is 77, naming the
/// command, never what it printed; a password holding NUL is 64.
pub fn run_password_cmd(cmd: &str, limit: Duration) -> Result<String> {
    use std::io::Read;
    use std::os::unix::process::CommandExt;
    use std::process::{Command, Stdio};
    let shown = format!("--password-cmd {}", crate::wire::printable(cmd));
    let fail = |why: String| Error::new(Kind::Auth, format!("{shown}: {why}"));
    let mut child = Command::new("/bin/sh")
        .arg("-c")
        .arg(cmd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .process_group(0)
        .spawn()
        .map_err(|e| fail(format!("cannot run it: {}", io_reason(&e))))?;
    let Some(stdout) = child.stdout.take() else {
        return Err(fail("cannot read what it prints".into()));
    };
    // Read on a thread, so that the waits below can end a command that never finishes, or
    // one whose background child keeps its output open.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut out = Vec::new();
        let read = stdout.take(PASSWORD_CMD_MAX_OUTPUT).read_to_end(&mut out);
        let _ = tx.send(read.map(|_| out));
    });
    let deadline = std::time::Instant::now() + limit;
    let group = child.id() as libc::pid_t;
    let stop = |child: &mut std::process::Child| {
        // SAFETY: kill(2) on the process group the command leads (process_group(0)).
        unsafe { libc::kill(-group, libc::SIGKILL) };
        let _ = child.wait();
        fail(format!(
            "did not finish within {} s (stopped)",
            limit.as_secs_f64()
        ))
    };
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Ok(None) => return Err(stop(&mut child)),
            Err(e) => return Err(fail(format!("cannot wait for it: {}", io_reason(&e)))),
        }
    };
    let left = deadline.saturating_duration_since(std::time::Instant::now());
    let out = match rx.recv_timeout(left) {
        Ok(Ok(out)) => out,
        Ok(Err(e)) => {
            return Err(fail(format!(
                "cannot read what it prints: {}",
                io_reason(&e)
            )));
        }
        Err(_) => return Err(stop(&mut child)),
    };
    if !status.success() {
        let how = match status.code() {
            Some(code) => format!("exit status {code}"),
            None => "killed by a signal".to_string(),
        };
        return Err(fail(format!("failed ({how})")));
    }
    let first = match out.iter().position(|&b| b == b'\n') {
        Some(i) => &out[..i],
        None => &out[..],
    };
    let first = first.strip_suffix(b"\r").unwrap_or(first);
    if first.is_empty() {
        return Err(fail("printed no password (its first line is empty)".into()));
    }
    let Ok(password) = String::from_utf8(first.to_vec()) else {
        return Err(fail("printed a password that is not UTF-8".into()));
    };
    check_password(password, &shown)
}

fn terminal_attached() -> bool {
    (std::io::stdin().is_terminal() || std::io::stderr().is_terminal())
        && std::fs::File::open("/dev/tty").is_ok()
}

/// The first line of a password file, which must not be readable by group or others.
pub fn read_password_file(path: &Path) -> Result<String> {
    read_secret_file("--password-file", path, "password")
}

/// The first line of the file `flag` names, a secret (`what`: password, client secret...),
/// which must not be readable by group or others (77, with the `chmod` that fixes it).
pub fn read_secret_file(flag: &str, path: &Path, what: &str) -> Result<String> {
    let shown = path.display();
    let meta =
        std::fs::metadata(path).map_err(|e| Error::no_input(format!("{flag} {shown}"), &e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(Error::new(
                Kind::Auth,
                format!(
                    "{flag} {shown}: readable by group or others (mode {:o}); refusing it: chmod 600 {shown}",
                    mode & 0o777
                ),
            ));
        }
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::no_input(format!("{flag} {shown}"), &e))?;
    // The first line, without its line end (LF, CRLF, or a lone CR at the very end).
    let line = match text.find('\n') {
        Some(i) => &text[..=i],
        None => text.as_str(),
    };
    let line = strip_line_end(line);
    if line.is_empty() {
        return Err(Error::new(
            Kind::Auth,
            format!("{flag} {shown}: the first line is empty"),
        ));
    }
    if !sendable(line) {
        return Err(unsendable(format_args!("{flag} {shown}"), what));
    }
    Ok(line.to_string())
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

    /// `--password-cmd CMD` run with a short limit, as the tool runs it with 60 s.
    fn cmd(c: &str) -> Result<String> {
        run_password_cmd(c, Duration::from_millis(1500))
    }

    #[test]
    fn a_password_command_gives_its_first_line() {
        assert_eq!(
            cmd("printf 's3cret\\r\\nsecond line\\n'").unwrap(),
            "s3cret"
        );
        assert_eq!(cmd("printf 'no line end'").unwrap(), "no line end");
        // Standard input is closed: a command reading it gets nothing (and takes nothing
        // from smtp-send's message).
        assert_eq!(cmd("cat; echo after-stdin").unwrap(), "after-stdin");
    }

    #[test]
    fn a_password_command_that_fails_is_77_and_never_shown() {
        let e = cmd("echo leaked-secret; exit 3").unwrap_err();
        assert_eq!(e.exit_code(), 77);
        assert_eq!(
            e.to_string(),
            "--password-cmd echo leaked-secret; exit 3: failed (exit status 3)"
        );
        let e = cmd("true").unwrap_err();
        assert_eq!(e.exit_code(), 77);
        assert!(
            e.to_string()
                .ends_with("printed no password (its first line is empty)")
        );
        let e = cmd("printf '\\nsecond'").unwrap_err();
        assert_eq!(e.exit_code(), 77);
        // NUL can never be sent: 64, without the password.
        let e = cmd("printf 'ab\\000cd\\n' | tr a-d e-h").unwrap_err();
        assert_eq!(e.exit_code(), 64);
        assert!(
            !e.to_string().contains("ef") && !e.to_string().contains("gh"),
            "{e}"
        );
    }

    #[test]
    fn a_password_command_that_hangs_is_stopped_with_what_it_started() {
        let marker = std::env::temp_dir().join(format!("ph-pwcmd-{}", std::process::id()));
        let _ = std::fs::remove_file(&marker);
        // The shell's child sleeps on; it is killed with the shell, so it never writes.
        let c = format!("(sleep 3; touch {}) & sleep 30", marker.display());
        let e = cmd(&c).unwrap_err();
        assert_eq!(e.exit_code(), 77);
        assert!(
            e.to_string()
                .ends_with("did not finish within 1.5 s (stopped)"),
            "{e}"
        );
        std::thread::sleep(Duration::from_millis(3500));
        assert!(!marker.exists(), "the command's child ran on");
    }

    #[test]
    fn a_password_command_whose_child_keeps_its_output_open_is_stopped() {
        // The shell ends at once; its background child holds standard output open.
        let e = cmd("echo pw; sleep 30 &").unwrap_err();
        assert_eq!(e.exit_code(), 77);
        assert!(
            e.to_string()
                .ends_with("did not finish within 1.5 s (stopped)"),
            "{e}"
        );
    }

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
