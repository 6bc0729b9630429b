//! Charts of a sweep, as PNG and SVG, readable on a bare machine: the font (Noto Sans) is
//! embedded in the binary, so no system font package is needed.
//!
//! Each chart plots one figure against the fleet size: the median across replicas as a
//! line, the p5–p95 band around it, the checklist threshold as a dashed line, and the
//! first fleet size whose median crosses it, marked.

use std::path::{Path, PathBuf};
use std::sync::Once;

use anyhow::{Context, anyhow};
use plotters::prelude::*;
use plotters::style::FontStyle;
use plotters::style::text_anchor::{HPos, Pos, VPos};

static FONT: Once = Once::new();

fn register_font() {
    FONT.call_once(|| {
        plotters::style::register_font("sans-serif", FontStyle::Normal, ttf_noto_sans::REGULAR)
            .map_err(|_| ())
            .expect("the embedded Noto Sans font is valid");
    });
}

/// One point of a chart: the fleet size and the figure's p5, median and p95.
#[derive(Clone, Copy, Debug)]
pub struct BandPoint {
    /// Fleet size [clusters].
    pub x: f64,
    /// 5th percentile across replicas.
    pub p5: f64,
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
}

/// What to draw.
pub struct ChartSpec<'a> {
    /// File name without extension.
    pub name: &'a str,
    /// Title.
    pub title: &'a str,
    /// Y axis label, with its unit.
    pub y_label: &'a str,
    /// The points, smallest fleet first.
    pub points: &'a [BandPoint],
    /// The checklist threshold on the same scale, with its label.
    pub threshold: Option<(f64, &'a str)>,
}

const SIZE: (u32, u32) = (900, 540);

fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, plotters::coord::Shift>,
    spec: &ChartSpec,
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("drawing {}: {e:?}", spec.name);
    root.fill(&WHITE).map_err(err)?;
    let pts = spec.points;
    let x_min = pts.first().map_or(0.0, |p| p.x);
    let x_max = pts.last().map_or(1.0, |p| p.x).max(x_min + 1.0);
    let mut y_max = pts.iter().map(|p| p.p95.max(p.p50)).fold(0.0, f64::max);
    if let Some((t, _)) = spec.threshold {
        y_max = y_max.max(t);
    }
    let y_max = if y_max > 0.0 { y_max * 1.1 } else { 1.0 };
    let mut chart = ChartBuilder::on(&root)
        .caption(spec.title, ("sans-serif", 24))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(72)
        .build_cartesian_2d(x_min..x_max, 0.0..y_max)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("fleet size [workload clusters]")
        .y_desc(spec.y_label)
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 16))
        .draw()
        .map_err(err)?;
    let band: Vec<(f64, f64)> = pts
        .iter()
        .map(|p| (p.x, p.p95))
        .chain(pts.iter().rev().map(|p| (p.x, p.p5)))
        .collect();
    chart
        .draw_series(std::iter::once(Polygon::new(band, BLUE.mix(0.18))))
        .map_err(err)?
        .label("p5–p95 across replicas")
        .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 20, y + 5)], BLUE.mix(0.18).filled()));
    chart
        .draw_series(LineSeries::new(
            pts.iter().map(|p| (p.x, p.p50)),
            BLUE.stroke_width(2),
        ))
        .map_err(err)?
        .label("median")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE.stroke_width(2)));
    chart
        .draw_series(
            pts.iter()
                .map(|p| Circle::new((p.x, p.p50), 3, BLUE.filled())),
        )
        .map_err(err)?;
    if let Some((t, label)) = spec.threshold {
        let dashes = (0..60).map(|i| {
            let a = x_min + (x_max - x_min) * f64::from(i) / 60.0;
            let b = x_min + (x_max - x_min) * (f64::from(i) + 0.5) / 60.0;
            PathElement::new(vec![(a, t), (b, t)], RED.stroke_width(2))
        });
        chart
            .draw_series(dashes)
            .map_err(err)?
            .label(label)
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED.stroke_width(2)));
        if let Some(p) = pts.iter().find(|p| p.p50 > t) {
            chart
                .draw_series(std::iter::once(Circle::new(
                    (p.x, p.p50),
                    8,
                    RED.stroke_width(3),
                )))
                .map_err(err)?;
            chart
                .draw_series(std::iter::once(Text::new(
                    format!("crosses at {}", p.x),
                    (p.x, p.p50),
                    // Anchored at its right end, so a crossing at the last size stays
                    // inside the plot.
                    ("sans-serif", 16)
                        .into_font()
                        .color(&RED)
                        .pos(Pos::new(HPos::Right, VPos::Bottom)),
                )))
                .map_err(err)?;
        }
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)?;
    Ok(())
}

/// Writes `<dir>/<name>.png` and `<dir>/<name>.svg` (each through a temporary file).
pub fn write(dir: &Path, spec: &ChartSpec) -> anyhow::Result<Vec<PathBuf>> {
    register_font();
    let png = dir.join(format!("{}.png", spec.name));
    let svg = dir.join(format!("{}.svg", spec.name));
    let png_tmp = dir.join(format!("{}.partial.png", spec.name));
    let svg_tmp = dir.join(format!("{}.partial.svg", spec.name));
    draw(BitMapBackend::new(&png_tmp, SIZE).into_drawing_area(), spec)?;
    draw(SVGBackend::new(&svg_tmp, SIZE).into_drawing_area(), spec)?;
    for (tmp, out) in [(&png_tmp, &png), (&svg_tmp, &svg)] {
        std::fs::rename(tmp, out).with_context(|| format!("{}: cannot write", out.display()))?;
    }
    Ok(vec![png, svg])
}
