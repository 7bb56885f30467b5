//! The night's job: every call of a manifest through a pool of workers (rayon), each with its own
//! models and the night's scripts compiled once, every result into the store as it is made. Each
//! call is scored against the script its row names or its routing picks; a call that fails (a row
//! whose script is unknown or cannot be told, among others) is stored as failed with its reason and
//! the night goes on; a call already in the store (same content, models, script and options) is not
//! analysed again.

pub mod cost;
pub mod manifest;

use crate::pipeline::{Analyser, AnalyserOptions, CallInput};
use crate::store::{CallMeta, Outcome, ShardRecord, Store, StoreError, StoredResult};
use guion_core::key::{result_key, unreadable_key};
use guion_core::record::StageTimes;
use guion_core::redact::Redactor;
use guion_core::route::{Routes, Routing};
use guion_core::script::Script;
use guion_core::transcript::read::is_transcript_path;
use guion_models::sha256_file;
use manifest::CallRow;
use rayon::prelude::*;
use std::panic::AssertUnwindSafe;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The scripts a night is scored against, and how each call finds its own.
#[derive(Debug, Clone)]
pub struct NightScripts {
    pub scripts: Vec<Script>,
    pub routes: Option<Routes>,
}

impl NightScripts {
    /// How calls find their script: the scripts' ids and the rules.
    pub fn routing(&self) -> Routing {
        Routing {
            ids: self.scripts.iter().map(|s| s.id.clone()).collect(),
            routes: self.routes.clone(),
        }
    }

    /// The script a row is scored against (its index), or why none can be: `file:line: …`.
    pub fn script_for(&self, routing: &Routing, row: &CallRow) -> Result<usize, String> {
        routing
            .script_for(row.script.as_deref(), &row.cells)
            .map_err(|why| format!("{}: {why}", row.origin))
    }
}

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
    /// The shard of the night these rows are (already cut by the caller), recorded in the store.
    pub shard: Option<NightShard>,
}

/// A shard of a night, as `guion batch --shard` runs it.
#[derive(Debug, Clone)]
pub struct NightShard {
    pub shard: guion_core::shard::Shard,
    /// The manifest's sha256: shards of different manifests are not one night.
    pub manifest: String,
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
    /// Counts one call as it came out (`None`: its result was already in the store); `recording`:
    /// the call is a recording, not a transcript.
    fn tally(
        &mut self,
        outcome: Option<&Outcome>,
        recording: bool,
        audio_s: f64,
        times: &StageTimes,
        write_s: f64,
    ) {
        if outcome.is_some() && recording {
            self.recordings += 1;
            self.recorded_audio_s += audio_s;
        }
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

/// Runs the night. `on_call` is called once per call as it is stored (from the workers' threads).
pub fn run(
    rows: &[CallRow],
    scripts: &NightScripts,
    options: &BatchOptions,
    store: &Mutex<Store>,
    on_call: &(dyn Fn(Progress) + Sync),
) -> Result<NightSummary, BatchError> {
    let started = Instant::now();
    let jobs = options.jobs.max(1);
    // One analyser per worker, built on the worker's first call; the first is built here so that a
    // missing model stops the night before any call is touched.
    let slots: Vec<Mutex<Option<Analyser>>> = (0..jobs).map(|_| Mutex::new(None)).collect();
    let first = Analyser::for_scripts(&scripts.scripts, options.analyser.clone())?;
    let any_recording = rows.iter().any(|r| !is_transcript_path(&r.meta.path));
    let models = models_line(&first, scripts, any_recording);
    if let Some(s) = &options.shard {
        // With the hearing part whatever this shard's rows are: shards of one night agree on it.
        store
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .put_shard(&ShardRecord {
                night: options.night.clone(),
                shard: s.shard,
                setup: models_line(&first, scripts, true),
                manifest: s.manifest.clone(),
            })?;
    }
    let routing = scripts.routing();
    let chosen: Vec<Result<usize, String>> = rows
        .iter()
        .map(|r| scripts.script_for(&routing, r))
        .collect();
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
    let writer = Writer {
        night: &options.night,
        store,
        pending: Mutex::default(),
        first_error: &first_error,
        summary: &summary,
        on_call,
    };
    pool.install(|| {
        rows.par_iter()
            .zip(&chosen)
            .with_max_len(1)
            .for_each(|(row, chosen)| {
                let script = match chosen {
                    Ok(i) => *i,
                    Err(why) => {
                        record_failure(row, &redacted(why.clone(), options), &writer);
                        return;
                    }
                };
                let slot = &slots[rayon::current_thread_index().unwrap_or(0) % jobs];
                let mut guard = slot.lock().unwrap_or_else(|e| e.into_inner());
                if guard.is_none() {
                    match Analyser::for_scripts(&scripts.scripts, options.analyser.clone()) {
                        Ok(a) => *guard = Some(a),
                        Err(e) => {
                            let reason =
                                redacted(format!("worker could not load its models: {e}"), options);
                            record_failure(row, &reason, &writer);
                            return;
                        }
                    }
                }
                let analyser = guard.as_mut().expect("set just above");
                if one_call(analyser, script, row, options, &writer) {
                    *guard = None;
                }
            });
    });
    writer.flush();
    let mut summary = summary.into_inner().unwrap_or_else(|e| e.into_inner());
    if let Some(e) = first_error.into_inner().unwrap_or_else(|e| e.into_inner()) {
        return Err(e.into());
    }
    summary.wall_s = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// The models and options that decide a recording's result in this run, as one line: with several
/// scripts, `script=` lists them all (the rest is the same for every call).
fn models_line(first: &Analyser, scripts: &NightScripts, any_recording: bool) -> String {
    let ids = first.determinants(0, any_recording, None, None).ids();
    if scripts.scripts.len() < 2 {
        return ids;
    }
    let one = |s: &Script| format!("script={}@{}", s.id, s.version);
    let all: Vec<String> = scripts
        .scripts
        .iter()
        .map(|s| format!("{}@{}", s.id, s.version))
        .collect();
    ids.replacen(
        &one(&scripts.scripts[0]),
        &format!("script={}", all.join(",")),
        1,
    )
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

/// Results on their way into the store. A call's result and its link are committed together, and
/// calls are committed several at a time: a commit costs as much as scoring a text call, so one per
/// call would halve a night of text. A run killed before a commit leaves those calls out entirely
/// (never half-stored, never counted), and the next run scores them again. What waits is bounded by
/// `MAX_PENDING` calls and by `MAX_WAIT`; a call that took longer than `MAX_WAIT` to analyse (a
/// recording) is committed at once, with whatever waits before it. A call is counted and reported
/// (`on_call`) once it is committed.
struct Writer<'a> {
    night: &'a str,
    store: &'a Mutex<Store>,
    /// Locked only while holding `store` or to append, so that a call looked up while a commit is
    /// under way is found either here or in the store.
    pending: Mutex<Pending>,
    first_error: &'a Mutex<Option<StoreError>>,
    summary: &'a Mutex<NightSummary>,
    on_call: &'a (dyn Fn(Progress) + Sync),
}

#[derive(Default)]
struct Pending {
    calls: Vec<Done>,
    since: Option<Instant>,
}

/// One call, analysed (or found in the store), waiting for its commit.
struct Done {
    meta: CallMeta,
    key: String,
    /// `None`: linked to a scored result already stored or queued.
    result: Option<StoredResult>,
    /// How it came out in this run; `None` when its result was already in the store.
    outcome: Option<Outcome>,
    audio_s: f64,
    times: StageTimes,
    write_s: f64,
}

const MAX_PENDING: usize = 256;
const MAX_WAIT: Duration = Duration::from_millis(200);

enum Lookup {
    /// A scored result under this key is in the store or on its way there.
    Scored,
    New,
}

impl Writer<'_> {
    fn lookup(&self, key: &str) -> Result<Lookup, StoreError> {
        let store = self.store.lock().unwrap_or_else(|e| e.into_inner());
        let pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let waiting = pending
            .calls
            .iter()
            .any(|d| d.key == key && d.result.as_ref().is_some_and(StoredResult::is_ok));
        drop(pending);
        if waiting || store.has_result(key)? {
            Ok(Lookup::Scored)
        } else {
            Ok(Lookup::New)
        }
    }

    /// Queues a call; commits the queue when it is due or when `urgent`.
    fn push(&self, done: Done, urgent: bool) {
        let due = {
            let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            pending.calls.push(done);
            let since = *pending.since.get_or_insert_with(Instant::now);
            urgent || pending.calls.len() >= MAX_PENDING || since.elapsed() >= MAX_WAIT
        };
        if due {
            self.flush();
        }
    }

    /// Commits what is queued, in one transaction, then counts and reports it.
    fn flush(&self) {
        let mut store = self.store.lock().unwrap_or_else(|e| e.into_inner());
        let mut calls = {
            let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            pending.since = None;
            std::mem::take(&mut pending.calls)
        };
        if calls.is_empty() {
            return;
        }
        let started = Instant::now();
        let committed = store.put_calls(
            self.night,
            calls
                .iter()
                .map(|d| (&d.meta, d.key.as_str(), d.result.as_ref())),
        );
        drop(store);
        let commit_s = started.elapsed().as_secs_f64();
        if let Err(e) = committed {
            for d in &mut calls {
                d.outcome = Some(Outcome::Failed {
                    reason: e.to_string(),
                });
            }
            keep_first(self.first_error, e);
        }
        let mut summary = self.summary.lock().unwrap_or_else(|e| e.into_inner());
        summary.write_s += commit_s;
        for d in &calls {
            summary.tally(
                d.outcome.as_ref(),
                !is_transcript_path(&d.meta.path),
                d.audio_s,
                &d.times,
                d.write_s,
            );
        }
        drop(summary);
        for d in &calls {
            (self.on_call)(Progress {
                call_id: &d.meta.call_id,
                outcome: d.outcome.as_ref(),
                audio_s: d.audio_s,
            });
        }
    }
}

/// A call that could not be analysed at all: stored as failed under a key made from its path.
fn record_failure(row: &CallRow, reason: &str, writer: &Writer) {
    let key = unreadable_key(&row.meta.path, reason);
    let outcome = Outcome::Failed {
        reason: reason.to_string(),
    };
    let done = Done {
        meta: row.meta.clone(),
        result: Some(StoredResult::new(&key, "", "", &outcome)),
        key,
        outcome: Some(outcome),
        audio_s: 0.0,
        times: StageTimes::default(),
        write_s: 0.0,
    };
    writer.push(done, false);
}

/// Analyses one call (unless its result is stored) and queues it for the store. Returns whether the
/// analyser is to be reloaded (after a panic inside the models, its state is not trusted).
fn one_call(
    analyser: &mut Analyser,
    script: usize,
    row: &CallRow,
    options: &BatchOptions,
    writer: &Writer,
) -> bool {
    let path = &row.meta.path;
    let content = match sha256_file(path) {
        Ok(sha) => sha,
        Err(e) => {
            record_failure(row, &format!("{}: {e}", path.display()), writer);
            return false;
        }
    };
    let is_recording = !is_transcript_path(path);
    let ids = analyser
        .determinants(
            script,
            is_recording,
            row.channels,
            row.meta.language.as_deref(),
        )
        .ids();
    let key = result_key(&content, &ids);
    let done = |key: String, result, outcome, audio_s, times, write_s| Done {
        meta: row.meta.clone(),
        key,
        result,
        outcome,
        audio_s,
        times,
        write_s,
    };
    // A calibration analyses every call afresh: it measures the machine, not the store.
    let lookup = if options.reanalyse {
        Ok(Lookup::New)
    } else {
        writer.lookup(&key)
    };
    match lookup {
        Ok(Lookup::Scored) => {
            writer.push(
                done(key, None, None, 0.0, StageTimes::default(), 0.0),
                false,
            );
            return false;
        }
        Ok(Lookup::New) => {}
        Err(e) => {
            // Not stored: reported as failed, and the night ends with the store's error.
            let outcome = Outcome::Failed {
                reason: e.to_string(),
            };
            keep_first(writer.first_error, e);
            (writer.on_call)(Progress {
                call_id: &row.meta.call_id,
                outcome: Some(&outcome),
                audio_s: 0.0,
            });
            return false;
        }
    }
    let input = CallInput {
        path: path.clone(),
        language: row.meta.language.clone(),
        channels: row.channels,
        ..CallInput::default()
    };
    let analysing = Instant::now();
    let analysed =
        std::panic::catch_unwind(AssertUnwindSafe(|| analyser.analyse_with(script, &input)));
    let slow = analysing.elapsed() >= MAX_WAIT;
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
    let poisoned = analyser_poisoned(&outcome);
    let started = Instant::now();
    let result = StoredResult::new(&key, &content, &ids, &outcome);
    let write_s = started.elapsed().as_secs_f64();
    let queued = done(key, Some(result), Some(outcome), audio_s, times, write_s);
    writer.push(queued, slow);
    poisoned
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
        s.tally(Some(&french), true, 30.0, &times, 0.1);
        s.tally(Some(&record(None)), true, 60.0, &times, 0.1);
        s.tally(None, true, 0.0, &StageTimes::default(), 0.0);
        let failed = Outcome::Failed { reason: "x".into() };
        s.tally(Some(&failed), true, 0.0, &StageTimes::default(), 0.0);
        assert_eq!(
            (s.scored, s.wrong_language, s.reused, s.failed),
            (1, 1, 1, 1)
        );
        assert_eq!(s.audio_s, 90.0);
        assert_eq!(s.stages.asr_s, 4.0);
    }

    #[test]
    fn only_recordings_analysed_in_this_run_count_as_recorded_audio() {
        let mut s = NightSummary::default();
        let times = StageTimes::default();
        s.tally(Some(&record(None)), true, 60.0, &times, 0.0);
        s.tally(Some(&record(None)), false, 40.0, &times, 0.0);
        s.tally(None, true, 0.0, &times, 0.0);
        assert_eq!((s.recordings, s.recorded_audio_s), (1, 60.0));
        assert_eq!((s.scored, s.reused, s.audio_s), (2, 1, 100.0));
    }
}
