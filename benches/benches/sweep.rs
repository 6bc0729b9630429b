//! A small Monte Carlo sweep, as `capsim sweep --clusters 100..400 --step 100 --replicas 2`
//! runs it, on one worker thread and on two: the replicas' parallel speed-up.
//!
//! `cargo bench -p capsim-benches --bench sweep` (about 3 minutes).

use std::hint::black_box;
use std::time::Duration;

use capsim_benches::fleet_plan;
use criterion::{Criterion, criterion_group, criterion_main};
use models::sweep::{Axis, Knobs, sweep};

fn small_sweep(c: &mut Criterion) {
    let axis = Axis(vec![100, 200, 300, 400]);
    let mut group = c.benchmark_group("sweep_100_to_400_x2");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(40));
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("thread pool");
        group.bench_function(format!("{threads}_threads"), |b| {
            b.iter(|| {
                pool.install(|| {
                    let plan = |c: u32, _: &Knobs| fleet_plan(c);
                    black_box(sweep(&axis, &[Knobs::new()], 2, plan, || {}).expect("sweep"))
                })
            })
        });
    }
    group.finish();
}

criterion_group!(benches, small_sweep);
criterion_main!(benches);
