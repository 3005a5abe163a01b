//! The result tables, built as polars DataFrames and written as Parquet and CSV:
//! `runs` (one row per point × replication), `points` (aggregates per point) and `bands`
//! (time-series bands per point). Rows are in (point, replication) order, so the same runs
//! give the same bytes however they were scheduled, sharded or resumed.

use super::params::{PValue, Param};
use super::points::{bands, metric_columns, target_names, PointStats};
use super::row::Row;
use crate::error::{Error, Result};
use crate::report::write_atomic;
use polars::prelude::*;
use std::path::Path;

fn col_f64(name: &str, v: Vec<Option<f64>>) -> Column {
    // NaN is "no data": a null, not a number.
    let v: Vec<Option<f64>> = v.into_iter().map(|x| x.filter(|y| y.is_finite())).collect();
    Column::new(name.into(), v)
}

/// One column per parameter: numbers stay numbers, enumerated values are text.
fn param_columns(params: &[Param], points: &[Vec<PValue>], which: &[usize]) -> Vec<Column> {
    params
        .iter()
        .enumerate()
        .map(|(k, p)| {
            if p.numeric() {
                let v: Vec<Option<f64>> = which.iter().map(|&i| points[i][k].as_f64()).collect();
                col_f64(&p.path, v)
            } else {
                let v: Vec<String> = which.iter().map(|&i| points[i][k].to_string()).collect();
                Column::new(p.path.as_str().into(), v)
            }
        })
        .collect()
}

fn frame(height: usize, cols: Vec<Column>) -> Result<DataFrame> {
    DataFrame::new(height, cols).map_err(|e| Error::Usage(format!("internal: table: {e}")))
}

pub fn runs_frame(params: &[Param], points: &[Vec<PValue>], rows: &[Row]) -> Result<DataFrame> {
    let which: Vec<usize> = rows.iter().map(|r| r.point).collect();
    let mut cols = vec![
        Column::new(
            "point".into(),
            rows.iter().map(|r| r.point as u32).collect::<Vec<_>>(),
        ),
        Column::new(
            "replication".into(),
            rows.iter().map(|r| r.replication).collect::<Vec<_>>(),
        ),
    ];
    cols.extend(param_columns(params, points, &which));
    for m in metric_columns(rows) {
        cols.push(col_f64(&m, rows.iter().map(|r| r.metric(&m)).collect()));
    }
    for t in target_names(rows) {
        let of = |r: &Row| r.targets.iter().find(|x| x.name == t).cloned();
        cols.push(col_f64(
            &format!("target:{t}"),
            rows.iter()
                .map(|r| of(r).and_then(|x| x.measured))
                .collect(),
        ));
        cols.push(Column::new(
            format!("pass:{t}").as_str().into(),
            rows.iter()
                .map(|r| of(r).is_some_and(|x| x.pass))
                .collect::<Vec<bool>>(),
        ));
    }
    cols.push(Column::new(
        "pass_all".into(),
        rows.iter().map(|r| r.passed()).collect::<Vec<bool>>(),
    ));
    // Runs that ended early (surge plan): when, and why. Absent when none did, so a sweep's
    // tables keep their columns.
    if rows.iter().any(|r| r.stop.is_some()) {
        cols.push(col_f64(
            "stopped_at_s",
            rows.iter()
                .map(|r| r.stop.as_ref().map(|s| s.at_s))
                .collect(),
        ));
        cols.push(Column::new(
            "stopped_by".into(),
            rows.iter()
                .map(|r| r.stop.as_ref().map(|s| s.by.clone()))
                .collect::<Vec<Option<String>>>(),
        ));
    }
    frame(rows.len(), cols)
}

pub fn points_frame(
    params: &[Param],
    points: &[Vec<PValue>],
    stats: &[PointStats],
) -> Result<DataFrame> {
    let which: Vec<usize> = stats.iter().map(|s| s.point).collect();
    let mut cols = vec![
        Column::new(
            "point".into(),
            which.iter().map(|&p| p as u32).collect::<Vec<_>>(),
        ),
        Column::new(
            "replications".into(),
            stats
                .iter()
                .map(|s| s.replications as u32)
                .collect::<Vec<_>>(),
        ),
    ];
    cols.extend(param_columns(params, points, &which));
    if let Some(first) = stats.first() {
        for (k, (name, _)) in first.p_pass.iter().enumerate() {
            cols.push(col_f64(
                &format!("p_pass:{name}"),
                stats.iter().map(|s| Some(s.p_pass[k].1)).collect(),
            ));
        }
        cols.push(col_f64(
            "p_pass_all",
            stats.iter().map(|s| Some(s.p_all)).collect(),
        ));
        for (k, (name, _)) in first.metrics.iter().enumerate() {
            let get = |f: &dyn Fn(&super::stats::Interval) -> f64| {
                stats.iter().map(|s| Some(f(&s.metrics[k].1))).collect()
            };
            cols.push(col_f64(&format!("{name}.mean"), get(&|i| i.mean)));
            let clamp = |v: f64, hi: bool| {
                let (l, h) = super::plots::clamp_band(name, v, v);
                if hi {
                    h
                } else {
                    l
                }
            };
            cols.push(col_f64(
                &format!("{name}.ci_lo"),
                get(&|i| clamp(i.lo(), false)),
            ));
            cols.push(col_f64(
                &format!("{name}.ci_hi"),
                get(&|i| clamp(i.hi(), true)),
            ));
        }
    }
    frame(stats.len(), cols)
}

/// Long format: one row per (point, time bucket, column).
pub fn bands_frame(rows: &[Row]) -> Result<DataFrame> {
    let (mut point, mut t, mut col, mut n, mut mean, mut lo, mut hi) = (
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
    );
    for group in rows.chunk_by(|a, b| a.point == b.point) {
        for (ts, c, i) in bands(group) {
            point.push(group[0].point as u32);
            t.push(Some(ts));
            n.push(i.n as u32);
            mean.push(Some(i.mean));
            let (l, h) = super::plots::clamp_band(&c, i.lo(), i.hi());
            lo.push(Some(l));
            hi.push(Some(h));
            col.push(c);
        }
    }
    let h = point.len();
    frame(
        h,
        vec![
            Column::new("point".into(), point),
            col_f64("t_s", t),
            Column::new("column".into(), col),
            Column::new("replications".into(), n),
            col_f64("mean", mean),
            col_f64("ci_lo", lo),
            col_f64("ci_hi", hi),
        ],
    )
}

fn io(path: &Path) -> impl Fn(PolarsError) -> Error + '_ {
    move |e| Error::io(path, e)
}

pub fn write_csv(path: &Path, df: &mut DataFrame) -> Result<()> {
    let mut buf = Vec::new();
    CsvWriter::new(&mut buf)
        .include_header(true)
        .finish(df)
        .map_err(io(path))?;
    write_atomic(path, &buf)
}

pub fn write_parquet(path: &Path, df: &mut DataFrame) -> Result<()> {
    let mut buf = Vec::new();
    ParquetWriter::new(&mut buf).finish(df).map_err(io(path))?;
    write_atomic(path, &buf)
}

/// `dir/name.parquet` and `dir/name.csv`.
pub fn write_both(dir: &Path, name: &str, df: &mut DataFrame) -> Result<Vec<String>> {
    write_parquet(&dir.join(format!("{name}.parquet")), df)?;
    write_csv(&dir.join(format!("{name}.csv")), df)?;
    Ok(vec![format!("{name}.parquet"), format!("{name}.csv")])
}
