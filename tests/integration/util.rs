//! Shared by the integration tests (and included by benches/language.rs and benches/vad.rs): the real
//! model, loaded once per test binary, and the real recordings they run on (Debian's Asterisk
//! prompts, installed by scripts/setup, and ../shared/data).
#![allow(dead_code)]

use guion_models as models;
use guion_night::pipeline::Listener;
use guion_speech::asr::AsrOptions;
use std::collections::HashMap;
use std::io::Read;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard, OnceLock};

/// Whisper base and the speaker separation, loaded once and shared: the tests take turns, as a
/// batch worker's calls do.
pub fn listener() -> MutexGuard<'static, Listener> {
    static LISTENER: OnceLock<Mutex<Listener>> = OnceLock::new();
    LISTENER
        .get_or_init(|| {
            let model = models::resolve("base").unwrap_or_else(|e| {
                panic!("{e}\n(the integration tests need scripts/setup first)")
            });
            let options = AsrOptions {
                threads: 2,
                ..AsrOptions::default()
            };
            let listener = Listener::load(&model, options).expect("load Whisper base");
            if let Err(e) = listener.vad.as_ref().and(listener.diarizer.as_ref()) {
                panic!("{e}\n(the integration tests need scripts/setup first)");
            }
            Mutex::new(listener)
        })
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

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

pub fn prompt_path(lang: &str, id: &str) -> PathBuf {
    let voice = match lang {
        "es" => "es_MX_f_Allison",
        "fr" => "fr_CA_f_June",
        "it" => "it_IT_m_Carlo",
        "ru" => "ru_RU_f_IvrvoiceRU",
        _ => "en_US_f_Allison",
    };
    let path = PathBuf::from(format!("/usr/share/asterisk/sounds/{voice}/{id}.wav"));
    assert!(
        path.is_file(),
        "{} is missing: scripts/setup installs asterisk-core-sounds-{lang}-wav",
        path.display()
    );
    path
}

/// `id: text` lines from Debian's core-sounds-LANG.txt.gz.
pub fn prompt_references(lang: &str) -> HashMap<String, String> {
    let path = format!("/usr/share/doc/asterisk-core-sounds-{lang}/core-sounds-{lang}.txt.gz");
    let file = std::fs::File::open(&path).unwrap_or_else(|e| {
        panic!("{path}: {e} (scripts/setup installs asterisk-core-sounds-{lang})")
    });
    let mut text = String::new();
    flate2::read::GzDecoder::new(file)
        .read_to_string(&mut text)
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines()
        .filter(|l| !l.starts_with(';'))
        .filter_map(|l| l.split_once(": "))
        .map(|(id, t)| (id.trim().to_string(), t.trim().to_string()))
        .collect()
}

/// A file of ../shared/data/speech, or None (with a note) outside this workplace.
pub fn shared_speech(name: &str) -> Option<PathBuf> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/speech")
        .join(name);
    if path.is_file() {
        Some(path)
    } else {
        eprintln!(
            "skipped: {} is not here (outside the workplace)",
            path.display()
        );
        None
    }
}

/// Writes 16 kHz float WAV with one Vec per channel.
pub fn write_wav(path: &std::path::Path, channels: &[Vec<f32>]) {
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
