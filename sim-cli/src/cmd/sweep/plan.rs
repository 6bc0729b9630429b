//! `capsim sweep`'s arguments validated into a [`Plan`]: the fleet sizes, the swept knobs'
//! values, and per value the configurations every size needs, resolved before anything
//! runs; and from the plan, the [`RunPlan`] of each (fleet size, knobs).

use std::sync::Arc;

use anyhow::bail;
use models::run::RunPlan;
use models::run::sweep::{self, KnobAxis, Knobs, Sampling};
use models::scenario::Scenario;
use models::scenario::config::{ModelConfig, Thresholds};
use models::scenario::operations::FleetSpec;
use models::scenario::presets::{self, Override, Tier};
use models::scenario::uncertainty::{Estimates, Uncertainty};
use models::scenario::workload::Operation;

use super::Args;

/// A whole number in `range`, from a comma-separated list given to `flag`.
fn parse_counts(
    text: &str,
    flag: &str,
    range: std::ops::RangeInclusive<u32>,
) -> anyhow::Result<Vec<u32>> {
    let mut out = Vec::new();
    for part in text.split(',') {
        match part.trim().parse::<u32>() {
            Ok(n) if range.contains(&n) => out.push(n),
            _ => bail!(
                "{flag} {text}: '{}' is not a whole number from {} to {} (give one value, or a \
                 list like 10,25,50 to sweep it)",
                part.trim(),
                range.start(),
                range.end()
            ),
        }
    }
    if let Some(n) = out
        .iter()
        .enumerate()
        .find_map(|(i, n)| out[..i].contains(n).then_some(n))
    {
        bail!("{flag} {text}: {n} is given twice; give each value once");
    }
    Ok(out)
}

/// One value of the swept knobs, resolved before anything runs.
struct Setup {
    /// The scenario with this value's overrides, if a scenario is given.
    scenario: Option<Scenario>,
    /// Otherwise one configuration per tier the sizes need.
    configs: Vec<(Tier, ModelConfig)>,
    /// Machines per cluster at this value.
    machines: u32,
}

/// The knobs `--set` and `--machines-per-cluster` sweep (those given several values),
/// and the `--set` overrides that hold one value.
fn sweep_axes(
    sets: &[Override],
    machines: &[u32],
) -> anyhow::Result<(Vec<Override>, Vec<KnobAxis>)> {
    let (mut fixed, mut axes) = (Vec::new(), Vec::new());
    for o in sets {
        if o.key == "machines-per-cluster" {
            bail!(
                "--set machines-per-cluster={}: machines per cluster is a flag; write \
                 --machines-per-cluster {}",
                o.value,
                o.value
            );
        }
        let mut values: Vec<String> = Vec::new();
        for v in o.values() {
            if values.contains(&v) {
                bail!(
                    "--set {}={}: {v} is given twice; give each value once",
                    o.key,
                    o.value
                );
            }
            values.push(v);
        }
        if values.iter().any(String::is_empty) {
            bail!(
                "--set {}={}: an empty value in the list; write e.g. {}=10,50,100",
                o.key,
                o.value,
                o.key
            );
        }
        if values.len() == 1 {
            fixed.push(Override {
                key: o.key.clone(),
                value: values.remove(0),
            });
        } else if axes.iter().any(|(k, _): &(String, _)| *k == o.key) {
            bail!("--set {}: swept twice; give its values in one list", o.key);
        } else {
            axes.push((o.key.clone(), values));
        }
    }
    if machines.len() > 1 {
        axes.push((
            "machines-per-cluster".into(),
            machines.iter().map(u32::to_string).collect(),
        ));
    }
    Ok((fixed, axes))
}

/// A sweep validated and resolved, ready to run.
pub(super) struct Plan<'a> {
    /// The arguments it came from.
    pub(super) args: &'a Args,
    /// The fleet sizes.
    pub(super) axis: sweep::Axis,
    /// Every combination of the swept knobs' values (one empty one when none is swept).
    pub(super) variants: Vec<Knobs>,
    /// Replicas per point, and what they must show.
    pub(super) sampling: Sampling,
    /// Per variant, its resolved configurations.
    setups: Vec<Setup>,
    /// The checklist thresholds the charts and verdicts hold the figures to.
    pub(super) thresholds: Thresholds,
    /// Control-plane machines per cluster: the flag's, the scenario's create's, or 3.
    pub(super) control_plane_replicas: u32,
    /// Machines per cluster as given: the flag's, the scenario's create's, or 25.
    machines: String,
    /// The scenario's create's batches: clusters per batch, the time between them, and
    /// whether each waits for the one before to be ready.
    batches: Option<(u32, f64, Option<models::scenario::workload::WaitFor>)>,
    /// The scenario's create makes classic clusters (`topology: false`).
    classic: bool,
    /// With `--uncertainty`: the estimates every replica draws.
    pub(super) uncertainty: Option<Arc<Uncertainty>>,
}

/// The management-cluster tier of fleet size `c`: `--tier`, else the guide's.
fn tier_of(args: &Args, c: u32) -> Tier {
    args.tier
        .map(Tier::from)
        .unwrap_or_else(|| Tier::for_fleet(c))
}

/// Validates the arguments into a plan. Every configuration the sizes need is resolved
/// before anything runs, so bad input fails fast: the scenario's, the fixed tier's, or one
/// per guide tier across the range.
pub(super) fn plan(args: &Args) -> anyhow::Result<Plan<'_>> {
    let axis = sweep::parse_axis(&args.clusters, args.step, args.points)
        .map_err(|e| anyhow::anyhow!("--clusters {}: {e}", args.clusters))?;
    // The scenario's create gives the shape the flags leave open.
    let create = match &args.scenario {
        Some(p) => crate::cmd::scenario::load_file(p, &[])?
            .workload
            .iter()
            .find_map(|op| match op {
                Operation::Create(c) => Some(c.clone()),
                _ => None,
            }),
        None => None,
    };
    let machines_text = args.machines_per_cluster.clone().unwrap_or_else(|| {
        create
            .as_ref()
            .map_or(25, |c| c.machines_per_cluster)
            .to_string()
    });
    let cp = args
        .control_plane_replicas
        .or(create.as_ref().map(|c| c.control_plane_replicas))
        .unwrap_or(3);
    let machines = parse_counts(&machines_text, "--machines-per-cluster", 1..=1000)?;
    if let Some(&m) = machines.iter().find(|&&m| m < cp) {
        bail!(
            "--machines-per-cluster {m} is below --control-plane-replicas {cp}: the count \
             includes the control plane (e.g. 25 = 3 control plane + 22 workers)"
        );
    }
    let batches = create
        .as_ref()
        .and_then(|c| Some((c.batch?, c.every.map_or(0.0, |e| e.0), c.wait)));
    let sampling = sampling(args)?;
    let (fixed, axes) = sweep_axes(&args.sets, &machines)?;
    let variants = sweep::combinations(&axes);
    if variants.len() > 64 {
        bail!(
            "the swept knobs make {} combinations; at most 64 (each is a full sweep)",
            variants.len()
        );
    }
    let sizes = config_sizes(args, &axis);
    let mut setups = Vec::new();
    for knobs in &variants {
        setups.push(resolve_setup(args, &fixed, knobs, &sizes, &machines)?);
    }
    let uncertainty = match args.uncertainty {
        true => {
            // A calibration's fitted ranges replace the built-in ones of its knobs.
            let estimates = match setups[0]
                .scenario
                .as_ref()
                .and_then(|s| s.calibration.as_ref())
            {
                Some(c) => Estimates::builtin().calibrated(&c.ranges),
                None => Estimates::builtin(),
            };
            let u = Uncertainty::new(estimates, args.seed, sampling.looks());
            // Every configuration must hold at both ends of every range before anything runs.
            for setup in &setups {
                let configs = setup.scenario.iter().map(|s| &s.config);
                for config in configs.chain(setup.configs.iter().map(|(_, c)| c)) {
                    u.check(config)?;
                }
            }
            Some(Arc::new(u))
        }
        false => None,
    };
    let thresholds = match (&setups[0].scenario, setups[0].configs.first()) {
        (Some(s), _) => s.config.thresholds.clone(),
        (None, Some((_, c))) => c.thresholds.clone(),
        (None, None) => presets::resolve(Tier::Medium, &fixed)?.thresholds,
    };
    Ok(Plan {
        args,
        axis,
        variants,
        sampling,
        setups,
        thresholds,
        control_plane_replicas: cp,
        machines: machines_text,
        batches,
        classic: create.as_ref().is_some_and(|c| !c.topology),
        uncertainty,
    })
}

/// Replicas per point and the rule they are judged by, from `--replicas`,
/// `--max-replicas`, `--pass-rate` and `--confidence`. A grid adds no replicas unless
/// `--max-replicas` is given; a search may add as many as showing the pass rate takes
/// when every replica passes (at most 1000).
fn sampling(args: &Args) -> anyhow::Result<Sampling> {
    for (flag, v) in [
        ("--pass-rate", args.pass_rate),
        ("--confidence", args.confidence),
    ] {
        if !(v > 0.0 && v < 1.0) {
            bail!("{flag} {v}: must lie strictly between 0 and 1, e.g. 0.95");
        }
    }
    let max_replicas = match args.max_replicas {
        Some(m) if m < args.replicas => bail!(
            "--max-replicas {m} is below --replicas {}: it is the most a point may grow to",
            args.replicas
        ),
        Some(m) => m,
        None if args.until_slo_violation => {
            Sampling::enough_to_show(args.replicas, args.pass_rate, args.confidence, 1000)
        }
        None => args.replicas,
    };
    Ok(Sampling {
        replicas: args.replicas,
        max_replicas,
        pass_rate: args.pass_rate,
        confidence: args.confidence,
    })
}

/// The fleet sizes whose tiers need a configuration: every size of a grid; for a search,
/// the lowest size of each guide tier the range reaches into.
fn config_sizes(args: &Args, axis: &sweep::Axis) -> Vec<u32> {
    if args.until_slo_violation {
        let (lo, hi) = (axis.0[0], *axis.0.last().expect("non-empty axis"));
        Tier::ALL
            .iter()
            .filter(|t| {
                let (a, b) = t.fleet_range();
                b.is_none_or(|b| b >= lo) && a <= hi
            })
            .map(|t| t.fleet_range().0.max(lo))
            .collect()
    } else {
        axis.0.clone()
    }
}

/// The setup of one value of the swept knobs: the fixed overrides with this value's, on
/// the scenario or on the tier of each of `sizes`.
fn resolve_setup(
    args: &Args,
    fixed: &[Override],
    knobs: &Knobs,
    sizes: &[u32],
    machines: &[u32],
) -> anyhow::Result<Setup> {
    let mut sets = fixed.to_vec();
    sets.extend(
        knobs
            .iter()
            .filter(|(k, _)| *k != "machines-per-cluster")
            .map(|(k, v)| Override {
                key: k.clone(),
                value: v.clone(),
            }),
    );
    let scenario = match &args.scenario {
        Some(p) => Some(crate::cmd::scenario::load_file(p, &sets)?),
        None => None,
    };
    let mut configs: Vec<(Tier, ModelConfig)> = Vec::new();
    if scenario.is_none() {
        for &c in sizes {
            let tier = tier_of(args, c);
            if !configs.iter().any(|(t, _)| *t == tier) {
                configs.push((tier, presets::resolve(tier, &sets)?));
            }
        }
    }
    let machines = knobs
        .get("machines-per-cluster")
        .map_or(Ok(machines[0]), |m| m.parse())?;
    Ok(Setup {
        scenario,
        configs,
        machines,
    })
}

impl Plan<'_> {
    /// Machines per cluster as given (one value or the swept list).
    pub(super) fn machines_text(&self) -> &str {
        &self.machines
    }

    /// The scenario's calibration (`capsim calibrate ... --out`), if it is one.
    pub(super) fn calibration(&self) -> Option<&models::scenario::Calibration> {
        self.setups[0].scenario.as_ref()?.calibration.as_ref()
    }

    /// The scenario the sweep's first point runs (its smallest size at the swept knobs'
    /// first values), every knob written out, for the report: with `--scenario`, that file
    /// with the overrides and its first create at this size; otherwise the tier's preset.
    pub(super) fn first_scenario(&self) -> Scenario {
        let c = self.axis.0[0];
        let run = self.run_plan(c, &self.variants[0]);
        let base = self.setups[0].scenario.as_ref();
        let mut create = run.fleet.create_op();
        let mut workload = base.map_or_else(Vec::new, |s| s.workload.clone());
        match workload.iter_mut().find_map(|op| match op {
            Operation::Create(first) => Some(first),
            _ => None,
        }) {
            Some(first) => {
                create.at = first.at;
                *first = create;
            }
            None => workload.insert(0, Operation::Create(create)),
        }
        Scenario {
            name: base.and_then(|s| s.name.clone()),
            defaults: base.map_or(presets::Profile::Capi112, |s| s.defaults),
            tier: base.map_or(Some(tier_of(self.args, c)), |s| s.tier),
            config: run.config,
            workload,
            faults: run.faults,
            management_clusters: base.and_then(|s| s.management_clusters),
            calibration: base.and_then(|s| s.calibration.clone()),
        }
    }

    /// The run of fleet size `c` at the swept knobs' values `knobs`.
    pub(super) fn run_plan(&self, c: u32, knobs: &Knobs) -> RunPlan {
        let args = self.args;
        let v = self
            .variants
            .iter()
            .position(|k| k == knobs)
            .expect("a known variant");
        let setup = &self.setups[v];
        let (config, label, faults, explicit_split, after) = match &setup.scenario {
            Some(s) => (
                s.config.clone(),
                s.tier.map_or(s.defaults.name(), |t| t.name()).to_string(),
                s.faults.clone(),
                s.management_clusters,
                s.after_ops(),
            ),
            None => {
                let tier = tier_of(args, c);
                let (_, config) = setup
                    .configs
                    .iter()
                    .find(|(t, _)| *t == tier)
                    .expect("resolved tier");
                (
                    config.clone(),
                    tier.name().to_string(),
                    Vec::new(),
                    None,
                    Vec::new(),
                )
            }
        };
        let management_clusters =
            explicit_split.unwrap_or_else(|| config.topology.management_clusters_for(c));
        let mut fleet = FleetSpec::all_at_once(c, setup.machines, self.control_plane_replicas);
        if let Some((batch, every, wait)) = self.batches {
            fleet.batch = Some(batch);
            fleet.batch_interval_s = every;
            fleet.wait = wait;
        }
        fleet.classic = self.classic;
        let mut plan = RunPlan::new(config, &label, fleet, args.seed);
        plan.max_simulated = args.max_time;
        plan.faults = faults;
        plan.management_clusters = management_clusters;
        plan.after = after;
        plan.uncertainty = self.uncertainty.clone();
        plan
    }
}
