//! Speech detection with Silero VAD v6: which stretches of a channel hold speech, for Whisper to
//! decode and for nothing else to be handed to it.
//!
//! The energy gate (`audio::speech_regions`) judges loudness and syllable-like modulation; a trained
//! detector judges whether it sounds like a voice, so music on hold, a ringing tone or a loud line are
//! told apart from speech by what they are, not by how loud they are.
//!
//! The model ([`guion_models`] name `silero-vad`) is the wheel's "sequence" export: it takes a block
//! of 32 ms frames (512 samples at 16 kHz, each preceded by the 64 samples before it, which the
//! network's front end needs to see across the frame boundary) and the LSTM state, and returns one
//! speech probability per frame and the state after the block. One run per ~16 s instead of one per
//! frame; the probabilities are the same as the frame-by-frame export's.
//!
//! Turning probabilities into regions ([`regions_from_probabilities`]) is pure and unit-tested.

use crate::audio::{SAMPLE_RATE, SpeechRegion};
use guion_models::runtime::{RuntimeError, session};
use ort::session::Session;
use ort::value::Tensor;
use std::path::{Path, PathBuf};

/// Samples per frame at 16 kHz: the model's unit of decision (32 ms).
pub const FRAME: usize = 512;
/// Samples of the previous frame that precede each frame in the model's input.
const CONTEXT: usize = 64;
/// Frames per run: long enough that the per-run overhead vanishes, short enough that a block's
/// intermediate tensors stay a few MB.
const BLOCK_FRAMES: usize = 512;
/// The LSTM's hidden and cell state: (layers, batch, units).
const STATE: [i64; 3] = [1, 1, 128];
const STATE_LEN: usize = 128;

#[derive(Debug, thiserror::Error)]
pub enum VadError {
    #[error("{path}: speech detection failed: {reason}")]
    Run { path: PathBuf, reason: String },
}

/// Tuning for [`Vad::speech_regions`]. The defaults were chosen with `scripts/measure-vad`: Silero's
/// own (30 ms padding, 100 ms pauses) cut first words off the Asterisk prompts ("Ese agente" became
/// "Se ha gente"); 200 ms of padding and 300 ms pauses, the energy gate's own margins, keep them, and
/// still keep nothing of silence, hiss, tones or a melody.
#[derive(Debug, Clone, PartialEq)]
pub struct VadOptions {
    /// A frame at or above this probability starts speech.
    pub threshold: f32,
    /// Once in speech, only a frame below this ends it: the hysteresis keeps a word's quieter
    /// syllables, whose probability dips, inside the region.
    pub neg_threshold: f32,
    /// Speech shorter than this (after short pauses are bridged) is dropped: a click or a breath.
    pub min_speech_ms: u32,
    /// Pauses shorter than this are kept inside the region: Whisper reads a sentence better whole.
    pub min_silence_ms: u32,
    /// Kept on each side of a region, so the first and last phonemes (soft onsets, trailing
    /// fricatives the model scores low) reach Whisper.
    pub pad_ms: u32,
}

impl Default for VadOptions {
    fn default() -> Self {
        VadOptions {
            threshold: 0.5,
            neg_threshold: 0.35,
            min_speech_ms: 250,
            min_silence_ms: 300,
            pad_ms: 200,
        }
    }
}

/// Silero VAD loaded once per worker; each call starts from a fresh state, so the same samples
/// always give the same regions.
pub struct Vad {
    session: Session,
    path: PathBuf,
}

impl Vad {
    /// Loads the sequence export of Silero VAD (`guion::models::resolve("silero-vad")`).
    pub fn load(model: &Path, threads: usize) -> Result<Vad, RuntimeError> {
        let session = session(model, threads)?;
        let names = |outlets: &[ort::value::Outlet]| -> Vec<String> {
            outlets.iter().map(|o| o.name().to_string()).collect()
        };
        let (inputs, outputs) = (names(session.inputs()), names(session.outputs()));
        if inputs != ["input", "h", "c"] || outputs != ["speech_probs", "hn", "cn"] {
            return Err(RuntimeError::Load {
                path: model.to_path_buf(),
                reason: format!(
                    "not Silero VAD's sequence export (inputs {inputs:?}, outputs {outputs:?}; \
                     expected input, h, c → speech_probs, hn, cn)"
                ),
            });
        }
        Ok(Vad {
            session,
            path: model.to_path_buf(),
        })
    }

    /// The speech probability of each 512-sample frame of one channel of 16 kHz audio (the last
    /// frame padded with silence). Empty input gives no frames.
    pub fn probabilities(&mut self, samples: &[f32]) -> Result<Vec<f32>, VadError> {
        let frames = samples.len().div_ceil(FRAME);
        let mut probabilities = Vec::with_capacity(frames);
        let mut h = vec![0.0f32; STATE_LEN];
        let mut c = vec![0.0f32; STATE_LEN];
        let mut block = Vec::with_capacity(BLOCK_FRAMES * (CONTEXT + FRAME));
        for first in (0..frames).step_by(BLOCK_FRAMES) {
            let count = BLOCK_FRAMES.min(frames - first);
            block.clear();
            for frame in first..first + count {
                let start = frame * FRAME;
                // The context of the first frame is silence, as at the start of a stream; every
                // other frame's is the end of the frame before it, which is always whole.
                if start == 0 {
                    block.extend([0.0; CONTEXT]);
                } else {
                    block.extend_from_slice(&samples[start - CONTEXT..start]);
                }
                let end = (start + FRAME).min(samples.len());
                block.extend_from_slice(&samples[start..end]);
                block.resize(block.len() + FRAME - (end - start), 0.0);
            }
            let (p, hn, cn) = self.run(&block, count, &h, &c)?;
            if p.len() != count {
                return Err(self.error(format!(
                    "the model gave {} probabilities for {count} frames",
                    p.len()
                )));
            }
            probabilities.extend(p);
            (h, c) = (hn, cn);
        }
        Ok(probabilities)
    }

    /// Speech stretches of one channel of 16 kHz audio, in order, as sample indices.
    pub fn speech_regions(
        &mut self,
        samples: &[f32],
        opts: &VadOptions,
    ) -> Result<Vec<SpeechRegion>, VadError> {
        let probabilities = self.probabilities(samples)?;
        Ok(regions_from_probabilities(
            &probabilities,
            samples.len(),
            opts,
        ))
    }

    #[allow(clippy::type_complexity)]
    fn run(
        &mut self,
        block: &[f32],
        frames: usize,
        h: &[f32],
        c: &[f32],
    ) -> Result<(Vec<f32>, Vec<f32>, Vec<f32>), VadError> {
        let path = self.path.clone();
        let fail = |e: ort::Error| VadError::Run {
            path: path.clone(),
            reason: e.to_string(),
        };
        let input = Tensor::from_array(([frames as i64, (CONTEXT + FRAME) as i64], block.to_vec()))
            .map_err(fail)?;
        let h = Tensor::from_array((STATE, h.to_vec())).map_err(fail)?;
        let c = Tensor::from_array((STATE, c.to_vec())).map_err(fail)?;
        let outputs = self
            .session
            .run(ort::inputs!["input" => input, "h" => h, "c" => c])
            .map_err(fail)?;
        let take = |name: &str| -> Result<Vec<f32>, VadError> {
            let (_, data) = outputs[name].try_extract_tensor::<f32>().map_err(fail)?;
            Ok(data.to_vec())
        };
        let (p, hn, cn) = (take("speech_probs")?, take("hn")?, take("cn")?);
        drop(outputs);
        if hn.len() != STATE_LEN || cn.len() != STATE_LEN {
            return Err(self.error(format!(
                "the model's state has {} and {} values, not {STATE_LEN}",
                hn.len(),
                cn.len()
            )));
        }
        Ok((p, hn, cn))
    }

    fn error(&self, reason: String) -> VadError {
        VadError::Run {
            path: self.path.clone(),
            reason,
        }
    }
}

fn ms_to_samples(ms: u32) -> usize {
    (u64::from(ms) * u64::from(SAMPLE_RATE) / 1000) as usize
}

/// Speech regions of `len` samples from the probability of each [`FRAME`]-sample frame: hysteresis
/// (enter at `threshold`, leave below `neg_threshold`), pauses shorter than `min_silence_ms` bridged,
/// stretches shorter than `min_speech_ms` dropped, `pad_ms` added on both sides (within the audio),
/// and regions that then touch or overlap merged. Frames past `len` are ignored.
pub fn regions_from_probabilities(
    probabilities: &[f32],
    len: usize,
    opts: &VadOptions,
) -> Vec<SpeechRegion> {
    let frames = probabilities.len().min(len.div_ceil(FRAME));
    let at = |frame: usize| (frame * FRAME).min(len);

    // Hysteresis: runs of frames in the speech state.
    let mut runs: Vec<SpeechRegion> = Vec::new();
    let mut start: Option<usize> = None;
    for (i, &p) in probabilities[..frames].iter().enumerate() {
        match start {
            None if p >= opts.threshold => start = Some(i),
            Some(s) if p < opts.neg_threshold => {
                runs.push(SpeechRegion {
                    start: at(s),
                    end: at(i),
                });
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        runs.push(SpeechRegion {
            start: at(s),
            end: len,
        });
    }

    // Short pauses stay inside the speech around them; only then is a stretch judged too short, so
    // that a word broken by a dip is not lost piece by piece.
    let min_silence = ms_to_samples(opts.min_silence_ms);
    let mut bridged: Vec<SpeechRegion> = Vec::new();
    for run in runs {
        match bridged.last_mut() {
            Some(last) if run.start - last.end < min_silence => last.end = run.end,
            _ => bridged.push(run),
        }
    }
    let min_speech = ms_to_samples(opts.min_speech_ms);
    let pad = ms_to_samples(opts.pad_ms);
    let mut regions: Vec<SpeechRegion> = Vec::new();
    for run in bridged.into_iter().filter(|r| r.len() >= min_speech) {
        let padded = SpeechRegion {
            start: run.start.saturating_sub(pad),
            end: (run.end + pad).min(len),
        };
        match regions.last_mut() {
            Some(last) if padded.start <= last.end => last.end = padded.end,
            _ => regions.push(padded),
        }
    }
    regions
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> VadOptions {
        VadOptions {
            threshold: 0.5,
            neg_threshold: 0.35,
            min_speech_ms: 0,
            min_silence_ms: 0,
            pad_ms: 0,
        }
    }

    /// Probabilities from a pattern: one character per frame, '#' = 0.9, '+' = 0.4 (between the
    /// thresholds), '.' = 0.1.
    fn probs(pattern: &str) -> Vec<f32> {
        pattern
            .chars()
            .map(|c| match c {
                '#' => 0.9,
                '+' => 0.4,
                _ => 0.1,
            })
            .collect()
    }

    fn frames(regions: &[SpeechRegion]) -> Vec<(usize, usize)> {
        regions
            .iter()
            .map(|r| (r.start / FRAME, r.end.div_ceil(FRAME)))
            .collect()
    }

    fn run(pattern: &str, o: &VadOptions) -> Vec<(usize, usize)> {
        let p = probs(pattern);
        frames(&regions_from_probabilities(&p, p.len() * FRAME, o))
    }

    #[test]
    fn nothing_in_nothing_out() {
        assert!(regions_from_probabilities(&[], 0, &opts()).is_empty());
        assert!(regions_from_probabilities(&[0.9], 0, &opts()).is_empty());
        assert_eq!(run("........", &opts()), vec![]);
        assert_eq!(run("++++++++", &opts()), vec![], "never above threshold");
    }

    #[test]
    fn hysteresis_keeps_dips_between_the_thresholds() {
        assert_eq!(run("..##++##..", &opts()), vec![(2, 8)]);
        // Below the exit threshold it ends; between them it does not start.
        assert_eq!(run("..##..##..", &opts()), vec![(2, 4), (6, 8)]);
        assert_eq!(run("..++##++..", &opts()), vec![(4, 8)]);
    }

    #[test]
    fn short_pauses_are_bridged_and_short_speech_dropped() {
        let o = VadOptions {
            min_silence_ms: 100, // 1,600 samples: gaps of up to 3 frames (1,536) are bridged
            ..opts()
        };
        assert_eq!(run("##...##....##", &o), vec![(0, 7), (11, 13)]);
        let o = VadOptions {
            min_speech_ms: 100,
            ..o
        };
        // Two 2-frame bursts bridged into one 7-frame region survive; a lone 2-frame burst does not.
        assert_eq!(run("##...##....##", &o), vec![(0, 7)]);
    }

    #[test]
    fn padding_stays_inside_the_audio_and_merges_what_it_joins() {
        let o = VadOptions {
            pad_ms: 32,
            ..opts()
        }; // one frame
        assert_eq!(run("##....##..", &o), vec![(0, 3), (5, 9)]);
        assert_eq!(run("##..##", &o), vec![(0, 6)], "pads meet: one region");
        let p = probs("..##");
        let r = regions_from_probabilities(&p, 3 * FRAME + 10, &o);
        assert_eq!(
            r,
            vec![SpeechRegion {
                start: FRAME,
                end: 3 * FRAME + 10
            }]
        );
    }

    #[test]
    fn speech_running_to_the_end_ends_at_the_last_sample() {
        let p = probs("..###");
        let len = 4 * FRAME + 7; // the last frame is mostly padding
        let r = regions_from_probabilities(&p, len, &opts());
        assert_eq!(
            r,
            vec![SpeechRegion {
                start: 2 * FRAME,
                end: len
            }]
        );
        // More probabilities than frames (a caller's mistake) never reach past the audio.
        let r = regions_from_probabilities(&probs("######"), 2 * FRAME, &opts());
        assert_eq!(
            r,
            vec![SpeechRegion {
                start: 0,
                end: 2 * FRAME
            }]
        );
    }

    #[test]
    fn regions_are_ordered_and_disjoint_for_any_pattern() {
        // Every pattern of 10 frames over three levels, with options that bridge, drop and pad.
        let o = VadOptions {
            min_speech_ms: 64,
            min_silence_ms: 64,
            pad_ms: 40,
            ..opts()
        };
        for code in 0..3usize.pow(10) {
            let pattern: String = (0..10)
                .map(|k| ['.', '+', '#'][code / 3usize.pow(k) % 3])
                .collect();
            let p = probs(&pattern);
            let len = p.len() * FRAME - 100;
            let r = regions_from_probabilities(&p, len, &o);
            for w in r.windows(2) {
                assert!(w[0].end < w[1].start, "{pattern}: {r:?}");
            }
            for region in &r {
                assert!(
                    region.start < region.end && region.end <= len,
                    "{pattern}: {r:?}"
                );
            }
            if !pattern.contains('#') {
                assert!(r.is_empty(), "{pattern}: {r:?}");
            }
        }
    }
}
