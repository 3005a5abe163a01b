//! The discrete-event engine: integer-nanosecond clock, a FIFO-stable future-event queue
//! with cancellable timers, and value-stable random streams.

mod calendar;
mod fel;
mod queue;
mod rng;
mod time;

pub use fel::{hold, DaryHeap, FelKind, Keyed};
pub use queue::{prefetch, EventQueue, TimerId};
pub use rng::{stream, Rng64};
pub use time::{ns_to_ms, ns_to_secs, secs_to_ns, Nanos, MS, SEC};
