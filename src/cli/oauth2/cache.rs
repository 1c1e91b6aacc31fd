//! The token cache: one owner-only file per account under
//! `$XDG_STATE_HOME/posthaste/oauth2/` (docs/CONVENTIONS.md, "OAuth2"), holding the access
//! token, its expiry and the refresh token, as JSON. Every use holds its lock (`FILE.lock`,
//! the state files' kind), so that two runs never spend one refresh token twice (a
//! provider that rotates them would refuse the second as `invalid_grant`), and it is
//! replaced whole, durably (`util::durable`): a crash leaves the old tokens or the new.

use crate::error::{Error, Kind, Result};
use crate::util::durable;
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// What the cache holds. `Debug` shows no token.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Tokens {
    /// Whose tokens these are: a cache written for another endpoint or client is not used.
    pub token_endpoint: String,
    pub client_id: String,
    /// The user the tokens log in (an account's cache is named by the account alone): a
    /// cache of another user's is not used, its token never sent as this user's.
    #[serde(default)]
    pub user: String,
    pub access_token: Option<String>,
    /// When the access token expires, in seconds since the Unix epoch.
    pub expires_at: Option<u64>,
    pub refresh_token: Option<String>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("token_endpoint", &self.token_endpoint)
            .field("client_id", &self.client_id)
            .field("user", &self.user)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// The cache file of an account: `NAME` for the account `NAME` (`--account`), else
/// `USER@HASH`, `HASH` the first 16 hex digits of the SHA-256 of the token endpoint and the
/// client id; characters that could leave the folder percent-escaped.
pub fn path(
    home: &Path,
    account: Option<&str>,
    user: &str,
    endpoint: &str,
    client: &str,
) -> PathBuf {
    let name = match account {
        Some(a) => format!("{}.account", escape(a)),
        None => {
            let mut keyed = endpoint.as_bytes().to_vec();
            keyed.push(0);
            keyed.extend_from_slice(client.as_bytes());
            let hash = crate::util::digest::hex(&crate::util::digest::sha256(&keyed));
            format!("{}@{}", escape(user), &hash[..16])
        }
    };
    home.join("posthaste").join("oauth2").join(name)
}

fn escape(s: &str) -> String {
    let mut out = String::new();
    for (i, b) in s.bytes().enumerate() {
        if b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'_' | b'+' | b'@')
            || (b == b'.' && i > 0)
        {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The cache at `path`, locked while this value lives.
pub struct Cache {
    path: PathBuf,
    _lock: File,
}

impl Cache {
    /// Locks the cache at `path` (making its folder, mode 700), waiting for another run
    /// that holds it (refreshing) until `wait` has passed, then 75.
    pub fn lock(path: &Path, wait: Duration) -> Result<Cache> {
        if let Some(dir) = path.parent() {
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| Error::cant_create(dir.display(), &e))?;
            private_folder(dir)?;
        }
        let mut name = path.file_name().unwrap_or_default().to_os_string();
        name.push(".lock");
        let lock_path = path.with_file_name(name);
        let lock = crate::uidls::open_lock(&lock_path)?;
        let until = Instant::now() + wait;
        // SAFETY: flock on a descriptor we own.
        while unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::WouldBlock {
                return Err(Error::local_io(lock_path.display(), &e));
            }
            if Instant::now() >= until {
                return Err(Error::new(
                    Kind::TempFail,
                    format!(
                        "OAuth2 token cache {}: another run holds {}; try again later",
                        path.display(),
                        lock_path.display()
                    ),
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(Cache {
            path: path.to_path_buf(),
            _lock: lock,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The tokens kept, `None` when there is no cache yet. A file others may read is
    /// refused (77: it holds secrets), one that is not the cache's JSON is 65.
    pub fn read(&self) -> Result<Option<Tokens>> {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let shown = self.path.display();
        let mut file = match std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open(&self.path)
        {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::no_input(format!("OAuth2 token cache {shown}"), &e)),
        };
        let meta = file
            .metadata()
            .map_err(|e| Error::no_input(format!("OAuth2 token cache {shown}"), &e))?;
        if !meta.is_file() {
            return Err(Error::new(
                Kind::CantCreate,
                format!("OAuth2 token cache {shown}: not a regular file; refusing to use it"),
            ));
        }
        let mode = meta.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(Error::new(
                Kind::Auth,
                format!(
                    "OAuth2 token cache {shown}: readable by group or others (mode {:o}); refusing it: chmod 600 {shown}",
                    mode & 0o777
                ),
            ));
        }
        let mut text = Vec::new();
        Read::by_ref(&mut file)
            .take(super::endpoint::MAX_BODY * 4)
            .read_to_end(&mut text)
            .map_err(|e| Error::no_input(format!("OAuth2 token cache {shown}"), &e))?;
        serde_json::from_slice(&text).map(Some).map_err(|e| {
            Error::new(
                Kind::Data,
                format!(
                    "OAuth2 token cache {shown}: not a token cache posthaste wrote ({e}); remove it and sign in again"
                ),
            )
        })
    }

    /// Replaces the cache with `tokens`, durably (fsync, rename, fsync of the folder), mode
    /// 600: once this returns, a rotated refresh token survives a crash.
    pub fn write(&self, tokens: &Tokens) -> Result<()> {
        let _held = crate::interrupt::hold();
        let text = serde_json::to_vec_pretty(tokens)
            .map_err(|e| Error::new(Kind::Software, format!("OAuth2 token cache: {e}")))?;
        let (mut file, tmp) =
            durable::create_beside(&self.path, "tmp", 0o600, crate::jobs::ftp_put::random_tag)?;
        let written = file
            .write_all(&text)
            .map_err(|e| Error::local_io(self.path.display(), &e))
            .and_then(|()| durable::replace(&file, &tmp, &self.path));
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        written
    }
}

/// The cache's folder must be the user's alone to change (77 otherwise): one that another
/// user owns, or that group or others may write to, lets them plant or swap files beside
/// the tokens (a cache of their own, a lock held for ever), as ssh refuses such a
/// `~/.ssh`. Made mode 700 when missing; one that was there already is checked here.
fn private_folder(dir: &Path) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let shown = dir.display();
    let meta = std::fs::metadata(dir).map_err(|e| Error::cant_create(&shown, &e))?;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    let why = if meta.uid() != me {
        format!("owned by another user (uid {})", meta.uid())
    } else if meta.mode() & 0o022 != 0 {
        format!(
            "writable by group or others (mode {:o})",
            meta.mode() & 0o777
        )
    } else {
        return Ok(());
    };
    Err(Error::new(
        Kind::Auth,
        format!(
            "OAuth2 token cache folder {shown}: {why}; refusing it: chmod 700 {shown}, owned by you"
        ),
    ))
}

/// Seconds since the Unix epoch, now.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn tokens(access: &str) -> Tokens {
        Tokens {
            token_endpoint: "https://t.example/token".into(),
            client_id: "cid".into(),
            user: "me".into(),
            access_token: Some(access.into()),
            expires_at: Some(123),
            refresh_token: Some("rt".into()),
        }
    }

    #[test]
    fn names_keep_to_the_folder() {
        let home = Path::new("/h");
        assert_eq!(
            path(home, Some("work"), "u", "e", "c"),
            Path::new("/h/posthaste/oauth2/work.account")
        );
        assert_eq!(
            path(home, Some("../x"), "u", "e", "c"),
            Path::new("/h/posthaste/oauth2/%2E.%2Fx.account")
        );
        let p = path(home, None, "me@x.example", "https://t/token", "cid");
        let name = p.file_name().unwrap().to_str().unwrap();
        assert!(name.starts_with("me@x.example@") && name.len() == "me@x.example@".len() + 16);
        assert_ne!(
            p,
            path(home, None, "me@x.example", "https://t/token", "other")
        );
    }

    #[test]
    fn a_folder_others_may_change_is_refused() {
        use std::os::unix::fs::DirBuilderExt;
        let dir = std::env::temp_dir().join(format!("ph-oauth2-folder-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let folder = dir.join("posthaste/oauth2");
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&folder)
            .unwrap();
        std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o777)).unwrap();
        let p = folder.join("a.account");
        let e = Cache::lock(&p, Duration::from_millis(10)).err().unwrap();
        assert_eq!(e.exit_code(), 77);
        let shown = folder.display();
        assert_eq!(
            e.to_string(),
            format!(
                "OAuth2 token cache folder {shown}: writable by group or others (mode 777); refusing it: chmod 700 {shown}, owned by you"
            )
        );
        assert!(
            !folder.join("a.account.lock").exists(),
            "nothing made in it"
        );
        std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(Cache::lock(&p, Duration::from_millis(10)).is_ok());
        // Another user's folder (only root can make one to test with).
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } == 0 {
            std::os::unix::fs::chown(&folder, Some(54321), None).unwrap();
            let e = Cache::lock(&p, Duration::from_millis(10)).err().unwrap();
            assert_eq!(e.exit_code(), 77);
            assert!(
                e.to_string().contains("owned by another user (uid 54321)"),
                "{e}"
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn written_owner_only_and_replaced_whole() {
        let dir = std::env::temp_dir().join(format!("ph-oauth2-cache-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let p = dir.join("posthaste/oauth2/a.account");
        let c = Cache::lock(&p, Duration::from_millis(10)).unwrap();
        assert_eq!(c.read().unwrap(), None);
        c.write(&tokens("one")).unwrap();
        let ino = std::fs::metadata(&p).unwrap();
        c.write(&tokens("two")).unwrap();
        assert_eq!(c.read().unwrap(), Some(tokens("two")));
        let meta = std::fs::metadata(&p).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        use std::os::unix::fs::MetadataExt;
        assert_ne!(
            meta.ino(),
            ino.ino(),
            "replaced by a rename, not rewritten in place"
        );
        let dir_mode = std::fs::metadata(p.parent().unwrap())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(dir_mode & 0o777, 0o700);
        // No temporary file left beside it.
        let names: Vec<_> = std::fs::read_dir(p.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
        // Another run waits for the lock, then gives up with 75.
        let e = Cache::lock(&p, Duration::from_millis(100)).err().unwrap();
        assert_eq!(e.exit_code(), 75);
        drop(c);
        let c = Cache::lock(&p, Duration::from_millis(10)).unwrap();
        // A cache others may read is refused, without its contents.
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = c.read().unwrap_err();
        assert_eq!(e.exit_code(), 77);
        assert!(
            e.to_string()
                .ends_with(&format!("chmod 600 {}", p.display())),
            "{e}"
        );
        std::fs::write(&p, "junk").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(c.read().unwrap_err().exit_code(), 65);
        assert!(!format!("{:?}", tokens("secret-at")).contains("secret-at"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
