//! guion's integration tests, in one test binary (as ripgrep's are): each module below was a test
//! binary of its own, which linked everything again and loaded its models again. `util` holds what
//! they share.

mod util;

mod batch;
mod call;
mod classify;
mod diarize;
mod diarize_calls;
mod models;
mod read_transcripts;
mod recordings;
mod report;
mod script_check;
mod transcribe;
mod vad;
