//! `capsim scenario check FILE` and `capsim scenario show --tier T`.

use std::path::Path;

use models::scenario::presets::{self, Override, Profile, Tier};
use models::scenario::workload::{CreateOp, Operation};
use models::scenario::{self, Scenario};

use crate::Outcome;
use crate::cmd::run::TierArg;
use crate::input;

/// Arguments of `capsim scenario`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Validate a scenario file and print it fully resolved (defaults filled in).
    #[command(after_help = "Examples:\n  \
        capsim scenario check scenarios/medium-batches.yaml\n  \
        capsim scenario check my.yaml --set etcd.quota-backend-bytes=8Gi > resolved.yaml\n\n\
Errors name the file, the line, the field, the value and what is allowed; an unknown key \
lists the nearest valid ones. A file holds at most 16 MiB.\n\n\
Exit status: 0 when the scenario is valid (it is printed resolved), 2 on any error in it, \
its --set values or reading it.")]
    Check {
        /// The scenario file.
        file: std::path::PathBuf,
        /// Override a knob: KEY=VALUE (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        sets: Vec<Override>,
    },
    /// Print a built-in preset as a scenario file to start from.
    #[command(after_help = "Examples:\n  \
        capsim scenario show --tier large > large.yaml\n  \
        capsim scenario show --defaults capi-1.13\n\n\
Exit status: 0 when the preset is printed, 2 on a bad argument.")]
    Show {
        /// The guide's tier; none for the bare defaults profile.
        #[arg(long, value_enum)]
        tier: Option<TierArg>,
        /// The defaults profile under the tier.
        #[arg(long, value_enum, default_value_t = ProfileArg::Capi112)]
        defaults: ProfileArg,
    },
}

/// Defaults profiles, as the CLI spells them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ProfileArg {
    /// CAPI v1.12 / controller-runtime v0.22.
    #[value(name = "capi-1.12")]
    Capi112,
    /// CAPI v1.13 / controller-runtime v0.23.
    #[value(name = "capi-1.13")]
    Capi113,
}

/// Reads and resolves a scenario file.
pub fn load_file(path: &Path, sets: &[Override]) -> anyhow::Result<Scenario> {
    let text = input::read_text(path, input::Kind::Scenario)?;
    Ok(scenario::load(&path.display().to_string(), &text, sets)?)
}

/// Runs `capsim scenario`.
pub fn run(args: &Args) -> anyhow::Result<Outcome> {
    match &args.command {
        Command::Check { file, sets } => {
            if let Some(o) = sets.iter().find(|o| o.values().len() > 1) {
                anyhow::bail!(
                    "--set {}={}: a list of values sweeps a knob; scenario check takes one \
                     value (capsim sweep --scenario {} --set {}={} runs each)",
                    o.key,
                    o.value,
                    file.display(),
                    o.key,
                    o.value
                );
            }
            let s = load_file(file, sets)?;
            print!("{}", scenario::to_yaml(&s));
        }
        Command::Show { tier, defaults } => {
            let profile = match defaults {
                ProfileArg::Capi112 => Profile::Capi112,
                ProfileArg::Capi113 => Profile::Capi113,
            };
            let tier = tier.map(Tier::from);
            let config = presets::resolve_layers(profile, tier, None, &[])?;
            let clusters = tier.map_or(10, |t| t.fleet_range().0.max(10));
            let s = Scenario {
                name: Some(match tier {
                    Some(t) => format!("{}-tier", t.name()),
                    None => profile.name().to_string(),
                }),
                defaults: profile,
                tier,
                config,
                workload: vec![Operation::Create(CreateOp {
                    clusters,
                    machines_per_cluster: 25,
                    control_plane_replicas: 3,
                    batch: None,
                    every: None,
                    wait: None,
                    at: None,
                    topology: true,
                })],
                faults: Vec::new(),
                management_clusters: None,
                calibration: None,
            };
            print!("{}", scenario::to_yaml(&s));
        }
    }
    Ok(Outcome::Success)
}
