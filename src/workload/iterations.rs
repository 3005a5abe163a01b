//! The iterations log (`surge run --iterations-log FILE`): one row per iteration with its
//! start and end in simulated nanoseconds, VU, scenario, flow and outcome. Rows are small
//! `Copy` values pushed onto one growing buffer, only when the log was asked for.

use crate::engine::Nanos;
use std::fmt::Write as _;

/// How an iteration ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Ran to its end (k6 `iterations`).
    Completed,
    /// Cut at a hard stop: gracefulStop or gracefulRampDown ran out.
    Interrupted,
    /// Never started (k6 `dropped_iterations`, Artillery `vusers.skipped`).
    Dropped,
    /// An Artillery VU ended by a transport error or timeout (`vusers.failed`).
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Completed => "completed",
            Outcome::Interrupted => "interrupted",
            Outcome::Dropped => "dropped",
            Outcome::Failed => "failed",
        }
    }
}

/// No VU or flow (a dropped iteration never had one).
pub const NONE: u32 = u32::MAX;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IterationRow {
    pub start: Nanos,
    pub end: Nanos,
    pub vu: u32,
    pub scenario: u16,
    pub flow: u16,
    pub outcome: Outcome,
}

impl IterationRow {
    pub fn new(start: Nanos, end: Nanos, vu: u32, scenario: u16, flow: u16, o: Outcome) -> Self {
        IterationRow {
            start,
            end,
            vu,
            scenario,
            flow,
            outcome: o,
        }
    }

    pub fn dropped(at: Nanos, scenario: u16) -> Self {
        IterationRow {
            start: at,
            end: at,
            vu: NONE,
            scenario,
            flow: u16::MAX,
            outcome: Outcome::Dropped,
        }
    }
}

/// The CSV text: `start_ns,end_ns,vu,scenario,flow,outcome`, rows in the order iterations
/// ended (dropped ones when they were dropped). VU and flow are empty for dropped rows.
/// Names are quoted when they contain a comma, quote or newline.
pub fn to_csv(rows: &[IterationRow], scenarios: &[String], flows: &[String]) -> String {
    fn field(out: &mut String, s: &str) {
        if s.contains([',', '"', '\n', '\r']) {
            out.push('"');
            out.push_str(&s.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(s);
        }
    }
    let mut out = String::with_capacity(32 + rows.len() * 48);
    out.push_str("start_ns,end_ns,vu,scenario,flow,outcome\n");
    for r in rows {
        let _ = write!(out, "{},{},", r.start, r.end);
        if r.vu != NONE {
            let _ = write!(out, "{}", r.vu);
        }
        out.push(',');
        field(
            &mut out,
            scenarios
                .get(r.scenario as usize)
                .map_or("", |s| s.as_str()),
        );
        out.push(',');
        if r.outcome != Outcome::Dropped {
            field(
                &mut out,
                flows.get(r.flow as usize).map_or("", |s| s.as_str()),
            );
        }
        out.push(',');
        out.push_str(r.outcome.as_str());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_and_quoting() {
        let rows = [
            IterationRow::new(5, 9, 3, 0, 1, Outcome::Completed),
            IterationRow::new(1, 20, 0, 1, 0, Outcome::Interrupted),
            IterationRow::dropped(7, 0),
        ];
        let csv = to_csv(
            &rows,
            &["a".into(), "b,c".into()],
            &["f".into(), "g\"h".into()],
        );
        assert_eq!(
            csv,
            "start_ns,end_ns,vu,scenario,flow,outcome\n\
             5,9,3,a,\"g\"\"h\",completed\n\
             1,20,0,\"b,c\",f,interrupted\n\
             7,7,,a,,dropped\n"
        );
    }
}
