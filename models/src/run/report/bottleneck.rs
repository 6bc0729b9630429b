//! Bottleneck attribution read-out: the waiting on every machine's path to Running by
//! resource, the resource with the largest share, and where at it the waiting happened.

use super::{Bottleneck, WaitShare};
use crate::kinds::Controller;
use crate::world::World;
use crate::world::attribution::Resource;
use crate::world::metrics::ManagerFigures;

/// Waiting by resource summed over every machine's path: its own waits plus its
/// cluster's cluster-level waits.
pub(super) fn waiting(world: &World) -> Vec<WaitShare> {
    let m = &world.metrics;
    let mut totals = [0.0; 6];
    for (i, mw) in m.machine_waits.iter().enumerate() {
        let c = world.machines[i].cluster as usize;
        for r in 0..6 {
            totals[r] += mw[r] + m.cluster_waits[c][r];
        }
    }
    let sum: f64 = totals.iter().sum();
    Resource::ALL
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
        .collect()
}

/// The resource with the most waiting (the first of equals), and where at it.
pub(super) fn bottleneck(
    world: &World,
    waiting: &[WaitShare],
    mf: &[ManagerFigures],
) -> Bottleneck {
    let top = waiting
        .iter()
        .fold(None::<&WaitShare>, |best, w| match best {
            Some(b) if b.seconds >= w.seconds => Some(b),
            _ => Some(w),
        })
        .expect("six resources");
    Bottleneck {
        resource: top.resource.clone(),
        share: top.share,
        at: bottleneck_at(world, &top.resource, mf),
    }
}

/// Where at `resource` the waiting happened.
fn bottleneck_at(world: &World, resource: &str, mf: &[ManagerFigures]) -> String {
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
                    let name = c.name_in(world.config().infrastructure_provider);
                    (format!("{name} workers"), w)
                })
                .collect();
            argmax(waits)
        }
        "rate-limiter" => argmax(
            mf.iter()
                .map(|m| (format!("{} client", m.name), m.limiter_wait_total_s))
                .collect(),
        ),
        "controller-cpu" => {
            // Held by its own quota, or by its worker node's cores (shared by weight).
            argmax(
                mf.iter()
                    .map(|m| {
                        let saturated = m.worker_node.map_or(0.0, |w| world.worker_saturated_s(w));
                        let at = if m.worker_node.is_some() && saturated > m.cpu_throttled_s {
                            format!("{} CPU (worker node saturated)", m.name)
                        } else {
                            format!("{} CPU limit", m.name)
                        };
                        (at, m.cpu_peak_cores / m.cpu_limit_cores)
                    })
                    .collect(),
            )
        }
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
