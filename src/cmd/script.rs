//! `guion script`: the brand's script file, checked before any call is scored against it.

use anyhow::Result;
use guion_core::script::{Diagnostic, Script};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Work with the brand's script files.
///
/// `guion script check FILE...` reads each script and reports every mistake at once, compiler
/// style (file:line:column: error|warning: message), then one summary line per file:
///
///   acme-seguros 2026-11: 7 steps (5 required), 3 forbidden, 3 values, languages es, en — ok
///
/// Errors (bad TOML, missing or misspelt keys, wrong types, similarities outside 0..1, windows
/// that no moment satisfies, malformed {slots}, phrases in undeclared languages) stop a script from
/// being used. Warnings (duplicate ids, a step without a phrase in some language, two steps with
/// the same phrase, a forbidden phrase inside a step, ...) do not, but each is worth a look.
///
/// Exit status 1 if any file has an error or cannot be read.
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(clap::Subcommand)]
enum Action {
    /// Validate script files and summarise each.
    Check {
        /// Script files (TOML).
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
}

pub fn run(args: Args) -> Result<ExitCode> {
    match args.action {
        Action::Check { files } => check(&files),
    }
}

fn check(files: &[PathBuf]) -> Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    let mut failed = false;
    for path in files {
        let name = path.display().to_string();
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) => {
                writeln!(out, "{name}: error: cannot read: {e}")?;
                failed = true;
                continue;
            }
        };
        let (script, diagnostics) = Script::check(&text, &name);
        for diagnostic in &diagnostics {
            writeln!(out, "{diagnostic}")?;
        }
        let errors = diagnostics.iter().filter(|d| d.is_error()).count();
        failed |= errors > 0;
        writeln!(out, "{}", summary(&name, script.as_ref(), &diagnostics))?;
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// `acme-seguros 2026-11: 7 steps (5 required), 2 forbidden, 3 values, languages es, en — ok`.
fn summary(file: &str, script: Option<&Script>, diagnostics: &[Diagnostic]) -> String {
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    let warnings = diagnostics.len() - errors;
    let verdict = match (errors, warnings) {
        (0, 0) => "ok".to_string(),
        (0, w) => format!("ok, {}", count(w, "warning")),
        (e, 0) => count(e, "error"),
        (e, w) => format!("{}, {}", count(e, "error"), count(w, "warning")),
    };
    let Some(script) = script else {
        return format!("{file}: not read — {verdict}");
    };
    let name = if script.id.is_empty() {
        file.to_string()
    } else {
        format!("{} {}", script.id, script.version)
            .trim_end()
            .to_string()
    };
    let required = script.steps.iter().filter(|s| s.required).count();
    format!(
        "{name}: {} ({required} required), {} forbidden, {}, languages {} — {verdict}",
        count(script.steps.len(), "step"),
        script.forbidden.len(),
        count(script.values.len(), "value"),
        if script.languages.is_empty() {
            "none".to_string()
        } else {
            script.languages.join(", ")
        },
    )
}

fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}
