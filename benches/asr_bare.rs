//! The baseline guion's ASR is measured against (run by scripts/bench-asr): the plainest whisper-rs loop
//! over the same decoded audio, the same weights and the same decoding settings — every channel decoded
//! whole, with no speech gate and no word assembly.
//!
//! usage: cargo bench --bench asr_bare -- MODEL LANGUAGE THREADS BEAM FILE...
//! prints one JSON line: {"engine", "audio_s", "wall_s", "words"}

use std::time::Instant;
use whisper_rs::{FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters};

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let [model, language, threads, beam, files @ ..] = args.as_slice() else {
        eprintln!("usage: asr_bare MODEL LANGUAGE THREADS BEAM FILE...");
        std::process::exit(2);
    };
    let threads: i32 = threads.parse().expect("THREADS");
    let beam: i32 = beam.parse().expect("BEAM");
    whisper_rs::install_logging_hooks();
    let ctx = WhisperContext::new_with_params(model, WhisperContextParameters::default())
        .expect("load model");
    let mut state = ctx.create_state().expect("state");
    let started = Instant::now();
    let (mut audio_s, mut words) = (0.0, 0usize);
    for file in files {
        let decoded = guion_speech::audio::decode_file(std::path::Path::new(file)).expect("decode");
        audio_s += decoded.duration_s;
        for channel in &decoded.channels {
            let mut params = FullParams::new(if beam > 1 {
                SamplingStrategy::BeamSearch {
                    beam_size: beam,
                    patience: -1.0,
                }
            } else {
                SamplingStrategy::Greedy { best_of: 1 }
            });
            params.set_n_threads(threads);
            params.set_language(Some(language));
            params.set_no_context(true);
            params.set_token_timestamps(true);
            params.set_print_progress(false);
            params.set_print_realtime(false);
            params.set_print_special(false);
            params.set_print_timestamps(false);
            state.full(params, channel).expect("whisper");
            for segment in state.as_iter() {
                words += segment
                    .to_str_lossy()
                    .map_or(0, |t| t.split_whitespace().count());
            }
        }
    }
    println!(
        "{{\"engine\": \"whisper-rs bare loop\", \"audio_s\": {audio_s:.2}, \"wall_s\": {:.3}, \"words\": {words}}}",
        started.elapsed().as_secs_f64()
    );
}
