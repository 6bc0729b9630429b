//! Issue 19: `--uncertainty` draws the estimates per replica, the draws reach the runs, and
//! the verdict says what it rests on.

use super::{capsim, csv_fields as fields};

/// Spearman's rank correlation (no ties in these draws).
fn rank_correlation(x: &[f64], y: &[f64]) -> f64 {
    let ranks = |v: &[f64]| -> Vec<f64> {
        v.iter()
            .map(|a| v.iter().filter(|b| *b < a).count() as f64)
            .collect()
    };
    let (rx, ry) = (ranks(x), ranks(y));
    let n = rx.len() as f64;
    let d2: f64 = rx.iter().zip(&ry).map(|(a, b)| (a - b) * (a - b)).sum();
    1.0 - 6.0 * d2 / (n * (n * n - 1.0))
}

fn sweep(dir: &std::path::Path, threads: &str, replicas: &str, extra: &[&str]) -> String {
    let out = capsim()
        .args(["sweep", "--clusters", "2,3", "--replicas", replicas])
        .args([
            "--machines-per-cluster",
            "2",
            "--control-plane-replicas",
            "1",
        ])
        .args(["--threads", threads])
        .args(extra)
        .arg("--out")
        .arg(dir)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    String::from_utf8(out).unwrap()
}

#[test]
fn uncertainty_draws_each_estimate_per_replica_and_the_runs_follow_them() {
    let dir = std::env::temp_dir().join(format!("capsim-uncertainty-{}", std::process::id()));
    let text = sweep(&dir, "2", "20", &["--uncertainty"]);
    let csv = std::fs::read_to_string(dir.join("replicas.csv")).unwrap();
    let json = std::fs::read_to_string(dir.join("summary.json")).unwrap();
    // The same at any thread count.
    sweep(&dir, "1", "20", &["--uncertainty"]);
    assert_eq!(
        csv,
        std::fs::read_to_string(dir.join("replicas.csv")).unwrap()
    );
    assert_eq!(
        json,
        std::fs::read_to_string(dir.join("summary.json")).unwrap()
    );

    let mut lines = csv.lines();
    let header = fields(lines.next().unwrap());
    let col = |name: &str| header.iter().position(|h| *h == name).expect(name);
    let rows: Vec<Vec<String>> = lines.map(fields).collect();
    let values = |clusters: &str, name: &str| -> Vec<f64> {
        rows.iter()
            .filter(|r| r[0] == clusters)
            .map(|r| r[col(name)].parse().unwrap())
            .collect()
    };
    // Prism Central's load slowdown, drawn uniformly in [0, 1.5]: the 20 replicas fill
    // its 20 strata once each, and replica r draws the same value at both sizes.
    let slowdown = values("2", "draw: prism-central.load-slowdown");
    assert_eq!(slowdown, values("3", "draw: prism-central.load-slowdown"));
    let mut strata: Vec<u32> = slowdown.iter().map(|v| (v / 1.5 * 20.0) as u32).collect();
    strata.sort();
    assert_eq!(strata, (0..20).collect::<Vec<_>>());
    // Every object's size (×0.5–2) sets most of etcd's database: the replicas' peaks
    // follow its draws.
    let size = values("2", "draw: costs.object-size");
    let db = values("2", "etcd_db_peak_bytes");
    let rho = rank_correlation(&size, &db);
    assert!(
        rho > 0.8,
        "etcd's peak against the objects' size: ρ = {rho}"
    );

    assert!(
        text.contains("Pass rates include the uncertainty of"),
        "{text}"
    );
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    let s = &doc["uncertainty"]["sensitivity"];
    assert_eq!(s["replicas"], 20);
    assert!(doc["uncertainty"]["estimates"].as_array().unwrap().len() > 40);

    // Without the flag the verdict says the estimates were held at their defaults.
    let text = sweep(&dir, "2", "3", &[]);
    assert!(
        text.contains("estimated ([I]) knobs at their defaults; --uncertainty draws"),
        "{text}"
    );
    assert!(
        !std::fs::read_to_string(dir.join("replicas.csv"))
            .unwrap()
            .contains("draw: ")
    );
    std::fs::remove_dir_all(&dir).ok();
}
