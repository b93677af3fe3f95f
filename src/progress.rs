//! Progress for long commands: an indicatif bar on stderr when stderr is a terminal; when it
//! is not (a pipe, a log file, a test), no bar, and the caller prints plain lines at its own
//! pace (`is_drawn` says which).

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

#[derive(Debug)]
pub struct Progress {
    bar: Option<ProgressBar>,
    last_line: Option<Instant>,
}

/// Least time between two plain progress lines.
const LINE_INTERVAL: Duration = Duration::from_secs(2);

impl Progress {
    /// A bar of `len` steps drawn with `template` (indicatif syntax), if stderr is a terminal.
    pub fn new(len: u64, template: &str) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(len);
            // A template that does not parse falls back to the default style.
            if let Ok(style) = ProgressStyle::with_template(template) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar
        });
        Progress {
            bar,
            last_line: None,
        }
    }

    /// Whether a bar is drawn (otherwise the caller prints plain lines).
    pub fn is_drawn(&self) -> bool {
        self.bar.is_some()
    }

    /// Moves the bar to `position` and lets `f` set its message, prefix or length.
    pub fn update(&mut self, position: u64, f: impl FnOnce(&ProgressBar)) {
        if let Some(bar) = &self.bar {
            f(bar);
            bar.set_position(position);
        }
    }

    /// True at most every two seconds (and the first time): when a plain line is due.
    pub fn line_due(&mut self) -> bool {
        if self.bar.is_some() {
            return false;
        }
        let due = self
            .last_line
            .is_none_or(|last| last.elapsed() >= LINE_INTERVAL);
        if due {
            self.last_line = Some(Instant::now());
        }
        due
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
