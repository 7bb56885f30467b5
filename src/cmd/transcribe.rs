//! `guion transcribe`: call recordings in, transcripts with word timings out.

use anyhow::{Context, Result};
use guion::asr::AsrOptions;
use guion::models;
use guion::pipeline::{self, ChannelLayout, HearOptions, LanguageChoice, Listener};
use guion::transcript::Format;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// Transcribe call recordings with Whisper, offline.
///
/// Reads WAV (PCM 8/16/24/32-bit, float, µ-law, A-law, GSM 6.10), FLAC, MP3, OGG/Vorbis and raw GSM
/// (.gsm, as Asterisk records it) at any sample rate.
/// A stereo call is split into its channels and each is transcribed on its own: by default the agent
/// is on the left and the customer on the right. Only what sounds like speech is decoded, so silence,
/// hold tones and line noise produce no words.
///
/// With --out, each FILE becomes DIR/<file name>.<format> for each format; without it, transcripts go to standard
/// output (JSON: one document for one file, one line per file for several). A file that cannot be
/// read is reported with its reason and the others go on; the exit status is then 1.
///
/// The JSON is guion's transcript, which `guion call` and `guion batch` also read:
/// {"source", "sha256", "duration_s", "language", "model": {"name", "sha256"},
///  "utterances": [{"speaker": "agent"|"customer"|"unknown", "channel", "start", "end", "text",
///                  "words": [{"text", "start", "end", "p"}]}]}
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Recordings to transcribe.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,

    /// The languages allowed: es or en; auto = es,en; a list such as es,en,pt. With several, each
    /// stretch of speech is decoded in its own; speech clearly in another language is not transcribed.
    #[arg(long, short, default_value = "auto")]
    language: LanguageChoice,

    /// Which channel is the agent's. Default: agent-left for stereo files, mono otherwise.
    #[arg(long, value_enum)]
    channels: Option<ChannelLayout>,

    /// One format, or several separated by commas (json,vtt) with --out.
    #[arg(long, short, value_enum, value_delimiter = ',', default_value = "json")]
    format: Vec<Format>,

    /// Write one file per input into this directory (created if missing).
    #[arg(long, short, value_name = "DIR")]
    out: Option<PathBuf>,

    /// A model name from `guion models` or the path of a whisper.cpp ggml file.
    #[arg(long, short, default_value = "base", env = "GUION_WHISPER_MODEL")]
    model: String,

    /// Beam width; 1 decodes greedily (faster, and sometimes drops a call's last phrase).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..=16))]
    beam: u16,

    /// Threads for Whisper. Default: every core.
    #[arg(long, short)]
    threads: Option<usize>,

    /// No progress lines on standard error.
    #[arg(long, short)]
    quiet: bool,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let model = models::resolve(&args.model)?;
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
    let options = AsrOptions {
        beam_size: usize::from(args.beam),
        threads,
        ..AsrOptions::default()
    };
    if args.out.is_none() && args.format.len() > 1 {
        anyhow::bail!("several formats need --out DIR");
    }
    let mut listener = Listener::load(&model, options)?;
    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }

    let hear = HearOptions {
        layout: args.channels,
        language: args.language.clone(),
        prompts: Default::default(),
    };
    let mut failed = 0usize;
    let several = args.files.len() > 1;
    for path in &args.files {
        let started = Instant::now();
        let transcript = match pipeline::transcribe_call(&mut listener, path, &hear) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("guion: {e}");
                failed += 1;
                continue;
            }
        };
        for &format in &args.format {
            match &args.out {
                Some(dir) => {
                    let rendered = transcript.render(format);
                    write_atomically(&output_path(dir, path, format), &rendered)?;
                }
                None => {
                    let rendered = if several && format == Format::Json {
                        serde_json::to_string(&transcript)? + "\n"
                    } else {
                        transcript.render(format)
                    };
                    std::io::stdout().lock().write_all(rendered.as_bytes())?;
                }
            }
        }
        if let Some(wrong) = &transcript.wrong_language {
            eprintln!(
                "guion: {}: the speech is in '{}' (p {:.2}), not in {} (p {:.2} together): not transcribed",
                path.display(),
                wrong.found,
                wrong.p,
                wrong.allowed.join(", "),
                wrong.allowed_p
            );
            failed += 1;
        }
        if !args.quiet {
            let secs = started.elapsed().as_secs_f64();
            let audio = transcript.duration_s.unwrap_or(0.0);
            let layout = transcript.layout.as_ref().map_or("", |l| l.kind.label());
            eprintln!(
                "{}: {:.1} s of audio, {layout}, language {}, {} utterances, {:.1} s ({:.1}× real time)",
                path.display(),
                audio,
                transcript.language.as_deref().unwrap_or("none (no speech)"),
                transcript.utterances.len(),
                secs,
                audio / secs.max(1e-9)
            );
        }
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `call.wav` → `DIR/call.wav.json`: keeping the extension keeps `a.wav` and `a.mp3` apart.
fn output_path(dir: &Path, input: &Path, format: Format) -> PathBuf {
    let name = input
        .file_name()
        .map_or_else(|| "transcript".into(), |n| n.to_string_lossy().into_owned());
    dir.join(format!("{name}.{}", format.extension()))
}

/// A crash mid-write must not leave a half transcript that a later stage would trust.
fn write_atomically(path: &Path, contents: &str) -> Result<()> {
    let tmp = path.with_extension("part");
    std::fs::write(&tmp, contents).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
}
