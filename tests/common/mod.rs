//! Helpers shared by the integration tests that drive the `surge` binary.
#![allow(dead_code)] // each test crate uses its own subset

pub mod fuzzing;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn surge(args: &[&str], cwd: &Path) -> Output {
    surge_env(args, cwd, &[])
}

/// `surge` with these environment variables set. Variables that change surge's behaviour
/// (`ARTILLERY_DISABLE_ENSURE`) are otherwise removed, so the caller's shell cannot change a test.
pub fn surge_env(args: &[&str], cwd: &Path, env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_surge"));
    c.args(args)
        .current_dir(cwd)
        .env_remove("ARTILLERY_DISABLE_ENSURE");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run surge")
}

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh, empty directory `surge-<suite>-<name>-<pid>` under the system temp dir, removed
/// when the guard drops; a failing test (panicking) leaves it for inspection.
pub fn tmpdir(suite: &str, name: &str) -> TmpDir {
    let d = std::env::temp_dir().join(format!("surge-{suite}-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    TmpDir(d)
}

pub struct TmpDir(PathBuf);

impl std::ops::Deref for TmpDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for TmpDir {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TmpDir {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A short quickstart (20 s of ramping load) in `dir`, with its model beside it.
pub fn short_quickstart(dir: &Path) -> PathBuf {
    std::fs::copy(
        root().join("models/quickstart.yaml"),
        dir.join("model.yaml"),
    )
    .unwrap();
    let s = std::fs::read_to_string(root().join("scenarios/quickstart.yaml"))
        .unwrap()
        .replace("../models/quickstart.yaml", "model.yaml")
        .replace("{duration: 30s, target: 200}", "{duration: 5s, target: 60}")
        .replace(
            "{duration: 60s, target: 200}",
            "{duration: 10s, target: 60}",
        )
        .replace("{duration: 30s, target: 0}", "{duration: 5s, target: 0}");
    let p = dir.join("scenario.yaml");
    std::fs::write(&p, s).unwrap();
    p
}

/// One service of 4 pods with 64 cores each and one endpoint, `ping`, taking 1 ms of CPU: a
/// system that never queues, so a run shows the load generator alone.
pub const PING_MODEL: &str = "
entry: web
services:
  web:
    replicas: 4
    pod: {cores: 64}
    endpoints:
      ping:
        - cpu: const(1ms)
";

/// Erlang C: the probability that an arrival waits at an M/M/c queue with offered load
/// a = λ/μ < c (the oracle the queueing, job-queue and planning tests share).
pub fn erlang_c(c: u32, a: f64) -> f64 {
    assert!(a < c as f64, "unstable queue");
    // term_k = a^k / k!, accumulated iteratively to avoid overflow.
    let mut term = 1.0;
    let mut below = 0.0; // Σ_{k<c} a^k/k!
    for k in 0..c {
        below += term;
        term *= a / (k + 1) as f64;
    }
    // term is now a^c / c!.
    let top = term * c as f64 / (c as f64 - a);
    top / (below + top)
}

/// `surge` with a wall-clock bound: `None` when it had to be killed after `secs` seconds (a
/// hang), so that a regression fails the test instead of blocking the suite. Its output is
/// drained while it runs, so a long message cannot fill the pipe and stall it.
pub fn surge_within(args: &[&str], cwd: &Path, secs: u64) -> Option<Output> {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_surge"))
        .args(args)
        .current_dir(cwd)
        .env_remove("ARTILLERY_DISABLE_ENSURE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run surge");
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = r.read_to_end(&mut v);
            v
        })
    };
    let out = drain(Box::new(child.stdout.take().expect("stdout")));
    let err = drain(Box::new(child.stderr.take().expect("stderr")));
    let start = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait for surge") {
            return Some(Output {
                status,
                stdout: out.join().expect("stdout reader"),
                stderr: err.join().expect("stderr reader"),
            });
        }
        if start.elapsed() > std::time::Duration::from_secs(secs) {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
