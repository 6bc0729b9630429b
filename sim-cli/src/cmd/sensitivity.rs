//! `capsim sensitivity`: each knob an operator can change, one step down and one step up
//! from the configuration, run beside it on common random numbers; the paired change in
//! fleet time and in the checklist's worst margin, sorted by effect, as a table and a
//! tornado chart.

use std::path::PathBuf;

use anyhow::{Context, bail};
use models::scenario::steps::{self, Step};
use sim_core::stats::difference::{self, Difference};

use crate::Outcome;
use crate::cmd::compare::{Record, Shared, Start, plans_of, run_plans, values};
use crate::cmd::run::Format;
use crate::render::sweep_text::secs;
use crate::render::table::{Align, Table};
use crate::render::tornado::{self, TornadoSpec};

/// Arguments of `capsim sensitivity`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    capsim sensitivity --clusters 200\n  \
    capsim sensitivity --clusters 500 --tier large --replicas 10 --out sens/\n  \
    capsim sensitivity --clusters 100 --knob prism-central.size --knob capx-controller-manager.nutanixmachine-concurrency\n\n\
The knobs and their steps are data (models/presets/sensitivity.yaml): controller QPS, \
concurrency, shards and CPU limits, the API server's inflight limits, etcd's disk class \
and quota, Prism Central's size and count, and the nodes' vCPU and count; a number is \
halved and doubled, a class moves to its neighbours. A step that rounds back to the \
value, or that the configuration does not accept, is left out and said so. Every \
variant runs --replicas replicas on the same random streams as the configuration \
(common random numbers), and each change is the paired mean difference with its \
Student-t interval at --confidence. One step at a time: effects that need two knobs \
moved together do not show.\n\n\
Exit status: 0 when every run finished, 2 on bad input or a failed run.")]
pub struct Args {
    #[command(flatten)]
    start: Start,
    /// Step only this knob (repeat for several) [default: every knob of the list].
    #[arg(long = "knob", value_name = "KEY")]
    knobs: Vec<String>,
    /// Replicas of the configuration and of each step (2 to 1000).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(2..=1000))]
    replicas: u64,
    /// Also write the tornado chart (tornado.png, tornado.svg) into this folder.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    #[command(flatten)]
    shared: Shared,
}

/// A step's value, and the index of its plans or why it was left out.
type Planned = (String, Result<usize, String>);

/// One step of one knob, run or left out.
#[derive(serde::Serialize)]
struct StepResult {
    /// The value it sets.
    value: String,
    /// Why it was not run, if it was not.
    #[serde(skip_serializing_if = "Option::is_none")]
    left_out: Option<String>,
    /// Change in fleet time to ready [s].
    fleet_time: Option<Difference>,
    /// Change in the checklist's worst margin (value ÷ threshold).
    worst_margin: Option<Difference>,
    /// Replicas whose whole checklist passed [count].
    checklist_passes: u64,
}

/// One knob's two steps.
#[derive(serde::Serialize)]
struct KnobResult {
    knob: String,
    base: String,
    down: Option<StepResult>,
    up: Option<StepResult>,
}

impl KnobResult {
    /// The larger change in fleet time of its two steps [s] (0 when neither ran).
    fn effect(&self) -> f64 {
        [&self.down, &self.up]
            .into_iter()
            .flatten()
            .filter_map(|s| s.fleet_time.as_ref().map(|d| d.mean.abs()))
            .fold(0.0, f64::max)
    }
}

/// Runs the steps and prints them.
pub fn run(args: &Args) -> anyhow::Result<Outcome> {
    let start = &args.start;
    let common = args.shared.common(start.tier)?;
    let sh = &args.shared;
    start.one_value_each("sensitivity steps")?;
    let all = steps::builtin();
    for k in &args.knobs {
        if !all.contains_key(k) {
            let known: Vec<&String> = all.keys().collect();
            bail!(
                "--knob {k}: not a stepped knob; one of {}",
                known
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    let chosen: Vec<(&String, &Step)> = all
        .iter()
        .filter(|(k, _)| args.knobs.is_empty() || args.knobs.contains(k))
        .collect();
    let sizes = [start.clusters];
    let base = start.design("the configuration".into(), &[]);
    let base_plans = plans_of(&base, &common, &sizes, sh.seed).context("the configuration")?;
    let config = &base_plans[0].config;
    // Every step: its override, and its plans or why it was left out.
    let mut plans = vec![base_plans.clone()];
    let mut knobs: Vec<(String, String, [Option<Planned>; 2])> = Vec::new();
    for (knob, step) in chosen {
        let base_value = steps::current(config, knob);
        let [down, up] = steps::neighbours(config, knob, step).map(|o| {
            o.map(|o| {
                let design =
                    start.design(format!("{}={}", o.key, o.value), std::slice::from_ref(&o));
                let at = match plans_of(&design, &common, &sizes, sh.seed) {
                    Ok(p) => {
                        plans.push(p);
                        Ok(plans.len() - 1)
                    }
                    Err(e) => Err(format!("{e:#}")),
                };
                (o.value, at)
            })
        });
        knobs.push((knob.clone(), base_value, [down, up]));
    }
    let runs = run_plans(&plans, args.replicas, sh.threads)?;
    let base_runs = &runs[0][0];
    let diff = |a: &[Record], b: &[Record], name: &str| {
        difference::paired(&values(a, name), &values(b, name), sh.confidence)
    };
    let mut results: Vec<KnobResult> = knobs
        .into_iter()
        .map(|(knob, base_value, [down, up])| {
            let step = |s: Option<Planned>| {
                s.map(|(value, at)| match at {
                    Ok(i) => StepResult {
                        value,
                        left_out: None,
                        fleet_time: diff(base_runs, &runs[i][0], "fleet_time_to_ready_s"),
                        worst_margin: diff(base_runs, &runs[i][0], "checklist_worst_margin"),
                        checklist_passes: runs[i][0].iter().filter(|r| r.1).count() as u64,
                    },
                    Err(why) => StepResult {
                        value,
                        left_out: Some(why),
                        fleet_time: None,
                        worst_margin: None,
                        checklist_passes: 0,
                    },
                })
            };
            KnobResult {
                knob,
                base: base_value,
                down: step(down),
                up: step(up),
            }
        })
        .collect();
    results.sort_by(|a, b| b.effect().total_cmp(&a.effect()).then(a.knob.cmp(&b.knob)));
    let base_passes = base_runs.iter().filter(|r| r.1).count() as u64;
    let base_time = values(base_runs, "fleet_time_to_ready_s");
    let base_mean = base_time.iter().sum::<f64>() / base_time.len() as f64;
    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("{}: cannot create the output folder", dir.display()))?;
        let rows: Vec<(String, f64, f64)> = results
            .iter()
            .filter(|r| r.effect() > 0.0)
            .take(15)
            .map(|r| {
                let mins = |s: &Option<StepResult>| {
                    s.as_ref()
                        .and_then(|s| s.fleet_time.as_ref())
                        .map_or(f64::NAN, |d| d.mean / 60.0)
                };
                (r.knob.clone(), mins(&r.down), mins(&r.up))
            })
            .collect();
        let title = format!(
            "Change in fleet time at {} clusters, one knob one step",
            args.start.clusters
        );
        tornado::write(
            dir,
            &TornadoSpec {
                name: "tornado",
                title: &title,
                x_label: "change in mean fleet time to ready [min]",
                rows: &rows,
            },
        )?;
    }
    match sh.format {
        Format::Json => {
            let doc = serde_json::json!({
                "schema_version": 1,
                "clusters": args.start.clusters,
                "replicas": args.replicas,
                "seed": sh.seed,
                "confidence": sh.confidence,
                "base": {
                    "fleet_time_to_ready_s_mean": base_mean,
                    "checklist_passes": base_passes,
                },
                "knobs": results,
            });
            let doc = crate::provenance::stamp(doc, sh.seed);
            println!("{}", serde_json::to_string_pretty(&doc)?);
        }
        Format::Table => print!("{}", text(args, base_mean, base_passes, &results)),
    }
    Ok(Outcome::Success)
}

/// A signed duration, `-` when absent.
fn signed(d: Option<&Difference>) -> String {
    match d {
        None => "-".into(),
        Some(d) if d.mean.is_nan() => "-".into(),
        Some(d) => {
            let star = if d.significant() { "" } else { " (ns)" };
            if d.mean.abs() < 5e-4 {
                return format!("0{star}");
            }
            let sign = if d.mean < 0.0 { "−" } else { "+" };
            format!("{sign}{}{star}", secs(d.mean.abs()))
        }
    }
}

/// A signed change of a fraction in percentage points.
fn points(d: Option<&Difference>) -> String {
    match d {
        None => "-".into(),
        Some(d) if d.mean.is_nan() => "-".into(),
        Some(d) => {
            let star = if d.significant() { "" } else { " (ns)" };
            format!("{:+.1} pt{star}", d.mean * 100.0).replace('-', "−")
        }
    }
}

fn text(args: &Args, base_mean: f64, base_passes: u64, results: &[KnobResult]) -> String {
    let mut out = format!(
        "The configuration at {} clusters: fleet time to ready {} (mean of {} replicas), \
         checklist passed in {base_passes}/{}.\nEach knob one step down and up, on the same \
         random streams; changes are paired means, (ns) where the {} % interval includes \
         zero.\n\n",
        args.start.clusters,
        secs(base_mean),
        args.replicas,
        args.replicas,
        args.shared.confidence * 100.0
    );
    let mut t = Table::new(&[
        ("knob", Align::Left),
        ("value", Align::Right),
        ("down", Align::Right),
        ("fleet time", Align::Right),
        ("margin", Align::Right),
        ("up", Align::Right),
        ("fleet time", Align::Right),
        ("margin", Align::Right),
    ]);
    let mut left_out = Vec::new();
    for r in results {
        let cells = |s: &Option<StepResult>| match s {
            None => ["-".to_string(), "-".into(), "-".into()],
            Some(s) if s.left_out.is_some() => [s.value.clone(), "left out".into(), "-".into()],
            Some(s) => [
                s.value.clone(),
                signed(s.fleet_time.as_ref()),
                points(s.worst_margin.as_ref()),
            ],
        };
        for s in [&r.down, &r.up].into_iter().flatten() {
            if let Some(why) = &s.left_out {
                left_out.push(format!("{}={}: {why}", r.knob, s.value));
            }
        }
        let [dv, df, dm] = cells(&r.down);
        let [uv, uf, um] = cells(&r.up);
        t.row(vec![r.knob.clone(), r.base.clone(), dv, df, dm, uv, uf, um]);
    }
    out.push_str(&t.render());
    out.push_str(
        "\nmargin: the change in the checklist's worst margin (value ÷ threshold of the item \
         nearest it), in percentage points; positive moves towards failing.\n",
    );
    if !left_out.is_empty() {
        out.push_str("\nLeft out (the configuration refuses the value):\n");
        for l in left_out {
            out.push_str(&format!("  {l}\n"));
        }
    }
    out
}
