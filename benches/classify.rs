//! guion's half of scripts/bench-classify: sentences per second through guion's encoder (ort +
//! tokenizers, the same batching as `guion call`), to compare with Python onnxruntime on the same
//! model, tokenizer, sentences and batch in the same run.
//!
//! usage: cargo bench --bench classify -- --model ONNX --tokenizer JSON --sentences FILE
//!        [--batch N] [--threads T] [--repeat R] [--dump-embeddings FILE]
//! prints one JSON line: {"engine", "model", "sentences", "batch", "threads", "runs_s", "median_s",
//! "sentences_per_s", "load_s"}

use guion_meaning::{Encoder, EncoderOptions};
use std::time::Instant;

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
    let (Some(model), Some(tokenizer), Some(sentences)) =
        (flag("--model"), flag("--tokenizer"), flag("--sentences"))
    else {
        eprintln!(
            "usage: classify --model ONNX --tokenizer JSON --sentences FILE [--batch N] [--threads T] [--repeat R]"
        );
        std::process::exit(2);
    };
    let number =
        |name: &str, default: usize| flag(name).map_or(default, |v| v.parse().expect(name));
    let (batch, threads, repeat) = (
        number("--batch", 32),
        number("--threads", 1),
        number("--repeat", 3),
    );
    let text = std::fs::read_to_string(&sentences).expect("sentences file");
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();

    let started = Instant::now();
    let mut encoder = Encoder::load(&EncoderOptions {
        model: model.clone(),
        tokenizer,
        threads,
        batch,
    })
    .expect("load the encoder");
    let load_s = started.elapsed().as_secs_f64();

    let mut runs = Vec::new();
    let mut vectors = Vec::new();
    for _ in 0..repeat.max(1) {
        let t = Instant::now();
        vectors = encoder.embed(&lines).expect("embed");
        runs.push(t.elapsed().as_secs_f64());
    }
    let mut sorted = runs.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    if let Some(path) = flag("--dump-embeddings") {
        let first: Vec<&Vec<f32>> = vectors.iter().take(16).collect();
        std::fs::write(
            &path,
            serde_json::json!({ "embeddings": first }).to_string(),
        )
        .expect("write embeddings");
    }
    println!(
        "{}",
        serde_json::json!({
            "engine": "guion",
            "model": std::path::Path::new(&model).file_name().map(|f| f.to_string_lossy()),
            "sentences": lines.len(),
            "batch": batch,
            "threads": threads,
            "runs_s": runs,
            "median_s": median,
            "sentences_per_s": lines.len() as f64 / median,
            "load_s": load_s,
        })
    );
}
