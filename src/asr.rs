//! Whisper through whisper-rs: one channel of 16 kHz samples in, segments with word timings out.
//!
//! A `Recogniser` owns one model context; a worker makes one and reuses it for every call. Each channel
//! gets a fresh decoding state: whisper.cpp's temperature fallback draws from a generator kept in the
//! state, so a reused state would make a call's transcript depend on the calls decoded before it — and a
//! resumed batch must give exactly what an uninterrupted one gives.
//! every call. Three guards stand between Whisper and invented text, because a multilingual model fed
//! silence, hold music or line noise writes fluent sentences (and reports a no-speech probability near 0):
//! 1. only what the energy gate calls speech is decoded — the speech regions are cut out, joined, decoded
//!    in one pass, and every time is mapped back to the original audio;
//! 2. a segment Whisper itself doubts (no-speech probability high *and* low average log-probability) is
//!    dropped, the rule of the reference implementation;
//! 3. runaway repetition (an n-gram four or more times in a row, a segment that repeats the previous one)
//!    is cut.

use crate::audio::{GateOptions, SAMPLE_RATE, SpeechRegion};
use crate::models::ResolvedModel;
use crate::normalize::normalize;
use crate::transcript::Word;
use whisper_rs::{
    FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters, WhisperState,
};

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
}

pub struct Recogniser {
    model: ResolvedModel,
    ctx: WhisperContext,
    multilingual: bool,
    eot: i32,
    opts: AsrOptions,
}

impl Recogniser {
    pub fn load(model: &ResolvedModel, opts: AsrOptions) -> Result<Recogniser, AsrError> {
        // Routes whisper.cpp's chatter into tracing (silent unless RUST_LOG asks) instead of stderr.
        whisper_rs::install_logging_hooks();
        let load_err = |reason: String| AsrError::Load {
            path: model.path.display().to_string(),
            reason,
        };
        let path = model
            .path
            .to_str()
            .ok_or_else(|| load_err("path is not valid UTF-8".into()))?;
        let ctx = WhisperContext::new_with_params(path, WhisperContextParameters::default())
            .map_err(|e| load_err(e.to_string()))?;
        // Fail at load, not on the first call, if the state cannot be allocated.
        ctx.create_state().map_err(|e| load_err(e.to_string()))?;
        Ok(Recogniser {
            model: model.clone(),
            multilingual: ctx.is_multilingual(),
            eot: ctx.token_eot(),
            ctx,
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

    fn fresh_state(&self) -> Result<WhisperState, AsrError> {
        self.ctx
            .create_state()
            .map_err(|e| AsrError::Decode(format!("cannot allocate a decoding state: {e}")))
    }

    /// Fails early, before any audio is decoded, when the model cannot do the language.
    pub fn check_language(&self, language: &str) -> Result<(), AsrError> {
        if whisper_rs::get_lang_id(language).is_none() {
            return Err(AsrError::UnknownLanguage(language.to_string()));
        }
        if !self.multilingual && language != "en" {
            return Err(AsrError::EnglishOnly {
                model: self.model.name.clone(),
                language: language.to_string(),
            });
        }
        Ok(())
    }

    /// The most likely of `allowed` in the first 30 s of speech, and its probability among them.
    /// `None` when there is no speech to judge by.
    pub fn detect_language(
        &self,
        samples: &[f32],
        regions: &[SpeechRegion],
        allowed: &[String],
    ) -> Result<Option<(String, f32)>, AsrError> {
        for lang in allowed {
            self.check_language(lang)?;
        }
        if !self.multilingual {
            return Ok(Some(("en".to_string(), 1.0)));
        }
        let speech = Joined::new(samples, regions);
        if speech.samples.is_empty() {
            return Ok(None);
        }
        let first = &speech.samples[..speech.samples.len().min(30 * SAMPLE_RATE as usize)];
        let threads = self.opts.threads.max(1);
        let mut state = self.fresh_state()?;
        state
            .pcm_to_mel(first, threads)
            .map_err(|e| AsrError::Decode(e.to_string()))?;
        let (_, probs) = state
            .lang_detect(0, threads)
            .map_err(|e| AsrError::Decode(e.to_string()))?;
        let scored: Vec<(String, f32)> = allowed
            .iter()
            .filter_map(|l| {
                let id = whisper_rs::get_lang_id(l)? as usize;
                Some((l.clone(), probs.get(id).copied().unwrap_or(0.0)))
            })
            .collect();
        let total: f32 = scored.iter().map(|(_, p)| p).sum();
        Ok(scored
            .into_iter()
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(l, p)| (l, if total > 0.0 { p / total } else { 0.0 })))
    }

    /// Transcribes the speech `regions` of one channel (16 kHz mono) in `language`. Only the regions
    /// are decoded: what a speech detector (`audio::speech_regions`, or the VAD) kept.
    pub fn transcribe(
        &self,
        samples: &[f32],
        regions: &[SpeechRegion],
        language: &str,
    ) -> Result<Vec<Segment>, AsrError> {
        self.check_language(language)?;
        let speech = Joined::new(samples, regions);
        if speech.samples.is_empty() {
            return Ok(Vec::new());
        }
        let mut params = FullParams::new(if self.opts.beam_size > 1 {
            SamplingStrategy::BeamSearch {
                beam_size: self.opts.beam_size as i32,
                patience: -1.0,
            }
        } else {
            SamplingStrategy::Greedy { best_of: 1 }
        });
        params.set_n_threads(self.opts.threads.max(1) as i32);
        params.set_language(Some(language));
        params.set_translate(false);
        // Conditioning on earlier text lets one hallucination seed the next; calls are short enough
        // that the context buys little.
        params.set_no_context(true);
        params.set_token_timestamps(true);
        params.set_suppress_nst(true);
        params.set_print_progress(false);
        params.set_print_realtime(false);
        params.set_print_special(false);
        params.set_print_timestamps(false);
        let mut state = self.fresh_state()?;
        state
            .full(params, &speech.samples)
            .map_err(|e| AsrError::Decode(e.to_string()))?;

        let duration = samples.len() as f64 / SAMPLE_RATE as f64;
        let mut segments: Vec<Segment> = Vec::new();
        for segment in state.as_iter() {
            let mut tokens = Vec::new();
            let mut logprob_sum = 0.0f32;
            for i in 0..segment.n_tokens() {
                let Some(token) = segment.get_token(i) else {
                    continue;
                };
                let data = token.token_data();
                if data.id >= self.eot {
                    continue;
                }
                logprob_sum += data.plog;
                tokens.push(Token {
                    bytes: token.to_bytes().unwrap_or_default().to_vec(),
                    p: data.p,
                    t0: data.t0 as f64 / 100.0,
                    t1: data.t1 as f64 / 100.0,
                });
            }
            if tokens.is_empty() {
                continue;
            }
            let avg_logprob = logprob_sum / tokens.len() as f32;
            if segment.no_speech_probability() > NO_SPEECH_THRESHOLD
                && avg_logprob < LOGPROB_THRESHOLD
            {
                continue;
            }
            let words = collapse_repeats(words_from_tokens(
                &tokens,
                &|start, end| speech.span_to_original(start, end),
                duration,
            ));
            for words in split_at_pauses(words) {
                let text = join_words(&words);
                if let Some(prev) = segments.last()
                    && words.len() >= 3
                    && normalize(&prev.text, None) == normalize(&text, None)
                {
                    continue;
                }
                segments.push(Segment {
                    start: words[0].start,
                    end: words[words.len() - 1].end,
                    text,
                    words,
                });
            }
        }
        Ok(segments)
    }
}

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

/// The speech regions of a channel joined end to end, with the map back to the channel's own time.
struct Joined {
    samples: Vec<f32>,
    /// (start in `samples`, start in the original, length), in order.
    pieces: Vec<(usize, usize, usize)>,
}

impl Joined {
    fn new(samples: &[f32], regions: &[SpeechRegion]) -> Joined {
        let mut joined = Vec::new();
        let mut pieces = Vec::new();
        for r in regions {
            let (start, end) = (r.start.min(samples.len()), r.end.min(samples.len()));
            if end > start {
                pieces.push((joined.len(), start, end - start));
                joined.extend_from_slice(&samples[start..end]);
            }
        }
        Joined {
            samples: joined,
            pieces,
        }
    }

    /// Maps a word's span in the joined speech back to the channel. Whisper's token times bleed across
    /// the joins (a word's start often lands at the end of the piece before), so the word belongs to the
    /// piece holding its midpoint and is kept inside that piece.
    fn span_to_original(&self, start: f64, end: f64) -> (f64, f64) {
        let sr = SAMPLE_RATE as f64;
        let at = |seconds: f64| (seconds.max(0.0) * sr) as usize;
        let mid = at((start + end.max(start)) / 2.0);
        let i = self
            .pieces
            .partition_point(|&(joined_start, _, _)| joined_start <= mid)
            .saturating_sub(1);
        let Some(&(joined_start, original_start, len)) = self.pieces.get(i) else {
            return (start, end);
        };
        let map = |t: usize| (original_start + t.saturating_sub(joined_start).min(len)) as f64 / sr;
        (map(at(start)), map(at(end.max(start))))
    }
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

    #[test]
    fn joined_speech_maps_back_to_channel_time() {
        let samples = vec![0.0f32; 10 * SAMPLE_RATE as usize];
        let sr = SAMPLE_RATE as usize;
        let regions = [
            SpeechRegion {
                start: sr,
                end: 2 * sr,
            },
            SpeechRegion {
                start: 5 * sr,
                end: 7 * sr,
            },
        ];
        let j = Joined::new(&samples, &regions);
        assert_eq!(j.samples.len(), 3 * sr);
        let close =
            |(a, b): (f64, f64), (x, y): (f64, f64)| (a - x).abs() < 1e-3 && (b - y).abs() < 1e-3;
        assert!(close(j.span_to_original(0.2, 0.5), (1.2, 1.5)));
        assert!(close(j.span_to_original(1.5, 2.5), (5.5, 6.5)));
        // A start that bled into the piece before is pulled into the word's own piece...
        assert!(close(j.span_to_original(0.9, 1.4), (5.0, 5.4)));
        // ...and so is an end that ran into the next one.
        assert!(close(j.span_to_original(0.6, 1.1), (1.6, 2.0)));
        // Past the last piece: clamp to its end rather than run into silence.
        assert!(close(j.span_to_original(2.8, 9.0), (6.8, 7.0)));
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
