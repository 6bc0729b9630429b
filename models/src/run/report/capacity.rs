//! The management cluster's own demand against its nodes: the API servers' and etcd's
//! CPU and memory on the control-plane (or etcd) nodes, the managers' on the workers.

use super::NodeRoleDemand;
use crate::scenario::config::ModelConfig;
use crate::world::{NodeRole, World};

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
                cpu_peak_utilisation: None,
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
        None => {
            out.push(role(
                "control-plane",
                "kube-apiserver + etcd",
                &n.control_plane,
                api_cpu + etcd_cpu,
                api_mem + etcd_mem,
            ));
        }
    }
    // The managers on the workers: where the scheduler placed their pods, the busiest
    // node's sum of its pods' peaks; otherwise spread evenly over the nodes.
    let mf = world.manager_figures();
    let workers = n.workers.count.max(1) as usize;
    let mut per_node = vec![(0.0, 0.0); workers];
    for (i, m) in mf.iter().enumerate() {
        let node = m.worker_node.map_or(i % workers, |w| w - 1);
        per_node[node].0 += m.cpu_peak_cores;
        per_node[node].1 += m.memory_peak_bytes;
    }
    let (cpu, mem) = match mf.first().and_then(|m| m.worker_node) {
        Some(_) => per_node
            .iter()
            .fold((0.0f64, 0.0f64), |a, b| (a.0.max(b.0), a.1.max(b.1))),
        None => {
            let sum = per_node
                .iter()
                .fold((0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1));
            (sum.0 / workers as f64, sum.1 / workers as f64)
        }
    };
    out.push(role(
        "workers",
        match cfg.infrastructure_provider {
            crate::kinds::Provider::Capx => "CAPI, CABPK, KCP and CAPX managers",
            crate::kinds::Provider::InMemory => "CAPI, CABPK, KCP and CAPD managers",
        },
        &n.workers,
        cpu,
        mem,
    ));
    for r in &mut out {
        let node_role = NodeRole::ALL
            .into_iter()
            .find(|x| x.name() == r.role)
            .expect("a role of NodeRole");
        r.saturated_s = world.saturated_s(node_role);
        r.cpu_peak_utilisation = world.peak_utilisation(node_role);
    }
    out
}
