//! Faults injected into a run at given simulated times.
//!
//! - A Prism Central outage: every API request fails (the v4 SDK retries 503 like 429,
//!   5 attempts 3 s apart, then the call fails) and no task progresses; tasks due to finish
//!   during the outage finish when it ends, plus what they had left.
//! - An etcd disk-latency spike: WAL fsync latency multiplied by a factor.
//! - A controller restart: the manager's process is killed and restarts as after an OOM
//!   kill (queues lost, relist, re-enqueue), without counting as one.

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
    /// Manager `manager` (index in the configuration's order) restarts at `at`.
    ControllerRestart {
        /// Index of the manager.
        manager: usize,
        /// When.
        at: SimDuration,
    },
}
