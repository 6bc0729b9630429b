//! `capsim calibrate`'s charts: a fit's QQ plot, and a measured series against capsim's.

use std::path::{Path, PathBuf};

use anyhow::anyhow;
use models::calibrate::Fit;
use plotters::coord::ranged1d::ValueFormatter;
use plotters::prelude::*;

use super::chart::{AXIS, LABEL, PALETTE, TITLE, tick, write_both};

/// The axes, their descriptions and tick labels, in the sweep charts' fonts.
fn mesh<DB: DrawingBackend, X, Y>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<X, Y>>,
    x_desc: &str,
    y_desc: &str,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>>
where
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .x_label_formatter(&|x| tick(*x))
        .y_label_formatter(&|y| tick(*y))
        .label_style(("sans-serif", LABEL))
        .axis_desc_style(("sans-serif", AXIS))
        .draw()
}

/// The series' legend at `at`.
fn legend<'a, DB: DrawingBackend + 'a, X: Ranged, Y: Ranged>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    at: SeriesLabelPosition,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    chart
        .configure_series_labels()
        .position(at)
        .label_font(("sans-serif", LABEL))
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
}

/// A fit's QQ plot: each datum against the fitted lognormal's quantile at its plotting
/// position, on log scales, with the diagonal a perfect fit would follow.
pub fn write_qq(dir: &Path, name: &str, title: &str, fit: &Fit) -> anyhow::Result<Vec<PathBuf>> {
    let pts = fit.qq();
    let lo = pts
        .iter()
        .map(|p| p.0.min(p.1))
        .fold(f64::INFINITY, f64::min)
        .max(1e-3);
    let hi = pts.iter().map(|p| p.0.max(p.1)).fold(lo * 1.01, f64::max);
    let range = (lo / 1.1)..(hi * 1.1);
    let caption = format!("{title}: n={}, KS D={:.3}", fit.n, fit.ks);
    write_both(dir, name, |root| {
        let e = |e: DrawingAreaErrorKind<_>| anyhow!("drawing {name}: {e:?}");
        root.fill(&WHITE).map_err(e)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(caption, ("sans-serif", TITLE))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(72)
            .build_cartesian_2d(range.clone().log_scale(), range.clone().log_scale())
            .map_err(e)?;
        mesh(&mut chart, "fitted lognormal's quantile [s]", "data [s]").map_err(e)?;
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(range.start, range.start), (range.end, range.end)],
                RGBColor(140, 140, 140).stroke_width(2),
            )))
            .map_err(e)?
            .label("a perfect fit")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RGBColor(140, 140, 140)));
        chart
            .draw_series(
                pts.iter()
                    .map(|&(x, y)| Circle::new((x, y), 3, PALETTE[0].filled())),
            )
            .map_err(e)?
            .label("data")
            .legend(|(x, y)| Circle::new((x + 10, y), 3, PALETTE[0].filled()));
        legend(&mut chart, SeriesLabelPosition::UpperLeft).map_err(e)?;
        root.present().map_err(e)?;
        Ok(())
    })
}

/// A measured series and capsim's over the same time [min since the workload began].
pub fn write_series(
    dir: &Path,
    name: &str,
    title: &str,
    y_label: &str,
    measured: &[(f64, f64)],
    capsim: &[(f64, f64)],
) -> anyhow::Result<Vec<PathBuf>> {
    let all = || measured.iter().chain(capsim);
    let x_hi = all().map(|p| p.0).fold(1.0, f64::max);
    let x_lo = all().map(|p| p.0).fold(x_hi, f64::min).min(0.0);
    let y_hi = all().map(|p| p.1).fold(0.0, f64::max).max(1e-9) * 1.08;
    write_both(dir, name, |root| {
        let e = |e: DrawingAreaErrorKind<_>| anyhow!("drawing {name}: {e:?}");
        root.fill(&WHITE).map_err(e)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", TITLE))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(72)
            .build_cartesian_2d(x_lo..x_hi, 0.0..y_hi)
            .map_err(e)?;
        mesh(&mut chart, "time since the workload began [min]", y_label).map_err(e)?;
        // The measured samples as points, capsim's as a line: both stay visible where
        // they agree.
        let (m, c) = (PALETTE[0], PALETTE[1]);
        chart
            .draw_series(LineSeries::new(capsim.iter().copied(), c.stroke_width(2)))
            .map_err(e)?
            .label("capsim")
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
        chart
            .draw_series(measured.iter().map(|&p| Circle::new(p, 3, m.filled())))
            .map_err(e)?
            .label("measured")
            .legend(move |(x, y)| Circle::new((x + 10, y), 3, m.filled()));
        // The legend in the upper corner the series leave empty: left if they are higher
        // late than early.
        let mid = (x_lo + x_hi) / 2.0;
        let top = |early: bool| {
            all()
                .filter(|p| (p.0 < mid) == early)
                .map(|p| p.1)
                .fold(0.0, f64::max)
        };
        let at = if top(false) > top(true) {
            SeriesLabelPosition::UpperLeft
        } else {
            SeriesLabelPosition::UpperRight
        };
        legend(&mut chart, at).map_err(e)?;
        root.present().map_err(e)?;
        Ok(())
    })
}
