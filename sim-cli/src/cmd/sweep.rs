//! `capsim sweep`: Monte Carlo across fleet sizes, the breaking point, and its outputs.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use anyhow::{Context, bail};
use models::run::RunPlan;
use models::run::sweep::{self, KnobAxis, Knobs, PointSummary, SweepResult};
use models::scenario::Scenario;
use models::scenario::config::{ModelConfig, Thresholds};
use models::scenario::operations::FleetSpec;
use models::scenario::presets::{self, Override, Tier};
use sim_core::SimDuration;
use sim_core::monte_carlo::in_pool;

use crate::Outcome;
use crate::chart::{self, BandPoint, ChartSpec, HeatSpec, Series, StackSpec};
use crate::cmd::run::TierArg;
use crate::table::{Align, Table};

/// Version of `summary.json`; bumped when a field changes meaning.
const SCHEMA_VERSION: u32 = 2;

/// Arguments of `capsim sweep`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    capsim sweep --clusters 100..2000\n  \
    capsim sweep --clusters 100..1000 --step 100 --replicas 5 --tier large\n  \
    capsim sweep --clusters 100..500 --tier large --set capx-controller-manager.nutanixmachine-concurrency=25,50,100\n  \
    capsim sweep --clusters 100..2000 --until-slo-violation --tier xl --set topology.clusters-per-management-cluster=unlimited\n  \
    capsim sweep --clusters 50,100,200,400 --scenario scenarios/guide-medium-batches.yaml\n\n\
A range a..b includes both ends; the default step is 100 (or a tenth of a narrower range). \
Each (fleet size, replica) is one full `capsim run` on the guide's tier for that size \
(XL splits a fleet into management clusters of at most 600 clusters, Extreme of 500); \
replica r uses the same random streams at every size. A knob given several values \
(--set KEY=V1,V2 or --machines-per-cluster 10,25) is swept too: every value with every \
size, one line per value in the charts.\n\n\
Outputs in --out: replicas.csv, summary.csv, summary.json, charts/*.png|svg (figures \
against fleet size with the checklist threshold, waiting by resource, checklist heat map), \
report.md and a self-contained report.html (docs/outputs.md). Output is identical at any \
thread count. The model's simplifications and the source of every default: docs/model.md.")]
pub struct Args {
    /// Fleet sizes: a range a..b (inclusive) or a list 100,250,500 [clusters].
    #[arg(long)]
    clusters: String,
    /// Spacing of a range [clusters].
    #[arg(long)]
    step: Option<u32>,
    /// Number of evenly spaced points of a range, instead of --step.
    #[arg(long)]
    points: Option<u32>,
    /// Monte Carlo replicas per point (1 to 1000).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=1000))]
    replicas: u64,
    /// Master seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Worker threads (1 to 1024); default: one per core. Results do not depend on it.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1024))]
    threads: Option<u64>,
    /// Machines per cluster, control plane included (1 to 1000); a list like 10,25,50
    /// sweeps it.
    #[arg(long, default_value = "25")]
    machines_per_cluster: String,
    /// Control-plane machines per cluster: 1, 3 or 5.
    #[arg(long, default_value_t = 3, value_parser = crate::cmd::parse_cp_replicas)]
    control_plane_replicas: u32,
    /// Management-cluster preset for every point; default: the guide's tier per size.
    #[arg(long, value_enum, conflicts_with = "scenario")]
    tier: Option<TierArg>,
    /// A scenario file for the management cluster (its workload's size is replaced by
    /// each point's).
    #[arg(long, value_name = "FILE.yaml")]
    scenario: Option<PathBuf>,
    /// Override a knob: KEY=VALUE (repeatable). KEY=V1,V2,V3 sweeps the knob: every
    /// value with every fleet size (the cartesian product with other swept knobs).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<Override>,
    /// Probability with which the checklist must pass for a size to count as passing.
    #[arg(long, default_value_t = 0.95)]
    confidence: f64,
    /// Stop each run after this much simulated time (e.g. 12h).
    #[arg(long, default_value = "24h", value_parser = crate::cmd::parse_sim_duration)]
    max_time: SimDuration,
    /// Instead of a grid: find the largest size in the range at which the checklist passes
    /// with probability ≥ --confidence, by bisection to --step (default a twentieth of the
    /// range), spending more replicas where they disagree.
    #[arg(long)]
    until_slo_violation: bool,
    /// With --until-slo-violation: replicas a size may get when its first ones disagree
    /// [default: 4 × --replicas].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1000))]
    max_replicas: Option<u64>,
    /// Directory for the CSV, JSON, charts and reports (created if missing).
    #[arg(long, default_value = "capsim-out")]
    out: PathBuf,
}

/// A whole number in `range`, from a comma-separated list given to `flag`.
fn parse_counts(
    text: &str,
    flag: &str,
    range: std::ops::RangeInclusive<u32>,
) -> anyhow::Result<Vec<u32>> {
    let mut out = Vec::new();
    for part in text.split(',') {
        match part.trim().parse::<u32>() {
            Ok(n) if range.contains(&n) => out.push(n),
            _ => bail!(
                "{flag} {text}: '{}' is not a whole number from {} to {} (give one value, or a \
                 list like 10,25,50 to sweep it)",
                part.trim(),
                range.start(),
                range.end()
            ),
        }
    }
    // Repeats would run the same sweep twice; keep the first of each.
    let mut seen = Vec::new();
    out.retain(|n| {
        let first = !seen.contains(n);
        seen.push(*n);
        first
    });
    Ok(out)
}

/// One value of the swept knobs, resolved before anything runs.
struct Setup {
    /// The scenario with this value's overrides, if a scenario is given.
    scenario: Option<Scenario>,
    /// Otherwise one configuration per tier the sizes need.
    configs: Vec<(Tier, ModelConfig)>,
    /// Machines per cluster at this value.
    machines: u32,
}

/// The knobs `--set` and `--machines-per-cluster` sweep (those given several values),
/// and the `--set` overrides that hold one value.
fn sweep_axes(
    sets: &[Override],
    machines: &[u32],
) -> anyhow::Result<(Vec<Override>, Vec<KnobAxis>)> {
    let (mut fixed, mut axes) = (Vec::new(), Vec::new());
    for o in sets {
        if o.key == "machines-per-cluster" {
            bail!(
                "--set machines-per-cluster={}: machines per cluster is a flag; write \
                 --machines-per-cluster {}",
                o.value,
                o.value
            );
        }
        let mut values: Vec<String> = Vec::new();
        for v in o.values() {
            // A value given twice would run the same sweep twice.
            if !values.contains(&v) {
                values.push(v);
            }
        }
        if values.iter().any(String::is_empty) {
            bail!(
                "--set {}={}: an empty value in the list; write e.g. {}=10,50,100",
                o.key,
                o.value,
                o.key
            );
        }
        if values.len() == 1 {
            fixed.push(Override {
                key: o.key.clone(),
                value: values.remove(0),
            });
        } else if axes.iter().any(|(k, _): &(String, _)| *k == o.key) {
            bail!("--set {}: swept twice; give its values in one list", o.key);
        } else {
            axes.push((o.key.clone(), values));
        }
    }
    if machines.len() > 1 {
        axes.push((
            "machines-per-cluster".into(),
            machines.iter().map(u32::to_string).collect(),
        ));
    }
    Ok((fixed, axes))
}

/// Runs the sweep and writes its outputs.
pub fn run(args: &Args) -> anyhow::Result<Outcome> {
    let axis = sweep::parse_axis(&args.clusters, args.step, args.points)
        .map_err(|e| anyhow::anyhow!("--clusters {}: {e}", args.clusters))?;
    let machines = parse_counts(
        &args.machines_per_cluster,
        "--machines-per-cluster",
        1..=1000,
    )?;
    if let Some(&m) = machines.iter().find(|&&m| m < args.control_plane_replicas) {
        bail!(
            "--machines-per-cluster {m} is below --control-plane-replicas {}: the count \
             includes the control plane (e.g. 25 = 3 control plane + 22 workers)",
            args.control_plane_replicas
        );
    }
    if !(args.confidence > 0.0 && args.confidence <= 1.0) {
        bail!(
            "--confidence {}: must be in (0, 1], e.g. 0.95",
            args.confidence
        );
    }
    let (fixed, axes) = sweep_axes(&args.sets, &machines)?;
    let variants = sweep::combinations(&axes);
    if variants.len() > 64 {
        bail!(
            "the swept knobs make {} combinations; at most 64 (each is a full sweep)",
            variants.len()
        );
    }
    // Resolve every configuration the sizes need before anything runs, so bad input fails
    // fast: the scenario's, the fixed tier's, or one per guide tier across the range.
    let sizes: Vec<u32> = if args.until_slo_violation {
        let (lo, hi) = (axis.0[0], *axis.0.last().expect("non-empty axis"));
        Tier::ALL
            .iter()
            .filter(|t| {
                let (a, b) = t.fleet_range();
                b.is_none_or(|b| b >= lo) && a <= hi
            })
            .map(|t| t.fleet_range().0.max(lo))
            .collect()
    } else {
        axis.0.clone()
    };
    let tier_of = |c: u32| {
        args.tier
            .map(Tier::from)
            .unwrap_or_else(|| Tier::for_fleet(c))
    };
    let mut setups = Vec::new();
    for knobs in &variants {
        let mut sets = fixed.clone();
        sets.extend(
            knobs
                .iter()
                .filter(|(k, _)| *k != "machines-per-cluster")
                .map(|(k, v)| Override {
                    key: k.clone(),
                    value: v.clone(),
                }),
        );
        let scenario = match &args.scenario {
            Some(p) => Some(crate::cmd::scenario::load_file(p, &sets)?),
            None => None,
        };
        let mut configs: Vec<(Tier, ModelConfig)> = Vec::new();
        if scenario.is_none() {
            for &c in &sizes {
                let tier = tier_of(c);
                if !configs.iter().any(|(t, _)| *t == tier) {
                    configs.push((tier, presets::resolve(tier, &sets)?));
                }
            }
        }
        let machines = knobs
            .get("machines-per-cluster")
            .map_or(Ok(machines[0]), |m| m.parse())?;
        setups.push(Setup {
            scenario,
            configs,
            machines,
        });
    }
    let thresholds = match (&setups[0].scenario, setups[0].configs.first()) {
        (Some(s), _) => s.config.thresholds.clone(),
        (None, Some((_, c))) => c.thresholds.clone(),
        (None, None) => presets::resolve(Tier::Medium, &fixed)?.thresholds,
    };
    let make = |c: u32, knobs: &Knobs| {
        let v = variants
            .iter()
            .position(|k| k == knobs)
            .expect("a known variant");
        let setup = &setups[v];
        let (config, label, faults, explicit_split, after) = match &setup.scenario {
            Some(s) => (
                s.config.clone(),
                s.tier.map_or(s.defaults.name(), |t| t.name()).to_string(),
                s.faults.clone(),
                s.management_clusters,
                s.after_ops(),
            ),
            None => {
                let tier = tier_of(c);
                let (_, config) = setup
                    .configs
                    .iter()
                    .find(|(t, _)| *t == tier)
                    .expect("resolved tier");
                (
                    config.clone(),
                    tier.name().to_string(),
                    Vec::new(),
                    None,
                    Vec::new(),
                )
            }
        };
        let management_clusters =
            explicit_split.unwrap_or_else(|| config.topology.management_clusters_for(c));
        let fleet = FleetSpec::all_at_once(c, setup.machines, args.control_plane_replicas);
        let mut plan = RunPlan::new(config, &label, fleet, args.seed);
        plan.max_simulated = args.max_time;
        plan.faults = faults;
        plan.management_clusters = management_clusters;
        plan.after = after;
        plan
    };
    let threads = args.threads.map(|t| t as usize);
    if args.until_slo_violation {
        return search(args, &axis, &variants, threads, make);
    }
    let points = axis.0.len() * variants.len();
    let bar = crate::progress::Bar::new(points as u64 * args.replicas, "runs");
    // Runs done per point, and points with every replica done.
    let runs_done: Vec<AtomicU64> = (0..points).map(|_| AtomicU64::new(0)).collect();
    let points_done = AtomicUsize::new(0);
    let progress = |point: usize| {
        if runs_done[point].fetch_add(1, Ordering::Relaxed) + 1 == args.replicas {
            let d = points_done.fetch_add(1, Ordering::Relaxed) + 1;
            bar.message(format!("points {d}/{points}"));
        }
        bar.tick();
    };
    let result = in_pool(threads, || {
        sweep::sweep(&axis, &variants, args.replicas, make, progress)
    })?
    .context("a run stopped")?;
    bar.finish();
    let charts = write_outputs(&args.out, &result, &thresholds)?;
    let rendered = render(&result, args.confidence, &thresholds);
    crate::report::write(&args.out, &setup(args), &rendered.verdict, &result, &charts)?;
    print!("{}", rendered.text);
    println!(
        "\nOutputs: {} and charts/, report.md, report.html",
        args.out
            .join("{replicas.csv,summary.csv,summary.json}")
            .display()
    );
    Ok(Outcome::Success)
}

/// What was run, in words, for the report.
fn setup(args: &Args) -> String {
    let cluster = match (&args.scenario, args.tier) {
        (Some(p), _) => format!("the management cluster of scenario {}", p.display()),
        (None, Some(t)) => format!("the {:?} tier preset at every size", t).to_lowercase(),
        (None, None) => "the guide's tier preset for each fleet size, split as the tier says \
                         (XL: management clusters of at most 600 clusters, Extreme: 500; \
                         the mgmt column gives the count)"
            .to_string(),
    };
    let sets = if args.sets.is_empty() {
        String::new()
    } else {
        let list: Vec<String> = args
            .sets
            .iter()
            .map(|o| format!("{}={}", o.key, o.value))
            .collect();
        format!("\nOverrides: {}", list.join(", "))
    };
    format!(
        "Fleet sizes {} × {} replicas (seed {}); {} machines per cluster, {} of them control plane; \
         {cluster}; each run stops after {} of simulated time.{sets}\n\
         Command: capsim {}",
        args.clusters,
        args.replicas,
        args.seed,
        args.machines_per_cluster,
        args.control_plane_replicas,
        args.max_time,
        std::env::args().skip(1).collect::<Vec<_>>().join(" ")
    )
}

/// `--until-slo-violation`: bisection for the breaking point (one search per value of the
/// swept knobs), then its report.
fn search(
    args: &Args,
    axis: &sweep::Axis,
    variants: &[Knobs],
    threads: Option<usize>,
    make: impl Fn(u32, &Knobs) -> RunPlan + Sync + Send,
) -> anyhow::Result<Outcome> {
    if !args.clusters.contains("..") {
        bail!("--until-slo-violation searches a range: give --clusters a..b, e.g. 100..2000");
    }
    let (lo, hi) = (axis.0[0], *axis.0.last().expect("non-empty axis"));
    let resolution = args.step.unwrap_or(((hi - lo) / 20).max(1));
    let max_replicas = args
        .max_replicas
        .unwrap_or(args.replicas * 4)
        .max(args.replicas);
    let bar = crate::progress::Bar::open("runs");
    let mut results = Vec::new();
    for knobs in variants {
        bar.message(sweep::knobs_label(knobs));
        let result = in_pool(threads, || {
            sweep::search(
                lo,
                hi,
                resolution,
                args.replicas,
                max_replicas,
                args.confidence,
                knobs,
                |c| make(c, knobs),
                || bar.tick(),
            )
        })?
        .context("a run stopped")?;
        results.push(result);
    }
    bar.finish();
    let p = args.confidence;
    for result in &results {
        let label = sweep::knobs_label(&result.knobs);
        if !label.is_empty() {
            println!("With {label}:\n");
        }
        let mut points = result.evaluated.clone();
        points.sort_by_key(|p| p.clusters);
        println!("{}", table(&points));
        let at = |c: u32| result.evaluated.iter().find(|x| x.clusters == c);
        match (result.passing, result.failing) {
            (Some(good), Some(bad)) => {
                let f = at(bad).expect("evaluated");
                let (item, prob) = weakest(f).map_or((String::new(), 0.0), |(k, v)| (k.clone(), v));
                println!(
                    "Largest fleet passing the checklist with P ≥ {p}: {good} clusters (bracket \
                     {good}..{bad}, resolution {resolution}). At {bad}: {item} passes in {:.0} % of \
                     {} replicas. Bottleneck there: {} ({:.0} % of waiting).",
                    prob * 100.0,
                    f.replicas,
                    f.bottleneck,
                    f.bottleneck_share * 100.0
                );
                println!("Relieve with: {}.", relief_for(f, &item));
            }
            (Some(good), None) => println!(
                "The checklist passes with P ≥ {p} across the whole range, up to {good} clusters."
            ),
            (None, Some(bad)) => {
                println!("The checklist fails already at {bad} clusters (P < {p}).")
            }
            (None, None) => println!("Nothing was evaluated."),
        }
        println!();
    }
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("{}: cannot create", args.out.display()))?;
    let doc = serde_json::json!({ "schema_version": SCHEMA_VERSION, "searches": results });
    write_atomically(
        &args.out.join("search.json"),
        &serde_json::to_string_pretty(&doc)?,
    )?;
    println!("Outputs: {}", args.out.join("search.json").display());
    Ok(Outcome::Success)
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn num(v: f64) -> String {
    if v.is_nan() {
        String::new()
    } else {
        format!("{v}")
    }
}

/// One CSV cell per swept knob, each with a leading comma: `cell(name)` of each name.
fn knob_cells<'a>(names: &[&'a String], cell: impl Fn(&'a String) -> &'a String) -> String {
    names
        .iter()
        .map(|k| format!(",{}", csv_field(cell(k))))
        .collect()
}

/// `replicas.csv`: one row per (point, replica).
pub fn replicas_csv(r: &SweepResult) -> String {
    let Some(first) = r.replicas.first() else {
        return String::new();
    };
    let figure_names: std::collections::BTreeSet<&String> =
        r.replicas.iter().flat_map(|x| x.figures.keys()).collect();
    let check_names: Vec<&String> = first.checks.keys().collect();
    let knob_names: Vec<&String> = first.knobs.keys().collect();
    let mut out = String::from("clusters");
    out.push_str(&knob_cells(&knob_names, |k| k));
    out.push_str(",replica,ready,checklist_pass,bottleneck,bottleneck_at,bottleneck_share");
    for f in &figure_names {
        out.push(',');
        out.push_str(f);
    }
    for c in &check_names {
        out.push(',');
        out.push_str(&csv_field(&format!("pass: {c}")));
    }
    out.push('\n');
    for rec in &r.replicas {
        out.push_str(&rec.clusters.to_string());
        out.push_str(&knob_cells(&knob_names, |k| &rec.knobs[k]));
        out.push_str(&format!(
            ",{},{},{},{},{},{}",
            rec.replica,
            rec.ready,
            rec.checklist_pass,
            csv_field(&rec.bottleneck),
            csv_field(&rec.bottleneck_at),
            num(rec.bottleneck_share)
        ));
        for f in &figure_names {
            out.push(',');
            out.push_str(&num(rec.figures.get(*f).copied().unwrap_or(f64::NAN)));
        }
        for c in &check_names {
            out.push(',');
            out.push_str(&rec.checks[*c].to_string());
        }
        out.push('\n');
    }
    out
}

/// `summary.csv`: one row per point.
pub fn summary_csv(r: &SweepResult) -> String {
    let Some(first) = r.points.first() else {
        return String::new();
    };
    let figure_names: std::collections::BTreeSet<&String> =
        r.points.iter().flat_map(|p| p.figures.keys()).collect();
    let check_names: Vec<&String> = first.pass_probability.keys().collect();
    let knob_names: Vec<&String> = first.knobs.keys().collect();
    let mut out = String::from("clusters");
    out.push_str(&knob_cells(&knob_names, |k| k));
    out.push_str(
        ",replicas,ready_probability,checklist_pass_probability,bottleneck,bottleneck_frequency,bottleneck_share",
    );
    for f in &figure_names {
        for stat in ["mean", "p5", "p50", "p95", "ci95_low", "ci95_high"] {
            out.push_str(&format!(",{f}_{stat}"));
        }
    }
    for c in &check_names {
        out.push(',');
        out.push_str(&csv_field(&format!("pass probability: {c}")));
    }
    out.push('\n');
    for p in &r.points {
        out.push_str(&p.clusters.to_string());
        out.push_str(&knob_cells(&knob_names, |k| &p.knobs[k]));
        out.push_str(&format!(
            ",{},{},{},{},{},{}",
            p.replicas,
            p.ready_probability,
            p.checklist_pass_probability,
            csv_field(&p.bottleneck),
            p.bottleneck_frequency,
            p.bottleneck_share
        ));
        for f in &figure_names {
            match p.figures.get(*f) {
                Some(s) => {
                    let opt = |v: Option<f64>| v.map_or(String::new(), num);
                    out.push_str(&format!(
                        ",{},{},{},{},{},{}",
                        num(s.mean),
                        num(s.p5),
                        num(s.p50),
                        num(s.p95),
                        opt(s.ci95_low),
                        opt(s.ci95_high)
                    ));
                }
                None => out.push_str(",,,,,,"),
            }
        }
        for c in &check_names {
            out.push_str(&format!(
                ",{}",
                p.pass_probability.get(*c).copied().unwrap_or(0.0)
            ));
        }
        out.push('\n');
    }
    out
}

fn write_atomically(path: &Path, text: &str) -> anyhow::Result<()> {
    let tmp = path.with_extension("partial");
    std::fs::write(&tmp, text).with_context(|| format!("{}: cannot write", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("{}: cannot write", path.display()))
}

/// Writes the CSV, JSON and chart files; returns the charts' names (without extension).
fn write_outputs(dir: &Path, r: &SweepResult, th: &Thresholds) -> anyhow::Result<Vec<String>> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("{}: cannot create the output directory", dir.display()))?;
    write_atomically(&dir.join("replicas.csv"), &replicas_csv(r))?;
    write_atomically(&dir.join("summary.csv"), &summary_csv(r))?;
    let doc = serde_json::json!({ "schema_version": SCHEMA_VERSION, "points": r.points });
    write_atomically(
        &dir.join("summary.json"),
        &serde_json::to_string_pretty(&doc)?,
    )?;
    write_charts(dir, r, th)
}

/// The points of each value of the swept knobs, in order (one group when none is swept).
fn groups(points: &[PointSummary]) -> Vec<&[PointSummary]> {
    points.chunk_by(|a, b| a.knobs == b.knobs).collect()
}

/// Management clusters a point's fleet ran on (the median over replicas; 1 if absent).
fn management_clusters(p: &PointSummary) -> u32 {
    p.figures
        .get("management_clusters")
        .map_or(1, |f| f.p50.round() as u32)
}

/// The fleet sizes of the first group where the number of management clusters changes,
/// labelled with the new count, for the charts.
fn split_marks(points: &[PointSummary]) -> Vec<(f64, String)> {
    let Some(first) = groups(points).into_iter().next() else {
        return Vec::new();
    };
    first
        .windows(2)
        .filter(|w| management_clusters(&w[0]) != management_clusters(&w[1]))
        .map(|w| {
            (
                f64::from(w[1].clusters),
                format!("{} mgmt clusters from here ", management_clusters(&w[1])),
            )
        })
        .collect()
}

/// `name` with the group's index appended when there are several groups.
fn group_name(name: &str, i: usize, n: usize) -> String {
    if n > 1 {
        format!("{name}-{}", i + 1)
    } else {
        name.to_string()
    }
}

/// A line chart: file name, title, figure, y label, scale, and the threshold on that
/// scale with its label.
struct LineChart(
    &'static str,
    &'static str,
    &'static str,
    String,
    f64,
    Option<(f64, String)>,
);

/// The line charts, with the configuration's thresholds.
fn line_charts(th: &Thresholds) -> Vec<LineChart> {
    let secs = |s: f64| SimDuration::from_secs_f64(s).to_string();
    vec![
        LineChart(
            "fleet-time-to-ready",
            "Fleet time to ready",
            "fleet_time_to_ready_s",
            "time to ready [h]".into(),
            1.0 / 3600.0,
            None,
        ),
        LineChart(
            "api-mutating-p99",
            "API server: mutating request latency p99",
            "api_mutating_p99_s",
            "latency p99 [ms]".into(),
            1000.0,
            Some((
                th.api_mutating_p99.0 * 1000.0,
                format!("checklist: < {}", secs(th.api_mutating_p99.0)),
            )),
        ),
        LineChart(
            "etcd-size",
            "etcd database peak size over quota",
            "etcd_db_peak_fraction",
            "peak size / quota [%]".into(),
            100.0,
            Some((
                th.etcd_size_fraction * 100.0,
                format!(
                    "checklist: < {:.0} % of quota",
                    th.etcd_size_fraction * 100.0
                ),
            )),
        ),
        LineChart(
            "workqueue-depth",
            "Deepest workqueue (any controller)",
            "workqueue_depth_max",
            "depth [items]".into(),
            1.0,
            Some((
                th.workqueue_depth,
                format!(
                    "alert level: {} items ({} queues, for {})",
                    th.workqueue_depth,
                    th.workqueue_depth_controllers.join(", "),
                    secs(th.workqueue_depth_for.0)
                ),
            )),
        ),
        LineChart(
            "reconcile-p99",
            "Reconcile time p99 (the checklist's controllers)",
            "reconcile_p99_checklist_s",
            "reconcile p99 [s]".into(),
            1.0,
            Some((
                th.reconcile_p99.0,
                format!(
                    "checklist: < {} ({})",
                    secs(th.reconcile_p99.0),
                    th.reconcile_p99_controllers.join(", ")
                ),
            )),
        ),
        LineChart(
            "vm-create-p95",
            "Prism Central VM create p95",
            "pc_vm_create_p95_s",
            "VM create p95 [min]".into(),
            1.0 / 60.0,
            Some((
                th.vm_create_p95.0 / 60.0,
                format!("checklist: < {}", secs(th.vm_create_p95.0)),
            )),
        ),
        LineChart(
            "controller-cpu",
            "Busiest controller pod's CPU over its limit",
            "controller_cpu_fraction_max",
            "peak CPU / limit [%]".into(),
            100.0,
            Some((
                th.controller_cpu_fraction * 100.0,
                format!(
                    "checklist: < {:.0} % of limit",
                    th.controller_cpu_fraction * 100.0
                ),
            )),
        ),
        LineChart(
            "controller-memory",
            "Fullest controller pod's memory over its limit",
            "controller_memory_fraction_max",
            "peak memory / limit [%]".into(),
            100.0,
            Some((
                th.controller_memory_fraction * 100.0,
                format!(
                    "checklist: < {:.0} % of limit",
                    th.controller_memory_fraction * 100.0
                ),
            )),
        ),
    ]
}

/// The resources of the bottleneck attribution, in `figures_of`'s naming.
const WAIT_RESOURCES: [&str; 6] = [
    "rate-limiter",
    "workqueue",
    "controller-cpu",
    "apf-queue",
    "etcd",
    "prism-central",
];

/// The charts: every figure against the fleet size (one line per value of the swept
/// knobs), and per value the waiting by resource and the checklist heat map. Thresholds
/// are the configuration's own. Returns the names written.
fn write_charts(dir: &Path, r: &SweepResult, th: &Thresholds) -> anyhow::Result<Vec<String>> {
    let mut written = Vec::new();
    let charts = dir.join("charts");
    std::fs::create_dir_all(&charts)
        .with_context(|| format!("{}: cannot create", charts.display()))?;
    let groups = groups(&r.points);
    let series = |figure: &str, scale: f64| -> Vec<Series> {
        groups
            .iter()
            .map(|g| Series {
                label: sweep::knobs_label(&g[0].knobs),
                points: g
                    .iter()
                    .filter_map(|p| {
                        let f = p.figures.get(figure)?;
                        Some(BandPoint {
                            x: f64::from(p.clusters),
                            p5: f.p5 * scale,
                            p50: f.p50 * scale,
                            p95: f.p95 * scale,
                        })
                    })
                    .collect(),
            })
            .filter(|s| !s.points.is_empty())
            .collect()
    };
    let marks = split_marks(&r.points);
    for LineChart(name, title, figure, y_label, scale, threshold) in line_charts(th) {
        let series = series(figure, scale);
        if !series.is_empty() {
            written.push(name.to_string());
            chart::write(
                &charts,
                &ChartSpec {
                    name,
                    title,
                    y_label: &y_label,
                    series: &series,
                    threshold,
                    marks: &marks,
                },
            )?;
        }
    }
    let n = groups.len();
    for (i, g) in groups.iter().enumerate() {
        let label = sweep::knobs_label(&g[0].knobs);
        let suffix = if label.is_empty() {
            String::new()
        } else {
            format!(" ({label})")
        };
        let categories: Vec<String> = WAIT_RESOURCES.iter().map(|s| s.to_string()).collect();
        let bars: Vec<(f64, Vec<f64>)> = g
            .iter()
            .map(|p| {
                let v = WAIT_RESOURCES
                    .iter()
                    .map(|res| {
                        let key = format!("wait_per_machine_{}_s", res.replace('-', "_"));
                        p.figures.get(&key).map_or(0.0, |f| f.mean / 60.0)
                    })
                    .collect();
                (f64::from(p.clusters), v)
            })
            .collect();
        let stack_name = group_name("waiting-by-resource", i, n);
        written.push(stack_name.clone());
        chart::write_stack(
            &charts,
            &StackSpec {
                name: &stack_name,
                title: &format!("Waiting per machine by resource, mean of replicas{suffix}"),
                y_label: "waiting per machine [min]",
                categories: &categories,
                bars: &bars,
                marks: &split_marks(g),
            },
        )?;
        let rows: Vec<String> = g[0].pass_probability.keys().cloned().collect();
        let cells: Vec<Vec<f64>> = rows
            .iter()
            .map(|item| g.iter().map(|p| p.pass_probability[item]).collect())
            .collect();
        let columns: Vec<u32> = g.iter().map(|p| p.clusters).collect();
        let heat_name = group_name("checklist-heatmap", i, n);
        written.push(heat_name.clone());
        chart::write_heat(
            &charts,
            &HeatSpec {
                name: &heat_name,
                title: &format!("Checklist pass probability [%]{suffix}"),
                rows: &rows,
                columns: &columns,
                cells: &cells,
            },
        )?;
    }
    Ok(written)
}

fn secs(s: f64) -> String {
    if s.is_nan() {
        "-".into()
    } else {
        SimDuration::from_secs_f64(s).to_string()
    }
}

/// The checklist item least likely to pass at a point, and its pass probability.
fn weakest(p: &PointSummary) -> Option<(&String, f64)> {
    p.pass_probability
        .iter()
        .map(|(k, v)| (k, *v))
        .min_by(|a, b| a.1.total_cmp(&b.1))
}

/// What relieves the failing item and the point's bottleneck.
fn relief_for(p: &PointSummary, item: &str) -> String {
    let (resource, at) = p.bottleneck.split_once(", ").unwrap_or((&p.bottleneck, ""));
    let for_item = models::run::relief::relieve_item(item);
    let for_bottleneck = models::run::relief::relieve(resource, at);
    match (for_item.is_empty(), for_bottleneck.is_empty()) {
        (false, false) => format!("{for_item}; for the bottleneck, {for_bottleneck}"),
        (false, true) => for_item,
        _ => for_bottleneck,
    }
}

/// The table of a sweep's points, one row per fleet size.
fn table(points: &[PointSummary]) -> String {
    let mut t = Table::new(&[
        ("clusters", Align::Right),
        ("mgmt", Align::Right),
        ("ready", Align::Right),
        ("fleet time p50", Align::Right),
        ("p95", Align::Right),
        ("P(checklist)", Align::Right),
        ("weakest item", Align::Left),
        ("bottleneck", Align::Left),
    ]);
    for p in points {
        let ft = p.figures.get("fleet_time_to_ready_s");
        let (w, wp) = weakest(p).map_or((String::new(), 1.0), |(k, v)| (k.clone(), v));
        t.row(vec![
            p.clusters.to_string(),
            management_clusters(p).to_string(),
            format!("{:.0} %", p.ready_probability * 100.0),
            ft.map_or("-".into(), |s| secs(s.p50)),
            ft.map_or("-".into(), |s| secs(s.p95)),
            format!("{:.0} %", p.checklist_pass_probability * 100.0),
            if wp < 1.0 {
                format!("{w} ({:.0} %)", wp * 100.0)
            } else {
                "-".into()
            },
            format!("{} ({:.0} %)", p.bottleneck, p.bottleneck_share * 100.0),
        ]);
    }
    t.render()
}

/// The closing verdict of one group of points (one value of the swept knobs).
/// The figure that comes closest to its checklist threshold (median over replicas, at any
/// size), in words; `None` when no thresholded figure was recorded.
fn headroom(points: &[PointSummary], th: &Thresholds) -> Option<String> {
    let mut best: Option<(f64, String)> = None;
    for LineChart(_, title, figure, y_label, scale, threshold) in line_charts(th) {
        let Some((t, label)) = threshold.filter(|(_, l)| l.starts_with("checklist")) else {
            continue;
        };
        for p in points {
            let Some(f) = p.figures.get(figure) else {
                continue;
            };
            let v = f.p50 * scale;
            let ratio = if t > 0.0 { v / t } else { 0.0 };
            if best.as_ref().is_none_or(|(r, _)| ratio > *r) {
                let unit = y_label
                    .rsplit_once('[')
                    .map_or("", |(_, u)| u.trim_end_matches(']'));
                best = Some((
                    ratio,
                    format!(
                        "{title}, {v:.3} {unit} at {} clusters ({label}; {:.0} % of the way)",
                        p.clusters,
                        ratio * 100.0
                    ),
                ));
            }
        }
    }
    best.map(|(_, s)| s)
}

fn verdict(points: &[PointSummary], confidence: f64, th: &Thresholds) -> String {
    let passing = points
        .iter()
        .take_while(|p| p.checklist_pass_probability >= confidence)
        .last();
    let first_fail = points
        .iter()
        .find(|p| p.checklist_pass_probability < confidence);
    match (passing, first_fail) {
        (Some(p), None) => {
            // Everything passes: say which item came closest, and where.
            let closest = points
                .iter()
                .filter_map(|p| weakest(p).map(|(k, v)| (p, k, v)))
                .min_by(|a, b| a.2.total_cmp(&b.2));
            let mut out = format!(
                "Checklist passes at every size up to {} clusters (P ≥ {confidence}).",
                p.clusters
            );
            if let Some((at, item, prob)) = closest.filter(|c| c.2 < 1.0) {
                out.push_str(&format!(
                    " Closest to failing: {item} at {} clusters (passes in {:.0} % of replicas).",
                    at.clusters,
                    prob * 100.0
                ));
            }
            if let Some(h) = headroom(points, th) {
                out.push_str(&format!(" Nearest to its threshold: {h}."));
            }
            let last = points.last().expect("a passing point");
            out.push_str(&format!(
                " Bottleneck at {}: {} ({:.0} % of waiting).\n",
                last.clusters,
                last.bottleneck,
                last.bottleneck_share * 100.0
            ));
            out
        }
        (passing, Some(f)) => {
            let (item, prob) = weakest(f).map_or((String::new(), 0.0), |(k, v)| (k.clone(), v));
            let head = match passing {
                Some(p) => format!(
                    "Checklist passes up to {} clusters (P ≥ {confidence}).",
                    p.clusters
                ),
                None => format!(
                    "Checklist fails already at {} clusters (P < {confidence}).",
                    f.clusters
                ),
            };
            format!(
                "{head} First to fail at {}: {item} (passes in {:.0} % of replicas). Bottleneck \
                 there: {} ({:.0} % of waiting).\nRelieve with: {}.\n",
                f.clusters,
                prob * 100.0,
                f.bottleneck,
                f.bottleneck_share * 100.0,
                relief_for(f, &item)
            )
        }
        (None, None) => "No point was run.\n".into(),
    }
}

/// What the terminal shows, and the verdict alone (for the reports).
pub struct Rendered {
    /// Tables and verdicts, per value of the swept knobs.
    pub text: String,
    /// The verdicts.
    pub verdict: String,
}

/// The terminal tables and the closing verdicts.
pub fn render(r: &SweepResult, confidence: f64, th: &Thresholds) -> Rendered {
    let (mut parts, mut verdicts) = (Vec::new(), String::new());
    for g in groups(&r.points) {
        let label = sweep::knobs_label(&g[0].knobs);
        let v = verdict(g, confidence, th);
        if label.is_empty() {
            parts.push(format!("{}\n{v}", table(g)));
            verdicts.push_str(&v);
        } else {
            parts.push(format!("With {label}:\n\n{}\n{v}", table(g)));
            verdicts.push_str(&format!("With {label}: {v}"));
        }
    }
    let text = parts.join("\n");
    Rendered {
        text,
        verdict: verdicts.trim_end().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use models::run::sweep::FigureSummary;

    fn point(clusters: u32, figures: &[(&str, f64)]) -> PointSummary {
        let fig = |v: f64| FigureSummary {
            mean: v,
            p5: v,
            p50: v,
            p95: v,
            ci95_low: None,
            ci95_high: None,
        };
        PointSummary {
            clusters,
            knobs: Knobs::new(),
            replicas: 1,
            ready_probability: 1.0,
            figures: figures
                .iter()
                .map(|(k, v)| (k.to_string(), fig(*v)))
                .collect(),
            pass_probability: [("No OOM kills".to_string(), 1.0)].into_iter().collect(),
            checklist_pass_probability: 1.0,
            bottleneck: "prism-central, task slots".into(),
            bottleneck_frequency: 1.0,
            bottleneck_share: 0.5,
        }
    }

    #[test]
    fn headroom_names_the_figure_nearest_its_threshold_and_where() {
        let th = presets::resolve(Tier::Medium, &[]).unwrap().thresholds;
        // CPU at 40 % and 60 % of the limit (threshold 80 %): 75 % of the way at 200.
        // API p99 0.5 s of 1 s: 50 %. VM create 2 min of 5: 40 %.
        let points = [
            point(
                100,
                &[
                    ("controller_cpu_fraction_max", 0.4),
                    ("api_mutating_p99_s", 0.5),
                ],
            ),
            point(
                200,
                &[
                    ("controller_cpu_fraction_max", 0.6),
                    ("pc_vm_create_p95_s", 120.0),
                ],
            ),
        ];
        let h = headroom(&points, &th).unwrap();
        assert!(h.starts_with("Busiest controller pod's CPU"), "{h}");
        assert!(
            h.contains("at 200 clusters") && h.contains("75 % of the way"),
            "{h}"
        );
    }

    #[test]
    fn split_marks_fall_where_the_management_cluster_count_changes() {
        let points: Vec<PointSummary> = [(500, 1.0), (600, 1.0), (700, 2.0), (1300, 3.0)]
            .iter()
            .map(|&(c, m)| point(c, &[("management_clusters", m)]))
            .collect();
        let marks = split_marks(&points);
        let at: Vec<f64> = marks.iter().map(|m| m.0).collect();
        assert_eq!(at, vec![700.0, 1300.0]);
        assert!(marks[1].1.starts_with("3 mgmt clusters"));
    }
}
