//! The one enum of events the engine delivers. Events are small `Copy` values holding typed ids,
//! so the hot loop never allocates or dispatches through trait objects.

/// A request slot and its generation, so a stale reference to a recycled slot is detectable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReqRef {
    pub idx: u32,
    pub gen: u32,
}

/// A 4-byte tag with the fields after it (`repr(u32)`), so that a copy of an event moves whole
/// words: with the default layout (a 1-byte tag, fields from byte 1) the compiler copied the 15
/// bytes after the tag as two overlapping words, and the next load from the copy stalled on
/// store forwarding, twice per event (a third of the event loop's own time in `perf annotate`).
#[derive(Clone, Copy, Debug)]
#[repr(u32)]
pub enum Event {
    /// Close a time-series interval.
    Sample,
    // Workload (client side).
    ScenarioStart(u16),
    ScenarioEnd(u16),
    ScenarioHardEnd(u16),
    PlanStep {
        sc: u16,
        step: u32,
    },
    Arrival(u16),
    VuWake(u32),
    /// A VU's request got its `rps` token: send it.
    VuSend(u32),
    /// A VU's iteration, padded to `min_iteration_duration`, is over.
    VuPadded(u32),
    VuHardStop(u32),
    ClientTimeouts(u16),
    // System (server side).
    FcfsDone {
        station: u32,
        req: ReqRef,
    },
    PsDone {
        station: u32,
    },
    PoolTimeouts {
        pool: u32,
    },
    PodReady {
        pod: u32,
    },
    PodKill {
        pod: u32,
    },
    NodeReady {
        node: u32,
    },
    // Controllers.
    MetricsScrape,
    HpaSync {
        hpa: u16,
    },
    ClusterScan,
    AsgTick {
        asg: u16,
    },
    ReplicaTick {
        db: u16,
    },
    /// A request's timed wait (a delay step, a connect, a query's I/O, a confirmation) ended.
    Resume {
        req: ReqRef,
    },
    // Fields largest first: `repr(u32)` lays them out in this order.
    RpcReply {
        call: u32,
        gen: u32,
        ext: u16,
        provider: u8,
        result: u8,
    },
    RpcRetry {
        ext: u16,
        call: u32,
        gen: u32,
    },
    RpcHedge {
        ext: u16,
        call: u32,
        gen: u32,
    },
    /// A failed job's backoff ended: queue it again.
    JobRetry {
        queue: u16,
        job: u32,
    },
    /// A write-behind keyspace flushes its pending writes.
    CacheFlush {
        keyspace: u32,
    },
}

impl Event {
    /// Events the simulated system handles (the rest belong to the workload or the run loop).
    pub fn is_system(&self) -> bool {
        matches!(
            self,
            Event::FcfsDone { .. }
                | Event::PsDone { .. }
                | Event::PoolTimeouts { .. }
                | Event::Resume { .. }
                | Event::RpcReply { .. }
                | Event::RpcRetry { .. }
                | Event::RpcHedge { .. }
                | Event::JobRetry { .. }
                | Event::CacheFlush { .. }
                | Event::PodReady { .. }
                | Event::PodKill { .. }
                | Event::NodeReady { .. }
        )
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn events_stay_small() {
        assert!(std::mem::size_of::<super::Event>() <= 16);
    }
}
