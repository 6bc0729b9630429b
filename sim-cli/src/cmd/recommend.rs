//! `capsim recommend`: the cheapest configuration that passes the checklist and the
//! targets at the pass rate, searched over the knobs of `models/presets/recommend.yaml`,
//! verified on fresh streams, and printed as changes, commands, a bill and margins.

use std::path::PathBuf;

use anyhow::{Context, bail};
use models::recommend::apply;
use models::recommend::cost::{self, Cost};
use models::recommend::fleet::{Fleet, Judgement, Progress, Target};
use models::recommend::search::{Ending, Screened, Settings};
use models::recommend::space::{self, Knob};
use models::recommend::{Recommendation, VerifyPlan, recommend};
use models::run::RunPlan;
use models::scenario::presets::Override;
use models::scenario::{self, Scenario};
use serde::Serialize;
use sim_core::monte_carlo::in_pool;
use sim_core::stats::binomial::PassRule;

use crate::Outcome;
use crate::cmd::compare::{Shared, Start, plans_of};
use crate::cmd::run::Format;
use crate::render::bom::{gib, vcpu};
use crate::render::sweep_text::secs;
use crate::render::table::{Align, Table};

/// Configurations verified at most, from the cheapest back.
const VERIFY_AT_MOST: usize = 3;

/// Arguments of `capsim recommend`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    capsim recommend --clusters 1500 --target fleet-time=8h\n  \
    capsim recommend --clusters 300 --pass-rate 0.95 --budget 60 --out plan/\n  \
    capsim recommend --clusters 200 --scenario today.yaml --set prices.vcpu=35 --format json\n\n\
The search: the knobs of models/presets/recommend.yaml (management clusters, Prism \
Central size and count, node counts and sizes, etcd's disk and quota, controller QPS, \
concurrency and shards), each over the values listed there, from the configuration given \
(the guide's tier for the size by default). Each configuration is screened with \
--replicas replicas on common random numbers, more (up to 4×) where the answer is close; \
it passes when that share of replicas passes the checklist, every --target, and has the \
nodes its bill of materials says peak demand needs within the checklist's 80 % headroom \
(the demand is what capsim simulates: the API servers, etcd and the CAPI and CAPX \
managers; reserve the rest with nodes.reserved-cpu and -memory). \
Coordinate descent: while the configuration fails, the knob step up that passes most \
cheaply, else that lowers the worst margin most per unit of cost; then, while one \
passes, the cheapest step down on any knob that still passes, and swaps (a step down \
paid for by steps up elsewhere). It is local and greedy, and stops after --budget \
configurations.\n\n\
Cost: the bill of materials as provisioned, priced by the scenario's prices section \
(defaults: relative weights from public-cloud list prices, docs/model.md \"Prices\"; put \
your own with --set prices.vcpu=... or in the scenario). The configuration found is \
verified on fresh streams (seed + 1): as many replicas as showing --pass-rate at \
--confidence takes, every one passing (one-sided Clopper–Pearson); if it is not shown, \
the search's previous, dearer configuration is tried, up to 3.\n\n\
Targets: fleet-time, cluster-ready-p95, vm-create-p95, api-mutating-p99, as NAME=DURATION.\n\n\
Exit status: 0 when a configuration is recommended, 1 when none was shown to pass (the \
closest is printed with what failed), 2 on bad input or a failed run.")]
pub struct Args {
    #[command(flatten)]
    start: Start,
    /// A limit besides the checklist, NAME=DURATION (repeatable), e.g. fleet-time=8h.
    #[arg(long = "target", value_name = "NAME=DURATION")]
    targets: Vec<Target>,
    /// The share of replicas that must pass, shown at --confidence (0 < p < 1).
    #[arg(long, default_value_t = 0.9)]
    pass_rate: f64,
    /// Replicas each configuration is screened with first (1 to 100).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=100))]
    replicas: u64,
    /// Configurations screened at most (1 to 1000).
    #[arg(long, default_value_t = 40, value_parser = clap::value_parser!(u64).range(1..=1000))]
    budget: u64,
    /// Also write recommended.yaml (the whole scenario) and apply.sh into this folder.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    #[command(flatten)]
    shared: Shared,
}

/// One knob the recommendation changes.
#[derive(Serialize)]
struct Change {
    knob: String,
    from: String,
    to: String,
    /// Every override it takes (a QPS's burst, a node's memory with its vCPU).
    sets: Vec<String>,
}

/// One checklist item or target over the verification's replicas.
#[derive(Serialize)]
struct Margin {
    name: String,
    unit: String,
    threshold: f64,
    /// The worst replica's value.
    worst: f64,
    /// worst ÷ threshold (counts: 0 passed, 2 failed).
    margin: f64,
    passes: usize,
    replicas: usize,
}

/// Runs the search and prints it.
pub fn run(args: &Args) -> anyhow::Result<Outcome> {
    let sh = &args.shared;
    let start = &args.start;
    let common = sh.common(start.tier)?;
    if !(args.pass_rate > 0.0 && args.pass_rate < 1.0) {
        bail!(
            "--pass-rate {}: must lie strictly between 0 and 1, e.g. 0.9",
            args.pass_rate
        );
    }
    start.one_value_each("recommend searches")?;
    let sizes = [start.clusters];
    let base = start.design("the configuration".into(), &[]);
    let start_plan = plans_of(&base, &common, &sizes, sh.seed)
        .context("the starting configuration")?
        .remove(0);
    let (knobs, left_out) = space::builtin(&start_plan.config);
    let make = |sets: &[Override], seed: u64| -> Result<RunPlan, String> {
        plans_of(&start.design(String::new(), sets), &common, &sizes, seed)
            .map(|mut p| p.remove(0))
            .map_err(|e| format!("{e:#}"))
    };
    let budget = args.budget;
    let report = move |n: usize, s: &Screened| {
        let cost = s
            .cost
            .as_ref()
            .map_or("refused".into(), |c| format!("{c:.0}"));
        eprintln!(
            "capsim recommend: screened {n} of at most {budget} ({:?}, cost {cost}, {}/{} passed)",
            s.step,
            s.passes(),
            s.outcomes.len()
        );
    };
    let fleet = Fleet {
        make,
        knobs: &knobs,
        targets: &args.targets,
        seed: sh.seed,
        progress: crate::progress::shown().then_some(&report as &Progress),
    };
    let settings = Settings {
        sizes: knobs.iter().map(|k| k.settings.len()).collect(),
        replicas: args.replicas,
        pass_rate: args.pass_rate,
        confidence: sh.confidence,
        budget: args.budget as usize,
    };
    let verify_plan = VerifyPlan {
        rule: PassRule {
            pass_rate: args.pass_rate,
            confidence: sh.confidence,
            looks: 1,
        },
        seed: sh.seed.wrapping_add(1),
        batch: sh.threads.unwrap_or(8).max(2),
        at_most: VERIFY_AT_MOST,
    };
    let rec = in_pool(sh.threads.map(|t| t as usize), || {
        recommend(&fleet, &settings, &verify_plan)
    })?
    .map_err(|e| anyhow::anyhow!(e))?;
    let start: Vec<usize> = knobs.iter().map(|k| k.start).collect();
    let shown = |i: usize| -> anyhow::Result<(Cost, RunPlan)> {
        fleet
            .priced(&rec.search.trace[i].point)
            .map_err(|e| anyhow::anyhow!(e))
    };
    let (start_cost, _) = fleet.priced(&start).map_err(|e| anyhow::anyhow!(e))?;
    // What is shown: the recommendation; else the configuration whose fresh replicas
    // passed most often; else the one screened nearest to passing.
    let best_verified = rec
        .verifications
        .iter()
        .max_by(|a, b| {
            let share = |v: &models::recommend::fleet::Verification| {
                v.passes as f64 / v.replicas.max(1) as f64
            };
            share(&a.1).total_cmp(&share(&b.1))
        })
        .map(|(i, _)| *i);
    let subject = rec.chosen.or(best_verified).unwrap_or(rec.search.closest);
    let (cost, plan) = shown(subject)?;
    let changes = changes(&knobs, &start, &rec.search.trace[subject].point);
    let sets: Vec<Override> = space::overrides(&knobs, &rec.search.trace[subject].point);
    let steps = apply::steps(&sets);
    // The margins: over the verification's replicas, or, with nothing recommended, over
    // the closest configuration's screening replicas (what failed).
    let judgements: Vec<Judgement> = match rec.verifications.iter().find(|(i, _)| *i == subject) {
        Some((_, v)) => v.judgements.clone(),
        None => {
            let e = &rec.search.trace[subject];
            let n = e.outcomes.len() as u64;
            in_pool(sh.threads.map(|t| t as usize), || {
                fleet.judge_replicas(&e.point, sh.seed, 0, n)
            })?
            .map_err(|e| anyhow::anyhow!(e))?
        }
    };
    let margins = margins(&judgements);
    let yaml = changes_yaml(args, &start_plan, &sets);
    if let (Some(dir), Some(_)) = (&args.out, rec.chosen) {
        write_out(dir, args, &plan, &steps)?;
    }
    match sh.format {
        Format::Json => {
            let doc = serde_json::json!({
                "schema_version": 1,
                "clusters": args.start.clusters,
                "seed": sh.seed,
                "targets": args.targets,
                "pass_rate": args.pass_rate,
                "confidence": sh.confidence,
                "settings": settings,
                "knobs": knobs.iter().map(|k| serde_json::json!({
                    "knob": k.name,
                    "values": k.settings.iter().map(|s| &s.value).collect::<Vec<_>>(),
                    "start": k.start,
                })).collect::<Vec<_>>(),
                "left_out": left_out,
                "start_cost": start_cost,
                "search": rec.search,
                "verifications": rec.verifications,
                "recommended": rec.chosen.is_some(),
                "configuration": {
                    "changes": changes,
                    "cost": cost,
                    "bill": cost::provisioned(&plan.config, &plan.tier, plan.management_clusters),
                    "apply": steps,
                    "scenario": yaml,
                    "margins": margins,
                },
            });
            let doc = crate::provenance::stamp(doc, sh.seed);
            println!("{}", serde_json::to_string_pretty(&doc)?);
        }
        Format::Table => print!(
            "{}",
            text(
                args,
                &Report {
                    rec: &rec,
                    subject,
                    knobs: &knobs,
                    left_out: &left_out,
                    start_cost: &start_cost,
                    cost: &cost,
                    plan: &plan,
                    changes: &changes,
                    steps: &steps,
                    margins: &margins,
                    yaml: &yaml,
                }
            )
        ),
    }
    Ok(if rec.chosen.is_some() {
        Outcome::Success
    } else {
        Outcome::ChecksFailed
    })
}

/// The knobs `point` changes from `start`.
fn changes(knobs: &[Knob], start: &[usize], point: &[usize]) -> Vec<Change> {
    knobs
        .iter()
        .zip(start.iter().zip(point))
        .filter(|(_, (a, b))| a != b)
        .map(|(k, (&a, &b))| Change {
            knob: k.name.clone(),
            from: k.settings[a].value.clone(),
            to: k.settings[b].value.clone(),
            sets: k.settings[b]
                .sets
                .iter()
                .map(|o| format!("{}={}", o.key, o.value))
                .collect(),
        })
        .collect()
}

/// Each item over the verification's replicas: its worst value and margin.
fn margins(judgements: &[Judgement]) -> Vec<Margin> {
    let Some(first) = judgements.first() else {
        return Vec::new();
    };
    (0..first.items.len())
        .map(|i| {
            let items: Vec<_> = judgements.iter().map(|j| &j.items[i]).collect();
            let worst = items
                .iter()
                .max_by(|a, b| a.margin.total_cmp(&b.margin))
                .expect("one replica");
            Margin {
                name: worst.name.clone(),
                unit: worst.unit.clone(),
                threshold: worst.threshold,
                worst: worst.value,
                margin: worst.margin,
                passes: items.iter().filter(|x| x.pass).count(),
                replicas: items.len(),
            }
        })
        .collect()
}

/// The changes as a scenario file over the starting tier (or file): the knobs nested.
fn changes_yaml(args: &Args, start: &RunPlan, sets: &[Override]) -> String {
    let mut out = String::new();
    match &args.start.scenario {
        Some(f) => out.push_str(&format!("# Apply over {}:\n", f.display())),
        None => out.push_str(&format!("defaults: capi-1.12\ntier: {}\n", start.tier)),
    }
    if !args.start.sets.is_empty() {
        out.push_str("# with your --set values, then:\n");
    }
    if sets.is_empty() {
        out.push_str("# (no change)\n");
    } else {
        out.push_str(&apply::as_yaml(sets));
    }
    out
}

/// Writes the whole scenario and the commands into `dir`.
fn write_out(
    dir: &PathBuf,
    args: &Args,
    plan: &RunPlan,
    steps: &[apply::Step],
) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("{}: cannot create the output folder", dir.display()))?;
    let s = Scenario {
        name: Some(format!("recommended-{}", args.start.clusters)),
        defaults: models::scenario::presets::Profile::Capi112,
        tier: None,
        config: plan.config.clone(),
        workload: vec![models::scenario::workload::Operation::Create(
            plan.fleet.create_op(),
        )],
        faults: plan.faults.clone(),
        management_clusters: None,
        calibration: None,
    };
    let path = dir.join("recommended.yaml");
    std::fs::write(&path, scenario::to_yaml(&s))
        .with_context(|| format!("{}: cannot write", path.display()))?;
    let mut sh = String::from(
        "#!/bin/sh\n# capsim recommend: the changes to the managers and etcd; the hardware in comments.\nset -e\n",
    );
    for st in steps {
        if st.action.starts_with("kubectl") {
            sh.push_str(&format!("\n# {}\n{}\n", st.component, st.action));
        } else {
            sh.push_str(&format!("\n# {}: {}\n", st.component, st.action));
        }
    }
    let path = dir.join("apply.sh");
    std::fs::write(&path, sh).with_context(|| format!("{}: cannot write", path.display()))?;
    Ok(())
}

/// What the text output shows.
struct Report<'a> {
    rec: &'a Recommendation,
    /// The configuration shown (index into the trace).
    subject: usize,
    knobs: &'a [Knob],
    left_out: &'a [String],
    start_cost: &'a Cost,
    cost: &'a Cost,
    plan: &'a RunPlan,
    changes: &'a [Change],
    steps: &'a [apply::Step],
    margins: &'a [Margin],
    yaml: &'a str,
}

fn money(x: f64, currency: &str) -> String {
    let whole = format!("{:.0}", x.round());
    let mut out = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 && c != '-' {
            out.push(',');
        }
        out.push(c);
    }
    format!("{out} {currency}")
}

fn value(v: f64, unit: &str) -> String {
    if v.is_nan() {
        return "never".into();
    }
    match unit {
        "s" => secs(v),
        "%" | "fraction" => format!("{:.0} %", v * 100.0),
        _ => format!("{v:.0}"),
    }
}

fn text(args: &Args, r: &Report) -> String {
    let sh = &args.shared;
    let rec = r.rec;
    let mut o = String::new();
    let targets: Vec<String> = args
        .targets
        .iter()
        .map(|t| format!("{} ≤ {}", t.label, secs(t.limit_s)))
        .collect();
    o.push_str(&format!(
        "capsim recommend: {} clusters, starting from {}, seed {}\n",
        args.start.clusters,
        match &args.start.scenario {
            Some(f) => f.display().to_string(),
            None => format!("the {} tier", r.plan.tier),
        },
        sh.seed
    ));
    o.push_str(&format!(
        "Passing: the checklist{}, in at least {:.0} % of replicas, shown at {:.0} % confidence.\n",
        if targets.is_empty() {
            String::new()
        } else {
            format!(" and {}", targets.join(", "))
        },
        args.pass_rate * 100.0,
        sh.confidence * 100.0
    ));
    let s = &rec.search;
    o.push_str(&format!(
        "Search: {} knobs, {} replicas per configuration (more where close), budget {}; \
         screened {}, {}.\n",
        r.knobs.len(),
        args.replicas,
        args.budget,
        s.trace.len(),
        match s.ending {
            Ending::Converged => "ended where no cheaper step passes",
            Ending::BudgetSpent => "ended when the budget was spent (a cheaper one may exist)",
            Ending::Unreachable => "no step up made the failing configuration pass or come closer",
        }
    ));
    for l in r.left_out {
        o.push_str(&format!("  left out: {l}\n"));
    }
    let head = match rec.chosen {
        Some(_) => "\nRecommended",
        None => "\nNo configuration was shown to pass. The closest found",
    };
    o.push_str(&format!(
        "{head}: {} (the start: {}, {} %)\n",
        money(r.cost.total, &r.cost.currency),
        money(r.start_cost.total, &r.start_cost.currency),
        format!("{:+.0}", (r.cost.total / r.start_cost.total - 1.0) * 100.0).replace('-', "−")
    ));
    if r.changes.is_empty() {
        o.push_str("  no change from the start\n");
    } else {
        let mut t = Table::new(&[
            ("knob", Align::Left),
            ("from", Align::Right),
            ("to", Align::Right),
        ]);
        for c in r.changes {
            t.row(vec![c.knob.clone(), c.from.clone(), c.to.clone()]);
        }
        o.push_str(&indent(&t.render()));
    }
    for (i, v) in &rec.verifications {
        let e = &s.trace[*i];
        o.push_str(&format!(
            "  verified on fresh streams (seed {}), {}: {}/{} replicas passed{}\n",
            v.seed,
            money(e.cost.clone().unwrap_or(f64::NAN), &r.cost.currency),
            v.passes,
            v.replicas,
            if v.shown {
                format!(
                    ": pass rate ≥ {:.2} at {:.0} % confidence (one-sided Clopper–Pearson)",
                    v.pass_lower_bound,
                    sh.confidence * 100.0
                )
            } else {
                format!(
                    ", not the {} in a row that showing {:.0} % takes",
                    v.replicas_to_show,
                    args.pass_rate * 100.0
                )
            }
        ));
    }
    if rec.chosen.is_none() {
        let e = &s.trace[r.subject];
        o.push_str(&format!(
            "  screened: {}/{} replicas passed; worst margin {:.2} (mean)\n",
            e.passes(),
            e.outcomes.len(),
            e.mean_score()
        ));
        let failed: Vec<String> = r
            .margins
            .iter()
            .filter(|m| m.passes < m.replicas)
            .map(|m| format!("{} ({}/{} passed)", m.name, m.passes, m.replicas))
            .collect();
        if !failed.is_empty() {
            o.push_str(&format!("  failed: {}\n", failed.join("; ")));
        }
    }
    if !r.margins.is_empty() {
        o.push_str(&format!(
            "\nChecklist and targets over the {} {} replicas (the worst replica)\n",
            r.margins[0].replicas,
            if rec.verifications.iter().any(|(i, _)| *i == r.subject) {
                "verification"
            } else {
                "screening"
            }
        ));
        let mut t = Table::new(&[
            ("item", Align::Left),
            ("worst", Align::Right),
            ("threshold", Align::Right),
            ("margin", Align::Right),
            ("passed", Align::Right),
        ]);
        for m in r.margins {
            t.row(vec![
                m.name.clone(),
                value(m.worst, &m.unit),
                value(m.threshold, &m.unit),
                format!("{:.0} %", m.margin * 100.0),
                format!("{}/{}", m.passes, m.replicas),
            ]);
        }
        o.push_str(&indent(&t.render()));
        o.push_str(
            "  margin: the worst value ÷ its threshold (counts: 0 % when none, 200 % when any)\n",
        );
    }
    if rec.chosen.is_some() {
        o.push_str("\nApply it\n");
        if r.steps.is_empty() {
            o.push_str("  nothing to change\n");
        }
        let mut last = "";
        for st in r.steps {
            if st.component != last {
                o.push_str(&format!("  # {}\n", st.component));
                last = &st.component;
            }
            for line in st.action.lines() {
                o.push_str(&format!("  {line}\n"));
            }
        }
        o.push_str("\nAs a scenario file\n");
        o.push_str(&indent(r.yaml));
    }
    let bill = cost::provisioned(&r.plan.config, &r.plan.tier, r.plan.management_clusters);
    o.push_str(&format!(
        "\nBill of materials, provisioned and priced (the {} tier's data, {} management cluster{})\n",
        bill.tier,
        bill.management_clusters,
        if bill.management_clusters == 1 { "" } else { "s" }
    ));
    let mut t = Table::new(&[
        ("item", Align::Left),
        ("units", Align::Right),
        ("vCPU", Align::Right),
        ("RAM", Align::Right),
        ("disk", Align::Right),
        ("cost", Align::Right),
    ]);
    for (l, c) in bill.lines.iter().zip(&r.cost.lines) {
        t.row(vec![
            l.item.clone(),
            l.provisioned.count.to_string(),
            vcpu(l.provisioned.vcpu),
            gib(l.provisioned.memory_bytes),
            gib(l.provisioned.disk_bytes),
            money(c.cost, ""),
        ]);
    }
    let p = &bill.provisioned;
    t.row(vec![
        "total".into(),
        format!("{} + {} PC", p.nodes, p.prism_centrals),
        vcpu(p.vcpu),
        gib(p.memory_bytes),
        gib(p.disk_bytes),
        money(r.cost.total, &r.cost.currency),
    ]);
    o.push_str(&indent(&t.render()));
    o.push_str(&format!(
        "  prices: {} per vCPU, {} per GiB of memory, {} per GiB of SSD, {} per GiB of NVMe, {} per Prism Central ({}; prices.* in the scenario)\n",
        r.plan.config.prices.vcpu,
        r.plan.config.prices.memory_gib,
        r.plan.config.prices.disk_gib,
        r.plan.config.prices.nvme_gib,
        r.plan.config.prices.prism_central,
        r.cost.currency
    ));
    o.push_str(&format!(
        "\nThe search ({} configurations; passed: replicas passing of those screened)\n",
        s.trace.len()
    ));
    let mut t = Table::new(&[
        ("#", Align::Right),
        ("move", Align::Left),
        ("changes from the start", Align::Left),
        ("cost", Align::Right),
        ("passed", Align::Right),
        ("worst margin", Align::Right),
        ("", Align::Left),
    ]);
    let start: Vec<usize> = r.knobs.iter().map(|k| k.start).collect();
    for (n, e) in s.trace.iter().enumerate() {
        let ch: Vec<String> = changes(r.knobs, &start, &e.point)
            .iter()
            .map(|c| format!("{}={}", short(&c.knob), c.to))
            .collect();
        t.row(vec![
            (n + 1).to_string(),
            format!("{:?}", e.step).to_lowercase(),
            if ch.is_empty() {
                "-".into()
            } else {
                ch.join(" ")
            },
            match &e.cost {
                Ok(c) => money(*c, ""),
                Err(_) => "refused".into(),
            },
            format!("{}/{}", e.passes(), e.outcomes.len()),
            if e.outcomes.is_empty() {
                "-".into()
            } else {
                format!("{:.2}", e.mean_score())
            },
            if e.taken {
                "taken".into()
            } else {
                String::new()
            },
        ]);
    }
    o.push_str(&indent(&t.render()));
    for e in s.trace.iter() {
        if let Err(why) = &e.cost {
            o.push_str(&format!("  refused: {why}\n"));
        }
    }
    o
}

/// A knob's path without the manager's prefix where that is clear.
fn short(knob: &str) -> String {
    knob.replace("capi-controller-manager.", "capi.")
        .replace("capi-kubeadm-control-plane.", "kcp.")
        .replace("capi-kubeadm-bootstrap.", "cabpk.")
        .replace("capx-controller-manager.", "capx.")
        .replace(
            "topology.clusters-per-management-cluster",
            "clusters-per-mgmt",
        )
}

fn indent(s: &str) -> String {
    s.lines().map(|l| format!("  {l}\n")).collect()
}
