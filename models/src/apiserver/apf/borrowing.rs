//! The priority levels of one API server, and the seats they lend and borrow.
//!
//! With borrowing (`kube-apiserver.apf-borrowing`) it copies k8s.io/apiserver v0.33
//! `pkg/util/flowcontrol/apf_controller.go`. Each level has a nominal limit NominalCL,
//! may lend round(NominalCL · lendablePercent / 100) of it (MinCL = NominalCL − that) and
//! borrow round(NominalCL · borrowingLimitPercent / 100), or the server's whole
//! concurrency limit when the level sets no borrowing limit (MaxCL = NominalCL + that).
//! Each level integrates its seat demand, seats in use plus seats of waiting requests
//! (`fairqueuing/integrator.go`); every 10 s (`borrowingAdjustmentPeriod`) the period's
//! high watermark, average and standard deviation update a smoothed demand,
//! max(avg + stddev, 0.977 · smoothed + 0.023 · (avg + stddev)) (`seatDemandStats`), and
//! the sum of the nominal limits is shared out again (`updateBorrowingLocked`): each
//! level gets at least max(MinCL, min(NominalCL, high watermark)), at most MaxCL, and
//! otherwise a fair proportion of max(that, smoothed demand) ([`super::conc_alloc`]). At
//! start the statistics are zero, so the first division follows MinCL.
//!
//! Without it, every level keeps its nominal limit. Left out: the exempt level (its
//! nominal share is 0 and nothing here is exempt).

use std::ops::{Index, IndexMut};

use sim_core::{SimDuration, SimTime};

use super::conc_alloc::{AllocItem, allocate};
use super::integrator::Moments;
use super::queueset::{PriorityLevel, Seated};
use super::{PriorityLevelConfig, nominal_limits};

/// How often the levels' limits are adjusted (`borrowingAdjustmentPeriod`).
pub const ADJUSTMENT_PERIOD: SimDuration = SimDuration::from_secs(10);
/// Decay of the smoothed seat demand, a half-life of 5 minutes at one adjustment every
/// 10 s (`seatDemandSmoothingCoefficient`).
pub const SMOOTHING: f64 = 0.977;

/// A level's seat demand statistics (`seatDemandStats`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SeatDemand {
    /// Average over the last period [seats].
    pub avg: f64,
    /// Standard deviation over the last period [seats].
    pub std_dev: f64,
    /// Highest demand in the last period [seats].
    pub high_watermark: u32,
    /// Smoothed envelope of avg + std_dev [seats].
    pub smoothed: f64,
}

impl SeatDemand {
    fn update(&mut self, m: Moments) {
        self.high_watermark = m.max.round() as u32;
        if m.duration <= 0.0 {
            return;
        }
        let deviation = if m.deviation.is_nan() {
            0.0
        } else {
            m.deviation
        };
        self.avg = m.average;
        self.std_dev = deviation;
        let envelope = m.average + deviation;
        self.smoothed = envelope.max(SMOOTHING * self.smoothed + (1.0 - SMOOTHING) * envelope);
    }
}

/// One level's limits [seats].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// NominalCL.
    pub nominal: u32,
    /// MinCL: nominal less what it may lend.
    pub min: u32,
    /// MaxCL: nominal plus what it may borrow.
    pub max: u32,
}

/// The priority levels of one API server.
pub struct PriorityLevels<R> {
    levels: Vec<PriorityLevel<R>>,
    limits: Vec<Limits>,
    demand: Vec<SeatDemand>,
    borrowing: bool,
}

impl<R: Copy + PartialEq> PriorityLevels<R> {
    /// `cfgs` sharing `server_seats` (`--max-requests-inflight` +
    /// `--max-mutating-requests-inflight`), served by fair queuing when `fair`, lending
    /// and borrowing when `borrowing`.
    pub fn new(
        cfgs: &[PriorityLevelConfig],
        server_seats: u32,
        fair: bool,
        borrowing: bool,
    ) -> Self {
        let nominal = nominal_limits(server_seats, cfgs);
        let limits: Vec<Limits> = cfgs
            .iter()
            .zip(&nominal)
            .map(|(c, &n)| {
                let share = |p: u32| (f64::from(n) * f64::from(p) / 100.0).round() as u32;
                let lendable = share(c.lendable_percent);
                let borrowable = c.borrowing_limit_percent.map_or(server_seats, share);
                Limits {
                    nominal: n,
                    min: n - lendable,
                    max: n + borrowable,
                }
            })
            .collect();
        let mut levels = PriorityLevels {
            levels: cfgs
                .iter()
                .zip(&nominal)
                .map(|(c, &n)| PriorityLevel::new(c, n, fair))
                .collect(),
            demand: vec![SeatDemand::default(); limits.len()],
            limits,
            borrowing,
        };
        if borrowing {
            levels.adjust(SimTime::ZERO, |_, _, _| {
                unreachable!("nothing waits at start")
            });
        }
        levels
    }

    /// Each level's limits.
    pub fn limits(&self) -> &[Limits] {
        &self.limits
    }

    /// Each level's seat demand statistics at the last adjustment.
    pub fn demand(&self) -> &[SeatDemand] {
        &self.demand
    }

    /// The levels.
    pub fn iter(&self) -> impl Iterator<Item = &PriorityLevel<R>> {
        self.levels.iter()
    }

    /// An adjustment period ended: each level's seat demand statistics are updated and
    /// the server's seats are divided again; requests that the new limits let go are
    /// handed to `dispatch` with their level. Nothing changes without borrowing.
    pub fn adjust(&mut self, now: SimTime, mut dispatch: impl FnMut(usize, R, Seated)) {
        if !self.borrowing {
            return;
        }
        let mut items = Vec::with_capacity(self.levels.len());
        let (mut min_sum, mut min_current_sum, mut nominal_sum) = (0, 0, 0);
        for (i, level) in self.levels.iter_mut().enumerate() {
            self.demand[i].update(level.demand.reset(now));
            let l = self.limits[i];
            let min_current = l.min.max(l.nominal.min(self.demand[i].high_watermark));
            items.push(AllocItem {
                lower: f64::from(min_current),
                upper: f64::from(l.max),
                target: f64::from(min_current).max(self.demand[i].smoothed),
            });
            min_sum += l.min;
            min_current_sum += min_current;
            nominal_sum += l.nominal;
        }
        let current: Vec<u32> = if nominal_sum <= min_sum {
            self.limits.iter().map(|l| l.min).collect()
        } else if nominal_sum <= min_current_sum {
            // Not even the lower bounds fit: each level gets its MinCL and a share of the
            // rest in proportion to what its lower bound asks beyond MinCL.
            let frac = f64::from(nominal_sum - min_sum) / f64::from(min_current_sum - min_sum);
            self.limits
                .iter()
                .zip(&items)
                .map(|(l, it)| l.min + ((it.lower - f64::from(l.min)) * frac).round() as u32)
                .collect()
        } else {
            match allocate(nominal_sum, &items) {
                Ok((allocs, _)) => allocs.iter().map(|a| a.round() as u32).collect(),
                Err(_) => self.levels.iter().map(|l| l.limit()).collect(),
            }
        };
        for (i, level) in self.levels.iter_mut().enumerate() {
            level.set_limit(now, current[i], |r, s| dispatch(i, r, s));
        }
    }
}

impl<R> Index<usize> for PriorityLevels<R> {
    type Output = PriorityLevel<R>;
    fn index(&self, i: usize) -> &PriorityLevel<R> {
        &self.levels[i]
    }
}

impl<R> IndexMut<usize> for PriorityLevels<R> {
    fn index_mut(&mut self, i: usize) -> &mut PriorityLevel<R> {
        &mut self.levels[i]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apiserver::apf::{Admission, WorkEstimate, default_levels};

    const T0: SimTime = SimTime::ZERO;

    fn at(secs: u64) -> SimTime {
        T0 + SimDuration::from_secs(secs)
    }

    fn config(name: &str, lendable_percent: u32) -> PriorityLevelConfig {
        PriorityLevelConfig {
            name: name.into(),
            shares: 1,
            queues: 8,
            hand_size: 1,
            queue_length_limit: 1000,
            lendable_percent,
            borrowing_limit_percent: None,
        }
    }

    /// `n` one-seat requests arrive at level `i`; returns how many were dispatched.
    fn flood(levels: &mut PriorityLevels<u32>, i: usize, n: u32, now: SimTime) -> u32 {
        let mut went = 0;
        for r in 0..n {
            let one = WorkEstimate::seats(1);
            let a = levels[i].arrive(now, r, &[r % 8], one, |_, _| went += 1);
            went += u32::from(matches!(a, Admission::Dispatched(_)));
        }
        went
    }

    #[test]
    fn a_server_without_demand_yet_divides_its_seats_by_what_levels_may_not_lend() {
        // 600 seats: nominal 74, 98, 25, 98, 245, 49, 13 (sum 602); lendable 24, 25, 0,
        // 49, 221, 25, 0; so MinCL 50, 73, 25, 49, 24, 24, 13 (sum 258), each × 602/258.
        let levels = PriorityLevels::<u32>::new(&default_levels(), 600, true, true);
        let mins: Vec<u32> = levels.limits().iter().map(|l| l.min).collect();
        assert_eq!(mins, [50, 73, 25, 49, 24, 24, 13]);
        let current: Vec<u32> = levels.iter().map(|l| l.limit()).collect();
        let expected: Vec<u32> = mins
            .iter()
            .map(|&m| (f64::from(m) * 602.0 / 258.0).round() as u32)
            .collect();
        assert_eq!(current, expected);
        assert_eq!(current[4], 56, "workload-low");
    }

    /// Level B is backlogged while A idles: B borrows, but no more than A may lend, and
    /// A keeps at least what it may not lend. Once A is backlogged too, B goes back to
    /// its nominal seats.
    #[test]
    fn an_idle_level_lends_at_most_its_lendable_seats_and_gets_them_back_when_busy() {
        let cfgs = [config("a", 50), config("b", 50)];
        let mut levels = PriorityLevels::<u32>::new(&cfgs, 100, true, true);
        let (a, b) = (levels.limits()[0], levels.limits()[1]);
        assert_eq!((a.nominal, a.min, b.nominal), (50, 25, 50));
        assert_eq!((levels[0].limit(), levels[1].limit()), (50, 50));
        assert_eq!(flood(&mut levels, 1, 250, T0), 50);
        let mut went = 0;
        levels.adjust(at(10), |i, _, _| {
            assert_eq!(i, 1);
            went += 1;
        });
        let lent = a.nominal - a.min;
        assert!(levels[1].limit() > b.nominal, "b borrows");
        assert!(
            levels[1].limit() - b.nominal <= lent,
            "{}",
            levels[1].limit()
        );
        assert!(levels[0].limit() >= a.min);
        assert_eq!(went, levels[1].limit() - b.nominal);
        // A gets busy: at the next adjustment both are at their nominal seats again.
        flood(&mut levels, 0, 250, at(10));
        let borrowed = levels[1].limit();
        levels.adjust(at(20), |_, _, _| {});
        assert!(levels[1].limit() < borrowed);
        assert_eq!((levels[0].limit(), levels[1].limit()), (50, 50));
    }

    #[test]
    fn no_level_ever_goes_below_what_it_may_not_lend() {
        let mut levels = PriorityLevels::<u32>::new(&default_levels(), 600, true, true);
        let mut seated: Vec<Vec<Seated>> = vec![Vec::new(); 7];
        let (mut borrowed, mut lent_all) = (false, false);
        let mut x = 12345u64;
        let mut rand = |n: u64| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 33) % n
        };
        for period in 1..=60u64 {
            let now = at(10 * period);
            for (i, held) in seated.iter_mut().enumerate() {
                let level = &mut levels[i];
                // Half the time a level goes idle: everything it holds finishes.
                let done = if rand(2) == 0 {
                    held.len() as u64
                } else {
                    rand(held.len() as u64 + 1)
                };
                for _ in 0..done {
                    let s = held.swap_remove(0);
                    level.release(now, s, |_, s| held.push(s));
                }
                // system, node-high and workload-high idle; the others loaded at random.
                let most = [0, 0, 40, 0, 400, 400, 20][i];
                for r in 0..rand(most + 1) as u32 {
                    let a = level.arrive(now, r, &[r % 16], WorkEstimate::seats(1), |_, s| {
                        held.push(s)
                    });
                    if let Admission::Dispatched(s) = a {
                        held.push(s);
                    }
                }
            }
            levels.adjust(now, |i, _, s| seated[i].push(s));
            levels.iter().for_each(PriorityLevel::check);
            let limits = levels.limits();
            let total: u32 = levels.iter().map(|l| l.limit()).sum();
            assert!(
                (595..=609).contains(&total),
                "{total} seats in period {period}"
            );
            for (l, lim) in levels.iter().zip(limits) {
                assert!(
                    l.limit() >= lim.min && l.limit() <= lim.max,
                    "period {period}"
                );
                borrowed |= l.limit() > lim.nominal;
                lent_all |= l.limit() == lim.min && lim.min < lim.nominal;
            }
        }
        assert!(borrowed, "the loads exercise borrowing");
        assert!(lent_all, "and lending");
    }
}
