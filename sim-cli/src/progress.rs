//! The progress bar of long commands: on stderr when stderr is a terminal (points done,
//! runs per second, time left), nothing at all otherwise, so logs and pipes stay clean.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A bar over a known number of steps; hidden when stderr is not a terminal.
pub struct Bar(ProgressBar);

impl Bar {
    /// A bar over `total` steps named `unit` (e.g. "runs").
    pub fn new(total: u64, unit: &str) -> Bar {
        let bar = ProgressBar::with_draw_target(Some(total), Self::target());
        let template =
            format!("capsim: {{bar:32}} {{pos}}/{{len}} {unit}  {{per_sec}}  ETA {{eta}}  {{msg}}");
        bar.set_style(
            ProgressStyle::with_template(&template)
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Bar(bar)
    }

    /// A bar of unknown length (a search decides as it goes).
    pub fn open(unit: &str) -> Bar {
        let bar = ProgressBar::with_draw_target(None, Self::target());
        let template = format!("capsim: {{spinner}} {{pos}} {unit}  {{per_sec}}  {{msg}}");
        bar.set_style(
            ProgressStyle::with_template(&template)
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        Bar(bar)
    }

    fn target() -> ProgressDrawTarget {
        if std::io::stderr().is_terminal() {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        }
    }

    /// One step done (callable from any thread).
    pub fn tick(&self) {
        self.0.inc(1);
    }

    /// `n` more steps to do than planned.
    pub fn grow(&self, n: u64) {
        self.0.inc_length(n);
    }

    /// Shows `msg` beside the counts.
    pub fn message(&self, msg: String) {
        self.0.set_message(msg);
    }

    /// Clears the bar.
    pub fn finish(&self) {
        self.0.finish_and_clear();
    }
}
