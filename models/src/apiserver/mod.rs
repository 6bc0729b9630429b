//! The Kubernetes API server: admission through API Priority and Fairness, per-request
//! CPU cost, and the watch fan-out of every write.

pub mod apf;
pub mod client_limiter;

use apf::PriorityLevel;

/// One API server replica: its Priority and Fairness levels and the CPU it has used.
pub(crate) struct ApiServerRt {
    pub(crate) levels: Vec<PriorityLevel<u32>>,
    pub(crate) cpu_seconds: f64,
}
