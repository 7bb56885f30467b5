//! `guion bench`: what a night costs on this machine, measured on a few calls of a real night.

use crate::cmd::batch::{self as night, Night};
use crate::flags;
use anyhow::{Context, Result, bail};
use guion_core::cost::{Run, RunKind};
use guion_core::names::Named;
use guion_core::script::Script;
use guion_night::batch::BatchOptions;
use guion_night::batch::manifest::{self, CallRow};
use guion_night::report::csv::CsvLocale;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Measure what a night costs on this machine: a few calls through the night's own code path.
///
/// Takes --calls calls spread evenly over the demo night (36 stereo recordings that
/// scripts/make-demo-night synthesises into $GUION_CACHE/demo-night; scripts/demo makes it too),
/// scored against the insurer's script it was written for, or over --manifest with --script.
/// They are scored exactly as `guion batch` scores a night — the same workers (--jobs ×
/// --threads-per-job), models, options and store — except that every call is analysed afresh even
/// when the store already holds its result. The store is --out (default $GUION_CACHE/bench; keep it
/// apart from a real night's, where the sample would count as a night of its own, labelled
/// calibration-DATE). The run is stored there as a calibration, with its date, the machine, guion's
/// version, the engine and models, beside every run of `guion batch` (runs.csv lists them).
///
/// Prints, for the sample: the audio analysed, wall and CPU time, hours of audio per core-hour (a
/// core-hour is an hour of wall time on each core the run held: workers × threads, at most the
/// machine's), calls per hour, and each stage's share of the workers' time and its own rate. Model
/// loading and the wait for the last call are in the wall time: on a few calls that makes the
/// figure a cautious one (busy_share says how much of the workers' time was in a stage).
///
/// --json prints {"date", "started_at", "run", "store", "manifest", "machine": {"cores", "cpu",
/// "hostname"}, "version", "engine", "models", "workers", "threads", "cores", "calls",
/// "recordings", "failed", "audio_hours", "wall_s", "cpu_s", "core_hours",
/// "audio_hours_per_core_hour", "calls_per_hour", "calls_per_core_hour",
/// "audio_hours_per_cpu_hour" (on the CPU clock: less sensitive to a machine shared with others),
/// "busy_share", "stages":
/// {"decode"|"asr"|"classify"|"align"|"judge"|"write": {"s", "share",
/// "audio_hours_per_core_hour", "calls_per_core_hour"}}}; a rate is null where nothing measures it.
/// Exit status: 0 measured; 1 measured, but some calls failed (the figure counts them); 2 nothing
/// could be measured.
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The night to sample: a manifest CSV, or a directory of calls with metadata.csv (as `guion
    /// batch` takes). Default: the demo night.
    #[arg(long, value_name = "MANIFEST")]
    manifest: Option<PathBuf>,

    /// How many calls to sample, spread evenly over the night.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..))]
    calls: u32,

    #[command(flatten)]
    script: flags::ScriptFlag,

    #[command(flatten)]
    out: flags::OutFlag,

    #[command(flatten)]
    jobs: flags::JobsFlags,

    #[command(flatten)]
    whisper: flags::WhisperFlags,

    #[command(flatten)]
    meaning: flags::MeaningFlags,

    #[command(flatten)]
    json: flags::JsonFlag,

    #[command(flatten)]
    quiet: flags::QuietFlag,
}

/// The script the demo night was written for.
const DEMO_SCRIPT: &str = include_str!("../../examples/scripts/acme-seguros.toml");
const DEMO_SCRIPT_NAME: &str = "examples/scripts/acme-seguros.toml";

pub fn run(args: Args) -> Result<ExitCode> {
    let cache = guion_models::cache_dir();
    let manifest = match &args.manifest {
        Some(m) => m.clone(),
        None => {
            let demo = cache.join("demo-night/manifest.csv");
            if !demo.is_file() {
                bail!(
                    "{} is missing: scripts/make-demo-night {} synthesises the demo night \
                     (scripts/demo does too), or give --manifest and --script",
                    demo.display(),
                    cache.join("demo-night").display()
                );
            }
            demo
        }
    };
    let (script_text, script, warnings) = if args.manifest.is_none() && args.script.one()?.is_none()
    {
        let (script, warnings) = Script::parse(DEMO_SCRIPT, DEMO_SCRIPT_NAME)?;
        (DEMO_SCRIPT.to_string(), script, warnings)
    } else {
        guion_night::input::read_script(
            args.script
                .required(": the script the manifest's calls are scored against")?,
        )?
    };
    if !args.json.json {
        for w in &warnings {
            eprintln!("{w}");
        }
    }
    let (rows, bad_rows) = if manifest.is_dir() {
        manifest::read_directory(&manifest, &[])
    } else {
        manifest::read_manifest(&manifest, &[])
    }
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    for e in &bad_rows {
        eprintln!("guion: {e}");
    }
    let sample = spread(&rows, args.calls as usize);
    if sample.is_empty() {
        bail!("{}: no call to measure", manifest.display());
    }
    let out = args.out.out.clone().unwrap_or_else(|| cache.join("bench"));
    let (jobs, threads) = args.jobs.workers(sample.len());
    let date = guion_core::clock::date(flags::unix_now());
    let scored = night::score(&Night {
        rows: &sample,
        scripts: &[(script_text, script)],
        routes: None,
        out: &out,
        options: BatchOptions {
            night: format!("calibration-{date}"),
            jobs,
            // Redaction as a night has it by default: it is part of the cost.
            analyser: night::analyser_options(&args.whisper, &args.meaning, threads, true),
            reanalyse: true,
            shard: None,
        },
        kind: RunKind::Calibration,
        csv_locale: CsvLocale::En,
        quiet: args.quiet.quiet || args.json.json,
    })
    .context("the calibration could not run")?;
    let run = &scored.run;
    if args.json.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&to_json(run, &out, &manifest))?
        );
    } else {
        print(run, &out, &manifest);
    }
    Ok(if run.measurement.failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// `n` rows spread evenly over the night (its first, then every len/n-th), so that a sample of a
/// night ordered by centre or language takes some of each.
fn spread(rows: &[CallRow], n: usize) -> Vec<CallRow> {
    let n = n.min(rows.len());
    (0..n).map(|i| rows[i * rows.len() / n].clone()).collect()
}

fn print(run: &Run, out: &Path, manifest: &Path) {
    let m = &run.measurement;
    let machine = &run.machine;
    println!(
        "bench: {} of {} on {} core(s){}, guion {} ({}; {})",
        m.calls(),
        manifest.display(),
        machine.cores,
        machine
            .cpu
            .as_deref()
            .map_or(String::new(), |c| format!(" ({c})")),
        run.version,
        run.engine,
        run.models
    );
    println!("bench: {}", m.describe());
    println!("bench: time in stages: {}", m.describe_stages());
    if let Some(rate) = m.audio_hours_per_cpu_hour() {
        println!(
            "bench: {} h of audio per CPU-hour actually used ({:.0} % of the cores held: below 100 %, the run waited for the CPU or for the last call)",
            guion_core::cost::figure(rate),
            m.cpu_s.unwrap_or(0.0) / (m.wall_s * m.cores.max(1) as f64) * 100.0
        );
    }
    if let Some(busy) = m.busy_share() {
        println!(
            "bench: the workers were in a stage {:.0} % of the wall time (the rest: loading models, waiting for the last call)",
            busy * 100.0
        );
    }
    println!(
        "bench: stored as calibration run {} of {} in {} (runs.csv)",
        run.id,
        run.started_at,
        out.join(guion_night::store::FILE).display()
    );
}

/// `guion bench --json`.
fn to_json(run: &Run, out: &Path, manifest: &Path) -> serde_json::Value {
    let m = &run.measurement;
    let stages: serde_json::Map<String, serde_json::Value> = m
        .stages()
        .into_iter()
        .map(|s| {
            (
                s.stage.to_string(),
                json!({
                    "s": s.seconds,
                    "share": s.share,
                    "audio_hours_per_core_hour": s.audio_hours_per_core_hour,
                    "calls_per_core_hour": s.calls_per_core_hour,
                }),
            )
        })
        .collect();
    json!({
        "date": run.started_at.get(..10).unwrap_or(&run.started_at),
        "started_at": run.started_at,
        "kind": run.kind.name(),
        "run": run.id,
        "store": out.join(guion_night::store::FILE),
        "manifest": manifest,
        "machine": run.machine,
        "version": run.version,
        "engine": run.engine,
        "models": run.models,
        "workers": m.workers,
        "threads": m.threads,
        "cores": m.cores,
        "calls": m.calls(),
        "recordings": m.recordings,
        "failed": m.failed,
        "audio_hours": m.audio_hours(),
        "wall_s": m.wall_s,
        "cpu_s": m.cpu_s,
        "core_hours": m.core_hours(),
        "audio_hours_per_core_hour": m.audio_hours_per_core_hour(),
        "calls_per_hour": m.calls_per_hour(),
        "calls_per_core_hour": m.calls_per_core_hour(),
        "audio_hours_per_cpu_hour": m.audio_hours_per_cpu_hour(),
        "busy_share": m.busy_share(),
        "stages": stages,
    })
}
