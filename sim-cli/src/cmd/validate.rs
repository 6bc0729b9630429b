//! `capsim validate`: the engine against queueing theory and its own guarantees.

use anyhow::Context;
use serde::Serialize;
use sim_core::validation::{self, Check, ValidationPlan};

use crate::Outcome;
use crate::render::table::{Align, Table};

/// Version of the JSON document `--json` prints; bumped when a field changes meaning.
const SCHEMA_VERSION: u32 = 1;

/// Arguments of `capsim validate`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    capsim validate\n  \
    capsim validate --replicas 50 --customers 1000000 --seed 7\n  \
    capsim validate --json | jq '.checks[] | select(.pass | not)'\n\n\
Each queueing check runs R replicas of a FIFO station and passes when the closed-form \
value lies inside the 99 % confidence interval (Student t) of the replica means.\n\n\
Exit status: 0 when every check passes, 1 when any fails, 2 on a usage error or when the \
checks cannot run.")]
pub struct Args {
    /// Master seed of the random streams.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Replicas per queueing check (2 to 10000).
    #[arg(long, default_value_t = validation::FULL_REPLICAS, value_parser = clap::value_parser!(u64).range(2..=10_000))]
    replicas: u64,
    /// Customers per replica, the first tenth discarded as warm-up (1000 to 100000000).
    #[arg(long, default_value_t = validation::FULL_CUSTOMERS, value_parser = clap::value_parser!(u64).range(1_000..=100_000_000))]
    customers: u64,
    /// Worker threads (1 to 1024); default: one per core. Results do not depend on it.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1024))]
    threads: Option<u64>,
    /// Print the checks as one JSON document instead of a table.
    #[arg(long)]
    json: bool,
}

/// The JSON document of `capsim validate --json`.
#[derive(Serialize)]
struct Report<'a> {
    schema_version: u32,
    plan: &'a ValidationPlan,
    /// Whether every check passed.
    passed: bool,
    checks: &'a [Check],
}

/// Runs the validation plan and prints its checks.
pub fn run(args: &Args) -> anyhow::Result<Outcome> {
    let plan = ValidationPlan {
        seed: args.seed,
        replicas: args.replicas,
        customers: args.customers,
        threads: args.threads.map(|t| t as usize),
        ..ValidationPlan::full(args.seed)
    };
    let checks = validation::run(&plan).context("validation could not run")?;
    let passed = checks.iter().all(|c| c.pass);
    if args.json {
        let report = Report {
            schema_version: SCHEMA_VERSION,
            plan: &plan,
            passed,
            checks: &checks,
        };
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", render(&plan, &checks));
    }
    Ok(if passed {
        Outcome::Success
    } else {
        Outcome::ChecksFailed
    })
}

fn render(plan: &ValidationPlan, checks: &[Check]) -> String {
    let mut table = Table::new(&[
        ("check", Align::Left),
        ("simulated", Align::Right),
        ("analytic", Align::Right),
        ("rel. error", Align::Right),
        ("99 % CI", Align::Right),
        ("unit", Align::Left),
        ("result", Align::Left),
    ]);
    for c in checks {
        let ci = match (c.ci_low, c.ci_high) {
            (Some(lo), Some(hi)) => format!("[{}, {}]", sig(lo), sig(hi)),
            _ => "-".to_string(),
        };
        table.row(vec![
            c.name.clone(),
            sig(c.simulated),
            sig(c.analytic),
            format!("{:+.3} %", c.rel_error * 100.0),
            ci,
            c.unit.to_string(),
            if c.pass {
                "pass".into()
            } else {
                format!("FAIL ({})", c.criterion)
            },
        ]);
    }
    let failed = checks.iter().filter(|c| !c.pass).count();
    let verdict = if failed == 0 {
        format!("All {} checks pass.", checks.len())
    } else {
        format!("{failed} of {} checks FAILED.", checks.len())
    };
    format!(
        "Engine validation: {} replicas × {} customers per queueing check, seed {}\n\n{}\n{}\n",
        plan.replicas,
        plan.customers,
        plan.seed,
        table.render(),
        verdict
    )
}

/// Four significant digits, without exponent for everyday magnitudes.
fn sig(x: f64) -> String {
    if !x.is_finite() {
        return x.to_string();
    }
    if x == x.trunc() && x.abs() < 1e12 {
        return format!("{x:.0}");
    }
    let digits = 4 - 1 - x.abs().log10().floor() as i32;
    format!("{:.*}", digits.clamp(0, 10) as usize, x)
}

#[cfg(test)]
mod tests {
    use super::sig;

    #[test]
    fn figures_show_four_significant_digits() {
        assert_eq!(sig(4.012345), "4.012");
        assert_eq!(sig(0.666321), "0.6663");
        assert_eq!(sig(100_000.0), "100000");
        assert_eq!(sig(123.456), "123.5");
    }
}
