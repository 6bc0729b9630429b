//! The management cluster's own demand against its nodes: the API servers' and etcd's
//! CPU and memory on the control-plane (or etcd) nodes, the managers' on the workers.

use super::NodeRoleDemand;
use crate::kinds::Controller;
use crate::scenario::config::ModelConfig;
use crate::world::World;

pub(super) fn workers_of(cfg: &ModelConfig, c: Controller) -> u32 {
    let m = cfg.managers()[c.manager()].1;
    crate::scenario::config::concurrency_fields(m)
        .iter()
        .find(|(flag, _)| *flag == c.concurrency_flag())
        .and_then(|(_, v)| *v)
        .unwrap_or(1)
}

/// Peak demand of each node role against its nodes.
pub(super) fn demand(world: &World, cfg: &ModelConfig, db_peak: u64) -> Vec<NodeRoleDemand> {
    let api = &cfg.kube_apiserver;
    let n = &cfg.nodes;
    let peaks = world.peaks;
    // Memory is sampled every 15 s (the watch cache's event rings need a rate); the
    // stored objects and the database's pages also count at their exact peaks.
    let stored = peaks.live_bytes.max(world.store.live_bytes()) as f64;
    let api_mem = peaks
        .apiserver_memory_bytes
        .max(api.memory_base.0 as f64 + api.watch_cache_memory().store_bytes(stored));
    let api_cpu = peaks.apiserver_cpu_cores;
    let etcd_mem = (peaks.etcd_memory_bytes as f64).max((cfg.etcd.memory_base.0 + db_peak) as f64);
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
                saturated_s: 0.0,
                fits: mem <= pool.memory.0 as f64,
            }
        };
    let saturated = world.control_plane_saturated_s();
    match &n.etcd {
        Some(pool) => {
            out.push(role(
                "control-plane",
                "kube-apiserver",
                &n.control_plane,
                api_cpu,
                api_mem,
            ));
            out[0].saturated_s = saturated;
            out.push(role("etcd", "etcd", pool, etcd_cpu, etcd_mem));
        }
        None => {
            out.push(role(
                "control-plane",
                "kube-apiserver + etcd",
                &n.control_plane,
                api_cpu + etcd_cpu,
                api_mem + etcd_mem,
            ));
            out[0].saturated_s = saturated;
        }
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
