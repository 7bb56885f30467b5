//! Silero VAD on real speech and on what a call carries that is not speech.

use crate::util::{self, Lent, prompt_path, require};
use guion_speech::audio::{self, SAMPLE_RATE, SpeechRegion};
use guion_speech::vad::{Vad, VadOptions};
use std::sync::Mutex;

/// What every test here needs: the model and the runtime it runs on.
fn silero() -> Result<(), String> {
    util::model("silero-vad")?;
    util::onnx_runtime()
}

/// The installed model, loaded once per test binary (as a worker would); `require!(silero())` first.
fn vad() -> Lent<Vad> {
    static VAD: Mutex<Option<Vad>> = Mutex::new(None);
    util::lend(&VAD, || {
        let model = guion_models::resolve("silero-vad").unwrap_or_else(|e| panic!("{e}"));
        Vad::load(&model.path, 1).unwrap_or_else(|e| panic!("{e}"))
    })
}

fn regions(samples: &[f32]) -> Vec<SpeechRegion> {
    vad()
        .speech_regions(samples, &VadOptions::default())
        .unwrap_or_else(|e| panic!("{e}"))
}

fn seconds(regions: &[SpeechRegion]) -> f64 {
    regions.iter().map(|r| r.len()).sum::<usize>() as f64 / f64::from(SAMPLE_RATE)
}

fn prompt(lang: &str, id: &str) -> Vec<f32> {
    let path = prompt_path(lang, id);
    let decoded = audio::decode_file(&path).unwrap_or_else(|e| panic!("{e}"));
    decoded.channels[0].clone()
}

/// Whole and well formed: in order, disjoint, inside the audio.
fn assert_well_formed(regions: &[SpeechRegion], len: usize) {
    for r in regions {
        assert!(r.start < r.end && r.end <= len, "{regions:?} in {len}");
    }
    for w in regions.windows(2) {
        assert!(w[0].end < w[1].start, "{regions:?}");
    }
}

// Measured 2026-12-01 with the default options, each prompt set in 2 s of faint hiss on both sides:
// one region each, en 1.88–7.46 s around speech at 2.00–7.36 s, es 1.98–8.90 s around 2.00–8.63 s
// (the prompts' own lead-in and tail are quiet too).
#[test]
fn a_real_prompt_is_kept_and_the_quiet_around_it_is_not() {
    require!(silero(), util::prompts("en"), util::prompts("es"));
    let mut rng = guion_core::stats::Rng::new(5);
    let mut hiss = |n: usize| -> Vec<f32> {
        (0..n)
            .map(|_| ((rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 - 0.5) as f32 * 0.003)
            .collect()
    };
    let rate = f64::from(SAMPLE_RATE);
    for lang in ["en", "es"] {
        let speech = prompt(lang, "queue-youarenext");
        let mut samples = hiss(2 * SAMPLE_RATE as usize);
        samples.extend(&speech);
        samples.extend(hiss(2 * SAMPLE_RATE as usize));
        let (start, end) = (2.0, 2.0 + speech.len() as f64 / rate);

        let r = regions(&samples);
        assert_well_formed(&r, samples.len());
        let kept = seconds(&r);
        let (first, last) = (r[0].start_s(), r[r.len() - 1].end_s());
        eprintln!(
            "{lang}: kept {kept:.2} s, {first:.2}–{last:.2} s, speech {start:.2}–{end:.2} s, {r:?}"
        );
        assert!(r.len() <= 3, "{lang}: speech cut into pieces: {r:?}");
        assert!(
            kept >= 0.95 * (end - start) && kept <= end - start + 0.8,
            "{lang}: kept {kept:.2} s of {:.2} s of speech",
            end - start
        );
        assert!(
            (start - 0.4..=start + 0.1).contains(&first),
            "{lang}: starts at {first:.2} s, speech at {start:.2} s"
        );
        assert!(
            (end - 0.1..=end + 0.4).contains(&last),
            "{lang}: ends at {last:.2} s, speech at {end:.2} s"
        );
    }
}

#[test]
fn nothing_is_kept_of_silence_hiss_tones_or_music() {
    require!(silero());
    let n = 10 * SAMPLE_RATE as usize;
    let rate = f64::from(SAMPLE_RATE);
    let mut rng = guion_core::stats::Rng::new(3);
    let mut uniform = move || (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
    // Uniform noise at −30 dBFS RMS (a uniform variable's RMS is its width / √12).
    let hiss: Vec<f32> = (0..n)
        .map(|_| (0.0316 * 12f64.sqrt() * uniform()) as f32)
        .collect();
    let tone = |f: f64, i: usize| (std::f64::consts::TAU * f * i as f64 / rate).sin();
    let hold: Vec<f32> = (0..n).map(|i| (0.35 * tone(425.0, i)) as f32).collect();
    // Notes of a melody, a quarter second each, with two harmonics and a decaying envelope.
    let melody: Vec<f32> = (0..n)
        .map(|i| {
            let t = i as f64 / rate;
            let note = (t / 0.25) as usize;
            let f = 440.0 * 2f64.powf([0.0, 4.0, 7.0, 12.0, 9.0, 5.0][note % 6] / 12.0);
            let envelope = (-(t - note as f64 * 0.25) * 8.0).exp();
            (0.2 * envelope * (tone(f, i) + tone(2.0 * f, i) / 2.0 + tone(3.0 * f, i) / 3.0)) as f32
        })
        .collect();
    for (name, samples) in [
        ("digital silence", vec![0.0; n]),
        ("hiss", hiss),
        ("425 Hz hold tone", hold),
        ("melody", melody),
    ] {
        let r = regions(&samples);
        assert!(r.is_empty(), "{name}: kept {r:?}");
    }
}

#[test]
fn the_same_channel_gives_the_same_regions_whatever_came_before() {
    require!(silero(), util::prompts("en"), util::prompts("es"));
    let speech = prompt("en", "conf-usermenu");
    let first = vad().probabilities(&speech).unwrap();
    let regions_first = regions(&speech);
    // Another channel in between: the state must not leak from one call into the next.
    regions(&prompt("es", "vm-intro"));
    assert_eq!(vad().probabilities(&speech).unwrap(), first);
    assert_eq!(regions(&speech), regions_first);
    assert_eq!(first.len(), speech.len().div_ceil(guion_speech::vad::FRAME));
    assert!(first.iter().all(|p| (0.0..=1.0).contains(p)));
}

#[test]
fn empty_and_tiny_input_keep_nothing_and_do_not_fail() {
    require!(silero());
    assert!(regions(&[]).is_empty());
    assert!(vad().probabilities(&[]).unwrap().is_empty());
    assert!(regions(&[0.0; 100]).is_empty());
    assert!(regions(&[0.9; 511]).is_empty());
    assert_eq!(vad().probabilities(&[0.1; 513]).unwrap().len(), 2);
}

#[test]
fn a_file_that_is_not_the_model_is_refused_by_name() {
    require!(util::onnx_runtime(), util::model("pyannote-segmentation"));
    let dir = util::tempdir();
    let junk = dir.path().join("junk.onnx");
    std::fs::write(&junk, b"not a model").unwrap();
    let err = Vad::load(&junk, 1).err().expect("junk loads").to_string();
    assert!(err.contains("junk.onnx"), "{err}");

    // A real ONNX model, but another one: the speaker segmenter.
    let other = guion_models::resolve("pyannote-segmentation").unwrap_or_else(|e| panic!("{e}"));
    let err = Vad::load(&other.path, 1)
        .err()
        .expect("wrong model loads")
        .to_string();
    assert!(err.contains("not Silero VAD"), "{err}");
    assert!(err.contains("pyannote-segmentation-3.0.onnx"), "{err}");
}
