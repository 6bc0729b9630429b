//! The Kubernetes API server: admission through API Priority and Fairness, per-request
//! CPU cost, and the watch fan-out of every write.

pub mod apf;
pub mod client_limiter;

use apf::{PriorityLevel, PriorityLevelConfig};

use crate::scenario::config::ApiServerConfig;

/// One API server replica: its Priority and Fairness levels and the CPU it has used.
pub(crate) struct ApiServerRt {
    pub(crate) levels: Vec<PriorityLevel<u32>>,
    pub(crate) cpu_seconds: f64,
}

impl ApiServerRt {
    /// The configured replicas, each with `levels` sharing its inflight limits (the sum of
    /// `max-requests-inflight` and `max-mutating-requests-inflight`, as APF does).
    pub(crate) fn replicas(api: &ApiServerConfig, levels: &[PriorityLevelConfig]) -> Vec<Self> {
        let seats = apf::nominal_limits(
            api.max_requests_inflight + api.max_mutating_requests_inflight,
            levels,
        );
        (0..api.replicas)
            .map(|_| ApiServerRt {
                levels: levels
                    .iter()
                    .zip(&seats)
                    .map(|(l, &s)| PriorityLevel::new(l, s))
                    .collect(),
                cpu_seconds: 0.0,
            })
            .collect()
    }
}
