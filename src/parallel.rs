//! Several transfers at once (`--parallel N`): N worker threads, each with its own logged-in
//! connection, take jobs from one bounded queue that a producer fills as it lists or walks,
//! so memory does not grow with the number of files. Workers report through a channel; the
//! calling thread turns that into one progress display for the whole run. `--limit-rate` is
//! a [`RateLimit`] that all of them share.

use crate::error::Error;
use crate::events::Events;
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// What a worker or the producer tells the calling thread.
enum Msg {
    Note(String),
    Fail(Error),
    Advance(u64),
    Done,
}

/// [`Events`] for a worker thread: everything goes to the calling thread.
struct ChannelEvents {
    tx: mpsc::Sender<Msg>,
}

impl Events for ChannelEvents {
    fn note(&mut self, msg: &str) {
        let _ = self.tx.send(Msg::Note(msg.to_string()));
    }
    fn start(&mut self, _name: &str, _total: Option<u64>, _offset: u64) {}
    fn advance(&mut self, n: u64) {
        let _ = self.tx.send(Msg::Advance(n));
    }
    fn finish(&mut self) {
        let _ = self.tx.send(Msg::Done);
    }
    fn fail(&mut self, err: &Error) {
        let _ = self.tx.send(Msg::Fail(copy(err)));
    }
}

/// Where a worker takes its next job: `None` when the producer is done and the queue empty.
pub struct Jobs<'q, J> {
    rx: &'q Mutex<Receiver<J>>,
}

impl<J> Jobs<'_, J> {
    pub fn next(&self) -> Option<J> {
        lock(self.rx).recv().ok()
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
/// here, as one display: `label`, the bytes of all transfers, and the files done.
pub fn run<J: Send>(
    workers: usize,
    events: &mut dyn Events,
    label: &str,
    produce: impl FnOnce(&SyncSender<J>, &mut dyn Events) + Send,
    work: impl Fn(&Jobs<'_, J>, &mut dyn Events) + Sync,
) {
    let workers = workers.max(1);
    tune_allocator();
    let (jtx, jrx) = mpsc::sync_channel::<J>(workers * 2);
    let jrx = Mutex::new(jrx);
    let (etx, erx) = mpsc::channel::<Msg>();
    std::thread::scope(|s| {
        let (work, jrx) = (&work, &jrx);
        for _ in 0..workers {
            let tx = etx.clone();
            s.spawn(move || {
                let mut ev = ChannelEvents { tx };
                work(&Jobs { rx: jrx }, &mut ev);
            });
        }
        let tx = etx.clone();
        s.spawn(move || {
            let mut ev = ChannelEvents { tx };
            produce(&jtx, &mut ev);
            // jtx dropped: the workers end once the queue is empty.
        });
        drop(etx);
        let (mut bytes, mut files) = (0u64, 0u64);
        events.start(label, None, 0);
        for msg in erx {
            match msg {
                Msg::Note(m) => events.note(&m),
                Msg::Advance(n) => {
                    bytes += n;
                    events.advance(n);
                }
                Msg::Done => {
                    files += 1;
                    events.status(&format!("{label}: {files} files"));
                }
                Msg::Fail(e) => {
                    events.fail(&e);
                    // A failure ends the display's current line: start it again.
                    events.start(label, None, bytes);
                    events.status(&format!("{label}: {files} files"));
                }
            }
        }
        if files > 0 || bytes > 0 {
            events.status(&format!("{label}: {files} files"));
            events.finish();
        } else {
            events.discard();
        }
    });
}

/// Keeps memory flat however many connections run (glibc's malloc): each thread would get
/// an arena of its own that keeps what it once touched, and after the first transfer
/// buffer is freed glibc raises its mmap threshold, so that every later 256 KiB buffer comes
/// from an arena and is zeroed page by page (resident) instead of arriving as untouched
/// zero pages. Two arenas and a fixed threshold keep the run near one connection's memory.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets tunables of the allocator; called before the threads start.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
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
