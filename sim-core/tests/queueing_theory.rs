//! The engine against queueing theory (issue 2): each test runs Monte Carlo replicas of a
//! station and asserts the closed form lies in the replicas' 99 % confidence interval.

use sim_core::MonteCarlo;
use sim_core::queueing::analytic::{erlang_c, mg1_mean_wait, mmc_mean_wait};
use sim_core::queueing::station::{ServiceTime, StationConfig, StationResult, simulate};
use sim_core::stats::Summary;
use sim_core::validation::{self, ValidationPlan};

const SEED: u64 = 20_261_128;
const REPLICAS: u64 = 20;
const CUSTOMERS: u64 = 100_000;

fn make_station(servers: u32, arrival_rate: f64, service: ServiceTime) -> StationConfig {
    StationConfig {
        servers,
        arrival_rate,
        service,
        customers: CUSTOMERS,
        warmup_customers: CUSTOMERS / 10,
    }
}

fn replicas(cfg: StationConfig, seed: u64, threads: usize) -> Vec<StationResult> {
    MonteCarlo::new(seed, REPLICAS)
        .threads(threads)
        .run(|r| simulate(cfg, &r.streams))
        .unwrap()
}

fn summary(runs: &[StationResult], figure: impl Fn(&StationResult) -> f64) -> Summary {
    let values: Vec<f64> = runs.iter().map(figure).collect();
    Summary::of(&values, 0.99).unwrap()
}

#[test]
fn mm1_mean_wait_matches_theory() {
    let runs = replicas(
        make_station(1, 0.8, ServiceTime::Exponential { mean_s: 1.0 }),
        SEED,
        2,
    );
    let want = mmc_mean_wait(1, 0.8, 1.0); // 4 s
    let got = summary(&runs, |r| r.mean_wait_s);
    assert!(
        got.ci_contains(want),
        "M/M/1 Wq: theory {want}, simulated {got:?}"
    );
}

#[test]
fn mmc_mean_wait_matches_erlang_c() {
    let runs = replicas(
        make_station(8, 7.2, ServiceTime::Exponential { mean_s: 1.0 }),
        SEED,
        2,
    );
    let want = mmc_mean_wait(8, 7.2, 1.0);
    let got = summary(&runs, |r| r.mean_wait_s);
    assert!(
        got.ci_contains(want),
        "M/M/8 ρ=0.9 Wq: Erlang C {want}, simulated {got:?}"
    );
    let p_wait = summary(&runs, |r| r.p_wait);
    assert!(p_wait.ci_contains(erlang_c(8, 7.2)), "P(wait): {p_wait:?}");
}

#[test]
fn littles_law_holds_on_the_same_run() {
    let runs = replicas(
        make_station(8, 7.2, ServiceTime::Exponential { mean_s: 1.0 }),
        SEED,
        2,
    );
    for (i, r) in runs.iter().enumerate() {
        let lambda_w = r.window_arrival_rate * r.mean_wait_s;
        let gap = (r.mean_queue_len - lambda_w).abs() / lambda_w;
        assert!(
            gap < 0.01,
            "replica {i}: L = {} but λW = {lambda_w}",
            r.mean_queue_len
        );
    }
    // And L itself matches theory: Lq = λ·Wq(Erlang C).
    let l = summary(&runs, |r| r.mean_queue_len);
    assert!(l.ci_contains(7.2 * mmc_mean_wait(8, 7.2, 1.0)), "{l:?}");
}

#[test]
fn md1_mean_wait_matches_pollaczek_khinchine() {
    let runs = replicas(
        make_station(1, 0.8, ServiceTime::Deterministic { mean_s: 1.0 }),
        SEED,
        2,
    );
    let want = mg1_mean_wait(0.8, 1.0, 0.0); // 2 s
    let got = summary(&runs, |r| r.mean_wait_s);
    assert!(
        got.ci_contains(want),
        "M/D/1 Wq: P-K {want}, simulated {got:?}"
    );
    // Deterministic service halves the M/M/1 wait: the simulation must see the difference.
    assert!(!got.ci_contains(mmc_mean_wait(1, 0.8, 1.0)));
}

#[test]
fn same_seed_is_identical_on_one_and_two_threads() {
    let cfg = make_station(8, 7.2, ServiceTime::Exponential { mean_s: 1.0 });
    let one = replicas(cfg, SEED, 1);
    let two = replicas(cfg, SEED, 2);
    assert_eq!(one, two);
    let other = replicas(cfg, SEED + 1, 2);
    assert!(
        one.iter().zip(&other).all(|(a, b)| a != b),
        "another seed must change every replica"
    );
}

#[test]
fn validation_plan_passes_every_check_at_test_size() {
    let plan = ValidationPlan {
        replicas: 12,
        customers: 60_000,
        ..ValidationPlan::full(SEED)
    };
    let checks = validation::run(&plan).unwrap();
    assert_eq!(checks.len(), 10);
    for check in &checks {
        assert!(check.pass, "{check:#?}");
    }
}
