//! Monte Carlo across fleet sizes: R replicas of a run at each point of a grid, each
//! replica's figures, and a summary per point with quantiles, confidence intervals, and
//! the checklist's passes as k of n with what they show about the pass rate.
//!
//! Every (point, replica) pair is an independent run seeded from (seed, replica), so a
//! point's replicas share their random streams with the same replicas of the other points
//! (common random numbers across fleet sizes). Pairs run in parallel with rayon and are
//! collected in (point, replica) order: the output does not depend on the thread count.
//!
//! A point is judged by [`PassRule`]: it passes when the Clopper–Pearson lower bound on
//! its checklist pass rate reaches the rate asked for. A point left undecided may get more
//! replicas, doubling, up to a maximum ([`Sampling`]); each look spends part of the error
//! budget, so the claim holds at the stated confidence whichever look ends it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sim_core::SimError;
use sim_core::stats::Summary;
use sim_core::stats::binomial::{PassRule, Verdict};

use crate::run::batch::run_batch;
pub use crate::run::figures::figures_of;
use crate::run::report::RunReport;
use crate::run::{RunOutput, RunPlan, run};

/// Fleet sizes parsed from `a..b`, a list `100,250,500`, with a step or a point count.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Axis(pub Vec<u32>);

/// Parses `100..2000` (inclusive of both ends) or `100,250,500`. With a range, `step`
/// or `points` sets the spacing (default: 100, or 10 evenly spaced points if the range is
/// narrower than 1,000). A size given twice in a list is refused.
pub fn parse_axis(text: &str, step: Option<u32>, points: Option<u32>) -> Result<Axis, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err(
            "the cluster axis is empty; give a range like 100..2000 or a list like 100,250,500"
                .into(),
        );
    }
    let num = |s: &str| -> Result<u32, String> {
        match s.trim().parse::<u32>() {
            Ok(0) => Err(format!("'{s}': fleet sizes start at 1")),
            Ok(n) if n <= 100_000 => Ok(n),
            Ok(n) => Err(format!("{n}: at most 100000 clusters")),
            Err(_) => Err(format!("'{}' is not a whole number of clusters", s.trim())),
        }
    };
    if let Some((a, b)) = text.split_once("..") {
        let (lo, hi) = (num(a)?, num(b)?);
        if lo > hi {
            return Err(format!(
                "{lo}..{hi}: the range runs backwards; write {hi}..{lo}"
            ));
        }
        if step.is_some() && points.is_some() {
            return Err("give --step or --points, not both".into());
        }
        let values: Vec<u32> = match (step, points) {
            (Some(0), _) => return Err("--step must be at least 1".into()),
            (Some(s), _) => stepped(lo, hi, s),
            (None, Some(p)) if p < 2 => return Err("--points must be at least 2".into()),
            (None, Some(p)) => evenly(lo, hi, p),
            (None, None) if hi - lo >= 1000 => stepped(lo, hi, 100),
            (None, None) => evenly(lo, hi, 10),
        };
        Ok(Axis(values))
    } else {
        if step.is_some() || points.is_some() {
            return Err("--step and --points apply to a range (a..b), not to a list".into());
        }
        let mut values = text
            .split(',')
            .map(num)
            .collect::<Result<Vec<u32>, String>>()?;
        values.sort_unstable();
        if let Some(w) = values.windows(2).find(|w| w[0] == w[1]) {
            return Err(format!("{} is given twice; give each size once", w[0]));
        }
        Ok(Axis(values))
    }
}

/// `points` sizes spread evenly from lo to hi, both included (fewer when the range holds
/// fewer whole sizes).
fn evenly(lo: u32, hi: u32, points: u32) -> Vec<u32> {
    let mut v: Vec<u32> = (0..points)
        .map(|i| lo + ((hi - lo) as u64 * i as u64 / (points - 1) as u64) as u32)
        .collect();
    v.dedup();
    v
}

/// lo, lo+step, … and always hi.
fn stepped(lo: u32, hi: u32, step: u32) -> Vec<u32> {
    let mut v: Vec<u32> = (lo..=hi).step_by(step as usize).collect();
    if v.last() != Some(&hi) {
        v.push(hi);
    }
    v
}

/// The values of the swept knobs at one point, by dotted path (empty: no knob swept).
pub type Knobs = BTreeMap<String, String>;

/// The knob values as a short label: `nutanixmachine-concurrency=50, machines-per-cluster=10`
/// (each key's last segment), or `""` when nothing is swept.
pub fn knobs_label(knobs: &Knobs) -> String {
    knobs
        .iter()
        .map(|(k, v)| format!("{}={v}", k.rsplit('.').next().unwrap_or(k)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A swept knob: its dotted path and its values, in the order given.
pub type KnobAxis = (String, Vec<String>);

/// Every combination of the swept knobs' values (the cartesian product), the first
/// knob's values varying slowest; one empty combination when nothing is swept.
pub fn combinations(axes: &[KnobAxis]) -> Vec<Knobs> {
    let mut out = vec![Knobs::new()];
    for (key, values) in axes {
        out = out
            .into_iter()
            .flat_map(|k| {
                values.iter().map(move |v| {
                    let mut k = k.clone();
                    k.insert(key.clone(), v.clone());
                    k
                })
            })
            .collect();
    }
    out
}

/// One replica's figures, flat, for `replicas.csv`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReplicaRecord {
    /// Fleet size of the point [clusters].
    pub clusters: u32,
    /// The swept knobs' values at this point.
    pub knobs: Knobs,
    /// Replica index.
    pub replica: u64,
    /// Whether every cluster became ready within the simulated time.
    pub ready: bool,
    /// Figures by name (see docs/outputs.md for units).
    pub figures: BTreeMap<String, f64>,
    /// Checklist items passed, by name.
    pub checks: BTreeMap<String, bool>,
    /// Whether the whole checklist passed.
    pub checklist_pass: bool,
    /// The bottleneck resource.
    pub bottleneck: String,
    /// Where at it.
    pub bottleneck_at: String,
    /// Its share of the waiting [fraction].
    pub bottleneck_share: f64,
    /// With `--uncertainty`: the value (a range) or factor (a scale) each estimate drew.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub draws: BTreeMap<String, f64>,
}

fn record_of(
    clusters: u32,
    knobs: &Knobs,
    replica: u64,
    r: &RunReport,
    watched: &[String],
) -> ReplicaRecord {
    ReplicaRecord {
        clusters,
        knobs: knobs.clone(),
        replica,
        ready: r.fleet.time_to_ready_s.is_some(),
        figures: figures_of(r, watched),
        checks: r
            .checklist
            .iter()
            .map(|c| (c.name.clone(), c.pass))
            .collect(),
        checklist_pass: r.checklist.iter().all(|c| c.pass),
        bottleneck: r.bottleneck.resource.clone(),
        bottleneck_at: r.bottleneck.at.clone(),
        bottleneck_share: r.bottleneck.share,
        draws: BTreeMap::new(),
    }
}

/// One figure at one point, across replicas.
#[derive(Clone, Debug, Serialize)]
pub struct FigureSummary {
    /// Mean.
    pub mean: f64,
    /// 5th percentile.
    pub p5: f64,
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
    /// Lower end of the 95 % confidence interval of the mean (absent for one replica).
    pub ci95_low: Option<f64>,
    /// Upper end.
    pub ci95_high: Option<f64>,
    /// Smallest value of any replica.
    pub min: f64,
    /// Largest value of any replica.
    pub max: f64,
}

/// One point of the sweep, summarised.
#[derive(Clone, Debug, Serialize)]
pub struct PointSummary {
    /// Fleet size [clusters].
    pub clusters: u32,
    /// The swept knobs' values at this point.
    pub knobs: Knobs,
    /// Replicas [count].
    pub replicas: u64,
    /// Fraction of replicas whose fleet became ready.
    pub ready_probability: f64,
    /// Figures across replicas (fleet time over the replicas that became ready).
    pub figures: BTreeMap<String, FigureSummary>,
    /// Replicas in which each checklist item passed [count of `replicas`].
    pub passes: BTreeMap<String, u64>,
    /// Each item's pass fraction, passes / replicas (a point estimate, not a claim).
    pub pass_probability: BTreeMap<String, f64>,
    /// Each item's one-sided lower bound on its pass rate at the rule's confidence.
    pub pass_lower_bound: BTreeMap<String, f64>,
    /// Replicas in which the whole checklist passed [count of `replicas`].
    pub checklist_passes: u64,
    /// The whole checklist's pass fraction (a point estimate, not a claim).
    pub checklist_pass_probability: f64,
    /// One-sided lower bound on the checklist's pass rate at the rule's confidence.
    pub checklist_pass_lower_bound: f64,
    /// One-sided upper bound on it.
    pub checklist_pass_upper_bound: f64,
    /// What the replicas show against the pass rate asked for.
    pub verdict: Verdict,
    /// The most frequent bottleneck, with where.
    pub bottleneck: String,
    /// How often it was the bottleneck [fraction of replicas].
    pub bottleneck_frequency: f64,
    /// Its mean share of the waiting in those replicas [fraction].
    pub bottleneck_share: f64,
}

impl PointSummary {
    /// Replicas whose fleet became ready [count].
    pub fn ready_replicas(&self) -> u64 {
        (self.ready_probability * self.replicas as f64).round() as u64
    }
}

/// Summarises the replicas of one point (given in replica order), judged by `rule`.
pub fn summarise(clusters: u32, records: &[ReplicaRecord], rule: &PassRule) -> PointSummary {
    let n = records.len() as u64;
    let fraction = |k: u64| k as f64 / n.max(1) as f64;
    let mut figures = BTreeMap::new();
    // Every figure any replica has (a steady window's only where the fleet got ready).
    let names: std::collections::BTreeSet<&String> =
        records.iter().flat_map(|r| r.figures.keys()).collect();
    for name in names {
        let values: Vec<f64> = records
            .iter()
            .filter_map(|r| r.figures.get(name).copied())
            .filter(|v| !v.is_nan())
            .collect();
        if let Some(s) = Summary::of(&values, 0.95) {
            figures.insert(
                name.clone(),
                FigureSummary {
                    mean: s.mean,
                    p5: s.p5,
                    p50: s.p50,
                    p95: s.p95,
                    ci95_low: s.ci_low,
                    ci95_high: s.ci_high,
                    min: s.min,
                    max: s.max,
                },
            );
        }
    }
    let mut passes = BTreeMap::new();
    if let Some(first) = records.first() {
        for name in first.checks.keys() {
            let k = records.iter().filter(|r| r.checks[name]).count() as u64;
            passes.insert(name.clone(), k);
        }
    }
    let checklist_passes = records.iter().filter(|r| r.checklist_pass).count() as u64;
    let (low, high) = rule.bounds(checklist_passes, n);
    let mut counts: BTreeMap<String, (u32, f64)> = BTreeMap::new();
    for r in records {
        let key = format!("{}, {}", r.bottleneck, r.bottleneck_at);
        let e = counts.entry(key).or_insert((0, 0.0));
        e.0 += 1;
        e.1 += r.bottleneck_share;
    }
    let (bottleneck, (count, share_sum)) =
        counts
            .into_iter()
            .fold((String::new(), (0, 0.0)), |best, x| {
                if x.1.0 > best.1.0 { x } else { best }
            });
    PointSummary {
        clusters,
        knobs: records.first().map(|r| r.knobs.clone()).unwrap_or_default(),
        replicas: n,
        ready_probability: fraction(records.iter().filter(|r| r.ready).count() as u64),
        figures,
        pass_probability: passes
            .iter()
            .map(|(k, &p)| (k.clone(), fraction(p)))
            .collect(),
        pass_lower_bound: passes
            .iter()
            .map(|(k, &p)| (k.clone(), rule.bounds(p, n).0))
            .collect(),
        passes,
        checklist_passes,
        checklist_pass_probability: fraction(checklist_passes),
        checklist_pass_lower_bound: low,
        checklist_pass_upper_bound: high,
        verdict: rule.verdict(checklist_passes, n),
        bottleneck,
        bottleneck_frequency: f64::from(count) / n.max(1) as f64,
        bottleneck_share: if count > 0 {
            share_sum / f64::from(count)
        } else {
            0.0
        },
    }
}

/// How many replicas each point gets, and what they must show.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Sampling {
    /// Replicas every point gets first [count].
    pub replicas: u64,
    /// Replicas a point still undecided may grow to, doubling [count].
    pub max_replicas: u64,
    /// The checklist pass rate a point must be shown to reach [fraction].
    pub pass_rate: f64,
    /// Confidence of that claim [fraction].
    pub confidence: f64,
}

impl Sampling {
    /// The replica counts at which a point is judged: `replicas`, twice that, and so on,
    /// ending at `max_replicas`.
    pub fn looks(&self) -> Vec<u64> {
        let first = self.replicas.max(1);
        let last = self.max_replicas.max(first);
        let mut looks = vec![first];
        while *looks.last().expect("one look") < last {
            looks.push((looks.last().expect("one look") * 2).min(last));
        }
        looks
    }

    /// The rule the points are judged by: the bounds spend the error budget over
    /// [`Sampling::looks`].
    pub fn rule(&self) -> PassRule {
        PassRule {
            pass_rate: self.pass_rate,
            confidence: self.confidence,
            looks: self.looks().len() as u32,
        }
    }

    /// The smallest maximum, on the doubling schedule from `replicas` and at most `cap`,
    /// at which a point whose every replica passes is shown to pass; `cap` if none is.
    pub fn enough_to_show(replicas: u64, pass_rate: f64, confidence: f64, cap: u64) -> u64 {
        let mut max = replicas.max(1);
        loop {
            let s = Sampling {
                replicas,
                max_replicas: max,
                pass_rate,
                confidence,
            };
            if s.rule().verdict(max, max) == Verdict::Passes || max >= cap {
                return max.min(cap);
            }
            max *= 2;
        }
    }
}

/// A sweep's results: every replica, and a summary per point.
#[derive(Clone, Debug, Serialize)]
pub struct SweepResult {
    /// Replicas per point, as planned.
    pub sampling: Sampling,
    /// The rule the points were judged by.
    pub rule: PassRule,
    /// Every (point, replica) run, in that order.
    pub replicas: Vec<ReplicaRecord>,
    /// One summary per point: by combination of the swept knobs, then smallest fleet
    /// first.
    pub points: Vec<PointSummary>,
}

impl SweepResult {
    /// The estimates each replica drew (`--uncertainty`) [count]; 0 without.
    pub fn estimates_drawn(&self) -> usize {
        self.replicas.first().map_or(0, |r| r.draws.len())
    }
}

/// Where finished runs are kept, so that an interrupted sweep can resume: a run finished
/// before is recalled instead of run again, and each run is recorded as it finishes.
pub trait Ledger: Sync {
    /// The record of replica `replica` at (`clusters`, `knobs`), if it was run before.
    fn recall(&self, clusters: u32, knobs: &Knobs, replica: u64) -> Option<ReplicaRecord>;
    /// Keeps a finished run's record.
    fn record(&self, record: &ReplicaRecord);
}

/// No ledger: every run is run.
pub struct NoLedger;

impl Ledger for NoLedger {
    fn recall(&self, _: u32, _: &Knobs, _: u64) -> Option<ReplicaRecord> {
        None
    }
    fn record(&self, _: &ReplicaRecord) {}
}

/// What a sweep or a search tells its caller as it goes (from any thread).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// This many runs were planned, on top of those planned before.
    Planned(u64),
    /// One run finished (or was recalled from the ledger) at this point of the result.
    Finished {
        /// The point's index in [`SweepResult::points`] (0 in a search).
        point: usize,
    },
}

/// Replica `replica` of `make(clusters)`, recalled from `ledger` or run and recorded.
pub fn run_replica(
    make: &(impl Fn(u32) -> RunPlan + Sync),
    clusters: u32,
    knobs: &Knobs,
    replica: u64,
    ledger: &dyn Ledger,
) -> Result<ReplicaRecord, SimError> {
    if let Some(r) = ledger.recall(clusters, knobs, replica) {
        return Ok(r);
    }
    let planned = replica_plan(make, clusters, replica)?;
    let out = run(&planned.plan);
    record_replica(&planned, clusters, knobs, out, ledger)
}

/// A replica's plan, with the estimates it drew (`--uncertainty`) applied.
pub struct ReplicaPlan {
    /// The plan to run.
    pub plan: RunPlan,
    /// The estimates drawn, by name.
    pub draws: BTreeMap<String, f64>,
}

/// The plan of replica `replica` of `make(clusters)`.
pub fn replica_plan(
    make: &(impl Fn(u32) -> RunPlan + Sync),
    clusters: u32,
    replica: u64,
) -> Result<ReplicaPlan, SimError> {
    let mut plan = make(clusters);
    plan.replica = replica;
    let draws = match plan.uncertainty.clone() {
        Some(u) => {
            let draws = u.draws(replica);
            plan.config = u
                .apply(&plan.config, &draws)
                .map_err(|e| SimError::InvalidConfig(e.to_string()))?;
            draws
        }
        None => BTreeMap::new(),
    };
    Ok(ReplicaPlan { plan, draws })
}

/// The record of a replica's run, kept in `ledger`.
fn record_replica(
    planned: &ReplicaPlan,
    clusters: u32,
    knobs: &Knobs,
    out: Result<RunOutput, SimError>,
    ledger: &dyn Ledger,
) -> Result<ReplicaRecord, SimError> {
    let out = out?;
    let watched = &planned.plan.config.thresholds.workqueue_depth_controllers;
    let mut record = record_of(clusters, knobs, planned.plan.replica, &out.report, watched);
    record.draws = planned.draws.clone();
    ledger.record(&record);
    Ok(record)
}

/// Replica `r` of `make(clusters, knobs)` for each `(clusters, knobs, r)` of `runs`,
/// recalled from `ledger` or run and recorded, in parallel; `finished(i)` is called as
/// run i is recalled or finishes. The runs go replica by replica ([`crate::run::batch`]),
/// and those that have a management cluster in common simulate it once: same replica,
/// same plan, split into parts of the same size.
pub fn run_replicas(
    runs: &[(u32, &Knobs, u64)],
    make: &(impl Fn(u32, &Knobs) -> RunPlan + Sync),
    ledger: &dyn Ledger,
    finished: impl Fn(usize) + Sync,
) -> Vec<Result<ReplicaRecord, SimError>> {
    let mut done: Vec<Option<Result<ReplicaRecord, SimError>>> = Vec::new();
    let mut planned = Vec::new();
    for (i, &(c, k, r)) in runs.iter().enumerate() {
        if let Some(record) = ledger.recall(c, k, r) {
            finished(i);
            done.push(Some(Ok(record)));
            continue;
        }
        match replica_plan(&|c| make(c, k), c, r) {
            Ok(plan) => {
                planned.push((i, plan));
                done.push(None);
            }
            Err(e) => {
                finished(i);
                done.push(Some(Err(e)));
            }
        }
    }
    let plans: Vec<RunPlan> = planned.iter().map(|(_, p)| p.plan.clone()).collect();
    let ran = run_batch(&plans, |j, out| {
        let (i, plan) = &planned[j];
        let (c, k, _) = runs[*i];
        let record = record_replica(plan, c, k, out, ledger);
        finished(*i);
        record
    });
    for ((i, _), record) in planned.iter().zip(ran) {
        done[*i] = Some(record);
    }
    done.into_iter()
        .map(|d| d.expect("every run recalled or run"))
        .collect()
}

/// Runs the grid `variants` × `axis`: `sampling.replicas` replicas of
/// `make(clusters, knobs)` at every point, then, at each look, more replicas at the points
/// still undecided, up to `sampling.max_replicas`. Replica r uses the same random streams
/// at every point, and each point's replicas are the same runs whatever the others need.
pub fn sweep(
    axis: &Axis,
    variants: &[Knobs],
    sampling: &Sampling,
    make: impl Fn(u32, &Knobs) -> RunPlan + Sync,
    ledger: &dyn Ledger,
    progress: impl Fn(Progress) + Sync,
) -> Result<SweepResult, SimError> {
    let rule = sampling.rule();
    let points: Vec<(usize, u32)> = (0..variants.len())
        .flat_map(|v| axis.0.iter().map(move |&c| (v, c)))
        .collect();
    let mut records: Vec<Vec<ReplicaRecord>> = vec![Vec::new(); points.len()];
    for (look, &n) in sampling.looks().iter().enumerate() {
        let runs: Vec<(usize, u64)> = (0..points.len())
            .filter(|&p| {
                let have = records[p].len() as u64;
                let k = records[p].iter().filter(|r| r.checklist_pass).count() as u64;
                look == 0 || rule.verdict(k, have) == Verdict::Undecided
            })
            .flat_map(|p| (records[p].len() as u64..n).map(move |r| (p, r)))
            .collect();
        if runs.is_empty() {
            break;
        }
        if look > 0 {
            progress(Progress::Planned(runs.len() as u64));
        }
        // Largest-first was measured (issue 16, docs/model.md "Speed"): no gain on the
        // default sweep, whose cores are already 99 % busy, and 7.5 % slower on five
        // points, where two large runs at once contend for the cache.
        let of_run: Vec<(u32, &Knobs, u64)> = runs
            .iter()
            .map(|&(p, r)| (points[p].1, &variants[points[p].0], r))
            .collect();
        let done = run_replicas(&of_run, &make, ledger, |i| {
            progress(Progress::Finished { point: runs[i].0 })
        });
        for (&(p, _), record) in runs.iter().zip(done) {
            records[p].push(record?);
        }
    }
    let summaries = records
        .iter()
        .zip(&points)
        .map(|(of_point, &(_, c))| summarise(c, of_point, &rule))
        .collect();
    Ok(SweepResult {
        sampling: *sampling,
        rule,
        replicas: records.concat(),
        points: summaries,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_include_both_ends() {
        assert_eq!(parse_axis("100..2000", None, None).unwrap().0.len(), 20);
        assert_eq!(
            parse_axis("100..2000", None, None).unwrap().0.last(),
            Some(&2000)
        );
        assert_eq!(
            parse_axis("100..250", Some(100), None).unwrap().0,
            vec![100, 200, 250]
        );
        assert_eq!(
            parse_axis("100..500", None, Some(5)).unwrap().0,
            vec![100, 200, 300, 400, 500]
        );
        assert_eq!(
            parse_axis("500,100,250", None, None).unwrap().0,
            vec![100, 250, 500]
        );
        // A narrow range gets ten points, as documented (issue 13: it got eleven).
        assert_eq!(
            parse_axis("100..500", None, None).unwrap().0,
            vec![100, 144, 188, 233, 277, 322, 366, 411, 455, 500]
        );
    }

    const RULE: PassRule = PassRule {
        pass_rate: 0.95,
        confidence: 0.95,
        looks: 1,
    };

    fn rec(replica: u64, t: f64, pass: bool, bottleneck: &str) -> ReplicaRecord {
        ReplicaRecord {
            clusters: 10,
            knobs: Knobs::new(),
            replica,
            ready: !t.is_nan(),
            figures: [("fleet_time_to_ready_s".to_string(), t)]
                .into_iter()
                .collect(),
            checks: [("No OOM kills".to_string(), pass)].into_iter().collect(),
            checklist_pass: pass,
            bottleneck: bottleneck.into(),
            bottleneck_at: "x".into(),
            bottleneck_share: 0.5,
            draws: BTreeMap::new(),
        }
    }

    #[test]
    fn knob_combinations_are_the_cartesian_product() {
        let axes = vec![
            ("a.x".to_string(), vec!["1".to_string(), "2".to_string()]),
            ("b.y".to_string(), vec!["p".into(), "q".into(), "r".into()]),
        ];
        let all = combinations(&axes);
        assert_eq!(all.len(), 6);
        assert_eq!(knobs_label(&all[0]), "x=1, y=p");
        assert_eq!(knobs_label(&all[5]), "x=2, y=r");
        let distinct: std::collections::BTreeSet<String> = all.iter().map(knobs_label).collect();
        assert_eq!(distinct.len(), 6);
        assert_eq!(combinations(&[]), vec![Knobs::new()]);
    }

    #[test]
    fn a_points_summary_is_the_quantiles_of_its_replicas() {
        let records = [
            rec(0, 400.0, true, "etcd"),
            rec(1, 100.0, true, "prism-central"),
            rec(2, 300.0, false, "prism-central"),
            rec(3, 200.0, true, "prism-central"),
        ];
        let s = summarise(10, &records, &RULE);
        let f = &s.figures["fleet_time_to_ready_s"];
        // Sorted 100, 200, 300, 400: mean 250, median 250, p95 = 300 + 0.85·100.
        assert_eq!((f.mean, f.p50), (250.0, 250.0));
        assert!((f.p95 - 385.0).abs() < 1e-9);
        assert!((f.p5 - 115.0).abs() < 1e-9);
        assert_eq!(s.checklist_pass_probability, 0.75);
        assert_eq!((s.checklist_passes, s.replicas), (3, 4));
        assert_eq!(s.passes["No OOM kills"], 3);
        assert_eq!(s.pass_probability["No OOM kills"], 0.75);
        // 3 of 4 cannot show 95 %, nor refute it.
        assert_eq!(s.verdict, Verdict::Undecided);
        assert!(s.checklist_pass_lower_bound < 0.75 && s.checklist_pass_upper_bound > 0.95);
        assert_eq!(
            (s.bottleneck.as_str(), s.bottleneck_frequency),
            ("prism-central, x", 0.75)
        );
        // A replica that never became ready is left out of the time figures.
        let s = summarise(
            10,
            &[rec(0, f64::NAN, false, "etcd"), rec(1, 100.0, true, "etcd")],
            &RULE,
        );
        assert_eq!(s.ready_probability, 0.5);
        assert_eq!(s.figures["fleet_time_to_ready_s"].mean, 100.0);
    }

    #[test]
    fn replicas_double_from_the_first_look_to_the_most_allowed() {
        let s = |replicas, max_replicas| Sampling {
            replicas,
            max_replicas,
            pass_rate: 0.95,
            confidence: 0.95,
        };
        assert_eq!(s(3, 3).looks(), vec![3]);
        assert_eq!(s(3, 20).looks(), vec![3, 6, 12, 20]);
        assert_eq!(s(3, 20).rule().looks, 4);
        // Every replica passing must show 0.95 at 95 % with the looks' share of the
        // budget: 3·2^5 = 96 of 96 over six looks ((0.05/6)^(1/96) ≥ 0.95), 48 not.
        assert_eq!(Sampling::enough_to_show(3, 0.95, 0.95, 1000), 96);
        assert_eq!(s(3, 96).rule().verdict(96, 96), Verdict::Passes);
        assert_eq!(s(3, 48).rule().verdict(48, 48), Verdict::Undecided);
        assert_eq!(Sampling::enough_to_show(3, 0.9999, 0.95, 1000), 1000);
    }

    #[test]
    fn bad_axes_are_explained() {
        let err = |t: &str| parse_axis(t, None, None).unwrap_err();
        assert!(err("2000..100").contains("backwards"));
        assert!(err("0..10").contains("start at 1"));
        assert!(err("").contains("empty"));
        assert!(err("ten..20").contains("not a whole number"));
        assert!(err("100,abc").contains("'abc'"));
        // Issue 13: a repeated size was dropped silently.
        assert!(err("500,100,250,250").contains("250 is given twice"));
        assert!(parse_axis("1..10", Some(0), None).is_err());
        assert!(parse_axis("1..10", Some(2), Some(3)).is_err());
        assert!(parse_axis("5,6", Some(2), None).is_err());
    }
}
