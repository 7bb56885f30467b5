//! Mono calls with a known answer, for `tests/integration/diarize.rs` and `benches/diarize.rs`: real
//! recorded utterances of two different real speakers, alternated as the two channels of a call (with
//! pauses and some overtalk), then mixed to one channel. Each channel's own speech activity
//! (`audio::speech_regions` on that channel alone) is the reference.
#![allow(dead_code)]

use guion_core::stats::Rng;
use guion_speech::audio::{self, GateOptions, SAMPLE_RATE};
use guion_speech::diarize::Turn;
use std::path::{Path, PathBuf};

/// A speaker's utterances, each a run of speech cut at pauses of 0.8 s or more.
pub struct Voice {
    pub name: String,
    pub utterances: Vec<Vec<f32>>,
}

/// A two-channel call and its mono mixdown.
pub struct Call {
    pub name: String,
    pub channels: [Vec<f32>; 2],
    pub mono: Vec<f32>,
    pub reference: Vec<Turn>,
}

/// A recording of ../shared/data/speech (found as `util::shared_dir` says).
pub fn shared(name: &str) -> PathBuf {
    let path = crate::util::shared_dir().join("speech").join(name);
    assert!(
        path.is_file(),
        "{} is missing: the diarization measurement needs ../shared/data (see SOURCES.md)",
        path.display()
    );
    path
}

/// The first channel of a file, at 16 kHz.
pub fn load(path: &Path) -> Vec<f32> {
    let audio = audio::decode_file(path).unwrap_or_else(|e| panic!("{e}"));
    audio.channels.into_iter().next().unwrap_or_default()
}

/// Cuts a recording into utterances at its pauses: the gate's speech regions, joined where the
/// pause between them is under 0.8 s as long as the utterance stays under 10 s (a long stretch of
/// talk is cut at its shorter pauses instead), kept if 0.6 s or longer; each scaled to the same
/// loudness so that neither party drowns the other in the mix.
pub fn utterances(samples: &[f32]) -> Vec<Vec<f32>> {
    // A finer gate than the default, so that fluent read speech (the Azure sample has no pause of
    // 300 ms in 42 s) still has places to cut.
    let fine = GateOptions {
        merge_gap_ms: 120,
        padding_ms: 60,
        ..GateOptions::default()
    };
    let regions = audio::speech_regions(samples, &fine);
    let sr = SAMPLE_RATE as usize;
    let pause = sr * 8 / 10;
    let longest = sr * 10;
    let mut joined: Vec<(usize, usize)> = Vec::new();
    for r in regions {
        match joined.last_mut() {
            Some(last) if r.start < last.1 + pause && r.end - last.0 <= longest => last.1 = r.end,
            _ => joined.push((r.start, r.end)),
        }
    }
    joined
        .into_iter()
        .filter(|(s, e)| e - s >= sr * 6 / 10)
        .map(|(s, e)| normalise(&samples[s..e]))
        .collect()
}

fn normalise(samples: &[f32]) -> Vec<f32> {
    let rms = (samples.iter().map(|x| x * x).sum::<f32>() / samples.len().max(1) as f32).sqrt();
    let gain = if rms > 0.0 { 0.08 / rms } else { 1.0 };
    samples
        .iter()
        .map(|x| (x * gain).clamp(-1.0, 1.0))
        .collect()
}

pub fn voice_from_file(name: &str) -> Voice {
    Voice {
        name: name.to_string(),
        utterances: utterances(&load(&shared(name))),
    }
}

/// Allison's Asterisk prompts (one professional voice) in `lang` ("en" or "es"): the first `n`
/// prompts of 1.5 s or more in name order, each one utterance.
pub fn allison(lang: &str, n: usize) -> Voice {
    let dir = match lang {
        "es" => "/usr/share/asterisk/sounds/es_MX_f_Allison",
        _ => "/usr/share/asterisk/sounds/en_US_f_Allison",
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| {
            panic!("{dir}: {e}; scripts/setup installs asterisk-core-sounds-{lang}-wav")
        })
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "wav"))
        .collect();
    files.sort();
    let mut utterances = Vec::new();
    for f in files {
        if utterances.len() == n {
            break;
        }
        let samples = load(&f);
        if samples.len() as f64 / f64::from(SAMPLE_RATE) >= 1.5 {
            utterances.push(normalise(&samples));
        }
    }
    Voice {
        name: format!("allison-{lang}"),
        utterances,
    }
}

fn secs(s: f64) -> usize {
    (s * f64::from(SAMPLE_RATE)) as usize
}

fn uniform(rng: &mut Rng, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) * (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// A call of about `length_s` seconds: the two voices take turns of one to three utterances
/// (pauses of 0.2–0.7 s inside a turn), 0.2–1.5 s apart; one turn change in five starts 0.3–1.0 s
/// before the other party has finished (overtalk). Seeded: the same arguments give the same call.
pub fn two_party(name: &str, a: &Voice, b: &Voice, length_s: f64, seed: u64) -> Call {
    for v in [a, b] {
        assert!(!v.utterances.is_empty(), "{}: no utterances found", v.name);
    }
    let voices = [a, b];
    let mut rng = Rng::new(seed);
    let mut tracks: [Vec<f32>; 2] = [Vec::new(), Vec::new()];
    let mut next = [0usize, 0usize];
    let mut cursor = secs(0.5);
    let mut speaker = 0;
    let total = secs(length_s);
    while cursor < total {
        let voice = voices[speaker];
        let count = 1 + rng.below(3);
        let mut at = cursor;
        for i in 0..count {
            if i > 0 {
                at += secs(uniform(&mut rng, 0.2, 0.7));
            }
            let u = &voice.utterances[next[speaker] % voice.utterances.len()];
            next[speaker] += 1;
            let track = &mut tracks[speaker];
            if track.len() < at + u.len() {
                track.resize(at + u.len(), 0.0);
            }
            for (t, x) in track[at..].iter_mut().zip(u) {
                *t += x;
            }
            at += u.len();
        }
        cursor = if rng.below(5) == 0 {
            at.saturating_sub(secs(uniform(&mut rng, 0.3, 1.0)))
        } else {
            at + secs(uniform(&mut rng, 0.2, 1.5))
        };
        speaker = 1 - speaker;
    }
    let len = tracks[0].len().max(tracks[1].len()) + secs(0.5);
    for t in &mut tracks {
        t.resize(len, 0.0);
    }
    let reference = tracks
        .iter()
        .enumerate()
        .flat_map(|(s, t)| reference_turns(t, s as u32))
        .collect();
    let mono = audio::downmix(&tracks);
    Call {
        name: name.to_string(),
        channels: tracks,
        mono,
        reference,
    }
}

/// One channel's speech activity as turns of `speaker`.
pub fn reference_turns(channel: &[f32], speaker: u32) -> Vec<Turn> {
    audio::speech_regions(channel, &GateOptions::default())
        .into_iter()
        .map(|r| Turn {
            start: r.start_s(),
            end: r.end_s(),
            voice: speaker,
        })
        .collect()
}
