//! One module per command: its `Args` and its `run`.

pub mod import;
pub mod run;
pub mod scenario;
pub mod sweep;
pub mod tiers;
pub mod validate;
