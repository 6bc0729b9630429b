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
//! Central's task slots), so they are reported, not fitted: separating the service from
//! the queueing in them is the next part of this command (docs/calibration.md).

mod fit;
mod kubectl;

pub use fit::{Fit, fit_lognormal};
pub use kubectl::{Exclusions, MachineTimes, Role, parse_machines};

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

/// The fits of every (role, phase) with at least two durations.
pub fn fit_phases(machines: &[MachineTimes]) -> Vec<PhaseFit> {
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
            let Some(fit) = fit_lognormal(&d) else {
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

/// The fitted knobs as a scenario overlay (`--out`): each knob with a comment naming
/// its data.
pub fn overlay(fits: &[PhaseFit], sources: &str) -> String {
    let mut o = format!(
        "# capsim calibrate machines: phase times fitted from {sources}\n\
         # Each knob: a lognormal fitted by maximum likelihood; n, the Kolmogorov-Smirnov\n\
         # distance of the fit, and the data's date range in its comment.\nmachine-boot:\n"
    );
    for f in fits {
        let Some(knob) = f.knob else { continue };
        let name = knob.trim_start_matches("machine-boot.");
        let (p50, p95) = (round3(f.fit.p50), round3(f.fit.p95));
        o.push_str(&format!(
            "  {name}: {{lognormal: {{p50: {p50}, p95: {p95}}}}}  # n={}, KS D={:.3}, created {} to {}\n",
            f.fit.n, f.fit.ks, f.dates.0, f.dates.1
        ));
    }
    o
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}
