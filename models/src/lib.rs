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
pub mod calibrate;
pub mod controllers;
pub mod dist;
pub mod etcd;
pub mod federation;
pub mod in_memory_cloud;
pub mod kinds;
pub mod objects;
pub mod prism_central;
pub mod prometheus;
pub mod providers;
pub mod recipe;
pub mod recommend;
pub mod run;
pub mod scenario;
pub mod units;
pub mod world;
