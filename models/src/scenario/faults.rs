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
use serde_json::Value;
use sim_core::SimDuration;

use super::config::ConfigError;
use super::{Ctx, scalar_text};
use crate::units::{Secs, parse_secs};

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

/// The managers by name; the last two are the infrastructure provider's, CAPX's or CAPD's
/// (both the fourth manager).
pub(super) const MANAGER_NAMES: [&str; 5] = [
    "capi-controller-manager",
    "capi-kubeadm-bootstrap",
    "capi-kubeadm-control-plane",
    "capx-controller-manager",
    "capd-controller-manager",
];

/// The `faults:` list: each entry's kind, its fields and their ranges. One arm per
/// fault kind, each checking its own fields, which is why the function is long.
pub(super) fn parse_faults(ctx: &Ctx, v: &Value) -> Result<Vec<Fault>, ConfigError> {
    let Value::Array(items) = v else {
        let hint = "must be a list, e.g. - prism-central-outage: {at: 30m, duration: 10m}";
        return Err(ctx.err("faults", "faults", &scalar_text(v), hint.into()));
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let field = format!("faults[{i}]");
        let Value::Object(m) = item else {
            let hint = "each fault is a mapping like prism-central-outage: {...}";
            return Err(ctx.err("faults", &field, &scalar_text(item), hint.into()));
        };
        let Some((kind, body)) = m.iter().next().filter(|_| m.len() == 1) else {
            let hint = "each list item holds exactly one fault";
            return Err(ctx.err("faults", &field, "", hint.into()));
        };
        let kf = format!("{field}.{kind}");
        let Value::Object(b) = body else {
            let hint = "must be a mapping with at, duration, ...";
            return Err(ctx.err(kind, &kf, &scalar_text(body), hint.into()));
        };
        let dur = |key: &str| -> Result<sim_core::SimDuration, ConfigError> {
            let f = format!("{kf}.{key}");
            let Some(v) = b.get(key) else {
                return Err(ctx.err(kind, &f, "", "is required (a duration such as 30m)".into()));
            };
            let text = scalar_text(v);
            parse_secs(&text)
                .map(sim_core::SimDuration::from_secs_f64)
                .map_err(|e| ctx.err(key, &f, &text, e))
        };
        let allowed: &[&str] = match kind.as_str() {
            "prism-central-outage" => &["at", "duration"],
            "etcd-disk-latency-spike" => &["at", "duration", "factor"],
            "controller-restart" => &["at", "manager", "every"],
            "vm-create-failures" => &["probability", "at", "duration"],
            "machine-health-check" => &["node-startup-timeout", "unhealthy-timeout"],
            "node-failures" => &["every", "at"],
            other => {
                let why = "unknown fault; choose from prism-central-outage, \
                           etcd-disk-latency-spike, controller-restart, vm-create-failures, \
                           machine-health-check, node-failures";
                return Err(ctx.err(other, &kf, "", why.into()));
            }
        };
        if let Some(k) = b.keys().find(|k| !allowed.contains(&k.as_str())) {
            let why = format!("unknown key; expected {}", allowed.join(", "));
            return Err(ctx.err(k, &format!("{kf}.{k}"), "", why));
        }
        out.push(match kind.as_str() {
            "prism-central-outage" => Fault::PrismCentralOutage {
                at: dur("at")?,
                duration: dur("duration")?,
            },
            "etcd-disk-latency-spike" => {
                let f = format!("{kf}.factor");
                let Some(v) = b.get("factor") else {
                    let why = "is required (e.g. 20 for twenty times slower)";
                    return Err(ctx.err(kind, &f, "", why.into()));
                };
                let factor = v
                    .as_f64()
                    .filter(|x| (1.0..=10_000.0).contains(x))
                    .ok_or_else(|| {
                        ctx.err(
                            "factor",
                            &f,
                            &scalar_text(v),
                            "must be a number from 1 to 10000".into(),
                        )
                    })?;
                Fault::EtcdDiskLatencySpike {
                    at: dur("at")?,
                    duration: dur("duration")?,
                    factor,
                }
            }
            "machine-health-check" => {
                let timeout = if b.contains_key("node-startup-timeout") {
                    dur("node-startup-timeout")?
                } else {
                    sim_core::SimDuration::from_secs(600)
                };
                if timeout < sim_core::SimDuration::from_secs(60) {
                    let f = format!("{kf}.node-startup-timeout");
                    let why = "must be at least 1m (CAPI's default is 10m)";
                    return Err(ctx.err(
                        "node-startup-timeout",
                        &f,
                        &timeout.to_string(),
                        why.into(),
                    ));
                }
                let unhealthy_timeout = if b.contains_key("unhealthy-timeout") {
                    dur("unhealthy-timeout")?
                } else {
                    sim_core::SimDuration::from_secs(300)
                };
                if unhealthy_timeout < sim_core::SimDuration::from_secs(10) {
                    let why = "must be at least 10s (CAPI's examples use 300s)";
                    return Err(ctx.err(
                        "unhealthy-timeout",
                        &format!("{kf}.unhealthy-timeout"),
                        &unhealthy_timeout.to_string(),
                        why.into(),
                    ));
                }
                Fault::MachineHealthCheck {
                    node_startup_timeout: timeout,
                    unhealthy_timeout,
                }
            }
            "node-failures" => {
                let every = dur("every")?;
                if every < sim_core::SimDuration::from_secs(60) {
                    let why = "must be at least 1m (the mean time between node failures)";
                    return Err(ctx.err(
                        "every",
                        &format!("{kf}.every"),
                        &every.to_string(),
                        why.into(),
                    ));
                }
                let at = if b.contains_key("at") {
                    dur("at")?
                } else {
                    sim_core::SimDuration::ZERO
                };
                Fault::NodeFailures { at, every }
            }
            "vm-create-failures" => {
                let f = format!("{kf}.probability");
                let Some(v) = b.get("probability") else {
                    let why = "is required (e.g. 0.05 for one create in twenty)";
                    return Err(ctx.err(kind, &f, "", why.into()));
                };
                let probability = v.as_f64().filter(|x| (0.0..=0.95).contains(x)).ok_or_else(
                    || {
                        let why = "must be a number from 0 to 0.95 (CAPX retries every failure, \
                                   so 1 would never finish)";
                        ctx.err("probability", &f, &scalar_text(v), why.into())
                    },
                )?;
                Fault::VmCreateFailures {
                    probability,
                    at: if b.contains_key("at") {
                        dur("at")?
                    } else {
                        sim_core::SimDuration::ZERO
                    },
                    duration: if b.contains_key("duration") {
                        Some(dur("duration")?)
                    } else {
                        None
                    },
                }
            }
            _ => {
                let f = format!("{kf}.manager");
                let name = b.get("manager").map(scalar_text).unwrap_or_default();
                let manager = MANAGER_NAMES
                    .iter()
                    .position(|m| *m == name)
                    .map(|i| i.min(3))
                    .ok_or_else(|| {
                        let why = format!("choose from {}", MANAGER_NAMES.join(", "));
                        ctx.err("manager", &f, &name, why)
                    })?;
                let every = if b.contains_key("every") {
                    let every = dur("every")?;
                    if every < sim_core::SimDuration::from_secs(60) {
                        let why = "must be at least 1m (the mean time between restarts)";
                        return Err(ctx.err(
                            "every",
                            &format!("{kf}.every"),
                            &every.to_string(),
                            why.into(),
                        ));
                    }
                    Some(every)
                } else {
                    None
                };
                let at = if every.is_some() && !b.contains_key("at") {
                    sim_core::SimDuration::ZERO
                } else {
                    dur("at")?
                };
                Fault::ControllerRestart { manager, at, every }
            }
        });
    }
    Ok(out)
}

/// A fault as a scenario file writes it.
pub(super) fn fault_value(f: &Fault) -> Value {
    let d = |x: sim_core::SimDuration| Value::String(Secs(x.as_secs_f64()).to_string());
    match *f {
        Fault::PrismCentralOutage { at, duration } => {
            serde_json::json!({ "prism-central-outage": { "at": d(at), "duration": d(duration) } })
        }
        Fault::EtcdDiskLatencySpike {
            at,
            duration,
            factor,
        } => serde_json::json!({
            "etcd-disk-latency-spike": { "at": d(at), "duration": d(duration), "factor": factor }
        }),
        Fault::VmCreateFailures {
            probability,
            at,
            duration,
        } => {
            let mut body = serde_json::json!({ "probability": probability, "at": d(at) });
            if let Some(len) = duration {
                body["duration"] = d(len);
            }
            serde_json::json!({ "vm-create-failures": body })
        }
        Fault::MachineHealthCheck {
            node_startup_timeout,
            unhealthy_timeout,
        } => serde_json::json!({
            "machine-health-check": {
                "node-startup-timeout": d(node_startup_timeout),
                "unhealthy-timeout": d(unhealthy_timeout),
            }
        }),
        Fault::NodeFailures { at, every } => serde_json::json!({
            "node-failures": { "at": d(at), "every": d(every) }
        }),
        Fault::ControllerRestart { manager, at, every } => {
            let mut body = serde_json::json!({ "manager": MANAGER_NAMES[manager], "at": d(at) });
            if let Some(every) = every {
                body["every"] = d(every);
            }
            serde_json::json!({ "controller-restart": body })
        }
    }
}
