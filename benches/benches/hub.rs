//! The federation hub alone (the Extreme preset's, pull mode): 2,000 and 10,000 members
//! joining over an hour, 10 minutes of their steady heartbeats, and 10 resources
//! propagated to a fifth of them, as a run feeds it once its management clusters are done.
//!
//! `cargo bench -p capsim-benches --bench hub`

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use models::federation::{self, HubInput, MemberSpan, Propagation};
use models::scenario::presets::{self, Tier};
use sim_core::RngStreams;

fn input(members: u32) -> HubInput {
    let join = 3600.0 / f64::from(members);
    HubInput {
        members: (0..members)
            .map(|i| MemberSpan {
                ready_s: f64::from(i) * join,
                leave_s: None,
            })
            .collect(),
        propagations: vec![Propagation {
            at_s: 3600.0,
            resources: 10,
            fraction: 0.2,
        }],
        until_s: 4200.0,
    }
}

fn hub(c: &mut Criterion) {
    let cfg = presets::resolve(Tier::Extreme, &[]).expect("the Extreme preset");
    let streams = RngStreams::new(1, 0);
    let mut group = c.benchmark_group("federation_hub_pull");
    group.sample_size(10).warm_up_time(Duration::from_secs(1));
    for members in [2000, 10_000] {
        let input = input(members);
        let events = federation::simulate(&cfg, &input, &streams)
            .expect("hub run")
            .sim_events;
        group.throughput(Throughput::Elements(events));
        group.measurement_time(Duration::from_secs(if members > 5000 { 120 } else { 30 }));
        group.bench_function(format!("{members}_members"), |b| {
            b.iter(|| black_box(federation::simulate(&cfg, &input, &streams).expect("hub run")))
        });
    }
    group.finish();
}

criterion_group!(benches, hub);
criterion_main!(benches);
