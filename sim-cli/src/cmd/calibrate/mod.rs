//! `capsim calibrate`: capsim's estimated knobs fitted to a user's own cluster, and the
//! model's error against what the cluster recorded.

mod machines;
mod prometheus;

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::Outcome;

/// Arguments of `capsim calibrate`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    kubectl get machines -A -o json > machines.json\n  \
    capsim calibrate machines machines.json --tasks tasks.json --out calibrated.yaml\n  \
    capsim sweep --clusters 100..1000 --scenario calibrated.yaml --uncertainty\n  \
    capsim calibrate prometheus --scenario ran.yaml --start 2026-11-30T09:00:00Z *.json\n\n\
    docs/calibration.md gives the commands that collect the data.\n\n\
    Exit status: 0 when the fit or comparison is printed (and written), 2 on unreadable \
    input, when no Machine or task gives a time, or when the run fails.")]
pub struct Args {
    /// What to calibrate from.
    #[command(subcommand)]
    pub what: What,
}

/// The data a calibration reads.
#[derive(Debug, clap::Subcommand)]
pub enum What {
    /// Fit the phase times that the Machines' conditions show (kubectl get machines -A -o
    /// json), and with Prism Central's task list (--tasks) the VM operations' service
    /// times with the wait for a task slot taken out.
    #[command(after_help = machines::AFTER_HELP)]
    Machines(machines::Args),
    /// Compare the management cluster's Prometheus series (query_range answers of the
    /// guide's alert metrics) with capsim's over the same workload: the error per series,
    /// overall and at the peaks.
    #[command(after_help = prometheus::after_help())]
    Prometheus(prometheus::Args),
}

/// How a calibration is printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A table for people.
    Table,
    /// JSON.
    Json,
}

/// Runs `capsim calibrate`.
pub fn run(args: &Args) -> anyhow::Result<Outcome> {
    match &args.what {
        What::Machines(a) => machines::run(a),
        What::Prometheus(a) => prometheus::run(a),
    }
}

/// Reads `path` as text, naming it when it cannot.
fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("{}: cannot read", path.display()))
}

/// Writes `text` to `path` whole or not at all (through a partial file renamed).
fn write_whole(path: &PathBuf, text: &str) -> anyhow::Result<()> {
    let tmp = path.with_extension("partial");
    std::fs::write(&tmp, text).with_context(|| format!("{}: cannot write", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("{}: cannot write", path.display()))
}
