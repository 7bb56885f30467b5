//! A night cut into shards (`guion batch --shard`) and merged back (`guion merge`) is one run of
//! the whole night: every CSV and the JSONL byte for byte (runs.csv, which is all timing and has a
//! row per shard's run, compared by its counts), and the report but for its cost lines; merging
//! again or a shard twice changes nothing; shards of another night, script, models, manifest or
//! count are refused with the reason; `--shard auto/COUNT` reads Kubernetes' and Slurm's
//! variables; a shard killed midway and rerun still merges to the same night, on a text night and
//! on an audio night. cluster.rs runs the same text night as a Slurm array and as the Kubernetes Jobs' command
//! lines: one job, a Slurm array and shards by hand give the same night.

use crate::util::{self, require};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub(crate) const ACME: &str = "examples/scripts/acme-seguros.toml";
pub(crate) const NIGHT: &str = "2026-11-22";
/// Every file `guion batch` writes but runs.csv: equal byte for byte between a merge and one run.
pub(crate) const FILES: [&str; 6] = [
    "calls.csv",
    "steps.csv",
    "utterances.jsonl",
    "agents.csv",
    "vendors.csv",
    "sourcing.csv",
];
/// The scheduler variables `--shard auto/COUNT` reads, cleared unless a test sets them.
pub(crate) const SCHEDULER: [&str; 3] = [
    "JOB_COMPLETION_INDEX",
    "SLURM_ARRAY_TASK_ID",
    "SLURM_ARRAY_TASK_MIN",
];

pub(crate) fn guion() -> Command {
    let mut command = util::guion();
    for var in SCHEDULER {
        command.env_remove(var);
    }
    command
}

fn batch_command(manifest: &Path, out: &Path, extra: &[&str]) -> Command {
    let mut command = guion();
    command.args([
        "batch",
        manifest.to_str().unwrap(),
        "--script",
        ACME,
        "--out",
        out.to_str().unwrap(),
        "--night",
        NIGHT,
    ]);
    command.args(extra);
    command
}

pub(crate) fn batch(manifest: &Path, out: &Path, extra: &[&str]) -> Output {
    batch_command(manifest, out, extra).output().unwrap()
}

fn merge(out: &Path, shards: &[&Path]) -> Output {
    let mut command = guion();
    command.args(["merge", "--out", out.to_str().unwrap()]);
    command.args(shards.iter().map(|s| s.to_str().unwrap()));
    command.output().unwrap()
}

pub(crate) fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub(crate) fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file)).unwrap_or_else(|e| panic!("{}: {e}", file))
}

pub(crate) fn assert_same_night(whole: &Path, merged: &Path, when: &str) {
    for file in FILES {
        assert!(
            read(whole, file) == read(merged, file),
            "{file} of the merged shards differs from one run of the night ({when})"
        );
    }
}

/// runs.csv as (shard, counts): its timing columns (started_at, finished_at, wall_s, cpu_s, the
/// rates, `<stage>_s`…) differ from run to run by nature.
pub(crate) fn runs(dir: &Path) -> Vec<(String, [u64; 5])> {
    let mut csv = csv::Reader::from_path(dir.join("runs.csv")).unwrap();
    let header = csv.headers().unwrap().clone();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("runs.csv has no {name}"))
    };
    csv.records()
        .map(Result::unwrap)
        .map(|r| {
            let n = |name: &str| r[col(name)].parse::<u64>().unwrap();
            (
                r[col("shard")].to_string(),
                [
                    n("scored"),
                    n("wrong_language"),
                    n("failed"),
                    n("reused"),
                    n("recordings"),
                ],
            )
        })
        .collect()
}

/// The manifest's bad rows a batch reported (`guion: FILE:LINE: why`).
fn bad_rows(o: &Output) -> BTreeSet<String> {
    stderr(o)
        .lines()
        .filter(|l| l.starts_with("guion: ") && l.contains("manifest.csv:"))
        .map(String::from)
        .collect()
}

/// The demo night's 36 dialogues, a call whose file is missing (failed), and two bad rows (one
/// with a call id, one without).
pub(crate) fn night(dir: &Path) -> PathBuf {
    let extra = format!(
        "gone-1,{}/missing.txt,x,CallNova,manila,outsourced,en,,\n\
         bad-1,nowhere.txt,,CallNova,manila,outsourced,en,,\n\
         ,nowhere.txt,mnl-joy,CallNova,manila,outsourced,en,,\n",
        dir.display()
    );
    util::text_night(dir, 36, &extra)
}

#[test]
fn three_shards_merged_are_one_run_of_the_night_and_merging_again_changes_nothing() {
    let dir = util::tempdir();
    let manifest = night(dir.path());
    let whole = dir.path().join("whole");
    let one = batch(&manifest, &whole, &["--no-meaning", "--quiet"]);
    assert_eq!(one.status.code(), Some(1), "{}", stderr(&one));

    let shards: Vec<PathBuf> = (0..3).map(|i| dir.path().join(format!("s{i}"))).collect();
    let mut reported = Vec::new();
    for (i, out) in shards.iter().enumerate() {
        let o = batch(
            &manifest,
            out,
            &["--no-meaning", "--quiet", "--shard", &format!("{i}/3")],
        );
        assert!(matches!(o.status.code(), Some(0 | 1)), "{}", stderr(&o));
        reported.push(bad_rows(&o));
    }
    // Each bad row is reported by exactly one shard.
    let all: Vec<&String> = reported.iter().flatten().collect();
    let unique: BTreeSet<&String> = all.iter().copied().collect();
    assert_eq!(all.len(), unique.len(), "a bad row in two shards: {all:?}");
    assert_eq!(
        unique.into_iter().cloned().collect::<BTreeSet<_>>(),
        bad_rows(&one)
    );
    assert_eq!(bad_rows(&one).len(), 2);

    let merged = dir.path().join("merged");
    let refs: Vec<&Path> = shards.iter().map(PathBuf::as_path).collect();
    let m = merge(&merged, &refs);
    assert!(m.status.success(), "{}", stderr(&m));
    assert_same_night(&whole, &merged, "first merge");
    // The shards' runs are kept, each a row of its own, and together count the night once.
    let merged_runs = runs(&merged);
    let shards_of: Vec<&str> = merged_runs.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(
        shards_of.iter().copied().collect::<BTreeSet<_>>(),
        BTreeSet::from(["0/3", "1/3", "2/3"])
    );
    let sum = merged_runs.iter().fold([0; 5], |mut acc, (_, c)| {
        acc.iter_mut().zip(c).for_each(|(a, b)| *a += b);
        acc
    });
    assert_eq!(runs(&whole), [(String::new(), sum)]);
    assert_eq!(sum[0] + sum[2], 37, "36 scored and one failed");

    // Again, and with a shard twice: nothing changes, runs.csv included.
    let runs_csv = read(&merged, "runs.csv");
    let again = merge(&merged, &[&shards[2], &shards[0], &shards[1], &shards[0]]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert_same_night(&whole, &merged, "merged again, a shard twice");
    assert_eq!(read(&merged, "runs.csv"), runs_csv);

    // An analyst's review in a shard merges too, once.
    let calls = read(&shards[1], "calls.csv");
    let call = calls.lines().nth(1).unwrap().split(',').nth(1).unwrap();
    let review = guion()
        .args([
            "review",
            call,
            "--from",
            shards[1].to_str().unwrap(),
            "--step",
            "greeting",
            "--status",
            "missed",
            "--by",
            "ana",
        ])
        .output()
        .unwrap();
    assert!(review.status.success(), "{}", stderr(&review));
    for _ in 0..2 {
        let m = merge(&merged, &refs);
        assert!(m.status.success(), "{}", stderr(&m));
    }
    let reviewed = |dir: &Path| -> Vec<String> {
        read(dir, "steps.csv")
            .lines()
            .filter(|l| l.contains(",ana,"))
            .map(String::from)
            .collect()
    };
    assert_eq!(reviewed(&merged).len(), 1, "the review once");
    assert_eq!(reviewed(&merged), reviewed(&shards[1]));

    // The report of the merge is that of one run but for what each run cost (a line per run) and
    // the directory its commands name. The review is taken back first, so the two nights match.
    let whole_review = guion()
        .args([
            "review",
            call,
            "--from",
            whole.to_str().unwrap(),
            "--step",
            "greeting",
            "--status",
            "missed",
            "--by",
            "ana",
        ])
        .output()
        .unwrap();
    assert!(whole_review.status.success(), "{}", stderr(&whole_review));
    let page = |dir: &Path| -> Vec<String> {
        let out = guion()
            .args(["report", dir.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let escaped = dir.display().to_string().replace('/', "&#x2f;");
        read(dir, "report.html")
            .lines()
            .filter(|l| !l.contains("<strong>Run "))
            .map(|l| l.replace(&escaped, "DIR"))
            .collect()
    };
    assert_eq!(page(&whole), page(&merged), "the merged night's report");
}

#[test]
fn shards_of_another_night_script_or_count_are_refused_with_the_reason() {
    let dir = util::tempdir();
    let manifest = util::text_night(dir.path(), 12, "");
    let shard = |name: &str, extra: &[&str]| {
        let out = dir.path().join(name);
        let mut args = vec!["--no-meaning", "--quiet"];
        args.extend_from_slice(extra);
        let o = batch(&manifest, &out, &args);
        assert!(o.status.success(), "{name}: {}", stderr(&o));
        out
    };
    let s0 = shard("s0", &["--shard", "0/3"]);
    let s1 = shard("s1", &["--shard", "1/3"]);
    let merged = dir.path().join("merged");

    // Another night.
    let other_night = dir.path().join("other-night");
    let o = guion()
        .args([
            "batch",
            manifest.to_str().unwrap(),
            "--script",
            ACME,
            "--out",
            other_night.to_str().unwrap(),
            "--night",
            "2026-11-23",
            "--no-meaning",
            "--quiet",
            "--shard",
            "2/3",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let m = merge(&merged, &[&s0, &s1, &other_night]);
    assert_eq!(m.status.code(), Some(2), "{}", stderr(&m));
    assert!(
        stderr(&m).contains("shards of another night"),
        "{}",
        stderr(&m)
    );
    assert!(
        !merged.join("guion.sqlite").exists(),
        "nothing is written when refused"
    );

    // Another script version.
    let script = dir.path().join("acme-v2.toml");
    std::fs::write(
        &script,
        read(&util::root(), ACME).replace("version = \"2026-11\"", "version = \"2026-12\""),
    )
    .unwrap();
    let other_script = dir.path().join("other-script");
    let o = guion()
        .args([
            "batch",
            manifest.to_str().unwrap(),
            "--script",
            script.to_str().unwrap(),
            "--out",
            other_script.to_str().unwrap(),
            "--night",
            NIGHT,
            "--no-meaning",
            "--quiet",
            "--shard",
            "2/3",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let m = merge(&merged, &[&s0, &s1, &other_script]);
    assert_eq!(m.status.code(), Some(2));
    let why = stderr(&m);
    assert!(
        why.contains("another script set") && why.contains("acme-seguros@2026-12"),
        "{why}"
    );

    // Other options that decide a result (Whisper's beam, for the recordings a night may hold).
    let other_models = shard("other-models", &["--shard", "2/3", "--beam", "1"]);
    let m = merge(&merged, &[&s0, &s1, &other_models]);
    assert_eq!(m.status.code(), Some(2));
    let why = stderr(&m);
    assert!(
        why.contains("model set") && why.contains("beam=1 vs"),
        "{why}"
    );

    // Another manifest (a row added after the other shards ran).
    let later = dir.path().join("later");
    std::fs::create_dir(&later).unwrap();
    let longer = util::text_night(&later, 13, "");
    let other_manifest = dir.path().join("other-manifest");
    let o = batch(
        &longer,
        &other_manifest,
        &["--no-meaning", "--quiet", "--shard", "2/3"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let m = merge(&merged, &[&s0, &s1, &other_manifest]);
    assert_eq!(m.status.code(), Some(2));
    assert!(stderr(&m).contains("another manifest"), "{}", stderr(&m));

    // Another count.
    let other_count = shard("other-count", &["--shard", "1/2"]);
    let m = merge(&merged, &[&s0, &other_count]);
    assert_eq!(m.status.code(), Some(2));
    assert!(
        stderr(&m).contains("different shard COUNT"),
        "{}",
        stderr(&m)
    );

    // A store of the whole night is no shard; nor does a shard's store take the whole night.
    let whole = shard("whole", &[]);
    let m = merge(&merged, &[&s0, &whole]);
    assert_eq!(m.status.code(), Some(2));
    assert!(stderr(&m).contains("holds no shard"), "{}", stderr(&m));
    let o = batch(&manifest, &s0, &["--no-meaning", "--quiet"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not the whole night"), "{}", stderr(&o));
    let o = batch(
        &manifest,
        &s0,
        &["--no-meaning", "--quiet", "--shard", "1/3"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("its own --out"), "{}", stderr(&o));

    // Two shards of three merge, and say the night is not whole yet.
    let m = merge(&merged, &[&s0, &s1]);
    assert_eq!(m.status.code(), Some(1), "{}", stderr(&m));
    assert!(stderr(&m).contains("2/3 not merged yet"), "{}", stderr(&m));
}

#[test]
fn shard_auto_reads_kubernetes_or_slurm_and_fails_clearly_without_them() {
    let dir = util::tempdir();
    let manifest = util::text_night(dir.path(), 12, "");
    let run = |name: &str, env: &[(&str, &str)], shard: &str| {
        let out = dir.path().join(name);
        let mut command = batch_command(&manifest, &out, &["--no-meaning", "--shard", shard]);
        command.envs(env.iter().copied());
        (command.output().unwrap(), out)
    };
    let (fixed, fixed_dir) = run("fixed", &[], "2/3");
    assert!(fixed.status.success(), "{}", stderr(&fixed));

    let (k8s, k8s_dir) = run("k8s", &[("JOB_COMPLETION_INDEX", "2")], "auto/3");
    assert!(k8s.status.success(), "{}", stderr(&k8s));
    assert!(
        stderr(&k8s).contains("shard 2/3 (from JOB_COMPLETION_INDEX=2)"),
        "{}",
        stderr(&k8s)
    );
    assert_eq!(read(&k8s_dir, "calls.csv"), read(&fixed_dir, "calls.csv"));

    // `sbatch --array=2` (the third shard run again alone): task 2 is shard 2, whatever the
    // array's first id.
    let (slurm, slurm_dir) = run(
        "slurm",
        &[("SLURM_ARRAY_TASK_ID", "2"), ("SLURM_ARRAY_TASK_MIN", "2")],
        "auto/3",
    );
    assert!(slurm.status.success(), "{}", stderr(&slurm));
    assert!(
        stderr(&slurm).contains("shard 2/3 (from SLURM_ARRAY_TASK_ID=2)"),
        "{}",
        stderr(&slurm)
    );
    assert_eq!(read(&slurm_dir, "calls.csv"), read(&fixed_dir, "calls.csv"));

    for (env, says) in [
        (&[][..], "neither JOB_COMPLETION_INDEX"),
        (&[("JOB_COMPLETION_INDEX", "two")][..], "not a number"),
        (&[("SLURM_ARRAY_TASK_ID", "3")][..], "out of range"),
    ] {
        let (o, out) = run("none", env, "auto/3");
        assert_eq!(o.status.code(), Some(2), "{env:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(says), "{env:?}: {}", stderr(&o));
        assert!(!out.join("guion.sqlite").exists());
    }
    let (o, _) = run("range", &[], "3/3");
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("out of range"), "{}", stderr(&o));
}

#[test]
fn a_shard_killed_midway_and_run_again_still_merges_to_one_run() {
    require!(util::encoder());
    let dir = util::tempdir();
    let manifest = util::text_night(dir.path(), 15, "");
    let whole = dir.path().join("whole");
    let o = batch(&manifest, &whole, &["--jobs", "1", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));

    let shards: Vec<PathBuf> = (0..3).map(|i| dir.path().join(format!("s{i}"))).collect();
    for (i, out) in shards.iter().enumerate().skip(1) {
        let o = batch(
            &manifest,
            out,
            &["--jobs", "1", "--quiet", "--shard", &format!("{i}/3")],
        );
        assert!(o.status.success(), "{}", stderr(&o));
    }
    // Shard 0: killed (SIGKILL) as soon as two of its calls are committed.
    let mut child = batch_command(&manifest, &shards[0], &["--jobs", "1", "--shard", "0/3"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let seen = util::kill_after_scored(&mut child, 2);
    assert_eq!(
        seen, 2,
        "shard 0 should have scored some calls before the kill"
    );

    // Merged as it is, the night is not whole, and merge says so.
    let merged = dir.path().join("merged");
    let refs: Vec<&Path> = shards.iter().map(PathBuf::as_path).collect();
    let m = merge(&merged, &refs);
    assert_eq!(m.status.code(), Some(1), "{}", stderr(&m));
    assert!(stderr(&m).contains("did not finish"), "{}", stderr(&m));

    let again = batch(
        &manifest,
        &shards[0],
        &["--jobs", "1", "--quiet", "--shard", "0/3"],
    );
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(
        stderr(&again).contains("already in the store"),
        "{}",
        stderr(&again)
    );
    let m = merge(&merged, &refs);
    assert!(m.status.success(), "{}", stderr(&m));
    assert_same_night(&whole, &merged, "a shard killed and run again");
    // The killed run stays a row that measured nothing; the rerun counts only what it analysed
    // and reuses what the killed run committed: every call counted once.
    let merged_runs = runs(&merged);
    assert_eq!(merged_runs.len(), 4, "{merged_runs:?}");
    let counted: u64 = merged_runs.iter().map(|(_, c)| c[0] + c[2] + c[3]).sum();
    assert_eq!(counted, 15, "{merged_runs:?}");
}

#[test]
fn an_audio_night_in_three_shards_merged_is_one_run_of_it() {
    require!(util::whisper(), util::encoder(), util::prompts("en"));
    let dir = util::tempdir();
    let extra = format!(
        "rec-1,{},mad-lucia,Acme in-house,madrid,insourced,en,,mono\n\
         rec-2,{},mnl-joy,CallNova,manila,outsourced,en,,mono\n\
         rec-3,{},bog-andres,Contacta BPO,bogota,outsourced,en,,mono\n",
        util::prompt_path("en", "vm-goodbye").display(),
        util::prompt_path("en", "queue-periodic-announce").display(),
        util::prompt_path("en", "vm-intro").display(),
    );
    let manifest = util::text_night(dir.path(), 3, &extra);
    let whole = dir.path().join("whole");
    let o = batch(&manifest, &whole, &["--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    // The shard with the most calls is killed (SIGKILL) once its first call is stored.
    let ids: Vec<String> = std::fs::read_to_string(&manifest)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().to_string())
        .collect();
    let size = |i: u32| {
        ids.iter()
            .filter(|id| guion_core::shard::Shard::of(id, 3) == i)
            .count()
    };
    let killed = (0..3).max_by_key(|&i| size(i)).unwrap();
    assert!(size(killed) >= 2, "six calls in three shards");
    let shards: Vec<PathBuf> = (0..3).map(|i| dir.path().join(format!("s{i}"))).collect();
    for (i, out) in shards.iter().enumerate() {
        let shard = format!("{i}/3");
        if i as u32 == killed {
            let mut child = batch_command(&manifest, out, &["--jobs", "1", "--shard", &shard])
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            assert_eq!(util::kill_after_scored(&mut child, 1), 1);
            continue;
        }
        let o = batch(&manifest, out, &["--quiet", "--shard", &shard]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let merged = dir.path().join("merged");
    let refs: Vec<&Path> = shards.iter().map(PathBuf::as_path).collect();
    let m = merge(&merged, &refs);
    assert_eq!(m.status.code(), Some(1), "{}", stderr(&m));
    assert!(stderr(&m).contains("did not finish"), "{}", stderr(&m));
    // Run again, the killed shard finishes what it had not stored, and the night is one run's.
    let again = batch(
        &manifest,
        &shards[killed as usize],
        &["--quiet", "--shard", &format!("{killed}/3")],
    );
    assert!(again.status.success(), "{}", stderr(&again));
    let m = merge(&merged, &refs);
    assert!(m.status.success(), "{}", stderr(&m));
    assert_same_night(
        &whole,
        &merged,
        "an audio night with a shard killed and run again",
    );
    assert!(read(&merged, "calls.csv").contains("rec-3"));
    // Runs that finished heard no recording twice; the killed run's row keeps no counts (it never
    // finished), so the one call it stored may be missing from them.
    let recordings: u64 = runs(&merged).iter().map(|(_, c)| c[4]).sum();
    assert!(
        (2..=3).contains(&recordings),
        "{recordings} recordings heard"
    );
}

#[test]
fn a_night_smaller_than_its_shard_count_leaves_shards_empty_and_still_merges() {
    let dir = util::tempdir();
    let manifest = util::text_night(dir.path(), 2, "");
    let whole = dir.path().join("whole");
    let o = batch(&manifest, &whole, &["--no-meaning", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let shards: Vec<PathBuf> = (0..8).map(|i| dir.path().join(format!("s{i}"))).collect();
    let mut empty = 0;
    for (i, out) in shards.iter().enumerate() {
        let o = batch(
            &manifest,
            out,
            &["--no-meaning", "--quiet", "--shard", &format!("{i}/8")],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        empty += usize::from(stderr(&o).contains("holds no call"));
    }
    assert!(empty >= 6, "two calls fill at most two of eight shards");
    let merged = dir.path().join("merged");
    let refs: Vec<&Path> = shards.iter().map(PathBuf::as_path).collect();
    let m = merge(&merged, &refs);
    assert!(m.status.success(), "{}", stderr(&m));
    assert_same_night(&whole, &merged, "eight shards of two calls");
}
