//! `capsim calibrate`: fit capsim's estimated phase times to a user's own cluster.
//!
//! This first part reads the Machines of `kubectl get machines -A -o json` (a `kind:
//! List`, as kubectl prints it; other kinds in it are passed over) and takes, per Machine,
//! the phase times its timestamps show: created → `BootstrapReady` (v1beta1;
//! `BootstrapConfigReady` in v1beta2) → `InfrastructureReady` → `NodeHealthy` (or
//! `NodeReady`), each condition's `lastTransitionTime` of its True status. The boot phase
//! (infrastructure ready → node healthy: boot and `kubeadm join`, or `kubeadm init` for a
//! cluster's first control-plane Machine) is a service time of its own, with nothing to
//! queue for, and is fitted as capsim's `machine-boot` knobs. The other phases contain
//! queueing (a worker waits for its control plane; a VM for CAPX's workers and Prism
//! Central's task slots), so they are reported, not fitted from the Machines.
//!
//! The VM operations' service times come from Prism Central's task list instead
//! ([`tasks`], [`slots`]): its created, started and completed times separate the wait for
//! a task slot from the time the slot was held.
//!
//! `capsim calibrate prometheus` compares the management cluster's own Prometheus series
//! with capsim's over the same workload ([`series`]).

mod fit;
mod kubectl;
mod series;
mod slots;
mod tasks;

pub use fit::{Fit, Shape, fit, fit_lognormal};
pub use kubectl::{
    ClusterTimes, Exclusions, MachineTimes, Role, parse_clusters, parse_machines, parse_time,
};
pub use series::{
    MANAGER_NAMESPACES, Metric, RATE_WINDOW_S, Series, SeriesError, compare, parse_query_range,
    simulated, to_query_range,
};
pub use slots::{KindFit, Separation, SlotsFrom, separate};
pub use tasks::{Task, TaskExclusions, operation_kind, parse_tasks};

/// What a phase is, as the report names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Created → bootstrap data ready.
    Bootstrap,
    /// Bootstrap data → infrastructure ready (the VM created and powered on).
    Infrastructure,
    /// Infrastructure ready → node healthy (boot, kubeadm init or join).
    Boot,
}

impl Phase {
    /// The phase's name in tables and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Bootstrap => "bootstrap",
            Phase::Infrastructure => "infrastructure",
            Phase::Boot => "boot",
        }
    }
}

/// One phase of one role, fitted.
#[derive(Clone, Debug, PartialEq)]
pub struct PhaseFit {
    /// Which Machines.
    pub role: Role,
    /// Which phase.
    pub phase: Phase,
    /// The lognormal fit of its durations (n ≥ 2).
    pub fit: Fit,
    /// The knob it sets (`machine-boot.worker-join`), if it is a service time capsim
    /// takes as a knob.
    pub knob: Option<&'static str>,
    /// The earliest and latest creation time of its Machines (RFC 3339).
    pub dates: (String, String),
}

/// The fits of `shape` to every (role, phase) with at least two durations.
pub fn fit_phases(machines: &[MachineTimes], shape: Shape) -> Vec<PhaseFit> {
    let mut out = Vec::new();
    for role in [Role::ControlPlaneInit, Role::ControlPlaneJoin, Role::Worker] {
        for phase in [Phase::Bootstrap, Phase::Infrastructure, Phase::Boot] {
            let with: Vec<&MachineTimes> = machines
                .iter()
                .filter(|m| m.role == role && m.phase(phase).is_some())
                .collect();
            let d: Vec<f64> = with.iter().filter_map(|m| m.phase(phase)).collect();
            let by_time = |a: &&&MachineTimes, b: &&&MachineTimes| a.created.total_cmp(&b.created);
            let dates = match (with.iter().min_by(by_time), with.iter().max_by(by_time)) {
                (Some(a), Some(b)) => (a.created_text.clone(), b.created_text.clone()),
                _ => Default::default(),
            };
            let Some(fit) = fit::fit(&d, shape) else {
                continue;
            };
            let knob = (phase == Phase::Boot).then_some(match role {
                Role::ControlPlaneInit => "machine-boot.control-plane-init",
                Role::ControlPlaneJoin => "machine-boot.control-plane-join",
                Role::Worker => "machine-boot.worker-join",
            });
            out.push(PhaseFit {
                role,
                phase,
                fit,
                knob,
                dates,
            });
        }
    }
    out
}

/// One fitted knob of the overlay.
#[derive(Clone, Debug, PartialEq)]
pub struct FittedKnob {
    /// Its dotted path (`machine-boot.worker-join`).
    pub path: String,
    /// Its value, as YAML (`{lognormal: {p50: 90.1, p95: 151.2}}`).
    pub value: String,
    /// What it was fitted from (n, the fit's quality, the dates).
    pub data: String,
    /// Its narrowed range for `--uncertainty`, as an entry of `presets/uncertainty.yaml`
    /// (`{scale: [0.97, 1.03], why: "..."}`); `None` keeps the built-in range.
    pub range: Option<String>,
}

/// z of the 97.5th percentile of the standard normal: a 95 % interval's half-width.
const Z975: f64 = 1.959_963_984_540_054;

impl FittedKnob {
    /// A knob from `fit`, with the 95 % confidence interval of the fit's 95th percentile
    /// as its range: one factor on the whole value, as the built-in ranges are, given
    /// that the shape is right.
    /// - lognormal: σ̂·√((1 + z²/2)/n) either side in logarithms (the delta method; it
    ///   also covers the median's);
    /// - normal: the same in seconds, σ̂·√((1 + z²/2)/n), as a fraction of the p95;
    /// - uniform: the largest value's, 3·(max − min)/n (the chance that n draws all fall
    ///   that far below the true maximum is 5 %), as a fraction of the maximum.
    pub fn of_fit(path: &str, fit: &Fit, data: String) -> FittedKnob {
        let z = crate::dist::Z95;
        let spread = ((1.0 + z * z / 2.0) / fit.n as f64).sqrt();
        let (lo, hi) = match fit.shape {
            Shape::Lognormal => {
                let half = Z975 * fit.b * spread;
                ((-half).exp(), half.exp())
            }
            Shape::Normal => {
                let f = Z975 * fit.b * spread / fit.p95.max(1e-9);
                ((1.0 - f).max(0.01), 1.0 + f)
            }
            Shape::Uniform => {
                let f = 3.0 * (fit.b - fit.a) / fit.n as f64 / fit.b.max(1e-9);
                ((1.0 - f).max(0.01), 1.0 + f)
            }
        };
        FittedKnob {
            path: path.into(),
            value: fit.value(),
            range: Some(format!(
                "{{scale: [{}, {}], why: \"calibrated: 95% interval of the fitted p95 from {data}\"}}",
                round3(lo),
                round3(hi)
            )),
            data,
        }
    }
}

/// The boot phases' knobs of `fits`.
pub fn boot_knobs(fits: &[PhaseFit]) -> Vec<FittedKnob> {
    fits.iter()
        .filter_map(|f| {
            let data = format!(
                "n={} Machines created {} to {}, KS D={:.3}",
                f.fit.n, f.dates.0, f.dates.1, f.fit.ks
            );
            Some(FittedKnob::of_fit(f.knob?, &f.fit, data))
        })
        .collect()
}

/// Prism Central's knobs from a separation of its task list (`dates`: the tasks' first
/// and last creation, RFC 3339): each VM operation's service time, and the load slowdown
/// and slot count they were read with (ranges only for what the data fitted).
pub fn task_knobs(sep: &Separation, dates: (&str, &str)) -> Vec<FittedKnob> {
    let mut out: Vec<FittedKnob> = sep
        .kinds
        .iter()
        .map(|k| {
            let path = match k.kind {
                crate::prism_central::TaskKind::VmCreate => "prism-central.vm-create",
                crate::prism_central::TaskKind::VmUpdate => "prism-central.vm-update",
                crate::prism_central::TaskKind::VmPowerOn => "prism-central.vm-power-on",
                crate::prism_central::TaskKind::VmDelete => "prism-central.vm-delete",
            };
            let data = format!(
                "n={} tasks created {} to {}, slot held / (1 + {}·k/{}), KS D={:.3}",
                k.service.n, dates.0, dates.1, sep.slowdown, sep.slots, k.service.ks
            );
            FittedKnob::of_fit(path, &k.service, data)
        })
        .collect();
    // The slowdown and the slot count the service times were divided with, so that a
    // run of the overlay stretches them back as the data did. Only a fit narrows a range;
    // a given or default value keeps the built-in one.
    let n_tasks = sep.kinds.iter().map(|k| k.service.n).sum::<usize>();
    let (data, range) = match sep.slowdown_fit {
        Some((_, lo, hi)) if !sep.slowdown_given => {
            let data = format!(
                "maximum likelihood over {n_tasks} tasks created {} to {}",
                dates.0, dates.1
            );
            let range = format!(
                "{{range: [{}, {}], why: \"calibrated: 95% likelihood interval, {data}\"}}",
                round3(lo),
                round3(hi)
            );
            (data, Some(range))
        }
        _ if sep.slowdown_given => (
            "given to capsim calibrate (the service times were divided with it)".to_string(),
            None,
        ),
        _ => (
            format!(
                "not fitted: the loads of {n_tasks} tasks did not bound it; capsim's default, \
                 which the service times were divided with"
            ),
            None,
        ),
    };
    out.push(FittedKnob {
        path: "prism-central.load-slowdown".into(),
        value: format!("{}", round3(sep.slowdown)),
        data,
        range,
    });
    let (range, data) = match sep.slots_from {
        SlotsFrom::Saturated => {
            let data = format!(
                "the most tasks running at once while {} waited for a slot, {} to {}",
                sep.waited, dates.0, dates.1
            );
            (format!("{{hold: \"calibrated: {data}\"}}"), data)
        }
        SlotsFrom::Given => {
            let data = "given to capsim calibrate (the loads were read with it)".to_string();
            (format!("{{hold: \"{data}\"}}"), data)
        }
        // Written even so, so that a run of the overlay reads the loads as the fit did.
        SlotsFrom::LowerBound => (
            String::new(),
            format!(
                "not seen full: no task waited for a slot, so the {} that ran at once is \
                 only a lower bound; capsim's own {} (or that peak, if more), which the \
                 loads were read with",
                sep.peak_running, sep.default_slots
            ),
        ),
    };
    out.push(FittedKnob {
        path: "prism-central.max-concurrent-tasks".into(),
        value: sep.slots.to_string(),
        data,
        range: (!range.is_empty()).then_some(range),
    });
    out
}

/// The fitted knobs as a scenario overlay (`--out`): each knob with a comment naming its
/// data, then the narrowed ranges `capsim sweep --uncertainty` draws from, and the
/// sources (`calibrated-from`), which a sweep names beside its verdict.
pub fn overlay(knobs: &[FittedKnob], sources: &str) -> String {
    let mut o = format!(
        "# capsim calibrate: estimates fitted from {sources}\n\
         # Each knob: its shape fitted by maximum likelihood unless said otherwise, with\n\
         # its data in the comment. `uncertainty` holds the fits' 95% intervals: capsim\n\
         # sweep --uncertainty draws these knobs from them instead of the built-in ranges.\n{}",
        crate::scenario::yaml_line("calibrated-from", sources),
        sources = sources.replace(['\n', '\r'], " "),
    );
    let mut section = "";
    for k in knobs {
        let (head, name) = k.path.split_once('.').expect("a dotted knob path");
        if head != section {
            o.push_str(&format!("{head}:\n"));
            section = head;
        }
        o.push_str(&format!("  {name}: {}  # {}\n", k.value, k.data));
    }
    let ranges: Vec<&FittedKnob> = knobs.iter().filter(|k| k.range.is_some()).collect();
    if !ranges.is_empty() {
        o.push_str("uncertainty:\n");
    }
    for k in ranges {
        o.push_str(&format!(
            "  {}: {}\n",
            k.path,
            k.range.as_deref().unwrap_or_default()
        ));
    }
    o
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}
