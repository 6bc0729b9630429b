//! The management-cluster model end to end (issue 3).

use models::presets::{self, Override, Tier};
use models::run::{RunOutput, RunPlan, run};
use models::world::FleetSpec;
use sim_core::SimDuration;

fn make_plan(tier: Tier, clusters: u32, machines: u32, cp: u32, sets: &[&str]) -> RunPlan {
    let overrides: Vec<Override> = sets.iter().map(|s| s.parse().unwrap()).collect();
    RunPlan {
        config: presets::resolve(tier, &overrides).unwrap(),
        tier: tier.name().into(),
        fleet: FleetSpec {
            clusters,
            machines_per_cluster: machines,
            control_plane_replicas: cp,
        },
        seed: 1,
        replica: 0,
        timeline: false,
        max_simulated: SimDuration::from_hours(24),
    }
}

fn run_plan(plan: &RunPlan) -> RunOutput {
    run(plan).expect("run completes")
}

#[test]
fn one_small_cluster_becomes_ready() {
    let out = run_plan(&make_plan(Tier::Small, 1, 2, 1, &[]));
    let r = &out.report;
    eprintln!("{}", serde_json::to_string_pretty(r).unwrap());
    assert_eq!(r.fleet.clusters_ready, 1);
    assert_eq!(r.fleet.machines_running, 2);
}
