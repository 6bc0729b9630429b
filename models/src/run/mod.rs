//! One fleet creation on one management cluster, from configuration to report.

pub mod batch;
pub mod figures;
pub mod hub;
pub mod memory;
pub mod progress;
pub mod relief;
pub mod report;
pub mod search;
pub mod sensitivity;
pub mod steady;
pub mod sweep;
pub mod topology;

use std::sync::Arc;

use sim_core::cancel::Stop;
use sim_core::{RngStreams, SimDuration, SimError, SimTime, Simulation};

use crate::scenario::config::ModelConfig;
use crate::scenario::faults::Fault;
use crate::scenario::operations::AfterOp;
use crate::scenario::operations::FleetSpec;
use crate::scenario::uncertainty::Uncertainty;
use crate::world::World;
use crate::world::metrics::TimelineRow;
use progress::{PartProgress, RunProgress};
use report::RunReport;

/// The longest simulated time a run may be given (30 days): far beyond a fleet's creation
/// (hours) and a 168-h steady window, and short enough that a slip like `1000000h` does
/// not run for days of wall-clock time.
pub const MAX_SIMULATED: SimDuration = SimDuration::from_hours(30 * 24);

/// What to run.
#[derive(Clone, Debug)]
pub struct RunPlan {
    /// The management cluster.
    pub config: ModelConfig,
    /// The preset it came from, for the report.
    pub tier: String,
    /// The fleet to create.
    pub fleet: FleetSpec,
    /// Master seed.
    pub seed: u64,
    /// Replica index (Monte Carlo).
    pub replica: u64,
    /// Sample gauges for a timeline.
    pub timeline: bool,
    /// Simulated time after which the run stops even if the fleet is not ready.
    pub max_simulated: SimDuration,
    /// Faults injected during the run.
    pub faults: Vec<Fault>,
    /// Independent management clusters the fleet is split among (1: one).
    pub management_clusters: u32,
    /// The operations after the create, in order (`steady`, `scale`).
    pub after: Vec<AfterOp>,
    /// What may stop the run from outside (checked between 60-s steps of simulated
    /// time): by default the process-wide stop request, with no wall-clock deadline.
    pub stop: Stop,
    /// Where the run reports how far it has got, if anyone watches.
    pub progress: Option<Arc<RunProgress>>,
    /// In a sweep with `--uncertainty`: the estimates each replica draws and applies to
    /// `config` (see [`crate::scenario::uncertainty`]).
    pub uncertainty: Option<Arc<Uncertainty>>,
}

impl RunPlan {
    /// The fleet at its largest: the first create's clusters and every later create's.
    pub fn total_clusters(&self) -> u32 {
        self.fleet.clusters
            + self
                .after
                .iter()
                .map(|op| match op {
                    AfterOp::Create { clusters, .. } => *clusters,
                    _ => 0,
                })
                .sum::<u32>()
    }

    /// A plan for `fleet` on `config` (labelled `tier` in the report) under `seed`:
    /// replica 0, no timeline, a 24-hour deadline, no faults, one management cluster,
    /// stopped only by the process-wide stop request, unwatched.
    pub fn new(config: ModelConfig, tier: &str, fleet: FleetSpec, seed: u64) -> Self {
        RunPlan {
            config,
            tier: tier.to_string(),
            fleet,
            seed,
            replica: 0,
            timeline: false,
            max_simulated: SimDuration::from_hours(24),
            faults: Vec::new(),
            management_clusters: 1,
            after: Vec::new(),
            stop: Stop::process(),
            progress: None,
            uncertainty: None,
        }
    }
}

/// A run's report and, if asked for, its timeline.
pub struct RunOutput {
    /// The figures.
    pub report: RunReport,
    /// Gauges over simulated time.
    pub timeline: Vec<TimelineRow>,
}

/// Events one run may handle before it is stopped as a runaway: far above what the
/// largest fleet needs (about 200 per machine).
const STEP_BUDGET: u64 = 2_000_000_000;

/// A finished world, for inspection: the world, the simulated time it ended at, and the
/// events it handled.
pub struct Finished {
    /// The world at the end.
    pub world: World,
    /// When the run ended.
    pub now: SimTime,
    /// Events handled.
    pub steps: u64,
}

/// Runs the plan to the end: every cluster ready, the deadline, or 30 minutes after a
/// NOSPACE alarm. With several management clusters, each runs on its own (in parallel)
/// and the report combines them ([`crate::run::topology`]). A stop requested through
/// `plan.stop` ends it with [`SimError::Stopped`].
pub fn run(plan: &RunPlan) -> Result<RunOutput, SimError> {
    if plan.management_clusters > 1 {
        return crate::run::topology::run_split(plan);
    }
    let finished = simulate(plan)?;
    let cfg = &plan.config;
    let fleet = FleetSpec {
        clusters: plan.total_clusters(),
        ..plan.fleet
    };
    let (now, steps) = (finished.now, finished.steps);
    let mut world = finished.world;
    let mut report = report::build(&world, cfg, &plan.tier, plan.seed, fleet, now, steps);
    hub::attach(plan, &mut report, hub::member_spans(&world))?;
    let timeline = std::mem::take(&mut world.metrics.timeline);
    Ok(RunOutput { report, timeline })
}

/// Runs the plan on one management cluster and returns the world itself.
pub fn simulate(plan: &RunPlan) -> Result<Finished, SimError> {
    simulate_part(plan, RngStreams::new(plan.seed, plan.replica))
}

/// Runs the plan on one management cluster drawing from `streams`.
pub fn simulate_part(plan: &RunPlan, streams: RngStreams) -> Result<Finished, SimError> {
    let mut world = World::new(plan.config.clone(), plan.fleet, &streams, plan.timeline);
    world.deadline = SimTime::ZERO + plan.max_simulated;
    world.set_faults(plan.faults.clone());
    world.set_after(plan.after.clone());
    let mut sim = Simulation::new(world).with_step_budget(STEP_BUDGET);
    {
        let (w, s) = sim.parts_mut();
        w.start(s);
    }
    let step = SimDuration::from_secs(60);
    let mut shown = PartProgress::default();
    while !sim.model().finished {
        if let Some(reason) = plan.stop.check() {
            return Err(SimError::Stopped {
                reason,
                at: sim.now(),
            });
        }
        let until = sim.now() + step;
        sim.run_until(until)?;
        if let Some(p) = &plan.progress {
            p.record(
                &mut shown,
                sim.now(),
                sim.model().clusters_ready,
                sim.steps(),
            );
        }
    }
    let now = sim.now();
    let steps = sim.steps();
    let mut world = sim.into_model();
    world.sync_manager_cpu(now);
    Ok(Finished { world, now, steps })
}
