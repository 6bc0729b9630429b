//! Direct threads against the processor-sharing server they stand in for: the same
//! random arrivals on two copies of a node, one with direct threads and one without,
//! end every job at the same instant (to the rounding of the instants) and account the
//! same CPU, saturation and throttling.

use std::collections::BTreeMap;

use rand::RngExt;
use rand_distr::{Distribution, Exp, LogNormal};

use super::*;
use crate::rng::{RngStreams, StreamId};

/// The owner of a node: it schedules the ends the node gives for direct jobs, and asks
/// the node for the shared ones.
struct Owner {
    cpu: SharedCpu<u32>,
    /// Each direct job's end, as its owner scheduled it.
    scheduled: BTreeMap<u32, SimTime>,
    /// Each job's end, once it ended.
    ended: BTreeMap<u32, SimTime>,
    /// Jobs that started direct, and moves each way.
    counts: [usize; 3],
}

impl Owner {
    fn new(cpu: SharedCpu<u32>) -> Self {
        Owner {
            cpu,
            scheduled: BTreeMap::new(),
            ended: BTreeMap::new(),
            counts: [0; 3],
        }
    }

    fn take_moved(&mut self) {
        for m in self.cpu.take_moved() {
            match m {
                Moved::Shared(j) => {
                    self.counts[1] += 1;
                    assert!(self.scheduled.remove(&j).is_some(), "job {j} was direct");
                }
                Moved::Direct(j, at) => {
                    self.counts[2] += 1;
                    assert!(self.scheduled.insert(j, at).is_none(), "job {j} was shared");
                }
            }
        }
    }

    fn start(&mut self, now: SimTime, class: usize, work: SimDuration, job: u32) {
        if let Some(end) = self.cpu.start(now, class, work, job) {
            self.counts[0] += 1;
            self.scheduled.insert(job, end);
        }
        self.take_moved();
    }

    fn background(&mut self, now: SimTime, class: usize, work: SimDuration) {
        self.cpu.add_background(now, class, work);
        self.take_moved();
    }

    /// The next end: a direct job's, or the node's next finish.
    fn next(&self) -> Option<SimTime> {
        let direct = self.scheduled.values().min().copied();
        match (direct, self.cpu.next_finish()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Ends what ends at `now`.
    fn end(&mut self, now: SimTime) {
        let due: Vec<u32> = (self.scheduled.iter())
            .filter(|&(_, &at)| at <= now)
            .map(|(&j, _)| j)
            .collect();
        for j in due {
            self.scheduled.remove(&j);
            self.ended.insert(j, now);
        }
        if self.cpu.next_finish().is_some_and(|f| f <= now) {
            for j in self.cpu.finish(now) {
                self.ended.insert(j, now);
            }
        }
        self.take_moved();
    }
}

/// Runs `jobs` random arrivals (two pods with limits, background work on a third, and a
/// tenth of them, threads and background work, in a fourth pod held to half a core) on a
/// node of `cores`, with and without direct threads; returns both owners at the end.
fn run(cores: f64, rate: f64, jobs: u32, replica: u64) -> (Owner, Owner) {
    let streams = RngStreams::new(11, replica);
    let mut rng = streams.stream(StreamId::named("direct"));
    let gap = Exp::new(rate).unwrap();
    let work = LogNormal::new((0.02f64).ln(), 1.0).unwrap();
    let node = || {
        let mut cpu = SharedCpu::new(cores);
        cpu.add_class(1.0, 2.0);
        cpu.add_class(2.0, f64::INFINITY);
        cpu.add_class(0.5, 1.0);
        cpu.add_class(0.25, 0.5);
        cpu
    };
    let mut owners = [Owner::new(node().with_direct()), Owner::new(node())];
    let mut arrival = SimTime::ZERO;
    let mut started = 0;
    loop {
        let next_end = owners.iter().filter_map(Owner::next).min();
        if started < jobs && next_end.is_none_or(|e| arrival < e) {
            let class = if rng.random_bool(0.1) {
                3
            } else {
                rng.random_range(0..3usize)
            };
            let background = class == 2 || (class == 3 && rng.random_bool(0.5));
            let w = SimDuration::from_secs_f64(work.sample(&mut rng));
            for o in &mut owners {
                if background {
                    o.background(arrival, class, w);
                } else {
                    o.start(arrival, class, w, started);
                }
            }
            started += 1;
            arrival += SimDuration::from_secs_f64(gap.sample(&mut rng));
        } else if let Some(now) = next_end {
            for o in &mut owners {
                o.end(now);
            }
        } else {
            break;
        }
    }
    let [direct, shared] = owners;
    (direct, shared)
}

#[test]
fn direct_threads_end_when_processor_sharing_ends_them() {
    // Loads from idle to saturated (4 cores; mean work about 33 ms, so 100 arrivals a
    // second bring 3.3 cores of work): the nodes go in and out of saturation, of the
    // first pod's 2-core quota and of the fourth pod's half core.
    for (replica, rate) in [(0, 20.0), (1, 60.0), (2, 100.0), (3, 150.0)] {
        let (mut direct, mut shared) = run(4.0, rate, 4_000, replica);
        assert_eq!(direct.ended.len(), shared.ended.len());
        assert!(direct.ended.len() > 2_000, "{}", direct.ended.len());
        // Every regime is exercised: direct when idle, moves both ways when busy, shared
        // nearly all the time when the first pod stays above its quota.
        let [started_direct, to_shared, to_direct] = direct.counts;
        match rate {
            20.0 => assert!(started_direct > 1_500, "{:?}", direct.counts),
            150.0 => assert!(started_direct < 100, "{:?}", direct.counts),
            _ => assert!(to_shared > 300 && to_direct > 300, "{:?}", direct.counts),
        }
        assert_eq!(shared.counts, [0; 3]);
        for (j, at) in &shared.ended {
            let d = direct.ended[j];
            let gap = (d.as_secs_f64() - at.as_secs_f64()).abs();
            assert!(gap < 1e-6, "rate {rate}: job {j} ended {d} against {at}");
        }
        let end = SimTime::ZERO + SimDuration::from_secs(3_600);
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-6 * (1.0 + b.abs());
        assert!(close(
            direct.cpu.cpu_seconds(end),
            shared.cpu.cpu_seconds(end)
        ));
        assert!(close(
            direct.cpu.saturated_s(end),
            shared.cpu.saturated_s(end)
        ));
        for k in 0..4 {
            let (a, b) = (
                direct.cpu.class_cpu_seconds(end, k),
                shared.cpu.class_cpu_seconds(end, k),
            );
            assert!(close(a, b), "class {k}: {a} against {b}");
            let (a, b) = (
                direct.cpu.class_throttled_s(k),
                shared.cpu.class_throttled_s(k),
            );
            assert!(close(a, b), "class {k} throttled {a} against {b}");
        }
    }
}

#[test]
fn a_direct_thread_becomes_shared_when_the_node_fills_and_direct_again_after() {
    let mut cpu = SharedCpu::new(2.0).with_direct();
    let k = cpu.add_class(1.0, f64::INFINITY);
    let t = |s: f64| SimTime::ZERO + SimDuration::from_secs_f64(s);
    // Two 2-s threads on two cores: each ends at 2 s, with no event of the node's.
    assert_eq!(
        cpu.start(t(0.0), k, SimDuration::from_secs(2), 0),
        Some(t(2.0))
    );
    assert_eq!(
        cpu.start(t(0.0), k, SimDuration::from_secs(2), 1),
        Some(t(2.0))
    );
    assert_eq!(cpu.next_finish(), None);
    // A third at 1 s: all three share the two cores, 1 s of work left each.
    assert_eq!(cpu.start(t(1.0), k, SimDuration::from_secs(1), 2), None);
    let mut moved = cpu.take_moved();
    moved.sort_by_key(|m| match m {
        Moved::Shared(j) | Moved::Direct(j, _) => *j,
    });
    assert_eq!(moved, vec![Moved::Shared(0), Moved::Shared(1)]);
    // At 2/3 of a core each, all end at 2.5 s.
    let end = cpu.next_finish().unwrap();
    assert!((end.as_secs_f64() - 2.5).abs() < 1e-9, "{end}");
    assert_eq!(cpu.finish(end).len(), 3);
    assert!(cpu.take_moved().is_empty());
    // One thread left alone after a saturated spell becomes direct again.
    cpu.start(t(3.0), k, SimDuration::from_secs(1), 3);
    cpu.start(t(3.0), k, SimDuration::from_secs(1), 4);
    assert_eq!(cpu.start(t(3.0), k, SimDuration::from_secs(3), 5), None);
    cpu.take_moved();
    // 2/3 of a core each: 3 and 4 end at 4.5 s, leaving 5 with 2 s of work, alone.
    let end = cpu.next_finish().unwrap();
    assert_eq!(cpu.finish(end), vec![3, 4]);
    let moved = cpu.take_moved();
    assert_eq!(moved.len(), 1);
    let Moved::Direct(5, at) = moved[0] else {
        panic!("{moved:?}")
    };
    assert!((at.as_secs_f64() - 6.5).abs() < 1e-9, "{at}");
    assert_eq!(cpu.next_finish(), None);
    // Its class killed at 5 s, it is returned like a shared job. CPU seconds: 5 up to
    // 2.5 s, 2 for jobs 3 and 4, 1.5 of job 5's.
    assert_eq!(cpu.kill_class(t(5.0), k), vec![5]);
    assert!((cpu.cpu_seconds(t(10.0)) - 8.5).abs() < 1e-9);
}
