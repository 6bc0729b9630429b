//! One module per command: its `Args` and its `run`.

pub mod calibrate;
pub mod compare;
pub mod import;
pub mod merge;
pub mod recommend;
pub mod run;
pub mod scenario;
pub mod sensitivity;
pub mod sweep;
pub mod tiers;
pub mod validate;

use models::run::MAX_SIMULATED;
use sim_core::SimDuration;

/// Parses `--max-time`: a Go-style duration of simulated time from 1m to
/// [`MAX_SIMULATED`] (720h, 30 days).
pub fn parse_sim_duration(s: &str) -> Result<SimDuration, String> {
    let secs = models::units::parse_secs(s)?;
    let most = MAX_SIMULATED.as_secs_f64();
    if secs < 60.0 {
        return Err(format!(
            "'{s}' is too short: give from 1m to {}h (30 days) of simulated time",
            most / 3600.0
        ));
    }
    if secs > most {
        return Err(format!(
            "'{s}' is longer than capsim simulates: give from 1m to {}h (30 days) of \
             simulated time",
            most / 3600.0
        ));
    }
    Ok(SimDuration::from_secs_f64(secs))
}

/// Parses `--clusters`: a whole number of workload clusters from 1 to 100,000.
pub fn parse_clusters(s: &str) -> Result<u32, String> {
    match s.trim().parse::<i64>() {
        Ok(n) if (1..=100_000).contains(&n) => Ok(n as u32),
        _ => Err(format!(
            "'{s}': must be a whole number of clusters from 1 to 100000"
        )),
    }
}

/// Parses `--control-plane-replicas`: 1, 3 or 5.
pub fn parse_cp_replicas(s: &str) -> Result<u32, String> {
    match s {
        "1" => Ok(1),
        "3" => Ok(3),
        "5" => Ok(5),
        _ => Err(format!(
            "'{s}': KubeadmControlPlane replicas must be 1, 3 or 5 (an odd etcd quorum)"
        )),
    }
}
