//! What ftp-get does with its URLs: expand remote globs, download each file to `NAME.part`,
//! check its size, resume with REST, retry transient failures, publish by rename, then
//! (optionally) delete the remote copy. URLs on one server share one control connection.

use super::workers::{self, Worker};
use crate::error::{Error, Kind, Result};
use crate::events::Events;
use crate::ftp::client::{FtpClient, FtpOptions};
use crate::ftp::parse::{glob_match, has_glob, safe_local_name};
use crate::jobs::reconnect::Reconnecting;
use crate::jobs::retry::RetryPolicy;
use crate::net::url::Target;
use crate::parallel::{self, RateLimit};
use crate::session::Credentials;
use crate::transfer::{self, PartFile, Plan, Resume, StreamOut};
use crate::wire::printable;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use stream::Delivery;

mod stream;
mod tree;

/// At most this many files matched by one wildcard URL, and this many bytes of their names,
/// are kept: a hostile or enormous listing cannot take unbounded memory.
pub const MAX_MATCHES: usize = 100_000;
const MAX_MATCHED_BYTES: usize = 32 << 20;

/// Where downloads go.
#[derive(Debug, Clone)]
pub enum Destination {
    /// Into this folder, under the remote file's name (created when missing).
    Dir(PathBuf),
    /// To exactly this file (one remote file only).
    File(PathBuf),
    /// To the stream the caller hands [`get_all`] (standard output), one file after another.
    Stream,
}

/// ftp-get's choices.
#[derive(Debug, Clone)]
pub struct GetOptions {
    pub destination: Destination,
    /// Resume a `.part` (or a shorter existing file) with REST.
    pub resume: bool,
    /// Make missing local folders (curl's `--create-dirs`); otherwise they are refused (73).
    pub create_dirs: bool,
    /// Skip files that already exist locally.
    pub no_clobber: bool,
    /// Set the local modification time from MDTM.
    pub keep_mtime: bool,
    /// DELE each remote file once it is safely stored locally.
    pub delete_remote: bool,
    /// How transient failures are retried.
    pub retry: RetryPolicy,
    /// NOOP interval on the control connection during slow local work.
    pub keepalive: Duration,
    /// `-r`: a URL ending in '/' is a tree to mirror into the destination folder.
    pub recursive: bool,
    /// `--newer`: skip files whose local copy has the remote size and modification time.
    pub newer: bool,
    /// `--parallel N`: this many connections download at once (1: one after another).
    pub parallel: usize,
    /// `--limit-rate`: shared by every connection of the run.
    pub limit: Option<Arc<RateLimit>>,
}

/// Supplies the login for a server (credentials may need a prompt or a netrc look-up).
pub type LoginFor<'a> = dyn FnMut(&Target) -> Result<Credentials> + 'a;

/// Downloads every URL. Failures are reported through `events` as they happen, and the
/// run goes on with the next file; a closed standard output stops it quietly.
/// `stream` is where [`Destination::Stream`] writes (standard output, opened by the caller).
pub fn get_all(
    targets: &[Target],
    ftp: &FtpOptions,
    opts: &GetOptions,
    mut stream: Option<&mut StreamOut>,
    login_for: &mut LoginFor<'_>,
    events: &mut dyn Events,
) {
    let folder = match &opts.destination {
        Destination::Dir(d) => Some(d.as_path()),
        Destination::File(f) => Some(crate::util::durable::parent_of(f)),
        Destination::Stream => None,
    };
    if let Some(d) = folder {
        if let Err(e) = transfer::ensure_folder(d, opts.create_dirs) {
            events.fail(&e);
            return;
        }
    }
    match &opts.destination {
        Destination::Stream if stream.is_none() => {
            events.fail(&Error::new(Kind::Software, "no stream to write to"));
            return;
        }
        _ => {}
    }
    // Group by server and login, keeping the order in which servers first appear.
    let groups = super::by_session(targets, |t| t);
    // Which remote file each local path was written from in this run.
    let mut claimed: HashMap<u64, u64> = HashMap::new();
    let sole_url = targets.len() == 1;
    let parallel = opts.parallel > 1 && !matches!(opts.destination, Destination::Stream);
    for group in groups {
        let login = match login_for(group[0]) {
            Ok(l) => l,
            Err(e) => {
                events.fail(&e);
                continue;
            }
        };
        if parallel {
            get_parallel(&group, ftp, opts, &login, &mut claimed, sole_url, events);
            continue;
        }
        let mut run = Run::new(ftp, opts, login, &mut *events, Some(&mut claimed), sole_url);
        run.stream = stream.as_deref_mut();
        if let Stop::Everything = run.group(&group) {
            return;
        }
    }
}

/// `--parallel N`: one thread lists (globs, trees) and claims local names, feeding a bounded
/// queue; N threads, each with its own connection, download from it.
fn get_parallel(
    group: &[&Target],
    ftp: &FtpOptions,
    opts: &GetOptions,
    login: &Credentials,
    claimed: &mut HashMap<u64, u64>,
    sole_url: bool,
    events: &mut dyn Events,
) {
    workers::run(
        opts.parallel,
        events,
        |queue, ev| {
            let mut run = Run::new(ftp, opts, login.clone(), ev, Some(claimed), sole_url);
            run.queue = Some(queue);
            run.group(group);
        },
        // A worker claims nothing: the lister did.
        |ev, work| work(&mut Run::new(ftp, opts, login.clone(), ev, None, sole_url)),
    );
}

enum Stop {
    /// Go on with the next file (or server).
    Next,
    /// Standard output is closed: nothing more can be delivered.
    Everything,
    /// The login failed: every file of this server would fail the same way.
    Server,
}

struct Run<'a> {
    ftp: &'a FtpOptions,
    opts: &'a GetOptions,
    login: Credentials,
    client: Reconnecting<FtpClient>,
    events: &'a mut dyn Events,
    /// Which retry of the current operation this is (0: the first try).
    attempt: u32,
    stream: Option<&'a mut StreamOut>,
    /// The device or FIFO the current file is written into in place, kept open across
    /// retries, with the bytes written to it so far.
    device: Option<(StreamOut, u64)>,
    /// Which remote file each local path was written from in this run, both as hashes:
    /// a 100,000-file run keeps 16 bytes per file, not two strings. (None in a
    /// `--parallel` worker: the lister claims.)
    claimed: Option<&'a mut HashMap<u64, u64>>,
    /// While mirroring a tree (`-r`): the remote folder it starts at (ending in '/', or
    /// empty); local paths are the remote ones below it.
    tree_base: Option<String>,
    /// `--parallel`: files go to this queue (with their tree base) instead of being
    /// downloaded here.
    queue: Option<&'a parallel::Queue<Job>>,
    /// The run has one URL: no claims are needed.
    sole_url: bool,
}

/// A file for a `--parallel` worker: the remote file and the tree it belongs to.
type Job = (Target, Option<String>);

impl Worker<Job> for Run<'_> {
    fn connect(&mut self, (file, _): &Job) -> Result<()> {
        self.client(file).map(drop)
    }

    fn work(&mut self, (file, base): Job) -> Result<()> {
        self.tree_base = base;
        self.with_retries(|r| r.fetch(&file, &mut 0))
            .map_err(out_of_space)
    }

    fn login_failed(&self, e: &Error) -> bool {
        Run::login_failed(self, e)
    }

    fn events(&mut self) -> &mut dyn Events {
        &mut *self.events
    }

    fn close(&mut self) {
        Run::close(self)
    }
}

impl<'a> Run<'a> {
    fn new(
        ftp: &'a FtpOptions,
        opts: &'a GetOptions,
        login: Credentials,
        events: &'a mut dyn Events,
        claimed: Option<&'a mut HashMap<u64, u64>>,
        sole_url: bool,
    ) -> Run<'a> {
        Run {
            ftp,
            opts,
            login,
            client: Reconnecting::new(),
            events,
            attempt: 0,
            stream: None,
            device: None,
            claimed,
            tree_base: None,
            queue: None,
            sole_url,
        }
    }

    fn group(&mut self, group: &[&Target]) -> Stop {
        let mut stream_written: u64 = 0;
        for target in group {
            let folder = target.path.is_empty() || target.path.ends_with('/');
            let tree = if !self.opts.recursive {
                None
            } else if folder {
                Some((*target).clone())
            } else {
                // -r names a tree: a folder without its trailing '/' is that folder (as
                // lftp's mirror and wget -r take it), asked of the server.
                match self.with_retries(|run| run.folder_as_tree(target)) {
                    Ok(t) => t,
                    Err(e) => {
                        self.events.fail(&e);
                        if self.login_failed(&e) {
                            return Stop::Next;
                        }
                        continue;
                    }
                }
            };
            if let Some(tree) = &tree {
                match self.mirror(tree, &mut stream_written) {
                    Stop::Next => continue,
                    Stop::Everything => {
                        self.close();
                        return Stop::Everything;
                    }
                    Stop::Server => return Stop::Next,
                }
            }
            let (prefix, files) = match self.with_retries(|run| run.expand(target)) {
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
                self.events.fail(&Error::new(
                    Kind::Usage,
                    format!(
                        "{target}: matches {} files, but -o names one file (use -O DIR)",
                        files.len()
                    ),
                ));
                continue;
            }
            for name in files.iter() {
                let file = target.with_path(format!("{prefix}{name}"));
                match self.fetch_one(&file, &mut stream_written) {
                    Stop::Next => {}
                    Stop::Everything => {
                        self.close();
                        return Stop::Everything;
                    }
                    Stop::Server => return Stop::Next,
                }
            }
        }
        self.close();
        Stop::Next
    }

    /// Claims and downloads one file, reporting a failure; `Stop::Everything` when
    /// standard output is gone.
    fn fetch_one(&mut self, file: &Target, stream_written: &mut u64) -> Stop {
        match self.claim(file) {
            Ok(true) => {}
            Ok(false) => return Stop::Next,
            Err(e) => {
                self.events.fail(&e);
                return Stop::Next;
            }
        }
        if let Some(queue) = self.queue {
            // --parallel: a worker downloads it. (A closed queue means the workers are gone.)
            return match queue.send((file.clone(), self.tree_base.clone())) {
                Ok(()) => Stop::Next,
                Err(_) => Stop::Server,
            };
        }
        // Standard output has no .part file for -c to resume: its failure stays as it is.
        let stream = matches!(self.opts.destination, Destination::Stream);
        let res = self
            .with_retries(|run| run.fetch(file, stream_written))
            .map_err(|e| if stream { e } else { out_of_space(e) });
        self.device = None;
        if let Err(e) = res {
            let closed = self.stream.as_ref().is_some_and(|s| s.is_closed());
            if e.kind() != Kind::StdoutClosed {
                self.events.fail(&e);
            }
            if closed {
                return Stop::Everything;
            }
            if self.login_failed(&e) {
                return Stop::Server;
            }
        }
        Stop::Next
    }

    /// Claims the local name `file` is written to for this run: two remote files never land
    /// on one local name (the second is refused, 73, before anything is fetched or deleted).
    /// `Ok(false)`: the very same remote file was asked for twice, and is fetched once.
    fn claim(&mut self, file: &Target) -> Result<bool> {
        let Some(dest) = self.local_path(file)? else {
            return Ok(true);
        };
        if self.sole_url {
            // The run has one URL: its files (one, a wildcard's matches without duplicates,
            // or a tree's) have distinct remote paths, so distinct local ones (each name is
            // checked), and nothing else writes there. Keeping nothing per file keeps a run
            // of any size in the same memory.
            return Ok(true);
        }
        let Some(claimed) = self.claimed.as_deref_mut() else {
            return Ok(true);
        };
        let source = hash_of(&file.to_string());
        match claimed.get(&hash_of(&dest)) {
            None => {
                claimed.insert(hash_of(&dest), source);
                Ok(true)
            }
            Some(first) if *first == source => {
                self.events
                    .note(&format!("{file}: asked for twice, downloaded once"));
                Ok(false)
            }
            Some(_) => Err(Error::new(
                Kind::CantCreate,
                format!(
                    "{}: already written from another remote file in this run; not overwriting it with {file}",
                    dest.display()
                ),
            )),
        }
    }

    /// The local path a remote file goes to (`None` for the stream), with the remote name
    /// checked: it must not escape the destination folder.
    fn local_path(&self, target: &Target) -> Result<Option<PathBuf>> {
        let path = target.path.as_str();
        let name = path.rsplit('/').next().unwrap_or(path);
        if let (Destination::Dir(d), Some(base)) = (&self.opts.destination, &self.tree_base) {
            if let Some(rel) = path.strip_prefix(base.as_str()) {
                let mut local = d.clone();
                for part in rel.split('/') {
                    safe_local_name(part).map_err(|why| {
                        Error::new(
                            Kind::Protocol,
                            format!(
                                "{target}: refusing the remote name \"{}\": {why}",
                                printable(part)
                            ),
                        )
                    })?;
                    local.push(part);
                }
                return Ok(Some(local));
            }
        }
        Ok(match &self.opts.destination {
            Destination::Dir(d) => {
                safe_local_name(name).map_err(|why| {
                    Error::new(
                        Kind::Protocol,
                        format!(
                            "{target}: refusing the remote name \"{}\": {why}",
                            printable(name)
                        ),
                    )
                })?;
                Some(d.join(name))
            }
            Destination::File(f) => Some(f.clone()),
            Destination::Stream => None,
        })
    }

    /// A failed login fails every file of the server the same way: said once.
    fn login_failed(&self, e: &Error) -> bool {
        workers::login_failed(&self.client, e)
    }

    fn close(&mut self) {
        self.client.close();
    }

    fn client(&mut self, target: &Target) -> Result<&mut FtpClient> {
        connected(&mut self.client, target, &self.login, self.ftp)
    }

    /// Runs `f`, retrying transient failures with a growing pause, reconnecting as needed.
    fn with_retries<T>(&mut self, mut f: impl FnMut(&mut Self) -> Result<T>) -> Result<T> {
        let mut backoff = self.opts.retry.start();
        loop {
            self.attempt = backoff.attempt();
            let err = match f(self) {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            let Some(delay) = backoff.next(&err) else {
                return Err(err);
            };
            self.client.drop_broken();
            self.events.note(&backoff.message(&err, delay));
            std::thread::sleep(delay);
        }
    }

    /// With `-r`, the folder a URL without its trailing '/' names, as a URL ending in '/';
    /// `None` for a file (or a wildcard), which is fetched as one.
    fn folder_as_tree(&mut self, target: &Target) -> Result<Option<Target>> {
        let path = target.path.as_str();
        if has_glob(path.rsplit('/').next().unwrap_or(path)) {
            return Ok(None);
        }
        let folder = self.client(target)?.is_folder(path)?;
        Ok(folder.then(|| target.with_path(format!("{path}/"))))
    }

    /// The remote files a URL names: itself, or the matches of a glob in its last component,
    /// as a folder prefix and the names in it (paths are `prefix + name`; a URL is made for
    /// one file at a time, when it is fetched). The listing streams; only matching names are
    /// kept, at most [`MAX_MATCHES`].
    fn expand(&mut self, target: &Target) -> Result<(String, Names)> {
        let path = target.path.as_str();
        if path.is_empty() || path.ends_with('/') {
            return Err(folder_hint(target));
        }
        let (dir, pattern) = match path.rfind('/') {
            Some(i) => (&path[..=i], &path[i + 1..]),
            None => ("", path),
        };
        if !has_glob(pattern) {
            let mut one = Names::default();
            one.push(&target.path);
            return Ok((String::new(), one));
        }
        if has_glob(dir) {
            return Err(Error::new(
                Kind::Usage,
                format!("{target}: wildcards are only supported in the last part of the path"),
            ));
        }
        let listing_dir = dir
            .strip_suffix('/')
            .filter(|d| !d.is_empty())
            .unwrap_or(dir);
        let mut matched = Names::default();
        let mut matched_bytes = 0usize;
        let mut refused: Vec<String> = Vec::new();
        let mut refused_count = 0usize;
        self.client(target)?.list_files(listing_dir, &mut |n: String| {
            // Matched by its last part, so that a hostile "../x.csv" is refused, not skipped.
            if !glob_match(pattern, n.rsplit('/').next().unwrap_or(&n)) {
                return Ok(());
            }
            let too_long = (dir.len() + n.len() > crate::ftp::client::MAX_PATH)
                .then_some("its path would be longer than the 4000 bytes a remote path may have");
            if let Err(why) = safe_local_name(&n).and(too_long.map_or(Ok(""), Err)) {
                refused_count += 1;
                if refused.len() < 10 {
                    refused.push(format!(
                        "{target}: refusing the listed name \"{}\": {why}",
                        printable(&n)
                    ));
                }
                return Ok(());
            }
            matched_bytes += n.len();
            matched.push(&n);
            if matched.len() > MAX_MATCHES || matched_bytes > MAX_MATCHED_BYTES {
                return Err(Error::new(Kind::Protocol, format!(
                    "{target}: matches more than {MAX_MATCHES} files (or {} MiB of names); narrow the pattern",
                    MAX_MATCHED_BYTES >> 20
                )));
            }
            Ok(())
        })?;
        for msg in &refused {
            self.events.fail(&Error::new(Kind::Protocol, msg.clone()));
        }
        if refused_count > refused.len() {
            self.events.fail(&Error::new(
                Kind::Protocol,
                format!(
                    "{target}: refused {} more listed names",
                    refused_count - refused.len()
                ),
            ));
        }
        matched.sort_dedup();
        if matched.is_empty() && refused_count == 0 {
            return Err(Error::new(
                Kind::NoInput,
                format!("{target}: no remote file matches"),
            ));
        }
        Ok((dir.to_string(), matched))
    }

    /// Downloads one file. `stream_written` counts what already went to the stream (a retry
    /// resumes after it).
    fn fetch(&mut self, target: &Target, stream_written: &mut u64) -> Result<()> {
        // Everything local is decided before the network is touched: a folder in the way is
        // refused now, not after the download.
        let plan = match self.local_path(target)? {
            None => None,
            Some(dest) => {
                if self.opts.no_clobber && std::fs::symlink_metadata(&dest).is_ok() {
                    self.events.skip(Some(&format!(
                        "{}: exists, skipped (--no-clobber)",
                        dest.display()
                    )));
                    return Ok(());
                }
                let follow = matches!(self.opts.destination, Destination::File(_));
                Some(transfer::plan(&dest, follow)?)
            }
        };
        let opts = self.opts;
        let ascii = self.ftp.ascii || target.ascii;
        let path = target.path.clone();
        let client = self.client(target)?;
        client.set_ascii(ascii);
        let size = client.size(&path)?;
        // In ASCII mode the bytes on the wire differ from SIZE: no size check.
        let check_size = if ascii { None } else { size };
        let to_file = matches!(plan, Some(Plan::Atomic(_)));
        let mtime = if (opts.keep_mtime || opts.newer) && to_file {
            client.mdtm(&path)?
        } else {
            None
        };
        if let (true, Some(Plan::Atomic(dest)), Some(want), Some(t)) =
            (opts.newer, &plan, size, mtime)
        {
            if same_file(dest, want, t) {
                // Up to date: silent, as rsync is (a mirror run is mostly this).
                self.events.skip(None);
                return Ok(());
            }
        }
        let mtime = mtime.filter(|_| opts.keep_mtime);
        let got = match plan {
            None => self.fetch_to_stream(target, ascii, check_size, None, stream_written),
            Some(Plan::InPlace(device)) => {
                let mut written = self.device.as_ref().map_or(0, |(_, w)| *w);
                let res =
                    self.fetch_to_stream(target, ascii, check_size, Some(&device), &mut written);
                if let Some((_, w)) = &mut self.device {
                    *w = written;
                }
                res
            }
            Some(Plan::Atomic(dest)) => {
                self.fetch_to_file(target, &dest, ascii, size, check_size, mtime)
            }
        };
        match got {
            // A folder named without its trailing '/' fails like a missing file: say which.
            Err(e) if e.kind() == Kind::NoInput && self.client(target)?.is_folder(&path)? => {
                Err(folder_hint(target))
            }
            other => other,
        }
    }

    /// Downloads into `dest` through its `.part` (or appending to a shorter `dest` itself
    /// with `-c`), checks the size, and renames into place.
    fn fetch_to_file(
        &mut self,
        target: &Target,
        dest: &Path,
        ascii: bool,
        size: Option<u64>,
        check_size: Option<u64>,
        mtime: Option<SystemTime>,
    ) -> Result<()> {
        let from = self.resume_from(target, dest, ascii, check_size);
        let mut part = PartFile::open(dest, from)?;
        if check_size.is_some_and(|s| part.len() > s) {
            part.restart()?;
        }
        let offset = part.len();
        let shown = dest.strip_prefix(".").unwrap_or(dest).display().to_string();
        let complete_already = check_size == Some(offset) && offset > 0;
        if complete_already {
            self.events.skip(Some(&format!(
                "{shown}: already complete, nothing to download"
            )));
        } else if let Err(e) = self.download(target, &shown, ascii, size, check_size, &mut part) {
            if e.kind() == Kind::Protocol && part.len() > offset {
                // What arrived cannot be trusted (more than SIZE said, say): keep none of
                // it, and leave the destination as it was.
                part.restart()?;
                part.discard();
            } else if part.is_empty() {
                // An empty .part holds nothing worth resuming: don't leave it behind.
                part.discard();
            }
            return Err(e);
        }
        if let Some(want) = check_size {
            if part.len() != want {
                return Err(Error::cut_short(target, part.len(), want));
            }
        } else if offset > 0 && part.resumed() {
            self.events.note(&format!(
                "{target}: resumed after {offset} bytes; the server does not report the size (SIZE), so the result could not be checked"
            ));
        }
        if !complete_already {
            self.events.finish();
        }
        self.publish(target, part, mtime)
    }

    /// Where a download into `dest` starts: a retry resumes only where the result can be
    /// checked against SIZE; `-c` resumes in binary mode; ASCII never resumes (REST counts
    /// the server's bytes, which in ASCII mode are not the local ones).
    fn resume_from(
        &mut self,
        target: &Target,
        dest: &Path,
        ascii: bool,
        check_size: Option<u64>,
    ) -> Resume {
        let resume = if ascii {
            if self.opts.resume && self.attempt == 0 {
                self.events.note(&format!(
                    "{target}: an ASCII transfer cannot be resumed: downloading the whole file"
                ));
            }
            false
        } else if self.attempt > 0 {
            check_size.is_some()
        } else {
            self.opts.resume
        };
        if resume {
            return transfer::resume_from(dest, check_size);
        }
        if !ascii && self.attempt == 0 {
            // Replaced as curl does (wget writes NAME.1 beside it), but said: the run that
            // left it told the user to come back with -c.
            let part = transfer::part_path(dest);
            if let Ok(m) = std::fs::symlink_metadata(&part) {
                if m.is_file() && m.len() > 0 {
                    let shown = part.strip_prefix(".").unwrap_or(&part).display();
                    self.events.note(&format!(
                        "{shown} ({} bytes) from an earlier run is replaced; -c resumes it",
                        m.len()
                    ));
                }
            }
        }
        Resume::Fresh
    }

    /// RETR into `part` from where it ends; when the server refuses REST, says so and
    /// downloads the whole file instead.
    fn download(
        &mut self,
        target: &Target,
        shown: &str,
        ascii: bool,
        size: Option<u64>,
        check_size: Option<u64>,
        part: &mut PartFile,
    ) -> Result<()> {
        self.events.start(shown, size, part.len());
        self.events.partial(part.path());
        if self
            .retrieve_into(target, ascii, check_size, part)?
            .is_some()
        {
            return Ok(());
        }
        self.events.note(&format!(
            "{target}: the server refused to resume (REST): downloading the whole file"
        ));
        part.restart()?;
        self.events.start(shown, size, 0);
        self.events.partial(part.path());
        self.retrieve_into(target, ascii, check_size, part)
            .map(|_| ())
    }

    /// Renames the complete download into place; with `--delete-remote`, syncs it first
    /// (keeping the control connection alive meanwhile) and deletes the remote copy after.
    fn publish(
        &mut self,
        target: &Target,
        part: PartFile,
        mtime: Option<SystemTime>,
    ) -> Result<()> {
        let delete = self.opts.delete_remote;
        if delete {
            // The remote copy goes only once ours is on disk, not just in the page cache.
            let keepalive = self.opts.keepalive;
            let client = self.client(target)?;
            client.keepalive_during(keepalive, || part.sync())?;
        }
        part.publish(mtime, delete)?;
        if delete {
            self.client(target)?.delete(&target.path)?;
        }
        Ok(())
    }

    /// RETR from where `part` ends, appending to it. `Ok(None)`: the server refused REST.
    fn retrieve_into(
        &mut self,
        target: &Target,
        ascii: bool,
        check_size: Option<u64>,
        part: &mut PartFile,
    ) -> Result<Option<u64>> {
        let client = connected(&mut self.client, target, &self.login, self.ftp)?;
        client.set_ascii(ascii);
        let events = &mut *self.events;
        let offset = part.len();
        let expected = check_size.map(|s| s.saturating_sub(offset));
        let mut out = Delivery::new(ascii, |d: &[u8]| part.write(d));
        let limit = self.opts.limit.as_deref();
        let mut sink = |buf: &[u8]| -> Result<()> {
            out.push(buf)?;
            events.advance(buf.len() as u64);
            if let Some(l) = limit {
                l.take(buf.len() as u64);
            }
            Ok(())
        };
        let got = client.retrieve(&target.path, offset, expected, &mut sink);
        if let Ok(Some(_)) = got {
            out.finish()?;
        }
        got
    }

    /// Deletes the remote copy only once the reader has what was written (a pipe drained)
    /// or it is on disk, keeping the control connection alive meanwhile.
    fn settle_then_delete(&mut self, target: &Target, device: bool) -> Result<()> {
        let within = self.ftp.session.connect.idle_timeout;
        let keepalive = self.opts.keepalive;
        let (login, ftp) = (self.login.clone(), self.ftp);
        let (slot, out) = self.stream_out(device)?;
        let client = connected(slot, target, &login, ftp)?;
        client
            .keepalive_during(keepalive, || out.settle(within))
            .map_err(|e| {
                let msg = format!("{e}; the remote file {target} was not deleted");
                e.with_message(msg)
            })?;
        client.delete(&target.path)
    }
}

/// A file's failure on a full disk or over quota, ended with how to go on, as pop-fetch's
/// and imap-fetch's: `-c` resumes what is in the `.part` files and skips the files done.
fn out_of_space(e: Error) -> Error {
    let errno = e.io_source().and_then(std::io::Error::raw_os_error);
    if !matches!(errno, Some(libc::ENOSPC | libc::EDQUOT)) {
        return e;
    }
    let message = format!(
        "{} (run the same command with -c when there is space: it resumes what the .part files hold)",
        e.message()
    );
    e.with_message(message)
}

/// Whether the local file `dest` has `size` bytes and the modification time `mtime` (to
/// the second: MDTM's precision).
fn same_file(dest: &Path, size: u64, mtime: SystemTime) -> bool {
    let secs = |t: SystemTime| {
        t.duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .ok()
    };
    match std::fs::symlink_metadata(dest) {
        Ok(m) if m.is_file() => m.len() == size && m.modified().ok().and_then(secs) == secs(mtime),
        _ => false,
    }
}

/// The names a wildcard matched, in one string (names from a listing hold no line break):
/// 8 bytes per name besides its text, where a `Vec<String>` takes 24 and an allocation each.
#[derive(Default)]
struct Names {
    text: String,
    spans: Vec<(u32, u32)>,
}

impl Names {
    fn push(&mut self, name: &str) {
        let start = self.text.len() as u32;
        self.text.push_str(name);
        self.spans.push((start, name.len() as u32));
    }

    fn get(&self, (start, len): (u32, u32)) -> &str {
        &self.text[start as usize..(start + len) as usize]
    }

    fn sort_dedup(&mut self) {
        let mut spans = std::mem::take(&mut self.spans);
        spans.sort_by(|a, b| self.get(*a).cmp(self.get(*b)));
        spans.dedup_by(|a, b| self.get(*a) == self.get(*b));
        spans.shrink_to_fit();
        self.spans = spans;
    }

    fn len(&self) -> usize {
        self.spans.len()
    }

    /// The bytes of all the names' text.
    fn text_len(&self) -> usize {
        self.text.len()
    }

    fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    fn iter(&self) -> impl Iterator<Item = &str> {
        self.spans.iter().map(|s| self.get(*s))
    }
}

/// A 64-bit hash, for telling names apart without keeping them.
fn hash_of<T: std::hash::Hash + ?Sized>(value: &T) -> u64 {
    use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
    BuildHasherDefault::<DefaultHasher>::default().hash_one(value)
}

/// A URL that names a folder: the hint quotes the wildcard URL, so a paste into a shell works.
fn folder_hint(target: &Target) -> Error {
    let mut dir = target.clone();
    if !dir.path.ends_with('/') && !dir.path.is_empty() {
        dir.path.push('/');
    }
    let all = dir.with_path(format!("{}*", dir.path));
    Error::new(
        Kind::Usage,
        format!(
            "{dir}: names a folder, not a file (use '{all}' for the files in it, or -r for the whole tree)"
        ),
    )
}

/// The connection in `slot`, (re)connecting and logging in when there is none or it broke.
fn connected<'c>(
    slot: &'c mut Reconnecting<FtpClient>,
    target: &Target,
    login: &Credentials,
    ftp: &FtpOptions,
) -> Result<&'c mut FtpClient> {
    slot.get(|| FtpClient::connect(target, login, ftp))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A full disk or quota says how to go on; any other failure is left as it is.
    #[test]
    fn out_of_space_says_how_to_go_on() {
        let full = std::io::Error::from_raw_os_error(libc::ENOSPC);
        let e = out_of_space(Error::local_io("/x/f.bin.part", &full));
        assert_eq!(
            e.message(),
            "/x/f.bin.part: No space left on device (run the same command with -c when there is space: it resumes what the .part files hold)"
        );
        assert_eq!(e.exit_code(), 74);
        let reset = std::io::Error::from_raw_os_error(libc::ECONNRESET);
        let e = out_of_space(Error::local_io("/x/f.bin.part", &reset));
        assert_eq!(e.message(), "/x/f.bin.part: Connection reset by peer");
    }
}
