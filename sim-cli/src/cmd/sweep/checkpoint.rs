//! The checkpoint of a sweep: every run's record, appended to `checkpoint.jsonl` in the
//! output folder as it finishes, so that an interrupted sweep loses nothing and
//! `--resume` runs only what is missing.
//!
//! Each line holds one replica's record under the key of its run: a hash of everything
//! that decides the run (the resolved plan: configuration, fleet, seed, time limit, faults,
//! operations) and of the capsim binary that ran it. A resumed sweep recalls a record only
//! under the same key, so a changed flag, scenario or capsim never mixes results; and
//! because a run is the same run whatever else the sweep does, a resumed sweep writes the
//! same outputs, byte for byte, as one never interrupted. Figures are stored as Rust's
//! shortest round-trip text (`NaN` included), so they read back bit for bit.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::Context;
use models::run::sweep::{Knobs, Ledger, ReplicaRecord};
use serde::{Deserialize, Serialize};

/// The checkpoint's file name in the output folder.
pub(super) const FILE: &str = "checkpoint.jsonl";

/// One line of the checkpoint.
#[derive(Serialize, Deserialize)]
struct Line {
    /// The run's key, hex.
    key: String,
    /// The record, its numbers as text.
    record: Stored,
}

/// A [`ReplicaRecord`] with its numbers as exact text.
#[derive(Serialize, Deserialize)]
struct Stored {
    clusters: u32,
    knobs: Knobs,
    replica: u64,
    ready: bool,
    figures: BTreeMap<String, String>,
    checks: BTreeMap<String, bool>,
    checklist_pass: bool,
    bottleneck: String,
    bottleneck_at: String,
    bottleneck_share: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    draws: BTreeMap<String, String>,
}

impl Stored {
    fn of(r: &ReplicaRecord) -> Stored {
        Stored {
            clusters: r.clusters,
            knobs: r.knobs.clone(),
            replica: r.replica,
            ready: r.ready,
            figures: r
                .figures
                .iter()
                .map(|(k, v)| (k.clone(), v.to_string()))
                .collect(),
            checks: r.checks.clone(),
            checklist_pass: r.checklist_pass,
            bottleneck: r.bottleneck.clone(),
            bottleneck_at: r.bottleneck_at.clone(),
            bottleneck_share: r.bottleneck_share.to_string(),
            draws: r
                .draws
                .iter()
                .map(|(k, v)| (k.clone(), v.to_string()))
                .collect(),
        }
    }

    fn record(self) -> Option<ReplicaRecord> {
        let figures = self
            .figures
            .into_iter()
            .map(|(k, v)| v.parse::<f64>().ok().map(|v| (k, v)))
            .collect::<Option<_>>()?;
        let draws = self
            .draws
            .into_iter()
            .map(|(k, v)| v.parse::<f64>().ok().map(|v| (k, v)))
            .collect::<Option<_>>()?;
        Some(ReplicaRecord {
            clusters: self.clusters,
            knobs: self.knobs,
            replica: self.replica,
            ready: self.ready,
            figures,
            checks: self.checks,
            checklist_pass: self.checklist_pass,
            bottleneck: self.bottleneck,
            bottleneck_at: self.bottleneck_at,
            bottleneck_share: self.bottleneck_share.parse().ok()?,
            draws,
        })
    }
}

/// 64-bit FNV-1a: a stable hash (std's changes between Rust releases).
pub(super) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// What identifies the capsim binary: its version, size and modification time, so a
/// rebuilt capsim (perhaps a changed model) does not recall the old one's runs.
pub(super) fn binary_identity() -> String {
    let meta = std::env::current_exe().and_then(std::fs::metadata);
    let stamp = meta.ok().map(|m| {
        let modified = m
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        format!("{}:{modified}", m.len())
    });
    format!(
        "capsim {} {}",
        env!("CARGO_PKG_VERSION"),
        stamp.unwrap_or_default()
    )
}

/// The run key of a (fleet size, knobs) point: computed by the caller from its plan.
pub(super) type KeyOf<'a> = dyn Fn(u32, &Knobs) -> u64 + Sync + 'a;

/// The checkpoint as a [`Ledger`]: the records read back, and the file new ones go to.
pub(super) struct Checkpoint<'a> {
    /// Where it is.
    path: PathBuf,
    /// The key of a point's runs.
    key_of: Box<KeyOf<'a>>,
    /// Records read back, by (run key, replica).
    done: HashMap<(u64, u64), ReplicaRecord>,
    /// Records written by this sweep [count].
    written: AtomicUsize,
    /// The file, appended to; `None` once writing failed (said once, on stderr).
    file: Mutex<Option<File>>,
}

impl<'a> Checkpoint<'a> {
    /// Opens the checkpoint in `dir`: read back with `resume` (an error if there is none),
    /// else started afresh.
    pub(super) fn open(dir: &Path, resume: bool, key_of: Box<KeyOf<'a>>) -> anyhow::Result<Self> {
        let path = dir.join(FILE);
        let mut done = HashMap::new();
        if resume {
            let file = File::open(&path).with_context(|| {
                format!(
                    "--resume: {} holds no checkpoint to resume (a sweep that finished removes \
                     it); run without --resume",
                    dir.display()
                )
            })?;
            for line in BufReader::new(file).lines() {
                let line = line.with_context(|| format!("{}: cannot read", path.display()))?;
                // A line cut short by a kill mid-write is skipped: its run runs again.
                let Ok(Line { key, record }) = serde_json::from_str::<Line>(&line) else {
                    continue;
                };
                if let (Ok(key), Some(record)) = (u64::from_str_radix(&key, 16), record.record()) {
                    done.insert((key, record.replica), record);
                }
            }
        } else if path.exists() {
            crate::progress::note(&format!(
                "starting afresh; the checkpoint of an earlier sweep in {} is replaced \
                 (--resume continues it)",
                dir.display()
            ));
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(resume)
            .write(true)
            .truncate(!resume)
            .open(&path)
            .with_context(|| format!("{}: cannot write the checkpoint", path.display()))?;
        if resume {
            // After a line cut short, the next record starts on a line of its own.
            let text = std::fs::read(&path).unwrap_or_default();
            if text.last().is_some_and(|&b| b != b'\n') {
                writeln!(&file).ok();
            }
        }
        Ok(Checkpoint {
            path,
            key_of,
            done,
            written: AtomicUsize::new(0),
            file: Mutex::new(Some(file)),
        })
    }

    /// Runs read back from the file.
    pub(super) fn recalled(&self) -> usize {
        self.done.len()
    }

    /// Runs it holds: recalled, and written by this sweep.
    pub(super) fn held(&self) -> usize {
        self.done.len() + self.written.load(Ordering::Relaxed)
    }

    /// Where it is.
    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// Removes the file: the sweep's outputs now hold everything.
    pub(super) fn remove(self) {
        std::fs::remove_file(&self.path).ok();
    }
}

impl Ledger for Checkpoint<'_> {
    fn recall(&self, clusters: u32, knobs: &Knobs, replica: u64) -> Option<ReplicaRecord> {
        let key = (self.key_of)(clusters, knobs);
        self.done.get(&(key, replica)).cloned()
    }

    fn record(&self, record: &ReplicaRecord) {
        let key = (self.key_of)(record.clusters, &record.knobs);
        let line = Line {
            key: format!("{key:016x}"),
            record: Stored::of(record),
        };
        let Ok(mut text) = serde_json::to_string(&line) else {
            return;
        };
        text.push('\n');
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        let Some(f) = file.as_mut() else {
            return;
        };
        if let Err(e) = f.write_all(text.as_bytes()).and_then(|()| f.flush()) {
            eprintln!(
                "capsim: warning: {}: cannot write the checkpoint ({e}); the sweep goes on, \
                 but an interruption now loses its runs",
                self.path.display()
            );
            *file = None;
        } else {
            self.written.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(replica: u64) -> ReplicaRecord {
        ReplicaRecord {
            clusters: 10,
            knobs: Knobs::new(),
            replica,
            ready: false,
            figures: [
                ("fleet_time_to_ready_s".to_string(), f64::NAN),
                ("api_mutating_p99_s".to_string(), 0.1 + 0.2),
                ("tiny".to_string(), 5e-324),
            ]
            .into_iter()
            .collect(),
            checks: [("No OOM kills".to_string(), true)].into_iter().collect(),
            checklist_pass: true,
            bottleneck: "etcd".into(),
            bottleneck_at: "disk, \"quoted\"\nline".into(),
            bottleneck_share: 1.0 / 3.0,
            draws: [("etcd.key-bytes".to_string(), 0.1 + 0.2)]
                .into_iter()
                .collect(),
        }
    }

    #[test]
    fn records_read_back_bit_for_bit_under_their_key_only() {
        let dir = std::env::temp_dir().join(format!("capsim-ckpt-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let written = Checkpoint::open(&dir, false, Box::new(|c, _| u64::from(c))).unwrap();
        written.record(&record(0));
        written.record(&record(1));
        drop(written);
        // A line cut short by a kill is skipped.
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(dir.join(FILE))
            .unwrap();
        f.write_all(b"{\"key\":\"000").unwrap();
        let read = Checkpoint::open(&dir, true, Box::new(|c, _| u64::from(c))).unwrap();
        assert_eq!(read.recalled(), 2);
        let back = read.recall(10, &Knobs::new(), 1).expect("recalled");
        let orig = record(1);
        assert!(back.figures["fleet_time_to_ready_s"].is_nan());
        for name in ["api_mutating_p99_s", "tiny"] {
            assert_eq!(back.figures[name].to_bits(), orig.figures[name].to_bits());
        }
        assert_eq!(
            back.bottleneck_share.to_bits(),
            orig.bottleneck_share.to_bits()
        );
        assert_eq!(back.bottleneck_at, orig.bottleneck_at);
        // Another plan's key recalls nothing.
        let other = Checkpoint::open(&dir, true, Box::new(|c, _| u64::from(c) + 1)).unwrap();
        assert!(other.recall(10, &Knobs::new(), 1).is_none());
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn resume_without_a_checkpoint_says_so() {
        let dir = std::env::temp_dir().join(format!("capsim-ckpt-none-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let err = Checkpoint::open(&dir, true, Box::new(|_, _| 0))
            .err()
            .expect("nothing to resume")
            .to_string();
        assert!(err.contains("no checkpoint to resume"), "{err}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
