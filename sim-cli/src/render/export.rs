//! A sweep's files for other tools: `replicas.csv` (one row per point and replica),
//! `summary.csv` and `summary.json` (one row per point), `search.json` (the breaking-point
//! searches), written into the sweep's staging folder, which is moved into place only when
//! every output is written (`cmd/sweep/out_dir.rs`).

use std::path::Path;

use anyhow::Context;
use models::run::search::SearchResult;
use models::run::sweep::SweepResult;
use models::scenario::config::Thresholds;
use models::scenario::uncertainty::{Estimates, Spread};

use super::sweep_charts::write_charts;

/// Version of `summary.json` and `search.json`; bumped when a field changes meaning
/// (3: checklist passes as k of n with Clopper–Pearson bounds and a verdict; a search's
/// `failing` became `not_passing`).
const SCHEMA_VERSION: u32 = 3;

/// `s` as one CSV cell, quoted when it holds a comma, quote or line break.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// A number as a CSV cell, empty for NaN.
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
    let draw_names: Vec<&String> = first.draws.keys().collect();
    for d in &draw_names {
        out.push(',');
        out.push_str(&csv_field(&format!("draw: {d}")));
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
        for d in &draw_names {
            out.push(',');
            out.push_str(&num(rec.draws.get(*d).copied().unwrap_or(f64::NAN)));
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
        ",replicas,ready_probability,checklist_pass_probability,checklist_passes,checklist_pass_lower_bound,checklist_pass_upper_bound,verdict,bottleneck,bottleneck_frequency,bottleneck_share",
    );
    for f in &figure_names {
        for stat in [
            "mean",
            "p5",
            "p50",
            "p95",
            "ci95_low",
            "ci95_high",
            "min",
            "max",
        ] {
            out.push_str(&format!(",{f}_{stat}"));
        }
    }
    for c in &check_names {
        out.push(',');
        out.push_str(&csv_field(&format!("pass probability: {c}")));
    }
    for c in &check_names {
        out.push(',');
        out.push_str(&csv_field(&format!("passes: {c}")));
        out.push(',');
        out.push_str(&csv_field(&format!("pass lower bound: {c}")));
    }
    out.push('\n');
    for p in &r.points {
        out.push_str(&p.clusters.to_string());
        out.push_str(&knob_cells(&knob_names, |k| &p.knobs[k]));
        out.push_str(&format!(
            ",{},{},{},{},{},{},{},{},{},{}",
            p.replicas,
            p.ready_probability,
            p.checklist_pass_probability,
            p.checklist_passes,
            p.checklist_pass_lower_bound,
            p.checklist_pass_upper_bound,
            p.verdict.as_str(),
            csv_field(&p.bottleneck),
            p.bottleneck_frequency,
            p.bottleneck_share
        ));
        for f in &figure_names {
            match p.figures.get(*f) {
                Some(s) => {
                    let opt = |v: Option<f64>| v.map_or(String::new(), num);
                    out.push_str(&format!(
                        ",{},{},{},{},{},{},{},{}",
                        num(s.mean),
                        num(s.p5),
                        num(s.p50),
                        num(s.p95),
                        opt(s.ci95_low),
                        opt(s.ci95_high),
                        num(s.min),
                        num(s.max)
                    ));
                }
                None => out.push_str(",,,,,,,,"),
            }
        }
        for c in &check_names {
            out.push_str(&format!(
                ",{}",
                p.pass_probability.get(*c).copied().unwrap_or(0.0)
            ));
        }
        for c in &check_names {
            out.push_str(&format!(
                ",{},{}",
                p.passes.get(*c).copied().unwrap_or(0),
                p.pass_lower_bound.get(*c).copied().unwrap_or(0.0)
            ));
        }
        out.push('\n');
    }
    out
}

/// Writes `text` to `path`.
fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("{}: cannot write", path.display()))
}

/// Writes the CSV, JSON and chart files; returns the charts' names (without extension).
pub fn write_outputs(dir: &Path, r: &SweepResult, th: &Thresholds) -> anyhow::Result<Vec<String>> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("{}: cannot create the output directory", dir.display()))?;
    write(&dir.join("replicas.csv"), &replicas_csv(r))?;
    write(&dir.join("summary.csv"), &summary_csv(r))?;
    write(
        &dir.join("summary.json"),
        &serde_json::to_string_pretty(&summary_doc(r))?,
    )?;
    write_charts(dir, r, th)
}

/// `summary.json`'s document.
pub fn summary_doc(r: &SweepResult) -> serde_json::Value {
    let mut doc = serde_json::json!({
        "schema_version": SCHEMA_VERSION,
        "sampling": r.sampling,
        "rule": r.rule,
        "points": r.points
    });
    if r.estimates_drawn() > 0 {
        doc["uncertainty"] = uncertainty_json(r);
    }
    doc
}

/// Writes `provenance.json` (what made the outputs beside it) into `dir`.
pub fn write_provenance(dir: &Path, seed: u64) -> anyhow::Result<()> {
    write(
        &dir.join("provenance.json"),
        &serde_json::to_string_pretty(&crate::provenance::of(seed))?,
    )
}

/// `summary.json`'s `uncertainty`: every varied estimate with its range and reasoning, and
/// the ranking at the size nearest its threshold (null below 10 replicas a size).
fn uncertainty_json(r: &SweepResult) -> serde_json::Value {
    let estimates: Vec<serde_json::Value> = Estimates::builtin()
        .varied()
        .map(|e| {
            let (kind, lo, hi) = match e.spread {
                Spread::Range(lo, hi) => ("range", lo, hi),
                Spread::Scale(lo, hi) => ("scale", lo, hi),
                Spread::Hold => ("hold", 1.0, 1.0),
            };
            serde_json::json!({"knob": e.path, kind: [lo, hi], "why": e.why})
        })
        .collect();
    serde_json::json!({
        "method": "latin-hypercube per look; scale: log-uniform factor, range: uniform value",
        "estimates": estimates,
        "sensitivity": models::run::sensitivity::of_sweep(r),
    })
}

/// Writes `search.json` into `dir` (created if missing): every search's result.
pub fn write_search(dir: &Path, results: &[SearchResult]) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    write(
        &dir.join("search.json"),
        &serde_json::to_string_pretty(&search_doc(results))?,
    )
}

/// `search.json`'s document.
pub fn search_doc(results: &[SearchResult]) -> serde_json::Value {
    serde_json::json!({ "schema_version": SCHEMA_VERSION, "searches": results })
}
