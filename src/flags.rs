//! Every flag more than one subcommand takes, defined once with its doc. A subcommand flattens the
//! groups it needs (`#[command(flatten)]`) and defines beside its usage text only the flags no other
//! subcommand has, so a flag cannot mean, default or parse one way in `guion call` and another in
//! `guion batch`.
//!
//! Settings with a fixed set of values parse through `guion_core::names::Named`, the same names a
//! manifest cell is read with.

use anyhow::{Context, Result};
use clap::builder::{PossibleValuesParser, TypedValueParser};
use guion_core::call::{ChannelLayout, LanguageChoice};
use guion_core::names::Named;
use guion_core::redact::Redactor;
use guion_core::transcript::Format;
use guion_core::transcript::read::InputFormat;
use guion_meaning::{ClassifierOptions, EncoderOptions};
use guion_night::report::coach::PackFormat;
use guion_night::report::csv::CsvLocale;
use std::borrow::Cow;
use std::path::{Path, PathBuf};

/// A clap parser for a [`Named`] setting: its names are the possible values `--help` lists.
fn named<T: Named + Clone + Send + Sync>() -> impl TypedValueParser<Value = T> {
    PossibleValuesParser::new(T::ALL.iter().map(|v| v.name()))
        .map(|name| T::from_name(&name).expect("clap only passes listed names"))
}

/// `--language`, checked as it is parsed and kept as written: `auto` means the script's languages
/// for `guion call` and `guion batch`, es and en for `guion transcribe`.
fn language(s: &str) -> Result<String, String> {
    LanguageChoice::parse_or_auto(s, &[])?;
    Ok(s.trim().to_ascii_lowercase())
}

/// The brand's script.
#[derive(clap::Args, Clone)]
pub struct ScriptFlag {
    /// The brand's script (TOML); see `guion script check`. `guion batch` takes it more than once
    /// for a night of several scripts.
    #[arg(long, short, value_name = "FILE")]
    pub script: Vec<PathBuf>,
}

impl ScriptFlag {
    /// The one script, or the error that asks for it (`or` says what else would do).
    pub fn required(&self, or: &str) -> Result<&Path> {
        self.one()?
            .with_context(|| format!("--script FILE is needed{or}"))
    }

    /// The one script, if given; more than one is an error (only `guion batch` takes several).
    pub fn one(&self) -> Result<Option<&Path>> {
        match self.script.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(one)),
            _ => anyhow::bail!(
                "--script is given {} times: this command takes one script",
                self.script.len()
            ),
        }
    }
}

/// Whisper: which model, and how wide it searches.
#[derive(clap::Args, Clone)]
pub struct WhisperFlags {
    /// Whisper model: a name from `guion models` or a CTranslate2 Whisper directory (what
    /// faster-whisper reads).
    #[arg(long, short, default_value = "base", env = "GUION_WHISPER_MODEL")]
    pub model: String,

    /// Whisper's beam width; 1 decodes greedily (faster, and sometimes drops a call's last phrase).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..=16))]
    pub beam: u16,
}

/// Threads for the models of a single process.
#[derive(clap::Args, Clone)]
pub struct ThreadsFlag {
    /// Threads for the command's heavy model: Whisper (`guion transcribe`, `guion call`) or the
    /// encoder (`guion train`). Default: every core; `guion train` uses 1, so that a head trains to
    /// the same bytes on every machine.
    #[arg(long, short)]
    pub threads: Option<usize>,
}

impl ThreadsFlag {
    pub fn or_every_core(&self) -> usize {
        self.threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
    }
}

/// How a night is spread over the machine: workers, and the threads each gives Whisper.
#[derive(clap::Args, Clone)]
pub struct JobsFlags {
    /// Workers. Default: cores ÷ threads-per-job.
    #[arg(long, short)]
    pub jobs: Option<usize>,

    /// Threads each worker gives Whisper.
    #[arg(long, default_value_t = 1)]
    pub threads_per_job: usize,
}

impl JobsFlags {
    /// `(workers, threads per worker)` for a night of `calls` calls: never more workers than calls.
    pub fn workers(&self, calls: usize) -> (usize, usize) {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let threads = self.threads_per_job.max(1);
        let jobs = self
            .jobs
            .unwrap_or((cores / threads).max(1))
            .min(calls)
            .max(1);
        (jobs, threads)
    }
}

/// What a recording holds: its languages and which channel is the agent's.
#[derive(clap::Args, Clone)]
pub struct HearingFlags {
    /// The languages allowed: es, en, a list such as es,en,pt, or auto (the script's languages;
    /// es,en without a script). With several, each stretch of speech is decoded in its own; speech
    /// clearly in another language is not transcribed and the call is not scored.
    #[arg(long, short, default_value = "auto", value_parser = language)]
    pub language: String,

    /// Which channel is the agent's: agent-left, agent-right or mono. Default: decided from the
    /// signal (one signal on both channels is mono) and, with a script, from which side says the
    /// agent's steps; without a script, agent-left.
    #[arg(long, value_parser = named::<ChannelLayout>())]
    pub channels: Option<ChannelLayout>,
}

impl HearingFlags {
    pub fn language_choice(&self, auto: &[String]) -> Result<LanguageChoice> {
        LanguageChoice::parse_or_auto(&self.language, auto).map_err(anyhow::Error::msg)
    }
}

/// Every name `--format` takes, each once: a transcript's formats, then a coaching pack's.
fn format_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = InputFormat::ALL.iter().map(|f| f.name()).collect();
    for f in PackFormat::ALL {
        if !names.contains(&f.name()) {
            names.push(f.name());
        }
    }
    names
}

/// A transcript's format, or a coaching pack's.
#[derive(clap::Args, Clone)]
pub struct FormatFlag {
    /// Format: json, vtt, srt, txt or csv (a chat log) for a transcript; md, html or json for a
    /// coaching pack. `guion transcribe`: the formats to write, several separated by commas
    /// (json,vtt) with --out; default json. `guion call`: how to read a transcript whose extension
    /// does not say. `guion coach`: the pack's format; default md, or what --out's extension says.
    #[arg(long, short, value_delimiter = ',', value_parser = PossibleValuesParser::new(format_names()))]
    pub format: Vec<String>,
}

impl FormatFlag {
    /// The formats to write (json when none is given).
    pub fn to_write(&self) -> Result<Vec<Format>> {
        if self.format.is_empty() {
            return Ok(vec![Format::Json]);
        }
        self.format
            .iter()
            .map(|f| {
                Format::from_name(f)
                    .with_context(|| format!("--format {f}: guion writes json, vtt, srt or txt"))
            })
            .collect()
    }

    /// The one format to read a transcript in, if given.
    pub fn to_read(&self) -> Result<Option<InputFormat>> {
        match self.format.as_slice() {
            [] => Ok(None),
            [one] => InputFormat::from_name(one).map(Some).with_context(|| {
                format!("--format {one}: a transcript is read as json, vtt, srt, txt or csv")
            }),
            _ => anyhow::bail!("--format: one format to read a transcript in, not several"),
        }
    }

    /// The one format to write a coaching pack in, if given.
    pub fn to_pack(&self) -> Result<Option<PackFormat>> {
        match self.format.as_slice() {
            [] => Ok(None),
            [one] => PackFormat::from_name(one).map(Some).with_context(|| {
                format!("--format {one}: a coaching pack is written as md, html or json")
            }),
            _ => anyhow::bail!("--format: one format for the pack, not several"),
        }
    }
}

/// Whether PII is kept in what is shown, stored and written.
#[derive(clap::Args, Clone)]
pub struct RedactFlag {
    /// Keep PII (card numbers, DNI/NIE, phone numbers, e-mail addresses) in what is shown, stored
    /// and written, for audits that may see it. Default: each is replaced by [CARD], [DNI], [PHONE],
    /// [EMAIL], also in failure reasons.
    #[arg(long = "no-redact", action = clap::ArgAction::SetFalse)]
    pub redact: bool,
}

impl RedactFlag {
    /// A message (a failure reason, which may quote a transcript's line) as it may be shown.
    pub fn text<'a>(&self, message: &'a str) -> Cow<'a, str> {
        if self.redact {
            Cow::Owned(Redactor::new().redact(message).into_owned())
        } else {
            Cow::Borrowed(message)
        }
    }

    /// An error, with every cause, as it may be shown.
    pub fn error(&self, e: anyhow::Error) -> anyhow::Error {
        if !self.redact {
            return e;
        }
        let message = crate::describe(&e);
        match self.text(&message) {
            Cow::Borrowed(_) => e,
            Cow::Owned(redacted) => anyhow::Error::msg(redacted),
        }
    }
}

/// What judges meaning.
#[derive(clap::Args, Clone)]
pub struct MeaningFlags {
    /// Words only: no tone, values or steps by meaning (no encoder needed).
    #[arg(long)]
    pub no_meaning: bool,

    /// The sentence encoder: a model from `guion models` or an ONNX file of the same export.
    #[arg(long, value_name = "NAME|PATH", default_value = "e5-small")]
    pub encoder: String,

    /// A tone head from `guion train` (default: the one scripts/setup trained).
    #[arg(long, value_name = "FILE")]
    pub tone_head: Option<PathBuf>,

    /// A brand's value head from `guion train --kind value` (default: the script's value examples).
    #[arg(long, value_name = "FILE")]
    pub value_head: Option<PathBuf>,

    /// Do not give Whisper the script's brand names and key words (its initial prompt), per language.
    #[arg(long)]
    pub no_script_prompt: bool,

    /// Whisper's beam for the customer's channel when no step of the call's script is the
    /// customer's and the agent's side is given (--channels, or the manifest's channels column).
    /// The customer's words then feed only redaction, the timeline and the talk metrics, and a
    /// greedy search (1) costs about a quarter less than beam 5 for a few more wrong words. Give
    /// the --beam value to decode both sides alike.
    #[arg(long, value_name = "N", default_value_t = guion_night::pipeline::CUSTOMER_BEAM as u16,
          value_parser = clap::value_parser!(u16).range(1..=16))]
    pub customer_beam: u16,

    /// A second opinion for agent steps that neither words nor the encoder found: a small local
    /// language model (installed by scripts/setup) reads the few sentences nearest each such step
    /// and the step's description, and says how likely each carries it out. A step it finds says
    /// "match": "judged" with that probability (threshold: the script's judge_threshold, default
    /// 0.5). Costs seconds per call.
    #[arg(long)]
    pub judge: bool,
}

impl MeaningFlags {
    pub fn classifier(&self) -> ClassifierOptions {
        ClassifierOptions {
            encoder: EncoderOptions {
                model: self.encoder.clone(),
                ..EncoderOptions::default()
            },
            tone_head: self.tone_head.clone(),
            value_head: self.value_head.clone(),
        }
    }
}

/// The night a store's calls belong to.
#[derive(clap::Args, Clone)]
pub struct NightFlag {
    /// The night's label in the store (YYYY-MM-DD by convention). `guion batch`: the night being
    /// scored, default today (UTC); `guion report`, `guion coach` and `guion calibrate`: the night
    /// to read, default the latest (calibrate: each labelled call's latest); `guion review`: the
    /// call's night, default its latest; `guion merge`: the night to merge, default every night the
    /// shards hold (which must be the same).
    #[arg(long, short)]
    pub night: Option<String>,
}

impl NightFlag {
    /// The night to read from `store` (in `dir`): the one given, which must be there, or the
    /// latest.
    pub fn or_latest(&self, store: &guion_night::store::Store, dir: &Path) -> Result<String> {
        let nights = store.nights()?;
        match (&self.night, nights.last()) {
            (_, None) => anyhow::bail!("{}: the store holds no calls yet", dir.display()),
            (Some(n), _) if !nights.contains(n) => anyhow::bail!(
                "{}: no night {n:?} in the store (nights: {})",
                dir.display(),
                nights.join(", ")
            ),
            (Some(n), _) => Ok(n.clone()),
            (None, Some(latest)) => Ok(latest.clone()),
        }
    }
}

/// A batch's store, read by the commands that work on stored calls.
#[derive(clap::Args, Clone)]
pub struct FromFlag {
    /// A `guion batch` output directory (holding guion.sqlite): `guion call` opens CALL_ID as
    /// stored there (its latest night) instead of analysing a file; `guion review` adds an
    /// analyst's verdict to it.
    #[arg(long, value_name = "DIR")]
    pub from: Option<PathBuf>,
}

impl FromFlag {
    pub fn required(&self) -> Result<&Path> {
        self.from
            .as_deref()
            .context("--from DIR is needed: the batch's output directory")
    }
}

/// Where a command's output goes.
#[derive(clap::Args, Clone)]
pub struct OutFlag {
    /// Where the output goes. A directory (created if missing) for `guion transcribe` (one file per
    /// recording and format), `guion batch`, `guion merge` and `guion bench` (the store and the result
    /// files); a file for
    /// `guion report` (default DIR/report.html), `guion coach` (default standard output) and
    /// `guion train` (default for tone: the head guion uses).
    #[arg(long, short, value_name = "PATH")]
    pub out: Option<PathBuf>,
}

impl OutFlag {
    /// The path, or the error that asks for it (`what` says what goes there).
    pub fn required(&self, what: &str) -> Result<&Path> {
        self.out
            .as_deref()
            .with_context(|| format!("--out is needed: {what}"))
    }
}

/// How the result CSV files are written.
#[derive(clap::Args, Clone)]
pub struct CsvLocaleFlag {
    /// en: `,` and a decimal point; es: `;`, decimal comma and a UTF-8 BOM, for Spanish Excel.
    #[arg(long, default_value = "en", value_parser = named::<CsvLocale>())]
    pub csv_locale: CsvLocale,
}

/// Machine-readable output.
#[derive(clap::Args, Clone)]
pub struct JsonFlag {
    /// Print JSON instead of the terminal view.
    #[arg(long)]
    pub json: bool,
}

/// Progress on standard error.
#[derive(clap::Args, Clone)]
pub struct QuietFlag {
    /// No progress on standard error; only errors and the final summary.
    #[arg(long, short)]
    pub quiet: bool,
}

/// The clock, read in one place.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}
