//! Command-line interface: one subcommand per module in `cmd/`.

use clap::{Parser, Subcommand};

use crate::cmd;

/// Capacity simulator for Cluster API management clusters on Nutanix (NKP, CAPX, Prism
/// Central).
///
/// capsim is a discrete-event simulator: every figure it prints comes out of simulated
/// requests queueing at simulated resources, over Monte Carlo replicas.
#[derive(Debug, Parser)]
#[command(
    name = "capsim",
    version,
    propagate_version = true,
    after_help = "Examples:\n  \
        capsim run --clusters 200 --machines-per-cluster 25   # one fleet creation, explained\n  \
        capsim run --clusters 500 --set etcd.quota-backend-bytes=8Gi\n  \
        capsim sweep --clusters 100..2000 --replicas 3        # where the checklist breaks, and why\n  \
        capsim validate                                       # the engine against queueing theory\n\n\
        Exit status: 0 on success; 1 when what a command checks fails (validate, or run and \
        sweep with --fail-on-checklist); 2 on bad input or an error. Each command's --help \
        says which apply to it."
)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// capsim's commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a fleet of workload clusters on a simulated management cluster and report
    /// time to ready, every component's figures, the scale-testing checklist and the
    /// bottleneck.
    Run(cmd::run::Args),
    /// Monte Carlo across fleet sizes: R replicas per size, the probability that the
    /// checklist passes, the breaking point and its bottleneck; CSV and JSON outputs.
    Sweep(cmd::sweep::Args),
    /// Two designs on the same fleets with common random numbers: the paired difference
    /// B − A of every headline figure, with its confidence interval.
    Compare(cmd::compare::Args),
    /// Each knob an operator can change one step down and up from a configuration, on
    /// common random numbers: the change in fleet time and checklist margin, sorted, with a
    /// tornado chart.
    Sensitivity(cmd::sensitivity::Args),
    /// The cheapest configuration that passes the checklist and your targets for a fleet
    /// size: searched, verified on fresh streams, with its bill of materials, the kubectl
    /// patches that apply it and its margins.
    Recommend(cmd::recommend::Args),
    /// Check a scenario file or print a built-in preset as one.
    #[command(after_help = "Examples:\n  \
        capsim scenario check my.yaml\n  \
        capsim scenario show --tier large > large.yaml\n\n\
        Exit status: 0 when the scenario is valid (check) or printed (show), 2 on any error.")]
    Scenario(cmd::scenario::Args),
    /// Turn the managers' Deployments and the kube-apiserver and etcd pods, as kubectl
    /// prints them, into a scenario file.
    Import(cmd::import::Args),
    /// The guide's scale tiers: fleet ranges and key settings of the built-in presets.
    Tiers(cmd::tiers::Args),
    /// Check the simulation engine against queueing theory (Erlang C, Pollaczek–Khinchine,
    /// Little's law) and its own guarantees (FIFO ties, cancellation, determinism).
    Validate(cmd::validate::Args),
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_valid() {
        Cli::command().debug_assert();
    }

    /// Issue 13: every command, and every subcommand of one, says its exit codes.
    #[test]
    fn every_command_documents_its_exit_status() {
        fn check(cmd: &clap::Command, path: &str) {
            let help = cmd.get_after_help().map(|h| h.to_string());
            assert!(
                help.is_some_and(|h| h.contains("Exit status: ")),
                "`{path}` has no \"Exit status: ...\" paragraph in its --help"
            );
            for sub in cmd.get_subcommands() {
                check(sub, &format!("{path} {}", sub.get_name()));
            }
        }
        check(&Cli::command(), "capsim");
    }

    #[test]
    fn every_command_has_an_example_in_its_help() {
        let cli = Cli::command();
        for sub in cli.get_subcommands() {
            let help = sub
                .get_after_help()
                .map(|h| h.to_string())
                .unwrap_or_default();
            assert!(
                help.contains("capsim "),
                "`capsim {}` has no example",
                sub.get_name()
            );
        }
    }
}
