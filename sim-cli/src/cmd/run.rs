//! `capsim run`: one fleet creation on one management cluster, explained.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use models::run::progress::RunProgress;
use models::run::{RunPlan, run as run_fleet};
use models::scenario::Scenario;
use models::scenario::config::ModelConfig;
use models::scenario::operations::AfterOp;
use models::scenario::operations::FleetSpec;
use models::scenario::presets::{self, Override, Tier};
use models::scenario::workload::Operation;
use models::world::metrics::TimelineRow;
use sim_core::cancel::{Stop, StopReason};
use sim_core::{SimDuration, SimError, SimTime};

use crate::Outcome;
use crate::render::run_report;

/// Output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A readable terminal report.
    Table,
    /// One JSON document (schema_version 1, documented in docs/outputs.md).
    Json,
}

/// Arguments of `capsim run`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    capsim run --clusters 200 --machines-per-cluster 25 --seed 1\n  \
    capsim run --clusters 50 --tier medium --set capx-controller-manager.nutanixmachine-concurrency=50\n  \
    capsim run --clusters 300 --set etcd.quota-backend-bytes=8Gi --set prism-central.max-concurrent-tasks=20\n  \
    capsim run --clusters 100 --format json | jq .bottleneck\n  \
    capsim run --clusters 100 --timeline timeline.csv\n  \
    capsim run --clusters 2000 --max-time 12h --timeout 10m\n  \
    capsim run --clusters 20000 --machines-per-cluster 100 --memory-limit 64Gi\n\n\
The management cluster is the guide's tier for the fleet size (small ≤ 20 clusters, \
medium ≤ 100, large ≤ 500, xl ≤ 2000, extreme above), or --tier. Extreme adds a \
federation hub (Karmada) that every ready workload cluster joins: its section and two \
checklist items (heartbeat, distribution) join the report (docs/model.md, \"Federation \
hub\"). Every figure comes from \
simulated requests queueing at simulated resources; latencies with no published source \
(object sizes, boot times, Prism Central task slots) are documented estimates, and each \
reconcile's CPU is summed from its operations (cache reads, writes, SSA checks, RSA keys) \
with Go costs scaled from benches/costs.rs, see docs/model.md (costs.cpu-model=flat keeps \
one estimate per reconcile). `--set` takes any knob by its flag name; run with a wrong key \
to see the nearest ones.\n\n\
Before the run, its memory is estimated from the fleet (about 1 KiB per machine, more \
with sharded managers) and a run that would not fit in the machine's available memory is \
refused; --memory-limit overrides the check. On a terminal, a line on stderr shows the \
simulated time reached, the clusters ready and the events per second.\n\n\
Exit status: 0 when the run completes (1 instead if --fail-on-checklist is given and an \
item fails), 2 on bad input, a failed run, a run stopped by --timeout (nothing is written) \
or a fleet too large for the memory.")]
pub struct Args {
    /// Workload clusters to create at once (1 to 100000); required unless the scenario
    /// has a create operation, which it overrides.
    #[arg(long, allow_negative_numbers = true, value_parser = crate::cmd::parse_clusters)]
    clusters: Option<u32>,
    /// Machines per cluster, control plane included (1 to 1000) [default: 25].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1000))]
    machines_per_cluster: Option<u32>,
    /// Control-plane machines per cluster (1, 3 or 5), counted in --machines-per-cluster
    /// [default: 3].
    #[arg(long, value_parser = crate::cmd::parse_cp_replicas)]
    control_plane_replicas: Option<u32>,
    /// Management-cluster preset; default: the guide's tier for the fleet size.
    #[arg(long, value_enum, conflicts_with = "scenario")]
    tier: Option<TierArg>,
    /// Split the fleet among this many identical, independent management clusters
    /// (1 to 100), each simulated on its own [default: the scenario's topology, else
    /// ⌈clusters / topology.clusters-per-management-cluster⌉: the XL tier holds ≤ 600 per
    /// management cluster, Extreme ≤ 500, the other tiers the whole fleet].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100))]
    management_clusters: Option<u32>,
    /// A scenario file: the management cluster, its workload (create, then more creates,
    /// scale, upgrade, steady, delete) and faults (see docs/scenarios.md; the simplifications of
    /// each operation are listed there and in docs/model.md).
    #[arg(long, value_name = "FILE.yaml")]
    scenario: Option<PathBuf>,
    /// Override a knob: KEY=VALUE, e.g. etcd.quota-backend-bytes=8Gi (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<Override>,
    /// Master seed of the random streams.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Stop after this much simulated time even if the fleet is not ready (1m to 720h,
    /// 30 days; e.g. 12h).
    #[arg(long, default_value = "24h", value_parser = crate::cmd::parse_sim_duration)]
    max_time: SimDuration,
    /// After the fleet is ready, keep it running this long (1m to 168h) and report its
    /// idle load: lease renewals, resyncs, periodic requeues, and the background
    /// mechanisms per second (ClusterCache probes, remote Node updates, KCP's reads, the
    /// topology controller's dry-runs, uncached Secret reads, bootstrap tokens;
    /// docs/model.md), each manager's CPU and memory, the busiest API server's CPU and
    /// memory and etcd's memory (the `steady` operation; --max-time still bounds the
    /// whole run).
    #[arg(long, value_parser = parse_steady)]
    steady: Option<SimDuration>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Exit with status 1 when a checklist item fails (for CI gates).
    #[arg(long)]
    fail_on_checklist: bool,
    /// Write gauges sampled every 15 s of simulated time to this CSV file.
    #[arg(long, value_name = "FILE.csv")]
    timeline: Option<PathBuf>,
    /// Write the run's charts into this folder (created if missing): alerts-timeline.png
    /// and .svg, the spans each of the guide's alerts fired, by severity.
    #[arg(long, value_name = "DIR")]
    charts: Option<PathBuf>,
    /// Stop the run after this much wall-clock time (e.g. 10m, 1h30m): capsim then exits
    /// with status 2 and writes no report and no timeline [default: no limit].
    #[arg(long, value_name = "DURATION", value_parser = parse_timeout)]
    timeout: Option<Duration>,
    /// The memory the run may use instead of the machine's available memory (e.g. 64Gi,
    /// or unlimited): a run estimated to need more is refused before it starts.
    #[arg(long, value_name = "SIZE", value_parser = crate::memory::parse_memory_limit)]
    memory_limit: Option<crate::memory::MemoryLimit>,
}

/// The guide's tiers, as the CLI spells them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum TierArg {
    /// 1–20 clusters.
    Small,
    /// 21–100 clusters.
    Medium,
    /// 101–500 clusters.
    Large,
    /// 501–2,000 clusters.
    Xl,
    /// More than 2,000 clusters.
    Extreme,
}

impl From<TierArg> for Tier {
    fn from(t: TierArg) -> Tier {
        match t {
            TierArg::Small => Tier::Small,
            TierArg::Medium => Tier::Medium,
            TierArg::Large => Tier::Large,
            TierArg::Xl => Tier::Xl,
            TierArg::Extreme => Tier::Extreme,
        }
    }
}

/// What another command that runs one fleet (`capsim compare`) asks of a run.
pub struct Fleet {
    /// Workload clusters.
    pub clusters: u32,
    /// Machines per cluster (the scenario's, else 25).
    pub machines_per_cluster: Option<u32>,
    /// Control-plane machines per cluster (the scenario's, else 3).
    pub control_plane_replicas: Option<u32>,
    /// The tier, if not the guide's for the size (not with a scenario).
    pub tier: Option<TierArg>,
    /// A scenario file.
    pub scenario: Option<PathBuf>,
    /// `--set` overrides.
    pub sets: Vec<Override>,
    /// Master seed.
    pub seed: u64,
    /// Simulated-time limit.
    pub max_time: SimDuration,
}

impl Args {
    /// The arguments of a plain run of `scenario`'s own workload (its create's fleet).
    pub fn of_scenario(scenario: PathBuf, sets: Vec<Override>, seed: u64) -> Args {
        let mut a = Args::of_fleet(Fleet {
            clusters: 0,
            machines_per_cluster: None,
            control_plane_replicas: None,
            tier: None,
            scenario: Some(scenario),
            sets,
            seed,
            max_time: SimDuration::from_secs(24 * 3600),
        });
        a.clusters = None;
        a
    }

    /// The arguments of a plain run of `fleet`: table output, no timeline, no limits.
    pub fn of_fleet(fleet: Fleet) -> Args {
        Args {
            clusters: Some(fleet.clusters),
            machines_per_cluster: fleet.machines_per_cluster,
            control_plane_replicas: fleet.control_plane_replicas,
            tier: fleet.tier,
            management_clusters: None,
            scenario: fleet.scenario,
            sets: fleet.sets,
            seed: fleet.seed,
            max_time: fleet.max_time,
            steady: None,
            format: Format::Table,
            fail_on_checklist: false,
            timeline: None,
            charts: None,
            timeout: None,
            memory_limit: None,
        }
    }
}

/// Validates the arguments into a plan.
pub fn plan(args: &Args) -> anyhow::Result<RunPlan> {
    if let Some(o) = args.sets.iter().find(|o| o.values().len() > 1) {
        bail!(
            "--set {}={}: a list of values sweeps a knob; capsim run takes one value \
             (capsim sweep --clusters N --set {}={} runs each)",
            o.key,
            o.value,
            o.key,
            o.value
        );
    }
    let scenario = match &args.scenario {
        Some(path) => Some(crate::cmd::scenario::load_file(path, &args.sets)?),
        None => None,
    };
    let create = scenario.as_ref().and_then(|s| {
        s.workload.iter().find_map(|op| match op {
            Operation::Create(c) => Some(c.clone()),
            Operation::Steady(_)
            | Operation::Scale(_)
            | Operation::Upgrade(_)
            | Operation::Delete(_)
            | Operation::Propagate(_) => None,
        })
    });
    let after = after_ops(scenario.as_ref(), args.steady)?;
    let clusters = match (args.clusters, &create) {
        (Some(n), _) => n,
        (None, Some(c)) => c.clusters,
        (None, None) => bail!(
            "--clusters is required (or a --scenario whose workload has a create operation), \
             e.g. capsim run --clusters 200"
        ),
    };
    let machines = args
        .machines_per_cluster
        .or(create.as_ref().map(|c| c.machines_per_cluster))
        .unwrap_or(25);
    let cp = args
        .control_plane_replicas
        .or(create.as_ref().map(|c| c.control_plane_replicas))
        .unwrap_or(3);
    if cp > machines {
        bail!(
            "--machines-per-cluster {machines} is below --control-plane-replicas {cp}: the count \
             includes the control plane (e.g. 25 = 3 control plane + 22 workers)"
        );
    }
    let mut fleet = FleetSpec::all_at_once(clusters, machines, cp);
    if let Some(c) = &create {
        fleet.batch = c.batch;
        fleet.batch_interval_s = c.every.map_or(0.0, |e| e.0);
        fleet.wait = c.wait;
        fleet.classic = !c.topology;
    }
    let faults = scenario
        .as_ref()
        .map(|s| s.faults.clone())
        .unwrap_or_default();
    let explicit = args
        .management_clusters
        .or(scenario.as_ref().and_then(|s| s.management_clusters));
    let (config, label) = config_and_label(args, scenario, clusters, explicit)?;
    // Later creates add to the fleet that the management clusters hold.
    let total = clusters
        + after
            .iter()
            .map(|op| match op {
                AfterOp::Create { clusters, .. } => *clusters,
                _ => 0,
            })
            .sum::<u32>();
    let management_clusters =
        explicit.unwrap_or_else(|| config.topology.management_clusters_for(total));
    Ok(RunPlan {
        config,
        tier: label,
        fleet,
        seed: args.seed,
        replica: 0,
        timeline: args.timeline.is_some(),
        max_simulated: args.max_time,
        faults,
        management_clusters,
        after,
        stop: Stop::process(),
        progress: None,
        uncertainty: None,
    })
}

/// Parses `--timeout`: a Go-style duration of wall-clock time, more than zero.
pub fn parse_timeout(s: &str) -> Result<Duration, String> {
    let secs = models::units::parse_secs(s)?;
    match Duration::try_from_secs_f64(secs) {
        Ok(d) if !d.is_zero() => Ok(d),
        _ => Err(format!(
            "'{s}' is not a wall-clock limit: give a positive duration, e.g. 10m or 1h30m"
        )),
    }
}

/// Parses `--steady`: a Go-style duration of simulated time from 1m to 168h.
fn parse_steady(s: &str) -> Result<SimDuration, String> {
    let secs = models::units::parse_secs(s)?;
    if !(60.0..=168.0 * 3600.0).contains(&secs) {
        return Err(format!(
            "'{s}' is out of range: give from 1m to 168h of steady state"
        ));
    }
    Ok(SimDuration::from_secs_f64(secs))
}

/// The operations after the fleet is ready: the scenario's, with `--steady` replacing its
/// steady window or adding one.
fn after_ops(
    scenario: Option<&Scenario>,
    steady: Option<SimDuration>,
) -> anyhow::Result<Vec<AfterOp>> {
    let mut after = scenario.map(|s| s.after_ops()).unwrap_or_default();
    if let Some(d) = steady {
        // --steady replaces the scenario's steady window, or adds one at the end (before
        // a delete, while there is a fleet).
        match after.iter_mut().find(|op| matches!(op, AfterOp::Steady(_))) {
            Some(op) => *op = AfterOp::Steady(d),
            None => {
                let at = after
                    .iter()
                    .position(|op| matches!(op, AfterOp::Delete))
                    .unwrap_or(after.len());
                after.insert(at, AfterOp::Steady(d));
            }
        }
    }
    Ok(after)
}

/// The management cluster's configuration and the tier label of the report: the
/// scenario's, else `--tier` or the guide's tier for what each management cluster holds.
fn config_and_label(
    args: &Args,
    scenario: Option<Scenario>,
    clusters: u32,
    explicit: Option<u32>,
) -> anyhow::Result<(ModelConfig, String)> {
    Ok(match scenario {
        Some(s) => {
            let label = match s.tier {
                Some(t) => t.name().to_string(),
                None => s.defaults.name().to_string(),
            };
            (s.config, label)
        }
        None => {
            // The guide's tier for the fleet, or with an explicit split, for what each
            // management cluster holds.
            let per_cluster = clusters.div_ceil(explicit.unwrap_or(1));
            let tier = args
                .tier
                .map(Tier::from)
                .unwrap_or_else(|| Tier::for_fleet(per_cluster));
            (presets::resolve(tier, &args.sets)?, tier.name().to_string())
        }
    })
}

/// Runs the fleet creation and prints its report.
pub fn run(args: &Args) -> anyhow::Result<Outcome> {
    let mut plan = plan(args)?;
    if let Some(path) = &args.timeline {
        check_timeline_path(path)?;
    }
    crate::memory::check_run(&plan, args.memory_limit, crate::memory::available_bytes())?;
    let progress = crate::progress::shown().then(|| Arc::new(RunProgress::new()));
    plan.progress = progress.clone();
    if let Some(limit) = args.timeout {
        plan.stop = Stop::process().with_timeout(limit);
    }
    let (max, clusters) = (plan.max_simulated, plan.total_clusters());
    let result =
        crate::progress::watch_run(progress.as_deref(), max, clusters, || run_fleet(&plan));
    let out = match result {
        Ok(out) => out,
        Err(SimError::Stopped {
            reason: reason @ StopReason::WallClockLimit(_),
            at,
        }) => {
            // SimTime writes the start as `0ns`; a person writes `0s`.
            let at = if at == SimTime::ZERO {
                "0s".to_string()
            } else {
                at.to_string()
            };
            bail!(
                "the run stopped {reason} at simulated time {at} of {max}; raise --timeout or \
                 lower --max-time (no report or timeline was written)"
            )
        }
        Err(e) => return Err(anyhow::Error::new(e).context("the simulation stopped")),
    };
    if let Some(path) = &args.timeline {
        write_timeline(path, &out.timeline, out.report.infrastructure_provider)?;
    }
    if let Some(dir) = &args.charts {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("--charts {}: cannot create the folder", dir.display()))?;
        let r = &out.report;
        let title = format!(
            "The guide's alerts over the run: {} clusters, tier {}, seed {}",
            r.fleet.clusters, r.tier, r.seed
        );
        crate::render::alert_timeline::write(dir, &r.alerts, r.fleet.simulated_s, &title)?;
    }
    match args.format {
        Format::Json => {
            let doc = crate::provenance::stamp(serde_json::to_value(&out.report)?, out.report.seed);
            println!("{}", serde_json::to_string_pretty(&doc)?)
        }
        Format::Table => print!("{}", run_report::render(&out.report)),
    }
    let passed = out.report.checklist.iter().all(|c| c.pass);
    Ok(if passed || !args.fail_on_checklist {
        Outcome::Success
    } else {
        Outcome::ChecksFailed
    })
}

/// Refuses, before the run, a timeline path that cannot take the file: `-` (standard
/// output carries the report), a directory, or a file in a folder that does not exist.
fn check_timeline_path(path: &Path) -> anyhow::Result<()> {
    let shown = path.display();
    if path.as_os_str() == "-" {
        anyhow::bail!(
            "--timeline -: standard output carries the report; give a file name, e.g. timeline.csv"
        );
    }
    if path.is_dir() {
        anyhow::bail!("--timeline {shown}: is a directory; give a file name, e.g. timeline.csv");
    }
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
    if let Some(dir) = parent
        && !dir.is_dir()
    {
        anyhow::bail!(
            "--timeline {shown}: the folder {} does not exist",
            dir.display()
        );
    }
    Ok(())
}

/// Writes the timeline through a temporary file, so a failure leaves no partial file.
fn write_timeline(
    path: &Path,
    rows: &[TimelineRow],
    provider: models::kinds::Provider,
) -> anyhow::Result<()> {
    let ctrl_names: Vec<String> = models::kinds::Controller::ALL
        .iter()
        .map(|c| format!("depth_{}", c.name_in(provider).replace('/', "_")))
        .collect();
    let mut text = String::from("t_s,");
    text.push_str(&ctrl_names.join(","));
    text.push_str(",apf_seats_in_use,apf_queued,etcd_db_bytes,pc_tasks_running,pc_tasks_waiting,pc_tasks_finished,machines_running,clusters_ready");
    // Where the nodes share their CPU: the busiest node of each role, busy fraction.
    let shared = rows.first().is_some_and(|r| !r.node_utilisation.is_empty());
    if shared {
        for role in models::world::NodeRole::ALL {
            text.push_str(&format!(",cpu_busiest_{}", role.name().replace('-', "_")));
        }
    }
    // Each of the guide's alerts: 1 while it fires (as of the last rule evaluation).
    for rule in models::scenario::alerts::guide_rules() {
        text.push_str(&format!(",alert_{}", rule.name));
    }
    text.push('\n');
    for r in rows {
        let depths: Vec<String> = r.queue_depth.iter().map(|d| d.to_string()).collect();
        text.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{}",
            r.t_s,
            depths.join(","),
            r.seats_in_use,
            r.apf_queued,
            r.etcd_db_bytes,
            r.pc_tasks_running,
            r.pc_tasks_waiting,
            r.pc_tasks_finished,
            r.machines_running,
            r.clusters_ready
        ));
        if shared {
            for u in &r.node_utilisation {
                text.push_str(&format!(",{u:.4}"));
            }
        }
        for &f in &r.alerts_firing {
            text.push_str(if f { ",1" } else { ",0" });
        }
        text.push('\n');
    }
    let tmp = path.with_extension("csv.partial");
    let mut f = std::fs::File::create(&tmp)
        .with_context(|| format!("{}: cannot create the timeline file", tmp.display()))?;
    f.write_all(text.as_bytes())
        .with_context(|| format!("{}: cannot write", tmp.display()))?;
    drop(f);
    std::fs::rename(&tmp, path)
        .with_context(|| format!("{}: cannot write the timeline", path.display()))?;
    Ok(())
}
