//! # models: a Cluster API management cluster on Nutanix, simulated on sim-core
//!
//! This crate will hold the domain of capsim (issue 3 onwards): the client-go rate limiter,
//! the controller-runtime workqueue, the CAPI, kubeadm and CAPX controllers, the API server
//! with Priority and Fairness, etcd, Prism Central, and the lifecycle of a workload cluster
//! from `Cluster` to running machines; then scenarios and tier presets.
//!
//! It depends on [`sim_core`] for time, events, random streams and statistics, and knows
//! nothing of terminals, files or charts: `sim-cli` does the presenting.
//!
//! For now it is empty: the engine it stands on is built and validated first.
