//! The federation hub of the guide's Extreme tier: a Karmada control plane above the
//! management clusters, simulated request by request like a management cluster.
//!
//! Its parts, each Karmada v1.19's (docs/model.md, "Federation hub", cites the source of
//! each mechanism and default):
//! - **karmada-apiserver** replicas with API Priority and Fairness, and **karmada-etcd**'s
//!   group commit and size: the management cluster's models ([`crate::apiserver`],
//!   [`crate::etcd`]) with the hub's replicas, seats, disk and quota;
//! - **karmada-controller-manager**: one client (`--kube-api-qps/-burst`) shared by its
//!   cluster controller (execution namespace, finalizer, unjoin clean-up), its resource
//!   detector (template → ResourceBinding), binding controller (binding → a Work per
//!   target member), binding-status controller (Work statuses → the binding's), and in
//!   push mode its cluster-status controller, the Lease renewals of every member and the
//!   execution and work-status controllers, with one member client each
//!   (`--cluster-api-qps/-burst`);
//! - **karmada-scheduler**: places each ResourceBinding on its members;
//! - **karmada-agent** (pull mode): one per member, its own client to the hub, renewing
//!   its member's Lease, writing its status, applying the Works of its member's execution
//!   namespace and writing their status back.
//!
//! Members join when their workload cluster becomes ready in any management cluster and
//! leave when its deletion starts; the management clusters' runs give those times
//! ([`HubInput`]). The hub does not act back on the management clusters: Karmada talks
//! to the members' API servers, which capsim does not simulate (their latency is a knob).

mod hub;
mod members;
mod propagation;
pub mod report;
mod requests;

use sim_core::{RngStreams, SimDuration, SimError, SimTime, Simulation};

use crate::scenario::config::ModelConfig;
pub use report::HubReport;

/// A member's time in the fleet, from the management clusters' run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MemberSpan {
    /// When its workload cluster became ready, from the start of the run [s].
    pub ready_s: f64,
    /// When its deletion started, if it did [s].
    pub leave_s: Option<f64>,
}

/// A `propagate` operation: `resources` templates with a PropagationPolicy placing each
/// on `fraction` of the members joined by then.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Propagation {
    /// When the user applies them, from the start of the run [s].
    pub at_s: f64,
    /// Resource templates [count].
    pub resources: u32,
    /// Share of the joined members each is placed on, in (0, 1].
    pub fraction: f64,
}

/// What the hub is fed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HubInput {
    /// Every workload cluster that became ready.
    pub members: Vec<MemberSpan>,
    /// The workload's `propagate` operations.
    pub propagations: Vec<Propagation>,
    /// When the management clusters' run ended [s]: the hub runs as long, and on until
    /// its propagations have reached every target.
    pub until_s: f64,
}

/// Events one hub run may handle before it is stopped as a runaway.
const STEP_BUDGET: u64 = 2_000_000_000;

/// Simulates the hub of `cfg.federation` over `input`, drawing from `streams`.
pub fn simulate(
    cfg: &ModelConfig,
    input: &HubInput,
    streams: &RngStreams,
) -> Result<HubReport, SimError> {
    let world = hub::Hub::new(cfg, input, streams);
    let mut sim = Simulation::new(world)
        .with_step_budget(STEP_BUDGET)
        .with_calendar_slot(SimDuration::from_secs(1));
    {
        let (w, s) = sim.parts_mut();
        w.start(s, input);
    }
    let until = SimTime::ZERO + SimDuration::from_secs_f64(input.until_s.max(0.0));
    sim.run_until(until)?;
    // Propagations still under way run on (heartbeats go on meanwhile), at most a day.
    let limit = until + SimDuration::from_hours(24);
    while !sim.model().propagations_done() && sim.now() < limit {
        let next = sim.now() + SimDuration::from_secs(60);
        sim.run_until(next)?;
    }
    let now = sim.now();
    let steps = sim.steps();
    Ok(sim.into_model().report(now, steps))
}
