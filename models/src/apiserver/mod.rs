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
    /// Memory held by the LIST responses it is building and sending [bytes].
    pub(crate) list_bytes: f64,
    /// Its memory at the last 15-second sample, LIST responses left out: base, watch
    /// cache, event rings, watchers [bytes].
    pub(crate) sampled_bytes: f64,
    /// Whether it serves (not OOM-killed and restarting).
    pub(crate) up: bool,
    /// Times the kernel's OOM killer killed it [count].
    pub(crate) oom_kills: u32,
    /// Kills since it last ran 10 minutes (the kubelet's CrashLoopBackOff count).
    pub(crate) crash_loop: u32,
    /// When it last started serving.
    pub(crate) restarted_at: sim_core::SimTime,
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
                list_bytes: 0.0,
                sampled_bytes: 0.0,
                up: true,
                oom_kills: 0,
                crash_loop: 0,
                restarted_at: sim_core::SimTime::ZERO,
            })
            .collect()
    }
}
