//! Which charts a sweep draws, and from which figures: every figure against the fleet
//! size with its checklist threshold (one line per value of the swept knobs), and per value
//! the waiting by resource (stacked bars) and the checklist's pass probability (heat map).
//! The drawing itself is in [`super::chart`].

use std::path::Path;

use anyhow::Context;
use models::run::sweep::{self, PointSummary, SweepResult};
use models::scenario::config::Thresholds;
use models::scenario::presets::Tier;

use super::chart::{self, BandPoint, ChartSpec, HeatSpec, Series, StackSpec};
use super::sweep_text::secs;
use super::{groups, management_clusters};

/// The fleet sizes of the first group where the number of management clusters or the
/// guide's tier changes, labelled with the new count or tier, for the charts.
fn split_marks(points: &[PointSummary]) -> Vec<(f64, String)> {
    let Some(first) = groups(points).into_iter().next() else {
        return Vec::new();
    };
    let tier = |p: &PointSummary| {
        p.figures
            .get("tier_rank")
            .and_then(|f| Tier::ALL.get((f.p50.round() as usize).checked_sub(1)?))
            .map(|t| t.name())
    };
    first
        .windows(2)
        .filter_map(|w| {
            let mut what = Vec::new();
            if let Some(t) = tier(&w[1]).filter(|_| tier(&w[0]) != tier(&w[1])) {
                what.push(format!("tier {t}"));
            }
            if management_clusters(&w[0]) != management_clusters(&w[1]) {
                what.push(format!("{} mgmt clusters", management_clusters(&w[1])));
            }
            (!what.is_empty()).then(|| {
                (
                    f64::from(w[1].clusters),
                    format!("{} from here ", what.join(", ")),
                )
            })
        })
        .collect()
}

/// `name` with the group's index appended when there are several groups.
fn group_name(name: &str, i: usize, n: usize) -> String {
    if n > 1 {
        format!("{name}-{}", i + 1)
    } else {
        name.to_string()
    }
}

/// A line chart: file name, title, figure, y label, scale, and the threshold on that
/// scale with its label.
pub struct LineChart(
    pub &'static str,
    pub &'static str,
    pub &'static str,
    pub String,
    pub f64,
    pub Option<(f64, String)>,
);

/// The line charts, with the configuration's thresholds. Long because it is a table:
/// one entry per chart, each with its threshold and label.
pub fn line_charts(th: &Thresholds) -> Vec<LineChart> {
    vec![
        LineChart(
            "fleet-time-to-ready",
            "Fleet time to ready",
            "fleet_time_to_ready_s",
            "time to ready [h]".into(),
            1.0 / 3600.0,
            None,
        ),
        LineChart(
            "api-mutating-p99",
            "API server: mutating request latency p99",
            "api_mutating_p99_s",
            "latency p99 [ms]".into(),
            1000.0,
            Some((
                th.api_mutating_p99.0 * 1000.0,
                format!("checklist: < {}", secs(th.api_mutating_p99.0)),
            )),
        ),
        LineChart(
            "etcd-size",
            "etcd database peak size over quota",
            "etcd_db_peak_fraction",
            "peak size / quota [%]".into(),
            100.0,
            Some((
                th.etcd_size_fraction * 100.0,
                format!(
                    "checklist: < {:.0} % of quota",
                    th.etcd_size_fraction * 100.0
                ),
            )),
        ),
        LineChart(
            "workqueue-depth",
            "Deepest workqueue the checklist watches",
            "workqueue_depth_max_watched",
            format!(
                "depth [items] ({})",
                th.workqueue_depth_controllers.join(", ")
            ),
            1.0,
            Some((
                th.workqueue_depth,
                format!(
                    "alert level: {} items (for {})",
                    th.workqueue_depth,
                    secs(th.workqueue_depth_for.0)
                ),
            )),
        ),
        LineChart(
            "workqueue-depth-other",
            "Deepest workqueue of the other controllers (not a checklist item)",
            "workqueue_depth_max_other",
            "depth [items]".into(),
            1.0,
            None,
        ),
        LineChart(
            "reconcile-p99",
            "Reconcile time p99 (the checklist's controllers)",
            "reconcile_p99_checklist_s",
            "reconcile p99 [s]".into(),
            1.0,
            Some((
                th.reconcile_p99.0,
                format!(
                    "checklist: < {} ({})",
                    secs(th.reconcile_p99.0),
                    th.reconcile_p99_controllers.join(", ")
                ),
            )),
        ),
        LineChart(
            "vm-create-p95",
            "Prism Central VM create p95",
            "pc_vm_create_p95_s",
            "VM create p95 [min]".into(),
            1.0 / 60.0,
            Some((
                th.vm_create_p95.0 / 60.0,
                format!("checklist: < {}", secs(th.vm_create_p95.0)),
            )),
        ),
        LineChart(
            "controller-cpu",
            "Busiest controller pod's CPU over its limit",
            "controller_cpu_fraction_max",
            "peak CPU / limit [%]".into(),
            100.0,
            Some((
                th.controller_cpu_fraction * 100.0,
                format!(
                    "checklist: < {:.0} % of limit",
                    th.controller_cpu_fraction * 100.0
                ),
            )),
        ),
        LineChart(
            "control-plane-cpu",
            "Busiest control-plane node's CPU (API servers, stacked etcd)",
            "node_cpu_peak_fraction_control_plane",
            "peak 15-s CPU use / vCPU [%]".into(),
            100.0,
            Some((100.0, "saturated: every core busy".into())),
        ),
        LineChart(
            "workers-cpu",
            "Busiest worker node's CPU (the managers' pods)",
            "node_cpu_peak_fraction_workers",
            "peak 15-s CPU use / vCPU [%]".into(),
            100.0,
            Some((100.0, "saturated: every core busy".into())),
        ),
        LineChart(
            "controller-memory",
            "Fullest controller pod's memory over its limit",
            "controller_memory_fraction_max",
            "peak memory / limit [%]".into(),
            100.0,
            Some((
                th.controller_memory_fraction * 100.0,
                format!(
                    "checklist: < {:.0} % of limit",
                    th.controller_memory_fraction * 100.0
                ),
            )),
        ),
        // The federation hub's, drawn only where a hub ran.
        LineChart(
            "federation-distribution-p99",
            "Federation hub: resource distribution latency p99",
            "federation_distribution_p99_s",
            "template created to applied on a member, p99 [s]".into(),
            1.0,
            Some((
                th.distribution_p99.0,
                format!("checklist: < {}", secs(th.distribution_p99.0)),
            )),
        ),
        LineChart(
            "federation-heartbeat-p99",
            "Federation hub: member heartbeat p99",
            "federation_heartbeat_p99_s",
            "heartbeat due to recorded, p99 [s]".into(),
            1.0,
            Some((
                th.heartbeat_p99.0,
                format!("checklist: < {}", secs(th.heartbeat_p99.0)),
            )),
        ),
        LineChart(
            "federation-etcd-writes",
            "Federation hub: etcd writes per second at peak",
            "federation_etcd_write_rate_peak",
            "writes/s (busiest 15 s)".into(),
            1.0,
            None,
        ),
    ]
}

/// The resources of the bottleneck attribution, in `figures_of`'s naming.
const WAIT_RESOURCES: [&str; 6] = [
    "rate-limiter",
    "workqueue",
    "controller-cpu",
    "apf-queue",
    "etcd",
    "prism-central",
];

/// The charts: every figure against the fleet size (one line per value of the swept
/// knobs), and per value the waiting by resource and the checklist heat map. Thresholds
/// are the configuration's own. Returns the names written.
pub fn write_charts(dir: &Path, r: &SweepResult, th: &Thresholds) -> anyhow::Result<Vec<String>> {
    let charts = dir.join("charts");
    std::fs::create_dir_all(&charts)
        .with_context(|| format!("{}: cannot create", charts.display()))?;
    let groups = groups(&r.points);
    let marks = split_marks(&r.points);
    let mut written = write_line_charts(&charts, &groups, &marks, th)?;
    written.extend(write_bom_charts(&charts, &groups, &marks)?);
    let n = groups.len();
    for (i, g) in groups.iter().enumerate() {
        let label = sweep::knobs_label(&g[0].knobs);
        let suffix = if label.is_empty() {
            String::new()
        } else {
            format!(" ({label})")
        };
        written.push(write_waiting(
            &charts,
            g,
            &group_name("waiting-by-resource", i, n),
            &suffix,
        )?);
        written.push(write_heatmap(
            &charts,
            g,
            &group_name("checklist-heatmap", i, n),
            &suffix,
        )?);
        if let Some(name) =
            write_alert_heatmap(&charts, g, &group_name("alerts-heatmap", i, n), &suffix)?
        {
            written.push(name);
        }
    }
    Ok(written)
}

/// Every line chart with data, into `charts`: one line per group, the fleet sizes where the
/// management clusters split marked. Returns the names written.
fn write_line_charts(
    charts: &Path,
    groups: &[&[PointSummary]],
    marks: &[(f64, String)],
    th: &Thresholds,
) -> anyhow::Result<Vec<String>> {
    let mut written = Vec::new();
    // Below 10 replicas a 5th or 95th percentile is an interpolation between the extreme
    // runs: the band is then their range, and says so.
    let replicas: Vec<u64> = groups
        .iter()
        .flat_map(|g| g.iter().map(|p| p.replicas))
        .collect();
    let fewest = replicas.iter().copied().min().unwrap_or(0);
    let as_range = fewest < 10;
    let band = match (as_range, replicas.iter().copied().max().unwrap_or(0)) {
        (false, _) => "p5–p95 across replicas".to_string(),
        (true, most) if most == fewest => format!("range of {fewest} runs"),
        (true, most) => format!("range of the runs ({fewest} to {most} per size)"),
    };
    let series = |figure: &str, scale: f64| -> Vec<Series> {
        groups
            .iter()
            .map(|g| Series {
                label: sweep::knobs_label(&g[0].knobs),
                points: g
                    .iter()
                    .filter_map(|p| {
                        let f = p.figures.get(figure)?;
                        let (low, high) = if as_range {
                            (f.min, f.max)
                        } else {
                            (f.p5, f.p95)
                        };
                        Some(BandPoint {
                            x: f64::from(p.clusters),
                            low: low * scale,
                            p50: f.p50 * scale,
                            high: high * scale,
                        })
                    })
                    .collect(),
            })
            .filter(|s| !s.points.is_empty())
            .collect()
    };
    let sizes: Vec<f64> = groups
        .iter()
        .flat_map(|g| g.iter().map(|p| f64::from(p.clusters)))
        .collect();
    for LineChart(name, title, figure, y_label, scale, threshold) in line_charts(th) {
        let series = series(figure, scale);
        // Where a fleet was not ready in some replicas, its time to ready is unknown
        // there: a cross where those runs stopped.
        let not_ready: Vec<(f64, f64, String)> = if figure == "fleet_time_to_ready_s" {
            groups
                .iter()
                .flat_map(|g| g.iter())
                .filter_map(|p| {
                    let stopped = p.figures.get("stopped_not_ready_s")?;
                    let ready = p.ready_replicas();
                    Some((
                        f64::from(p.clusters),
                        stopped.p50 * scale,
                        format!(
                            "{}/{} not ready, stopped at {} ",
                            p.replicas - ready,
                            p.replicas,
                            secs(stopped.p50)
                        ),
                    ))
                })
                .collect()
        } else {
            Vec::new()
        };
        if !series.is_empty() || !not_ready.is_empty() {
            written.push(name.to_string());
            chart::write(
                charts,
                &ChartSpec {
                    name,
                    title,
                    y_label: &y_label,
                    series: &series,
                    threshold,
                    marks,
                    band: &band,
                    sizes: &sizes,
                    not_ready: &not_ready,
                },
            )?;
        }
    }
    Ok(written)
}

/// The bill of materials' charts: vCPU and memory against the fleet size, provisioned
/// beside needed at peak (medians over replicas, with their range), one pair of lines per
/// value of the swept knobs. Returns the names written.
fn write_bom_charts(
    charts: &Path,
    groups: &[&[PointSummary]],
    marks: &[(f64, String)],
) -> anyhow::Result<Vec<String>> {
    let sizes: Vec<f64> = groups
        .iter()
        .flat_map(|g| g.iter().map(|p| f64::from(p.clusters)))
        .collect();
    let mut written = Vec::new();
    for (name, title, what, y_label, scale) in [
        (
            "bom-vcpu",
            "Bill of materials: vCPU, provisioned and needed at peak",
            "vcpu",
            "vCPU",
            1.0,
        ),
        (
            "bom-memory",
            "Bill of materials: memory, provisioned and needed at peak",
            "memory_bytes",
            "memory [GiB]",
            1.0 / (1u64 << 30) as f64,
        ),
    ] {
        let mut series = Vec::new();
        for g in groups {
            let knobs = sweep::knobs_label(&g[0].knobs);
            for which in ["provisioned", "needed"] {
                let figure = format!("bom_{which}_{what}");
                let label = match (which, knobs.is_empty()) {
                    ("provisioned", true) => "provisioned (tier's data)".to_string(),
                    (_, true) => "needed at peak, with the headroom".to_string(),
                    (_, false) => format!("{which}, {knobs}"),
                };
                let points: Vec<BandPoint> = g
                    .iter()
                    .filter_map(|p| {
                        let f = p.figures.get(&figure)?;
                        Some(BandPoint {
                            x: f64::from(p.clusters),
                            low: f.min * scale,
                            p50: f.p50 * scale,
                            high: f.max * scale,
                        })
                    })
                    .collect();
                if !points.is_empty() {
                    series.push(Series { label, points });
                }
            }
        }
        if series.is_empty() {
            continue;
        }
        chart::write(
            charts,
            &ChartSpec {
                name,
                title,
                y_label,
                series: &series,
                threshold: None,
                marks,
                band: "range of the runs",
                sizes: &sizes,
                not_ready: &[],
            },
        )?;
        written.push(name.to_string());
    }
    Ok(written)
}

/// One group's mean waiting per machine by resource, as stacked bars named `name`; returns
/// the name.
fn write_waiting(
    charts: &Path,
    g: &[PointSummary],
    name: &str,
    suffix: &str,
) -> anyhow::Result<String> {
    let categories: Vec<String> = WAIT_RESOURCES.iter().map(|s| s.to_string()).collect();
    let bars: Vec<(f64, Vec<f64>)> = g
        .iter()
        .map(|p| {
            let v = WAIT_RESOURCES
                .iter()
                .map(|res| {
                    let key = format!("wait_per_machine_{}_s", res.replace('-', "_"));
                    p.figures.get(&key).map_or(0.0, |f| f.mean / 60.0)
                })
                .collect();
            (f64::from(p.clusters), v)
        })
        .collect();
    chart::write_stack(
        charts,
        &StackSpec {
            name,
            title: &format!("Waiting per machine by resource, mean of replicas{suffix}"),
            y_label: "waiting per machine [min]",
            categories: &categories,
            bars: &bars,
            marks: &split_marks(g),
        },
    )?;
    Ok(name.to_string())
}

/// One group's checklist passes, k of n replicas per item and fleet size, as a heat map
/// named `name` coloured by the pass fraction; returns the name.
fn write_heatmap(
    charts: &Path,
    g: &[PointSummary],
    name: &str,
    suffix: &str,
) -> anyhow::Result<String> {
    // The checklist's own order, not the names' alphabetical one.
    let mut rows: Vec<String> = g[0].pass_probability.keys().cloned().collect();
    let rank = |n: &String| {
        models::run::report::CHECKLIST_ORDER
            .iter()
            .position(|o| o == n)
            .unwrap_or(usize::MAX)
    };
    rows.sort_by_key(|n| (rank(n), n.clone()));
    let cells: Vec<Vec<f64>> = rows
        .iter()
        .map(|item| g.iter().map(|p| p.pass_probability[item]).collect())
        .collect();
    let labels: Vec<Vec<String>> = rows
        .iter()
        .map(|item| {
            g.iter()
                .map(|p| format!("{}/{}", p.passes[item], p.replicas))
                .collect()
        })
        .collect();
    let columns: Vec<u32> = g.iter().map(|p| p.clusters).collect();
    chart::write_heat(
        charts,
        &HeatSpec {
            name,
            title: &format!("Checklist: replicas passed, by item and fleet size{suffix}"),
            rows: &rows,
            columns: &columns,
            cells: &cells,
            labels: &labels,
        },
    )?;
    Ok(name.to_string())
}

/// The rows of the alert heat map: per alert (`alert_fired_<name>`), the fraction of each
/// size's replicas in which it fired, and its label.
fn alert_rows(g: &[PointSummary]) -> Vec<(String, Vec<f64>, Vec<String>)> {
    let names: Vec<String> = g[0]
        .figures
        .keys()
        .filter_map(|k| k.strip_prefix("alert_fired_").map(str::to_string))
        .collect();
    names
        .into_iter()
        .map(|name| {
            let fired: Vec<f64> = g
                .iter()
                .map(|p| {
                    p.figures
                        .get(&format!("alert_fired_{name}"))
                        .map_or(f64::NAN, |f| f.mean)
                })
                .collect();
            let labels = fired
                .iter()
                .zip(g)
                .map(|(f, p)| format!("{:.0}/{}", f * p.replicas as f64, p.replicas))
                .collect();
            (name, fired, labels)
        })
        .collect()
}

/// One group's alerts as a heat map named `name`: alert × fleet size, each cell the
/// replicas in which the alert fired (k/n), green where it stayed silent in all, red where
/// it fired in all. `None` when the sweep has no alert figures.
fn write_alert_heatmap(
    charts: &Path,
    g: &[PointSummary],
    name: &str,
    suffix: &str,
) -> anyhow::Result<Option<String>> {
    let rows = alert_rows(g);
    if rows.is_empty() {
        return Ok(None);
    }
    let columns: Vec<u32> = g.iter().map(|p| p.clusters).collect();
    let (names, cells, labels): (Vec<String>, Vec<Vec<f64>>, Vec<Vec<String>>) = rows
        .into_iter()
        .map(|(n, fired, l)| (n, fired.iter().map(|f| 1.0 - f).collect(), l))
        .fold(
            (Vec::new(), Vec::new(), Vec::new()),
            |mut acc, (n, c, l)| {
                acc.0.push(n);
                acc.1.push(c);
                acc.2.push(l);
                acc
            },
        );
    chart::write_heat(
        charts,
        &HeatSpec {
            name,
            title: &format!("Alerts: replicas in which each fired, by fleet size{suffix}"),
            rows: &names,
            columns: &columns,
            cells: &cells,
            labels: &labels,
        },
    )?;
    Ok(Some(name.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::test_point as point;

    #[test]
    fn the_alert_heat_map_counts_the_replicas_each_alert_fired_in() {
        // Issue 14, item 5: the probability an alert fires, per size, as k of n.
        let mut a = point(100, &[("alert_fired_CAPIWorkQueueBacklog", 0.0)]);
        let mut b = point(200, &[("alert_fired_CAPIWorkQueueBacklog", 0.6)]);
        a.replicas = 5;
        b.replicas = 5;
        let rows = alert_rows(&[a, b]);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].0, "CAPIWorkQueueBacklog");
        assert_eq!(rows[0].1, vec![0.0, 0.6]);
        assert_eq!(rows[0].2, vec!["0/5".to_string(), "3/5".to_string()]);
    }

    #[test]
    fn split_marks_fall_where_the_management_cluster_count_changes() {
        let points: Vec<PointSummary> = [(500, 1.0), (600, 1.0), (700, 2.0), (1300, 3.0)]
            .iter()
            .map(|&(c, m)| point(c, &[("management_clusters", m)]))
            .collect();
        let marks = split_marks(&points);
        let at: Vec<f64> = marks.iter().map(|m| m.0).collect();
        assert_eq!(at, vec![700.0, 1300.0]);
        assert!(marks[1].1.starts_with("3 mgmt clusters"));
    }

    #[test]
    fn split_marks_fall_where_the_tier_changes_too() {
        // Issue 14: medium (2) to large (3) at 200, large to xl (4) with a split at 700.
        let points: Vec<PointSummary> = [(100, 2.0, 1.0), (200, 3.0, 1.0), (700, 4.0, 2.0)]
            .iter()
            .map(|&(c, t, m)| point(c, &[("tier_rank", t), ("management_clusters", m)]))
            .collect();
        let marks = split_marks(&points);
        assert_eq!(marks.len(), 2);
        assert_eq!(marks[0], (200.0, "tier large from here ".to_string()));
        assert_eq!(
            marks[1],
            (700.0, "tier xl, 2 mgmt clusters from here ".to_string())
        );
    }
}
