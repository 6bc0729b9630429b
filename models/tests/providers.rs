//! The infrastructure providers (issue 12): CAPI's in-memory provider times its machines'
//! VM, Node, etcd and API server with `RequeueAfter`, so a fleet's time follows the
//! template's delays and no worker is held while a machine provisions; CAPX holds its
//! worker through every Prism Central task.

use models::run::report::RunReport;
use models::run::{RunPlan, run};
use models::scenario::operations::FleetSpec;
use models::scenario::presets::{self, Override, Tier};

fn report(fleet: FleetSpec, sets: &[&str]) -> RunReport {
    let overrides: Vec<Override> = sets.iter().map(|s| s.parse().unwrap()).collect();
    let plan = RunPlan::new(
        presets::resolve(Tier::Small, &overrides).unwrap(),
        "small",
        fleet,
        1,
    );
    run(&plan).expect("run completes").report
}

/// The in-memory provider with constant delays: `vm` seconds for the VM, 2 s for the
/// Node, etcd and the API server.
fn in_memory(vm: u32) -> Vec<String> {
    let mut sets = vec![
        "infrastructure-provider=in-memory".to_string(),
        format!("in-memory.vm.startup-duration={vm}s"),
    ];
    for phase in ["vm", "node", "api-server", "etcd"] {
        sets.push(format!("in-memory.{phase}.startup-jitter=0"));
    }
    sets
}

#[test]
fn an_in_memory_control_plane_is_ready_after_its_delays_and_the_controllers_work() {
    // One cluster of one control-plane machine: its way to ready is the VM (10 s), then
    // the Node (2 s), then etcd and the API server together (2 s), plus what the
    // controllers do around them.
    let at = |vm: u32| {
        let sets = in_memory(vm);
        let sets: Vec<&str> = sets.iter().map(String::as_str).collect();
        report(FleetSpec::all_at_once(1, 1, 1), &sets)
    };
    let (short, long) = (at(10), at(20));
    for (r, vm) in [(&short, 10.0), (&long, 20.0)] {
        let ph = &r.phases;
        // Each phase ends at its deadline: the reconcile requeued for exactly its wait.
        assert!(
            (ph.machine_vm_p50_s - vm).abs() < 0.2,
            "VM phase {} s for a {vm} s VM",
            ph.machine_vm_p50_s
        );
        assert!((ph.machine_boot_p50_s - 4.0).abs() < 0.1, "{ph:?}");
        let ready = r.fleet.time_to_ready_s.expect("ready");
        let delays = vm + 4.0;
        assert!(
            ready >= delays && ready - delays < 2.0,
            "ready at {ready} s: {delays} s of delays and under 2 s of controller work"
        );
    }
    let shift = long.fleet.time_to_ready_s.unwrap() - short.fleet.time_to_ready_s.unwrap();
    assert!((shift - 10.0).abs() < 0.5, "10 s more VM, {shift} s later");
}

#[test]
fn the_in_memory_provider_never_holds_a_worker_while_a_machine_provisions() {
    // Five clusters of 4 machines. The in-memory DevMachine reconcile returns at once
    // (RequeueAfter); CAPX's NutanixMachine reconcile waits for its Prism Central tasks.
    let fleet = FleetSpec::all_at_once(5, 4, 1);
    let sets = in_memory(10);
    let sets: Vec<&str> = sets.iter().map(String::as_str).collect();
    let mem = report(fleet, &sets);
    let capx = report(fleet, &[]);
    let p99 = |r: &RunReport, name: &str| {
        r.controllers
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("{name} in the report"))
            .reconcile_p99_s
    };
    assert!(p99(&mem, "devmachine") < 0.5, "{}", p99(&mem, "devmachine"));
    assert!(p99(&capx, "nutanixmachine") > 60.0);
    // No Prism Central at all; the VM's startup stands for the VM creation.
    assert_eq!(mem.prism_central.requests, 0);
    assert!((mem.prism_central.vm_create_p95_s - 10.0).abs() < 0.2);
    assert!(
        mem.managers
            .iter()
            .any(|m| m.name == "capd-controller-manager")
    );
    assert!(mem.fleet.time_to_ready_s.unwrap() < capx.fleet.time_to_ready_s.unwrap());
}
