//! One module per command: its `Args` and its `run`.

pub mod validate;
