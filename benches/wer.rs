//! Word error rate with guion's own folding (case, accents, punctuation, fillers, number words:
//! `guion_core::normalize`), for scripts/bench-asr, so that every engine is scored by one rule.
//!
//! usage: cargo bench --bench wer < pairs.jsonl
//! Reads one JSON object per line, `{"lang": "es", "reference": "...", "hypothesis": "..."}`, and
//! prints one line per input, `{"errors": E, "words": N}` (word edits and reference words).

use guion_core::normalize::{Lang, wer, words};
use std::io::BufRead;

fn main() {
    for (n, line) in std::io::stdin().lock().lines().enumerate() {
        let line = line.expect("stdin");
        if line.trim().is_empty() {
            continue;
        }
        let pair: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("stdin line {}: {e}", n + 1));
        let field = |k: &str| pair[k].as_str().unwrap_or_default().to_string();
        let lang = Lang::from_code(&field("lang"));
        let reference = field("reference");
        let n_words = words(&reference, lang).len();
        let errors = wer(&reference, &field("hypothesis"), lang) * n_words as f64;
        println!(
            "{{\"errors\": {}, \"words\": {n_words}}}",
            errors.round() as usize
        );
    }
}
