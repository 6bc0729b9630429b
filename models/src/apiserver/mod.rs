//! The Kubernetes API server: its replicas, each with API Priority and Fairness's
//! priority levels ([`apf`]) and the CPU its requests have used; and the client side of
//! a request, client-go's token bucket ([`client_limiter`]). A request's path through
//! them is [`crate::world`]'s (`world/requests.rs`).

pub mod apf;
pub mod client_limiter;
pub mod watch_cache;

use apf::{PriorityLevelConfig, PriorityLevels};

/// One API server replica: its Priority and Fairness levels and the CPU it has used.
pub(crate) struct ApiServerRt {
    pub(crate) levels: PriorityLevels<u32>,
    pub(crate) cpu_seconds: f64,
}

impl ApiServerRt {
    /// `replicas` API servers, each with `levels` sharing `seats` (APF's server-wide
    /// concurrency: the sum of `max-requests-inflight` and
    /// `max-mutating-requests-inflight`), served by fair queuing when `fair`, lending
    /// and borrowing seats when `borrowing`.
    pub(crate) fn replicas(
        replicas: u32,
        seats: u32,
        levels: &[PriorityLevelConfig],
        (fair, borrowing): (bool, bool),
    ) -> Vec<Self> {
        (0..replicas)
            .map(|_| ApiServerRt {
                levels: PriorityLevels::new(levels, seats, fair, borrowing),
                cpu_seconds: 0.0,
            })
            .collect()
    }
}
