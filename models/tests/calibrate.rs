//! Issue 21, `capsim calibrate machines`: Machines rendered from a capsim run as kubectl
//! prints them give back the boot times capsim drew (a round trip), and bad input is
//! refused or excluded, by name.

mod common;

use common::{make_plan, simulate_and_report};
use models::calibrate::{Phase, Role, SlotsFrom, fit_phases, parse_machines, parse_tasks};
use models::prism_central::TaskKind;
use models::scenario::presets::Tier;
use models::world::World;
use serde_json::{Value, json};

/// An RFC 3339 time `s` seconds after 2026-11-30T00:00:00Z.
fn at(s: f64) -> String {
    let whole = s.floor() as u64;
    let (h, m, sec) = (whole / 3600, whole / 60 % 60, whole % 60);
    let (d, h) = (30 + h / 24, h % 24);
    assert!(
        d <= 30 + 1,
        "the helper writes November's last two days only"
    );
    let (month, day) = if d == 31 { (12, 1) } else { (11, d) };
    let frac = ((s - whole as f64) * 1e6).round() as u64;
    format!("2026-{month:02}-{day:02}T{h:02}:{m:02}:{sec:02}.{frac:06}Z")
}

/// The world's Machines as `kubectl get machines -A -o json` prints them (the fields
/// `calibrate` reads): v1beta1 conditions with their transition times.
fn kubectl_machines(world: &World) -> String {
    let mut items = Vec::new();
    for (i, m) in world.machines.iter().enumerate() {
        let Some(created) = m.created_at else {
            continue;
        };
        let cond = |ty: &str, t: Option<sim_core::SimTime>| match t {
            Some(t) => {
                json!({"type": ty, "status": "True", "lastTransitionTime": at(t.as_secs_f64())})
            }
            None => {
                json!({"type": ty, "status": "False", "lastTransitionTime": at(created.as_secs_f64())})
            }
        };
        let mut labels = json!({"cluster.x-k8s.io/cluster-name": format!("c{}", m.cluster)});
        if m.cp_index.is_some() {
            labels["cluster.x-k8s.io/control-plane"] = json!("");
        }
        items.push(json!({
            "apiVersion": "cluster.x-k8s.io/v1beta1",
            "kind": "Machine",
            "metadata": {"name": format!("m{i}"), "namespace": "default",
                         "creationTimestamp": at(created.as_secs_f64()), "labels": labels},
            "spec": {"clusterName": format!("c{}", m.cluster)},
            "status": {"conditions": [
                cond("BootstrapReady", m.bootstrap_at),
                cond("InfrastructureReady", m.nm_ready_at),
                cond("NodeHealthy", m.joined_at),
            ]},
        }));
    }
    for (c, cl) in world.clusters.iter().enumerate() {
        let (Some(created), Some(init)) = (cl.created_at, cl.cp_init_at) else {
            continue;
        };
        items.push(json!({
            "apiVersion": "cluster.x-k8s.io/v1beta1",
            "kind": "Cluster",
            "metadata": {"name": format!("c{c}"), "namespace": "default",
                         "creationTimestamp": at(created.as_secs_f64())},
            "status": {"conditions": [{"type": "ControlPlaneInitialized", "status": "True",
                                       "lastTransitionTime": at(init.as_secs_f64())}]},
        }));
    }
    json!({"apiVersion": "v1", "kind": "List", "items": items}).to_string()
}

/// Round trip: 600 workers of a Medium-tier fleet. The boot phase (infrastructure ready
/// → node healthy) is the worker-join draw less CAPX's poll and status write after the
/// power-on task, so the fitted p50 and p95 come back within 10 % of the knob's.
#[test]
fn a_capsim_fleet_rendered_as_kubectl_output_gives_back_its_boot_times() {
    let plan = make_plan(Tier::Medium, 100, 7, 1, &[]);
    let truth = plan.config.machine_boot.worker_join;
    let (world, report) = simulate_and_report(&plan);
    let text = kubectl_machines(&world);
    let (machines, ex) = parse_machines(&text, "fleet.json").unwrap();
    // Each cluster's control-plane initialization, read back as the run report measures
    // it (created to ControlPlaneInitialized): the same median to the microsecond that
    // the RFC 3339 times keep.
    let mut cex = models::calibrate::Exclusions::default();
    let clusters = models::calibrate::parse_clusters(&text, "fleet.json", &mut cex).unwrap();
    assert_eq!(clusters.len(), 100);
    let mut init: Vec<f64> = clusters.iter().map(|c| c.initialized - c.created).collect();
    init.sort_by(f64::total_cmp);
    let p50 = sim_core::stats::quantile_sorted(&init, 0.5);
    let reported = report.phases.control_plane_initialized_p50_s;
    assert!((p50 - reported).abs() < 1e-3, "{p50} vs {reported}");
    assert_eq!(ex.unfinished + ex.clock_skew + ex.deleting, 0, "{ex:?}");
    assert_eq!(
        machines.iter().filter(|m| m.role == Role::Worker).count(),
        600
    );
    assert_eq!(
        machines
            .iter()
            .filter(|m| m.role == Role::ControlPlaneInit)
            .count(),
        100
    );
    let fits = fit_phases(&machines, models::calibrate::Shape::Lognormal);
    let boot = fits
        .iter()
        .find(|f| f.role == Role::Worker && f.phase == Phase::Boot)
        .unwrap();
    let models::dist::Dist::Lognormal { p50, p95, .. } = truth else {
        panic!("the preset's worker-join is a lognormal")
    };
    eprintln!(
        "boot fit: p50 {:.2} (truth {p50}), p95 {:.2} (truth {p95}), n {}, KS {:.3}",
        boot.fit.p50, boot.fit.p95, boot.fit.n, boot.fit.ks
    );
    assert!(
        (boot.fit.p50 / p50 - 1.0).abs() < 0.10,
        "p50 {} vs {p50}",
        boot.fit.p50
    );
    assert!(
        (boot.fit.p95 / p95 - 1.0).abs() < 0.10,
        "p95 {} vs {p95}",
        boot.fit.p95
    );
    assert_eq!(boot.knob, Some("machine-boot.worker-join"));
    let overlay = models::calibrate::overlay(&models::calibrate::boot_knobs(&fits), "fleet.json");
    assert!(
        overlay.contains("worker-join: {lognormal: {p50: "),
        "{overlay}"
    );
    // The overlay is a scenario: its fitted knobs load, and its ranges replace the
    // built-in ones, narrower (n = 600: the p95's interval is a few per cent).
    let s = models::scenario::load("calibrated.yaml", &overlay, &[]).unwrap();
    let boot = s.config.machine_boot.worker_join;
    let models::dist::Dist::Lognormal { p50: fp50, .. } = boot else {
        panic!("{boot:?}")
    };
    assert!((fp50 / boot_p50(&fits) - 1.0).abs() < 1e-3);
    let c = s.calibration.expect("a calibration");
    assert_eq!(c.from, "fleet.json");
    let r = c
        .ranges
        .0
        .iter()
        .find(|e| e.path == "machine-boot.worker-join")
        .unwrap();
    let models::scenario::uncertainty::Spread::Scale(lo, hi) = r.spread else {
        panic!("{r:?}")
    };
    assert!(lo > 0.9 && hi < 1.1 && lo < 1.0 && hi > 1.0, "{lo} {hi}");
    let merged = models::scenario::uncertainty::Estimates::builtin().calibrated(&c.ranges);
    assert_eq!(
        merged
            .0
            .iter()
            .find(|e| e.path == "machine-boot.worker-join"),
        Some(r)
    );
}

fn boot_p50(fits: &[models::calibrate::PhaseFit]) -> f64 {
    let f = fits
        .iter()
        .find(|f| f.role == Role::Worker && f.phase == Phase::Boot)
        .unwrap();
    (f.fit.p50 * 1000.0).round() / 1000.0
}

/// The world's Prism Central tasks as its v4 task list prints them.
fn v4_tasks(world: &World) -> String {
    let data: Vec<Value> = world
        .task_log
        .iter()
        .map(|t| {
            let op = match t.kind {
                TaskKind::VmCreate => "CreateVm",
                TaskKind::VmUpdate => "UpdateVm",
                TaskKind::VmPowerOn => "PowerOnVm",
                TaskKind::VmDelete => "DeleteVm",
            };
            let status = if t.succeeded { "SUCCEEDED" } else { "FAILED" };
            json!({"extId": format!("t{}-{op}", t.machine), "operation": op, "status": status,
                   "createdTime": at(t.created.as_secs_f64()),
                   "startedTime": at(t.started.as_secs_f64()),
                   "completedTime": at(t.completed.as_secs_f64())})
        })
        .collect();
    json!({"data": data, "metadata": {"totalAvailableResults": data.len()}}).to_string()
}

/// Queueing separation: 700 VMs created at once through 4 task slots wait far longer
/// for a slot than they hold one (the time from the request is several times the VM
/// create time), yet the service time fitted from the task list comes back within 10 %
/// of the knob's p50 and p95, with the slot count found from the data.
#[test]
fn vm_create_service_time_is_separated_from_the_wait_for_a_task_slot() {
    let mut plan = make_plan(
        Tier::Medium,
        100,
        7,
        1,
        &[
            "prism-central.max-concurrent-tasks=4",
            "prism-central.vm-create={lognormal: {p50: 60, p95: 110}}",
        ],
    );
    plan.timeline = true;
    let (world, _) = simulate_and_report(&plan);
    let (tasks, ex) = parse_tasks(&v4_tasks(&world), "tasks.json").unwrap();
    assert_eq!((ex.subtasks, ex.clock_skew), (0, 0));
    assert_eq!(tasks.len(), 700 * 3, "create, update, power-on per VM");
    let slowdown = plan.config.prism_central.load_slowdown;
    let sep = models::calibrate::separate(
        &[tasks],
        None,
        Some(slowdown),
        (16, 0.5),
        models::calibrate::Shape::Lognormal,
    );
    assert_eq!((sep.slots, sep.slots_from), (4, SlotsFrom::Saturated));
    let create = sep
        .kinds
        .iter()
        .find(|k| k.kind == TaskKind::VmCreate)
        .unwrap();
    eprintln!(
        "vm-create: service p50 {:.1} p95 {:.1} (truth 60, 110); from request p50 {:.1}; \
         slot wait p50 {:.1}; slowdown fit {:?}",
        create.service.p50,
        create.service.p95,
        create.from_request.p50,
        create.wait_p50,
        sep.slowdown_fit
    );
    assert_eq!(create.service.n, 700);
    assert!((create.service.p50 / 60.0 - 1.0).abs() < 0.10, "{create:?}");
    assert!(
        (create.service.p95 / 110.0 - 1.0).abs() < 0.10,
        "{create:?}"
    );
    assert!(
        create.from_request.p50 > 3.0 * 60.0,
        "the slots were not saturated"
    );
    let knobs =
        models::calibrate::task_knobs(&sep, ("2026-11-30T00:00:00Z", "2026-11-30T05:00:00Z"));
    eprintln!("{}", models::calibrate::overlay(&knobs, "tasks.json"));
    assert!(knobs.iter().any(|k| k.path == "prism-central.vm-create"));
    assert!(
        knobs
            .iter()
            .any(|k| k.path == "prism-central.max-concurrent-tasks" && k.value == "4")
    );
}

/// Bad input: an empty file, text that is not JSON, a JSON that is not a List, a bad
/// time are errors naming the file and where; a Machine not provisioned yet, one whose
/// condition precedes its creation (clock skew) and one being deleted are excluded and
/// counted.
#[test]
fn bad_kubectl_output_is_refused_or_excluded_by_name() {
    for (text, says) in [
        ("", "empty"),
        ("{not json", "not JSON"),
        ("{\"kind\": \"Pod\"}", "not a kubectl List"),
    ] {
        let e = parse_machines(text, "f.json").unwrap_err();
        assert!(e.starts_with("f.json: ") && e.contains(says), "{e}");
    }
    let machine = |name: &str, created: &str, node: Option<&str>, deleting: bool| -> Value {
        let mut conditions = vec![
            json!({"type": "BootstrapReady", "status": "True", "lastTransitionTime": "2026-11-30T00:01:00Z"}),
            json!({"type": "InfrastructureReady", "status": "True", "lastTransitionTime": "2026-11-30T00:05:00Z"}),
        ];
        if let Some(t) = node {
            conditions
                .push(json!({"type": "NodeHealthy", "status": "True", "lastTransitionTime": t}));
        }
        let mut meta = json!({"name": name, "namespace": "ns", "creationTimestamp": created});
        if deleting {
            meta["deletionTimestamp"] = json!("2026-11-30T01:00:00Z");
        }
        json!({"kind": "Machine", "metadata": meta, "spec": {"clusterName": "c"},
               "status": {"conditions": conditions}})
    };
    let list = json!({"kind": "List", "items": [
        machine("ok", "2026-11-30T00:00:00Z", Some("2026-11-30T00:07:00Z"), false),
        machine("pending", "2026-11-30T00:00:00Z", None, false),
        machine("skewed", "2026-11-30T00:02:00Z", Some("2026-11-30T00:07:00Z"), false),
        machine("going", "2026-11-30T00:00:00Z", Some("2026-11-30T00:07:00Z"), true),
    ]});
    let (machines, ex) = parse_machines(&list.to_string(), "f.json").unwrap();
    assert_eq!(machines.len(), 1);
    assert_eq!(machines[0].phase(Phase::Boot), Some(120.0));
    assert_eq!((ex.unfinished, ex.clock_skew, ex.deleting), (1, 1, 1));
    let bad_time = json!({"kind": "List", "items": [machine("x", "noon", None, false)]});
    let e = parse_machines(&bad_time.to_string(), "f.json").unwrap_err();
    assert!(
        e.contains("items[0].metadata.creationTimestamp") && e.contains("noon"),
        "{e}"
    );
}
