//! Separating Prism Central's queueing from its service times.
//!
//! A VM operation's time from its request to its end holds two things: the wait for a
//! task slot, and the time with the slot held. Prism Central's task list gives both ends
//! of each: created → started is the wait, started → completed the slot held. The time
//! held still grows with the load (capsim's model, docs/model.md: a task started while k
//! of the n slots are busy takes (1 + s·k/n) times its own latency, s the load slowdown),
//! so the service time capsim draws is the time held divided by that factor, with k read
//! off the task list itself (the tasks running when it started).
//!
//! - n, the slot count, is the most tasks ever running at once when some task waited
//!   more than a second and started as a slot freed at that peak (the engine was full),
//!   or given (`--task-slots`); with no task waiting the peak is only a lower bound, and
//!   capsim's own count is kept unless the peak exceeds it.
//! - s is fitted by maximum likelihood (the profile likelihood of s, a lognormal's
//!   parameters fitted at each s, whatever shape the service times are then fitted
//!   with) with its 95 % likelihood interval. When the loads at the tasks' starts do not
//!   vary enough to bound it (a fleet that ran at a full engine throughout), the
//!   interval reaches the search's end (3) or is as wide as the slowdown's plausible
//!   range in `presets/uncertainty.yaml`: s is then not fitted, and the given or default
//!   value is used and named.

use super::fit::{Fit, Shape, fit};
use super::tasks::Task;
use crate::prism_central::TaskKind;

/// Slowdowns searched: 0 to `MAX_SLOWDOWN` by `STEP`.
const MAX_SLOWDOWN: f64 = 3.0;
const STEP: f64 = 0.005;
/// A wait for a slot shorter than this is the engine's own latency [s].
const MIN_WAIT_S: f64 = 1.0;
/// Half the 95th percentile of χ² with one degree of freedom: the likelihood interval.
const HALF_CHI2_95: f64 = 1.920_729_4;

/// One VM operation's fits.
#[derive(Clone, Debug, PartialEq)]
pub struct KindFit {
    /// The operation.
    pub kind: TaskKind,
    /// The service time capsim draws: the time held divided by the load factor.
    pub service: Fit,
    /// The time from the request to the end, as the Machines see it (for comparison).
    pub from_request: Fit,
    /// The wait for a slot: median and 95th percentile [s].
    pub wait_p50: f64,
    /// See `wait_p50`.
    pub wait_p95: f64,
}

/// The separation's result.
#[derive(Clone, Debug, PartialEq)]
pub struct Separation {
    /// Task slots used for the load.
    pub slots: u32,
    /// capsim's own slot count for this Prism Central (its size's).
    pub default_slots: u32,
    /// How the slot count was found.
    pub slots_from: SlotsFrom,
    /// Most tasks running at once in the data.
    pub peak_running: u32,
    /// Tasks that waited for a slot [count].
    pub waited: usize,
    /// The load slowdown used.
    pub slowdown: f64,
    /// Whether it was given (`--load-slowdown`) rather than fitted or the default.
    pub slowdown_given: bool,
    /// The slowdown's maximum-likelihood value and 95 % interval, when the data bound it.
    pub slowdown_fit: Option<(f64, f64, f64)>,
    /// Per operation with at least two finished tasks.
    pub kinds: Vec<KindFit>,
}

/// Where the slot count came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlotsFrom {
    /// Given by the user.
    Given,
    /// The peak of running tasks while some task waited: the engine's limit.
    Saturated,
    /// The peak with no task waiting: only a lower bound.
    LowerBound,
}

/// One finished task's figures for the fit.
struct Obs {
    kind: TaskKind,
    held: f64,
    from_request: f64,
    wait: f64,
    /// Tasks running when it started, itself not counted.
    running: u32,
}

/// The tasks of each Prism Central (one list each) separated into wait and service.
/// `slots` and `slowdown` fix n and s if given; `default_slowdown` is used when the data
/// cannot bound s.
pub fn separate(
    per_pc: &[Vec<Task>],
    slots: Option<u32>,
    slowdown: Option<f64>,
    defaults: (u32, f64),
    shape: Shape,
) -> Separation {
    let (default_slots, default_slowdown) = defaults;
    let mut obs = Vec::new();
    let mut peak = 0;
    for tasks in per_pc {
        peak = peak.max(running_at_starts(tasks, &mut obs));
    }
    // A task waited for a slot if it waited a while and started when the engine was as
    // full as it ever was (a slot just freed): timestamps a few milliseconds apart are
    // the engine's own latency, not a queue.
    let waited = obs
        .iter()
        .filter(|o| o.wait > MIN_WAIT_S && o.running + 1 == peak)
        .count();
    let (n, slots_from) = match slots {
        Some(n) => (n, SlotsFrom::Given),
        None if waited > 0 => (peak, SlotsFrom::Saturated),
        // Never full: the slots are at least the peak; capsim's own count stands
        // unless the data ran more at once than it allows.
        None => (peak.max(default_slots), SlotsFrom::LowerBound),
    };
    let n = n.max(1);
    let load = |o: &Obs| f64::from(o.running) / f64::from(n);
    let profile = |s: f64| -> f64 {
        KINDS
            .iter()
            .map(|&k| {
                let x: Vec<f64> = obs
                    .iter()
                    .filter(|o| o.kind == k && o.held > 0.0)
                    .map(|o| (o.held / (1.0 + s * load(o))).ln())
                    .collect();
                if x.len() < 2 {
                    return 0.0;
                }
                let m = x.iter().sum::<f64>() / x.len() as f64;
                let var = x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / x.len() as f64;
                -(x.len() as f64) * 0.5 * var.max(1e-300).ln()
            })
            .sum()
    };
    let grid: Vec<(f64, f64)> = (0..=(MAX_SLOWDOWN / STEP).round() as u32)
        .map(|i| {
            let s = f64::from(i) * STEP;
            (s, profile(s))
        })
        .collect();
    let best = grid
        .iter()
        .copied()
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .expect("grid not empty");
    let inside: Vec<f64> = grid
        .iter()
        .filter(|(_, ll)| *ll >= best.1 - HALF_CHI2_95)
        .map(|(s, _)| *s)
        .collect();
    let (lo, hi) = (inside[0], inside[inside.len() - 1]);
    // Bound only if the data narrow the slowdown's plausible range (uncertainty.yaml):
    // an interval as wide as that range says nothing the range did not.
    let prior = crate::scenario::uncertainty::Estimates::builtin()
        .0
        .into_iter()
        .find(|e| e.path == "prism-central.load-slowdown")
        .map_or(MAX_SLOWDOWN, |e| match e.spread {
            crate::scenario::uncertainty::Spread::Range(a, b) => b - a,
            _ => MAX_SLOWDOWN,
        });
    let bounded = hi < MAX_SLOWDOWN - STEP / 2.0 && hi - lo < prior && obs.len() >= 2;
    let slowdown_fit = bounded.then_some((best.0, lo, hi));
    let s = slowdown.unwrap_or(if bounded { best.0 } else { default_slowdown });
    let kinds = KINDS
        .iter()
        .filter_map(|&k| {
            let of: Vec<&Obs> = obs.iter().filter(|o| o.kind == k).collect();
            let service: Vec<f64> = of.iter().map(|o| o.held / (1.0 + s * load(o))).collect();
            let from_request: Vec<f64> = of.iter().map(|o| o.from_request).collect();
            let mut waits: Vec<f64> = of.iter().map(|o| o.wait).collect();
            waits.sort_by(f64::total_cmp);
            Some(KindFit {
                kind: k,
                service: fit(&service, shape)?,
                from_request: fit(&from_request, shape)?,
                wait_p50: sim_core::stats::quantile_sorted(&waits, 0.5),
                wait_p95: sim_core::stats::quantile_sorted(&waits, 0.95),
            })
        })
        .collect();
    Separation {
        slots: n,
        default_slots,
        slots_from,
        peak_running: peak,
        waited,
        slowdown: s,
        slowdown_given: slowdown.is_some(),
        slowdown_fit,
        kinds,
    }
}

const KINDS: [TaskKind; 4] = [
    TaskKind::VmCreate,
    TaskKind::VmUpdate,
    TaskKind::VmPowerOn,
    TaskKind::VmDelete,
];

/// Pushes each finished, successful VM task of one Prism Central with the tasks running
/// at its start (every root task that had started and not completed, whatever its
/// operation); returns the most running at once. A task that started and has not
/// completed runs to the end of the data, unless it failed (no slot held then). As in
/// capsim's engine, a slot freed at the instant a task starts is that task's: of the
/// completions at exactly its start, one is its slot and the others still count as
/// running, so that two tasks freed together give their two successors the same load.
fn running_at_starts(tasks: &[Task], out: &mut Vec<Obs>) -> u32 {
    let mut order: Vec<usize> = (0..tasks.len())
        .filter(|&i| tasks[i].started.is_some())
        .collect();
    order.sort_by(|&a, &b| {
        let (ta, tb) = (&tasks[a], &tasks[b]);
        ta.started
            .total_cmp_opt(tb.started)
            .then(ta.created.total_cmp(&tb.created))
            .then(a.cmp(&b))
    });
    // Completion times of the tasks running, as a min-heap.
    let mut running: std::collections::BinaryHeap<std::cmp::Reverse<Ordered>> = Default::default();
    let mut peak = 0;
    for i in order {
        let t = &tasks[i];
        let start = t.started.expect("filtered");
        while running.peek().is_some_and(|r| r.0.0 < start) {
            running.pop();
        }
        if running.peek().is_some_and(|r| r.0.0 == start) {
            running.pop();
        }
        let k = running.len() as u32;
        peak = peak.max(k + 1);
        let end = match t.completed {
            Some(c) => c,
            None if t.status_failed => start,
            None => f64::INFINITY,
        };
        running.push(std::cmp::Reverse(Ordered(end)));
        if let (Some(kind), Some(end), true, false) = (t.kind, t.completed, t.succeeded, t.skewed) {
            out.push(Obs {
                kind,
                held: end - start,
                from_request: end - t.created,
                wait: start - t.created,
                running: k,
            });
        }
    }
    peak
}

/// An f64 ordered totally, for the heap.
#[derive(Clone, Copy, PartialEq)]
struct Ordered(f64);

impl Eq for Ordered {}

impl PartialOrd for Ordered {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Ordered {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

trait TotalCmpOpt {
    fn total_cmp_opt(&self, other: Self) -> std::cmp::Ordering;
}

impl TotalCmpOpt for Option<f64> {
    fn total_cmp_opt(&self, other: Self) -> std::cmp::Ordering {
        self.unwrap_or(f64::INFINITY)
            .total_cmp(&other.unwrap_or(f64::INFINITY))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};
    use rand_distr::{Distribution, LogNormal};

    /// Tasks whose loads vary (arrivals spread over time, 8 slots, FIFO) held for their
    /// drawn latency times (1 + 0.8·k/8): the fit gives back s = 0.8 within its interval
    /// and the service median within 5 %; the time from the request is far longer.
    #[test]
    fn a_known_slowdown_and_service_time_are_recovered_from_a_task_list() {
        let mut rng = sim_core::SimRng::seed_from_u64(5);
        let draw = LogNormal::new(60f64.ln(), 0.3).unwrap();
        let (slots, s_true) = (8usize, 0.8);
        // A FIFO engine: arrivals in bursts, so loads range over 0..7.
        let mut free_at = vec![0.0f64; slots];
        let mut tasks = Vec::new();
        let mut t = 0.0;
        for i in 0..3000 {
            t += if i % 100 < 40 {
                1.0
            } else {
                rng.random::<f64>() * 60.0
            };
            let created = t;
            let (slot, free) = free_at
                .iter()
                .copied()
                .enumerate()
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .unwrap();
            let start = created.max(free);
            let busy = free_at.iter().filter(|&&f| f > start).count() as f64;
            let held = draw.sample(&mut rng) * (1.0 + s_true * busy / slots as f64);
            free_at[slot] = start + held;
            tasks.push(task(created, start, start + held));
        }
        let sep = separate(&[tasks], None, None, (16, 0.5), Shape::Lognormal);
        assert_eq!(sep.slots_from, SlotsFrom::Saturated);
        assert_eq!(sep.slots, 8);
        let (s, lo, hi) = sep.slowdown_fit.expect("bounded");
        assert!(lo <= s_true && s_true <= hi, "{s} [{lo}, {hi}]");
        let create = &sep.kinds[0];
        assert!((create.service.p50 / 60.0 - 1.0).abs() < 0.05, "{create:?}");
        assert!(
            create.from_request.p95 > 1.5 * create.service.p95,
            "{create:?}"
        );
    }

    fn task(created: f64, started: f64, completed: f64) -> Task {
        Task {
            kind: Some(TaskKind::VmCreate),
            operation: "CreateVm".into(),
            succeeded: true,
            status_failed: false,
            skewed: false,
            created,
            started: Some(started),
            completed: Some(completed),
        }
    }

    /// As capsim's engine counts them: two tasks finishing together at 60 s free the two
    /// slots their two waiting successors take, and each of those starts with the other
    /// slot busy (k = 1 of 2), not with both free; the engine was full, so n = 2. Waits
    /// of a few milliseconds are the engine's latency, not a queue.
    #[test]
    fn simultaneous_frees_and_millisecond_waits_are_read_as_the_engine_counts_them() {
        let tasks = vec![
            task(0.0, 0.0, 60.0),
            task(0.0, 0.0, 60.0),
            task(1.0, 60.0, 100.0),
            task(1.0, 60.0, 110.0),
        ];
        let mut obs = Vec::new();
        assert_eq!(running_at_starts(&tasks, &mut obs), 2);
        let k: Vec<u32> = obs.iter().map(|o| o.running).collect();
        assert_eq!(k, vec![0, 1, 1, 1]);
        let sep = separate(&[tasks], None, Some(0.0), (16, 0.5), Shape::Lognormal);
        assert_eq!(
            (sep.slots, sep.slots_from, sep.waited),
            (2, SlotsFrom::Saturated, 2)
        );
        let quick: Vec<Task> = (0..20)
            .map(|i| {
                task(
                    f64::from(i) * 100.0,
                    f64::from(i) * 100.0 + 0.004,
                    f64::from(i) * 100.0 + 60.0,
                )
            })
            .collect();
        let sep = separate(&[quick], None, None, (16, 0.5), Shape::Lognormal);
        assert_eq!(
            (sep.slots, sep.slots_from, sep.waited),
            (16, SlotsFrom::LowerBound, 0)
        );
    }

    /// With every start at the same load, s cannot be told from the service time's scale:
    /// the default is used and no fit is claimed.
    #[test]
    fn a_flat_load_does_not_bound_the_slowdown() {
        let tasks: Vec<Task> = (0..50)
            .map(|i| Task {
                kind: Some(TaskKind::VmCreate),
                operation: "CreateVm".into(),
                succeeded: true,
                status_failed: false,
                skewed: false,
                created: f64::from(i) * 100.0,
                started: Some(f64::from(i) * 100.0),
                completed: Some(f64::from(i) * 100.0 + 50.0 + f64::from(i % 7)),
            })
            .collect();
        let sep = separate(&[tasks], None, None, (16, 0.5), Shape::Lognormal);
        assert_eq!(sep.slowdown_fit, None);
        assert_eq!(sep.slowdown, 0.5);
        assert_eq!(sep.slots_from, SlotsFrom::LowerBound);
        assert_eq!((sep.peak_running, sep.slots), (1, 16));
    }
}
