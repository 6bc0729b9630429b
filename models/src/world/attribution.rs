//! Bottleneck attribution: every wait on a machine's (or a cluster's) path to Running is
//! charged to the resource it waited at. A key waiting in a workqueue is charged to what
//! the busy workers were doing meanwhile (waiting at a resource, or in service), so a
//! queue behind workers blocked on Prism Central counts as Prism Central's.

use sim_core::{SimDuration, SimTime};

use super::World;
use crate::controllers::manager::ctrl_advance;
use crate::kinds::{Controller, KeySpace};
use crate::recipe::Target;

/// Where time is spent waiting, for bottleneck attribution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resource {
    /// The manager's client-side token bucket.
    RateLimiter,
    /// A controller's workqueue, waiting for a worker.
    Workqueue,
    /// The controller pod's CPU limit (throttling).
    Cpu,
    /// APF queues of the API server, 429 retries included.
    ApfQueue,
    /// etcd: waiting for the next group commit and the commit itself.
    Etcd,
    /// Prism Central: task slots and 429 retries.
    PrismCentral,
}

impl Resource {
    /// Every resource, in report order.
    pub const ALL: [Resource; 6] = [
        Resource::RateLimiter,
        Resource::Workqueue,
        Resource::Cpu,
        Resource::ApfQueue,
        Resource::Etcd,
        Resource::PrismCentral,
    ];

    /// Name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Resource::RateLimiter => "rate-limiter",
            Resource::Workqueue => "workqueue",
            Resource::Cpu => "controller-cpu",
            Resource::ApfQueue => "apf-queue",
            Resource::Etcd => "etcd",
            Resource::PrismCentral => "prism-central",
        }
    }
}

/// Time in service, for the attribution's other half.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    /// Reconcile CPU.
    Reconcile,
    /// API server processing.
    ApiServer,
    /// Prism Central calls and tasks.
    PrismCentral,
    /// VM boot and kubeadm.
    Boot,
}

/// Who a wait is on behalf of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Owner {
    None,
    Cluster(u32),
    Machine(u32),
}

impl From<Target> for Owner {
    fn from(t: Target) -> Self {
        match t {
            Target::Cluster(c) => Owner::Cluster(c),
            Target::Machine(m) => Owner::Machine(m),
        }
    }
}

impl World {
    pub(super) fn owner_of(ctrl: Controller, key: u32) -> Owner {
        match ctrl.key_space() {
            KeySpace::Cluster => Owner::Cluster(key),
            KeySpace::Machine => Owner::Machine(key),
        }
    }

    pub(super) fn wait(&mut self, owner: Owner, r: Resource, d: SimDuration) {
        self.wait_secs(owner, r, d.as_secs_f64());
    }

    /// Charges a wait to its owner's path to Running; waits after the machine runs (or
    /// the cluster is ready) are off that path.
    pub(super) fn wait_secs(&mut self, owner: Owner, r: Resource, s: f64) {
        match owner {
            Owner::Machine(m) if self.machines[m as usize].running => {}
            Owner::Cluster(c) if self.clusters[c as usize].ready_at.is_some() => {}
            Owner::Machine(m) => self.metrics.machine_waits[m as usize][r as usize] += s,
            Owner::Cluster(c) => self.metrics.cluster_waits[c as usize][r as usize] += s,
            Owner::None => {}
        }
    }

    /// The reconcile's worker now waits at `cat` (or is in service: `Workqueue`).
    pub(super) fn set_activity(&mut self, now: SimTime, rec: u32, cat: Resource) {
        let Some(r) = self.recs.get_mut(rec) else {
            return;
        };
        if r.epoch != self.managers[r.mi].epoch || r.activity == cat as u8 {
            return;
        }
        let ct = &mut self.ctrls[r.ci];
        ctrl_advance(ct, now);
        ct.activity[r.activity as usize] -= 1;
        ct.activity[cat as usize] += 1;
        r.activity = cat as u8;
    }

    /// `key` became ready for a worker of controller instance `ci` now.
    pub(super) fn mark_ready(&mut self, now: SimTime, ci: usize, key: u32) {
        let ct = &mut self.ctrls[ci];
        ctrl_advance(ct, now);
        let k = key as usize;
        if k >= ct.ready_snap.len() {
            ct.ready_snap.resize(k + 1, [0.0; 6]);
        }
        ct.ready_snap[k] = ct.activity_integral;
    }

    /// An item waited `waited` for a worker because every worker was busy. The wait is
    /// charged to what those workers were doing meanwhile: waiting at a resource (that
    /// resource is the cause) or in service (too few workers: the workqueue).
    pub(super) fn charge_queue_wait(
        &mut self,
        now: SimTime,
        ci: usize,
        key: u32,
        waited: SimDuration,
    ) {
        let w = waited.as_secs_f64();
        if w <= 0.0 {
            return;
        }
        let ctrl = self.ctrls[ci].ctrl;
        let ct = &mut self.ctrls[ci];
        ctrl_advance(ct, now);
        let snap = ct
            .ready_snap
            .get(key as usize)
            .copied()
            .unwrap_or(ct.activity_integral);
        let delta: [f64; 6] = std::array::from_fn(|i| (ct.activity_integral[i] - snap[i]).max(0.0));
        let total: f64 = delta.iter().sum();
        let owner = Self::owner_of(ctrl, key);
        if total > 0.0 {
            for r in Resource::ALL {
                let share = delta[r as usize] / total;
                if share > 0.0 {
                    self.wait_secs(owner, r, w * share);
                }
            }
            let in_service = w * delta[Resource::Workqueue as usize] / total;
            self.metrics.queue_wait_by_ctrl[ctrl.index()] += in_service;
        } else {
            self.wait_secs(owner, Resource::Workqueue, w);
            self.metrics.queue_wait_by_ctrl[ctrl.index()] += w;
        }
    }
}
