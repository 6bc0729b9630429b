//! `capsim calibrate`: capsim's estimated phase times fitted to a user's own cluster.

use std::path::PathBuf;

use anyhow::{Context, bail};
use models::calibrate::{self, Exclusions, MachineTimes};
use sim_core::SimDuration;

use crate::Outcome;
use crate::render::table::{Align, Table};

/// Arguments of `capsim calibrate`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    kubectl get machines -A -o json > machines.json\n  \
    capsim calibrate machines machines.json --out calibrated.yaml\n\n\
    docs/calibration.md says what is fitted and what is not yet.\n\n\
    Exit status: 0 when the fit is printed (and written), 2 on unreadable input or when no \
    Machine gives a phase.")]
pub struct Args {
    /// What to calibrate from.
    #[command(subcommand)]
    pub what: What,
}

/// The data a calibration reads.
#[derive(Debug, clap::Subcommand)]
pub enum What {
    /// Fit the phase times that the Machines' conditions show (kubectl get machines -A -o
    /// json): the boot phase (InfrastructureReady → NodeHealthy) becomes the machine-boot
    /// knobs of a scenario overlay; the phases that contain queueing (bootstrap, VM) are
    /// reported, not fitted into knobs (their service times need the queue separated,
    /// docs/calibration.md).
    #[command(after_help = "Examples:\n  \
        kubectl get machines -A -o json > machines.json\n  \
        capsim calibrate machines machines.json\n  \
        capsim calibrate machines machines.json --out calibrated.yaml\n  \
        capsim run --clusters 200 --scenario calibrated.yaml\n\n\
        Each phase is fitted with a lognormal by maximum likelihood; the table gives the \
        data's own p50 and p95 beside the fit's, and the Kolmogorov-Smirnov distance of the \
        fit. Machines not provisioned yet, being deleted, or with a transition before their \
        creation (clock skew) are left out and counted.\n\n\
        Exit status: 0 when the fit is printed (and written), 2 on unreadable input or when no \
        Machine gives a phase.")]
    Machines {
        /// kubectl JSON files (a `kind: List`; other kinds in it are passed over).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Write the fitted knobs as a scenario overlay (YAML) here.
        #[arg(long, value_name = "FILE.yaml")]
        out: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
}

/// How the fit is printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A table for people.
    Table,
    /// JSON.
    Json,
}

/// Runs `capsim calibrate`.
pub fn run(args: &Args) -> anyhow::Result<Outcome> {
    let What::Machines { files, out, format } = &args.what;
    let mut machines: Vec<MachineTimes> = Vec::new();
    let mut ex = Exclusions::default();
    for f in files {
        let text =
            std::fs::read_to_string(f).with_context(|| format!("{}: cannot read", f.display()))?;
        let (m, e) = calibrate::parse_machines(&text, &f.display().to_string())
            .map_err(anyhow::Error::msg)?;
        machines.extend(m);
        ex.unfinished += e.unfinished;
        ex.clock_skew += e.clock_skew;
        ex.deleting += e.deleting;
    }
    let fits = calibrate::fit_phases(&machines);
    if fits.is_empty() {
        bail!(
            "no Machine gives a phase time ({} read; {} not provisioned, {} with clock skew, {} \
             being deleted): calibrate needs provisioned Machines with their conditions",
            machines.len(),
            ex.unfinished,
            ex.clock_skew,
            ex.deleting
        );
    }
    let sources: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    if let Some(path) = out {
        let text = calibrate::overlay(&fits, &sources.join(", "));
        let tmp = path.with_extension("yaml.partial");
        std::fs::write(&tmp, &text).with_context(|| format!("{}: cannot write", tmp.display()))?;
        std::fs::rename(&tmp, path).with_context(|| format!("{}: cannot write", path.display()))?;
    }
    let secs = |s: f64| SimDuration::from_secs_f64(s).to_string();
    match format {
        Format::Json => {
            let phases: Vec<serde_json::Value> = fits
                .iter()
                .map(|f| {
                    serde_json::json!({
                        "role": f.role.name(), "phase": f.phase.name(), "n": f.fit.n,
                        "data_p50_s": f.fit.data_p50, "data_p95_s": f.fit.data_p95,
                        "fit_p50_s": f.fit.p50, "fit_p95_s": f.fit.p95, "ks": f.fit.ks,
                        "knob": f.knob, "created_from": f.dates.0, "created_to": f.dates.1,
                    })
                })
                .collect();
            let doc = serde_json::json!({
                "machines": machines.len(),
                "excluded": {"unfinished": ex.unfinished, "clock_skew": ex.clock_skew,
                             "deleting": ex.deleting},
                "phases": phases,
            });
            println!("{}", serde_json::to_string_pretty(&doc)?);
        }
        Format::Table => {
            let mut t = Table::new(&[
                ("machines", Align::Left),
                ("phase", Align::Left),
                ("n", Align::Right),
                ("data p50", Align::Right),
                ("data p95", Align::Right),
                ("fit p50", Align::Right),
                ("fit p95", Align::Right),
                ("KS D", Align::Right),
                ("sets", Align::Left),
            ]);
            for f in &fits {
                t.row(vec![
                    f.role.name().into(),
                    f.phase.name().into(),
                    f.fit.n.to_string(),
                    secs(f.fit.data_p50),
                    secs(f.fit.data_p95),
                    secs(f.fit.p50),
                    secs(f.fit.p95),
                    format!("{:.3}", f.fit.ks),
                    f.knob
                        .map_or_else(|| "- (contains queueing)".into(), str::to_string),
                ]);
            }
            print!(
                "capsim calibrate machines: {} Machines from {}; left out: {} not provisioned, \
                 {} with clock skew, {} being deleted\n\n{}",
                machines.len(),
                sources.join(", "),
                ex.unfinished,
                ex.clock_skew,
                ex.deleting,
                t.render()
            );
            if let Some(path) = out {
                println!(
                    "\nThe boot phases' fits are in {} (use it as a scenario, or paste its \
                     machine-boot block into yours).",
                    path.display()
                );
            }
        }
    }
    Ok(Outcome::Success)
}
