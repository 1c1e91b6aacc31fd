//! Local files that are never left half-written (docs/CONVENTIONS.md): data goes to `NAME.part`
//! beside the destination, which is checked and only then renamed into place.
//!
//! Every file is opened so that a planted link cannot redirect it: a `.part` is created
//! fresh with `O_CREAT|O_EXCL|O_NOFOLLOW` (after removing whatever had its name: unlink never
//! follows a link), or, to resume, opened with `O_NOFOLLOW` and used only if it is a regular
//! file with no other hard link. A destination that exists and is not a regular file (a
//! device, a FIFO) is written in place, never replaced.

use crate::error::{Error, Kind, Result};
use crate::util::durable;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

#[cfg(feature = "cli")]
mod part;
#[cfg(feature = "cli")]
pub use part::{PartFile, Resume, part_path, resume_from};

/// 73 for `path`, saying why.
fn refused(path: &Path, why: &str) -> Error {
    Error::new(Kind::CantCreate, format!("{}: {why}", path.display()))
}

/// How a download reaches a local path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Through `NAME.part` beside this path, renamed onto it when complete.
    Atomic(PathBuf),
    /// Straight into this existing device, FIFO or other special file (as curl does): no
    /// `.part`, nothing replaced.
    InPlace(PathBuf),
}

/// Decides how to write `dest` before anything is downloaded: a folder there is refused
/// (73) at once. `follow` says the user named `dest` (`-o`): a symbolic link there is followed
/// to what it points to, as curl and cp do. A name that came from the server (`-O DIR`) never
/// follows a link: the link itself is replaced by the download.
pub fn plan(dest: &Path, follow: bool) -> Result<Plan> {
    let shown = dest.display();
    let meta = match fs::symlink_metadata(dest) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Plan::Atomic(dest.into())),
        Err(e) => return Err(Error::cant_create(shown, &e)),
    };
    let ft = meta.file_type();
    if ft.is_symlink() {
        if !follow {
            return Ok(Plan::Atomic(dest.into()));
        }
        return match fs::metadata(dest) {
            Ok(m) if m.is_dir() => Err(refused(dest, "is a folder")),
            Ok(m) if m.is_file() => {
                let real = fs::canonicalize(dest).map_err(|e| Error::cant_create(shown, &e))?;
                Ok(Plan::Atomic(real))
            }
            Ok(_) => Ok(Plan::InPlace(dest.into())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(refused(
                dest,
                "a symbolic link to a file that does not exist (name its target instead)",
            )),
            Err(e) => Err(Error::cant_create(shown, &e)),
        };
    }
    if ft.is_dir() {
        return Err(refused(dest, "is a folder"));
    }
    if ft.is_file() {
        return Ok(Plan::Atomic(dest.into()));
    }
    if ft.is_socket() {
        return Err(refused(dest, "is a socket"));
    }
    Ok(Plan::InPlace(dest.into()))
}

/// Makes sure `dir` is a folder to write into: with `create`, missing folders are made
/// (curl's `--create-dirs`); without, a missing one is refused (73), naming it and the flag.
pub fn ensure_folder(dir: &Path, create: bool) -> Result<()> {
    make_folders(dir, create, 0o777).map(drop)
}

/// [`ensure_folder`], with the folders made known: `dir` is a folder, made, with the folders missing above it, when `create`
/// (mode `mode`, less the umask); otherwise its absence is 73, naming `--create-dirs`.
/// Returns the folders that got a new entry (the one above each folder made).
pub fn make_folders(dir: &Path, create: bool, mode: u32) -> Result<Vec<PathBuf>> {
    use std::os::unix::fs::DirBuilderExt;
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let mut missing = Vec::new();
    let mut at = dir;
    loop {
        match fs::metadata(at) {
            Ok(m) if m.is_dir() => break,
            Ok(_) => {
                return Err(refused(at, "not a folder"));
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if !create {
                    return Err(refused(dir, "no such folder (--create-dirs creates it)"));
                }
                missing.push(at);
                match at.parent() {
                    Some(p) if !p.as_os_str().is_empty() => at = p,
                    _ => break,
                }
            }
            Err(e) => return Err(Error::cant_create(at.display(), &e)),
        }
    }
    let mut changed = Vec::new();
    for d in missing.into_iter().rev() {
        match fs::DirBuilder::new().mode(mode).create(d) {
            Ok(()) => changed.push(durable::parent_of(d).to_path_buf()),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && d.is_dir() => {}
            Err(e) => return Err(Error::cant_create(d.display(), &e)),
        }
    }
    changed.reverse();
    Ok(changed)
}

/// Gives `file`, about to replace `dest`, the permission bits of the `dest` it replaces (a
/// mode-600 file stays 600), as editors and `cp` do; a new file keeps the umask's mode.
pub fn keep_mode(file: &File, dest: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    match fs::symlink_metadata(dest) {
        Ok(m) if m.is_file() => file
            .set_permissions(fs::Permissions::from_mode(m.permissions().mode() & 0o777))
            .map_err(|e| Error::cant_create(dest.display(), &e)),
        _ => Ok(()),
    }
}

/// Opens an existing special file (device, FIFO) to write into it in place, as `-o` asks.
/// A FIFO's open waits for its reader, as with any program that writes to one.
pub fn open_in_place(path: &Path) -> Result<File> {
    let f = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| Error::cant_create(path.display(), &e))?;
    let m = f
        .metadata()
        .map_err(|e| Error::cant_create(path.display(), &e))?;
    if m.is_file() || m.is_dir() {
        // It changed since it was planned: never write a regular file without a .part.
        return Err(refused(path, "changed while the download was being set up"));
    }
    Ok(f)
}

/// A destination written as a stream, not through a `.part`: standard output, or a device
/// or FIFO that `-o` names. The library never opens standard output on its own: the caller
/// hands it one of these.
pub struct StreamOut {
    file: File,
    /// Names it in messages: "standard output" or the path.
    name: String,
    stdout: bool,
    /// The reader went away (EPIPE).
    closed: bool,
}

impl std::fmt::Debug for StreamOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StreamOut({})", self.name)
    }
}

impl StreamOut {
    /// Standard output, checked before anything is downloaded: a closed descriptor
    /// (`>&-`) or one not open for writing is an error (74) now, not data lost later. (Rust's
    /// own `stdout()` silently discards writes to a closed descriptor.)
    pub fn stdout() -> Result<StreamOut> {
        use std::os::fd::FromRawFd;
        crate::stdio::check_stdout()?;
        // SAFETY: dup of descriptor 1; the duplicate is a new descriptor the File owns.
        let fd = unsafe { libc::fcntl(1, libc::F_DUPFD_CLOEXEC, 3) };
        if fd < 0 {
            return Err(Error::local_io(
                "standard output",
                &io::Error::last_os_error(),
            ));
        }
        Ok(StreamOut {
            file: unsafe { File::from_raw_fd(fd) },
            name: "standard output".into(),
            stdout: true,
            closed: false,
        })
    }

    /// An existing device or FIFO, written in place (`Plan::InPlace`).
    pub fn in_place(path: &Path) -> Result<StreamOut> {
        Ok(StreamOut {
            file: open_in_place(path)?,
            name: path.display().to_string(),
            stdout: false,
            closed: false,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn is_stdout(&self) -> bool {
        self.stdout
    }

    /// Whether the reader went away: nothing more can be delivered here.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Writes all of `buf`. The reader of standard output going away (`| head`) is
    /// [`Kind::StdoutClosed`], which ends a run quietly; any other failure is 74.
    pub fn write(&mut self, buf: &[u8]) -> Result<()> {
        match self.file.write_all(buf) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                self.closed = true;
                if self.stdout {
                    Err(Error::stdout_closed())
                } else {
                    Err(Error::new(
                        Kind::Io,
                        format!("{}: the reader went away", self.name),
                    ))
                }
            }
            Err(e) => Err(Error::local_io(&self.name, &e)),
        }
    }

    /// Before a remote copy is deleted: waits until what was written has reached its end
    /// (a regular file: on disk; a pipe or FIFO: read by the reader, for at most `within`).
    /// A reader that went away with data unread, or never read it in time, is an error (74):
    /// the caller must then not delete.
    pub fn settle(&mut self, within: std::time::Duration) -> Result<()> {
        use std::os::fd::AsRawFd;
        let m = self
            .file
            .metadata()
            .map_err(|e| Error::local_io(&self.name, &e))?;
        if m.is_file() {
            return self
                .file
                .sync_all()
                .map_err(|e| Error::local_io(&self.name, &e));
        }
        if !m.file_type().is_fifo() {
            return Ok(());
        }
        let fd = self.file.as_raw_fd();
        let start = std::time::Instant::now();
        loop {
            let mut unread: libc::c_int = 0;
            let mut pfd = libc::pollfd {
                fd,
                events: 0,
                revents: 0,
            };
            // SAFETY: FIONREAD writes one c_int; poll reads one pollfd we own.
            let (ok, polled) = unsafe {
                (
                    libc::ioctl(fd, libc::FIONREAD, &mut unread) == 0,
                    libc::poll(&mut pfd, 1, 0),
                )
            };
            if !ok {
                // The size of what is unread cannot be known: nothing more to wait for.
                return Ok(());
            }
            if unread == 0 {
                return Ok(());
            }
            if polled > 0 && pfd.revents & libc::POLLERR != 0 {
                self.closed = true;
                return Err(Error::new(
                    Kind::Io,
                    format!(
                        "{}: the reader went away with {unread} bytes unread",
                        self.name
                    ),
                ));
            }
            if start.elapsed() >= within {
                return Err(Error::new(
                    Kind::Io,
                    format!(
                        "{}: the reader left {unread} bytes unread for {} s",
                        self.name,
                        within.as_secs_f64()
                    ),
                ));
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::part::{NAME_MAX, part_path};
    use super::*;
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::symlink;

    #[test]
    fn standard_output_is_a_stream_of_its_own() {
        let out = StreamOut::stdout().unwrap();
        assert!(out.is_stdout() && !out.is_closed());
        assert_eq!(format!("{out:?}"), "StreamOut(standard output)");
    }

    /// A FIFO whose reader went away is closed (and said so); another failure is an I/O
    /// error that leaves it open.
    #[test]
    fn a_stream_whose_reader_went_away_is_closed() {
        use std::os::unix::fs::OpenOptionsExt;
        let d = crate::util::test_folder("stream-out");
        let fifo = d.join("fifo");
        let c = std::ffi::CString::new(fifo.as_os_str().as_bytes()).unwrap();
        // SAFETY: a NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let reader = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&fifo)
            .unwrap();
        let mut out = StreamOut::in_place(&fifo).unwrap();
        assert!(!out.is_stdout());
        out.write(b"read").unwrap();
        assert!(!out.is_closed());
        // Read: settled. Unread: an error after the wait, and another once the reader left.
        let wait = std::time::Duration::from_millis(50);
        let mut buf = [0u8; 8];
        assert_eq!(std::io::Read::read(&mut &reader, &mut buf).unwrap(), 4);
        out.settle(wait).unwrap();
        out.write(b"abc").unwrap();
        let e = out.settle(wait).unwrap_err();
        assert!(
            e.to_string()
                .ends_with("fifo: the reader left 3 bytes unread for 0.05 s"),
            "{e}"
        );
        assert!(!out.is_closed());
        drop(reader);
        let e = out.settle(wait).unwrap_err();
        assert!(
            e.to_string()
                .ends_with("fifo: the reader went away with 3 bytes unread"),
            "{e}"
        );
        assert!(out.is_closed());
        let e = out.write(b"unread").unwrap_err();
        assert!(e.to_string().ends_with("fifo: the reader went away"), "{e}");
        assert_eq!(e.exit_code(), 74);
        assert!(out.is_closed());
        // A file open for reading only: EBADF, not a reader gone.
        fs::write(d.join("f"), b"x").unwrap();
        let mut out = StreamOut {
            file: File::open(d.join("f")).unwrap(),
            name: "f".into(),
            stdout: false,
            closed: false,
        };
        let e = out.write(b"y").unwrap_err();
        assert!(!e.to_string().contains("went away"), "{e}");
        assert!(!out.is_closed());
    }

    /// A replaced file's mode is kept (never a folder's); a regular file is never written
    /// in place.
    #[test]
    fn a_replaced_file_keeps_its_mode() {
        use std::os::unix::fs::PermissionsExt;
        let d = crate::util::test_folder("keep-mode");
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let (dest, new, dir) = (d.join("dest"), d.join("new"), d.join("dir"));
        fs::write(&dest, b"old").unwrap();
        fs::set_permissions(&dest, fs::Permissions::from_mode(0o640)).unwrap();
        fs::write(&new, b"new").unwrap();
        fs::set_permissions(&new, fs::Permissions::from_mode(0o604)).unwrap();
        fs::create_dir(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o711)).unwrap();
        let f = File::open(&new).unwrap();
        keep_mode(&f, &dir).unwrap();
        assert_eq!(mode(&new), 0o604);
        keep_mode(&f, &dest).unwrap();
        assert_eq!(mode(&new), 0o640);
        let e = open_in_place(&dest).unwrap_err().to_string();
        assert!(
            e.ends_with("dest: changed while the download was being set up"),
            "{e}"
        );
    }

    #[test]
    fn folders_made_say_which_folders_got_new_entries() {
        let d = crate::util::test_folder("folders");
        // Below a file: the lookup's own error, naming the folder asked for.
        fs::write(d.join("file"), b"x").unwrap();
        for create in [false, true] {
            let e = ensure_folder(&d.join("file/x"), create)
                .unwrap_err()
                .to_string();
            assert!(e.ends_with("file/x: Not a directory"), "{e}");
        }
        // Through "..", a mkdir meets what is there already: a folder is fine (as when
        // another process makes it meanwhile), a file is not.
        make_folders(&d.join("q/../r/s/../s"), true, 0o700).unwrap();
        assert!(d.join("q").is_dir() && d.join("r/s").is_dir());
        let e = make_folders(&d.join("q2/../file"), true, 0o700).unwrap_err();
        assert!(e.to_string().ends_with("q2/../file: File exists"), "{e}");
        for made in ["q", "q2", "r/s", "r"] {
            fs::remove_dir(d.join(made)).unwrap();
        }
        fs::remove_file(d.join("file")).unwrap();
        let e = make_folders(&d.join("a/b"), false, 0o700).unwrap_err();
        assert_eq!(e.exit_code(), 73);
        assert!(
            e.to_string()
                .ends_with("a/b: no such folder (--create-dirs creates it)")
        );
        assert_eq!(
            make_folders(&d.join("a/b/c"), true, 0o700).unwrap(),
            [d.join("a/b"), d.join("a"), d.clone()]
        );
        assert!(d.join("a/b/c").is_dir());
        assert!(
            make_folders(&d.join("a/b/c"), false, 0o700)
                .unwrap()
                .is_empty()
        );
        std::fs::write(d.join("f"), b"").unwrap();
        let e = make_folders(&d.join("f"), true, 0o700).unwrap_err();
        assert!(e.to_string().ends_with("/f: not a folder"), "{e}");
        assert_eq!(e.exit_code(), 73);
        std::fs::remove_dir_all(&d).unwrap();
    }

    struct Dir(PathBuf);
    impl Dir {
        fn new(tag: &str) -> Dir {
            let d = crate::util::test_folder(&format!("transfer-{tag}"));
            Dir(d)
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    /// A folder holding `victim`, a file a planted link or hard link points to.
    fn with_victim(tag: &str) -> (Dir, PathBuf) {
        let d = Dir::new(tag);
        let victim = d.0.join("victim");
        fs::write(&victim, b"precious").unwrap();
        (d, victim)
    }

    #[test]
    fn part_names_fit_a_file_name() {
        assert_eq!(part_path(Path::new("d/f.bin")), Path::new("d/f.bin.part"));
        let name = "é".repeat(125); // 250 bytes
        let p = part_path(&Path::new("d").join(&name));
        let shown = p.file_name().unwrap().as_bytes();
        assert!(shown.len() <= NAME_MAX, "{}", shown.len());
        assert!(std::str::from_utf8(shown).unwrap().ends_with(".part"));
        assert_eq!(
            p,
            part_path(&Path::new("d").join(&name)),
            "the same every run"
        );
        let other = part_path(&Path::new("d").join(format!("{}x", "é".repeat(124))));
        assert_ne!(p, other);
        // Cut at 200 bytes falls inside a character here: the cut moves before it.
        let odd = format!("a{}", "é".repeat(127)); // 255 bytes
        let p = part_path(&Path::new("d").join(&odd));
        let shown = p.file_name().unwrap().as_bytes();
        let text = std::str::from_utf8(shown).expect("cut between characters");
        assert!(text.starts_with(&odd[..199]), "{text}");
        assert_eq!(text.len(), 199 + ".0123456789abcdef.part".len(), "{text}");
        // A name that fits with `.part` is kept whole, however long.
        for len in [1, 60, 250] {
            let name = "n".repeat(len);
            let p = part_path(&Path::new("d").join(&name));
            assert_eq!(p, Path::new("d").join(format!("{name}.part")));
        }
        // Bytes that are not UTF-8 (a name may be any bytes): no character boundary to
        // cut at, the digest alone then, and no panic.
        let raw = std::ffi::OsStr::from_bytes(&[0x80; 300]);
        let p = part_path(&Path::new("d").join(raw));
        let shown = p.file_name().unwrap().as_bytes();
        assert_eq!(shown.len(), ".0123456789abcdef.part".len(), "{shown:?}");
        assert!(shown.starts_with(b".") && shown.ends_with(b".part"));
    }

    #[test]
    fn a_planted_link_at_the_part_is_never_followed() {
        let (d, victim) = with_victim("link");
        let dest = d.0.join("f.bin");
        symlink(&victim, part_path(&dest)).unwrap();
        // A fresh download replaces the link, never writes through it.
        let mut p = PartFile::open(&dest, Resume::Fresh).unwrap();
        p.write(b"new").unwrap();
        p.publish(None, false).unwrap();
        assert_eq!(fs::read(&victim).unwrap(), b"precious");
        assert_eq!(fs::read(&dest).unwrap(), b"new");
        // Resuming refuses a link.
        symlink(&victim, part_path(&dest)).unwrap();
        let e = PartFile::open(&dest, Resume::Part).err().unwrap();
        assert_eq!(e.exit_code(), 73);
        assert!(e.to_string().contains("symbolic link"), "{e}");
        assert_eq!(fs::read(&victim).unwrap(), b"precious");
    }

    #[test]
    fn hard_links_and_fifos_are_refused_for_resuming() {
        let (d, victim) = with_victim("hard");
        let dest = d.0.join("f");
        fs::hard_link(&victim, part_path(&dest)).unwrap();
        let e = PartFile::open(&dest, Resume::Part).err().unwrap();
        assert!(e.to_string().contains("hard links"), "{e}");
        fs::remove_file(part_path(&dest)).unwrap();
        let fifo = std::ffi::CString::new(part_path(&dest).as_os_str().as_bytes()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        let e = PartFile::open(&dest, Resume::Part).err().unwrap();
        assert!(e.to_string().contains("not a regular file"), "{e}");
    }

    #[test]
    fn plans_follow_links_only_when_the_user_named_them() {
        let d = Dir::new("plan");
        let target = d.0.join("real");
        fs::write(&target, b"x").unwrap();
        let link = d.0.join("link");
        symlink(&target, &link).unwrap();
        assert_eq!(plan(&link, false).unwrap(), Plan::Atomic(link.clone()));
        assert_eq!(
            plan(&link, true).unwrap(),
            Plan::Atomic(fs::canonicalize(&target).unwrap())
        );
        assert_eq!(plan(&d.0, true).unwrap_err().exit_code(), 73);
        let null = Path::new("/dev/null");
        assert_eq!(plan(null, true).unwrap(), Plan::InPlace(null.into()));
        let dangling = d.0.join("dangling");
        symlink(d.0.join("nothing"), &dangling).unwrap();
        assert_eq!(plan(&dangling, true).unwrap_err().exit_code(), 73);
        assert_eq!(
            plan(&dangling, false).unwrap(),
            Plan::Atomic(dangling.clone())
        );
        let e = plan(&dangling, true).unwrap_err().to_string();
        assert!(
            e.contains("a symbolic link to a file that does not exist"),
            "{e}"
        );
        // A name that cannot be looked up (below a file) is refused, not planned, and a
        // link to one says why.
        let below = target.join("x");
        let e = plan(&below, false).unwrap_err();
        assert_eq!(e.exit_code(), 73, "{e}");
        let to_below = d.0.join("to-below");
        symlink(&below, &to_below).unwrap();
        let e = plan(&to_below, true).unwrap_err().to_string();
        assert!(e.ends_with("to-below: Not a directory"), "{e}");
        // Followed: a link to a folder is refused, one to a device written in place.
        let to_dir = d.0.join("to-dir");
        symlink(&d.0, &to_dir).unwrap();
        let e = plan(&to_dir, true).unwrap_err().to_string();
        assert!(e.ends_with("to-dir: is a folder"), "{e}");
        let to_null = d.0.join("to-null");
        symlink(null, &to_null).unwrap();
        assert_eq!(plan(&to_null, true).unwrap(), Plan::InPlace(to_null));
    }

    #[test]
    fn resuming_the_destination_never_takes_it_from_its_name() {
        let d = Dir::new("dest");
        let dest = d.0.join("f");
        fs::write(&dest, b"abc").unwrap();
        assert_eq!(resume_from(&dest, Some(10)), Resume::Dest);
        assert_eq!(resume_from(&dest, Some(2)), Resume::Fresh);
        let mut p = PartFile::open(&dest, Resume::Dest).unwrap();
        assert_eq!(p.len(), 3);
        p.write(b"de").unwrap();
        // Starting over leaves the destination as it was and uses a fresh .part.
        p.restart().unwrap();
        assert_eq!(fs::read(&dest).unwrap(), b"abc");
        p.write(b"whole").unwrap();
        p.discard();
        assert_eq!(fs::read(&dest).unwrap(), b"abc");
        assert!(!part_path(&dest).exists());
        // Failing after appending keeps the file, longer, under its name.
        let mut p = PartFile::open(&dest, Resume::Dest).unwrap();
        p.write(b"de").unwrap();
        p.discard();
        assert_eq!(fs::read(&dest).unwrap(), b"abcde");
    }
}
