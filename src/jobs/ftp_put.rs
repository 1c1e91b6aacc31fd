//! What ftp-put does with its files: stream each one to the server (STOR), optionally to a
//! temporary name renamed into place (`--atomic`), making missing folders, resuming (REST +
//! STOR, or APPE), checking the result against SIZE, and only then removing the local file.
//! Files for one server share one control connection; transient failures are retried.

use super::workers::{self, Worker};
use crate::error::{Error, Kind, Result};
use crate::events::Events;
use crate::ftp::client::{FtpClient, FtpOptions, Upload};
use crate::jobs::reconnect::Reconnecting;
use crate::jobs::retry::RetryPolicy;
use crate::net::stream::NetStream;
use crate::net::url::Target;
use crate::parallel::{self, RateLimit};
use crate::session::Credentials;
use std::collections::HashSet;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::Arc;

mod tree;

/// Where the bytes of one upload come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PutSource {
    /// A local file named on the command line (a regular file, or anything else that can be
    /// read, such as a FIFO; a link the user named is followed, as cp and curl -T do).
    File(PathBuf),
    /// Standard input (`-`).
    Stdin,
    /// A regular file of a tree (`-r`), already opened by the walk.
    Walked(Walked),
}

impl PutSource {
    /// How the source is named in messages.
    pub fn shown(&self) -> String {
        match self {
            PutSource::File(p) => p.display().to_string(),
            PutSource::Stdin => "standard input".to_string(),
            PutSource::Walked(w) => w.0.path.display().to_string(),
        }
    }
}

/// A file of a local tree as the walk opened it: without following a link (unless
/// `--follow`), without blocking on a FIFO, and checked on its descriptor (fstat) to be a
/// regular file. It is uploaded from that descriptor, its size and time are that fstat's:
/// a link or another file swapped in at its name later is never read.
#[derive(Debug, Clone)]
pub struct Walked(Arc<WalkedFile>);

#[derive(Debug)]
struct WalkedFile {
    path: PathBuf,
    file: File,
    meta: std::fs::Metadata,
}

impl PartialEq for Walked {
    fn eq(&self, other: &Walked) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Walked {}

/// One upload: a local source and the remote file it becomes.
#[derive(Debug, Clone)]
pub struct Job {
    pub source: PutSource,
    /// The server and the remote file's path (never ending in '/').
    pub target: Target,
}

/// ftp-put's choices.
#[derive(Debug, Clone)]
pub struct PutOptions {
    /// Upload to `.NAME.TAG.part` in the same folder ([`temporary_path`]), then RNFR/RNTO
    /// onto NAME.
    pub atomic: bool,
    /// MKD the missing folders of each remote path.
    pub create_dirs: bool,
    /// Resume where the remote file (or, with `atomic`, this file's own temporary) ends.
    pub resume: bool,
    /// Append to the remote file (APPE).
    pub append: bool,
    /// Remove each local file once the server confirmed it and SIZE (when offered) matches.
    pub remove_source: bool,
    /// SITE CHMOD MODE after each upload.
    pub chmod: Option<String>,
    /// Use sendfile(2) for plain (not TLS) uploads from a regular file.
    pub zero_copy: bool,
    /// `-r`: a local folder is uploaded with everything in it.
    pub recursive: bool,
    /// With `recursive`: follow symbolic links (otherwise they are skipped).
    pub follow: bool,
    /// Give each remote file the local file's modification time (MFMT or MDTM).
    pub keep_mtime: bool,
    /// `--parallel N`: this many connections upload at once (1: one after another).
    pub parallel: usize,
    /// `--limit-rate`: shared by every connection of the run.
    pub limit: Option<Arc<RateLimit>>,
    pub retry: RetryPolicy,
}

pub use super::ftp_get::LoginFor;

/// Uploads every job, grouped by server (one control connection each). Failures are reported
/// through `events` as they happen and the run goes on with the next file.
pub fn put_all(
    jobs: &[Job],
    ftp: &FtpOptions,
    opts: &PutOptions,
    login_for: &mut LoginFor<'_>,
    events: &mut dyn Events,
) {
    for group in super::by_session(jobs, |j| &j.target) {
        let login = match login_for(&group[0].target) {
            Ok(l) => l,
            Err(e) => {
                events.fail(&e);
                continue;
            }
        };
        if opts.parallel > 1 && !group.iter().any(|j| j.source == PutSource::Stdin) {
            put_parallel(&group, ftp, opts, &login, events);
            continue;
        }
        let mut run = Putter::new(ftp, opts, login, events);
        for job in group {
            let tree = match &job.source {
                PutSource::File(p) if opts.recursive && p.is_dir() => Some(p),
                _ => None,
            };
            if let Some(root) = tree {
                if let Stop::Server = run.put_tree(root, &job.target) {
                    break;
                }
                continue;
            }
            if let Err(e) = run.put(job) {
                let fatal = run.login_failed(&e);
                run.events.fail(&e);
                if fatal {
                    break;
                }
            }
        }
        run.close();
    }
}

/// `--parallel N`: one thread walks the folders (making the remote ones) and feeds a
/// bounded queue; N threads, each with its own connection, upload from it.
fn put_parallel(
    group: &[&Job],
    ftp: &FtpOptions,
    opts: &PutOptions,
    login: &Credentials,
    events: &mut dyn Events,
) {
    workers::run(
        opts.parallel,
        events,
        |queue, ev| {
            let mut run = Putter::new(ftp, opts, login.clone(), ev);
            run.queue = Some(queue);
            for job in group {
                let stop = match &job.source {
                    PutSource::File(p) if opts.recursive && p.is_dir() => {
                        run.put_tree(p, &job.target)
                    }
                    _ => match queue.send((*job).clone()) {
                        Ok(()) => Stop::Next,
                        Err(_) => Stop::Server,
                    },
                };
                if let Stop::Server = stop {
                    break;
                }
            }
            run.close();
        },
        |ev, work| work(&mut Putter::new(ftp, opts, login.clone(), ev)),
    );
}

/// Uploads over one (re)connecting control connection.
pub struct Putter<'a> {
    ftp: &'a FtpOptions,
    opts: &'a PutOptions,
    login: Credentials,
    client: Reconnecting<FtpClient>,
    pub events: &'a mut dyn Events,
    /// Remote folders known to exist on this connection's server (made or seen).
    made: HashSet<String>,
    /// `--parallel`: the files of a tree go to this queue instead of being uploaded here.
    queue: Option<&'a parallel::Queue<Job>>,
}

impl Worker<Job> for Putter<'_> {
    fn connect(&mut self, job: &Job) -> Result<()> {
        self.client(&job.target).map(drop)
    }

    fn work(&mut self, job: Job) -> Result<()> {
        self.put(&job)
    }

    fn login_failed(&self, e: &Error) -> bool {
        Putter::login_failed(self, e)
    }

    fn events(&mut self) -> &mut dyn Events {
        &mut *self.events
    }

    fn close(&mut self) {
        Putter::close(self)
    }
}

/// Whether a tree's upload goes on with the server's next file.
enum Stop {
    Next,
    /// The login failed: every file of this server would fail the same way.
    Server,
}

/// A local source, opened.
struct Opened {
    reader: Box<dyn Read + Send>,
    /// The file itself, when it is a regular file (seekable; sendfile(2) can read it).
    file: Option<File>,
    /// Its size when it is a regular file.
    len: Option<u64>,
    /// What fstat said of the descriptor it is read from (not of a path), for a file.
    meta: Option<std::fs::Metadata>,
    /// What `--atomic` names its temporary after ([`temporary_path`]): the file's identity
    /// (`own` true), or, for a stream, a random tag of this run.
    tag: String,
    own: bool,
    /// Bytes already read from it (standard input cannot be read again).
    consumed: u64,
    /// A transfer of it began (the server answered 150): the remote file now holds what
    /// this run sent, so a retry may resume after it. Before that, what the server has is
    /// someone else's file, however long.
    started: bool,
}

impl<'a> Putter<'a> {
    pub fn new(
        ftp: &'a FtpOptions,
        opts: &'a PutOptions,
        login: Credentials,
        events: &'a mut dyn Events,
    ) -> Self {
        Putter {
            ftp,
            opts,
            login,
            client: Reconnecting::new(),
            events,
            made: HashSet::new(),
            queue: None,
        }
    }

    /// A failed login fails every file of the server the same way: said once.
    pub fn login_failed(&self, e: &Error) -> bool {
        workers::login_failed(&self.client, e)
    }

    pub fn close(&mut self) {
        self.client.close();
    }

    fn client(&mut self, target: &Target) -> Result<&mut FtpClient> {
        let (login, ftp) = (&self.login, self.ftp);
        self.client.get(|| FtpClient::connect(target, login, ftp))
    }

    /// Uploads one file, retrying transient failures where the retry can be checked.
    pub fn put(&mut self, job: &Job) -> Result<()> {
        let mut src = open_source(&job.source)?;
        let mut backoff = self.opts.retry.start();
        loop {
            let attempt = backoff.attempt();
            let err = match self.try_put(job, &mut src, attempt) {
                Ok(()) => return Ok(()),
                Err(e) => e,
            };
            if src.started && (src.file.is_none() || self.opts.append) {
                // What was read from standard input is gone, and what an APPE already
                // added cannot be told from what was there: no second try. A stream's
                // temporary goes too: its TAG is random, so no later run could resume it.
                // (A transfer cut short leaves the connection in an unknown state: the
                // DELE goes over a new one.)
                if self.opts.atomic {
                    let upload_path = temporary_path(&job.target.path, &src.tag);
                    let removed = self
                        .client(&job.target)
                        .and_then(|c| c.delete(&upload_path));
                    return Err(with_temporary(err, &upload_path, removed));
                }
                return Err(err.transient(false));
            }
            let Some(delay) = backoff.next(&err) else {
                return Err(err);
            };
            self.client.drop_broken();
            self.events.note(&backoff.message(&err, delay));
            std::thread::sleep(delay);
        }
    }

    fn try_put(&mut self, job: &Job, src: &mut Opened, attempt: u32) -> Result<()> {
        let target = &job.target;
        let final_path = target.path.as_str();
        let upload_path = if self.opts.atomic {
            temporary_path(final_path, &src.tag)
        } else {
            final_path.to_string()
        };
        if self.opts.create_dirs {
            self.make_parents(target)?;
        }
        let ascii = self.ftp.ascii || target.ascii;
        let opts = self.opts;
        let client = self.client(target)?;
        client.set_ascii(ascii);
        let features = client.features().clone();
        // How the upload goes, where the source starts, and what the remote size was
        // before the bytes sent are added to it (`None`: unknown, nothing to check).
        let (how, offset, base) = if opts.append {
            let base = if ascii {
                None
            } else {
                client
                    .size(&upload_path)?
                    .or((features.listed && features.size).then_some(0))
            };
            (Upload::Append, 0, base)
        } else if opts.resume || (attempt > 0 && src.file.is_some() && src.started) {
            match self.resume_point(target, &upload_path, src, ascii, attempt)? {
                None | Some(0) => (Upload::Replace, 0, Some(0)),
                Some(offset) if src.len == Some(offset) => {
                    self.events.note(&format!(
                        "{target}: already complete on the server, nothing to upload"
                    ));
                    return self.publish(job, src, &upload_path, true);
                }
                Some(offset) => {
                    let how = if features.rest_stream || !features.listed {
                        Upload::Resume(offset)
                    } else {
                        Upload::Append
                    };
                    (how, offset, Some(offset))
                }
            }
        } else {
            (Upload::Replace, 0, Some(0))
        };
        src.position(offset, &job.source)?;
        let shown = job.source.shown();
        self.events.start(&shown, src.len, offset);
        // -c resumes in binary mode where the server's copy ends (a stream skips what the
        // server has), except a stream's --atomic temporary, named by a random tag.
        let resumable = !ascii && !opts.append && (src.file.is_some() || !opts.atomic);
        let remote = target.with_path(upload_path.clone()).to_string();
        self.events.partial_remote(&remote, resumable);
        let sent = match self.send(target, &upload_path, how, src) {
            Ok(n) => n,
            Err(e) => return Err(self.explain_refusal(job, &upload_path, e)),
        };
        let total = offset + sent;
        if let Some(len) = src.len {
            if total != len {
                return Err(Error::new(
                    Kind::Io,
                    format!(
                        "{shown}: changed while being read ({total} bytes sent, {len} expected); the upload to {target} is not complete"
                    ),
                ));
            }
        }
        // The server's count is the proof: compare it where it can be had (binary mode).
        let verified = match base.filter(|_| !ascii) {
            Some(base) => {
                let want = base + sent;
                match self.client(target)?.size(&upload_path)? {
                    Some(got) if got != want => {
                        return Err(Error::connection_lost(format!(
                            "{target}: the server has {got} bytes where {want} were sent (transfer cut short)"
                        )));
                    }
                    Some(_) => true,
                    None => false,
                }
            }
            None => false,
        };
        self.events.finish();
        self.publish(job, src, &upload_path, verified)
    }

    /// Where a resumed upload starts: the remote size, checked against the local file.
    /// `None`: start over (a retry where the server cannot tell its size).
    fn resume_point(
        &mut self,
        target: &Target,
        upload_path: &str,
        src: &Opened,
        ascii: bool,
        attempt: u32,
    ) -> Result<Option<u64>> {
        if ascii {
            if self.opts.resume && attempt == 0 {
                self.events.note(&format!(
                    "{target}: an ASCII transfer cannot be resumed: uploading the whole file"
                ));
            }
            return Ok(None);
        }
        if self.opts.atomic && !src.own && attempt == 0 {
            // A stream has no identity that a temporary of an earlier run could carry: any
            // one found could be someone else's.
            self.events.note(&format!(
                "{target}: a stream has no identity to find its own temporary by: uploading it whole"
            ));
            return Ok(None);
        }
        let remote = self.client(target)?.size(upload_path)?;
        let Some(remote) = remote else {
            if self.opts.resume && attempt == 0 {
                // Missing: nothing to resume. (A server without SIZE cannot say either.)
                self.events.note(&format!(
                    "{target}: no size from the server (no such file, or no SIZE): uploading the whole file"
                ));
            }
            return Ok(None);
        };
        if let Some(len) = src.len {
            if remote > len {
                return Err(Error::new(
                    Kind::Data,
                    format!(
                        "{target}: the remote file ({remote} bytes) is larger than the local one ({len} bytes): not resuming"
                    ),
                ));
            }
        }
        Ok(Some(remote))
    }

    /// Streams the source into the remote file: sendfile(2) for a plain upload from a
    /// regular file, the fixed buffer otherwise.
    fn send(&mut self, target: &Target, path: &str, how: Upload, src: &mut Opened) -> Result<u64> {
        let zero_copy = self.opts.zero_copy && !self.ftp.ascii && !target.ascii;
        let events = &mut *self.events;
        let client = {
            let (login, ftp) = (&self.login, self.ftp);
            self.client.get(|| FtpClient::connect(target, login, ftp))?
        };
        let reader = &mut src.reader;
        let file = src.file.as_ref();
        let consumed = &mut src.consumed;
        let limit = self.opts.limit.as_deref();
        let started = &mut src.started;
        let mut pump = |data: &mut NetStream, buf: &mut [u8]| -> Result<u64> {
            *started = true;
            let chunk = limit.map_or(buf.len(), |l| l.chunk(buf.len()));
            let buf = &mut buf[..chunk];
            let pay = |n: u64| {
                if let Some(l) = limit {
                    l.take(n);
                }
            };
            if zero_copy {
                if let (NetStream::Plain(sock), Some(f)) = (&*data, file) {
                    let n = send_file_chunk(f, sock, buf.len())?;
                    *consumed += n;
                    events.advance(n);
                    pay(n);
                    return Ok(n);
                }
            }
            let n = loop {
                match reader.read(buf) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(Error::local_io("reading the file to upload", &e)),
                }
            };
            if n > 0 {
                std::io::Write::write_all(data, &buf[..n])
                    .map_err(|e| Error::network("data connection", e))?;
                *consumed += n as u64;
                events.advance(n as u64);
                pay(n as u64);
            }
            Ok(n as u64)
        };
        client.upload_with(path, how, &mut pump)
    }

    /// After a complete upload: rename into place (`--atomic`), SITE CHMOD, and remove the
    /// local file (`--remove-source-files`). The local time is that of the descriptor read.
    fn publish(
        &mut self,
        job: &Job,
        src: &Opened,
        upload_path: &str,
        verified: bool,
    ) -> Result<()> {
        let target = &job.target;
        if self.opts.keep_mtime {
            if let Some(t) = src.meta.as_ref().and_then(|m| m.modified().ok()) {
                // Where the server can do neither, the upload keeps its own time: most
                // servers cannot, and saying so for every run would be noise (-v shows it).
                self.client(target)?.set_mtime(upload_path, t)?;
            }
        }
        if self.opts.atomic {
            let client = self.client(target)?;
            if let Err(e) = client.rename(upload_path, &target.path) {
                // The old target stays as it was; the temporary goes.
                let removed = if client.is_usable() {
                    client.delete(upload_path)
                } else {
                    Err(Error::new(Kind::Io, "connection lost"))
                };
                return Err(with_temporary(e, upload_path, removed));
            }
        }
        if let Some(mode) = &self.opts.chmod {
            let arg = format!("CHMOD {mode} {}", target.path);
            if let Err(why) = self.client(target)?.site(&arg)? {
                self.events.note(&format!(
                    "warning: {target}: the server did not change the mode (SITE CHMOD): {why}"
                ));
            }
        }
        if self.opts.remove_source {
            let path = match &job.source {
                PutSource::File(p) => Some(p),
                PutSource::Walked(w) => Some(&w.0.path),
                PutSource::Stdin => None,
            };
            if let Some(p) = path {
                let supports_size = self.client(target)?.features().size;
                if !verified && supports_size {
                    self.events.note(&format!(
                        "{}: kept: the server's size of {target} could not be checked",
                        p.display()
                    ));
                } else if matches!(job.source, PutSource::Walked(_)) && !src.still_at(p) {
                    self.events.note(&format!(
                        "{}: kept: no longer the file that was uploaded (replaced meanwhile)",
                        p.display()
                    ));
                } else {
                    std::fs::remove_file(p).map_err(|e| Error::local_io(p.display(), &e))?;
                }
            }
        }
        Ok(())
    }

    /// After the server refused to make the folder `folder` (saying `why`): is it there
    /// anyway? If not, nothing can go into it: its parent is missing (73, naming it and
    /// `--create-dirs`), or the server will not make it (77). A server that cannot tell is
    /// given the benefit of the doubt.
    fn check_refused_mkd(&mut self, folder: &Target, why: &str) -> Result<()> {
        let path = folder.path.as_str();
        let create_dirs = self.opts.create_dirs;
        let client = self.client(folder)?;
        if client.folder_exists(path)? != Some(false) {
            return Ok(());
        }
        let parent = remote_parent(path);
        if !create_dirs && client.folder_exists(parent)? == Some(false) {
            return Err(missing_folder(folder, parent));
        }
        Err(Error::new(
            Kind::Auth,
            format!("{folder}: cannot make the remote folder: MKD: {why}"),
        ))
    }

    /// A refused STOR (77) of a file whose remote folder does not exist is said as that
    /// (73, naming the folder and `--create-dirs`), not as a permission problem. Files of a
    /// tree are not asked about: their folders were made.
    fn explain_refusal(&mut self, job: &Job, upload_path: &str, e: Error) -> Error {
        if e.kind() != Kind::Auth
            || !self.client.is_connected()
            || self.opts.create_dirs
            || matches!(job.source, PutSource::Walked(_))
        {
            return e;
        }
        let parent = remote_parent(upload_path);
        match self
            .client(&job.target)
            .and_then(|c| c.folder_exists(parent))
        {
            Ok(Some(false)) => missing_folder(&job.target, parent),
            _ => e,
        }
    }

    /// MKD each missing folder on the way to the target (known ones are skipped).
    fn make_parents(&mut self, target: &Target) -> Result<()> {
        let path = target.path.clone();
        let Some(dir_end) = path.rfind('/') else {
            return Ok(());
        };
        let dir = &path[..dir_end];
        let mut prefixes = Vec::new();
        for (i, c) in dir.char_indices() {
            if c == '/' && i > 0 {
                prefixes.push(&dir[..i]);
            }
        }
        prefixes.push(dir);
        for p in prefixes {
            if p.is_empty() || p.ends_with('/') || self.made.contains(p) {
                continue;
            }
            // A refusal usually means it is there already; the upload tells otherwise.
            let _refused = self.client(target)?.make_dir(p)?;
            self.made.insert(p.to_string());
        }
        Ok(())
    }
}

impl Opened {
    /// A source read as a stream (standard input, a FIFO): read once, from its start.
    fn stream(reader: Box<dyn Read + Send>) -> Result<Opened> {
        Ok(Opened {
            reader,
            file: None,
            len: None,
            meta: None,
            tag: random_tag()?,
            own: false,
            consumed: 0,
            started: false,
        })
    }

    /// Whether `path` still names the very file this was read from (not a link, not a file
    /// put in its place): what `--remove-source-files` may remove.
    fn still_at(&self, path: &std::path::Path) -> bool {
        use std::os::unix::fs::MetadataExt;
        match (std::fs::symlink_metadata(path), &self.meta) {
            (Ok(now), Some(then)) => {
                now.file_type().is_file() && now.dev() == then.dev() && now.ino() == then.ino()
            }
            _ => false,
        }
    }

    /// Puts the source at `offset`: a seek for a file, bytes read and dropped for a stream.
    fn position(&mut self, offset: u64, source: &PutSource) -> Result<()> {
        if let Some(f) = &mut self.file {
            f.seek(SeekFrom::Start(offset))
                .map_err(|e| Error::local_io(source.shown(), &e))?;
            self.consumed = offset;
            return Ok(());
        }
        if self.consumed > offset {
            return Err(Error::new(
                Kind::Io,
                format!("{}: cannot be read again", source.shown()),
            ));
        }
        let skip = offset - self.consumed;
        let copied = io::copy(&mut (&mut self.reader).take(skip), &mut io::sink())
            .map_err(|e| Error::local_io(source.shown(), &e))?;
        self.consumed += copied;
        if copied != skip {
            return Err(Error::new(
                Kind::Data,
                format!(
                    "{}: shorter ({} bytes) than the remote file to resume ({offset} bytes)",
                    source.shown(),
                    self.consumed
                ),
            ));
        }
        Ok(())
    }
}

/// Opens a local source: 66 when it cannot be read; a folder is refused.
fn open_source(source: &PutSource) -> Result<Opened> {
    match source {
        PutSource::Stdin => Opened::stream(Box::new(io::stdin())),
        PutSource::Walked(w) => {
            let w = &w.0;
            let dup = |f: &File| {
                f.try_clone()
                    .map_err(|e| Error::no_input(w.path.display(), &e))
            };
            Ok(Opened {
                reader: Box::new(dup(&w.file)?),
                file: Some(dup(&w.file)?),
                len: Some(w.meta.len()),
                tag: identity_tag(&w.meta),
                own: true,
                meta: Some(w.meta.clone()),
                consumed: 0,
                started: false,
            })
        }
        PutSource::File(p) => {
            let f = File::open(p).map_err(|e| Error::no_input(p.display(), &e))?;
            let meta = f.metadata().map_err(|e| Error::no_input(p.display(), &e))?;
            if meta.is_dir() {
                return Err(Error::new(
                    Kind::NoInput,
                    format!("{}: is a folder (-r uploads it)", p.display()),
                ));
            }
            if meta.is_file() {
                let clone = f
                    .try_clone()
                    .map_err(|e| Error::no_input(p.display(), &e))?;
                Ok(Opened {
                    reader: Box::new(clone),
                    file: Some(f),
                    len: Some(meta.len()),
                    tag: identity_tag(&meta),
                    own: true,
                    meta: Some(meta),
                    consumed: 0,
                    started: false,
                })
            } else {
                Opened::stream(Box::new(f))
            }
        }
    }
}

/// The folder a remote path is in: "" for the login folder, "/" for the root.
fn remote_parent(path: &str) -> &str {
    match path.trim_end_matches('/').rfind('/') {
        Some(0) => "/",
        Some(i) => &path[..i],
        None => "",
    }
}

/// `e`, a failure that left the temporary `upload_path` (`--atomic`) of no use, saying
/// whether it was `removed`. Not retried.
fn with_temporary(e: Error, upload_path: &str, removed: Result<()>) -> Error {
    let msg = match removed {
        Ok(()) => format!("{e}; the temporary {upload_path} was removed"),
        Err(c) => format!("{e}; the temporary {upload_path} could not be removed: {c}"),
    };
    e.with_message(msg).transient(false)
}

/// A remote folder that does not exist, where `target` should go (73).
fn missing_folder(target: &Target, folder: &str) -> Error {
    Error::new(
        Kind::CantCreate,
        format!(
            "{target}: the remote folder {} does not exist (--create-dirs makes it)",
            crate::error::visible(folder)
        ),
    )
}

/// The longest file name most file systems take (NAME_MAX): a server's among them.
const NAME_MAX: usize = 255;

/// The temporary name an atomic upload goes to: `.NAME.TAG.part` in the same folder, where
/// TAG is the local file's identity (`identity_tag`) or a stream's random tag. A
/// `.NAME.part` of another uploader is never written, renamed or resumed: only a temporary
/// of the very same local file carries its TAG, so `-c` resumes its own and nothing else.
/// Where that would be longer than a file name may be, NAME is cut to 200 bytes and a
/// digest of the whole of it added (`.NAME[..200].<16 hex>.TAG.part`), as a download's
/// `.part` is ([`part_path`](crate::transfer::part_path)): the same name on every run.
pub fn temporary_path(path: &str, tag: &str) -> String {
    let (dir, name) = path.split_at(path.rfind('/').map_or(0, |i| i + 1));
    if name.len() + tag.len() + ".part".len() + 2 <= NAME_MAX {
        return format!("{dir}.{name}.{tag}.part");
    }
    let mut cut = 200;
    // Cut between UTF-8 characters, so that the name stays readable.
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    let digest = crate::util::digest::sha256(name.as_bytes());
    format!("{dir}.{}.{}.{tag}.part", &name[..cut], hex(&digest[..8]))
}

/// 12 hex digits of SHA-256 over what identifies a local file's contents across runs: its
/// size and modification time (to the nanosecond), device and inode, as fstat gave them.
/// A changed file (another time or size) gets another tag, so a temporary of its old
/// contents is never resumed with its new ones; no one else can guess it from the server.
fn identity_tag(meta: &std::fs::Metadata) -> String {
    use std::os::unix::fs::MetadataExt;
    let id = format!(
        "posthaste .part v1\0{}\0{}.{:09}\0{}\0{}",
        meta.size(),
        meta.mtime(),
        meta.mtime_nsec(),
        meta.dev(),
        meta.ino()
    );
    hex(&crate::util::digest::sha256(id.as_bytes())[..6])
}

/// 12 random hex digits: the tag of a stream's temporary, this run's alone (also the OAuth2
/// token cache's, `cli::oauth2::cache`).
pub(crate) fn random_tag() -> Result<String> {
    let mut raw = [0u8; 6];
    getrandom::fill(&mut raw).map_err(|e| {
        Error::new(
            Kind::Software,
            format!("no random numbers for a temporary name: {e}"),
        )
    })?;
    Ok(hex(&raw))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Moves up to `max` bytes from `file` (at its current offset) into `sock` with sendfile(2):
/// no copy through user space. Returns 0 at the end of the file. The socket's limits
/// (`--max-time`, the minimum rate) apply as to any write.
fn send_file_chunk(file: &File, sock: &crate::net::Sock, max: usize) -> Result<u64> {
    use std::os::fd::AsRawFd;
    loop {
        let sent = sock.before_write().and_then(|()| {
            // SAFETY: both descriptors are open for the whole call; a null offset uses and
            // advances the file's own position.
            let n = unsafe {
                libc::sendfile(
                    sock.tcp().as_raw_fd(),
                    file.as_raw_fd(),
                    std::ptr::null_mut(),
                    max,
                )
            };
            sock.after(if n >= 0 {
                Ok(n as usize)
            } else {
                Err(io::Error::last_os_error())
            })
        });
        let e = match sent {
            Ok(n) => return Ok(n as u64),
            Err(e) if crate::net::stream::LimitReached::of(&e).is_some() => {
                return Err(Error::network("data connection", e));
            }
            Err(e) => e,
        };
        match e.kind() {
            io::ErrorKind::Interrupted => continue,
            // The socket has a send timeout: EAGAIN after it is a stall.
            io::ErrorKind::WouldBlock => {
                return Err(Error::network(
                    "data connection",
                    io::Error::from(io::ErrorKind::TimedOut),
                ));
            }
            _ if matches!(e.raw_os_error(), Some(libc::EPIPE | libc::ECONNRESET)) => {
                return Err(Error::network("data connection", e));
            }
            _ if matches!(e.raw_os_error(), Some(libc::EIO)) => {
                return Err(Error::local_io("reading the file to upload", &e));
            }
            _ => return Err(Error::network("data connection", e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_names_stay_in_the_folder() {
        assert_eq!(temporary_path("f.txt", "0a1b2c"), ".f.txt.0a1b2c.part");
        assert_eq!(temporary_path("a/b/f", "t"), "a/b/.f.t.part");
        assert_eq!(temporary_path("/srv/x", "t"), "/srv/.x.t.part");
    }

    #[test]
    fn a_temporary_name_is_never_longer_than_a_file_name_may_be() {
        let tag = "0a1b2c3d4e5f";
        // The longest name kept whole: 236 bytes, and the 19 of '.', '.', TAG and ".part".
        let name = "n".repeat(236);
        assert_eq!(
            temporary_path(&format!("d/{name}"), tag),
            format!("d/.{name}.{tag}.part")
        );
        // Longer, up to the 255 bytes a local name may have: cut, with a digest of the whole.
        for len in [237, 240, 250, 255] {
            let name = "n".repeat(len);
            let temp = temporary_path(&format!("d/{name}"), tag);
            let file = temp.strip_prefix("d/").unwrap();
            assert!(file.len() <= NAME_MAX, "{len}: {}", file.len());
            let digest = file
                .strip_prefix(&format!(".{}.", "n".repeat(200)))
                .and_then(|rest| rest.strip_suffix(&format!(".{tag}.part")))
                .unwrap_or_else(|| panic!("{len}: {file}"));
            assert_eq!(digest.len(), 16, "{file}");
            assert!(digest.bytes().all(|b| b.is_ascii_hexdigit()), "{file}");
            // The same on every run (-c finds it), another for another name.
            assert_eq!(temporary_path(&format!("d/{name}"), tag), temp);
            assert_ne!(temporary_path(&format!("d/{name}x"), tag), temp);
        }
        // Cut between characters: 'é' is two bytes, the 200th byte is inside one.
        let name = format!("a{}", "é".repeat(120));
        let temp = temporary_path(&name, tag);
        assert!(
            temp.starts_with(&format!(".a{}.", "é".repeat(99))),
            "{temp}"
        );
        assert!(temp.len() <= NAME_MAX, "{temp}");
    }

    #[test]
    fn a_files_tag_follows_its_identity() {
        let dir = crate::util::test_folder("tag");
        let p = dir.join("f");
        std::fs::write(&p, b"one").unwrap();
        let tag = |p: &std::path::Path| identity_tag(&std::fs::metadata(p).unwrap());
        let first = tag(&p);
        assert_eq!(first.len(), 12);
        assert!(first.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(tag(&p), first, "the same file, the same tag");
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000);
        let f = File::options().write(true).open(&p).unwrap();
        f.set_modified(t).unwrap();
        let at_t = tag(&p);
        assert_ne!(at_t, first, "another time");
        f.set_len(2).unwrap();
        f.set_modified(t).unwrap();
        assert_ne!(tag(&p), at_t, "another size");
        // Another file with the same size and time: another inode.
        let q = dir.join("g");
        std::fs::write(&q, b"on").unwrap();
        File::options()
            .write(true)
            .open(&q)
            .unwrap()
            .set_modified(t)
            .unwrap();
        assert_ne!(tag(&q), tag(&p));
        let r = random_tag().unwrap();
        assert_eq!(r.len(), 12);
        assert_ne!(r, random_tag().unwrap());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
