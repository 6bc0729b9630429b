//! Everything capsim renders for people to read: terminal tables and verdicts, CSV and
//! JSON files, charts and the sweep reports. The commands in `cmd/` compute, then call in
//! here to present.
//!
//! - [`table`]: the generic plain-text table;
//! - [`bom`]: the bill of materials of a run and of a sweep;
//! - [`run_report`]: the terminal report of `capsim run`, with [`federation`]'s section
//!   when there is a hub;
//! - [`sweep_text`]: the terminal tables, headroom and verdicts of `capsim sweep`;
//! - [`sweep_charts`]: which charts a sweep draws, from which figures;
//! - [`chart`]: drawing the charts (PNG and SVG);
//! - [`export`]: a sweep's CSV and JSON files;
//! - [`report`]: a sweep's `report.md` and `report.html`;
//! - [`tornado`]: `capsim sensitivity`'s tornado chart.
//! - [`calibration`]: `capsim calibrate`'s QQ and series charts.

pub mod alert_timeline;
pub mod bom;
pub mod calibration;
pub mod chart;
pub mod export;
pub mod federation;
pub mod report;
pub mod run_report;
pub mod sweep_charts;
pub mod sweep_text;
pub mod table;
pub mod tornado;

use models::run::sweep::PointSummary;

/// The points of each value of the swept knobs, in order (one group when none is swept).
fn groups(points: &[PointSummary]) -> Vec<&[PointSummary]> {
    points.chunk_by(|a, b| a.knobs == b.knobs).collect()
}

/// Management clusters a point's fleet ran on (the median over replicas; 1 if absent).
fn management_clusters(p: &PointSummary) -> u32 {
    p.figures
        .get("management_clusters")
        .map_or(1, |f| f.p50.round() as u32)
}

/// A sweep point for the tests: one replica, every figure's statistics equal to its value,
/// one checklist item that passes.
#[cfg(test)]
fn test_point(clusters: u32, figures: &[(&str, f64)]) -> PointSummary {
    use models::run::sweep::{FigureSummary, Knobs};
    let fig = |v: f64| FigureSummary {
        mean: v,
        p5: v,
        p50: v,
        p95: v,
        ci95_low: None,
        ci95_high: None,
        min: v,
        max: v,
    };
    PointSummary {
        clusters,
        knobs: Knobs::new(),
        replicas: 1,
        ready_probability: 1.0,
        figures: figures
            .iter()
            .map(|(k, v)| (k.to_string(), fig(*v)))
            .collect(),
        passes: [("No OOM kills".to_string(), 1)].into_iter().collect(),
        pass_probability: [("No OOM kills".to_string(), 1.0)].into_iter().collect(),
        pass_lower_bound: [("No OOM kills".to_string(), 0.05)].into_iter().collect(),
        checklist_passes: 1,
        checklist_pass_probability: 1.0,
        checklist_pass_lower_bound: 0.05,
        checklist_pass_upper_bound: 1.0,
        verdict: sim_core::stats::binomial::Verdict::Undecided,
        bottleneck: "prism-central, task slots".into(),
        bottleneck_frequency: 1.0,
        bottleneck_share: 0.5,
    }
}
