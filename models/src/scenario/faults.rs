//! Faults injected into a run at given simulated times.
//!
//! - A Prism Central outage: every API request fails (the v4 SDK retries 503 like 429,
//!   5 attempts 3 s apart, then the call fails) and no task progresses; tasks due to finish
//!   during the outage finish when it ends, plus what they had left.
//! - An etcd disk-latency spike: WAL fsync latency multiplied by a factor.
//! - A controller restart: the manager's process is killed and restarts as after an OOM
//!   kill (queues lost, relist, re-enqueue), without counting as one. At a time, or as a
//!   rate: exponential gaps with a given mean (a Poisson process), as independent crashes
//!   or evictions would come.
//! - Node failures: a running worker's node goes NotReady (a host failure, a kubelet
//!   crash), at random with a mean gap; a MachineHealthCheck replaces it.
//! - VM-create failures: each VM create task that finishes inside the window fails with
//!   the given probability. CAPX v1.10.0 treats a failed task as a retryable error: the
//!   reconcile returns it, controller-runtime requeues the NutanixMachine with its
//!   per-item backoff, and the next reconcile looks the VM up and creates it again
//!   (`getOrCreateVM`; FailureReason is set only for 4xx answers to the create call, which
//!   are not simulated).

use serde::Serialize;
use sim_core::SimDuration;

/// One fault.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fault {
    /// Prism Central answers nothing from `at` for `duration`.
    PrismCentralOutage {
        /// Start, from the beginning of the run.
        at: SimDuration,
        /// Length.
        duration: SimDuration,
    },
    /// etcd's WAL fsync is `factor` times slower from `at` for `duration`.
    EtcdDiskLatencySpike {
        /// Start.
        at: SimDuration,
        /// Length.
        duration: SimDuration,
        /// Multiplier of the fsync latency.
        factor: f64,
    },
    /// Manager `manager` (index in the configuration's order) restarts at `at`, or, with
    /// `every`, at random from `at` on: a Poisson process with that mean interval.
    ControllerRestart {
        /// Index of the manager.
        manager: usize,
        /// When (with `every`: from when).
        at: SimDuration,
        /// Mean time between restarts, drawn exponentially from the run's
        /// `controller-restarts` stream.
        every: Option<SimDuration>,
    },
    /// Every cluster has a MachineHealthCheck on its workers: a Machine with no node
    /// `node_startup_timeout` after it was created (or the control plane initialized, if
    /// later) is marked unhealthy, and its MachineSet deletes and replaces it.
    MachineHealthCheck {
        /// `spec.checks.nodeStartupTimeoutSeconds` (CAPI default 600 s).
        node_startup_timeout: SimDuration,
        /// The timeout of its `unhealthyNodeConditions` entries for Ready False or
        /// Unknown: how long a node may be NotReady before its Machine is unhealthy.
        unhealthy_timeout: SimDuration,
    },
    /// From `at` on, a worker's node goes NotReady at random, fleet-wide, one at a time:
    /// a Poisson process with mean gap `every` over each management cluster's running
    /// workers. Its Machine's NodeHealthy turns False; a MachineHealthCheck, if there is
    /// one, remediates it after its unhealthy timeout.
    NodeFailures {
        /// From when.
        at: SimDuration,
        /// Mean time between failures in the management cluster's fleet.
        every: SimDuration,
    },
    /// VM create tasks finishing from `at` for `duration` (to the end of the run when
    /// absent) fail with `probability`.
    VmCreateFailures {
        /// Chance that one task fails, in [0, 1].
        probability: f64,
        /// Start.
        at: SimDuration,
        /// Length; to the end of the run when absent.
        duration: Option<SimDuration>,
    },
}

impl Fault {
    /// The chance that a VM create task finishing at `t` (from the start of the run)
    /// fails under this fault: its probability inside its window, else 0.
    pub fn vm_create_failure_at(&self, t: SimDuration) -> f64 {
        match *self {
            Fault::VmCreateFailures {
                probability,
                at,
                duration,
            } if t >= at && duration.is_none_or(|d| t < at + d) => probability,
            _ => 0.0,
        }
    }
}
