//! The default sweep at reduced size, as `capsim sweep --clusters 100..2000 --points 5
//! --replicas 1` runs it (100, 575, 1050, 1525 and 2000 clusters, on the guide's tier and
//! split for each), on one worker thread and on two: the parallel speed-up.
//!
//! Then the points 1,000, 1,500 and 2,000 (XL: two, three and four management clusters
//! of 500), once as the sweep runs them, sharing the management clusters they have in
//! common (`models::run::batch`), and once each run alone, as sweeps did before.
//!
//! `cargo bench -p capsim-benches --bench sweep` (about 13 minutes).

use std::hint::black_box;
use std::time::Duration;

use capsim_benches::sweep_plan;
use criterion::{Criterion, criterion_group, criterion_main};
use models::run::sweep::{Axis, Knobs, NoLedger, Sampling, SweepResult, sweep};
use rayon::prelude::*;

const ONE_REPLICA: Sampling = Sampling {
    replicas: 1,
    max_replicas: 1,
    pass_rate: 0.95,
    confidence: 0.95,
};

/// A sweep of `axis` at one replica, on `pool`'s threads.
fn sweep_on(pool: &rayon::ThreadPool, axis: &Axis) -> SweepResult {
    pool.install(|| {
        let plan = |c: u32, _: &Knobs| sweep_plan(c);
        sweep(axis, &[Knobs::new()], &ONE_REPLICA, plan, &NoLedger, |_| {}).expect("sweep")
    })
}

fn small_sweep(c: &mut Criterion) {
    let axis = Axis(vec![100, 575, 1050, 1525, 2000]);
    let mut group = c.benchmark_group("sweep_100_to_2000_5_points_x1");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(150));
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("thread pool");
        group.bench_function(format!("{threads}_threads"), |b| {
            b.iter(|| black_box(sweep_on(&pool, &axis)))
        });
    }
    group.finish();
}

fn shared_management_clusters(c: &mut Criterion) {
    let sizes = vec![1000, 1500, 2000];
    let mut group = c.benchmark_group("sweep_1000_1500_2000_x1_two_threads");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(120));
    let axis = Axis(sizes.clone());
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .expect("thread pool");
    group.bench_function("sharing_management_clusters", |b| {
        b.iter(|| black_box(sweep_on(&pool, &axis)))
    });
    group.bench_function("each_run_alone", |b| {
        b.iter(|| {
            pool.install(|| {
                let reports: Vec<_> = sizes
                    .par_iter()
                    .map(|&c| models::run::run(&sweep_plan(c)).expect("run").report)
                    .collect();
                black_box(reports)
            })
        })
    });
    group.finish();
}

criterion_group!(benches, small_sweep, shared_management_clusters);
criterion_main!(benches);
