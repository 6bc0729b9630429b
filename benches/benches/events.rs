//! Events per machine, by kind, of one full fleet creation at 100, 500 and 2,000
//! clusters of 25 machines (the fleet bench's runs): whether the model's cost per
//! machine stays flat as the fleet grows, and which events make it up. Counts, not
//! times: `cargo bench -p capsim-benches --bench fleet` times the same runs.
//!
//! `cargo bench -p capsim-benches --bench events` (about a minute).

use capsim_benches::fleet_plan;
use models::run::simulate;
use models::world::Event;

fn main() {
    // `cargo bench` passes `--bench`; a filter that names no size runs them all.
    let sizes: Vec<u32> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![100, 500, 2000]
    } else {
        sizes
    };
    let mut columns = Vec::new();
    for &clusters in &sizes {
        let plan = fleet_plan(clusters);
        let started = std::time::Instant::now();
        let done = simulate(&plan).expect("the run finishes");
        let wall = started.elapsed().as_secs_f64();
        let machines = f64::from(clusters) * 25.0;
        let by_kind = done.world.events_by_kind;
        let total: u64 = by_kind.iter().sum();
        println!(
            "{clusters} clusters: {total} events, {:.0} per machine, {:.1} h simulated to \
             {}, {wall:.2} s wall ({:.1} µs per machine)",
            total as f64 / machines,
            done.now.as_secs_f64() / 3600.0,
            if done.world.clusters_ready >= clusters {
                "ready"
            } else {
                "the deadline, not ready"
            },
            wall * 1e6 / machines
        );
        columns.push((clusters, machines, by_kind));
    }
    print!("\n{:<22}", "events per machine");
    for (c, _, _) in &columns {
        print!("{:>10}", format!("{c} cl."));
    }
    println!();
    for (k, name) in Event::KINDS.iter().enumerate() {
        if columns.iter().all(|(_, _, b)| b[k] == 0) {
            continue;
        }
        print!("{name:<22}");
        for (_, m, b) in &columns {
            print!("{:>10.1}", b[k] as f64 / m);
        }
        println!();
    }
}
