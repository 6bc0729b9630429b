//! The control-plane nodes' CPU, shared by what runs on them: each API server replica
//! (one per node, more than one per node if there are more replicas than nodes) and, when
//! etcd is stacked, an etcd member. A request's CPU (decode, admission, encode) is work on
//! its replica's node; the watch fan-out of each committed change and etcd's apply of each
//! write are work there too. The node shares its cores as CFS does
//! ([`sim_core::queueing::shared_cpu`]): by the static pods' CPU requests (kubeadm's
//! manifests: kube-apiserver 250m, etcd 100m), no limits, one core per thread. So a busy
//! node stretches every request on it, APF seats are held longer and queues fill.
//!
//! Left out: the managers' worker nodes (their CPU is still each pod's slots), dedicated
//! etcd nodes' CPU, and etcd's commit latency growing with its node's load (its CPU here
//! only takes cores from the API server).

use sim_core::queueing::shared_cpu::SharedCpu;
use sim_core::{EventId, Scheduler, SimDuration, SimTime};

use super::{Event, World};

/// The control-plane nodes' CPU.
pub(crate) struct CpNodes {
    cpus: Vec<SharedCpu<u32>>,
    /// Each API server replica's node and class.
    replica: Vec<(usize, usize)>,
    /// Each node's etcd class, when etcd is stacked.
    etcd: Vec<Option<usize>>,
    /// Each node's pending "next thread finishes" event and its time. It may come early
    /// (the node slowed down since): it then finds nothing done and is set again.
    due: Vec<Option<(EventId, SimTime)>>,
    /// Seconds each node was seen saturated (15-second samples).
    pub(crate) saturated_s: Vec<f64>,
}

impl CpNodes {
    /// `nodes` nodes of `vcpu` cores; `replicas` API servers placed round-robin, with
    /// CPU requests `api_request` and, if `stacked`, an etcd member of `etcd_request` on
    /// every node.
    pub(crate) fn new(
        nodes: u32,
        vcpu: f64,
        replicas: u32,
        api_request: f64,
        stacked: Option<f64>,
    ) -> Self {
        let nodes = nodes.max(1) as usize;
        let mut cpus: Vec<SharedCpu<u32>> = (0..nodes).map(|_| SharedCpu::new(vcpu)).collect();
        let replica = (0..replicas as usize)
            .map(|r| {
                let n = r % nodes;
                (n, cpus[n].add_class(api_request, f64::INFINITY))
            })
            .collect();
        let etcd = cpus
            .iter_mut()
            .map(|c| stacked.map(|req| c.add_class(req, f64::INFINITY)))
            .collect();
        CpNodes {
            cpus,
            replica,
            etcd,
            due: vec![None; nodes],
            saturated_s: vec![0.0; nodes],
        }
    }

    /// Counts a 15-second sample of each node: saturated when every core is busy.
    pub(crate) fn sample(&mut self, secs: f64) {
        for (n, cpu) in self.cpus.iter().enumerate() {
            if cpu.busy_cores() >= cpu.cores() - 1e-9 {
                self.saturated_s[n] += secs;
            }
        }
    }
}

impl World {
    /// Request `req` needs `work` of CPU on its replica's node, then `after` more of
    /// processing that is not CPU (webhooks, waits).
    pub(super) fn api_cpu(
        &mut self,
        sched: &mut Scheduler<Event>,
        replica: usize,
        work: SimDuration,
        req: u32,
    ) {
        let Some(nodes) = self.cp_nodes.as_mut() else {
            return;
        };
        let (n, class) = nodes.replica[replica];
        nodes.cpus[n].start(sched.now(), class, work, req);
        self.reschedule_node(sched, n);
    }

    /// Background CPU on replica `replica`'s node: the watch fan-out of a change.
    pub(super) fn api_background_cpu(
        &mut self,
        sched: &mut Scheduler<Event>,
        replica: usize,
        work: f64,
    ) {
        if work <= 0.0 {
            return;
        }
        let Some(nodes) = self.cp_nodes.as_mut() else {
            return;
        };
        let (n, class) = nodes.replica[replica];
        let work = SimDuration::from_secs_f64(work);
        nodes.cpus[n].add_background(sched.now(), class, work);
        self.reschedule_node(sched, n);
    }

    /// etcd's apply of committed writes, on every member's node when stacked.
    pub(super) fn etcd_cpu(&mut self, sched: &mut Scheduler<Event>, work: f64) {
        let Some(nodes) = self.cp_nodes.as_mut() else {
            return;
        };
        if work <= 0.0 {
            return;
        }
        let now = sched.now();
        let mut touched = Vec::new();
        for (n, class) in nodes.etcd.iter().enumerate() {
            if let Some(class) = *class {
                let work = SimDuration::from_secs_f64(work);
                nodes.cpus[n].add_background(now, class, work);
                touched.push(n);
            }
        }
        for n in touched {
            self.reschedule_node(sched, n);
        }
    }

    /// Node `n`'s next thread finishes.
    pub(super) fn node_cpu_done(&mut self, sched: &mut Scheduler<Event>, n: usize) {
        let now = sched.now();
        let nodes = self.cp_nodes.as_mut().expect("nodes share their CPU");
        nodes.due[n] = None;
        let done = nodes.cpus[n].finish(now);
        self.reschedule_node(sched, n);
        for req in done {
            let after = self.reqs.get(req).expect("live request").after_cpu;
            sched.schedule_in(after, Event::RequestProcessed(req));
        }
    }

    fn reschedule_node(&mut self, sched: &mut Scheduler<Event>, n: usize) {
        let nodes = self.cp_nodes.as_mut().expect("nodes share their CPU");
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
