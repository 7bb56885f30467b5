//! guion's integration tests, in one test binary (as ripgrep's are): each module below was a test
//! binary of its own, which linked everything again and loaded its models again. `util` holds what
//! they share: `guion()` for the tests of the command line, the models loaded once per binary for
//! the tests of the analysis (which run in this process), and `require!`, the one rule for a test
//! whose model or data is missing: it says `skipped: <test>: <what is missing, how to get it>` and
//! passes, unless GUION_TEST_REQUIRE_ALL=1 (CI), where it fails.

mod util;

mod batch;
mod calibrate;
mod call;
mod classify;
mod clips;
mod cluster;
mod coach;
mod cost;
mod diarize;
mod diarize_calls;
mod models;
mod read_transcripts;
mod recordings;
mod report;
mod script_check;
mod shards;
mod transcribe;
mod vad;
