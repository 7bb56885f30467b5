//! What the call-language decision sees on real speech (`cargo bench --bench language`): for
//! calls built from Debian's recorded Asterisk prompts in Spanish, English, French, Italian and
//! Russian (8 kHz human voices), the speech-weighted share of the allowed languages, the top
//! language outside them, the verdict, and the detector's time. The thresholds in
//! `src/language.rs` were set from this table.

use guion_speech::asr::{AsrOptions, Recogniser, chunk_speech};
use guion_speech::audio;
use guion_speech::language::{self, CallLanguage, Heard};
use std::time::Instant;

#[path = "../tests/integration/util.rs"]
mod util;

/// The tests' prompts; the first twelve make three calls of four.
const IDS: &[&str] = util::PROMPTS;

/// A "call": prompts of one language one after another with a second of silence between.
fn call(lang: &str, ids: &[&str]) -> Vec<f32> {
    let mut out = Vec::new();
    for id in ids {
        let Ok(a) = audio::decode_file(&util::prompt_path(lang, id)) else {
            continue;
        };
        out.extend_from_slice(&a.channels[0]);
        out.extend(std::iter::repeat_n(0.0, audio::SAMPLE_RATE as usize));
    }
    out
}

fn main() {
    let model = guion_models::resolve("base").expect("scripts/setup installs Whisper base");
    let r = Recogniser::load(
        &model,
        AsrOptions {
            threads: 2,
            ..AsrOptions::default()
        },
    )
    .expect("load Whisper");
    let es_en: Vec<String> = vec!["es".into(), "en".into()];
    println!(
        "{:<6} {:<28} {:>7} {:>9} {:>10} {:>12}  verdict",
        "lang", "prompts", "speech", "allowed", "top other", "detect s"
    );
    for lang in ["es", "en", "fr", "it", "ru"] {
        let singles: Vec<(String, Vec<&str>)> =
            IDS.iter().map(|id| (id.to_string(), vec![*id])).collect();
        let groups = [
            ("first 4".to_string(), IDS[..4].to_vec()),
            ("next 4".to_string(), IDS[4..8].to_vec()),
            ("last 4".to_string(), IDS[8..12].to_vec()),
        ];
        for (name, ids) in groups.iter().chain(&singles) {
            let (name, ids) = (name.as_str(), ids.as_slice());
            let samples = call(lang, ids);
            let regions = audio::speech_regions(&samples, &AsrOptions::default().gate);
            let started = Instant::now();
            let heard: Vec<Heard> = chunk_speech(&samples, &regions)
                .iter()
                .map(|c| Heard {
                    speech_s: c.speech_s(),
                    probs: r.language_probs(c).expect("detect"),
                })
                .collect();
            let secs = started.elapsed().as_secs_f64();
            let speech: f64 = heard.iter().map(|h| h.speech_s).sum();
            let share = |code: &str| -> f32 {
                heard
                    .iter()
                    .map(|h| {
                        h.probs.iter().find(|(c, _)| c == code).map_or(0.0, |p| p.1)
                            * (h.speech_s / speech) as f32
                    })
                    .sum()
            };
            let allowed_p = share("es") + share("en");
            let mut others: Vec<(String, f32)> = heard[0]
                .probs
                .iter()
                .filter(|(c, _)| c != "es" && c != "en")
                .map(|(c, _)| (c.clone(), share(c)))
                .collect();
            others.sort_by(|a, b| b.1.total_cmp(&a.1));
            let verdict = match language::call_language(&heard, &es_en) {
                CallLanguage::Allowed(l) => format!("allowed: {l}"),
                CallLanguage::Wrong { found, .. } => format!("wrong_language: {found}"),
                CallLanguage::NoSpeech => "no speech".into(),
            };
            println!(
                "{lang:<6} {name:<28} {speech:>6.1}s {allowed_p:>9.3} {:>5} {:>4.2} {secs:>12.2}  {verdict}",
                others[0].0, others[0].1
            );
        }
    }
}
