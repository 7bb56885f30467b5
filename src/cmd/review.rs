//! `guion review`: an analyst's verdict on a step of a stored call, kept beside guion's.

use crate::flags;
use anyhow::{Context, Result, bail};
use guion_core::review::{Labels, Review, StepLabel, StepReview, Verdict};
use guion_night::store::{Outcome, Store, StoredCall};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

/// Record a QA analyst's verdict on a step of a call that `guion batch` stored.
///
///   guion review CALL_ID --from DIR --step S --status STATUS --by NAME [--why TEXT] [--night N]
///   guion review --from DIR --import REVIEWS.csv
///
/// STATUS is done, missed, out_of_order or outside_window (yes/sí/1 = done, no/0 = missed). The
/// verdict is stored beside guion's, which is never changed: `guion call --from`, the CSV files
/// (steps.csv: guion_status, reviewed_by, reviewed_at, review_why; calls.csv: reviews) and the
/// report use the analyst's verdict where there is one and say whose it is. The latest review of a
/// step stands; the same review given twice is kept once. Reviews survive a rerun of the night, and
/// `guion calibrate` counts them as labels. CSV files are rewritten after a review.
///
/// REVIEWS.csv has the columns call_id, step_id, status, analyst (or by), and optionally why and
/// night (default: the call's latest night). Rows that name no stored call or no step of its
/// script are reported with their line; the others are stored, and the exit status is 1.
///
/// The reason (--why) is redacted like transcripts (unless --no-redact).
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The call, as the manifest names it.
    #[arg(value_name = "CALL_ID", required_unless_present = "import")]
    call_id: Option<String>,

    #[command(flatten)]
    from: flags::FromFlag,

    /// The step's id in the script.
    #[arg(long, value_name = "STEP", required_unless_present = "import")]
    step: Option<String>,

    /// The analyst's verdict.
    #[arg(long, value_name = "STATUS", required_unless_present = "import", value_parser = verdict)]
    status: Option<Verdict>,

    /// Who gives the verdict (an analyst's name or id).
    #[arg(long, value_name = "NAME", required_unless_present = "import")]
    by: Option<String>,

    /// Why: what the analyst heard.
    #[arg(long, value_name = "TEXT")]
    why: Option<String>,

    /// Many reviews from a CSV file instead (see above).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["call_id", "step", "status", "by", "why"])]
    import: Option<PathBuf>,

    #[command(flatten)]
    night: flags::NightFlag,

    #[command(flatten)]
    redact: flags::RedactFlag,
}

fn verdict(s: &str) -> Result<Verdict, String> {
    Verdict::parse(s).ok_or_else(|| format!("expected {}", Verdict::ACCEPTED))
}

pub fn run(args: Args) -> Result<ExitCode> {
    let dir = args.from.required()?.to_path_buf();
    let mut store = Store::open_existing(&dir)?;
    let labels: Vec<StepLabel> = match &args.import {
        Some(file) => match guion_night::input::read_labels(file) {
            Ok(Labels::Steps(labels)) => labels,
            Ok(Labels::Values(_)) => bail!(
                "{}: value labels (call_id, start, value) are for `guion calibrate --labels`; \
                 a review is a verdict on a step (call_id, step_id, status, analyst)",
                file.display()
            ),
            Err(e) => bail!("{e}"),
        },
        None => vec![StepLabel {
            call_id: args.call_id.clone().unwrap_or_default(),
            step: args.step.clone().unwrap_or_default(),
            verdict: args.status.expect("clap requires --status"),
            analyst: args.by.clone(),
            why: args.why.clone(),
            night: args.night.night.clone(),
            at: "the command line".into(),
        }],
    };
    let at = guion_core::clock::timestamp(flags::unix_now());
    let mut by_night: BTreeMap<String, Vec<StepReview>> = BTreeMap::new();
    let mut errors = Vec::new();
    // Each night's calls read once, however many reviews an import holds for it.
    let mut nights: BTreeMap<String, Vec<StoredCall>> = BTreeMap::new();
    for l in labels {
        match check(&store, &mut nights, &l) {
            Ok(night) => by_night.entry(night).or_default().push(StepReview {
                call_id: l.call_id,
                step: l.step,
                review: Review {
                    status: l.verdict.status(),
                    by: l.analyst.unwrap_or_default(),
                    at: at.clone(),
                    why: l.why.map(|w| args.redact.text(&w).into_owned()),
                    guion: None,
                },
            }),
            Err(e) => errors.push(format!("{}: {e:#}", l.at)),
        }
    }
    let (mut added, mut given) = (0, 0);
    for (night, reviews) in &by_night {
        given += reviews.len();
        added += store.add_reviews(night, reviews)?;
    }
    for e in &errors {
        eprintln!("guion: {}", args.redact.text(e));
    }
    if given > 0 {
        guion_night::report::csv::rewrite(&dir, &store)
            .with_context(|| format!("cannot rewrite the CSV files in {}", dir.display()))?;
    }
    println!(
        "review: {added} verdict(s) stored in {}{}",
        dir.display(),
        if given > added {
            format!(" ({} already there)", given - added)
        } else {
            String::new()
        }
    );
    Ok(if errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The night the review goes to, once the call and step are known there and the analyst named.
fn check(
    store: &Store,
    nights: &mut BTreeMap<String, Vec<StoredCall>>,
    l: &StepLabel,
) -> Result<String> {
    if l.analyst.as_deref().is_none_or(str::is_empty) {
        bail!("no analyst: say who gives the verdict (--by, or an `analyst` column)");
    }
    let night = match &l.night {
        Some(n) => n.clone(),
        None => store
            .night_of(&l.call_id)?
            .with_context(|| format!("no call {:?} in the store", l.call_id))?,
    };
    if !nights.contains_key(&night) {
        nights.insert(night.clone(), store.calls(Some(&night))?);
    }
    let call = nights[&night]
        .iter()
        .find(|c| c.meta.call_id == l.call_id)
        .with_context(|| format!("no call {:?} in night {night}", l.call_id))?;
    let record = match &call.outcome {
        Outcome::Scored { record, .. } if record.is_scored() => record,
        _ => bail!(
            "call {} of night {night} was not scored: there is no verdict to review",
            l.call_id
        ),
    };
    if !record.steps.iter().any(|s| s.id == l.step) {
        bail!(
            "script {} {} has no step {:?} (steps: {})",
            record.script.id,
            record.script.version,
            l.step,
            record
                .steps
                .iter()
                .map(|s| s.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(night)
}
