//! Errors the engine reports.

use thiserror::Error;

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
}
