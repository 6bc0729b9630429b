//! The Kubernetes API server: admission through API Priority and Fairness, per-request
//! CPU cost, and the watch fan-out of every write.

pub mod apf;
