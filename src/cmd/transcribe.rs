//! `guion transcribe`: call recordings in, transcripts with word timings out.

use crate::flags;
use anyhow::{Context, Result};
use guion_core::call::AUTO_LANGUAGES;
use guion_core::redact::Redactor;
use guion_core::transcript::Format;
use guion_speech::asr::AsrOptions;
use guion_speech::hear::{self, HearOptions, Listener};
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
/// Card numbers (Luhn-checked, also read out digit by digit), Spanish DNI/NIE, phone numbers and
/// e-mail addresses are written as [CARD], [DNI], [PHONE], [EMAIL] in the text and the words (a
/// number read out over several words becomes one word, timed across them) unless --no-redact.
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

    #[command(flatten)]
    hearing: flags::HearingFlags,

    #[command(flatten)]
    format: flags::FormatFlag,

    #[command(flatten)]
    out: flags::OutFlag,

    #[command(flatten)]
    whisper: flags::WhisperFlags,

    #[command(flatten)]
    threads: flags::ThreadsFlag,

    #[command(flatten)]
    redact: flags::RedactFlag,

    #[command(flatten)]
    quiet: flags::QuietFlag,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let model = guion_models::resolve(&args.whisper.model)?;
    let threads = args.threads.or_every_core();
    let options = AsrOptions {
        beam_size: usize::from(args.whisper.beam),
        threads,
        ..AsrOptions::default()
    };
    let formats = args.format.to_write()?;
    if args.out.out.is_none() && formats.len() > 1 {
        anyhow::bail!("several formats need --out DIR");
    }
    let mut listener = Listener::load(&model, options)?;
    if let Some(dir) = &args.out.out {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }

    let hear = HearOptions {
        layout: args.hearing.channels,
        language: args
            .hearing
            .language_choice(&AUTO_LANGUAGES.map(String::from))?,
        prompts: Default::default(),
        customer_beam: None,
    };
    let redactor = args.redact.redact.then(Redactor::new);
    let mut failed = 0usize;
    let several = args.files.len() > 1;
    for path in &args.files {
        let started = Instant::now();
        let mut transcript = match hear::transcribe_call(&mut listener, path, &hear) {
            Ok(t) => t,
            Err(e) => {
                let reason = e.to_string();
                let shown = redactor
                    .as_ref()
                    .map_or(reason.as_str().into(), |r| r.redact(&reason));
                eprintln!("guion: {shown}");
                failed += 1;
                continue;
            }
        };
        if let Some(redactor) = &redactor {
            redactor.transcript(&mut transcript);
        }
        for &format in &formats {
            match &args.out.out {
                Some(dir) => {
                    let rendered = transcript.render(format);
                    let out = output_path(dir, path, format);
                    guion_models::atomic::write(&out, rendered.as_bytes())
                        .with_context(|| format!("cannot write {}", out.display()))?;
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
        if !args.quiet.quiet {
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
