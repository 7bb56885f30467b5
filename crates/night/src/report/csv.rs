//! The batch's files, regenerated whole from the store after every run (written to `.part`, then
//! renamed): a kill can leave a stale file, never a half-written one, and the next run rewrites it.
//!
//! - calls.csv: night, call_id, agent_id, vendor, site, sourcing, language, started_at, script,
//!   script_version (what it was scored against; empty for a failed call), status
//!   (scored|failed|wrong_language), reason, duration_s, adherence, steps_done, steps_required,
//!   forbidden, tone_<label>… (share of the agent's utterances), values_shown, models, reviews
//!   (steps whose verdict is an analyst's; adherence and steps_done then count the analyst's verdict)
//! - steps.csv: night, call_id, script, step, status, similarity, match, start, end, evidence,
//!   guion_status, reviewed_by, reviewed_at, review_why (status is the analyst's where reviewed)
//! - utterances.jsonl: {night, call_id, speaker, start, end, text, tone: {label, p}, value: {id, score}}
//! - agents.csv, vendors.csv, sourcing.csv (the night given): name, vendor, site, sourcing, calls,
//!   failed, wrong_language, adherence (+ _low, _high), forbidden_per_100 (+ _low, _high), done_<step> (+ _low,
//!   _high)…, tone_<label> (+ _low, _high)…, value_<id> (+ _low, _high)…; sourcing.csv ends with the
//!   in-house minus outsourced adherence gap. With several scripts in the night a step's columns are
//!   done_<script>/<step>, over the calls scored against that script; adherence and the rest are
//!   over all of a group's calls, each against its own script.
//! - runs.csv (every night): one row per run of `guion batch` or `guion bench` (see
//!   [`write_runs`]): what it analysed (reused results not counted), on what, in how long, and
//!   its rates, whole and per stage.
//!
//! Intervals are 95 %: Wilson for rates, bootstrap over calls for means. With `CsvLocale::Es` the
//! files use `;`, a decimal comma and a UTF-8 byte-order mark, so that Spanish Excel opens them right.

use crate::store::{Outcome, StoredCall};
use guion_core::aggregate::{GroupSummary, Rollup};
use guion_core::cost::{Run, STAGES};
use guion_core::names::Named;
use guion_core::stats::Estimate;
use std::io;
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CsvLocale {
    #[default]
    En,
    Es,
}

guion_core::named!(CsvLocale { En => "en", Es => "es" });

struct Table {
    locale: CsvLocale,
    writer: csv::Writer<Vec<u8>>,
}

impl Table {
    fn new(locale: CsvLocale, header: &[String]) -> io::Result<Table> {
        let delimiter = if locale == CsvLocale::Es { b';' } else { b',' };
        let mut writer = csv::WriterBuilder::new()
            .delimiter(delimiter)
            .from_writer(Vec::new());
        writer.write_record(header)?;
        Ok(Table { locale, writer })
    }

    fn num(&self, x: Option<f64>, decimals: usize) -> String {
        match x {
            None => String::new(),
            Some(v) => {
                let s = format!("{v:.decimals$}");
                if self.locale == CsvLocale::Es {
                    s.replace('.', ",")
                } else {
                    s
                }
            }
        }
    }

    fn row(&mut self, fields: &[String]) -> io::Result<()> {
        self.writer.write_record(fields).map_err(io::Error::other)
    }

    fn finish(self, path: &Path) -> io::Result<()> {
        let mut bytes = Vec::new();
        if self.locale == CsvLocale::Es {
            bytes.extend_from_slice("\u{feff}".as_bytes());
        }
        bytes.extend(
            self.writer
                .into_inner()
                .map_err(|e| io::Error::other(e.to_string()))?,
        );
        guion_models::atomic::write(path, &bytes)
    }
}

/// After a change to the store other than a batch (a review): every file again, in the locale the
/// batch wrote them in (told by calls.csv's byte-order mark), with the latest night's rollups.
pub fn rewrite(dir: &Path, store: &crate::store::Store) -> io::Result<()> {
    let locale = match std::fs::read(dir.join("calls.csv")) {
        Ok(bytes) if bytes.starts_with("\u{feff}".as_bytes()) => CsvLocale::Es,
        _ => CsvLocale::En,
    };
    let latest = store
        .nights()
        .map_err(io::Error::other)?
        .pop()
        .unwrap_or_default();
    write_store(dir, store, &latest, locale).map(|_| ())
}

/// Every file of a batch's directory from its store: the per-call files of every night, `night`'s
/// rollups and runs.csv. `guion batch` writes through here after a run and `guion merge` after a
/// merge, so a merge of shards writes exactly what one run of the night would. Returns every
/// stored call.
pub fn write_store(
    dir: &Path,
    store: &crate::store::Store,
    night: &str,
    locale: CsvLocale,
) -> io::Result<Vec<StoredCall>> {
    let all = store.calls(None).map_err(io::Error::other)?;
    // Tonight's calls are all of them in a store of one night: not copied then.
    let tonight: std::borrow::Cow<[StoredCall]> = if all.iter().all(|c| c.night == night) {
        std::borrow::Cow::Borrowed(&all)
    } else {
        std::borrow::Cow::Owned(all.iter().filter(|c| c.night == night).cloned().collect())
    };
    let runs = store.runs(None).map_err(io::Error::other)?;
    write_all(
        dir,
        &all,
        || guion_core::aggregate::rollup(&tonight),
        locale,
    )?;
    write_runs(dir, &runs, locale)?;
    drop(tonight);
    Ok(all)
}

/// Writes every per-call file (all nights) and the rollups that `rollup` makes; returns them.
pub fn write_all(
    dir: &Path,
    calls: &[StoredCall],
    rollup: impl FnOnce() -> Rollup + Send,
    locale: CsvLocale,
) -> io::Result<Rollup> {
    // The rollup (its bootstrap intervals) is made on a second thread while the per-call files
    // that do not need it are written.
    let (rollup, written) = std::thread::scope(|s| {
        let rollup = s.spawn(rollup);
        let written = write_steps(dir, calls, locale).and_then(|()| write_utterances(dir, calls));
        (rollup.join(), written)
    });
    let rollup = rollup.unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    written?;
    write_calls(dir, calls, &rollup, locale)?;
    write_groups(
        &dir.join("agents.csv"),
        &rollup.agents,
        &rollup,
        locale,
        None,
    )?;
    write_groups(
        &dir.join("vendors.csv"),
        &rollup.vendors,
        &rollup,
        locale,
        None,
    )?;
    write_groups(
        &dir.join("sourcing.csv"),
        &rollup.sourcing,
        &rollup,
        locale,
        rollup.gap,
    )?;
    Ok(rollup)
}

fn write_calls(
    dir: &Path,
    calls: &[StoredCall],
    rollup: &Rollup,
    locale: CsvLocale,
) -> io::Result<()> {
    let mut header: Vec<String> = [
        "night",
        "call_id",
        "agent_id",
        "vendor",
        "site",
        "sourcing",
        "language",
        "started_at",
        "script",
        "script_version",
        "status",
        "reason",
        "duration_s",
        "adherence",
        "steps_done",
        "steps_required",
        "forbidden",
    ]
    .map(String::from)
    .to_vec();
    header.extend(rollup.tones.iter().map(|t| format!("tone_{t}")));
    header.extend(["values_shown", "models", "reviews"].map(String::from));
    let mut t = Table::new(locale, &header)?;
    for c in calls {
        let m = &c.meta;
        let mut row = vec![
            c.night.clone(),
            m.call_id.clone(),
            m.agent_id.clone(),
            m.vendor.clone(),
            m.site.clone(),
            m.sourcing.as_str().to_string(),
            m.language.clone().unwrap_or_default(),
            m.started_at.clone().unwrap_or_default(),
        ];
        match &c.outcome {
            Outcome::Scored { record, .. } => {
                row.extend([record.script.id.clone(), record.script.version.clone()])
            }
            // Not scored, so against no script; a row whose script was unknown says so in reason.
            Outcome::Failed { .. } => row.extend([String::new(), String::new()]),
        }
        match &c.outcome {
            Outcome::Failed { reason } => {
                row.extend(["failed".into(), reason.clone()]);
                row.extend(std::iter::repeat_n(String::new(), header.len() - row.len()));
            }
            Outcome::Scored { record, .. } if !record.is_scored() => {
                let reason = record.wrong_language.as_ref().map_or(String::new(), |w| {
                    format!(
                        "speech in '{}' (p {:.2}); allowed: {}",
                        w.found,
                        w.p,
                        w.allowed.join(", ")
                    )
                });
                row.extend(["wrong_language".into(), reason, t.num(record.duration_s, 1)]);
                row.extend(std::iter::repeat_n(String::new(), header.len() - row.len()));
            }
            Outcome::Scored { record, .. } => {
                row.extend([
                    "scored".into(),
                    String::new(),
                    t.num(record.duration_s, 1),
                    t.num(record.adherence, 4),
                    record.score.steps_done.to_string(),
                    record.score.steps_required.to_string(),
                    record.forbidden.len().to_string(),
                ]);
                for label in &rollup.tones {
                    let share = record.tone.as_ref().and_then(|s| s.get(label).copied());
                    row.push(t.num(share, 4));
                }
                row.push(record.values.as_ref().map_or(String::new(), |v| {
                    v.iter().filter(|x| x.shown).count().to_string()
                }));
                let mo = &record.models;
                // The script has its own columns.
                let mut models: Vec<String> = mo.asr.iter().map(|a| format!("asr={a}")).collect();
                if let Some(m) = &mo.meaning {
                    models.push(format!(
                        "encoder={} tone={} values={}",
                        m.encoder, m.tone_head, m.values
                    ));
                }
                models.extend(mo.judge.as_ref().map(|j| format!("judge={j}")));
                row.push(models.join(" "));
                let reviews = record.steps.iter().filter(|s| s.review.is_some()).count();
                row.push(reviews.to_string());
            }
        }
        t.row(&row)?;
    }
    t.finish(&dir.join("calls.csv"))
}

fn write_steps(dir: &Path, calls: &[StoredCall], locale: CsvLocale) -> io::Result<()> {
    let header = [
        "night",
        "call_id",
        "script",
        "step",
        "status",
        "similarity",
        "match",
        "start",
        "end",
        "evidence",
        "guion_status",
        "reviewed_by",
        "reviewed_at",
        "review_why",
    ]
    .map(String::from);
    let mut t = Table::new(locale, &header)?;
    for c in calls {
        let Outcome::Scored { record, .. } = &c.outcome else {
            continue;
        };
        for s in &record.steps {
            let e = s.evidence.as_ref();
            let r = s.review.as_ref();
            let row = vec![
                c.night.clone(),
                c.meta.call_id.clone(),
                record.script.id.clone(),
                s.id.clone(),
                s.status.as_str().to_string(),
                t.num(Some(s.similarity as f64), 3),
                e.map_or(String::new(), |e| {
                    serde_json::to_value(e.kind)
                        .ok()
                        .and_then(|v| v.as_str().map(String::from))
                        .unwrap_or_default()
                }),
                t.num(e.and_then(|e| e.start), 2),
                t.num(e.and_then(|e| e.end), 2),
                e.map_or(String::new(), |e| e.text.clone()),
                s.guion_status().as_str().to_string(),
                r.map_or(String::new(), |r| r.by.clone()),
                r.map_or(String::new(), |r| r.at.clone()),
                r.and_then(|r| r.why.clone()).unwrap_or_default(),
            ];
            t.row(&row)?;
        }
    }
    t.finish(&dir.join("steps.csv"))
}

fn write_utterances(dir: &Path, calls: &[StoredCall]) -> io::Result<()> {
    let mut out = Vec::new();
    for c in calls {
        let Outcome::Scored { record, .. } = &c.outcome else {
            continue;
        };
        for u in &record.utterances {
            let line = serde_json::json!({
                "night": c.night,
                "call_id": c.meta.call_id,
                "speaker": u.speaker,
                "start": u.start,
                "end": u.end,
                "text": u.text,
                "tone": u.tone,
                "value": u.value,
            });
            serde_json::to_writer(&mut out, &line)?;
            out.push(b'\n');
        }
    }
    guion_models::atomic::write(&dir.join("utterances.jsonl"), &out)
}

fn write_groups(
    path: &Path,
    groups: &[GroupSummary],
    rollup: &Rollup,
    locale: CsvLocale,
    gap: Option<Estimate>,
) -> io::Result<()> {
    let with_interval =
        |name: String| [name.clone(), format!("{name}_low"), format!("{name}_high")];
    let mut header: Vec<String> = [
        "name",
        "vendor",
        "site",
        "sourcing",
        "calls",
        "failed",
        "wrong_language",
    ]
    .map(String::from)
    .to_vec();
    header.extend(with_interval("adherence".into()));
    header.extend(with_interval("forbidden_per_100".into()));
    for s in &rollup.steps {
        header.extend(with_interval(format!("done_{}", rollup.step_name(s))));
    }
    for l in &rollup.tones {
        header.extend(with_interval(format!("tone_{l}")));
    }
    for v in &rollup.values {
        header.extend(with_interval(format!("value_{v}")));
    }
    let mut t = Table::new(locale, &header)?;
    let cells = |t: &Table, e: Option<Estimate>, decimals: usize| -> [String; 3] {
        [
            t.num(e.map(|e| e.value), decimals),
            t.num(e.map(|e| e.low), decimals),
            t.num(e.map(|e| e.high), decimals),
        ]
    };
    for g in groups {
        let mut row = vec![
            g.name.clone(),
            g.vendor.clone(),
            g.site.clone(),
            g.sourcing.clone(),
            g.calls.to_string(),
            g.failed.to_string(),
            g.wrong_language.to_string(),
        ];
        row.extend(cells(&t, g.adherence, 4));
        row.extend(cells(&t, g.forbidden_per_100, 1));
        let steps = g.steps.iter().map(|(_, e)| e);
        for e in steps.chain(g.tone.iter().chain(&g.values).map(|(_, e)| e)) {
            row.extend(cells(&t, *e, 4));
        }
        t.row(&row)?;
    }
    if let Some(gap) = gap {
        let mut row = vec![
            "gap (insourced - outsourced)".to_string(),
            String::new(),
            String::new(),
            String::new(),
            gap.n.to_string(),
            String::new(),
            String::new(),
        ];
        row.extend(cells(&t, Some(gap), 4));
        row.extend(std::iter::repeat_n(String::new(), header.len() - row.len()));
        t.row(&row)?;
    }
    t.finish(path)
}

/// runs.csv: one row per run, in the order they started: night, run (its id in the store), kind
/// (night|calibration), shard (`INDEX/COUNT` of a `guion batch --shard` run, empty for the whole
/// night), started_at, finished_at (empty: the run was killed and measured nothing),
/// version, engine, models, cores (the machine's), cpu, workers, threads, cores_held, scored,
/// wrong_language, failed, reused (results already in the store: not analysed, not counted),
/// recordings, audio_hours (recorded audio analysed), wall_s, cpu_s, core_hours (wall × cores held),
/// audio_hours_per_core_hour, calls_per_hour, calls_per_core_hour, audio_hours_per_cpu_hour (on
/// the CPU clock), busy_share (of the workers' time
/// in a stage), then per stage (decode, asr, classify, align, judge, write) `<stage>_s` (summed over
/// workers), `<stage>_audio_hours_per_core_hour` and `<stage>_calls_per_core_hour`. A rate is empty
/// where there is nothing to measure it from. The machine's host name stays in the store.
pub fn write_runs(dir: &Path, runs: &[Run], locale: CsvLocale) -> io::Result<()> {
    let mut header: Vec<String> = [
        "night",
        "run",
        "kind",
        "shard",
        "started_at",
        "finished_at",
        "version",
        "engine",
        "models",
        "cores",
        "cpu",
        "workers",
        "threads",
        "cores_held",
        "scored",
        "wrong_language",
        "failed",
        "reused",
        "recordings",
        "audio_hours",
        "wall_s",
        "cpu_s",
        "core_hours",
        "audio_hours_per_core_hour",
        "calls_per_hour",
        "calls_per_core_hour",
        "audio_hours_per_cpu_hour",
        "busy_share",
    ]
    .map(String::from)
    .to_vec();
    for stage in STAGES {
        header.push(format!("{stage}_s"));
        header.push(format!("{stage}_audio_hours_per_core_hour"));
        header.push(format!("{stage}_calls_per_core_hour"));
    }
    let mut t = Table::new(locale, &header)?;
    for r in runs {
        let m = &r.measurement;
        let finished = r.finished_at.is_some();
        // A killed run's counts are the zeros it started with: no figure, rather than a false one.
        let figure = |x: Option<f64>, d: usize| if finished { t.num(x, d) } else { String::new() };
        let mut row = vec![
            r.night.clone(),
            r.id.to_string(),
            r.kind.name().to_string(),
            r.shard.clone().unwrap_or_default(),
            r.started_at.clone(),
            r.finished_at.clone().unwrap_or_default(),
            r.version.clone(),
            r.engine.clone(),
            r.models.clone(),
            r.machine.cores.to_string(),
            r.machine.cpu.clone().unwrap_or_default(),
            m.workers.to_string(),
            m.threads.to_string(),
            m.cores.to_string(),
            m.scored.to_string(),
            m.wrong_language.to_string(),
            m.failed.to_string(),
            r.reused.to_string(),
            m.recordings.to_string(),
            figure(Some(m.audio_hours()), 4),
            figure(Some(m.wall_s), 3),
            figure(m.cpu_s, 3),
            figure(Some(m.core_hours()), 5),
            figure(m.audio_hours_per_core_hour(), 4),
            figure(m.calls_per_hour(), 1),
            figure(m.calls_per_core_hour(), 1),
            figure(m.audio_hours_per_cpu_hour(), 4),
            figure(m.busy_share(), 4),
        ];
        for s in m.stages() {
            row.push(figure(Some(s.seconds), 3));
            row.push(figure(s.audio_hours_per_core_hour, 4));
            row.push(figure(s.calls_per_core_hour, 1));
        }
        t.row(&row)?;
    }
    t.finish(&dir.join("runs.csv"))
}
