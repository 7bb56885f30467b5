//! `guion report`: the store of a batch directory as one HTML page for the brand owner.

use crate::flags;
use anyhow::{Context, Result};
use guion_night::report::html;
use guion_night::store::Store;
use std::path::PathBuf;
use std::process::ExitCode;

/// Turn a night of `guion batch` results into one self-contained HTML page.
///
/// DIR is a batch's output directory (it holds guion.sqlite). The page covers one night — the
/// latest in the store unless --night — and shows:
///   - the script, the night, the calls (scored, failed) and the vendors; what each run of the
///     night cost: the machine, calls and audio analysed, wall and CPU time, audio hours per
///     core-hour, calls per hour, and the time in each stage (as runs.csv);
///   - vendors compared: adherence with its 95 % interval (dot and whisker), calls, forbidden
///     phrases per 100 calls, in-house vs outsourced and the gap between them in words;
///   - a vendor × step heat map of step completion rates (interval in each cell's tooltip);
///   - tone shares per vendor (stacked bars) and the brand values' coverage;
///   - agents, lowest adherence first, with their dominant tone;
///   - the 10 lowest-scoring calls with their evidence (missed steps and the nearest words,
///     forbidden phrases as said and when, the agent's most negative utterance) and the
///     `guion call CALL_ID --from DIR` command that opens each; failed calls and their reasons;
///   - the trend of adherence per vendor across every night in the store.
///
/// Intervals are those of vendors.csv and agents.csv: Wilson for rates, bootstrap over calls for means.
///
/// The page has no JavaScript, and no web font, stylesheet or image to fetch: CSS and SVG charts
/// are inline, so it opens offline and can be mailed as is. Every text from the calls is
/// HTML-escaped. It is written whole (FILE.part, then renamed); its path is printed.
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The batch's output directory (holding guion.sqlite).
    #[arg(value_name = "DIR")]
    dir: PathBuf,

    #[command(flatten)]
    night: flags::NightFlag,

    #[command(flatten)]
    out: flags::OutFlag,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let store = Store::open_existing(&args.dir)?;
    let night = args.night.or_latest(&store, &args.dir)?;
    let all = store.calls(None)?;
    let tonight: Vec<_> = all.iter().filter(|c| c.night == night).cloned().collect();
    let script = guion_night::report::scripts_of(&tonight);
    let page = html::render(
        &night,
        &script,
        &tonight,
        &all,
        &args.dir.display().to_string(),
        &store.runs(Some(&night))?,
    )
    .map_err(|e| anyhow::anyhow!("cannot render the report: {e:#}"))?;
    let out = args.out.out.unwrap_or_else(|| args.dir.join("report.html"));
    guion_models::atomic::write(&out, page.as_bytes())
        .with_context(|| format!("cannot write {}", out.display()))?;
    println!("{}", out.display());
    Ok(ExitCode::SUCCESS)
}
