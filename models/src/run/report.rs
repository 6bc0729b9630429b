//! One run's results: every figure `capsim run` prints, as a serde document.
//!
//! Every number here is read off the simulation (histograms, gauges, counters of the
//! world); the checklist compares them with the thresholds of the configuration; the
//! bottleneck is the resource with the largest share of the waiting time on the machines'
//! paths to Running.

use std::collections::BTreeMap;

use serde::Serialize;
use sim_core::SimTime;
use sim_core::stats::quantile_sorted;

use crate::kinds::Controller;
use crate::kinds::ObjKind;
use crate::run::steady::{self, SteadyFigures};
use crate::scenario::config::ModelConfig;
use crate::scenario::operations::FleetSpec;
use crate::scenario::operations::OpTiming;
use crate::world::World;
use crate::world::attribution::Resource;

/// Version of the JSON document; bumped when a field changes meaning.
pub const SCHEMA_VERSION: u32 = 1;

/// The whole result of one run.
#[derive(Clone, Debug, Serialize)]
pub struct RunReport {
    /// Version of this document's layout.
    pub schema_version: u32,
    /// The preset the configuration started from.
    pub tier: String,
    /// Master seed.
    pub seed: u64,
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
    /// The resource with the largest share of waiting.
    pub bottleneck: Bottleneck,
    /// Waiting time by resource on the machines' paths to Running.
    pub waiting: Vec<WaitShare>,
    /// Writes that reached etcd, by kind [count].
    pub writes_by_kind: BTreeMap<String, u64>,
    /// Writes that reached etcd by kind and verb (`Machine/create`, `Machine/patch`,
    /// `Machine/status`, `Machine/delete`) [count].
    pub writes_by_verb: BTreeMap<String, u64>,
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

/// The `q`-quantile of `v`, zero when empty.
pub fn quantile_of(v: Vec<f64>, q: f64) -> f64 {
    quantile(v, q)
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
    /// Requests that failed for good (retries exhausted, NOSPACE) [count].
    pub requests_failed: u64,
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
    /// Highest memory [bytes].
    pub memory_peak_bytes: f64,
    /// Memory limit [bytes].
    pub memory_limit_bytes: f64,
    /// OOM kills [count].
    pub oom_kills: u32,
    /// Restarts injected by a fault [count].
    pub restarts: u32,
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

fn quantile(mut v: Vec<f64>, q: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    quantile_sorted(&v, q)
}

/// Builds the report of a finished world.
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
    let t = now.as_secs_f64();
    let (cluster_times, machine_times) = fleet_times(world);
    let fleet_fig = FleetFigures {
        clusters: fleet.clusters,
        machines_per_cluster: fleet.machines_per_cluster,
        control_plane_replicas: fleet.control_plane_replicas,
        time_to_ready_s: m.fleet_ready_at.map(|t| t.as_secs_f64()),
        clusters_ready: world.clusters_ready,
        machines_running: world.machines_running,
        machines_remediated: world.metrics.remediations,
        node_failures: world.metrics.node_failures,
        cluster_ready_p50_s: quantile(cluster_times.clone(), 0.5),
        cluster_ready_p95_s: quantile(cluster_times, 0.95),
        machine_ready_p95_s: quantile(machine_times, 0.95),
        simulated_s: t,
    };
    let (seats_peak, seats_limit) = world.apf_peak_seats();
    let by_kind = |counts: &[u64]| -> BTreeMap<String, u64> {
        ObjKind::ALL
            .iter()
            .filter(|k| counts[k.index()] > 0)
            .map(|k| (k.name().to_string(), counts[k.index()]))
            .collect()
    };
    let apiserver = ApiServerFigures {
        replicas: cfg.kube_apiserver.replicas,
        mutating_p99_s: m.api_mutating.quantile(0.99).as_secs_f64(),
        readonly_p99_s: m.api_readonly.quantile(0.99).as_secs_f64(),
        requests_429: m.api_429,
        requests_failed: m.api_failed,
        seats_peak,
        seats_limit,
        requests_by_kind: by_kind(&m.requests_by_kind),
    };
    let controllers: Vec<ControllerFigures> = world
        .ctrls
        .iter()
        // The MachineHealthCheck controller has no object to watch without one.
        .filter(|c| c.ctrl != Controller::MachineHealthCheck || world.mhc_enabled())
        .map(|c| ControllerFigures {
            name: c.ctrl.name().to_string(),
            manager: c.manager_name.clone(),
            workers: workers_of(cfg, c.ctrl),
            depth_max: c.queue.depth_gauge.max(),
            depth_above_threshold_longest_s: c.queue.depth_gauge.longest_above(now).as_secs_f64(),
            queue_latency_p99_s: c.queue.queue_latency.quantile(0.99).as_secs_f64(),
            reconcile_p99_s: c.reconcile_time.quantile(0.99).as_secs_f64(),
            reconciles: c.reconciles,
            errors: c.errors,
            retries: c.queue.retries,
            rate_limiter_wait_s: c.limiter_wait,
        })
        .collect();
    let mf = world.manager_figures();
    let managers: Vec<ManagerReport> = mf
        .iter()
        .map(|x| ManagerReport {
            name: x.name.to_string(),
            cpu_peak_cores: x.cpu_peak_cores,
            cpu_limit_cores: x.cpu_limit_cores,
            memory_peak_bytes: x.memory_peak_bytes,
            memory_limit_bytes: x.memory_limit_bytes,
            oom_kills: x.oom_kills,
            restarts: x.restarts,
            rate_limiter_wait_p99_s: x.limiter_wait_p99_s,
            rate_limiter_wait_total_s: x.limiter_wait_total_s,
        })
        .collect();
    let db_peak = world.store.db_size();
    // Writes etcd applied (a write refused under NOSPACE reaches the commit but not the
    // store).
    let committed: u64 = m.writes_by_kind.iter().sum();
    let quota = world.store.quota();
    let etcd = EtcdFigures {
        db_peak_bytes: db_peak,
        quota_bytes: quota,
        db_peak_fraction: db_peak as f64 / quota as f64,
        live_bytes: world.store.live_bytes(),
        fsync_p99_s: world.etcd.fsync.quantile(0.99).as_secs_f64(),
        commit_p99_s: world.etcd.commit_latency.quantile(0.99).as_secs_f64(),
        writes: committed,
        writes_per_s: if t > 0.0 { committed as f64 / t } else { 0.0 },
        max_batch: world.etcd.max_batch,
        nospace_at_s: world.store.nospace_at.map(|t| t.as_secs_f64()),
    };
    let pcs = &world.pcs;
    let prism_central = PrismCentralFigures {
        instances: pcs.len() as u32,
        queue_depth_max: pcs.iter().map(|p| p.queue_gauge.max()).fold(0.0, f64::max),
        tasks_running_max: pcs
            .iter()
            .map(|p| p.running_gauge.max())
            .fold(0.0, f64::max),
        task_slots: pcs[0].config().max_concurrent_tasks,
        vm_create_p95_s: m.vm_create.quantile(0.95).as_secs_f64(),
        rate_limited: pcs.iter().map(|p| p.rate_limited).sum(),
        requests: pcs.iter().map(|p| p.requests).sum(),
        unavailable: pcs.iter().map(|p| p.unavailable).sum(),
        vm_create_failures: m.vm_create_failures,
    };

    let capacity = capacity(world, cfg, db_peak);
    let oom_total: u32 = mf.iter().map(|x| x.oom_kills).sum::<u32>()
        + capacity.iter().filter(|c| !c.fits).count() as u32;
    let th = &cfg.thresholds;
    let max_of = |v: Vec<f64>| v.into_iter().fold(0.0, f64::max);
    let item = |name: &str, value: f64, threshold: f64, unit: &str, pass: bool| ChecklistItem {
        name: name.to_string(),
        value,
        threshold,
        unit: unit.to_string(),
        pass,
    };
    let reconcile_p99 = max_of(
        controllers
            .iter()
            .filter(|c| th.reconcile_p99_controllers.contains(&c.name))
            .map(|c| c.reconcile_p99_s)
            .collect(),
    );
    let depth_for = max_of(
        controllers
            .iter()
            .filter(|c| th.workqueue_depth_controllers.contains(&c.name))
            .map(|c| c.depth_above_threshold_longest_s)
            .collect(),
    );
    let cpu_frac = max_of(
        mf.iter()
            .map(|x| x.cpu_peak_cores / x.cpu_limit_cores)
            .collect(),
    );
    let mem_frac = max_of(
        mf.iter()
            .map(|x| x.memory_peak_bytes / x.memory_limit_bytes)
            .collect(),
    );
    let checklist = vec![
        item(
            "All clusters ready",
            f64::from(world.clusters_ready),
            f64::from(fleet.clusters),
            "clusters",
            world.clusters_ready == fleet.clusters,
        ),
        item(
            "Controller reconcile time < 60s p99",
            reconcile_p99,
            th.reconcile_p99.0,
            "s",
            reconcile_p99 < th.reconcile_p99.0,
        ),
        item(
            "Work queue depth < 100 (cluster and machine queues, for 5m)",
            depth_for,
            th.workqueue_depth_for.0,
            "s",
            depth_for < th.workqueue_depth_for.0,
        ),
        item(
            "Controller CPU < 80% of limits",
            cpu_frac,
            th.controller_cpu_fraction,
            "fraction",
            cpu_frac < th.controller_cpu_fraction,
        ),
        item(
            "Controller memory < 80% of limits",
            mem_frac,
            th.controller_memory_fraction,
            "fraction",
            mem_frac < th.controller_memory_fraction,
        ),
        item(
            "No OOM kills",
            f64::from(oom_total),
            0.0,
            "kills",
            oom_total == 0,
        ),
        item(
            "etcd database size < 75% of quota",
            etcd.db_peak_fraction,
            th.etcd_size_fraction,
            "fraction",
            etcd.db_peak_fraction < th.etcd_size_fraction,
        ),
        item(
            "WAL fsync latency < 25ms p99",
            etcd.fsync_p99_s,
            th.wal_fsync_p99.0,
            "s",
            etcd.fsync_p99_s < th.wal_fsync_p99.0,
        ),
        item(
            "No etcd alarms triggered",
            f64::from(u8::from(etcd.nospace_at_s.is_some())),
            0.0,
            "alarms",
            etcd.nospace_at_s.is_none(),
        ),
        item(
            "VM creation time < 5 minutes p95",
            prism_central.vm_create_p95_s,
            th.vm_create_p95.0,
            "s",
            prism_central.vm_create_p95_s < th.vm_create_p95.0,
        ),
        item(
            "API call latency (mutating) < 1s p99",
            apiserver.mutating_p99_s,
            th.api_mutating_p99.0,
            "s",
            apiserver.mutating_p99_s < th.api_mutating_p99.0,
        ),
    ];
    // Every machine's path: its own waits plus its cluster's cluster-level waits.
    let mut totals = [0.0; 6];
    for (i, mw) in m.machine_waits.iter().enumerate() {
        let c = world.machines[i].cluster as usize;
        for r in 0..6 {
            totals[r] += mw[r] + m.cluster_waits[c][r];
        }
    }
    let sum: f64 = totals.iter().sum();
    let waiting: Vec<WaitShare> = Resource::ALL
        .iter()
        .map(|r| WaitShare {
            resource: r.name().to_string(),
            seconds: totals[*r as usize],
            share: if sum > 0.0 {
                totals[*r as usize] / sum
            } else {
                0.0
            },
        })
        .collect();
    let top = waiting
        .iter()
        .fold(None::<&WaitShare>, |best, w| match best {
            Some(b) if b.seconds >= w.seconds => Some(b),
            _ => Some(w),
        })
        .expect("six resources");
    let bottleneck = Bottleneck {
        resource: top.resource.clone(),
        share: top.share,
        at: bottleneck_at(world, &top.resource, &mf),
    };
    RunReport {
        schema_version: SCHEMA_VERSION,
        tier: tier.to_string(),
        seed,
        fleet: fleet_fig,
        apiserver,
        controllers,
        managers,
        etcd,
        prism_central,
        capacity,
        checklist,
        bottleneck,
        waiting,
        writes_by_kind: by_kind(&m.writes_by_kind),
        writes_by_verb: ObjKind::ALL
            .iter()
            .flat_map(|k| {
                ["create", "patch", "status", "delete"]
                    .iter()
                    .enumerate()
                    .filter_map(move |(v, name)| {
                        let n = m.writes_by_verb[k.index()][v];
                        (n > 0).then(|| (format!("{}/{name}", k.name()), n))
                    })
            })
            .collect(),
        sim_events: steps,
        operations: if world.op_timings.is_empty() {
            vec![OpTiming {
                op: "create".into(),
                started_s: 0.0,
                finished_s: m.fleet_ready_at.map(|t| t.as_secs_f64()),
            }]
        } else {
            world.op_timings.clone()
        },
        steady: match (
            &world.steady_start,
            &world.steady_end,
            world.steady_requested(),
        ) {
            (Some(a), Some(b), Some(d)) => Some(steady::figures(world, a, b, d.as_secs_f64())),
            _ => None,
        },
        management_clusters: Vec::new(),
    }
}

/// Where at `resource` the waiting happened.
fn bottleneck_at(
    world: &World,
    resource: &str,
    mf: &[crate::world::metrics::ManagerFigures],
) -> String {
    let argmax = |v: Vec<(String, f64)>| {
        v.into_iter()
            .fold(
                (String::new(), f64::MIN),
                |b, x| if x.1 > b.1 { x } else { b },
            )
            .0
    };
    let per_cluster = world
        .clusters
        .first()
        .map_or(1.0, |c| f64::from(c.machines()));
    match resource {
        "workqueue" => {
            // A cluster-level controller's wait delays every machine of its cluster.
            let waits = Controller::ALL
                .iter()
                .map(|c| {
                    let weight = match c.key_space() {
                        crate::kinds::KeySpace::Cluster => per_cluster,
                        crate::kinds::KeySpace::Machine => 1.0,
                    };
                    let w = world.metrics.queue_wait_by_ctrl[c.index()] * weight;
                    (format!("{} workers", c.name()), w)
                })
                .collect();
            argmax(waits)
        }
        "rate-limiter" => argmax(
            mf.iter()
                .map(|m| (format!("{} client", m.name), m.limiter_wait_total_s))
                .collect(),
        ),
        "controller-cpu" => argmax(
            mf.iter()
                .map(|m| {
                    (
                        format!("{} CPU limit", m.name),
                        m.cpu_peak_cores / m.cpu_limit_cores,
                    )
                })
                .collect(),
        ),
        "prism-central" => {
            let retry = world.config().prism_central.retry_interval.0;
            let slot_wait: f64 = world
                .pcs
                .iter()
                .map(|p| p.slot_wait.sum().as_secs_f64())
                .sum();
            let limited: u64 = world.pcs.iter().map(|p| p.rate_limited).sum();
            let rate_limit_wait = limited as f64 * retry;
            if slot_wait >= rate_limit_wait {
                "task slots".to_string()
            } else {
                "API rate limit (429s)".to_string()
            }
        }
        "apf-queue" => "workload-low priority level".to_string(),
        "etcd" => "group commit (fsync)".to_string(),
        _ => String::new(),
    }
}

fn workers_of(cfg: &ModelConfig, c: Controller) -> u32 {
    let m = cfg.managers()[c.manager()].1;
    crate::scenario::config::concurrency_fields(m)
        .iter()
        .find(|(flag, _)| *flag == c.concurrency_flag())
        .and_then(|(_, v)| *v)
        .unwrap_or(1)
}

fn capacity(world: &World, cfg: &ModelConfig, db_peak: u64) -> Vec<NodeRoleDemand> {
    let api = &cfg.kube_apiserver;
    let n = &cfg.nodes;
    let peaks = world.peaks;
    let stored = peaks.live_bytes.max(world.store.live_bytes()) as f64;
    let api_mem = api.memory_base.0 as f64 + api.memory_per_stored_byte * stored;
    let api_cpu = peaks.apiserver_cpu_cores;
    let etcd_mem = cfg.etcd.memory_base.0 as f64 + db_peak as f64;
    let etcd_cpu = cfg.etcd.cpu_per_write * peaks.etcd_writes_per_s;
    let mut out = Vec::new();
    let role =
        |role: &str, runs: &str, pool: &crate::scenario::config::NodePool, cpu: f64, mem: f64| {
            NodeRoleDemand {
                role: role.to_string(),
                runs: runs.to_string(),
                nodes: pool.count,
                cpu_demand_cores: cpu,
                cpu_capacity_cores: pool.vcpu,
                memory_demand_bytes: mem,
                memory_capacity_bytes: pool.memory.0 as f64,
                fits: mem <= pool.memory.0 as f64,
            }
        };
    match &n.etcd {
        Some(pool) => {
            out.push(role(
                "control-plane",
                "kube-apiserver",
                &n.control_plane,
                api_cpu,
                api_mem,
            ));
            out.push(role("etcd", "etcd", pool, etcd_cpu, etcd_mem));
        }
        None => out.push(role(
            "control-plane",
            "kube-apiserver + etcd",
            &n.control_plane,
            api_cpu + etcd_cpu,
            api_mem + etcd_mem,
        )),
    }
    // Controllers are spread over the worker nodes; demand per node is the total over the
    // node count (the scheduler packs by requests, which this leaves out).
    let mf = world.manager_figures();
    let cpu: f64 = mf.iter().map(|x| x.cpu_peak_cores).sum();
    let mem: f64 = mf.iter().map(|x| x.memory_peak_bytes).sum();
    let workers = n.workers.count.max(1) as f64;
    out.push(role(
        "workers",
        "CAPI, CABPK, KCP and CAPX managers",
        &n.workers,
        cpu / workers,
        mem / workers,
    ));
    out
}
