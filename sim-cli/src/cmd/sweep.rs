//! `capsim sweep`: Monte Carlo across fleet sizes, the breaking point, and its outputs.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, bail};
use models::presets::{self, Override, Tier};
use models::run::RunPlan;
use models::sweep::{self, PointSummary, SweepResult};
use models::world::FleetSpec;
use sim_core::SimDuration;
use sim_core::monte_carlo::in_pool;

use crate::Outcome;
use crate::chart::{self, BandPoint, ChartSpec};
use crate::cmd::run::TierArg;
use crate::table::{Align, Table};

/// Version of `summary.json`; bumped when a field changes meaning.
const SCHEMA_VERSION: u32 = 1;

/// Arguments of `capsim sweep`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    capsim sweep --clusters 100..2000\n  \
    capsim sweep --clusters 100..1000 --step 100 --replicas 5 --tier large\n  \
    capsim sweep --clusters 50,100,200,400 --scenario scenarios/guide-medium-batches.yaml\n  \
    capsim sweep --clusters 100..500 --points 5 --out review/ --threads 2\n\n\
A range a..b includes both ends; the default step is 100 (or a tenth of a narrower range). \
Each (fleet size, replica) is one full `capsim run`; replica r uses the same random \
streams at every size. Results go to --out: replicas.csv, summary.csv and summary.json \
(docs/outputs.md). Output is identical at any thread count.")]
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
    /// Machines per cluster, control plane included (1 to 1000).
    #[arg(long, default_value_t = 25, value_parser = clap::value_parser!(u32).range(1..=1000))]
    machines_per_cluster: u32,
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
    /// Override a knob: KEY=VALUE (repeatable).
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
    /// Directory for replicas.csv, summary.csv and summary.json.
    #[arg(long, default_value = "capsim-out")]
    out: PathBuf,
}

/// Runs the sweep and writes its outputs.
pub fn run(args: &Args) -> anyhow::Result<Outcome> {
    let axis = sweep::parse_axis(&args.clusters, args.step, args.points)
        .map_err(|e| anyhow::anyhow!("--clusters {}: {e}", args.clusters))?;
    if args.control_plane_replicas > args.machines_per_cluster {
        bail!(
            "--machines-per-cluster {} is below --control-plane-replicas {}",
            args.machines_per_cluster,
            args.control_plane_replicas
        );
    }
    if !(args.confidence > 0.0 && args.confidence <= 1.0) {
        bail!(
            "--confidence {}: must be in (0, 1], e.g. 0.95",
            args.confidence
        );
    }
    let scenario = match &args.scenario {
        Some(p) => Some(crate::cmd::scenario::load_file(p, &args.sets)?),
        None => None,
    };
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
    let mut configs: Vec<(Tier, models::config::ModelConfig)> = Vec::new();
    let tier_of = |c: u32| {
        args.tier
            .map(Tier::from)
            .unwrap_or_else(|| Tier::for_fleet(c))
    };
    if scenario.is_none() {
        for &c in &sizes {
            let tier = tier_of(c);
            if !configs.iter().any(|(t, _)| *t == tier) {
                configs.push((tier, presets::resolve(tier, &args.sets)?));
            }
        }
    }
    let explicit_split = scenario.as_ref().and_then(|s| s.management_clusters);
    let faults = scenario
        .as_ref()
        .map(|s| s.faults.clone())
        .unwrap_or_default();
    let make = |c: u32| {
        let (config, label) = match &scenario {
            Some(s) => (
                s.config.clone(),
                s.tier.map_or(s.defaults.name(), |t| t.name()).to_string(),
            ),
            None => {
                let tier = tier_of(c);
                let (_, config) = configs
                    .iter()
                    .find(|(t, _)| *t == tier)
                    .expect("resolved tier");
                (config.clone(), tier.name().to_string())
            }
        };
        let fleet =
            FleetSpec::all_at_once(c, args.machines_per_cluster, args.control_plane_replicas);
        let management_clusters =
            explicit_split.unwrap_or_else(|| config.topology.management_clusters_for(c));
        let mut plan = RunPlan::new(config, &label, fleet, args.seed);
        plan.max_simulated = args.max_time;
        plan.faults = faults.clone();
        plan.management_clusters = management_clusters;
        plan
    };
    let total = axis.0.len() * args.replicas as usize;
    let done = AtomicUsize::new(0);
    let tty = std::io::stderr().is_terminal();
    let progress = || {
        let n = done.fetch_add(1, Ordering::Relaxed) + 1;
        if tty {
            eprint!("\rcapsim sweep: {n}/{total} runs");
        }
    };
    let threads = args.threads.map(|t| t as usize);
    if args.until_slo_violation {
        return search(args, &axis, threads, make, progress, tty);
    }
    let result = in_pool(threads, || {
        sweep::sweep(&axis, args.replicas, make, progress)
    })?
    .context("a run stopped")?;
    if tty {
        eprintln!();
    }
    write_outputs(&args.out, &result)?;
    let rendered = render(&result, args.confidence);
    let verdict = rendered
        .rsplit("\n\n")
        .next()
        .unwrap_or("")
        .trim()
        .to_string();
    crate::report::write(&args.out, &setup(args), &verdict, &result)?;
    print!("{rendered}");
    println!(
        "\nOutputs: {}",
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
        (None, None) => "the guide's tier preset for each fleet size".to_string(),
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

/// `--until-slo-violation`: bisection for the breaking point, then its report.
fn search(
    args: &Args,
    axis: &sweep::Axis,
    threads: Option<usize>,
    make: impl Fn(u32) -> RunPlan + Sync + Send,
    progress: impl Fn() + Sync + Send,
    tty: bool,
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
    let result = in_pool(threads, || {
        sweep::search(
            lo,
            hi,
            resolution,
            args.replicas,
            max_replicas,
            args.confidence,
            make,
            progress,
        )
    })?
    .context("a run stopped")?;
    if tty {
        eprintln!();
    }
    let mut points = result.evaluated.clone();
    points.sort_by_key(|p| p.clusters);
    let grid = SweepResult {
        replicas: Vec::new(),
        points,
    };
    let table = render(&grid, args.confidence);
    // The table part of the grid rendering; the verdict is the search's own.
    let table = table.split("\n\n").next().unwrap_or("").to_string();
    println!("{table}\n");
    let p = args.confidence;
    let at = |c: u32| result.evaluated.iter().find(|x| x.clusters == c);
    match (result.passing, result.failing) {
        (Some(good), Some(bad)) => {
            let f = at(bad).expect("evaluated");
            let (item, prob) = weakest(f).map_or((String::new(), 0.0), |(k, v)| (k.clone(), v));
            println!(
                "Largest fleet passing the checklist with P ≥ {p}: {good} clusters (bracket {good}..{bad}, \
                 resolution {resolution}). At {bad}: {item} passes in {:.0} % of {} replicas. \
                 Bottleneck there: {} ({:.0} % of waiting).",
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
        (None, Some(bad)) => println!("The checklist fails already at {bad} clusters (P < {p})."),
        (None, None) => println!("Nothing was evaluated."),
    }
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("{}: cannot create", args.out.display()))?;
    let doc = serde_json::json!({ "schema_version": SCHEMA_VERSION, "search": result });
    write_atomically(
        &args.out.join("search.json"),
        &serde_json::to_string_pretty(&doc)?,
    )?;
    println!("\nOutputs: {}", args.out.join("search.json").display());
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

/// `replicas.csv`: one row per (point, replica).
pub fn replicas_csv(r: &SweepResult) -> String {
    let Some(first) = r.replicas.first() else {
        return String::new();
    };
    let figure_names: Vec<&String> = first.figures.keys().collect();
    let check_names: Vec<&String> = first.checks.keys().collect();
    let mut out = String::from(
        "clusters,replica,ready,checklist_pass,bottleneck,bottleneck_at,bottleneck_share",
    );
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
        out.push_str(&format!(
            "{},{},{},{},{},{},{}",
            rec.clusters,
            rec.replica,
            rec.ready,
            rec.checklist_pass,
            csv_field(&rec.bottleneck),
            csv_field(&rec.bottleneck_at),
            num(rec.bottleneck_share)
        ));
        for f in &figure_names {
            out.push(',');
            out.push_str(&num(rec.figures[*f]));
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
    let figure_names: Vec<&String> = first.figures.keys().collect();
    let check_names: Vec<&String> = first.pass_probability.keys().collect();
    let mut out = String::from(
        "clusters,replicas,ready_probability,checklist_pass_probability,bottleneck,bottleneck_frequency,bottleneck_share",
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
        out.push_str(&format!(
            "{},{},{},{},{},{},{}",
            p.clusters,
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

fn write_outputs(dir: &Path, r: &SweepResult) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("{}: cannot create the output directory", dir.display()))?;
    write_atomically(&dir.join("replicas.csv"), &replicas_csv(r))?;
    write_atomically(&dir.join("summary.csv"), &summary_csv(r))?;
    let doc = serde_json::json!({ "schema_version": SCHEMA_VERSION, "points": r.points });
    write_atomically(
        &dir.join("summary.json"),
        &serde_json::to_string_pretty(&doc)?,
    )?;
    write_charts(dir, r)?;
    Ok(())
}

/// The charts: one figure per chart against the fleet size, with the checklist threshold
/// (the guide's, as the built-in presets set them).
fn write_charts(dir: &Path, r: &SweepResult) -> anyhow::Result<()> {
    let charts = dir.join("charts");
    std::fs::create_dir_all(&charts)
        .with_context(|| format!("{}: cannot create", charts.display()))?;
    let series = |figure: &str, scale: f64| -> Vec<BandPoint> {
        r.points
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
            .collect()
    };
    type Spec = (
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        f64,
        Option<(f64, &'static str)>,
    );
    let specs: [Spec; 6] = [
        (
            "fleet-time-to-ready",
            "Fleet time to ready",
            "fleet_time_to_ready_s",
            "time to ready [h]",
            1.0 / 3600.0,
            None,
        ),
        (
            "api-mutating-p99",
            "API server: mutating request latency p99",
            "api_mutating_p99_s",
            "latency p99 [ms]",
            1000.0,
            Some((1000.0, "checklist: < 1 s")),
        ),
        (
            "etcd-size",
            "etcd database peak size over quota",
            "etcd_db_peak_fraction",
            "peak size / quota [%]",
            100.0,
            Some((75.0, "checklist: < 75 % of quota")),
        ),
        (
            "vm-create-p95",
            "Prism Central VM create p95",
            "pc_vm_create_p95_s",
            "VM create p95 [min]",
            1.0 / 60.0,
            Some((5.0, "checklist: < 5 min")),
        ),
        (
            "controller-cpu",
            "Busiest controller pod's CPU over its limit",
            "controller_cpu_fraction_max",
            "peak CPU / limit [%]",
            100.0,
            Some((80.0, "checklist: < 80 % of limit")),
        ),
        (
            "workqueue-depth",
            "Deepest workqueue",
            "workqueue_depth_max",
            "depth [items]",
            1.0,
            None,
        ),
    ];
    for (name, title, figure, y_label, scale, threshold) in specs {
        let points = series(figure, scale);
        if !points.is_empty() {
            chart::write(
                &charts,
                &ChartSpec {
                    name,
                    title,
                    y_label,
                    points: &points,
                    threshold,
                },
            )?;
        }
    }
    Ok(())
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
    let for_item = models::relief::relieve_item(item);
    let for_bottleneck = models::relief::relieve(resource, at);
    match (for_item.is_empty(), for_bottleneck.is_empty()) {
        (false, false) => format!("{for_item}; for the bottleneck, {for_bottleneck}"),
        (false, true) => for_item,
        _ => for_bottleneck,
    }
}

/// The terminal table and the closing verdict.
pub fn render(r: &SweepResult, confidence: f64) -> String {
    let mut t = Table::new(&[
        ("clusters", Align::Right),
        ("ready", Align::Right),
        ("fleet time p50", Align::Right),
        ("p95", Align::Right),
        ("P(checklist)", Align::Right),
        ("weakest item", Align::Left),
        ("bottleneck", Align::Left),
    ]);
    for p in &r.points {
        let ft = p.figures.get("fleet_time_to_ready_s");
        let (w, wp) = weakest(p).map_or((String::new(), 1.0), |(k, v)| (k.clone(), v));
        t.row(vec![
            p.clusters.to_string(),
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
    let mut out = t.render();
    let passing = r
        .points
        .iter()
        .take_while(|p| p.checklist_pass_probability >= confidence)
        .last();
    let first_fail = r
        .points
        .iter()
        .find(|p| p.checklist_pass_probability < confidence);
    out.push('\n');
    match (passing, first_fail) {
        (Some(p), None) => out.push_str(&format!(
            "Checklist passes at every size up to {} clusters (P ≥ {confidence}).\n",
            p.clusters
        )),
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
            out.push_str(&format!(
                "{head} First to fail at {}: {item} (passes in {:.0} % of replicas). Bottleneck there: {} ({:.0} % of waiting).\n",
                f.clusters,
                prob * 100.0,
                f.bottleneck,
                f.bottleneck_share * 100.0
            ));
            out.push_str(&format!("Relieve with: {}.\n", relief_for(f, &item)));
        }
        (None, None) => out.push_str("No point was run.\n"),
    }
    out
}
