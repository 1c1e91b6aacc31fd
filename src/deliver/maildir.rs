//! Maildir delivery (the Maildir specification, cr.yp.to/proto/maildir.html): each message is
//! written to `tmp/` under a unique name (time, pid, counter, host); a message that is aborted
//! is removed from `tmp/`. [`Deliver::sync`] makes the committed ones durable and visible at
//! once: each file of the batch is fsynced (their writeback started when each was
//! committed; never `syncfs`, which would flush the whole file system's dirty data, other
//! programs' too), then each is renamed into `new/`, then `new/` is fsynced. So, as the
//! specification asks, a message appears in `new/` only once its data is on disk; a crash
//! before the rename leaves it in `tmp/` (which readers clean up), not recorded as delivered
//! and still on the server. A missing Maildir is created (with `cur/`, `new/`, `tmp/`).
//!
//! What was not recorded is taken back ([`Deliver::undo`], and when the Maildir is dropped):
//! the batch's files in `tmp/`, and those the last sync renamed into `new/`. SIGINT, SIGTERM
//! and SIGHUP remove this process's files from `tmp/` (their names hold its pid and end with
//! this host's name: `crate::interrupt::sweep_on_signal`); a batch being renamed and
//! recorded is finished first ([`super::Batch`]).

use super::{Deliver, MessageInfo, MessageSink, TempMessage, unique_stem};
use crate::error::{Error, Kind, Result};
use std::fs::{self, File};
use std::path::{Path, PathBuf};

/// A Maildir.
pub struct Maildir {
    root: PathBuf,
    host: String,
    /// Committed messages still in `tmp/`: their names there, and their sizes (their names
    /// in `new/` add `,S=SIZE`).
    pending: Vec<(String, u64)>,
    /// Names the last sync gave messages in `new/`, until they are kept.
    published: Vec<String>,
    /// Folders made by this run: the folders holding them are fsynced too.
    entries: super::NewEntries,
    /// Unregistered before `_tmp_dir` closes (fields drop in this order).
    _sweep: Option<crate::interrupt::SweepGuard>,
    /// `tmp/`, open for the signal handler's sweep.
    _tmp_dir: File,
}

impl Maildir {
    /// Opens the Maildir at `root`, creating it (and its parents) when missing. A folder
    /// that exists without `cur/`, `new/` and `tmp/` gets them: that is how mutt and Dovecot
    /// take an empty folder too.
    pub fn open(root: &Path) -> Result<Maildir> {
        let subs = ["cur", "new", "tmp"].map(|sub| root.join(sub));
        let mut entries = super::NewEntries::default();
        for dir in std::iter::once(root.to_path_buf()).chain(subs) {
            match fs::metadata(&dir) {
                Ok(m) if m.is_dir() => {}
                Ok(_) => {
                    return Err(Error::new(
                        Kind::CantCreate,
                        format!(
                            "Maildir {}: {} is not a folder",
                            root.display(),
                            dir.display()
                        ),
                    ));
                }
                Err(_) => {
                    let made = crate::transfer::make_folders(&dir, true, 0o700).map_err(|e| {
                        let m = format!("Maildir {}", e.message());
                        e.with_message(m)
                    })?;
                    entries.extend(made);
                }
            }
        }
        let tmp = root.join("tmp");
        let tmp_dir = File::open(&tmp)
            .map_err(|e| Error::cant_create(format!("Maildir {}", tmp.display()), &e))?;
        let host = maildir_host();
        let sweep = crate::interrupt::sweep_on_signal(
            std::os::fd::AsRawFd::as_raw_fd(&tmp_dir),
            &format!("P{}Q", std::process::id()),
            &format!(".{host}"),
        );
        Ok(Maildir {
            root: root.to_path_buf(),
            host,
            pending: Vec::new(),
            published: Vec::new(),
            entries,
            _sweep: sweep,
            _tmp_dir: tmp_dir,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
}

/// At most this many fsyncs in flight at once.
const FSYNC_THREADS: usize = 8;

/// Fsyncs the files `names` in `dir`, up to [`FSYNC_THREADS`] at once.
fn fsync_all(dir: &Path, names: &[(String, u64)]) -> Result<()> {
    let one = |name: &str| -> Result<()> {
        let p = dir.join(name);
        open_nofollow(&p)
            .and_then(|f| f.sync_all())
            .map_err(|e| Error::local_io(format!("Maildir {}", p.display()), &e))
    };
    if names.len() <= 1 {
        return names.iter().try_for_each(|(n, _)| one(n));
    }
    let threads = names.len().min(FSYNC_THREADS);
    let per = names.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let mut result = Ok(());
        let mut workers = Vec::new();
        for chunk in names.chunks(per) {
            let work = move || chunk.iter().try_for_each(|(n, _)| one(n));
            // A thread that cannot be had: that chunk on this one.
            match std::thread::Builder::new().spawn_scoped(scope, work) {
                Ok(w) => workers.push(w),
                Err(_) => {
                    let r = work();
                    if result.is_ok() {
                        result = r;
                    }
                }
            }
        }
        for w in workers {
            let r = w
                .join()
                .unwrap_or_else(|_| Err(Error::new(Kind::Software, "an fsync thread panicked")));
            if result.is_ok() {
                result = r;
            }
        }
        result
    })
}

/// Opens a file of ours for an fsync, never through a link planted in its place.
fn open_nofollow(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .read(true)
        // (`^` for `|` is the same flags: cargo mutants' equivalent mutant.)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
}

/// The host name as a Maildir name part: `/` and `:` would break the name (the
/// specification replaces them with `\057` and `\072`).
fn maildir_host() -> String {
    name_part(&crate::util::host::host_name())
}

fn name_part(host: &str) -> String {
    host.replace('/', "\\057").replace(':', "\\072")
}

impl Deliver for Maildir {
    fn begin(&mut self, _info: &MessageInfo) -> Result<Box<dyn MessageSink + '_>> {
        let name = format!("{}.{}", unique_stem(), self.host);
        let tmp = TempMessage::create(self.root.join("tmp").join(&name), "Maildir ")?;
        Ok(Box::new(MaildirMessage {
            maildir: self,
            tmp,
            name,
        }))
    }

    fn sync(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let tmp = self.root.join("tmp");
        let shown = |p: &Path| format!("Maildir {}", p.display());
        // Each file of the batch, and only those: syncfs(2) would flush every other
        // program's dirty data on the file system too (seconds for one message on a busy
        // one). Their writeback began at commit, so each fsync mostly waits for the
        // journal and the disk's cache flush; fsyncs issued together share those (the
        // journal commits once for all of them, the block layer merges the flushes), so a
        // few threads do the batch in a fraction of the time one would.
        fsync_all(&tmp, &self.pending)?;
        let new = self.root.join("new");
        let (published, result) = super::publish_batch(
            std::mem::take(&mut self.pending),
            |(name, size)| {
                let published = format!("{name},S={size}");
                let dest = new.join(&published);
                fs::rename(tmp.join(name), &dest).map_err(|e| Error::local_io(shown(&dest), &e))?;
                Ok(published)
            },
            |(name, _)| {
                let _ = fs::remove_file(tmp.join(name));
            },
        );
        self.published.extend(published);
        result?;
        crate::util::durable::sync_folder(&new).map_err(|e| {
            let m = format!("Maildir {}", e.message());
            e.with_message(m)
        })?;
        self.entries.sync()
    }

    fn name(&self) -> String {
        format!("Maildir {}", self.root.display())
    }

    fn keep(&mut self) {
        self.published.clear();
    }

    fn undo(&mut self) {
        for (name, _) in self.pending.drain(..) {
            let _ = fs::remove_file(self.root.join("tmp").join(name));
        }
        for name in self.published.drain(..) {
            let _ = fs::remove_file(self.root.join("new").join(name));
        }
    }
}

impl Drop for Maildir {
    fn drop(&mut self) {
        self.undo();
    }
}

struct MaildirMessage<'a> {
    maildir: &'a mut Maildir,
    tmp: TempMessage,
    name: String,
}

impl MessageSink for MaildirMessage<'_> {
    fn write(&mut self, data: &[u8]) -> Result<()> {
        self.tmp.write(data)
    }

    fn commit(self: Box<Self>) -> Result<()> {
        // Closed now, synced and renamed into new/ by `sync`, with the rest of the batch;
        // its writeback starts now, while the next messages arrive (sync_file_range only
        // starts it: it waits for nothing and makes nothing durable on its own).
        let MaildirMessage { maildir, tmp, name } = *self;
        let len = tmp.len();
        let (file, _) = tmp.kept();
        // SAFETY: sync_file_range on a descriptor we own; offset 0, length 0: the whole file.
        unsafe {
            libc::sync_file_range(
                std::os::fd::AsRawFd::as_raw_fd(&file),
                0,
                0,
                libc::SYNC_FILE_RANGE_WRITE,
            )
        };
        drop(file);
        // `,S=size` in its name in new/ lets Dovecot and others skip a stat per message.
        maildir.pending.push((name, len));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(tag: &str) -> PathBuf {
        crate::util::test_folder(&format!("md-{tag}"))
    }

    fn files(dir: &Path) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn open_nofollow_refuses_a_link() {
        let dir = temp("nofollow");
        fs::write(dir.join("real"), b"x").unwrap();
        std::os::unix::fs::symlink(dir.join("real"), dir.join("link")).unwrap();
        assert!(open_nofollow(&dir.join("real")).is_ok());
        let e = open_nofollow(&dir.join("link")).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ELOOP), "{e}");
    }

    #[test]
    fn fsync_all_syncs_every_file_or_names_the_one_it_cannot() {
        let dir = temp("fsync");
        let names: Vec<(String, u64)> = (0..20).map(|i| (format!("m{i}"), 1)).collect();
        for (n, _) in &names {
            fs::write(dir.join(n), b"x").unwrap();
        }
        // None, one (on this thread), and many (on several).
        for some in [&names[..0], &names[..1], &names[..]] {
            fsync_all(&dir, some).unwrap();
        }
        // One that is gone: the failure names it, whichever thread met it.
        for at in [0, 1, 13, 19] {
            let mut set = names.clone();
            set[at].0 = format!("gone{at}");
            let e = fsync_all(&dir, &set[..if at == 0 { 1 } else { 20 }]).unwrap_err();
            assert!(e.to_string().contains(&format!("gone{at}")), "{e}");
        }
    }

    #[test]
    fn a_committed_message_is_in_new_and_an_aborted_one_nowhere() {
        let root = temp("commit").join("inbox");
        let mut md = Maildir::open(&root).unwrap();
        let info = MessageInfo::new(None, None);
        let mut m = md.begin(&info).unwrap();
        m.write(b"Subject: x\n\nbody\n").unwrap();
        m.commit().unwrap();
        let mut m = md.begin(&info).unwrap();
        m.write(b"half").unwrap();
        m.abort();
        {
            let mut m = md.begin(&info).unwrap();
            m.write(b"dropped").unwrap();
        }
        md.sync().unwrap();
        let new = files(&root.join("new"));
        assert_eq!(new.len(), 1);
        assert_eq!(fs::read(&new[0]).unwrap(), b"Subject: x\n\nbody\n");
        // time.M<micros>P<pid>Q<n>.<host>,S=<size>
        let name = new[0].file_name().unwrap().to_string_lossy().into_owned();
        let host = name_part(&crate::util::host::host_name());
        assert!(!host.is_empty());
        assert!(name.ends_with(&format!(".{host},S=17")), "{name}");
        assert_eq!(md.name(), format!("Maildir {}", root.display()));
        assert!(files(&root.join("tmp")).is_empty());
        assert!(root.join("cur").is_dir());
        fs::remove_dir_all(root.parent().unwrap()).unwrap();
    }

    #[test]
    fn what_is_not_kept_is_taken_back() {
        let root = temp("undo").join("inbox");
        let info = MessageInfo::new(None, None);
        let put = |md: &mut Maildir, body: &[u8]| {
            let mut m = md.begin(&info).unwrap();
            m.write(body).unwrap();
            m.commit().unwrap();
        };
        let mut md = Maildir::open(&root).unwrap();
        put(&mut md, b"kept\n");
        md.sync().unwrap();
        md.keep();
        // Synced but not kept (the state file could not be written), and committed only.
        put(&mut md, b"synced\n");
        md.sync().unwrap();
        put(&mut md, b"committed\n");
        assert_eq!(files(&root.join("new")).len(), 2);
        md.undo();
        let new = files(&root.join("new"));
        assert_eq!(new.len(), 1);
        assert_eq!(fs::read(&new[0]).unwrap(), b"kept\n");
        assert!(files(&root.join("tmp")).is_empty());
        // Dropped unkept: the same.
        put(&mut md, b"dropped\n");
        md.sync().unwrap();
        drop(md);
        assert_eq!(files(&root.join("new")), new);
        fs::remove_dir_all(root.parent().unwrap()).unwrap();
    }

    #[test]
    fn a_file_where_the_maildir_should_be_is_73() {
        let d = temp("file");
        fs::write(d.join("inbox"), b"x").unwrap();
        let e = Maildir::open(&d.join("inbox")).err().unwrap();
        assert_eq!(e.exit_code(), 73);
        assert!(e.to_string().ends_with("inbox is not a folder"), "{e}");
        // So is one where a sub-folder should be.
        fs::create_dir_all(d.join("box/cur")).unwrap();
        fs::write(d.join("box/new"), b"x").unwrap();
        let e = Maildir::open(&d.join("box")).err().unwrap();
        assert_eq!(e.exit_code(), 73);
        assert!(e.to_string().ends_with("box/new is not a folder"), "{e}");
        fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn host_names_cannot_break_a_file_name() {
        assert_eq!(name_part("mail.example"), "mail.example");
        assert_eq!(name_part("a/b:c/"), "a\\057b\\072c\\057");
    }
}
