//! One full fleet creation on the default management cluster: 100, 500 and 2,000 clusters
//! of 25 machines (the guide's tier for the size, seed 1), as `capsim run` does it; and
//! 100 clusters created, then upgraded 25 at a time (every machine replaced). The events
//! bench counts the same runs' events per machine, by kind.
//!
//! `cargo bench -p capsim-benches --bench fleet` (about 10 minutes: the 2,000-cluster run
//! simulates a day of a saturated management cluster).

use std::hint::black_box;
use std::time::Duration;

use capsim_benches::fleet_plan;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use models::run::run;
use models::scenario::operations::AfterOp;

fn full_run(c: &mut Criterion) {
    let mut group = c.benchmark_group("fleet_create_25_machines");
    group.sample_size(10).warm_up_time(Duration::from_secs(1));
    for clusters in [100, 500, 2000] {
        let plan = fleet_plan(clusters);
        let events = run(&plan).expect("run").report.sim_events;
        group.throughput(Throughput::Elements(events));
        group.measurement_time(Duration::from_secs(if clusters > 1000 { 300 } else { 30 }));
        group.bench_function(format!("{clusters}_clusters"), |b| {
            b.iter(|| black_box(run(&plan).expect("run")))
        });
    }
    group.finish();
}

fn upgrade(c: &mut Criterion) {
    let mut group = c.benchmark_group("fleet_upgrade_25_machines");
    group.sample_size(10).warm_up_time(Duration::from_secs(1));
    let mut plan = fleet_plan(100);
    plan.after = vec![AfterOp::Upgrade {
        wave: 25,
        max_surge: 1,
        max_unavailable: 0,
    }];
    let events = run(&plan).expect("run").report.sim_events;
    group.throughput(Throughput::Elements(events));
    group.measurement_time(Duration::from_secs(30));
    group.bench_function("100_clusters_waves_of_25", |b| {
        b.iter(|| black_box(run(&plan).expect("run")))
    });
    group.finish();
}

criterion_group!(benches, full_run, upgrade);
criterion_main!(benches);
