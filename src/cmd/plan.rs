//! `guion plan`: how many cores, machines and shards tonight needs, from what this machine measured.

use crate::flags;
use anyhow::{Result, bail};
use guion_core::cost::{self, Run};
use guion_night::store::Store;
use serde_json::json;
use std::path::PathBuf;
use std::process::ExitCode;

/// How many cores, machines and shards a night needs to be done by its deadline.
///
/// The rate is measured, never assumed: hours of audio per core-hour from the latest finished run
/// on this machine (the same host name, or else the same CPU model) that analysed recordings —
/// a night of `guion batch` in --from DIR, or else a calibration of `guion bench` in
/// $GUION_CACHE/bench. The plan says which run it used, when, and on what. With none, it says to
/// run `guion bench` first.
///
/// cores = ⌈audio hours ÷ rate ÷ hours⌉; machines = ⌈cores ÷ cores per machine⌉ (default: this
/// machine's); one shard per machine, each running `guion batch … --shard auto/SHARDS` with every
/// core it has. No headroom is added; the rate assumes the other machines' cores are like this one's.
///
/// --json prints {"cores", "machines", "shards", "cores_per_machine", "audio_hours",
/// "deadline_hours", "core_hours", "audio_hours_per_core_hour", "measurement": {"store", "night",
/// "kind", "started_at", "machine": {"cores", "cpu", "hostname"}, "workers", "threads",
/// "audio_hours"}}.
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Hours of recorded audio in the night.
    #[arg(long, value_name = "H")]
    audio_hours: f64,

    /// Hours until the night's results are due.
    #[arg(long, value_name = "D")]
    hours: f64,

    /// Cores of each machine that will run a shard. Default: this machine's.
    #[arg(long, value_name = "C")]
    cores_per_machine: Option<usize>,

    #[command(flatten)]
    from: flags::FromFlag,

    #[command(flatten)]
    json: flags::JsonFlag,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let this = guion_night::machine::this();
    let bench = guion_models::cache_dir().join("bench");
    let stores: Vec<PathBuf> = args.from.from.iter().cloned().chain([bench]).collect();
    let mut chosen: Option<(PathBuf, Run)> = None;
    for dir in &stores {
        if !dir.join("guion.sqlite").is_file() {
            continue;
        }
        let runs = Store::open_existing(dir)?.runs(None)?;
        if let Some(run) = guion_core::plan::measurement(&runs, &this) {
            chosen = Some((dir.clone(), run.clone()));
            break;
        }
    }
    let Some((store, run)) = chosen else {
        bail!(
            "no finished run with recordings measured on this machine in {}: run `guion bench` \
             (a few calls of the demo night, or --manifest yours) and plan again",
            stores
                .iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(" or ")
        );
    };
    let m = &run.measurement;
    let rate = m
        .audio_hours_per_core_hour()
        .expect("the measurement was chosen for its rate");
    let cores_per_machine = args.cores_per_machine.unwrap_or(this.cores.max(1));
    let plan = guion_core::plan::plan(args.audio_hours, args.hours, rate, cores_per_machine)
        .map_err(anyhow::Error::msg)?;
    if args.json.json {
        let out = json!({
            "cores": plan.cores,
            "machines": plan.machines,
            "shards": plan.shards,
            "cores_per_machine": plan.cores_per_machine,
            "audio_hours": plan.audio_hours,
            "deadline_hours": plan.deadline_hours,
            "core_hours": plan.core_hours,
            "audio_hours_per_core_hour": plan.audio_hours_per_core_hour,
            "measurement": {
                "store": store.display().to_string(),
                "night": run.night,
                "kind": guion_core::names::Named::name(run.kind),
                "started_at": run.started_at,
                "machine": run.machine,
                "workers": m.workers,
                "threads": m.threads,
                "audio_hours": m.audio_hours(),
            },
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!(
            "plan: {} h of audio by {} h: {} core-hours at {} h of audio per core-hour → {} cores: \
             {} machine(s) of {} cores, {} shard(s) (guion batch … --shard auto/{})",
            cost::figure(plan.audio_hours),
            cost::figure(plan.deadline_hours),
            cost::figure(plan.core_hours),
            cost::figure(rate),
            plan.cores,
            plan.machines,
            plan.cores_per_machine,
            plan.shards,
            plan.shards
        );
        println!(
            "plan: measured by {} run of {} on {} ({}, {} cores, {} × {} threads), {} h of audio, in {}",
            guion_core::names::Named::name(run.kind),
            run.night,
            run.started_at,
            run.machine.cpu.as_deref().unwrap_or("CPU unknown"),
            run.machine.cores,
            m.workers,
            m.threads,
            cost::figure(m.audio_hours()),
            store.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
