//! `capsim calibrate machines`: the Machines' phase times, and with Prism Central's task
//! list the VM operations' service times with the wait for a slot taken out.

use std::path::PathBuf;

use anyhow::bail;
use models::calibrate::{
    self, Exclusions, FittedKnob, MachineTimes, Separation, Shape, SlotsFrom, Task, TaskExclusions,
};
use models::scenario::presets::{self, Profile};
use sim_core::SimDuration;

use super::{Format, read, write_whole};
use crate::Outcome;
use crate::render::calibration as charts;
use crate::render::table::{Align, Table};

pub(super) const AFTER_HELP: &str = "Examples:\n  \
    kubectl get machines -A -o json > machines.json\n  \
    capsim calibrate machines machines.json\n  \
    capsim calibrate machines machines.json --tasks tasks.json --out calibrated.yaml \
    --charts qq/\n  \
    capsim run --clusters 200 --scenario calibrated.yaml\n\n\
    Each phase is fitted by maximum likelihood with a lognormal (or --fit normal or \
    uniform); the table gives the data's own p50 and p95 beside the fit's, and the \
    Kolmogorov-Smirnov distance of the fit. Only \
    the boot phase (InfrastructureReady -> NodeHealthy) becomes knobs (machine-boot.*): the \
    other phases contain queueing. With --tasks, Prism Central's task list separates each \
    VM operation's wait for a task slot (created -> started) from the time it held one \
    (started -> completed); the time held, divided by capsim's load factor (1 + s*k/n, k \
    tasks running at its start, n slots, s the load slowdown), becomes the \
    prism-central.vm-* knobs. Machines not provisioned yet, being deleted, or with a \
    transition before their creation (clock skew) are left out and counted; so are \
    subtasks, failed and unfinished tasks.\n\n\
    Exit status: 0 when the fit is printed (and written), 2 on unreadable input or when no \
    Machine gives a phase.";

/// Arguments of `capsim calibrate machines`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// kubectl JSON files (a `kind: List`; other kinds in it are passed over).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Prism Central's task list, one file per Prism Central: v4 (GET
    /// /api/prism/v4.0/config/tasks) or v3 (POST /api/nutanix/v3/tasks/list) JSON.
    #[arg(long, value_name = "FILE.json")]
    tasks: Vec<PathBuf>,
    /// Prism Central's task slots [1-10000]; by default the most tasks running at once
    /// while some task waited (the engine was full then).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=10000))]
    task_slots: Option<u32>,
    /// The load slowdown s [0-3]; by default fitted when the tasks' loads bound it, else
    /// capsim's default (prism-central.load-slowdown).
    #[arg(long, value_name = "S", value_parser = parse_slowdown)]
    load_slowdown: Option<f64>,
    /// The shape fitted to each phase and service time, one of the distributions
    /// scenarios accept.
    #[arg(long, value_enum, default_value = "lognormal")]
    fit: FitShape,
    /// Write the fitted knobs as a scenario overlay (YAML) here.
    #[arg(long, value_name = "FILE.yaml")]
    out: Option<PathBuf>,
    /// Write a QQ chart (PNG and SVG) of each fit into this folder.
    #[arg(long, value_name = "DIR")]
    charts: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
}

/// The shapes `--fit` takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum FitShape {
    /// Log-normal: the median and the 95th percentile (capsim's own estimates' shape).
    Lognormal,
    /// Normal: the mean and the standard deviation.
    Normal,
    /// Uniform: the smallest and the largest.
    Uniform,
}

impl From<FitShape> for Shape {
    fn from(f: FitShape) -> Shape {
        match f {
            FitShape::Lognormal => Shape::Lognormal,
            FitShape::Normal => Shape::Normal,
            FitShape::Uniform => Shape::Uniform,
        }
    }
}

fn parse_slowdown(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (0.0..=3.0).contains(&v) => Ok(v),
        _ => Err(format!("{s:?}: the load slowdown is a number from 0 to 3")),
    }
}

/// Runs `capsim calibrate machines`.
pub(super) fn run(args: &Args) -> anyhow::Result<Outcome> {
    let mut machines: Vec<MachineTimes> = Vec::new();
    let mut ex = Exclusions::default();
    for f in &args.files {
        let (m, e) = calibrate::parse_machines(&read(f)?, &f.display().to_string())
            .map_err(anyhow::Error::msg)?;
        machines.extend(m);
        ex.add(e);
    }
    let mut cluster_ex = Exclusions::default();
    let mut clusters = Vec::new();
    for f in &args.files {
        let name = f.display().to_string();
        clusters.extend(
            calibrate::parse_clusters(&read(f)?, &name, &mut cluster_ex)
                .map_err(anyhow::Error::msg)?,
        );
    }
    let init: Vec<f64> = clusters.iter().map(|c| c.initialized - c.created).collect();
    let init = calibrate::fit(&init, args.fit.into());
    let fits = calibrate::fit_phases(&machines, args.fit.into());
    if fits.is_empty() {
        bail!(
            "no Machine gives a phase time ({} read; {} not provisioned, {} with clock skew, {} \
             being deleted): calibrate needs provisioned Machines with their conditions",
            machines.len(),
            ex.unfinished,
            ex.clock_skew,
            ex.deleting
        );
    }
    let tasks = read_tasks(args)?;
    let mut knobs = calibrate::boot_knobs(&fits);
    if let Some(t) = &tasks {
        knobs.extend(calibrate::task_knobs(&t.sep, (&t.dates.0, &t.dates.1)));
    }
    let mut sources: Vec<String> = args.files.iter().map(|f| f.display().to_string()).collect();
    sources.extend(args.tasks.iter().map(|f| f.display().to_string()));
    let sources = sources.join(", ");
    if let Some(dir) = &args.charts {
        write_charts(dir, &fits, init.as_ref(), tasks.as_ref())?;
    }
    if let Some(path) = &args.out {
        write_whole(path, &calibrate::overlay(&knobs, &sources))?;
    }
    match args.format {
        Format::Json => print_json(&machines, &ex, &fits, init.as_ref(), tasks.as_ref(), &knobs)?,
        Format::Table => print_table(
            args,
            &machines,
            &ex,
            &fits,
            (init.as_ref(), &cluster_ex),
            tasks.as_ref(),
            &sources,
        ),
    }
    Ok(Outcome::Success)
}

/// The task lists read and separated.
struct Tasks {
    sep: Separation,
    ex: TaskExclusions,
    read: usize,
    /// The tasks' first and last creation (RFC 3339).
    dates: (String, String),
}

fn read_tasks(args: &Args) -> anyhow::Result<Option<Tasks>> {
    if args.tasks.is_empty() {
        return Ok(None);
    }
    let mut per_pc: Vec<Vec<Task>> = Vec::new();
    let mut ex = TaskExclusions::default();
    for f in &args.tasks {
        let (t, e) = calibrate::parse_tasks(&read(f)?, &f.display().to_string())
            .map_err(anyhow::Error::msg)?;
        per_pc.push(t);
        ex.add(e);
    }
    let all = || per_pc.iter().flatten();
    let (first, last) = all().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), t| {
        (a.min(t.created), b.max(t.created))
    });
    // capsim's own defaults (the Small tier's Prism Central) for what the data leave open.
    let pc = presets::resolve_layers(Profile::Capi112, None, None, &[])?.prism_central;
    let default_slots = match pc.max_concurrent_tasks {
        Some(l) => l.0.map_or(u32::MAX, |v| v as u32),
        None => pc.size.max_concurrent_tasks(),
    };
    let sep = calibrate::separate(
        &per_pc,
        args.task_slots,
        args.load_slowdown,
        (default_slots, pc.load_slowdown),
        args.fit.into(),
    );
    if sep.kinds.is_empty() {
        let names = args.tasks.iter().map(|f| f.display().to_string());
        bail!(
            "{}: no VM operation has two finished tasks to fit ({} subtasks, {} other \
             operations, {} failed or unfinished, {} with clock skew)",
            names.collect::<Vec<_>>().join(", "),
            ex.subtasks,
            ex.other_operations(),
            ex.unfinished_or_failed,
            ex.clock_skew
        );
    }
    Ok(Some(Tasks {
        sep,
        ex,
        read: all().count(),
        dates: (rfc3339(first), rfc3339(last)),
    }))
}

/// Seconds since the Unix epoch as RFC 3339 (UTC, whole seconds; before 1970 reads as
/// 1970).
fn rfc3339(t: f64) -> String {
    crate::render::report::utc_rfc3339(t.max(0.0).floor() as u64)
}

fn write_charts(
    dir: &PathBuf,
    fits: &[calibrate::PhaseFit],
    init: Option<&calibrate::Fit>,
    tasks: Option<&Tasks>,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?;
    if let Some(f) = init {
        let title = "clusters: created to ControlPlaneInitialized";
        charts::write_qq(dir, "qq-control-plane-initialized", title, f)?;
    }
    for f in fits {
        let name = format!("qq-{}-{}", f.role.name(), f.phase.name());
        let title = format!("{} Machines, {} phase", f.role.name(), f.phase.name());
        charts::write_qq(dir, &name, &title, &f.fit)?;
    }
    for k in tasks.map_or(&[][..], |t| &t.sep.kinds[..]) {
        let name = format!("qq-{}", task_name(k.kind));
        let title = format!(
            "{}: service time (slot held / load factor)",
            task_name(k.kind)
        );
        charts::write_qq(dir, &name, &title, &k.service)?;
    }
    Ok(())
}

fn task_name(kind: models::prism_central::TaskKind) -> &'static str {
    use models::prism_central::TaskKind;
    match kind {
        TaskKind::VmCreate => "vm-create",
        TaskKind::VmUpdate => "vm-update",
        TaskKind::VmPowerOn => "vm-power-on",
        TaskKind::VmDelete => "vm-delete",
    }
}

fn slots_text(sep: &Separation) -> String {
    let slots = match sep.slots_from {
        SlotsFrom::Given => format!("{} task slots (given)", sep.slots),
        SlotsFrom::Saturated => format!(
            "{} task slots (the most tasks running at once; {} tasks waited for one)",
            sep.slots, sep.waited
        ),
        SlotsFrom::LowerBound => format!(
            "{} task slots (capsim's own count, or the peak if more: no task waited for a \
             slot, so the {} seen running at once is only a lower bound; give --task-slots)",
            sep.slots, sep.peak_running
        ),
    };
    let s = match sep.slowdown_fit {
        Some((s, lo, hi)) if !sep.slowdown_given => {
            format!("load slowdown {s} (fitted; 95 % interval {lo}-{hi})")
        }
        Some((s, lo, hi)) => format!(
            "load slowdown {} (given; the data say {s}, 95 % interval {lo}-{hi})",
            sep.slowdown
        ),
        None if sep.slowdown_given => format!("load slowdown {} (given)", sep.slowdown),
        None => format!(
            "load slowdown {} (not fitted: the loads at the tasks' starts did not vary \
             enough to bound it; given or capsim's default)",
            sep.slowdown
        ),
    };
    format!("{slots}, {s}")
}

fn print_table(
    args: &Args,
    machines: &[MachineTimes],
    ex: &Exclusions,
    fits: &[calibrate::PhaseFit],
    (init, cluster_ex): (Option<&calibrate::Fit>, &Exclusions),
    tasks: Option<&Tasks>,
    sources: &str,
) {
    let secs = |s: f64| SimDuration::from_secs_f64(s).to_string();
    let mut t = Table::new(&[
        ("machines", Align::Left),
        ("phase", Align::Left),
        ("n", Align::Right),
        ("data p50", Align::Right),
        ("data p95", Align::Right),
        ("fit p50", Align::Right),
        ("fit p95", Align::Right),
        ("KS D", Align::Right),
        ("sets", Align::Left),
    ]);
    for f in fits {
        t.row(vec![
            f.role.name().into(),
            f.phase.name().into(),
            f.fit.n.to_string(),
            secs(f.fit.data_p50),
            secs(f.fit.data_p95),
            secs(f.fit.p50),
            secs(f.fit.p95),
            format!("{:.3}", f.fit.ks),
            f.knob
                .map_or_else(|| "- (contains queueing)".into(), str::to_string),
        ]);
    }
    if let Some(f) = init {
        t.row(vec![
            "clusters".into(),
            "control-plane-initialized".into(),
            f.n.to_string(),
            secs(f.data_p50),
            secs(f.data_p95),
            secs(f.p50),
            secs(f.p95),
            format!("{:.3}", f.ks),
            "- (contains queueing)".into(),
        ]);
    }
    println!(
        "capsim calibrate machines: {} Machines from {sources}; left out: {} not provisioned, \
         {} with clock skew, {} being deleted",
        machines.len(),
        ex.unfinished,
        ex.clock_skew,
        ex.deleting,
    );
    if init.is_some() || cluster_ex != &Exclusions::default() {
        println!(
            "Clusters: {} initialized their control plane; left out: {} not yet, {} with \
             clock skew, {} being deleted",
            init.map_or(0, |f| f.n),
            cluster_ex.unfinished,
            cluster_ex.clock_skew,
            cluster_ex.deleting
        );
    }
    print!("\n{}", t.render());
    if let Some(tk) = tasks {
        let mut t = Table::new(&[
            ("task", Align::Left),
            ("n", Align::Right),
            ("slot wait p50", Align::Right),
            ("slot wait p95", Align::Right),
            ("request to end p50", Align::Right),
            ("request to end p95", Align::Right),
            ("service p50", Align::Right),
            ("service p95", Align::Right),
            ("KS D", Align::Right),
        ]);
        for k in &tk.sep.kinds {
            t.row(vec![
                task_name(k.kind).into(),
                k.service.n.to_string(),
                secs(k.wait_p50),
                secs(k.wait_p95),
                secs(k.from_request.p50),
                secs(k.from_request.p95),
                secs(k.service.p50),
                secs(k.service.p95),
                format!("{:.3}", k.service.ks),
            ]);
        }
        let mut others: Vec<(&String, &u64)> = tk.ex.other_names.iter().collect();
        others.sort_by(|a, b| b.1.cmp(a.1));
        let others: Vec<String> = others
            .iter()
            .take(5)
            .map(|(name, n)| format!("{name} {n}"))
            .collect();
        let others = if others.is_empty() {
            String::new()
        } else {
            format!(": {}", others.join(", "))
        };
        print!(
            "\nPrism Central: {} root tasks (left out: {} subtasks, {} failed or unfinished, {} \
             with clock skew; {} of other operations count only as load{others}); {}.\n\n{}",
            tk.read,
            tk.ex.subtasks,
            tk.ex.unfinished_or_failed,
            tk.ex.clock_skew,
            tk.ex.other_operations(),
            slots_text(&tk.sep),
            t.render()
        );
    }
    if let Some(path) = &args.out {
        println!(
            "\nThe fitted knobs and their 95 % intervals are in {} (a scenario overlay; \
             capsim sweep --uncertainty draws them from those intervals).",
            path.display()
        );
    }
    if let Some(dir) = &args.charts {
        println!("QQ charts: {}", dir.display());
    }
}

fn print_json(
    machines: &[MachineTimes],
    ex: &Exclusions,
    fits: &[calibrate::PhaseFit],
    init: Option<&calibrate::Fit>,
    tasks: Option<&Tasks>,
    knobs: &[FittedKnob],
) -> anyhow::Result<()> {
    let phases: Vec<serde_json::Value> = fits
        .iter()
        .map(|f| {
            serde_json::json!({
                "role": f.role.name(), "phase": f.phase.name(), "n": f.fit.n,
                "data_p50_s": f.fit.data_p50, "data_p95_s": f.fit.data_p95,
                "fit_p50_s": f.fit.p50, "fit_p95_s": f.fit.p95, "ks": f.fit.ks,
                "shape": f.fit.shape.name(), "knob": f.knob, "created_from": f.dates.0, "created_to": f.dates.1,
            })
        })
        .collect();
    let mut doc = serde_json::json!({
        "machines": machines.len(),
        "excluded": {"unfinished": ex.unfinished, "clock_skew": ex.clock_skew,
                     "deleting": ex.deleting},
        "phases": phases,
        "control_plane_initialized": init.map(|f| serde_json::json!({
            "n": f.n, "data_p50_s": f.data_p50, "data_p95_s": f.data_p95,
            "fit_p50_s": f.p50, "fit_p95_s": f.p95, "ks": f.ks,
        })),
        "knobs": knobs.iter().map(|k| serde_json::json!({
            "path": k.path, "value": k.value, "data": k.data, "range": k.range,
        })).collect::<Vec<_>>(),
    });
    if let Some(tk) = tasks {
        let s = &tk.sep;
        doc["tasks"] = serde_json::json!({
            "read": tk.read,
            "excluded": {"subtasks": tk.ex.subtasks, "unfinished_or_failed": tk.ex.unfinished_or_failed,
                         "clock_skew": tk.ex.clock_skew, "other_operations": tk.ex.other_operations(),
                         "other_names": tk.ex.other_names},
            "slots": s.slots,
            "slots_from": match s.slots_from {
                SlotsFrom::Given => "given", SlotsFrom::Saturated => "saturated",
                SlotsFrom::LowerBound => "lower-bound",
            },
            "waited": s.waited,
            "load_slowdown": s.slowdown,
            "load_slowdown_fit": s.slowdown_fit.map(|(v, lo, hi)| serde_json::json!({
                "value": v, "low": lo, "high": hi})),
            "operations": s.kinds.iter().map(|k| serde_json::json!({
                "task": task_name(k.kind), "n": k.service.n,
                "wait_p50_s": k.wait_p50, "wait_p95_s": k.wait_p95,
                "from_request_p50_s": k.from_request.p50, "from_request_p95_s": k.from_request.p95,
                "service_p50_s": k.service.p50, "service_p95_s": k.service.p95, "ks": k.service.ks,
            })).collect::<Vec<_>>(),
        });
    }
    println!("{}", serde_json::to_string_pretty(&doc)?);
    Ok(())
}
