//! capsim: a discrete-event capacity simulator for Cluster API management clusters on
//! Nutanix. The binary is thin: it parses arguments, runs a command from `cmd/`, and maps
//! errors to exit codes; what it prints and writes is rendered in `render/`.

mod cli;
mod cmd;
mod input;
mod memory;
mod progress;
mod provenance;
mod render;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};

/// What a command reports back to `main`.
pub enum Outcome {
    /// Everything the command checks passed.
    Success,
    /// The command ran, and what it checks did not pass (exit status 1).
    ChecksFailed,
    /// The user interrupted it (Ctrl-C) and it stopped cleanly (exit status 130, as a
    /// shell reports a process SIGINT ended).
    Interrupted,
    /// It stopped at its wall-clock limit, what it finished kept (exit status 2).
    StoppedEarly,
}

/// A reader that stops reading (`capsim run | head`) ends capsim quietly, as it ends any
/// Unix tool: `println!` panics on a closed pipe, and that panic is not a bug to report.
fn quiet_on_closed_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let text = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if text.contains("failed printing to stdout") && text.contains("Broken pipe") {
            std::process::exit(0);
        }
        default(info);
    }));
}

fn main() -> ExitCode {
    quiet_on_closed_pipe();
    let cli = Cli::parse();
    progress::set_quiet(cli.quiet);
    let result = match cli.command {
        Command::Completions { shell } => {
            cli::completions(shell);
            Ok(Outcome::Success)
        }
        Command::Man { command } => cli::man(command.as_deref()).map(|()| Outcome::Success),
        Command::Import(args) => cmd::import::run(&args),
        Command::Run(args) => cmd::run::run(&args),
        Command::Sweep(args) => cmd::sweep::run(&args),
        Command::Compare(args) => cmd::compare::run(&args),
        Command::Merge(args) => cmd::merge::run(&args),
        Command::Sensitivity(args) => cmd::sensitivity::run(&args),
        Command::Recommend(args) => cmd::recommend::run(&args),
        Command::Scenario(args) => cmd::scenario::run(&args),
        Command::Tiers(args) => cmd::tiers::run(&args),
        Command::Calibrate(args) => cmd::calibrate::run(&args),
        Command::Validate(args) => cmd::validate::run(&args),
    };
    match result {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::ChecksFailed) => ExitCode::from(1),
        Ok(Outcome::Interrupted) => ExitCode::from(130),
        Ok(Outcome::StoppedEarly) => ExitCode::from(2),
        // A reader that stopped reading (`capsim man | head`) is not an error of capsim's.
        Err(err)
            if err.chain().any(|e| {
                e.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("capsim: error: {err:#}");
            ExitCode::from(2)
        }
    }
}
