//! Whisper through CTranslate2 (the engine faster-whisper runs, built from the source `ct2rs`
//! vendors): one channel of 16 kHz samples in, segments with word timings out.
//!
//! A `Recogniser` owns one model, loaded with int8 weights; a worker makes one and reuses it for
//! every call. guion computes the log-mel features (`mel.rs`), reads the tokens and their
//! timestamps (`tokens.rs`) and times each word by aligning its tokens with the audio through the
//! decoder's cross-attention (the alignment heads the model's config names). Decoding is
//! deterministic: beam search or greedy, never sampling, so a resumed batch gives exactly what an
//! uninterrupted one gives. A window is encoded once: the language is read from the same encoder
//! output that is then decoded.
//!
//! Three guards stand between Whisper and invented text, because a multilingual model fed silence,
//! hold music or line noise writes fluent sentences:
//! 1. only what the speech detector keeps is decoded — the speech regions are cut out, joined,
//!    decoded, and every time is mapped back to the original audio;
//! 2. a window Whisper itself doubts (no-speech probability high *and* low average log-probability)
//!    is dropped, the rule of the reference implementation;
//! 3. runaway repetition (an n-gram four or more times in a row, a segment that repeats the previous
//!    one) is cut.

pub(crate) mod mel;
pub mod process;
mod tokens;

use crate::audio::{GateOptions, SAMPLE_RATE, SpeechRegion};
use ct2rs::sys::{ComputeType, Config, Device, StorageView, Whisper, WhisperOptions};
use guion_core::normalize::normalize;
use guion_core::transcript::Word;
use guion_models::ResolvedModel;
use mel::{MelMaker, N_MELS, WINDOW_FRAMES};
use tokens::Vocabulary;

#[derive(Debug, thiserror::Error)]
pub enum AsrError {
    #[error("cannot load Whisper model {path}: {reason}")]
    Load { path: String, reason: String },
    #[error("Whisper failed: {0}")]
    Decode(String),
    #[error("language '{0}' is not one Whisper knows (use an ISO 639-1 code such as es or en)")]
    UnknownLanguage(String),
    #[error(
        "model '{model}' is English-only and cannot transcribe '{language}'; use the multilingual model (--model base)"
    )]
    EnglishOnly { model: String, language: String },
}

#[derive(Debug, Clone)]
pub struct AsrOptions {
    /// 1 = greedy. Beam search keeps a call's last phrase that greedy decoding sometimes drops, and the
    /// last phrase is where the script's closing step lives.
    pub beam_size: usize,
    pub threads: usize,
    pub gate: GateOptions,
}

impl Default for AsrOptions {
    fn default() -> Self {
        AsrOptions {
            beam_size: 5,
            threads: 1,
            gate: GateOptions::default(),
        }
    }
}

/// What Whisper heard in one stretch of one channel. Times are seconds in the channel's own audio.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    pub start: f64,
    pub end: f64,
    pub text: String,
    pub words: Vec<Word>,
    /// The language it was decoded in.
    pub language: String,
    /// Whisper's mean token log-probability over the window it came from (a doubt measure).
    pub avg_logprob: f32,
}

/// The speech engine, as each stored run of a night names it: CTranslate2 with int8 weights.
pub const ENGINE: &str = "ctranslate2-int8";

pub struct Recogniser {
    model: ResolvedModel,
    whisper: Whisper,
    vocab: Vocabulary,
    mel: MelMaker,
    multilingual: bool,
    opts: AsrOptions,
}

/// Chunks' first windows through the encoder, as one batch: the language is read from that output
/// and decoding starts from it, so the encoder runs once for both.
pub struct Encoded {
    chunks: usize,
    first: StorageView<'static>,
}

impl Recogniser {
    /// `model.path` is a CTranslate2 Whisper model directory, or its `model.bin`.
    pub fn load(model: &ResolvedModel, opts: AsrOptions) -> Result<Recogniser, AsrError> {
        let load_err = |reason: String| AsrError::Load {
            path: model.path.display().to_string(),
            reason,
        };
        let dir = if model.path.is_dir() {
            model.path.clone()
        } else {
            model
                .path
                .parent()
                .map(|p| p.to_path_buf())
                .unwrap_or_default()
        };
        let config = Config {
            device: Device::CPU,
            compute_type: ComputeType::INT8,
            num_threads_per_replica: opts.threads.max(1),
            ..Config::default()
        };
        let whisper = Whisper::new(&dir, config).map_err(|e| load_err(e.to_string()))?;
        let vocab = Vocabulary::load(&dir).map_err(load_err)?;
        if whisper.n_mels() != N_MELS {
            return Err(load_err(format!(
                "{} mel bands: guion computes Whisper's 80",
                whisper.n_mels()
            )));
        }
        Ok(Recogniser {
            model: model.clone(),
            multilingual: whisper.is_multilingual(),
            whisper,
            vocab,
            mel: MelMaker::default(),
            opts,
        })
    }

    pub fn model(&self) -> &ResolvedModel {
        &self.model
    }

    pub fn options(&self) -> &AsrOptions {
        &self.opts
    }

    pub fn is_multilingual(&self) -> bool {
        self.multilingual
    }

    /// Fails early, before any audio is decoded, when the model cannot do the language.
    pub fn check_language(&self, language: &str) -> Result<(), AsrError> {
        if !self.multilingual && language != "en" {
            return Err(
                if self.vocab.knows_language(language) || language.len() == 2 {
                    AsrError::EnglishOnly {
                        model: self.model.name.clone(),
                        language: language.to_string(),
                    }
                } else {
                    AsrError::UnknownLanguage(language.to_string())
                },
            );
        }
        if self.multilingual && !self.vocab.knows_language(language) {
            return Err(AsrError::UnknownLanguage(language.to_string()));
        }
        Ok(())
    }

    /// The beam its options give (what a chunk is decoded with unless a call says otherwise).
    pub fn beam(&self) -> usize {
        self.opts.beam_size.max(1)
    }

    /// How many chunks are decoded together under `beam`: [`BEAM_BATCH`] under beam search, one
    /// greedy.
    pub fn batch_size(beam: usize) -> usize {
        if beam > 1 { BEAM_BATCH } else { 1 }
    }

    /// Windows' features (`[80][3000]` each) through the encoder as one batch.
    fn encode_windows(&self, windows: Vec<Vec<f32>>) -> Result<StorageView<'static>, AsrError> {
        let mut data: Vec<f32> = Vec::with_capacity(windows.len() * N_MELS * WINDOW_FRAMES);
        for window in &windows {
            data.extend_from_slice(window);
        }
        let features = StorageView::new(
            &[windows.len(), N_MELS, WINDOW_FRAMES],
            &mut data,
            Device::CPU,
        )
        .map_err(|e| AsrError::Decode(e.to_string()))?;
        self.whisper
            .encode(&features, true)
            .map_err(|e| AsrError::Decode(e.to_string()))
    }

    /// The chunks' first windows through the encoder in one batch (at most
    /// [`Recogniser::batch_size`] chunks).
    pub fn encode(&self, chunks: &[&Chunk]) -> Result<Encoded, AsrError> {
        let first = self.encode_windows(self.first_windows(chunks))?;
        Ok(Encoded {
            chunks: chunks.len(),
            first,
        })
    }

    /// The features of each chunk's first window.
    fn first_windows(&self, chunks: &[&Chunk]) -> Vec<Vec<f32>> {
        chunks
            .iter()
            .map(|c| self.mel.compute(&c.samples).window(0))
            .collect()
    }

    /// How likely each language Whisper knows is to be the one spoken in `chunk` (its first 30 s):
    /// `(code, p)` for every language, summing to ~1. An English-only model knows only English.
    pub fn language_probs(&self, chunk: &Chunk) -> Result<Vec<(String, f32)>, AsrError> {
        if !self.multilingual {
            return Ok(vec![("en".to_string(), 1.0)]);
        }
        if chunk.samples.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self
            .language_of(&self.encode(&[chunk])?)?
            .pop()
            .unwrap_or_default())
    }

    /// `language_probs` of each chunk of an encoded batch, from the encoder output it already has.
    pub fn language_of(&self, encoded: &Encoded) -> Result<Vec<Vec<(String, f32)>>, AsrError> {
        if !self.multilingual {
            return Ok(vec![vec![("en".to_string(), 1.0)]; encoded.chunks]);
        }
        let found = self
            .whisper
            .detect_language(&encoded.first)
            .map_err(|e| AsrError::Decode(e.to_string()))?;
        Ok(found
            .into_iter()
            .map(|probs| {
                probs
                    .into_iter()
                    .map(|d| {
                        let code = d
                            .language
                            .trim_start_matches("<|")
                            .trim_end_matches("|>")
                            .to_string();
                        (code, d.probability)
                    })
                    .collect()
            })
            .collect())
    }

    /// Transcribes the speech `regions` of one channel (16 kHz mono) in `language`: only the regions
    /// are decoded (what a speech detector kept), in chunks decoded together.
    pub fn transcribe(
        &self,
        samples: &[f32],
        regions: &[SpeechRegion],
        language: &str,
    ) -> Result<Vec<Segment>, AsrError> {
        let chunks = chunk_speech(samples, regions);
        let chunks: Vec<&Chunk> = chunks.iter().collect();
        Ok(self
            .decode_batch(&chunks, Vec::new(), language, None, self.beam())?
            .into_iter()
            .flatten()
            .collect())
    }

    /// Decodes one chunk in `language` with `beam`, with an optional initial prompt (words Whisper
    /// should expect: the brand's names and the script's key words). Times are the channel's own.
    pub fn decode(
        &self,
        chunk: &Chunk,
        language: &str,
        prompt: Option<&str>,
        beam: usize,
    ) -> Result<Vec<Segment>, AsrError> {
        Ok(self
            .decode_batch(&[chunk], Vec::new(), language, prompt, beam)?
            .pop()
            .unwrap_or_default())
    }

    /// Decodes chunks in one language with `beam`, each chunk's segments in its own list.
    /// `encoded` holds `(k, e)` when the language pass already put `chunks[k..k + e.chunks]`
    /// through the encoder: their first windows start from that output.
    ///
    /// Each chunk is first decoded in a window of its own, [`Recogniser::batch_size`] windows at a
    /// time. Whisper may stop before a window's end (inside a sentence, or where the skipped-speech
    /// guard says), and a chunk longer than a window has more to read: what is left of the chunks
    /// is then laid into shared windows ([`pack_leftovers`]) until nothing is, rather than a window
    /// each. Leftovers are mostly a few seconds, and every window costs a full encoder pass.
    pub fn decode_batch(
        &self,
        chunks: &[&Chunk],
        encoded: Vec<(usize, Encoded)>,
        language: &str,
        prompt: Option<&str>,
        beam: usize,
    ) -> Result<Vec<Vec<Segment>>, AsrError> {
        self.check_language(language)?;
        let beam = beam.max(1);
        let batch_size = Self::batch_size(beam);
        let sot_sequence = self
            .vocab
            .sot_sequence(self.multilingual.then_some(language));
        let start = self
            .vocab
            .start(&sot_sequence, prompt.filter(|p| !p.trim().is_empty()));
        let mut decoding = Decoding {
            recogniser: self,
            chunks,
            options: WhisperOptions {
                beam_size: beam,
                return_scores: true,
                return_no_speech_prob: true,
                ..WhisperOptions::default()
            },
            start,
            sot_sequence,
            seek: vec![0; chunks.len()],
            tokens: vec![Vec::new(); chunks.len()],
            logprob: vec![(0.0, 0); chunks.len()],
        };
        let alone = |k: usize| {
            vec![Piece {
                chunk: k,
                from: 0,
                frames: chunks[k].frames().min(WINDOW_FRAMES),
                at: 0,
            }]
        };
        // First each chunk in a window of its own: the language pass's batches as they were
        // encoded, the other chunks in batches.
        let mut encoded = encoded;
        encoded.sort_by_key(|(k, _)| std::cmp::Reverse(*k));
        let mut k = 0;
        while k < chunks.len() {
            // An output that does not fit where it says is not used (the chunks are encoded again).
            while encoded
                .last()
                .is_some_and(|(at, e)| *at < k || at + e.chunks > chunks.len())
            {
                encoded.pop();
            }
            if encoded.last().is_some_and(|(at, _)| *at == k) {
                let (_, e) = encoded.pop().expect("just looked");
                let windows: Vec<Vec<Piece>> = (k..k + e.chunks).map(alone).collect();
                decoding.decode_windows(&windows, e.first)?;
                k += e.chunks;
                continue;
            }
            let until = encoded
                .last()
                .map_or(chunks.len(), |(at, _)| *at)
                .min(k + batch_size)
                .min(chunks.len());
            let these: Vec<usize> = (k..until)
                .filter(|&i| chunks[i].frames() >= MIN_WINDOW_FRAMES)
                .collect();
            if !these.is_empty() {
                let refs: Vec<&Chunk> = these.iter().map(|&i| chunks[i]).collect();
                let out = self.encode_windows(self.first_windows(&refs))?;
                let windows: Vec<Vec<Piece>> = these.into_iter().map(alone).collect();
                decoding.decode_windows(&windows, out)?;
            }
            k = until;
        }
        // Then what is left, shared windows at a time.
        loop {
            let left: Vec<(usize, usize, usize)> = (0..chunks.len())
                .filter_map(|i| {
                    let left = chunks[i].frames().saturating_sub(decoding.seek[i]);
                    (left >= MIN_WINDOW_FRAMES).then_some((i, decoding.seek[i], left))
                })
                .collect();
            if left.is_empty() {
                break;
            }
            for windows in pack_leftovers(&left).chunks(batch_size) {
                let features = windows
                    .iter()
                    .map(|pieces| self.mel.compute(&window_samples(chunks, pieces)).window(0))
                    .collect();
                let out = self.encode_windows(features)?;
                decoding.decode_windows(windows, out)?;
            }
        }
        let Decoding {
            tokens, logprob, ..
        } = decoding;
        Ok(chunks
            .iter()
            .zip(tokens.iter().zip(logprob))
            .map(|(chunk, (tokens, (sum, n)))| {
                let avg_logprob = if n > 0 { sum / n as f32 } else { 0.0 };
                segments_of(chunk, tokens, language, avg_logprob)
            })
            .collect())
    }

    /// Whisper's reference tests for a failed decoding: text that compresses more than 2.4 times
    /// (a loop), or a mean log-probability under -1 on a window it does not take for silence.
    fn needs_fallback(&self, result: &ct2rs::sys::WhisperGenerationResult) -> bool {
        let ids = result.sequences_ids.first().map_or(&[][..], Vec::as_slice);
        let text: Vec<u8> = ids
            .iter()
            .filter(|&&t| t < self.vocab.eot)
            .flat_map(|&t| self.vocab.bytes(t).iter().copied())
            .collect();
        let avg_logprob = result.scores.first().copied().unwrap_or(0.0);
        let silence = result.no_speech_prob > NO_SPEECH_THRESHOLD;
        compression_ratio(&text) > COMPRESSION_RATIO_THRESHOLD
            || (avg_logprob < LOGPROB_THRESHOLD && !silence)
    }

    /// Each text token of each window's segments, timed by aligning the tokens with the audio
    /// through the decoder's cross-attention (dynamic time warping over the alignment heads, one
    /// pass for the batch), with the model's probability of the token. Times are seconds in the
    /// window; a window without text gets none.
    fn timed_tokens(
        &self,
        encoder_out: &StorageView,
        sot_sequence: &[usize],
        windows: &[(Vec<tokens::TimedTokens>, usize)],
    ) -> Result<Vec<Vec<Token>>, AsrError> {
        let texts: Vec<Vec<usize>> = windows
            .iter()
            .map(|(segs, _)| segs.iter().flat_map(|s| s.tokens.iter().copied()).collect())
            .collect();
        if texts.iter().all(Vec::is_empty) {
            return Ok(vec![Vec::new(); windows.len()]);
        }
        let frames: Vec<usize> = windows.iter().map(|w| w.1).collect();
        let aligned = self
            .whisper
            .align(encoder_out, sot_sequence, &texts, &frames, 7)
            .map_err(|e| AsrError::Decode(e.to_string()))?;
        let mut out = Vec::with_capacity(windows.len());
        for (k, ((segs, _), text)) in windows.iter().zip(&texts).enumerate() {
            // The time at which the path moves on to each token (and to the end token).
            let mut jumps: Vec<f64> = Vec::with_capacity(text.len() + 1);
            let mut probs: &[f32] = &[];
            if let Some(a) = aligned.get(k) {
                let mut last = i64::MIN;
                for step in &a.alignments {
                    if step.token_x != last {
                        jumps.push(step.frame_x as f64 / 50.0);
                        last = step.token_x;
                    }
                }
                probs = &a.text_token_probs;
            }
            let mut tokens = Vec::with_capacity(text.len());
            let mut i = 0;
            for seg in segs {
                for (j, &id) in seg.tokens.iter().enumerate() {
                    // Without an alignment, a segment's tokens share its span evenly.
                    let even = |j: usize| {
                        seg.start + (seg.end - seg.start) * j as f64 / seg.tokens.len() as f64
                    };
                    let (t0, t1) = if jumps.len() == text.len() + 1 {
                        (jumps[i], jumps[i + 1])
                    } else {
                        (even(j), even(j + 1))
                    };
                    tokens.push(Token {
                        bytes: self.vocab.bytes(id).to_vec(),
                        p: probs.get(i).copied().unwrap_or(0.0),
                        t0,
                        t1,
                    });
                    i += 1;
                }
            }
            out.push(tokens);
        }
        Ok(out)
    }
}

/// A window under 0.1 s has nothing left to read.
const MIN_WINDOW_FRAMES: usize = 10;

/// A stretch of one chunk in a window: frames `[from, from + frames)` of the chunk's joined speech
/// (100 a second), placed `at` frames into the window.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Piece {
    chunk: usize,
    from: usize,
    frames: usize,
    at: usize,
}

/// What is left of the chunks, `(chunk, from, frames)` in order, laid into windows: each piece in
/// the first window it fits in, [`JOIN_SILENCE_S`] after the one before, at most [`MAX_CHUNK_S`]
/// a window as a chunk is. A piece longer than that has a window of its own, its first 30 s (the
/// rest is left for a next round).
fn pack_leftovers(left: &[(usize, usize, usize)]) -> Vec<Vec<Piece>> {
    let max = (MAX_CHUNK_S * 100.0) as usize;
    let join = (JOIN_SILENCE_S * 100.0) as usize;
    let end = |w: &[Piece]| w.last().map_or(0, |p| p.at + p.frames);
    let mut windows: Vec<Vec<Piece>> = Vec::new();
    for &(chunk, from, frames) in left {
        match windows.iter_mut().find(|w| end(w) + join + frames <= max) {
            Some(w) => {
                let at = end(w) + join;
                w.push(Piece {
                    chunk,
                    from,
                    frames,
                    at,
                });
            }
            None => windows.push(vec![Piece {
                chunk,
                from,
                frames: frames.min(WINDOW_FRAMES),
                at: 0,
            }]),
        }
    }
    windows
}

/// A window's samples: its pieces at their places, silence between.
fn window_samples(chunks: &[&Chunk], pieces: &[Piece]) -> Vec<f32> {
    let hop = mel::HOP;
    let mut out = Vec::new();
    for p in pieces {
        out.resize(p.at * hop, 0.0);
        let samples = &chunks[p.chunk].samples;
        let (from, to) = (p.from * hop, ((p.from + p.frames) * hop).min(samples.len()));
        out.extend_from_slice(&samples[from.min(to)..to]);
    }
    out
}

/// The piece a moment of its window (seconds) belongs to: the one it falls in, or the nearest.
fn piece_at(pieces: &[Piece], seconds: f64) -> Option<usize> {
    let frame = seconds * 100.0;
    let distance = |p: &Piece| {
        let (s, e) = (p.at as f64, (p.at + p.frames) as f64);
        if frame < s {
            s - frame
        } else {
            (frame - e).max(0.0)
        }
    };
    (0..pieces.len()).min_by(|&a, &b| distance(&pieces[a]).total_cmp(&distance(&pieces[b])))
}

/// Where each chunk of a window goes on from, once Whisper said to resume `next` frames into the
/// window: a piece `next` passed is done, the one it falls in resumes there, the others are left
/// as they were. The window's first piece always moves on (by a frame at least).
fn advance(seek: &mut [usize], pieces: &[Piece], next: usize) {
    for (k, p) in pieces.iter().enumerate() {
        let read = next.saturating_sub(p.at).min(p.frames);
        let read = if k == 0 { read.max(1) } else { read };
        if read > 0 {
            seek[p.chunk] = p.from + read;
        }
    }
}

/// One `decode_batch`: where each chunk stands, and what it has heard so far.
struct Decoding<'a> {
    recogniser: &'a Recogniser,
    chunks: &'a [&'a Chunk],
    options: WhisperOptions,
    start: Vec<String>,
    sot_sequence: Vec<usize>,
    /// The next frame to read, per chunk.
    seek: Vec<usize>,
    /// Timed tokens, seconds in the chunk, per chunk.
    tokens: Vec<Vec<Token>>,
    /// Sum and count of the mean log-probabilities of the windows that gave a chunk text.
    logprob: Vec<(f32, usize)>,
}

impl Decoding<'_> {
    /// Decodes a batch of windows (pieces of chunks) from their encoder output.
    fn decode_windows(
        &mut self,
        windows: &[Vec<Piece>],
        encoder_out: StorageView,
    ) -> Result<(), AsrError> {
        let r = self.recogniser;
        let prompts = vec![self.start.clone(); windows.len()];
        let mut results = r
            .whisper
            .generate(&encoder_out, &prompts, &self.options)
            .map_err(|e| AsrError::Decode(e.to_string()))?;
        // A greedy window Whisper's own measures doubt (a loop, or low probability on speech) is
        // decoded again with beam search: the reference's fallback samples at higher
        // temperatures instead, which would make a transcript depend on chance.
        if self.options.beam_size == 1 && results.iter().any(|x| r.needs_fallback(x)) {
            tracing::debug!(
                windows = windows.len(),
                "a greedy window failed Whisper's tests: decoded again with beam search"
            );
            let beam = WhisperOptions {
                beam_size: FALLBACK_BEAM,
                ..self.options.clone()
            };
            results = r
                .whisper
                .generate(&encoder_out, &prompts, &beam)
                .map_err(|e| AsrError::Decode(e.to_string()))?;
        }
        // Each window's (segments, frames), for the alignment; and where it resumes, and its mean
        // log-probability.
        let mut decoded = Vec::with_capacity(windows.len());
        let mut resumes = Vec::with_capacity(windows.len());
        for (pieces, result) in windows.iter().zip(&results) {
            let frames = pieces.last().map_or(0, |p| p.at + p.frames);
            let ids = result.sequences_ids.first().cloned().unwrap_or_default();
            let (mut segs, mut next) =
                tokens::segments(&ids, r.vocab.eot, r.vocab.timestamp_begin, frames);
            let avg_logprob = result.scores.first().copied().unwrap_or(0.0);
            let doubted =
                result.no_speech_prob > NO_SPEECH_THRESHOLD && avg_logprob < LOGPROB_THRESHOLD;
            let speech: Vec<(f64, f64)> = pieces
                .iter()
                .flat_map(|p| {
                    let at = p.at as f64 / 100.0;
                    self.chunks[p.chunk]
                        .speech_in(p.from, p.frames)
                        .into_iter()
                        .map(move |(s, e)| (s + at, e + at))
                })
                .collect();
            if let Some((keep, resume)) =
                resume_before_skipped_speech(&segs, next, &speech).filter(|_| !doubted)
            {
                tracing::debug!(
                    at_s = resume as f64 / 100.0,
                    dropped_segments = segs.len() - keep,
                    "Whisper went past speech it did not write: the window is decoded again from there"
                );
                segs.truncate(keep);
                next = resume;
            }
            let segs = if doubted { Vec::new() } else { segs };
            tracing::debug!(
                pieces = pieces.len(),
                seek_s = pieces[0].from as f64 / 100.0,
                window_s = frames as f64 / 100.0,
                next_s = next as f64 / 100.0,
                segments = segs.len(),
                last_end = segs.last().map_or(0.0, |s| s.end),
                "window decoded"
            );
            decoded.push((segs, frames));
            resumes.push((next, avg_logprob));
        }
        let timed = r.timed_tokens(&encoder_out, &self.sot_sequence, &decoded)?;
        for ((pieces, (next, avg_logprob)), tokens) in windows.iter().zip(resumes).zip(timed) {
            let mut heard = vec![false; pieces.len()];
            for t in tokens {
                let Some(k) = piece_at(pieces, (t.t0 + t.t1) / 2.0) else {
                    continue;
                };
                heard[k] = true;
                let p = &pieces[k];
                // Seconds in the window to seconds in the chunk, inside the piece.
                let (lo, hi) = (p.from as f64 / 100.0, (p.from + p.frames) as f64 / 100.0);
                let shift = (p.from as f64 - p.at as f64) / 100.0;
                self.tokens[p.chunk].push(Token {
                    t0: (t.t0 + shift).clamp(lo, hi),
                    t1: (t.t1 + shift).clamp(lo, hi),
                    ..t
                });
            }
            for (p, _) in pieces.iter().zip(heard).filter(|(_, h)| *h) {
                self.logprob[p.chunk].0 += avg_logprob;
                self.logprob[p.chunk].1 += 1;
            }
            advance(&mut self.seek, pieces, next);
        }
        Ok(())
    }
}

/// A chunk's timed tokens as segments: words (repetition loops collapsed), cut where the channel
/// pauses, a segment that repeats the one before dropped; times mapped back to the channel.
fn segments_of(chunk: &Chunk, tokens: &[Token], language: &str, avg_logprob: f32) -> Vec<Segment> {
    let mut segments: Vec<Segment> = Vec::new();
    let words = collapse_repeats(words_from_tokens(
        tokens,
        &|start, end| chunk.span_to_original(start, end),
        chunk.end_s(),
    ));
    for words in split_at_pauses(words) {
        let text = join_words(&words);
        // Whisper looping writes a sentence again over the same speech; a speaker who says it
        // twice says it in two stretches of speech, and both are kept.
        if let Some(prev) = segments.last()
            && words.len() >= 3
            && chunk.region_at(prev.start) == chunk.region_at(words[0].start)
            && normalize(&prev.text, None) == normalize(&text, None)
        {
            continue;
        }
        segments.push(Segment {
            start: words[0].start,
            end: words[words.len() - 1].end,
            text,
            words,
            language: language.to_string(),
            avg_logprob,
        });
    }
    segments
}

/// Speech a window may leave unwritten between two of its segments (or after its last) before
/// its decoding is doubted there: more than Whisper's timestamps drift from the speech detector's
/// edges, less than a short sentence ("¿Me indica su DNI?" is ~1.5 s).
const SKIPPED_SPEECH_S: f64 = 1.2;

/// Whisper sometimes ends a window early ("single timestamp ending": the rest of the window is
/// taken as done) or jumps its timestamps over a sentence, and the sentence is silently lost: on
/// the demo night a DNI request and a disclosure were. Where the speech detector heard at least
/// [`SKIPPED_SPEECH_S`] of speech no segment covers, after a segment that ended at least half a
/// second into the window (so each window moves on), this keeps the segments up to there and says
/// to resume at that segment's end: `(segments kept, next seek in frames)`. `speech` is the
/// window's speech, seconds from its start; `next` the seek Whisper's own tokens gave.
fn resume_before_skipped_speech(
    segs: &[tokens::TimedTokens],
    next: usize,
    speech: &[(f64, f64)],
) -> Option<(usize, usize)> {
    let next_s = next as f64 / 100.0;
    let speech_between = |from: f64, to: f64| -> f64 {
        speech
            .iter()
            .map(|&(s, e)| (e.min(to) - s.max(from)).max(0.0))
            .sum()
    };
    for (k, seg) in segs.iter().enumerate() {
        let until = segs.get(k + 1).map_or(next_s, |n| n.start);
        if seg.end >= 0.5 && speech_between(seg.end, until) >= SKIPPED_SPEECH_S {
            let resume = (seg.end * 100.0).round() as usize;
            return (resume < next).then_some((k + 1, resume));
        }
    }
    None
}

/// The beam a doubted greedy window is decoded again with.
const FALLBACK_BEAM: usize = 5;
/// Whisper's reference threshold for a repetition loop (text bytes over their zlib size).
const COMPRESSION_RATIO_THRESHOLD: f64 = 2.4;

fn compression_ratio(text: &[u8]) -> f64 {
    use std::io::Write;
    if text.is_empty() {
        return 0.0;
    }
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    let _ = z.write_all(text);
    let packed = z.finish().map_or(text.len(), |v| v.len());
    text.len() as f64 / packed.max(1) as f64
}

/// Chunks decoded together under beam search. Measured on a real two-channel call (one thread,
/// scripts/bench-asr): beam 5 took 8 % less time with 3 chunks in a batch than one at a time, for
/// 200 MB more (each sequence keeps its own cross-attention keys and values); greedy decoding
/// gained nothing from batches (16 chunks: 2 % slower, 740 MB more), so it decodes one at a time.
const BEAM_BATCH: usize = 3;

/// Whisper's reference values for "this segment is not speech".
const NO_SPEECH_THRESHOLD: f32 = 0.6;
const LOGPROB_THRESHOLD: f32 = -1.0;

#[derive(Debug, Clone)]
struct Token {
    bytes: Vec<u8>,
    p: f32,
    t0: f64,
    t1: f64,
}

/// Whisper's byte-level tokens start a new word with a leading space; a multi-byte character (an accent)
/// may be split across tokens, so bytes are gathered per word before decoding.
/// Token times are in the joined speech; `to_original` maps a word's span back to the channel's time.
fn words_from_tokens(
    tokens: &[Token],
    to_original: &dyn Fn(f64, f64) -> (f64, f64),
    duration: f64,
) -> Vec<Word> {
    struct Acc {
        bytes: Vec<u8>,
        p_sum: f32,
        n: usize,
        start: f64,
        end: f64,
    }
    let mut words: Vec<Word> = Vec::new();
    let mut acc: Option<Acc> = None;
    let flush = |acc: Option<Acc>, words: &mut Vec<Word>| {
        let Some(a) = acc else { return };
        let text = String::from_utf8_lossy(&a.bytes).trim().to_string();
        if text.is_empty() {
            return;
        }
        // Token times are estimates; keep words ordered and inside the audio whatever they say.
        let (start, end) = to_original(a.start, a.end);
        let floor = words.last().map_or(0.0, |w| w.start);
        let start = start.clamp(floor, duration);
        let end = end.clamp(start, duration);
        words.push(Word {
            text,
            start,
            end,
            p: a.p_sum / a.n as f32,
        });
    };
    for t in tokens {
        let starts_word = t.bytes.first() == Some(&b' ');
        let is_punctuation = !t.bytes.is_empty()
            && t.bytes
                .iter()
                .all(|b| b.is_ascii_punctuation() || *b == b' ');
        match acc.as_mut() {
            Some(a) if !starts_word => {
                a.bytes.extend_from_slice(&t.bytes);
                if !is_punctuation {
                    a.p_sum += t.p;
                    a.n += 1;
                    a.end = a.end.max(t.t1);
                }
            }
            _ => {
                flush(acc.take(), &mut words);
                acc = Some(Acc {
                    bytes: t.bytes.clone(),
                    p_sum: t.p,
                    n: 1,
                    start: t.t0,
                    end: t.t1.max(t.t0),
                });
            }
        }
    }
    flush(acc, &mut words);
    words
}

/// An n-gram said four or more times in a row is a decoding loop, not a customer: keep one.
/// ("sí, sí, sí" — three — stays.)
fn collapse_repeats(mut words: Vec<Word>) -> Vec<Word> {
    const MIN_REPEATS: usize = 4;
    let key = |w: &Word| normalize(&w.text, None);
    let mut n = 1;
    while n <= 8 {
        let mut i = 0;
        let mut changed = false;
        while i + n * MIN_REPEATS <= words.len() {
            let gram: Vec<String> = words[i..i + n].iter().map(key).collect();
            let mut reps = 1;
            while i + (reps + 1) * n <= words.len()
                && words[i + reps * n..i + (reps + 1) * n]
                    .iter()
                    .map(key)
                    .eq(gram.iter().cloned())
            {
                reps += 1;
            }
            if reps >= MIN_REPEATS {
                words.drain(i + n..i + reps * n);
                changed = true;
            }
            i += 1;
        }
        if !changed {
            n += 1;
        }
    }
    words
}

/// A silence this long between two words ends an utterance.
const PAUSE_SPLIT_S: f64 = 1.0;

/// Whisper decodes the speech regions joined end to end, so one of its segments can run across the
/// other party's turns (a whole side of a call came out as one "utterance" on the demo night). Cut
/// where the channel's own time shows a pause: an utterance is speech without one.
fn split_at_pauses(words: Vec<Word>) -> Vec<Vec<Word>> {
    let mut out: Vec<Vec<Word>> = Vec::new();
    for w in words {
        match out.last_mut() {
            Some(current)
                if current
                    .last()
                    .is_some_and(|prev| w.start - prev.end < PAUSE_SPLIT_S) =>
            {
                current.push(w)
            }
            _ => out.push(vec![w]),
        }
    }
    out
}

fn join_words(words: &[Word]) -> String {
    words
        .iter()
        .map(|w| w.text.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The longest chunk Whisper decodes in one pass: its window is 30 s.
const MAX_CHUNK_S: f64 = 29.0;

/// Silence put between two speech regions of a chunk. Whisper ends its segments and places its
/// timestamp tokens at pauses; without one between regions, a sentence ran on across the join and
/// its words were timed in the wrong region (a step said at 0–2 s was quoted with words at 19 and
/// 25 s, interleaved with the customer's).
const JOIN_SILENCE_S: f64 = 0.3;

/// Some of a channel's speech regions, joined into what Whisper decodes in one pass, with the map
/// back to the channel's own time. Chunks never cross a region: each region is whole in one chunk.
#[derive(Debug, Clone)]
pub struct Chunk {
    pub samples: Vec<f32>,
    /// (start in `samples`, start in the channel, length), in order.
    pieces: Vec<(usize, usize, usize)>,
}

impl Chunk {
    /// The given regions of `samples`, joined.
    pub fn of(samples: &[f32], regions: &[SpeechRegion]) -> Chunk {
        let gap = (JOIN_SILENCE_S * SAMPLE_RATE as f64) as usize;
        let mut joined = Vec::new();
        let mut pieces = Vec::new();
        for r in regions {
            let (start, end) = (r.start.min(samples.len()), r.end.min(samples.len()));
            if end > start {
                if !joined.is_empty() {
                    joined.resize(joined.len() + gap, 0.0);
                }
                pieces.push((joined.len(), start, end - start));
                joined.extend_from_slice(&samples[start..end]);
            }
        }
        Chunk {
            samples: joined,
            pieces,
        }
    }

    /// The regions it holds, in the channel's samples.
    pub fn regions(&self) -> Vec<SpeechRegion> {
        self.pieces
            .iter()
            .map(|&(_, start, len)| SpeechRegion {
                start,
                end: start + len,
            })
            .collect()
    }

    /// Which of its regions holds `seconds` of channel time, if any.
    fn region_at(&self, seconds: f64) -> Option<usize> {
        let at = (seconds.max(0.0) * SAMPLE_RATE as f64) as usize;
        self.pieces
            .iter()
            .position(|&(_, start, len)| (start..=start + len).contains(&at))
    }

    /// Its speech (the joins left out) between frames `from` and `from + frames` (100 a second),
    /// as `(start, end)` seconds from `from`.
    fn speech_in(&self, from: usize, frames: usize) -> Vec<(f64, f64)> {
        let per_frame = mel::HOP;
        let (lo, hi) = (from * per_frame, (from + frames) * per_frame);
        self.pieces
            .iter()
            .filter_map(|&(at, _, len)| {
                let (s, e) = (at.max(lo), (at + len).min(hi));
                (e > s).then(|| {
                    let sec = |x: usize| (x - lo) as f64 / SAMPLE_RATE as f64;
                    (sec(s), sec(e))
                })
            })
            .collect()
    }

    /// Its length in feature frames (100 a second).
    fn frames(&self) -> usize {
        self.samples.len() / mel::HOP
    }

    /// Seconds of speech (the joins' silence left out).
    pub fn speech_s(&self) -> f64 {
        self.pieces.iter().map(|p| p.2).sum::<usize>() as f64 / SAMPLE_RATE as f64
    }

    pub fn start_s(&self) -> f64 {
        self.pieces
            .first()
            .map_or(0.0, |p| p.1 as f64 / SAMPLE_RATE as f64)
    }

    pub fn end_s(&self) -> f64 {
        self.pieces
            .last()
            .map_or(0.0, |p| (p.1 + p.2) as f64 / SAMPLE_RATE as f64)
    }

    /// Maps a word's span in the chunk back to the channel. Whisper's token times bleed across the
    /// joins, so the word belongs to the piece nearest its midpoint and is kept inside that piece:
    /// no word is ever timed where its channel had no speech.
    fn span_to_original(&self, start: f64, end: f64) -> (f64, f64) {
        let sr = SAMPLE_RATE as f64;
        let at = |seconds: f64| (seconds.max(0.0) * sr) as usize;
        let mid = at((start + end.max(start)) / 2.0);
        let distance = |&(joined_start, _, len): &(usize, usize, usize)| {
            if mid < joined_start {
                joined_start - mid
            } else {
                mid.saturating_sub(joined_start + len)
            }
        };
        let Some(&(joined_start, original_start, len)) =
            self.pieces.iter().min_by_key(|p| distance(p))
        else {
            return (start, end);
        };
        let map = |t: usize| (original_start + t.saturating_sub(joined_start).min(len)) as f64 / sr;
        (map(at(start)), map(at(end.max(start))))
    }
}

/// Cuts a long speech region into pieces of a few seconds at its quietest moments (between words,
/// mostly), so that the language of each piece can be judged on its own: a speaker may switch
/// language mid-turn without a pause long enough to end a region.
pub fn split_at_quiet(samples: &[f32], region: SpeechRegion) -> Vec<SpeechRegion> {
    const MIN_S: f64 = 2.5;
    const MAX_S: f64 = 6.0;
    let sr = SAMPLE_RATE as f64;
    let frame = (0.02 * sr) as usize;
    let (min, max) = ((MIN_S * sr) as usize, (MAX_S * sr) as usize);
    let end = region.end.min(samples.len());
    let mut pieces = Vec::new();
    let mut start = region.start.min(end);
    while end - start > max + min {
        // The quietest 20 ms frame between MIN_S and MAX_S from the piece's start.
        let energy = |at: usize| samples[at..at + frame].iter().map(|x| x * x).sum::<f32>();
        let cut = (start + min..start + max)
            .step_by(frame)
            .min_by(|&a, &b| energy(a).total_cmp(&energy(b)))
            .map_or(start + max, |at| at + frame / 2);
        pieces.push(SpeechRegion { start, end: cut });
        start = cut;
    }
    if end > start {
        pieces.push(SpeechRegion { start, end });
    }
    pieces
}

/// Packs a channel's speech regions, in order, into chunks of at most [`MAX_CHUNK_S`] (joins
/// included), so that each is one Whisper window and a region is never cut; a region longer than
/// a window is a chunk of its own (Whisper moves through it by its own timestamps).
pub fn chunk_speech(samples: &[f32], regions: &[SpeechRegion]) -> Vec<Chunk> {
    let sr = SAMPLE_RATE as f64;
    let max = (MAX_CHUNK_S * sr) as usize;
    let gap = (JOIN_SILENCE_S * sr) as usize;
    let mut groups: Vec<Vec<SpeechRegion>> = Vec::new();
    let mut len = 0usize;
    for r in regions
        .iter()
        .filter(|r| r.start < samples.len() && !r.is_empty())
    {
        let r_len = r.end.min(samples.len()) - r.start;
        match groups.last_mut() {
            Some(group) if len + gap + r_len <= max => {
                group.push(*r);
                len += gap + r_len;
            }
            _ => {
                groups.push(vec![*r]);
                len = r_len;
            }
        }
    }
    groups.iter().map(|g| Chunk::of(samples, g)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tok(text: &str, p: f32, t0: f64, t1: f64) -> Token {
        Token {
            bytes: text.as_bytes().to_vec(),
            p,
            t0,
            t1,
        }
    }

    fn texts(words: &[Word]) -> Vec<&str> {
        words.iter().map(|w| w.text.as_str()).collect()
    }

    #[test]
    fn tokens_merge_into_words_with_punctuation_attached() {
        let tokens = [
            tok(" Buen", 0.9, 0.0, 0.2),
            tok("os", 0.7, 0.2, 0.4),
            tok(" días", 0.8, 0.5, 0.8),
            tok(",", 0.99, 0.8, 0.8),
            tok(" soy", 0.6, 1.0, 1.2),
        ];
        let words = words_from_tokens(&tokens, &|s, e| (s, e), 10.0);
        assert_eq!(texts(&words), ["Buenos", "días,", "soy"]);
        assert!((words[0].p - 0.8).abs() < 1e-6, "mean of token p");
        assert_eq!((words[0].start, words[0].end), (0.0, 0.4));
        // The comma's certainty says nothing about the word.
        assert!((words[1].p - 0.8).abs() < 1e-6);
    }

    #[test]
    fn accents_split_across_tokens_are_rejoined() {
        let a = "á".as_bytes();
        let tokens = [
            Token {
                bytes: [b" est".as_slice(), &a[..1]].concat(),
                p: 0.9,
                t0: 0.0,
                t1: 0.3,
            },
            Token {
                bytes: a[1..].to_vec(),
                p: 0.9,
                t0: 0.3,
                t1: 0.4,
            },
        ];
        assert_eq!(
            texts(&words_from_tokens(&tokens, &|s, e| (s, e), 5.0)),
            ["está"]
        );
    }

    #[test]
    fn word_times_are_monotonic_and_inside_the_audio() {
        let tokens = [
            tok(" uno", 0.9, 1.0, 1.5),
            tok(" dos", 0.9, 0.7, 0.9),  // estimate out of order
            tok(" tres", 0.9, 2.8, 3.4), // past the end
        ];
        let words = words_from_tokens(&tokens, &|s, e| (s, e), 3.0);
        for pair in words.windows(2) {
            assert!(pair[0].start <= pair[1].start);
        }
        for w in &words {
            assert!(0.0 <= w.start && w.start <= w.end && w.end <= 3.0, "{w:?}");
        }
    }

    fn words(text: &str) -> Vec<Word> {
        text.split(' ')
            .enumerate()
            .map(|(i, t)| Word {
                text: t.into(),
                start: i as f64,
                end: i as f64 + 0.5,
                p: 0.9,
            })
            .collect()
    }

    #[test]
    fn decoding_loops_collapse_but_emphasis_stays() {
        let looped = collapse_repeats(words("gracias gracias gracias gracias gracias adiós"));
        assert_eq!(texts(&looped), ["gracias", "adiós"]);
        let phrase = collapse_repeats(words("thank you. thank you. thank you. thank you. bye"));
        assert_eq!(texts(&phrase), ["thank", "you.", "bye"]);
        let emphasis = collapse_repeats(words("sí, sí, sí, claro"));
        assert_eq!(texts(&emphasis), ["sí,", "sí,", "sí,", "claro"]);
    }

    fn region(start_s: f64, end_s: f64) -> SpeechRegion {
        let sr = SAMPLE_RATE as f64;
        SpeechRegion {
            start: (start_s * sr) as usize,
            end: (end_s * sr) as usize,
        }
    }

    #[test]
    fn a_chunk_maps_back_to_channel_time_and_never_into_a_pause() {
        let samples = vec![0.0f32; 10 * SAMPLE_RATE as usize];
        // Speech at 1–2 s and 5–7 s: in the chunk, 0–1 s, a 0.3 s join, then 1.3–3.3 s.
        let c = Chunk::of(&samples, &[region(1.0, 2.0), region(5.0, 7.0)]);
        assert_eq!(c.samples.len(), (3.3 * SAMPLE_RATE as f64) as usize);
        assert!((c.speech_s() - 3.0).abs() < 1e-9);
        let close =
            |(a, b): (f64, f64), (x, y): (f64, f64)| (a - x).abs() < 1e-3 && (b - y).abs() < 1e-3;
        assert!(close(c.span_to_original(0.2, 0.5), (1.2, 1.5)));
        assert!(close(c.span_to_original(1.8, 2.8), (5.5, 6.5)));
        // A start that bled into the piece before is pulled into the word's own piece...
        assert!(close(c.span_to_original(1.1, 1.7), (5.0, 5.4)));
        // ...and so is an end that ran into the join.
        assert!(close(c.span_to_original(0.6, 1.1), (1.6, 2.0)));
        // A word timed inside the join belongs to the nearer piece.
        assert!(close(c.span_to_original(1.02, 1.08), (2.0, 2.0)));
        assert!(close(c.span_to_original(1.22, 1.28), (5.0, 5.0)));
        // Past the last piece: clamp to its end rather than run into silence.
        assert!(close(c.span_to_original(3.0, 9.0), (6.7, 7.0)));
    }

    #[test]
    fn a_long_region_is_cut_at_its_quiet_moments() {
        let sr = SAMPLE_RATE as usize;
        // 20 s of "speech" with a silent 40 ms every 3.5 s.
        let samples: Vec<f32> = (0..20 * sr)
            .map(|i| {
                let t = i % (sr * 7 / 2);
                if t < sr * 4 / 100 { 0.0 } else { 0.3 }
            })
            .collect();
        let pieces = split_at_quiet(&samples, region(0.0, 20.0));
        assert_eq!(pieces.first().map(|p| p.start), Some(0));
        assert_eq!(pieces.last().map(|p| p.end), Some(20 * sr));
        for pair in pieces.windows(2) {
            assert_eq!(pair[0].end, pair[1].start, "no gap, no overlap");
            // Each cut lands in a silent stretch.
            let cut = pair[0].end % (sr * 7 / 2);
            assert!(cut < sr * 4 / 100 + sr / 100, "cut at {}", pair[0].end);
        }
        for p in &pieces {
            assert!(p.len() <= 9 * sr, "{p:?}");
        }
        // Short regions stay whole.
        assert_eq!(
            split_at_quiet(&samples, region(1.0, 5.0)),
            [region(1.0, 5.0)]
        );
    }

    #[test]
    fn chunks_are_one_window_long_and_never_cut_a_region() {
        let samples = vec![0.0f32; 200 * SAMPLE_RATE as usize];
        let regions: Vec<SpeechRegion> = (0..20)
            .map(|i| region(i as f64 * 6.0, i as f64 * 6.0 + 4.0))
            .chain([region(130.0, 170.0), region(171.0, 172.0)])
            .collect();
        let chunks = chunk_speech(&samples, &regions);
        let back: Vec<SpeechRegion> = chunks.iter().flat_map(Chunk::regions).collect();
        assert_eq!(back, regions, "every region once, whole, in order");
        for c in &chunks {
            let len = c.samples.len() as f64 / SAMPLE_RATE as f64;
            assert!(len <= MAX_CHUNK_S || c.pieces.len() == 1, "{len} s");
        }
        // 4 s regions with 0.3 s joins: six to a chunk; the 40 s monologue alone.
        assert_eq!(chunks[0].regions().len(), 6);
        assert!(chunks.iter().any(|c| c.regions() == [region(130.0, 170.0)]));
        assert!(chunk_speech(&samples, &[]).is_empty());
        // Regions past the end of the audio (a detector's padding) are clipped or dropped.
        let short = vec![0.0f32; SAMPLE_RATE as usize];
        let c = chunk_speech(&short, &[region(0.5, 2.0), region(3.0, 4.0)]);
        assert_eq!(c.len(), 1);
        assert!((c[0].speech_s() - 0.5).abs() < 1e-9);
    }

    fn seg(start: f64, end: f64) -> tokens::TimedTokens {
        tokens::TimedTokens {
            start,
            end,
            tokens: vec![1],
        }
    }

    #[test]
    fn a_window_that_went_past_speech_is_decoded_again_from_there() {
        let speech = [(0.2, 4.0), (5.0, 8.0), (9.0, 12.5), (20.0, 29.5)];
        // Whisper wrote 0–8 s and 9–12.5 s, then ended the window: 9.5 s of speech unwritten.
        let segs = [seg(0.0, 4.1), seg(4.8, 8.2), seg(8.9, 12.4)];
        assert_eq!(
            resume_before_skipped_speech(&segs, 3000, &speech),
            Some((3, 1240))
        );
        // It jumped from 4.1 s to 20 s over a sentence: keep the first, resume at 4.1 s.
        let jumped = [seg(0.0, 4.1), seg(20.0, 29.6)];
        assert_eq!(
            resume_before_skipped_speech(&jumped, 3000, &speech),
            Some((1, 410))
        );
        // All written (timestamps a little off the detector's edges): nothing to redo.
        let all = [
            seg(0.0, 3.6),
            seg(4.9, 8.0),
            seg(9.3, 12.3),
            seg(20.4, 29.0),
        ];
        assert_eq!(resume_before_skipped_speech(&all, 3000, &speech), None);
        // An unfinished last segment already resumes at the last complete one: nothing to add.
        assert_eq!(resume_before_skipped_speech(&all[..3], 1230, &speech), None);
        // Speech before the first segment cannot be gone back to; nor can a window move by less
        // than half a second.
        let late = [seg(5.0, 8.0), seg(9.0, 12.5), seg(20.0, 29.5)];
        assert_eq!(resume_before_skipped_speech(&late, 3000, &speech), None);
        let short = [seg(0.0, 0.3)];
        assert_eq!(
            resume_before_skipped_speech(&short, 3000, &[(0.0, 5.0)]),
            None
        );
        assert_eq!(resume_before_skipped_speech(&[], 3000, &speech), None);
    }

    fn piece(chunk: usize, from: usize, frames: usize, at: usize) -> Piece {
        Piece {
            chunk,
            from,
            frames,
            at,
        }
    }

    #[test]
    fn what_whisper_leaves_shares_windows() {
        // Three leftovers of a few seconds, then the rest of a long region, then a short one.
        let left = [
            (0, 2896, 273),
            (1, 2830, 205),
            (2, 2300, 540),
            (3, 3000, 2500),
            (4, 1000, 300),
        ];
        let windows = pack_leftovers(&left);
        assert_eq!(
            windows,
            [
                vec![
                    piece(0, 2896, 273, 0),
                    piece(1, 2830, 205, 303),
                    piece(2, 2300, 540, 538),
                    // The join is 0.3 s: the short one fits after the first three.
                    piece(4, 1000, 300, 1108),
                ],
                vec![piece(3, 3000, 2500, 0)],
            ]
        );
        // A piece longer than a window gets one of its own, a window long; nothing joins it.
        let long = pack_leftovers(&[(0, 0, 4200), (1, 0, 100)]);
        assert_eq!(
            long,
            [vec![piece(0, 0, 3000, 0)], vec![piece(1, 0, 100, 0)]]
        );
        assert!(pack_leftovers(&[]).is_empty());
    }

    #[test]
    fn a_shared_window_moves_each_chunk_on_by_what_whisper_read() {
        let pieces = [
            piece(0, 2896, 273, 0),
            piece(1, 2830, 205, 303),
            piece(2, 0, 540, 538),
        ];
        // Whisper read into the second piece: the first is done, the second resumes there, the
        // third is untouched.
        let mut seek = vec![2896, 2830, 0];
        advance(&mut seek, &pieces, 400);
        assert_eq!(seek, [2896 + 273, 2830 + 97, 0]);
        // It read all: every piece is done.
        let mut seek = vec![2896, 2830, 0];
        advance(&mut seek, &pieces, 1078);
        assert_eq!(seek, [3169, 3035, 540]);
        // It read nothing: the first piece still moves on, by a frame.
        let mut seek = vec![2896, 2830, 0];
        advance(&mut seek, &pieces, 0);
        assert_eq!(seek, [2897, 2830, 0]);
    }

    #[test]
    fn a_shared_window_is_its_pieces_with_silence_between() {
        let hop = mel::HOP;
        let a = Chunk {
            samples: vec![0.5; 500 * hop],
            pieces: vec![(0, 0, 500 * hop)],
        };
        let b = Chunk {
            samples: vec![-0.5; 200 * hop],
            pieces: vec![(0, 16_000, 200 * hop)],
        };
        let samples = window_samples(&[&a, &b], &[piece(0, 400, 100, 0), piece(1, 0, 200, 130)]);
        assert_eq!(samples.len(), 330 * hop);
        assert!(samples[..100 * hop].iter().all(|&x| x == 0.5));
        assert!(samples[100 * hop..130 * hop].iter().all(|&x| x == 0.0));
        assert!(samples[130 * hop..].iter().all(|&x| x == -0.5));
        // A moment of the window belongs to the piece it falls in, or to the nearest one.
        let pieces = [piece(0, 400, 100, 0), piece(1, 0, 200, 130)];
        assert_eq!(piece_at(&pieces, 0.5), Some(0));
        assert_eq!(piece_at(&pieces, 1.1), Some(0));
        assert_eq!(piece_at(&pieces, 1.25), Some(1));
        assert_eq!(piece_at(&pieces, 9.0), Some(1));
        assert_eq!(piece_at(&[], 1.0), None);
    }

    #[test]
    fn a_windows_speech_is_its_pieces_in_window_time() {
        let samples = vec![0.1f32; 60 * SAMPLE_RATE as usize];
        let chunk = Chunk::of(&samples, &[region(1.0, 11.0), region(20.0, 45.0)]);
        // Pieces: 0–10 s, then 0.3 s of join, then 10.3–35.3 s of the chunk.
        let first = chunk.speech_in(0, 3000);
        assert_eq!(first.len(), 2);
        assert!((first[0].0 - 0.0).abs() < 1e-9 && (first[0].1 - 10.0).abs() < 1e-9);
        assert!((first[1].0 - 10.3).abs() < 1e-6 && (first[1].1 - 30.0).abs() < 1e-6);
        // From 12 s on: the second piece, in the window's own time.
        let later = chunk.speech_in(1200, 3000);
        assert_eq!(later.len(), 1);
        assert!(later[0].0.abs() < 1e-9 && (later[0].1 - 23.3).abs() < 1e-6);
    }

    #[test]
    fn a_sentence_said_twice_stays_twice_but_a_loop_over_one_stretch_goes() {
        let samples = vec![0.1f32; 20 * SAMPLE_RATE as usize];
        // Two stretches of speech, 0–3 s and 10–13 s, joined with 0.3 s between them.
        let chunk = Chunk::of(&samples, &[region(0.0, 3.0), region(10.0, 13.0)]);
        let said = |t: f64| {
            vec![
                tok(" The", 0.9, t, t + 0.15),
                tok(" line", 0.9, t + 0.15, t + 0.3),
                tok(" is", 0.9, t + 0.3, t + 0.45),
                tok(" busy.", 0.9, t + 0.45, t + 0.6),
            ]
        };
        let twice: Vec<Token> = said(0.2).into_iter().chain(said(3.6)).collect();
        let segs = segments_of(&chunk, &twice, "en", -0.2);
        assert_eq!(segs.len(), 2, "{segs:?}");
        assert!(segs[1].start >= 10.0);
        // The same sentence again within the first stretch, after a pause: a loop.
        let looped: Vec<Token> = said(0.0).into_iter().chain(said(1.8)).collect();
        let segs = segments_of(&chunk, &looped, "en", -0.2);
        assert_eq!(segs.len(), 1, "{segs:?}");
    }

    #[test]
    fn a_segment_is_cut_where_the_channel_pauses() {
        let word = |text: &str, start: f64, end: f64| Word {
            text: text.into(),
            start,
            end,
            p: 0.9,
        };
        let words = vec![
            word("Policy", 0.0, 0.4),
            word("number?", 0.5, 0.9),
            word("Calm", 12.0, 12.3),
            word("down.", 12.4, 12.8),
            word("Now.", 13.5, 13.8),
        ];
        let parts: Vec<String> = split_at_pauses(words)
            .iter()
            .map(|w| join_words(w))
            .collect();
        assert_eq!(parts, ["Policy number?", "Calm down. Now."]);
        assert!(split_at_pauses(Vec::new()).is_empty());
    }
}
