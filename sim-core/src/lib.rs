//! # sim-core: a discrete-event simulation engine
//!
//! The engine under capsim. It knows nothing of Kubernetes: a domain crate defines a
//! [`Model`] (state plus an enum of events) and the engine runs it.
//!
//! - [`SimTime`] and [`SimDuration`]: integer nanoseconds, formatted for humans (`4m12s`).
//! - [`EventQueue`]: earliest first, first-in first-out among equal times, with cheap
//!   cancellation of timers.
//! - [`Simulation`]: the event loop, `run_until(t)`, `run()`, and a step budget that turns a
//!   runaway model into an error.
//! - [`cancel`]: a process-wide stop request (Ctrl-C) and per-run wall-clock deadlines
//!   that a run loop checks between steps, ending the run with [`SimError::Stopped`].
//! - [`RngStreams`]: one random stream per component from (seed, replica, component), so
//!   that changing one component leaves every other stream's draws unchanged.
//! - [`stats`]: mergeable latency histograms, time-weighted gauges, counters, and summaries
//!   across replicas with Student-t confidence intervals.
//! - [`MonteCarlo`]: replicas in parallel with rayon, results in replica order, so output
//!   never depends on the thread count.
//! - [`queueing`] and [`validation`]: M/M/c and M/D/1 stations and their closed forms, which
//!   show the engine right (`capsim validate`).
//!
//! ## Example: an M/M/1 queue against theory
//!
//! ```
//! use sim_core::queueing::{analytic, station};
//! use sim_core::RngStreams;
//!
//! let cfg = station::StationConfig {
//!     servers: 1,
//!     arrival_rate: 0.5, // λ [1/s]
//!     service: station::ServiceTime::Exponential { mean_s: 1.0 },
//!     customers: 100_000,
//!     warmup_customers: 10_000,
//! };
//! let result = station::simulate(cfg, &RngStreams::new(42, 0));
//! let theory = analytic::mmc_mean_wait(1, 0.5, 1.0); // ρ/(μ−λ) = 1 s
//! assert!((result.mean_wait_s - theory).abs() < 0.1);
//! ```

pub mod cancel;
mod error;
pub mod monte_carlo;
mod queue;
pub mod queueing;
pub mod rng;
mod simulation;
pub mod stats;
mod time;
pub mod validation;

pub use error::SimError;
pub use monte_carlo::{MonteCarlo, MonteCarloError, Replica};
pub use queue::{EventId, EventQueue};
pub use rng::{RngStreams, SimRng, StreamId};
pub use simulation::{Model, RunEnd, Scheduler, Simulation};
pub use time::{SimDuration, SimTime};
