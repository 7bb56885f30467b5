//! The speech detectors side by side (run by scripts/measure-vad): the energy gate
//! (`audio::speech_regions`), Silero VAD (`vad::Vad`), their union and intersection, and decoding
//! everything. For each: seconds of audio kept, and Whisper base (beam 5) on what was kept — word
//! error rate where there is a reference, words written where there should be none, wall time.
//!
//! Inputs: (a) Debian's Asterisk prompts, Spanish and English (the integration tests' PROMPTS in
//! tests/integration/util.rs, reference texts from core-sounds-*.txt.gz); (b) ../shared/data/speech;
//! (c) ten seconds each of digital silence, −30 dBFS hiss, a 425 Hz hold tone, a 425 Hz ringing
//! cadence and a melody of harmonic notes.
//!
//! usage: cargo bench --bench vad -- [--no-asr] [--asr-all] [--only SET] [--threads T]
//!        [--vad NAME=THR,NEG,MIN_SPEECH,MIN_SILENCE,PAD]...
//! Seconds kept are computed for every detector; Whisper runs on the energy gate's, Silero's and any
//! `--vad` detector's regions (`--asr-all`: also on everything, the union and the intersection).
//! `--vad` adds Silero with other options (probabilities are computed once per input and reused).
//! `--only` keeps the sets whose name contains SET (prompts, shared, aws, no speech).

use guion_core::normalize::{Lang, wer, words};
use guion_speech::asr::{AsrOptions, Recogniser};
use guion_speech::audio::{self, GateOptions, SAMPLE_RATE, SpeechRegion};
use guion_speech::vad::{Vad, VadOptions, regions_from_probabilities};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[path = "../tests/integration/util.rs"]
mod util;
use util::{PROMPTS, prompt_path, prompt_references};

struct Input {
    set: &'static str,
    name: String,
    lang: &'static str,
    samples: Vec<f32>,
    reference: Option<String>,
    /// Silero's per-frame probabilities, computed once.
    probabilities: Vec<f32>,
}

#[derive(Clone)]
enum Kind {
    All,
    Gate,
    Vad(VadOptions),
    Union(VadOptions),
    Intersection(VadOptions),
}

#[derive(Clone)]
struct Detector {
    name: String,
    kind: Kind,
    /// Whether Whisper runs on its regions (it is the slow part: ~30 s of encoder per call).
    asr: bool,
}

impl Detector {
    fn regions(&self, input: &Input) -> Vec<SpeechRegion> {
        let len = input.samples.len();
        let gate = || audio::speech_regions(&input.samples, &GateOptions::default());
        let vad = |o: &VadOptions| regions_from_probabilities(&input.probabilities, len, o);
        match &self.kind {
            Kind::All if len > 0 => vec![SpeechRegion { start: 0, end: len }],
            Kind::All => Vec::new(),
            Kind::Gate => gate(),
            Kind::Vad(o) => vad(o),
            Kind::Union(o) => union(&gate(), &vad(o)),
            Kind::Intersection(o) => intersection(&gate(), &vad(o)),
        }
    }
}

fn union(a: &[SpeechRegion], b: &[SpeechRegion]) -> Vec<SpeechRegion> {
    let mut all: Vec<SpeechRegion> = a.iter().chain(b).copied().collect();
    all.sort_by_key(|r| r.start);
    let mut out: Vec<SpeechRegion> = Vec::new();
    for r in all {
        match out.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => out.push(r),
        }
    }
    out
}

fn intersection(a: &[SpeechRegion], b: &[SpeechRegion]) -> Vec<SpeechRegion> {
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        let start = a[i].start.max(b[j].start);
        let end = a[i].end.min(b[j].end);
        if start < end {
            out.push(SpeechRegion { start, end });
        }
        if a[i].end < b[j].end {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

fn seconds(regions: &[SpeechRegion]) -> f64 {
    regions.iter().map(|r| r.len()).sum::<usize>() as f64 / f64::from(SAMPLE_RATE)
}

fn decode(path: &Path) -> audio::Audio {
    audio::decode_file(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn inputs() -> Vec<Input> {
    let mut inputs = Vec::new();
    let mut add = |set, name: String, lang, samples, reference| {
        inputs.push(Input {
            set,
            name,
            lang,
            samples,
            reference,
            probabilities: Vec::new(),
        })
    };
    for (lang, set) in [("es", "prompts es"), ("en", "prompts en")] {
        let refs = prompt_references(lang);
        for id in PROMPTS {
            let audio = decode(&prompt_path(lang, id));
            add(
                set,
                id.to_string(),
                lang,
                audio.channels[0].clone(),
                Some(refs[*id].clone()),
            );
        }
    }

    let shared = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/speech");
    let azure = std::fs::read_to_string(shared.join("azure-en-US-general.trans.txt"))
        .ok()
        .and_then(|t| t.split_once('\t').map(|(_, text)| text.trim().to_string()));
    let references: HashMap<&str, Option<String>> = [
        ("azure-en-US-general.wav", azure),
        (
            "jfk.flac",
            Some(
                "And so my fellow Americans, ask not what your country can do for you, ask what \
                 you can do for your country."
                    .into(),
            ),
        ),
        (
            "whatstheweatherlike-mulaw.wav",
            Some("What's the weather like?".into()),
        ),
    ]
    .into_iter()
    .collect();
    for name in [
        "jfk.flac",
        "azure-en-US-general.wav",
        "whatstheweatherlike-mulaw.wav",
        "katiesteve.wav",
        "test_audio_stereo.wav",
        "aws-demo-agent.wav",
        "aws-demo-agent1.wav",
    ] {
        let path = shared.join(name);
        if !path.is_file() {
            eprintln!("skipped: {} is not here", path.display());
            continue;
        }
        let audio = decode(&path);
        let reference = references.get(name).cloned().flatten();
        let set = if name.starts_with("aws") {
            "aws"
        } else {
            "shared"
        };
        if name == "jfk.flac" {
            // One speaker on both sides: one voice, one channel.
            add(
                set,
                name.into(),
                "en",
                audio::downmix(&audio.channels),
                reference,
            );
        } else if audio.channels.len() == 1 {
            add(set, name.into(), "en", audio.channels[0].clone(), reference);
        } else {
            for (c, channel) in audio.channels.iter().enumerate() {
                add(set, format!("{name}[{c}]"), "en", channel.clone(), None);
            }
        }
    }

    for (name, samples) in no_speech() {
        add("no speech", name.into(), "en", samples, None);
    }
    inputs
}

/// Ten seconds of each thing a call carries that is not speech.
fn no_speech() -> Vec<(&'static str, Vec<f32>)> {
    let n = 10 * SAMPLE_RATE as usize;
    let rate = f64::from(SAMPLE_RATE);
    let mut rng = guion_core::stats::Rng::new(7);
    let mut gaussian = move || {
        let u1 = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        let u2 = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        (-2.0 * (u1 + 1e-300).ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    };
    let level = |dbfs: f64| 10f64.powf(dbfs / 20.0);
    let hiss: Vec<f32> = (0..n).map(|_| (level(-30.0) * gaussian()) as f32).collect();
    let tone = |i: usize| (std::f64::consts::TAU * 425.0 * i as f64 / rate).sin();
    let hold: Vec<f32> = (0..n)
        .map(|i| (level(-12.0) * std::f64::consts::SQRT_2 * tone(i)) as f32)
        .collect();
    // Spain's ringing tone: 1.5 s on, 3 s off.
    let ringing: Vec<f32> = (0..n)
        .map(|i| {
            let on = (i as f64 / rate) % 4.5 < 1.5;
            if on {
                (level(-12.0) * std::f64::consts::SQRT_2 * tone(i)) as f32
            } else {
                0.0
            }
        })
        .collect();
    // A melody of 250 ms notes (three harmonics, plucked envelope) over a held chord: music on hold.
    let scale = [0, 2, 4, 5, 7, 9, 11, 12, 14, 16];
    let melody_notes = [0, 2, 4, 7, 9, 7, 4, 2, 5, 4, 2, 0, 4, 7, 8, 9];
    let melody: Vec<f32> = (0..n)
        .map(|i| {
            let t = i as f64 / rate;
            let k = (t / 0.25) as usize;
            let semitone = scale[melody_notes[k % melody_notes.len()] % scale.len()];
            let f = 440.0 * 2f64.powf(f64::from(semitone) / 12.0);
            let since = t - k as f64 * 0.25;
            let envelope = (-since * 8.0).exp();
            let note: f64 = (1..=3)
                .map(|h| (std::f64::consts::TAU * f * f64::from(h) * t).sin() / f64::from(h))
                .sum();
            let chord: f64 = [130.81, 164.81, 196.0]
                .iter()
                .map(|f| (std::f64::consts::TAU * f * t).sin())
                .sum();
            (0.2 * envelope * note + 0.05 * chord) as f32
        })
        .collect();
    vec![
        ("digital silence", vec![0.0; n]),
        ("hiss -30 dBFS", hiss),
        ("hold tone 425 Hz", hold),
        ("ringing 425 Hz", ringing),
        ("melody", melody),
    ]
}

#[derive(Default)]
struct Tally {
    audio_s: f64,
    kept_s: f64,
    errors: f64,
    reference_words: f64,
    words: usize,
    asr_s: f64,
    /// Whisper ran on this detector's regions.
    asked: bool,
}

fn parse_vad(spec: &str) -> Detector {
    let (name, values) = spec
        .split_once('=')
        .expect("--vad NAME=THR,NEG,MIN_SPEECH,MIN_SILENCE,PAD");
    let v: Vec<&str> = values.split(',').collect();
    let [thr, neg, min_speech, min_silence, pad] = v.as_slice() else {
        panic!("--vad {spec}: five values");
    };
    Detector {
        name: name.into(),
        asr: true,
        kind: Kind::Vad(VadOptions {
            threshold: thr.parse().expect("THR"),
            neg_threshold: neg.parse().expect("NEG"),
            min_speech_ms: min_speech.parse().expect("MIN_SPEECH"),
            min_silence_ms: min_silence.parse().expect("MIN_SILENCE"),
            pad_ms: pad.parse().expect("PAD"),
        }),
    }
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let mut asr = true;
    let mut asr_all = false;
    let mut only: Option<String> = None;
    let mut threads = 2usize;
    let mut extra = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--no-asr" => asr = false,
            "--asr-all" => asr_all = true,
            "--only" => only = it.next().cloned(),
            "--threads" => threads = it.next().and_then(|t| t.parse().ok()).expect("--threads T"),
            "--vad" => extra.push(parse_vad(it.next().expect("--vad SPEC"))),
            other => panic!("unknown argument {other}"),
        }
    }

    let silero = guion_models::resolve("silero-vad")
        .unwrap_or_else(|e| panic!("{e}\n(scripts/measure-vad needs scripts/setup first)"));
    let mut vad = Vad::load(&silero.path, 1).unwrap_or_else(|e| panic!("{e}"));
    let mut inputs = inputs();
    if let Some(only) = &only {
        inputs.retain(|i| i.set.contains(only.as_str()));
    }
    for input in &mut inputs {
        input.probabilities = vad
            .probabilities(&input.samples)
            .unwrap_or_else(|e| panic!("{}: {e}", input.name));
    }

    // Speed on a five-minute channel: the aws recordings end to end, repeated.
    let long: Vec<f32> = inputs
        .iter()
        .filter(|i| i.set == "aws")
        .flat_map(|i| i.samples.iter().copied())
        .cycle()
        .take(300 * SAMPLE_RATE as usize)
        .collect();
    if long.len() == 300 * SAMPLE_RATE as usize {
        let mut vad_s = Vec::new();
        let mut gate_s = Vec::new();
        for _ in 0..5 {
            let t = Instant::now();
            let r = vad
                .speech_regions(&long, &VadOptions::default())
                .expect("vad");
            vad_s.push(t.elapsed().as_secs_f64());
            std::hint::black_box(r);
            let t = Instant::now();
            std::hint::black_box(audio::speech_regions(&long, &GateOptions::default()));
            gate_s.push(t.elapsed().as_secs_f64());
        }
        vad_s.sort_by(f64::total_cmp);
        gate_s.sort_by(f64::total_cmp);
        println!(
            "five minutes of one channel (aws recordings repeated), median of 5 on 1 thread: \
             Silero VAD {:.3} s, energy gate {:.3} s\n",
            vad_s[2], gate_s[2]
        );
    }

    let defaults = VadOptions::default();
    let mut detectors = vec![
        Detector {
            name: "everything".into(),
            kind: Kind::All,
            asr: asr_all,
        },
        Detector {
            name: "energy gate".into(),
            kind: Kind::Gate,
            asr: true,
        },
        Detector {
            name: "silero".into(),
            kind: Kind::Vad(defaults.clone()),
            asr: true,
        },
        Detector {
            name: "gate ∪ silero".into(),
            kind: Kind::Union(defaults.clone()),
            asr: asr_all,
        },
        Detector {
            name: "gate ∩ silero".into(),
            kind: Kind::Intersection(defaults),
            asr: asr_all,
        },
    ];
    detectors.extend(extra);

    let recogniser = if asr {
        let model = guion_models::resolve("base").unwrap_or_else(|e| panic!("{e}"));
        let options = AsrOptions {
            beam_size: 5,
            threads,
            ..AsrOptions::default()
        };
        Some(Recogniser::load(&model, options).unwrap_or_else(|e| panic!("{e}")))
    } else {
        None
    };

    let sets = ["prompts es", "prompts en", "shared", "aws", "no speech"];
    // (set, detector) → tally; per input rows for the small sets.
    let mut tallies: HashMap<(&str, String), Tally> = HashMap::new();
    let mut rows: Vec<String> = Vec::new();
    for input in &inputs {
        // Detectors that keep exactly the same regions get the same transcript: decode once.
        let mut decoded: Vec<(Vec<SpeechRegion>, String, f64)> = Vec::new();
        let mut row = format!(
            "| {} | {} | {:.1} |",
            input.set,
            input.name,
            input.samples.len() as f64 / 16_000.0
        );
        for d in &detectors {
            let regions = d.regions(input);
            let tally = tallies.entry((input.set, d.name.clone())).or_default();
            let kept = seconds(&regions);
            tally.audio_s += input.samples.len() as f64 / f64::from(SAMPLE_RATE);
            tally.kept_s += kept;
            let mut cell = format!(" {kept:.1}");
            if let Some(r) = recogniser.as_ref().filter(|_| d.asr) {
                let known = decoded.iter().find(|(k, _, _)| *k == regions);
                let (text, asr_s) = if let Some((_, text, asr_s)) = known {
                    (text.clone(), *asr_s)
                } else {
                    let t = Instant::now();
                    let segments = r
                        .transcribe(&input.samples, &regions, input.lang)
                        .unwrap_or_else(|e| panic!("{}: {e}", input.name));
                    let asr_s = t.elapsed().as_secs_f64();
                    let text: Vec<&str> = segments.iter().map(|s| s.text.as_str()).collect();
                    let text = text.join(" ");
                    decoded.push((regions.clone(), text.clone(), asr_s));
                    (text, asr_s)
                };
                tally.asr_s += asr_s;
                tally.asked = true;
                let lang = Lang::from_code(input.lang);
                let n = words(&text, lang).len();
                tally.words += n;
                if let Some(reference) = &input.reference {
                    let reference_words = words(reference, lang).len() as f64;
                    let w = wer(reference, &text, lang);
                    tally.errors += w * reference_words;
                    tally.reference_words += reference_words;
                    cell += &format!(" / WER {w:.2}");
                } else {
                    cell += &format!(" / {n} words");
                }
                eprintln!("{} {} [{}]: {text}", input.set, input.name, d.name);
            }
            row += &format!("{cell} |");
        }
        rows.push(row);
    }

    println!("## Per set (kept = seconds of audio handed to Whisper)\n");
    println!("| set | detector | audio s | kept s | kept % | WER | words | ASR wall s |");
    println!("|---|---|---:|---:|---:|---:|---:|---:|");
    for set in sets {
        for d in &detectors {
            let Some(t) = tallies.get(&(set, d.name.clone())) else {
                continue;
            };
            let wer = if t.reference_words > 0.0 && t.asked {
                format!("{:.3}", t.errors / t.reference_words)
            } else {
                "—".into()
            };
            let (words, asr_s) = if t.asked {
                (t.words.to_string(), format!("{:.1}", t.asr_s))
            } else {
                ("—".into(), "—".into())
            };
            println!(
                "| {set} | {} | {:.1} | {:.1} | {:.0} | {wer} | {words} | {asr_s} |",
                d.name,
                t.audio_s,
                t.kept_s,
                100.0 * t.kept_s / t.audio_s.max(1e-9)
            );
        }
    }
    println!("\n## Per input: seconds kept (/ WER or words written)\n");
    let header: Vec<&str> = detectors.iter().map(|d| d.name.as_str()).collect();
    println!("| set | input | audio s | {} |", header.join(" | "));
    println!("|---|---|---:|{}", "---:|".repeat(detectors.len()));
    for row in rows {
        println!("{row}");
    }
}
