//! The engine's validation against independent truth, as a list of checks.
//!
//! Queueing checks run Monte Carlo replicas of a station and compare the mean of the
//! replica estimates with the closed form: a check passes when the analytic value lies in
//! the replicas' confidence interval (99 % by default). Little's law is checked on the same
//! runs, replica by replica. Engine semantics (FIFO at equal times, cancellation, the
//! `run_until` bound) and determinism across thread counts are checked on purpose-built
//! models. `capsim validate` prints these checks; the tests assert them.

use serde::Serialize;

use crate::monte_carlo::{MonteCarlo, MonteCarloError};
use crate::queueing::analytic::{erlang_c, mg1_mean_wait, mmc_mean_wait};
use crate::queueing::station::{ServiceTime, StationConfig, StationResult, simulate};
use crate::simulation::{Model, Scheduler, Simulation};
use crate::stats::Summary;
use crate::time::{SimDuration, SimTime};

/// Replicas per queueing check in the full-size run.
pub const FULL_REPLICAS: u64 = 40;
/// Customers per replica in the full-size run.
pub const FULL_CUSTOMERS: u64 = 1_000_000;

/// How big and how strict the validation run is.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct ValidationPlan {
    /// Master seed.
    pub seed: u64,
    /// Replicas per queueing check [count].
    pub replicas: u64,
    /// Customers per replica, warm-up included [count].
    pub customers: u64,
    /// Worker threads, or rayon's default.
    pub threads: Option<usize>,
    /// Confidence level of the intervals, e.g. 0.99.
    pub confidence: f64,
    /// Largest relative gap allowed between L and λW (Little's law).
    pub little_tolerance: f64,
}

impl ValidationPlan {
    /// The full-size run of `capsim validate`: 40 replicas of 1,000,000 customers.
    pub fn full(seed: u64) -> Self {
        ValidationPlan {
            seed,
            replicas: FULL_REPLICAS,
            customers: FULL_CUSTOMERS,
            threads: None,
            confidence: 0.99,
            little_tolerance: 0.01,
        }
    }

    /// Customers discarded at the start of each replica: a tenth of them.
    fn warmup(&self) -> u64 {
        self.customers / 10
    }
}

/// The outcome of one check.
#[derive(Clone, Debug, Serialize)]
pub struct Check {
    /// Short identifier, stable across versions (e.g. `mmc_mean_wait`).
    pub id: &'static str,
    /// What is checked, for a reader.
    pub name: String,
    /// Unit of `simulated` and `analytic`.
    pub unit: &'static str,
    /// The value the simulation produced (mean over replicas where there are replicas).
    pub simulated: f64,
    /// The value theory (or the specification) gives.
    pub analytic: f64,
    /// (simulated − analytic) / analytic; zero when both are zero.
    pub rel_error: f64,
    /// Lower end of the confidence interval of `simulated`, where it has one.
    pub ci_low: Option<f64>,
    /// Upper end of the confidence interval of `simulated`, where it has one.
    pub ci_high: Option<f64>,
    /// The rule the check applies.
    pub criterion: String,
    /// Whether the check passed.
    pub pass: bool,
}

fn rel_error(simulated: f64, analytic: f64) -> f64 {
    if analytic == 0.0 {
        if simulated == 0.0 { 0.0 } else { f64::INFINITY }
    } else {
        (simulated - analytic) / analytic
    }
}

/// Runs every check of `plan`, in a fixed order.
pub fn run(plan: &ValidationPlan) -> Result<Vec<Check>, MonteCarloError> {
    let mut checks = Vec::new();
    let warmup = plan.warmup();
    let station = |servers, arrival_rate, service| StationConfig {
        servers,
        arrival_rate,
        service,
        customers: plan.customers,
        warmup_customers: warmup,
    };

    let mm1 = station(1, 0.8, ServiceTime::Exponential { mean_s: 1.0 });
    let mm1_runs = replicate(plan, mm1, plan.seed)?;
    checks.push(ci_check(
        "mm1_mean_wait",
        "M/M/1 ρ=0.8: mean wait in queue vs ρ/(μ−λ)",
        &mm1_runs,
        |r| r.mean_wait_s,
        mmc_mean_wait(1, 0.8, 1.0),
        plan.confidence,
    ));

    let mmc = station(8, 7.2, ServiceTime::Exponential { mean_s: 1.0 });
    let mmc_runs = replicate(plan, mmc, plan.seed)?;
    checks.push(ci_check(
        "mmc_mean_wait",
        "M/M/8 ρ=0.9: mean wait in queue vs Erlang C",
        &mmc_runs,
        |r| r.mean_wait_s,
        mmc_mean_wait(8, 7.2, 1.0),
        plan.confidence,
    ));
    let mut p_wait = ci_check(
        "mmc_p_wait",
        "M/M/8 ρ=0.9: probability of waiting vs Erlang C",
        &mmc_runs,
        |r| r.p_wait,
        erlang_c(8, 7.2),
        plan.confidence,
    );
    p_wait.unit = "probability";
    checks.push(p_wait);
    checks.push(little_check(&mmc_runs, plan.little_tolerance));

    let md1 = station(1, 0.8, ServiceTime::Deterministic { mean_s: 1.0 });
    let md1_runs = replicate(plan, md1, plan.seed)?;
    checks.push(ci_check(
        "md1_mean_wait",
        "M/D/1 ρ=0.8: mean wait in queue vs Pollaczek–Khinchine",
        &md1_runs,
        |r| r.mean_wait_s,
        mg1_mean_wait(0.8, 1.0, 0.0),
        plan.confidence,
    ));

    checks.push(fifo_check());
    checks.push(cancellation_check());
    checks.push(run_until_check());
    checks.extend(determinism_checks(plan, mmc)?);
    Ok(checks)
}

fn replicate(
    plan: &ValidationPlan,
    cfg: StationConfig,
    seed: u64,
) -> Result<Vec<StationResult>, MonteCarloError> {
    let mut mc = MonteCarlo::new(seed, plan.replicas);
    if let Some(t) = plan.threads {
        mc = mc.threads(t);
    }
    mc.run(|replica| simulate(cfg, &replica.streams))
}

fn ci_check(
    id: &'static str,
    name: &str,
    runs: &[StationResult],
    figure: impl Fn(&StationResult) -> f64,
    analytic: f64,
    confidence: f64,
) -> Check {
    let values: Vec<f64> = runs.iter().map(figure).collect();
    let summary = Summary::of(&values, confidence);
    let (simulated, ci_low, ci_high, pass) = match &summary {
        Some(s) => (s.mean, s.ci_low, s.ci_high, s.ci_contains(analytic)),
        None => (f64::NAN, None, None, false),
    };
    Check {
        id,
        name: name.to_string(),
        unit: "s",
        simulated,
        analytic,
        rel_error: rel_error(simulated, analytic),
        ci_low,
        ci_high,
        criterion: format!(
            "analytic inside the {:.0} % CI of {} replica means",
            confidence * 100.0,
            runs.len()
        ),
        pass,
    }
}

/// Little's law L = λW on the waiting line, replica by replica: the time-average number
/// waiting against the measured arrival rate times the mean wait of the same customers.
fn little_check(runs: &[StationResult], tolerance: f64) -> Check {
    let n = runs.len().max(1) as f64;
    let l: f64 = runs.iter().map(|r| r.mean_queue_len).sum::<f64>() / n;
    let lambda_w: f64 = runs
        .iter()
        .map(|r| r.window_arrival_rate * r.mean_wait_s)
        .sum::<f64>()
        / n;
    let worst = runs
        .iter()
        .map(|r| rel_error(r.mean_queue_len, r.window_arrival_rate * r.mean_wait_s).abs())
        .fold(0.0, f64::max);
    Check {
        id: "mmc_little",
        name: "M/M/8 ρ=0.9: Little's law, time-average queue L vs λW".to_string(),
        unit: "customers",
        simulated: l,
        analytic: lambda_w,
        rel_error: rel_error(l, lambda_w),
        ci_low: None,
        ci_high: None,
        criterion: format!(
            "every replica within {:.1} % (worst {:.3} %)",
            tolerance * 100.0,
            worst * 100.0
        ),
        pass: !runs.is_empty() && worst <= tolerance,
    }
}

fn count_check(id: &'static str, name: &str, got: u64, want: u64, criterion: &str) -> Check {
    Check {
        id,
        name: name.to_string(),
        unit: "events",
        simulated: got as f64,
        analytic: want as f64,
        rel_error: rel_error(got as f64, want as f64),
        ci_low: None,
        ci_high: None,
        criterion: criterion.to_string(),
        pass: got == want,
    }
}

/// Logs the payload of every event it handles; `Cancel` cancels the event it names.
#[derive(Default)]
struct Probe {
    fired: Vec<(SimTime, u64)>,
    ids: Vec<crate::queue::EventId>,
}

enum ProbeEvent {
    Fired(u64),
    Cancel(usize),
}

impl Model for Probe {
    type Event = ProbeEvent;
    fn handle(&mut self, event: ProbeEvent, sched: &mut Scheduler<ProbeEvent>) {
        match event {
            ProbeEvent::Fired(n) => self.fired.push((sched.now(), n)),
            ProbeEvent::Cancel(i) => {
                sched.cancel(self.ids[i]);
            }
        }
    }
}

/// 100,000 events over 100 instants, pushed interleaved: within each instant they must
/// come out in push order.
fn fifo_check() -> Check {
    let mut sim = Simulation::new(Probe::default());
    let n = 100_000u64;
    for i in 0..n {
        let t = SimTime::from_millis((i * 37) % 100);
        sim.scheduler_mut().schedule_at(t, ProbeEvent::Fired(i));
    }
    sim.run().expect("no budget");
    let mut expected: Vec<(SimTime, u64)> = (0..n)
        .map(|i| (SimTime::from_millis((i * 37) % 100), i))
        .collect();
    expected.sort_by_key(|&(t, _)| t); // stable: push order within an instant
    let in_place = sim
        .model()
        .fired
        .iter()
        .zip(&expected)
        .filter(|(a, b)| a == b)
        .count() as u64;
    count_check(
        "engine_fifo",
        "Equal-time events run in scheduling order",
        in_place,
        n,
        "every event at its place in (time, push order)",
    )
}

/// 10,000 timers; every third one is cancelled by an event that runs before it. Exactly
/// the others fire.
fn cancellation_check() -> Check {
    let mut sim = Simulation::new(Probe::default());
    let n = 10_000u64;
    for i in 0..n {
        let id = sim
            .scheduler_mut()
            .schedule_at(SimTime::from_secs(10 + i), ProbeEvent::Fired(i));
        sim.model_mut().ids.push(id);
    }
    for i in (0..n as usize).step_by(3) {
        sim.scheduler_mut()
            .schedule_at(SimTime::from_secs(i as u64), ProbeEvent::Cancel(i));
    }
    sim.run().expect("no budget");
    let fired = &sim.model().fired;
    let cancelled_fired = fired.iter().filter(|(_, i)| i % 3 == 0).count();
    let want = (0..n).filter(|i| i % 3 != 0).count() as u64;
    let mut check = count_check(
        "engine_cancel",
        "Cancelled timers never fire, the others all do",
        fired.len() as u64,
        want,
        "fired = scheduled − cancelled, and no cancelled one fired",
    );
    check.pass &= cancelled_fired == 0;
    check
}

/// Events at the bound run; one nanosecond later they do not; the clock ends on the bound.
fn run_until_check() -> Check {
    let mut sim = Simulation::new(Probe::default());
    let bound = SimTime::from_secs(60);
    for i in 0..1000u64 {
        sim.scheduler_mut().schedule_at(bound, ProbeEvent::Fired(i));
        sim.scheduler_mut().schedule_at(
            bound + SimDuration::from_nanos(1),
            ProbeEvent::Fired(1000 + i),
        );
    }
    sim.run_until(bound).expect("no budget");
    let at_bound = sim
        .model()
        .fired
        .iter()
        .filter(|(t, _)| *t == bound)
        .count() as u64;
    let beyond = sim.model().fired.len() as u64 - at_bound;
    let mut check = count_check(
        "engine_run_until",
        "run_until(t) runs events at t and none after",
        at_bound,
        1000,
        "all 1000 events at t ran, none of the 1000 at t+1ns, clock = t",
    );
    check.pass &= beyond == 0 && sim.now() == bound;
    check
}

/// The same seed gives bit-identical replicas with 1 and with 2 threads; another seed
/// gives different ones. Runs a tenth of the plan's customers.
fn determinism_checks(
    plan: &ValidationPlan,
    mmc: StationConfig,
) -> Result<Vec<Check>, MonteCarloError> {
    let cfg = StationConfig {
        customers: (plan.customers / 10).max(1000),
        warmup_customers: plan.customers / 100,
        ..mmc
    };
    let run = |seed: u64, threads: usize| {
        MonteCarlo::new(seed, plan.replicas)
            .threads(threads)
            .run(|replica| simulate(cfg, &replica.streams))
    };
    let one = run(plan.seed, 1)?;
    let two = run(plan.seed, 2)?;
    let other = run(plan.seed.wrapping_add(1), 2)?;
    let bits = |r: &StationResult| {
        [r.mean_wait_s, r.wait_p99_s, r.p_wait, r.mean_queue_len].map(f64::to_bits)
    };
    let identical = one
        .iter()
        .zip(&two)
        .filter(|(a, b)| bits(a) == bits(b))
        .count() as u64;
    let differing = one
        .iter()
        .zip(&other)
        .filter(|(a, b)| bits(a) != bits(b))
        .count() as u64;
    let mut same = count_check(
        "determinism_threads",
        "Same seed on 1 and 2 threads: bit-identical replicas",
        identical,
        plan.replicas,
        "every replica's figures equal to the last bit",
    );
    same.unit = "replicas";
    let mut diff = count_check(
        "determinism_seed",
        "Another seed: different replicas",
        differing,
        plan.replicas,
        "every replica differs",
    );
    diff.unit = "replicas";
    Ok(vec![same, diff])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_semantics_checks_pass() {
        for check in [fifo_check(), cancellation_check(), run_until_check()] {
            assert!(check.pass, "{check:?}");
        }
    }

    #[test]
    fn a_wrong_analytic_value_fails_the_ci_check() {
        // The check must be able to fail: the same replicas against a value 50 % off.
        let plan = ValidationPlan {
            replicas: 8,
            customers: 20_000,
            ..ValidationPlan::full(1)
        };
        let cfg = StationConfig {
            servers: 1,
            arrival_rate: 0.5,
            service: ServiceTime::Exponential { mean_s: 1.0 },
            customers: plan.customers,
            warmup_customers: plan.warmup(),
        };
        let runs = replicate(&plan, cfg, 1).unwrap();
        let right = ci_check("x", "x", &runs, |r| r.mean_wait_s, 1.0, 0.99);
        let wrong = ci_check("x", "x", &runs, |r| r.mean_wait_s, 1.5, 0.99);
        assert!(right.pass, "{right:?}");
        assert!(!wrong.pass, "{wrong:?}");
    }
}
