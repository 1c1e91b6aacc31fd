//! What ftp-get's and ftp-put's `--parallel` workers share: taking files from the queue
//! ([`crate::parallel`]) until it is empty, each over the worker's own connection, and a
//! failed login said once for the server rather than once per file and connection.

use crate::error::{Error, Kind, Result};
use crate::events::Events;
use crate::ftp::client::FtpClient;
use crate::jobs::reconnect::Reconnecting;
use crate::parallel::{self, Jobs, Queue, Start};
use std::sync::atomic::{AtomicBool, Ordering};

/// A worker of a `--parallel` run.
pub(crate) trait Worker<J> {
    /// Connects and logs in, for the worker's first job.
    fn connect(&mut self, job: &J) -> Result<()>;
    /// Does one job (retrying what may be retried).
    fn work(&mut self, job: J) -> Result<()>;
    /// Whether `e` is a login that failed as every connection's would.
    fn login_failed(&self, e: &Error) -> bool;
    fn events(&mut self) -> &mut dyn Events;
    /// Ends the worker's connection.
    fn close(&mut self);
}

/// `--parallel N`: `produce`, on one thread, feeds the queue (lists, walks, claims local
/// names); N workers, each on its own thread with its own connection, do what it holds:
/// `worker` makes one and hands it to the loop it is given.
pub(crate) fn run<J: Send>(
    workers: usize,
    events: &mut dyn Events,
    produce: impl FnOnce(&Queue<J>, &mut dyn Events) + Send,
    worker: impl Fn(&mut dyn Events, &dyn Fn(&mut dyn Worker<J>)) + Sync,
) {
    let dead = AtomicBool::new(false);
    let label = format!("{workers} connections");
    parallel::run(workers, events, &label, produce, |jobs, ev| {
        worker(ev, &|w| {
            work(jobs, &dead, w);
            w.close();
        })
    });
}

/// Does the jobs of `jobs` until none is left, each failure reported. Once a login failed
/// as every connection's would, that is said once (`dead` is shared by the workers) and the
/// jobs left are dropped.
fn work<J>(jobs: &Jobs<'_, J>, dead: &AtomicBool, worker: &mut dyn Worker<J>) {
    while let Some(job) = jobs.next() {
        if dead.load(Ordering::Relaxed) {
            continue;
        }
        let res = match jobs.start(job, |job| worker.connect(job)) {
            Start::Go(job) => worker.work(job),
            Start::Refused(e) => Err(e),
            Start::Leave(note) => {
                if let Some(note) = note {
                    worker.events().note(&note);
                }
                break;
            }
        };
        if let Err(e) = res {
            if worker.login_failed(&e) {
                // Said once for the server, not once per file and connection.
                if !dead.swap(true, Ordering::Relaxed) {
                    worker.events().fail(&e);
                }
                continue;
            }
            worker.events().fail(&e);
        }
    }
}

/// Whether `e` is a failed login (no connection could be made and kept): it fails every
/// file of the server the same way, so it is said once.
pub(crate) fn login_failed(client: &Reconnecting<FtpClient>, e: &Error) -> bool {
    !client.is_connected()
        && matches!(
            e.kind(),
            Kind::Auth | Kind::NoHost | Kind::Unavailable | Kind::Protocol | Kind::Tls
        )
}
