//! Speaker separation with the real segmentation model on real recordings: a two-party mono mixdown
//! built from two real speakers (`diarize_calls`), one-speaker recordings, and audio too short for a
//! window.

use crate::diarize_calls as calls;
use crate::util::{self, Lent, require};
use guion_speech::diarize::{Diarizer, diarization_error};
use std::sync::Mutex;

/// The segmentation model and the runtime it runs on.
fn segmenter() -> Result<(), String> {
    util::model("pyannote-segmentation")?;
    util::onnx_runtime()
}

/// The installed model, loaded once per test binary; `require!(segmenter())` first.
fn diarizer() -> Lent<Diarizer> {
    static DIARIZER: Mutex<Option<Diarizer>> = Mutex::new(None);
    util::lend(&DIARIZER, || {
        let model =
            guion_models::resolve("pyannote-segmentation").unwrap_or_else(|e| panic!("{e}"));
        Diarizer::load(&model.path, 2).unwrap_or_else(|e| panic!("{e}"))
    })
}

#[test]
fn two_real_speakers_mixed_to_mono_are_told_apart() {
    require!(
        segmenter(),
        util::prompts("en"),
        util::shared_speech("azure-en-US-general.wav")
    );
    let allison = calls::allison("en", 40);
    let azure = calls::voice_from_file("azure-en-US-general.wav");
    let call = calls::two_party("allison-en+azure", &allison, &azure, 120.0, 5);
    let mut diarizer = diarizer();
    let d = diarizer.diarize(&call.mono).unwrap();
    assert_eq!(d.speakers, 2, "{:?}", d.turns);
    let der = diarization_error(&call.reference, &d.turns, 0.25);
    // Measured 3.5 % (benches/diarize.rs); the bound leaves room for ONNX Runtime versions.
    assert!(
        der.rate() < 0.10,
        "DER {:.1} %: {der:?}",
        100.0 * der.rate()
    );
    // Words are given to the speaker who says them.
    let first = call.reference.iter().find(|t| t.voice == 0).unwrap();
    let mid = (first.start + first.end) / 2.0;
    let agent = d.speaker_of(mid - 0.2, mid + 0.2);
    let second = call.reference.iter().find(|t| t.voice == 1).unwrap();
    let mid = (second.start + second.end) / 2.0;
    assert_ne!(agent, d.speaker_of(mid - 0.2, mid + 0.2));
    assert!(d.talk_s(0) > 20.0 && d.talk_s(1) > 20.0);
    // The same input gives the same turns.
    assert_eq!(diarizer.diarize(&call.mono).unwrap(), d);
}

#[test]
fn one_speaker_comes_out_as_one() {
    require!(
        segmenter(),
        util::shared_speech("aws-demo-agent.wav"),
        util::shared_speech("azure-en-US-general.wav")
    );
    let mut diarizer = diarizer();
    // The AWS agent alone, with the long silences where the customer spoke: the model gives this
    // voice two labels across a silence, and the voice cue must bring them back together.
    for name in ["aws-demo-agent.wav", "azure-en-US-general.wav"] {
        let samples = calls::load(&calls::shared(name));
        let d = diarizer.diarize(&samples).unwrap();
        assert_eq!(d.speakers, 1, "{name}: {:?}", d.turns);
        assert_eq!(d.overlap_s(), 0.0, "{name}");
        let reference = calls::reference_turns(&samples, 0);
        let der = diarization_error(&reference, &d.turns, 0.25);
        assert!(der.rate() < 0.10, "{name}: DER {:.1} %", 100.0 * der.rate());
    }
}

#[test]
fn empty_and_short_audio_do_not_break_it() {
    require!(segmenter(), util::shared_speech("jfk.flac"));
    let mut diarizer = diarizer();
    assert_eq!(diarizer.diarize(&[]).unwrap().speakers, 0);
    assert!(diarizer.diarize(&[0.0; 100]).unwrap().turns.is_empty());
    let jfk = calls::load(&calls::shared("jfk.flac"));
    // Under a second, and under a window: padded with silence.
    let short = diarizer.diarize(&jfk[..12_000]).unwrap();
    assert!(short.turns.iter().all(|t| t.end <= 0.75 + 1e-9));
    let d = diarizer.diarize(&jfk).unwrap();
    assert_eq!(d.speakers, 1, "{:?}", d.turns);
    assert!(
        d.turns
            .iter()
            .all(|t| t.end <= jfk.len() as f64 / 16_000.0 + 1e-9)
    );
}
