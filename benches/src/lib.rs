//! Reference workloads for the criterion benchmarks in `benches/`.
//!
//! [`bare_heap_station`] runs the validation station on the simplest event loop there is:
//! a `BinaryHeap` of `(time, seq, event)` and nothing else. The engine benchmark runs the
//! same station on `sim-core`; both draw the same random numbers and give the same result
//! (a test pins this), so the ratio of their times is the engine's overhead.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use sim_core::queueing::station::{
    ServiceTime, Station, StationConfig, StationEvent, StationResult,
};
use sim_core::{RngStreams, SimTime};

/// The benchmark workload: M/M/8 at ρ = 0.9 with `arrivals` customers.
pub fn mmc_workload(arrivals: u64) -> StationConfig {
    StationConfig {
        servers: 8,
        arrival_rate: 7.2,
        service: ServiceTime::Exponential { mean_s: 1.0 },
        customers: arrivals,
        warmup_customers: arrivals / 10,
    }
}

/// Runs `cfg` on a bare binary-heap loop.
pub fn bare_heap_station(cfg: StationConfig, streams: &RngStreams) -> StationResult {
    let mut station = Station::new(cfg, streams);
    let mut heap: BinaryHeap<Reverse<(SimTime, u64, StationEvent)>> = BinaryHeap::new();
    let mut seq = 0u64;
    let mut events = 0u64;
    heap.push(Reverse((
        SimTime::ZERO + station.first_arrival(),
        seq,
        StationEvent::CustomerArrived,
    )));
    while let Some(Reverse((now, _, event))) = heap.pop() {
        events += 1;
        match event {
            StationEvent::CustomerArrived => {
                let reaction = station.on_arrival(now);
                if let Some(d) = reaction.next_arrival {
                    seq += 1;
                    heap.push(Reverse((now + d, seq, StationEvent::CustomerArrived)));
                }
                if let Some(s) = reaction.service {
                    seq += 1;
                    heap.push(Reverse((now + s, seq, StationEvent::ServiceCompleted)));
                }
            }
            StationEvent::ServiceCompleted => {
                if let Some(s) = station.on_departure(now) {
                    seq += 1;
                    heap.push(Reverse((now + s, seq, StationEvent::ServiceCompleted)));
                }
            }
        }
    }
    station.result(events)
}

/// `clusters` clusters of 25 machines and 3 control-plane nodes, all created at once, on
/// one management cluster of the guide's tier for the size, seed 1 (`capsim run
/// --clusters N --management-clusters 1`).
pub fn fleet_plan(clusters: u32) -> models::run::RunPlan {
    let tier = models::scenario::presets::Tier::for_fleet(clusters);
    models::run::RunPlan::new(
        models::scenario::presets::resolve(tier, &[]).expect("built-in preset"),
        tier.name(),
        models::scenario::operations::FleetSpec::all_at_once(clusters, 25, 3),
        1,
    )
}

/// The plan `capsim sweep` makes for one point: [`fleet_plan`], split over management
/// clusters as the tier's `topology.clusters-per-management-cluster` says.
pub fn sweep_plan(clusters: u32) -> models::run::RunPlan {
    let mut plan = fleet_plan(clusters);
    plan.management_clusters = plan.config.topology.management_clusters_for(clusters);
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::queueing::station::simulate;

    #[test]
    fn bare_loop_and_engine_run_the_same_workload() {
        let streams = RngStreams::new(9, 0);
        let cfg = mmc_workload(50_000);
        assert_eq!(bare_heap_station(cfg, &streams), simulate(cfg, &streams));
    }

    #[test]
    fn the_sweep_plan_splits_as_the_tier_says_and_the_fleet_plan_does_not() {
        let split = |c: u32| sweep_plan(c).management_clusters;
        assert_eq!(
            (split(100), split(600), split(601), split(2000)),
            (1, 1, 2, 4)
        );
        assert_eq!(fleet_plan(2000).management_clusters, 1);
    }
}
