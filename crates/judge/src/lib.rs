//! The judge: does an agent's sentence carry out a script step? A small instruction model
//! (Qwen2.5-Coder-1.5B-Instruct, GGUF Q4_K_M) is asked, once per sentence of a shortlist, whether the
//! sentence carries out the step, and its answer is read from the next-token logits as
//! P(Yes) / (P(Yes) + P(No)): no text is generated, so sampling and temperature play no part.
//!
//! # Why the model runs in a process of its own
//! It was first forced: whisper.cpp and llama.cpp each bundled their own ggml under the same symbol
//! names, and no binary linked both (591 duplicate symbols). guion now hears through CTranslate2,
//! and the process stays for what it still gives: the 1.8 GB model, its memory and its crashes live
//! outside the workers, started only on the first call that needs it. So the `guion` binary and the
//! night pipeline never link llama.cpp (`tests/architecture.rs` holds it): this crate is the client,
//! the protocol and the prompt (std and serde only), and `guion-judge-server` is the binary
//! `guion-judge` that links llama.cpp, loads the model once and answers JSON lines on stdin.
//!
//! # Calling it
//! ```no_run
//! let model = std::path::Path::new("/root/.cache/guion/models/judge-qwen2.5-coder-1.5b-q4_k_m.gguf");
//! let mut judge = guion_judge::JudgeClient::start(model, 2)?;
//! let p = judge.judge(
//!     "The agent tells the customer that the call is recorded",
//!     &["Le comento que vamos a grabar la llamada por temas de calidad."],
//! )?;
//! assert!(p[0] >= 0.5);
//! # Ok::<(), guion_judge::JudgeError>(())
//! ```

#![deny(unsafe_code)]

pub mod client;
pub mod prompt;
pub mod protocol;

pub use client::{JudgeClient, JudgeError, server_path};
pub use prompt::{Prompt, yes_probability};

/// The model's file in `$GUION_CACHE/models` (see `models/manifest.toml`, model `judge`).
pub const MODEL_FILE: &str = "judge-qwen2.5-coder-1.5b-q4_k_m.gguf";
/// The model's name in `models/manifest.toml`.
pub const MODEL_NAME: &str = "judge";
/// The server binary's name, built beside `guion` in `target/release`.
pub const SERVER_BIN: &str = "guion-judge";
/// Overrides where the client looks for the server binary.
pub const SERVER_ENV: &str = "GUION_JUDGE_SERVER";
/// The model's own cut between yes and no, for a sentence asked about alone. Not 0.5: the model
/// leans to Yes (a near miss often gets 0.6-0.75). Measured on a third of
/// tests/fixtures/semantic/sentences.csv against every agent step, with described statements
/// (`examples/sentences.rs`): at 0.8 the expected step was found for 19/22 natural and 13/15
/// distant paraphrases, and 3/15 near misses were taken for some step (8/15 at 0.5). The night
/// pipeline asks only about steps nothing else found and uses a stricter default
/// (`guion_core::align::DEFAULT_JUDGE_THRESHOLD`).
pub const THRESHOLD: f32 = 0.8;
