//! A recording heard: decoded, its channels sorted out, its speech found, its language decided, and
//! Whisper run per channel (per voice in a mono mix) into a [`Transcript`]. A [`Listener`] holds one
//! worker's speech models, loaded once.

use crate::asr::{AsrError, AsrOptions, Chunk, Encoded, Recogniser, Segment, chunk_speech};
use crate::audio::{self, AudioError, SpeechRegion};
use crate::diarize::{Diarization, Diarizer};
use crate::language::{self, CallLanguage, Heard};
use crate::layout::{self, Layout, LayoutKind};
use crate::vad::{Vad, VadOptions};
use guion_core::call::{ChannelLayout, LanguageChoice};
use guion_core::names::Named;

use guion_core::transcript::{ModelId, Speaker, Transcript, Utterance, WrongLanguage};
use guion_models::{ResolvedModel, sha256_file};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

/// Why a recording could not be heard; every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum HearError {
    #[error(transparent)]
    Audio(#[from] AudioError),
    #[error("{file}: {source}")]
    Asr { file: String, source: AsrError },
    #[error("{file}: {reason}")]
    Layout { file: String, reason: String },
    #[error("{file}: {source}")]
    Io {
        file: String,
        source: std::io::Error,
    },
    #[error("{file}: {reason}")]
    Input { file: String, reason: String },
}

/// One worker's speech models, loaded once and reused for every call: Whisper, and the speaker
/// separation that tells the voices of a mono call apart (when installed: without it a mono call's
/// utterances stay `unknown`, and the transcript says why).
pub struct Listener {
    pub recogniser: Recogniser,
    /// Silero VAD, the speech detector; without it, the energy gate (`audio::speech_regions`).
    pub vad: Result<Vad, String>,
    pub diarizer: Result<Diarizer, String>,
}

impl Listener {
    pub fn load(model: &ResolvedModel, options: AsrOptions) -> Result<Listener, AsrError> {
        let recogniser = Recogniser::load(model, options)?;
        let vad = optional_model(
            VAD_MODEL,
            |path| Vad::load(path, 1),
            "speech is found by the energy gate, not Silero VAD",
        );
        let diarizer = optional_model(
            DIARIZATION_MODEL,
            |path| Diarizer::load(path, 1),
            "mono calls will not have their speakers separated",
        );
        Ok(Listener {
            recogniser,
            vad,
            diarizer,
        })
    }

    /// The stretches of one channel that hold speech: Silero VAD's, or the energy gate's without it.
    fn speech_regions(&mut self, samples: &[f32]) -> Result<Vec<SpeechRegion>, String> {
        match &mut self.vad {
            Ok(vad) => vad
                .speech_regions(samples, &VadOptions::default())
                .map_err(|e| e.to_string()),
            Err(_) => Ok(audio::speech_regions(
                samples,
                &self.recogniser.options().gate,
            )),
        }
    }
}

/// A model the listener can do without: loaded from the cache, or the reason it is not, said once
/// as a warning with what is lost.
fn optional_model<M, E: std::fmt::Display>(
    name: &str,
    load: impl FnOnce(&Path) -> Result<M, E>,
    without: &str,
) -> Result<M, String> {
    let model = guion_models::resolve(name)
        .map_err(|e| e.to_string())
        .and_then(|m| load(&m.path).map_err(|e| e.to_string()));
    if let Err(reason) = &model {
        tracing::warn!("{without}: {reason} (scripts/setup installs it)");
    }
    model
}

/// What finds speech, as a stored result's key names it: the same call heard through another
/// detector may decode differently.
pub fn speech_detector() -> &'static str {
    if guion_models::resolve(VAD_MODEL).is_ok() {
        "silero-vad"
    } else {
        "energy-gate"
    }
}

/// The speech detector's and the speaker segmentation model's names in the manifest.
const VAD_MODEL: &str = "silero-vad";
const DIARIZATION_MODEL: &str = "pyannote-segmentation";

/// What shapes how a recording is heard, besides the models.
#[derive(Debug, Clone)]
pub struct HearOptions {
    /// The agent's side when the user says; `None` measures the layout and decides from the script.
    pub layout: Option<ChannelLayout>,
    pub language: LanguageChoice,
    /// Per language, the words Whisper should expect (see [`asr_prompt`]).
    pub prompts: BTreeMap<String, String>,
    /// Whisper's beam for the customer's channel; `None`: the recogniser's. Set it only when
    /// `layout` gives the agent's side: a side measured from the signal may be swapped once the
    /// transcript meets the script (the rule is `Analyser::customer_beam`'s).
    pub customer_beam: Option<usize>,
}

/// Transcribes one recording. Each channel is decoded on its own (mixing an agent and a customer into
/// one signal gives Whisper overlapping voices it cannot separate), unless the channels turn out to
/// carry one signal; the call's language is decided from all of its speech, and each stretch is
/// decoded in its own language when several are allowed.
pub fn transcribe_call(
    listener: &mut Listener,
    path: &Path,
    options: &HearOptions,
) -> Result<Transcript, HearError> {
    transcribe_call_timed(listener, path, options).map(|(t, _)| t)
}

/// `transcribe_call`, also saying how long decoding took (the rest is Whisper).
pub fn transcribe_call_timed(
    listener: &mut Listener,
    path: &Path,
    options: &HearOptions,
) -> Result<(Transcript, f64), HearError> {
    let file = path.display().to_string();
    let asr_err = |source| HearError::Asr {
        file: file.clone(),
        source,
    };
    let allowed = match &options.language {
        LanguageChoice::Fixed(lang) => vec![lang.clone()],
        LanguageChoice::Detect(allowed) => allowed.clone(),
    };
    for lang in &allowed {
        listener.recogniser.check_language(lang).map_err(asr_err)?;
    }
    let sha256 = sha256_file(path).map_err(|source| HearError::Io {
        file: file.clone(),
        source,
    })?;
    let decoding = Instant::now();
    let decoded = audio::decode_file(path)?;
    let decode_s = decoding.elapsed().as_secs_f64();
    let found = layout::detect(&decoded.channels);
    let (channels, found) =
        assign_speakers(&decoded.channels, options.layout, found).map_err(|reason| {
            HearError::Layout {
                file: file.clone(),
                reason,
            }
        })?;

    let mut chunks: Vec<Vec<Chunk>> = Vec::with_capacity(channels.len());
    for (_, _, samples) in &channels {
        let regions = listener
            .speech_regions(samples)
            .map_err(|reason| HearError::Input {
                file: file.clone(),
                reason,
            })?;
        chunks.push(chunk_speech(samples, &regions));
    }
    let recogniser = &listener.recogniser;
    let beam_of = |i: usize| match options.customer_beam {
        Some(beam) if channels[i].1 == Speaker::Customer => beam,
        _ => recogniser.beam(),
    };
    // The language of every chunk with enough speech when several languages are allowed (each
    // stretch is decoded in its own); otherwise only the first minute of speech, enough to tell a
    // call in another language. Chunks go through the encoder in batches, the agent's side first;
    // a batch judged keeps its encoder output, and its decoding starts from there.
    let mut heard: Vec<Vec<Option<Heard>>> = chunks.iter().map(|c| vec![None; c.len()]).collect();
    // A batch is decoded with one beam, so the two sides are never in one batch when their beams
    // differ.
    let mut groups: Vec<Vec<ChunkAt>> = Vec::new();
    for at in chunk_order(&chunks, &channels) {
        let beam = beam_of(at.0);
        match groups.last_mut() {
            Some(g) if beam_of(g[0].0) == beam && g.len() < Recogniser::batch_size(beam) => {
                g.push(at)
            }
            _ => groups.push(vec![at]),
        }
    }
    let mut batches: Vec<(Vec<ChunkAt>, Option<Encoded>)> = Vec::new();
    let mut judged_s = 0.0;
    let mut rest = groups.into_iter();
    while allowed.len() >= 2 || judged_s < LANGUAGE_SAMPLE_S {
        let Some(batch) = rest.next() else { break };
        let batch = batch.as_slice();
        let refs: Vec<&Chunk> = batch.iter().map(|&(i, j)| &chunks[i][j]).collect();
        let encoded = recogniser.encode(&refs).map_err(asr_err)?;
        let probs = recogniser.language_of(&encoded).map_err(asr_err)?;
        for (&(i, j), probs) in batch.iter().zip(probs) {
            // The same sample whatever the batch size: chunks in order until a minute is judged.
            if allowed.len() < 2 && judged_s >= LANGUAGE_SAMPLE_S {
                break;
            }
            let chunk = &chunks[i][j];
            tracing::debug!(
                channel = i,
                start = chunk.start_s(),
                end = chunk.end_s(),
                regions = chunk.regions().len(),
                top = ?top_languages(&probs),
                "language of a chunk"
            );
            judged_s += chunk.speech_s();
            heard[i][j] = Some(Heard {
                speech_s: chunk.speech_s(),
                probs,
            });
        }
        batches.push((batch.to_vec(), Some(encoded)));
    }
    batches.extend(rest.map(|batch| (batch, None)));
    let all_heard: Vec<Heard> = heard.iter().flatten().flatten().cloned().collect();
    let call_language = language::call_language(&all_heard, &allowed);

    let mut utterances = Vec::new();
    let mut wrong_language = None;
    let language = match call_language {
        CallLanguage::NoSpeech => None,
        CallLanguage::Wrong {
            found,
            p,
            allowed_p,
        } => {
            // Not decoded: Whisper forced into a language the speech is not in writes fluent
            // inventions, and loops (73 s of Hungarian took 8 CPU-minutes).
            wrong_language = Some(WrongLanguage {
                found: found.clone(),
                p,
                allowed: allowed.clone(),
                allowed_p,
            });
            Some(found)
        }
        CallLanguage::Allowed(main) => {
            let prompt = |lang: &str| options.prompts.get(lang).map(String::as_str);
            let mut decoded: Vec<(ChunkAt, Vec<Segment>)> = Vec::new();
            // The chunks of one language and beam are decoded together, so that what Whisper
            // leaves of them shares windows (`Recogniser::decode_batch`).
            let mut jobs: BTreeMap<(String, usize), DecodeJob> = BTreeMap::new();
            for (batch, encoded) in batches {
                // Each chunk's language, or None for one that may mix two (judged piece by piece).
                let langs: Vec<Option<String>> = batch
                    .iter()
                    .map(|&(i, j)| match &heard[i][j] {
                        None => Some(main.clone()),
                        Some(h) if language::may_mix(h, &allowed) => None,
                        Some(h) => Some(language::stretch_language(h, &allowed, &main)),
                    })
                    .collect();
                let beam = beam_of(batch[0].0);
                if let Some(Some(lang)) = langs.first()
                    && langs.iter().all(|l| l.as_deref() == Some(lang.as_str()))
                {
                    let (job, job_encoded) = jobs.entry((lang.clone(), beam)).or_default();
                    if let Some(e) = encoded {
                        job_encoded.push((job.len(), e));
                    }
                    job.extend(batch);
                    continue;
                }
                // Languages differ within the batch: each language's chunks with the others of
                // that language, and the chunks that may mix two, piece by piece.
                for (&(i, j), lang) in batch.iter().zip(langs) {
                    match lang {
                        Some(lang) => jobs.entry((lang, beam)).or_default().0.push((i, j)),
                        None => {
                            let h = heard[i][j].as_ref().expect("a mixed chunk was judged");
                            let lang = language::stretch_language(h, &allowed, &main);
                            let segments = decode_mixed(
                                recogniser,
                                &channels[i].2,
                                &chunks[i][j],
                                &allowed,
                                &lang,
                                &options.prompts,
                                beam,
                            )
                            .map_err(asr_err)?;
                            decoded.push(((i, j), segments));
                        }
                    }
                }
            }
            for ((lang, beam), (at, encoded)) in jobs {
                let refs: Vec<&Chunk> = at.iter().map(|&(i, j)| &chunks[i][j]).collect();
                let segments = recogniser
                    .decode_batch(&refs, encoded, &lang, prompt(&lang), beam)
                    .map_err(asr_err)?;
                decoded.extend(at.into_iter().zip(segments));
            }
            for ((i, _), segments) in decoded {
                let (channel, speaker, _) = &channels[i];
                for seg in segments {
                    utterances.push(Utterance {
                        speaker: *speaker,
                        channel: Some(*channel),
                        start: Some(seg.start),
                        end: Some(seg.end),
                        voice: None,
                        language: (seg.language != main).then_some(seg.language),
                        text: seg.text,
                        words: seg.words,
                    });
                }
            }
            Some(main)
        }
    };
    utterances.sort_by(|a, b| {
        a.start
            .unwrap_or(0.0)
            .total_cmp(&b.start.unwrap_or(0.0))
            .then(a.channel.cmp(&b.channel))
    });

    // One channel holding both parties: whose voice is whose comes from speaker separation, word
    // by word, so that a turn change inside a Whisper segment splits it.
    let mut found = found;
    let mut turns = Vec::new();
    if let [(_, Speaker::Unknown, samples)] = channels.as_slice()
        && !utterances.is_empty()
    {
        match &mut listener.diarizer {
            Ok(diarizer) => {
                let d = diarizer.diarize(samples).map_err(|e| HearError::Input {
                    file: file.clone(),
                    reason: e.to_string(),
                })?;
                found.decided_by = format!(
                    "{}; {} voice(s) told apart by speaker separation",
                    found.decided_by, d.speakers
                );
                utterances = split_by_voice(utterances, &d);
                turns = d.turns;
            }
            Err(reason) => {
                found.decided_by = format!("{}; voices not told apart: {reason}", found.decided_by);
            }
        }
    }

    let model = recogniser.model();
    let transcript = Transcript {
        source: file,
        sha256,
        duration_s: Some(decoded.duration_s),
        language,
        wrong_language,
        turns,
        layout: Some(found),
        model: Some(ModelId {
            name: model.name.clone(),
            sha256: model.sha256.clone(),
        }),
        utterances,
    };
    Ok((transcript, decode_s))
}

/// The three most likely languages, for the debug log.
fn top_languages(probs: &[(String, f32)]) -> Vec<(String, f32)> {
    let mut top = probs.to_vec();
    top.sort_by(|a, b| b.1.total_cmp(&a.1));
    top.truncate(3);
    top
}

/// Gives every word of a mono channel the voice that held it, and cuts utterances where the voice
/// changes. A word no turn is near goes with the word before it (or the first voiced word after).
fn split_by_voice(utterances: Vec<Utterance>, d: &Diarization) -> Vec<Utterance> {
    if d.turns.is_empty() {
        // The segmenter heard nobody: no voice is better than an invented one.
        return utterances;
    }
    let mut out = Vec::new();
    for u in utterances {
        let voices: Vec<Option<u32>> = u
            .words
            .iter()
            .map(|w| d.speaker_of(w.start, w.end))
            .collect();
        let first = voices.iter().flatten().next().copied();
        let mut current: Option<(u32, Vec<guion_core::transcript::Word>)> = None;
        for (w, v) in u.words.iter().zip(voices) {
            let v = v.or(current.as_ref().map(|c| c.0)).or(first);
            match (&mut current, v) {
                (Some((cv, words)), Some(v)) if *cv == v => words.push(w.clone()),
                (Some((_, words)), None) => words.push(w.clone()),
                (_, v) => {
                    if let Some((cv, words)) = current.take() {
                        out.push(voiced(&u, Some(cv), words));
                    }
                    current = Some((v.unwrap_or(0), vec![w.clone()]));
                }
            }
        }
        match current {
            Some((cv, words)) => out.push(voiced(&u, Some(cv), words)),
            // No words (a source without word times): the utterance is kept whole.
            None => out.push(u),
        }
    }
    out
}

/// `u`'s stretch of `words`, said by `voice`.
fn voiced(
    u: &Utterance,
    voice: Option<u32>,
    words: Vec<guion_core::transcript::Word>,
) -> Utterance {
    Utterance {
        speaker: u.speaker,
        channel: u.channel,
        start: words.first().map(|w| w.start),
        end: words.last().map(|w| w.end),
        voice,
        language: u.language.clone(),
        text: words
            .iter()
            .map(|w| w.text.as_str())
            .collect::<Vec<_>>()
            .join(" "),
        words,
    }
}

/// Speech judged for the call's language when only one language is allowed: enough to tell a call
/// in another language, without a detector pass over every chunk.
const LANGUAGE_SAMPLE_S: f64 = 60.0;

/// Chunks in the order their language is judged: the agent's side first (the agent speaks the
/// script's language), then by time.
fn chunk_order(chunks: &[Vec<Chunk>], channels: &[Channel]) -> Vec<(usize, usize)> {
    let mut order: Vec<(usize, usize)> = chunks
        .iter()
        .enumerate()
        .flat_map(|(i, c)| (0..c.len()).map(move |j| (i, j)))
        .collect();
    order.sort_by(|&(i, j), &(k, l)| {
        (channels[i].1 == Speaker::Customer)
            .cmp(&(channels[k].1 == Speaker::Customer))
            .then(chunks[i][j].start_s().total_cmp(&chunks[k][l].start_s()))
    });
    order
}

/// Decodes a chunk that may mix two allowed languages: judged region by region, and runs of
/// regions in one language decoded together, each in its own (`lang` where a piece is unclear).
fn decode_mixed(
    recogniser: &Recogniser,
    samples: &[f32],
    chunk: &Chunk,
    allowed: &[String],
    lang: &str,
    prompts: &BTreeMap<String, String>,
    beam: usize,
) -> Result<Vec<Segment>, AsrError> {
    let prompt = |lang: &str| prompts.get(lang).map(String::as_str);
    let pieces: Vec<SpeechRegion> = chunk
        .regions()
        .into_iter()
        .flat_map(|r| crate::asr::split_at_quiet(samples, r))
        .collect();
    let mut langs = Vec::with_capacity(pieces.len());
    for piece in &pieces {
        let alone = Chunk::of(samples, std::slice::from_ref(piece));
        if alone.speech_s() < language::MIN_EVIDENCE_S {
            langs.push(None);
            continue;
        }
        let probs = recogniser.language_probs(&alone)?;
        tracing::debug!(
            start = alone.start_s(),
            end = alone.end_s(),
            top = ?top_languages(&probs),
            "language of a piece"
        );
        let heard = Heard {
            speech_s: alone.speech_s(),
            probs,
        };
        langs.push(language::clear_language(&heard, allowed));
    }
    let runs = language::runs(&langs, lang)
        .into_iter()
        .map(|(run_lang, from, to)| (run_lang, pieces[from..to].to_vec()));
    let mut segments = Vec::new();
    for (run_lang, run) in runs {
        segments.extend(recogniser.decode(
            &Chunk::of(samples, &run),
            &run_lang,
            prompt(&run_lang),
            beam,
        )?);
    }
    Ok(segments)
}

/// A chunk: (index of its channel, index among the channel's chunks).
type ChunkAt = (usize, usize);

/// The chunks of one language and beam, and the encoder output the language pass made for some of
/// them (`Recogniser::decode_batch`'s `encoded`).
type DecodeJob = (Vec<ChunkAt>, Vec<(usize, Encoded)>);

/// (channel number, speaker, samples) for each channel to transcribe.
type Channel<'a> = (u32, Speaker, std::borrow::Cow<'a, [f32]>);

/// The channels to transcribe and who is on each, from the layout found and the one given. A
/// recording whose channels carry one signal (or one of whose channels is silent) is heard once,
/// whatever `--channels` says: transcribing one signal as two parties writes every sentence twice.
fn assign_speakers(
    channels: &[Vec<f32>],
    given: Option<ChannelLayout>,
    found: Layout,
) -> Result<(Vec<Channel<'_>>, Layout), String> {
    use std::borrow::Cow::{Borrowed, Owned};
    if channels.len() > 2 {
        return Err(format!(
            "{} channels: guion reads mono recordings and stereo calls (agent on one side, customer on the other)",
            channels.len()
        ));
    }
    let one = |c: u32| {
        vec![(
            c,
            Speaker::Unknown,
            Borrowed(channels[c as usize].as_slice()),
        )]
    };
    match (found.kind, found.channel, given) {
        (LayoutKind::Mono, _, Some(ChannelLayout::AgentLeft | ChannelLayout::AgentRight))
            if channels.len() == 1 =>
        {
            Err(
                "--channels agent-left/agent-right needs a stereo recording, and this one is mono"
                    .into(),
            )
        }
        (LayoutKind::Mono | LayoutKind::DualMono, Some(c), given) => {
            let mut found = found;
            if let Some(g @ (ChannelLayout::AgentLeft | ChannelLayout::AgentRight)) = given {
                found.decided_by = format!(
                    "{}; --channels {} set aside: one signal is transcribed once",
                    found.decided_by,
                    g.name()
                );
            }
            Ok((one(c), found))
        }
        (_, _, Some(ChannelLayout::Mono)) => Ok((
            vec![(0, Speaker::Unknown, Owned(audio::downmix(channels)))],
            Layout {
                kind: LayoutKind::Mono,
                decided_by: format!("given (--channels mono); {}", found.decided_by),
                channel: None,
            },
        )),
        (_, _, given) => {
            let (agent, customer) = match given {
                Some(ChannelLayout::AgentRight) => (1, 0),
                _ => (0, 1),
            };
            let mut speakers = vec![
                (0, Speaker::Unknown, Borrowed(channels[0].as_slice())),
                (1, Speaker::Unknown, Borrowed(channels[1].as_slice())),
            ];
            speakers[agent].1 = Speaker::Agent;
            speakers[customer].1 = Speaker::Customer;
            let mut found = found;
            if let Some(g) = given {
                found.decided_by = format!("{}; given (--channels {})", found.decided_by, g.name());
            }
            Ok((speakers, found))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn speakers(channels: &[Vec<f32>], given: Option<ChannelLayout>) -> Vec<(u32, Speaker)> {
        let (ch, _) = assign_speakers(channels, given, layout::detect(channels)).unwrap();
        ch.iter().map(|c| (c.0, c.1)).collect()
    }

    #[test]
    fn stereo_defaults_to_agent_left_and_layouts_are_checked() {
        let left: Vec<f32> = (0..1600).map(|i| (i as f32 * 0.05).sin()).collect();
        let right: Vec<f32> = (0..1600).map(|i| (i as f32 * 0.0171).cos()).collect();
        let stereo = vec![left.clone(), right];
        assert_eq!(
            speakers(&stereo, None),
            [(0, Speaker::Agent), (1, Speaker::Customer)]
        );
        assert_eq!(
            speakers(&stereo, Some(ChannelLayout::AgentRight)),
            [(0, Speaker::Customer), (1, Speaker::Agent)]
        );
        assert_eq!(
            speakers(&stereo, Some(ChannelLayout::Mono)),
            [(0, Speaker::Unknown)]
        );

        let mono = vec![left.clone()];
        assert_eq!(speakers(&mono, None), [(0, Speaker::Unknown)]);
        assert!(
            assign_speakers(&mono, Some(ChannelLayout::AgentLeft), layout::detect(&mono)).is_err()
        );
        let three = vec![left; 3];
        assert!(
            assign_speakers(&three, None, layout::detect(&three))
                .unwrap_err()
                .contains("3 channels")
        );
    }

    #[test]
    fn words_take_the_voice_that_held_them_and_a_turn_change_splits_an_utterance() {
        use crate::diarize::Diarization;
        use guion_core::transcript::{Turn, Word};
        let word = |text: &str, start: f64| Word {
            text: text.into(),
            start,
            end: start + 0.3,
            p: 0.9,
        };
        let segment = Utterance {
            speaker: Speaker::Unknown,
            channel: Some(0),
            start: Some(0.0),
            end: Some(3.3),
            voice: None,
            language: None,
            text: "how can I help? my car".into(),
            words: vec![
                word("how", 0.0),
                word("can", 0.4),
                word("I", 0.8),
                word("help?", 1.2),
                word("my", 2.6),
                word("car", 3.0),
            ],
        };
        let d = Diarization {
            turns: vec![
                Turn {
                    start: 0.0,
                    end: 1.6,
                    voice: 0,
                },
                Turn {
                    start: 2.5,
                    end: 3.4,
                    voice: 1,
                },
            ],
            speakers: 2,
        };
        let split = split_by_voice(vec![segment], &d);
        let parts: Vec<(Option<u32>, &str, Option<f64>)> = split
            .iter()
            .map(|u| (u.voice, u.text.as_str(), u.start))
            .collect();
        assert_eq!(
            parts,
            [
                (Some(0), "how can I help?", Some(0.0)),
                (Some(1), "my car", Some(2.6))
            ]
        );
    }

    #[test]
    fn one_signal_on_two_channels_is_heard_once_whatever_the_flag_says() {
        let voice: Vec<f32> = (0..1600).map(|i| (i as f32 * 0.05).sin()).collect();
        let dual = vec![voice.clone(), voice.clone()];
        assert_eq!(speakers(&dual, None), [(0, Speaker::Unknown)]);
        let (ch, found) =
            assign_speakers(&dual, Some(ChannelLayout::AgentLeft), layout::detect(&dual)).unwrap();
        assert_eq!(ch.len(), 1);
        assert_eq!(found.kind, LayoutKind::DualMono);
        assert!(
            found.decided_by.contains("set aside"),
            "{}",
            found.decided_by
        );
        // The right channel silent: the left holds both parties.
        let half = vec![voice.clone(), vec![0.0; voice.len()]];
        assert_eq!(speakers(&half, None), [(0, Speaker::Unknown)]);
    }
}
