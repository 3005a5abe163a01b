//! Temporary files left by writers that died. Every output is written atomically to a hidden
//! temp file named after the writing process (`.NAME.PID.tmp`, or `.NAME.PID.SEQ.tmp.png` for
//! plots; see `report::write_atomic`) and then renamed; a writer killed in between leaves its
//! temp file behind. A later run or a resumed sweep into the same folder removes those whose
//! process no longer exists, and never touches a live writer's.

use std::path::Path;

/// The writer's process id, if `name` is one of our temp files.
fn writer_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix('.')?;
    let rest = rest
        .strip_suffix(".tmp")
        .or_else(|| rest.strip_suffix(".tmp.png"))?;
    let mut parts = rest.rsplit('.');
    let last = parts.next()?;
    // `.NAME.PID.tmp` or `.NAME.PID.SEQ.tmp.png`: the pid is the last or the one before it.
    let pid = if name.ends_with(".tmp.png") {
        parts.next()?
    } else {
        last
    };
    parts.next()?; // a NAME must precede it
    pid.parse().ok()
}

/// Whether a process is running, judged by `/proc`; `None` where `/proc` is not available.
fn alive(pid: u32) -> Option<bool> {
    if !Path::new("/proc/self").exists() {
        return None;
    }
    Some(Path::new(&format!("/proc/{pid}")).exists())
}

/// Remove temp files in `dir` (not recursively) whose writer is gone. Returns how many were
/// removed; a folder that does not exist or cannot be read removes nothing.
pub fn remove_stale_temp_files(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let me = std::process::id();
    let mut removed = 0;
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name.to_str().and_then(writer_pid) else {
            continue;
        };
        if pid == me || alive(pid) != Some(false) {
            continue;
        }
        if e.file_type().is_ok_and(|t| t.is_file()) && std::fs::remove_file(e.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_temp_names() {
        assert_eq!(writer_pid(".summary.json.4242.tmp"), Some(4242));
        assert_eq!(writer_pid(".latency.png.77.3.tmp.png"), Some(77));
        assert_eq!(writer_pid(".p0003-r0001.json.12.tmp"), Some(12));
        assert_eq!(writer_pid("summary.json"), None);
        assert_eq!(writer_pid(".hidden"), None);
        assert_eq!(writer_pid(".x.notapid.tmp"), None);
        assert_eq!(writer_pid(".42.tmp"), None);
    }

    #[test]
    fn removes_only_dead_writers_files() {
        let d = tempfile::tempdir().unwrap();
        // A pid far above Linux's pid_max (4194304) is never alive.
        let dead = d.path().join(".summary.json.999999999.tmp");
        let mine = d
            .path()
            .join(format!(".summary.json.{}.tmp", std::process::id()));
        let plot = d.path().join(".latency.png.999999999.0.tmp.png");
        let keep = d.path().join("summary.json");
        for f in [&dead, &mine, &plot, &keep] {
            std::fs::write(f, b"x").unwrap();
        }
        if alive(1).is_none() {
            return; // no /proc: nothing can be judged dead
        }
        assert_eq!(remove_stale_temp_files(d.path()), 2);
        assert!(!dead.exists() && !plot.exists());
        assert!(mine.exists() && keep.exists());
    }
}
