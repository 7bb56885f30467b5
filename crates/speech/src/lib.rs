//! Speech: from a recording's bytes to a timed, per-speaker transcript.
//!
//! Decoding and resampling (`audio`), what the channels are (`layout`), where people speak (`vad`),
//! who speaks when in a mono mix (`diarize`), what language is spoken (`language`), and Whisper
//! (`asr`); `hear` runs them in order on one recording. A `hear::Listener` holds one worker's speech
//! models, loaded once and reused for every call.

// No `unsafe` but the GSM decoder's C binding (audio/gsm.rs) and the process settings the speech
// engine needs (asr/process.rs), which allow it for themselves.
#![deny(unsafe_code)]

pub mod asr;
pub mod audio;
pub mod diarize;
pub mod hear;
pub mod language;
pub mod layout;
pub mod vad;
