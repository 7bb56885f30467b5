//! Evidence you can hear: the clips `guion_core::clip::plan` names, cut from the speaker's own
//! channel of the recording, silent where PII was said, written as WAV files with an index
//! (`clips.json`), or as small data URIs for the report's players.

use base64::Engine as _;
use guion_core::clip::{self, CLIP_MARGIN_S, ClipPlan};
use guion_core::record::CallRecord;
use guion_speech::audio::{self, SAMPLE_RATE};
use serde::Serialize;
use std::io::Cursor;
use std::path::{Path, PathBuf};

/// A report's players play the telephone band: half the bytes of 16 kHz, and what most recordings
/// held to begin with.
pub const EMBED_RATE: u32 = 8_000;

/// The index written beside the clips.
pub const INDEX: &str = "clips.json";

#[derive(Debug, thiserror::Error)]
pub enum ClipError {
    #[error("{0}")]
    Audio(#[from] audio::AudioError),
    #[error("{file}: {reason}")]
    Record { file: String, reason: String },
    #[error("{}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// One clip, cut: its samples at [`SAMPLE_RATE`].
pub struct Clip {
    pub plan: ClipPlan,
    pub samples: Vec<f32>,
}

/// Cuts the record's clips from `recording` (the call the record was made from).
pub fn cut(record: &CallRecord, recording: &Path) -> Result<Vec<Clip>, ClipError> {
    let file = recording.display().to_string();
    let plans = clip::plan(record).map_err(|reason| ClipError::Record {
        file: file.clone(),
        reason,
    })?;
    if plans.is_empty() {
        return Ok(Vec::new());
    }
    let decoded = audio::decode_file(recording)?;
    let sr = f64::from(SAMPLE_RATE);
    let at = |seconds: f64, len: usize| ((seconds.max(0.0) * sr) as usize).min(len);
    plans
        .into_iter()
        .map(|plan| {
            let channel = decoded
                .channels
                .get(plan.channel as usize)
                .ok_or_else(|| ClipError::Record {
                    file: file.clone(),
                    reason: format!(
                        "the record places `{}` on channel {}, and the recording has {}: is it the same call?",
                        plan.id,
                        plan.channel,
                        decoded.channels.len()
                    ),
                })?;
            let (from, to) = (at(plan.start, channel.len()), at(plan.end, channel.len()));
            let mut samples = channel[from..to.max(from)].to_vec();
            for &(s, e) in &plan.silenced {
                let (s, e) = (at(s, channel.len()), at(e, channel.len()));
                let (s, e) = (s.saturating_sub(from), e.saturating_sub(from).min(samples.len()));
                if e > s {
                    samples[s..e].fill(0.0);
                }
            }
            Ok(Clip { plan, samples })
        })
        .collect()
}

#[derive(Serialize)]
struct Index<'a> {
    call: &'a str,
    recording: String,
    /// Seconds of audio kept before and after the words.
    margin_s: f64,
    rate: u32,
    clips: Vec<&'a ClipPlan>,
}

/// Writes each clip as `dir/<file>` (16 kHz, 16-bit mono WAV) and the index `dir/clips.json`:
/// clip file, step or phrase id, what it is, start, end, text and the silenced stretches.
/// Returns the clips' paths.
pub fn write(
    record: &CallRecord,
    recording: &Path,
    clips: &[Clip],
    dir: &Path,
) -> Result<Vec<PathBuf>, ClipError> {
    let write_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ClipError::Write { path, source }
    };
    std::fs::create_dir_all(dir).map_err(write_err(dir))?;
    let mut paths = Vec::with_capacity(clips.len());
    for c in clips {
        let path = dir.join(&c.plan.file);
        guion_models::atomic::write(&path, &wav(&c.samples, SAMPLE_RATE))
            .map_err(write_err(&path))?;
        paths.push(path);
    }
    let index = Index {
        call: &record.call,
        recording: recording.display().to_string(),
        margin_s: CLIP_MARGIN_S,
        rate: SAMPLE_RATE,
        clips: clips.iter().map(|c| &c.plan).collect(),
    };
    let path = dir.join(INDEX);
    let json = serde_json::to_vec_pretty(&index).expect("the index serialises");
    guion_models::atomic::write(&path, &json).map_err(write_err(&path))?;
    Ok(paths)
}

/// A clip as a `data:audio/wav;base64,…` URI at [`EMBED_RATE`], for an `<audio>` element.
pub fn data_uri(clip: &Clip) -> String {
    let samples = audio::resample(&clip.samples, SAMPLE_RATE, EMBED_RATE);
    let b64 = base64::engine::general_purpose::STANDARD.encode(wav(&samples, EMBED_RATE));
    format!("data:audio/wav;base64,{b64}")
}

/// 16-bit PCM mono WAV: every browser and player reads it.
pub fn wav(samples: &[f32], rate: u32) -> Vec<u8> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut bytes = Cursor::new(Vec::with_capacity(44 + samples.len() * 2));
    {
        let mut w = hound::WavWriter::new(&mut bytes, spec).expect("a WAV header fits in memory");
        for &s in samples {
            w.write_sample((s.clamp(-1.0, 1.0) * f32::from(i16::MAX)) as i16)
                .expect("memory takes the samples");
        }
        w.finalize().expect("memory takes the header");
    }
    bytes.into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wav_holds_its_samples_at_its_rate() {
        let samples: Vec<f32> = (0..800).map(|i| (i as f32 / 800.0) - 0.5).collect();
        let bytes = wav(&samples, 8_000);
        let r = hound::WavReader::new(Cursor::new(bytes)).unwrap();
        assert_eq!((r.spec().sample_rate, r.spec().channels), (8_000, 1));
        assert_eq!(r.len(), 800);
    }
}
