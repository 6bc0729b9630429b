//! `capsim calibrate machines` on 10,000 Machines and their 30,000 Prism Central tasks
//! (create, update, power-on), rendered as kubectl and the v4 task list print them:
//! parsing both, the phase fits, and the separation of the slot wait (16 slots, load
//! slowdown fitted over its grid).
//!
//! `cargo bench -p capsim-benches --bench calibrate`

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use models::calibrate;
use rand::SeedableRng;
use rand_distr::{Distribution, LogNormal};
use serde_json::json;

const MACHINES: usize = 10_000;
const SLOTS: usize = 16;

/// An RFC 3339 time `s` seconds after 2026-11-30T00:00:00Z (within 30 days).
fn at(s: f64) -> String {
    let whole = s.floor() as u64;
    let (d, h, m, sec) = (
        whole / 86_400,
        whole / 3600 % 24,
        whole / 60 % 60,
        whole % 60,
    );
    let frac = ((s - whole as f64) * 1e6).round() as u64;
    format!("2026-12-{:02}T{h:02}:{m:02}:{sec:02}.{frac:06}Z", d + 1)
}

/// kubectl's Machines and Prism Central's tasks of a fleet whose VMs are created in
/// bursts through `SLOTS` task slots (FIFO), each task held for a lognormal latency.
fn data() -> (String, String) {
    let mut rng = sim_core::SimRng::seed_from_u64(7);
    let latency = [
        LogNormal::new(60f64.ln(), 0.35).unwrap(),
        LogNormal::new(3f64.ln(), 0.3).unwrap(),
        LogNormal::new(10f64.ln(), 0.3).unwrap(),
    ];
    let boot = LogNormal::new(90f64.ln(), 0.3).unwrap();
    let mut free = [0.0f64; SLOTS];
    let (mut machines, mut tasks) = (Vec::new(), Vec::new());
    for i in 0..MACHINES {
        let created = (i / 500) as f64 * 3600.0 + (i % 500) as f64 * 0.5;
        let mut t = created + 10.0;
        let bootstrap = t;
        for (k, op) in ["CreateVm", "UpdateVm", "PowerOnVm"].iter().enumerate() {
            let slot = (0..SLOTS)
                .min_by(|&a, &b| free[a].total_cmp(&free[b]))
                .unwrap();
            let start = t.max(free[slot]);
            let end = start + latency[k].sample(&mut rng);
            free[slot] = end;
            tasks.push(
                json!({"operation": op, "status": "SUCCEEDED", "createdTime": at(t),
                              "startedTime": at(start), "completedTime": at(end)}),
            );
            t = end + 1.0;
        }
        let node = t + boot.sample(&mut rng);
        let cond =
            |ty: &str, s: f64| json!({"type": ty, "status": "True", "lastTransitionTime": at(s)});
        machines.push(json!({
            "kind": "Machine",
            "metadata": {"name": format!("m{i}"), "namespace": "fleet",
                         "creationTimestamp": at(created)},
            "spec": {"clusterName": format!("c{}", i / 10)},
            "status": {"conditions": [cond("BootstrapReady", bootstrap),
                                      cond("InfrastructureReady", t),
                                      cond("NodeHealthy", node)]},
        }));
    }
    (
        json!({"kind": "List", "items": machines}).to_string(),
        json!({"data": tasks}).to_string(),
    )
}

fn calibrate_machines(c: &mut Criterion) {
    let (machines, tasks) = data();
    let mut group = c.benchmark_group("calibrate_machines");
    group.sample_size(10).warm_up_time(Duration::from_secs(1));
    group.throughput(Throughput::Elements(MACHINES as u64));
    group.bench_function("10000_machines_30000_tasks", |b| {
        b.iter(|| {
            let (m, _) = calibrate::parse_machines(black_box(&machines), "m.json").unwrap();
            let fits = calibrate::fit_phases(&m, calibrate::Shape::Lognormal);
            let (t, _) = calibrate::parse_tasks(black_box(&tasks), "t.json").unwrap();
            let sep = calibrate::separate(&[t], None, None, (16, 0.5), calibrate::Shape::Lognormal);
            black_box((fits.len(), sep.kinds.len()))
        })
    });
    group.finish();
}

criterion_group!(benches, calibrate_machines);
criterion_main!(benches);
