//! `guion calibrate`: guion's verdicts against the brand's QA analysts', and better thresholds.

use crate::flags;
use anyhow::{Context, Result, bail};
use guion_core::calibrate::{self, Calibration, Compared, ValuesCalibration};
use guion_core::record::CallRecord;
use guion_core::review::{Labels, StepLabel, ValueLabel};
use guion_core::script::Script;
use guion_core::script::edit::{StepThresholds, with_thresholds};
use guion_night::store::{Outcome, Store};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Measure guion against the brand's QA analysts, per step, and suggest thresholds that agree better.
///
/// LABELS is what QA tools export, one verdict per row: call_id, step_id, status (done, missed,
/// out_of_order, outside_window; also yes/no, sí/no, 1/0), and optionally analyst. A file with the
/// columns call_id, start, value instead labels brand values per agent utterance (value = the
/// value's id, or none); --labels may be given more than once. Reviews stored with `guion review`
/// count as labels too. Each call is compared as stored in its latest night (or --night).
///
/// Printed per step and overall:
///   - n: verdicts compared (a call labelled by two analysts counts twice);
///   - agreement: share of identical verdicts (guion's `unclear` agrees with nothing; a yes/no
///     label is compared on whether the step was said at all);
///   - kappa: Cohen's kappa, agreement beyond what both raters' rates give by chance;
///   - precision and recall of "missed", the verdict a brand acts on;
///   - analysts: their agreement with each other on calls labelled by several (guion's ceiling);
///   - the calls behind each disagreement.
///
/// Suggested thresholds (min_similarity; semantic_threshold for agent steps) are fitted on the
/// labels by 5-fold cross-validation over calls: a suggestion is made only when thresholds fitted
/// on four fifths of the calls agree better on the fifth they did not see, summed over the folds,
/// than the current ones; the figure shown is that held-out agreement, not the fit's. Verdicts are
/// replayed from the similarities the store kept, so order and windows are not re-checked.
/// --write-script writes the script (as the batch stored it, or --script) with the suggested
/// thresholds and a new version, keeping its comments.
///
/// --json prints {"script", "overall": {"n", "agreement", "kappa", "precision_missed",
/// "recall_missed", "analysts"}, "steps": [{"step", "n", "agreement", "kappa",
/// "precision_missed", "recall_missed", "suggested", "thresholds", "analysts",
/// "disagreements"}], "values": {"overall", "values": [{"value", "n", "agreement", "kappa",
/// "precision", "recall"}]}, "unmatched": ["file:line: why"]}.
///
/// A night of several scripts is calibrated per script: each label is compared under the script its
/// call was scored against (a step id means something only within it), and each script gets its
/// own table (--json: {"scripts": [as above, without "unmatched"], "unmatched"}); --write-script then
/// needs --script FILE to say which script to write.
///
/// Exit status 1 when some label names no stored call or no step of its script (each is listed).
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The batch's output directory (holding guion.sqlite).
    #[arg(value_name = "DIR")]
    dir: PathBuf,

    /// A CSV file of the analysts' verdicts (see above).
    #[arg(long, value_name = "LABELS.csv")]
    labels: Vec<PathBuf>,

    #[command(flatten)]
    night: flags::NightFlag,

    #[command(flatten)]
    json: flags::JsonFlag,

    /// Write the script with the suggested thresholds and a new version to this file.
    #[arg(long, value_name = "OUT.toml")]
    write_script: Option<PathBuf>,

    #[command(flatten)]
    script: flags::ScriptFlag,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let store = Store::open_existing(&args.dir)?;
    let mut steps: Vec<StepLabel> = Vec::new();
    let mut values: Vec<ValueLabel> = Vec::new();
    for file in &args.labels {
        match guion_night::input::read_labels(file) {
            Ok(Labels::Steps(l)) => steps.extend(l),
            Ok(Labels::Values(l)) => values.extend(l),
            Err(e) => bail!("{e}"),
        }
    }

    // Each call as stored in the night asked for, or its latest.
    let calls = store.calls(args.night.night.as_deref())?;
    let mut latest: BTreeMap<&str, (&str, &CallRecord)> = BTreeMap::new();
    for c in &calls {
        if let Outcome::Scored { record, .. } = &c.outcome
            && record.is_scored()
        {
            latest.insert(&c.meta.call_id, (&c.night, record));
        }
    }
    for (night, r) in store.reviews(args.night.night.as_deref())? {
        if latest
            .get(r.call_id.as_str())
            .is_some_and(|(n, _)| *n == night)
        {
            steps.push(StepLabel {
                call_id: r.call_id,
                step: r.step,
                verdict: guion_core::review::Verdict::Status(r.review.status),
                analyst: Some(r.review.by.clone()),
                why: None,
                night: Some(night),
                at: format!("review by {} at {}", r.review.by, r.review.at),
            });
        }
    }
    if steps.is_empty() && values.is_empty() {
        bail!(
            "nothing to compare: give --labels LABELS.csv, or store reviews with `guion review` first"
        );
    }

    // A step id means something only within its script: each labelled call is compared under the
    // script it was scored against, and each script is calibrated on its own calls.
    let scripts = scripts_of(&args, &store, &steps, &values, &latest)?;
    if args.write_script.is_some() && scripts.len() > 1 {
        bail!(
            "the labelled calls were scored against several scripts ({}): --write-script writes              one; choose it with --script FILE",
            scripts
                .iter()
                .map(|(s, _, _)| format!("{} {}", s.id, s.version))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    // With --script, every stored version of that id is compared (as before several scripts).
    let exact = args.script.one()?.is_none();
    let scored_against = |id: &str, script: &Script| {
        latest.get(id).is_some_and(|(_, r)| {
            r.script.id == script.id && (!exact || r.script.version == script.version)
        })
    };
    let mut unmatched = Vec::new();
    let mut results = Vec::new();
    for (script, text, file) in scripts {
        let record_of = |id: &str| {
            latest
                .get(id)
                .map(|(_, r)| *r)
                .filter(|_| scored_against(id, &script))
        };
        let mine: Vec<StepLabel> = steps
            .iter()
            .filter(|l| scored_against(&l.call_id, &script))
            .cloned()
            .collect();
        let my_values: Vec<ValueLabel> = values
            .iter()
            .filter(|l| scored_against(&l.call_id, &script))
            .cloned()
            .collect();
        let (compared, u) = calibrate::compare(&mine, record_of);
        let (compared_values, u_values) = calibrate::compare_values(&my_values, record_of);
        unmatched.extend(u);
        unmatched.extend(u_values);
        let calibration = calibrate::calibrate(&script, &compared);
        let value_calibration =
            (!compared_values.is_empty()).then(|| calibrate::calibrate_values(&compared_values));
        results.push((script, text, file, compared, calibration, value_calibration));
    }
    // Labels of calls under none of the scripts (not stored, or scored against another).
    let (_, u) = calibrate::compare(
        &steps
            .iter()
            .filter(|l| !results.iter().any(|r| scored_against(&l.call_id, &r.0)))
            .cloned()
            .collect::<Vec<_>>(),
        |_| None,
    );
    let (_, u_values) = calibrate::compare_values(
        &values
            .iter()
            .filter(|l| !results.iter().any(|r| scored_against(&l.call_id, &r.0)))
            .cloned()
            .collect::<Vec<_>>(),
        |_| None,
    );
    unmatched.extend(u);
    unmatched.extend(u_values);

    let mut out = std::io::stdout().lock();
    if args.json.json {
        let one = |(script, _, _, _, calibration, values): &(
            Script,
            String,
            String,
            Vec<Compared>,
            Calibration,
            Option<ValuesCalibration>,
        )| {
            serde_json::json!({
                "script": {"id": script.id, "version": script.version},
                "overall": calibration.overall,
                "steps": calibration.steps,
                "values": values,
            })
        };
        let json = match results.as_slice() {
            [only] => {
                let mut json = one(only);
                json["unmatched"] = serde_json::json!(unmatched);
                json
            }
            several => serde_json::json!({
                "scripts": several.iter().map(one).collect::<Vec<_>>(),
                "unmatched": unmatched,
            }),
        };
        serde_json::to_writer_pretty(&mut out, &json)?;
        writeln!(out)?;
    } else {
        for (i, (script, _, _, compared, calibration, values)) in results.iter().enumerate() {
            if i > 0 {
                writeln!(out)?;
            }
            print_view(&mut out, script, compared, calibration, values.as_ref())?;
        }
        for u in &unmatched {
            writeln!(out, "unmatched: {u}")?;
        }
    }

    let Some((script, text, file, _, calibration, _)) = results.into_iter().next() else {
        unreachable!("scripts_of gives at least one script");
    };
    if let Some(path) = &args.write_script {
        let changes: Vec<StepThresholds> = calibration
            .steps
            .iter()
            .filter_map(|s| {
                s.suggested.map(|t| StepThresholds {
                    step: s.step.clone(),
                    min_similarity: Some(t.min_similarity),
                    semantic_threshold: t.semantic_threshold,
                })
            })
            .collect();
        if changes.is_empty() {
            eprintln!(
                "calibrate: no threshold beats the current ones on held-out calls; {} not written",
                path.display()
            );
        } else {
            let version = format!(
                "{}+calibrated-{}",
                script.version,
                guion_core::clock::date(flags::unix_now())
            );
            let new =
                with_thresholds(&text, &file, &version, &changes).map_err(anyhow::Error::msg)?;
            Script::parse(&new, &path.display().to_string())
                .map_err(|e| anyhow::anyhow!("the calibrated script does not check: {e}"))?;
            guion_models::atomic::write(path, new.as_bytes())
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!(
                "calibrate: wrote {} (version {version}): {} step(s) changed",
                path.display(),
                changes.len()
            );
        }
    }
    Ok(if unmatched.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The scripts the labelled calls were scored against: --script, or those the batch stored (each
/// id and version, in id order).
fn scripts_of(
    args: &Args,
    store: &Store,
    steps: &[StepLabel],
    values: &[ValueLabel],
    latest: &BTreeMap<&str, (&str, &CallRecord)>,
) -> Result<Vec<(Script, String, String)>> {
    if let Some(path) = args.script.one()? {
        let (text, script, _) = guion_night::input::read_script(path)?;
        return Ok(vec![(script, text, path.display().to_string())]);
    }
    let labelled: Vec<&str> = steps
        .iter()
        .map(|l| l.call_id.as_str())
        .chain(values.iter().map(|l| l.call_id.as_str()))
        .collect();
    let used: BTreeSet<(&str, &str)> = labelled
        .iter()
        .filter_map(|id| latest.get(id))
        .map(|(_, r)| (r.script.id.as_str(), r.script.version.as_str()))
        .collect();
    if used.is_empty() {
        bail!(
            "no labelled call is stored as scored in {}",
            args.dir.display()
        );
    }
    used.into_iter()
        .map(|(id, version)| {
            let text = store.script_text(id, version)?.with_context(|| {
                format!(
                    "{}: the store does not keep the text of script {id} {version} (scored before \
                     guion kept it): give it with --script FILE",
                    args.dir.display()
                )
            })?;
            let file = format!("{id} {version} (as stored)");
            let (script, _) = Script::parse(&text, &file)?;
            Ok((script, text, file))
        })
        .collect()
}

fn fmt(x: Option<f64>) -> String {
    x.map_or("—".into(), |v| format!("{v:.2}"))
}

fn print_view(
    out: &mut impl Write,
    script: &Script,
    compared: &[Compared],
    c: &Calibration,
    values: Option<&ValuesCalibration>,
) -> Result<()> {
    let calls: BTreeSet<&str> = compared.iter().map(|c| c.call_id.as_str()).collect();
    let analysts: BTreeSet<&str> = compared
        .iter()
        .filter_map(|c| c.analyst.as_deref())
        .collect();
    writeln!(
        out,
        "calibrate: {} verdict(s) on {} call(s) by {} named analyst(s), script {} {}",
        compared.len(),
        calls.len(),
        analysts.len(),
        script.id,
        script.version
    )?;
    let width = c
        .steps
        .iter()
        .map(|s| s.step.len())
        .max()
        .unwrap_or(4)
        .max(7);
    writeln!(
        out,
        "\n{:<width$}  {:>4}  {:>5}  {:>5}  {:>9}  {:>9}  {:>8}  suggestion",
        "step", "n", "agree", "kappa", "P(missed)", "R(missed)", "analysts"
    )?;
    let row = |out: &mut dyn Write,
               name: &str,
               a: &calibrate::Agreement,
               analysts: Option<&calibrate::Agreement>,
               tail: String| {
        writeln!(
            out,
            "{:<width$}  {:>4}  {:>5}  {:>5}  {:>9}  {:>9}  {:>8}  {tail}",
            name,
            a.n,
            fmt(a.agreement),
            fmt(a.kappa),
            fmt(a.precision_missed),
            fmt(a.recall_missed),
            fmt(analysts.and_then(|x| x.agreement)),
        )
    };
    for s in &c.steps {
        let tail = match (&s.suggested, &s.thresholds) {
            (Some(t), Some(check)) => format!(
                "min_similarity {:.2}→{:.2}{} (held-out agreement {:.2}, now {:.2})",
                check.current.min_similarity,
                t.min_similarity,
                match (check.current.semantic_threshold, t.semantic_threshold) {
                    (Some(a), Some(b)) => format!(", semantic_threshold {a:.3}→{b:.3}"),
                    _ => String::new(),
                },
                check.agreement_cross_validated,
                check.agreement_now
            ),
            (None, Some(check)) => format!(
                "keep (best fit holds {:.2} on unseen calls, now {:.2})",
                check.agreement_cross_validated, check.agreement_now
            ),
            _ if compared
                .iter()
                .any(|c| c.step == s.step && c.by_words.is_none()) =>
            {
                "no similarities stored (scored by an older guion): run the night again".into()
            }
            _ => "too few calls to cross-validate".into(),
        };
        row(out, &s.step, &s.agreement, s.analysts.as_ref(), tail)?;
    }
    row(
        out,
        "overall",
        &c.overall.agreement,
        c.overall.analysts.as_ref(),
        String::new(),
    )?;
    let disagreements: Vec<String> = c
        .steps
        .iter()
        .filter(|s| !s.disagreements.is_empty())
        .map(|s| {
            let calls: Vec<String> = s
                .disagreements
                .iter()
                .map(|d| {
                    format!(
                        "{} (guion {}, {} {})",
                        d.call_id,
                        d.guion.as_str(),
                        d.analyst.as_deref().unwrap_or("label"),
                        d.label.as_str()
                    )
                })
                .collect();
            format!("  {}: {}", s.step, calls.join("; "))
        })
        .collect();
    if !disagreements.is_empty() {
        writeln!(
            out,
            "\ndisagreements (open one: guion call CALL_ID --from DIR):"
        )?;
        for d in disagreements {
            writeln!(out, "{d}")?;
        }
    }
    if let Some(v) = values {
        writeln!(
            out,
            "\nvalues: {} labelled utterance(s), agreement {}, kappa {}",
            v.overall.n,
            fmt(v.overall.agreement),
            fmt(v.overall.kappa)
        )?;
        for x in &v.values {
            writeln!(
                out,
                "  {:<14} agreement {}  kappa {}  precision {}  recall {}",
                x.value,
                fmt(x.agreement),
                fmt(x.kappa),
                fmt(x.precision),
                fmt(x.recall)
            )?;
        }
    }
    Ok(())
}
