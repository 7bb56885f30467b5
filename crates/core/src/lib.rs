//! guion's pure core: the plain data that flows between the pipeline's stages and every decision
//! that can be made from it without a model or a file.
//!
//! Transcripts and their readers, scripts and their checker, text folding, redaction, step
//! alignment, scoring, rollups with their intervals, and the record a call leaves behind. Nothing
//! here opens a file, loads a model or links CTranslate2 or ONNX Runtime: callers hand in text and
//! numbers and get plain values back. See ARCHITECTURE.md for the map of the other crates.

#![deny(unsafe_code)]

pub mod aggregate;
pub mod align;
pub mod calibrate;
pub mod call;
pub mod clip;
pub mod clock;
pub mod coach;
pub mod cost;
pub mod hash;
pub mod key;
pub mod meaning;
pub mod names;
pub mod normalize;
pub mod plan;
pub mod record;
pub mod redact;
pub mod review;
pub mod route;
pub mod score;
pub mod script;
pub mod shard;
pub mod stats;
pub mod transcript;
