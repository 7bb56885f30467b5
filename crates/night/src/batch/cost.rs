//! A run of the night, measured: the store gets a `runs` row when the run starts and what it cost
//! when it ends (see `guion_core::cost` for the rates). `guion batch` and `guion bench` both run a
//! night through here, so a calibration is measured exactly as a night is.

use super::{BatchError, BatchOptions, NightScripts, NightSummary, Progress, manifest::CallRow};
use crate::machine;
use crate::store::Store;
use guion_core::cost::{Measurement, Run, RunKind};
use guion_speech::asr::ENGINE;
use std::sync::Mutex;

/// guion's version, as a run records it (every crate of the workspace carries the same).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Runs the night as [`super::run`] does and records what it cost. Returns the night's summary and
/// the run's stored row.
pub fn run(
    rows: &[CallRow],
    scripts: &NightScripts,
    options: &BatchOptions,
    store: &Mutex<Store>,
    kind: RunKind,
    on_call: &(dyn Fn(Progress) + Sync),
) -> Result<(NightSummary, Run), BatchError> {
    let this = machine::this();
    let workers = options.jobs.max(1);
    let threads = options.analyser.asr.threads.max(1);
    let id = lock(store).begin_run(
        &options.night,
        kind,
        VERSION,
        ENGINE,
        &this,
        workers,
        threads,
        options.shard.as_ref().map(|s| &s.shard),
    )?;
    let cpu_before = machine::cpu_seconds();
    let summary = super::run(rows, scripts, options, store, on_call)?;
    let cpu_s = cpu_before
        .zip(machine::cpu_seconds())
        .map(|(before, after)| after - before);
    let measurement = measurement(&summary, workers, threads, this.cores, cpu_s);
    let store = lock(store);
    store.finish_run(id, &summary.models, summary.reused, &measurement)?;
    let run = store
        .runs(Some(&options.night))?
        .into_iter()
        .find(|r| r.id == id)
        .expect("the run just recorded");
    Ok((summary, run))
}

fn lock(store: &Mutex<Store>) -> std::sync::MutexGuard<'_, Store> {
    store.lock().unwrap_or_else(|e| e.into_inner())
}

/// What a night's summary measured, counting only the calls this run analysed.
fn measurement(
    s: &NightSummary,
    workers: usize,
    threads: usize,
    machine_cores: usize,
    cpu_s: Option<f64>,
) -> Measurement {
    Measurement {
        workers,
        threads,
        cores: Measurement::cores_held(workers, threads, machine_cores),
        scored: s.scored,
        wrong_language: s.wrong_language,
        failed: s.failed,
        recordings: s.recordings,
        audio_s: s.recorded_audio_s,
        wall_s: s.wall_s,
        cpu_s,
        stages: s.stages,
        write_s: s.write_s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use guion_core::record::StageTimes;

    #[test]
    fn reused_calls_and_transcripts_audio_are_not_measured() {
        let summary = NightSummary {
            calls: 10,
            scored: 3,
            reused: 6,
            failed: 1,
            audio_s: 400.0,
            recorded_audio_s: 300.0,
            recordings: 2,
            wall_s: 60.0,
            stages: StageTimes {
                asr_s: 80.0,
                ..StageTimes::default()
            },
            ..NightSummary::default()
        };
        let m = measurement(&summary, 2, 1, 2, Some(110.0));
        assert_eq!(m.calls(), 4);
        assert_eq!(m.audio_s, 300.0);
        assert_eq!(m.cores, 2);
        assert!((m.audio_hours_per_core_hour().unwrap() - 2.5).abs() < 1e-12);
    }

    #[test]
    fn a_run_is_begun_then_finished_in_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let machine = machine::this();
        let killed = store
            .begin_run(
                "2026-11-22",
                RunKind::Night,
                VERSION,
                ENGINE,
                &machine,
                4,
                2,
                None,
            )
            .unwrap();
        let id = store
            .begin_run(
                "2026-11-22",
                RunKind::Night,
                VERSION,
                ENGINE,
                &machine,
                2,
                1,
                None,
            )
            .unwrap();
        let m = Measurement {
            workers: 2,
            threads: 1,
            cores: Measurement::cores_held(2, 1, machine.cores),
            scored: 5,
            recordings: 5,
            audio_s: 600.0,
            wall_s: 120.0,
            cpu_s: Some(200.0),
            ..Measurement::default()
        };
        store.finish_run(id, "asr=base", 7, &m).unwrap();
        let runs = store.runs(Some("2026-11-22")).unwrap();
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[0].id, killed);
        assert!(!runs[0].measured(), "a run never finished measured nothing");
        assert_eq!(
            runs[0].measurement.cores,
            Measurement::cores_held(4, 2, machine.cores)
        );
        let run = &runs[1];
        assert!(run.measured());
        assert_eq!(run.measurement, m);
        assert_eq!((run.reused, run.models.as_str()), (7, "asr=base"));
        assert_eq!(run.machine, machine);
        assert_eq!(
            (run.version.as_str(), run.engine.as_str()),
            (VERSION, "ctranslate2-int8")
        );
        assert!(store.runs(Some("another night")).unwrap().is_empty());
    }
}
