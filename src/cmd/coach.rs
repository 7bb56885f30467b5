//! `guion coach`: a night of `guion batch` results as coaching packs, per vendor and per agent.

use crate::flags;
use anyhow::{Context, Result, bail};
use guion_core::coach::{self, Selection};
use guion_night::report::coach::{Heading, PackFormat, render};
use guion_night::store::Store;
use std::path::PathBuf;
use std::process::ExitCode;

/// Turn a night's results into coaching packs: what each vendor and agent should practise, how
/// other agents say it, and whom to recognise.
///
/// DIR is a batch's output directory (it holds guion.sqlite); the night is the latest in the
/// store unless --night. Analysts' reviews count, as they do in the report. Per vendor and per
/// agent (lowest adherence first), a pack gives:
///   - the required steps it does not always do, most missed first: the share of its calls where
///     the step was missed, out of order or outside its window, with its 95 % Wilson interval
///     (1 − completion, as in agents.csv and vendors.csv), against the best site's (the site whose
///     completion has the highest lower bound). Unclear steps, failed calls and calls in a
///     language the script does not cover count for nothing;
///   - for each step, up to 3 examples of how other agents say it: the words of calls where the
///     step was done, quoted as stored (PII redacted; calls stored with --no-redact are never
///     quoted), one per agent — other agents' first (for a vendor: other vendors'), in the
///     language the step was missed in, words matching the script before words found by meaning,
///     then the agents who do the step most reliably — each with the `guion call CALL_ID --from
///     DIR` command that opens it;
///   - the forbidden phrases it said: how many times, in what share of its calls, and its own
///     words;
///   - the tone to work on: impatient or dismissive more often, or empathetic less often, than
///     the best site's interval allows (the share of the agent's utterances per call, with its
///     bootstrap interval).
///
/// Recognition comes first: per script, the 3 agents and the 3 sites with the best adherence and
/// the warmest tone (empathetic or courteous utterances), among those with at least --min-calls
/// scored calls, ranked by the lower bound of the 95 % interval, not the point estimate.
///
/// Steps are compared only within a script: calls scored against different scripts are never
/// pooled step by step.
///
/// Formats: md (default; for a terminal, a ticket or an e-mail), html (one self-contained page,
/// every text from the calls escaped), json:
///   {"night", "scripts", "store", "min_calls",
///    "vendors": [{"vendor", "site", "calls", "failed", "wrong_language", "adherence",
///      "steps": [{"script", "step", "title", "missed_rate", "missed", "out_of_order",
///        "outside_window", "best_site": {"site", "rate"},
///        "examples": [{"call_id", "agent_id", "vendor", "site", "language", "text", "match",
///          "similarity", "command"}]}],
///      "forbidden": [{"script", "id", "severity", "said", "calls", "example": {"call_id",
///        "agent_id", "text", "command"}}],
///      "tone": [{"tone", "aim": "less"|"more", "share", "best_site": {"site", "rate"}}]}],
///    "agents": [the same, with "agent"],
///    "recognition": [{"award": "adherence"|"tone", "rank", "kind": "agent"|"site", "name",
///      "vendor", "site", "script", "estimate"}]}
/// where every rate and share is {"value", "low", "high", "n"} (n: the calls it rests on).
///
/// With --out FILE the pack is written whole (FILE.part, then renamed) and its path printed; its
/// extension (.md, .html, .json) gives the format when --format does not.
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The batch's output directory (holding guion.sqlite).
    #[arg(value_name = "DIR")]
    dir: PathBuf,

    #[command(flatten)]
    night: flags::NightFlag,

    /// Only this vendor's pack and its agents' (benchmarks, examples and ranks still come from the
    /// whole night).
    #[arg(long, value_name = "V", conflicts_with = "agent")]
    vendor: Option<String>,

    /// Only this agent's pack.
    #[arg(long, value_name = "A")]
    agent: Option<String>,

    /// Scored calls of a script an agent or site needs to be recognised.
    #[arg(long, value_name = "N", default_value_t = coach::MIN_CALLS as u16,
          value_parser = clap::value_parser!(u16).range(1..))]
    min_calls: u16,

    #[command(flatten)]
    format: flags::FormatFlag,

    #[command(flatten)]
    out: flags::OutFlag,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let format = match (args.format.to_pack()?, &args.out.out) {
        (Some(f), _) => f,
        (None, Some(path)) => match path.extension().and_then(|e| e.to_str()) {
            Some("html" | "htm") => PackFormat::Html,
            Some("json") => PackFormat::Json,
            _ => PackFormat::Md,
        },
        (None, None) => PackFormat::Md,
    };
    let store = Store::open_existing(&args.dir)?;
    let night = args.night.or_latest(&store, &args.dir)?;
    let calls = store.calls(Some(&night))?;
    let selection = match (args.vendor, args.agent) {
        (Some(v), _) => {
            known(&v, "vendor", calls.iter().map(|c| c.meta.vendor.as_str()))?;
            Selection::Vendor(v)
        }
        (None, Some(a)) => {
            known(&a, "agent", calls.iter().map(|c| c.meta.agent_id.as_str()))?;
            Selection::Agent(a)
        }
        (None, None) => Selection::All,
    };
    let coaching = coach::coach(&calls, &selection, usize::from(args.min_calls));
    let text = render(
        coaching,
        format,
        &Heading {
            night: &night,
            scripts: &guion_night::report::scripts_of(&calls),
            dir: &args.dir.display().to_string(),
        },
    )
    .map_err(|e| anyhow::anyhow!("cannot render the coaching packs: {e:#}"))?;
    match args.out.out {
        Some(out) => {
            guion_models::atomic::write(&out, text.as_bytes())
                .with_context(|| format!("cannot write {}", out.display()))?;
            println!("{}", out.display());
        }
        None => {
            use std::io::Write;
            std::io::stdout().lock().write_all(text.as_bytes())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// An unknown name is an error that lists the night's names, rather than an empty pack.
fn known<'a>(name: &str, what: &str, names: impl Iterator<Item = &'a str>) -> Result<()> {
    let mut all: Vec<&str> = names.collect();
    all.sort_unstable();
    all.dedup();
    if !all.contains(&name) {
        bail!(
            "no {what} {name:?} in this night (the night's: {})",
            all.join(", ")
        );
    }
    Ok(())
}
