//! The output folder of a sweep (`--out`), held from before the first run to the end.
//!
//! - It is checked and created before any run, so a sweep whose outputs cannot be saved
//!   is refused at once, not after its runs.
//! - A lock (`.capsim.lock`, an advisory lock the OS drops when the process ends) makes a
//!   second sweep into the same folder fail at once instead of mixing its files in.
//! - The outputs are written into a private staging folder inside it and moved into place
//!   only when all are written: a failure part-way leaves the previous outputs whole.
//! - Moving them in clears the files a sweep owns that this one did not write (charts of
//!   an earlier knob sweep, a grid's report beside a search's `search.json`), so the
//!   folder never holds two sweeps' files. Files capsim does not own are left alone.

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// The files and folders a sweep writes, and so owns, in its output folder.
const OWNED: &[&str] = &[
    "replicas.csv",
    "summary.csv",
    "summary.json",
    "search.json",
    "provenance.json",
    "shard.json",
    "report.md",
    "report.html",
    "charts",
];

/// Prefix of the staging folders and of folders set aside while being replaced.
const SCRATCH: &str = ".capsim-";

/// The lock file's name.
const LOCK: &str = ".capsim.lock";

/// A sweep's output folder, locked for this process.
pub(super) struct OutDir {
    /// The folder `--out` names.
    dir: PathBuf,
    /// Where this sweep writes its outputs until they are complete.
    staging: PathBuf,
    /// Holds the lock until dropped.
    _lock: File,
}

impl OutDir {
    /// Checks `dir` can hold the outputs, creates it if missing, takes its lock and
    /// clears what a sweep that crashed left behind.
    pub(super) fn open(dir: &Path) -> anyhow::Result<OutDir> {
        let named = || format!("--out {}", dir.display());
        if dir.exists() && !dir.is_dir() {
            bail!(
                "{}: exists and is not a directory; give a directory (created if missing)",
                named()
            );
        }
        std::fs::create_dir_all(dir)
            .with_context(|| format!("{}: cannot create the output directory", named()))?;
        let lock_path = dir.join(LOCK);
        let mut lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .read(true)
            .open(&lock_path)
            .with_context(|| format!("{}: cannot write in the output directory", named()))?;
        if let Err(e) = lock.try_lock() {
            let holder = std::fs::read_to_string(&lock_path).unwrap_or_default();
            let holder = holder.trim();
            match e {
                std::fs::TryLockError::WouldBlock => bail!(
                    "{}: another capsim sweep is writing there{}; wait for it to finish, or \
                     give another --out",
                    named(),
                    if holder.is_empty() {
                        String::new()
                    } else {
                        format!(" (process {holder})")
                    }
                ),
                std::fs::TryLockError::Error(e) => {
                    return Err(e).with_context(|| format!("{}: cannot lock it", named()));
                }
            }
        }
        lock.set_len(0)
            .and_then(|()| write!(lock, "{}", std::process::id()))
            .with_context(|| format!("{}: cannot write in the output directory", named()))?;
        // Holding the lock, whatever scratch is here is a dead sweep's.
        for entry in std::fs::read_dir(dir)
            .with_context(|| format!("{}: cannot list it", named()))?
            .flatten()
        {
            if entry.file_name().to_string_lossy().starts_with(SCRATCH) {
                remove(&entry.path()).ok();
            }
        }
        let staging = dir.join(format!("{SCRATCH}staging-{}", std::process::id()));
        std::fs::create_dir(&staging)
            .with_context(|| format!("{}: cannot write in the output directory", named()))?;
        Ok(OutDir {
            dir: dir.to_path_buf(),
            staging,
            _lock: lock,
        })
    }

    /// The folder `--out` names.
    pub(super) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where to write the outputs until [`OutDir::publish`] moves them in.
    pub(super) fn staging(&self) -> &Path {
        &self.staging
    }

    /// Moves the staged outputs into the folder, each replacing its earlier version, and
    /// removes the owned files this sweep did not write.
    pub(super) fn publish(self) -> anyhow::Result<()> {
        for name in OWNED {
            let (staged, live) = (self.staging.join(name), self.dir.join(name));
            let cannot = || format!("{}: cannot replace it", live.display());
            if staged.exists() {
                if live.is_dir() {
                    // A folder cannot be renamed over a folder: set the old one aside.
                    let old = self
                        .dir
                        .join(format!("{SCRATCH}old-{name}-{}", std::process::id()));
                    std::fs::rename(&live, &old).with_context(cannot)?;
                    std::fs::rename(&staged, &live).with_context(cannot)?;
                    remove(&old).with_context(cannot)?;
                } else {
                    std::fs::rename(&staged, &live).with_context(cannot)?;
                }
            } else if live.exists() {
                remove(&live).with_context(|| {
                    format!("{}: cannot remove this stale output", live.display())
                })?;
            }
        }
        Ok(())
    }
}

impl Drop for OutDir {
    fn drop(&mut self) {
        // Published or failed, the staging folder goes (it is empty when published).
        remove(&self.staging).ok();
    }
}

/// Removes a file or a folder with its contents.
fn remove(path: &Path) -> std::io::Result<()> {
    if path.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("capsim-outdir-{name}-{}", std::process::id()));
        std::fs::remove_dir_all(&d).ok();
        d
    }

    #[test]
    fn a_second_sweep_into_a_locked_folder_is_refused_at_once() {
        let d = scratch("lock");
        let first = OutDir::open(&d).unwrap();
        let err = OutDir::open(&d).err().expect("locked").to_string();
        assert!(
            err.contains("another capsim sweep is writing there"),
            "{err}"
        );
        assert!(err.contains(&std::process::id().to_string()), "{err}");
        drop(first);
        OutDir::open(&d).expect("free again once the first is done");
        std::fs::remove_dir_all(&d).ok();
    }

    #[test]
    fn publishing_replaces_owned_outputs_clears_stale_ones_and_keeps_the_users() {
        let d = scratch("publish");
        std::fs::create_dir_all(d.join("charts")).unwrap();
        for (f, text) in [
            ("summary.csv", "old"),
            ("report.md", "old report"),
            ("charts/old-knob-chart.png", "old"),
            ("notes.txt", "mine"),
        ] {
            std::fs::write(d.join(f), text).unwrap();
        }
        let out = OutDir::open(&d).unwrap();
        std::fs::create_dir(out.staging().join("charts")).unwrap();
        std::fs::write(out.staging().join("summary.csv"), "new").unwrap();
        std::fs::write(out.staging().join("charts/new.png"), "new").unwrap();
        // Before publishing, the folder still holds the old outputs, whole.
        assert_eq!(
            std::fs::read_to_string(d.join("summary.csv")).unwrap(),
            "old"
        );
        out.publish().unwrap();
        assert_eq!(
            std::fs::read_to_string(d.join("summary.csv")).unwrap(),
            "new"
        );
        assert!(d.join("charts/new.png").exists());
        assert!(!d.join("charts/old-knob-chart.png").exists(), "stale chart");
        assert!(
            !d.join("report.md").exists(),
            "a report this sweep did not write"
        );
        assert_eq!(
            std::fs::read_to_string(d.join("notes.txt")).unwrap(),
            "mine"
        );
        let scratch_left = std::fs::read_dir(&d)
            .unwrap()
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with(SCRATCH));
        assert!(!scratch_left);
        std::fs::remove_dir_all(&d).ok();
    }

    #[test]
    fn a_sweep_that_fails_before_publishing_leaves_the_earlier_outputs_whole() {
        let d = scratch("fail");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("summary.csv"), "earlier").unwrap();
        {
            let out = OutDir::open(&d).unwrap();
            std::fs::write(out.staging().join("summary.csv"), "half").unwrap();
            // dropped without publishing: a write failed
        }
        assert_eq!(
            std::fs::read_to_string(d.join("summary.csv")).unwrap(),
            "earlier"
        );
        std::fs::remove_dir_all(&d).ok();
    }
}
