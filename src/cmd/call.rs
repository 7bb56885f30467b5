//! `guion call`: one call against the brand's script, the auditor's view.

use anstyle::{AnsiColor, Style};
use anyhow::Result;
use guion::align::{AlignOptions, Aligner, Alignment, Evidence, MatchKind, StepStatus};
use guion::asr::{AsrOptions, Recogniser};
use guion::classify::call::{MeaningModels, Tone, ValueScore};
use guion::classify::{CallMeaning, Classifier, ClassifierOptions, EncoderOptions};
use guion::models;
use guion::normalize::{self, Lang};
use guion::pipeline::{self, ChannelLayout, LanguageChoice};
use guion::score::{self, CallScore, Metrics, ValueCoverage};
use guion::script::Script;
use guion::transcript::read::{self, CsvColumns, InputFormat};
use guion::transcript::{self, Transcript};
use serde::Serialize;
use std::io::Write;
use std::path::PathBuf;
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
/// by meaning: a sentence whose embedding is close enough to one of its phrasings (cosine at least
/// the step's or script's semantic_threshold, default 0.88); its evidence then says "match":
/// "semantic". Lexical evidence always wins. --no-meaning skips all of this (no encoder needed).
///
/// --json prints {"call", "script": {"id", "version"}, "language", "adherence", "score", "steps":
/// [{"id", "status", "similarity", "evidence": {"text", "start", "end", "speaker", "match"}}],
/// "forbidden": [{"id", "severity", "text", "start", "end"}], "metrics", "agent_channel",
/// "utterances": [{"speaker", "channel", "start", "end", "text", "tone": {"label", "p"},
///                 "value": {"id", "score"}}],
/// "tone": {"label": share, …}, "values": [{"id", "shown", "utterances", "best"}],
/// "models": {"asr", "encoder", "tone_head", "values"}}.
/// Times are seconds from the start of the call, null when the input has none.
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// A recording or a transcript.
    #[arg(value_name = "FILE")]
    file: PathBuf,

    /// The brand's script (TOML); see `guion script check`.
    #[arg(long, short, value_name = "FILE")]
    script: PathBuf,

    /// Print JSON instead of the terminal view.
    #[arg(long)]
    json: bool,

    /// For recordings: es, en, or auto (detected among the script's languages).
    #[arg(long, short, default_value = "auto")]
    language: String,

    /// For recordings: which channel is the agent's. Default: decided by the script (stereo), mono otherwise.
    #[arg(long, value_enum)]
    channels: Option<ChannelLayout>,

    /// For transcripts: the input format when the extension does not say.
    #[arg(long, value_enum)]
    format: Option<InputFormat>,

    /// For recordings: a model name from `guion models` or a ggml file.
    #[arg(long, short, default_value = "base", env = "GUION_WHISPER_MODEL")]
    model: String,

    /// For recordings: Whisper threads. Default: every core.
    #[arg(long, short)]
    threads: Option<usize>,

    /// Skip tone, values and matching by meaning: words only, no encoder.
    #[arg(long)]
    no_meaning: bool,

    /// A tone head from `guion train`. Default: the one scripts/setup trained.
    #[arg(long, value_name = "FILE")]
    tone_head: Option<PathBuf>,

    /// A brand's value head from `guion train --kind value`; default: the script's value examples.
    #[arg(long, value_name = "FILE")]
    value_head: Option<PathBuf>,
}

#[derive(Serialize)]
struct CallView<'a> {
    call: &'a str,
    script: ScriptId<'a>,
    language: Option<&'a str>,
    adherence: Option<f64>,
    score: &'a CallScore,
    steps: &'a [guion::align::StepResult],
    forbidden: &'a [guion::align::ForbiddenHit],
    metrics: &'a Metrics,
    agent_channel: Option<AgentChannel>,
    utterances: Vec<UtteranceView<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tone: Option<std::collections::BTreeMap<String, f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    values: Option<Vec<ValueCoverage>>,
    models: Models<'a>,
}

#[derive(Serialize)]
struct UtteranceView<'a> {
    speaker: guion::transcript::Speaker,
    channel: Option<u32>,
    start: Option<f64>,
    end: Option<f64>,
    text: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    tone: Option<&'a Tone>,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<&'a ValueScore>,
}

#[derive(Serialize)]
struct Models<'a> {
    asr: Option<String>,
    #[serde(flatten)]
    meaning: Option<&'a MeaningModels>,
}

#[derive(Serialize)]
struct ScriptId<'a> {
    id: &'a str,
    version: &'a str,
}

#[derive(Serialize, Clone, Copy)]
struct AgentChannel {
    channel: u32,
    /// "layout" (given with --channels), "script" (detected), or "default" (left, nothing to go by).
    decided_by: &'static str,
    confidence: Option<f32>,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let (script, warnings) = Script::load(&args.script)?;
    for w in &warnings {
        eprintln!("{w}");
    }
    let aligner = Aligner::new(&script, AlignOptions::default());
    let (mut transcript, mut agent_channel) = if read::is_transcript_path(&args.file) {
        let t = read::read_transcript(&args.file, args.format, &CsvColumns::default())?;
        (t, None)
    } else {
        transcribe(&args, &script)?
    };
    if transcript.language.is_none() {
        transcript.language = text_language(&transcript, &script);
    }
    if args.channels.is_none() && agent_channel.is_some() {
        agent_channel = Some(decide_agent_channel(&aligner, &mut transcript));
    }

    let meaning = if args.no_meaning {
        None
    } else {
        let mut classifier = Classifier::load(&ClassifierOptions {
            encoder: EncoderOptions::default(),
            tone_head: args.tone_head.clone(),
            value_head: args.value_head.clone(),
        })?;
        let prepared = classifier.prepare(&script)?;
        let meaning = classifier.classify(&transcript, &prepared)?;
        let labels = classifier.tone_labels().to_vec();
        Some((prepared, meaning, labels))
    };
    let alignment = match &meaning {
        Some((prepared, m, _)) => aligner.align_with(&transcript, Some(&m.semantic(prepared))),
        None => aligner.align(&transcript),
    };
    let call_score = score::score(&alignment);
    let metrics = score::metrics(&transcript);
    let verdicts: Option<&CallMeaning> = meaning.as_ref().map(|(_, m, _)| m);
    let utterances = transcript
        .utterances
        .iter()
        .enumerate()
        .map(|(i, u)| {
            let verdict = verdicts.and_then(|m| m.utterances[i].as_ref());
            UtteranceView {
                speaker: u.speaker,
                channel: u.channel,
                start: u.start,
                end: u.end,
                text: &u.text,
                tone: verdict.map(|v| &v.tone),
                value: verdict.and_then(|v| v.value.as_ref()),
            }
        })
        .collect();
    let view = CallView {
        call: &transcript.source,
        script: ScriptId {
            id: &script.id,
            version: &script.version,
        },
        language: transcript.language.as_deref(),
        adherence: call_score.adherence,
        score: &call_score,
        steps: &alignment.steps,
        forbidden: &alignment.forbidden,
        metrics: &metrics,
        agent_channel,
        utterances,
        tone: meaning.as_ref().map(|(_, m, labels)| {
            score::tone_shares(labels, &m.utterances)
                .into_iter()
                .collect()
        }),
        values: meaning
            .as_ref()
            .map(|(_, m, _)| score::value_coverage(&m.value_ids, &m.utterances)),
        models: Models {
            asr: transcript
                .model
                .as_ref()
                .map(|m| format!("{}:{}", m.name, &m.sha256[..12.min(m.sha256.len())])),
            meaning: verdicts.map(|m| &m.models),
        },
    };
    let mut out = anstream::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &view)?;
        writeln!(out)?;
    } else {
        print_view(&mut out, &view, &transcript, &alignment)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn transcribe(args: &Args, script: &Script) -> Result<(Transcript, Option<AgentChannel>)> {
    let language: LanguageChoice = if args.language == "auto" {
        LanguageChoice::Detect(script.languages.clone())
    } else {
        args.language.parse().map_err(anyhow::Error::msg)?
    };
    let model = models::resolve(&args.model)?;
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
    let recogniser = Recogniser::load(
        &model,
        AsrOptions {
            threads,
            ..AsrOptions::default()
        },
    )?;
    let t = pipeline::transcribe_call(&recogniser, &args.file, args.channels, &language)?;
    let stereo = t.utterances.iter().any(|u| u.channel == Some(1));
    let agent = match args.channels {
        Some(ChannelLayout::AgentLeft) => Some(AgentChannel {
            channel: 0,
            decided_by: "layout",
            confidence: None,
        }),
        Some(ChannelLayout::AgentRight) => Some(AgentChannel {
            channel: 1,
            decided_by: "layout",
            confidence: None,
        }),
        Some(ChannelLayout::Mono) => None,
        // Decided against the script once the transcript is in.
        None if stereo => Some(AgentChannel {
            channel: 0,
            decided_by: "default",
            confidence: None,
        }),
        None => None,
    };
    Ok((t, agent))
}

/// A text transcript's language, when it does not say: the script's only language, or the one its
/// words read as.
fn text_language(t: &Transcript, script: &Script) -> Option<String> {
    if let [only] = script.languages.as_slice() {
        return Some(only.clone());
    }
    let text: Vec<&str> = t.utterances.iter().map(|u| u.text.as_str()).collect();
    let guessed = normalize::guess_language(&text.join(" "))?;
    script
        .languages
        .iter()
        .find(|l| Lang::from_code(l) == Some(guessed))
        .cloned()
}

/// Relabels the speakers so that the channel that best matches the agent's steps is the agent's.
fn decide_agent_channel(aligner: &Aligner, t: &mut Transcript) -> AgentChannel {
    let Some((channel, confidence)) = aligner.agent_channel(t) else {
        return AgentChannel {
            channel: 0,
            decided_by: "default",
            confidence: None,
        };
    };
    t.set_agent_channel(channel);
    AgentChannel {
        channel,
        decided_by: "script",
        confidence: Some(confidence),
    }
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
    view: &CallView,
    t: &Transcript,
    alignment: &Alignment,
) -> Result<()> {
    let duration = t
        .duration_s
        .map_or(String::new(), |d| format!(", {d:.1} s"));
    let model = t
        .model
        .as_ref()
        .map_or(String::new(), |m| format!(", Whisper {}", m.name));
    writeln!(
        out,
        "{BOLD}call{BOLD:#}    {}  ({}{duration}{model})",
        printable(view.call),
        view.language.unwrap_or("language unknown")
    )?;
    if let Some(a) = view.agent_channel {
        let how = match (a.decided_by, a.confidence) {
            ("script", Some(c)) => format!("matched to the script, confidence {:.0}%", c * 100.0),
            ("layout", _) => "as given".to_string(),
            _ => "left, by default".to_string(),
        };
        writeln!(out, "{BOLD}agent{BOLD:#}   channel {} ({how})", a.channel)?;
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
    for s in view.steps {
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
            if e.kind == MatchKind::Semantic {
                write!(
                    out,
                    "  {DIM}(by meaning, like \"{}\"){DIM:#}",
                    printable(&e.variant)
                )?;
            }
        } else if let Some(e) = &s.closest {
            write!(out, "  {DIM}closest: {}{DIM:#}", quote(e))?;
        }
        if let Some(note) = &s.note {
            write!(out, "  {DIM}({note}){DIM:#}")?;
        }
        writeln!(out)?;
    }

    if !view.forbidden.is_empty() {
        writeln!(out, "\n{BOLD}FORBIDDEN{BOLD:#}")?;
        for f in view.forbidden {
            writeln!(
                out,
                " {BAD}! {} ({}){BAD:#}  {}",
                f.id,
                format!("{:?}", f.severity).to_lowercase(),
                quote(&f.evidence)
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
    for (u, shown) in t.utterances.iter().zip(&view.utterances) {
        let marks: Vec<(&str, &Evidence)> = alignment
            .steps
            .iter()
            .filter_map(|s| s.evidence.as_ref().map(|e| (s.id.as_str(), e)))
            .chain(
                alignment
                    .forbidden
                    .iter()
                    .map(|f| (f.id.as_str(), &f.evidence)),
            )
            .filter(|(_, e)| e.speaker == u.speaker && u.text.contains(&e.text))
            .collect();
        let mut text = printable(&u.text);
        for (_, e) in &marks {
            let shown = printable(&e.text);
            text = text.replacen(&shown, &format!("{MARK}{shown}{MARK:#}"), 1);
        }
        let tags: Vec<&str> = marks.iter().map(|(id, _)| *id).collect();
        let verdict = match (shown.tone, shown.value) {
            (Some(tone), value) => {
                let (style, _) = tone_style(&tone.label);
                let value = value
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

    let m = view.metrics;
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
    t.map_or_else(|| "[--:--]".to_string(), transcript::minute_stamp)
}

/// Transcript text is untrusted: a control character in a chat log must not drive the terminal.
fn printable(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).collect()
}
