//! The search's configurations run as fleets: a point's overrides make a run plan, its
//! replicas run in parallel, and each is judged against the checklist and the targets.
//! Then the verification: the configuration found, re-run on fresh streams.

use rayon::prelude::*;
use serde::Serialize;
use sim_core::stats::binomial::{self, PassRule};

use super::cost;
use super::search::{Oracle, Outcome, Screened};
use super::space::{Knob, overrides};
use crate::run::figures::figures_of;
use crate::run::report::RunReport;
use crate::run::report::bom::NeededBy;
use crate::run::{RunPlan, run};
use crate::scenario::presets::Override;
use crate::units::parse_secs;

/// The targets `--target` may set: name, figure, and what the output calls it.
pub const TARGETS: &[(&str, &str, &str)] = &[
    ("fleet-time", "fleet_time_to_ready_s", "fleet time to ready"),
    (
        "cluster-ready-p95",
        "cluster_ready_p95_s",
        "cluster ready p95",
    ),
    ("vm-create-p95", "pc_vm_create_p95_s", "VM create p95"),
    ("api-mutating-p99", "api_mutating_p99_s", "API mutating p99"),
];

/// A limit a figure must stay within, besides the checklist.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Target {
    /// As given: `fleet-time`.
    pub name: String,
    /// The figure it limits (docs/outputs.md).
    pub figure: String,
    /// How the output calls it.
    pub label: String,
    /// The limit [s].
    pub limit_s: f64,
}

impl std::str::FromStr for Target {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let names = || TARGETS.iter().map(|t| t.0).collect::<Vec<_>>().join(", ");
        let (name, value) = s
            .split_once('=')
            .ok_or_else(|| format!("{s}: give NAME=DURATION, e.g. fleet-time=8h ({})", names()))?;
        let &(n, figure, label) = TARGETS
            .iter()
            .find(|t| t.0 == name.trim())
            .ok_or_else(|| format!("{name}: not a target; one of {}", names()))?;
        let limit = parse_secs(value.trim()).map_err(|e| format!("{n}={value}: {e}"))?;
        if !(limit > 0.0 && limit.is_finite()) {
            return Err(format!("{n}={value}: must be a duration > 0, e.g. 8h"));
        }
        Ok(Target {
            name: n.to_string(),
            figure: figure.to_string(),
            label: label.to_string(),
            limit_s: limit,
        })
    }
}

/// One item a replica is judged on: a checklist item or a target.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Judged {
    /// The checklist's wording, or the target's label.
    pub name: String,
    /// The value (NaN where the run never produced it: a fleet never ready).
    pub value: f64,
    /// Its threshold or limit.
    pub threshold: f64,
    /// Unit of value and threshold.
    pub unit: String,
    /// Whether it passed.
    pub pass: bool,
    /// value ÷ threshold for limits; 0 for a count that passed and 2 for one that failed.
    pub margin: f64,
}

/// One replica judged.
#[derive(Clone, Debug, Serialize)]
pub struct Judgement {
    /// Every item, the checklist's first.
    pub items: Vec<Judged>,
}

impl Judgement {
    /// Whether every item passed, and the worst margin (at most 10⁶).
    pub fn outcome(&self) -> Outcome {
        Outcome {
            pass: self.items.iter().all(|i| i.pass),
            score: self
                .items
                .iter()
                .map(|i| i.margin)
                .fold(0.0, f64::max)
                .min(1e6),
        }
    }
}

/// Judges a run's report against its checklist and `targets`.
pub fn judge(report: &RunReport, watched: &[String], targets: &[Target]) -> Judgement {
    let mut items: Vec<Judged> = report
        .checklist
        .iter()
        .map(|c| Judged {
            name: c.name.clone(),
            value: c.value,
            threshold: c.threshold,
            unit: c.unit.clone(),
            pass: c.pass,
            margin: c.margin().unwrap_or(if c.pass { 0.0 } else { 2.0 }),
        })
        .collect();
    // The simulated node roles: the nodes the bill of materials says are needed at peak
    // within the checklist's headroom, against those provisioned.
    for l in &report.bom.lines {
        let Some(fits) = l.fits_node_size else {
            continue;
        };
        let (needed, have) = (l.needed.count, l.provisioned.count);
        let pass = fits && needed <= have;
        items.push(Judged {
            name: format!("{} needed at peak ≤ provisioned", l.item),
            value: f64::from(needed),
            threshold: f64::from(have),
            unit: "nodes".into(),
            pass,
            // The role's minimum count (kubeadm's and etcd's HA) binds no demand: it is not
            // near a threshold however close the counts.
            margin: match (fits, needed <= have, l.needed_by) {
                (false, _, _) => 2.0,
                (true, true, NeededBy::Minimum) => 0.0,
                (true, _, _) => f64::from(needed) / f64::from(have.max(1)),
            },
        });
    }
    let figures = figures_of(report, watched);
    for t in targets {
        let value = figures.get(&t.figure).copied().unwrap_or(f64::NAN);
        let pass = value <= t.limit_s;
        items.push(Judged {
            name: format!("{} ≤ target", t.label),
            value,
            threshold: t.limit_s,
            unit: "s".into(),
            pass,
            margin: if value.is_nan() {
                2.0
            } else {
                value / t.limit_s
            },
        });
    }
    Judgement { items }
}

/// What is told of each configuration screened: its number (from 1) and the screening.
pub type Progress = dyn Fn(usize, &Screened) + Sync;

/// A fleet to size: how a point becomes a run plan, and what it is judged against.
pub struct Fleet<'a, F> {
    /// The run plan of a configuration with these overrides, on these streams (seed),
    /// or why the configuration is refused.
    pub make: F,
    /// The knobs searched.
    pub knobs: &'a [Knob],
    /// The targets besides the checklist.
    pub targets: &'a [Target],
    /// The screening streams' seed.
    pub seed: u64,
    /// Told of each configuration screened (a progress line), if anyone listens.
    pub progress: Option<&'a Progress>,
}

impl<F> Fleet<'_, F>
where
    F: Fn(&[Override], u64) -> Result<RunPlan, String> + Sync,
{
    /// The plan of `point` under `seed`.
    pub fn plan(&self, point: &[usize], seed: u64) -> Result<RunPlan, String> {
        (self.make)(&overrides(self.knobs, point), seed)
    }

    /// Replicas `from..to` of `point` under `seed`, judged, in parallel.
    pub fn judge_replicas(
        &self,
        point: &[usize],
        seed: u64,
        from: u64,
        to: u64,
    ) -> Result<Vec<Judgement>, String> {
        let plan = self.plan(point, seed)?;
        (from..to)
            .into_par_iter()
            .map(|r| {
                let mut p = plan.clone();
                p.replica = r;
                let out = run(&p).map_err(|e| format!("a run stopped: {e}"))?;
                let watched = &p.config.thresholds.workqueue_depth_controllers;
                Ok(judge(&out.report, watched, self.targets))
            })
            .collect()
    }

    /// The cost of `point`'s configuration and its priced bill.
    pub fn priced(&self, point: &[usize]) -> Result<(cost::Cost, RunPlan), String> {
        let plan = self.plan(point, self.seed)?;
        let bill = cost::provisioned(&plan.config, &plan.tier, plan.management_clusters);
        Ok((cost::of(&plan.config, &bill), plan))
    }
}

impl<F> Oracle for Fleet<'_, F>
where
    F: Fn(&[Override], u64) -> Result<RunPlan, String> + Sync,
{
    fn cost(&self, point: &[usize]) -> Result<f64, String> {
        self.priced(point).map(|(c, _)| c.total)
    }

    fn screen(&self, point: &[usize], from: u64, to: u64) -> Result<Vec<Outcome>, String> {
        Ok(self
            .judge_replicas(point, self.seed, from, to)?
            .iter()
            .map(Judgement::outcome)
            .collect())
    }

    fn screened(&self, n: usize, s: &Screened) {
        if let Some(p) = self.progress {
            p(n, s);
        }
    }

    fn key(&self, point: &[usize]) -> String {
        match self.plan(point, self.seed) {
            Ok(p) => format!(
                "{} {}",
                p.management_clusters,
                serde_json::to_string(&p.config).unwrap_or_default()
            ),
            Err(e) => format!("refused {point:?}: {e}"),
        }
    }
}

/// A configuration re-run on fresh streams.
#[derive(Clone, Debug, Serialize)]
pub struct Verification {
    /// The fresh streams' seed.
    pub seed: u64,
    /// Replicas it would take, every one passing, to show the pass rate [count].
    pub replicas_to_show: u64,
    /// Replicas run [count]: all of them, or up to the batch with the first failure.
    pub replicas: u64,
    /// Of them, replicas that passed [count].
    pub passes: u64,
    /// The one-sided Clopper–Pearson lower bound on the pass rate at the confidence.
    pub pass_lower_bound: f64,
    /// Whether the pass rate is shown.
    pub shown: bool,
    /// Every replica, judged.
    pub judgements: Vec<Judgement>,
}

/// Re-runs `point` on the streams of `seed` until `rule` shows its pass rate with every
/// replica passing, in batches of `batch`, stopping at the first batch with a failure
/// (after which the rate can no longer be shown at that count).
pub fn verify<F>(
    fleet: &Fleet<'_, F>,
    point: &[usize],
    seed: u64,
    rule: &PassRule,
    batch: u64,
) -> Result<Verification, String>
where
    F: Fn(&[Override], u64) -> Result<RunPlan, String> + Sync,
{
    let need = rule.replicas_to_show();
    let mut judgements: Vec<Judgement> = Vec::new();
    while (judgements.len() as u64) < need {
        let from = judgements.len() as u64;
        let to = (from + batch.max(1)).min(need);
        judgements.extend(fleet.judge_replicas(point, seed, from, to)?);
        if judgements.iter().any(|j| !j.outcome().pass) {
            break;
        }
    }
    let n = judgements.len() as u64;
    let k = judgements.iter().filter(|j| j.outcome().pass).count() as u64;
    Ok(Verification {
        seed,
        replicas_to_show: need,
        replicas: n,
        passes: k,
        pass_lower_bound: binomial::lower_bound(k, n, rule.confidence),
        shown: k == need,
        judgements,
    })
}
