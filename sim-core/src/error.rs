//! Errors the engine reports.

use thiserror::Error;

use crate::cancel::StopReason;
use crate::time::SimTime;

/// What can stop a simulation early.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SimError {
    /// The model handled more events than its budget allows: usually an event that
    /// reschedules itself without making progress.
    #[error(
        "simulation stopped after {budget} events at simulated time {at}: the step budget \
         was exceeded (a model that reschedules itself forever, or a budget set too low)"
    )]
    StepBudgetExceeded {
        /// The budget that was exceeded [events].
        budget: u64,
        /// When the first event over budget was due.
        at: SimTime,
    },
    /// The run was asked to stop from outside: an interrupt or a wall-clock limit
    /// ([`crate::cancel`]).
    #[error("the run stopped {reason} at simulated time {at}")]
    Stopped {
        /// Why it stopped.
        reason: StopReason,
        /// The simulated time it had reached.
        at: SimTime,
    },
    /// The run's configuration is invalid: a model's check that only a drawn value can
    /// fail (the words say which knob).
    #[error("the run's configuration is invalid: {0}")]
    InvalidConfig(String),
}
