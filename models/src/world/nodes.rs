//! The management cluster's nodes and the CPU their pods share. Each node's cores are
//! shared as CFS shares them ([`sim_core::queueing::shared_cpu`]): by the pods' CPU
//! requests (weights), each held to its CPU limit (quota), one core per thread.
//!
//! - Control-plane nodes run an API server replica each (more than one per node if there
//!   are more replicas than nodes) and, when etcd is stacked, an etcd member: kubeadm's
//!   static pods, requests 250m and 100m, no limits. A request's CPU (decode, admission,
//!   encode) is work on its replica's node; the watch fan-out of each committed change and
//!   etcd's apply of each write are work there too.
//! - Dedicated etcd nodes run a member each, with its apply work.
//! - Worker nodes run the managers' pods where the scheduler placed them
//!   ([`crate::placement`]): each reconcile is a thread of its manager's pod, and the
//!   manager's work outside reconciles (decoding watch events, health probes, Prism
//!   Central answers) is its background thread.
//!
//! So a busy node stretches everything on it, and a pod held to its quota stretches its
//! own reconciles (CFS throttling). Left out: etcd's commit latency growing with its
//! node's load (its CPU here only takes cores from the others), and everything else that
//! runs on the nodes beyond `nodes.reserved-*`.

use sim_core::queueing::shared_cpu::{Moved, SharedCpu};
use sim_core::{EventId, Scheduler, SimDuration, SimTime};

use super::{Event, World};
use crate::scenario::config::ModelConfig;

/// What a node is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeRole {
    /// API server (and stacked etcd).
    ControlPlane,
    /// Dedicated etcd member.
    Etcd,
    /// The managers' pods.
    Worker,
}

impl NodeRole {
    /// The three roles, in report order.
    pub const ALL: [NodeRole; 3] = [NodeRole::ControlPlane, NodeRole::Etcd, NodeRole::Worker];

    /// Name in reports.
    pub fn name(self) -> &'static str {
        match self {
            NodeRole::ControlPlane => "control-plane",
            NodeRole::Etcd => "etcd",
            NodeRole::Worker => "workers",
        }
    }
}

/// Every node's CPU.
pub(crate) struct Nodes {
    cpus: Vec<SharedCpu<u32>>,
    role: Vec<NodeRole>,
    /// Each API server replica's node and class.
    replica: Vec<(usize, usize)>,
    /// Each etcd member's node and class.
    etcd: Vec<(usize, usize)>,
    /// Each manager instance's node and class.
    pub(crate) manager: Vec<(usize, usize)>,
    /// Each node's pending "next thread finishes" event and its time. It may come early
    /// (the node slowed down since): it then finds nothing done and is set again.
    due: Vec<Option<(EventId, SimTime)>>,
    /// Seconds each node had every core busy, up to the last sample.
    saturated_s: Vec<f64>,
    /// Each node's CPU seconds at the last sample.
    sampled: Vec<f64>,
    /// Each node's busy fraction over the last sample window.
    pub(crate) utilisation: Vec<f64>,
    /// Each node's highest busy fraction over a sample window.
    peak: Vec<f64>,
}

impl Nodes {
    /// The nodes of `cfg`, the managers' pods on the worker nodes `placement` gives, one
    /// per manager instance.
    pub(crate) fn new(cfg: &ModelConfig, placement: &[usize]) -> Self {
        let n = &cfg.nodes;
        let mut cpus = Vec::new();
        let mut role = Vec::new();
        let mut pool = |count: u32, vcpu: f64, r: NodeRole| {
            let first = cpus.len();
            for _ in 0..count.max(1) {
                let cpu = SharedCpu::new(vcpu);
                cpus.push(if n.cpu_direct_threads {
                    cpu.with_direct()
                } else {
                    cpu
                });
                role.push(r);
            }
            first
        };
        let cp = pool(
            n.control_plane.count,
            n.control_plane.vcpu,
            NodeRole::ControlPlane,
        );
        let cp_count = n.control_plane.count.max(1) as usize;
        let etcd_nodes = n.etcd.as_ref().map(|p| {
            (
                pool(p.count, p.vcpu, NodeRole::Etcd),
                p.count.max(1) as usize,
            )
        });
        let workers = pool(n.workers.count, n.workers.vcpu, NodeRole::Worker);
        let api = &cfg.kube_apiserver;
        let replica = (0..api.replicas as usize)
            .map(|r| {
                let node = cp + r % cp_count;
                (node, cpus[node].add_class(api.cpu_request.0, f64::INFINITY))
            })
            .collect();
        let (first, count) = etcd_nodes.unwrap_or((cp, cp_count));
        let etcd = (first..first + count)
            .map(|node| {
                (
                    node,
                    cpus[node].add_class(cfg.etcd.cpu_request.0, f64::INFINITY),
                )
            })
            .collect();
        let pods = crate::scenario::placement::manager_pods(cfg);
        let manager = pods
            .iter()
            .zip(placement)
            .map(|(pod, &w)| {
                let m = cfg
                    .managers()
                    .into_iter()
                    .find(|(name, _)| *name == pod.manager)
                    .expect("a pod of a configured manager")
                    .1;
                let node = workers + w;
                (node, cpus[node].add_class(pod.cpu, m.cpu_limit.0))
            })
            .collect();
        let nodes = cpus.len();
        Nodes {
            cpus,
            role,
            replica,
            etcd,
            manager,
            due: vec![None; nodes],
            saturated_s: vec![0.0; nodes],
            sampled: vec![0.0; nodes],
            utilisation: vec![0.0; nodes],
            peak: vec![0.0; nodes],
        }
    }

    /// A `secs`-second sample of each node at `now`: its time saturated so far and its
    /// busy fraction over the window.
    pub(crate) fn sample(&mut self, now: SimTime, secs: f64) {
        for (n, cpu) in self.cpus.iter_mut().enumerate() {
            self.saturated_s[n] = cpu.saturated_s(now);
            let done = cpu.cpu_seconds(now);
            let u = ((done - self.sampled[n]) / (secs * cpu.cores())).min(1.0);
            self.sampled[n] = done;
            self.utilisation[n] = u;
            self.peak[n] = self.peak[n].max(u);
        }
    }

    /// The longest any node of `role` was seen saturated [s].
    pub(crate) fn saturated_s(&self, role: NodeRole) -> f64 {
        self.of(role)
            .map(|n| self.saturated_s[n])
            .fold(0.0, f64::max)
    }

    /// Worker node `w`'s (from 1) time with every core busy [s].
    pub(crate) fn worker_saturated_s(&self, w: usize) -> f64 {
        self.saturated_s[self.first(NodeRole::Worker) + w - 1]
    }

    /// The busiest node of `role`'s busy fraction over the last sample window.
    pub(crate) fn utilisation(&self, role: NodeRole) -> f64 {
        self.of(role)
            .map(|n| self.utilisation[n])
            .fold(0.0, f64::max)
    }

    /// The highest busy fraction any node of `role` had over a sample window.
    pub(crate) fn peak_utilisation(&self, role: NodeRole) -> f64 {
        self.of(role).map(|n| self.peak[n]).fold(0.0, f64::max)
    }

    /// Seconds manager instance `mi`'s CFS quota held it back.
    pub(crate) fn throttled_s(&self, mi: usize) -> f64 {
        let (n, k) = self.manager[mi];
        self.cpus[n].class_throttled_s(k)
    }

    /// CPU seconds manager instance `mi`'s pod has had up to `now`.
    pub(crate) fn manager_cpu_seconds(&mut self, now: SimTime, mi: usize) -> f64 {
        let (n, k) = self.manager[mi];
        self.cpus[n].class_cpu_seconds(now, k)
    }

    /// Worker node (from 1) of manager instance `mi`.
    pub(crate) fn worker_of(&self, mi: usize) -> usize {
        let (n, _) = self.manager[mi];
        n - self.first(NodeRole::Worker) + 1
    }

    fn first(&self, role: NodeRole) -> usize {
        self.role.iter().position(|&r| r == role).unwrap_or(0)
    }

    fn of(&self, role: NodeRole) -> impl Iterator<Item = usize> + '_ {
        (0..self.role.len()).filter(move |&n| self.role[n] == role)
    }
}

impl World {
    /// Where the managers' pods share their nodes' CPU, their CPU seconds are what the
    /// nodes gave them up to `now` (a reconcile's CPU counts as it runs).
    pub(crate) fn sync_manager_cpu(&mut self, now: SimTime) {
        let Some(nodes) = self.nodes.as_mut() else {
            return;
        };
        for (mi, m) in self.managers.iter_mut().enumerate() {
            m.cpu_seconds = nodes.manager_cpu_seconds(now, mi);
        }
    }

    /// Request `req` needs `work` of CPU on its replica's node; then the rest of its
    /// processing (its `after_cpu`).
    pub(super) fn api_cpu(
        &mut self,
        sched: &mut Scheduler<Event>,
        replica: usize,
        work: SimDuration,
        req: u32,
    ) {
        let Some(nodes) = self.nodes.as_mut() else {
            return;
        };
        let (n, class) = nodes.replica[replica];
        if let Some(end) = nodes.cpus[n].start(sched.now(), class, work, req) {
            self.request_direct(sched, req, end);
        }
        self.reschedule_node(sched, n);
    }

    /// Background CPU on replica `replica`'s node: the watch fan-out of a change.
    pub(super) fn api_background_cpu(
        &mut self,
        sched: &mut Scheduler<Event>,
        replica: usize,
        work: f64,
    ) {
        if let Some(nodes) = self.nodes.as_ref() {
            self.background_on(sched, nodes.replica[replica], work);
        }
    }

    /// etcd's apply of committed writes, on every member's node.
    pub(super) fn etcd_cpu(&mut self, sched: &mut Scheduler<Event>, work: f64) {
        let members = self.nodes.as_ref().map_or(0, |n| n.etcd.len());
        for i in 0..members {
            let at = self.nodes.as_ref().expect("nodes share their CPU").etcd[i];
            self.background_on(sched, at, work);
        }
    }

    /// Reconcile `rec` of manager instance `mi` needs `work` of CPU on its pod's node.
    pub(super) fn manager_cpu(
        &mut self,
        sched: &mut Scheduler<Event>,
        mi: usize,
        work: SimDuration,
        rec: u32,
    ) {
        let nodes = self.nodes.as_mut().expect("nodes share their CPU");
        let (n, class) = nodes.manager[mi];
        if let Some(end) = nodes.cpus[n].start(sched.now(), class, work, rec) {
            self.reconcile_direct(sched, rec, end);
        }
        self.reschedule_node(sched, n);
    }

    /// CPU manager instance `mi` spends outside its reconciles (decoding watch events,
    /// probing workload clusters, reading Prism Central's answers), on its background
    /// thread when the nodes share their CPU.
    pub(super) fn manager_background_cpu(
        &mut self,
        sched: &mut Scheduler<Event>,
        mi: usize,
        work: f64,
    ) {
        match self.nodes.as_ref() {
            Some(nodes) => self.background_on(sched, nodes.manager[mi], work),
            None => self.managers[mi].cpu_seconds += work,
        }
    }

    /// `work` seconds of CPU on the background thread of class `class` of node `n`.
    fn background_on(
        &mut self,
        sched: &mut Scheduler<Event>,
        (n, class): (usize, usize),
        work: f64,
    ) {
        if work <= 0.0 {
            return;
        }
        let nodes = self.nodes.as_mut().expect("nodes share their CPU");
        nodes.cpus[n].add_background(sched.now(), class, SimDuration::from_secs_f64(work));
        self.reschedule_node(sched, n);
    }

    /// Manager instance `mi`'s process is gone: its threads' reconciles are dropped.
    pub(super) fn manager_cpu_killed(&mut self, sched: &mut Scheduler<Event>, mi: usize) {
        let Some(nodes) = self.nodes.as_mut() else {
            return;
        };
        let (n, class) = nodes.manager[mi];
        let recs = nodes.cpus[n].kill_class(sched.now(), class);
        self.reschedule_node(sched, n);
        for rec in recs {
            if let Some(id) = self.recs.get_mut(rec).and_then(|r| r.direct_end.take()) {
                sched.cancel(id);
            }
            self.drop_orphan(rec);
        }
    }

    /// Node `n`'s next thread finishes.
    pub(super) fn node_cpu_done(&mut self, sched: &mut Scheduler<Event>, n: usize) {
        let now = sched.now();
        let nodes = self.nodes.as_mut().expect("nodes share their CPU");
        nodes.due[n] = None;
        let done = nodes.cpus[n].finish(now);
        let role = nodes.role[n];
        self.reschedule_node(sched, n);
        for job in done {
            if role == NodeRole::Worker {
                self.reconcile_cpu_done(sched, job);
            } else {
                let after = self.reqs.get(job).expect("live request").after_cpu;
                sched.schedule_in(after, Event::RequestProcessed(job));
            }
        }
    }

    /// Request `req`'s CPU thread runs direct until `end`: its answer follows the rest of
    /// its processing.
    fn request_direct(&mut self, sched: &mut Scheduler<Event>, req: u32, end: SimTime) {
        let r = self.reqs.get_mut(req).expect("live request");
        r.direct_end = Some(sched.schedule_at(end + r.after_cpu, Event::RequestProcessed(req)));
    }

    /// Reconcile `rec`'s CPU thread runs direct until `end`.
    fn reconcile_direct(&mut self, sched: &mut Scheduler<Event>, rec: u32, end: SimTime) {
        let r = self.recs.get_mut(rec).expect("live reconcile");
        r.direct_end = Some(sched.schedule_at(end, Event::CpuDone(rec)));
    }

    /// The ends of the threads that moved between direct and shared on node `n`.
    fn threads_moved(&mut self, sched: &mut Scheduler<Event>, n: usize) {
        let nodes = self.nodes.as_mut().expect("nodes share their CPU");
        let worker = nodes.role[n] == NodeRole::Worker;
        for m in nodes.cpus[n].take_moved() {
            match (m, worker) {
                (Moved::Shared(rec), true) => {
                    let r = self.recs.get_mut(rec).expect("live reconcile");
                    sched.cancel(r.direct_end.take().expect("it ran direct"));
                }
                (Moved::Shared(req), false) => {
                    let r = self.reqs.get_mut(req).expect("live request");
                    sched.cancel(r.direct_end.take().expect("it ran direct"));
                }
                (Moved::Direct(rec, end), true) => self.reconcile_direct(sched, rec, end),
                (Moved::Direct(req, end), false) => self.request_direct(sched, req, end),
            }
        }
    }

    fn reschedule_node(&mut self, sched: &mut Scheduler<Event>, n: usize) {
        if self.nodes.as_ref().expect("nodes share their CPU").cpus[n].has_moved() {
            self.threads_moved(sched, n);
        }
        let nodes = self.nodes.as_mut().expect("nodes share their CPU");
        let Some(at) = nodes.cpus[n].next_finish() else {
            return; // a pending event finds nothing and ends
        };
        let at = at.max(sched.now());
        match nodes.due[n] {
            Some((_, due)) if due <= at => {} // it fires first, and looks again then
            Some((id, _)) => {
                sched.cancel(id);
                nodes.due[n] = Some((sched.schedule_at(at, Event::NodeCpuDone(n as u8)), at));
            }
            None => {
                nodes.due[n] = Some((sched.schedule_at(at, Event::NodeCpuDone(n as u8)), at));
            }
        }
    }
}
