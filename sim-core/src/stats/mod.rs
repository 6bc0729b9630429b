//! Statistics collected during a run and summarised across replicas.
//!
//! - [`LatencyHistogram`]: quantiles of durations with bounded relative error, mergeable.
//! - [`TimeWeightedGauge`]: a level that changes over simulated time (queue length, seats in
//!   use, bytes stored): its time-average, maximum and time spent above a threshold.
//! - [`Counter`]: a count of occurrences.
//! - [`Summary`]: one figure across replicas: mean, spread, quantiles and a confidence
//!   interval from Student's t distribution.
//! - [`binomial`]: what k passes in n replicas show about a pass rate (Clopper–Pearson).
//! - [`difference`]: B − A between two designs, paired (common random numbers) or Welch.

pub mod binomial;
mod counter;
pub mod difference;
mod gauge;
mod histogram;
mod summary;

pub use counter::Counter;
pub use gauge::TimeWeightedGauge;
pub use histogram::LatencyHistogram;
pub use summary::{Summary, normal_quantile, quantile_sorted};
