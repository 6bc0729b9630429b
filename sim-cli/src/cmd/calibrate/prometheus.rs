//! `capsim calibrate prometheus`: the management cluster's Prometheus series against
//! capsim's over the same workload, with the error per series.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use models::calibrate::{self, Metric, Series, SeriesError};
use models::scenario::presets::Override;

use super::{Format, read, write_whole};
use crate::Outcome;
use crate::cmd::run as run_cmd;
use crate::render::calibration as charts;
use crate::render::table::{Align, Table};

/// `capsim calibrate prometheus --help`'s end: examples, the queries (from [`Metric`]),
/// the method and the exit status.
pub(super) fn after_help() -> String {
    let queries: Vec<String> = Metric::ALL
        .iter()
        .map(|m| format!("  {:<32}{}", m.name(), m.promql()))
        .collect();
    format!(
        "Examples:\n  \
         capsim calibrate prometheus --scenario ran.yaml --start 2026-11-30T09:00:00Z \
         workqueue_depth.json etcd_db_size.json\n  \
         capsim calibrate prometheus --scenario ran.yaml --start 2026-11-30T09:00:00Z \
         cpu=cpu-5m.json --charts compare/\n  \
         capsim calibrate prometheus --scenario ran.yaml --start 0 --export simulated/\n\n\
         Each file is one /api/v1/query_range answer of one of these queries, named by its \
         file stem or by METRIC=FILE:\n{}\n\n\
         capsim runs the scenario once (one replica, --seed) and evaluates each query over \
         its samples (every 15 s of simulated time, shown as --start plus the simulated \
         time). Per measured series it reports the mean absolute percentage error over the \
         points capsim covers (points of 0 have no percentage error and are left out), the \
         two peaks and their difference in size and time. --export writes capsim's own \
         series in the same format. docs/calibration.md gives the commands that collect \
         the files.\n\n\
         Exit status: 0 when the comparison is printed, 2 on unreadable input, an unknown \
         metric, or a run that fails.",
        queries.join("\n")
    )
}

/// Arguments of `capsim calibrate prometheus`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Query answers: FILE named after its metric (workqueue_depth.json), or METRIC=FILE.
    files: Vec<String>,
    /// The workload the cluster ran, as a scenario (its create and later operations).
    #[arg(long, value_name = "FILE.yaml")]
    scenario: PathBuf,
    /// When the workload began: RFC 3339 (2026-11-30T09:00:00Z) or Unix seconds.
    #[arg(long, value_name = "TIME", value_parser = parse_start)]
    start: f64,
    /// Override a knob: KEY=VALUE (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<Override>,
    /// Master seed of the run.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Write capsim's series, one query_range answer per metric, into this folder.
    #[arg(long, value_name = "DIR")]
    export: Option<PathBuf>,
    /// Write a chart (PNG and SVG) of each compared series, measured and capsim's.
    #[arg(long, value_name = "DIR")]
    charts: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
}

fn parse_start(s: &str) -> Result<f64, String> {
    if let Ok(v) = s.parse::<f64>()
        && v.is_finite()
        && v >= 0.0
    {
        return Ok(v);
    }
    calibrate::parse_time(s).ok_or_else(|| {
        format!("{s:?}: give an RFC 3339 time (2026-11-30T09:00:00Z) or Unix seconds")
    })
}

/// Which metric a file argument holds, and the file.
fn metric_of(arg: &str) -> anyhow::Result<(Metric, PathBuf)> {
    let names = || {
        Metric::ALL
            .iter()
            .map(|m| m.name())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (name, path) = match arg.split_once('=') {
        Some((m, f)) => (m.to_string(), PathBuf::from(f)),
        None => {
            let p = PathBuf::from(arg);
            let stem = p.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
            (stem.to_string(), p)
        }
    };
    match Metric::parse(&name) {
        Some(m) => Ok((m, path)),
        None => bail!(
            "{arg}: {name:?} is not a metric capsim compares; name the file after one, or \
             give METRIC=FILE, with METRIC one of {}",
            names()
        ),
    }
}

/// Runs `capsim calibrate prometheus`.
pub(super) fn run(args: &Args) -> anyhow::Result<Outcome> {
    if args.files.is_empty() && args.export.is_none() {
        bail!("give query answers to compare (FILE or METRIC=FILE), or --export DIR");
    }
    let mut measured: Vec<(Metric, PathBuf, Vec<Series>)> = Vec::new();
    for a in &args.files {
        let (m, path) = metric_of(a)?;
        let series = calibrate::parse_query_range(&read(&path)?, &path.display().to_string())
            .map_err(anyhow::Error::msg)?;
        measured.push((m, path, series));
    }
    let ra = run_cmd::Args::of_scenario(args.scenario.clone(), args.sets.clone(), args.seed);
    let mut plan = run_cmd::plan(&ra)?;
    if plan.management_clusters != 1 {
        bail!(
            "{}: the workload splits over {} management clusters; capsim compares one \
             (set topology.management-clusters: 1 and give that cluster's workload)",
            args.scenario.display(),
            plan.management_clusters
        );
    }
    plan.timeline = true;
    crate::memory::check_run(&plan, None, crate::memory::available_bytes())?;
    let out = models::run::run(&plan).context("the run stopped")?;
    let managers: Vec<String> = out.report.managers.iter().map(|m| m.name.clone()).collect();
    let provider = out.report.infrastructure_provider;
    let sim = |m: Metric| calibrate::simulated(m, &out.timeline, &managers, provider, args.start);
    if let Some(dir) = &args.export {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("{}: cannot create", dir.display()))?;
        for m in Metric::ALL {
            write_whole(
                &dir.join(format!("{}.json", m.name())),
                &calibrate::to_query_range(&sim(m)),
            )?;
        }
    }
    let mut rows: Vec<(Metric, PathBuf, Series, Option<SeriesError>)> = Vec::new();
    for (m, path, series) in &measured {
        let simulated = sim(*m);
        for (s, e) in calibrate::compare(series, &simulated, m.label()) {
            if let (Some(dir), Some(_)) = (&args.charts, &e) {
                let key = s.label(m.label()).to_string();
                let other = simulated.iter().find(|x| x.label(m.label()) == key);
                chart(dir, *m, &key, &s, other, args.start)?;
            }
            rows.push((*m, path.clone(), s, e));
        }
    }
    match args.format {
        Format::Json => print_json(&rows),
        Format::Table => print_table(args, &rows, &out.report.tier),
    }
    Ok(Outcome::Success)
}

fn chart(
    dir: &Path,
    m: Metric,
    key: &str,
    measured: &Series,
    sim: Option<&Series>,
    start: f64,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    let safe: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let name = if safe.is_empty() {
        m.name().to_string()
    } else {
        format!("{}-{safe}", m.name())
    };
    let title = if key.is_empty() {
        m.name().to_string()
    } else {
        format!(
            "{} {{{}=\"{key}\"}}",
            m.name(),
            m.label().unwrap_or_default()
        )
    };
    // Bytes in MB, so the axis' labels stay short.
    let (scale, unit) = match m.unit() {
        "bytes" => (1e-6, "MB"),
        u => (1.0, u),
    };
    let mins = |s: &Series| -> Vec<(f64, f64)> {
        s.points
            .iter()
            .map(|&(t, v)| ((t - start) / 60.0, v * scale))
            .collect()
    };
    charts::write_series(
        dir,
        &name,
        &title,
        &format!("{} [{unit}]", m.name()),
        &mins(measured),
        &sim.map(mins).unwrap_or_default(),
    )?;
    Ok(())
}

fn pct(x: f64) -> String {
    if x.is_finite() {
        format!("{:+.1} %", x * 100.0)
    } else {
        "-".into()
    }
}

fn print_table(args: &Args, rows: &[(Metric, PathBuf, Series, Option<SeriesError>)], tier: &str) {
    if rows.is_empty() {
        if let Some(dir) = &args.export {
            println!("capsim's series ({tier}) are in {}.", dir.display());
        }
        return;
    }
    let mut t = Table::new(&[
        ("metric", Align::Left),
        ("series", Align::Left),
        ("points", Align::Right),
        ("left out", Align::Right),
        ("MAPE", Align::Right),
        ("measured peak", Align::Right),
        ("capsim peak", Align::Right),
        ("peak error", Align::Right),
        ("peak shift", Align::Right),
    ]);
    let mut unmatched = Vec::new();
    for (m, _, s, e) in rows {
        let key = s.label(m.label());
        let Some(e) = e else {
            unmatched.push(format!("{} {key:?}", m.name()));
            continue;
        };
        let num = |v: f64| {
            if v.abs() >= 1000.0 {
                format!("{v:.0}")
            } else {
                format!("{v:.4}")
            }
        };
        t.row(vec![
            m.name().into(),
            if key.is_empty() {
                "-".into()
            } else {
                key.into()
            },
            e.n.to_string(),
            e.skipped.to_string(),
            if e.mape.is_finite() {
                format!("{:.1} %", e.mape * 100.0)
            } else {
                "- (all 0)".into()
            },
            num(e.measured_peak),
            num(e.simulated_peak),
            pct(e.peak_error),
            format!("{:+.0} s", e.peak_shift_s),
        ]);
    }
    print!(
        "capsim calibrate prometheus: {} series against one run of {} ({tier}, seed {}); MAPE is the \
         mean |capsim - measured| / measured over the measured points; a peak shift is \
         capsim's peak time less the measured one's.\n\n{}",
        rows.len(),
        args.scenario.display(),
        args.seed,
        t.render()
    );
    if !unmatched.is_empty() {
        println!(
            "\nNo capsim counterpart (or no point inside the run): {}.",
            unmatched.join(", ")
        );
    }
    if let Some(dir) = &args.export {
        println!("capsim's series are in {}.", dir.display());
    }
    if let Some(dir) = &args.charts {
        println!("Charts: {}", dir.display());
    }
}

fn print_json(rows: &[(Metric, PathBuf, Series, Option<SeriesError>)]) {
    let out: Vec<serde_json::Value> = rows
        .iter()
        .map(|(m, path, s, e)| {
            serde_json::json!({
                "metric": m.name(), "file": path.display().to_string(),
                "series": s.label(m.label()),
                "compared": e.as_ref().map(|e| serde_json::json!({
                    "points": e.n, "left_out": e.skipped,
                    "mape": if e.mape.is_finite() { Some(e.mape) } else { None },
                    "measured_peak": e.measured_peak, "simulated_peak": e.simulated_peak,
                    "peak_error": if e.peak_error.is_finite() { Some(e.peak_error) } else { None },
                    "peak_shift_s": e.peak_shift_s,
                })),
            })
        })
        .collect();
    println!(
        "{}",
        serde_json::to_string_pretty(&serde_json::json!({ "series": out }))
            .expect("JSON serialises")
    );
}
