//! Progress bars (indicatif, sizes through humansize) for people at a terminal: by default
//! only when stderr is one, never with `--quiet` (`--progress bar|none` decides otherwise).
//! Counting is one atomic add per chunk.

use super::common::Progress;
use super::report::Reporter;
use crate::error::{Error, visible};
use crate::events::Events;
use humansize::{BINARY, format_size};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// Whether a progress bar should be drawn: `--progress auto` at a terminal, `bar` always;
/// never with `--quiet`.
pub fn wanted(quiet: bool, mode: Progress) -> bool {
    !quiet
        && match mode {
            Progress::Auto => std::io::stderr().is_terminal(),
            Progress::Bar => true,
            Progress::Lines | Progress::None => false,
        }
}

/// Whether the progress display is on, as a bar or as `--progress lines`: each finished
/// file then leaves its line, and the run its total (imap-fetch asks the sizes first).
pub fn shown(quiet: bool, mode: Progress) -> bool {
    wanted(quiet, mode) || (!quiet && mode == Progress::Lines)
}

/// The bar's look. `offset` bytes were there before this run: the rate counts only what
/// moved since (a resumed 10 GiB file does not show 10 GiB/s in its first frame).
fn style(known_total: bool, offset: u64) -> ProgressStyle {
    let template = if known_total {
        "{msg:.bold} {wide_bar} {percent:>3}% {hbytes}/{htotal} {hrate} {eta}"
    } else {
        "{msg:.bold} {spinner} {hbytes} {hrate}"
    };
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .with_key(
            "hbytes",
            |s: &ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{}", format_size(s.pos(), BINARY));
            },
        )
        .with_key(
            "htotal",
            |s: &ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{}", format_size(s.len().unwrap_or(0), BINARY));
            },
        )
        .with_key(
            "hrate",
            move |s: &ProgressState, w: &mut dyn std::fmt::Write| {
                let secs = s.elapsed().as_secs_f64();
                let moved = s.pos().saturating_sub(offset);
                if secs < 0.2 {
                    let _ = write!(w, "--/s");
                } else {
                    let _ = write!(w, "{}/s", format_size((moved as f64 / secs) as u64, BINARY));
                }
            },
        )
}

impl super::report::Drawn for ProgressBar {
    fn above(&self, print: &mut dyn FnMut()) {
        self.suspend(print);
    }
}

/// `--progress bar` when stderr is not a terminal: indicatif draws only on terminals, so
/// this writes its frames to stderr itself, with the same ANSI sequences.
#[derive(Debug)]
struct ForcedStderr;

impl indicatif::TermLike for ForcedStderr {
    fn width(&self) -> u16 {
        80
    }
    fn move_cursor_up(&self, n: usize) -> std::io::Result<()> {
        self.write_str(&format!("\x1b[{n}A"))
    }
    fn move_cursor_down(&self, n: usize) -> std::io::Result<()> {
        self.write_str(&format!("\x1b[{n}B"))
    }
    fn move_cursor_right(&self, n: usize) -> std::io::Result<()> {
        self.write_str(&format!("\x1b[{n}C"))
    }
    fn move_cursor_left(&self, n: usize) -> std::io::Result<()> {
        self.write_str(&format!("\x1b[{n}D"))
    }
    fn write_line(&self, s: &str) -> std::io::Result<()> {
        self.write_str(&format!("{s}\n"))
    }
    fn write_str(&self, s: &str) -> std::io::Result<()> {
        use std::io::Write;
        std::io::stderr().write_all(s.as_bytes())
    }
    fn clear_line(&self) -> std::io::Result<()> {
        self.write_str("\r\x1b[2K")
    }
    fn flush(&self) -> std::io::Result<()> {
        use std::io::Write;
        std::io::stderr().flush()
    }
}

/// Where bars are drawn: stderr, or [`ForcedStderr`] for `--progress bar` away from a
/// terminal.
fn draw_target() -> ProgressDrawTarget {
    if std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr_with_hz(8)
    } else {
        ProgressDrawTarget::term_like_with_hz(Box::new(ForcedStderr), 8)
    }
}

/// The local time of day, `21:04`, for a line that says since when the run waits.
fn clock() -> String {
    let (unix, offset) = crate::mime::date::now();
    let t = crate::util::calendar::DateTime::from_unix(unix + offset);
    format!("{:02}:{:02}", t.hour, t.minute)
}

/// `--progress lines`: where the current file's progress was last said.
struct Lines {
    name: String,
    total: Option<u64>,
    offset: u64,
    pos: u64,
    started: Instant,
    last: Instant,
    /// The tenths of the file said so far.
    step: u64,
}

/// How often `--progress lines` speaks: at each tenth of a file of known size (at most once
/// a second), and every 10 s whatever.
const LINES_EVERY: Duration = Duration::from_secs(10);

/// The tenth of the file (`pos` of `total`) to say now, if one is due: a new tenth at
/// least a second after the last line, or any time `LINES_EVERY` has passed. Pure.
fn line_due(pos: u64, total: Option<u64>, step: u64, since_last: Duration) -> Option<u64> {
    let now = match total {
        Some(t) if t > 0 => (pos.min(t) * 10 / t).min(10),
        _ => step,
    };
    let new_tenth = now > step && since_last >= Duration::from_secs(1);
    (new_tenth || since_last >= LINES_EVERY).then_some(now)
}

impl Lines {
    /// `NAME: 340 MiB of 1.0 GiB (33%), 85 MiB/s` (without a total, no "of").
    fn said(&self) -> String {
        let secs = self.started.elapsed().as_secs_f64().max(0.001);
        let rate = format_size(
            (self.pos.saturating_sub(self.offset) as f64 / secs) as u64,
            BINARY,
        );
        match self.total {
            Some(t) if t > 0 => format!(
                "{}: {} of {} ({}%), {rate}/s",
                self.name,
                format_size(self.pos, BINARY),
                format_size(t, BINARY),
                self.pos.min(t) * 100 / t
            ),
            _ => format!("{}: {}, {rate}/s", self.name, format_size(self.pos, BINARY)),
        }
    }
}

/// What moved and how fast: `40 MiB in 2.1 s (19 MiB/s)`.
fn moved(bytes: u64, took: Duration) -> String {
    let secs = took.as_secs_f64().max(0.001);
    format!(
        "{} in {secs:.1} s ({}/s)",
        format_size(bytes, BINARY),
        format_size((bytes as f64 / secs) as u64, BINARY)
    )
}

/// The line a finished file leaves: `NAME: 40 MiB in 2.1 s (19 MiB/s)`.
fn summary(name: &str, got: u64, took: Duration) -> String {
    format!("{name}: {}", moved(got, took))
}

/// The total a run of several files or messages ends with, in every tool:
/// `4 files, 390.62 KiB in 0.1 s (3.20 MiB/s)`. `noun` is singular (`file`, `new message`).
pub fn total(noun: &str, count: u64, bytes: u64, took: Duration) -> String {
    let s = if count == 1 { "" } else { "s" };
    format!("{count} {noun}{s}, {}", moved(bytes, took))
}

/// The file being moved, whatever is drawn of it.
struct Current {
    name: String,
    started: Instant,
    /// Bytes moved since it started (a resume's offset not counted).
    moved: u64,
}

/// What a run did, for its total line.
#[derive(Default)]
struct Tally {
    files: u64,
    bytes: u64,
    skipped: u64,
    failed: u64,
    /// When the first file started.
    since: Option<Instant>,
}

/// Reports a transfer run on stderr: progress, notes and failures, all through the
/// reporter, which prints every line above the bar.
pub struct CliEvents<'r> {
    reporter: &'r mut Reporter,
    bars: bool,
    /// `--progress lines` (and not `--quiet`).
    lines: bool,
    line: Option<Lines>,
    /// The bar of the current transfer (the reporter's [`Stderr`](super::report::Stderr)
    /// knows it too, to print above it).
    bar: Option<ProgressBar>,
    current: Option<Current>,
    tally: Tally,
    /// Since when the run waits for work (imap-fetch's IDLE), and how long it waited
    /// before: a rate counts the time spent moving bytes, not waiting for them.
    waiting: Option<Instant>,
    waited: Duration,
}

impl<'r> CliEvents<'r> {
    pub fn new(reporter: &'r mut Reporter, mode: Progress) -> Self {
        let bars = wanted(reporter.quiet(), mode);
        let lines = !reporter.quiet() && mode == Progress::Lines;
        CliEvents {
            reporter,
            bars,
            lines,
            line: None,
            bar: None,
            current: None,
            tally: Tally::default(),
            waiting: None,
            waited: Duration::ZERO,
        }
    }

    /// How long the run has waited for work so far ([`Events::wait`] until the next
    /// start), to leave out of a rate.
    pub fn waited(&self) -> Duration {
        self.waited + self.waiting.map_or(Duration::ZERO, |w| w.elapsed())
    }

    /// Whether each finished file leaves its line (and the run its total).
    fn shown(&self) -> bool {
        self.bars || self.lines
    }

    /// Says the run's total, after the files' own lines, when more than one file was
    /// moved, skipped or failed: `4 files, 390.62 KiB in 0.1 s (3.20 MiB/s), 2 skipped,
    /// 1 failed`.
    pub fn say_total(&mut self, noun: &str) {
        let t = &self.tally;
        if !self.shown() || t.files + t.skipped + t.failed < 2 {
            return;
        }
        let took = t.since.map_or(Duration::ZERO, |s| s.elapsed());
        let mut line = total(noun, t.files, t.bytes, took);
        for (n, what) in [(t.skipped, "skipped"), (t.failed, "failed")] {
            if n > 0 {
                line.push_str(&format!(", {n} {what}"));
            }
        }
        self.reporter.stderr().line(&line);
    }

    fn clear_bar(&mut self) -> Option<ProgressBar> {
        super::signals::say_nothing();
        self.reporter.stderr().set_bar(None);
        let bar = self.bar.take();
        if let Some(b) = &bar {
            b.finish_and_clear();
        }
        bar
    }
}

/// A bar or spinner still drawn when the run ends (imap-fetch stopped while it waits) is
/// taken off the screen, so that the last lines are not printed below a stale frame.
impl Drop for CliEvents<'_> {
    fn drop(&mut self) {
        self.line = None;
        if self.bar.is_some() {
            self.clear_bar();
        }
    }
}

impl Events for CliEvents<'_> {
    fn note(&mut self, msg: &str) {
        self.reporter.note(msg);
    }

    fn start(&mut self, name: &str, total: Option<u64>, offset: u64) {
        let now = Instant::now();
        if let Some(w) = self.waiting.take() {
            self.waited += now.duration_since(w);
        }
        self.tally.since.get_or_insert(now);
        self.current = Some(Current {
            name: visible(name),
            started: now,
            moved: 0,
        });
        if self.lines {
            let now = Instant::now();
            self.line = Some(Lines {
                name: visible(name),
                total,
                offset,
                pos: offset,
                started: now,
                last: now,
                step: total
                    .filter(|t| *t > 0)
                    .map_or(0, |t| offset.min(t) * 10 / t),
            });
        }
        if !self.bars {
            return;
        }
        // A retry restarts the file: the old attempt's bar goes.
        self.clear_bar();
        let bar = ProgressBar::with_draw_target(total, draw_target());
        bar.set_style(style(total.is_some(), offset));
        bar.set_message(visible(name));
        bar.set_position(offset);
        bar.reset_eta();
        bar.enable_steady_tick(Duration::from_millis(250));
        self.reporter.stderr().set_bar(Some(Box::new(bar.clone())));
        self.bar = Some(bar);
    }

    fn partial(&mut self, path: &std::path::Path) {
        // Ctrl-C now: end the bar's line and say what was kept and how to go on.
        let clear = if self.bars { "\r\x1b[2K" } else { "" };
        super::signals::say_on_signal(&format!(
            "{clear}{}: interrupted: {} kept; run the same command with -c to resume it\n",
            self.reporter.tool(),
            visible(&path.strip_prefix(".").unwrap_or(path).display().to_string())
        ));
    }

    fn partial_remote(&mut self, url: &str, resumable: bool) {
        let clear = if self.bars { "\r\x1b[2K" } else { "" };
        let next = if resumable {
            "run the same command with -c to resume it"
        } else {
            "it cannot be resumed: run the same command to send it again"
        };
        super::signals::say_on_signal(&format!(
            "{clear}{}: interrupted: {} left incomplete on the server; {next}\n",
            self.reporter.tool(),
            visible(url)
        ));
    }

    fn at_stake(&mut self, what: Option<&str>) {
        match what {
            Some(what) => {
                let clear = if self.bars { "\r\x1b[2K" } else { "" };
                super::signals::say_on_signal(&format!(
                    "{clear}{}: interrupted: {}\n",
                    self.reporter.tool(),
                    visible(what)
                ));
            }
            None => super::signals::say_nothing(),
        }
    }

    fn advance(&mut self, n: u64) {
        if let Some(c) = &mut self.current {
            c.moved += n;
        }
        if let Some(b) = &self.bar {
            b.inc(n);
        }
        if let Some(l) = &mut self.line {
            l.pos += n;
            if let Some(step) = line_due(l.pos, l.total, l.step, l.last.elapsed()) {
                l.step = step;
                l.last = Instant::now();
                self.reporter.stderr().line(&l.said());
            }
        }
    }

    fn finish(&mut self) {
        self.line = None;
        self.clear_bar();
        if let Some(c) = self.current.take() {
            self.finished(&c.name, c.moved, c.started.elapsed());
        }
    }

    fn finished(&mut self, name: &str, moved: u64, took: Duration) {
        let now = Instant::now();
        self.tally
            .since
            .get_or_insert(now.checked_sub(took).unwrap_or(now));
        self.tally.files += 1;
        self.tally.bytes += moved;
        // Each finished file leaves one line, as wget does.
        if self.shown() {
            self.reporter
                .stderr()
                .line(&summary(&visible(name), moved, took));
        }
    }

    fn skip(&mut self, msg: Option<&str>) {
        self.tally.skipped += 1;
        if let Some(m) = msg {
            self.note(m);
        }
    }

    fn status(&mut self, msg: &str) {
        if let Some(b) = &self.bar {
            b.set_message(visible(msg));
        }
        if let Some(l) = &mut self.line {
            l.name = visible(msg);
        }
    }

    fn discard(&mut self) {
        self.line = None;
        self.current = None;
        self.clear_bar();
    }

    fn wait(&mut self, what: &str) {
        self.waiting.get_or_insert_with(Instant::now);
        let line = format!("{} since {}", visible(what), clock());
        // Once when the wait starts, however long it lasts (a log is not a clock).
        if self.lines {
            self.line = None;
            self.reporter.stderr().line(&line);
        }
        if !self.bars {
            return;
        }
        // A spinner in the bar's place: the next start (or a failure) clears it, and no
        // finish comes before that start, so it never leaves a summary line.
        self.clear_bar();
        let bar = ProgressBar::with_draw_target(None, draw_target());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_message(line);
        bar.enable_steady_tick(Duration::from_secs(1));
        self.reporter.stderr().set_bar(Some(Box::new(bar.clone())));
        self.bar = Some(bar);
    }

    fn fail(&mut self, err: &Error) {
        self.tally.failed += 1;
        self.line = None;
        self.current = None;
        self.clear_bar();
        super::signals::say_nothing();
        self.reporter.fail(err);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every tool's total: noun, count, bytes, time, rate.
    #[test]
    fn a_total_says_the_count_the_bytes_the_time_and_the_rate() {
        let s = Duration::from_secs;
        assert_eq!(
            total("file", 4, 3 << 20, s(2)),
            "4 files, 3 MiB in 2.0 s (1.50 MiB/s)"
        );
        assert_eq!(
            total("new message", 1, 0, s(0)),
            "1 new message, 0 B in 0.0 s (0 B/s)"
        );
        assert_eq!(summary("f", 1024, s(1)), "f: 1 KiB in 1.0 s (1 KiB/s)");
    }

    /// `--progress lines` speaks at each new tenth (at most once a second) and every 10 s.
    #[test]
    fn a_line_is_due_at_each_tenth_or_every_ten_seconds() {
        let s = Duration::from_secs;
        assert_eq!(line_due(15, Some(100), 0, s(2)), Some(1));
        assert_eq!(line_due(15, Some(100), 1, s(2)), None, "the same tenth");
        assert_eq!(
            line_due(55, Some(100), 1, Duration::from_millis(500)),
            None,
            "too soon"
        );
        assert_eq!(line_due(55, Some(100), 1, s(1)), Some(5));
        assert_eq!(
            line_due(15, Some(100), 1, s(10)),
            Some(1),
            "every 10 s anyway"
        );
        assert_eq!(line_due(500, None, 0, s(9)), None);
        assert_eq!(line_due(500, None, 0, s(10)), Some(0));
        assert_eq!(
            line_due(200, Some(100), 0, s(1)),
            Some(10),
            "more than announced"
        );
        assert_eq!(line_due(0, Some(0), 0, s(10)), Some(0));
    }
}
