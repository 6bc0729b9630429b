//! Charts of a sweep, as PNG and SVG, readable on a bare machine: the font (Noto Sans) is
//! embedded in the binary, so no system font package is needed. Each chart is drawn once,
//! as SVG (900×540 units); the PNG is that SVG rendered at twice the size (1800×1080), for
//! slides.
//!
//! Three kinds:
//! - a figure against the fleet size: the median across replicas as a line, the p5–p95
//!   band around it (the range of the runs, with fewer than 10), the checklist threshold as a dashed line, and the first fleet size
//!   whose median crosses it, marked; one line (and band) per value of a swept knob;
//! - stacked bars: the mean waiting per machine by resource at each fleet size;
//! - a heat map: the checklist's pass probability, item by fleet size.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Once, OnceLock};

use anyhow::{Context, anyhow};
use plotters::coord::types::RangedCoordf64;
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

/// One point of a chart: the fleet size, the figure's median, and the band around it.
#[derive(Clone, Copy, Debug)]
pub struct BandPoint {
    /// Fleet size [clusters].
    pub x: f64,
    /// The band's lower end: the 5th percentile across replicas, or the smallest run's
    /// value (see [`ChartSpec::band`]).
    pub low: f64,
    /// Median.
    pub p50: f64,
    /// The band's upper end.
    pub high: f64,
}

/// One line of a chart: a value of the swept knobs (empty label: nothing swept).
pub struct Series {
    /// Legend label; empty when there is one series.
    pub label: String,
    /// The points, smallest fleet first.
    pub points: Vec<BandPoint>,
}

/// What to draw.
pub struct ChartSpec<'a> {
    /// File name without extension.
    pub name: &'a str,
    /// Title.
    pub title: &'a str,
    /// Y axis label, with its unit.
    pub y_label: &'a str,
    /// The lines.
    pub series: &'a [Series],
    /// The checklist threshold on the same scale, with its label.
    pub threshold: Option<(f64, String)>,
    /// Fleet sizes where the layout changes (e.g. one more management cluster), with a
    /// label: drawn as grey vertical lines.
    pub marks: &'a [(f64, String)],
    /// What the band is, for the legend: "p5–p95 across replicas", or "range of 3 runs"
    /// where too few replicas make percentiles an interpolation.
    pub band: &'a str,
    /// Every fleet size of the sweep: the x axis spans them all, drawn or not.
    pub sizes: &'a [f64],
    /// Sizes where replicas ended without the figure (a fleet not ready): (size, where
    /// they stopped on the y scale, label), drawn as red crosses with their label.
    pub not_ready: &'a [(f64, f64, String)],
}

/// Line colours, one per series (Okabe–Ito, readable by colour-blind viewers).
pub(crate) const PALETTE: [RGBColor; 7] = [
    RGBColor(0, 114, 178),
    RGBColor(230, 159, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(86, 180, 233),
    RGBColor(213, 94, 0),
    RGBColor(0, 0, 0),
];

const SIZE: (u32, u32) = (900, 540);

/// Text sizes in SVG units (the PNG doubles them): for a slide seen across a room.
pub(crate) const TITLE: u32 = 26;
/// Axis descriptions.
pub(crate) const AXIS: u32 = 18;
/// Tick labels and legends.
pub(crate) const LABEL: u32 = 16;
/// Notes on the plot (marks, cell labels).
pub(crate) const NOTE: u32 = 14;

/// A tick label to its precision: at most two decimals, trailing zeros dropped
/// (`16000`, `0.5`, `2.25`), never `16000.0`.
pub(crate) fn tick(v: f64) -> String {
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.to_string() }
}

/// The x axis over the fleet sizes `xs`: from the smallest to the largest, widened around
/// a single size (a tenth of it each side, at least 1) so the axis never collapses, with
/// a 3 % margin otherwise.
fn x_range(xs: impl Iterator<Item = f64> + Clone) -> (f64, f64) {
    let lo = xs.clone().fold(f64::INFINITY, f64::min);
    let hi = xs.fold(f64::NEG_INFINITY, f64::max);
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if hi - lo < 1.0 {
        let pad = (lo * 0.1).max(1.0);
        return ((lo - pad).max(0.0), hi + pad);
    }
    // A margin so the first and last points are not cut by the axes.
    let pad = (hi - lo) * 0.03;
    ((lo - pad).max(0.0), hi + pad)
}

/// A chart over (fleet size, value), both as `f64`.
type Chart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// The common frame of the line and bar charts: title, fleet size along x with whole
/// labels, `y_label` up the side.
fn framed<'a, DB: DrawingBackend>(
    root: &'a DrawingArea<DB, plotters::coord::Shift>,
    title: &str,
    x: std::ops::Range<f64>,
    y: std::ops::Range<f64>,
    y_label: &str,
) -> Result<Chart<'a, DB>, DrawingAreaErrorKind<DB::ErrorType>> {
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", TITLE))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(72)
        .build_cartesian_2d(x, y)?;
    chart
        .configure_mesh()
        .x_desc("fleet size [workload clusters]")
        .y_desc(y_label)
        // Fleet sizes are whole: a tick between two (2.5 on an axis from 2 to 3) has no label.
        .x_label_formatter(&|x| {
            if (x - x.round()).abs() < 1e-6 {
                format!("{x:.0}")
            } else {
                String::new()
            }
        })
        .y_label_formatter(&|y| tick(*y))
        .label_style(("sans-serif", LABEL))
        .axis_desc_style(("sans-serif", AXIS))
        .draw()?;
    Ok(chart)
}

/// Grey dashed vertical lines at the fleet sizes where the layout changes, each labelled
/// left of its line (so a mark at the last size stays inside the plot), `shift` to the
/// left of the size.
fn draw_marks<'a, DB: DrawingBackend + 'a>(
    chart: &mut Chart<'a, DB>,
    marks: &[(f64, String)],
    shift: f64,
    y_max: f64,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    for (x, label) in marks {
        let x = *x - shift;
        let dashes = (0..40).map(|i| {
            let a = y_max * f64::from(i) / 40.0;
            let b = y_max * (f64::from(i) + 0.5) / 40.0;
            PathElement::new(
                vec![(x, a), (x, b)],
                RGBColor(140, 140, 140).stroke_width(1),
            )
        });
        chart.draw_series(dashes)?;
        chart.draw_series(std::iter::once(Text::new(
            label.clone(),
            (x, y_max),
            ("sans-serif", NOTE)
                .into_font()
                .color(&RGBColor(90, 90, 90))
                .pos(Pos::new(HPos::Right, VPos::Top)),
        )))?;
    }
    Ok(())
}

/// The legend, lower right, then the finished drawing.
fn legend_and_present<'a, DB: DrawingBackend + 'a>(
    chart: &mut Chart<'a, DB>,
    root: &DrawingArea<DB, plotters::coord::Shift>,
    position: SeriesLabelPosition,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", LABEL))
        .margin(12)
        .position(position)
        .draw()?;
    root.present()
}

/// The corner of the plot the legend covers least data in: of the lower right (figures
/// grow with the fleet, so lines are least often there), the upper left, the upper right
/// and the lower left, the one whose box (two fifths of the width, a third of the height)
/// the fewest samples of the lines, bands and threshold fall in, the first on a tie.
fn legend_corner(
    series: &[Series],
    threshold: Option<f64>,
    x: std::ops::Range<f64>,
    y_max: f64,
) -> SeriesLabelPosition {
    // Each line and band edge, sampled along its segments.
    let mut samples = Vec::new();
    for s in series {
        for w in s.points.windows(2) {
            for i in 0..=20 {
                let t = f64::from(i) / 20.0;
                let at = |a: f64, b: f64| a + (b - a) * t;
                let x = at(w[0].x, w[1].x);
                for (a, b) in [
                    (w[0].p50, w[1].p50),
                    (w[0].low, w[1].low),
                    (w[0].high, w[1].high),
                ] {
                    samples.push((x, at(a, b)));
                }
            }
        }
        if let [p] = s.points.as_slice() {
            samples.extend([(p.x, p.p50), (p.x, p.low), (p.x, p.high)]);
        }
    }
    if let Some(t) = threshold {
        samples.extend((0..=40).map(|i| (x.start + (x.end - x.start) * f64::from(i) / 40.0, t)));
    }
    let (w, h) = (x.end - x.start, y_max);
    let inside = |left: bool, top: bool| {
        samples
            .iter()
            .filter(|&&(sx, sy)| {
                let in_x = if left {
                    sx <= x.start + 0.4 * w
                } else {
                    sx >= x.end - 0.4 * w
                };
                let in_y = if top { sy >= 0.67 * h } else { sy <= 0.33 * h };
                in_x && in_y
            })
            .count()
    };
    [
        (false, false, SeriesLabelPosition::LowerRight),
        (true, true, SeriesLabelPosition::UpperLeft),
        (false, true, SeriesLabelPosition::UpperRight),
        (true, false, SeriesLabelPosition::LowerLeft),
    ]
    .into_iter()
    .enumerate()
    .min_by_key(|&(i, (l, t, _))| (inside(l, t), i))
    .map_or(SeriesLabelPosition::LowerRight, |(_, (_, _, p))| p)
}

fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, plotters::coord::Shift>,
    spec: &ChartSpec,
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("drawing {}: {e:?}", spec.name);
    root.fill(&WHITE).map_err(err)?;
    let all = || spec.series.iter().flat_map(|s| s.points.iter());
    let xs = all()
        .map(|p| p.x)
        .chain(spec.sizes.iter().copied())
        .chain(spec.not_ready.iter().map(|n| n.0));
    let (x_min, x_max) = x_range(xs);
    let mut y_max = all().map(|p| p.high.max(p.p50)).fold(0.0, f64::max);
    if let Some((t, _)) = &spec.threshold {
        y_max = y_max.max(*t);
    }
    y_max = spec.not_ready.iter().map(|n| n.1).fold(y_max, f64::max);
    let y_max = if y_max > 0.0 { y_max * 1.1 } else { 1.0 };
    let mut chart =
        framed(&root, spec.title, x_min..x_max, 0.0..y_max, spec.y_label).map_err(err)?;
    draw_marks(&mut chart, spec.marks, 0.0, y_max).map_err(err)?;
    draw_bands(&mut chart, spec.series, spec.band).map_err(err)?;
    draw_not_ready(&mut chart, spec.not_ready).map_err(err)?;
    if let Some((t, label)) = &spec.threshold {
        draw_threshold(&mut chart, spec.series, *t, label, x_min..x_max).map_err(err)?;
    }
    let corner = legend_corner(
        spec.series,
        spec.threshold.as_ref().map(|t| t.0),
        x_min..x_max,
        y_max,
    );
    legend_and_present(&mut chart, &root, corner).map_err(err)?;
    Ok(())
}

/// Per series: the band, the median line and its points; one legend entry for the band
/// (the first series', labelled `band`) and one per median.
fn draw_bands<'a, DB: DrawingBackend + 'a>(
    chart: &mut Chart<'a, DB>,
    series: &[Series],
    band_label: &str,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let several = series.len() > 1;
    for (i, s) in series.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        let pts = &s.points;
        let band: Vec<(f64, f64)> = pts
            .iter()
            .map(|p| (p.x, p.high))
            .chain(pts.iter().rev().map(|p| (p.x, p.low)))
            .collect();
        let alpha = if several { 0.12 } else { 0.18 };
        let drawn = chart.draw_series(std::iter::once(Polygon::new(band, colour.mix(alpha))))?;
        if i == 0 {
            drawn.label(band_label).legend(move |(x, y)| {
                Rectangle::new([(x, y - 5), (x + 20, y + 5)], colour.mix(alpha).filled())
            });
        }
        let label = if several {
            s.label.clone()
        } else {
            "median".to_string()
        };
        chart
            .draw_series(LineSeries::new(
                pts.iter().map(|p| (p.x, p.p50)),
                colour.stroke_width(2),
            ))?
            .label(label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
            });
        chart.draw_series(
            pts.iter()
                .map(|p| Circle::new((p.x, p.p50), 3, colour.filled())),
        )?;
    }
    Ok(())
}

/// A red cross at each size whose replicas ended without the figure, where they stopped,
/// labelled (e.g. "not ready: 3/3 stopped at 24h"); one legend entry.
fn draw_not_ready<'a, DB: DrawingBackend + 'a>(
    chart: &mut Chart<'a, DB>,
    not_ready: &[(f64, f64, String)],
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    if not_ready.is_empty() {
        return Ok(());
    }
    chart
        .draw_series(
            not_ready
                .iter()
                .map(|&(x, y, _)| Cross::new((x, y), 6, RED.stroke_width(3))),
        )?
        .label("not ready: where the run stopped")
        .legend(|(x, y)| Cross::new((x + 10, y), 5, RED.stroke_width(2)));
    for (x, y, label) in not_ready {
        chart.draw_series(std::iter::once(Text::new(
            label.clone(),
            (*x, *y),
            ("sans-serif", NOTE)
                .into_font()
                .color(&RED)
                .pos(Pos::new(HPos::Right, VPos::Bottom)),
        )))?;
    }
    Ok(())
}

/// The threshold `t` as a red dashed line across `x`, and a red ring at the first fleet
/// size where each series' median crosses it.
fn draw_threshold<'a, DB: DrawingBackend + 'a>(
    chart: &mut Chart<'a, DB>,
    series: &[Series],
    t: f64,
    label: &str,
    x: std::ops::Range<f64>,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let (x_min, x_max) = (x.start, x.end);
    let dashes = (0..60).map(|i| {
        let a = x_min + (x_max - x_min) * f64::from(i) / 60.0;
        let b = x_min + (x_max - x_min) * (f64::from(i) + 0.5) / 60.0;
        PathElement::new(vec![(a, t), (b, t)], RED.stroke_width(2))
    });
    chart
        .draw_series(dashes)?
        .label(label)
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED.stroke_width(2)));
    for s in series {
        let Some(p) = s.points.iter().find(|p| p.p50 > t) else {
            continue;
        };
        chart.draw_series(std::iter::once(Circle::new(
            (p.x, p.p50),
            8,
            RED.stroke_width(3),
        )))?;
        // In the left half anchored at its left end, else at its right end, so that a
        // crossing at the first or the last size stays inside the plot.
        let left_half = p.x < (x_min + x_max) / 2.0;
        let anchor = if left_half { HPos::Left } else { HPos::Right };
        chart.draw_series(std::iter::once(Text::new(
            format!("\u{a0}\u{a0}\u{a0}crosses at {}\u{a0}\u{a0}", p.x),
            (p.x, p.p50),
            ("sans-serif", LABEL)
                .into_font()
                .color(&RED)
                .pos(Pos::new(anchor, VPos::Bottom)),
        )))?;
    }
    Ok(())
}

/// Stacked bars: at each fleet size, one segment per category.
pub struct StackSpec<'a> {
    /// File name without extension.
    pub name: &'a str,
    /// Title.
    pub title: &'a str,
    /// Y axis label, with its unit.
    pub y_label: &'a str,
    /// The categories, bottom first.
    pub categories: &'a [String],
    /// (fleet size, one value per category).
    pub bars: &'a [(f64, Vec<f64>)],
    /// Fleet sizes where the layout changes, with a label (as [`ChartSpec::marks`]).
    pub marks: &'a [(f64, String)],
}

fn draw_stack<DB: DrawingBackend>(
    root: DrawingArea<DB, plotters::coord::Shift>,
    spec: &StackSpec,
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("drawing {}: {e:?}", spec.name);
    root.fill(&WHITE).map_err(err)?;
    let xs: Vec<f64> = spec.bars.iter().map(|b| b.0).collect();
    let gap = xs
        .windows(2)
        .map(|w| w[1] - w[0])
        .fold(f64::INFINITY, f64::min);
    let half = if gap.is_finite() { gap * 0.35 } else { 0.5 };
    let (lo, hi) = x_range(xs.iter().copied());
    let y_max = spec
        .bars
        .iter()
        .map(|b| b.1.iter().sum::<f64>())
        .fold(0.0, f64::max);
    // Room above the tallest bar for the legend (a line per category).
    let room = 1.15 + 0.09 * spec.categories.len() as f64;
    let y_max = if y_max > 0.0 { y_max * room } else { 1.0 };
    let x = (lo - half * 1.5)..(hi + half * 1.5);
    let mut chart = framed(&root, spec.title, x, 0.0..y_max, spec.y_label).map_err(err)?;
    // Between the bars: just left of the first bar of the new layout.
    draw_marks(&mut chart, spec.marks, half * 1.4, y_max).map_err(err)?;
    for (i, name) in spec.categories.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        let rects = spec.bars.iter().map(|(x, v)| {
            let below: f64 = v[..i].iter().sum();
            Rectangle::new(
                [(x - half, below), (x + half, below + v[i])],
                colour.filled(),
            )
        });
        chart
            .draw_series(rects)
            .map_err(err)?
            .label(name.as_str())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 20, y + 5)], colour.filled()));
    }
    // Above the bars: the axis reaches past the tallest so the legend clears them.
    legend_and_present(&mut chart, &root, SeriesLabelPosition::UpperRight).map_err(err)?;
    Ok(())
}

/// A heat map: rows by columns, each cell a probability in [0, 1].
pub struct HeatSpec<'a> {
    /// File name without extension.
    pub name: &'a str,
    /// Title.
    pub title: &'a str,
    /// Row labels, top first.
    pub rows: &'a [String],
    /// Column labels (fleet sizes), left first.
    pub columns: &'a [u32],
    /// cells[row][column]: the fraction that sets the colour.
    pub cells: &'a [Vec<f64>],
    /// labels[row][column]: the text in the cell.
    pub labels: &'a [Vec<String>],
}

/// Room for the longest of `labels` at the label size (Noto Sans averages about 0.55 em
/// per character), between 120 and 520 units.
pub(crate) fn label_width(labels: &[String]) -> u32 {
    let longest = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0) as f64;
    (longest * f64::from(LABEL) * 0.55 + 24.0).clamp(120.0, 520.0) as u32
}

/// Red at 0, amber at 0.5, green at 1.
fn heat_colour(p: f64) -> RGBColor {
    let p = p.clamp(0.0, 1.0);
    let lerp = |a: u8, b: u8, t: f64| (f64::from(a) + (f64::from(b) - f64::from(a)) * t) as u8;
    let (red, amber, green) = ((215, 48, 39), (254, 224, 139), (26, 152, 80));
    let (from, to, t) = if p < 0.5 {
        (red, amber, p * 2.0)
    } else {
        (amber, green, (p - 0.5) * 2.0)
    };
    RGBColor(
        lerp(from.0, to.0, t),
        lerp(from.1, to.1, t),
        lerp(from.2, to.2, t),
    )
}

fn draw_heat<DB: DrawingBackend>(
    root: DrawingArea<DB, plotters::coord::Shift>,
    spec: &HeatSpec,
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("drawing {}: {e:?}", spec.name);
    root.fill(&WHITE).map_err(err)?;
    let (rows, cols) = (spec.rows.len().max(1), spec.columns.len().max(1));
    let mut chart = ChartBuilder::on(&root)
        .caption(spec.title, ("sans-serif", TITLE))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(label_width(spec.rows))
        .build_cartesian_2d(-0.5..cols as f64 - 0.5, -0.5..rows as f64 - 0.5)
        .map_err(err)?;
    // Cell centres sit on whole numbers; only those get a label.
    let at = |v: f64| (v - v.round()).abs() < 1e-6 && v >= 0.0;
    let columns = spec.columns;
    let row_names = spec.rows;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc("fleet size [workload clusters]")
        .x_labels(cols.min(20))
        .y_labels(rows)
        .x_label_formatter(&|x| {
            if at(*x) {
                columns
                    .get(x.round() as usize)
                    .map_or(String::new(), u32::to_string)
            } else {
                String::new()
            }
        })
        .y_label_formatter(&|y| {
            if at(*y) {
                row_names
                    .get(rows.saturating_sub(1 + y.round() as usize))
                    .cloned()
                    .unwrap_or_default()
            } else {
                String::new()
            }
        })
        .label_style(("sans-serif", LABEL))
        .axis_desc_style(("sans-serif", AXIS))
        .draw()
        .map_err(err)?;
    for (r, row) in spec.cells.iter().enumerate() {
        let y = (rows - 1 - r) as f64;
        for (c, &p) in row.iter().enumerate() {
            let x = c as f64;
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(x - 0.47, y - 0.45), (x + 0.47, y + 0.45)],
                    heat_colour(p).filled(),
                )))
                .map_err(err)?;
            if cols <= 24 {
                chart
                    .draw_series(std::iter::once(Text::new(
                        spec.labels[r][c].clone(),
                        (x, y),
                        ("sans-serif", NOTE)
                            .into_font()
                            .color(&BLACK)
                            .pos(Pos::new(HPos::Center, VPos::Center)),
                    )))
                    .map_err(err)?;
            }
        }
    }
    root.present().map_err(err)?;
    Ok(())
}

/// The PNG's pixels per SVG unit: 1800×1080, sharp on a slide or a high-density screen.
pub const PNG_SCALE: f32 = 2.0;

/// The fonts the PNG renderer shapes the SVG's text with: the embedded Noto Sans, as every
/// generic family.
fn fonts() -> Arc<resvg::usvg::fontdb::Database> {
    static DB: OnceLock<Arc<resvg::usvg::fontdb::Database>> = OnceLock::new();
    DB.get_or_init(|| {
        let mut db = resvg::usvg::fontdb::Database::new();
        db.load_font_data(ttf_noto_sans::REGULAR.to_vec());
        let family = db
            .faces()
            .next()
            .and_then(|f| f.families.first().map(|(n, _)| n.clone()))
            .unwrap_or_else(|| "Noto Sans".into());
        db.set_sans_serif_family(family.clone());
        db.set_serif_family(family.clone());
        db.set_monospace_family(family);
        Arc::new(db)
    })
    .clone()
}

/// `svg` rendered to PNG at [`PNG_SCALE`].
fn svg_to_png(svg: &str) -> anyhow::Result<Vec<u8>> {
    let options = resvg::usvg::Options {
        fontdb: fonts(),
        font_family: "sans-serif".into(),
        ..Default::default()
    };
    let tree = resvg::usvg::Tree::from_str(svg, &options)
        .map_err(|e| anyhow!("the chart's SVG does not parse: {e}"))?;
    let size = tree
        .size()
        .to_int_size()
        .scale_by(PNG_SCALE)
        .ok_or_else(|| anyhow!("empty chart"))?;
    let mut pixmap = resvg::tiny_skia::Pixmap::new(size.width(), size.height())
        .ok_or_else(|| anyhow!("a chart of {}×{} pixels", size.width(), size.height()))?;
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::from_scale(PNG_SCALE, PNG_SCALE),
        &mut pixmap.as_mut(),
    );
    pixmap
        .encode_png()
        .map_err(|e| anyhow!("encoding the PNG: {e}"))
}

/// Writes `<dir>/<name>.svg` drawn by `draw`, and `<dir>/<name>.png`: that SVG rendered
/// at twice its size (one drawing, so the two never differ, and the PNG's text is shaped
/// by a real text renderer).
pub(crate) fn write_both(
    dir: &Path,
    name: &str,
    draw: impl FnOnce(DrawingArea<SVGBackend, plotters::coord::Shift>) -> anyhow::Result<()>,
) -> anyhow::Result<Vec<PathBuf>> {
    register_font();
    // Into the sweep's staging folder, moved into place only when every output is written.
    let png = dir.join(format!("{name}.png"));
    let svg = dir.join(format!("{name}.svg"));
    let mut text = String::new();
    draw(SVGBackend::with_string(&mut text, SIZE).into_drawing_area())?;
    std::fs::write(&svg, &text).with_context(|| format!("{}: cannot write", svg.display()))?;
    let bytes = svg_to_png(&text).with_context(|| format!("{name}.png"))?;
    std::fs::write(&png, bytes).with_context(|| format!("{}: cannot write", png.display()))?;
    Ok(vec![png, svg])
}

/// Writes a stacked-bar chart as PNG and SVG.
pub fn write_stack(dir: &Path, spec: &StackSpec) -> anyhow::Result<Vec<PathBuf>> {
    write_both(dir, spec.name, |a| draw_stack(a, spec))
}

/// Writes a heat map as PNG and SVG.
pub fn write_heat(dir: &Path, spec: &HeatSpec) -> anyhow::Result<Vec<PathBuf>> {
    write_both(dir, spec.name, |a| draw_heat(a, spec))
}

/// Writes a line chart as `<dir>/<name>.png` and `<dir>/<name>.svg`.
pub fn write(dir: &Path, spec: &ChartSpec) -> anyhow::Result<Vec<PathBuf>> {
    write_both(dir, spec.name, |a| draw(a, spec))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_legend_goes_where_no_line_runs() {
        let line = |ys: &[f64]| Series {
            label: String::new(),
            points: ys
                .iter()
                .enumerate()
                .map(|(i, &y)| BandPoint {
                    x: 100.0 * i as f64,
                    low: y,
                    p50: y,
                    high: y,
                })
                .collect(),
        };
        let pos = |ys: &[f64]| format!("{:?}", legend_corner(&[line(ys)], None, 0.0..200.0, 10.0));
        // Rising: the lower right is free.
        assert_eq!(pos(&[1.0, 5.0, 9.0]), "LowerRight");
        // Flat and low (an API latency far below its threshold): the upper left.
        assert_eq!(pos(&[0.5, 0.5, 0.5]), "UpperLeft");
        // Lines everywhere: the lower right on the tie.
        let mut all = vec![line(&[0.5, 0.5, 0.5]), line(&[9.0, 9.0, 9.0])];
        all.push(line(&[5.0, 5.0, 5.0]));
        assert_eq!(
            format!("{:?}", legend_corner(&all, None, 0.0..200.0, 10.0)),
            "LowerRight"
        );
        // A rising line over a threshold low in the plot: the lower corners hold the
        // threshold, the upper right the line; the upper left is clear.
        let t = |ys: &[f64], t: f64| {
            format!(
                "{:?}",
                legend_corner(&[line(ys)], Some(t), 0.0..200.0, 10.0)
            )
        };
        assert_eq!(t(&[1.0, 5.0, 9.0], 0.5), "UpperLeft");
        // Low and flat under a high threshold: the line crosses the lower corners' boxes
        // along their whole width, the threshold the upper ones' only where its samples
        // fall: fewer, so an upper corner.
        assert_eq!(t(&[0.5, 0.5, 0.5], 9.0), "UpperLeft");
    }

    #[test]
    fn ticks_carry_no_needless_decimals() {
        assert_eq!(tick(16000.0), "16000");
        assert_eq!(tick(0.5), "0.5");
        assert_eq!(tick(2.25), "2.25");
        assert_eq!(tick(0.0), "0");
        assert_eq!(tick(-0.001), "0");
    }

    #[test]
    fn the_x_axis_never_collapses() {
        // Issue 13: one size left gave an axis one cluster wide.
        assert_eq!(x_range([2000.0].into_iter()), (1800.0, 2200.0));
        assert_eq!(x_range([2.0, 2.0].into_iter()), (1.0, 3.0));
        assert_eq!(x_range(std::iter::empty()), (0.0, 1.0));
        let (lo, hi) = x_range([100.0, 2000.0].into_iter());
        assert!(lo < 100.0 && hi > 2000.0 && lo >= 0.0);
    }
}
