//! `capsim import`: real manifests into a scenario file.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use models::scenario::import;

use crate::Outcome;
use crate::input;

/// Arguments of `capsim import`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    kubectl get deploy -n capi-system capi-controller-manager -o yaml > capi.yaml\n  \
    kubectl get pod -n kube-system -l component=etcd -o yaml > etcd.yaml\n  \
    capsim import capi.yaml etcd.yaml -o ours.yaml\n  \
    capsim import manifests/ | capsim scenario check /dev/stdin\n\n\
Reads the Deployments capi-controller-manager, capi-kubeadm-bootstrap-controller-manager, \
capi-kubeadm-control-plane-controller-manager and capx-controller-manager, and the static \
pods of kube-apiserver and etcd. Their container args and resources become a scenario. \
Flags the model does not use are listed as ignored in the file's header and counted on \
stderr. The manifests of one import hold at most 16 MiB in all.\n\n\
Exit status: 0 when the scenario is written, 2 when a manifest cannot be read or is not \
valid YAML, when none is a manager, kube-apiserver or etcd, when the result is not a valid \
scenario, or when the output cannot be written.")]
pub struct Args {
    /// Manifest files or directories (every *.yaml and *.yml inside, sorted).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Write the scenario to this file instead of standard output.
    #[arg(short, long, value_name = "FILE.yaml")]
    output: Option<PathBuf>,
    /// The scenario's name.
    #[arg(long, default_value = "imported")]
    name: String,
}

/// The manifests' names and texts, at most [`input::MAX_INPUT_BYTES`] in all.
fn read_all(paths: &[PathBuf]) -> anyhow::Result<Vec<(String, String)>> {
    let mut budget = input::Budget::default();
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut inner: Vec<PathBuf> = std::fs::read_dir(p)
                .with_context(|| format!("{}: cannot list the directory", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|x| x == "yaml" || x == "yml"))
                .collect();
            inner.sort();
            if inner.is_empty() {
                bail!(
                    "{}: no *.yaml or *.yml files in this directory",
                    p.display()
                );
            }
            for f in inner {
                files.push(read_one(&mut budget, &f)?);
            }
        } else {
            files.push(read_one(&mut budget, p)?);
        }
    }
    Ok(files)
}

fn read_one(budget: &mut input::Budget, p: &Path) -> anyhow::Result<(String, String)> {
    let text = budget.read_text(p, input::Kind::Manifest)?;
    Ok((p.display().to_string(), text))
}

/// Runs `capsim import`.
pub fn run(args: &Args) -> anyhow::Result<Outcome> {
    let files = read_all(&args.paths)?;
    let imported = import::import(&files)?;
    if imported.objects.is_empty() {
        bail!(
            "none of the manifests is a CAPI, kubeadm or CAPX manager Deployment, or a \
             kube-apiserver or etcd pod; nothing to import"
        );
    }
    // The result must itself be a valid scenario; an error names the manifest and flag.
    let (text, _) =
        import::scenario(&imported, &args.name).context("the imported scenario is not valid")?;
    match &args.output {
        None => print!("{text}"),
        Some(path) => {
            let tmp = path.with_extension("yaml.partial");
            std::fs::write(&tmp, &text)
                .with_context(|| format!("{}: cannot write", tmp.display()))?;
            std::fs::rename(&tmp, path)
                .with_context(|| format!("{}: cannot write", path.display()))?;
        }
    }
    crate::progress::note(&format!(
        "imported {} object(s); {} flag(s) or object(s) ignored (listed in the header)",
        imported.objects.len(),
        imported.ignored.len()
    ));
    Ok(Outcome::Success)
}
