//! Nodes out of memory.
//!
//! A worker node whose pods' memory leaves less than the kubelet's hard eviction
//! threshold (`memory.available<100Mi`: usage above its allocatable) evicts a pod: of the
//! pods using more than they request, the one furthest above its request (kubelet's
//! eviction ranking; all the managers have the same priority). Its Deployment's new pod
//! lands on the same node (it fits by requests) and starts after the manager's
//! `restart-delay`: the process is gone, its queues lost, and it relists. The managers'
//! memory limits can add up to more than a node has, so a node can be short of memory
//! while every pod is within its own limit.
//!
//! A control-plane node out of memory: the kernel's OOM killer kills its largest process
//! (kubeadm's static pods set no memory limit, so the node's RAM is the only bound). The
//! model always takes that to be an API server replica, the largest of them: the API
//! server, with its decoded watch cache, usually outgrows etcd; an etcd member killed
//! instead (and its quorum) is left out. The kubelet restarts it
//! after its CrashLoopBackOff (10 s, doubled per kill, at most 5 minutes) and the server
//! starts and fills its watch cache: `kube-apiserver.restart-delay`.
//!
//! While it is down, its clients' connections fail and client-go reconnects through the
//! load balancer to a replica that serves: each manager pinned to it moves to the serving
//! replica with the fewest managers, and stays there after the restart (HTTP/2
//! connections are long-lived), so a kill also unbalances the replicas. A request that
//! reaches a replica that is down fails, and the user's commands go to the replicas that
//! serve. Simplified: requests already executing on the killed replica are answered (not
//! failed), and its restart's own reads of etcd are left out.

use sim_core::{Scheduler, SimDuration};

use super::{Event, World};
use crate::scenario::placement::{allocatable, manager_pods};

impl World {
    /// Node memory in use on the control-plane node of replica `replica` [bytes]: its
    /// serving replicas' memory and, when etcd is stacked, the etcd member's.
    fn node_memory(&self, replica: usize) -> f64 {
        let nodes = self.cfg.nodes.control_plane.count.max(1) as usize;
        let node = replica % nodes;
        let api: f64 = (node..self.apiservers.len())
            .step_by(nodes)
            .map(|r| &self.apiservers[r])
            .filter(|a| a.up)
            .map(|a| a.sampled_bytes + a.list_bytes)
            .sum();
        let etcd = if self.cfg.nodes.etcd.is_none() {
            self.etcd_memory_now
        } else {
            0.0
        };
        api + etcd
    }

    /// Kills the largest serving replica on `replica`'s node if that node is out of
    /// memory.
    pub(super) fn node_memory_check(&mut self, sched: &mut Scheduler<Event>, replica: usize) {
        if !self.cfg.nodes.memory_kills {
            return;
        }
        let capacity = self.cfg.nodes.control_plane.memory.0 as f64;
        if self.node_memory(replica) <= capacity {
            return;
        }
        let nodes = self.cfg.nodes.control_plane.count.max(1) as usize;
        let victim = (replica % nodes..self.apiservers.len())
            .step_by(nodes)
            .filter(|&r| self.apiservers[r].up)
            .max_by(|&a, &b| {
                let m = |r: usize| self.apiservers[r].sampled_bytes + self.apiservers[r].list_bytes;
                m(a).total_cmp(&m(b)).then(b.cmp(&a))
            });
        if let Some(r) = victim {
            self.apiserver_oom_kill(sched, r);
        }
    }

    fn apiserver_oom_kill(&mut self, sched: &mut Scheduler<Event>, r: usize) {
        let now = sched.now();
        let a = &mut self.apiservers[r];
        a.up = false;
        a.oom_kills += 1;
        // Its LIST responses in flight are answered (the simplification above), so the
        // memory they hold is released as they complete.
        a.sampled_bytes = 0.0;
        // CrashLoopBackOff doubles its back-off per restart, up to 5 minutes, and forgets
        // it once the container has run 10 minutes.
        if now.saturating_since(a.restarted_at) > SimDuration::from_mins(10) {
            a.crash_loop = 0;
        }
        a.crash_loop += 1;
        let backoff = (10.0 * 2f64.powi(a.crash_loop as i32 - 1)).min(300.0) - 10.0;
        let delay = self.cfg.kube_apiserver.restart_delay.0;
        sched.schedule_in(
            SimDuration::from_secs_f64(delay + backoff.max(0.0)),
            Event::ApiServerRestarted(r as u8),
        );
        // Its clients reconnect to a replica that serves, the least loaded first.
        for m in 0..self.managers.len() {
            if self.managers[m].replica as usize != r {
                continue;
            }
            let target = (0..self.apiservers.len())
                .filter(|&x| self.apiservers[x].up)
                .min_by_key(|&x| {
                    let pinned = self
                        .managers
                        .iter()
                        .filter(|mg| mg.replica as usize == x)
                        .count();
                    (pinned, x)
                });
            if let Some(x) = target {
                self.managers[m].replica = x as u8;
            }
        }
    }

    /// Each worker node whose pods' memory exceeds its allocatable evicts one pod (the
    /// next sample sees whether that was enough).
    pub(super) fn worker_memory_check(&mut self, sched: &mut Scheduler<Event>) {
        if !self.cfg.nodes.memory_kills {
            return;
        }
        let (_, allocatable) = allocatable(&self.cfg, &self.cfg.nodes.workers);
        let requests: Vec<f64> = manager_pods(&self.cfg).iter().map(|p| p.memory).collect();
        for node in 0..self.cfg.nodes.workers.count.max(1) as usize {
            let on_node = |m: &usize| self.placement[*m] == node && self.managers[*m].up;
            let used: f64 = (0..self.managers.len())
                .filter(on_node)
                .map(|m| self.managers[m].memory)
                .sum();
            if used <= allocatable {
                continue;
            }
            let over = |m: usize| self.managers[m].memory - requests[m];
            let victim = (0..self.managers.len()).filter(on_node).max_by(|&a, &b| {
                (over(a) > 0.0, over(a))
                    .partial_cmp(&(over(b) > 0.0, over(b)))
                    .expect("finite memory")
                    .then(b.cmp(&a))
            });
            if let Some(m) = victim {
                self.managers[m].evictions += 1;
                let delay = self.cfg.managers()[self.managers[m].kind].1.restart_delay.0;
                self.kill(sched, m, delay);
            }
        }
    }

    /// Replica `r` serves again, with an empty memory until the next sample.
    pub(super) fn apiserver_restarted(&mut self, sched: &Scheduler<Event>, r: usize) {
        let a = &mut self.apiservers[r];
        a.up = true;
        a.restarted_at = sched.now();
    }
}
