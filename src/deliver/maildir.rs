//! Maildir delivery (the Maildir specification, cr.yp.to/proto/maildir.html): each message is
//! written to `tmp/` under a unique name (time, pid, counter, host), fsynced, and renamed into
//! `new/`; [`Deliver::sync`] fsyncs `new/`, which makes the renames durable. A message that is
//! aborted is removed from `tmp/`. A missing Maildir is created (with `cur/`, `new/`, `tmp/`).

use super::{Deliver, MessageInfo, MessageSink, create_new, unique_stem};
use crate::error::{Error, Kind, Result};
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

/// A Maildir.
pub struct Maildir {
    root: PathBuf,
    host: String,
    /// Messages renamed into `new/` since the last sync.
    unsynced: bool,
}

impl Maildir {
    /// Opens the Maildir at `root`, creating it (and its parents) when missing. A folder
    /// that exists without `cur/`, `new/` and `tmp/` gets them: that is how mutt and Dovecot
    /// take an empty folder too.
    pub fn open(root: &Path) -> Result<Maildir> {
        for sub in ["", "cur", "new", "tmp"] {
            let dir = root.join(sub);
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
                    use std::os::unix::fs::DirBuilderExt;
                    fs::DirBuilder::new()
                        .recursive(true)
                        .mode(0o700)
                        .create(&dir)
                        .map_err(|e| {
                            Error::cant_create(format!("Maildir {}", dir.display()), &e)
                        })?;
                }
            }
        }
        Ok(Maildir {
            root: root.to_path_buf(),
            host: maildir_host(),
            unsynced: false,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
}

/// The host name as a Maildir name part: `/` and `:` would break the name (the
/// specification replaces them with `\057` and `\072`).
fn maildir_host() -> String {
    crate::mime::date::host_name()
        .replace('/', "\\057")
        .replace(':', "\\072")
}

impl Deliver for Maildir {
    fn begin(&mut self, _info: &MessageInfo) -> Result<Box<dyn MessageSink + '_>> {
        let name = format!("{}.{}", unique_stem(), self.host);
        let tmp = self.root.join("tmp").join(&name);
        let file = create_new(&tmp)
            .map_err(|e| Error::cant_create(format!("Maildir {}", tmp.display()), &e))?;
        Ok(Box::new(MaildirMessage {
            maildir: self,
            tmp,
            name,
            file: Some(file),
            len: 0,
        }))
    }

    fn sync(&mut self) -> Result<()> {
        if std::mem::take(&mut self.unsynced) {
            let new = self.root.join("new");
            File::open(&new)
                .and_then(|d| d.sync_all())
                .map_err(|e| Error::local_io(format!("Maildir {}", new.display()), &e))?;
        }
        Ok(())
    }

    fn name(&self) -> String {
        format!("Maildir {}", self.root.display())
    }
}

struct MaildirMessage<'a> {
    maildir: &'a mut Maildir,
    tmp: PathBuf,
    name: String,
    file: Option<File>,
    len: u64,
}

impl MessageSink for MaildirMessage<'_> {
    fn write(&mut self, data: &[u8]) -> Result<()> {
        let f = self.file.as_mut().expect("open until commit");
        f.write_all(data)
            .map_err(|e| Error::local_io(format!("Maildir {}", self.tmp.display()), &e))?;
        self.len += data.len() as u64;
        Ok(())
    }

    fn commit(mut self: Box<Self>) -> Result<()> {
        let file = self.file.take().expect("committed once");
        let shown = |p: &Path| format!("Maildir {}", p.display());
        if let Err(e) = file.sync_all() {
            let _ = fs::remove_file(&self.tmp);
            return Err(Error::local_io(shown(&self.tmp), &e));
        }
        drop(file);
        // `,S=size` lets Dovecot and others skip a stat per message.
        let dest = self
            .maildir
            .root
            .join("new")
            .join(format!("{},S={}", self.name, self.len));
        if let Err(e) = fs::rename(&self.tmp, &dest) {
            let _ = fs::remove_file(&self.tmp);
            return Err(Error::local_io(shown(&dest), &e));
        }
        self.maildir.unsynced = true;
        Ok(())
    }

    fn abort(mut self: Box<Self>) {
        self.file = None;
        let _ = fs::remove_file(&self.tmp);
    }
}

impl Drop for MaildirMessage<'_> {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("ph-md-{tag}-{}", unique_stem()));
        fs::create_dir_all(&d).unwrap();
        d
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
        assert!(new[0].to_string_lossy().ends_with(",S=17"));
        assert!(files(&root.join("tmp")).is_empty());
        assert!(root.join("cur").is_dir());
        fs::remove_dir_all(root.parent().unwrap()).unwrap();
    }

    #[test]
    fn a_file_where_the_maildir_should_be_is_73() {
        let d = temp("file");
        fs::write(d.join("inbox"), b"x").unwrap();
        let e = Maildir::open(&d.join("inbox")).err().unwrap();
        assert_eq!(e.exit_code(), 73);
        fs::remove_dir_all(d).unwrap();
    }
}
