//! `capsim calibrate` (issue 21).

use predicates::prelude::*;

use super::{capsim, scratch};

/// Issue 21, `capsim calibrate machines`: kubectl JSON of a few Machines gives a table
/// and an overlay that reads back as a scenario; a file that is not kubectl output exits
/// 2 naming it.
#[test]
fn calibrate_machines_fits_the_boot_phase_and_writes_an_overlay() {
    let dir = scratch("calibrate");
    let file = dir.join("machines.json");
    let machine = |i: u32, boot: u32| {
        format!(
            r#"{{"kind":"Machine","metadata":{{"name":"m{i}","namespace":"f","creationTimestamp":"2026-11-30T00:00:00Z"}},"spec":{{"clusterName":"c"}},"status":{{"conditions":[{{"type":"BootstrapReady","status":"True","lastTransitionTime":"2026-11-30T00:00:10Z"}},{{"type":"InfrastructureReady","status":"True","lastTransitionTime":"2026-11-30T00:02:00Z"}},{{"type":"NodeHealthy","status":"True","lastTransitionTime":"2026-11-30T00:0{boot}:00Z"}}]}}}}"#
        )
    };
    let items: Vec<String> = (0..6).map(|i| machine(i, 3 + i % 3)).collect();
    std::fs::write(
        &file,
        format!(r#"{{"kind":"List","items":[{}]}}"#, items.join(",")),
    )
    .unwrap();
    let out = dir.join("calibrated.yaml");
    capsim()
        .args(["calibrate", "machines"])
        .arg(&file)
        .arg("--out")
        .arg(&out)
        .assert()
        .success()
        .stdout(predicate::str::contains("machine-boot.worker-join"));
    let overlay = std::fs::read_to_string(&out).unwrap();
    assert!(overlay.contains("worker-join: {lognormal:"), "{overlay}");
    capsim()
        .args(["scenario", "check"])
        .arg(&out)
        .assert()
        .success();
    std::fs::write(&file, "{\"kind\": \"Pod\"}").unwrap();
    capsim()
        .args(["calibrate", "machines"])
        .arg(&file)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "machines.json: not a kubectl List",
        ));
}
