//! The progress bar of long commands: on stderr when stderr is a terminal (points done,
//! runs per second, time left; for one run, the simulated time reached, clusters ready and
//! events per second), nothing at all otherwise, so logs and pipes stay clean.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use models::run::progress::RunProgress;
use sim_core::SimDuration;

/// Set by `--quiet`: nothing on stderr but errors.
static QUIET: AtomicBool = AtomicBool::new(false);

/// Records `--quiet`.
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

/// Whether `--quiet` was given.
pub fn quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

/// Prints a note on stderr (what was resumed, imported, replaced) unless `--quiet`.
pub fn note(text: &str) {
    if !quiet() {
        eprintln!("capsim: {text}");
    }
}

/// Whether progress is shown: stderr is a terminal and `--quiet` was not given.
pub fn shown() -> bool {
    !quiet() && std::io::stderr().is_terminal()
}

/// Runs `work` while a line on stderr shows how far one run has got through `progress`
/// (the simulated time reached of `max`, clusters ready of `clusters`, events per
/// second), redrawn twice a second from a thread of its own; with no `progress`, runs
/// `work` alone.
pub fn watch_run<R>(
    progress: Option<&RunProgress>,
    max: SimDuration,
    clusters: u32,
    work: impl FnOnce() -> R,
) -> R {
    let Some(progress) = progress else {
        return work();
    };
    // One line that fits 80 columns: the figures say how far the run has got.
    let bar = ProgressBar::with_draw_target(None, Bar::target());
    bar.set_style(
        ProgressStyle::with_template("capsim: {wide_msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let done = AtomicBool::new(false);
    let result = std::thread::scope(|s| {
        s.spawn(|| {
            let (mut last_at, mut last_events) = (Instant::now(), 0);
            while !done.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(50));
                let elapsed = last_at.elapsed();
                if elapsed < Duration::from_millis(500) {
                    continue;
                }
                let events = progress.events();
                let rate = (events - last_events) as f64 / elapsed.as_secs_f64();
                (last_at, last_events) = (Instant::now(), events);
                let simulated = progress.simulated();
                bar.set_message(format!(
                    "simulated {simulated}/{max}, clusters ready {}/{clusters}, {} events/s",
                    progress.clusters_ready(),
                    per_second(rate)
                ));
            }
        });
        // Stops the drawing thread even if `work` panics (the scope waits for it).
        let _stop = SetOnDrop(&done);
        work()
    });
    bar.finish_and_clear();
    result
}

/// Sets its flag when dropped.
struct SetOnDrop<'a>(&'a AtomicBool);

impl Drop for SetOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// A rate as a person reads it: `850`, `12k`, `1.2M`.
fn per_second(rate: f64) -> String {
    if rate >= 1e6 {
        format!("{:.1}M", rate / 1e6)
    } else if rate >= 1e4 {
        format!("{:.0}k", rate / 1e3)
    } else {
        format!("{rate:.0}")
    }
}

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
        if shown() {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_read_in_thousands_and_millions() {
        assert_eq!(per_second(850.4), "850");
        assert_eq!(per_second(12_345.0), "12k");
        assert_eq!(per_second(2_950_000.0), "3.0M");
    }

    #[test]
    fn without_progress_the_work_runs_alone() {
        assert_eq!(watch_run(None, SimDuration::from_hours(1), 3, || 42), 42);
        let p = RunProgress::new();
        assert_eq!(watch_run(Some(&p), SimDuration::from_hours(1), 3, || 7), 7);
    }
}
