//! The terminal text of `capsim sweep`: the table per fleet size, the figure nearest its
//! threshold (headroom), the closing verdict of each value of the swept knobs, and the
//! breaking point of `--until-slo-violation`.

use std::fmt::Write as _;

use models::run::sweep::{self, PointSummary, SearchResult, SweepResult};
use models::scenario::config::Thresholds;
use sim_core::SimDuration;

use super::sweep_charts::{LineChart, line_charts};
use super::table::{Align, Table};
use super::{groups, management_clusters};

/// A duration in words, `-` when there is none.
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
    let for_item = models::run::relief::relieve_item(item);
    let for_bottleneck = models::run::relief::relieve(resource, at);
    match (for_item.is_empty(), for_bottleneck.is_empty()) {
        (false, false) => format!("{for_item}; for the bottleneck, {for_bottleneck}"),
        (false, true) => for_item,
        _ => for_bottleneck,
    }
}

/// The table of a sweep's points, one row per fleet size.
fn table(points: &[PointSummary]) -> String {
    let mut t = Table::new(&[
        ("clusters", Align::Right),
        ("mgmt", Align::Right),
        ("ready", Align::Right),
        ("fleet time p50", Align::Right),
        ("p95", Align::Right),
        ("P(checklist)", Align::Right),
        ("weakest item", Align::Left),
        ("bottleneck", Align::Left),
    ]);
    for p in points {
        let ft = p.figures.get("fleet_time_to_ready_s");
        let (w, wp) = weakest(p).map_or((String::new(), 1.0), |(k, v)| (k.clone(), v));
        t.row(vec![
            p.clusters.to_string(),
            management_clusters(p).to_string(),
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
    t.render()
}

/// The figure that comes closest to its checklist threshold (median over replicas, at any
/// size), in words; `None` when no thresholded figure was recorded.
fn headroom(points: &[PointSummary], th: &Thresholds) -> Option<String> {
    let mut best: Option<(f64, String)> = None;
    for LineChart(_, title, figure, y_label, scale, threshold) in line_charts(th) {
        let Some((t, label)) = threshold.filter(|(_, l)| l.starts_with("checklist")) else {
            continue;
        };
        for p in points {
            let Some(f) = p.figures.get(figure) else {
                continue;
            };
            let v = f.p50 * scale;
            let ratio = if t > 0.0 { v / t } else { 0.0 };
            if best.as_ref().is_none_or(|(r, _)| ratio > *r) {
                let unit = y_label
                    .rsplit_once('[')
                    .map_or("", |(_, u)| u.trim_end_matches(']'));
                best = Some((
                    ratio,
                    format!(
                        "{title}, {v:.3} {unit} at {} clusters ({label}; {:.0} % of the way)",
                        p.clusters,
                        ratio * 100.0
                    ),
                ));
            }
        }
    }
    best.map(|(_, s)| s)
}

/// The closing verdict of one group of points (one value of the swept knobs).
fn verdict(points: &[PointSummary], confidence: f64, th: &Thresholds) -> String {
    let passing = points
        .iter()
        .take_while(|p| p.checklist_pass_probability >= confidence)
        .last();
    let first_fail = points
        .iter()
        .find(|p| p.checklist_pass_probability < confidence);
    match (passing, first_fail) {
        (Some(p), None) => {
            // Everything passes: say which item came closest, and where.
            let closest = points
                .iter()
                .filter_map(|p| weakest(p).map(|(k, v)| (p, k, v)))
                .min_by(|a, b| a.2.total_cmp(&b.2));
            let mut out = format!(
                "Checklist passes at every size up to {} clusters (P ≥ {confidence}).",
                p.clusters
            );
            if let Some((at, item, prob)) = closest.filter(|c| c.2 < 1.0) {
                out.push_str(&format!(
                    " Closest to failing: {item} at {} clusters (passes in {:.0} % of replicas).",
                    at.clusters,
                    prob * 100.0
                ));
            }
            if let Some(h) = headroom(points, th) {
                out.push_str(&format!(" Nearest to its threshold: {h}."));
            }
            let last = points.last().expect("a passing point");
            out.push_str(&format!(
                " Bottleneck at {}: {} ({:.0} % of waiting).\n",
                last.clusters,
                last.bottleneck,
                last.bottleneck_share * 100.0
            ));
            out
        }
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
            format!(
                "{head} First to fail at {}: {item} (passes in {:.0} % of replicas). Bottleneck \
                 there: {} ({:.0} % of waiting).\nRelieve with: {}.\n",
                f.clusters,
                prob * 100.0,
                f.bottleneck,
                f.bottleneck_share * 100.0,
                relief_for(f, &item)
            )
        }
        (None, None) => "No point was run.\n".into(),
    }
}

/// What the terminal shows, and the verdict alone (for the reports).
pub struct Rendered {
    /// Tables and verdicts, per value of the swept knobs.
    pub text: String,
    /// The verdicts.
    pub verdict: String,
}

/// The terminal tables and the closing verdicts.
pub fn render(r: &SweepResult, confidence: f64, th: &Thresholds) -> Rendered {
    let (mut parts, mut verdicts) = (Vec::new(), String::new());
    for g in groups(&r.points) {
        let label = sweep::knobs_label(&g[0].knobs);
        let v = verdict(g, confidence, th);
        if label.is_empty() {
            parts.push(format!("{}\n{v}", table(g)));
            verdicts.push_str(&v);
        } else {
            parts.push(format!("With {label}:\n\n{}\n{v}", table(g)));
            verdicts.push_str(&format!("With {label}: {v}"));
        }
    }
    let text = parts.join("\n");
    Rendered {
        text,
        verdict: verdicts.trim_end().to_string(),
    }
}

/// The terminal text of `--until-slo-violation`: per search (one per value of the swept
/// knobs), the sizes evaluated and the breaking point, bracketed to `resolution`.
pub fn search_text(results: &[SearchResult], confidence: f64, resolution: u32) -> String {
    let p = confidence;
    let mut out = String::new();
    for result in results {
        let label = sweep::knobs_label(&result.knobs);
        if !label.is_empty() {
            let _ = writeln!(out, "With {label}:\n");
        }
        let mut points = result.evaluated.clone();
        points.sort_by_key(|p| p.clusters);
        let _ = writeln!(out, "{}", table(&points));
        let at = |c: u32| result.evaluated.iter().find(|x| x.clusters == c);
        match (result.passing, result.failing) {
            (Some(good), Some(bad)) => {
                let f = at(bad).expect("evaluated");
                let (item, prob) = weakest(f).map_or((String::new(), 0.0), |(k, v)| (k.clone(), v));
                let _ = writeln!(
                    out,
                    "Largest fleet passing the checklist with P ≥ {p}: {good} clusters (bracket \
                     {good}..{bad}, resolution {resolution}). At {bad}: {item} passes in {:.0} % of \
                     {} replicas. Bottleneck there: {} ({:.0} % of waiting).",
                    prob * 100.0,
                    f.replicas,
                    f.bottleneck,
                    f.bottleneck_share * 100.0
                );
                let _ = writeln!(out, "Relieve with: {}.", relief_for(f, &item));
            }
            (Some(good), None) => {
                let _ = writeln!(
                    out,
                    "The checklist passes with P ≥ {p} across the whole range, up to {good} \
                     clusters."
                );
            }
            (None, Some(bad)) => {
                let _ = writeln!(
                    out,
                    "The checklist fails already at {bad} clusters (P < {p})."
                );
            }
            (None, None) => {
                let _ = writeln!(out, "Nothing was evaluated.");
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::test_point as point;
    use models::scenario::presets::{self, Tier};

    #[test]
    fn headroom_names_the_figure_nearest_its_threshold_and_where() {
        let th = presets::resolve(Tier::Medium, &[]).unwrap().thresholds;
        // CPU at 40 % and 60 % of the limit (threshold 80 %): 75 % of the way at 200.
        // API p99 0.5 s of 1 s: 50 %. VM create 2 min of 5: 40 %.
        let points = [
            point(
                100,
                &[
                    ("controller_cpu_fraction_max", 0.4),
                    ("api_mutating_p99_s", 0.5),
                ],
            ),
            point(
                200,
                &[
                    ("controller_cpu_fraction_max", 0.6),
                    ("pc_vm_create_p95_s", 120.0),
                ],
            ),
        ];
        let h = headroom(&points, &th).unwrap();
        assert!(h.starts_with("Busiest controller pod's CPU"), "{h}");
        assert!(
            h.contains("at 200 clusters") && h.contains("75 % of the way"),
            "{h}"
        );
    }
}
