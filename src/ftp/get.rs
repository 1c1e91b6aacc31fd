//! What ftp-get does with its URLs: expand remote globs, download each file to `NAME.part`,
//! check its size, resume with REST, retry transient failures, publish by rename, then
//! (optionally) delete the remote copy. URLs on one server share one control connection.

use super::client::{FtpClient, FtpOptions, Login};
use super::parse::{glob_match, has_glob, safe_local_name};
use crate::error::{Error, Result};
use crate::net::url::Target;
use crate::transfer::{PartFile, part_path};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where downloads go.
#[derive(Debug, Clone)]
pub enum Destination {
    /// Into this folder, under the remote file's name (created when missing).
    Dir(PathBuf),
    /// To exactly this file (one remote file only).
    File(PathBuf),
    /// To standard output, one file after another.
    Stdout,
}

/// ftp-get's choices.
#[derive(Debug, Clone)]
pub struct GetOptions {
    pub destination: Destination,
    /// Resume a `.part` (or a shorter existing file) with REST.
    pub resume: bool,
    /// Skip files that already exist locally.
    pub no_clobber: bool,
    /// Set the local modification time from MDTM.
    pub keep_mtime: bool,
    /// DELE each remote file once it is safely stored locally.
    pub delete_remote: bool,
    /// Retries of transient failures, each after a growing pause.
    pub retries: u32,
    /// First pause between retries (doubles each time, at most 60 s).
    pub retry_delay: Duration,
    /// NOOP interval on the control connection during slow local work.
    pub keepalive: Duration,
}

/// What the caller is told as the run goes; the library never prints.
pub trait Events {
    /// Something worth saying that is not a failure (a skip, a fallback, a retry).
    fn note(&mut self, msg: &str);
    /// A download starts: `total` bytes if known, of which `offset` are already here.
    fn start(&mut self, name: &str, total: Option<u64>, offset: u64);
    /// `n` more bytes arrived.
    fn advance(&mut self, n: u64);
    /// The current download completed.
    fn finish(&mut self);
    /// A file (or a whole server's worth of files) failed; ends any download in progress.
    fn fail(&mut self, err: &Error);
}

/// Supplies the login for a server (credentials may need a prompt or a netrc look-up).
pub type LoginFor<'a> = dyn FnMut(&Target) -> Result<Login> + 'a;

/// Downloads every URL. Failures are reported through `events` as they happen, and the
/// run goes on with the next file; a closed standard output stops it quietly.
pub fn get_all(
    targets: &[Target],
    ftp: &FtpOptions,
    opts: &GetOptions,
    login_for: &mut LoginFor<'_>,
    events: &mut dyn Events,
) {
    if let Destination::Dir(d) = &opts.destination {
        if let Err(e) = std::fs::create_dir_all(d) {
            events.fail(&Error::cant_create(d.display(), &e));
            return;
        }
    }
    // Group by server and login, keeping the order in which servers first appear.
    let mut groups: Vec<Vec<&Target>> = Vec::new();
    for t in targets {
        match groups.iter_mut().find(|g| g[0].same_session(t)) {
            Some(g) => g.push(t),
            None => groups.push(vec![t]),
        }
    }
    for group in groups {
        let login = match login_for(group[0]) {
            Ok(l) => l,
            Err(e) => {
                events.fail(&e);
                continue;
            }
        };
        let mut run = Run {
            ftp,
            opts,
            login,
            client: None,
            events: &mut *events,
            attempt: 0,
        };
        if let Stop::Everything = run.group(&group) {
            return;
        }
    }
}

enum Stop {
    /// Go on with the next server.
    Next,
    /// Standard output is closed: nothing more can be delivered.
    Everything,
}

struct Run<'a> {
    ftp: &'a FtpOptions,
    opts: &'a GetOptions,
    login: Login,
    client: Option<FtpClient>,
    events: &'a mut dyn Events,
    /// Which retry of the current operation this is (0: the first try).
    attempt: u32,
}

impl Run<'_> {
    fn group(&mut self, group: &[&Target]) -> Stop {
        let mut stdout_written: u64 = 0;
        for target in group {
            let files = match self.with_retries(|run| run.expand(target)) {
                Ok(f) => f,
                Err(e) => {
                    self.events.fail(&e);
                    if self.login_failed(&e) {
                        return Stop::Next;
                    }
                    continue;
                }
            };
            if matches!(self.opts.destination, Destination::File(_)) && files.len() > 1 {
                self.events.fail(&Error::Usage(format!(
                    "{target}: matches {} files, but -o names one file (use -O DIR)",
                    files.len()
                )));
                continue;
            }
            for file in files {
                let res = self.with_retries(|run| run.fetch(&file, &mut stdout_written));
                if let Err(e) = res {
                    if matches!(e, Error::StdoutClosed) {
                        self.close();
                        return Stop::Everything;
                    }
                    self.events.fail(&e);
                    if self.login_failed(&e) {
                        return Stop::Next;
                    }
                }
            }
        }
        self.close();
        Stop::Next
    }

    /// A failed login fails every file of the server the same way: said once.
    fn login_failed(&self, e: &Error) -> bool {
        self.client.is_none() && matches!(e.exit_code(), 77 | 68 | 69 | 76)
    }

    fn close(&mut self) {
        if let Some(c) = self.client.take() {
            c.quit();
        }
    }

    fn client(&mut self, target: &Target) -> Result<&mut FtpClient> {
        connected(&mut self.client, target, &self.login, self.ftp)
    }

    /// Runs `f`, retrying transient failures with a growing pause, reconnecting as needed.
    fn with_retries<T>(&mut self, mut f: impl FnMut(&mut Self) -> Result<T>) -> Result<T> {
        let mut delay = self.opts.retry_delay;
        self.attempt = 0;
        loop {
            match f(self) {
                Ok(v) => return Ok(v),
                Err(e) if e.is_transient() && self.attempt < self.opts.retries => {
                    self.attempt += 1;
                    let attempt = self.attempt;
                    if self.client.as_ref().is_some_and(|c| !c.is_usable()) {
                        self.client = None;
                    }
                    self.events.note(&format!(
                        "{e}; retrying in {} s (retry {attempt} of {})",
                        delay.as_secs_f64(),
                        self.opts.retries
                    ));
                    std::thread::sleep(delay);
                    delay = (delay * 2).min(Duration::from_secs(60));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The remote files a URL names: itself, or the matches of a glob in its last component.
    fn expand(&mut self, target: &Target) -> Result<Vec<Target>> {
        let path = target.path.as_str();
        if path.is_empty() || path.ends_with('/') {
            // The URL as shown ends with '/' here.
            return Err(Error::Usage(format!(
                "{target}: names a folder, not a file (use {target}* for the files in it)"
            )));
        }
        let (dir, name) = match path.rfind('/') {
            Some(i) => (&path[..=i], &path[i + 1..]),
            None => ("", path),
        };
        if !has_glob(name) {
            return Ok(vec![target.clone()]);
        }
        if has_glob(dir) {
            return Err(Error::Usage(format!(
                "{target}: wildcards are only supported in the last part of the path"
            )));
        }
        let listing_dir = dir
            .strip_suffix('/')
            .filter(|d| !d.is_empty())
            .unwrap_or(dir);
        let names = self.client(target)?.list_files(listing_dir)?;
        let mut matched: Vec<Target> = Vec::new();
        let mut refused = false;
        for n in names {
            // Matched by its last part, so that a hostile "../x.csv" is refused, not skipped.
            if !glob_match(name, n.rsplit('/').next().unwrap_or(&n)) {
                continue;
            }
            match safe_local_name(&n) {
                Ok(_) => matched.push(target.with_path(format!("{dir}{n}"))),
                Err(why) => {
                    refused = true;
                    self.events.fail(&Error::Protocol(format!(
                        "{target}: refusing the listed name \"{}\": {why}",
                        crate::conn::printable(&n)
                    )));
                }
            }
        }
        matched.sort_by(|a, b| a.path.cmp(&b.path));
        matched.dedup_by(|a, b| a.path == b.path);
        if matched.is_empty() && !refused {
            return Err(Error::NoInput(format!("{target}: no remote file matches")));
        }
        Ok(matched)
    }

    /// Downloads one file. `stdout_written` counts what already went to standard output
    /// (a retry resumes after it).
    fn fetch(&mut self, target: &Target, stdout_written: &mut u64) -> Result<()> {
        let path = target.path.clone();
        let name = path.rsplit('/').next().unwrap_or(&path).to_string();
        let dest = match &self.opts.destination {
            Destination::Dir(d) => {
                safe_local_name(&name).map_err(|why| {
                    Error::Protocol(format!(
                        "{target}: refusing the remote name \"{}\": {why}",
                        crate::conn::printable(&name)
                    ))
                })?;
                Some(d.join(&name))
            }
            Destination::File(f) => Some(f.clone()),
            Destination::Stdout => None,
        };
        if let Some(dest) = &dest {
            if self.opts.no_clobber && dest.exists() {
                self.events.note(&format!(
                    "{}: exists, skipped (--no-clobber)",
                    dest.display()
                ));
                return Ok(());
            }
        }
        let opts = self.opts;
        let ascii = self.ftp.ascii || target.ascii;
        let client = self.client(target)?;
        client.set_ascii(ascii);
        let size = client.size(&path)?;
        // In ASCII mode the bytes on the wire differ from SIZE: no size check.
        let check_size = if ascii { None } else { size };
        let mtime = if opts.keep_mtime && dest.is_some() {
            client.mdtm(&path)?
        } else {
            None
        };
        let Some(dest) = dest else {
            return self.fetch_to_stdout(target, ascii, check_size, stdout_written);
        };
        // A retry always resumes what this run already wrote.
        let resume = opts.resume || self.attempt > 0;
        let mut part = PartFile::open(&dest, resume_part(&dest, resume, check_size)?)?;
        if let Some(s) = check_size {
            if part.len() > s {
                part.restart()?;
            }
        }
        let offset = part.len();
        let shown = dest
            .strip_prefix(".")
            .unwrap_or(&dest)
            .display()
            .to_string();
        let complete_already = check_size == Some(offset) && offset > 0;
        if complete_already {
            self.events
                .note(&format!("{shown}: already complete, nothing to download"));
        } else {
            self.events.start(&shown, size, offset);
            let mut got = self.retrieve_into(target, ascii, &mut part);
            if let Ok(None) = got {
                self.events.note(&format!(
                    "{target}: the server refused to resume (REST): downloading the whole file"
                ));
                part.restart()?;
                self.events.start(&shown, size, 0);
                got = self.retrieve_into(target, ascii, &mut part);
            }
            if let Err(e) = got {
                // An empty .part holds nothing worth resuming: don't leave it behind.
                if part.is_empty() {
                    part.discard();
                }
                return Err(e);
            }
        }
        if let Some(want) = check_size {
            if part.len() != want {
                return Err(Error::cut_short(target, part.len(), want));
            }
        }
        if !complete_already {
            self.events.finish();
        }
        if opts.delete_remote {
            // The remote copy goes only once ours is on disk, not just in the page cache.
            // fsync of a large file can take long: keep the control connection alive.
            let keepalive = opts.keepalive;
            let client = self.client(target)?;
            client.keepalive_during(keepalive, || part.sync())?;
        }
        part.publish(mtime, opts.delete_remote)?;
        if opts.delete_remote {
            self.client(target)?.delete(&path)?;
        }
        Ok(())
    }

    /// RETR from where `part` ends, appending to it. `Ok(None)`: the server refused REST.
    fn retrieve_into(
        &mut self,
        target: &Target,
        ascii: bool,
        part: &mut PartFile,
    ) -> Result<Option<u64>> {
        let client = connected(&mut self.client, target, &self.login, self.ftp)?;
        client.set_ascii(ascii);
        let events = &mut *self.events;
        let offset = part.len();
        let mut out = Delivery::new(ascii, |d: &[u8]| part.write(d));
        let mut sink = |buf: &[u8]| -> Result<()> {
            out.push(buf)?;
            events.advance(buf.len() as u64);
            Ok(())
        };
        let got = client.retrieve(&target.path, offset, &mut sink);
        if let Ok(Some(_)) = got {
            out.finish()?;
        }
        got
    }

    fn fetch_to_stdout(
        &mut self,
        target: &Target,
        ascii: bool,
        size: Option<u64>,
        written: &mut u64,
    ) -> Result<()> {
        let path = target.path.clone();
        let client = connected(&mut self.client, target, &self.login, self.ftp)?;
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        let start = *written;
        let mut delivery = Delivery::new(ascii, |d: &[u8]| {
            out.write_all(d).map_err(|e| Error::stdout(&e))?;
            *written += d.len() as u64;
            Ok(())
        });
        let got = client.retrieve(&path, start, &mut |buf: &[u8]| delivery.push(buf))?;
        if got.is_some() {
            delivery.finish()?;
        }
        drop(delivery);
        if got.is_none() {
            return Err(Error::Unavailable(format!(
                "{target}: the server refused to resume (REST) after {start} bytes were already written to standard output"
            )));
        }
        out.flush().map_err(|e| Error::stdout(&e))?;
        if let Some(want) = size {
            if *written != want {
                return Err(Error::cut_short(target, *written, want));
            }
        }
        *written = 0;
        if self.opts.delete_remote {
            self.client(target)?.delete(&path)?;
        }
        Ok(())
    }
}

/// Hands downloaded bytes to `write`, converting CRLF to LF first in ASCII mode.
struct Delivery<W> {
    lines: Option<CrlfToLf>,
    converted: Vec<u8>,
    write: W,
}

impl<W: FnMut(&[u8]) -> Result<()>> Delivery<W> {
    fn new(ascii: bool, write: W) -> Self {
        Delivery {
            lines: ascii.then(CrlfToLf::default),
            converted: Vec::new(),
            write,
        }
    }

    fn push(&mut self, buf: &[u8]) -> Result<()> {
        match &mut self.lines {
            Some(l) => (self.write)(l.convert(buf, &mut self.converted)),
            None => (self.write)(buf),
        }
    }

    /// At the end of the data: what the conversion still held back (a lone final CR).
    fn finish(&mut self) -> Result<()> {
        match &mut self.lines {
            Some(l) => (self.write)(l.finish()),
            None => Ok(()),
        }
    }
}

/// TYPE A data comes with CRLF line ends (RFC 959 3.1.1.1); the local form is LF. A CR that
/// ends one chunk is held back until the next shows whether an LF follows it.
#[derive(Default)]
struct CrlfToLf {
    cr_pending: bool,
}

impl CrlfToLf {
    /// Converts `buf` into `out` and returns the converted bytes.
    fn convert<'o>(&mut self, buf: &[u8], out: &'o mut Vec<u8>) -> &'o [u8] {
        out.clear();
        for &b in buf {
            if std::mem::take(&mut self.cr_pending) && b != b'\n' {
                out.push(b'\r');
            }
            if b == b'\r' {
                self.cr_pending = true;
            } else {
                out.push(b);
            }
        }
        out
    }

    /// What is still held back when the data ends: a lone final CR.
    fn finish(&mut self) -> &'static [u8] {
        if std::mem::take(&mut self.cr_pending) {
            b"\r"
        } else {
            b""
        }
    }
}

/// The connection in `slot`, (re)connecting and logging in when there is none or it broke.
fn connected<'c>(
    slot: &'c mut Option<FtpClient>,
    target: &Target,
    login: &Login,
    ftp: &FtpOptions,
) -> Result<&'c mut FtpClient> {
    if slot.as_ref().is_some_and(|c| !c.is_usable()) {
        *slot = None;
    }
    match slot {
        Some(c) => Ok(c),
        None => Ok(slot.insert(FtpClient::connect(target, login, ftp)?)),
    }
}

/// Decides whether a download appends to `dest.part`. With resuming on, a shorter existing
/// destination file becomes the `.part` (curl's `-C -` on a file some other tool left).
fn resume_part(dest: &Path, resume: bool, size: Option<u64>) -> Result<bool> {
    if !resume {
        return Ok(false);
    }
    let part = part_path(dest);
    if part.exists() {
        return Ok(true);
    }
    if let Ok(m) = std::fs::metadata(dest) {
        if m.is_file() {
            if size.is_some_and(|s| m.len() > s) {
                // Longer than the remote file: not a prefix of it. Start over.
                return Ok(false);
            }
            std::fs::rename(dest, &part).map_err(|e| Error::cant_create(part.display(), &e))?;
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf_to_lf_at_every_split() {
        let input = b"a\r\nb\rc\r\r\n\n\r\nend\r";
        let want = b"a\nb\rc\r\n\n\nend\r";
        for i in 0..=input.len() {
            for j in i..=input.len() {
                let mut c = CrlfToLf::default();
                let mut out = Vec::new();
                let mut got = Vec::new();
                for part in [&input[..i], &input[i..j], &input[j..]] {
                    got.extend_from_slice(c.convert(part, &mut out));
                }
                got.extend_from_slice(c.finish());
                assert_eq!(got, want, "split at {i}, {j}");
            }
        }
    }
}
