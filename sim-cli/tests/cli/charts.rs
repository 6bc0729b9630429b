//! Issue 14, item 5: `capsim run --charts DIR` draws the guide's alerts over the run.

use super::{capsim, scratch};

#[test]
fn a_run_draws_its_alert_timeline_with_every_rule() {
    let dir = scratch("charts");
    capsim()
        .args(["run", "--clusters", "3", "--machines-per-cluster", "3"])
        .args(["--control-plane-replicas", "1", "--charts"])
        .arg(&dir)
        .assert()
        .success();
    assert!(dir.join("alerts-timeline.png").exists());
    let svg = std::fs::read_to_string(dir.join("alerts-timeline.svg")).unwrap();
    for rule in [
        "CAPIWorkQueueBacklog",
        "MachineProvisioningStuck",
        "NutanixVMCreationFailures",
        "CAPIControllerHighReconcileLatency (cannot fire)",
    ] {
        assert!(svg.contains(rule), "{rule} missing");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
