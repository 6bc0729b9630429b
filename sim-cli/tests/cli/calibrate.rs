//! `capsim calibrate` (issue 21).

use predicates::prelude::*;

use super::{capsim, csv_fields as fields, scratch};

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
    // The other shapes scenarios accept: the boot times are 3, 4 and 5 minutes less
    // the 2 at InfrastructureReady, so the uniform is exactly 60 to 180 s.
    for (shape, value) in [
        ("uniform", "worker-join: {uniform: {min: 60, max: 180}}"),
        ("normal", "worker-join: {normal: {mean: 120,"),
    ] {
        capsim()
            .args(["calibrate", "machines", "--fit", shape])
            .arg(&file)
            .arg("--out")
            .arg(&out)
            .assert()
            .success();
        let overlay = std::fs::read_to_string(&out).unwrap();
        assert!(overlay.contains(value), "{overlay}");
        capsim()
            .args(["scenario", "check"])
            .arg(&out)
            .assert()
            .success();
    }
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

/// Issue 21, queueing separation through the command: a task list where creates waited
/// for one of 2 slots gives the slot count, the wait and a service time with the wait
/// taken out, written as prism-central knobs with their ranges; a subtask is passed over.
#[test]
fn calibrate_machines_with_a_task_list_separates_the_slot_wait() {
    let dir = scratch("calibrate-tasks");
    let machines = dir.join("machines.json");
    let m = |i: u32| {
        format!(
            r#"{{"kind":"Machine","metadata":{{"name":"m{i}","namespace":"f","creationTimestamp":"2026-11-30T00:00:00Z"}},"spec":{{"clusterName":"c"}},"status":{{"conditions":[{{"type":"BootstrapReady","status":"True","lastTransitionTime":"2026-11-30T00:00:10Z"}},{{"type":"InfrastructureReady","status":"True","lastTransitionTime":"2026-11-30T00:02:00Z"}},{{"type":"NodeHealthy","status":"True","lastTransitionTime":"2026-11-30T00:0{}:00Z"}}]}}}}"#,
            3 + i % 3
        )
    };
    let items: Vec<String> = (0..4).map(m).collect();
    std::fs::write(
        &machines,
        format!(r#"{{"kind":"List","items":[{}]}}"#, items.join(",")),
    )
    .unwrap();
    // Six creates at once through 2 slots, each holding one for 60-70 s: three waves.
    let mut tasks = Vec::new();
    let mut free = [0u32; 2];
    for i in 0..6u32 {
        let slot = (i % 2) as usize;
        let (start, held) = (free[slot], 60 + i * 2);
        free[slot] = start + held;
        let t = |s: u32| format!("2026-11-30T00:{:02}:{:02}Z", s / 60, s % 60);
        tasks.push(format!(
            r#"{{"operation":"CreateVm","status":"SUCCEEDED","createdTime":"{}","startedTime":"{}","completedTime":"{}"}}"#,
            t(0),
            t(start),
            t(start + held)
        ));
    }
    tasks.push(r#"{"operation":"kVmCreate","status":"SUCCEEDED","parentTask":{"taskExtId":"p"},"createdTime":"2026-11-30T00:00:00Z","startedTime":"2026-11-30T00:00:00Z","completedTime":"2026-11-30T00:01:00Z"}"#.into());
    let task_file = dir.join("tasks.json");
    std::fs::write(&task_file, format!(r#"{{"data":[{}]}}"#, tasks.join(","))).unwrap();
    let out = dir.join("calibrated.yaml");
    let charts = dir.join("qq");
    capsim()
        .args(["calibrate", "machines"])
        .arg(&machines)
        .arg("--tasks")
        .arg(&task_file)
        .args(["--load-slowdown", "0"])
        .arg("--out")
        .arg(&out)
        .arg("--charts")
        .arg(&charts)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "2 task slots (the most tasks running at once; 4 tasks waited",
        ))
        .stdout(predicate::str::contains("1 subtasks"));
    let overlay = std::fs::read_to_string(&out).unwrap();
    assert!(overlay.contains("  vm-create: {lognormal:"), "{overlay}");
    assert!(
        overlay.contains("prism-central.vm-create: {scale: ["),
        "{overlay}"
    );
    assert!(overlay.contains("max-concurrent-tasks: 2"), "{overlay}");
    assert!(charts.join("qq-vm-create.png").exists());
    assert!(charts.join("qq-worker-boot.svg").exists());
    capsim()
        .args(["scenario", "check"])
        .arg(&out)
        .assert()
        .success();
    capsim()
        .args(["calibrate", "machines"])
        .arg(&machines)
        .args(["--tasks"])
        .arg(&task_file)
        .args(["--load-slowdown", "7"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("from 0 to 3"));
}

/// Issue 21: a sweep of a calibrated scenario says so beside its verdict, and with
/// --uncertainty draws the calibrated knobs from the calibration's intervals (the load
/// slowdown within [0.4, 0.6], not the built-in [0, 1.5]), adding the VM create time,
/// which has no built-in range.
#[test]
fn a_sweep_of_a_calibrated_scenario_draws_from_the_fitted_ranges_and_says_so() {
    let dir = scratch("calibrated-sweep");
    let scenario = dir.join("calibrated.yaml");
    std::fs::write(
        &scenario,
        "calibrated-from: \"tasks.json\"\n\
         prism-central:\n  vm-create: {lognormal: {p50: 50, p95: 80}}\n  load-slowdown: 0.5\n\
         uncertainty:\n  \
           prism-central.vm-create: {scale: [0.95, 1.05], why: \"calibrated: n=700\"}\n  \
           prism-central.load-slowdown: {range: [0.4, 0.6], why: \"calibrated: n=2100\"}\n",
    )
    .unwrap();
    let out = dir.join("out");
    let text = capsim()
        .args([
            "sweep",
            "--clusters",
            "2",
            "--replicas",
            "4",
            "--uncertainty",
        ])
        .args([
            "--machines-per-cluster",
            "2",
            "--control-plane-replicas",
            "1",
        ])
        .arg("--scenario")
        .arg(&scenario)
        .arg("--out")
        .arg(&out)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(text).unwrap();
    assert!(
        text.contains("Calibrated: these verdicts use 2 knobs with ranges from tasks.json"),
        "{text}"
    );
    let csv = std::fs::read_to_string(out.join("replicas.csv")).unwrap();
    let mut lines = csv.lines();
    let head = fields(lines.next().unwrap());
    let col = |name: &str| head.iter().position(|h| h == name).expect(name);
    let (s, c) = (
        col("draw: prism-central.load-slowdown"),
        col("draw: prism-central.vm-create"),
    );
    let rows: Vec<Vec<f64>> = lines
        .map(|l| {
            let f = fields(l);
            vec![f[s].parse().unwrap(), f[c].parse().unwrap()]
        })
        .collect();
    assert_eq!(rows.len(), 4);
    for r in rows {
        assert!((0.4..=0.6).contains(&r[0]), "{r:?}");
        assert!((0.95..=1.05).contains(&r[1]), "{r:?}");
    }
}

/// Issue 21, `capsim calibrate prometheus`: capsim's own series, exported as Prometheus
/// range-query answers, compare with zero error with the same run; an etcd size 10 %
/// higher everywhere gives a MAPE of exactly 0.1/1.1 and a peak error of -1/11; a file
/// named after no metric exits 2 naming the metrics.
#[test]
fn calibrate_prometheus_gives_zero_error_on_its_own_series_and_the_expected_error_on_a_shifted_one()
{
    let dir = scratch("calibrate-prometheus");
    let scenario = dir.join("ran.yaml");
    std::fs::write(
        &scenario,
        "tier: small\nworkload:\n  - create: { clusters: 4, machines-per-cluster: 3, control-plane-replicas: 1 }\n  - steady: { duration: 5m }\n",
    )
    .unwrap();
    let sim = dir.join("sim");
    let base = |c: &mut assert_cmd::Command| {
        c.args(["calibrate", "prometheus", "--scenario"])
            .arg(&scenario)
            .args(["--start", "2026-11-30T00:00:00Z"]);
    };
    let mut c = capsim();
    base(&mut c);
    c.arg("--export").arg(&sim).assert().success();
    let files: Vec<String> = std::fs::read_dir(&sim)
        .unwrap()
        .map(|e| e.unwrap().path().display().to_string())
        .collect();
    assert_eq!(files.len(), 6, "{files:?}");
    let mut c = capsim();
    base(&mut c);
    let out = c
        .args(&files)
        .args(["--format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let series = doc["series"].as_array().unwrap();
    let compared: Vec<&serde_json::Value> = series
        .iter()
        .filter(|s| s["compared"]["mape"].is_number())
        .collect();
    assert!(compared.len() >= 10, "{doc}");
    for s in &compared {
        assert_eq!(s["compared"]["mape"], 0.0, "{s}");
        assert_eq!(s["compared"]["peak_error"], 0.0, "{s}");
        assert_eq!(s["compared"]["peak_shift_s"], 0.0, "{s}");
    }
    // The etcd size, 10 % higher at every point.
    let text = std::fs::read_to_string(sim.join("etcd_db_size.json")).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    for p in v["data"]["result"][0]["values"].as_array_mut().unwrap() {
        let x: f64 = p[1].as_str().unwrap().parse().unwrap();
        p[1] = serde_json::Value::from(format!("{}", x * 1.1));
    }
    let high = dir.join("etcd-high.json");
    std::fs::write(&high, v.to_string()).unwrap();
    let mut c = capsim();
    base(&mut c);
    let out = c
        .arg(format!("etcd_db_size={}", high.display()))
        .args(["--format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let e = &doc["series"][0]["compared"];
    assert!(
        (e["mape"].as_f64().unwrap() - 0.1 / 1.1).abs() < 1e-9,
        "{e}"
    );
    assert!(
        (e["peak_error"].as_f64().unwrap() + 1.0 / 11.0).abs() < 1e-9,
        "{e}"
    );
    let mut c = capsim();
    base(&mut c);
    c.arg(dir.join("latency.json"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("is not a metric capsim compares"))
        .stderr(predicate::str::contains("etcd_db_size"));
}
