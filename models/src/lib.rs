//! # models: a Cluster API management cluster on Nutanix, simulated on sim-core
//!
//! The domain of capsim: the client-go rate limiter, the controller-runtime workqueue,
//! the CAPI, kubeadm and CAPX controllers, the API server with Priority and Fairness,
//! etcd, Prism Central, and the lifecycle of a workload cluster from `Cluster` to running
//! machines.
//!
//! It depends on [`sim_core`] for time, events, random streams and statistics, and knows
//! nothing of terminals, files or charts: `sim-cli` does the presenting.

pub mod apiserver;
pub mod config;
pub mod controllers;
pub mod dist;
pub mod etcd;
pub mod faults;
pub mod fleet;
pub mod import;
pub mod operations;
pub mod presets;
pub mod prism_central;
pub mod rate_limiter;
pub mod reconcile;
pub mod relief;
pub mod report;
pub mod run;
pub mod scenario;
pub mod slab;
pub mod steady;
pub mod sweep;
pub mod topology;
pub mod units;
pub mod workqueue;
pub mod world;
