//! Where a write becomes an etcd commit: once the API server has processed it, etcd's
//! quota check (NOSPACE refuses it), then the write joins etcd's next group commit; once
//! committed it is stored (etcd's size accounting), counted, the API server pays the watch
//! events' CPU, and its effect lands on the fleet's objects ([`super::effects`]). A create
//! of an object that exists is a 409 and a delete of one that is gone a 404: no write.
//! etcd's compactions and the Events' TTL run here too.

use sim_core::{Scheduler, SimDuration, SimTime};

use super::attribution::Resource;
use super::requests::Op;
use super::{Event, USER, World};
use crate::controllers::watches::{cached_kinds, cached_only_kinds, watchers_of};
use crate::kinds::ObjKind;
use crate::recipe::{Effect, Target, Verb, Write};
use crate::scenario::config::CpuModel;

impl World {
    pub(super) fn batch_committed(&mut self, sched: &mut Scheduler<Event>) {
        let now = sched.now();
        let mut batch = Vec::new();
        let next = self
            .etcd
            .batch_committed(now, &self.etcd_cfg, &mut self.rng_etcd, |req| {
                batch.push(req)
            });
        if let Some(d) = next {
            sched.schedule_in(d, Event::EtcdBatchCommitted);
        }
        // Every member applies the batch: CPU on its node when stacked (writes refused
        // under NOSPACE and 409/404s are counted too: a small overestimate).
        self.etcd_cpu(sched, self.cfg.etcd.cpu_per_write * batch.len() as f64);
        for req in batch {
            let ok = self.commit(sched, req);
            self.complete(sched, req, ok);
        }
    }

    /// Applies a committed write to the store and the fleet; `false` if etcd refused it.
    pub(super) fn commit(&mut self, sched: &mut Scheduler<Event>, req: u32) -> bool {
        let now = sched.now();
        let r = self.reqs.get(req).expect("live request");
        let (owner, submitted) = (r.owner, r.etcd_at);
        let first_lease = r.manager != USER && !self.lease_created[r.manager as usize];
        let (kind, verb, write) = match r.op {
            Op::Write(w) => (w.kind, w.verb, Some(w)),
            // The first renewal creates the manager's Lease.
            Op::LeaseUpdate if first_lease => (ObjKind::Lease, Verb::Create, None),
            Op::LeaseUpdate => (ObjKind::Lease, Verb::Patch, None),
            Op::EventCreate => (ObjKind::Event, Verb::Create, None),
            Op::EventPatch => (ObjKind::Event, Verb::Patch, None),
            Op::Read | Op::GetUncached | Op::List { .. } | Op::ListUncached { .. } | Op::DryRun => {
                unreachable!("reads and dry-runs do not reach etcd's write path")
            }
        };
        // A delete of an object already gone is a 404 and a create of one that exists a
        // 409: no write (two joining KubeadmConfigs both unlock the init lock; a reconcile
        // retried after a failed write repeats the deletes it had already made).
        if let Some(w) = write
            && self.changes_nothing(&w)
        {
            return true;
        }
        let sizes = &self.cfg.costs.object_size;
        let size = match write {
            // A machine's Secret is its bootstrap data (cloud-init with certificates).
            Some(Write {
                kind: ObjKind::Secret,
                target: Target::Machine(_),
                ..
            }) => sizes.bootstrap_secret.0,
            _ => sizes.of(kind),
        };
        let result = match verb {
            Verb::Create => self.store.put(now, None, size),
            Verb::Patch | Verb::StatusPatch | Verb::MarkDeleted => {
                self.store.put(now, Some(size), size)
            }
            Verb::Delete | Verb::FinalizerRemoved => {
                self.store.delete(now, size);
                Ok(())
            }
            Verb::NoopUpdate => Ok(()),
        };
        if result.is_err() {
            return false;
        }
        self.wait(owner, Resource::Etcd, now.saturating_since(submitted));
        self.metrics.writes_by_kind[kind.index()] += 1;
        // As the client sent it: a DELETE, a PATCH.
        let v = match verb {
            Verb::Create => 0,
            Verb::Patch | Verb::NoopUpdate | Verb::FinalizerRemoved => 1,
            Verb::StatusPatch => 2,
            Verb::Delete | Verb::MarkDeleted => 3,
        };
        self.metrics.writes_by_verb[kind.index()][v] += 1;
        match verb {
            Verb::Create => self.object_created(kind, size, true),
            Verb::Delete | Verb::FinalizerRemoved => self.object_created(kind, size, false),
            _ => {}
        }
        if let Op::LeaseUpdate = self.reqs.get(req).expect("live").op {
            self.lease_created[self.reqs.get(req).expect("live").manager as usize] = true;
        }
        if kind == ObjKind::Event && verb == Verb::Create {
            self.metrics.events_alive += 1;
            self.event_expiry
                .push_back(now + SimDuration::from_hours(1));
        }
        if let Some(w) = write {
            if self.nodes.is_some() {
                self.watch_fan_out_cpu(sched, kind, w.target);
            } else {
                let apiserver_cpu =
                    self.cfg.kube_apiserver.watch_event_cpu * f64::from(self.watchers(kind));
                let replica = self.reqs.get(req).expect("live").replica as usize;
                self.apiservers[replica].cpu_seconds += apiserver_cpu;
            }
            if self.cfg.costs.cpu_model == CpuModel::PerController {
                self.decode_watch_event(sched, kind, size, w.target);
            }
            self.apply(sched, w);
        }
        true
    }

    /// Each API server replica sends the change to the watches its own clients hold (every
    /// replica's watch cache sees every event): CPU on its node for each informer of a
    /// running manager instance pinned to it whose shard holds the object.
    fn watch_fan_out_cpu(&mut self, sched: &mut Scheduler<Event>, kind: ObjKind, target: Target) {
        let c = match target {
            Target::Cluster(c) => c,
            Target::Machine(m) => self.machines[m as usize].cluster,
        };
        let per_watch = self.cfg.kube_apiserver.watch_event_cpu;
        for mi in 0..self.managers.len() {
            if !self.managers[mi].up || !self.in_shard(mi, c) {
                continue;
            }
            let informers = self
                .informer_kinds(self.managers[mi].kind)
                .filter(|&k| k == kind)
                .count();
            if informers > 0 {
                let replica = self.managers[mi].replica as usize;
                let cpu = per_watch * informers as f64;
                self.apiservers[replica].cpu_seconds += cpu;
                self.api_background_cpu(sched, replica, cpu);
            }
        }
    }

    /// Every manager instance whose informers cache `kind` decodes the watch event of
    /// the change into its cache: CPU outside any reconcile.
    fn decode_watch_event(
        &mut self,
        sched: &mut Scheduler<Event>,
        kind: ObjKind,
        size: u64,
        target: Target,
    ) {
        let c = match target {
            Target::Cluster(c) => c,
            Target::Machine(m) => self.machines[m as usize].cluster,
        };
        let cpu = self.cfg.costs.cpu.decode_per_kib * size as f64 / 1024.0;
        for mi in 0..self.managers.len() {
            let informers = self
                .informer_kinds(self.managers[mi].kind)
                .filter(|&k| k == kind)
                .count();
            if informers > 0 && self.managers[mi].up && self.in_shard(mi, c) {
                self.manager_background_cpu(sched, mi, cpu * informers as f64);
            }
        }
    }

    /// The kinds manager kind `k`'s informers hold, one entry per informer: its
    /// controllers' kinds and, with `manager-cache.cached-secrets`, the Secrets (and
    /// CAPX's ConfigMaps) it caches without reconciling them.
    pub(super) fn informer_kinds(&self, k: usize) -> impl Iterator<Item = ObjKind> + use<> {
        let extra: &'static [ObjKind] = if self.cfg.manager_cache.cached_secrets {
            cached_only_kinds(k, self.cfg.infrastructure_provider)
        } else {
            &[]
        };
        cached_kinds(k).iter().chain(extra).copied()
    }

    /// Informers, over every manager kind, that watch `kind` (the API server's watch
    /// fan-out of a change).
    pub(super) fn watchers(&self, kind: ObjKind) -> u32 {
        let extra = if self.cfg.manager_cache.cached_secrets {
            (0..4)
                .map(|m| {
                    cached_only_kinds(m, self.cfg.infrastructure_provider)
                        .iter()
                        .filter(|&&k| k == kind)
                        .count() as u32
                })
                .sum()
        } else {
            0
        };
        watchers_of(kind) + extra
    }

    /// Whether `w` deletes an object that is already gone (404), creates one that exists
    /// (409: a create retried after a failure, whose first try was stored), or deletes one
    /// already being deleted: the API server keeps its deletionTimestamp
    /// (`markAsDeleting`), the object does not change, and its update writes nothing.
    pub(super) fn changes_nothing(&self, w: &Write) -> bool {
        match w.target {
            Target::Cluster(c) => {
                let cl = &self.clusters[c as usize];
                match w.effect {
                    Effect::LockDeleted => !cl.init_lock,
                    Effect::ClusterCreated => cl.exists,
                    Effect::NcCreated => cl.nc_exists,
                    Effect::KcpCreated => cl.kcp_exists,
                    Effect::MdCreated => cl.md_exists,
                    Effect::MsCreated => cl.ms_exists,
                    Effect::ShimCreated => cl.shim,
                    Effect::LockCreated => cl.init_lock,
                    Effect::CpTemplateCreated => cl.cp_template,
                    Effect::MdTemplateCreated => cl.md_templates >= 2,
                    Effect::CertSecretCreated => cl.cert_secrets >= 5,
                    Effect::NewMsCreated { version, .. } => cl.ms_version == version,
                    Effect::OldMsGone => cl.old_ms.is_none(),
                    Effect::MhcCreated => cl.mhc_exists,
                    Effect::MdTemplateDeleted => cl.md_templates_deleted >= 2,
                    Effect::MhcGone => !cl.mhc_exists,
                    Effect::MdGone => !cl.md_exists,
                    Effect::MsGone => !cl.ms_exists,
                    Effect::KcpGone => !cl.kcp_exists,
                    Effect::NcGone => !cl.nc_exists,
                    Effect::ClusterGone => !cl.exists,
                    Effect::ClusterDeleting => cl.deleting,
                    Effect::MdDeleting => cl.md_deleting,
                    Effect::MsDeleting => cl.ms_deleting,
                    Effect::OldMsDeleting => cl.old_ms.as_ref().is_some_and(|o| o.deleting),
                    Effect::KcpDeleting => cl.kcp_deleting,
                    Effect::NcDeleting => cl.nc_deleting,
                    _ => false,
                }
            }
            Target::Machine(m) => {
                let ms = &self.machines[m as usize];
                match w.effect {
                    // A create retried after a failure part-way: the object is there.
                    Effect::KcCreated => ms.kc_exists,
                    Effect::NmCreated => ms.nm_exists,
                    Effect::MachineCreated { .. } => ms.exists,
                    Effect::BootstrapSecretCreated => ms.kc_secret,
                    Effect::KcDeleted => !ms.kc_exists,
                    Effect::NmGone => !ms.nm_exists,
                    Effect::MachineGone => !ms.exists,
                    Effect::MachineDeleting => ms.deleting,
                    Effect::NmDeleting => ms.nm_deleting,
                    _ => false,
                }
            }
        }
    }

    pub(super) fn object_created(&mut self, kind: ObjKind, size: u64, created: bool) {
        let k = kind.index();
        if created {
            self.stored_by_kind[k] += size;
            self.count_by_kind[k] += 1;
        } else {
            self.stored_by_kind[k] = self.stored_by_kind[k].saturating_sub(size);
            self.count_by_kind[k] = self.count_by_kind[k].saturating_sub(1);
        }
        for m in 0..self.managers.len() {
            let k = self.managers[m].kind;
            if self.informer_kinds(k).any(|x| x == kind) {
                // A shard caches its namespaces' objects: the stored bytes split evenly.
                let cached: u64 = self
                    .informer_kinds(k)
                    .map(|k| self.stored_by_kind[k.index()])
                    .sum();
                let share = cached as f64 / f64::from(self.shards[k]);
                let mg = &mut self.managers[m];
                mg.cache_memory = self.cfg.costs.cache_bytes_per_stored_byte * share;
                mg.update_memory();
            }
        }
    }

    /// The API server's periodic etcd compaction.
    pub(super) fn compaction_due(&mut self, sched: &mut Scheduler<Event>) {
        // Compacts to the revision of the previous run.
        let every = SimDuration::from_secs_f64(self.cfg.etcd.compaction_interval.0);
        sched.schedule_in(every, Event::CompactionDue);
        self.store.compact(self.compaction_mark);
        self.compaction_mark = sched.now();
    }

    /// etcd's periodic auto-compaction (`auto-compaction-retention`).
    pub(super) fn auto_compaction_due(&mut self, sched: &mut Scheduler<Event>) {
        let retention = self.cfg.etcd.auto_compaction_retention.0;
        let every = SimDuration::from_secs_f64(retention.min(3600.0));
        sched.schedule_in(every, Event::AutoCompactionDue);
        let point = sched
            .now()
            .saturating_since(SimTime::ZERO)
            .saturating_sub(SimDuration::from_secs_f64(retention));
        self.store.compact(SimTime::ZERO + point);
    }

    /// Kubernetes Events older than their 1-hour TTL are deleted.
    pub(super) fn event_ttl_sweep(&mut self, sched: &mut Scheduler<Event>) {
        let now = sched.now();
        sched.schedule_in(SimDuration::from_secs(60), Event::EventTtlSweep);
        let size = self.cfg.costs.object_size.of(ObjKind::Event);
        while self.event_expiry.front().is_some_and(|&t| t <= now) {
            self.event_expiry.pop_front();
            self.store.delete(now, size);
            self.object_created(ObjKind::Event, size, false);
            self.metrics.events_alive -= 1;
        }
    }

    pub(super) fn processed(&mut self, sched: &mut Scheduler<Event>, req: u32) {
        let now = sched.now();
        let r = self.reqs.get(req).expect("live request");
        let kind = match r.op {
            Op::Write(w) => Some((w.kind, w.verb)),
            Op::LeaseUpdate => Some((ObjKind::Lease, Verb::Patch)),
            Op::EventCreate => Some((ObjKind::Event, Verb::Create)),
            Op::EventPatch => Some((ObjKind::Event, Verb::Patch)),
            Op::Read | Op::GetUncached | Op::List { .. } | Op::ListUncached { .. } | Op::DryRun => {
                None
            }
        };
        let Some((kind, verb)) = kind else {
            self.complete(sched, req, true);
            return;
        };
        self.metrics.requests_by_kind[kind.index()] += 1;
        if verb == Verb::NoopUpdate {
            self.complete(sched, req, true);
            return;
        }
        // etcd's quota check happens before the proposal (quotaKVServer).
        if verb != Verb::Delete && self.store.nospace_at.is_some() {
            self.store.rejected_writes += 1;
            self.fail_request(sched, req);
            return;
        }
        let rec = r.rec;
        self.reqs.get_mut(req).expect("live request").etcd_at = now;
        if let Some(rec) = rec {
            self.set_activity(now, rec, Resource::Etcd);
        }
        if let Some(d) = self
            .etcd
            .submit(req, now, &self.etcd_cfg, &mut self.rng_etcd)
        {
            sched.schedule_in(d, Event::EtcdBatchCommitted);
        }
    }
}
