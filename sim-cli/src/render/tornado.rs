//! A tornado chart: one row per knob, a bar for the change one step down and one for the
//! change one step up, largest effect on top.

use std::path::{Path, PathBuf};

use anyhow::anyhow;
use plotters::prelude::*;

use super::chart::{AXIS, LABEL, PALETTE, TITLE, write_both};

/// What the chart shows.
pub struct TornadoSpec<'a> {
    /// File name without extension.
    pub name: &'a str,
    /// Title.
    pub title: &'a str,
    /// X axis label, with its unit.
    pub x_label: &'a str,
    /// Per knob, top first: its label, the change one step down and one step up (NaN
    /// where that step was left out).
    pub rows: &'a [(String, f64, f64)],
}

fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, plotters::coord::Shift>,
    spec: &TornadoSpec,
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("drawing {}: {e:?}", spec.name);
    root.fill(&WHITE).map_err(err)?;
    let reach = spec
        .rows
        .iter()
        .flat_map(|r| [r.1, r.2])
        .filter(|v| v.is_finite())
        .fold(0.0, |m: f64, v| m.max(v.abs()));
    let reach = if reach > 0.0 { reach * 1.1 } else { 1.0 };
    let n = spec.rows.len().max(1) as f64;
    let labels: Vec<String> = spec.rows.iter().map(|r| r.0.clone()).collect();
    let mut chart = ChartBuilder::on(&root)
        .caption(spec.title, ("sans-serif", TITLE))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(super::chart::label_width(&labels))
        .build_cartesian_2d(-reach..reach, 0.0..n)
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(spec.rows.len().max(1) * 2 + 1)
        .y_label_formatter(&|y| {
            // Row i spans [n − i − 1, n − i); its label sits at its middle.
            let i = n - y - 0.5;
            if (i - i.round()).abs() < 1e-6 && i >= 0.0 {
                labels.get(i.round() as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .x_label_formatter(&|x| super::chart::tick(*x))
        .x_desc(spec.x_label)
        .label_style(("sans-serif", LABEL))
        .axis_desc_style(("sans-serif", AXIS))
        .draw()
        .map_err(err)?;
    for (k, (side, colour)) in [("one step down", PALETTE[0]), ("one step up", PALETTE[1])]
        .into_iter()
        .enumerate()
    {
        let bars = spec.rows.iter().enumerate().filter_map(move |(i, r)| {
            let v = if k == 0 { r.1 } else { r.2 };
            let top = n - i as f64;
            let (y0, y1) = if k == 0 {
                (top - 0.5, top - 0.15)
            } else {
                (top - 0.85, top - 0.5)
            };
            v.is_finite()
                .then(|| Rectangle::new([(0.0, y0), (v, y1)], colour.filled()))
        });
        chart
            .draw_series(bars)
            .map_err(err)?
            .label(side)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 20, y + 5)], colour.filled()));
    }
    chart
        .draw_series(LineSeries::new(
            [(0.0, 0.0), (0.0, n)],
            BLACK.stroke_width(1),
        ))
        .map_err(err)?;
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font(("sans-serif", LABEL))
        .draw()
        .map_err(err)?;
    root.present().map_err(err)?;
    Ok(())
}

/// Writes the chart as `<dir>/<name>.png` and `.svg`.
pub fn write(dir: &Path, spec: &TornadoSpec) -> anyhow::Result<Vec<PathBuf>> {
    write_both(dir, spec.name, |a| draw(a, spec))
}
