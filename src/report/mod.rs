//! Outputs of a run: the k6-shaped `summary.json`, CSV tables, PNG plots and the console
//! summary with its verdict table. Every file is written atomically.

mod charts;
mod console;
pub mod html;
pub mod plot;
pub mod readback;
pub mod scaling;
mod summary;
mod table;

pub use console::{console_summary, failed_targets};
pub use summary::{littles_law, summary_export, summary_json, Report, LITTLE_TOLERANCE};
pub use table::{endpoints_csv, timeseries_csv};

use crate::error::{Error, Result};
use std::io::Write;
use std::path::Path;

/// Write via a temporary file in the same directory and a rename, so an interrupted run never
/// leaves a half-written file behind.
/// Check, before a run, that `--flag path` can take a file: not a directory, and in a directory
/// that exists (or can be made). A bad path is a usage error found up front, not an I/O failure
/// after minutes of simulation.
pub fn check_output_file(flag: &str, path: &Path) -> Result<()> {
    if path.is_dir() {
        return Err(Error::Usage(format!(
            "{flag} {}: is a directory; expected a file path",
            path.display()
        )));
    }
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    if let Some(d) = dir {
        std::fs::create_dir_all(d).map_err(|e| {
            Error::Usage(format!(
                "{flag} {}: cannot create its directory {}: {e}",
                path.display(),
                d.display()
            ))
        })?;
    }
    Ok(())
}

/// The same for an output directory (`--out`): an existing path must be a directory.
pub fn check_output_dir(flag: &str, dir: &Path) -> Result<()> {
    if dir.exists() && !dir.is_dir() {
        return Err(Error::Usage(format!(
            "{flag} {}: exists and is not a directory; expected a directory for the outputs",
            dir.display()
        )));
    }
    Ok(())
}

pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let res = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = res {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(path, e));
    }
    Ok(())
}

/// Write every output of a run into `dir`.
pub fn write_run(dir: &Path, report: &Report) -> Result<Vec<String>> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut written = Vec::new();
    let mut put = |name: &str, bytes: &[u8]| -> Result<()> {
        write_atomic(&dir.join(name), bytes)?;
        written.push(name.to_string());
        Ok(())
    };
    let json = serde_json::to_string_pretty(&report.json).expect("json");
    put("summary.json", json.as_bytes())?;
    put(
        "timeseries.csv",
        timeseries_csv(report.result.timeseries()).as_bytes(),
    )?;
    put(
        "endpoints.csv",
        endpoints_csv(&report.result.metrics, report.secs()).as_bytes(),
    )?;
    if report.json["surge"]["autoscaling"]
        .as_object()
        .is_some_and(|o| !o.is_empty())
    {
        put(
            "scale_events.csv",
            scaling::scale_events_csv(&report.result.scale_events).as_bytes(),
        )?;
    }
    for name in charts::write_all(dir, report)? {
        written.push(name);
    }
    written.push(html::write(dir)?);
    Ok(written)
}
