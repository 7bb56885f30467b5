//! Speaker separation of mono calls, measured: diarization error rate (missed, false alarm,
//! confusion; 0.25 s collar) on mono mixdowns of two-channel calls whose channels are the truth,
//! and seconds of compute per minute of audio. Run by scripts/measure-diarization.
//!
//! usage: cargo bench --bench diarize -- [--model ONNX] [--threads T] [--step FRAMES]
//!        [--min-gap S] [--min-turn S] [--max-speakers N] [--merge-below DB] [--threshold P]
//!        [--night DIR] [--only CALL] [--turns]
//!
//! The calls: real utterances of two different real speakers (the AWS demo agent, the Azure sample
//! speaker, Asterisk's Allison in English and Spanish) alternated with pauses and overtalk by
//! `tests/integration/diarize_calls.rs`; one-speaker recordings, which must come out as one speaker;
//! with `--night DIR`, the demo night's stereo WAVs (scripts/make-demo-night) mixed to mono; and
//! katiesteve.wav, a real two-speaker mono recording without a reference, whose turns are printed.

#[path = "../tests/integration/diarize_calls.rs"]
mod calls;
#[path = "../tests/integration/util.rs"]
mod util;

use calls::{Call, Voice};
use guion_speech::diarize::{Der, Diarization, Diarizer, StitchOptions, Turn, diarization_error};
use std::path::PathBuf;
use std::time::Instant;

const COLLAR_S: f64 = 0.25;

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let model = flag("--model").map_or_else(
        || guion_models::cache_dir().join("models/pyannote-segmentation-3.0.onnx"),
        PathBuf::from,
    );
    let threads: usize = flag("--threads").map_or(1, |v| v.parse().expect("--threads"));
    let mut options = StitchOptions::default();
    if let Some(v) = flag("--step") {
        options.step_frames = v.parse().expect("--step");
    }
    if let Some(v) = flag("--min-gap") {
        options.min_gap_s = v.parse().expect("--min-gap");
    }
    if let Some(v) = flag("--min-turn") {
        options.min_turn_s = v.parse().expect("--min-turn");
    }
    if let Some(v) = flag("--max-speakers") {
        options.max_speakers = v.parse().expect("--max-speakers");
    }
    if let Some(v) = flag("--merge-below") {
        options.merge_below_db = v.parse().expect("--merge-below");
    }
    if let Some(v) = flag("--threshold") {
        options.threshold = v.parse().expect("--threshold");
    }
    let show_turns = args.iter().any(|a| a == "--turns");
    println!(
        "model {} threads {threads} step {} frames ({:.2} s) min_gap {} s min_turn {} s max_speakers {}",
        model.display(),
        options.step_frames,
        options.step_frames as f64 * 270.0 / 16000.0,
        options.min_gap_s,
        options.min_turn_s,
        options.max_speakers
    );
    let mut diarizer = Diarizer::with_options(&model, threads, options).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(2)
    });

    let agent = calls::voice_from_file("aws-demo-agent.wav");
    let agent1 = calls::voice_from_file("aws-demo-agent1.wav");
    let azure = calls::voice_from_file("azure-en-US-general.wav");
    let allison_en = calls::allison("en", 40);
    let allison_es = calls::allison("es", 40);
    for v in [&agent, &agent1, &azure, &allison_en, &allison_es] {
        let lengths: Vec<f64> = v
            .utterances
            .iter()
            .map(|u| u.len() as f64 / 16000.0)
            .collect();
        println!(
            "voice {:<20} {:>3} utterances, {:.0} s, longest {:.1} s",
            v.name,
            lengths.len(),
            lengths.iter().sum::<f64>(),
            lengths.iter().copied().fold(0.0, f64::max)
        );
    }
    // aws-demo-agent and aws-demo-agent1 are the same agent ("my name is Babu" in both), and the
    // two Allisons one voice in two languages: never paired with each other.
    let pairs: [(&Voice, &Voice, u64); 5] = [
        (&agent, &allison_en, 1),
        (&allison_es, &agent1, 2),
        (&azure, &agent, 3),
        (&agent1, &azure, 4),
        (&allison_en, &azure, 5),
    ];
    let mut two: Vec<Call> = pairs
        .iter()
        .map(|(a, b, seed)| calls::two_party(&format!("{}+{}", a.name, b.name), a, b, 120.0, *seed))
        .collect();
    // The whole of each one-speaker recording, pauses and all.
    let mut one: Vec<Call> = ["azure-en-US-general.wav", "aws-demo-agent.wav", "jfk.flac"]
        .iter()
        .map(|name| {
            let samples = calls::load(&calls::shared(name));
            Call {
                name: name.to_string(),
                reference: calls::reference_turns(&samples, 0),
                channels: [samples.clone(), Vec::new()],
                mono: samples,
            }
        })
        .collect();
    if let Some(only) = flag("--only") {
        two.retain(|c| c.name == only);
        one.retain(|c| c.name == only);
    }
    let mut night = Vec::new();
    if let Some(dir) = flag("--night") {
        night = night_calls(&PathBuf::from(dir));
    }

    let mut compute_s = 0.0;
    let mut audio_s = 0.0;
    let mut run = |call: &Call| -> Diarization {
        let t = Instant::now();
        let d = diarizer.diarize(&call.mono).expect("diarize");
        compute_s += t.elapsed().as_secs_f64();
        audio_s += call.mono.len() as f64 / 16000.0;
        d
    };
    let mut report = |group: &str, calls: &mut Vec<Call>| {
        let mut total = Der::default();
        println!("\n{group}");
        println!(
            "{:<36} {:>6} {:>5} {:>8} {:>8} {:>8} {:>8} {:>7}",
            "call", "len_s", "spk", "speech_s", "missed", "f_alarm", "confus", "DER"
        );
        for call in calls.iter() {
            let d = run(call);
            let der = diarization_error(&call.reference, &d.turns, COLLAR_S);
            total = total.add(&der);
            print_row(&call.name, call.mono.len() as f64 / 16000.0, &d, &der);
            if show_turns {
                println!("  reference:");
                print_turns(&call.reference);
                println!("  diarizer:");
                print_turns(&d.turns);
            }
        }
        let spk = "";
        println!(
            "{:<36} {:>6} {:>5} {:>8.1} {:>7.1}% {:>7.1}% {:>7.1}% {:>6.1}%",
            "overall",
            "",
            spk,
            total.speech_s,
            pct(total.missed_s, total.speech_s),
            pct(total.false_alarm_s, total.speech_s),
            pct(total.confusion_s, total.speech_s),
            100.0 * total.rate()
        );
        calls.clear();
    };
    report(
        "two-party calls from real recordings (mono mixdown)",
        &mut two,
    );
    report("one-speaker recordings (must be one speaker)", &mut one);
    if !night.is_empty() {
        report(
            "demo night, stereo calls mixed to mono (espeak-ng voices)",
            &mut night,
        );
    }

    let katie = calls::load(&calls::shared("katiesteve.wav"));
    let t = Instant::now();
    let d = diarizer.diarize(&katie).expect("diarize");
    compute_s += t.elapsed().as_secs_f64();
    audio_s += katie.len() as f64 / 16000.0;
    println!(
        "\nkatiesteve.wav (no reference): {} speakers, {} turns, overlap {:.1} s, talk {:?}",
        d.speakers,
        d.turns.len(),
        d.overlap_s(),
        (0..d.speakers)
            .map(|s| format!("{s}: {:.1} s", d.talk_s(s)))
            .collect::<Vec<_>>()
    );
    print_turns(&d.turns);
    println!(
        "\ncompute: {compute_s:.2} s for {audio_s:.0} s of audio = {:.2} s per minute of audio ({threads} thread(s))",
        compute_s / audio_s * 60.0
    );
}

fn pct(x: f64, of: f64) -> f64 {
    if of > 0.0 { 100.0 * x / of } else { 0.0 }
}

fn print_row(name: &str, len_s: f64, d: &Diarization, der: &Der) {
    println!(
        "{:<36} {:>6.1} {:>5} {:>8.1} {:>7.1}% {:>7.1}% {:>7.1}% {:>6.1}%",
        name,
        len_s,
        d.speakers,
        der.speech_s,
        pct(der.missed_s, der.speech_s),
        pct(der.false_alarm_s, der.speech_s),
        pct(der.confusion_s, der.speech_s),
        100.0 * der.rate()
    );
}

fn print_turns(turns: &[Turn]) {
    for t in turns {
        println!("    {:>7.2} {:>7.2}  speaker {}", t.start, t.end, t.voice);
    }
}

/// The demo night's stereo WAVs, each channel's speech activity as the reference.
fn night_calls(dir: &std::path::Path) -> Vec<Call> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "wav"))
        .collect();
    paths.sort();
    paths
        .iter()
        .filter_map(|p| {
            let audio = guion_speech::audio::decode_file(p).ok()?;
            let [l, r] = <[Vec<f32>; 2]>::try_from(audio.channels).ok()?;
            let mut reference = calls::reference_turns(&l, 0);
            reference.extend(calls::reference_turns(&r, 1));
            let mono = guion_speech::audio::downmix(&[l.clone(), r.clone()]);
            Some(Call {
                name: p.file_name()?.to_string_lossy().into_owned(),
                channels: [l, r],
                mono,
                reference,
            })
        })
        .collect()
}
