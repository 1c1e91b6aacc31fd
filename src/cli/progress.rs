//! Progress bars (indicatif, sizes through humansize) for people at a terminal only: never
//! when stderr is not a terminal or `--quiet` is given. Counting is one atomic add per chunk.

use super::report::Reporter;
use crate::error::{Error, visible};
use crate::events::Events;
use humansize::{BINARY, format_size};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use std::io::IsTerminal;
use std::time::Duration;

/// Whether a progress bar should be drawn.
pub fn wanted(quiet: bool) -> bool {
    !quiet && std::io::stderr().is_terminal()
}

fn style(known_total: bool) -> ProgressStyle {
    let template = if known_total {
        "{msg:.bold} {wide_bar} {hbytes}/{htotal} {hrate} {eta}"
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
        .with_key("hrate", |s: &ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = write!(w, "{}/s", format_size(s.per_sec() as u64, BINARY));
        })
}

/// Reports a transfer run on stderr: progress, notes and failures, all through the
/// reporter, which prints every line above the bar.
pub struct CliEvents<'r> {
    reporter: &'r mut Reporter,
    bars: bool,
    /// The bar of the current transfer (the reporter's [`Stderr`](super::report::Stderr)
    /// knows it too, to print above it).
    bar: Option<ProgressBar>,
    /// Bytes that were already there when the current file started (a resume).
    offset: u64,
}

impl<'r> CliEvents<'r> {
    pub fn new(reporter: &'r mut Reporter) -> Self {
        let bars = wanted(reporter.quiet());
        CliEvents {
            reporter,
            bars,
            bar: None,
            offset: 0,
        }
    }

    fn clear_bar(&mut self) -> Option<ProgressBar> {
        self.reporter.stderr().set_bar(None);
        let bar = self.bar.take();
        if let Some(b) = &bar {
            b.finish_and_clear();
        }
        bar
    }
}

impl Events for CliEvents<'_> {
    fn note(&mut self, msg: &str) {
        self.reporter.note(msg);
    }

    fn start(&mut self, name: &str, total: Option<u64>, offset: u64) {
        if !self.bars {
            return;
        }
        // A retry restarts the file: the old attempt's bar goes.
        self.clear_bar();
        let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr_with_hz(8));
        bar.set_style(style(total.is_some()));
        bar.set_message(visible(name));
        bar.set_position(offset);
        self.offset = offset;
        bar.reset_eta();
        bar.enable_steady_tick(Duration::from_millis(250));
        self.reporter.stderr().set_bar(Some(bar.clone()));
        self.bar = Some(bar);
    }

    fn advance(&mut self, n: u64) {
        if let Some(b) = &self.bar {
            b.inc(n);
        }
    }

    fn finish(&mut self) {
        // At a terminal, each finished file leaves one line, as wget does.
        if let Some(b) = self.clear_bar() {
            let secs = b.elapsed().as_secs_f64().max(0.001);
            let got = b.position().saturating_sub(self.offset);
            self.reporter.stderr().line(&format!(
                "{}: {} in {secs:.1} s ({}/s)",
                b.message(),
                format_size(got, BINARY),
                format_size((got as f64 / secs) as u64, BINARY)
            ));
        }
    }

    fn fail(&mut self, err: &Error) {
        self.clear_bar();
        self.reporter.fail(err);
    }
}
