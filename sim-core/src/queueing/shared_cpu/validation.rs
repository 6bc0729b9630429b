//! Processor sharing against queueing theory: the M/G/1-PS time in system.

use rand::RngExt;
use rand_distr::{Distribution, Exp};

use super::*;
use crate::rng::{RngStreams, StreamId};
use crate::stats::Summary;

/// Mean time in system of the short and of the long jobs among `customers` Poisson
/// arrivals (rate `lambda`) on one core shared equally, after a warm-up. Each job's
/// work is `short` or `long`, with even odds.
fn mg1_ps(lambda: f64, short: f64, long: f64, customers: usize, replica: u64) -> [f64; 2] {
    let streams = RngStreams::new(7, replica);
    let mut rng = streams.stream(StreamId::named("ps"));
    let gap = Exp::new(lambda).unwrap();
    let mut cpu = SharedCpu::new(1.0);
    let k = cpu.add_class(1.0, f64::INFINITY);
    let mut next_arrival = SimTime::ZERO + SimDuration::from_secs_f64(gap.sample(&mut rng));
    let mut arrived: Vec<(SimTime, usize)> = Vec::new();
    let (mut total, mut count) = ([0.0; 2], [0usize; 2]);
    let warmup = customers / 10;
    while count[0] + count[1] < customers {
        match cpu.next_finish() {
            Some(f) if f <= next_arrival => {
                for j in cpu.finish(f) {
                    let (at, size): (SimTime, usize) = arrived[j];
                    if j >= warmup {
                        total[size] += (f - at).as_secs_f64();
                        count[size] += 1;
                    }
                }
            }
            _ => {
                let now = next_arrival;
                let size = usize::from(rng.random_bool(0.5));
                arrived.push((now, size));
                let w = SimDuration::from_secs_f64([short, long][size]);
                cpu.start(now, k, w, arrived.len() - 1);
                next_arrival = now + SimDuration::from_secs_f64(gap.sample(&mut rng));
            }
        }
    }
    [total[0] / count[0] as f64, total[1] / count[1] as f64]
}

#[test]
fn processor_sharing_matches_the_m_g_1_ps_time_in_system_of_each_job_size() {
    // ρ = 0.7 with jobs of 2 ms and 18 ms (mean 10 ms): under processor sharing a job
    // of work x spends x / (1 − ρ) in the system, whatever the distribution: 6.7 ms
    // and 60 ms. First come, first served would give both 21.7 ms plus their work.
    let (lambda, short, long) = (70.0, 0.002, 0.018);
    let runs: Vec<[f64; 2]> = (0..12)
        .map(|r| mg1_ps(lambda, short, long, 40_000, r))
        .collect();
    let rho = lambda * (short + long) / 2.0;
    for (i, x) in [short, long].into_iter().enumerate() {
        let means: Vec<f64> = runs.iter().map(|r| r[i]).collect();
        let s = Summary::of(&means, 0.99).unwrap();
        let theory = x / (1.0 - rho);
        assert!(s.ci_contains(theory), "work {x}: {s:?} vs {theory}");
    }
}
