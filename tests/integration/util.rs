//! What the integration tests share (as ripgrep's tests/util.rs): `guion()` to run the binary,
//! temporary directories and fixtures, the models loaded once per test binary and lent to one test at
//! a time, `analyse` (what `guion call` does, in this process, with those models), the real
//! recordings the tests run on (Debian's Asterisk prompts, installed by scripts/setup, and
//! ../shared/data) — and the one rule for a test whose model or data is not here: `require!`.
//!
//! benches/language.rs and benches/vad.rs include this file for the prompts.
#![allow(dead_code)]

use guion_core::record::CallRecord;
use guion_core::script::Script;
use guion_core::transcript::Speaker;
use guion_meaning::{Classifier, ClassifierOptions};
use guion_models as models;
use guion_night::pipeline::{Analyser, AnalyserOptions, CallInput};
use guion_speech::asr::AsrOptions;
use guion_speech::hear::Listener;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard, PoisonError};

// ---- Skips ----------------------------------------------------------------------------------

/// The rule for a test that needs something a machine may lack (a model, ONNX Runtime, the Asterisk
/// prompts, ../shared/data): each check is a `Result<T, String>` whose error says what is missing
/// and how to get it. If one fails, the test says so on standard error (`skipped: <test>: <what>`)
/// and returns — or, with `GUION_TEST_REQUIRE_ALL=1` (CI), fails. With one check, `require!` is its
/// value.
#[allow(unused_macros)]
macro_rules! require {
    ($check:expr $(,)?) => {
        match $check {
            Ok(value) => value,
            Err(missing) => {
                $crate::util::skip(&[missing]);
                return;
            }
        }
    };
    ($first:expr, $($check:expr),+ $(,)?) => {{
        let missing: Vec<String> = [$first.err(), $($check.err()),+]
            .into_iter()
            .flatten()
            .collect();
        if !missing.is_empty() {
            $crate::util::skip(&missing);
            return;
        }
    }};
}
#[allow(unused_imports)]
pub(crate) use require;

/// Set to 1 (as .ci/run does), a test that would be skipped fails instead.
pub const REQUIRE_ALL: &str = "GUION_TEST_REQUIRE_ALL";

/// Says why the running test stops here, or panics when everything is required. Written straight
/// to the process's standard error, past the test harness's capture, so that a passing run still
/// shows what it did not test.
pub fn skip(missing: &[String]) {
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("a test");
    let what = missing.join("; ");
    if std::env::var(REQUIRE_ALL).is_ok_and(|v| v == "1") {
        panic!("{test} would be skipped ({what}); CI requires everything ({REQUIRE_ALL}=1)");
    }
    let _ = writeln!(std::io::stderr().lock(), "skipped: {test}: {what}");
}

/// A model of models/manifest.toml, installed in the cache.
pub fn model(name: &str) -> Result<models::ResolvedModel, String> {
    models::resolve(name).map_err(|e| e.to_string())
}

/// ONNX Runtime: `$ORT_DYLIB_PATH`, else the cache's.
pub fn onnx_runtime() -> Result<(), String> {
    match std::env::var_os("ORT_DYLIB_PATH").filter(|p| !p.is_empty()) {
        Some(path) => file(Path::new(&path), "ONNX Runtime ($ORT_DYLIB_PATH)").map(drop),
        None => model("onnxruntime").map(drop),
    }
}

/// Whisper base and what `listener()` loads with it: Silero VAD, the speaker segmenter, and ONNX
/// Runtime for both.
pub fn whisper() -> Result<(), String> {
    ["base", "silero-vad", "pyannote-segmentation"]
        .into_iter()
        .try_for_each(|name| model(name).map(drop))
        .and_then(|()| onnx_runtime())
}

/// The sentence encoder, its tokenizer, ONNX Runtime and the tone head scripts/setup trains: what
/// `classifier()` and `guion call` without --no-meaning load.
pub fn encoder() -> Result<(), String> {
    model("e5-small")?;
    model("e5-tokenizer")?;
    onnx_runtime()?;
    let head = guion_meaning::call::default_tone_head();
    file(
        &head,
        "the tone head (scripts/setup trains it from models/tone/)",
    )
    .map(drop)
}

/// The judge's model and its server binary (built beside `guion`).
pub fn judge() -> Result<(), String> {
    model("judge")?;
    let server = Path::new(env!("CARGO_BIN_EXE_guion")).with_file_name("guion-judge");
    file(
        &server,
        "the judge's server (cargo build --release builds it beside guion)",
    )
    .map(drop)
}

/// Debian's recorded Asterisk prompts in `lang` (es, en, fr, ru, it).
pub fn prompts(lang: &str) -> Result<(), String> {
    let dir = prompt_dir(lang);
    if dir.is_dir() {
        Ok(())
    } else {
        Err(format!(
            "{} is missing; scripts/setup installs asterisk-core-sounds-{lang}-wav",
            dir.display()
        ))
    }
}

/// The reference texts of the prompts in `lang` (es, en): Debian's core-sounds-LANG.txt.gz.
pub fn references(lang: &str) -> Result<(), String> {
    let path = references_path(lang);
    file(
        &path,
        &format!("the prompts' texts (scripts/setup installs asterisk-core-sounds-{lang})"),
    )
    .map(drop)
}

/// A file or directory of ../shared/data, which only this workplace has (see its SOURCES.md).
pub fn shared(relative: &str) -> Result<PathBuf, String> {
    let path = shared_dir().join(relative);
    if path.exists() {
        Ok(path)
    } else {
        Err(format!(
            "{} is missing: ../shared/data is only in guion's workplace",
            path.display()
        ))
    }
}

/// A file of ../shared/data/speech.
pub fn shared_speech(name: &str) -> Result<PathBuf, String> {
    shared(&format!("speech/{name}"))
}

/// `path`, or what is missing: `what` says what it is and how to get it.
pub fn file(path: &Path, what: &str) -> Result<PathBuf, String> {
    if path.exists() {
        Ok(path.to_path_buf())
    } else {
        Err(format!("{} is missing: {what}", path.display()))
    }
}

/// A program on PATH (`program --version` runs).
pub fn program(program: &str, how: &str) -> Result<(), String> {
    let runs = Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if runs {
        Ok(())
    } else {
        Err(format!("{program} is missing: {how}"))
    }
}

// ---- Running guion --------------------------------------------------------------------------

/// The repository: examples/ and tests/fixtures/ are under it, and `guion()` runs in it.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `guion` as built for these tests, run from the repository root (so that `examples/…` paths
/// resolve) with the environment the tests expect: no `RUST_LOG` (log lines on standard error would
/// break the tests that read it line by line). The cache (`GUION_CACHE`) and ONNX Runtime
/// (`ORT_DYLIB_PATH`) are the test run's own unless a test sets them.
pub fn guion() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_guion"));
    command.current_dir(root()).env_remove("RUST_LOG");
    command
}

/// A file the tests read: `examples/…` from the repository's examples, anything else from
/// tests/fixtures/.
pub fn fixture(path: &str) -> PathBuf {
    if path.starts_with("examples/") {
        root().join(path)
    } else {
        root().join("tests/fixtures").join(path)
    }
}

/// A temporary directory, removed when dropped.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("guion-test-")
        .tempdir()
        .unwrap_or_else(|e| panic!("cannot create a temporary directory: {e}"))
}

// ---- Models, loaded once per test binary -------------------------------------------------------

/// A model in a slot of its own, loaded on first use and lent to one test at a time, as a batch
/// worker's models serve its calls in turn. A test that panics while holding it leaves it in
/// place; one that panics while an `Analyser` holds it (see `analyse`) leaves the slot empty, and
/// the next test loads it again.
pub struct Lent<T: 'static>(MutexGuard<'static, Option<T>>);

impl<T> Deref for Lent<T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.0.as_ref().expect("lent while loaded")
    }
}

impl<T> DerefMut for Lent<T> {
    fn deref_mut(&mut self) -> &mut T {
        self.0.as_mut().expect("lent while loaded")
    }
}

/// Lends what `slot` holds, loading it first if it is empty.
pub fn lend<T>(slot: &'static Mutex<Option<T>>, load: impl FnOnce() -> T) -> Lent<T> {
    let mut guard = slot.lock().unwrap_or_else(PoisonError::into_inner);
    if guard.is_none() {
        *guard = Some(load());
    }
    Lent(guard)
}

static LISTENER: Mutex<Option<Listener>> = Mutex::new(None);
static CLASSIFIER: Mutex<Option<Classifier>> = Mutex::new(None);

/// Whisper's options for every recording the tests hear, in this process or through `guion
/// --threads 2`.
pub fn asr_options() -> AsrOptions {
    AsrOptions {
        threads: 2,
        ..AsrOptions::default()
    }
}

/// Whisper base, Silero VAD and the speaker separation (`require!(util::whisper())` first).
pub fn listener() -> Lent<Listener> {
    lend(&LISTENER, load_listener)
}

fn load_listener() -> Listener {
    let model = models::resolve("base").unwrap_or_else(|e| panic!("{e}"));
    let listener = Listener::load(&model, asr_options()).expect("load Whisper base");
    if let Err(e) = listener.vad.as_ref().and(listener.diarizer.as_ref()) {
        panic!("{e}");
    }
    listener
}

/// The encoder and the tone head with `guion call`'s default options (`require!(util::encoder())`
/// first).
pub fn classifier() -> Lent<Classifier> {
    lend(&CLASSIFIER, load_classifier)
}

fn load_classifier() -> Classifier {
    Classifier::load(&ClassifierOptions::default()).unwrap_or_else(|e| panic!("{e}"))
}

/// `guion call`'s analysis with its default options, and Whisper as the tests hear (`asr_options`):
/// meaning on, PII redacted, the script's words as Whisper's prompt.
pub fn call_options() -> AnalyserOptions {
    AnalyserOptions {
        asr: asr_options(),
        ..AnalyserOptions::default()
    }
}

/// What `guion call FILE --script SCRIPT` computes (its `--json` is this record), in this process
/// with the shared models: the classifier when `options.meaning`, the listener for a recording.
/// Panics with the error where the command would exit with it.
pub fn analyse(script: &Script, input: &CallInput, options: AnalyserOptions) -> CallRecord {
    let recording = !guion_core::transcript::read::is_transcript_path(&input.path);
    // Always the listener before the classifier, so that two tests never wait on each other.
    let mut listener = recording.then(listener);
    let mut classifier = options.meaning.then(classifier);
    let mut analyser = Analyser::with_models(
        script,
        options,
        classifier.as_mut().and_then(|c| c.0.take()),
        listener.as_mut().and_then(|l| l.0.take()),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let result = analyser.analyse(input);
    let (c, l) = analyser.into_models();
    if let Some(slot) = &mut classifier {
        *slot.0 = c;
    }
    if let Some(slot) = &mut listener {
        *slot.0 = l;
    }
    result
        .unwrap_or_else(|e| panic!("{}: {e}", input.path.display()))
        .0
}

/// `guion call FILE --script SCRIPT --json`, in this process: the JSON the command prints, read
/// back. (Through text, as the command writes it: `serde_json::to_value` would widen the record's
/// f32 numbers to f64 digits that the printed form does not have.)
/// What one side said in a call, its utterances' text joined in order.
pub fn said_by(record: &CallRecord, speaker: Speaker) -> String {
    record
        .utterances
        .iter()
        .filter(|u| u.speaker == speaker)
        .map(|u| u.text.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn call_json(file: &Path, script: &Path, options: AnalyserOptions) -> serde_json::Value {
    let (script, _) = guion_night::input::load_script(script).unwrap_or_else(|e| panic!("{e}"));
    let input = CallInput {
        path: file.to_path_buf(),
        language: Some("auto".into()),
        ..CallInput::default()
    };
    let printed = serde_json::to_string(&analyse(&script, &input, options)).unwrap();
    serde_json::from_str(&printed).unwrap()
}

// ---- Recordings -----------------------------------------------------------------------------

/// Asterisk's recorded prompts used as the fixed word-error-rate set: call-centre phrasing, real
/// human speech at 8 kHz, with the reference texts Debian ships.
pub const PROMPTS: &[&str] = &[
    "agent-alreadyon",
    "agent-user",
    "conf-getchannel",
    "conf-invalid",
    "conf-onlyperson",
    "conf-placeintoconf",
    "conf-waitforleader",
    "queue-youarenext",
    "privacy-prompt",
    "privacy-unident",
    "conf-usermenu",
    "followme/pls-hold-while-try",
    "vm-intro",
    "queue-periodic-announce",
];

fn prompt_dir(lang: &str) -> PathBuf {
    let voice = match lang {
        "es" => "es_MX_f_Allison",
        "fr" => "fr_CA_f_June",
        "it" => "it_IT_m_Carlo",
        "ru" => "ru_RU_f_IvrvoiceRU",
        _ => "en_US_f_Allison",
    };
    Path::new("/usr/share/asterisk/sounds").join(voice)
}

/// A prompt of Debian's Asterisk sounds (`require!(util::prompts(lang))` first).
pub fn prompt_path(lang: &str, id: &str) -> PathBuf {
    let path = prompt_dir(lang).join(format!("{id}.wav"));
    assert!(
        path.is_file(),
        "{} is missing: scripts/setup installs asterisk-core-sounds-{lang}-wav",
        path.display()
    );
    path
}

fn references_path(lang: &str) -> PathBuf {
    PathBuf::from(format!(
        "/usr/share/doc/asterisk-core-sounds-{lang}/core-sounds-{lang}.txt.gz"
    ))
}

/// `id: text` lines from Debian's core-sounds-LANG.txt.gz (`require!(util::references(lang))`
/// first).
pub fn prompt_references(lang: &str) -> HashMap<String, String> {
    let path = references_path(lang);
    let file = std::fs::File::open(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (scripts/setup installs asterisk-core-sounds-{lang})",
            path.display()
        )
    });
    let mut text = String::new();
    flate2::read::GzDecoder::new(file)
        .read_to_string(&mut text)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.starts_with(';'))
        .filter_map(|l| l.split_once(": "))
        .map(|(id, t)| (id.trim().to_string(), t.trim().to_string()))
        .collect()
}

/// The workplace's shared recordings and dialogues: `$GUION_SHARED_DATA`, else `../shared/data`
/// beside the repository, else the workplace's own `/work/shared/data` (a CI clone may live
/// elsewhere on the same machine).
pub fn shared_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("GUION_SHARED_DATA") {
        return PathBuf::from(dir);
    }
    let beside = root().join("../shared/data");
    let workplace = PathBuf::from("/work/shared/data");
    if !beside.is_dir() && workplace.is_dir() {
        workplace
    } else {
        beside
    }
}

/// Writes 16 kHz float WAV with one Vec per channel.
pub fn write_wav(path: &Path, channels: &[Vec<f32>]) {
    let spec = hound::WavSpec {
        channels: channels.len() as u16,
        sample_rate: 16_000,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    let len = channels.iter().map(Vec::len).max().unwrap_or(0);
    for i in 0..len {
        for ch in channels {
            w.write_sample(ch.get(i).copied().unwrap_or(0.0)).unwrap();
        }
    }
    w.finalize().unwrap();
}

/// A manifest of `n` demo dialogues (text transcripts), with their centres as in the demo night.
pub fn text_night(dir: &Path, n: usize, extra_rows: &str) -> PathBuf {
    let header = "call_id,path,agent_id,vendor,site,sourcing,language,started_at,channels\n";
    let demo = std::fs::read_to_string(fixture("examples/night/manifest.csv")).unwrap();
    let mut text = String::from(header);
    for line in demo.lines().skip(1).take(n) {
        let f: Vec<&str> = line.split(',').collect();
        let dialogue = fixture(&format!("examples/night/dialogues/{}.txt", f[0]));
        text.push_str(&format!(
            "{},{},{},{},{},{},{},{},\n",
            f[0],
            dialogue.display(),
            f[2],
            f[3],
            f[4],
            f[5],
            f[6],
            f[7]
        ));
    }
    text.push_str(extra_rows);
    let path = dir.join("manifest.csv");
    std::fs::write(&path, text).unwrap();
    path
}

/// Kills (SIGKILL: no chance to tidy up) a running `guion batch` whose standard error is piped, as
/// soon as it has reported `calls` calls scored, and says how many it had reported by then.
pub fn kill_after_scored(child: &mut std::process::Child, calls: usize) -> usize {
    use std::io::{BufRead, BufReader};
    let stderr = child.stderr.take().expect("the batch's stderr is piped");
    let mut seen = 0;
    for line in BufReader::new(stderr).lines() {
        if line.unwrap().contains("scored, adherence") {
            seen += 1;
            if seen == calls {
                break;
            }
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    seen
}
