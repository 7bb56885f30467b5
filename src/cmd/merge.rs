//! `guion merge`: the shards of a night (`guion batch --shard`) made one store and one set of files.

use crate::flags;
use anyhow::{Context, Result, bail};
use guion_night::report::csv as csv_out;
use guion_night::store::{ShardRecord, Store};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Merge the stores of a night's shards into one, and write every result file from it.
///
/// Each SHARD_DIR is the --out of a `guion batch … --shard INDEX/COUNT` (holding guion.sqlite).
/// Their calls and results, scripts, reviews and runs go into DIR/guion.sqlite (created if
/// missing), and DIR gets calls.csv, steps.csv, utterances.jsonl, agents.csv, vendors.csv,
/// sourcing.csv and runs.csv exactly as `guion batch` writes them (through the same code): the
/// shards of a night merged give the same files, byte for byte, as one run of the whole night,
/// but for runs.csv, which lists each shard's run(s) as a row of its own (they are how the
/// night's cost is measured) and is all timing (no column of the other files is: duration_s,
/// start and end are times within a call). `guion report DIR` then reports the night: the page of
/// one run but for the cost section (a line per shard's run) and the directory its commands name.
/// The files are written in --csv-locale (give the shards' own).
///
/// Merging is idempotent: merging again, a shard given twice, or a shard rerun since changes
/// nothing that is the same, and takes in what changed (a killed shard rerun to its end).
/// Refused, with the reason, before anything is written: a directory that holds no shard; shards
/// of different nights (pick one with --night); shards cut into a different COUNT; shards scored
/// with other scripts or versions, other models or options, or another analysis version; shards
/// of another manifest. DIR's own earlier merges of the night are checked the same way.
///
/// Exit status: 0 the night is whole (every shard INDEX of COUNT merged, each one's last run
/// finished); 1 merged, but a shard is missing or its last run did not finish (killed, or still
/// running): run it, then merge again; 2 nothing was merged.
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The shards' output directories (each holding guion.sqlite).
    #[arg(value_name = "SHARD_DIR", required = true)]
    shards: Vec<PathBuf>,

    #[command(flatten)]
    out: flags::OutFlag,

    #[command(flatten)]
    night: flags::NightFlag,

    #[command(flatten)]
    csv: flags::CsvLocaleFlag,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let out = args
        .out
        .required("the directory of the merged store and result files")?
        .to_path_buf();
    let inputs = read_shards(&args.shards, args.night.night.as_deref(), &out)?;
    let nights: BTreeSet<&str> = inputs[0].nights();
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut store = Store::open(&out)?;
    let earlier: Vec<ShardRecord> = store
        .shards()?
        .into_iter()
        .filter(|s| nights.contains(s.night.as_str()))
        .collect();
    check(&inputs, &earlier, &out)?;

    let mut copied = guion_night::store::Merged::default();
    for input in &inputs {
        for night in &nights {
            let m = store.merge_from(&input.dir, Some(night))?;
            copied.calls += m.calls;
            copied.reviews += m.reviews;
            copied.runs += m.runs;
        }
    }
    let latest = nights.last().copied().unwrap_or_default();
    csv_out::write_store(&out, &store, latest, args.csv.csv_locale)
        .with_context(|| format!("cannot write the results into {}", out.display()))?;

    let mut whole = true;
    let merged = store.shards()?;
    for night in &nights {
        let held: Vec<&ShardRecord> = merged.iter().filter(|s| s.night == *night).collect();
        let count = held.first().map_or(0, |s| s.shard.count);
        let missing: Vec<String> = (0..count)
            .filter(|i| !held.iter().any(|s| s.shard.index == *i))
            .map(|i| format!("{i}/{count}"))
            .collect();
        if !missing.is_empty() {
            whole = false;
            eprintln!(
                "merge: night {night}: shard(s) {} not merged yet; run them, then merge again",
                missing.join(", ")
            );
        }
    }
    for input in &inputs {
        for (night, shard) in &input.unfinished {
            whole = false;
            eprintln!(
                "merge: {}: shard {shard} of night {night}: its last run did not finish (killed, \
                 or still running); run it again to its end, then merge again",
                input.dir.display()
            );
        }
    }
    eprintln!(
        "merge: {} shard dir(s) of night {} into {}: {} call(s), {} run(s), {} review(s) copied; \
         results in {} (calls.csv, steps.csv, utterances.jsonl, agents.csv, vendors.csv, \
         sourcing.csv, runs.csv); `guion report {}` for the HTML report",
        inputs.len(),
        nights.iter().copied().collect::<Vec<_>>().join(", "),
        out.display(),
        copied.calls,
        copied.runs,
        copied.reviews,
        out.display(),
        out.display()
    );
    Ok(if whole {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// One shard's store, as merge reads it before writing anything.
struct Input {
    dir: PathBuf,
    /// The shard records of the nights to merge.
    shards: Vec<ShardRecord>,
    /// `(night, shard)` whose last run of the night never finished.
    unfinished: Vec<(String, String)>,
}

impl Input {
    fn nights(&self) -> BTreeSet<&str> {
        self.shards.iter().map(|s| s.night.as_str()).collect()
    }
}

fn read_shards(dirs: &[PathBuf], night: Option<&str>, out: &Path) -> Result<Vec<Input>> {
    let same_place = |a: &Path, b: &Path| {
        a.canonicalize()
            .ok()
            .zip(b.canonicalize().ok())
            .is_some_and(|(a, b)| a == b)
    };
    let mut inputs = Vec::with_capacity(dirs.len());
    for dir in dirs {
        if same_place(dir, out) {
            bail!(
                "{}: a shard cannot be merged into itself: --out needs a directory of its own",
                dir.display()
            );
        }
        let store = Store::open_existing(dir)?;
        let shards: Vec<ShardRecord> = store
            .shards()?
            .into_iter()
            .filter(|s| night.is_none_or(|n| s.night == n))
            .collect();
        if shards.is_empty() {
            match night {
                Some(n) => bail!(
                    "{}: holds no shard of night {n}: not a shard of this night",
                    dir.display()
                ),
                None => bail!(
                    "{}: holds no shard of a night (its calls were not scored with `guion batch \
                     … --shard INDEX/COUNT`)",
                    dir.display()
                ),
            }
        }
        let mut unfinished = Vec::new();
        for s in &shards {
            let runs = store.runs(Some(&s.night))?;
            if runs.last().is_some_and(|r| r.finished_at.is_none()) {
                unfinished.push((s.night.clone(), s.shard.to_string()));
            }
        }
        inputs.push(Input {
            dir: dir.clone(),
            shards,
            unfinished,
        });
    }
    let first = &inputs[0];
    for other in &inputs[1..] {
        if other.nights() != first.nights() {
            bail!(
                "{} holds night(s) {} and {} night(s) {}: shards of another night (pick one with \
                 --night)",
                other.dir.display(),
                list(&other.nights()),
                first.dir.display(),
                list(&first.nights())
            );
        }
    }
    Ok(inputs)
}

fn list(nights: &BTreeSet<&str>) -> String {
    nights.iter().copied().collect::<Vec<_>>().join(", ")
}

/// Every shard of a night (those given and those `out` already holds) must be cut alike and scored
/// alike, or their merge would not be one night.
fn check(inputs: &[Input], earlier: &[ShardRecord], out: &Path) -> Result<()> {
    let mut by_night: BTreeMap<&str, Vec<(String, &ShardRecord)>> = BTreeMap::new();
    for s in earlier {
        by_night
            .entry(&s.night)
            .or_default()
            .push((format!("{} (merged before)", out.display()), s));
    }
    for input in inputs {
        for s in &input.shards {
            by_night
                .entry(&s.night)
                .or_default()
                .push((input.dir.display().to_string(), s));
        }
    }
    for (night, shards) in by_night {
        let (first_dir, first) = &shards[0];
        for (dir, s) in &shards[1..] {
            if s.shard.count != first.shard.count {
                bail!(
                    "{dir}: shard {} of night {night} is cut into {} shards, {first_dir} (shard {}) \
                     into {}: a different shard COUNT",
                    s.shard,
                    s.shard.count,
                    first.shard,
                    first.shard.count
                );
            }
            if s.setup != first.setup {
                bail!(
                    "{dir}: shard {} of night {night} was scored with another script set, model \
                     set or analysis version than {first_dir}: {}",
                    s.shard,
                    difference(&s.setup, &first.setup)
                );
            }
            if s.manifest != first.manifest {
                bail!(
                    "{dir}: shard {} of night {night} was cut from another manifest than \
                     {first_dir} (sha256 {} vs {})",
                    s.shard,
                    &s.manifest[..12.min(s.manifest.len())],
                    &first.manifest[..12.min(first.manifest.len())]
                );
            }
        }
    }
    Ok(())
}

/// What two setup lines (`analysis=6 script=acme@2 …`) differ in, as `ours` vs `theirs`.
fn difference(ours: &str, theirs: &str) -> String {
    let a: Vec<&str> = ours
        .split(' ')
        .filter(|t| !theirs.split(' ').any(|u| u == *t))
        .collect();
    let b: Vec<&str> = theirs
        .split(' ')
        .filter(|t| !ours.split(' ').any(|u| u == *t))
        .collect();
    format!("{} vs {}", a.join(" "), b.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_setup_difference_names_only_what_differs() {
        assert_eq!(
            difference(
                "analysis=6 script=acme@2 redact=true",
                "analysis=6 script=acme@1 redact=true"
            ),
            "script=acme@2 vs script=acme@1"
        );
    }
}
