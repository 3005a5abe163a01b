//! Flows compiled to flat programs: loops become jump ops with per-VU counters, so running a
//! flow needs no allocation and no recursion.

use crate::config::routes::Call;
use crate::config::scenario::FlowStep;
use crate::dist::Dist;

pub const MAX_LOOP_DEPTH: usize = 4;

#[derive(Clone, Debug)]
pub enum Op {
    /// A request to a system endpoint (global endpoint index).
    Request(u32),
    Sleep(Dist),
    LoopStart {
        count: u32,
        depth: u8,
    },
    LoopEnd {
        start: u16,
        depth: u8,
    },
}

#[derive(Clone, Debug)]
pub struct Program {
    pub name: String,
    pub weight: f64,
    pub ops: Vec<Op>,
}

/// `resolve` maps a flow's call to a system endpoint index (validated beforehand).
pub fn compile(steps: &[FlowStep], resolve: &dyn Fn(&Call) -> u32) -> Vec<Op> {
    fn go(steps: &[FlowStep], depth: u8, resolve: &dyn Fn(&Call) -> u32, ops: &mut Vec<Op>) {
        for s in steps {
            match s {
                FlowStep::Request(t) => ops.push(Op::Request(resolve(t))),
                FlowStep::Sleep(d) => ops.push(Op::Sleep(d.clone())),
                FlowStep::Loop(l) => {
                    let start = ops.len() as u16;
                    ops.push(Op::LoopStart {
                        count: l.count,
                        depth,
                    });
                    go(&l.steps, depth + 1, resolve, ops);
                    ops.push(Op::LoopEnd { start, depth });
                }
            }
        }
    }
    let mut ops = Vec::new();
    go(steps, 0, resolve, &mut ops);
    ops
}
