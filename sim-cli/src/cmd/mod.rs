//! One module per command: its `Args` and its `run`.

pub mod run;
pub mod validate;
