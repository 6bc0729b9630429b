"""Write the EXAMPLE measurement files that calibrate-from-measurements.ipynb reads.

THESE ARE INVENTED NUMBERS, NOT MEASUREMENTS OF ANY SYSTEM. They stand in for what a user
would record on their own fleet, so that the notebook runs out of the box and in CI:
each phase is drawn from a lognormal whose median is capsim's p50 in run.json times a
made-up factor (the "real" system deliberately slower or faster than the model in places)
and whose spread matches capsim's p95/p50.

    cd notebooks/data && python3 make_example_measurements.py

Standard library only; fixed seed, so the files are reproducible.
"""

import csv
import json
import math
import random

# Made-up ratios of the "measured" median to capsim's: what a calibration would discover.
FACTOR = {
    "control_plane_initialized": 1.15,
    "control_plane_ready": 0.92,
    "machine_bootstrap": 1.10,
    "machine_vm": 1.30,
    "machine_boot": 0.80,
}
# capsim's join (node seen to Machine Running) takes milliseconds; the example pretends
# the real one takes about two seconds.
JOIN_MEDIAN_S = 2.0
CLUSTER_PHASES = ["control_plane_initialized", "control_plane_ready"]
MACHINE_PHASES = ["machine_bootstrap", "machine_vm", "machine_boot", "machine_join"]
Z95 = 1.6449
# The files' first line (pandas: read_csv(..., comment="#")).
LABEL = "EXAMPLE DATA, invented by make_example_measurements.py: not a measurement of any system"


def main() -> None:
    run = json.load(open("run.json"))
    phases = run["phases"]
    clusters = run["fleet"]["clusters"]
    machines = run["fleet"]["machines_per_cluster"]
    rng = random.Random(15)

    def draw(phase: str) -> float:
        p50, p95 = phases[f"{phase}_p50_s"], phases[f"{phase}_p95_s"]
        sigma = math.log(p95 / p50) / Z95
        median = JOIN_MEDIAN_S if phase == "machine_join" else p50 * FACTOR[phase]
        return median * math.exp(rng.gauss(0.0, sigma))

    samples = []
    with open("measured-EXAMPLE.csv", "w", newline="") as f:
        f.write(f"# {LABEL}\n")
        out = csv.writer(f)
        out.writerow(["cluster", "phase", "seconds"])
        for c in range(1, clusters + 1):
            name = f"example-{c:03d}"
            rows = [(p, draw(p)) for p in CLUSTER_PHASES]
            rows += [(p, draw(p)) for _ in range(machines) for p in MACHINE_PHASES]
            for phase, seconds in rows:
                out.writerow([name, phase, f"{seconds:.1f}"])
                samples.append((phase, seconds))

    # A Prometheus range query's result flattened to CSV, one row per sample: the series
    # are per-phase quantiles (label `phase`, label `quantile`), sampled every 5 minutes
    # over the last half hour of the example's "measurement".
    def quantile(values: list[float], q: float) -> float:
        values = sorted(values)
        pos = q * (len(values) - 1)
        lo = math.floor(pos)
        hi = min(lo + 1, len(values) - 1)
        return values[lo] + (values[hi] - values[lo]) * (pos - lo)

    start = 1_735_689_600  # 2025-01-01T00:00:00Z, an arbitrary example instant
    with open("prometheus-EXAMPLE.csv", "w", newline="") as f:
        f.write(f"# {LABEL}\n")
        out = csv.writer(f)
        out.writerow(["timestamp", "phase", "quantile", "value"])
        for phase in CLUSTER_PHASES + MACHINE_PHASES:
            values = [s for p, s in samples if p == phase]
            for q in (0.5, 0.95):
                final = quantile(values, q)
                for step in range(7):
                    # Earlier samples saw fewer finished objects: drift towards the final value.
                    value = final * (0.94 + 0.01 * step)
                    out.writerow([start + 300 * step, phase, q, f"{value:.1f}"])


if __name__ == "__main__":
    main()
