//! Engine overhead: the same M/M/8 (ρ = 0.9, 2,000,000 arrivals, fixed seed) on sim-core
//! and on a bare binary-heap loop, in one group so their ratio comes from one run.
//!
//! `cargo bench -p capsim-benches --bench engine`

use std::hint::black_box;
use std::time::Duration;

use capsim_benches::{bare_heap_station, mmc_workload};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sim_core::RngStreams;
use sim_core::queueing::station::simulate;

const ARRIVALS: u64 = 2_000_000;
const SEED: u64 = 42;

fn engine_vs_bare_loop(c: &mut Criterion) {
    let cfg = mmc_workload(ARRIVALS);
    let streams = RngStreams::new(SEED, 0);
    let events = simulate(cfg, &streams).events;
    let mut group = c.benchmark_group("mmc8_rho0.9_2M_arrivals");
    group.throughput(Throughput::Elements(events));
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    group.bench_function("sim-core", |b| {
        b.iter(|| black_box(simulate(cfg, &streams)))
    });
    group.bench_function("bare_binary_heap", |b| {
        b.iter(|| black_box(bare_heap_station(cfg, &streams)))
    });
    group.finish();
}

criterion_group!(benches, engine_vs_bare_loop);
criterion_main!(benches);
