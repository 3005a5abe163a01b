//! Exact queueing solutions for networks with load-dependent (LD) stations: the oracles of the
//! simulator's exactness tests and the fast surrogate that seeds `surge calibrate`.
//!
//! The semantics and every oracle figure are those of `shared/reference/calibration.md` §1–§2.
//! Nothing here knows about config types: a station is a demand and a capacity curve.
//!
//! - [`Capacity`]: the total speed c(n) of a station with n jobs present (§1): multi-server
//!   `min(n, c)`, Gunther's USL, inflated demand, a measured table, or a fixed-rate queue.
//! - [`Station`]: demand D = V·S (seconds of work per request at unit speed) and a capacity.
//!   Delay (infinite-server) stations are folded into the think time Z: a pure delay of d seconds
//!   per request adds d to Z.
//! - [`closed`]: a closed single-class network (think time Z plus stations) for N = 1..=n_max by
//!   convolution (§2.3) in log space: throughput X(N), response R(N) = N/X − Z, and per station
//!   the mean queue, residence time, busy servers E[min(n, c)], useful speed E[c(n)] and the
//!   idle probability. [`closed_x`] is the throughput-only fast path for fitting;
//!   [`marginals`] gives p_k(j | N) = f_k(j)·G₋ₖ(N − j)/G(N).
//! - [`ld_mva`]: Reiser–Lavenberg LD-MVA (§2.2), kept as a cross-check only. It is **unstable**:
//!   p(0 | n) = 1 − Σ p(j | n) cancels once p(0) is tiny (a multi-server station near
//!   saturation), and R goes wrong, even negative, by N ≈ 50 for S = 4, Z = 10, c = 8.
//! - [`flow_equivalent`] / [`flow_equivalent_station`]: the flow-equivalent server of a
//!   subnetwork (§2.4).
//! - [`open_birth_death`]: an open station with state-dependent rates (§2.5), with the exact
//!   geometric tail where c(n) is constant from some n on; [`open_ps_host`]: several classes
//!   sharing one processor-sharing host.
//! - [`usl_seed`] and [`usl_peak`]: Gunther's regression as a starting point for a fit (§1).
//!
//! Exactness: product form, so exact for processor sharing and infinite-server stations with any
//! service distribution, and for FCFS stations only with exponential service (§2 "Scope").
//!
//! Numerics: every sum of positive terms is done in log space (log-sum-exp), so there is no
//! cancellation and no overflow: the normalising constants of N = several hundred span thousands
//! of orders of magnitude. Cost: O(K·N²) for K load-dependent stations (O(K·N) for stations of
//! constant capacity, by Buzen's recursion); [`closed`] adds O(K·N²) for the per-station
//! statistics.
//!
//! ```
//! use surge::analytic::{closed, Capacity, Station};
//! // Machine repairman: think 1 s, one 2-server station with S = 1 s (calibration.md §2.1 A).
//! let st = [Station::new(1.0, Capacity::MultiServer { c: 2.0 })];
//! let pts = closed(1.0, &st, 5).unwrap();
//! assert!((pts[2].x - 24.0 / 17.0).abs() < 1e-12);
//! ```

mod capacity;
mod closed;
mod logspace;
mod open;
mod usl;

pub use capacity::Capacity;
pub use closed::{
    closed, closed_x, flow_equivalent, flow_equivalent_station, ld_mva, marginals, ClosedPoint,
    StationPoint,
};
pub use open::{open_birth_death, open_ps_host, OpenPoint};
pub use usl::{usl_peak, usl_seed, UslSeed};

/// A queueing station of a closed or open network.
#[derive(Clone, Debug, PartialEq)]
pub struct Station {
    /// D = V·S: seconds of work per request at unit speed (visits × mean work per visit).
    pub demand: f64,
    /// Total speed c(n) with n jobs present.
    pub cap: Capacity,
}

impl Station {
    pub fn new(demand: f64, cap: Capacity) -> Self {
        Station { demand, cap }
    }

    /// A fixed-rate (single-server, c ≡ 1) queue.
    pub fn fixed(demand: f64) -> Self {
        Station::new(demand, Capacity::Fixed)
    }

    /// Checks the demand (finite, ≥ 0) and the capacity; `what` names the station in the error.
    pub fn validate(&self, what: &str) -> Result<(), String> {
        if !(self.demand.is_finite() && self.demand >= 0.0) {
            return Err(format!(
                "{what}: demand must be a finite number ≥ 0 seconds, got {}",
                self.demand
            ));
        }
        self.cap.validate().map_err(|e| format!("{what}: {e}"))
    }
}
