//! What made an output: capsim's version and commit, the command as typed, and the seed.
//! The JSON documents carry it as `provenance`; a sweep writes it beside its CSV and JSON
//! files as `provenance.json` (the files themselves stay identical whatever the threads
//! or the shard, so that they can be compared byte for byte).

use serde::Serialize;

/// The provenance of an output.
#[derive(Clone, Debug, Serialize)]
pub struct Provenance {
    /// `capsim <version> (commit <hash>)`.
    pub capsim: String,
    /// The command line, as typed (arguments joined by spaces, `capsim` first).
    pub command: String,
    /// The master seed.
    pub seed: u64,
}

/// The provenance of this process's output under `seed`.
pub fn of(seed: u64) -> Provenance {
    let args: Vec<String> = std::env::args().skip(1).collect();
    Provenance {
        capsim: format!("capsim {}", crate::cli::VERSION),
        command: std::iter::once("capsim".to_string())
            .chain(args)
            .collect::<Vec<_>>()
            .join(" "),
        seed,
    }
}

/// `doc` (a JSON object) with `provenance` added.
pub fn stamp(mut doc: serde_json::Value, seed: u64) -> serde_json::Value {
    if let serde_json::Value::Object(m) = &mut doc {
        m.insert(
            "provenance".into(),
            serde_json::to_value(of(seed)).expect("provenance serialises"),
        );
    }
    doc
}
