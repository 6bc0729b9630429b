//! `report.md` and a self-contained `report.html` for a sweep: a header (capsim's version,
//! when the report was written, the command, seed, replicas, the management cluster and
//! the resolved scenario), what was run, the verdict, the tables per fleet size (the
//! checklist's, the bill of materials'), and every chart (inlined as SVG in the HTML, so
//! the file has no external reference and can be mailed or attached to a design review as
//! it is). The HTML fits any window from a phone's up (charts scale, wide tables scroll in
//! their own box) and prints with each heading kept with what it heads.

use std::fmt::Write as _;
use std::path::Path;
use std::time::SystemTime;

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
        "alerts-heatmap",
        "The guide's alerts: replicas in which each fired",
    ),
    (
        "controller-cpu",
        "Busiest controller pod's CPU over its limit",
    ),
    (
        "controller-memory",
        "Fullest controller pod's memory over its limit",
    ),
    (
        "control-plane-cpu",
        "Busiest control-plane node's CPU (API servers, stacked etcd)",
    ),
    (
        "workers-cpu",
        "Busiest worker node's CPU (the managers' pods)",
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
    (
        "federation-heartbeat-p99",
        "Federation hub: member heartbeat p99",
    ),
    (
        "federation-distribution-p99",
        "Federation hub: resource distribution latency p99",
    ),
    (
        "federation-etcd-writes",
        "Federation hub: etcd writes per second at peak",
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

/// A Markdown table as an HTML table in a box of its own that scrolls sideways when the
/// table is wider than the page. Each column keeps its Markdown alignment: right-aligned
/// columns are numbers, kept on one line.
fn html_table(md_table: &str) -> String {
    let mut lines = md_table.lines();
    let row = |l: &str| -> Vec<String> {
        l.trim()
            .trim_matches('|')
            .split(" | ")
            .map(|c| c.trim().replace("\\|", "|"))
            .collect()
    };
    let head = row(lines.next().unwrap_or(""));
    let classes: Vec<&str> = lines
        .next()
        .unwrap_or("")
        .trim_matches('|')
        .split('|')
        .map(|a| if a.ends_with(':') { "num" } else { "text" })
        .collect();
    let class = |i: usize| classes.get(i).copied().unwrap_or("text");
    let mut html = String::from("<div class=\"table-scroll\"><table>\n<thead><tr>");
    for (i, h) in head.iter().enumerate() {
        let _ = write!(html, "<th class=\"{}\">{}</th>", class(i), cell_html(h));
    }
    html.push_str("</tr></thead>\n<tbody>\n");
    for line in lines {
        html.push_str("<tr>");
        for (i, c) in row(line).iter().enumerate() {
            // A long text is given room, not squeezed to a word per line.
            let long = if c.chars().count() > 20 { " long" } else { "" };
            let _ = write!(
                html,
                "<td class=\"{}{long}\">{}</td>",
                class(i),
                cell_html(c)
            );
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</tbody></table></div>\n");
    html
}

/// Text for HTML, escaped, with a number and its unit held together ("95 %", "194 GiB").
fn cell_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut after_digit = false;
    while let Some(c) = chars.next() {
        let unit_follows = chars
            .peek()
            .is_some_and(|n| *n == '%' || n.is_ascii_alphabetic());
        if c == ' ' && after_digit && unit_follows {
            out.push('\u{a0}');
        } else {
            out.push(c);
        }
        after_digit = c.is_ascii_digit();
    }
    escape(&out)
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
    fenced_as("text", text)
}

/// `text` as a fenced code block of language `lang`.
fn fenced_as(lang: &str, text: &str) -> String {
    let fence = "`".repeat(longest_backtick_run(text).max(2) + 1);
    format!("{fence}{lang}\n{}\n{fence}", text.trim_end_matches('\n'))
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
        .replace('"', "&quot;")
}

/// `text` as Markdown prose that reads back verbatim: every character Markdown could take
/// for markup (emphasis, a link, a code span, HTML, a table cell, a heading) escaped.
fn md_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    if text.starts_with(['-', '+', '=']) {
        // Not a list item or a heading's underline.
        out.push('\\');
    }
    for c in text.chars() {
        if "\\`*_[]<>|~#&".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// What the report's header says: how the sweep was run. The version is this binary's
/// ([`crate::cli::VERSION`]).
pub struct Header {
    /// The command line, `capsim` first (as typed, but for `--resume`).
    pub command: String,
    /// Master seed.
    pub seed: u64,
    /// Replicas per fleet size [count].
    pub replicas: u64,
    /// The most replicas `--max-replicas` lets an undecided size grow to [count].
    pub max_replicas: u64,
    /// The management cluster, in words: the tier preset, the guide's tier per size, or
    /// the scenario file.
    pub cluster: String,
    /// The rest of what was run, in words: sizes, machines, overrides, simulated time.
    pub setup: String,
    /// What [`Header::scenario`] is, in words (e.g. "the first point, 2 clusters").
    pub scenario_of: String,
    /// The scenario of the first point, resolved, as `capsim run --scenario` reads it.
    pub scenario: String,
    /// When the report was written.
    pub written: SystemTime,
}

impl Header {
    fn replicas_text(&self) -> String {
        if self.max_replicas > self.replicas {
            format!(
                "{} per fleet size, up to {} where a size is undecided",
                self.replicas, self.max_replicas
            )
        } else {
            format!("{} per fleet size", self.replicas)
        }
    }

    fn scenario_caption(&self) -> String {
        format!(
            "Resolved scenario ({}), every knob written out",
            self.scenario_of
        )
    }

    /// The header in Markdown: user text in code spans and blocks, or escaped.
    fn markdown(&self) -> String {
        format!(
            "Made by capsim {}; written {}.\n\n\
             - Command: {}\n\
             - Seed: {}\n\
             - Replicas: {}\n\
             - Management cluster: {}\n\n\
             <details><summary>{}</summary>\n\n{}\n\n</details>\n\n",
            md_text(crate::cli::VERSION),
            utc_iso8601(self.written),
            code_span(&self.command),
            self.seed,
            self.replicas_text(),
            md_text(&self.cluster),
            escape(&self.scenario_caption()),
            fenced_as("yaml", &self.scenario),
        )
    }

    /// The header in HTML, every piece of text escaped.
    fn html(&self) -> String {
        let written = utc_iso8601(self.written);
        format!(
            "<header>\n<h1>capsim sweep report</h1>\n<dl class=\"meta\">\n\
             <dt>capsim</dt><dd>{}</dd>\n\
             <dt>Written</dt><dd><time datetime=\"{written}\">{written}</time></dd>\n\
             <dt>Command</dt><dd><code>{}</code></dd>\n\
             <dt>Seed</dt><dd>{}</dd>\n\
             <dt>Replicas</dt><dd>{}</dd>\n\
             <dt>Management cluster</dt><dd>{}</dd>\n\
             </dl>\n<details><summary>{}</summary><pre>{}</pre></details>\n</header>\n",
            escape(crate::cli::VERSION),
            escape(&self.command),
            self.seed,
            escape(&self.replicas_text()),
            escape(&self.cluster),
            escape(&self.scenario_caption()),
            escape(&self.scenario),
        )
    }
}

/// `t` in UTC as ISO 8601, to the second: `2025-06-01T12:34:56Z` (a time before 1970
/// reads as 1970-01-01T00:00:00Z).
fn utc_iso8601(t: SystemTime) -> String {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    utc_rfc3339(secs)
}

/// Seconds since the Unix epoch as an RFC 3339 UTC time, whole seconds.
pub(crate) fn utc_rfc3339(secs: u64) -> String {
    let (days, time) = (secs / 86_400, secs % 86_400);
    // Days since 1970-01-01 to a proleptic Gregorian date: Howard Hinnant's
    // civil_from_days (https://howardhinnant.github.io/date_algorithms.html), with years
    // counted from 0000-03-01 so that the leap day ends each 400-year era.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        time / 3_600,
        time % 3_600 / 60,
        time % 60
    )
}

/// The report's stylesheet: the page fits the window (charts scale with it, wide tables
/// scroll in their own box, nothing has a fixed width), numbers are right-aligned and kept
/// on one line, and on paper each heading stays with what it heads.
const STYLE: &str = "\
*,*::before,*::after{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;line-height:1.5;color:#222;background:#fff;max-width:72rem;margin:0 auto;padding:1rem clamp(0.75rem,3vw,2rem) 3rem;overflow-wrap:break-word}
h1{font-size:1.7rem;margin:0.5rem 0 0.75rem}
h2{font-size:1.35rem;margin:2rem 0 0.5rem;padding-bottom:0.2rem;border-bottom:1px solid #ddd}
h3{font-size:1.1rem;margin:1.5rem 0 0.5rem}
h1,h2,h3{break-after:avoid;page-break-after:avoid}
p{max-width:52rem}
.meta{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:0.2rem 1rem;margin:0 0 1rem}
.meta dt{font-weight:600;color:#555}
.meta dd{margin:0;min-width:0;overflow-wrap:anywhere}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:0.9em}
summary{cursor:pointer}
pre{background:#f6f6f6;padding:0.75rem;margin:0.5rem 0;overflow-x:auto;max-width:100%}
.table-scroll{overflow-x:auto;max-width:100%;margin:0.5rem 0 1rem}
table{border-collapse:collapse;font-variant-numeric:tabular-nums}
th,td{border:1px solid #ccc;padding:0.25rem 0.5rem;vertical-align:top}
th{background:#f3f3f3;vertical-align:bottom}
.num{text-align:right}
.text{text-align:left}
td.num{white-space:nowrap}
td.long{min-width:11rem}
figure{margin:0.5rem 0 1.5rem}
figure svg{display:block;width:100%;height:auto}
.chart,figure,table,tr,pre{break-inside:avoid;page-break-inside:avoid}
@media (max-width:40rem){.meta{grid-template-columns:minmax(0,1fr)}.meta dd{margin-bottom:0.4rem}}
@page{margin:15mm}
@media print{body{max-width:none;padding:0;font-size:10pt}.table-scroll{overflow:visible}table{font-size:8pt}th,td{padding:2px 4px}pre{white-space:pre-wrap;overflow-wrap:anywhere}h2{margin-top:1.2rem}}
";

/// A chart's SVG for inlining: no namespace declaration (inline SVG needs none, and it
/// would be the file's only URL), a `viewBox` so that it scales with the page (plotters
/// writes one; one is made from `width` and `height` if not), and its caption as its
/// accessible name.
fn inline_svg(svg: &str, caption: &str) -> String {
    let svg = svg.replace(" xmlns=\"http://www.w3.org/2000/svg\"", "");
    let Some(end) = svg.find('>').filter(|_| svg.starts_with("<svg")) else {
        return svg;
    };
    let (open, rest) = svg.split_at(end);
    let attr = |name: &str| {
        let start = open.find(&format!(" {name}=\""))? + name.len() + 3;
        let len = open[start..].find('"')?;
        open[start..start + len].parse::<f64>().ok()
    };
    let mut tag = open.to_string();
    if !open.contains(" viewBox=\"")
        && let (Some(w), Some(h)) = (attr("width"), attr("height"))
    {
        let _ = write!(tag, " viewBox=\"0 0 {w} {h}\"");
    }
    let _ = write!(tag, " role=\"img\" aria-label=\"{}\"", escape(caption));
    format!("{tag}{rest}")
}

/// Writes `report.md` and `report.html` into `dir`, next to `charts/`.
pub fn write(
    dir: &Path,
    header: &Header,
    verdict: &str,
    r: &SweepResult,
    charts: &[String],
) -> anyhow::Result<()> {
    // The setup and the command hold the user's paths and values: verbatim, in code blocks
    // and spans or escaped, so no character of theirs is read as Markdown or HTML.
    let mut md = format!(
        "# capsim sweep report\n\n{}## What was run\n\n{}\n\n## Verdict\n\n",
        header.markdown(),
        fenced(&header.setup),
    );
    for line in verdict.lines().filter(|l| !l.trim().is_empty()) {
        let _ = write!(md, "{}\n\n", md_text(line.trim()));
    }
    md.push_str("## Per fleet size\n\n");
    md.push_str(&tables_md(r));
    md.push_str("Full figures per size: `summary.csv`, `summary.json`; per replica: `replicas.csv`.\n\n## Charts\n\n");
    for (name, caption) in CHARTS {
        for file in chart_files(charts, name) {
            let _ = writeln!(md, "### {caption}\n\n![{caption}](charts/{file}.svg)\n");
        }
    }
    let mut html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>capsim sweep report</title>\n<style>\n{STYLE}</style></head><body>\n{}",
        header.html()
    );
    let _ = writeln!(
        html,
        "<h2>What was run</h2>\n<p>{}</p>\n<h2>Verdict</h2>",
        cell_html(&header.setup).replace('\n', "<br>\n")
    );
    for line in verdict.lines().filter(|l| !l.trim().is_empty()) {
        let _ = writeln!(html, "<p>{}</p>", cell_html(line.trim()));
    }
    html.push_str("<h2>Per fleet size</h2>\n");
    for g in r.points.chunk_by(|a, b| a.knobs == b.knobs) {
        let label = sweep::knobs_label(&g[0].knobs);
        if !label.is_empty() {
            let _ = writeln!(html, "<h3>With {}</h3>", escape(&label));
        }
        html.push_str(&html_table(&table_md(g, r.rule.confidence)));
        let _ = writeln!(html, "<p>{}</p>", cell_html(BOM_CAPTION.trim_end()));
        html.push_str(&html_table(&bom_md(g)));
    }
    html.push_str(
        "<p>Full figures per size: <code>summary.csv</code>, <code>summary.json</code>; \
         per replica: <code>replicas.csv</code>.</p>\n<h2>Charts</h2>\n",
    );
    for (name, caption) in CHARTS {
        for file in chart_files(charts, name) {
            let path = dir.join("charts").join(format!("{file}.svg"));
            if let Ok(svg) = std::fs::read_to_string(&path) {
                let _ = write!(
                    html,
                    "<section class=\"chart\"><h3>{}</h3>\n<figure>{}</figure></section>\n",
                    escape(caption),
                    inline_svg(&svg, caption)
                );
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
        assert_eq!(
            md_text("- a *b* [c](d) <e> f_g | #h"),
            "\\- a \\*b\\* \\[c\\](d) \\<e\\> f\\_g \\| \\#h"
        );
    }

    fn header(command: &str, scenario: &str) -> Header {
        Header {
            command: command.into(),
            seed: 7,
            replicas: 3,
            max_replicas: 12,
            cluster: "the management cluster of scenario /tmp/<x>.yaml".into(),
            setup: "Fleet sizes 2,3".into(),
            scenario_of: "the first point, 2 clusters".into(),
            scenario: scenario.into(),
            written: SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_709_251_199),
        }
    }

    /// Issue 15: the header names the version, the time written, the command, seed,
    /// replicas and cluster, and holds the resolved scenario; the user's text is escaped.
    #[test]
    fn header_shows_how_the_sweep_ran_with_user_text_escaped() {
        let h = header(
            "capsim sweep --scenario '<b>&.yaml'",
            "name: \"</pre><script>\"\n",
        );
        let html = h.html();
        for shown in [
            crate::cli::VERSION,
            "<time datetime=\"2024-02-29T23:59:59Z\">2024-02-29T23:59:59Z</time>",
            "<code>capsim sweep --scenario '&lt;b&gt;&amp;.yaml'</code>",
            "<dd>7</dd>",
            "3 per fleet size, up to 12 where a size is undecided",
            "scenario /tmp/&lt;x&gt;.yaml",
            "<details><summary>Resolved scenario (the first point, 2 clusters)",
            "<pre>name: &quot;&lt;/pre&gt;&lt;script&gt;&quot;\n</pre></details>",
        ] {
            assert!(html.contains(shown), "{shown} in\n{html}");
        }
        assert!(
            !html.contains("<b>") && !html.contains("<script>"),
            "{html}"
        );
        let md = h.markdown();
        assert!(md.starts_with("Made by capsim "), "{md}");
        assert!(
            md.contains("- Command: ` capsim sweep --scenario '<b>&.yaml' `"),
            "{md}"
        );
        assert!(
            md.contains("\n```yaml\nname: \"</pre><script>\"\n```\n"),
            "{md}"
        );
    }

    #[test]
    fn dates_are_utc_iso_8601_to_the_second() {
        let at = |s: u64| utc_iso8601(SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(s));
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(at(1_709_251_199), "2024-02-29T23:59:59Z");
        assert_eq!(at(4_102_444_800), "2100-01-01T00:00:00Z");
    }

    #[test]
    fn numbers_keep_their_units_and_columns_their_alignment() {
        assert_eq!(
            cell_html("95 % at 3 clusters"),
            "95\u{a0}% at 3\u{a0}clusters"
        );
        assert_eq!(cell_html("a < b"), "a &lt; b");
        let html = html_table("| n | name |\n|---:|---|\n| 100 % | x \\| y |\n");
        assert!(
            html.contains("<th class=\"num\">n</th><th class=\"text\">name</th>"),
            "{html}"
        );
        assert!(
            html.contains("<td class=\"num\">100\u{a0}%</td><td class=\"text\">x | y</td>"),
            "{html}"
        );
        assert!(html.starts_with("<div class=\"table-scroll\">"), "{html}");
    }

    #[test]
    fn an_inlined_chart_scales_by_its_view_box() {
        let plotters = "<svg width=\"900\" height=\"540\" viewBox=\"0 0 900 540\" xmlns=\"http://www.w3.org/2000/svg\">\n</svg>";
        assert_eq!(
            inline_svg(plotters, "A & B"),
            "<svg width=\"900\" height=\"540\" viewBox=\"0 0 900 540\" role=\"img\" aria-label=\"A &amp; B\">\n</svg>"
        );
        let sized = "<svg width=\"640\" height=\"480\">\n</svg>";
        assert!(
            inline_svg(sized, "c")
                .starts_with("<svg width=\"640\" height=\"480\" viewBox=\"0 0 640 480\" "),
            "{}",
            inline_svg(sized, "c")
        );
    }
}
