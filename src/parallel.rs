//! Several transfers at once (`--parallel N`): N worker threads, each with its own logged-in
//! connection, take jobs from one bounded queue that a producer fills as it lists or walks,
//! so memory does not grow with the number of files. A worker whose server will not take its
//! connection hands its job back and leaves, so the run goes on over the connections the
//! server accepted. Workers report through a channel; the calling thread turns that into
//! one progress display for the whole run. `--limit-rate` is a [`RateLimit`] that all of
//! them share.

use crate::error::Error;
use crate::events::Events;
use std::cell::Cell;
use std::collections::VecDeque;
use std::sync::mpsc;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// What a worker or the producer tells the calling thread.
enum Msg {
    Note(String),
    Fail(Error),
    Advance(u64),
    /// A file done: its name, the bytes it moved and how long it took.
    Done(String, u64, Duration),
    Skip(Option<String>),
    /// The producer is done: this many files were queued.
    Listed(u64),
}

/// [`Events`] for a worker thread: everything goes to the calling thread.
struct ChannelEvents {
    tx: mpsc::Sender<Msg>,
    /// The file being moved: its name, when it started, the bytes moved so far.
    current: Option<(String, Instant, u64)>,
}

impl ChannelEvents {
    fn new(tx: mpsc::Sender<Msg>) -> ChannelEvents {
        ChannelEvents { tx, current: None }
    }
}

impl Events for ChannelEvents {
    fn note(&mut self, msg: &str) {
        let _ = self.tx.send(Msg::Note(msg.to_string()));
    }
    fn start(&mut self, name: &str, _total: Option<u64>, _offset: u64) {
        // A retry starts the file again: its line counts from the last start.
        self.current = Some((name.to_string(), Instant::now(), 0));
    }
    fn advance(&mut self, n: u64) {
        if let Some((_, _, moved)) = &mut self.current {
            *moved += n;
        }
        let _ = self.tx.send(Msg::Advance(n));
    }
    fn finish(&mut self) {
        // As the display's own finish: a file counts once it started.
        if let Some((name, started, moved)) = self.current.take() {
            let _ = self.tx.send(Msg::Done(name, moved, started.elapsed()));
        }
    }
    fn skip(&mut self, msg: Option<&str>) {
        let _ = self.tx.send(Msg::Skip(msg.map(str::to_string)));
    }
    fn fail(&mut self, err: &Error) {
        let _ = self.tx.send(Msg::Fail(copy(err)));
    }
}

/// The jobs between the producer and the workers: at most `capacity` waiting (a job handed
/// back may go one over), in order.
pub struct Queue<J> {
    state: Mutex<QueueState<J>>,
    changed: Condvar,
    capacity: usize,
}

struct QueueState<J> {
    jobs: VecDeque<J>,
    /// The producer is done: once the queue is empty, workers end.
    closed: bool,
    /// Workers still taking jobs.
    workers: usize,
    /// First jobs taken by workers whose connection has yet to log in: each may come back
    /// ([`Jobs::start`]), so no worker ends while one is out.
    untried: usize,
    /// A worker left for want of a connection, and said so.
    said_fewer: bool,
    /// Jobs sent by the producer so far.
    sent: u64,
}

impl<J> Queue<J> {
    fn new(capacity: usize, workers: usize) -> Queue<J> {
        Queue {
            state: Mutex::new(QueueState {
                jobs: VecDeque::new(),
                closed: false,
                workers,
                untried: 0,
                said_fewer: false,
                sent: 0,
            }),
            changed: Condvar::new(),
            capacity: capacity.max(1),
        }
    }

    /// Adds a job, waiting while the queue is full. `Err(job)` when no worker is left to
    /// take it.
    pub fn send(&self, job: J) -> Result<(), J> {
        let mut st = lock(&self.state);
        loop {
            if st.workers == 0 {
                return Err(job);
            }
            if st.jobs.len() < self.capacity {
                st.jobs.push_back(job);
                st.sent += 1;
                self.changed.notify_all();
                return Ok(());
            }
            st = self.changed.wait(st).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// No more jobs: how many were sent.
    fn close(&self) -> u64 {
        let sent = {
            let mut st = lock(&self.state);
            st.closed = true;
            st.sent
        };
        self.changed.notify_all();
        sent
    }

    fn leave(&self) {
        lock(&self.state).workers -= 1;
        self.changed.notify_all();
    }
}

/// Where a worker takes its next job: `None` when the producer is done and the queue empty.
pub struct Jobs<'q, J> {
    queue: &'q Queue<J>,
    /// This worker handed a job back and left.
    left: Cell<bool>,
    /// This worker has yet to start on a job ([`start`](Jobs::start)): its connection is
    /// not logged in yet.
    first: Cell<bool>,
    /// This worker holds the first job it took, not yet started or handed back: counted in
    /// the queue's `untried`.
    holding: Cell<bool>,
}

/// How a worker goes on with the job it took ([`Jobs::start`]).
pub enum Start<J> {
    /// Do it.
    Go(J),
    /// The first login was refused as every connection's would be (a wrong password,
    /// TLS): that is the job's failure, without logging in again.
    Refused(Error),
    /// The server takes no more connections: the job went back to the workers left, and
    /// this one stops. `Some`: what to say about it, once for the whole run.
    Leave(Option<String>),
}

impl<J> Jobs<'_, J> {
    /// Starts on `job`, which [`next`](Jobs::next) gave: before this worker's first one,
    /// its connection logs in with `login`. A server that takes fewer connections than
    /// asked (a transient refusal of that login, such as 421 "too many connections" or a
    /// refused connect, where other connections fared better) gets the job done by the
    /// workers left, first in line, and this one leaves; the last worker keeps it, so that
    /// no job is left undone, and its own retries decide.
    pub fn start(&self, job: J, login: impl FnOnce(&J) -> Result<(), Error>) -> Start<J> {
        if !self.first.replace(false) {
            return Start::Go(job);
        }
        let outcome =
            match login(&job) {
                Ok(()) => Start::Go(job),
                Err(e) if e.is_transient() => match self.give_back(job) {
                    Ok(()) => {
                        let said = std::mem::replace(&mut lock(&self.queue.state).said_fewer, true);
                        Start::Leave((!said).then(|| {
                            format!("{e}; going on with the connections the server accepted")
                        }))
                    }
                    Err(job) => Start::Go(job),
                },
                Err(e) => Start::Refused(e),
            };
        self.settle();
        outcome
    }

    /// The first job this worker took is settled (started, failed or handed back): a
    /// worker waiting for it to come back need wait no more.
    fn settle(&self) {
        if self.holding.replace(false) {
            lock(&self.queue.state).untried -= 1;
            self.queue.changed.notify_all();
        }
    }

    /// The next job: `None` once the producer is done, the queue empty, and no other
    /// worker holds a first job that its refused login may hand back.
    pub fn next(&self) -> Option<J> {
        if self.left.get() {
            return None;
        }
        // Whatever became of the job before, it is not coming back.
        self.settle();
        let mut st = lock(&self.queue.state);
        loop {
            if let Some(job) = st.jobs.pop_front() {
                if self.first.get() {
                    st.untried += 1;
                    self.holding.set(true);
                }
                self.queue.changed.notify_all();
                return Some(job);
            }
            if st.closed && st.untried == 0 {
                return None;
            }
            st = self
                .queue
                .changed
                .wait(st)
                .unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Hands `job` back, first in line, to the other workers, and leaves: what a worker
    /// does when the server will not take its connection. `Err(job)` when it is the last
    /// worker: nobody else would do the job, so it must (and fail it, if it comes to that).
    fn give_back(&self, job: J) -> Result<(), J> {
        let mut st = lock(&self.queue.state);
        if self.left.get() || st.workers <= 1 {
            return Err(job);
        }
        st.workers -= 1;
        st.jobs.push_front(job);
        if self.holding.replace(false) {
            st.untried -= 1;
        }
        self.left.set(true);
        self.queue.changed.notify_all();
        Ok(())
    }
}

/// Leaves the queue when its worker ends, however it ends (a panic too), unless it left
/// already: a producer waiting on a full queue is never left waiting for nobody.
struct Leaving<'q, 'j, J>(&'j Jobs<'q, J>);

impl<J> Drop for Leaving<'_, '_, J> {
    fn drop(&mut self) {
        self.0.settle();
        if !self.0.left.get() {
            self.0.queue.leave();
        }
    }
}

/// The error as the calling thread reports it: its kind (the exit status), message and
/// whether it was transient.
fn copy(e: &Error) -> Error {
    Error::new(e.kind(), e.message().to_string()).transient(e.is_transient())
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Runs `produce` on one thread, feeding a queue of at most `2 * workers` jobs, and `work`
/// on `workers` threads taking from it; each gets [`Events`] of its own that reach `events`
/// here, as one display: `label`, the bytes of all transfers, and the files done (`2 of 4
/// files` once the producer is done and their number known). Each file done is told through
/// [`Events::finished`]; the display ends without a line of its own.
pub fn run<J: Send>(
    workers: usize,
    events: &mut dyn Events,
    label: &str,
    produce: impl FnOnce(&Queue<J>, &mut dyn Events) + Send,
    work: impl Fn(&Jobs<'_, J>, &mut dyn Events) + Sync,
) {
    let workers = workers.max(1);
    let queue = Queue::new(workers * 2, workers);
    let (etx, erx) = mpsc::channel::<Msg>();
    std::thread::scope(|s| {
        let (work, queue) = (&work, &queue);
        for _ in 0..workers {
            let tx = etx.clone();
            s.spawn(move || {
                let mut ev = ChannelEvents::new(tx);
                let jobs = Jobs {
                    queue,
                    left: Cell::new(false),
                    first: Cell::new(true),
                    holding: Cell::new(false),
                };
                let _leaving = Leaving(&jobs);
                work(&jobs, &mut ev);
            });
        }
        let tx = etx.clone();
        s.spawn(move || {
            let mut ev = ChannelEvents::new(tx);
            produce(queue, &mut ev);
            // The workers end once the queue is empty.
            let sent = queue.close();
            let _ = ev.tx.send(Msg::Listed(sent));
        });
        drop(etx);
        let mut bytes = 0u64;
        // Files done, skipped or failed, of how many.
        let (mut handled, mut listed) = (0u64, None);
        events.start(label, None, 0);
        for msg in erx {
            match msg {
                Msg::Note(m) => {
                    events.note(&m);
                    continue;
                }
                Msg::Advance(n) => {
                    bytes += n;
                    events.advance(n);
                    continue;
                }
                Msg::Done(name, moved, took) => {
                    handled += 1;
                    events.finished(&name, moved, took);
                }
                Msg::Skip(m) => {
                    handled += 1;
                    events.skip(m.as_deref());
                }
                Msg::Listed(n) => listed = Some(n),
                Msg::Fail(e) => {
                    handled += 1;
                    events.fail(&e);
                    // A failure ends the display's current line: start it again.
                    events.start(label, None, bytes);
                }
            }
            events.status(&files_done(label, handled, listed));
        }
        events.discard();
    });
}

/// What the display of a `--parallel` run says: `3 connections: 2 of 4 files`, or without
/// "of" while the producer is still finding them.
fn files_done(label: &str, handled: u64, listed: Option<u64>) -> String {
    match listed {
        // A failure that was no file's (a listing) does not count past the end.
        Some(n) => format!("{label}: {} of {n} files", handled.min(n)),
        None => format!("{label}: {handled} files"),
    }
}

/// A token bucket shared by every connection of a run (`--limit-rate`): each transfer
/// takes what it moved, and sleeps when the run as a whole is ahead of the rate.
#[derive(Debug)]
pub struct RateLimit {
    rate: u64,
    state: Mutex<(f64, Instant)>,
}

impl RateLimit {
    /// `rate` bytes per second, with a burst of a tenth of a second's worth (at least 16 KiB).
    pub fn new(rate: u64) -> RateLimit {
        RateLimit {
            rate: rate.max(1),
            state: Mutex::new((0.0, Instant::now())),
        }
    }

    pub fn rate(&self) -> u64 {
        self.rate
    }

    /// The largest chunk worth moving at once: a tenth of a second's worth, so that a
    /// slow rate still moves smoothly.
    pub fn chunk(&self, max: usize) -> usize {
        ((self.rate / 10) as usize)
            .clamp(4096, max.max(4096))
            .min(max)
    }

    /// Accounts for `n` bytes moved, sleeping as long as the run is ahead of the rate.
    pub fn take(&self, n: u64) {
        let wait = {
            let mut st = lock(&self.state);
            let now = Instant::now();
            let burst = (self.rate as f64 / 10.0).max(16_384.0);
            let elapsed = now.duration_since(st.1).as_secs_f64();
            st.0 = (st.0 + elapsed * self.rate as f64).min(burst) - n as f64;
            st.1 = now;
            if st.0 < 0.0 {
                Duration::from_secs_f64(-st.0 / self.rate as f64)
            } else {
                Duration::ZERO
            }
        };
        if !wait.is_zero() {
            std::thread::sleep(wait);
        }
    }
}

/// Parses a rate: bytes per second, with an optional K, M or G (powers of 1024, as curl's
/// `--limit-rate` takes them): `500K`, `2M`, `1.5M`.
pub fn parse_rate(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let (num, mult) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let m: u64 = match c.to_ascii_uppercase() {
                'K' => 1 << 10,
                'M' => 1 << 20,
                'G' => 1 << 30,
                'B' => 1,
                _ => return Err(format!("'{text}': not a rate (500K, 2M, 1G)")),
            };
            (&t[..i], m)
        }
        _ => (t, 1),
    };
    let v: f64 = num
        .parse()
        .map_err(|_| format!("'{text}': not a rate (500K, 2M, 1G)"))?;
    let bytes = v * mult as f64;
    if !(bytes.is_finite() && (1024.0..=1e13).contains(&bytes)) {
        return Err(format!("'{text}': a rate is from 1K to 10T per second"));
    }
    Ok(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates() {
        assert_eq!(parse_rate("500K"), Ok(512_000));
        assert_eq!(parse_rate("2M"), Ok(2 << 20));
        assert_eq!(parse_rate("1.5m"), Ok(1_572_864));
        assert_eq!(parse_rate("4096"), Ok(4096));
        for bad in ["", "K", "12Q", "-5M", "1", "nan", "1e30"] {
            assert!(parse_rate(bad).is_err(), "{bad}");
        }
    }

    /// Runs `n` jobs over `workers` workers, of which those listed in `refused` hand their
    /// first job back and leave; what each worker did, and whether the producer's sends all
    /// went through.
    fn share(workers: usize, refused: &[usize], n: usize) -> (Vec<Vec<usize>>, bool) {
        let done = Mutex::new(vec![Vec::new(); workers]);
        let all_sent = numbered(workers, n, |jobs, me| {
            let mut first = true;
            while let Some(j) = jobs.next() {
                if std::mem::take(&mut first) && refused.contains(&me) {
                    match jobs.give_back(j) {
                        Ok(()) => continue,
                        Err(j) => lock(&done)[me].push(j),
                    }
                    continue;
                }
                lock(&done)[me].push(j);
            }
            // After leaving, nothing more is handed out.
            assert!(jobs.next().is_none());
        });
        (done.into_inner().unwrap(), all_sent)
    }

    /// Runs the jobs `0..n` over `workers` workers, each of which `work` is given with its
    /// number (0, 1, ...); whether the producer's sends all went through.
    fn numbered(workers: usize, n: usize, work: impl Fn(&Jobs<'_, usize>, usize) + Sync) -> bool {
        let ids = std::sync::atomic::AtomicUsize::new(0);
        let all_sent = std::sync::atomic::AtomicBool::new(true);
        run(
            workers,
            &mut Quiet,
            "test",
            |q, _| {
                for j in 0..n {
                    if q.send(j).is_err() {
                        all_sent.store(false, std::sync::atomic::Ordering::SeqCst);
                    }
                }
            },
            |jobs, _| work(jobs, ids.fetch_add(1, std::sync::atomic::Ordering::SeqCst)),
        );
        all_sent.into_inner()
    }

    #[test]
    fn a_worker_that_gives_its_job_back_leaves_it_to_the_others() {
        // Three of four workers refused: the fourth does every job, none is lost.
        let (done, sent) = share(4, &[0, 1, 2], 50);
        assert!(sent);
        let mut all: Vec<usize> = done.concat();
        all.sort_unstable();
        assert_eq!(all, (0..50).collect::<Vec<_>>());
        assert!(done[..3].iter().all(Vec::is_empty), "{done:?}");
        // Every one refused: the last cannot give back, and does the work itself.
        let (done, sent) = share(3, &[0, 1, 2], 20);
        assert!(sent);
        assert_eq!(done.concat().len(), 20);
        assert_eq!(done.iter().filter(|d| !d.is_empty()).count(), 1, "{done:?}");
    }

    /// Runs `n` jobs over `workers` workers through [`Jobs::start`]; the logins of those
    /// in `refused` fail with `refusal`. Every worker's first login waits until all of them
    /// got there. What each worker did, the jobs failed, and the notes given.
    fn start_all(
        workers: usize,
        refused: &[usize],
        refusal: fn() -> Error,
        n: usize,
    ) -> (Vec<Vec<usize>>, usize, Vec<String>) {
        let done = Mutex::new(vec![Vec::new(); workers]);
        let failed = std::sync::atomic::AtomicUsize::new(0);
        let notes = Mutex::new(Vec::new());
        let all_there = std::sync::Barrier::new(workers);
        let all_sent = numbered(workers, n, |jobs, me| {
            while let Some(j) = jobs.next() {
                let login = |_: &usize| {
                    all_there.wait();
                    if refused.contains(&me) {
                        Err(refusal())
                    } else {
                        Ok(())
                    }
                };
                match jobs.start(j, login) {
                    Start::Go(j) => lock(&done)[me].push(j),
                    Start::Refused(_) => {
                        failed.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    }
                    Start::Leave(note) => {
                        lock(&notes).extend(note);
                        break;
                    }
                }
            }
        });
        assert!(all_sent, "a job was not sent");
        let notes = notes.into_inner().unwrap();
        (done.into_inner().unwrap(), failed.into_inner(), notes)
    }

    struct Quiet;
    impl Events for Quiet {
        fn note(&mut self, _: &str) {}
        fn start(&mut self, _: &str, _: Option<u64>, _: u64) {}
        fn advance(&mut self, _: u64) {}
        fn finish(&mut self) {}
        fn fail(&mut self, _: &Error) {}
    }

    fn too_many() -> Error {
        Error::new(crate::error::Kind::TempFail, "421 Too many connections").transient(true)
    }

    fn wrong_password() -> Error {
        Error::new(crate::error::Kind::Auth, "530 Login incorrect")
    }

    #[test]
    fn workers_the_server_will_not_take_leave_their_jobs_to_the_others_said_once() {
        // Three of four refused for now: the fourth does every job, one note says it.
        let (done, failed, notes) = start_all(4, &[0, 1, 2], too_many, 40);
        let mut all = done.concat();
        all.sort_unstable();
        assert_eq!(all, (0..40).collect::<Vec<_>>());
        assert!(done[..3].iter().all(Vec::is_empty), "{done:?}");
        assert_eq!(failed, 0);
        assert_eq!(
            notes,
            ["421 Too many connections; going on with the connections the server accepted"]
        );
        // Every one refused for now: the last keeps its job and does all of them itself.
        let (done, failed, notes) = start_all(3, &[0, 1, 2], too_many, 20);
        assert_eq!(done.concat().len(), 20);
        assert_eq!(done.iter().filter(|d| !d.is_empty()).count(), 1, "{done:?}");
        assert_eq!((failed, notes.len()), (0, 1));
        // Refused for good: that worker's first job fails, and it stays for the next ones.
        let (done, failed, notes) = start_all(2, &[0], wrong_password, 20);
        assert_eq!((done.concat().len(), failed), (19, 1));
        assert!(notes.is_empty(), "{notes:?}");
    }

    #[test]
    fn the_display_counts_the_files_of_those_listed_once_known() {
        assert_eq!(
            files_done("3 connections", 2, None),
            "3 connections: 2 files"
        );
        assert_eq!(
            files_done("3 connections", 2, Some(4)),
            "3 connections: 2 of 4 files"
        );
        assert_eq!(
            files_done("2 connections", 3, Some(2)),
            "2 connections: 2 of 2 files"
        );
    }

    #[test]
    fn the_bucket_holds_the_rate_over_all_threads() {
        let limit = RateLimit::new(1 << 20);
        let start = Instant::now();
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..8 {
                        limit.take(16 * 1024);
                    }
                });
            }
        });
        // 512 KiB at 1 MiB/s, less the first burst: close to half a second, never much less.
        assert!(
            start.elapsed() >= Duration::from_millis(400),
            "{:?}",
            start.elapsed()
        );
        assert_eq!(limit.chunk(256 * 1024), 104_857);
    }
}
