//! The default sweep at reduced size, as `capsim sweep --clusters 100..2000 --points 5
//! --replicas 1` runs it (100, 575, 1050, 1525 and 2000 clusters, on the guide's tier and
//! split for each), on one worker thread and on two: the parallel speed-up.
//!
//! `cargo bench -p capsim-benches --bench sweep` (about 8 minutes).

use std::hint::black_box;
use std::time::Duration;

use capsim_benches::sweep_plan;
use criterion::{Criterion, criterion_group, criterion_main};
use models::run::sweep::{Axis, Knobs, NoLedger, Sampling, sweep};

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
            b.iter(|| {
                pool.install(|| {
                    let plan = |c: u32, _: &Knobs| sweep_plan(c);
                    let sampling = Sampling {
                        replicas: 1,
                        max_replicas: 1,
                        pass_rate: 0.95,
                        confidence: 0.95,
                    };
                    black_box(
                        sweep(&axis, &[Knobs::new()], &sampling, plan, &NoLedger, |_| {})
                            .expect("sweep"),
                    )
                })
            })
        });
    }
    group.finish();
}

criterion_group!(benches, small_sweep);
criterion_main!(benches);
