//! etcd: group commit on the leader, and the size of the database against its quota.
//!
//! **Group commit.** The raft leader appends every proposal that arrived while the
//! previous fsync was in progress to the WAL in one batch, then fsyncs once and waits for a
//! quorum (etcd `server/etcdserver/raft.go`, `wal.Save`). A batch commits after one WAL
//! fsync plus one raft round trip (follower append + fsync in parallel, approximated by the
//! round trip) plus a per-write apply cost; writes that arrive meanwhile form the next batch.
//!
//! **Size.** etcd keeps every revision of a key until compaction. The API server compacts
//! every 5 minutes to the revision of its previous run (`pkg/storage/storagebackend`
//! `CompactionInterval`), and `--auto-compaction-mode=periodic` compacts every
//! min(retention, 1 h) to the revision of `retention` ago (etcd `v3compactor/periodic.go`).
//! Compaction frees pages inside bbolt, but the file does not shrink until a defragment, so
//! the database size (`etcd_mvcc_db_total_size_in_bytes`, what the quota checks) is the
//! high-water mark of live data plus history; freed pages are reused first.
//! Above `--quota-backend-bytes` etcd raises the NOSPACE alarm and rejects every write but
//! deletes from that instant (etcd.io `op-guide/maintenance.md`).
//!
//! **Memory** ([`EtcdStore::memory_bytes`]). Besides the database's pages (bbolt maps the
//! file and touches every page it holds), etcd keeps in memory its key index (a B-tree of
//! `keyIndex`, one per key, with every revision kept until compaction:
//! `server/storage/mvcc/index.go`, `key_index.go`) and the raft log since the last
//! snapshot (`raftStorage`): a snapshot every `--snapshot-count` applied entries, after
//! which the log keeps `SnapshotCatchUpEntries` for slow followers (v3.5
//! `server/etcdserver/server.go` `triggerSnapshot`, `snapshot`). The index's constants are
//! etcd's own storage-memory benchmark's (v3.3 `Documentation/benchmarks/
//! etcd-storage-memory-benchmark.md`: 120 bytes per key plus the key, 30 per revision).
//!
//! Left out: follower-by-follower replication, snapshots to disk, defragmentation, the
//! bbolt page layout (a fixed per-revision overhead stands for keys and index in the
//! file), leader elections, the watchers' memory.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};
use sim_core::stats::{LatencyHistogram, TimeWeightedGauge};
use sim_core::{SimDuration, SimRng, SimTime};

use crate::dist::Dist;

/// etcd's settings.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct EtcdConfig {
    /// WAL fsync latency [s].
    pub fsync: Dist,
    /// Raft round trip to a quorum of followers, their fsync included [s].
    pub raft_rtt: Dist,
    /// Applying one write to the backend [s].
    pub apply_per_write_s: f64,
    /// `--quota-backend-bytes` [bytes].
    pub quota_backend_bytes: u64,
    /// `--auto-compaction-retention` in periodic mode [s]; zero disables it.
    pub auto_compaction_retention_s: f64,
    /// The API server's `--etcd-compaction-interval` [s] (default 300).
    pub apiserver_compaction_interval_s: f64,
    /// Bytes a revision costs beyond its value: key, revision index, bbolt page overhead.
    pub revision_overhead_bytes: u64,
}

/// What etcd keeps in memory besides the database's pages.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct EtcdMemory {
    /// Key-index bytes per live key, the key itself aside.
    pub index_bytes_per_key: u64,
    /// A key's length [bytes] (`/registry/<group>/<resource>/<namespace>/<name>`).
    pub key_bytes: u64,
    /// Key-index bytes per revision kept until compaction.
    pub index_bytes_per_revision: u64,
    /// `--snapshot-count`: entries applied between snapshots; 0 leaves the raft log out.
    pub snapshot_count: u64,
    /// Entries the log keeps after a snapshot (`SnapshotCatchUpEntries`).
    pub catch_up_entries: u64,
}

/// A write was refused because the NOSPACE alarm is raised.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NoSpace;

/// The leader's group commit: one batch in flight, the next one filling.
#[derive(Debug)]
pub struct GroupCommit<W> {
    in_flight: Vec<(W, SimTime)>,
    next: Vec<(W, SimTime)>,
    busy: bool,
    /// Batches committed or in flight [count].
    pub batches: u64,
    /// Largest batch [writes].
    pub max_batch: usize,
    /// WAL fsync latency.
    pub fsync: LatencyHistogram,
    /// Submit-to-commit latency of each write.
    pub commit_latency: LatencyHistogram,
    /// Writes committed [count].
    pub committed: u64,
    /// Multiplier of the fsync latency (a disk-latency fault sets it above 1).
    pub fsync_factor: f64,
}

impl<W: Copy> Default for GroupCommit<W> {
    fn default() -> Self {
        GroupCommit {
            in_flight: Vec::new(),
            next: Vec::new(),
            busy: false,
            batches: 0,
            max_batch: 0,
            fsync: LatencyHistogram::new(),
            commit_latency: LatencyHistogram::new(),
            committed: 0,
            fsync_factor: 1.0,
        }
    }
}

impl<W: Copy> GroupCommit<W> {
    /// A write arrives at the leader. Returns the delay after which the caller must call
    /// [`GroupCommit::batch_committed`] if this write started a new batch.
    pub fn submit(
        &mut self,
        write: W,
        now: SimTime,
        cfg: &EtcdConfig,
        rng: &mut SimRng,
    ) -> Option<SimDuration> {
        self.next.push((write, now));
        if self.busy {
            None
        } else {
            Some(self.start_batch(cfg, rng))
        }
    }

    fn start_batch(&mut self, cfg: &EtcdConfig, rng: &mut SimRng) -> SimDuration {
        std::mem::swap(&mut self.in_flight, &mut self.next);
        self.busy = true;
        let fsync = SimDuration::from_secs_f64(cfg.fsync.sample(rng) * self.fsync_factor);
        self.fsync.record(fsync);
        self.batches += 1;
        self.max_batch = self.max_batch.max(self.in_flight.len());
        let apply = SimDuration::from_secs_f64(cfg.apply_per_write_s * self.in_flight.len() as f64);
        fsync + cfg.raft_rtt.sample_duration(rng) + apply
    }

    /// The batch in flight committed at `now`: calls `on_commit` for each of its writes in
    /// arrival order, then starts the next batch if one is waiting and returns its delay.
    pub fn batch_committed(
        &mut self,
        now: SimTime,
        cfg: &EtcdConfig,
        rng: &mut SimRng,
        mut on_commit: impl FnMut(W),
    ) -> Option<SimDuration> {
        for (w, submitted) in self.in_flight.drain(..) {
            self.commit_latency.record(now - submitted);
            self.committed += 1;
            on_commit(w);
        }
        self.busy = false;
        if self.next.is_empty() {
            None
        } else {
            Some(self.start_batch(cfg, rng))
        }
    }

    /// Writes waiting for the next batch [count].
    pub fn waiting(&self) -> usize {
        self.next.len()
    }
}

/// The database's bytes: live values, history kept until compaction, and free pages.
#[derive(Debug)]
pub struct EtcdStore {
    quota: u64,
    overhead: u64,
    live: u64,
    /// Superseded revisions: when they were superseded, and their bytes.
    history: VecDeque<(SimTime, u64)>,
    history_bytes: u64,
    db_size: u64,
    /// Revisions written [count].
    pub revisions: u64,
    /// Keys that exist [count].
    pub keys: u64,
    /// Bytes of every value written, deletes' tombstones aside [bytes].
    pub written_bytes: u64,
    /// When the NOSPACE alarm was raised, if it was.
    pub nospace_at: Option<SimTime>,
    /// Writes refused under the alarm [count].
    pub rejected_writes: u64,
    /// Database size over time [bytes].
    pub size_gauge: TimeWeightedGauge,
}

impl EtcdStore {
    /// An empty database under `cfg`'s quota; time above `size_threshold` bytes is counted.
    pub fn new(cfg: &EtcdConfig, size_threshold: f64) -> Self {
        EtcdStore {
            quota: cfg.quota_backend_bytes,
            overhead: cfg.revision_overhead_bytes,
            live: 0,
            history: VecDeque::new(),
            history_bytes: 0,
            db_size: 0,
            revisions: 0,
            keys: 0,
            written_bytes: 0,
            nospace_at: None,
            rejected_writes: 0,
            size_gauge: TimeWeightedGauge::new(size_threshold),
        }
    }

    fn grow(&mut self, now: SimTime) {
        let used = self.live + self.history_bytes;
        if used > self.db_size {
            self.db_size = used;
            self.size_gauge.set(now, used as f64);
        }
    }

    /// Writes a value of `new_size` bytes over a previous one of `old_size` bytes (`None`
    /// for a create). Refused under the NOSPACE alarm, and raises the alarm if the write
    /// would take the database past the quota.
    pub fn put(
        &mut self,
        now: SimTime,
        old_size: Option<u64>,
        new_size: u64,
    ) -> Result<(), NoSpace> {
        let entry = new_size + self.overhead;
        if self.nospace_at.is_some() {
            self.rejected_writes += 1;
            return Err(NoSpace);
        }
        let old_entry = old_size.map(|s| s + self.overhead);
        let used_after = self.live + self.history_bytes + entry;
        if used_after.max(self.db_size) > self.quota {
            self.nospace_at = Some(now);
            self.rejected_writes += 1;
            return Err(NoSpace);
        }
        self.revisions += 1;
        self.written_bytes += new_size;
        self.live += entry;
        if old_entry.is_none() {
            self.keys += 1;
        }
        if let Some(old) = old_entry {
            self.live -= old;
            self.history.push_back((now, old));
            self.history_bytes += old;
        }
        self.grow(now);
        Ok(())
    }

    /// Deletes a value of `size` bytes: the value and a tombstone become history. Deletes
    /// are allowed under the alarm.
    pub fn delete(&mut self, now: SimTime, size: u64) {
        let entry = size + self.overhead;
        self.revisions += 1;
        self.keys = self.keys.saturating_sub(1);
        debug_assert!(self.live >= entry, "a delete of bytes never stored");
        self.live = self.live.saturating_sub(entry);
        self.history.push_back((now, entry + self.overhead));
        self.history_bytes += entry + self.overhead;
        self.grow(now);
    }

    /// Compacts to the revision current at `point`: history superseded at or before it is
    /// freed (its pages become free pages; the file keeps its size).
    pub fn compact(&mut self, point: SimTime) {
        while let Some(&(at, bytes)) = self.history.front() {
            if at > point {
                break;
            }
            self.history.pop_front();
            self.history_bytes -= bytes;
        }
    }

    /// Live values with their overhead [bytes].
    pub fn live_bytes(&self) -> u64 {
        self.live
    }

    /// Superseded and deleted revisions not yet compacted [bytes].
    pub fn history_bytes(&self) -> u64 {
        self.history_bytes
    }

    /// Pages freed by compaction and not yet reused [bytes].
    pub fn free_bytes(&self) -> u64 {
        self.db_size - self.live - self.history_bytes
    }

    /// The database file's size: what the quota is checked against [bytes].
    pub fn db_size(&self) -> u64 {
        self.db_size
    }

    /// `--quota-backend-bytes` [bytes].
    pub fn quota(&self) -> u64 {
        self.quota
    }

    /// Raft log entries in memory: every entry until the first snapshot, then the
    /// catch-up entries plus those applied since the last snapshot.
    pub fn raft_log_entries(&self, m: &EtcdMemory) -> u64 {
        let (s, n) = (m.snapshot_count, self.revisions);
        if s == 0 {
            0
        } else if n <= s {
            n
        } else {
            m.catch_up_entries.min(s) + (n - s) % s
        }
    }

    /// Memory beyond etcd's base: the database's pages, the key index (live keys and the
    /// revisions kept until compaction) and the raft log [bytes].
    pub fn memory_bytes(&self, m: &EtcdMemory) -> u64 {
        let revisions = self.keys + self.history.len() as u64;
        let index = self.keys * (m.index_bytes_per_key + m.key_bytes)
            + revisions * m.index_bytes_per_revision;
        let entry = self.written_bytes.checked_div(self.revisions).unwrap_or(0)
            + if self.revisions > 0 { m.key_bytes } else { 0 };
        self.db_size + index + self.raft_log_entries(m) * entry
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn cfg(quota: u64) -> EtcdConfig {
        EtcdConfig {
            fsync: Dist::Constant(0.002),
            raft_rtt: Dist::Constant(0.001),
            apply_per_write_s: 0.0,
            quota_backend_bytes: quota,
            auto_compaction_retention_s: 0.0,
            apiserver_compaction_interval_s: 300.0,
            revision_overhead_bytes: 100,
        }
    }

    #[test]
    fn memory_counts_the_index_and_the_raft_log_since_the_last_snapshot() {
        let m = EtcdMemory {
            index_bytes_per_key: 120,
            key_bytes: 60,
            index_bytes_per_revision: 30,
            snapshot_count: 10,
            catch_up_entries: 4,
        };
        let mut s = EtcdStore::new(&cfg(u64::MAX), f64::INFINITY);
        let t = SimTime::from_secs;
        s.put(t(1), None, 1000).unwrap();
        s.put(t(2), None, 2000).unwrap();
        s.put(t(3), None, 500).unwrap();
        s.put(t(4), Some(1000), 1200).unwrap();
        s.put(t(5), Some(1200), 1300).unwrap();
        s.delete(t(6), 500);
        // 2 keys; 2 superseded revisions and a tombstone await compaction; 6 entries of
        // 6,000 value bytes in the log, each with its key.
        assert_eq!(s.keys, 2);
        let index = 2 * (120 + 60) + (2 + 3) * 30;
        let log = 6 * (6000 / 6 + 60);
        assert_eq!(s.memory_bytes(&m), s.db_size() + index + log);
        // Compaction drops the old revisions from the index.
        s.compact(t(6));
        let index = 2 * (120 + 60) + 2 * 30;
        assert_eq!(s.memory_bytes(&m), s.db_size() + index + log);
        // A snapshot every 10 entries keeps 4 for followers: 10 entries at 10, 4 + 6 at
        // 16, 4 at 20, 4 + 5 at 25.
        let mut n = 6;
        for (after, kept) in [(10, 10), (16, 10), (20, 4), (25, 9)] {
            while n < after {
                s.put(t(10), Some(1300), 1300).unwrap();
                n += 1;
            }
            assert_eq!(s.raft_log_entries(&m), kept, "after {after} entries");
        }
        // Without a snapshot count the log is left out.
        let off = EtcdMemory {
            snapshot_count: 0,
            ..m
        };
        assert_eq!(s.raft_log_entries(&off), 0);
    }

    #[test]
    fn size_is_live_plus_history_at_every_instant() {
        let mut s = EtcdStore::new(&cfg(u64::MAX), f64::INFINITY);
        let t = SimTime::from_secs;
        // Known writes: create 3 objects, update one twice, delete one.
        s.put(t(1), None, 1000).unwrap();
        s.put(t(2), None, 2000).unwrap();
        s.put(t(3), None, 500).unwrap();
        assert_eq!(s.live_bytes(), 3500 + 300);
        assert_eq!((s.history_bytes(), s.db_size()), (0, 3800));
        s.put(t(4), Some(1000), 1200).unwrap();
        s.put(t(5), Some(1200), 1300).unwrap();
        assert_eq!(s.live_bytes(), 2000 + 500 + 1300 + 300);
        assert_eq!(s.history_bytes(), 1100 + 1300);
        s.delete(t(6), 500);
        assert_eq!(s.live_bytes(), 2000 + 1300 + 200);
        assert_eq!(s.history_bytes(), 1100 + 1300 + 700);
        assert_eq!(s.db_size(), s.live_bytes() + s.history_bytes());
        // Compacting to t = 4 frees the revision superseded at 4; the file keeps its size.
        let before = s.db_size();
        s.compact(t(4));
        assert_eq!(s.history_bytes(), 1300 + 700);
        assert_eq!(s.db_size(), before);
        assert_eq!(s.free_bytes(), 1100);
        assert_eq!(
            s.db_size(),
            s.live_bytes() + s.history_bytes() + s.free_bytes()
        );
        // Freed pages are reused before the file grows.
        s.put(t(7), None, 1000).unwrap();
        assert_eq!(s.db_size(), before);
        assert_eq!(s.revisions, 7);
    }

    #[test]
    fn quota_breach_raises_nospace_and_rejects_every_later_write() {
        let mut s = EtcdStore::new(&cfg(10_000), f64::INFINITY);
        let mut t = 0;
        let breach = loop {
            t += 1;
            if s.put(SimTime::from_secs(t), None, 900).is_err() {
                break t;
            }
        };
        assert_eq!(breach, 11, "10 writes of 1000 bytes fit in 10,000");
        assert_eq!(s.nospace_at, Some(SimTime::from_secs(11)));
        assert_eq!(s.put(SimTime::from_secs(12), Some(900), 10), Err(NoSpace));
        s.delete(SimTime::from_secs(13), 900); // deletes still go through
        assert_eq!(s.rejected_writes, 2);
    }

    #[test]
    fn writes_arriving_during_an_fsync_share_the_next_one() {
        let c = cfg(u64::MAX);
        let mut rng = SimRng::seed_from_u64(1);
        let mut gc: GroupCommit<u32> = GroupCommit::default();
        let d = gc
            .submit(0, SimTime::ZERO, &c, &mut rng)
            .expect("idle leader starts a batch");
        assert_eq!(d, SimDuration::from_millis(3));
        for w in 1..=5 {
            assert!(
                gc.submit(w, SimTime::from_millis(1), &c, &mut rng)
                    .is_none()
            );
        }
        let mut done = Vec::new();
        let next = gc.batch_committed(SimTime::from_millis(3), &c, &mut rng, |w| done.push(w));
        assert_eq!(done, vec![0]);
        assert!(next.is_some(), "the five waiting writes go as one batch");
        gc.batch_committed(SimTime::from_millis(6), &c, &mut rng, |w| done.push(w));
        assert_eq!(done, vec![0, 1, 2, 3, 4, 5]);
        assert_eq!(gc.committed, 6);
        // Two fsyncs for six writes.
        assert_eq!((gc.fsync.count(), gc.batches, gc.max_batch), (2, 2, 5));
        assert_eq!(gc.commit_latency.max(), SimDuration::from_millis(5));
    }
}
