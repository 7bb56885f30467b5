//! The `guion` command: one file per subcommand under `cmd/`, every shared flag in `flags.rs`.

#![deny(unsafe_code)]

use clap::{Parser, Subcommand};
use std::process::ExitCode;

mod cmd;
mod flags;

/// guion: is the brand's script, tone and values delivered on every call?
///
/// Every command reads local files and writes local files; nothing leaves the machine.
/// Models are installed by scripts/setup (or `guion models install`) into $GUION_CACHE
/// (default ~/.cache/guion).
#[derive(Parser)]
#[command(name = "guion", version, max_term_width = 100)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Transcribe(cmd::transcribe::Args),
    Call(cmd::call::Args),
    Batch(cmd::batch::Args),
    Merge(cmd::merge::Args),
    Bench(cmd::bench::Args),
    Plan(cmd::plan::Args),
    Report(cmd::report::Args),
    Coach(cmd::coach::Args),
    Review(cmd::review::Args),
    Calibrate(cmd::calibrate::Args),
    Script(cmd::script::Args),
    Train(cmd::train::Args),
    Models(cmd::models::Args),
}

/// Exit status: 0 all went well; 1 some inputs failed (each said why, the rest were done);
/// 2 nothing could be done (bad arguments, missing model).
fn main() -> ExitCode {
    guion_speech::asr::process::prepare();
    // By default only guion's own warnings reach the terminal. The libraries under it log what
    // they trip over (symphonia logs an ERROR for every file it cannot place) and guion already
    // turns those into one `guion: <file>: <reason>` line; RUST_LOG=warn shows them all.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("guion=warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Transcribe(args) => cmd::transcribe::run(args),
        Command::Call(args) => cmd::call::run(args),
        Command::Batch(args) => cmd::batch::run(args),
        Command::Merge(args) => cmd::merge::run(args),
        Command::Bench(args) => cmd::bench::run(args),
        Command::Plan(args) => cmd::plan::run(args),
        Command::Report(args) => cmd::report::run(args),
        Command::Coach(args) => cmd::coach::run(args),
        Command::Review(args) => cmd::review::run(args),
        Command::Calibrate(args) => cmd::calibrate::run(args),
        Command::Script(args) => cmd::script::run(args),
        Command::Train(args) => cmd::train::run(args),
        Command::Models(args) => cmd::models::run(args),
    };
    match result {
        Ok(code) => code,
        // A reader that stopped reading (`guion call … | head`) is not an error: end quietly, as
        // ripgrep does.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("guion: {}", describe(&e));
            ExitCode::from(2)
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    use std::io::ErrorKind::BrokenPipe;
    e.chain().any(|cause| {
        // serde_json keeps the io::Error inside rather than as its source.
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == BrokenPipe)
            || cause
                .downcast_ref::<serde_json::Error>()
                .is_some_and(|json| json.io_error_kind() == Some(BrokenPipe))
    })
}

/// The error and its causes, each said once: many errors already quote their cause in their own
/// message ("cannot read x.toml: No such file"), and repeating it reads as a stutter.
pub(crate) fn describe(e: &anyhow::Error) -> String {
    let mut message = e.to_string();
    for cause in e.chain().skip(1) {
        let cause = cause.to_string();
        if !message.contains(&cause) {
            message = format!("{message}: {cause}");
        }
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;
    use std::collections::BTreeMap;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    /// Every flag is defined once (src/flags.rs, or beside the one subcommand that takes it): a long
    /// name means, documents and defaults the same wherever it appears.
    #[test]
    fn each_flag_is_defined_once() {
        fn walk(cmd: &clap::Command, path: &str, seen: &mut BTreeMap<String, (String, String)>) {
            for arg in cmd.get_arguments() {
                let Some(long) = arg.get_long() else { continue };
                if matches!(long, "help" | "version") {
                    continue;
                }
                let definition = format!(
                    "{:?} {:?} {:?} {:?}",
                    arg.get_help().map(ToString::to_string),
                    arg.get_short(),
                    arg.get_default_values(),
                    arg.get_possible_values()
                        .iter()
                        .map(|v| v.get_name().to_string())
                        .collect::<Vec<_>>()
                );
                match seen.get(long) {
                    Some((first, defined)) => assert_eq!(
                        defined, &definition,
                        "--{long} is defined differently in `{first}` and `{path}`"
                    ),
                    None => {
                        seen.insert(long.to_string(), (path.to_string(), definition));
                    }
                }
            }
            for sub in cmd.get_subcommands() {
                walk(sub, &format!("{path} {}", sub.get_name()), seen);
            }
        }
        let mut seen = BTreeMap::new();
        walk(&Cli::command(), "guion", &mut seen);
        for shared in [
            "script",
            "model",
            "beam",
            "threads",
            "language",
            "channels",
            "format",
            "out",
            "no-redact",
            "night",
            "json",
            "quiet",
        ] {
            assert!(seen.contains_key(shared), "--{shared} is gone");
        }
    }
}
