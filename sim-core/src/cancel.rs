//! Stopping a run from outside: a process-wide stop request (Ctrl-C, a sweep's time
//! limit) and a per-run wall-clock deadline.
//!
//! A run loop holds a [`Stop`] and asks it between steps whether to stop; [`Stop::check`]
//! costs one relaxed atomic load, plus a read of the monotonic clock when a deadline is
//! set. The answer is a [`StopReason`], which the loop turns into
//! [`SimError::Stopped`](crate::SimError::Stopped) with the simulated time it reached.
//!
//! Where the request comes from is injectable: [`Stop::process`] (the default) listens to
//! the process-wide flag that [`request_stop`] sets, and [`Stop::from_flag`] to a flag of
//! its own, so a test can stop one run without touching the others.
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use sim_core::cancel::{Stop, StopFlag, StopReason};
//!
//! let flag = Arc::new(StopFlag::new());
//! let stop = Stop::from_flag(flag.clone()).with_timeout(Duration::from_secs(600));
//! assert_eq!(stop.check(), None);
//! flag.request(StopReason::Interrupted);
//! assert_eq!(stop.check(), Some(StopReason::Interrupted));
//! ```

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::time::SimDuration;

/// Why a run was stopped before its end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// The user interrupted it (Ctrl-C, SIGINT).
    Interrupted,
    /// A wall-clock limit passed: the limit [wall-clock time].
    WallClockLimit(Duration),
}

impl fmt::Display for StopReason {
    /// What follows "stopped": `by an interrupt (Ctrl-C)`, or `after the wall-clock limit
    /// of 10m00s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StopReason::Interrupted => write!(f, "by an interrupt (Ctrl-C)"),
            StopReason::WallClockLimit(limit) => {
                let limit = SimDuration::from_nanos(limit.as_nanos().min(u64::MAX as u128) as u64);
                write!(f, "after the wall-clock limit of {limit}")
            }
        }
    }
}

/// The reason's code in a [`StopFlag`]'s word: its top two bits.
const REASON_SHIFT: u32 = 62;
/// No stop requested.
const NONE: u64 = 0;
/// [`StopReason::Interrupted`].
const INTERRUPTED: u64 = 1 << REASON_SHIFT;
/// [`StopReason::WallClockLimit`]; the limit [ns] in the low 62 bits (up to 146 years).
const WALL_CLOCK: u64 = 2 << REASON_SHIFT;
/// The low 62 bits.
const LIMIT_MASK: u64 = (1 << REASON_SHIFT) - 1;

/// A stop request that any thread may set and any run may read. The first request wins:
/// a later one does not change the reason. One atomic word holds the reason and its
/// limit, so a reader never sees one without the other.
#[derive(Debug, Default)]
pub struct StopFlag(AtomicU64);

impl StopFlag {
    /// A flag with no request.
    pub const fn new() -> StopFlag {
        StopFlag(AtomicU64::new(NONE))
    }

    /// Asks every run that listens to this flag to stop at its next check. Callable from
    /// any thread, e.g. a Ctrl-C handler's or a watchdog's.
    pub fn request(&self, reason: StopReason) {
        let word = match reason {
            StopReason::Interrupted => INTERRUPTED,
            StopReason::WallClockLimit(limit) => {
                WALL_CLOCK | (limit.as_nanos().min(u128::from(LIMIT_MASK)) as u64)
            }
        };
        let _ = self
            .0
            .compare_exchange(NONE, word, Ordering::Relaxed, Ordering::Relaxed);
    }

    /// The reason of the request, if one was made.
    pub fn requested(&self) -> Option<StopReason> {
        let word = self.0.load(Ordering::Relaxed);
        match word & !LIMIT_MASK {
            NONE => None,
            INTERRUPTED => Some(StopReason::Interrupted),
            _ => Some(StopReason::WallClockLimit(Duration::from_nanos(
                word & LIMIT_MASK,
            ))),
        }
    }

    /// Withdraws the request, for a process that goes on to run again after a stop.
    pub fn clear(&self) {
        self.0.store(NONE, Ordering::Relaxed);
    }
}

/// The process-wide flag behind [`request_stop`] and [`stop_requested`].
static PROCESS: StopFlag = StopFlag::new();

/// Asks every run of this process that listens to the process-wide flag (every
/// [`Stop::process`], the default) to stop at its next check: for a Ctrl-C handler, or a
/// watchdog that enforces a time limit over many runs. The first request's reason holds.
pub fn request_stop(reason: StopReason) {
    PROCESS.request(reason);
}

/// The reason of the process-wide stop request, if one was made.
pub fn stop_requested() -> Option<StopReason> {
    PROCESS.requested()
}

/// A wall-clock instant after which a run stops, and the limit it stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Deadline {
    /// When to stop.
    at: Instant,
    /// The limit, for the message [wall-clock time].
    limit: Duration,
}

/// What a run listens to for a request to stop: a flag (the process-wide one by default)
/// and an optional wall-clock deadline. Cheap to clone; clones share the flag.
#[derive(Clone, Debug, Default)]
pub struct Stop {
    /// The flag's owner; `None` is the process-wide flag.
    flag: Option<Arc<StopFlag>>,
    /// The wall-clock deadline, if any.
    deadline: Option<Deadline>,
}

impl Stop {
    /// Listens to the process-wide flag ([`request_stop`]), with no deadline.
    pub fn process() -> Stop {
        Stop::default()
    }

    /// Listens to `flag` instead of the process-wide flag, with no deadline.
    pub fn from_flag(flag: Arc<StopFlag>) -> Stop {
        Stop {
            flag: Some(flag),
            deadline: None,
        }
    }

    /// Also stops once `limit` of wall-clock time has passed from now.
    pub fn with_timeout(self, limit: Duration) -> Stop {
        let at = Instant::now().checked_add(limit);
        match at {
            Some(at) => self.with_deadline(at, limit),
            // Beyond the clock's range: never.
            None => self,
        }
    }

    /// Also stops at the wall-clock instant `at`, reported as the limit `limit` (e.g. a
    /// sweep's start plus its time limit, shared by all its runs).
    pub fn with_deadline(mut self, at: Instant, limit: Duration) -> Stop {
        self.deadline = Some(Deadline { at, limit });
        self
    }

    /// Whether to stop now, and why: a request on the flag first, then the deadline.
    pub fn check(&self) -> Option<StopReason> {
        let flag = self.flag.as_deref().unwrap_or(&PROCESS);
        if let Some(reason) = flag.requested() {
            return Some(reason);
        }
        match self.deadline {
            Some(d) if Instant::now() >= d.at => Some(StopReason::WallClockLimit(d.limit)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_flag_requests_nothing() {
        let stop = Stop::from_flag(Arc::new(StopFlag::new()));
        assert_eq!(stop.check(), None);
    }

    #[test]
    fn the_first_request_gives_the_reason() {
        let flag = StopFlag::new();
        flag.request(StopReason::WallClockLimit(Duration::from_secs(600)));
        flag.request(StopReason::Interrupted);
        assert_eq!(
            flag.requested(),
            Some(StopReason::WallClockLimit(Duration::from_secs(600)))
        );
        flag.clear();
        assert_eq!(flag.requested(), None);
        flag.request(StopReason::Interrupted);
        flag.request(StopReason::WallClockLimit(Duration::from_secs(1)));
        assert_eq!(flag.requested(), Some(StopReason::Interrupted));
    }

    #[test]
    fn a_passed_deadline_stops_with_its_limit() {
        let flag = Arc::new(StopFlag::new());
        let past = Instant::now();
        let stop = Stop::from_flag(flag.clone()).with_deadline(past, Duration::from_secs(5));
        assert_eq!(
            stop.check(),
            Some(StopReason::WallClockLimit(Duration::from_secs(5)))
        );
        // A request on the flag comes first.
        flag.request(StopReason::Interrupted);
        assert_eq!(stop.check(), Some(StopReason::Interrupted));
    }

    #[test]
    fn a_distant_deadline_does_not_stop() {
        let stop = Stop::from_flag(Arc::new(StopFlag::new())).with_timeout(Duration::MAX);
        assert_eq!(stop.check(), None);
        let stop =
            Stop::from_flag(Arc::new(StopFlag::new())).with_timeout(Duration::from_secs(3600));
        assert_eq!(stop.check(), None);
    }

    #[test]
    fn clones_share_their_flag() {
        let flag = Arc::new(StopFlag::new());
        let a = Stop::from_flag(flag.clone());
        let b = a.clone();
        flag.request(StopReason::Interrupted);
        assert_eq!(b.check(), Some(StopReason::Interrupted));
    }

    #[test]
    fn the_process_flag_reaches_process_stops_only() {
        // The only test in this crate that touches the process-wide flag; it clears it.
        let own = Stop::from_flag(Arc::new(StopFlag::new()));
        assert_eq!(Stop::process().check(), None);
        request_stop(StopReason::Interrupted);
        assert_eq!(stop_requested(), Some(StopReason::Interrupted));
        assert_eq!(Stop::process().check(), Some(StopReason::Interrupted));
        assert_eq!(own.check(), None);
        PROCESS.clear();
        assert_eq!(stop_requested(), None);
    }

    #[test]
    fn reasons_read_as_a_sentence() {
        assert_eq!(
            StopReason::Interrupted.to_string(),
            "by an interrupt (Ctrl-C)"
        );
        assert_eq!(
            StopReason::WallClockLimit(Duration::from_secs(600)).to_string(),
            "after the wall-clock limit of 10m00s"
        );
    }
}
