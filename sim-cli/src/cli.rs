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
    version = VERSION,
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
    /// Print nothing on stderr but errors: no progress line or bar, no notes.
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// capsim's version and the commit it was built from (`unknown` outside a git checkout).
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("CAPSIM_COMMIT"),
    ")"
);

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
    /// Combine the shards of a sweep (capsim sweep --shard I/N) into the outputs of one.
    Merge(cmd::merge::Args),
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
    /// Fit capsim's estimated phase times to your own cluster's Machines (kubectl JSON),
    /// with the fit's error, and write them as a scenario overlay.
    Calibrate(cmd::calibrate::Args),
    /// Check the simulation engine against queueing theory (Erlang C, Pollaczek–Khinchine,
    /// Little's law) and its own guarantees (FIFO ties, cancellation, determinism).
    Validate(cmd::validate::Args),
    /// Print a shell completion script for bash, zsh, fish, elvish or PowerShell.
    #[command(after_help = "Examples:\n  \
        capsim completions bash > ~/.local/share/bash-completion/completions/capsim\n  \
        capsim completions zsh > ~/.zfunc/_capsim      # with fpath+=~/.zfunc before compinit\n  \
        capsim completions fish > ~/.config/fish/completions/capsim.fish\n\n\
        Exit status: 0 when the script is printed, 2 on an unknown shell.")]
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print capsim's man page (roff), or one command's.
    #[command(after_help = "Examples:\n  \
        capsim man > capsim.1 && man ./capsim.1\n  \
        capsim man sweep > capsim-sweep.1\n  \
        for c in run sweep compare sensitivity recommend; do capsim man $c | gzip > /usr/local/share/man/man1/capsim-$c.1.gz; done\n\n\
        Exit status: 0 when the page is printed, 2 on an unknown command or if it cannot be written.")]
    Man {
        /// A command (run, sweep, ...) [default: capsim's own page, listing them].
        command: Option<String>,
    },
}

/// Prints the completion script for `shell` to stdout.
pub fn completions(shell: clap_complete::Shell) {
    let mut cmd = <Cli as clap::CommandFactory>::command();
    clap_complete::generate(shell, &mut cmd, "capsim", &mut std::io::stdout());
}

/// Prints the man page of capsim, or of one of its commands.
pub fn man(command: Option<&str>) -> anyhow::Result<()> {
    let mut cmd = <Cli as clap::CommandFactory>::command();
    cmd.build();
    let mut out = std::io::stdout().lock();
    match command {
        None => clap_mangen::Man::new(cmd).render(&mut out)?,
        Some(name) => {
            let Some(sub) = cmd.find_subcommand(name) else {
                let names: Vec<&str> = cmd.get_subcommands().map(|s| s.get_name()).collect();
                anyhow::bail!("{name}: not a command; one of {}", names.join(", "));
            };
            clap_mangen::Man::new(sub.clone())
                .title(format!("capsim-{name}"))
                .render(&mut out)?;
        }
    }
    Ok(())
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
