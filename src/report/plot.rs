//! PNG charts (line charts, error bars, heatmaps, scatter plots) rendered with `plotters`.
//!
//! Text uses a bundled DejaVu Sans through plotters' `ab_glyph` feature, so no system font
//! libraries are needed. Every writer renders to a hidden temporary `.png` next to the target
//! and renames it into place, returns `Err` (naming the path) instead of panicking, and copes
//! with degenerate input (no data, NaN gaps, constant or single values).

use std::fs;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{register_font, FontStyle};

/// One line: `values[i]` is plotted at `x[i]`; NaN leaves a gap.
pub struct Series<'a> {
    pub name: &'a str,
    pub values: &'a [f64],
    /// Drawn dashed (e.g. desired replicas over actual replicas, or a band's limits).
    pub dashed: bool,
    /// Palette index to draw in (default: the series' position), e.g. a band's limits in the
    /// colour of its mean.
    pub color: Option<usize>,
}

impl<'a> Series<'a> {
    pub fn new(name: &'a str, values: &'a [f64]) -> Self {
        Series {
            name,
            values,
            dashed: false,
            color: None,
        }
    }
    pub fn color(mut self, palette_index: usize) -> Self {
        self.color = Some(palette_index);
        self
    }
    pub fn dashed(mut self) -> Self {
        self.dashed = true;
        self
    }
    /// True when the series has at least one usable value.
    pub fn has_data(&self) -> bool {
        self.values.iter().any(|&v| ok(v))
    }
}

/// A horizontal reference line (a target), drawn dashed in the colour of the series it
/// constrains (`series` indexes `Chart::series`), grey when it constrains none of them.
#[derive(Clone, Copy)]
pub struct HLine<'a> {
    pub name: &'a str,
    pub value: f64,
    pub series: Option<usize>,
}

/// A line chart sharing one x axis.
pub struct Chart<'a> {
    pub title: &'a str,
    pub x_label: &'a str,
    pub y_label: &'a str,
    pub x: &'a [f64],
    pub series: Vec<Series<'a>>,
    /// optional right-hand axis (e.g. pods against load)
    pub y2_label: Option<&'a str>,
    pub series2: Vec<Series<'a>>,
    /// optional horizontal reference lines on the left axis (e.g. a target p95 of 500 ms)
    pub hlines: Vec<HLine<'a>>,
}

impl Chart<'_> {
    /// True when any series holds a usable value.
    pub fn has_data(&self) -> bool {
        self.series
            .iter()
            .chain(&self.series2)
            .any(|s| s.has_data())
    }
}

/// For sweeps: error-bar chart (mean with CI half-width) of a metric against one parameter.
pub struct ErrorBars<'a> {
    pub title: &'a str,
    pub x_label: &'a str,
    pub y_label: &'a str,
    pub x: &'a [f64],
    pub mean: &'a [f64],
    pub half_width: &'a [f64],
}

/// Heatmap of a metric over two parameters.
pub struct Heatmap<'a> {
    pub title: &'a str,
    pub x_label: &'a str,
    pub y_label: &'a str,
    pub xs: &'a [f64],
    pub ys: &'a [f64],
    /// `z[yi][xi]`, NaN = no data
    pub z: &'a [Vec<f64>],
    /// `pass[yi][xi]`: whether the cell meets every target; empty when unknown. Passing cells
    /// are green, failing ones red, shaded by value; otherwise one blue scale.
    pub pass: &'a [Vec<Option<bool>>],
}

/// Scatter of `(x, y, pass)` points plus a line through the `front` indices (Pareto front).
pub struct Scatter<'a> {
    pub title: &'a str,
    pub x_label: &'a str,
    pub y_label: &'a str,
    pub points: &'a [(f64, f64, bool)],
    pub front: &'a [usize],
    /// A label per point (e.g. its parameter values); front points are always labelled, the
    /// others where there is room.
    pub labels: &'a [String],
}

const WIDTH: u32 = 1200;
const CHART_HEIGHT: u32 = 350;
const SINGLE_HEIGHT: u32 = 600;
const FONT: &str = "sans-serif";
static FONT_BYTES: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/assets/DejaVuSans.ttf"
));

/// Tableau-10 palette.
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];
/// Extra space above the data, as a fraction of its span, so the legend rarely covers it.
const HEADROOM: f64 = 0.15;
const MESH_LIGHT: RGBColor = RGBColor(242, 242, 242);
const MESH_BOLD: RGBColor = RGBColor(215, 215, 215);
const REF_GREY: RGBColor = RGBColor(110, 110, 110);

pub(crate) type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

/// Registers the bundled font under "sans-serif" exactly once.
fn ensure_font() -> Result<(), String> {
    static DONE: OnceLock<Result<(), String>> = OnceLock::new();
    DONE.get_or_init(|| {
        register_font(FONT, FontStyle::Normal, FONT_BYTES)
            .map_err(|_| "bundled font is invalid".to_string())
    })
    .clone()
}

fn de<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

/// Renders via `draw` into a temp file beside `path`, then renames it into place.
pub(crate) fn render<F>(path: &Path, size: (u32, u32), draw: F) -> Result<(), String>
where
    F: FnOnce(&Area) -> Result<(), String>,
{
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let fail = |msg: String| format!("cannot write plot {}: {msg}", path.display());
    ensure_font().map_err(fail)?;
    let name = path
        .file_name()
        .ok_or_else(|| fail("no file name".into()))?
        .to_string_lossy();
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    let tmp = dir.join(format!(".{name}.{}.{seq}.tmp.png", std::process::id()));

    // The backend is dropped inside the closure (its Drop may still write `tmp`; removed below).
    let res = panic::catch_unwind(AssertUnwindSafe(|| {
        let root = BitMapBackend::new(&tmp, size).into_drawing_area();
        root.fill(&WHITE).map_err(de)?;
        draw(&root)?;
        root.present().map_err(de)
    }))
    .unwrap_or_else(|p| {
        let msg = p
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Err(format!("renderer panicked: {msg}"))
    })
    .and_then(|()| fs::rename(&tmp, path).map_err(de));
    if res.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    res.map_err(fail)
}

/// Usable data value: finite and small enough that spans and pixel maths stay finite.
fn ok(v: f64) -> bool {
    v.is_finite() && v.abs() < 1e300
}

/// Axis range over the usable values, padded by `pad` of the span; [0,1] without data,
/// widened around a single value.
fn axis_range(vals: impl Iterator<Item = f64>, pad: f64) -> (f64, f64) {
    axis_range2(vals, pad, pad)
}

/// As [`axis_range`] with separate low/high padding. Data that is never negative keeps a floor
/// of zero (no negative axis for counts, latencies or pods), and all-zero data gets 0..1.
fn axis_range2(vals: impl Iterator<Item = f64>, pad_lo: f64, pad_hi: f64) -> (f64, f64) {
    let (lo, hi) = vals
        .filter(|&v| ok(v))
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if lo > hi {
        return (0.0, 1.0);
    }
    let span = hi - lo;
    let (a, b) = if span <= hi.abs().max(lo.abs()) * 1e-12 {
        if lo == 0.0 {
            return (0.0, 1.0);
        }
        let d = lo.abs() * 0.1;
        (lo - d, hi + d)
    } else {
        (lo - span * pad_lo, hi + span * pad_hi)
    };
    if lo >= 0.0 {
        (a.max(0.0), b)
    } else {
        (a, b)
    }
}

/// Tick label: up to 6 decimals with trailing zeros trimmed; scientific when very large/small.
fn fmt_tick(v: &f64) -> String {
    let a = v.abs();
    if a >= 1e7 || (a > 0.0 && a < 1e-4) {
        return format!("{v:.2e}");
    }
    let s = format!("{v:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.into()
    }
}

/// Finite `(x, y)` pairs, split into runs at NaN gaps.
fn segments(x: &[f64], y: &[f64]) -> Vec<Vec<(f64, f64)>> {
    let mut out = Vec::new();
    let mut cur = Vec::new();
    for (&a, &b) in x.iter().zip(y) {
        if ok(a) && ok(b) {
            cur.push((a, b));
        } else if !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Compact number formatting (~3 significant digits).
fn fmt_num(v: f64) -> String {
    if !v.is_finite() {
        return "–".into();
    }
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    if !(1e-3..1e6).contains(&a) {
        return format!("{v:.2e}");
    }
    let decimals = (2 - a.log10().floor() as i32).clamp(0, 4) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

fn no_data(area: &Area, title: &str) -> Result<(), String> {
    let (w, h) = area.dim_in_pixel();
    let style = TextStyle::from((FONT, 18).into_font())
        .color(&REF_GREY)
        .pos(Pos::new(HPos::Center, VPos::Center));
    let text = if title.is_empty() {
        "no data".to_string()
    } else {
        format!("{title} (no data)")
    };
    area.draw(&Text::new(text, (w as i32 / 2, h as i32 / 2), style))
        .map_err(de)
}

/// Reduces a long run to at most ~4 points per pixel-sized bucket (first, min, max, last),
/// which keeps the drawn envelope while bounding the work per line.
fn decimate(seg: Vec<(f64, f64)>, buckets: usize) -> Vec<(f64, f64)> {
    if seg.len() <= buckets * 4 {
        return seg;
    }
    let (x0, x1) = (seg[0].0, seg[seg.len() - 1].0);
    let width = (x1 - x0) / buckets as f64;
    if !(width.is_finite() && width > 0.0) {
        return seg;
    }
    let mut out = Vec::with_capacity(buckets * 4);
    let mut i = 0;
    while i < seg.len() {
        let b = ((seg[i].0 - x0) / width).floor();
        let mut j = i;
        let (mut lo, mut hi) = (i, i);
        while j < seg.len() && ((seg[j].0 - x0) / width).floor() == b {
            if seg[j].1 < seg[lo].1 {
                lo = j;
            }
            if seg[j].1 > seg[hi].1 {
                hi = j;
            }
            j += 1;
        }
        if j == i {
            j = i + 1; // unsorted x: always make progress
        }
        let mut idx = [i, lo, hi, j - 1];
        idx.sort_unstable();
        let mut last = usize::MAX;
        for k in idx {
            if k != last {
                out.push(seg[k]);
                last = k;
            }
        }
        i = j;
    }
    out
}

/// Render several charts stacked vertically into ONE PNG (width 1200, 350 px per chart).
/// Writes atomically via a temporary ".png" in the same directory and a rename.
pub fn write_png(path: &Path, charts: &[Chart]) -> Result<(), String> {
    let n = charts.len().max(1) as u32;
    render(path, (WIDTH, CHART_HEIGHT * n), |root| {
        if charts.is_empty() {
            return no_data(root, "");
        }
        let areas = root.split_evenly((charts.len(), 1));
        for (area, c) in areas.iter().zip(charts) {
            draw_line_chart(area, c)?;
        }
        Ok(())
    })
}

/// Width of the legend strip to the right of each line chart: the legend never covers data.
const LEGEND_W: u32 = 290;

/// One legend entry: a line sample (solid or dashed) and its text.
struct LegendEntry {
    text: String,
    color: RGBColor,
    dashed: bool,
    width: u32,
    /// 'o' circle, 'x' cross, anything else a line sample.
    marker: char,
}

/// Draws `entries` top-down in `area`, truncating text that would not fit.
fn draw_legend(area: &Area, entries: &[LegendEntry]) -> Result<(), String> {
    let style = TextStyle::from((FONT, 13).into_font())
        .color(&BLACK)
        .pos(Pos::new(HPos::Left, VPos::Center));
    let (w, _) = area.dim_in_pixel();
    let max_chars = ((w as i32 - 40) / 7).max(8) as usize;
    for (i, e) in entries.iter().enumerate() {
        let y = 45 + 18 * i as i32;
        let st = e.color.stroke_width(e.width.min(4));
        if e.marker == 'o' {
            area.draw(&Circle::new((18, y), 5, e.color.filled()))
                .map_err(de)?;
        } else if e.marker == 'x' {
            area.draw(&Cross::new((18, y), 5, e.color.stroke_width(2)))
                .map_err(de)?;
        } else if e.dashed {
            for k in 0..3 {
                let x = 6 + 9 * k;
                area.draw(&PathElement::new(vec![(x, y), (x + 5, y)], st))
                    .map_err(de)?;
            }
        } else {
            area.draw(&PathElement::new(vec![(6, y), (30, y)], st))
                .map_err(de)?;
        }
        let mut text = e.text.clone();
        if text.chars().count() > max_chars {
            text = text.chars().take(max_chars - 1).collect::<String>() + "…";
        }
        area.draw(&Text::new(text, (36, y), style.clone()))
            .map_err(de)?;
    }
    Ok(())
}

/// Line width of series `i` of `n`: earlier series are drawn wider, so a series hidden under a
/// later one with the same values still shows as a halo around it.
fn line_width(i: usize, n: usize) -> u32 {
    2 + 2 * (n.saturating_sub(1).saturating_sub(i)).min(3) as u32
}

/// Same values at every index (NaN matching NaN).
fn same_values(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x == y || (x.is_nan() && y.is_nan()))
}

fn draw_line_chart(full: &Area, c: &Chart) -> Result<(), String> {
    let (fw, _) = full.dim_in_pixel();
    let (area, legend_area) = full.split_horizontally(fw.saturating_sub(LEGEND_W));
    let area = &area;
    let segs = |ss: &[Series]| -> Vec<Vec<Vec<(f64, f64)>>> {
        ss.iter().map(|s| segments(c.x, s.values)).collect()
    };
    let (segs1, segs2) = (segs(&c.series), segs(&c.series2));
    let ys = |s: &[Vec<Vec<(f64, f64)>>]| -> Vec<f64> {
        s.iter().flatten().flatten().map(|p| p.1).collect()
    };
    let x_all = segs1.iter().chain(&segs2).flatten().flatten().map(|p| p.0);
    let (x0, x1) = if x_all.clone().next().is_some() {
        axis_range(x_all, 0.0)
    } else {
        axis_range(c.x.iter().copied(), 0.0)
    };
    let hl = c.hlines.iter().map(|h| h.value);
    let (y0, y1) = axis_range2(ys(&segs1).into_iter().chain(hl), 0.05, 0.08);
    let (y20, y21) = axis_range2(ys(&segs2).into_iter(), 0.05, 0.08);
    let has2 = c.y2_label.is_some() || !c.series2.is_empty();

    let mut chart = ChartBuilder::on(area)
        .caption(c.title, (FONT, 20))
        .margin(10)
        .margin_right(if has2 { 10 } else { 25 })
        .x_label_area_size(42)
        .y_label_area_size(75)
        .right_y_label_area_size(if has2 { 75 } else { 0 })
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(de)?
        .set_secondary_coord(x0..x1, y20..y21);
    chart
        .configure_mesh()
        .x_desc(c.x_label)
        .y_desc(c.y_label)
        .x_labels(12)
        .y_labels(8)
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 14))
        .x_label_formatter(&fmt_tick)
        .y_label_formatter(&fmt_tick)
        .max_light_lines(4)
        .light_line_style(MESH_LIGHT)
        .bold_line_style(MESH_BOLD)
        .draw()
        .map_err(de)?;
    if has2 {
        chart
            .configure_secondary_axes()
            .y_desc(c.y2_label.unwrap_or(""))
            .y_labels(8)
            .y_label_formatter(&fmt_tick)
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 14))
            .draw()
            .map_err(de)?;
    }

    // Solid lines get the halo widths; dashed ones (desired replicas, band limits) stay thin
    // on top of them.
    let n = c
        .series
        .iter()
        .chain(&c.series2)
        .filter(|s| !s.dashed)
        .count();
    let mut solid = 0;
    let color_of = |i: usize| PALETTE[i % PALETTE.len()];
    let mut legend = Vec::new();
    // Targets under the data, in the colour of the series they constrain.
    let hlines: Vec<HLine> = c.hlines.iter().copied().filter(|h| ok(h.value)).collect();
    for h in &hlines {
        let color = h.series.map(color_of).unwrap_or(REF_GREY);
        let style = color.stroke_width(2);
        chart
            .draw_series(DashedLineSeries::new(
                [(x0, h.value), (x1, h.value)],
                10,
                6,
                style,
            ))
            .map_err(de)?;
        legend.push(LegendEntry {
            text: format!("{} = {}", h.name, fmt_num(h.value)),
            color,
            dashed: true,
            width: 2,
            marker: '-',
        });
    }

    let buckets = area.dim_in_pixel().0 as usize;
    let all = c.series.iter().zip(segs1).map(|s| (false, s));
    let all = all.chain(c.series2.iter().zip(segs2).map(|s| (true, s)));
    let mut entries = Vec::new();
    for (i, (right, (s, segs))) in all.enumerate() {
        let color = color_of(s.color.unwrap_or(i));
        let width = if s.dashed {
            2
        } else {
            solid += 1;
            line_width(solid - 1, n)
        };
        let style = color.stroke_width(width);
        if !s.name.is_empty() {
            let mut text = if right && !c.series.is_empty() {
                format!("{} (right axis)", s.name)
            } else {
                s.name.to_string()
            };
            // A series drawn exactly over an earlier one says so (it would otherwise hide it).
            let same_axis = if right { &c.series2 } else { &c.series };
            let before = if right { i - c.series.len() } else { i };
            if let Some(o) = same_axis[..before]
                .iter()
                .find(|o| same_values(o.values, s.values))
            {
                text = format!("{text} = {}", o.name);
            }
            entries.push(LegendEntry {
                text,
                color,
                dashed: s.dashed,
                width,
                marker: '-',
            });
        }
        for seg in segs {
            let r = if seg.len() == 1 {
                let dot = std::iter::once(Circle::new(seg[0], 3, color.filled()));
                if right {
                    chart.draw_secondary_series(dot).map(|_| ())
                } else {
                    chart.draw_series(dot).map(|_| ())
                }
            } else if s.dashed {
                let line = DashedLineSeries::new(decimate(seg, buckets), 7, 5, style);
                if right {
                    chart.draw_secondary_series(line).map(|_| ())
                } else {
                    chart.draw_series(line).map(|_| ())
                }
            } else {
                let line = LineSeries::new(decimate(seg, buckets), style);
                if right {
                    chart.draw_secondary_series(line).map(|_| ())
                } else {
                    chart.draw_series(line).map(|_| ())
                }
            };
            r.map_err(de)?;
        }
    }
    entries.extend(legend);
    draw_legend(&legend_area, &entries)
}

/// For sweeps: error-bar chart (mean with CI half-width) of a metric against one parameter.
pub fn write_error_bars_png(path: &Path, c: &ErrorBars) -> Result<(), String> {
    render(path, (WIDTH, SINGLE_HEIGHT), |root| {
        // (x, mean, half-width); a NaN half-width draws the mean alone.
        let pts: Vec<(f64, f64, f64)> =
            c.x.iter()
                .zip(c.mean)
                .enumerate()
                .filter(|(_, (&x, &m))| ok(x) && ok(m))
                .map(|(i, (&x, &m))| {
                    let h = c.half_width.get(i).copied().unwrap_or(0.0).abs();
                    (x, m, if ok(h) { h } else { 0.0 })
                })
                .collect();
        let (x0, x1) = axis_range(pts.iter().map(|p| p.0), 0.05);
        // Bars are clamped to the physical range: a metric that is never negative (latency,
        // cost, rates) has no interval below zero.
        let floor = if pts.iter().all(|p| p.1 >= 0.0) {
            0.0
        } else {
            f64::NEG_INFINITY
        };
        let pts: Vec<(f64, f64, f64, f64)> = pts
            .iter()
            .map(|&(x, m, h)| (x, m, (m - h).max(floor), m + h))
            .collect();
        let ys = pts.iter().flat_map(|p| [p.2, p.3]);
        let (y0, y1) = axis_range2(ys, 0.05, HEADROOM);
        let mut chart = ChartBuilder::on(root)
            .caption(c.title, (FONT, 20))
            .margin(15)
            .margin_right(25)
            .x_label_area_size(42)
            .y_label_area_size(75)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(de)?;
        chart
            .configure_mesh()
            .x_desc(c.x_label)
            .y_desc(c.y_label)
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 14))
            .x_label_formatter(&fmt_tick)
            .y_label_formatter(&fmt_tick)
            .max_light_lines(4)
            .light_line_style(MESH_LIGHT)
            .bold_line_style(MESH_BOLD)
            .draw()
            .map_err(de)?;
        let color = PALETTE[0];
        let bar = color.stroke_width(2);
        for seg in segments(c.x, c.mean) {
            chart
                .draw_series(LineSeries::new(seg, color.mix(0.5).stroke_width(1)))
                .map_err(de)?;
        }
        let cap = |x: f64, y: f64| {
            EmptyElement::at((x, y)) + PathElement::new(vec![(-6, 0), (6, 0)], bar)
        };
        chart
            .draw_series(
                pts.iter()
                    .map(|&(x, _, lo, hi)| PathElement::new(vec![(x, lo), (x, hi)], bar)),
            )
            .map_err(de)?;
        chart
            .draw_series(pts.iter().map(|&(x, _, lo, _)| cap(x, lo)))
            .map_err(de)?;
        chart
            .draw_series(pts.iter().map(|&(x, _, _, hi)| cap(x, hi)))
            .map_err(de)?;
        chart
            .draw_series(
                pts.iter()
                    .map(|&(x, m, _, _)| Circle::new((x, m), 4, color.filled())),
            )
            .map_err(de)?
            .label("mean ± CI half-width")
            .legend(|(x, y)| {
                EmptyElement::at((x + 10, y))
                    + PathElement::new(vec![(0, -6), (0, 6)], PALETTE[0].stroke_width(2))
                    + Circle::new((0, 0), 4, PALETTE[0].filled())
            });
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .label_font((FONT, 13))
            .background_style(WHITE.mix(0.8))
            .border_style(MESH_BOLD)
            .draw()
            .map_err(de)
    })
}

/// Sequential ramp for `t` in [0, 1] from a light to a dark shade of one hue: `Some(true)` green
/// (meets every target), `Some(false)` red (fails one), `None` blue (pass/fail unknown).
fn ramp(t: f64, pass: Option<bool>) -> RGBColor {
    let (lo, hi): ((f64, f64, f64), (f64, f64, f64)) = match pass {
        Some(true) => ((199.0, 233.0, 192.0), (0.0, 109.0, 44.0)),
        Some(false) => ((252.0, 187.0, 161.0), (165.0, 15.0, 21.0)),
        None => ((198.0, 219.0, 239.0), (8.0, 69.0, 148.0)),
    };
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.5
    };
    let l = |p: f64, q: f64| (p + (q - p) * t).round() as u8;
    RGBColor(l(lo.0, hi.0), l(lo.1, hi.1), l(lo.2, hi.2))
}

/// Axis over `n` unit cells `[i, i+1]` whose key points are the cell centres.
struct CellAxis(usize);

impl Ranged for CellAxis {
    type FormatOption = plotters::coord::ranged1d::DefaultFormatting;
    type ValueType = f64;
    fn map(&self, v: &f64, limit: (i32, i32)) -> i32 {
        let f = v / self.0.max(1) as f64;
        limit.0 + (f * (limit.1 - limit.0) as f64).round() as i32
    }
    fn key_points<H: plotters::coord::ranged1d::KeyPointHint>(&self, hint: H) -> Vec<f64> {
        let step = self.0.div_ceil(hint.max_num_points().max(1)).max(1);
        (0..self.0).step_by(step).map(|i| i as f64 + 0.5).collect()
    }
    fn range(&self) -> std::ops::Range<f64> {
        0.0..self.0 as f64
    }
}

/// Width of the colour-bar strip beside a heatmap.
const COLORBAR_W: u32 = 230;

/// Heatmap of a metric over two parameters; cell colour by value (green shades where the cell
/// meets every target, red where it fails), value printed in each cell, colour bar beside it.
pub fn write_heatmap_png(path: &Path, h: &Heatmap) -> Result<(), String> {
    render(path, (WIDTH, SINGLE_HEIGHT), |root| {
        let (nx, ny) = (h.xs.len(), h.ys.len());
        if nx == 0 || ny == 0 {
            return no_data(root, h.title);
        }
        let (main, bar_area) = root.split_horizontally(WIDTH - COLORBAR_W);
        let z = |xi: usize, yi: usize| {
            let v = h.z.get(yi).and_then(|r| r.get(xi)).copied();
            v.filter(|&v| ok(v))
        };
        let pass = |xi: usize, yi: usize| h.pass.get(yi).and_then(|r| r.get(xi)).copied().flatten();
        let cells = || (0..ny).flat_map(move |yi| (0..nx).map(move |xi| (xi, yi)));
        let (zmin, zmax) = cells()
            .filter_map(|(xi, yi)| z(xi, yi))
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                (a.min(v), b.max(v))
            });

        // Cell i spans [i, i+1]; ticks at cell centres.
        let label = |vals: &[f64], v: f64| {
            let i = (v - 0.5).round();
            if i >= 0.0 && (i as usize) < vals.len() {
                fmt_num(vals[i as usize])
            } else {
                String::new()
            }
        };
        let xfmt = |v: &f64| label(h.xs, *v);
        let yfmt = |v: &f64| label(h.ys, *v);
        let mut chart = ChartBuilder::on(&main)
            .caption(h.title, (FONT, 20))
            .margin(15)
            .margin_right(25)
            .x_label_area_size(42)
            .y_label_area_size(75)
            .build_cartesian_2d(CellAxis(nx), CellAxis(ny))
            .map_err(de)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_labels(20)
            .y_labels(20)
            .x_desc(h.x_label)
            .y_desc(h.y_label)
            .x_label_formatter(&xfmt)
            .y_label_formatter(&yfmt)
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 14))
            .draw()
            .map_err(de)?;

        let t = |v: f64| {
            if zmax > zmin {
                (v - zmin) / (zmax - zmin)
            } else {
                0.5
            }
        };
        let known = !h.pass.is_empty();
        let fill = |xi: usize, yi: usize| {
            z(xi, yi).map_or(RGBColor(245, 245, 245), |v| {
                ramp(t(v), if known { pass(xi, yi) } else { None })
            })
        };
        chart
            .draw_series(cells().map(|(xi, yi)| {
                let (x, y) = (xi as f64, yi as f64);
                Rectangle::new([(x, y), (x + 1.0, y + 1.0)], fill(xi, yi).filled())
            }))
            .map_err(de)?;
        // Thin white cell borders.
        chart
            .draw_series(cells().map(|(xi, yi)| {
                let (x, y) = (xi as f64, yi as f64);
                Rectangle::new([(x, y), (x + 1.0, y + 1.0)], WHITE.stroke_width(1))
            }))
            .map_err(de)?;

        let pa = chart.plotting_area().dim_in_pixel();
        let (cw, ch) = (pa.0 as f64 / nx as f64, pa.1 as f64 / ny as f64);
        let size = (cw / 5.5).min(ch / 3.0).min(16.0);
        if size >= 8.0 {
            chart
                .draw_series(cells().map(|(xi, yi)| {
                    let v = z(xi, yi);
                    let bg = fill(xi, yi);
                    let lum = 0.299 * bg.0 as f64 + 0.587 * bg.1 as f64 + 0.114 * bg.2 as f64;
                    let fg: &RGBColor = match v {
                        None => &REF_GREY,
                        Some(_) if lum > 140.0 => &BLACK,
                        Some(_) => &WHITE,
                    };
                    let style = TextStyle::from((FONT, size).into_font())
                        .color(fg)
                        .pos(Pos::new(HPos::Center, VPos::Center));
                    let at = (xi as f64 + 0.5, yi as f64 + 0.5);
                    let mut text = v.map_or("n/a".into(), fmt_num);
                    if known && v.is_some() {
                        match pass(xi, yi) {
                            Some(true) => text.push_str(" pass"),
                            Some(false) => text.push_str(" FAIL"),
                            None => {}
                        }
                    }
                    Text::new(text, at, style)
                }))
                .map_err(de)?;
        }
        draw_colorbar(&bar_area, zmin, zmax, known)
    })
}

/// The value scale beside a heatmap: one bar per colour family in use.
fn draw_colorbar(area: &Area, zmin: f64, zmax: f64, known: bool) -> Result<(), String> {
    if zmin.partial_cmp(&zmax).is_none_or(|o| o.is_gt()) {
        return Ok(());
    }
    let (lo, hi) = if zmax > zmin {
        (zmin, zmax)
    } else {
        (zmin - 0.5, zmax + 0.5)
    };
    let bars: Vec<(Option<bool>, &str)> = if known {
        vec![(Some(true), "pass"), (Some(false), "fail")]
    } else {
        vec![(None, "value")]
    };
    let nb = bars.len() as f64;
    let mut chart = ChartBuilder::on(area)
        .margin_top(60)
        .margin_bottom(82)
        .margin_right(20)
        .x_label_area_size(0)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..nb, lo..hi)
        .map_err(de)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .disable_x_axis()
        .y_labels(8)
        .y_label_formatter(&fmt_tick)
        .label_style((FONT, 13))
        .draw()
        .map_err(de)?;
    let style = TextStyle::from((FONT, 14).into_font())
        .color(&BLACK)
        .pos(Pos::new(HPos::Center, VPos::Bottom));
    chart
        .draw_series(bars.iter().enumerate().map(|(b, (_, name))| {
            EmptyElement::at((b as f64 + 0.5, hi))
                + Text::new(name.to_string(), (0, -8), style.clone())
        }))
        .map_err(de)?;
    const STEPS: usize = 64;
    for (b, (pass, _)) in bars.iter().enumerate() {
        let x = b as f64;
        chart
            .draw_series((0..STEPS).map(|k| {
                let a = lo + (hi - lo) * k as f64 / STEPS as f64;
                let z = lo + (hi - lo) * (k + 1) as f64 / STEPS as f64;
                let tt = (a - zmin) / (zmax - zmin).max(f64::MIN_POSITIVE);
                let tt = if zmax > zmin { tt } else { 0.5 };
                Rectangle::new([(x + 0.15, a), (x + 0.85, z)], ramp(tt, *pass).filled())
            }))
            .map_err(de)?;
    }
    Ok(())
}

/// Scatter: passing points as green circles, failing as red crosses, plus the Pareto front line;
/// front points carry their labels, other points too where a label fits without overlapping.
pub fn write_scatter_png(path: &Path, s: &Scatter) -> Result<(), String> {
    render(path, (WIDTH, SINGLE_HEIGHT), |root| {
        let (main, legend_area) = root.split_horizontally(WIDTH - LEGEND_W);
        let fin = |p: &(f64, f64, bool)| ok(p.0) && ok(p.1);
        let idx: Vec<usize> = (0..s.points.len()).filter(|&i| fin(&s.points[i])).collect();
        let pts: Vec<(f64, f64, bool)> = idx.iter().map(|&i| s.points[i]).collect();
        let (x0, x1) = axis_range(pts.iter().map(|p| p.0), 0.08);
        let (y0, y1) = axis_range2(pts.iter().map(|p| p.1), 0.08, 0.12);
        let mut chart = ChartBuilder::on(&main)
            .caption(s.title, (FONT, 20))
            .margin(15)
            .margin_right(25)
            .x_label_area_size(42)
            .y_label_area_size(75)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(de)?;
        chart
            .configure_mesh()
            .x_desc(s.x_label)
            .y_desc(s.y_label)
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 14))
            .x_label_formatter(&fmt_tick)
            .y_label_formatter(&fmt_tick)
            .max_light_lines(4)
            .light_line_style(MESH_LIGHT)
            .bold_line_style(MESH_BOLD)
            .draw()
            .map_err(de)?;

        let mut front: Vec<(f64, f64)> = s
            .front
            .iter()
            .filter_map(|&i| s.points.get(i))
            .filter(|p| fin(p))
            .map(|p| (p.0, p.1))
            .collect();
        front.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
        front.dedup();
        let front_color = RGBColor(60, 60, 60);
        let mut legend = Vec::new();
        let entry = |text: &str, color: RGBColor, marker: char| LegendEntry {
            text: text.into(),
            color,
            dashed: false,
            width: 2,
            marker,
        };
        if !front.is_empty() {
            chart
                .draw_series(LineSeries::new(front, front_color.stroke_width(2)))
                .map_err(de)?;
            legend.push(entry("Pareto front", front_color, '-'));
        }
        let green = RGBColor(0, 150, 60);
        let red = RGBColor(210, 30, 30);
        let pass = pts.iter().filter(|p| p.2);
        let fail = pts.iter().filter(|p| !p.2);
        if pass.clone().next().is_some() {
            chart
                .draw_series(pass.map(|p| Circle::new((p.0, p.1), 5, green.filled())))
                .map_err(de)?;
            legend.push(entry("pass (meets every target)", green, 'o'));
        }
        if fail.clone().next().is_some() {
            chart
                .draw_series(fail.map(|p| Cross::new((p.0, p.1), 5, red.stroke_width(2))))
                .map_err(de)?;
            legend.push(entry("fail", red, 'x'));
        }
        // Labels: front points first, then the rest, each at the first free spot around it.
        let style = TextStyle::from((FONT, 12).into_font()).color(&RGBColor(40, 40, 40));
        let mut order: Vec<usize> = s
            .front
            .iter()
            .copied()
            .filter(|i| idx.contains(i))
            .collect();
        order.extend(idx.iter().copied().filter(|i| !s.front.contains(i)));
        let mut placed: Vec<(i32, i32, i32, i32)> = pts
            .iter()
            .map(|p| {
                let (px, py) = chart.backend_coord(&(p.0, p.1));
                (px - 6, py - 6, px + 6, py + 6)
            })
            .collect();
        let (mw, mh) = main.dim_in_pixel();
        for i in order {
            let Some(text) = s.labels.get(i).filter(|t| !t.is_empty()) else {
                continue;
            };
            let p = s.points[i];
            let (px, py) = chart.backend_coord(&(p.0, p.1));
            // The full label where it fits, else its first word (e.g. `#5`) on a front point.
            let short = text.split(' ').next().unwrap_or(text).to_string();
            let mut tries = vec![text.clone()];
            if s.front.contains(&i) && short != *text {
                tries.push(short);
            }
            for text in tries {
                let (w, h) = main.estimate_text_size(&text, &style).map_err(de)?;
                let (w, h) = (w as i32, h as i32);
                let spots = [
                    (px + 8, py - h - 4),
                    (px + 8, py + 4),
                    (px - w - 8, py - h - 4),
                    (px - w - 8, py + 4),
                    (px - w / 2, py - h - 10),
                    (px - w / 2, py + 10),
                    (px + 8, py - h - 18),
                    (px + 8, py + 18),
                ];
                let free = spots.iter().copied().find(|&(x, y)| {
                    let r = (x, y, x + w, y + h);
                    x >= 0
                        && y >= 0
                        && r.2 <= mw as i32
                        && r.3 <= mh as i32
                        && placed
                            .iter()
                            .all(|q| r.2 < q.0 || q.2 < r.0 || r.3 < q.1 || q.3 < r.1)
                });
                if let Some((x, y)) = free {
                    main.draw(&Text::new(text, (x, y), style.clone()))
                        .map_err(de)?;
                    placed.push((x, y, x + w, y + h));
                    break;
                }
            }
        }
        draw_legend(&legend_area, &legend)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    /// A fresh, unique directory under the system temp dir.
    fn scratch(tag: &str) -> PathBuf {
        static N: AtomicU64 = AtomicU64::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let d = std::env::temp_dir().join(format!("surge-plot-{}-{tag}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    /// Checks the PNG signature and returns (width, height) from IHDR.
    fn png_dims(path: &Path) -> (u32, u32) {
        let b = fs::read(path).unwrap();
        assert!(b.len() > 24, "too short");
        assert_eq!(&b[..8], b"\x89PNG\r\n\x1a\n", "bad signature");
        assert_eq!(&b[12..16], b"IHDR");
        let w = u32::from_be_bytes(b[16..20].try_into().unwrap());
        let h = u32::from_be_bytes(b[20..24].try_into().unwrap());
        (w, h)
    }

    fn listing(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    fn chart<'a>(x: &'a [f64], series: Vec<Series<'a>>) -> Chart<'a> {
        Chart {
            title: "t",
            x_label: "x",
            y_label: "y",
            x,
            series,
            y2_label: None,
            series2: vec![],
            hlines: vec![],
        }
    }

    #[test]
    fn stacked_png_has_requested_size_and_no_temp_files() {
        let dir = scratch("stack");
        let x: Vec<f64> = (0..600).map(|i| i as f64).collect();
        let a: Vec<f64> = x.iter().map(|v| (v / 40.0).sin() * 300.0 + 400.0).collect();
        let mut b: Vec<f64> = x.iter().map(|v| (v / 25.0).cos() * 150.0 + 350.0).collect();
        b[200..260].iter_mut().for_each(|v| *v = f64::NAN);
        let pods: Vec<f64> = x.iter().map(|v| 3.0 + (v / 100.0).floor()).collect();
        let mut c1 = chart(
            &x,
            vec![
                Series::new("p50 latency", &a),
                Series::new("p95 latency", &b),
            ],
        );
        c1.hlines = vec![HLine {
            name: "target p95",
            value: 500.0,
            series: Some(1),
        }];
        let mut c2 = chart(&x, vec![Series::new("load", &a)]);
        c2.y2_label = Some("pods");
        c2.series2 = vec![Series::new("pods", &pods)];
        let p = dir.join("out.png");
        write_png(&p, &[c1, c2]).unwrap();
        assert_eq!(png_dims(&p), (1200, 700));
        assert_eq!(listing(&dir), vec!["out.png".to_string()]);
        // Overwrite in place also works and leaves no temp file.
        write_png(&p, &[chart(&x, vec![Series::new("a", &a)])]).unwrap();
        assert_eq!(png_dims(&p), (1200, 350));
        assert_eq!(listing(&dir), vec!["out.png".to_string()]);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn edge_cases_give_valid_pngs() {
        let dir = scratch("edge");
        let nan = [f64::NAN; 3];
        let x3 = [0.0, 1.0, 2.0];
        let cases: Vec<(&str, Vec<Chart>)> = vec![
            ("empty-x", vec![chart(&[], vec![Series::new("s", &[])])]),
            ("all-nan", vec![chart(&x3, vec![Series::new("s", &nan)])]),
            (
                "single",
                vec![chart(&[5.0], vec![Series::new("s", &[2.0])])],
            ),
            (
                "constant",
                vec![chart(&x3, vec![Series::new("s", &[7.0; 3])])],
            ),
            ("zeros", vec![chart(&x3, vec![Series::new("", &[0.0; 3])])]),
            ("nan-x", vec![chart(&nan, vec![Series::new("s", &x3)])]),
            ("mismatch", vec![chart(&x3, vec![Series::new("s", &[1.0])])]),
            (
                "huge",
                vec![chart(&x3, vec![Series::new("s", &[-1e308, 1e308, 0.0])])],
            ),
            (
                "wide",
                vec![chart(
                    &x3,
                    vec![Series::new("s", &[-1e299, 1e299, f64::INFINITY])],
                )],
            ),
            ("no-charts", vec![]),
        ];
        for (name, charts) in cases {
            let p = dir.join(format!("{name}.png"));
            write_png(&p, &charts).unwrap_or_else(|e| panic!("{name}: {e}"));
            let h = 350 * charts.len().max(1) as u32;
            assert_eq!(png_dims(&p), (1200, h), "{name}");
        }
        assert!(listing(&dir).iter().all(|f| !f.starts_with('.')));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn missing_directory_is_an_error_naming_the_path() {
        let dir = scratch("missing");
        let p = dir.join("nope").join("out.png");
        let x = [0.0, 1.0];
        let err = write_png(&p, &[chart(&x, vec![Series::new("s", &x)])])
            .expect_err("write into missing dir must fail");
        assert!(err.contains(&p.display().to_string()), "{err}");
        assert!(!p.exists());
        assert!(listing(&dir).is_empty());
        let err = write_scatter_png(
            &p,
            &Scatter {
                title: "s",
                x_label: "x",
                y_label: "y",
                points: &[],
                front: &[],
                labels: &[],
            },
        )
        .unwrap_err();
        assert!(err.contains(&p.display().to_string()), "{err}");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn failed_rename_removes_temp_file() {
        // The target is an existing directory: rendering succeeds, the rename fails.
        let dir = scratch("rename");
        let target = dir.join("taken.png");
        fs::create_dir(&target).unwrap();
        let x = [0.0, 1.0];
        let err = write_png(&target, &[chart(&x, vec![Series::new("s", &x)])])
            .expect_err("renaming onto a directory must fail");
        assert!(err.contains(&target.display().to_string()), "{err}");
        assert_eq!(listing(&dir), vec!["taken.png".to_string()]);
        assert!(target.is_dir());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn heatmap_scatter_error_bars_are_valid_pngs() {
        let dir = scratch("other");
        let xs = [1.0, 2.0, 4.0, 8.0];
        let ys = [0.5, 0.7, 0.9];
        let z: Vec<Vec<f64>> = ys
            .iter()
            .map(|y| xs.iter().map(|x| 100.0 * y / x).collect())
            .collect();
        let mut z2 = z.clone();
        z2[1][2] = f64::NAN;
        z2[2].truncate(1); // ragged row: missing cells = no data
        for (i, zz) in [z, z2, vec![]].iter().enumerate() {
            let p = dir.join(format!("heat{i}.png"));
            let h = Heatmap {
                title: "p95",
                x_label: "pods",
                y_label: "util",
                xs: &xs,
                ys: &ys,
                z: zz,
                pass: &[],
            };
            write_heatmap_png(&p, &h).unwrap();
            assert_eq!(png_dims(&p), (1200, 600));
        }
        let p = dir.join("heat-empty.png");
        let h = Heatmap {
            title: "p95",
            x_label: "x",
            y_label: "y",
            xs: &[],
            ys: &ys,
            z: &[],
            pass: &[],
        };
        write_heatmap_png(&p, &h).unwrap();
        assert_eq!(png_dims(&p), (1200, 600));

        let pts = [
            (10.0, 800.0, false),
            (12.0, 450.0, true),
            (15.0, 300.0, true),
            (20.0, 290.0, true),
            (14.0, 600.0, false),
            (f64::NAN, 1.0, true),
        ];
        for (i, (pts, front)) in [(&pts[..], &[3usize, 1, 2, 99][..]), (&[][..], &[][..])]
            .into_iter()
            .enumerate()
        {
            let p = dir.join(format!("scatter{i}.png"));
            let s = Scatter {
                title: "cost vs p95",
                x_label: "cost",
                y_label: "p95",
                points: pts,
                front,
                labels: &[],
            };
            write_scatter_png(&p, &s).unwrap();
            assert_eq!(png_dims(&p), (1200, 600));
        }

        let x = [1.0, 2.0, 3.0, 4.0];
        let mean = [10.0, 12.0, f64::NAN, 18.0];
        let hw = [1.0, f64::NAN, 2.0];
        let p = dir.join("eb.png");
        let eb = ErrorBars {
            title: "eb",
            x_label: "x",
            y_label: "y",
            x: &x,
            mean: &mean,
            half_width: &hw,
        };
        write_error_bars_png(&p, &eb).unwrap();
        assert_eq!(png_dims(&p), (1200, 600));
        let p = dir.join("eb-empty.png");
        let eb = ErrorBars {
            title: "eb",
            x_label: "x",
            y_label: "y",
            x: &[],
            mean: &[],
            half_width: &[],
        };
        write_error_bars_png(&p, &eb).unwrap();
        assert_eq!(png_dims(&p), (1200, 600));
        assert!(listing(&dir).iter().all(|f| !f.starts_with('.')));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn helpers_behave() {
        assert_eq!(axis_range([f64::NAN].into_iter(), 0.05), (0.0, 1.0));
        assert_eq!(axis_range([0.0].into_iter(), 0.0), (0.0, 1.0));
        assert_eq!(axis_range([0.0, 0.0].into_iter(), 0.05), (0.0, 1.0));
        assert_eq!(axis_range([10.0, 10.0].into_iter(), 0.0), (9.0, 11.0));
        assert_eq!(axis_range([0.0, 10.0].into_iter(), 0.1), (0.0, 11.0));
        assert_eq!(axis_range([-10.0, 0.0].into_iter(), 0.1), (-11.0, 1.0));
        let s = segments(
            &[0.0, 1.0, 2.0, 3.0, 4.0],
            &[1.0, f64::NAN, 2.0, 3.0, f64::NAN],
        );
        assert_eq!(s, vec![vec![(0.0, 1.0)], vec![(2.0, 2.0), (3.0, 3.0)]]);
        assert_eq!(fmt_num(1234.0), "1234");
        assert_eq!(fmt_num(12.34), "12.3");
        assert_eq!(fmt_num(0.125), "0.125");
        assert_eq!(fmt_num(2.0), "2");
        // Decimation keeps extremes and bounds the size.
        let seg: Vec<(f64, f64)> = (0..10_000).map(|i| (i as f64, (i % 97) as f64)).collect();
        let d = decimate(seg, 100);
        assert!(d.len() <= 400, "{}", d.len());
        assert_eq!(d.iter().map(|p| p.1).fold(f64::MIN, f64::max), 96.0);
        assert_eq!(d.iter().map(|p| p.1).fold(f64::MAX, f64::min), 0.0);
        assert_eq!(d.last().unwrap().0, 9999.0);
    }

    #[test]
    fn large_chart_renders_quickly() {
        let dir = scratch("perf");
        let x: Vec<f64> = (0..7200).map(|i| i as f64).collect();
        let ys: Vec<Vec<f64>> = (0..6)
            .map(|k| {
                x.iter()
                    .map(|v| ((v * (k + 1) as f64) / 300.0).sin() * 100.0 + 50.0 * k as f64)
                    .collect()
            })
            .collect();
        let series = ys
            .iter()
            .enumerate()
            .map(|(k, v)| Series::new(["a", "b", "c", "d", "e", "f"][k], v))
            .collect();
        let p = dir.join("big.png");
        let t = Instant::now();
        write_png(&p, &[chart(&x, series)]).unwrap();
        let el = t.elapsed();
        assert_eq!(png_dims(&p), (1200, 350));
        // Generous bound so debug builds pass; release is far faster.
        assert!(el.as_secs_f64() < 5.0, "{el:?}");
        eprintln!("7200x6 render: {el:?}");
        fs::remove_dir_all(&dir).unwrap();
    }
}
