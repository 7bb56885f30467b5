//! `guion call`: one call against the brand's script, the auditor's view.

use crate::flags;
use anstyle::{AnsiColor, Style};
use anyhow::{Context, Result};
use guion_core::align::{Evidence, MatchKind, StepStatus};
use guion_core::clip::ClipOf;
use guion_core::record::CallRecord;
use guion_core::score;
use guion_core::transcript;
use guion_night::pipeline::{Analyser, AnalyserOptions, CallInput};
use guion_night::store::Store;
use guion_speech::asr::AsrOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Check one call against the brand's script and show the evidence.
///
/// FILE is a recording (transcribed first, as by `guion transcribe`) or a transcript: guion JSON,
/// WebVTT, SRT, plain text lines (`AGENT: …` / `CUSTOMER: …`, optional `[mm:ss]`) or a chat CSV.
///
/// For each step of the script: its status — done, missed, out_of_order, outside_window, or unclear
/// (the closest words were misheard, so the audio cannot tell) — the words that show it, when, and how
/// close they came to the script (similarity 0..1). Then forbidden phrases, the timeline with matched
/// words marked, and conversation metrics. Colour on a terminal; plain when piped or with NO_COLOR.
///
/// When a stereo recording's layout is not given (--channels), the agent's channel is the one that
/// sounds most like the script's agent steps; the view says which and how sure.
///
/// Every agent utterance also gets a tone (empathetic, courteous, neutral, impatient, dismissive,
/// with its probability) and the brand value it shows best (from the script's [[value]] examples,
/// calibrated 0..1; a value counts as shown at 0.5). An agent step that no words show is looked for
/// by meaning: a sentence whose embedding is close enough to one of its phrasings (cosine of centred
/// embeddings at least the step's or script's semantic_threshold, default 0.5); its evidence then says "match":
/// "semantic". Lexical evidence always wins. With --judge, a step still unfound is put to a small
/// local language model with the sentences nearest it; its evidence then says "match": "judged",
/// with "judged": P(yes). --no-meaning skips all of this (no encoder needed).
///
/// An analyst's review (`guion review`) stands in a step's status; "review": {"status", "by", "at",
/// "why", "guion"} says whose it is and keeps guion's own verdict.
///
/// Card numbers (Luhn-checked, also read out digit by digit), Spanish DNI/NIE, phone numbers and
/// e-mail addresses are shown as [CARD], [DNI], [PHONE], [EMAIL] unless --no-redact.
///
/// `guion call CALL_ID --from DIR` opens a call that `guion batch` stored in DIR, in the same view.
///
/// --clips DIR writes the evidence you can hear: one WAV clip per step with evidence (a missed
/// step: its closest words), named after the step (`greeting.wav`), and one per forbidden phrase
/// said (`forbidden-<id>.wav`), cut from the speaker's own channel over the words' span with 0.25 s
/// of margin either side, silent where PII was said (when the text is redacted); and `clips.json`,
/// the index: clip, id, what it is (step, closest, forbidden), start, end, text, silenced stretches.
/// With --from, the recording is the path the batch was given. The view says where each clip is.
///
/// --json prints {"call", "script": {"id", "version"}, "language", "adherence", "score", "steps":
/// [{"id", "status", "similarity", "by_words", "by_meaning", "evidence": {"text", "start", "end",
///   "speaker", "match", "judged"}, "review"}],
/// "forbidden": [{"id", "severity", "text", "start", "end"}], "metrics", "agent_channel",
/// "utterances": [{"speaker", "channel", "start", "end", "text", "tone": {"label", "p"},
///                 "value": {"id", "score"}}],
/// "tone": {"label": share, …}, "values": [{"id", "shown", "utterances", "best"}],
/// "models": {"asr", "encoder", "tone_head", "values"}}.
/// Times are seconds from the start of the call, null when the input has none.
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// A recording or a transcript; with --from, a call id of the batch.
    #[arg(value_name = "FILE|CALL_ID")]
    file: String,

    #[command(flatten)]
    script: flags::ScriptFlag,

    #[command(flatten)]
    from: flags::FromFlag,

    #[command(flatten)]
    json: flags::JsonFlag,

    #[command(flatten)]
    hearing: flags::HearingFlags,

    #[command(flatten)]
    format: flags::FormatFlag,

    #[command(flatten)]
    whisper: flags::WhisperFlags,

    #[command(flatten)]
    threads: flags::ThreadsFlag,

    #[command(flatten)]
    meaning: flags::MeaningFlags,

    #[command(flatten)]
    redact: flags::RedactFlag,

    /// Write each step's and forbidden phrase's evidence as a WAV clip into DIR, with clips.json.
    #[arg(long, value_name = "DIR")]
    clips: Option<PathBuf>,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let record = match &args.from.from {
        Some(dir) => stored(dir, &args.file)?,
        None => analyse(&args).map_err(|e| args.redact.error(e))?,
    };
    let clips = match &args.clips {
        Some(dir) => write_clips(&record, args.from.from.is_some(), &args.file, dir)?,
        None => Vec::new(),
    };
    let mut out = anstream::stdout().lock();
    if args.json.json {
        serde_json::to_writer_pretty(&mut out, &record)?;
        writeln!(out)?;
    } else {
        print_view(&mut out, &record, &clips)?;
    }
    // A call in a language the script does not cover was not scored: say so to scripts too.
    Ok(if record.is_scored() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn analyse(args: &Args) -> Result<CallRecord> {
    let script_path = args.script.required(" (or --from DIR for a stored call)")?;
    let (script, warnings) = guion_night::input::load_script(script_path)?;
    for w in &warnings {
        eprintln!("{w}");
    }
    let threads = args.threads.or_every_core();
    let mut analyser = Analyser::new(
        &script,
        AnalyserOptions {
            asr_model: args.whisper.model.clone(),
            asr: AsrOptions {
                threads,
                beam_size: usize::from(args.whisper.beam),
                ..AsrOptions::default()
            },
            meaning: !args.meaning.no_meaning,
            classifier: args.meaning.classifier(),
            redact: args.redact.redact,
            script_prompt: !args.meaning.no_script_prompt,
            customer_beam: usize::from(args.meaning.customer_beam),
            judge: args.meaning.judge,
        },
    )?;
    let input = CallInput {
        path: PathBuf::from(&args.file),
        language: Some(args.hearing.language.clone()),
        channels: args.hearing.channels,
        format: args.format.to_read()?,
        ..CallInput::default()
    };
    Ok(analyser.analyse(&input)?.0)
}

/// The record's clips, cut from its recording into `dir`: `(of, id, path)` for the view.
fn write_clips(
    record: &CallRecord,
    from_store: bool,
    file: &str,
    dir: &Path,
) -> Result<Vec<(ClipOf, String, PathBuf)>> {
    if record.models.asr.is_none() {
        anyhow::bail!(
            "{}: --clips needs a recording; this call is a transcript",
            record.call
        );
    }
    // A stored call's recording is the path its batch was given.
    let recording = PathBuf::from(if from_store { &record.call } else { file });
    if !recording.exists() {
        anyhow::bail!(
            "{}: the recording is not reachable from here, so no clip can be cut",
            recording.display()
        );
    }
    let clips = guion_night::clips::cut(record, &recording)?;
    let paths = guion_night::clips::write(record, &recording, &clips, dir)?;
    Ok(clips
        .into_iter()
        .zip(paths)
        .map(|(c, path)| (c.plan.of, c.plan.id, path))
        .collect())
}

/// A call the batch stored: the latest night's record for CALL_ID.
fn stored(dir: &Path, call_id: &str) -> Result<CallRecord> {
    let store = Store::open_existing(dir)?;
    store
        .latest_record(call_id)?
        .with_context(|| format!("no call {call_id} in {}", dir.display()))
}

const BOLD: Style = Style::new().bold();
const DIM: Style = Style::new().dimmed();
const GOOD: Style = AnsiColor::Green.on_default();
const BAD: Style = AnsiColor::Red.on_default();
const WARN: Style = AnsiColor::Yellow.on_default();
const MARK: Style = Style::new().underline();

fn status_style(s: StepStatus) -> (Style, &'static str) {
    match s {
        StepStatus::Done => (GOOD, "✔"),
        StepStatus::Missed => (BAD, "✘"),
        StepStatus::OutOfOrder => (WARN, "↺"),
        StepStatus::OutsideWindow => (WARN, "⏱"),
        StepStatus::Unclear => (DIM, "?"),
    }
}

fn print_view(
    out: &mut impl Write,
    view: &CallRecord,
    clips: &[(ClipOf, String, PathBuf)],
) -> Result<()> {
    // The n-th clip of an id goes with its n-th hit (a forbidden phrase said twice has two).
    let clip_of = |forbidden: bool, id: &str, nth: usize| {
        clips
            .iter()
            .filter(|(of, clip_id, _)| (*of == ClipOf::Forbidden) == forbidden && clip_id == id)
            .nth(nth)
            .map_or(String::new(), |(_, _, path)| {
                format!("\n   {DIM}▶ {}{DIM:#}", path.display())
            })
    };
    let duration = view
        .duration_s
        .map_or(String::new(), |d| format!(", {d:.1} s"));
    let model = view
        .models
        .asr
        .as_ref()
        .map_or(String::new(), |m| format!(", Whisper {m}"));
    writeln!(
        out,
        "{BOLD}call{BOLD:#}    {}  ({}{duration}{model})",
        printable(&view.call),
        view.language.as_deref().unwrap_or("language unknown")
    )?;
    if let Some(l) = &view.layout {
        writeln!(
            out,
            "{BOLD}audio{BOLD:#}   {} ({})",
            l.kind.label(),
            printable(&l.decided_by)
        )?;
    }
    if let Some(w) = &view.wrong_language {
        writeln!(
            out,
            "{BOLD}NOT SCORED{BOLD:#}  the speech is in '{}' (p {:.2}); the script covers {} (p {:.2} together)",
            w.found,
            w.p,
            w.allowed.join(", "),
            w.allowed_p
        )?;
        return Ok(());
    }
    if let Some(a) = &view.agent_channel {
        let how = match (a.decided_by.as_str(), a.confidence) {
            ("script", Some(c)) => format!("matched to the script, confidence {:.0}%", c * 100.0),
            ("layout", _) => "as given".to_string(),
            _ => "left, by default".to_string(),
        };
        let side = match a.voice {
            Some(v) => format!("voice {v} of the mono channel"),
            None => format!("channel {}", a.channel),
        };
        writeln!(out, "{BOLD}agent{BOLD:#}   {side} ({how})")?;
    }
    let adherence = view
        .adherence
        .map_or("n/a".to_string(), |a| format!("{:.0}%", a * 100.0));
    writeln!(
        out,
        "{BOLD}script{BOLD:#}  {} {}   adherence {BOLD}{adherence}{BOLD:#}  ({}/{} steps done{}{})",
        view.script.id,
        view.script.version,
        view.score.steps_done,
        view.steps.len(),
        if view.score.steps_unclear > 0 {
            format!(", {} unclear", view.score.steps_unclear)
        } else {
            String::new()
        },
        if view.score.forbidden > 0 {
            format!(", {} forbidden phrase(s)", view.score.forbidden)
        } else {
            String::new()
        }
    )?;

    writeln!(out, "\n{BOLD}STEPS{BOLD:#}")?;
    let id_width = view
        .steps
        .iter()
        .map(|s| s.id.chars().count())
        .max()
        .unwrap_or(0);
    for s in &view.steps {
        let (style, icon) = status_style(s.status);
        write!(
            out,
            " {style}{icon} {:<id_width$}  {:<14}{style:#} {:.2}",
            s.id,
            s.status.as_str(),
            s.similarity
        )?;
        if let Some(e) = &s.evidence {
            write!(out, "  {}", quote(e))?;
            match (e.kind, e.judged) {
                (MatchKind::Semantic, _) => write!(
                    out,
                    "  {DIM}(by meaning, like \"{}\"){DIM:#}",
                    printable(&e.variant)
                )?,
                (MatchKind::Judged, Some(p)) => {
                    write!(out, "  {DIM}(judged by the model, p = {p:.2}){DIM:#}")?
                }
                _ => {}
            }
        } else if let Some(e) = &s.closest {
            write!(out, "  {DIM}closest: {}{DIM:#}", quote(e))?;
        }
        if let Some(note) = &s.note {
            write!(out, "  {DIM}({note}){DIM:#}")?;
        }
        if let Some(r) = &s.review {
            write!(
                out,
                "\n   {WARN}reviewed by {} on {}: {} (guion said {}){}{WARN:#}",
                printable(&r.by),
                r.at,
                r.status.as_str(),
                s.guion_status().as_str(),
                r.why
                    .as_deref()
                    .map_or(String::new(), |w| format!(" — {}", printable(w)))
            )?;
        }
        writeln!(out, "{}", clip_of(false, &s.id, 0))?;
    }

    if !view.forbidden.is_empty() {
        writeln!(out, "\n{BOLD}FORBIDDEN{BOLD:#}")?;
        for (i, f) in view.forbidden.iter().enumerate() {
            let nth = view.forbidden[..i].iter().filter(|g| g.id == f.id).count();
            writeln!(
                out,
                " {BAD}! {} ({}){BAD:#}  {}{}",
                f.id,
                format!("{:?}", f.severity).to_lowercase(),
                quote(&f.evidence),
                clip_of(true, &f.id, nth)
            )?;
        }
    }

    if let (Some(tone), Some(values)) = (&view.tone, &view.values) {
        let shares: Vec<String> = tone
            .iter()
            .filter(|(_, share)| **share > 0.0)
            .map(|(label, share)| {
                let (style, _) = tone_style(label);
                format!("{style}{label}{style:#} {:.0}%", share * 100.0)
            })
            .collect();
        writeln!(out, "\n{BOLD}TONE{BOLD:#}    {}", shares.join(" · "))?;
        if !values.is_empty() {
            let shown: Vec<String> = values
                .iter()
                .map(|v| {
                    if v.shown {
                        format!(
                            "{GOOD}✔ {}{GOOD:#} ({}×, best {:.2})",
                            v.id, v.utterances, v.best
                        )
                    } else {
                        format!("{DIM}✘ {} (best {:.2}){DIM:#}", v.id, v.best)
                    }
                })
                .collect();
            writeln!(out, "{BOLD}VALUES{BOLD:#}  {}", shown.join(" · "))?;
        }
    }

    writeln!(out, "\n{BOLD}TIMELINE{BOLD:#}")?;
    for u in &view.utterances {
        let marks: Vec<(&str, &Evidence)> = view
            .steps
            .iter()
            .filter_map(|s| s.evidence.as_ref().map(|e| (s.id.as_str(), e)))
            .chain(view.forbidden.iter().map(|f| (f.id.as_str(), &f.evidence)))
            .filter(|(_, e)| e.speaker == u.speaker && u.text.contains(&e.text))
            .collect();
        let mut text = printable(&u.text);
        for (_, e) in &marks {
            let shown = printable(&e.text);
            text = text.replacen(&shown, &format!("{MARK}{shown}{MARK:#}"), 1);
        }
        let tags: Vec<&str> = marks.iter().map(|(id, _)| *id).collect();
        let verdict = match (&u.tone, &u.value) {
            (Some(tone), value) => {
                let (style, _) = tone_style(&tone.label);
                let value = value
                    .as_ref()
                    .filter(|v| v.score >= score::VALUE_SHOWN)
                    .map_or(String::new(), |v| format!(" · {} {:.2}", v.id, v.score));
                format!("  {style}[{} {:.2}{value}]{style:#}", tone.label, tone.p)
            }
            _ => String::new(),
        };
        writeln!(
            out,
            " {DIM}{}{DIM:#} {:<8} {text}{verdict}{}",
            clock(u.start),
            u.speaker.label().to_uppercase(),
            if tags.is_empty() {
                String::new()
            } else {
                format!("  {DIM}← {}{DIM:#}", tags.join(", "))
            }
        )?;
    }

    let m = &view.metrics;
    let pct = |x: Option<f64>| x.map_or("n/a".into(), |v| format!("{:.0}%", v * 100.0));
    let secs = |x: Option<f64>| x.map_or("n/a".into(), |v| format!("{v:.1} s"));
    writeln!(
        out,
        "\n{BOLD}METRICS{BOLD:#}  agent talk {} · longest silence {} · overtalk {} · holds {}",
        pct(m.agent_talk_ratio),
        secs(m.longest_silence_s),
        secs(m.overtalk_s),
        m.hold_gaps.map_or("n/a".into(), |n| n.to_string())
    )?;
    Ok(())
}

fn tone_style(label: &str) -> (Style, ()) {
    let style = match label {
        "empathetic" | "courteous" => GOOD,
        "impatient" | "dismissive" => BAD,
        _ => DIM,
    };
    (style, ())
}

fn quote(e: &Evidence) -> String {
    format!("{} \"{}\"", clock(e.start), printable(&e.text))
}

fn clock(t: Option<f64>) -> String {
    t.map_or_else(
        || "[-:--]".to_string(),
        |t| format!("[{}]", transcript::clock_stamp(t)),
    )
}

/// Transcript text is untrusted: a control character in a chat log must not drive the terminal.
fn printable(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).collect()
}
