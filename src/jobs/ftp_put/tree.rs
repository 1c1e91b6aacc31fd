//! ftp-put's `-r`: a local tree uploaded as it is walked, each entry opened relative to its
//! folder's descriptor and checked on its own.

use super::{Job, PutSource, Putter, Stop, Walked, WalkedFile};
use crate::error::{Error, Kind, Result};
use crate::ftp::client::MAX_PATH;
use crate::net::url::Target;
use std::collections::HashSet;
use std::ffi::CString;
use std::fs::{File, Metadata};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Folders deeper than this below the tree's top are not entered.
const MAX_DEPTH: usize = 64;

/// A local tree on its way up: the folders open on the way down (each with its local path
/// and its remote one), and every folder entered (with `--follow`, none twice).
#[derive(Default)]
struct TreeWalk {
    stack: Vec<(LocalDir, PathBuf, String)>,
    visited: HashSet<(u64, u64)>,
}

impl Putter<'_> {
    /// `-r`: uploads the folder `root` as the remote folder `target` (created), and
    /// everything below it, walking the local tree as it goes (open folders are all that
    /// is kept). Each entry is opened relative to its folder's descriptor, without following
    /// a link (unless `--follow`) and without blocking on a FIFO, then checked on its own
    /// descriptor: a name swapped for a link or a FIFO after the folder was read is never
    /// followed, for the first file as for the last, and a file is read from the
    /// descriptor checked. With `--follow`, a folder is never entered twice. Each failure
    /// is reported and the walk goes on.
    pub(super) fn put_tree(&mut self, root: &Path, target: &Target) -> Stop {
        let mut walk = TreeWalk::default();
        let remote_root = target.path.trim_end_matches('/').to_string();
        let opened = LocalDir::open(root).map_err(|e| Error::no_input(root.display(), &e));
        if let Err(e) = opened
            .and_then(|dir| self.enter(dir, root.to_path_buf(), &remote_root, target, &mut walk))
        {
            let fatal = self.login_failed(&e);
            self.events.fail(&e);
            return if fatal { Stop::Server } else { Stop::Next };
        }
        while let Some((dir, local, remote)) = walk.stack.last_mut() {
            let (name, kind) = match dir.next_entry() {
                None => {
                    walk.stack.pop();
                    continue;
                }
                Some(Err(e)) => {
                    let e = Error::no_input(local.display(), &e);
                    self.events.fail(&e);
                    walk.stack.pop();
                    continue;
                }
                Some(Ok(entry)) => entry,
            };
            let path = local.join(std::ffi::OsStr::from_bytes(name.to_bytes()));
            let Some(remote_path) = self.remote_path_of(&path, &name, remote) else {
                continue;
            };
            let Some((file, meta)) = self.open_entry(dir, &name, kind, &path) else {
                continue;
            };
            let res = if meta.is_dir() {
                self.enter_found(file, &meta, path, &remote_path, target, &mut walk)
            } else if meta.is_file() {
                match self.walked_file(path, file, meta, target.with_path(remote_path)) {
                    Some(res) => res,
                    // The queue is closed: the workers are gone.
                    None => return Stop::Server,
                }
            } else {
                self.events
                    .note(&format!("{}: not a regular file, skipped", path.display()));
                Ok(())
            };
            if let Err(e) = res {
                let fatal = self.login_failed(&e);
                self.events.fail(&e);
                if fatal {
                    return Stop::Server;
                }
            }
        }
        Stop::Next
    }

    /// The remote path of the entry `name` of the remote folder `remote` (`path` here), or
    /// `None` when no FTP command could carry it (reported).
    fn remote_path_of(&mut self, path: &Path, name: &CString, remote: &str) -> Option<String> {
        let Ok(utf8) = name.to_str() else {
            self.events.fail(&Error::new(
                Kind::NoInput,
                format!("{}: the name is not UTF-8; not uploaded", path.display()),
            ));
            return None;
        };
        if utf8.contains(['\r', '\n']) {
            // No FTP command can carry it (RFC 959 4.1.3): bad input, not bad usage.
            self.events.fail(&Error::new(
                Kind::Data,
                format!(
                    "{}: the name holds a line break (CR or LF), which no FTP command can carry; not uploaded",
                    crate::error::visible(&path.display().to_string())
                ),
            ));
            return None;
        }
        let remote_path = format!("{remote}/{utf8}");
        if remote_path.len() > MAX_PATH {
            // No command could carry it with its verb, MFMT's time or the temporary's
            // tag: bad input, as a line break is, and what is below it too.
            self.events.fail(&Error::new(
                Kind::Data,
                format!(
                    "{}: its remote path would be {} bytes long; remote paths are limited to {MAX_PATH} bytes: not uploaded",
                    crate::error::visible(&path.display().to_string()),
                    remote_path.len()
                ),
            ));
            return None;
        }
        Some(remote_path)
    }

    /// Opens the entry `name` of `dir` (`path`; `kind` as the folder's listing says) and
    /// reads its metadata; `None` when it is skipped (a link without `--follow`, a device)
    /// or cannot be opened (reported).
    fn open_entry(
        &mut self,
        dir: &LocalDir,
        name: &CString,
        kind: u8,
        path: &Path,
    ) -> Option<(File, Metadata)> {
        let link_note = || {
            format!(
                "{}: a symbolic link, skipped (--follow uploads what it points to)",
                path.display()
            )
        };
        // What the folder's listing says is only a hint, to leave devices and the like
        // unopened; what counts is the fstat of what was opened.
        match kind {
            libc::DT_LNK if !self.opts.follow => {
                self.events.note(&link_note());
                return None;
            }
            libc::DT_CHR | libc::DT_BLK | libc::DT_FIFO | libc::DT_SOCK => {
                self.events
                    .note(&format!("{}: not a regular file, skipped", path.display()));
                return None;
            }
            _ => {}
        }
        let file = match dir.open_entry(name, self.opts.follow) {
            Ok(f) => f,
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) && !self.opts.follow => {
                // A link now, where the folder's listing had something else.
                self.events.note(&link_note());
                return None;
            }
            Err(e) => {
                self.events.fail(&Error::no_input(path.display(), &e));
                return None;
            }
        };
        match file.metadata() {
            Ok(meta) => Some((file, meta)),
            Err(e) => {
                self.events.fail(&Error::no_input(path.display(), &e));
                None
            }
        }
    }

    /// A folder found in the walk: entered unless too deep or already entered (a loop
    /// through links).
    fn enter_found(
        &mut self,
        file: File,
        meta: &Metadata,
        path: PathBuf,
        remote_path: &str,
        target: &Target,
        walk: &mut TreeWalk,
    ) -> Result<()> {
        if walk.stack.len() >= MAX_DEPTH {
            self.events.note(&format!(
                "{}: deeper than {MAX_DEPTH} folders, not entered",
                path.display()
            ));
            return Ok(());
        }
        if !walk.visited.insert((meta.dev(), meta.ino())) {
            self.events.note(&format!(
                "{}: a folder already uploaded in this run (a link loop?), skipped",
                path.display()
            ));
            return Ok(());
        }
        LocalDir::from_file(file)
            .map_err(|e| Error::no_input(path.display(), &e))
            .and_then(|dir| self.enter(dir, path, remote_path, target, walk))
    }

    /// A file found in the walk, uploaded from the descriptor checked (or, with
    /// `--parallel`, handed to the workers: `None` when they are gone).
    fn walked_file(
        &mut self,
        path: PathBuf,
        file: File,
        meta: Metadata,
        target: Target,
    ) -> Option<Result<()>> {
        if let Err(e) = blocking(&file) {
            return Some(Err(Error::no_input(path.display(), &e)));
        }
        let job = Job {
            source: PutSource::Walked(Walked(Arc::new(WalkedFile { path, file, meta }))),
            target,
        };
        match self.queue {
            Some(q) => q.send(job).is_ok().then_some(Ok(())),
            None => Some(self.put(&job)),
        }
    }

    /// Takes the opened local folder `dir` (`local`) into the walk and makes its remote
    /// folder.
    fn enter(
        &mut self,
        dir: LocalDir,
        local: PathBuf,
        remote: &str,
        target: &Target,
        walk: &mut TreeWalk,
    ) -> Result<()> {
        walk.visited.insert(dir.id);
        let folder = target.with_path(remote.to_string());
        if self.opts.create_dirs && walk.stack.is_empty() {
            self.make_parents(&folder)?;
        }
        if !remote.is_empty() && !self.made.contains(remote) {
            // A refusal usually means it is there already. For the tree's own folder that
            // is checked: were its parent missing, every file would fail the same way.
            // (Below it, the uploads into a folder tell: a check there would cost a round
            // trip per folder on every run that finds them made.)
            if let Some(why) = self.client(&folder)?.make_dir(remote)? {
                if walk.stack.is_empty() {
                    self.check_refused_mkd(&folder, &why)?;
                }
            }
            self.made.insert(remote.to_string());
        }
        walk.stack.push((dir, local, remote.to_string()));
        Ok(())
    }
}

/// A local folder of a tree, read from its own descriptor (fdopendir), so that its entries
/// are opened relative to it (openat): a folder swapped for a link after it was opened
/// cannot lead the walk elsewhere.
struct LocalDir {
    dir: std::ptr::NonNull<libc::DIR>,
    /// Its device and inode (fstat), to enter it once.
    id: (u64, u64),
}

impl LocalDir {
    /// Opens the folder the user named (a link to one is followed: the user chose it).
    fn open(path: &std::path::Path) -> io::Result<LocalDir> {
        use std::os::unix::fs::OpenOptionsExt;
        let f = File::options()
            .read(true)
            .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
            .open(path)?;
        LocalDir::from_file(f)
    }

    /// Reads the folder `file` is open on (checked with fstat to be one).
    fn from_file(file: File) -> io::Result<LocalDir> {
        use std::os::fd::IntoRawFd;
        use std::os::unix::fs::MetadataExt;
        let meta = file.metadata()?;
        if !meta.is_dir() {
            return Err(io::Error::from_raw_os_error(libc::ENOTDIR));
        }
        let fd = file.into_raw_fd();
        // SAFETY: fd is an open descriptor we own; fdopendir takes it over on success.
        let dir = unsafe { libc::fdopendir(fd) };
        match std::ptr::NonNull::new(dir) {
            Some(dir) => Ok(LocalDir {
                dir,
                id: (meta.dev(), meta.ino()),
            }),
            None => {
                let e = io::Error::last_os_error();
                // SAFETY: fdopendir failed, so fd is still ours to close.
                unsafe { libc::close(fd) };
                Err(e)
            }
        }
    }

    /// The next entry but `.` and `..`: its name, and its type as the folder says
    /// (`DT_UNKNOWN` where the file system does not say).
    fn next_entry(&mut self) -> Option<io::Result<(std::ffi::CString, u8)>> {
        loop {
            // SAFETY: errno is thread-local; cleared so that a null return can be told
            // apart (end of the folder, or an error).
            unsafe { *libc::__errno_location() = 0 };
            // SAFETY: dir is open until Drop; the entry is valid until the next readdir
            // on it, and its name is copied out before that.
            let entry = unsafe { libc::readdir(self.dir.as_ptr()) };
            if entry.is_null() {
                let e = io::Error::last_os_error();
                return (e.raw_os_error() != Some(0)).then_some(Err(e));
            }
            // SAFETY: a non-null entry from readdir, whose d_name is NUL-terminated.
            let (name, kind) = unsafe {
                (
                    std::ffi::CStr::from_ptr((*entry).d_name.as_ptr()),
                    (*entry).d_type,
                )
            };
            if name.to_bytes() == b"." || name.to_bytes() == b".." {
                continue;
            }
            return Some(Ok((name.to_owned(), kind)));
        }
    }

    /// Opens the entry `name` for reading, relative to this folder, without following a
    /// link unless `follow`, and without blocking (a FIFO opens at once; see [`blocking`]).
    fn open_entry(&self, name: &std::ffi::CStr, follow: bool) -> io::Result<File> {
        use std::os::fd::FromRawFd;
        let nofollow = if follow { 0 } else { libc::O_NOFOLLOW };
        let flags = libc::O_RDONLY | libc::O_NONBLOCK | libc::O_CLOEXEC | nofollow;
        // SAFETY: the folder's descriptor is open while self lives; name is NUL-terminated.
        let fd = unsafe { libc::openat(libc::dirfd(self.dir.as_ptr()), name.as_ptr(), flags) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a fresh descriptor that nothing else owns.
        Ok(unsafe { File::from_raw_fd(fd) })
    }
}

impl Drop for LocalDir {
    fn drop(&mut self) {
        // SAFETY: opened by fdopendir, closed once, here.
        unsafe { libc::closedir(self.dir.as_ptr()) };
    }
}

/// Clears O_NONBLOCK on a regular file opened with it ([`LocalDir::open_entry`]).
fn blocking(file: &File) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let fd = file.as_raw_fd();
    // SAFETY: fcntl on a descriptor `file` owns.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above.
    if unsafe { libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
