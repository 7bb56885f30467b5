//! Call recordings in, 16 kHz `f32` channels out, plus an energy-based speech gate.
//!
//! Whisper only accepts 16 kHz mono, while call platforms hand us anything from 8 kHz µ-law WAV
//! or GSM to 44.1 kHz MP3, so every file is decoded and resampled here once. Symphonia reads the
//! containers and codecs it knows; GSM 06.10, which it does not, goes through [`gsm`]. Channels are kept apart:
//! a stereo call recording usually has the agent on one side and the customer on the other, and
//! that split is worth more than any speaker separation we could do afterwards.

use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

mod decode;
pub mod gsm;
mod gsm_file;
mod resample;
mod speech;
#[cfg(test)]
mod test_support;
mod wav;

pub use resample::{downmix, resample};
pub use speech::{GateOptions, SpeechRegion, speech_regions};

/// The rate Whisper and [`speech_regions`] work at.
pub const SAMPLE_RATE: u32 = 16_000;

/// Source rates outside this range are treated as a broken header rather than resampled: below
/// 1 kHz nothing intelligible survives, and above 768 kHz nobody records calls.
const PLAUSIBLE_RATES: std::ops::RangeInclusive<u32> = 1_000..=768_000;

/// A decoded recording.
#[derive(Debug, Clone, PartialEq)]
pub struct Audio {
    /// Sample rate of the file before resampling, in Hz.
    pub source_rate: u32,
    /// One buffer per channel, in file order, resampled to [`SAMPLE_RATE`]. All the same length.
    pub channels: Vec<Vec<f32>>,
    /// Length of the recording in seconds, measured at the source rate.
    pub duration_s: f64,
    /// The decoder's short codec name, e.g. `pcm_mulaw`, `pcm_s16le`, `flac`, `mp3`, `vorbis`,
    /// `gsm` (raw GSM 06.10 frames) or `gsm_ms` (GSM 06.10 in WAV, "WAV49").
    pub codec: String,
}

impl Audio {
    /// Number of samples per channel at [`SAMPLE_RATE`].
    pub fn frames(&self) -> usize {
        self.channels.first().map_or(0, Vec::len)
    }

    /// All channels mixed to one, for callers that want a single stream.
    pub fn mono(&self) -> Vec<f32> {
        downmix(&self.channels)
    }
}

/// Why a file could not be turned into audio. Every message starts with the file's path.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    #[error("{}: file not found", path.display())]
    NotFound { path: PathBuf },

    // `cause` rather than `source`: the reason belongs in this message, and a `source` would make
    // error reporters that walk the chain print it twice.
    #[error("{}: cannot read file: {cause}", path.display())]
    Unreadable { path: PathBuf, cause: io::Error },

    #[error("{}: no audio: {reason}", path.display())]
    Empty { path: PathBuf, reason: String },

    #[error("{}: unsupported format: {reason}", path.display())]
    UnsupportedFormat { path: PathBuf, reason: String },

    #[error("{}: unsupported codec: {codec}", path.display())]
    UnsupportedCodec { path: PathBuf, codec: String },

    #[error("{}: corrupt audio: {reason}", path.display())]
    Corrupt { path: PathBuf, reason: String },

    #[error("{}: truncated: {reason}", path.display())]
    Truncated { path: PathBuf, reason: String },
}

impl AudioError {
    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            Self::NotFound { path }
            | Self::Unreadable { path, .. }
            | Self::Empty { path, .. }
            | Self::UnsupportedFormat { path, .. }
            | Self::UnsupportedCodec { path, .. }
            | Self::Corrupt { path, .. }
            | Self::Truncated { path, .. } => path,
        }
    }
}

/// Decodes a WAV (PCM, float, µ-law, A-law, IMA/MS ADPCM, GSM 6.10), FLAC, MP3, Ogg Vorbis or raw
/// GSM 06.10 (`.gsm`, as Asterisk records it) file and resamples every channel to [`SAMPLE_RATE`].
///
/// A file that ends early but still holds some decodable audio is returned with what it has (and
/// a warning is logged), because a cut-off call is still worth scoring; one that ends before any
/// audio is [`AudioError::Truncated`].
pub fn decode_file(path: &Path) -> Result<Audio, AudioError> {
    let bytes = decode::read_file(path)?;
    // Symphonia aims to be panic-free, but it parses bytes from outside and a batch run over
    // thousands of calls must not die on one bad file, so a panic becomes an ordinary error.
    let pcm = panic::catch_unwind(AssertUnwindSafe(|| decode::decode_native(path, bytes)))
        .unwrap_or_else(|_| Err(corrupt(path, "the decoder crashed on this file")))?;

    let duration_s = pcm.frames() as f64 / f64::from(pcm.rate);
    let channels = resample::resample_all(pcm.channels, pcm.rate, SAMPLE_RATE);
    Ok(Audio {
        source_rate: pcm.rate,
        channels,
        duration_s,
        codec: pcm.codec,
    })
}

fn empty(path: &Path, reason: &str) -> AudioError {
    AudioError::Empty {
        path: path.to_owned(),
        reason: reason.into(),
    }
}

fn unsupported_format(path: &Path, reason: impl Into<String>) -> AudioError {
    AudioError::UnsupportedFormat {
        path: path.to_owned(),
        reason: reason.into(),
    }
}

fn corrupt(path: &Path, reason: impl ToString) -> AudioError {
    AudioError::Corrupt {
        path: path.to_owned(),
        reason: reason.to_string(),
    }
}
