//! `capsim compare`: two designs on the same fleets, replica r of each on the same random
//! streams (common random numbers), and the paired difference B − A of every headline
//! figure with its confidence interval.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, bail};
use models::run::figures::figures_of;
use models::run::{RunPlan, run as run_fleet};
use models::scenario::presets::Override;
use rayon::prelude::*;
use sim_core::SimDuration;
use sim_core::monte_carlo::in_pool;
use sim_core::stats::difference::{self, Difference};

use crate::Outcome;
use crate::cmd::run::{self, Fleet, Format, TierArg};
use crate::render::sweep_text::secs;
use crate::render::table::{Align, Table};

/// Arguments of `capsim compare`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    capsim compare --clusters 200 --set prism-central.max-concurrent-tasks=48,96\n  \
    capsim compare today.yaml proposed.yaml --clusters 500,1000 --replicas 20\n  \
    capsim compare --clusters 300 --set capx-controller-manager.nutanixmachine-concurrency=10,50 --format json\n\n\
A and B are two scenario files, or the built-in tier with one knob given two values \
(--set KEY=A,B; other --set values apply to both). Each fleet size runs --replicas \
replicas of each design; replica r of A and of B draw from the same random streams, so \
a VM that draws a slow create in A draws it in B, and the difference B − A varies less \
than either design does. Each headline figure gets the mean of A and of B, the mean \
paired difference and its Student-t interval at --confidence; 'significant' means the \
interval excludes zero. --independent runs B on other streams (seed + 1) and uses \
Welch's interval instead, to show what common random numbers buy. The estimates ([I] \
knobs) are held at their defaults in both designs.\n\n\
Exit status: 0 when both designs ran, 2 on bad input or a failed run.")]
pub struct Args {
    /// Scenario files A and B; none with a --set KEY=A,B.
    #[arg(value_name = "SCENARIO.yaml", num_args = 0..=2)]
    files: Vec<PathBuf>,
    /// Fleet sizes: one, or a list like 200,500 [clusters].
    #[arg(long)]
    clusters: String,
    /// The management cluster's tier [default: the guide's for the size]; not with files.
    #[arg(long, value_enum)]
    tier: Option<TierArg>,
    /// KEY=VALUE overrides for both designs; one KEY=A,B gives the two designs.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<Override>,
    /// Replicas of each design per size (2 to 1000).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(2..=1000))]
    replicas: u64,
    /// Run B on independent streams (seed + 1) and use Welch's interval.
    #[arg(long)]
    independent: bool,
    /// Also draw both designs' curves into this folder (with two or more sizes): one chart
    /// per headline figure, `compare-<figure>.png` and `.svg`.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    #[command(flatten)]
    shared: Shared,
}

/// The flags `compare` and `sensitivity` share: the fleet's shape, the streams, the
/// intervals, the threads and the output.
#[derive(Debug, clap::Args)]
pub(crate) struct Shared {
    /// Machines per cluster, control plane included [default: the scenario's, else 25].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub(crate) machines_per_cluster: Option<u32>,
    /// Control-plane machines per cluster: 1, 3 or 5 [default: the scenario's, else 3].
    #[arg(long, value_parser = crate::cmd::parse_cp_replicas)]
    pub(crate) control_plane_replicas: Option<u32>,
    /// Master seed.
    #[arg(long, default_value_t = 1)]
    pub(crate) seed: u64,
    /// Confidence of the intervals, strictly between 0 and 1.
    #[arg(long, default_value_t = 0.95)]
    pub(crate) confidence: f64,
    /// Worker threads (1 to 1024); default: one per core. Results do not depend on it.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub(crate) threads: Option<u64>,
    /// Simulated-time limit of each run.
    #[arg(long, default_value = "24h", value_parser = crate::cmd::parse_sim_duration)]
    pub(crate) max_time: SimDuration,
    /// Output: a table, or one JSON document (docs/outputs.md).
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub(crate) format: Format,
}

impl Shared {
    /// Checks the confidence; what every design's runs share, on `tier`.
    pub(crate) fn common(&self, tier: Option<TierArg>) -> anyhow::Result<Common> {
        if !(self.confidence > 0.0 && self.confidence < 1.0) {
            bail!(
                "--confidence {}: must lie strictly between 0 and 1, e.g. 0.95",
                self.confidence
            );
        }
        Ok(Common {
            machines_per_cluster: self.machines_per_cluster,
            control_plane_replicas: self.control_plane_replicas,
            tier,
            max_time: self.max_time,
        })
    }
}

/// The figures compared, with their labels and units.
const HEADLINE: &[(&str, &str, Unit)] = &[
    ("fleet_time_to_ready_s", "fleet time to ready", Unit::Secs),
    ("cluster_ready_p95_s", "cluster ready p95", Unit::Secs),
    ("pc_vm_create_p95_s", "VM create p95", Unit::Secs),
    ("api_mutating_p99_s", "API mutating p99", Unit::Secs),
    (
        "reconcile_p99_checklist_s",
        "reconcile p99 (checklist)",
        Unit::Secs,
    ),
    (
        "workqueue_depth_above_threshold_longest_s",
        "queue above 100, longest",
        Unit::Secs,
    ),
    (
        "controller_cpu_fraction_max",
        "controller CPU of limit",
        Unit::Fraction,
    ),
    (
        "controller_memory_fraction_max",
        "controller memory of limit",
        Unit::Fraction,
    ),
    ("etcd_db_peak_bytes", "etcd database peak", Unit::Bytes),
    ("etcd_fsync_p99_s", "WAL fsync p99", Unit::Secs),
    (
        "checklist_worst_margin",
        "worst checklist margin",
        Unit::Fraction,
    ),
];

#[derive(Clone, Copy, Debug)]
enum Unit {
    Secs,
    Fraction,
    Bytes,
}

impl Unit {
    fn show(self, v: f64) -> String {
        if v.is_nan() {
            return "-".into();
        }
        let sign = if v < 0.0 { "−" } else { "" };
        let a = v.abs();
        let text = match self {
            Unit::Secs if a < 1.0 => format!("{:.1}ms", a * 1000.0),
            Unit::Secs => secs(a),
            Unit::Fraction => format!("{:.1} %", a * 100.0),
            Unit::Bytes => format!("{:.1} MiB", a / 1_048_576.0),
        };
        // A difference that shows as zero has no sign.
        if text.chars().all(|c| !c.is_ascii_digit() || c == '0') {
            return text;
        }
        format!("{sign}{text}")
    }
}

/// The configuration `sensitivity` and `recommend` start from: one fleet size, on a tier
/// or a scenario file, with overrides.
#[derive(Debug, clap::Args)]
pub(crate) struct Start {
    /// Fleet size [clusters].
    #[arg(long, value_parser = crate::cmd::parse_clusters)]
    pub(crate) clusters: u32,
    /// The management cluster's tier [default: the guide's for the size].
    #[arg(long, value_enum, conflicts_with = "scenario")]
    pub(crate) tier: Option<TierArg>,
    /// A scenario file for the configuration (its prices too).
    #[arg(long, value_name = "FILE.yaml")]
    pub(crate) scenario: Option<PathBuf>,
    /// KEY=VALUE overrides of the configuration.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub(crate) sets: Vec<Override>,
}

impl Start {
    /// Refuses a `--set` with several values: `command` moves the knobs itself.
    pub(crate) fn one_value_each(&self, command: &str) -> anyhow::Result<()> {
        match self.sets.iter().find(|o| o.values().len() > 1) {
            Some(o) => bail!(
                "--set {}={}: give one value; {command} the knobs itself",
                o.key,
                o.value
            ),
            None => Ok(()),
        }
    }

    /// The configuration as a design labelled `label`, with `more` overrides after the
    /// given ones.
    pub(crate) fn design(&self, label: String, more: &[Override]) -> Design {
        let mut sets = self.sets.clone();
        sets.extend_from_slice(more);
        Design {
            label,
            scenario: self.scenario.clone(),
            sets,
        }
    }
}

/// One design: its label and how to build a size's run.
pub(crate) struct Design {
    /// How the outputs name it.
    pub(crate) label: String,
    /// Its scenario file, if any.
    pub(crate) scenario: Option<PathBuf>,
    /// Its `--set` overrides.
    pub(crate) sets: Vec<Override>,
}

/// What every design's runs share besides the design.
pub(crate) struct Common {
    /// Machines per cluster (the scenario's, else 25).
    pub(crate) machines_per_cluster: Option<u32>,
    /// Control-plane machines per cluster.
    pub(crate) control_plane_replicas: Option<u32>,
    /// The tier, when not the guide's for the size.
    pub(crate) tier: Option<TierArg>,
    /// Simulated-time limit of each run.
    pub(crate) max_time: SimDuration,
}

/// One replica's headline figures, and whether its whole checklist passed.
pub(crate) type Record = (BTreeMap<String, f64>, bool);

/// A figure over a design's replicas (NaN where a replica lacks it).
pub(crate) fn values(records: &[Record], name: &str) -> Vec<f64> {
    records
        .iter()
        .map(|r| r.0.get(name).copied().unwrap_or(f64::NAN))
        .collect()
}

/// The runs of `design` at each of `sizes` under `seed`, validated.
pub(crate) fn plans_of(
    design: &Design,
    common: &Common,
    sizes: &[u32],
    seed: u64,
) -> anyhow::Result<Vec<RunPlan>> {
    sizes
        .iter()
        .map(|&c| {
            run::plan(&run::Args::of_fleet(Fleet {
                clusters: c,
                machines_per_cluster: common.machines_per_cluster,
                control_plane_replicas: common.control_plane_replicas,
                tier: common.tier,
                scenario: design.scenario.clone(),
                sets: design.sets.clone(),
                seed,
                max_time: common.max_time,
            }))
        })
        .collect()
}

/// Runs `replicas` replicas of every plan, in parallel on `threads`; replica r of every
/// plan is replica r of its seed's streams. Indexed [design][size][replica].
pub(crate) fn run_plans(
    plans: &[Vec<RunPlan>],
    replicas: u64,
    threads: Option<u64>,
) -> anyhow::Result<Vec<Vec<Vec<Record>>>> {
    let jobs: Vec<(usize, usize, u64)> = plans
        .iter()
        .enumerate()
        .flat_map(|(d, sizes)| (0..sizes.len()).map(move |s| (d, s)))
        .flat_map(|(d, s)| (0..replicas).map(move |r| (d, s, r)))
        .collect();
    let outcomes = in_pool(threads.map(|t| t as usize), || {
        jobs.par_iter()
            .map(|&(d, s, r)| {
                let mut plan = plans[d][s].clone();
                plan.replica = r;
                let out = run_fleet(&plan)?;
                let watched = &plan.config.thresholds.workqueue_depth_controllers;
                let pass = out.report.checklist.iter().all(|c| c.pass);
                Ok((figures_of(&out.report, watched), pass))
            })
            .collect::<Vec<Result<Record, sim_core::SimError>>>()
    })?;
    let mut out: Vec<Vec<Vec<Record>>> = plans
        .iter()
        .map(|sizes| vec![Vec::new(); sizes.len()])
        .collect();
    for (&(d, s, _), o) in jobs.iter().zip(outcomes) {
        out[d][s].push(o.context("a run stopped")?);
    }
    Ok(out)
}

/// The two designs from the arguments.
fn designs(args: &Args) -> anyhow::Result<[Design; 2]> {
    let swept: Vec<&Override> = args.sets.iter().filter(|o| o.values().len() > 1).collect();
    let fixed: Vec<Override> = args
        .sets
        .iter()
        .filter(|o| o.values().len() == 1)
        .cloned()
        .collect();
    match (args.files.as_slice(), swept.as_slice()) {
        ([a, b], []) => {
            if args.tier.is_some() {
                bail!("--tier: the scenario files give the management cluster; leave it out");
            }
            let design = |p: &PathBuf| Design {
                label: p.display().to_string(),
                scenario: Some(p.clone()),
                sets: fixed.clone(),
            };
            Ok([design(a), design(b)])
        }
        ([], [o]) if o.values().len() == 2 => {
            let v = o.values();
            let design = |value: &str| {
                let mut sets = fixed.clone();
                sets.push(Override {
                    key: o.key.clone(),
                    value: value.to_string(),
                });
                Design {
                    label: format!("{}={value}", o.key),
                    scenario: None,
                    sets,
                }
            };
            Ok([design(&v[0]), design(&v[1])])
        }
        ([], [o]) => bail!(
            "--set {}={}: compare takes two values (A,B), not {}",
            o.key,
            o.value,
            o.values().len()
        ),
        ([_, _], _) => {
            bail!("with two scenario files, --set takes one value per key (it applies to both)")
        }
        ([_], _) => bail!("give two scenario files (A and B), or none with --set KEY=A,B"),
        _ => bail!(
            "give the two designs: two scenario files, or one --set KEY=A,B \
             (e.g. capsim compare --clusters 200 --set prism-central.max-concurrent-tasks=48,96)"
        ),
    }
}

/// Both designs at one size.
#[derive(serde::Serialize)]
struct SizeResult {
    clusters: u32,
    /// Replicas of A (and of B) whose checklist passed [count].
    checklist_passes: [u64; 2],
    /// Per headline figure, B − A.
    figures: Vec<(String, Option<Difference>)>,
}

/// Runs the comparison and prints it.
pub fn run(args: &Args) -> anyhow::Result<Outcome> {
    let common = args.shared.common(args.tier)?;
    let sh = &args.shared;
    let sizes = models::run::sweep::parse_axis(&args.clusters, None, None)
        .map_err(|e| anyhow::anyhow!("--clusters {}: {e}", args.clusters))?
        .0;
    let designs = designs(args)?;
    let mut plans = Vec::new();
    for (d, design) in designs.iter().enumerate() {
        let seed = if args.independent && d == 1 {
            sh.seed.wrapping_add(1)
        } else {
            sh.seed
        };
        plans.push(
            plans_of(design, &common, &sizes, seed)
                .with_context(|| format!("design {}", ["A", "B"][d]))?,
        );
    }
    let runs = run_plans(&plans, args.replicas, sh.threads)?;
    let results: Vec<SizeResult> = sizes
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            let (a, b) = (&runs[0][i], &runs[1][i]);
            let passes = |x: &[Record]| x.iter().filter(|r| r.1).count() as u64;
            let figures = HEADLINE
                .iter()
                .map(|(name, _, _)| {
                    let (va, vb) = (values(a, name), values(b, name));
                    let diff = if args.independent {
                        difference::welch(&va, &vb, sh.confidence)
                    } else {
                        difference::paired(&va, &vb, sh.confidence)
                    };
                    (name.to_string(), diff)
                })
                .collect();
            SizeResult {
                clusters: c,
                checklist_passes: [passes(a), passes(b)],
                figures,
            }
        })
        .collect();
    if let Some(dir) = &args.out {
        if sizes.len() < 2 {
            bail!(
                "--out draws each figure against the fleet size: give --clusters two or more \
                 sizes, e.g. 200,500,1000"
            );
        }
        draw(dir, &designs, &sizes, &runs)?;
    }
    match sh.format {
        Format::Json => {
            let doc = serde_json::json!({
                "schema_version": 1,
                "a": designs[0].label,
                "b": designs[1].label,
                "replicas": args.replicas,
                "seed": sh.seed,
                "common_random_numbers": !args.independent,
                "confidence": sh.confidence,
                "sizes": results,
            });
            let doc = crate::provenance::stamp(doc, sh.seed);
            println!("{}", serde_json::to_string_pretty(&doc)?);
        }
        Format::Table => print!("{}", text(args, &designs, &results)),
    }
    Ok(Outcome::Success)
}

/// One chart per headline figure: each design's mean over its replicas, and the band its
/// replicas span, against the fleet size.
fn draw(
    dir: &std::path::Path,
    designs: &[Design; 2],
    sizes: &[u32],
    runs: &[Vec<Vec<Record>>],
) -> anyhow::Result<()> {
    use crate::render::chart::{self, BandPoint, ChartSpec, Series};
    std::fs::create_dir_all(dir)
        .with_context(|| format!("{}: cannot create the output folder", dir.display()))?;
    for (name, label, unit) in HEADLINE {
        let (scale, unit_text) = match unit {
            Unit::Secs if name.starts_with("fleet") => (1.0 / 3600.0, "h"),
            Unit::Secs if name.starts_with("api") || name.starts_with("etcd") => (1000.0, "ms"),
            Unit::Secs => (1.0 / 60.0, "min"),
            Unit::Fraction => (100.0, "%"),
            Unit::Bytes => (1.0 / 1_048_576.0, "MiB"),
        };
        // The line is the mean (what the paired difference compares), not a median.
        let series: Vec<Series> = designs
            .iter()
            .enumerate()
            .map(|(d, design)| Series {
                label: format!("{}: {}", ["A", "B"][d], design.label),
                points: sizes
                    .iter()
                    .enumerate()
                    .filter_map(|(i, &c)| {
                        let v: Vec<f64> = values(&runs[d][i], name)
                            .into_iter()
                            .filter(|x| x.is_finite())
                            .map(|x| x * scale)
                            .collect();
                        (!v.is_empty()).then(|| BandPoint {
                            x: f64::from(c),
                            low: v.iter().copied().fold(f64::INFINITY, f64::min),
                            p50: v.iter().sum::<f64>() / v.len() as f64,
                            high: v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                        })
                    })
                    .collect(),
            })
            .collect();
        let xs: Vec<f64> = sizes.iter().map(|&c| f64::from(c)).collect();
        let y_label = format!("{label} [{unit_text}]");
        let mut title = format!("{label}: A and B, mean and range of the replicas");
        title[..1].make_ascii_uppercase();
        chart::write(
            dir,
            &ChartSpec {
                name: &format!("compare-{}", name.trim_end_matches("_s").replace('_', "-")),
                title: &title,
                y_label: &y_label,
                series: &series,
                threshold: None,
                marks: &[],
                band: "range of the replicas",
                sizes: &xs,
                not_ready: &[],
            },
        )?;
    }
    Ok(())
}

fn text(args: &Args, designs: &[Design; 2], results: &[SizeResult]) -> String {
    let streams = if args.independent {
        "independent streams (B on seed + 1), Welch's interval"
    } else {
        "common random numbers, paired interval"
    };
    let mut out = format!(
        "A = {}\nB = {}\n{} replicas of each per size; {streams} at {} % confidence.\n",
        designs[0].label,
        designs[1].label,
        args.replicas,
        args.shared.confidence * 100.0
    );
    for r in results {
        out.push_str(&format!(
            "\nAt {} clusters (checklist passed in {}/{} replicas of A, {}/{} of B):\n\n",
            r.clusters, r.checklist_passes[0], args.replicas, r.checklist_passes[1], args.replicas
        ));
        let mut t = Table::new(&[
            ("figure", Align::Left),
            ("A mean", Align::Right),
            ("B mean", Align::Right),
            ("B − A", Align::Right),
            ("interval", Align::Right),
            ("", Align::Left),
        ]);
        for ((_, label, unit), (_, d)) in HEADLINE.iter().zip(&r.figures) {
            match d {
                Some(d) => t.row(vec![
                    label.to_string(),
                    unit.show(d.mean_a),
                    unit.show(d.mean_b),
                    unit.show(d.mean),
                    format!("{} .. {}", unit.show(d.ci_low), unit.show(d.ci_high)),
                    if d.significant() {
                        "significant".into()
                    } else {
                        "-".into()
                    },
                ]),
                None => t.row(vec![
                    label.to_string(),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                    "(not in every replica)".into(),
                    String::new(),
                ]),
            }
        }
        out.push_str(&t.render());
    }
    out
}
