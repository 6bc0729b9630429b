//! `capsim run`: one fleet creation on one management cluster, explained.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use models::run::report::RunReport;
use models::run::{RunPlan, run as run_fleet};
use models::scenario::Operation;
use models::scenario::operations::AfterOp;
use models::scenario::operations::FleetSpec;
use models::scenario::presets::{self, Override, Tier};
use models::world::metrics::TimelineRow;
use sim_core::SimDuration;

use crate::Outcome;
use crate::table::{Align, Table};

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
    capsim run --clusters 100 --timeline timeline.csv\n\n\
The management cluster is the guide's tier for the fleet size (small ≤ 20 clusters, \
medium ≤ 100, large ≤ 500, xl ≤ 2000, extreme above), or --tier. Every figure comes from \
simulated requests queueing at simulated resources; latencies with no published source \
(object sizes, reconcile CPU, boot times, Prism Central task slots) are documented \
estimates, see docs/model.md. `--set` takes any knob by its flag name; run with a wrong key \
to see the nearest ones.\n\n\
Exit status: 0 when the run completes (1 instead if --fail-on-checklist is given and an \
item fails), 2 on bad input or a failed run.")]
pub struct Args {
    /// Workload clusters to create at once (1 to 100000); required unless the scenario
    /// has a create operation, which it overrides.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100_000))]
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
    /// A scenario file: the management cluster, its workload (create, then scale,
    /// upgrade, steady, delete) and faults (see docs/scenarios.md; the simplifications of
    /// each operation are listed there and in docs/model.md).
    #[arg(long, value_name = "FILE.yaml")]
    scenario: Option<PathBuf>,
    /// Override a knob: KEY=VALUE, e.g. etcd.quota-backend-bytes=8Gi (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<Override>,
    /// Master seed of the random streams.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Stop after this much simulated time even if the fleet is not ready (e.g. 12h).
    #[arg(long, default_value = "24h", value_parser = crate::cmd::parse_sim_duration)]
    max_time: SimDuration,
    /// After the fleet is ready, keep it running this long (1m to 168h) and report its
    /// idle load: lease renewals, resyncs, periodic requeues (the `steady` operation;
    /// --max-time still bounds the whole run).
    #[arg(long, value_parser = crate::cmd::parse_sim_duration)]
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
            | Operation::Delete(_) => None,
        })
    });
    let mut after = scenario.as_ref().map(|s| s.after_ops()).unwrap_or_default();
    if let Some(d) = args.steady {
        if !(60.0..=168.0 * 3600.0).contains(&d.as_secs_f64()) {
            bail!("--steady {d}: must be from 1m to 168h");
        }
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
    }
    let faults = scenario
        .as_ref()
        .map(|s| s.faults.clone())
        .unwrap_or_default();
    let explicit = args
        .management_clusters
        .or(scenario.as_ref().and_then(|s| s.management_clusters));
    let (config, label) = match scenario {
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
    };
    let management_clusters =
        explicit.unwrap_or_else(|| config.topology.management_clusters_for(clusters));
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
    })
}

/// Runs the fleet creation and prints its report.
pub fn run(args: &Args) -> anyhow::Result<Outcome> {
    let plan = plan(args)?;
    let out = run_fleet(&plan).context("the simulation stopped")?;
    if let Some(path) = &args.timeline {
        write_timeline(path, &out.timeline)?;
    }
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&out.report)?),
        Format::Table => print!("{}", render(&out.report)),
    }
    let passed = out.report.checklist.iter().all(|c| c.pass);
    Ok(if passed || !args.fail_on_checklist {
        Outcome::Success
    } else {
        Outcome::ChecksFailed
    })
}

/// Writes the timeline through a temporary file, so a failure leaves no partial file.
fn write_timeline(path: &Path, rows: &[TimelineRow]) -> anyhow::Result<()> {
    let ctrl_names: Vec<String> = models::kinds::Controller::ALL
        .iter()
        .map(|c| format!("depth_{}", c.name().replace('/', "_")))
        .collect();
    let mut text = String::from("t_s,");
    text.push_str(&ctrl_names.join(","));
    text.push_str(",apf_seats_in_use,apf_queued,etcd_db_bytes,pc_tasks_running,pc_tasks_waiting,pc_tasks_finished,machines_running,clusters_ready\n");
    for r in rows {
        let depths: Vec<String> = r.queue_depth.iter().map(|d| d.to_string()).collect();
        text.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{}\n",
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

fn secs(s: f64) -> String {
    SimDuration::from_secs_f64(s).to_string()
}

fn bytes(b: f64) -> String {
    const GI: f64 = (1u64 << 30) as f64;
    const MI: f64 = (1u64 << 20) as f64;
    if b >= GI {
        format!("{:.2} GiB", b / GI)
    } else {
        format!("{:.0} MiB", b / MI)
    }
}

fn pct(x: f64) -> String {
    format!("{:.0} %", x * 100.0)
}

/// The terminal report.
pub fn render(r: &RunReport) -> String {
    let mut o = String::new();
    let f = &r.fleet;
    o.push_str(&format!(
        "capsim run: {} clusters × {} machines ({} control plane), tier {}, seed {}\n\n",
        f.clusters, f.machines_per_cluster, f.control_plane_replicas, r.tier, r.seed
    ));
    if !r.management_clusters.is_empty() {
        let mut t = Table::new(&[
            ("management cluster", Align::Left),
            ("clusters", Align::Right),
            ("time to ready", Align::Right),
            ("checklist", Align::Left),
            ("bottleneck", Align::Left),
        ]);
        for (i, p) in r.management_clusters.iter().enumerate() {
            let failed = p.checklist.iter().filter(|c| !c.pass).count();
            t.row(vec![
                format!("#{}", i + 1),
                p.fleet.clusters.to_string(),
                p.fleet.time_to_ready_s.map_or("not ready".into(), secs),
                if failed == 0 {
                    "pass".into()
                } else {
                    format!("{failed} FAIL")
                },
                format!(
                    "{}, {} ({})",
                    p.bottleneck.resource,
                    p.bottleneck.at,
                    pct(p.bottleneck.share)
                ),
            ]);
        }
        o.push_str(&format!(
            "The fleet is split among {} independent management clusters; below, fleet-wide \
             times, and for every other figure the worst management cluster's.\n\n",
            r.management_clusters.len()
        ));
        o.push_str(&indent(&t.render()));
        o.push('\n');
    }
    o.push_str("Fleet\n");
    match f.time_to_ready_s {
        Some(t) => o.push_str(&format!("  time to ready          {}\n", secs(t))),
        None => o.push_str(&format!(
            "  time to ready          NOT READY after {} ({} of {} clusters, {} machines running)\n",
            secs(f.simulated_s),
            f.clusters_ready,
            f.clusters,
            f.machines_running
        )),
    }
    o.push_str(&format!(
        "  per cluster            p50 {}  p95 {}\n  per machine            p95 {}\n",
        secs(f.cluster_ready_p50_s),
        secs(f.cluster_ready_p95_s),
        secs(f.machine_ready_p95_s)
    ));
    if f.node_failures > 0 {
        o.push_str(&format!(
            "  node failures          {} workers' nodes went NotReady\n",
            f.node_failures
        ));
    }
    if f.machines_remediated > 0 {
        o.push_str(&format!(
            "  remediated             {} machines (the MachineHealthCheck found no node \
             within its startup timeout, or a node NotReady past its unhealthy timeout: \
             deleted and replaced)\n",
            f.machines_remediated
        ));
    }
    o.push('\n');
    let a = &r.apiserver;
    o.push_str(&format!(
        "API server ({} replicas)\n  mutating p99 {}   read-only p99 {}   429s {}   failed {}   seats peak {:.0} of {} (workload-low, one replica)\n\n",
        a.replicas,
        secs(a.mutating_p99_s),
        secs(a.readonly_p99_s),
        a.requests_429,
        a.requests_failed,
        a.seats_peak,
        a.seats_limit
    ));
    let mut t = Table::new(&[
        ("controller", Align::Left),
        ("workers", Align::Right),
        ("depth max", Align::Right),
        ("queue p99", Align::Right),
        ("reconcile p99", Align::Right),
        ("token wait", Align::Right),
        ("reconciles", Align::Right),
        ("errors", Align::Right),
    ]);
    for c in &r.controllers {
        t.row(vec![
            c.name.clone(),
            c.workers.to_string(),
            format!("{:.0}", c.depth_max),
            secs(c.queue_latency_p99_s),
            secs(c.reconcile_p99_s),
            secs(c.rate_limiter_wait_s),
            c.reconciles.to_string(),
            c.errors.to_string(),
        ]);
    }
    o.push_str("Controllers\n");
    o.push_str(&indent(&t.render()));
    let mut t = Table::new(&[
        ("manager", Align::Left),
        ("CPU peak", Align::Right),
        ("limit", Align::Right),
        ("memory peak", Align::Right),
        ("limit", Align::Right),
        ("OOM", Align::Right),
        ("restarts", Align::Right),
        ("token wait p99", Align::Right),
        ("token wait total", Align::Right),
    ]);
    for m in &r.managers {
        t.row(vec![
            m.name.clone(),
            format!("{:.2}", m.cpu_peak_cores),
            format!("{}", m.cpu_limit_cores),
            bytes(m.memory_peak_bytes),
            bytes(m.memory_limit_bytes),
            m.oom_kills.to_string(),
            m.restarts.to_string(),
            secs(m.rate_limiter_wait_p99_s),
            secs(m.rate_limiter_wait_total_s),
        ]);
    }
    o.push_str("\nManagers (CPU: peak 1-minute average, cores)\n");
    o.push_str(&indent(&t.render()));
    let e = &r.etcd;
    o.push_str(&format!(
        "\netcd\n  database peak {} of {} quota ({})   live {}   fsync p99 {}   commit p99 {}   writes {} ({:.1}/s)   largest batch {}{}\n",
        bytes(e.db_peak_bytes as f64),
        bytes(e.quota_bytes as f64),
        pct(e.db_peak_fraction),
        bytes(e.live_bytes as f64),
        secs(e.fsync_p99_s),
        secs(e.commit_p99_s),
        e.writes,
        e.writes_per_s,
        e.max_batch,
        match e.nospace_at_s {
            Some(t) => format!("\n  NOSPACE alarm at {}: every write refused from then on", secs(t)),
            None => String::new(),
        }
    ));
    let p = &r.prism_central;
    o.push_str(&format!(
        "\nPrism Central{}\n  task queue max {:.0}   tasks running max {:.0} of {}   VM create p95 {}   429s {}   requests {}{}\n",
        if p.instances > 1 {
            format!(" ({} instances: the busiest one's queue and tasks, all requests)", p.instances)
        } else {
            String::new()
        },
        p.queue_depth_max,
        p.tasks_running_max,
        p.task_slots.map_or("unlimited".to_string(), |s| s.to_string()),
        secs(p.vm_create_p95_s),
        p.rate_limited,
        p.requests,
        if p.unavailable > 0 {
            format!("   failed while down {}", p.unavailable)
        } else {
            String::new()
        } + &if p.vm_create_failures > 0 {
            format!("   VM creates failed and retried {}", p.vm_create_failures)
        } else {
            String::new()
        }
    ));
    let mut t = Table::new(&[
        ("node role", Align::Left),
        ("runs", Align::Left),
        ("nodes", Align::Right),
        ("CPU/node", Align::Right),
        ("vCPU", Align::Right),
        ("memory/node", Align::Right),
        ("RAM", Align::Right),
        ("", Align::Left),
    ]);
    for c in &r.capacity {
        t.row(vec![
            c.role.clone(),
            c.runs.clone(),
            c.nodes.to_string(),
            format!("{:.2}", c.cpu_demand_cores),
            format!("{}", c.cpu_capacity_cores),
            bytes(c.memory_demand_bytes),
            bytes(c.memory_capacity_bytes),
            if c.fits { "ok".into() } else { "OOM".into() },
        ]);
    }
    o.push_str("\nManagement cluster demand (peak, per node)\n");
    o.push_str(&indent(&t.render()));
    let mut t = Table::new(&[
        ("check", Align::Left),
        ("value", Align::Right),
        ("threshold", Align::Right),
        ("result", Align::Left),
    ]);
    for c in &r.checklist {
        let show = |v: f64| match c.unit.as_str() {
            "s" => secs(v),
            "fraction" => pct(v),
            _ => format!("{v:.0}"),
        };
        t.row(vec![
            c.name.clone(),
            show(c.value),
            show(c.threshold),
            if c.pass { "pass".into() } else { "FAIL".into() },
        ]);
    }
    o.push_str("\nScale-testing checklist\n");
    o.push_str(&indent(&t.render()));
    o.push_str("\nWaiting on the machines' paths to Running (mean per machine, share)\n");
    let machines = f64::from(f.clusters * f.machines_per_cluster).max(1.0);
    for w in &r.waiting {
        let per = secs(w.seconds / machines);
        o.push_str(&format!(
            "  {:<16} {:>10}  {:>5}\n",
            w.resource,
            per,
            pct(w.share)
        ));
    }
    o.push_str(&format!(
        "\nBottleneck: {}, {} ({} of all waiting)\n",
        r.bottleneck.resource,
        r.bottleneck.at,
        pct(r.bottleneck.share)
    ));
    let relief = models::run::relief::relieve(&r.bottleneck.resource, &r.bottleneck.at);
    if !relief.is_empty() {
        o.push_str(&format!("Relieve with: {relief}.\n"));
    }
    if r.operations.len() > 1 {
        o.push_str("\nOperations (each starts when the previous one has finished)\n");
        let mut t = Table::new(&[
            ("operation", Align::Left),
            ("started", Align::Right),
            ("finished", Align::Right),
            ("took", Align::Right),
        ]);
        for op in &r.operations {
            t.row(vec![
                op.op.clone(),
                secs(op.started_s),
                op.finished_s.map_or("not by the end".into(), secs),
                op.finished_s.map_or("-".into(), |f| secs(f - op.started_s)),
            ]);
        }
        o.push_str(&indent(&t.render()));
    }
    if let Some(st) = &r.steady {
        o.push_str(&steady_section(st));
    }
    o
}

/// The idle load of a steady window.
fn steady_section(st: &models::run::steady::SteadyFigures) -> String {
    let mut o = String::new();
    let cut = if st.duration_s + 15.0 < st.requested_s {
        format!(" (cut short by --max-time; {} asked)", secs(st.requested_s))
    } else {
        String::new()
    };
    o.push_str(&format!(
        "\nSteady state: {} of the ready fleet, nothing changing{cut}\n",
        secs(st.duration_s)
    ));
    o.push_str(&format!(
        "  API requests {:.2}/s ({:.2} read-only, {:.2} mutating)   etcd writes {:.2}/s   Prism Central calls {:.2}/s   etcd growth {}\n",
        st.api_requests_per_s,
        st.api_reads_per_s,
        st.api_writes_per_s,
        st.etcd_writes_per_s,
        st.pc_requests_per_s,
        if st.etcd_growth_bytes >= 0 {
            format!("+{}", bytes(st.etcd_growth_bytes as f64))
        } else {
            format!("-{}", bytes(-st.etcd_growth_bytes as f64))
        }
    ));
    // "name value, name value" with `digits` decimals.
    let listed = |m: &std::collections::BTreeMap<String, f64>, digits: usize| {
        m.iter()
            .map(|(k, v)| format!("{k} {v:.digits$}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    o.push_str(&format!(
        "  writes/s by kind: {}\n",
        listed(&st.etcd_writes_per_s_by_kind, 2)
    ));
    let mut t = Table::new(&[("controller", Align::Left), ("reconciles/s", Align::Right)]);
    for (k, v) in &st.reconciles_per_s {
        t.row(vec![k.clone(), format!("{v:.2}")]);
    }
    o.push_str(&indent(&t.render()));
    o.push_str(&format!(
        "  mean CPU [cores]: {}\n",
        listed(&st.cpu_mean_cores, 3)
    ));
    o
}

fn indent(s: &str) -> String {
    s.lines().map(|l| format!("  {l}\n")).collect()
}
