//! `capsim sweep`: Monte Carlo across fleet sizes, or a search for the breaking point. The
//! command proper: its arguments, running the plan they validate into (in [`plan`]), and
//! printing; the tables, verdicts, files, charts and reports are rendered in
//! [`crate::render`].

mod checkpoint;
mod out_dir;
mod plan;
pub mod shard;

use std::path::PathBuf;

use anyhow::{Context, bail};
use models::run::sweep::{self, Knobs, Progress};
use models::scenario::presets::Override;
use sim_core::SimDuration;
use sim_core::cancel::{StopReason, request_stop, stop_requested};
use sim_core::monte_carlo::in_pool;
use sim_core::stats::binomial::Verdict;

use crate::Outcome;
use crate::cmd::run::{Format, TierArg};
use crate::render::{export, report, sweep_text};
use checkpoint::Checkpoint;
use out_dir::OutDir;
use plan::Plan;

/// Arguments of `capsim sweep`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    capsim sweep --clusters 100..2000\n  \
    capsim sweep --clusters 100..1000 --step 100 --replicas 5 --tier large\n  \
    capsim sweep --clusters 100..500 --tier large --set capx-controller-manager.nutanixmachine-concurrency=25,50,100\n  \
    capsim sweep --clusters 100..2000 --until-slo-violation --tier xl --set topology.clusters-per-management-cluster=unlimited\n  \
    capsim sweep --clusters 50,100,200,400 --scenario scenarios/guide-medium-batches.yaml\n  \
    capsim sweep --clusters 200,500 --replicas 20 --uncertainty\n\n\
A range a..b includes both ends; the default step is 100 (or, for a range narrower than \
1,000, ten evenly spaced points). \
Each (fleet size, replica) is one full `capsim run` on the guide's tier for that size \
(XL splits a fleet into management clusters of at most 600 clusters, Extreme of 500); \
replica r uses the same random streams at every size. A knob given several values \
(--set KEY=V1,V2 or --machines-per-cluster 10,25) is swept too: every value with every \
size, one line per value in the charts.\n\n\
Each size's checklist result is k of n replicas, with a one-sided Clopper–Pearson bound \
on its pass rate at --confidence. A size passes when the lower bound reaches --pass-rate, \
fails when the upper bound is below it, and is undecided otherwise: 3 passes of 3 show \
only P ≥ 0.368 at 95 % confidence, and showing P ≥ 0.95 takes 59 passes of 59. \
--max-replicas adds replicas, doubling, only where a size is undecided (each look \
spends a share of the error budget). These pass rates hold the estimated ([I]) knobs at \
their defaults; --uncertainty draws each from its plausible range per replica \
(models/presets/uncertainty.yaml, a simplification: ranges are themselves estimates and \
vary independently), and with 20 replicas or more ranks the estimates the nearest-to-failing \
size turns on.\n\n\
Outputs in --out: replicas.csv, summary.csv, summary.json, charts/*.png|svg (figures \
against fleet size with the checklist threshold, waiting by resource, checklist heat map), \
report.md and a self-contained report.html (docs/outputs.md). Output is identical at any \
thread count. The model's simplifications and the source of every default: docs/model.md.\n\n\
Exit status: 0 when the sweep completes (1 instead if --fail-on-checklist is given and a \
swept size is not shown to pass: it fails or is undecided; with --until-slo-violation, \
when no size of the range is shown to pass), 130 when Ctrl-C stopped it, 2 on bad input, \
an --out that cannot be written, or --timeout passing. A sweep that stops keeps its \
finished runs in --out's checkpoint.jsonl: the same command with --resume runs only the \
rest.")]
pub struct Args {
    /// Fleet sizes: a range a..b (inclusive) or a list 100,250,500 [clusters].
    #[arg(long, allow_hyphen_values = true)]
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
    /// sweeps it [default: the scenario's create's, else 25].
    #[arg(long)]
    machines_per_cluster: Option<String>,
    /// Control-plane machines per cluster: 1, 3 or 5 [default: the scenario's create's,
    /// else 3].
    #[arg(long, value_parser = crate::cmd::parse_cp_replicas)]
    control_plane_replicas: Option<u32>,
    /// Management-cluster preset for every point; default: the guide's tier per size.
    #[arg(long, value_enum, conflicts_with = "scenario")]
    tier: Option<TierArg>,
    /// A scenario file for the management cluster and its workload: each point replaces
    /// the first create's cluster count; its batches, machines per cluster and
    /// control-plane replicas hold unless the flags above are given.
    #[arg(long, value_name = "FILE.yaml")]
    scenario: Option<PathBuf>,
    /// Override a knob: KEY=VALUE (repeatable). KEY=V1,V2,V3 sweeps the knob: every
    /// value with every fleet size (the cartesian product with other swept knobs).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<Override>,
    /// The checklist pass rate a size must be shown to reach to count as passing.
    #[arg(long, default_value_t = 0.95)]
    pass_rate: f64,
    /// Confidence of the claims: the level of the one-sided bounds on each pass rate.
    #[arg(long, default_value_t = 0.95)]
    confidence: f64,
    /// Stop each run after this much simulated time (1m to 720h, 30 days; e.g. 12h).
    #[arg(long, default_value = "24h", value_parser = crate::cmd::parse_sim_duration)]
    max_time: SimDuration,
    /// Instead of a grid: find the largest size in the range shown to pass the checklist
    /// at --pass-rate, by bisection to --step (default a twentieth of the range): each
    /// size visited gets --replicas as a probe, and only the size it ends on the replicas
    /// the claim takes (up to --max-replicas).
    #[arg(long)]
    until_slo_violation: bool,
    /// Run only shard I of N (from 0) of the grid's runs, into --out's checkpoint, for
    /// `capsim merge` to combine (docs/distributed.md): e.g. --shard $JOB_COMPLETION_INDEX/4.
    #[arg(long, value_name = "I/N", value_parser = shard::parse, conflicts_with = "until_slo_violation")]
    shard: Option<shard::Shard>,
    /// Replicas an undecided size may grow to, doubling from --replicas (up to 1000)
    /// [default: --replicas for a grid; with --until-slo-violation, as many as showing
    /// --pass-rate takes when every replica passes].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1000))]
    max_replicas: Option<u64>,
    /// Directory for the CSV, JSON, charts and reports (created if missing).
    #[arg(long, default_value = "capsim-out")]
    out: PathBuf,
    /// Stop the sweep after this much wall-clock time (e.g. 2h): runs in flight stop,
    /// finished ones stay in the checkpoint for --resume [default: no limit].
    #[arg(long, value_name = "DURATION", value_parser = crate::cmd::run::parse_timeout)]
    timeout: Option<std::time::Duration>,
    /// Continue an interrupted sweep from the checkpoint in --out: only the runs it lacks
    /// are run, and the outputs are those of an uninterrupted sweep, byte for byte.
    #[arg(long)]
    resume: bool,
    /// Exit with status 1 when a swept size is not shown to pass at --pass-rate, refuted
    /// or undecided (with --until-slo-violation: when no size is), for scripts and CI.
    #[arg(long)]
    fail_on_checklist: bool,
    /// Standard output: the tables and verdicts, or the summary as one JSON document
    /// (summary.json's, or search.json's with --until-slo-violation, with `provenance`).
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Draw every estimated ([I]) knob per replica from its plausible range
    /// (models/presets/uncertainty.yaml; Latin hypercube), so that each pass rate includes
    /// the uncertainty of the estimates; the verdict names the knobs it is most sensitive
    /// to (rank correlation, with at least 20 replicas).
    #[arg(long)]
    uncertainty: bool,
    /// The memory the sweep may use instead of the machine's available memory (e.g.
    /// 64Gi, or unlimited): a sweep whose concurrent runs are estimated to need more is
    /// refused before it starts.
    #[arg(long, value_name = "SIZE", value_parser = crate::memory::parse_memory_limit)]
    memory_limit: Option<crate::memory::MemoryLimit>,
}

/// Runs the sweep (or with `--until-slo-violation` the search) and writes its outputs.
pub fn run(args: &Args) -> anyhow::Result<Outcome> {
    run_with(args, false)
}

/// The sweep of merged shards (`capsim merge`): every run must be recalled from the
/// checkpoint the shards' make; none is run.
pub fn run_merged(args: &Args) -> anyhow::Result<Outcome> {
    run_with(args, true)
}

fn run_with(args: &Args, merged: bool) -> anyhow::Result<Outcome> {
    let plan = plan::plan(args)?;
    crate::memory::check_sweep(
        &plan.axis.0,
        &plan.variants,
        |c, k| plan.run_plan(c, k),
        args.replicas,
        args.threads,
        args.memory_limit,
    )?;
    let out = OutDir::open(&args.out)?;
    let identity = checkpoint::binary_identity();
    let plan_ref = &plan;
    let key_of = move |c: u32, knobs: &Knobs| {
        // What decides the run, and nothing else: not how it is stopped or watched.
        let mut run = plan_ref.run_plan(c, knobs);
        run.stop = sim_core::cancel::Stop::default();
        run.progress = None;
        checkpoint::fnv1a(format!("{identity}\n{run:?}").as_bytes())
    };
    let ledger = Checkpoint::open(out.dir(), args.resume, Box::new(&key_of))?;
    if merged {
        use models::run::sweep::Ledger as _;
        let planned: Vec<(u32, &Knobs, u64)> = plan
            .variants
            .iter()
            .flat_map(|k| plan.axis.0.iter().map(move |&c| (c, k)))
            .flat_map(|(c, k)| (0..args.replicas).map(move |r| (c, k, r)))
            .collect();
        let missing = planned
            .iter()
            .filter(|&&(c, k, r)| ledger.recall(c, k, r).is_none())
            .count();
        if missing > 0 {
            bail!(
                "{missing} of the sweep's {} runs are in no shard's checkpoint: the shards \
                 ran another capsim build (a run is keyed by the binary that ran it) or \
                 another sweep",
                planned.len()
            );
        }
    }
    if args.resume {
        crate::progress::note(&format!(
            "resuming: {} runs recalled from {}",
            ledger.recalled(),
            ledger.path().display()
        ));
    }
    stop_on_interrupt_or_timeout(args.timeout);
    let threads = args.threads.map(|t| t as usize);
    let outcome = if let Some(s) = args.shard {
        run_shard(&plan, s, threads, &out, &ledger)
    } else if args.until_slo_violation {
        search(&plan, threads, &out, &ledger)
    } else {
        grid(&plan, threads, &out, &ledger)
    };
    let outcome = outcome.and_then(|o| out.publish().map(|()| o));
    let outcome = match outcome {
        Ok(o) => o,
        Err(_) if let Some(reason) = stop_requested() => {
            // Stopped from outside: say what is kept and how to go on.
            eprintln!(
                "capsim: the sweep stopped {reason}; its {} finished runs are kept in {}, and \
                 the same command with --resume runs only the rest",
                ledger.held(),
                ledger.path().display()
            );
            return Ok(match reason {
                StopReason::Interrupted => Outcome::Interrupted,
                StopReason::WallClockLimit(_) => Outcome::StoppedEarly,
            });
        }
        Err(e) if ledger.held() > 0 => {
            return Err(e.context(format!(
                "{} finished runs are kept in {}; once the cause is fixed, the same command \
                 with --resume runs only the rest",
                ledger.held(),
                ledger.path().display()
            )));
        }
        Err(e) => return Err(e),
    };
    // A shard's checkpoint is its result, for `capsim merge`.
    if args.shard.is_none() {
        ledger.remove();
    }
    Ok(outcome)
}

/// Ctrl-C, or `timeout` passing, asks every run to stop at its next step (the runs
/// listen to the process-wide stop request); a second Ctrl-C quits at once.
fn stop_on_interrupt_or_timeout(timeout: Option<std::time::Duration>) {
    let handler = ctrlc::set_handler(|| {
        if stop_requested().is_some() {
            std::process::exit(130);
        }
        eprintln!("\ncapsim: stopping; the finished runs are kept (Ctrl-C again quits at once)");
        request_stop(StopReason::Interrupted);
    });
    if let Err(e) = handler {
        eprintln!("capsim: warning: Ctrl-C will end the sweep without a message ({e})");
    }
    if let Some(limit) = timeout {
        std::thread::spawn(move || {
            std::thread::sleep(limit);
            request_stop(StopReason::WallClockLimit(limit));
        });
    }
}

/// The grid: every fleet size with every value of the swept knobs, `--replicas` each and
/// more where a size is undecided; then the tables and verdicts on the terminal, and the
/// files, charts and reports.
fn grid(
    plan: &Plan,
    threads: Option<usize>,
    out: &OutDir,
    ledger: &Checkpoint,
) -> anyhow::Result<Outcome> {
    let args = plan.args;
    let points = plan.axis.0.len() * plan.variants.len();
    let bar = crate::progress::Bar::new(points as u64 * args.replicas, "runs");
    let progress = |event: Progress| match event {
        Progress::Planned(n) => bar.grow(n),
        Progress::Finished { .. } => bar.tick(),
    };
    let make = |c: u32, knobs: &Knobs| plan.run_plan(c, knobs);
    let result = in_pool(threads, || {
        sweep::sweep(
            &plan.axis,
            &plan.variants,
            &plan.sampling,
            make,
            ledger,
            progress,
        )
    })?
    .context("a run stopped")?;
    bar.finish();
    let rendered = sweep_text::render(&result, &plan.thresholds, plan.calibration());
    let staging = out.staging();
    let charts = export::write_outputs(staging, &result, &plan.thresholds)?;
    export::write_provenance(staging, args.seed)?;
    report::write(staging, &header(plan), &rendered.verdict, &result, &charts)?;
    match args.format {
        Format::Table => {
            print!("{}", rendered.text);
            println!(
                "\nOutputs: {} and charts/, report.md, report.html",
                args.out
                    .join("{replicas.csv,summary.csv,summary.json,provenance.json}")
                    .display()
            );
        }
        Format::Json => {
            let doc = crate::provenance::stamp(export::summary_doc(&result), args.seed);
            println!("{}", serde_json::to_string_pretty(&doc)?);
        }
    }
    let unproven = result.points.iter().any(|p| p.verdict != Verdict::Passes);
    Ok(if unproven && args.fail_on_checklist {
        Outcome::ChecksFailed
    } else {
        Outcome::Success
    })
}

/// `--shard I/N`: this shard's runs into the checkpoint, and `shard.json` beside it.
fn run_shard(
    plan: &Plan,
    s: shard::Shard,
    threads: Option<usize>,
    out: &OutDir,
    ledger: &Checkpoint,
) -> anyhow::Result<Outcome> {
    let runs = shard::run(plan, s, threads, ledger)?;
    let file = shard::ShardFile {
        shard: s,
        args: std::env::args().skip(1).collect(),
        runs,
    };
    let path = out.staging().join("shard.json");
    std::fs::write(&path, serde_json::to_string_pretty(&file)?)
        .with_context(|| format!("{}: cannot write", path.display()))?;
    println!(
        "Shard {}/{}: {runs} runs in {}. When every shard is done: capsim merge DIR... --out OUT",
        s.index,
        s.count,
        plan.args.out.join("checkpoint.jsonl").display()
    );
    Ok(Outcome::Success)
}

/// What was run, for the report's header.
fn header(plan: &Plan) -> report::Header {
    let args = plan.args;
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
    let first = plan.first_scenario();
    let knobs = sweep::knobs_label(&plan.variants[0]);
    let scenario_of = match (plan.axis.0.len() * plan.variants.len(), knobs.is_empty()) {
        (1, _) => format!("{} clusters", plan.axis.0[0]),
        (_, true) => format!("the first point, {} clusters", plan.axis.0[0]),
        (_, false) => format!("the first point, {} clusters with {knobs}", plan.axis.0[0]),
    };
    report::Header {
        command: std::iter::once("capsim".to_string())
            .chain(std::env::args().skip(1).filter(|a| a != "--resume"))
            .collect::<Vec<_>>()
            .join(" "),
        seed: args.seed,
        replicas: plan.sampling.replicas,
        max_replicas: plan.sampling.max_replicas,
        setup: format!(
            "Fleet sizes {} × {} replicas (seed {}); {} machines per cluster, {} of them \
             control plane; {cluster}; each run stops after {} of simulated time.{sets}",
            args.clusters,
            args.replicas,
            args.seed,
            plan.machines_text(),
            plan.control_plane_replicas,
            args.max_time,
        ),
        cluster,
        scenario_of,
        scenario: models::scenario::to_yaml(&first),
        written: std::time::SystemTime::now(),
    }
}

/// `--until-slo-violation`: bisection for the breaking point (one search per value of the
/// swept knobs), then its report.
fn search(
    plan: &Plan,
    threads: Option<usize>,
    out: &OutDir,
    ledger: &Checkpoint,
) -> anyhow::Result<Outcome> {
    let args = plan.args;
    if !args.clusters.contains("..") {
        bail!("--until-slo-violation searches a range: give --clusters a..b, e.g. 100..2000");
    }
    let (lo, hi) = (plan.axis.0[0], *plan.axis.0.last().expect("non-empty axis"));
    let resolution = args.step.unwrap_or(((hi - lo) / 20).max(1));
    let bar = crate::progress::Bar::open("runs");
    let mut results = Vec::new();
    for knobs in &plan.variants {
        bar.message(sweep::knobs_label(knobs));
        let result = in_pool(threads, || {
            models::run::search::search(
                lo,
                hi,
                resolution,
                &plan.sampling,
                knobs,
                |c| plan.run_plan(c, knobs),
                ledger,
                |event| {
                    if let Progress::Finished { .. } = event {
                        bar.tick()
                    }
                },
            )
        })?
        .context("a run stopped")?;
        results.push(result);
    }
    bar.finish();
    export::write_search(out.staging(), &results)?;
    export::write_provenance(out.staging(), args.seed)?;
    match args.format {
        Format::Table => {
            print!("{}", sweep_text::search_text(&results, resolution));
            println!("Outputs: {}", args.out.join("search.json").display());
        }
        Format::Json => {
            let doc = crate::provenance::stamp(export::search_doc(&results), args.seed);
            println!("{}", serde_json::to_string_pretty(&doc)?);
        }
    }
    let none_passes = results.iter().any(|r| r.passing.is_none());
    Ok(if none_passes && args.fail_on_checklist {
        Outcome::ChecksFailed
    } else {
        Outcome::Success
    })
}
