//! The report's sections, each read off the finished world: the fleet, the API server,
//! the controllers, the managers, etcd, Prism Central, the writes and the operations.

use std::collections::BTreeMap;

use sim_core::SimTime;

use super::{
    ApiServerFigures, ControllerFigures, EtcdFigures, FleetFigures, ManagerReport, PhaseFigures,
    PrismCentralFigures, fleet_times, quantile,
};
use crate::kinds::{Controller, ObjKind, Provider};
use crate::objects::MachineState;
use crate::run::steady::{self, SteadyFigures};
use crate::scenario::config::ModelConfig;
use crate::scenario::operations::{FleetSpec, OpTiming};
use crate::world::World;
use crate::world::metrics::{ManagerFigures, Metrics};

/// Counts by kind, for the kinds with any [count].
pub(super) fn by_kind(counts: &[u64], p: Provider) -> BTreeMap<String, u64> {
    ObjKind::ALL
        .iter()
        .filter(|k| counts[k.index()] > 0)
        .map(|k| (k.name_in(p).to_string(), counts[k.index()]))
        .collect()
}

/// Fleet creation: times to ready, counts.
pub(super) fn fleet(world: &World, fleet: FleetSpec, now: SimTime) -> FleetFigures {
    let m = &world.metrics;
    let (cluster_times, machine_times) = fleet_times(world);
    FleetFigures {
        clusters: fleet.clusters,
        machines_per_cluster: fleet.machines_per_cluster,
        control_plane_replicas: fleet.control_plane_replicas,
        time_to_ready_s: m.fleet_ready_at.map(|t| t.as_secs_f64()),
        clusters_ready: world.clusters_ready,
        machines_running: world.machines_running,
        machines_remediated: m.remediations,
        node_failures: m.node_failures,
        cluster_ready_p50_s: quantile(cluster_times.clone(), 0.5),
        cluster_ready_p95_s: quantile(cluster_times, 0.95),
        machine_ready_p95_s: quantile(machine_times, 0.95),
        simulated_s: now.as_secs_f64(),
    }
}

/// Each phase's median and 95th percentile over the clusters or machines that finished it.
pub(super) fn phases(world: &World) -> PhaseFigures {
    // A phase that ended before it began belongs to an earlier life of the slot.
    let span = |a: Option<SimTime>, b: Option<SimTime>| {
        let (a, b) = (a?, b?);
        (b >= a).then(|| (b - a).as_secs_f64())
    };
    let clusters = |f: &dyn Fn(&crate::objects::ClusterState) -> Option<f64>| -> Vec<f64> {
        world.clusters.iter().filter_map(f).collect()
    };
    let machines = |a: fn(&MachineState) -> Option<SimTime>,
                    b: fn(&MachineState) -> Option<SimTime>|
     -> Vec<f64> {
        world
            .machines
            .iter()
            .filter_map(|m| span(a(m), b(m)))
            .collect()
    };
    let init = clusters(&|c| span(c.created_at, c.cp_init_at));
    // Every control-plane Machine of the cluster running: the last one's time.
    let cp_ready = clusters(&|c| {
        let cp = (c.first_machine..c.first_machine + c.cp_replicas)
            .map(|m| world.machines[m as usize].running_at)
            .collect::<Option<Vec<SimTime>>>()?;
        span(c.created_at, cp.into_iter().max())
    });
    let bootstrap = machines(|m| m.created_at, |m| m.bootstrap_at);
    let vm = machines(|m| m.bootstrap_at, |m| m.nm_ready_at);
    let boot = machines(|m| m.nm_ready_at, |m| m.joined_at);
    let join = machines(|m| m.joined_at, |m| m.running_at);
    let q = |v: &[f64], p: f64| quantile(v.to_vec(), p);
    PhaseFigures {
        control_plane_initialized_p50_s: q(&init, 0.5),
        control_plane_initialized_p95_s: q(&init, 0.95),
        control_plane_ready_p50_s: q(&cp_ready, 0.5),
        control_plane_ready_p95_s: q(&cp_ready, 0.95),
        machine_bootstrap_p50_s: q(&bootstrap, 0.5),
        machine_bootstrap_p95_s: q(&bootstrap, 0.95),
        machine_vm_p50_s: q(&vm, 0.5),
        machine_vm_p95_s: q(&vm, 0.95),
        machine_boot_p50_s: q(&boot, 0.5),
        machine_boot_p95_s: q(&boot, 0.95),
        machine_join_p50_s: q(&join, 0.5),
        machine_join_p95_s: q(&join, 0.95),
    }
}

/// API server latency, 429s and seats.
pub(super) fn apiserver(world: &World, cfg: &ModelConfig) -> ApiServerFigures {
    let m = &world.metrics;
    let (seats_peak, seats_limit) = world.apf_peak_seats();
    ApiServerFigures {
        replicas: cfg.kube_apiserver.replicas,
        mutating_p99_s: m.api_mutating.quantile(0.99).as_secs_f64(),
        readonly_p99_s: m.api_readonly.quantile(0.99).as_secs_f64(),
        requests_429: m.api_429,
        requests_failed: m.api_failed,
        oom_kills: world.apiservers.iter().map(|a| a.oom_kills).sum(),
        seats_peak,
        seats_limit,
        requests_by_kind: by_kind(&m.requests_by_kind, cfg.infrastructure_provider),
    }
}

/// One entry per controller instance.
pub(super) fn controllers(
    world: &World,
    cfg: &ModelConfig,
    now: SimTime,
) -> Vec<ControllerFigures> {
    world
        .ctrls
        .iter()
        // The MachineHealthCheck controller has no object to watch without one.
        .filter(|c| c.ctrl != Controller::MachineHealthCheck || world.mhc_enabled())
        .map(|c| ControllerFigures {
            name: c.ctrl.name_in(cfg.infrastructure_provider).to_string(),
            manager: c.manager_name.clone(),
            workers: crate::controllers::manager::concurrency(cfg, c.ctrl),
            depth_max: c.queue.depth_gauge.max(),
            depth_above_threshold_longest_s: c.queue.depth_gauge.longest_above(now).as_secs_f64(),
            queue_latency_p99_s: c.queue.queue_latency.quantile(0.99).as_secs_f64(),
            reconcile_p99_s: c.reconcile_time.quantile(0.99).as_secs_f64(),
            reconciles: c.reconciles,
            errors: c.errors,
            retries: c.queue.retries,
            rate_limiter_wait_s: c.limiter_wait,
        })
        .collect()
}

/// One entry per manager instance.
pub(super) fn managers(mf: &[ManagerFigures]) -> Vec<ManagerReport> {
    mf.iter()
        .map(|x| ManagerReport {
            name: x.name.to_string(),
            cpu_peak_cores: x.cpu_peak_cores,
            cpu_limit_cores: x.cpu_limit_cores,
            worker_node: x.worker_node,
            cpu_throttled_s: x.cpu_throttled_s,
            memory_peak_bytes: x.memory_peak_bytes,
            memory_limit_bytes: x.memory_limit_bytes,
            oom_kills: x.oom_kills,
            evictions: x.evictions,
            restarts: x.restarts,
            leader_elections_lost: x.leader_losses,
            rate_limiter_wait_p99_s: x.limiter_wait_p99_s,
            rate_limiter_wait_total_s: x.limiter_wait_total_s,
        })
        .collect()
}

/// etcd's size against its quota, fsync and commit latency, writes.
pub(super) fn etcd(world: &World, now: SimTime) -> EtcdFigures {
    let t = now.as_secs_f64();
    let db_peak = world.store.db_size();
    // Writes etcd applied (a write refused under NOSPACE reaches the commit but not the
    // store).
    let committed: u64 = world.metrics.writes_by_kind.iter().sum();
    let quota = world.store.quota();
    EtcdFigures {
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
    }
}

/// Prism Central's task queue, VM create time and 429s, over every instance.
pub(super) fn prism_central(world: &World) -> PrismCentralFigures {
    let pcs = &world.pcs;
    PrismCentralFigures {
        instances: pcs.len() as u32,
        queue_depth_max: pcs.iter().map(|p| p.queue_gauge.max()).fold(0.0, f64::max),
        tasks_running_max: pcs
            .iter()
            .map(|p| p.running_gauge.max())
            .fold(0.0, f64::max),
        task_slots: pcs[0].config().max_concurrent_tasks,
        vm_create_p95_s: world.metrics.vm_create.quantile(0.95).as_secs_f64(),
        rate_limited: pcs.iter().map(|p| p.rate_limited).sum(),
        requests: pcs.iter().map(|p| p.requests).sum(),
        unavailable: pcs.iter().map(|p| p.unavailable).sum(),
        vm_create_failures: world.metrics.vm_create_failures,
    }
}

/// Writes that reached etcd by kind and verb (`Machine/create`, ...) [count].
pub(super) fn writes_by_verb(m: &Metrics, p: Provider) -> BTreeMap<String, u64> {
    ObjKind::ALL
        .iter()
        .flat_map(|k| {
            ["create", "patch", "status", "delete"]
                .iter()
                .enumerate()
                .filter_map(move |(v, name)| {
                    let n = m.writes_by_verb[k.index()][v];
                    (n > 0).then(|| (format!("{}/{name}", k.name_in(p)), n))
                })
        })
        .collect()
}

/// Requests of the mechanisms beyond the writes, by mechanism, those that ran [count].
pub(super) fn requests_by_mechanism(m: &Metrics) -> BTreeMap<String, u64> {
    m.mechanisms
        .named()
        .into_iter()
        .filter(|&(_, n, request)| request && n > 0)
        .map(|(name, n, _)| (name.to_string(), n))
        .collect()
}

/// When each operation ran; the create alone if nothing followed it.
pub(super) fn operations(world: &World) -> Vec<OpTiming> {
    if world.op_timings.is_empty() {
        vec![OpTiming {
            op: "create".into(),
            started_s: 0.0,
            finished_s: world.metrics.fleet_ready_at.map(|t| t.as_secs_f64()),
        }]
    } else {
        world.op_timings.clone()
    }
}

/// The idle load of the `steady` window, if it ran.
pub(super) fn steady(world: &World) -> Option<SteadyFigures> {
    match (
        &world.steady_start,
        &world.steady_end,
        world.steady_requested(),
    ) {
        (Some(a), Some(b), Some(d)) => Some(steady::figures(world, a, b, d.as_secs_f64())),
        _ => None,
    }
}
