//! The night's job: every call of a manifest through a pool of workers (rayon), each with its own
//! models loaded once, every result into the store as it is made. A call that fails is stored as
//! failed with its reason and the night goes on; a call already in the store (same content, models,
//! script and options) is not analysed again.

pub mod cost;
pub mod manifest;

use crate::pipeline::{Analyser, AnalyserOptions, CallInput};
use crate::store::{Outcome, Store, StoreError};
use guion_core::key::{result_key, unreadable_key};
use guion_core::record::StageTimes;
use guion_core::redact::Redactor;
use guion_core::script::Script;
use guion_core::transcript::read::is_transcript_path;
use guion_models::sha256_file;
use manifest::CallRow;
use rayon::prelude::*;
use std::panic::AssertUnwindSafe;
use std::sync::Mutex;
use std::time::Instant;

#[derive(Debug, Clone)]
pub struct BatchOptions {
    /// The night's label in the store (a date, by convention).
    pub night: String,
    /// Workers; each loads its own models.
    pub jobs: usize,
    pub analyser: AnalyserOptions,
    /// Analyse every call even when its result is in the store (a calibration measures the
    /// machine, not the store): the result is stored again, the same as it was.
    pub reanalyse: bool,
}

/// What happened to one call, as the progress display hears of it.
#[derive(Debug, Clone)]
pub struct Progress<'a> {
    pub call_id: &'a str,
    /// How it came out in this run; `None` when its result was already in the store.
    pub outcome: Option<&'a Outcome>,
    pub audio_s: f64,
}

/// The night in numbers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NightSummary {
    pub calls: usize,
    pub scored: usize,
    pub reused: usize,
    pub failed: usize,
    /// Analysed, and found to be in a language outside the allowed ones (not scored).
    pub wrong_language: usize,
    pub audio_s: f64,
    pub wall_s: f64,
    /// Summed over the calls analysed in this run.
    pub stages: StageTimes,
    /// Time spent writing results to the store.
    pub write_s: f64,
    /// Of the calls analysed in this run, the recordings, and the seconds of audio they held.
    pub recordings: usize,
    pub recorded_audio_s: f64,
    /// The models and options that decide a recording's result in this run
    /// (`key::Determinants::ids`; without the hearing part when the night has no recording).
    pub models: String,
}

impl NightSummary {
    /// Counts one call as it came out (`None`: its result was already in the store).
    fn tally(&mut self, outcome: Option<&Outcome>, audio_s: f64, times: &StageTimes, write_s: f64) {
        match outcome {
            None => self.reused += 1,
            Some(Outcome::Failed { .. }) => self.failed += 1,
            Some(o) if o.wrong_language().is_some() => self.wrong_language += 1,
            Some(Outcome::Scored { .. }) => self.scored += 1,
        }
        self.audio_s += audio_s;
        self.stages.decode_s += times.decode_s;
        self.stages.asr_s += times.asr_s;
        self.stages.classify_s += times.classify_s;
        self.stages.align_s += times.align_s;
        self.stages.judge_s += times.judge_s;
        self.write_s += write_s;
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot start a worker: {0}")]
    Worker(#[from] crate::pipeline::LoadError),
    #[error("cannot start the worker pool: {0}")]
    Pool(String),
}

/// Runs the night. `on_call` is called once per call as it finishes (from the workers' threads).
pub fn run(
    rows: &[CallRow],
    script: &Script,
    options: &BatchOptions,
    store: &Mutex<Store>,
    on_call: &(dyn Fn(Progress) + Sync),
) -> Result<NightSummary, BatchError> {
    let started = Instant::now();
    let jobs = options.jobs.max(1);
    // One analyser per worker, built on the worker's first call; the first is built here so that a
    // missing model stops the night before any call is touched.
    let slots: Vec<Mutex<Option<Analyser>>> = (0..jobs).map(|_| Mutex::new(None)).collect();
    let first = Analyser::new(script, options.analyser.clone())?;
    let any_recording = rows.iter().any(|r| !is_transcript_path(&r.meta.path));
    let models = first.determinants(any_recording, None, None).ids();
    *slots[0].lock().unwrap_or_else(|e| e.into_inner()) = Some(first);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .thread_name(|i| format!("guion-worker-{i}"))
        .build()
        .map_err(|e| BatchError::Pool(e.to_string()))?;
    let summary = Mutex::new(NightSummary {
        calls: rows.len(),
        models,
        ..NightSummary::default()
    });
    let first_error: Mutex<Option<StoreError>> = Mutex::new(None);
    pool.install(|| {
        rows.par_iter().with_max_len(1).for_each(|row| {
            let slot = &slots[rayon::current_thread_index().unwrap_or(0) % jobs];
            let mut guard = slot.lock().unwrap_or_else(|e| e.into_inner());
            if guard.is_none() {
                match Analyser::new(script, options.analyser.clone()) {
                    Ok(a) => *guard = Some(a),
                    Err(e) => {
                        let reason =
                            redacted(format!("worker could not load its models: {e}"), options);
                        record_failure(row, &reason, options, store, &first_error);
                        on_call(Progress {
                            call_id: &row.meta.call_id,
                            outcome: Some(&Outcome::Failed { reason }),
                            audio_s: 0.0,
                        });
                        return;
                    }
                }
            }
            let analyser = guard.as_mut().expect("set just above");
            let (outcome, audio_s, times, write_s) =
                one_call(analyser, row, options, store, &first_error);
            if outcome.as_ref().is_some_and(analyser_poisoned) {
                *guard = None;
            }
            drop(guard);
            {
                let mut summary = summary.lock().unwrap_or_else(|e| e.into_inner());
                summary.tally(outcome.as_ref(), audio_s, &times, write_s);
                if outcome.is_some() && !is_transcript_path(&row.meta.path) {
                    summary.recordings += 1;
                    summary.recorded_audio_s += audio_s;
                }
            }
            on_call(Progress {
                call_id: &row.meta.call_id,
                outcome: outcome.as_ref(),
                audio_s,
            });
        });
    });
    if let Some(e) = first_error.into_inner().unwrap_or_else(|e| e.into_inner()) {
        return Err(e.into());
    }
    let mut summary = summary.into_inner().unwrap_or_else(|e| e.into_inner());
    summary.wall_s = started.elapsed().as_secs_f64();
    Ok(summary)
}

const PANIC_PREFIX: &str = "internal error while analysing: ";

/// After a panic inside the models, the worker's state is not trusted: it reloads them.
fn analyser_poisoned(outcome: &Outcome) -> bool {
    matches!(outcome, Outcome::Failed { reason } if reason.starts_with(PANIC_PREFIX))
}

/// A failure reason as it may be stored and shown: it can quote a transcript's line.
fn redacted(reason: String, options: &BatchOptions) -> String {
    if options.analyser.redact {
        Redactor::new().redact(&reason).into_owned()
    } else {
        reason
    }
}

fn keep_first(first_error: &Mutex<Option<StoreError>>, e: StoreError) {
    let mut slot = first_error.lock().unwrap_or_else(|p| p.into_inner());
    if slot.is_none() {
        *slot = Some(e);
    }
}

/// A call that could not even be hashed: stored as failed under a key made from its path.
fn record_failure(
    row: &CallRow,
    reason: &str,
    options: &BatchOptions,
    store: &Mutex<Store>,
    first_error: &Mutex<Option<StoreError>>,
) {
    let key = unreadable_key(&row.meta.path, reason);
    let outcome = Outcome::Failed {
        reason: reason.to_string(),
    };
    let mut store = store.lock().unwrap_or_else(|e| e.into_inner());
    if let Err(e) = store.put(&options.night, &row.meta, &key, "", "", &outcome) {
        keep_first(first_error, e);
    }
}

fn one_call(
    analyser: &mut Analyser,
    row: &CallRow,
    options: &BatchOptions,
    store: &Mutex<Store>,
    first_error: &Mutex<Option<StoreError>>,
) -> (Option<Outcome>, f64, StageTimes, f64) {
    let failed = |reason: String| {
        (
            Some(Outcome::Failed { reason }),
            0.0,
            StageTimes::default(),
            0.0,
        )
    };
    let path = &row.meta.path;
    let content = match sha256_file(path) {
        Ok(sha) => sha,
        Err(e) => {
            let reason = format!("{}: {e}", path.display());
            record_failure(row, &reason, options, store, first_error);
            return failed(reason);
        }
    };
    let is_recording = !is_transcript_path(path);
    let ids = analyser
        .determinants(is_recording, row.channels, row.meta.language.as_deref())
        .ids();
    let key = result_key(&content, &ids);
    {
        let store = store.lock().unwrap_or_else(|e| e.into_inner());
        let stored = if options.reanalyse {
            Ok(false)
        } else {
            store.has_result(&key)
        };
        match stored {
            Ok(true) => {
                let result = store.link(&options.night, &row.meta, &key);
                drop(store);
                return match result {
                    Ok(()) => (None, 0.0, StageTimes::default(), 0.0),
                    Err(e) => {
                        let reason = e.to_string();
                        keep_first(first_error, e);
                        failed(reason)
                    }
                };
            }
            Ok(false) => {}
            Err(e) => {
                let reason = e.to_string();
                keep_first(first_error, e);
                return failed(reason);
            }
        }
    }
    let input = CallInput {
        path: path.clone(),
        language: row.meta.language.clone(),
        channels: row.channels,
        ..CallInput::default()
    };
    let analysed = std::panic::catch_unwind(AssertUnwindSafe(|| analyser.analyse(&input)));
    let (outcome, audio_s, times) = match analysed {
        Ok(Ok((record, times))) => {
            let audio_s = record.duration_s.unwrap_or(0.0);
            (
                Outcome::Scored {
                    record: Box::new(record),
                    times,
                },
                audio_s,
                times,
            )
        }
        Ok(Err(e)) => (
            Outcome::Failed {
                reason: redacted(e.to_string(), options),
            },
            0.0,
            StageTimes::default(),
        ),
        Err(panic) => {
            let what = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            let reason = format!("{PANIC_PREFIX}{}: {what}", path.display());
            (
                Outcome::Failed {
                    reason: redacted(reason, options),
                },
                0.0,
                StageTimes::default(),
            )
        }
    };
    let started = Instant::now();
    let written = store.lock().unwrap_or_else(|e| e.into_inner()).put(
        &options.night,
        &row.meta,
        &key,
        &content,
        &ids,
        &outcome,
    );
    let write_s = started.elapsed().as_secs_f64();
    match written {
        Ok(()) => (Some(outcome), audio_s, times, write_s),
        Err(e) => {
            let reason = e.to_string();
            keep_first(first_error, e);
            (Some(Outcome::Failed { reason }), audio_s, times, write_s)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use guion_core::transcript::WrongLanguage;

    fn record(wrong_language: Option<WrongLanguage>) -> Outcome {
        let mut record: guion_core::record::CallRecord =
            serde_json::from_value(serde_json::json!({
                "call": "c1", "sha256": "00", "script": {"id": "s", "version": "1"},
                "language": "fr", "duration_s": 30.0, "adherence": null,
                "score": {"adherence": null, "steps_done": 0, "steps_required": 1,
                          "steps_unclear": 0, "forbidden": 0},
                "steps": [], "forbidden": [],
                "metrics": {"agent_talk_s": 0.0, "customer_talk_s": 0.0, "agent_talk_ratio": null,
                            "longest_silence_s": 0.0, "overtalk_s": null, "hold_gaps": 0,
                            "hold_s": 0.0},
                "agent_channel": null, "utterances": [], "tone": {}, "values": [],
                "models": {"asr": null, "encoder": null, "tone_head": null, "values": null},
                "redacted": true
            }))
            .expect("a minimal record");
        record.wrong_language = wrong_language;
        Outcome::Scored {
            record: Box::new(record),
            times: StageTimes::default(),
        }
    }

    #[test]
    fn a_call_in_another_language_is_counted_apart_from_scored_ones() {
        let mut s = NightSummary::default();
        let times = StageTimes {
            asr_s: 2.0,
            ..StageTimes::default()
        };
        let french = record(Some(WrongLanguage {
            found: "fr".into(),
            p: 0.97,
            allowed: vec!["es".into(), "en".into()],
            allowed_p: 0.01,
        }));
        s.tally(Some(&french), 30.0, &times, 0.1);
        s.tally(Some(&record(None)), 60.0, &times, 0.1);
        s.tally(None, 0.0, &StageTimes::default(), 0.0);
        let failed = Outcome::Failed { reason: "x".into() };
        s.tally(Some(&failed), 0.0, &StageTimes::default(), 0.0);
        assert_eq!(
            (s.scored, s.wrong_language, s.reused, s.failed),
            (1, 1, 1, 1)
        );
        assert_eq!(s.audio_s, 90.0);
        assert_eq!(s.stages.asr_s, 4.0);
    }
}
