//! Issue 16: a faster path of the model stands in for the exact one only where every
//! headline figure agrees with the exact path's. Both paths run the same replicas (5 per
//! size, seeds 0–4) on fleets of 50, 200 and 600 clusters of 25 machines, on the guide's
//! tier for each size; for every figure a sweep reports (fleet and cluster times, the
//! phases, the checklist's figures, API, etcd, Prism Central, controllers, nodes), the
//! 95 % confidence interval of the difference of the two means (Welch), Bonferroni-
//! corrected over all the figures compared, must contain zero, and each size's most
//! frequent bottleneck must be the same. With 5 replicas and 219 figures a difference is
//! flagged only beyond about 4–8 standard deviations of a replica mean (Welch, and
//! conservative: both paths run the same seeds): a screen for a wrong mechanism, not a
//! proof of equivalence; `sim_core`'s `shared_cpu::direct` test holds each job's end to
//! 1 µs. Controls judged as strictly show what it catches: a 10 % slower worker join, and
//! reconciles a fifth more costly in CPU, each on the exact path at 50 clusters.
//!
//! The knob: `nodes.cpu-direct-threads` (direct threads on a node with a core for each,
//! `sim_core::queueing::shared_cpu`), on by default; off is the exact path.

use std::collections::BTreeMap;

use models::run::RunPlan;
use models::run::sweep::{Axis, Knobs, NoLedger, ReplicaRecord, Sampling, sweep};
use models::scenario::operations::FleetSpec;
use models::scenario::presets::{self, Override, Tier};
use statrs::distribution::{ContinuousCDF, StudentsT};

const REPLICAS: u64 = 5;

/// The plan `capsim sweep` makes for `clusters`, with `knobs` set.
fn plan(clusters: u32, knobs: &Knobs) -> RunPlan {
    let sets: Vec<Override> = knobs
        .iter()
        .map(|(k, v)| format!("{k}={v}").parse().unwrap())
        .collect();
    let tier = Tier::for_fleet(clusters);
    let mut plan = RunPlan::new(
        presets::resolve(tier, &sets).unwrap(),
        tier.name(),
        FleetSpec::all_at_once(clusters, 25, 3),
        1,
    );
    plan.management_clusters = plan.config.topology.management_clusters_for(clusters);
    plan
}

/// `REPLICAS` replicas of each of `variants` at each size of `sizes`: per variant, the
/// records by size.
fn replicas(sizes: &[u32], variants: &[Knobs]) -> Vec<BTreeMap<u32, Vec<ReplicaRecord>>> {
    let sampling = Sampling {
        replicas: REPLICAS,
        max_replicas: REPLICAS,
        pass_rate: 0.95,
        confidence: 0.95,
    };
    let axis = Axis(sizes.to_vec());
    let result = sweep(&axis, variants, &sampling, plan, &NoLedger, |_| {}).unwrap();
    variants
        .iter()
        .map(|v| {
            let mut by_size: BTreeMap<u32, Vec<ReplicaRecord>> = BTreeMap::new();
            for r in result.replicas.iter().filter(|r| &r.knobs == v) {
                by_size.entry(r.clusters).or_default().push(r.clone());
            }
            by_size
        })
        .collect()
}

/// Mean, sample variance and count of the finite values.
fn moments(values: &[f64]) -> (f64, f64, f64) {
    let v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, var, n)
}

/// The figures (and the bottleneck) on which `a` and `b` disagree, at a family-wise
/// level of 5 % over `family` comparisons, or every figure of every size here if more;
/// and how many figures were compared.
fn disagreements(
    a: &BTreeMap<u32, Vec<ReplicaRecord>>,
    b: &BTreeMap<u32, Vec<ReplicaRecord>>,
    family: usize,
) -> (Vec<String>, usize) {
    let mut pairs = Vec::new();
    let mut out = Vec::new();
    for (size, ra) in a {
        let rb = &b[size];
        // The engine's own count of events is what a faster path changes.
        let names = ra[0].figures.keys().filter(|n| *n != "sim_events");
        for name in names {
            let va: Vec<f64> = ra.iter().map(|r| r.figures[name]).collect();
            let vb: Vec<f64> = rb
                .iter()
                .map(|r| r.figures.get(name).copied().unwrap_or(f64::NAN))
                .collect();
            let finite = |v: &[f64]| v.iter().filter(|x| x.is_finite()).count();
            if finite(&va) != finite(&vb) {
                out.push(format!(
                    "{size} clusters, {name}: finite in {va:?} and {vb:?}"
                ));
            } else if finite(&va) >= 2 {
                pairs.push((*size, name.clone(), moments(&va), moments(&vb)));
            }
        }
        let top = |r: &[ReplicaRecord]| {
            let mut count: BTreeMap<&str, usize> = BTreeMap::new();
            for x in r {
                *count.entry(x.bottleneck.as_str()).or_default() += 1;
            }
            let most = count.values().max().copied();
            count
                .into_iter()
                .filter(|(_, c)| Some(*c) == most)
                .map(|(n, _)| n.to_string())
                .collect::<Vec<_>>()
        };
        let (ta, tb) = (top(ra), top(rb));
        if !ta.iter().any(|t| tb.contains(t)) {
            out.push(format!("{size} clusters: bottleneck {ta:?} against {tb:?}"));
        }
    }
    let compared = pairs.len();
    let alpha = 0.05 / compared.max(family) as f64;
    for (size, name, (ma, va, na), (mb, vb, nb)) in pairs {
        let (sa, sb) = (va / na, vb / nb);
        let se = (sa + sb).sqrt();
        let diff = ma - mb;
        if se == 0.0 {
            if diff.abs() > 1e-9 * (1.0 + ma.abs()) {
                out.push(format!(
                    "{size} clusters, {name}: {ma} against {mb}, no spread"
                ));
            }
            continue;
        }
        // Welch–Satterthwaite degrees of freedom.
        let df = (sa + sb).powi(2) / (sa * sa / (na - 1.0) + sb * sb / (nb - 1.0));
        let t = StudentsT::new(0.0, 1.0, df)
            .unwrap()
            .inverse_cdf(1.0 - alpha / 2.0);
        if diff.abs() > t * se {
            out.push(format!(
                "{size} clusters, {name}: mean {ma:.6} against {mb:.6} (difference {diff:.3e}, \
                 interval ±{:.3e})",
                t * se
            ));
        }
    }
    (out, compared)
}

fn knobs(sets: &[(&str, &str)]) -> Knobs {
    sets.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn direct_threads_give_the_exact_paths_figures() {
    let variants = [
        knobs(&[("nodes.cpu-direct-threads", "true")]),
        knobs(&[("nodes.cpu-direct-threads", "false")]),
    ];
    let runs = replicas(&[50, 200, 600], &variants);
    let (off, compared) = disagreements(&runs[0], &runs[1], 0);
    assert!(
        off.is_empty(),
        "direct threads move figures:\n{}",
        off.join("\n")
    );
    // Every size's times, phases, checklist, API, etcd, Prism Central, controller and
    // node figures were compared, not a handful.
    eprintln!("{compared} figures compared");
    assert!(compared > 150, "{compared} figures compared");
    // And they take fewer events: the nodes' "next thread finishes" events go.
    let events = |r: &BTreeMap<u32, Vec<ReplicaRecord>>| -> f64 {
        r.values().flatten().map(|x| x.figures["sim_events"]).sum()
    };
    assert!(events(&runs[0]) < 0.9 * events(&runs[1]));
}

/// The controls are judged as strictly as the main comparison: over as many figures.
const FAMILY: usize = 219;

#[test]
fn the_comparison_catches_a_ten_percent_slower_worker_join_and_a_fifth_more_cpu() {
    let exact = ("nodes.cpu-direct-threads", "false");
    let variants = [
        knobs(&[exact]),
        knobs(&[
            exact,
            (
                "machine-boot.worker-join",
                "{lognormal: {p50: 99, p95: 165}}",
            ),
        ]),
        // What a wrong account of the nodes' CPU would do: every reconcile's CPU a fifth
        // more, on average.
        knobs(&[
            exact,
            ("costs.cpu.variation", "{lognormal: {p50: 1.2, p95: 2.4}}"),
        ]),
    ];
    let runs = replicas(&[50], &variants);
    let (slow_join, _) = disagreements(&runs[0], &runs[1], FAMILY);
    assert!(
        slow_join
            .iter()
            .any(|d| d.contains("phase_machine_boot_p50_s")),
        "{slow_join:?}"
    );
    // Caught where the CPU shows: the pods' throttling, the machines' wait for CPU.
    let (more_cpu, _) = disagreements(&runs[0], &runs[2], FAMILY);
    assert!(more_cpu.iter().any(|d| d.contains("cpu")), "{more_cpu:?}");
}
