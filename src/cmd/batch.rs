//! `guion batch`: the night's calls in, per-call, per-agent and per-vendor results out.

use crate::flags;
use anyhow::{Context, Result, bail};
use guion_core::aggregate;
use guion_core::call::Outcome;
use guion_core::cost::{Run, RunKind};
use guion_core::route::Routes;
use guion_core::script::Script;
use guion_core::shard::ShardSpec;
use guion_night::batch::manifest::{self, CallRow};
use guion_night::batch::{self, BatchOptions, NightScripts, NightShard, NightSummary, Progress};
use guion_night::pipeline::AnalyserOptions;
use guion_night::report::csv::{self as csv_out, CsvLocale};
use guion_night::store::Store;
use guion_speech::asr::AsrOptions;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::Instant;

/// Score a night of calls against the brand's scripts, in parallel, resumably.
///
/// MANIFEST is a CSV with the columns call_id, path, agent_id, vendor, site, sourcing
/// (insourced|outsourced) and optionally language (es, en; default: detected), started_at
/// (2026-11-22T09:30:00), channels (agent-left|agent-right|mono) and script (a script id); path is
/// a recording or a transcript, relative to the manifest. Or MANIFEST is a directory of calls with a
/// metadata.csv beside them (the same columns; path may be left out when the file's name is the call
/// id). Every bad row is reported with its line and the good rows still run.
///
/// A night may mix call types, each with its script: give --script more than once, or --scripts DIR
/// (every *.toml in it), or both; ids must differ. Each call is scored against the script its row's
/// script column names; a row without one takes the first --routes rule that matches it, else the
/// night's only script. A row whose script is unknown, or that no rule routes when there are
/// several scripts, is stored as failed with the manifest's file:line and why; the night goes on.
/// --routes FILE is TOML, tried in order, first match wins, values compared without case:
///   [[route]]
///   queue = "claims"                  # any manifest column (queue, campaign, language, vendor…)
///   script = "acme-siniestros"
///   [[route]]
///   campaign = ["renewals", "winback"] # any of these; every condition of a rule must hold
///   script = "acme-ventas"
/// A rule naming a script the night lacks, or a column no row fills, stops the night before it
/// starts (file:line and the rule's number). Each worker compiles every script once.
///
/// Each of --jobs workers loads Whisper (on its first recording) and the encoder once and takes calls
/// one at a time; by default jobs × threads-per-job = the machine's cores. Every result goes into
/// DIR/guion.sqlite as soon as it is made, keyed by the call's content (sha256), the models, its
/// script's id and version and the options: a second run skips what is done, and a run killed at
/// any point then run again ends exactly as an uninterrupted one. Failed calls are recorded with
/// their reason (and tried again on the next run); they never stop the night. Nights accumulate in
/// the store.
///
/// After the run, DIR gets (regenerated from the store):
///   calls.csv         one row per call of every night: night, call_id, agent_id, vendor, site,
///                     sourcing, language, started_at, script, script_version (what it was scored
///                     against; empty when it failed), status (scored|failed|wrong_language), reason,
///                     duration_s, adherence, steps_done, steps_required, forbidden, tone_<label>
///                     shares, values_shown, models, reviews
///   steps.csv         call × step: night, call_id, script, step, status, similarity, match, start,
///                     end, evidence, guion_status, reviewed_by, reviewed_at, review_why
///   utterances.jsonl  {night, call_id, speaker, start, end, text, tone: {label, p}, value: {id, score}}
///   agents.csv        this night per agent; vendors.csv per vendor; sourcing.csv in-house vs
///                     outsourced and their adherence gap. Columns: name, vendor, site, sourcing, calls,
///                     failed, wrong_language, then value, _low and _high (95 % interval) of adherence,
///                     forbidden_per_100, done_<step> (completion rate), tone_<label> (mean share),
///                     value_<id> (share of calls where the value showed). Wilson intervals for rates,
///                     bootstrap over calls (2,000 resamples, seeded) for means. With several
///                     scripts in the night, a step means something only within its script: its
///                     columns are done_<script>/<step>, over the calls scored against that script;
///                     adherence, forbidden phrases, tone and values are over all of the group's
///                     calls, each measured against its own script.
///   runs.csv          one row per run of every night (and of `guion bench`), with its shard: the machine, workers ×
///                     threads, the calls this run analysed (reused results are not counted), the
///                     recorded audio it heard, wall and CPU time, audio_hours_per_core_hour,
///                     calls_per_hour and each stage's seconds and rates; the summary's last line says
///                     the same for this run.
/// `guion report DIR` turns the store into one HTML page; `guion call CALL_ID --from DIR` opens a call.
/// With --shard, DIR holds one shard of the night; `guion merge` makes the shards one night.
///
/// PII (card numbers, DNI/NIE, phone numbers, e-mail addresses) is redacted from every text stored or
/// written unless --no-redact. A call whose speech is clearly in a language outside the script's
/// (or --language's) is stored as wrong_language with the language heard: not scored, counted apart.
/// Exit status: 0 every call scored; 1 some calls failed, were in another language, or some manifest
/// rows were bad; 2 nothing could be done.
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// A manifest CSV, or a directory of calls with metadata.csv.
    #[arg(value_name = "MANIFEST")]
    manifest: PathBuf,

    #[command(flatten)]
    script: flags::ScriptFlag,

    /// A directory of scripts: every *.toml in it is one of the night's scripts (with --script, too).
    #[arg(long, value_name = "DIR")]
    scripts: Option<PathBuf>,

    /// Routing rules (TOML) that pick a call's script from its manifest columns, for rows with no
    /// script column (see above).
    #[arg(long, value_name = "FILE")]
    routes: Option<PathBuf>,

    #[command(flatten)]
    out: flags::OutFlag,

    #[command(flatten)]
    night: flags::NightFlag,

    #[command(flatten)]
    jobs: flags::JobsFlags,

    #[command(flatten)]
    whisper: flags::WhisperFlags,

    #[command(flatten)]
    meaning: flags::MeaningFlags,

    #[command(flatten)]
    redact: flags::RedactFlag,

    #[command(flatten)]
    csv: flags::CsvLocaleFlag,

    #[command(flatten)]
    quiet: flags::QuietFlag,

    /// Score only shard INDEX of COUNT (0-based) of the night, for a night cut over several
    /// machines: a call belongs to the shard its call id hashes to (sha256), so every machine cuts
    /// alike and adding rows moves no other call; a bad manifest row is reported by the one shard
    /// its call id (else its file:line) falls in. auto/COUNT takes INDEX from JOB_COMPLETION_INDEX
    /// (a Kubernetes Indexed Job) or else SLURM_ARRAY_TASK_ID itself (a Slurm array numbered from
    /// 0, --array=0-(COUNT-1), so a task run again alone keeps its shard) and says which.
    /// Each shard needs its own --out; `guion merge` makes one night of them.
    #[arg(long, value_name = "INDEX/COUNT", value_parser = ShardSpec::parse)]
    shard: Option<ShardSpec>,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let scripts = read_scripts(&args.script.script, args.scripts.as_deref())?;
    let out = args
        .out
        .required("the directory for the store and the result files")?
        .to_path_buf();
    let routes = match &args.routes {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            Some(Routes::parse(&text, &path.display().to_string())?)
        }
        None => None,
    };
    let used = routes.as_ref().map(Routes::columns).unwrap_or_default();
    let (rows, bad_rows) = if args.manifest.is_dir() {
        manifest::read_directory(&args.manifest, &used)
    } else {
        manifest::read_manifest(&args.manifest, &used)
    }
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let shard = match args.shard {
        None => None,
        Some(spec) => {
            let found = spec
                .resolve(|name| std::env::var(name).ok())
                .map_err(anyhow::Error::msg)?;
            if !args.quiet.quiet || matches!(spec, ShardSpec::Auto { .. }) {
                eprintln!("batch: shard {} (from {})", found.shard, found.source);
            }
            let list = if args.manifest.is_dir() {
                args.manifest.join("metadata.csv")
            } else {
                args.manifest.clone()
            };
            let manifest = guion_models::sha256_file(&list)
                .with_context(|| format!("cannot read {}", list.display()))?;
            Some(NightShard {
                shard: found.shard,
                manifest,
            })
        }
    };
    let (rows, bad_rows) = match &shard {
        Some(s) => manifest::cut(rows, bad_rows, &s.shard),
        None => (rows, bad_rows),
    };
    for e in &bad_rows {
        eprintln!("guion: {e}");
    }
    if rows.is_empty() {
        match &shard {
            // A small night cut finely may leave a shard empty: still a shard merge can count on.
            Some(s) => eprintln!(
                "batch: shard {} of {} holds no call of the night",
                s.shard,
                args.manifest.display()
            ),
            None => bail!("{}: no call to score", args.manifest.display()),
        }
    }
    if let Some(r) = &routes {
        let ids: Vec<&str> = scripts.iter().map(|(_, s)| s.id.as_str()).collect();
        let filled: std::collections::BTreeSet<&str> = rows
            .iter()
            .flat_map(|r| r.cells.keys().map(String::as_str))
            .collect();
        r.check(&ids, &filled.into_iter().collect::<Vec<_>>())?;
    }
    let (jobs, threads) = args.jobs.workers(rows.len());
    let night = args.night.night.clone().unwrap_or_else(today);
    let options = BatchOptions {
        night,
        jobs,
        analyser: analyser_options(&args.whisper, &args.meaning, threads, args.redact.redact),
        reanalyse: false,
        shard,
    };
    let scored = score(&Night {
        rows: &rows,
        scripts: &scripts,
        routes,
        out: &out,
        options,
        kind: RunKind::Night,
        csv_locale: args.csv.csv_locale,
        quiet: args.quiet.quiet,
    })?;
    print_summary(&scored.summary, &scored.run, &out, bad_rows.len());
    Ok(
        if scored.summary.failed > 0 || scored.wrong_language > 0 || !bad_rows.is_empty() {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        },
    )
}

/// What the analysis of every call of a night uses, from the flags `guion batch` and `guion bench`
/// share.
pub(crate) fn analyser_options(
    whisper: &flags::WhisperFlags,
    meaning: &flags::MeaningFlags,
    threads: usize,
    redact: bool,
) -> AnalyserOptions {
    AnalyserOptions {
        asr_model: whisper.model.clone(),
        asr: AsrOptions {
            threads,
            beam_size: usize::from(whisper.beam),
            ..AsrOptions::default()
        },
        meaning: !meaning.no_meaning,
        classifier: meaning.classifier(),
        redact,
        script_prompt: !meaning.no_script_prompt,
        customer_beam: usize::from(meaning.customer_beam),
        judge: meaning.judge,
    }
}

/// The night's scripts, each with its text (which the store keeps), from --script FILE… and
/// --scripts DIR, in that order; their warnings are shown. Two files with one id would leave a
/// manifest's `script` column ambiguous: an error.
fn read_scripts(files: &[PathBuf], dir: Option<&Path>) -> Result<Vec<(String, Script)>> {
    let mut paths = files.to_vec();
    if let Some(dir) = dir {
        let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
            .with_context(|| format!("--scripts {}: cannot read the directory", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "toml"))
            .collect();
        if found.is_empty() {
            bail!("--scripts {}: no *.toml script in it", dir.display());
        }
        found.sort();
        paths.extend(found);
    }
    if paths.is_empty() {
        bail!("--script FILE (or --scripts DIR) is needed: the brand's script");
    }
    let mut scripts: Vec<(String, Script)> = Vec::with_capacity(paths.len());
    let mut from: Vec<&Path> = Vec::with_capacity(paths.len());
    for path in &paths {
        let (text, script, warnings) = guion_night::input::read_script(path)?;
        for w in &warnings {
            eprintln!("{w}");
        }
        if let Some(i) = scripts.iter().position(|(_, s)| s.id == script.id) {
            if from[i] == path.as_path() {
                continue;
            }
            bail!(
                "{} and {} are both script `{}`: a night's scripts need different ids",
                from[i].display(),
                path.display(),
                script.id
            );
        }
        scripts.push((text, script));
        from.push(path);
    }
    Ok(scripts)
}

/// A night to score, as `guion batch` and `guion bench` run it.
pub(crate) struct Night<'a> {
    pub rows: &'a [CallRow],
    /// Each script's text (which the store keeps) and the script.
    pub scripts: &'a [(String, Script)],
    pub routes: Option<Routes>,
    pub out: &'a Path,
    pub options: BatchOptions,
    pub kind: RunKind,
    pub csv_locale: CsvLocale,
    pub quiet: bool,
}

/// What a night came to.
pub(crate) struct Scored {
    pub summary: NightSummary,
    /// This run, as the store keeps it (with what it cost).
    pub run: Run,
    /// Calls of the night (this run's or reused) in a language the script does not cover.
    pub wrong_language: usize,
}

/// Scores the night into the store in `out`, records the run's cost, and writes every result file
/// (runs.csv too) from the store.
pub(crate) fn score(n: &Night) -> Result<Scored> {
    let out = n.out;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let store = Store::open(out)?;
    store.claim(&n.options.night, n.options.shard.as_ref().map(|s| &s.shard))?;
    for (text, script) in n.scripts {
        store.put_script(script, text)?;
    }
    let store = Mutex::new(store);
    let scripts = NightScripts {
        scripts: n.scripts.iter().map(|(_, s)| s.clone()).collect(),
        routes: n.routes.clone(),
    };
    let night = &n.options.night;
    if !n.quiet {
        eprintln!(
            "batch: {} calls, night {night}, {}, {} worker(s) × {} thread(s), into {}",
            n.rows.len(),
            match scripts.scripts.as_slice() {
                [one] => format!("script {} {}", one.id, one.version),
                several => format!(
                    "scripts {}",
                    several
                        .iter()
                        .map(|s| format!("{} {}", s.id, s.version))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            },
            n.options.jobs,
            n.options.analyser.asr.threads,
            out.display()
        );
    }
    let display = Display::new(n.rows, n.quiet);
    let (summary, run) = batch::cost::run(n.rows, &scripts, &n.options, &store, n.kind, &|p| {
        display.call(p)
    })?;
    display.finish();

    let store = store.into_inner().unwrap_or_else(|e| e.into_inner());
    let all = csv_out::write_store(out, &store, night, n.csv_locale)
        .with_context(|| format!("cannot write the results into {}", out.display()))?;
    let tonight = all.iter().filter(|c| &c.night == night);
    let wrong_language = tonight.filter(|c| aggregate::is_wrong_language(c)).count();
    Ok(Scored {
        summary,
        run,
        wrong_language,
    })
}

pub(crate) fn print_summary(s: &NightSummary, run: &Run, out: &Path, bad_rows: usize) {
    let minutes = s.wall_s / 60.0;
    eprintln!(
        "batch: {} calls: {} scored, {} already in the store, {} failed, {} in another language{}; {:.2} h of audio in {:.1} min ({:.1} calls/min)",
        s.calls,
        s.scored,
        s.reused,
        s.failed,
        s.wrong_language,
        if bad_rows > 0 {
            format!("; {bad_rows} manifest row(s) skipped")
        } else {
            String::new()
        },
        s.audio_s / 3600.0,
        minutes,
        if minutes > 0.0 {
            (s.scored + s.failed + s.wrong_language) as f64 / minutes
        } else {
            0.0
        }
    );
    eprintln!(
        "batch: time in stages (summed over workers): decode {:.2} s, asr {:.1} s, classify {:.1} s, align {:.2} s, write {:.2} s",
        s.stages.decode_s, s.stages.asr_s, s.stages.classify_s, s.stages.align_s, s.write_s
    );
    eprintln!("batch: cost: {}", run.measurement.describe());
    eprintln!(
        "batch: results in {} (calls.csv, steps.csv, utterances.jsonl, agents.csv, vendors.csv, sourcing.csv, runs.csv); `guion report {}` for the HTML report",
        out.display(),
        out.display()
    );
}

/// Today's date (UTC) as YYYY-MM-DD, from the system clock (civil-from-days, Hinnant).
fn today() -> String {
    guion_core::clock::date(crate::flags::unix_now())
}

/// A progress bar with ETA, calls/min and audio hours on a terminal; one plain line per call
/// otherwise (a log file should say what happened, not draw bars).
struct Display {
    bar: Option<ProgressBar>,
    quiet: bool,
    total: usize,
    state: Mutex<(usize, f64)>,
    started: Instant,
}

impl Display {
    fn new(rows: &[CallRow], quiet: bool) -> Display {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new(rows.len() as u64);
            bar.set_style(
                ProgressStyle::with_template("{bar:30} {pos}/{len} calls · ETA {eta} · {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar
        });
        Display {
            bar,
            quiet,
            total: rows.len(),
            state: Mutex::new((0, 0.0)),
            started: Instant::now(),
        }
    }

    fn call(&self, p: Progress) {
        let (done, audio_s) = {
            let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
            s.0 += 1;
            s.1 += p.audio_s;
            *s
        };
        let minutes = self.started.elapsed().as_secs_f64() / 60.0;
        let rate = if minutes > 0.0 {
            done as f64 / minutes
        } else {
            0.0
        };
        let what = match p.outcome {
            None => "already in the store".into(),
            Some(Outcome::Failed { reason }) => format!("FAILED: {reason}"),
            Some(Outcome::Scored { record, .. }) => match &record.wrong_language {
                Some(w) => format!(
                    "NOT SCORED: the speech is in '{}', a language the script does not cover",
                    w.found
                ),
                None => format!(
                    "scored, adherence {}",
                    record
                        .adherence
                        .map_or("n/a".into(), |a| format!("{:.0}%", a * 100.0))
                ),
            },
        };
        let notable = p
            .outcome
            .is_some_and(|o| matches!(o, Outcome::Failed { .. }) || o.wrong_language().is_some());
        match &self.bar {
            Some(bar) => {
                bar.set_message(format!(
                    "{rate:.1} calls/min · {:.2} h audio",
                    audio_s / 3600.0
                ));
                bar.inc(1);
                if notable {
                    bar.println(format!("{}: {what}", p.call_id));
                }
            }
            None if self.quiet => {
                if notable {
                    eprintln!("batch: {}: {what}", p.call_id);
                }
            }
            None => eprintln!(
                "batch: [{done}/{}] {}: {what} ({rate:.1} calls/min, {:.2} h audio)",
                self.total,
                p.call_id,
                audio_s / 3600.0
            ),
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
