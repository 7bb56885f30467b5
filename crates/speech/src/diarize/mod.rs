//! Who spoke when in a mono call: agent and customer mixed on one channel, separated into speaker
//! turns by pyannote's segmentation-3.0 model (ONNX, through `ort`).
//!
//! A stereo call needs none of this (each side is its own channel). On a mono call the model reads
//! 10 s windows every 2.5 s and says, per 17 ms frame, which of up to three voices talk; `stitch`
//! follows each voice from window to window through the stretch they share, `voice` gives each
//! followed voice (a fragment) its long-term average spectrum, and fragments that sound alike and
//! never talk at once become one speaker; `der` scores turns against a reference. No speaker
//! embedding model exists offline (see the notes); the spectrum cue was added because, measured,
//! the model alone gave one agent two labels across a few seconds of silence (benches/diarize.rs).

mod der;
pub mod stitch;
pub mod voice;

use guion_models::runtime::{RuntimeError, session};
use ort::session::Session;
use ort::value::Tensor;
use std::path::{Path, PathBuf};

pub use der::{Der, diarization_error};
pub use stitch::StitchOptions;
use stitch::{FRAME_STEP, Stitcher, WINDOW_FRAMES, WINDOW_SAMPLES};

pub use guion_core::transcript::Turn;

/// A call's speakers and their turns.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Diarization {
    /// Sorted by start; turns of different speakers may overlap (overtalk).
    pub turns: Vec<Turn>,
    pub speakers: u32,
}

/// How far from a word a turn may end and still claim it, when no turn covers the word at all:
/// Whisper's word times and the model's turn edges each drift by a frame or two.
const WORD_REACH_S: f64 = 0.5;

impl Diarization {
    /// The speaker who holds most of `[start, end]` (a word), or of the nearest turn within half a
    /// second if none touches it; `None` when nobody speaks near it.
    pub fn speaker_of(&self, start: f64, end: f64) -> Option<u32> {
        stitch::speaker_of(&self.turns, start, end, WORD_REACH_S)
    }

    /// Seconds during which two or more speakers talk at once.
    pub fn overlap_s(&self) -> f64 {
        stitch::overlap_length(&self.turns)
    }

    /// Seconds `speaker` talks.
    pub fn talk_s(&self, speaker: u32) -> f64 {
        stitch::union_length(
            self.turns
                .iter()
                .filter(|t| t.voice == speaker)
                .map(|t| (t.start, t.end)),
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DiarizeError {
    #[error("{path}: speaker segmentation failed: {reason}")]
    Run { path: PathBuf, reason: String },
}

/// Clear speech a fragment needs for its voice cue to be trusted.
const MIN_CUE_S: f64 = 1.0;

/// Windows per inference call: batching amortises ONNX Runtime's per-call overhead, and 8 windows
/// (5 MB of audio) keep memory small.
const BATCH: usize = 8;

/// The segmentation model, loaded once per worker and reused for every call.
pub struct Diarizer {
    session: Session,
    path: PathBuf,
    input: String,
    output: String,
    options: StitchOptions,
}

impl Diarizer {
    /// Loads pyannote segmentation-3.0 (ONNX) with `threads` intra-op threads.
    pub fn load(model: &Path, threads: usize) -> Result<Diarizer, RuntimeError> {
        Self::with_options(model, threads, StitchOptions::default())
    }

    /// As [`Diarizer::load`], with other stitching options (the benchmark tries some).
    pub fn with_options(
        model: &Path,
        threads: usize,
        options: StitchOptions,
    ) -> Result<Diarizer, RuntimeError> {
        let session = session(model, threads)?;
        let wrong = |reason: String| RuntimeError::Load {
            path: model.to_path_buf(),
            reason,
        };
        let (Some(input), Some(output)) = (session.inputs().first(), session.outputs().first())
        else {
            return Err(wrong(
                "not a speaker segmentation model: it has no input or no output".into(),
            ));
        };
        let (input, output) = (input.name().to_string(), output.name().to_string());
        let mut diarizer = Diarizer {
            session,
            path: model.to_path_buf(),
            input,
            output,
            options,
        };
        // Check the shape once on silence, so that a wrong model fails at load, not mid-night.
        let frames = diarizer
            .run_batch(&[0])
            .map(|w| w.first().map_or(0, |s| s.len() / stitch::CLASSES))
            .map_err(|DiarizeError::Run { reason, .. }| wrong(reason))?;
        if frames != WINDOW_FRAMES {
            return Err(wrong(format!(
                "not pyannote segmentation-3.0: 10 s gave {frames} frames, expected {WINDOW_FRAMES}"
            )));
        }
        Ok(diarizer)
    }

    /// Who speaks when in `samples` (16 kHz mono). Empty audio gives no turns; audio shorter than a
    /// window is padded with silence.
    pub fn diarize(&mut self, samples: &[f32]) -> Result<Diarization, DiarizeError> {
        if samples.is_empty() {
            return Ok(Diarization::default());
        }
        let frames = stitch::frames_for(samples.len());
        let starts = stitch::window_starts(frames, self.options.step_frames);
        let mut stitcher = Stitcher::new(frames, self.options.clone());
        for chunk in starts.chunks(BATCH) {
            let audio: Vec<usize> = chunk.iter().map(|&f| f * FRAME_STEP).collect();
            let windows = self.run_windows(samples, &audio)?;
            for (&first, scores) in chunk.iter().zip(windows) {
                stitcher.add_window(first, &stitch::powerset_decode(&scores));
            }
        }
        let fragments = stitcher.fragments(samples.len());
        let spectrogram = voice::Spectrogram::new(samples);
        let cues: Vec<Option<Vec<f32>>> = (0..fragments.len())
            .map(|i| spectrogram.signature(&stitch::exclusive(&fragments, i), MIN_CUE_S))
            .collect();
        let speakers = stitch::group(
            fragments,
            &cues,
            self.options.max_speakers,
            self.options.merge_below_db,
        );
        Ok(stitch::into_diarization(speakers, &self.options))
    }

    /// The model's log-probabilities (frames × 7) for the windows starting at these samples.
    fn run_windows(
        &mut self,
        samples: &[f32],
        starts: &[usize],
    ) -> Result<Vec<Vec<f32>>, DiarizeError> {
        let mut input = vec![0.0f32; starts.len() * WINDOW_SAMPLES];
        for (row, &start) in input.chunks_exact_mut(WINDOW_SAMPLES).zip(starts) {
            let end = (start + WINDOW_SAMPLES).min(samples.len());
            if start < end {
                row[..end - start].copy_from_slice(&samples[start..end]);
            }
        }
        self.run(input, starts.len())
    }

    /// Silence, for the load-time check.
    fn run_batch(&mut self, starts: &[usize]) -> Result<Vec<Vec<f32>>, DiarizeError> {
        self.run(vec![0.0; starts.len() * WINDOW_SAMPLES], starts.len())
    }

    fn run(&mut self, input: Vec<f32>, windows: usize) -> Result<Vec<Vec<f32>>, DiarizeError> {
        let path = self.path.clone();
        let fail = |reason: String| DiarizeError::Run {
            path: path.clone(),
            reason,
        };
        let tensor = Tensor::from_array(([windows as i64, 1, WINDOW_SAMPLES as i64], input))
            .map_err(|e| fail(e.to_string()))?;
        let outputs = self
            .session
            .run(ort::inputs![self.input.as_str() => tensor])
            .map_err(|e| fail(e.to_string()))?;
        let (shape, data) = outputs[self.output.as_str()]
            .try_extract_tensor::<f32>()
            .map_err(|e| fail(e.to_string()))?;
        if shape.len() != 3 || shape[0] as usize != windows || shape[2] as usize != stitch::CLASSES
        {
            return Err(fail(format!(
                "unexpected output shape {shape:?} for {windows} window(s)"
            )));
        }
        let per_window = data.len() / windows.max(1);
        Ok(data
            .chunks(per_window.max(1))
            .map(<[f32]>::to_vec)
            .collect())
    }
}
