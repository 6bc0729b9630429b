//! One run's results: every figure `capsim run` prints, as a serde document.
//!
//! Every number here is read off the simulation (histograms, gauges, counters of the
//! world); the checklist compares them with the thresholds of the configuration; the
//! bottleneck is the resource with the largest share of the waiting time on the machines'
//! paths to Running.

use std::collections::BTreeMap;

mod alerts;
pub mod bom;
mod bottleneck;
mod capacity;
mod checklist;
pub use checklist::ORDER as CHECKLIST_ORDER;
pub use checklist::federation as federation_checklist;
mod sections;

use serde::Serialize;
use sim_core::SimTime;
use sim_core::stats::quantile_sorted;

use crate::run::steady::SteadyFigures;
use crate::scenario::config::ModelConfig;
use crate::scenario::operations::FleetSpec;
use crate::scenario::operations::OpTiming;
use crate::world::World;

/// Version of the JSON document; bumped when a field changes meaning.
pub const SCHEMA_VERSION: u32 = 1;

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// The whole result of one run.
#[derive(Clone, Debug, Serialize)]
pub struct RunReport {
    /// Version of this document's layout.
    pub schema_version: u32,
    /// The preset the configuration started from.
    pub tier: String,
    /// Master seed.
    pub seed: u64,
    /// The infrastructure provider; absent for CAPX.
    #[serde(skip_serializing_if = "is_capx")]
    pub infrastructure_provider: crate::kinds::Provider,
    /// Fleet creation figures.
    pub fleet: FleetFigures,
    /// API server figures.
    pub apiserver: ApiServerFigures,
    /// One entry per controller.
    pub controllers: Vec<ControllerFigures>,
    /// One entry per manager process.
    pub managers: Vec<ManagerReport>,
    /// etcd figures.
    pub etcd: EtcdFigures,
    /// Prism Central figures.
    pub prism_central: PrismCentralFigures,
    /// The management cluster's own demand against its nodes.
    pub capacity: Vec<NodeRoleDemand>,
    /// The guide's scale-testing checklist.
    pub checklist: Vec<ChecklistItem>,
    /// The bill of materials: provisioned, and needed at peak with the headroom.
    pub bom: bom::Bom,
    /// The resource with the largest share of waiting.
    pub bottleneck: Bottleneck,
    /// The guide's alerts (PrometheusRule `capi-scale-alerts`), each rule in its order:
    /// whether, when and for how long it fired.
    pub alerts: Vec<AlertReport>,
    /// Waiting time by resource on the machines' paths to Running.
    pub waiting: Vec<WaitShare>,
    /// Writes that reached etcd, by kind [count].
    pub writes_by_kind: BTreeMap<String, u64>,
    /// Writes that reached etcd by kind and verb (`Machine/create`, `Machine/patch`,
    /// `Machine/status`, `Machine/delete`) [count].
    pub writes_by_verb: BTreeMap<String, u64>,
    /// Requests of the mechanisms beyond a reconcile's writes, over the whole run, by
    /// mechanism: `uncached-gets`, `kcp-uncached-lists`, `kcp-workload-calls`,
    /// `cabpk-token-calls`, `topology-dry-runs`, `cluster-cache-health-probes` [count].
    /// Absent when none ran.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub requests_by_mechanism: BTreeMap<String, u64>,
    /// Where the time to ready goes, phase by phase.
    pub phases: PhaseFigures,
    /// Simulation events handled [count].
    pub sim_events: u64,
    /// When each operation of the workload ran: the create, then those after it.
    pub operations: Vec<OpTiming>,
    /// The idle load of a `steady` operation, if the workload has one and the fleet got
    /// ready in time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub steady: Option<SteadyFigures>,
    /// With several management clusters: each one's own report. The figures above are
    /// then fleet-wide: times over all clusters, and for every other figure the worst
    /// management cluster's (counts summed).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub management_clusters: Vec<RunReport>,
    /// The federation hub above the management clusters, when the configuration has
    /// one (`federation.enabled`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub federation: Option<crate::federation::HubReport>,
}

/// Builds the report of a finished world: each section read off the world, then the
/// checklist and the bottleneck from the sections.
pub fn build(
    world: &World,
    cfg: &ModelConfig,
    tier: &str,
    seed: u64,
    fleet: FleetSpec,
    now: SimTime,
    steps: u64,
) -> RunReport {
    let m = &world.metrics;
    let mf = world.manager_figures();
    let etcd = sections::etcd(world, now);
    let waiting = bottleneck::waiting(world);
    let capacity = capacity::demand(world, cfg, etcd.db_peak_bytes);
    let mut report = RunReport {
        schema_version: SCHEMA_VERSION,
        tier: tier.to_string(),
        seed,
        infrastructure_provider: cfg.infrastructure_provider,
        fleet: sections::fleet(world, fleet, now),
        apiserver: sections::apiserver(world, cfg),
        controllers: sections::controllers(world, cfg, now),
        managers: sections::managers(&mf),
        bom: bom::build(cfg, tier, &[&capacity]),
        capacity,
        etcd,
        prism_central: sections::prism_central(world),
        checklist: Vec::new(),
        bottleneck: bottleneck::bottleneck(world, &waiting, &mf),
        alerts: alerts::alerts(world, now.as_secs_f64()),
        waiting,
        writes_by_kind: sections::by_kind(&m.writes_by_kind, cfg.infrastructure_provider),
        writes_by_verb: sections::writes_by_verb(m, cfg.infrastructure_provider),
        requests_by_mechanism: sections::requests_by_mechanism(m),
        phases: sections::phases(world),
        sim_events: steps,
        operations: sections::operations(world),
        steady: sections::steady(world),
        management_clusters: Vec::new(),
        federation: None,
    };
    report.checklist = checklist::evaluate(&report, &cfg.thresholds);
    report
}

/// Times to ready of the world's clusters and machines [s], for fleet-wide quantiles.
pub fn fleet_times(world: &World) -> (Vec<f64>, Vec<f64>) {
    let clusters = world
        .clusters
        .iter()
        .filter_map(|c| Some((c.ready_at? - c.created_at?).as_secs_f64()))
        .collect();
    let machines = world
        .machines
        .iter()
        .filter_map(|x| Some((x.running_at? - x.created_at?).as_secs_f64()))
        .collect();
    (clusters, machines)
}

/// The `q`-quantile of `v`, NaN when empty.
pub fn quantile_of(v: Vec<f64>, q: f64) -> f64 {
    quantile(v, q)
}

/// The alerts of several management clusters' reports, as one: an alert fired when it
/// fired in any of them.
pub fn combine_alerts(parts: &[RunReport], end_s: f64) -> Vec<AlertReport> {
    let Some(first) = parts.first() else {
        return Vec::new();
    };
    first
        .alerts
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let spans = parts
                .iter()
                .flat_map(|p| p.alerts[i].fired.clone())
                .collect();
            alerts::summarise(
                a.name.clone(),
                a.severity.clone(),
                a.cannot_fire.clone(),
                alerts::union(spans),
                end_s,
            )
        })
        .collect()
}

/// Fleet creation.
#[derive(Clone, Debug, Serialize)]
pub struct FleetFigures {
    /// Workload clusters [count].
    pub clusters: u32,
    /// Machines per cluster, control plane included [count].
    pub machines_per_cluster: u32,
    /// Control-plane machines per cluster [count].
    pub control_plane_replicas: u32,
    /// From the first apply to the last Cluster reporting ready [s]; absent if the fleet
    /// did not become ready within the simulated time.
    pub time_to_ready_s: Option<f64>,
    /// Clusters that became ready [count].
    pub clusters_ready: u32,
    /// Machines whose status reached Running [count].
    pub machines_running: u32,
    /// Machines the MachineHealthCheck marked unhealthy, then deleted and replaced by
    /// their MachineSet (`machine-health-check`) [count].
    pub machines_remediated: u64,
    /// Workers whose node went NotReady (`node-failures`) [count].
    pub node_failures: u64,
    /// Per-cluster time to ready, median [s] (ready clusters only).
    pub cluster_ready_p50_s: f64,
    /// Per-cluster time to ready, 95th percentile [s].
    pub cluster_ready_p95_s: f64,
    /// Per-machine time from Machine create to Running, 95th percentile [s].
    pub machine_ready_p95_s: f64,
    /// Simulated time covered [s].
    pub simulated_s: f64,
}

/// Where the time to ready goes: each phase's median and 95th percentile over the
/// clusters or machines that finished it [s].
#[derive(Clone, Debug, Default, Serialize)]
pub struct PhaseFigures {
    /// Cluster created to its status reporting the control plane initialized.
    pub control_plane_initialized_p50_s: f64,
    /// Its 95th percentile.
    pub control_plane_initialized_p95_s: f64,
    /// Cluster created to every control-plane Machine running (what the CAPI scale
    /// test's `WaitForControlPlaneAndMachinesReady` waits for).
    pub control_plane_ready_p50_s: f64,
    /// Its 95th percentile.
    pub control_plane_ready_p95_s: f64,
    /// Machine created to its bootstrap data (the KubeadmConfig's Secret, set on the
    /// Machine): for a worker, the wait for the control plane's initialization too.
    pub machine_bootstrap_p50_s: f64,
    /// Its 95th percentile.
    pub machine_bootstrap_p95_s: f64,
    /// Bootstrap data to infrastructure ready: the VM created, updated and powered on,
    /// every wait for a worker and a task slot included.
    pub machine_vm_p50_s: f64,
    /// Its 95th percentile.
    pub machine_vm_p95_s: f64,
    /// Infrastructure ready to the node in the workload cluster: boot and kubeadm init
    /// or join.
    pub machine_boot_p50_s: f64,
    /// Its 95th percentile.
    pub machine_boot_p95_s: f64,
    /// Node joined to the Machine Running (its nodeRef seen by the Machine controller).
    pub machine_join_p50_s: f64,
    /// Its 95th percentile.
    pub machine_join_p95_s: f64,
}

/// API server.
#[derive(Clone, Debug, Serialize)]
pub struct ApiServerFigures {
    /// Replicas.
    pub replicas: u32,
    /// Mutating request latency p99, APF queueing included; every attempt counts, 429
    /// answers and queue-wait timeouts too [s].
    pub mutating_p99_s: f64,
    /// Read-only request latency p99 [s] (reads that reach the API server: Lease GETs,
    /// relists; controllers read from their caches).
    pub readonly_p99_s: f64,
    /// Requests answered 429 [count].
    pub requests_429: u64,
    /// Requests that failed for good (retries exhausted, NOSPACE, a replica down after
    /// an OOM kill) [count].
    pub requests_failed: u64,
    /// Replicas OOM-killed by their node's kernel, all replicas [count]; absent when none.
    #[serde(skip_serializing_if = "is_zero")]
    pub oom_kills: u32,
    /// Peak seats in use at the workload-low priority level of one replica [seats].
    pub seats_peak: f64,
    /// Seats of that level [seats].
    pub seats_limit: u32,
    /// API requests by kind [count].
    pub requests_by_kind: BTreeMap<String, u64>,
}

/// One controller.
#[derive(Clone, Debug, Serialize)]
pub struct ControllerFigures {
    /// Controller name.
    pub name: String,
    /// Its manager.
    pub manager: String,
    /// Workers (`*-concurrency`) [count].
    pub workers: u32,
    /// Highest workqueue depth [items].
    pub depth_max: f64,
    /// Longest unbroken time the depth stayed above the checklist threshold [s].
    pub depth_above_threshold_longest_s: f64,
    /// Time an item waited in the queue, p99 [s].
    pub queue_latency_p99_s: f64,
    /// Reconcile duration, p99 [s].
    pub reconcile_p99_s: f64,
    /// Reconciles [count].
    pub reconciles: u64,
    /// Reconciles that ended in an error [count].
    pub errors: u64,
    /// Adds with backoff (errors and `Requeue: true`) [count].
    pub retries: u64,
    /// Time its requests waited for the manager's client rate limiter, summed [s].
    pub rate_limiter_wait_s: f64,
}

/// One manager process.
#[derive(Clone, Debug, Serialize)]
pub struct ManagerReport {
    /// Deployment name.
    pub name: String,
    /// Highest 1-minute average CPU [cores].
    pub cpu_peak_cores: f64,
    /// CPU limit [cores].
    pub cpu_limit_cores: f64,
    /// The worker node (from 1) the scheduler placed its pod on; absent when the nodes'
    /// CPU is not shared.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worker_node: Option<usize>,
    /// Time its CFS quota held it back: more runnable threads than its CPU limit [s];
    /// absent when none.
    #[serde(skip_serializing_if = "is_zero_f64")]
    pub cpu_throttled_s: f64,
    /// Highest memory [bytes].
    pub memory_peak_bytes: f64,
    /// Memory limit [bytes].
    pub memory_limit_bytes: f64,
    /// OOM kills [count].
    pub oom_kills: u32,
    /// Evictions by its worker's kubelet, the node short of memory [count]; absent when
    /// none.
    #[serde(skip_serializing_if = "is_zero")]
    pub evictions: u32,
    /// Restarts injected by a fault [count].
    pub restarts: u32,
    /// Leader elections lost (Lease renewals failing past the renew deadline), each
    /// followed by the process exiting and restarting [count]; absent when none.
    #[serde(skip_serializing_if = "is_zero")]
    pub leader_elections_lost: u32,
    /// Wait for a rate-limiter token, p99 [s].
    pub rate_limiter_wait_p99_s: f64,
    /// Time all requests waited for tokens [s].
    pub rate_limiter_wait_total_s: f64,
}

/// etcd.
#[derive(Clone, Debug, Serialize)]
pub struct EtcdFigures {
    /// Highest database size [bytes].
    pub db_peak_bytes: u64,
    /// `--quota-backend-bytes` [bytes].
    pub quota_bytes: u64,
    /// Peak size over quota [fraction].
    pub db_peak_fraction: f64,
    /// Live objects at the end [bytes].
    pub live_bytes: u64,
    /// WAL fsync p99 [s].
    pub fsync_p99_s: f64,
    /// Commit latency (arrival at the leader to commit) p99 [s].
    pub commit_p99_s: f64,
    /// Writes etcd applied; writes refused under NOSPACE are not counted [count].
    pub writes: u64,
    /// Mean write rate over the run [1/s].
    pub writes_per_s: f64,
    /// Largest group-commit batch [writes].
    pub max_batch: usize,
    /// When the NOSPACE alarm was raised [s], if it was.
    pub nospace_at_s: Option<f64>,
}

/// Prism Central.
#[derive(Clone, Debug, Serialize)]
pub struct PrismCentralFigures {
    /// Prism Central instances the clusters are spread over; the figures below are the
    /// busiest instance's (queue, running) or sums (requests, 429s) [count].
    pub instances: u32,
    /// Highest number of tasks waiting for a slot [count].
    pub queue_depth_max: f64,
    /// Highest number of tasks running [count].
    pub tasks_running_max: f64,
    /// Task slots; absent when unlimited.
    pub task_slots: Option<u32>,
    /// VM create, from Prism Central accepting the create (task submitted) to the task
    /// finishing: slot wait plus execution, p95 [s].
    pub vm_create_p95_s: f64,
    /// API requests answered 429 [count].
    pub rate_limited: u64,
    /// API requests accepted [count].
    pub requests: u64,
    /// API requests that failed because Prism Central was down (outage fault) [count].
    pub unavailable: u64,
    /// VM create tasks that failed (`vm-create-failures` fault) and were retried by CAPX
    /// [count]; the p95 above covers the tasks that succeeded.
    pub vm_create_failures: u64,
}

/// Demand of one node role against its capacity.
#[derive(Clone, Debug, Serialize)]
pub struct NodeRoleDemand {
    /// Node role.
    pub role: String,
    /// What runs there.
    pub runs: String,
    /// Nodes [count].
    pub nodes: u32,
    /// Peak CPU demand per node [cores].
    pub cpu_demand_cores: f64,
    /// vCPU per node.
    pub cpu_capacity_cores: f64,
    /// Peak memory demand per node [bytes].
    pub memory_demand_bytes: f64,
    /// Memory per node [bytes].
    pub memory_capacity_bytes: f64,
    /// Time the most saturated node of the role had every core busy [s] (exact;
    /// only where its components share the node's CPU, absent otherwise).
    #[serde(skip_serializing_if = "is_zero_f64")]
    pub saturated_s: f64,
    /// The highest busy fraction any node of the role had over a 15-second window (only
    /// where its components share the node's CPU, absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_peak_utilisation: Option<f64>,
    /// Whether demand fits (memory above capacity is an OOM kill).
    pub fits: bool,
}

/// One checklist item.
#[derive(Clone, Debug, Serialize)]
pub struct ChecklistItem {
    /// The guide's wording.
    pub name: String,
    /// The simulated value.
    pub value: f64,
    /// The threshold it must stay below (or equal, for counts that must be zero).
    pub threshold: f64,
    /// Unit of value and threshold.
    pub unit: String,
    /// Whether it passed.
    pub pass: bool,
}

impl ChecklistItem {
    /// How near its threshold the item is, as value ÷ threshold (below 1 passes), for the
    /// items that must stay below a positive threshold; `None` for the counts that must be
    /// zero and for "All clusters ready" (a count that must reach the fleet).
    pub fn margin(&self) -> Option<f64> {
        (self.threshold > 0.0 && self.unit != "clusters").then(|| self.value / self.threshold)
    }
}

/// The bottleneck.
#[derive(Clone, Debug, Serialize)]
pub struct Bottleneck {
    /// Resource with the largest share of waiting.
    pub resource: String,
    /// Its share of all waiting [fraction].
    pub share: f64,
    /// Where at that resource: the controller whose workers are all busy, the manager
    /// whose limiter or CPU is short, Prism Central's task slots or its rate limit.
    pub at: String,
}

/// One of the guide's alerts over the run.
#[derive(Clone, Debug, Serialize)]
pub struct AlertReport {
    /// The rule's `alert:` name.
    pub name: String,
    /// Its `severity` label: `info`, `warning` or `critical`.
    pub severity: String,
    /// Each time it fired, in order (any of its label sets firing).
    pub fired: Vec<FiredSpan>,
    /// Time it was firing, summed; up to the run's end for one still firing [s].
    pub firing_s: f64,
    /// When it first fired [s]; absent (null) if it never did.
    pub first_fired_s: Option<f64>,
    /// Why it can never fire, for a rule that cannot by construction; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cannot_fire: Option<String>,
}

/// One firing of an alert.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FiredSpan {
    /// The evaluation at which it fired [s].
    pub from_s: f64,
    /// The evaluation at which it resolved [s]; null if still firing at the run's end.
    pub to_s: Option<f64>,
}

/// Waiting at one resource.
#[derive(Clone, Debug, Serialize)]
pub struct WaitShare {
    /// Resource.
    pub resource: String,
    /// Waiting summed over every machine's path [s].
    pub seconds: f64,
    /// Share of all waiting [fraction].
    pub share: f64,
}

/// The `q` quantile of `v`; NaN (`null` in JSON) for no values: a quantile of nothing is
/// not 0.
fn quantile(mut v: Vec<f64>, q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    quantile_sorted(&v, q)
}

fn is_capx(p: &crate::kinds::Provider) -> bool {
    *p == crate::kinds::Provider::Capx
}

fn is_zero_f64(v: &f64) -> bool {
    *v == 0.0
}
