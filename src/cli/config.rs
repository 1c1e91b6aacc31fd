//! posthaste's config file, `$XDG_CONFIG_HOME/posthaste/config.toml` (else
//! `~/.config/posthaste/config.toml`), or the file `--config` names: one TOML table per tool.
//! smtp-send reads `[smtp-send]`, so that a bare `smtp-send -t` works from cron; flags given
//! on the command line override it. Other tables are left to their tools.
//!
//! ```toml
//! [smtp-send]
//! server = "smtp://mail.example.com:587"
//! user = "cron@example.com"
//! password_file = "/etc/posthaste/smtp-password"   # or password_env = "SMTP_PASSWORD",
//!                                                  # or password_cmd = "pass show smtp"
//! from = "cron@example.com"
//! tls = "required"                                  # auto, required or none
//! ```

use crate::error::{Error, Kind, Result, io_reason};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The `[smtp-send]` table. Unknown keys are refused, so a typo is not silently ignored.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SmtpSend {
    pub server: Option<String>,
    pub user: Option<String>,
    pub password_file: Option<PathBuf>,
    pub password_env: Option<String>,
    pub password_cmd: Option<String>,
    pub from: Option<String>,
    pub full_name: Option<String>,
    pub tls: Option<String>,
    pub cacert: Option<PathBuf>,
    pub pin: Option<String>,
    pub auth: Option<String>,
    pub helo: Option<String>,
    pub timeout: Option<String>,
    pub log: Option<PathBuf>,
    pub syslog: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
struct File {
    #[serde(rename = "smtp-send", default)]
    smtp_send: SmtpSend,
}

/// The default config file's path, if a home or XDG folder is known.
pub fn default_path() -> Option<PathBuf> {
    let xdg = std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty());
    let base = match xdg {
        Some(x) => PathBuf::from(x),
        None => PathBuf::from(std::env::var_os("HOME").filter(|v| !v.is_empty())?).join(".config"),
    };
    Some(base.join("posthaste").join("config.toml"))
}

/// Reads the `[smtp-send]` table of `path` (`--config`: must exist, 66 otherwise) or of the
/// default file (optional). Malformed TOML or an unknown key is 64, naming the file and the
/// place.
pub fn smtp_send(path: Option<&Path>) -> Result<SmtpSend> {
    let (path, required) = match path {
        Some(p) => (p.to_path_buf(), true),
        None => match default_path() {
            Some(p) => (p, false),
            None => return Ok(SmtpSend::default()),
        },
    };
    let unreadable = |e: &std::io::Error| {
        Error::new(
            Kind::NoInput,
            format!("config file {}: {}", path.display(), io_reason(e)),
        )
    };
    let mut file = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(SmtpSend::default());
        }
        Err(e) => return Err(unreadable(&e)),
    };
    check_private(&path, &file)?;
    let mut text = String::new();
    std::io::Read::read_to_string(&mut file, &mut text).map_err(|e| unreadable(&e))?;
    parse(&text).map_err(|why| {
        Error::new(
            Kind::Usage,
            format!("config file {}: {why}", path.display()),
        )
    })
}

/// Refuses a config file that someone else could change (docs/CONVENTIONS.md, "Config
/// file"): it says where the password goes, so whoever can write it, or replace it in its
/// folder, could send the password to a server of their own. As ssh refuses its config:
/// the file (checked on the descriptor read from) and its folder, and the folder of what a
/// link points to, must belong to the user or root and not be writable by group or others;
/// a folder with the sticky bit (/tmp) is fine, since nobody else may replace a file there.
/// A character device (`--config /dev/null`) holds nothing to fear.
fn check_private(path: &Path, file: &std::fs::File) -> Result<()> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let shown = path.display();
    let refuse = |why: String| Error::new(Kind::Auth, format!("config file {shown}: {why}"));
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    let owner_ok = |uid: u32| uid == me || uid == 0;
    let meta = file.metadata().map_err(|e| refuse(io_reason(&e)))?;
    if !meta.file_type().is_char_device() {
        if !owner_ok(meta.uid()) {
            return Err(refuse(format!(
                "owned by uid {}, not by you (uid {me}) or root, so its owner could send your password to a server of their own; refusing it",
                meta.uid()
            )));
        }
        if meta.mode() & 0o022 != 0 {
            return Err(refuse(format!(
                "writable by group or others (mode {:o}), so they could send your password to a server of their own; refusing it: chmod go-w {shown}",
                meta.mode() & 0o7777
            )));
        }
    }
    let mut folders = vec![folder_of(path)];
    if let Ok(real) = std::fs::canonicalize(path) {
        let f = folder_of(&real);
        if f != folders[0] {
            folders.push(f);
        }
    }
    for dir in folders {
        let d = dir.display();
        let meta =
            std::fs::metadata(&dir).map_err(|e| refuse(format!("{d}: {}", io_reason(&e))))?;
        let sticky = meta.mode() & 0o1000 != 0;
        if !owner_ok(meta.uid()) {
            return Err(refuse(format!(
                "its folder {d} is owned by uid {}, not by you (uid {me}) or root, so its owner could replace it; refusing it",
                meta.uid()
            )));
        }
        if meta.mode() & 0o022 != 0 && !sticky {
            return Err(refuse(format!(
                "its folder {d} is writable by group or others (mode {:o}), so they could replace it; refusing it: chmod go-w {d}",
                meta.mode() & 0o7777
            )));
        }
    }
    Ok(())
}

/// The folder holding `path` (`.` for a bare file name).
fn folder_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Parses a config file's text. Pure.
pub fn parse(text: &str) -> std::result::Result<SmtpSend, String> {
    let f: File = toml::from_str(text).map_err(|e| {
        // toml's message spans several lines (the line quoted, a caret): keep it one line.
        e.to_string()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('|') && !l.ends_with('|'))
            .collect::<Vec<_>>()
            .join(" ")
    })?;
    Ok(f.smtp_send)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_smtp_send_table_and_refuses_typos() {
        let c = parse(
            "[smtp-send]\nserver = \"smtp://mx.example:587\"\nuser = \"u\"\ntls = \"required\"\nsyslog = true\n\n[pop-fetch]\nanything = 1\n",
        )
        .unwrap();
        assert_eq!(c.server.as_deref(), Some("smtp://mx.example:587"));
        assert_eq!(c.tls.as_deref(), Some("required"));
        assert_eq!(c.syslog, Some(true));
        assert_eq!(parse("").unwrap(), SmtpSend::default());
        let e = parse("[smtp-send]\nsevrer = \"x\"\n").unwrap_err();
        assert!(e.contains("sevrer"), "{e}");
        assert!(!e.contains('\n'));
        assert!(parse("[smtp-send]\nserver = \n").is_err());
    }

    /// A config file reached through a link: the folder the link is in and the folder of
    /// the file it points to must both be the user's own (whoever may write the second
    /// could replace the file behind the link).
    #[test]
    fn the_folder_behind_a_link_is_checked_too() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path, m: u32| {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap()
        };
        let base = crate::util::test_folder("cfg-link");
        let (safe, open) = (base.join("safe"), base.join("open"));
        std::fs::create_dir_all(&safe).unwrap();
        std::fs::create_dir_all(&open).unwrap();
        mode(&base, 0o700);
        mode(&safe, 0o700);
        mode(&open, 0o777);
        let real = open.join("config.toml");
        std::fs::write(&real, "[smtp-send]\nhelo = \"x\"\n").unwrap();
        mode(&real, 0o600);
        let link = safe.join("config.toml");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let e = smtp_send(Some(&link)).unwrap_err();
        assert_eq!(e.exit_code(), 77, "{e}");
        assert!(
            e.message().starts_with(&format!(
                "config file {}: its folder {} is writable by group or others (mode 777)",
                link.display(),
                open.display()
            )),
            "{e}"
        );
        // The same file behind the link, its folder made private: read.
        mode(&open, 0o700);
        assert_eq!(smtp_send(Some(&link)).unwrap().helo.as_deref(), Some("x"));
        let _ = std::fs::remove_dir_all(&base);
    }
}
