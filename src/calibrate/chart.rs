//! prediction.png: measured points (fit filled, hold-out hollow) against the calibrated model's
//! curve, throughput and mean latency across load, on log-scaled load.

use crate::report::plot::render;
use plotters::prelude::*;
use std::path::Path;

/// `measured`: (load, X, R ms, hold-out); `curve`: (load, X, R ms).
pub fn draw(
    path: &Path,
    measured: &[(f64, f64, f64, bool)],
    curve: &[(f64, f64, f64)],
    x_label: &str,
) -> Result<(), String> {
    let de = |e: &dyn std::fmt::Display| e.to_string();
    render(path, (1100, 480), |area| {
        area.fill(&WHITE).map_err(|e| de(&e))?;
        let panels = area.split_evenly((1, 2));
        let loads = measured
            .iter()
            .map(|m| m.0)
            .chain(curve.iter().map(|c| c.0));
        let lo = loads.clone().fold(f64::INFINITY, f64::min).max(1e-9);
        let hi = loads.fold(0.0, f64::max).max(lo * 1.01);
        let (x0, x1) = (lo / 1.15, hi * 1.15);
        for (k, panel) in panels.iter().enumerate() {
            let pick = |a: f64, b: f64| if k == 0 { a } else { b };
            let ys = measured
                .iter()
                .map(|m| pick(m.1, m.2))
                .chain(curve.iter().map(|c| pick(c.1, c.2)))
                .filter(|v| v.is_finite());
            let ymax = ys.fold(0.0, f64::max).max(1e-9) * 1.12;
            let title = if k == 0 {
                "Throughput (req/s): measured vs calibrated"
            } else {
                "Mean latency (ms): measured vs calibrated"
            };
            let mut chart = ChartBuilder::on(panel)
                .caption(title, ("sans-serif", 17))
                .margin(12)
                .x_label_area_size(40)
                .y_label_area_size(60)
                .build_cartesian_2d((x0..x1).log_scale(), 0.0..ymax)
                .map_err(|e| de(&e))?;
            chart
                .configure_mesh()
                .x_desc(x_label)
                .y_desc(if k == 0 { "req/s" } else { "ms" })
                .light_line_style(WHITE.mix(0.0))
                .draw()
                .map_err(|e| de(&e))?;
            chart
                .draw_series(LineSeries::new(
                    curve
                        .iter()
                        .filter(|c| pick(c.1, c.2).is_finite())
                        .map(|c| (c.0, pick(c.1, c.2))),
                    BLUE.stroke_width(2),
                ))
                .map_err(|e| de(&e))?
                .label("calibrated model")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BLUE.stroke_width(2)));
            chart
                .draw_series(
                    measured
                        .iter()
                        .filter(|m| !m.3)
                        .map(|m| Circle::new((m.0, pick(m.1, m.2)), 5, BLACK.filled())),
                )
                .map_err(|e| de(&e))?
                .label("measured (fitted)")
                .legend(|(x, y)| Circle::new((x + 9, y), 5, BLACK.filled()));
            chart
                .draw_series(
                    measured
                        .iter()
                        .filter(|m| m.3)
                        .map(|m| Circle::new((m.0, pick(m.1, m.2)), 6, RED.stroke_width(2))),
                )
                .map_err(|e| de(&e))?
                .label("measured (hold-out)")
                .legend(|(x, y)| Circle::new((x + 9, y), 6, RED.stroke_width(2)));
            chart
                .configure_series_labels()
                .position(if k == 0 {
                    SeriesLabelPosition::LowerRight
                } else {
                    SeriesLabelPosition::UpperLeft
                })
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK.mix(0.3))
                .label_font(("sans-serif", 13))
                .draw()
                .map_err(|e| de(&e))?;
        }
        Ok(())
    })
}
