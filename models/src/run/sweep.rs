//! Monte Carlo across fleet sizes: R replicas of a run at each point of a grid, each
//! replica's figures, and a summary per point with quantiles, confidence intervals and the
//! probability that each checklist item passes.
//!
//! Every (point, replica) pair is an independent run seeded from (seed, replica), so a
//! point's replicas share their random streams with the same replicas of the other points
//! (common random numbers across fleet sizes). Pairs run in parallel with rayon and are
//! collected in (point, replica) order: the output does not depend on the thread count.

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde::Serialize;
use sim_core::SimError;
use sim_core::stats::Summary;

use crate::run::report::RunReport;
use crate::run::{RunPlan, run};

/// Fleet sizes parsed from `a..b`, a list `100,250,500`, with a step or a point count.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Axis(pub Vec<u32>);

/// Parses `100..2000` (inclusive of both ends) or `100,250,500`. With a range, `step`
/// or `points` sets the spacing (default: 100, or 10 points if the range is narrower).
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
            (None, Some(p)) => {
                let mut v: Vec<u32> = (0..p)
                    .map(|i| lo + ((hi - lo) as u64 * i as u64 / (p - 1) as u64) as u32)
                    .collect();
                v.dedup();
                v
            }
            (None, None) => {
                let default_step = if hi - lo >= 1000 {
                    100
                } else {
                    ((hi - lo) / 9).max(1)
                };
                stepped(lo, hi, default_step)
            }
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
        values.dedup();
        Ok(Axis(values))
    }
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
#[derive(Clone, Debug, Serialize)]
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
}

/// The figures a sweep tracks, by name, from a run's report: one line per figure, which
/// is why it is long.
pub fn figures_of(r: &RunReport) -> BTreeMap<String, f64> {
    let mut f = BTreeMap::new();
    let mut put = |k: &str, v: f64| {
        f.insert(k.to_string(), v);
    };
    put(
        "fleet_time_to_ready_s",
        r.fleet.time_to_ready_s.unwrap_or(f64::NAN),
    );
    put("cluster_ready_p50_s", r.fleet.cluster_ready_p50_s);
    put("cluster_ready_p95_s", r.fleet.cluster_ready_p95_s);
    put("machine_ready_p95_s", r.fleet.machine_ready_p95_s);
    put("clusters_ready", f64::from(r.fleet.clusters_ready));
    put("machines_remediated", r.fleet.machines_remediated as f64);
    put("node_failures", r.fleet.node_failures as f64);
    put("api_mutating_p99_s", r.apiserver.mutating_p99_s);
    put("api_readonly_p99_s", r.apiserver.readonly_p99_s);
    put("api_429", r.apiserver.requests_429 as f64);
    put("etcd_db_peak_bytes", r.etcd.db_peak_bytes as f64);
    put("etcd_db_peak_fraction", r.etcd.db_peak_fraction);
    put("etcd_fsync_p99_s", r.etcd.fsync_p99_s);
    put("etcd_commit_p99_s", r.etcd.commit_p99_s);
    put("etcd_writes_per_s", r.etcd.writes_per_s);
    put("pc_vm_create_p95_s", r.prism_central.vm_create_p95_s);
    put("pc_queue_depth_max", r.prism_central.queue_depth_max);
    put("pc_429", r.prism_central.rate_limited as f64);
    let max = |v: Vec<f64>| v.into_iter().fold(0.0, f64::max);
    put(
        "workqueue_depth_max",
        max(r.controllers.iter().map(|c| c.depth_max).collect()),
    );
    put(
        "reconcile_p99_max_s",
        max(r.controllers.iter().map(|c| c.reconcile_p99_s).collect()),
    );
    put(
        "controller_cpu_fraction_max",
        max(r
            .managers
            .iter()
            .map(|m| m.cpu_peak_cores / m.cpu_limit_cores)
            .collect()),
    );
    put(
        "controller_memory_fraction_max",
        max(r
            .managers
            .iter()
            .map(|m| m.memory_peak_bytes / m.memory_limit_bytes)
            .collect()),
    );
    put(
        "oom_kills",
        r.managers.iter().map(|m| f64::from(m.oom_kills)).sum(),
    );
    let ph = &r.phases;
    for (name, p50, p95) in [
        (
            "control_plane_initialized",
            ph.control_plane_initialized_p50_s,
            ph.control_plane_initialized_p95_s,
        ),
        (
            "control_plane_ready",
            ph.control_plane_ready_p50_s,
            ph.control_plane_ready_p95_s,
        ),
        (
            "machine_bootstrap",
            ph.machine_bootstrap_p50_s,
            ph.machine_bootstrap_p95_s,
        ),
        ("machine_vm", ph.machine_vm_p50_s, ph.machine_vm_p95_s),
        ("machine_boot", ph.machine_boot_p50_s, ph.machine_boot_p95_s),
        ("machine_join", ph.machine_join_p50_s, ph.machine_join_p95_s),
    ] {
        put(&format!("phase_{name}_p50_s"), p50);
        put(&format!("phase_{name}_p95_s"), p95);
    }
    put(
        "controller_cpu_throttled_s_max",
        max(r.managers.iter().map(|m| m.cpu_throttled_s).collect()),
    );
    // Each node role's busiest node, where the components share their nodes' CPU.
    for c in &r.capacity {
        let role = c.role.replace('-', "_");
        if let Some(u) = c.cpu_peak_utilisation {
            put(&format!("node_cpu_peak_fraction_{role}"), u);
            put(&format!("node_saturated_s_{role}"), c.saturated_s);
        }
        put(
            &format!("node_memory_peak_bytes_{role}"),
            c.memory_demand_bytes,
        );
    }
    // The checklist's own values, where they differ from the figures above: the reconcile
    // p99 of the controllers it watches, and the longest stretch above the depth threshold.
    for (prefix, name) in [
        ("Controller reconcile time", "reconcile_p99_checklist_s"),
        (
            "Work queue depth",
            "workqueue_depth_above_threshold_longest_s",
        ),
    ] {
        if let Some(c) = r.checklist.iter().find(|c| c.name.starts_with(prefix)) {
            put(name, c.value);
        }
    }
    // Waiting per machine by resource: the bottleneck attribution, on a common scale.
    let machines = f64::from(r.fleet.clusters * r.fleet.machines_per_cluster).max(1.0);
    for w in &r.waiting {
        put(
            &format!("wait_per_machine_{}_s", w.resource.replace('-', "_")),
            w.seconds / machines,
        );
    }
    for op in ["scale", "upgrade", "delete"] {
        let ops: Vec<&crate::scenario::operations::OpTiming> =
            r.operations.iter().filter(|o| o.op == op).collect();
        if !ops.is_empty() {
            // Every such operation's duration, summed; unknown if one did not finish.
            put(
                &format!("{op}_time_s"),
                ops.iter()
                    .map(|o| o.finished_s.map(|f| f - o.started_s))
                    .sum::<Option<f64>>()
                    .unwrap_or(f64::NAN),
            );
        }
    }
    if let Some(st) = &r.steady {
        put("steady_api_requests_per_s", st.api_requests_per_s);
        put("steady_etcd_writes_per_s", st.etcd_writes_per_s);
        put(
            "steady_cpu_max_cores",
            st.cpu_mean_cores.values().fold(0.0, |a, &b| f64::max(a, b)),
        );
    }
    put(
        "management_clusters",
        r.management_clusters.len().max(1) as f64,
    );
    put("sim_events", r.sim_events as f64);
    f
}

fn record_of(clusters: u32, knobs: &Knobs, replica: u64, r: &RunReport) -> ReplicaRecord {
    ReplicaRecord {
        clusters,
        knobs: knobs.clone(),
        replica,
        ready: r.fleet.time_to_ready_s.is_some(),
        figures: figures_of(r),
        checks: r
            .checklist
            .iter()
            .map(|c| (c.name.clone(), c.pass))
            .collect(),
        checklist_pass: r.checklist.iter().all(|c| c.pass),
        bottleneck: r.bottleneck.resource.clone(),
        bottleneck_at: r.bottleneck.at.clone(),
        bottleneck_share: r.bottleneck.share,
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
    /// Probability that each checklist item passes.
    pub pass_probability: BTreeMap<String, f64>,
    /// Probability that the whole checklist passes.
    pub checklist_pass_probability: f64,
    /// The most frequent bottleneck, with where.
    pub bottleneck: String,
    /// How often it was the bottleneck [fraction of replicas].
    pub bottleneck_frequency: f64,
    /// Its mean share of the waiting in those replicas [fraction].
    pub bottleneck_share: f64,
}

/// Summarises the replicas of one point (given in replica order).
pub fn summarise(clusters: u32, records: &[ReplicaRecord]) -> PointSummary {
    let n = records.len().max(1) as f64;
    let mut figures = BTreeMap::new();
    // Every figure any replica has (a steady window's only where the fleet got ready).
    let names: std::collections::BTreeSet<&String> =
        records.iter().flat_map(|r| r.figures.keys()).collect();
    {
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
                    },
                );
            }
        }
    }
    let mut pass_probability = BTreeMap::new();
    if let Some(first) = records.first() {
        for name in first.checks.keys() {
            let passed = records.iter().filter(|r| r.checks[name]).count() as f64;
            pass_probability.insert(name.clone(), passed / n);
        }
    }
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
        replicas: records.len() as u64,
        ready_probability: records.iter().filter(|r| r.ready).count() as f64 / n,
        figures,
        pass_probability,
        checklist_pass_probability: records.iter().filter(|r| r.checklist_pass).count() as f64 / n,
        bottleneck,
        bottleneck_frequency: f64::from(count) / n,
        bottleneck_share: if count > 0 {
            share_sum / f64::from(count)
        } else {
            0.0
        },
    }
}

/// A sweep's results: every replica, and a summary per point.
#[derive(Clone, Debug, Serialize)]
pub struct SweepResult {
    /// Every (point, replica) run, in that order.
    pub replicas: Vec<ReplicaRecord>,
    /// One summary per point: by combination of the swept knobs, then smallest fleet
    /// first.
    pub points: Vec<PointSummary>,
}

/// Runs replica `replica` of `make(clusters)`, then calls `progress`.
fn run_replica(
    make: &(impl Fn(u32) -> RunPlan + Sync),
    clusters: u32,
    knobs: &Knobs,
    replica: u64,
    progress: &(impl Fn() + Sync),
) -> Result<ReplicaRecord, SimError> {
    let mut plan = make(clusters);
    plan.replica = replica;
    let out = run(&plan)?;
    progress();
    Ok(record_of(clusters, knobs, replica, &out.report))
}

/// Runs `replicas` replicas of `make(clusters, knobs)` at every point of the grid
/// `variants` × `axis`, calling `progress(point)` after each run (from any thread), with
/// the point's index in the result's `points`. Replica r uses the same random streams at
/// every point.
pub fn sweep(
    axis: &Axis,
    variants: &[Knobs],
    replicas: u64,
    make: impl Fn(u32, &Knobs) -> RunPlan + Sync,
    progress: impl Fn(usize) + Sync,
) -> Result<SweepResult, SimError> {
    let runs: Vec<(usize, u32, u64)> = (0..variants.len())
        .flat_map(|v| {
            axis.0
                .iter()
                .flat_map(move |&c| (0..replicas).map(move |r| (v, c, r)))
        })
        .collect();
    let done: Vec<Result<ReplicaRecord, SimError>> = runs
        .par_iter()
        .map(|&(v, c, r)| {
            let k = &variants[v];
            let point = v * axis.0.len() + axis.0.iter().position(|&x| x == c).unwrap_or(0);
            run_replica(&|c| make(c, k), c, k, r, &|| progress(point))
        })
        .collect();
    let records = done.into_iter().collect::<Result<Vec<_>, _>>()?;
    let points = records
        .chunks(replicas.max(1) as usize)
        .map(|of_point| summarise(of_point[0].clusters, of_point))
        .collect();
    Ok(SweepResult {
        replicas: records,
        points,
    })
}

/// The result of a search for the breaking point.
#[derive(Clone, Debug, Serialize)]
pub struct SearchResult {
    /// The swept knobs' values this search held.
    pub knobs: Knobs,
    /// The largest size found to pass the checklist with the required probability, if any.
    pub passing: Option<u32>,
    /// The smallest size found to fail it, if any.
    pub failing: Option<u32>,
    /// Every size evaluated, in the order evaluated.
    pub evaluated: Vec<PointSummary>,
}

/// Finds the largest fleet size in `lo..=hi` at which the checklist passes with
/// probability ≥ `confidence`, to within `resolution` clusters, by bisection (the pass
/// probability falls as the fleet grows).
///
/// Each size first gets `replicas` replicas; where their verdicts disagree, more are run,
/// up to `max_replicas`, so replicas are spent where the answer is uncertain. Replica r is
/// the same run as replica r of a grid sweep, so a grid run at the bracket's ends confirms
/// the answer.
#[allow(clippy::too_many_arguments)]
pub fn search(
    lo: u32,
    hi: u32,
    resolution: u32,
    replicas: u64,
    max_replicas: u64,
    confidence: f64,
    knobs: &Knobs,
    make: impl Fn(u32) -> RunPlan + Sync,
    progress: impl Fn() + Sync,
) -> Result<SearchResult, SimError> {
    let mut evaluated = Vec::new();
    let mut eval = |c: u32| -> Result<bool, SimError> {
        let mut records: Vec<ReplicaRecord> = Vec::new();
        let mut n = replicas.max(1);
        loop {
            let have = records.len() as u64;
            let more: Vec<Result<ReplicaRecord, SimError>> = (have..n)
                .into_par_iter()
                .map(|r| run_replica(&make, c, knobs, r, &progress))
                .collect();
            for m in more {
                records.push(m?);
            }
            let passed = records.iter().filter(|r| r.checklist_pass).count();
            let mixed = passed > 0 && passed < records.len();
            if !mixed || n >= max_replicas {
                break;
            }
            n = (n * 2).min(max_replicas);
        }
        let summary = summarise(c, &records);
        let pass = summary.checklist_pass_probability >= confidence;
        evaluated.push(summary);
        Ok(pass)
    };
    if !eval(lo)? {
        return Ok(SearchResult {
            knobs: knobs.clone(),
            passing: None,
            failing: Some(lo),
            evaluated,
        });
    }
    if eval(hi)? {
        return Ok(SearchResult {
            knobs: knobs.clone(),
            passing: Some(hi),
            failing: None,
            evaluated,
        });
    }
    let (mut good, mut bad) = (lo, hi);
    while bad - good > resolution.max(1) {
        let mid = good + (bad - good) / 2;
        if eval(mid)? {
            good = mid;
        } else {
            bad = mid;
        }
    }
    Ok(SearchResult {
        knobs: knobs.clone(),
        passing: Some(good),
        failing: Some(bad),
        evaluated,
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
            parse_axis("500,100,250,250", None, None).unwrap().0,
            vec![100, 250, 500]
        );
    }

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
        let s = summarise(10, &records);
        let f = &s.figures["fleet_time_to_ready_s"];
        // Sorted 100, 200, 300, 400: mean 250, median 250, p95 = 300 + 0.85·100.
        assert_eq!((f.mean, f.p50), (250.0, 250.0));
        assert!((f.p95 - 385.0).abs() < 1e-9);
        assert!((f.p5 - 115.0).abs() < 1e-9);
        assert_eq!(s.checklist_pass_probability, 0.75);
        assert_eq!(s.pass_probability["No OOM kills"], 0.75);
        assert_eq!(
            (s.bottleneck.as_str(), s.bottleneck_frequency),
            ("prism-central, x", 0.75)
        );
        // A replica that never became ready is left out of the time figures.
        let s = summarise(
            10,
            &[rec(0, f64::NAN, false, "etcd"), rec(1, 100.0, true, "etcd")],
        );
        assert_eq!(s.ready_probability, 0.5);
        assert_eq!(s.figures["fleet_time_to_ready_s"].mean, 100.0);
    }

    #[test]
    fn bad_axes_are_explained() {
        let err = |t: &str| parse_axis(t, None, None).unwrap_err();
        assert!(err("2000..100").contains("backwards"));
        assert!(err("0..10").contains("start at 1"));
        assert!(err("").contains("empty"));
        assert!(err("ten..20").contains("not a whole number"));
        assert!(err("100,abc").contains("'abc'"));
        assert!(parse_axis("1..10", Some(0), None).is_err());
        assert!(parse_axis("1..10", Some(2), Some(3)).is_err());
        assert!(parse_axis("5,6", Some(2), None).is_err());
    }
}
