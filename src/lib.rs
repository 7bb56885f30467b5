//! guion measures, on evidence, whether contact-centre calls follow a brand's script, tone and values.
//!
//! The pipeline reads top-down: `audio → asr → (align → classify → score → aggregate → report)`, with
//! plain data types between stages. See ARCHITECTURE.md for the map and its invariants.

// No `unsafe` in guion's own code but the GSM decoder's C binding (audio/gsm.rs), which allows it for itself.
#![deny(unsafe_code)]

pub mod aggregate;
pub mod align;
pub mod asr;
pub mod audio;
pub mod batch;
pub mod classify;
pub mod diarize;
pub mod language;
pub mod layout;
pub mod models;
pub mod normalize;
pub mod pipeline;
pub mod record;
pub mod redact;
pub mod report;
pub mod runtime;
pub mod score;
pub mod script;
pub mod stats;
pub mod store;
pub mod transcript;
pub mod vad;
