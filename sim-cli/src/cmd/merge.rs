//! `capsim merge DIR... --out OUT`: the shards of a sweep (`capsim sweep --shard I/N`)
//! combined into the outputs the unsharded sweep writes. Their checkpoints are gathered
//! into OUT's, and the sweep they share is run there with `--resume`: every run is
//! recalled under the key of what decides it, none is run again, and the CSV and JSON
//! files come out byte for byte as one machine's.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Parser as _;

use crate::Outcome;
use crate::cli::{Cli, Command};
use crate::cmd::sweep::shard::ShardFile;

/// Arguments of `capsim merge`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    capsim merge shards/0 shards/1 shards/2 --out capsim-out\n  \
    capsim merge /data/shard-* --out /data/merged\n\n\
Each DIR is a shard's --out folder (its shard.json and checkpoint.jsonl). The shards must \
be every shard of one sweep: the same arguments but --shard and --out, each index from 0 \
to N − 1 once, each finished. The merged sweep writes to --out what the unsharded sweep \
writes (replicas.csv, summary.csv, summary.json, charts, report), and runs nothing: a run \
missing from the checkpoints is an error, not run silently.\n\n\
Exit status: 0 when the outputs are written, 2 on shards that do not make one sweep or \
any error.")]
pub struct Args {
    /// The shards' output folders.
    #[arg(required = true, value_name = "DIR")]
    dirs: Vec<PathBuf>,
    /// Where to write the merged outputs (created if missing).
    #[arg(long, value_name = "OUT")]
    out: PathBuf,
}

/// `args` without `--shard` and `--out` and their values.
fn shared_args(args: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut skip = false;
    for a in args {
        if skip {
            skip = false;
            continue;
        }
        match a.as_str() {
            "--shard" | "--out" => skip = true,
            s if s.starts_with("--shard=") || s.starts_with("--out=") => {}
            _ => out.push(a.clone()),
        }
    }
    out
}

/// Merges the shards.
pub fn run(args: &Args) -> anyhow::Result<Outcome> {
    let mut shards = Vec::new();
    for d in &args.dirs {
        let path = d.join("shard.json");
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "{}: cannot read; is {} a shard's --out folder (capsim sweep --shard I/N)?",
                path.display(),
                d.display()
            )
        })?;
        let f: ShardFile = serde_json::from_str(&text)
            .with_context(|| format!("{}: not a shard file", path.display()))?;
        shards.push((d, f));
    }
    let (first_dir, first) = &shards[0];
    let common = shared_args(&first.args);
    let count = first.shard.count;
    let mut seen = vec![false; count as usize];
    for (d, f) in &shards {
        if f.shard.count != count {
            bail!(
                "{}: shard {}/{} of {} shards, but {} is one of {count}",
                d.display(),
                f.shard.index,
                f.shard.count,
                f.shard.count,
                first_dir.display()
            );
        }
        if shared_args(&f.args) != common {
            bail!(
                "{}: a shard of another sweep (capsim {}), not of {}'s (capsim {})",
                d.display(),
                shared_args(&f.args).join(" "),
                first_dir.display(),
                common.join(" ")
            );
        }
        let slot = &mut seen[f.shard.index as usize];
        if *slot {
            bail!("{}: shard {} given twice", d.display(), f.shard.index);
        }
        *slot = true;
    }
    let missing: Vec<String> = (0..count)
        .filter(|&i| !seen[i as usize])
        .map(|i| i.to_string())
        .collect();
    if !missing.is_empty() {
        bail!(
            "shards {} of {count} are missing; give every shard's folder",
            missing.join(", ")
        );
    }
    // Every shard's checkpoint, whole, into OUT's.
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("{}: cannot create the output folder", args.out.display()))?;
    let merged = args.out.join("checkpoint.jsonl");
    let mut file = std::fs::File::create(&merged)
        .with_context(|| format!("{}: cannot write", merged.display()))?;
    for (d, f) in &shards {
        let path = d.join("checkpoint.jsonl");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("{}: cannot read the shard's runs", path.display()))?;
        let lines = text.lines().filter(|l| !l.trim().is_empty()).count();
        if lines < f.runs {
            bail!(
                "{}: shard {} holds {lines} of its {} runs; finish it (the same command with \
                 --resume) before merging",
                d.display(),
                f.shard.index,
                f.runs
            );
        }
        file.write_all(text.as_bytes())
            .with_context(|| format!("{}: cannot write", merged.display()))?;
    }
    drop(file);
    // The sweep they share, resumed in OUT: everything recalled.
    let mut argv = vec!["capsim".to_string()];
    argv.extend(common);
    argv.extend([
        "--out".to_string(),
        args.out.display().to_string(),
        "--resume".into(),
    ]);
    let cli = Cli::try_parse_from(&argv)
        .with_context(|| format!("the shards' sweep ({}) no longer parses", argv.join(" ")))?;
    let Command::Sweep(sweep) = cli.command else {
        bail!("the shards' command is not a sweep: {}", argv.join(" "));
    };
    crate::cmd::sweep::run_merged(&sweep)
}
