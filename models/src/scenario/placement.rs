//! Where the managers' pods run: kube-scheduler's placement of each manager instance (a
//! Deployment's pod) on the worker nodes.
//!
//! A pod requests CPU and memory (`resources.requests`; a container that sets only
//! limits gets requests equal to its limits, as the API server defaults them). A node
//! fits it when its requests fit in what the node has left of its allocatable: capacity
//! less the kubelet's reserved CPU and memory and its hard eviction threshold
//! (`memory.available<100Mi`). Of the nodes that fit, the default profile's two resource
//! scores choose: `NodeResourcesFit` with `LeastAllocated` (the mean free fraction of CPU
//! and memory after the pod) plus `NodeResourcesBalancedAllocation` (one minus the spread
//! of the two used fractions). Pods are placed one at a time in configuration order.
//!
//! Simplified: ties go to the lowest node (the scheduler picks one at random), and
//! nothing else runs on the workers (DaemonSets and other workloads are left to
//! `nodes.reserved-*`).

use super::config::{ManagerConfig, ModelConfig, NodePool};

/// One pod to place.
#[derive(Clone, Debug, PartialEq)]
pub struct Pod {
    /// Instance name (`capi-controller-manager`, or `...-shard-2`).
    pub name: String,
    /// The manager's configuration key (`capi-controller-manager`).
    pub manager: &'static str,
    /// CPU request [cores].
    pub cpu: f64,
    /// Memory request [bytes].
    pub memory: f64,
}

/// A pod no worker node can take.
#[derive(Clone, Debug, PartialEq)]
pub struct Unschedulable {
    /// The pod.
    pub pod: Pod,
    /// Why, as `kubectl describe pod` would put it, with the nodes' free resources.
    pub reason: String,
}

/// The instance name of shard `shard` (from 0) of manager `name` with `shards` shards.
pub fn instance_name(name: &str, shard: u32, shards: u32) -> String {
    if shards <= 1 {
        name.to_string()
    } else {
        format!("{name}-shard-{}", shard + 1)
    }
}

/// A manager's CPU and memory requests: as set, or its limits.
pub fn requests(m: &ManagerConfig) -> (f64, f64) {
    let cpu = m.cpu_request.map_or(m.cpu_limit.0, |c| c.0);
    let memory = m.memory_request.map_or(m.memory_limit.0, |b| b.0);
    (cpu, memory as f64)
}

/// Every manager instance's pod, in the world's instance order.
pub fn manager_pods(cfg: &ModelConfig) -> Vec<Pod> {
    let mut pods = Vec::new();
    for (name, m) in cfg.managers() {
        let (cpu, memory) = requests(m);
        let shards = m.shards.max(1);
        for s in 0..shards {
            pods.push(Pod {
                name: instance_name(name, s, shards),
                manager: name,
                cpu,
                memory,
            });
        }
    }
    pods
}

/// A worker node's allocatable CPU [cores] and memory [bytes].
pub fn allocatable(cfg: &ModelConfig, pool: &NodePool) -> (f64, f64) {
    let n = &cfg.nodes;
    let cpu = pool.vcpu - n.reserved_cpu.map_or(0.0, |c| c.0);
    let memory =
        pool.memory.0 as f64 - n.reserved_memory.0 as f64 - n.eviction_hard_memory.0 as f64;
    (cpu.max(0.0), memory.max(0.0))
}

/// The node of each pod of `pods` on `nodes` nodes of `alloc` allocatable each.
pub fn place(pods: &[Pod], nodes: u32, alloc: (f64, f64)) -> Result<Vec<usize>, Unschedulable> {
    let nodes = nodes.max(1) as usize;
    let mut used = vec![(0.0f64, 0.0f64); nodes];
    let mut out = Vec::with_capacity(pods.len());
    const SLACK: f64 = 1e-9;
    for pod in pods {
        let best = (0..nodes)
            .filter(|&n| {
                used[n].0 + pod.cpu <= alloc.0 + SLACK && used[n].1 + pod.memory <= alloc.1 + SLACK
            })
            .map(|n| (n, score(used[n], pod, alloc)))
            .fold(None, |best: Option<(usize, f64)>, (n, s)| match best {
                Some((_, b)) if b >= s => best,
                _ => Some((n, s)),
            });
        let Some((n, _)) = best else {
            let free: Vec<String> = used
                .iter()
                .enumerate()
                .map(|(n, u)| {
                    format!(
                        "node {}: {:.3} vCPU and {:.2} GiB free",
                        n + 1,
                        alloc.0 - u.0,
                        (alloc.1 - u.1) / f64::from(1u32 << 30)
                    )
                })
                .collect();
            return Err(Unschedulable {
                pod: pod.clone(),
                reason: format!(
                    "0/{nodes} worker nodes can take {} (requests {} vCPU, {:.2} GiB; \
                     allocatable per node {:.3} vCPU, {:.2} GiB): {}",
                    pod.name,
                    pod.cpu,
                    pod.memory / f64::from(1u32 << 30),
                    alloc.0,
                    alloc.1 / f64::from(1u32 << 30),
                    free.join("; ")
                ),
            });
        };
        used[n].0 += pod.cpu;
        used[n].1 += pod.memory;
        out.push(n);
    }
    Ok(out)
}

/// The default profile's resource score of a node that already holds `used`, for `pod`:
/// LeastAllocated plus BalancedAllocation, each 0–100 with CPU and memory weighted 1.
fn score(used: (f64, f64), pod: &Pod, alloc: (f64, f64)) -> f64 {
    let frac = |u: f64, a: f64| if a > 0.0 { (u / a).min(1.0) } else { 1.0 };
    let cpu = frac(used.0 + pod.cpu, alloc.0);
    let mem = frac(used.1 + pod.memory, alloc.1);
    let least = ((1.0 - cpu) + (1.0 - mem)) / 2.0 * 100.0;
    // Two resources: the standard deviation of the fractions is half their difference.
    let balanced = (1.0 - (cpu - mem).abs() / 2.0) * 100.0;
    least + balanced
}

#[cfg(test)]
mod tests {
    use super::*;

    const GI: f64 = (1u64 << 30) as f64;

    fn pod(name: &str, cpu: f64, mem_gi: f64) -> Pod {
        Pod {
            name: name.into(),
            manager: "m",
            cpu,
            memory: mem_gi * GI,
        }
    }

    #[test]
    fn pods_spread_to_the_least_allocated_node() {
        let pods = [pod("a", 2.0, 4.0), pod("b", 2.0, 4.0), pod("c", 1.0, 2.0)];
        // Three empty nodes: a and b each take an empty one, c the third.
        assert_eq!(place(&pods, 3, (8.0, 32.0 * GI)).unwrap(), vec![0, 1, 2]);
        // Two nodes holding one pod each: a tie, the first.
        assert_eq!(place(&pods, 2, (8.0, 32.0 * GI)).unwrap(), vec![0, 1, 0]);
    }

    #[test]
    fn a_pod_that_fits_nowhere_is_named_with_the_free_resources() {
        let pods = [pod("a", 3.0, 1.0), pod("b", 3.0, 1.0)];
        let err = place(&pods, 1, (4.0, 8.0 * GI)).unwrap_err();
        assert_eq!(err.pod.name, "b");
        assert!(err.reason.contains("0/1 worker nodes"), "{}", err.reason);
        assert!(err.reason.contains("node 1: 1.000 vCPU"), "{}", err.reason);
        // Memory counts as CPU does.
        let pods = [pod("a", 0.5, 6.0), pod("b", 0.5, 6.0)];
        assert!(place(&pods, 1, (4.0, 8.0 * GI)).is_err());
        assert_eq!(place(&pods, 2, (4.0, 8.0 * GI)).unwrap(), vec![0, 1]);
    }

    #[test]
    fn balanced_allocation_prefers_the_node_whose_cpu_and_memory_stay_even() {
        // Both nodes keep the same mean free fraction after a memory-only pod (62.5 %);
        // the one holding CPU ends with its two fractions closer (0.5, 0.25).
        let alloc = (8.0, 32.0 * GI);
        let x = pod("x", 0.0, 8.0);
        let cpu_heavy = score((4.0, 0.0), &x, alloc);
        let mem_heavy = score((0.0, 16.0 * GI), &x, alloc);
        assert!((cpu_heavy - (62.5 + 87.5)).abs() < 1e-9, "{cpu_heavy}");
        assert!((mem_heavy - (62.5 + 62.5)).abs() < 1e-9, "{mem_heavy}");
    }
}
