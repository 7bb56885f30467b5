//! What a night cost, as the store keeps it: `guion batch` on a text night and on an audio night
//! (real models, real store), the runs table read back — counts, reused calls left out of a rerun's
//! figures, rates that agree with the wall time — and `guion bench --json` on two recordings.

use crate::util::{self, require};
use guion_core::cost::{Run, RunKind};
use guion_night::store::Store;
use std::path::Path;
use std::process::Output;
use std::time::Instant;

const ACME: &str = "examples/scripts/acme-seguros.toml";

/// `guion batch` into `out` with `extra` flags; returns its output and how long it took.
fn batch(manifest: &Path, out: &Path, extra: &[&str]) -> (Output, f64) {
    let started = Instant::now();
    let output = util::guion()
        .args([
            "batch",
            manifest.to_str().unwrap(),
            "--script",
            ACME,
            "--out",
            out.to_str().unwrap(),
            "--night",
            "2026-11-22",
        ])
        .args(extra)
        .output()
        .unwrap();
    let elapsed = started.elapsed().as_secs_f64();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    (output, elapsed)
}

fn runs(out: &Path) -> Vec<Run> {
    Store::open_existing(out).unwrap().runs(None).unwrap()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// What holds for every finished run: the rates are the counts over the run's own wall time, and
/// the time in stages fits in the workers' time.
fn consistent(run: &Run, elapsed: f64) {
    let m = &run.measurement;
    assert!(run.finished_at.is_some(), "{run:?}");
    assert!(
        m.wall_s > 0.0 && m.wall_s <= elapsed,
        "{run:?} in {elapsed} s"
    );
    let in_stages = m.stages.decode_s
        + m.stages.asr_s
        + m.stages.classify_s
        + m.stages.align_s
        + m.stages.judge_s
        + m.write_s;
    assert!(
        in_stages <= m.wall_s * m.workers as f64 * 1.01,
        "{in_stages} s in stages, {} s × {} workers",
        m.wall_s,
        m.workers
    );
    assert!(m.cores >= 1 && m.cores <= run.machine.cores && m.cores <= m.workers * m.threads);
    assert!(m.cpu_s.is_some_and(|c| c > 0.0), "{run:?}");
    if m.calls() > 0 {
        let per_hour = m.calls_per_hour().unwrap();
        assert!(per_hour > 0.0 && close(per_hour, m.calls() as f64 * 3600.0 / m.wall_s));
    } else {
        assert_eq!(m.calls_per_hour(), None);
    }
    match m.audio_hours_per_core_hour() {
        Some(rate) => {
            assert!(rate > 0.0);
            assert!(close(
                rate,
                m.audio_s / 3600.0 / (m.wall_s * m.cores as f64 / 3600.0)
            ));
        }
        None => assert!(m.recordings == 0 || m.audio_s == 0.0, "{run:?}"),
    }
}

#[test]
fn a_text_night_stores_each_run_and_a_rerun_counts_only_what_it_analysed() {
    require!(util::encoder());
    let dir = util::tempdir();
    let manifest = util::text_night(dir.path(), 6, "");
    let out = dir.path().join("out");
    let (first, elapsed) = batch(&manifest, &out, &["--jobs", "2"]);
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert!(
        stderr.contains("batch: cost: 6 calls analysed in "),
        "{stderr}"
    );
    let stored = runs(&out);
    assert_eq!(stored.len(), 1);
    let run = &stored[0];
    consistent(run, elapsed);
    let m = &run.measurement;
    assert_eq!(
        (run.kind, run.night.as_str()),
        (RunKind::Night, "2026-11-22")
    );
    assert_eq!(
        (m.scored, m.failed, m.wrong_language, run.reused),
        (6, 0, 0, 0)
    );
    assert_eq!((m.workers, m.threads), (2, 1));
    // Transcripts: calls per hour, but no audio anyone had to hear.
    assert_eq!((m.recordings, m.audio_s), (0, 0.0));
    assert_eq!(m.audio_hours_per_core_hour(), None);
    assert!(
        m.stages.classify_s > 0.0 && m.stages.asr_s < 0.01,
        "{:?}",
        m.stages
    );
    assert!(!run.models.contains("asr=") && run.models.contains("encoder=e5-small"));

    // The same night again: every result reused, nothing measured.
    let (second, elapsed) = batch(&manifest, &out, &["--jobs", "2"]);
    assert!(String::from_utf8_lossy(&second.stderr).contains("batch: cost: nothing analysed in "));
    let stored = runs(&out);
    assert_eq!(stored.len(), 2, "a rerun is a run of its own");
    let rerun = &stored[1];
    consistent(rerun, elapsed);
    assert_eq!((rerun.measurement.calls(), rerun.reused), (0, 6));
    assert!(!rerun.measured());

    // Two more calls: only they count.
    let manifest = util::text_night(dir.path(), 8, "");
    let (_, elapsed) = batch(&manifest, &out, &["--jobs", "1", "--threads-per-job", "2"]);
    let third = &runs(&out)[2];
    consistent(third, elapsed);
    assert_eq!((third.measurement.scored, third.reused), (2, 6));
    assert_eq!(
        (third.measurement.workers, third.measurement.threads),
        (1, 2)
    );

    // runs.csv: one row per run, the rates where there is something to rate.
    let mut csv = csv::Reader::from_path(out.join("runs.csv")).unwrap();
    let header = csv.headers().unwrap().clone();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = csv.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 3);
    assert_eq!(
        rows.iter()
            .map(|r| r[col("reused")].to_string())
            .collect::<Vec<_>>(),
        ["0", "6", "6"]
    );
    assert!(rows[0][col("calls_per_hour")].parse::<f64>().unwrap() > 0.0);
    assert_eq!(&rows[1][col("calls_per_hour")], "");
    assert_eq!(&rows[0][col("audio_hours_per_core_hour")], "");
    assert_eq!(&rows[0][col("kind")], "night");
}

#[test]
fn an_audio_night_measures_the_audio_it_heard_and_not_the_audio_it_reused() {
    require!(util::whisper(), util::encoder(), util::prompts("en"));
    let dir = util::tempdir();
    let extra = format!(
        "rec-1,{},mad-lucia,Acme in-house,madrid,insourced,en,,mono\n\
         rec-2,{},mnl-joy,CallNova,manila,outsourced,en,,mono\n",
        util::prompt_path("en", "vm-goodbye").display(),
        util::prompt_path("en", "queue-periodic-announce").display(),
    );
    let manifest = util::text_night(dir.path(), 1, &extra);
    let out = dir.path().join("out");
    let (_, elapsed) = batch(&manifest, &out, &["--jobs", "1", "--threads-per-job", "2"]);
    let stored = runs(&out);
    assert_eq!(stored.len(), 1);
    let run = &stored[0];
    consistent(run, elapsed);
    let m = &run.measurement;
    assert_eq!((m.calls(), m.recordings, run.reused), (3, 2, 0));
    assert_eq!((m.workers, m.threads), (1, 2));
    // The recordings' audio, as the stored records give it; the dialogue's time stamps are not audio.
    let heard: f64 = Store::open_existing(&out)
        .unwrap()
        .calls(None)
        .unwrap()
        .iter()
        .filter(|c| c.meta.call_id.starts_with("rec-"))
        .map(|c| match &c.outcome {
            guion_core::call::Outcome::Scored { record, .. } => record.duration_s.unwrap(),
            guion_core::call::Outcome::Failed { reason } => panic!("{reason}"),
        })
        .sum();
    assert!(
        heard > 0.0 && close(m.audio_s, heard),
        "{} vs {heard}",
        m.audio_s
    );
    assert!(m.stages.asr_s > 0.0 && m.stages.decode_s > 0.0);
    let asr = &m.stages()[1];
    assert_eq!(asr.stage, "asr");
    assert!(asr.audio_hours_per_core_hour.unwrap() >= m.audio_hours_per_core_hour().unwrap());
    assert!(run.models.contains("asr=base beam=5"), "{}", run.models);
    assert_eq!(run.engine, guion_speech::asr::ENGINE);

    // A rerun reuses the three results: no audio, no calls, no rate.
    let (_, elapsed) = batch(&manifest, &out, &["--jobs", "1", "--threads-per-job", "2"]);
    let rerun = &runs(&out)[1];
    consistent(rerun, elapsed);
    assert_eq!((rerun.measurement.calls(), rerun.reused), (0, 3));
    assert_eq!(
        (rerun.measurement.recordings, rerun.measurement.audio_s),
        (0, 0.0)
    );
    assert_eq!(rerun.measurement.audio_hours_per_core_hour(), None);

    // guion plan divides by the first run's rate, the latest that measured audio on this machine.
    let planned = util::guion()
        .args([
            "plan",
            "--audio-hours",
            "700",
            "--hours",
            "8",
            "--cores-per-machine",
            "16",
        ])
        .arg("--from")
        .arg(&out)
        .arg("--json")
        .output()
        .unwrap();
    assert!(
        planned.status.success(),
        "{}",
        String::from_utf8_lossy(&planned.stderr)
    );
    let p: serde_json::Value = serde_json::from_slice(&planned.stdout).unwrap();
    let rate = m.audio_hours_per_core_hour().unwrap();
    let cores = (700.0 / rate / 8.0).ceil() as u64;
    assert_eq!(p["cores"], cores);
    assert_eq!(p["machines"], cores.div_ceil(16));
    assert_eq!(p["shards"], p["machines"]);
    assert!(close(
        p["audio_hours_per_core_hour"].as_f64().unwrap(),
        rate
    ));
    assert_eq!(p["measurement"]["started_at"], run.started_at.as_str());
    assert_eq!(p["measurement"]["night"], run.night.as_str());
    // Nothing measured anywhere: it says how to measure, and plans nothing.
    let empty = util::tempdir();
    let nothing = util::guion()
        .env("GUION_CACHE", empty.path())
        .args(["plan", "--audio-hours", "700", "--hours", "8"])
        .arg("--from")
        .arg(empty.path())
        .output()
        .unwrap();
    assert_eq!(nothing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&nothing.stderr).contains("guion bench"));
}

#[test]
fn guion_bench_measures_two_calls_afresh_every_time_and_stores_a_calibration() {
    require!(util::whisper(), util::encoder(), util::prompts("en"));
    let dir = util::tempdir();
    let manifest = dir.path().join("night.csv");
    std::fs::write(
        &manifest,
        format!(
            "call_id,path,agent_id,vendor,site,sourcing,language,channels\n\
             rec-1,{},mad-lucia,Acme in-house,madrid,insourced,en,mono\n\
             rec-2,{},mnl-joy,CallNova,manila,outsourced,en,mono\n\
             rec-3,{},mnl-joy,CallNova,manila,outsourced,en,mono\n",
            util::prompt_path("en", "vm-goodbye").display(),
            util::prompt_path("en", "agent-user").display(),
            util::prompt_path("en", "queue-periodic-announce").display(),
        ),
    )
    .unwrap();
    let out = dir.path().join("bench");
    let bench = || {
        let started = Instant::now();
        let output = util::guion()
            .args(["bench", "--manifest", manifest.to_str().unwrap()])
            .args(["--script", ACME, "--calls", "2", "--jobs", "1"])
            .args(["--threads-per-job", "2", "--out", out.to_str().unwrap()])
            .arg("--json")
            .output()
            .unwrap();
        let elapsed = started.elapsed().as_secs_f64();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let json: serde_json::Value = serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stdout)));
        (json, elapsed)
    };
    let (json, elapsed) = bench();
    for key in [
        "date",
        "machine",
        "workers",
        "threads",
        "calls",
        "audio_hours",
        "wall_s",
        "cpu_s",
        "audio_hours_per_core_hour",
        "calls_per_hour",
        "stages",
    ] {
        assert!(json.get(key).is_some(), "no {key} in {json}");
    }
    assert_eq!(
        (json["calls"].as_u64(), json["recordings"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(
        (json["workers"].as_u64(), json["threads"].as_u64()),
        (Some(1), Some(2))
    );
    assert_eq!(json["kind"], "calibration");
    assert!(json["machine"]["cores"].as_u64().unwrap() >= 1);
    let wall = json["wall_s"].as_f64().unwrap();
    assert!(wall > 0.0 && wall <= elapsed);
    let rate = json["audio_hours_per_core_hour"].as_f64().unwrap();
    let cores = json["cores"].as_f64().unwrap();
    assert!(close(
        rate,
        json["audio_hours"].as_f64().unwrap() / (wall * cores / 3600.0)
    ));
    assert!(close(
        json["calls_per_hour"].as_f64().unwrap(),
        2.0 * 3600.0 / wall
    ));
    assert!(json["stages"]["asr"]["s"].as_f64().unwrap() > 0.0);
    assert!(
        json["stages"]["asr"]["audio_hours_per_core_hour"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    let date = json["date"].as_str().unwrap();
    assert_eq!(date.len(), 10);

    // Again, into the same store: the calls are analysed again (a calibration measures the machine,
    // not the store), and the store keeps both calibrations.
    let (again, _) = bench();
    assert_eq!(again["calls"].as_u64(), Some(2));
    let stored = runs(&out);
    assert_eq!(stored.len(), 2);
    for run in &stored {
        assert_eq!(run.kind, RunKind::Calibration);
        assert_eq!(run.night, format!("calibration-{date}"));
        assert!(run.measured() && run.reused == 0);
    }
    assert_eq!(stored[1].id, again["run"].as_i64().unwrap());

    // Without a manifest it samples the demo night; where there is none, it says how to make one.
    let empty = util::tempdir();
    let output = util::guion()
        .args(["bench", "--calls", "1"])
        .env("GUION_CACHE", empty.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("scripts/make-demo-night"));
}
