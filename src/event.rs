//! The one enum of events the engine delivers. Events are small `Copy` values holding typed ids,
//! so the hot loop never allocates or dispatches through trait objects.

/// A request slot and its generation, so a stale reference to a recycled slot is detectable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReqRef {
    pub idx: u32,
    pub gen: u32,
}

#[derive(Clone, Copy, Debug)]
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
    ExternalDone {
        req: ReqRef,
        ok: bool,
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
}
