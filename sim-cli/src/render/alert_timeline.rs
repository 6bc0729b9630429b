//! The alerts of one run over simulated time: one row per rule of the guide's
//! PrometheusRule, a bar for each span it fired, coloured by severity.

use std::path::{Path, PathBuf};

use anyhow::anyhow;
use models::run::report::AlertReport;
use plotters::prelude::*;

use super::chart::{AXIS, LABEL, TITLE, write_both};

/// The colour of a severity: critical red, warning amber, anything else blue.
fn colour(severity: &str) -> RGBColor {
    match severity {
        "critical" => RGBColor(215, 48, 39),
        "warning" => RGBColor(244, 165, 50),
        _ => RGBColor(69, 117, 180),
    }
}

/// Each alert's spans in hours, a span still firing drawn to `end_s`.
pub fn spans(alerts: &[AlertReport], end_s: f64) -> Vec<Vec<(f64, f64)>> {
    alerts
        .iter()
        .map(|a| {
            a.fired
                .iter()
                .map(|f| (f.from_s / 3600.0, f.to_s.unwrap_or(end_s) / 3600.0))
                .collect()
        })
        .collect()
}

fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, plotters::coord::Shift>,
    alerts: &[AlertReport],
    end_s: f64,
    title: &str,
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("drawing alerts-timeline: {e:?}");
    root.fill(&WHITE).map_err(err)?;
    let n = alerts.len().max(1) as f64;
    let end_h = (end_s / 3600.0).max(1.0 / 60.0);
    let labels: Vec<String> = alerts
        .iter()
        .map(|a| match &a.cannot_fire {
            Some(_) => format!("{} (cannot fire)", a.name),
            None => a.name.clone(),
        })
        .collect();
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", TITLE))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(330)
        .build_cartesian_2d(0.0..end_h, 0.0..n)
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(alerts.len().max(1) * 2 + 1)
        .y_label_formatter(&|y| {
            let i = n - y - 0.5;
            if (i - i.round()).abs() < 1e-6 && i >= 0.0 {
                labels.get(i.round() as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .x_desc("simulated time [h]; each bar a span the alert fired: critical red, warning amber, info blue")
        .label_style(("sans-serif", LABEL))
        .axis_desc_style(("sans-serif", AXIS))
        .draw()
        .map_err(err)?;
    let all = spans(alerts, end_s);
    for (i, (a, s)) in alerts.iter().zip(&all).enumerate() {
        let top = n - i as f64;
        let c = colour(&a.severity);
        chart
            .draw_series(
                s.iter().map(|&(x0, x1)| {
                    Rectangle::new([(x0, top - 0.8), (x1, top - 0.2)], c.filled())
                }),
            )
            .map_err(err)?;
    }
    root.present().map_err(err)?;
    Ok(())
}

/// Writes `<dir>/alerts-timeline.png` and `.svg`.
pub fn write(
    dir: &Path,
    alerts: &[AlertReport],
    end_s: f64,
    title: &str,
) -> anyhow::Result<Vec<PathBuf>> {
    write_both(dir, "alerts-timeline", |a| draw(a, alerts, end_s, title))
}

#[cfg(test)]
mod tests {
    use super::*;
    use models::run::report::FiredSpan;

    #[test]
    fn a_span_still_firing_is_drawn_to_the_end_of_the_run() {
        let a = AlertReport {
            name: "CAPIWorkQueueBacklog".into(),
            severity: "warning".into(),
            fired: vec![
                FiredSpan {
                    from_s: 1800.0,
                    to_s: Some(3600.0),
                },
                FiredSpan {
                    from_s: 7200.0,
                    to_s: None,
                },
            ],
            firing_s: 5400.0,
            first_fired_s: Some(1800.0),
            cannot_fire: None,
        };
        assert_eq!(spans(&[a], 10_800.0), vec![vec![(0.5, 1.0), (2.0, 3.0)]]);
    }
}
