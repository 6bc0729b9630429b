//! The terminal text of `capsim sweep`: the table per fleet size, the figure nearest its
//! threshold (headroom), the closing verdict of each value of the swept knobs, and the
//! breaking point of `--until-slo-violation`.

use std::fmt::Write as _;

use models::run::search::SearchResult;
use models::run::sensitivity;
use models::run::sweep::{self, PointSummary, Sampling, SweepResult};
use models::scenario::Calibration;
use models::scenario::config::Thresholds;
use models::scenario::uncertainty::Estimates;
use sim_core::SimDuration;
use sim_core::stats::binomial::{PassRule, Verdict};

use super::sweep_charts::{LineChart, line_charts};
use super::table::{Align, Table};
use super::{groups, management_clusters};

/// A duration in words, `-` when there is none.
pub fn secs(s: f64) -> String {
    if s.is_nan() {
        "-".into()
    } else {
        SimDuration::from_secs_f64(s).to_string()
    }
}

/// The checklist item that passed in the fewest replicas at a point, and its passes.
pub fn weakest(p: &PointSummary) -> Option<(&String, u64)> {
    p.passes.iter().map(|(k, v)| (k, *v)).min_by_key(|x| x.1)
}

/// `k/n`: passes of replicas.
fn of(k: u64, n: u64) -> String {
    format!("{k}/{n}")
}

/// A lower bound on a pass rate, to two decimals, rounded down: shown, it never claims
/// more than the replicas support (0.9499 is "0.94", not "0.95").
pub fn rate_low(v: f64) -> String {
    format!("{:.2}", (v * 100.0).floor() / 100.0)
}

/// An upper bound on a pass rate, to two decimals, rounded up.
fn rate_high(v: f64) -> String {
    format!("{:.2}", (v * 100.0).ceil() / 100.0)
}

/// A fraction as a percentage for the text: 0.95 → `95`, 0.995 → `99.5`.
pub fn percent(v: f64) -> String {
    format!("{}", (v * 1000.0).round() / 10.0)
}

/// What a rule asks, in words: `pass rate ≥ 0.95 at 95 % confidence`.
fn claim(rule: &PassRule) -> String {
    format!(
        "pass rate ≥ {} at {} % confidence",
        rule.pass_rate,
        percent(rule.confidence)
    )
}

/// The failing item that causes the others ([`models::run::relief::ROOT_CAUSES`]), if
/// one failed at the point, with the replicas it passed in.
fn root_cause(p: &PointSummary) -> Option<(&String, u64)> {
    models::run::relief::ROOT_CAUSES
        .iter()
        .find_map(|prefix| {
            p.passes
                .iter()
                .find(|(name, k)| name.starts_with(prefix) && **k < p.replicas)
        })
        .map(|(name, k)| (name, *k))
}

/// What relieves the failing item and the point's bottleneck; when an item that causes
/// the others failed (etcd full, a manager OOM-killed), what relieves that alone: raising
/// a client's QPS does not help a cluster whose etcd refuses writes.
fn relief_for(p: &PointSummary, item: &str) -> String {
    if let Some((root, k)) = root_cause(p) {
        let relief = etcd_relief(p, root);
        return if root == item {
            relief
        } else {
            format!(
                "{relief} (the root cause: {root} passed in only {k}/{} replicas, and the other \
                 failures follow from it)",
                p.replicas
            )
        };
    }
    let (resource, at) = p.bottleneck.split_once(", ").unwrap_or((&p.bottleneck, ""));
    let for_item = models::run::relief::relieve_item(item);
    if item.starts_with("Federation:") {
        // The bottleneck is the management clusters'; the hub's item has its own remedy.
        return for_item;
    }
    let for_bottleneck = models::run::relief::relieve(resource, at);
    match (for_item.is_empty(), for_bottleneck.is_empty()) {
        (false, false) => format!("{for_item}; for the bottleneck, {for_bottleneck}"),
        (false, true) => for_item,
        _ => for_bottleneck,
    }
}

/// What relieves a failing etcd item: the federation hub's etcd when it is the fuller
/// one (its figures say so), else the management clusters'.
fn etcd_relief(p: &PointSummary, item: &str) -> String {
    let fraction = |name: &str| p.figures.get(name).map_or(0.0, |f| f.p50);
    let hub = fraction("federation_etcd_db_peak_fraction");
    let etcd_item = item.starts_with("etcd database size") || item.starts_with("No etcd alarms");
    if etcd_item && hub > 0.0 && hub >= fraction("etcd_db_peak_fraction") {
        "raise federation.control-plane.etcd-quota-backend-bytes (the federation hub's etcd is \
         the fuller: its agents' Leases and its members' Cluster statuses), or lower its write \
         rate (federation.karmada-agent.leader-elect, federation.status-change-fraction)"
            .into()
    } else {
        models::run::relief::relieve_item(item)
    }
}

/// How a verdict introduces the point's bottleneck: the management clusters' waiting
/// says nothing of a failing federation hub item.
fn bottleneck_label(item: &str, plain: &'static str) -> &'static str {
    if item.starts_with("Federation:") {
        "The management clusters' own bottleneck (not the hub's):"
    } else {
        plain
    }
}

/// Why replicas at a point ended with their fleet not ready, or `""` if all got ready.
fn not_ready_why(p: &PointSummary) -> String {
    let ready = p.ready_replicas();
    if ready == p.replicas {
        return String::new();
    }
    let stopped = p
        .figures
        .get("stopped_not_ready_s")
        .map_or("-".into(), |f| secs(f.p50));
    let why = if p.figures.contains_key("etcd_nospace_at_s") {
        "30 min after etcd's NOSPACE alarm"
    } else {
        "at the simulated-time limit (--max-time)"
    };
    format!(
        " {}/{} replicas ended with the fleet not ready: stopped {why}, at {stopped} (median).",
        p.replicas - ready,
        p.replicas
    )
}

/// The table of a sweep's points, one row per fleet size: the checklist as k/n replicas
/// and the lower bound those show on its pass rate at `confidence`.
fn table(points: &[PointSummary], confidence: f64) -> String {
    let bound = format!("P ≥ ({} %)", percent(confidence));
    let mut t = Table::new(&[
        ("clusters", Align::Right),
        ("mgmt", Align::Right),
        ("ready", Align::Right),
        ("fleet time p50", Align::Right),
        ("p95", Align::Right),
        ("checklist", Align::Right),
        (&bound, Align::Right),
        ("verdict", Align::Left),
        ("weakest item", Align::Left),
        ("bottleneck", Align::Left),
    ]);
    for p in points {
        let ft = p.figures.get("fleet_time_to_ready_s");
        let ready = p.ready_replicas();
        t.row(vec![
            p.clusters.to_string(),
            management_clusters(p).to_string(),
            of(ready, p.replicas),
            ft.map_or("-".into(), |s| secs(s.p50)),
            ft.map_or("-".into(), |s| secs(s.p95)),
            of(p.checklist_passes, p.replicas),
            rate_low(p.checklist_pass_lower_bound),
            p.verdict.as_str().into(),
            match weakest(p) {
                Some((w, k)) if k < p.replicas => format!("{w} ({})", of(k, p.replicas)),
                _ => "-".into(),
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

/// Sizes with their passes: `600 (2/3), 700 (3/3)`, or a range when every size passed
/// in all its replicas, the first six otherwise.
fn sizes_with_passes(points: &[&PointSummary]) -> String {
    let (Some(first), Some(last)) = (points.first(), points.last()) else {
        return String::new();
    };
    if points.iter().all(|p| p.checklist_passes == p.replicas) {
        let n: Vec<u64> = points.iter().map(|p| p.replicas).collect();
        let each = if n.iter().all(|&x| x == n[0]) {
            format!("{} each", of(n[0], n[0]))
        } else {
            "every replica".into()
        };
        return if points.len() == 1 {
            format!("{} ({each})", first.clusters)
        } else {
            format!("{}..{} ({each})", first.clusters, last.clusters)
        };
    }
    let mut list: Vec<String> = points
        .iter()
        .take(6)
        .map(|p| format!("{} ({})", p.clusters, of(p.checklist_passes, p.replicas)))
        .collect();
    if points.len() > 6 {
        list.push(format!("… {} more", points.len() - 6));
    }
    list.join(", ")
}

/// How to decide what the replicas left `undecided`: where every replica passed, the
/// replicas the doubling schedule needs to show the rate; where some failed, more.
fn how_to_decide(rule: &PassRule, sampling: &Sampling, undecided: &[&PointSummary]) -> String {
    if undecided.iter().all(|p| p.checklist_passes == p.replicas) {
        let max =
            Sampling::enough_to_show(sampling.replicas, rule.pass_rate, rule.confidence, 1000);
        let once = PassRule { looks: 1, ..*rule }.replicas_to_show();
        format!(
            "to decide, --max-replicas {max} adds replicas only where a size is undecided \
             (or --replicas {once} everywhere), or ask less with --pass-rate"
        )
    } else {
        format!(
            "to decide, add replicas where a size is undecided (e.g. --max-replicas {}), \
             or ask less with --pass-rate",
            (sampling.max_replicas * 4).min(1000)
        )
    }
}

/// The closing verdict of one group of points (one value of the swept knobs).
fn verdict(points: &[PointSummary], r: &SweepResult, th: &Thresholds) -> String {
    let rule = &r.rule;
    let Some(last) = points.last() else {
        return "No point was run.\n".into();
    };
    let mut out = String::new();
    let shown = points
        .iter()
        .take_while(|p| p.verdict == Verdict::Passes)
        .count();
    match shown {
        0 => {}
        n if n == points.len() => out.push_str(&format!(
            "Checklist shown to pass at every size up to {} clusters ({}).",
            last.clusters,
            claim(rule)
        )),
        n => out.push_str(&format!(
            "Checklist shown to pass up to {} clusters ({}).",
            points[n - 1].clusters,
            claim(rule)
        )),
    }
    let rest = &points[shown..];
    let refuted = rest.iter().position(|p| p.verdict == Verdict::Fails);
    let undecided: Vec<&PointSummary> = rest[..refuted.unwrap_or(rest.len())]
        .iter()
        .filter(|p| p.verdict == Verdict::Undecided)
        .collect();
    if !undecided.is_empty() {
        let sep = if out.is_empty() { "" } else { " " };
        let lowest = undecided
            .iter()
            .map(|p| p.checklist_pass_lower_bound)
            .fold(f64::INFINITY, f64::min);
        out.push_str(&format!(
            "{sep}Undecided at {}: too few replicas to show a {}, or to refute it (lower \
             bounds from {}); {}.",
            sizes_with_passes(&undecided),
            claim(rule),
            rate_low(lowest),
            how_to_decide(rule, &r.sampling, &undecided)
        ));
    }
    if let Some(i) = refuted {
        let f = &rest[i];
        out.push_str(&format!(
            "{}Fails at {} clusters: {} replicas passed, so its pass rate is below {} at {} % \
             confidence (upper bound {}).",
            if out.is_empty() { "" } else { " " },
            f.clusters,
            of(f.checklist_passes, f.replicas),
            rule.pass_rate,
            percent(rule.confidence),
            rate_high(f.checklist_pass_upper_bound)
        ));
    }
    // Where a replica first failed: the item, the bottleneck, and what relieves them.
    match points.iter().find(|p| p.checklist_passes < p.replicas) {
        Some(f) => {
            let (item, k) = root_cause(f)
                .or(weakest(f))
                .map_or((String::new(), 0), |(k, v)| (k.clone(), v));
            out.push_str(&format!(
                " First to fail at {}: {item} (passed in {} replicas). {} {} \
                 ({:.0} % of waiting).{}\nRelieve with: {}.\n",
                f.clusters,
                of(k, f.replicas),
                bottleneck_label(&item, "Bottleneck there:"),
                f.bottleneck,
                f.bottleneck_share * 100.0,
                not_ready_why(f),
                relief_for(f, &item)
            ));
        }
        None => {
            out.push_str(" No replica failed an item.");
            if let Some(h) = headroom(points, th) {
                out.push_str(&format!(" Nearest to its threshold: {h}."));
            }
            out.push_str(&format!(
                " Bottleneck at {}: {} ({:.0} % of waiting).\n",
                last.clusters,
                last.bottleneck,
                last.bottleneck_share * 100.0
            ));
        }
    }
    out
}

/// What the terminal shows, and the verdict alone (for the reports).
pub struct Rendered {
    /// Tables and verdicts, per value of the swept knobs.
    pub text: String,
    /// The verdicts.
    pub verdict: String,
}

/// The terminal tables and the closing verdicts.
pub fn render(r: &SweepResult, th: &Thresholds, calibration: Option<&Calibration>) -> Rendered {
    let (mut parts, mut verdicts) = (Vec::new(), String::new());
    let confidence = r.rule.confidence;
    for g in groups(&r.points) {
        let label = sweep::knobs_label(&g[0].knobs);
        let v = verdict(g, r, th);
        let bom = format!(
            "Bill of materials per fleet size (median of replicas; each figure provisioned, \
             then needed at peak with the checklist's headroom):\n{}",
            super::bom::sweep_table(g)
        );
        if label.is_empty() {
            parts.push(format!("{}\n{bom}\n{v}", table(g, confidence)));
            verdicts.push_str(&v);
        } else {
            parts.push(format!(
                "With {label}:\n\n{}\n{bom}\n{v}",
                table(g, confidence)
            ));
            verdicts.push_str(&format!("With {label}: {v}"));
        }
    }
    let estimates = match calibration {
        Some(c) => format!(
            "{}{}",
            calibration_note(r, c),
            // The calibrated knobs hold their fitted values, not the defaults.
            estimates_note(r).replace("at their defaults", "at their scenario's values")
        ),
        None => estimates_note(r),
    };
    verdicts = format!("{}\n{estimates}", verdicts.trim_end());
    let text = format!("{}\n{estimates}", parts.join("\n").trim_end());
    Rendered {
        text,
        verdict: verdicts.trim_end().to_string(),
    }
}

/// Which knobs a calibration fitted, and whether the pass rates drew them from its
/// intervals.
fn calibration_note(r: &SweepResult, c: &Calibration) -> String {
    let knobs: Vec<&str> = c.ranges.0.iter().map(|e| e.path.as_str()).collect();
    let drawn = if r.estimates_drawn() > 0 {
        "; --uncertainty draws them from those ranges instead of the built-in ones"
    } else {
        ""
    };
    format!(
        "Calibrated: these verdicts use {} knobs with ranges from {}: {}{drawn}.\n",
        knobs.len(),
        c.from,
        knobs.join(", ")
    )
}

/// What the verdicts rest on besides the replicas: the estimated ([I]) knobs, held at
/// their defaults, or drawn from their ranges with the ones that mattered most.
fn estimates_note(r: &SweepResult) -> String {
    let varied = Estimates::builtin().varied().count();
    let n = r.estimates_drawn();
    if n == 0 {
        return format!(
            "These verdicts hold the {varied} estimated ([I]) knobs at their defaults; \
             --uncertainty draws each from its plausible range \
             (models/presets/uncertainty.yaml), so that pass rates include them.\n"
        );
    }
    let mut out = format!(
        "Pass rates include the uncertainty of {n} estimated ([I]) knobs, each drawn per \
         replica from its plausible range (Latin hypercube; models/presets/uncertainty.yaml)."
    );
    match &sensitivity::of_sweep(r) {
        None => out.push_str(&format!(
            " Which of them matter is ranked at a size with {n_min} replicas or more; give \
             --replicas {n_min}.",
            n_min = sensitivity::MIN_REPLICAS
        )),
        Some(s) => {
            let strong: Vec<String> = s
                .effects
                .iter()
                .filter(|e| e.rho.abs() > s.noise)
                .take(5)
                .map(|e| format!("{} (ρ {:+.2})", e.knob, e.rho))
                .collect();
            let label = sweep::knobs_label(&s.knobs);
            let at = if label.is_empty() {
                format!("{} clusters", s.clusters)
            } else {
                format!("{} clusters with {label}", s.clusters)
            };
            out.push_str(&format!(
                " Nearest its threshold at {at} (worst checklist margin p50 {:.2} of its \
                 threshold, {} replicas), ",
                s.margin_p50, s.replicas
            ));
            if strong.is_empty() {
                out.push_str(&format!(
                    "no estimate's rank correlation with the margin stands out of noise \
                     (|ρ| ≤ {:.2}).",
                    s.noise
                ));
            } else {
                out.push_str(&format!(
                    "the margin moves most with {} (Spearman's ρ; positive: a larger value \
                     moves towards failing; |ρ| above {:.2} stands out of noise across all \
                     the estimates at 95 %).",
                    strong.join(", "),
                    s.noise
                ));
            }
        }
    }
    out.push('\n');
    out
}

/// The terminal text of `--until-slo-violation`: per search (one per value of the swept
/// knobs), the sizes evaluated and the breaking point, bracketed to `resolution`.
pub fn search_text(results: &[SearchResult], resolution: u32) -> String {
    let mut out = String::new();
    for result in results {
        let rule = &result.rule;
        let label = sweep::knobs_label(&result.knobs);
        if !label.is_empty() {
            let _ = writeln!(out, "With {label}:\n");
        }
        let mut points = result.evaluated.clone();
        points.sort_by_key(|p| p.clusters);
        let _ = writeln!(out, "{}", table(&points, rule.confidence));
        let at = |c: u32| result.evaluated.iter().find(|x| x.clusters == c);
        let good = result.passing.and_then(at);
        let bad = result.not_passing.and_then(at);
        match (good, bad) {
            (Some(g), Some(b)) => {
                let _ = writeln!(
                    out,
                    "Largest fleet shown to pass the checklist ({}): {} clusters, {} replicas \
                     passed (bracket {}..{}, resolution {resolution}). {}",
                    claim(rule),
                    g.clusters,
                    of(g.checklist_passes, g.replicas),
                    g.clusters,
                    b.clusters,
                    not_passing(b, rule)
                );
            }
            (Some(g), None) => {
                let _ = writeln!(
                    out,
                    "The checklist is shown to pass across the whole range ({}), up to {} \
                     clusters ({} replicas passed).",
                    claim(rule),
                    g.clusters,
                    of(g.checklist_passes, g.replicas)
                );
            }
            (None, Some(b)) => {
                let _ = writeln!(
                    out,
                    "No size of the range is shown to pass the checklist ({}). {}",
                    claim(rule),
                    not_passing(b, rule)
                );
            }
            _ => {
                let _ = writeln!(out, "Nothing was evaluated.");
            }
        }
        out.push('\n');
    }
    out
}

/// Why a searched size is not shown to pass, and what failed there.
fn not_passing(b: &PointSummary, rule: &PassRule) -> String {
    let mut out = match b.verdict {
        Verdict::Fails => format!(
            "At {}: {} replicas passed, a pass rate below {} (upper bound {}).",
            b.clusters,
            of(b.checklist_passes, b.replicas),
            rule.pass_rate,
            rate_high(b.checklist_pass_upper_bound)
        ),
        _ if b.checklist_passes < b.replicas => format!(
            "At {}: {} replicas passed; with a replica failing it is not shown to pass (lower \
             bound {}), so the search went below it.",
            b.clusters,
            of(b.checklist_passes, b.replicas),
            rate_low(b.checklist_pass_lower_bound)
        ),
        _ => format!(
            "At {}: {} replicas passed, undecided at the most replicas allowed (lower bound \
             {}); showing {} there takes {} replicas that all pass: raise --max-replicas, or \
             ask less with --pass-rate.",
            b.clusters,
            of(b.checklist_passes, b.replicas),
            rate_low(b.checklist_pass_lower_bound),
            rule.pass_rate,
            rule.replicas_to_show()
        ),
    };
    if b.checklist_passes < b.replicas {
        let (item, k) = root_cause(b)
            .or(weakest(b))
            .map_or((String::new(), 0), |(k, v)| (k.clone(), v));
        out.push_str(&format!(
            " First to fail there: {item} (passed in {} replicas). {} {} ({:.0} % of \
             waiting).{}\nRelieve with: {}.",
            of(k, b.replicas),
            bottleneck_label(&item, "Bottleneck:"),
            b.bottleneck,
            b.bottleneck_share * 100.0,
            not_ready_why(b),
            relief_for(b, &item)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_rounded_so_they_never_claim_more() {
        assert_eq!(rate_low(0.9499), "0.94");
        assert_eq!(rate_high(0.7761), "0.78");
        assert_eq!(rate_low(0.368), "0.36");
        assert_eq!(percent(0.9), "90");
        assert_eq!(percent(0.995), "99.5");
    }
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
