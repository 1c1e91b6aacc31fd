//! Files replaced whole (docs/CONVENTIONS.md, "Files are never left half-written"): the new
//! contents go to a temporary file beside the destination, which is fsynced and renamed
//! onto it, and then the folder is fsynced. A crash leaves the old file or the new one, never
//! a mix; once [`replace`] returns, the new one survives a crash. Every step's failure is an
//! error, the folder's sync too: a file renamed into a folder that was not synced may still
//! be lost (rename(2) is durable only once its folder is, fsync(2)).

use crate::error::{Error, Kind, Result, io_reason};
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// The folder a file `path` goes into (`.` for a bare name).
pub fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Fsyncs the folder `dir`, so that the entries made, renamed or removed in it survive a
/// crash. A folder that cannot be opened (no read permission) or synced is an error (74)
/// naming it.
pub fn sync_folder(dir: &Path) -> Result<()> {
    sync_folder_with(dir, |d| File::open(d)?.sync_all())
}

fn sync_folder_with(dir: &Path, sync: impl FnOnce(&Path) -> io::Result<()>) -> Result<()> {
    sync(dir).map_err(|e| Error::local_io(format!("{}: cannot sync the folder", dir.display()), &e))
}

/// Creates a temporary file beside `dest`, named `NAME.TAG.EXT` with a new `TAG` from `tag`
/// for each of a few tries, with `mode` (less the umask). O_EXCL with O_NOFOLLOW: it never
/// opens a file that exists, nor follows a link planted under its name. Failure is 73
/// naming `dest`.
pub fn create_beside(
    dest: &Path,
    ext: &str,
    mode: u32,
    mut tag: impl FnMut() -> Result<String>,
) -> Result<(File, PathBuf)> {
    let name = dest.file_name().ok_or_else(|| {
        Error::new(
            Kind::CantCreate,
            format!("{}: not a file name", dest.display()),
        )
    })?;
    let mut last = None;
    for _ in 0..8 {
        let mut tmp_name = name.to_os_string();
        tmp_name.push(format!(".{}.{ext}", tag()?));
        let tmp = dest.with_file_name(tmp_name);
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&tmp)
        {
            Ok(f) => return Ok((f, tmp)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(Error::cant_create(dest.display(), &e)),
        }
    }
    let e = last.unwrap_or_else(|| io::Error::other("no free temporary name"));
    Err(Error::cant_create(dest.display(), &e))
}

/// Renames `tmp` onto `dest`, replacing what was there in one step. Failure is 73 naming
/// `dest`.
pub fn rename(tmp: &Path, dest: &Path) -> Result<()> {
    fs::rename(tmp, dest).map_err(|e| Error::cant_create(dest.display(), &e))
}

/// Puts the temporary `tmp`, written through `file`, in `dest`'s place: fsync, rename,
/// fsync of the folder. A failure before the rename leaves `dest` as it was and `tmp` for
/// the caller to remove; a failure of the folder's sync (74) says that `dest` is written but
/// may not survive a crash.
pub fn replace(file: &File, tmp: &Path, dest: &Path) -> Result<()> {
    file.sync_all()
        .map_err(|e| Error::local_io(dest.display(), &e))?;
    rename_durably(tmp, dest)
}

/// [`replace`] for a temporary whose data the caller has synced already (a download, synced
/// while the server is kept waiting): rename, fsync of the folder.
pub fn rename_durably(tmp: &Path, dest: &Path) -> Result<()> {
    rename_durably_with(tmp, dest, sync_folder)
}

fn rename_durably_with(
    tmp: &Path,
    dest: &Path,
    sync_dir: impl FnOnce(&Path) -> Result<()>,
) -> Result<()> {
    rename(tmp, dest)?;
    let dir = parent_of(dest);
    sync_dir(dir).map_err(|e| {
        let why = e.io_source().map_or_else(|| e.message().to_string(), io_reason);
        let m = format!(
            "{}: written, but its folder {} could not be synced ({why}): it may not survive a crash",
            dest.display(),
            dir.display()
        );
        e.with_message(m)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    struct Dir(PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }
    fn dir(tag: &str) -> Dir {
        Dir(crate::util::test_folder(&format!("durable-{tag}")))
    }
    fn names(d: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_temporary_replaces_the_destination_whole() {
        let d = dir("replace");
        let dest = d.0.join("f");
        fs::write(&dest, b"old").unwrap();
        let mut n = 0;
        let (mut f, tmp) = create_beside(&dest, "tmp", 0o600, || {
            n += 1;
            Ok(format!("t{n}"))
        })
        .unwrap();
        assert_eq!(tmp, d.0.join("f.t1.tmp"));
        f.write_all(b"new").unwrap();
        assert_eq!(fs::read(&dest).unwrap(), b"old");
        replace(&f, &tmp, &dest).unwrap();
        assert_eq!(fs::read(&dest).unwrap(), b"new");
        assert_eq!(names(&d.0), ["f"]);
    }

    #[test]
    fn a_taken_or_planted_name_is_never_opened() {
        let d = dir("taken");
        let dest = d.0.join("f");
        let victim = d.0.join("victim");
        fs::write(&victim, b"precious").unwrap();
        std::os::unix::fs::symlink(&victim, d.0.join("f.a.part")).unwrap();
        fs::write(d.0.join("f.b.part"), b"someone else's").unwrap();
        let mut tags = ["a", "b", "c"].into_iter();
        let (_, tmp) =
            create_beside(&dest, "part", 0o666, || Ok(tags.next().unwrap().into())).unwrap();
        assert_eq!(tmp, d.0.join("f.c.part"));
        assert_eq!(fs::read(&victim).unwrap(), b"precious");
        let e = create_beside(&dest, "part", 0o666, || Ok("a".into())).unwrap_err();
        assert_eq!(e.exit_code(), 73);
        assert!(
            e.to_string().starts_with(&format!("{}: ", dest.display())),
            "{e}"
        );
        let e = create_beside(Path::new("/"), "part", 0o666, || Ok("x".into())).unwrap_err();
        assert_eq!(
            (e.exit_code(), e.to_string()),
            (73, "/: not a file name".into())
        );
    }

    #[test]
    fn only_a_taken_name_is_tried_again() {
        // A folder that does not exist: no other name can help, one try.
        let d = dir("once");
        let mut tries = 0;
        let e = create_beside(&d.0.join("gone/f"), "tmp", 0o600, || {
            tries += 1;
            Ok(format!("t{tries}"))
        })
        .unwrap_err();
        assert_eq!(tries, 1);
        assert!(e.to_string().ends_with("No such file or directory"), "{e}");
    }

    #[test]
    fn a_folder_that_cannot_be_synced_is_an_error_naming_it() {
        let d = dir("nosync");
        let e = sync_folder(&d.0.join("gone")).unwrap_err();
        assert_eq!(e.exit_code(), 74);
        assert_eq!(
            e.to_string(),
            format!(
                "{}/gone: cannot sync the folder: No such file or directory",
                d.0.display()
            )
        );
        // In place, but not durable: said so, and an error.
        let dest = d.0.join("f");
        let (_, tmp) = create_beside(&dest, "tmp", 0o600, || Ok("x".into())).unwrap();
        let e = rename_durably_with(&tmp, &dest, |dir| {
            sync_folder_with(dir, |_| Err(io::Error::from_raw_os_error(libc::EIO)))
        })
        .unwrap_err();
        assert_eq!(e.exit_code(), 74);
        assert_eq!(
            e.to_string(),
            format!(
                "{}: written, but its folder {} could not be synced (Input/output error): it may not survive a crash",
                dest.display(),
                d.0.display()
            )
        );
        assert_eq!(names(&d.0), ["f"]);
    }

    #[test]
    fn parents_of_bare_names_are_here() {
        assert_eq!(parent_of(Path::new("f")), Path::new("."));
        assert_eq!(parent_of(Path::new("a/f")), Path::new("a"));
    }
}
