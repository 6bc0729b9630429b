//! `report.md` and a self-contained `report.html` for a sweep: what was run, the verdict,
//! the tables per fleet size (the checklist's, the bill of materials'), and every chart (inlined as SVG in the HTML, so the file has
//! no external reference and can be mailed or attached to a design review as it is).

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context;
use models::run::sweep::{self, PointSummary, SweepResult};

/// The charts, in report order, with their captions. The last two are drawn once per
/// value of the swept knobs (`-1`, `-2`, … when there are several).
const CHARTS: &[(&str, &str)] = &[
    ("fleet-time-to-ready", "Fleet time to ready"),
    (
        "bom-vcpu",
        "Bill of materials: vCPU, provisioned and needed at peak",
    ),
    (
        "bom-memory",
        "Bill of materials: memory, provisioned and needed at peak",
    ),
    (
        "waiting-by-resource",
        "Waiting per machine by resource (the bottleneck attribution)",
    ),
    ("checklist-heatmap", "Checklist items: replicas passed"),
    (
        "controller-cpu",
        "Busiest controller pod's CPU over its limit",
    ),
    (
        "controller-memory",
        "Fullest controller pod's memory over its limit",
    ),
    ("reconcile-p99", "Reconcile time p99"),
    ("api-mutating-p99", "API server mutating latency p99"),
    ("etcd-size", "etcd database peak size over quota"),
    ("vm-create-p95", "Prism Central VM create p95"),
    ("workqueue-depth", "Deepest workqueue the checklist watches"),
    (
        "workqueue-depth-other",
        "Deepest workqueue of the other controllers",
    ),
];

/// The charts written whose name is `name`, or `name-1`, `name-2`, …
fn chart_files<'a>(written: &'a [String], name: &'a str) -> impl Iterator<Item = &'a String> {
    written.iter().filter(move |w| {
        *w == name
            || w.strip_prefix(name)
                .and_then(|rest| rest.strip_prefix('-'))
                .is_some_and(|i| i.parse::<u32>().is_ok())
    })
}

/// The tables, one per value of the swept knobs, each headed by that value.
fn tables_md(r: &SweepResult) -> String {
    let mut out = String::new();
    for g in r.points.chunk_by(|a, b| a.knobs == b.knobs) {
        let label = sweep::knobs_label(&g[0].knobs);
        if !label.is_empty() {
            let _ = writeln!(out, "With {}:\n", code_span(&label));
        }
        out.push_str(&table_md(g, r.rule.confidence));
        out.push('\n');
        out.push_str(BOM_CAPTION);
        out.push_str(&bom_md(g));
        out.push('\n');
    }
    out
}

const BOM_CAPTION: &str = "Bill of materials (median of replicas; provisioned, then needed at \
    peak with the checklist's headroom; docs/model.md, \"Bill of materials\"):\n\n";

/// The bill of materials' totals per fleet size, as a Markdown table.
fn bom_md(points: &[PointSummary]) -> String {
    let text = super::bom::sweep_table(points);
    let mut lines = text.lines();
    let cells = |l: &str| -> Vec<String> {
        // The terminal table's columns are two or more spaces apart.
        l.split("  ")
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_string)
            .collect()
    };
    let head = cells(lines.next().unwrap_or(""));
    let mut t = format!("| {} |\n|", head.join(" | "));
    for (i, _) in head.iter().enumerate() {
        t.push_str(if i == 2 { "---|" } else { "---:|" });
    }
    t.push('\n');
    for l in lines.skip(1) {
        let _ = writeln!(t, "| {} |", cells(l).join(" | "));
    }
    t
}

/// A Markdown table as an HTML table.
fn html_table(md_table: &str) -> String {
    let mut html = String::new();
    let mut lines = md_table.lines();
    html.push_str("<table><tr>");
    for h in lines.next().unwrap_or("").trim_matches('|').split(" | ") {
        let _ = write!(html, "<th>{}</th>", escape(h.trim()));
    }
    html.push_str("</tr>\n");
    for line in lines.skip(1) {
        let cells: Vec<&str> = line.trim_matches('|').split(" | ").collect();
        html.push_str("<tr>");
        for c in cells {
            let _ = write!(
                html,
                "<td>{}</td>",
                escape(c.trim().replace("\\|", "|").as_str())
            );
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</table>\n");
    html
}

fn table_md(points: &[PointSummary], confidence: f64) -> String {
    let mut t = format!(
        "| clusters | mgmt clusters | ready | fleet time p50 | p95 | checklist passed | P ≥ ({} %) | verdict | weakest item | bottleneck |\n|---:|---:|---:|---:|---:|---:|---:|---|---|---|\n",
        super::sweep_text::percent(confidence)
    );
    for p in points {
        let ft = p.figures.get("fleet_time_to_ready_s");
        let time = |v: f64| sim_core::SimDuration::from_secs_f64(v).to_string();
        let weakest = super::sweep_text::weakest(p)
            .filter(|(_, k)| *k < p.replicas)
            .map_or("–".to_string(), |(item, k)| {
                format!("{item} ({k}/{})", p.replicas)
            });
        let ready = p.ready_replicas();
        let _ = writeln!(
            t,
            "| {} | {} | {ready}/{} | {} | {} | {}/{} | {} | {} | {} | {} ({:.0} %) |",
            p.clusters,
            p.figures
                .get("management_clusters")
                .map_or(1, |f| f.p50.round() as u32),
            p.replicas,
            ft.map_or("–".into(), |s| time(s.p50)),
            ft.map_or("–".into(), |s| time(s.p95)),
            p.checklist_passes,
            p.replicas,
            super::sweep_text::rate_low(p.checklist_pass_lower_bound),
            p.verdict.as_str(),
            weakest.replace('|', "\\|"),
            p.bottleneck,
            p.bottleneck_share * 100.0
        );
    }
    t
}

/// The longest run of backticks in `s`.
fn longest_backtick_run(s: &str) -> usize {
    s.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

/// `text` as a fenced code block, its fence longer than any backtick run in it.
fn fenced(text: &str) -> String {
    let fence = "`".repeat(longest_backtick_run(text).max(2) + 1);
    format!("{fence}text\n{text}\n{fence}")
}

/// `text` as an inline code span, verbatim (CommonMark: a longer backtick string than any
/// inside, and spaces when it starts or ends with a backtick).
fn code_span(text: &str) -> String {
    let ticks = "`".repeat(longest_backtick_run(text) + 1);
    let one_line = text.replace('\n', " ");
    format!("{ticks} {one_line} {ticks}")
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Writes `report.md` and `report.html` into `dir`, next to `charts/`.
pub fn write(
    dir: &Path,
    setup: &str,
    verdict: &str,
    r: &SweepResult,
    charts: &[String],
) -> anyhow::Result<()> {
    // The setup holds the user's paths, values and command line: verbatim, in code blocks,
    // so no character of theirs is read as Markdown or HTML.
    let mut md = format!(
        "# capsim sweep report\n\n## What was run\n\n{}\n\n## Verdict\n\n{}\n\n## Per fleet size\n\n",
        fenced(setup),
        fenced(verdict)
    );
    md.push_str(&tables_md(r));
    md.push_str("Full figures per size: `summary.csv`, `summary.json`; per replica: `replicas.csv`.\n\n## Charts\n\n");
    for (name, caption) in CHARTS {
        for file in chart_files(charts, name) {
            let _ = writeln!(md, "### {caption}\n\n![{caption}](charts/{file}.svg)\n");
        }
    }
    let mut html = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>capsim sweep report</title>\n<style>body{font-family:sans-serif;max-width:980px;margin:2em auto;padding:0 1em;color:#222}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}td:nth-child(n+8){text-align:left}pre{white-space:pre-wrap;background:#f6f6f6;padding:1em}</style></head><body>\n<h1>capsim sweep report</h1>\n",
    );
    let _ = write!(
        html,
        "<h2>What was run</h2><pre>{}</pre>\n<h2>Verdict</h2><pre>{}</pre>\n",
        escape(setup),
        escape(verdict)
    );
    html.push_str("<h2>Per fleet size</h2>\n");
    for g in r.points.chunk_by(|a, b| a.knobs == b.knobs) {
        let label = sweep::knobs_label(&g[0].knobs);
        if !label.is_empty() {
            let _ = writeln!(html, "<h3>With {}</h3>", escape(&label));
        }
        html.push_str(&html_table(&table_md(g, r.rule.confidence)));
        let _ = writeln!(html, "<p>{}</p>", escape(BOM_CAPTION.trim_end()));
        html.push_str(&html_table(&bom_md(g)));
    }
    html.push_str("<h2>Charts</h2>\n");
    for (name, caption) in CHARTS {
        for file in chart_files(charts, name) {
            let path = dir.join("charts").join(format!("{file}.svg"));
            if let Ok(svg) = std::fs::read_to_string(&path) {
                // Inline SVG needs no namespace declaration; dropping it leaves no URL.
                let svg = svg.replace(" xmlns=\"http://www.w3.org/2000/svg\"", "");
                let _ = write!(html, "<h3>{}</h3>\n{svg}\n", escape(caption));
            }
        }
    }
    html.push_str("</body></html>\n");
    for (file, text) in [("report.md", md), ("report.html", html)] {
        let path = dir.join(file);
        std::fs::write(&path, text).with_context(|| format!("{}: cannot write", path.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_text_in_the_report_stays_verbatim() {
        // Issue 13: the scenario path went into report.md raw.
        let setup = "scenario /tmp/my *odd* <b>.yaml\n# not a heading\n```";
        let block = fenced(setup);
        assert!(
            block.starts_with("````text\n") && block.ends_with("\n````"),
            "{block}"
        );
        assert!(block.contains(setup));
        assert_eq!(code_span("a`b"), "`` a`b ``");
        assert_eq!(code_span("x=1"), "` x=1 `");
    }
}
