//! `capsim recommend` on real fleets (issue 14): the search finds what enumerating a
//! tiny grid finds, and what it recommends passes again on fresh streams.

use models::recommend::fleet::{Fleet, Target, verify};
use models::recommend::search::{self, Move, Settings};
use models::recommend::space;
use models::run::RunPlan;
use models::scenario::operations::FleetSpec;
use models::scenario::presets::{self, Override, Tier};
use sim_core::stats::binomial::PassRule;

/// A tiny grid on the Small tier: Prism Central's size and count, and CAPX's
/// NutanixMachine workers (free). At 20 clusters of 10 machines the fleet time runs from
/// about 27 min (a large Prism Central, 20 workers) to 70 min (5 workers).
const GRID: &str = "\
prism-central.size: {values: [x-small, small, large]}
prism-central.count: {values: [1, 2]}
capx-controller-manager.nutanixmachine-concurrency: {values: [5, 10, 20]}
";

fn make(sets: &[Override], seed: u64) -> Result<RunPlan, String> {
    let config = presets::resolve(Tier::Small, sets).map_err(|e| e.to_string())?;
    Ok(RunPlan::new(
        config,
        "small",
        FleetSpec::all_at_once(20, 10, 3),
        seed,
    ))
}

fn settings(sizes: Vec<usize>) -> Settings {
    Settings {
        sizes,
        replicas: 3,
        pass_rate: 1.0,
        confidence: 0.95,
        budget: 100,
    }
}

#[test]
fn the_search_finds_the_cheapest_passing_configuration_that_enumeration_finds() {
    let base = presets::resolve(Tier::Small, &[]).unwrap();
    let (knobs, left_out) = space::parse(GRID, &base).unwrap();
    assert!(left_out.is_empty());
    let targets: Vec<Target> = vec!["fleet-time=32m".parse().unwrap()];
    let fleet = Fleet {
        make,
        knobs: &knobs,
        targets: &targets,
        seed: 1,
        progress: None,
    };
    let sizes: Vec<usize> = knobs.iter().map(|k| k.settings.len()).collect();
    let settings = settings(sizes.clone());
    // Every point, screened by the search's own rule.
    let mut best: Option<(f64, Vec<usize>)> = None;
    let mut feasible = 0;
    for a in 0..sizes[0] {
        for b in 0..sizes[1] {
            for c in 0..sizes[2] {
                let p = vec![a, b, c];
                let s = search::screen(&fleet, &settings, &p, Move::Start).unwrap();
                if s.feasible {
                    feasible += 1;
                    let cost = s.cost.unwrap();
                    if best.as_ref().is_none_or(|(b, _)| cost < *b) {
                        best = Some((cost, p));
                    }
                }
            }
        }
    }
    let (best_cost, best_point) = best.expect("some configuration passes");
    // The grid is not trivial: some configurations pass and some fail.
    assert!(feasible > 1 && feasible < 18, "{feasible} of 18 pass");
    let start: Vec<usize> = knobs.iter().map(|k| k.start).collect();
    let found = search::search(&fleet, &settings, &start).unwrap();
    let last = &found.trace[*found.chain.last().expect("a passing configuration")];
    assert_eq!(last.point, best_point);
    assert!((last.cost.clone().unwrap() - best_cost).abs() < 1e-9);
    assert!(
        found.trace.len() < 18,
        "searched {} of 18",
        found.trace.len()
    );

    // What it recommends passes again on fresh streams.
    let rule = PassRule {
        pass_rate: 0.8,
        confidence: 0.9,
        looks: 1,
    };
    let v = verify(&fleet, &last.point, 2, &rule, 4).unwrap();
    assert_eq!(v.replicas_to_show, 11);
    assert!(v.shown, "{} of {} passed", v.passes, v.replicas);
}
