//! Progress bars (indicatif, sizes through humansize) for people at a terminal only: never
//! when stderr is not a terminal or `--quiet` is given. Counting is one atomic add per chunk.

use super::run::Reporter;
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

/// Reports a transfer run on stderr: progress, notes and failures.
pub struct CliEvents {
    pub reporter: Reporter,
    quiet: bool,
    bars: bool,
    bar: Option<ProgressBar>,
    /// Bytes that were already there when the current file started (a resume).
    offset: u64,
}

impl CliEvents {
    pub fn new(reporter: Reporter, quiet: bool) -> Self {
        CliEvents {
            reporter,
            quiet,
            bars: wanted(quiet),
            bar: None,
            offset: 0,
        }
    }

    fn say(&self, line: &str) {
        match &self.bar {
            Some(b) => b.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }
}

impl Events for CliEvents {
    fn note(&mut self, msg: &str) {
        if !self.quiet {
            self.say(&format!("{}: {}", self.reporter.tool(), visible(msg)));
        }
    }

    fn start(&mut self, name: &str, total: Option<u64>, offset: u64) {
        if !self.bars {
            return;
        }
        // A retry restarts the file: the old attempt's bar goes.
        if let Some(old) = self.bar.take() {
            old.finish_and_clear();
        }
        let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr_with_hz(8));
        bar.set_style(style(total.is_some()));
        bar.set_message(name.to_string());
        bar.set_position(offset);
        self.offset = offset;
        bar.reset_eta();
        bar.enable_steady_tick(Duration::from_millis(250));
        self.bar = Some(bar);
    }

    fn advance(&mut self, n: u64) {
        if let Some(b) = &self.bar {
            b.inc(n);
        }
    }

    fn finish(&mut self) {
        // At a terminal, each finished file leaves one line, as wget does.
        if let Some(b) = self.bar.take() {
            let secs = b.elapsed().as_secs_f64().max(0.001);
            let got = b.position().saturating_sub(self.offset);
            b.finish_and_clear();
            eprintln!(
                "{}: {} in {secs:.1} s ({}/s)",
                b.message(),
                format_size(got, BINARY),
                format_size((got as f64 / secs) as u64, BINARY)
            );
        }
    }

    fn fail(&mut self, err: &Error) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
        self.reporter.fail(err);
    }
}
