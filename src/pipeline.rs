//! One call through the stages: a recording (decode → channels → language → Whisper per channel) or a
//! transcript file becomes a `Transcript`; then classify → align → score make it a `CallRecord`.
//! An `Analyser` holds one worker's models, loaded once, and analyses any number of calls.

use crate::align::{AlignOptions, Aligner};
use crate::asr::{AsrError, AsrOptions, Recogniser};
use crate::audio::{self, AudioError};
use crate::classify::{Classifier, ClassifierOptions, ClassifyError, ScriptMeaning};
use crate::models::sha256_file;
use crate::normalize::{self, Lang};
use crate::record::{AgentChannel, CallRecord};
use crate::redact::Redactor;
use crate::script::Script;
use crate::transcript::read::{self, CsvColumns, InputFormat};
use crate::transcript::{ModelId, Speaker, Transcript, Utterance};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::str::FromStr;
use std::time::Instant;

/// Which side of a recording the agent is on. Contact-centre recorders put one party per channel;
/// `mono` is for recordings where both share one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ChannelLayout {
    AgentLeft,
    AgentRight,
    Mono,
}

/// A language given outright, or one to detect (once per call) among those allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LanguageChoice {
    Fixed(String),
    Detect(Vec<String>),
}

impl FromStr for LanguageChoice {
    type Err = String;

    /// `es`, `en` (fixed); `auto` (detect among es and en); `es,en,pt` (detect among those).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim().to_ascii_lowercase();
        if s == "auto" {
            return Ok(LanguageChoice::Detect(vec!["es".into(), "en".into()]));
        }
        let codes: Vec<String> = s
            .split(',')
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty())
            .collect();
        if codes.is_empty()
            || codes
                .iter()
                .any(|c| c.len() != 2 || !c.chars().all(|ch| ch.is_ascii_lowercase()))
        {
            return Err(format!(
                "'{s}' is not a language: use es, en, auto, or a list such as es,en"
            ));
        }
        Ok(match <[String; 1]>::try_from(codes) {
            Ok([one]) => LanguageChoice::Fixed(one),
            Err(many) => LanguageChoice::Detect(many),
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CallError {
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
    #[error(transparent)]
    Read(#[from] crate::transcript::read::ReadError),
    #[error("{file}: {source}")]
    Classify {
        file: String,
        source: crate::classify::ClassifyError,
    },
    #[error("{file}: {reason}")]
    Input { file: String, reason: String },
}

/// Transcribes one recording. Each channel is decoded on its own (mixing an agent and a customer into
/// one signal gives Whisper overlapping voices it cannot separate); the language is settled once per call
/// so that the two sides, and every 30-second window, agree.
pub fn transcribe_call(
    recogniser: &Recogniser,
    path: &Path,
    layout: Option<ChannelLayout>,
    language: &LanguageChoice,
) -> Result<Transcript, CallError> {
    transcribe_call_timed(recogniser, path, layout, language).map(|(t, _)| t)
}

/// `transcribe_call`, also saying how long decoding took (the rest is Whisper).
pub fn transcribe_call_timed(
    recogniser: &Recogniser,
    path: &Path,
    layout: Option<ChannelLayout>,
    language: &LanguageChoice,
) -> Result<(Transcript, f64), CallError> {
    let file = path.display().to_string();
    let asr_err = |source| CallError::Asr {
        file: file.clone(),
        source,
    };
    if let LanguageChoice::Fixed(lang) = language {
        recogniser.check_language(lang).map_err(asr_err)?;
    }
    let sha256 = sha256_file(path).map_err(|source| CallError::Io {
        file: file.clone(),
        source,
    })?;
    let decoding = Instant::now();
    let decoded = audio::decode_file(path)?;
    let decode_s = decoding.elapsed().as_secs_f64();
    let channels =
        assign_speakers(&decoded.channels, layout).map_err(|reason| CallError::Layout {
            file: file.clone(),
            reason,
        })?;
    let gate = &recogniser.options().gate;
    let regions: Vec<Vec<audio::SpeechRegion>> = channels
        .iter()
        .map(|(_, _, samples)| audio::speech_regions(samples, gate))
        .collect();

    let language = match language {
        LanguageChoice::Fixed(lang) => Some(lang.clone()),
        LanguageChoice::Detect(allowed) => {
            // The agent speaks the script's language; fall back to the other side when the agent's
            // channel holds no speech at all.
            let mut by_preference: Vec<(&Channel, &[audio::SpeechRegion])> = channels
                .iter()
                .zip(regions.iter().map(Vec::as_slice))
                .collect();
            by_preference.sort_by_key(|(c, _)| c.1 == Speaker::Customer);
            let mut detected = None;
            for ((_, _, samples), regions) in by_preference {
                detected = recogniser
                    .detect_language(samples, regions, allowed)
                    .map_err(asr_err)?;
                if detected.is_some() {
                    break;
                }
            }
            detected.map(|(lang, _)| lang)
        }
    };

    let mut utterances = Vec::new();
    if let Some(lang) = &language {
        for ((channel, speaker, samples), regions) in channels.iter().zip(&regions) {
            for seg in recogniser
                .transcribe(samples, regions, lang)
                .map_err(asr_err)?
            {
                utterances.push(Utterance {
                    speaker: *speaker,
                    channel: Some(*channel),
                    start: Some(seg.start),
                    end: Some(seg.end),
                    text: seg.text,
                    words: seg.words,
                });
            }
        }
    }
    utterances.sort_by(|a, b| {
        a.start
            .unwrap_or(0.0)
            .total_cmp(&b.start.unwrap_or(0.0))
            .then(a.channel.cmp(&b.channel))
    });

    let model = recogniser.model();
    let transcript = Transcript {
        source: file,
        sha256,
        duration_s: Some(decoded.duration_s),
        language,
        model: Some(ModelId {
            name: model.name.clone(),
            sha256: model.sha256.clone(),
        }),
        utterances,
    };
    Ok((transcript, decode_s))
}

/// (channel number, speaker, samples) for each channel to transcribe.
type Channel<'a> = (u32, Speaker, std::borrow::Cow<'a, [f32]>);

fn assign_speakers(
    channels: &[Vec<f32>],
    layout: Option<ChannelLayout>,
) -> Result<Vec<Channel<'_>>, String> {
    use std::borrow::Cow::{Borrowed, Owned};
    let layout = layout.unwrap_or(if channels.len() == 2 {
        ChannelLayout::AgentLeft
    } else {
        ChannelLayout::Mono
    });
    match (layout, channels) {
        (ChannelLayout::Mono, [only]) => Ok(vec![(0, Speaker::Unknown, Borrowed(only.as_slice()))]),
        (ChannelLayout::Mono, [_, _]) => {
            Ok(vec![(0, Speaker::Unknown, Owned(audio::downmix(channels)))])
        }
        (ChannelLayout::AgentLeft, [left, right]) => Ok(vec![
            (0, Speaker::Agent, Borrowed(left.as_slice())),
            (1, Speaker::Customer, Borrowed(right.as_slice())),
        ]),
        (ChannelLayout::AgentRight, [left, right]) => Ok(vec![
            (0, Speaker::Customer, Borrowed(left.as_slice())),
            (1, Speaker::Agent, Borrowed(right.as_slice())),
        ]),
        (ChannelLayout::AgentLeft | ChannelLayout::AgentRight, [_]) => Err(
            "--channels agent-left/agent-right needs a stereo recording, and this one is mono"
                .into(),
        ),
        (_, many) => Err(format!(
            "{} channels: guion reads mono recordings and stereo calls (agent on one side, customer on the other)",
            many.len()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_choices_parse() {
        assert_eq!("es".parse(), Ok(LanguageChoice::Fixed("es".into())));
        assert_eq!(
            "auto".parse(),
            Ok(LanguageChoice::Detect(vec!["es".into(), "en".into()]))
        );
        assert_eq!(
            "en, es".parse(),
            Ok(LanguageChoice::Detect(vec!["en".into(), "es".into()]))
        );
        assert!("spanish".parse::<LanguageChoice>().is_err());
        assert!("".parse::<LanguageChoice>().is_err());
    }

    #[test]
    fn stereo_defaults_to_agent_left_and_layouts_are_checked() {
        let stereo = vec![vec![0.1f32; 4], vec![0.2f32; 4]];
        let ch = assign_speakers(&stereo, None).unwrap();
        assert_eq!((ch[0].0, ch[0].1), (0, Speaker::Agent));
        assert_eq!((ch[1].0, ch[1].1), (1, Speaker::Customer));
        let ch = assign_speakers(&stereo, Some(ChannelLayout::AgentRight)).unwrap();
        assert_eq!((ch[1].0, ch[1].1), (1, Speaker::Agent));
        let ch = assign_speakers(&stereo, Some(ChannelLayout::Mono)).unwrap();
        assert_eq!(ch.len(), 1);
        assert_eq!(ch[0].1, Speaker::Unknown);

        let mono = vec![vec![0.1f32; 4]];
        assert_eq!(assign_speakers(&mono, None).unwrap()[0].1, Speaker::Unknown);
        assert!(assign_speakers(&mono, Some(ChannelLayout::AgentLeft)).is_err());
        let three = vec![vec![0.0f32; 4]; 3];
        assert!(
            assign_speakers(&three, None)
                .unwrap_err()
                .contains("3 channels")
        );
    }
}

/// Part of every stored result's key: raise it when a change to guion makes the same input and the
/// same models give a different record, so that stored nights are analysed again rather than reused.
/// 2: Whisper segments are cut at pauses.
pub const ANALYSIS_VERSION: u32 = 2;

/// How a worker analyses calls.
#[derive(Debug, Clone)]
pub struct AnalyserOptions {
    /// Whisper model (manifest name or ggml path); loaded on the first recording only.
    pub asr_model: String,
    pub asr: AsrOptions,
    /// Tone, values and steps by meaning; off = words only, no encoder.
    pub meaning: bool,
    pub classifier: ClassifierOptions,
    /// Hide PII in every text of the record.
    pub redact: bool,
}

impl Default for AnalyserOptions {
    fn default() -> Self {
        AnalyserOptions {
            asr_model: "base".into(),
            asr: AsrOptions::default(),
            meaning: true,
            classifier: ClassifierOptions::default(),
            redact: true,
        }
    }
}

/// One call to analyse.
#[derive(Debug, Clone, Default)]
pub struct CallInput {
    pub path: std::path::PathBuf,
    /// For recordings: a code, a list, or `auto` (among the script's languages); for transcripts that
    /// do not say: the language to assume.
    pub language: Option<String>,
    pub channels: Option<ChannelLayout>,
    pub format: Option<InputFormat>,
    pub columns: CsvColumns,
}

/// Wall time per stage, for the batch's progress and benchmark.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct StageTimes {
    /// Decoding a recording, or reading and parsing a transcript.
    pub decode_s: f64,
    pub asr_s: f64,
    pub classify_s: f64,
    /// Alignment and scoring.
    pub align_s: f64,
}

/// One worker's models and the script compiled for them.
pub struct Analyser {
    script: Script,
    aligner: Aligner,
    options: AnalyserOptions,
    recogniser: Option<Recogniser>,
    meaning: Option<(Classifier, ScriptMeaning)>,
    redactor: Option<Redactor>,
}

impl Analyser {
    /// Loads the encoder and heads now (a missing model should stop the night before it starts);
    /// Whisper waits for the first recording, since a night of chat logs never needs it.
    pub fn new(script: &Script, options: AnalyserOptions) -> Result<Analyser, ClassifyError> {
        let meaning = if options.meaning {
            let mut classifier = Classifier::load(&options.classifier)?;
            let prepared = classifier.prepare(script)?;
            Some((classifier, prepared))
        } else {
            None
        };
        Ok(Analyser {
            script: script.clone(),
            aligner: Aligner::new(script, AlignOptions::default()),
            redactor: options.redact.then(Redactor::new),
            options,
            recogniser: None,
            meaning,
        })
    }

    /// The identity of everything that shapes a record of `input`: a stored result made with the
    /// same ids can be reused as it is.
    pub fn ids(&self, is_recording: bool) -> String {
        let mut ids = vec![
            format!("analysis={ANALYSIS_VERSION}"),
            format!("script={}@{}", self.script.id, self.script.version),
        ];
        if is_recording {
            ids.push(format!(
                "asr={} beam={}",
                self.options.asr_model, self.options.asr.beam_size
            ));
        }
        if let Some((c, prepared)) = &self.meaning {
            ids.push(format!(
                "encoder={} tone={} values={}",
                c.encoder_id(),
                c.tone_head_id(),
                prepared.values_id()
            ));
        }
        ids.push(format!("redact={}", self.options.redact));
        ids.join(" ")
    }

    pub fn analyse(&mut self, input: &CallInput) -> Result<(CallRecord, StageTimes), CallError> {
        let file = input.path.display().to_string();
        let mut times = StageTimes::default();
        let started = Instant::now();
        let (mut transcript, mut agent, decode_s) = if read::is_transcript_path(&input.path) {
            let mut t = read::read_transcript(&input.path, input.format, &input.columns)?;
            if t.language.is_none() {
                t.language = input
                    .language
                    .clone()
                    .filter(|l| l != "auto")
                    .or_else(|| text_language(&t, &self.script));
            }
            (t, None, started.elapsed().as_secs_f64())
        } else {
            self.transcribe(input)?
        };
        times.decode_s = decode_s;
        times.asr_s = started.elapsed().as_secs_f64() - decode_s;
        if input.channels.is_none() && agent.is_some() {
            agent = Some(decide_agent_channel(&self.aligner, &mut transcript));
        }

        let started = Instant::now();
        let meaning = match &mut self.meaning {
            Some((classifier, prepared)) => {
                let m = classifier
                    .classify(&transcript, prepared)
                    .map_err(|source| CallError::Classify {
                        file: file.clone(),
                        source,
                    })?;
                Some((m, classifier.tone_labels().to_vec()))
            }
            None => None,
        };
        times.classify_s = started.elapsed().as_secs_f64();

        let started = Instant::now();
        let alignment = match (&meaning, &self.meaning) {
            (Some((m, _)), Some((_, prepared))) => self
                .aligner
                .align_with(&transcript, Some(&m.semantic(prepared))),
            _ => self.aligner.align(&transcript),
        };
        let mut record = CallRecord::build(
            &transcript,
            &self.script,
            alignment,
            meaning.as_ref().map(|(m, labels)| (m, labels.as_slice())),
            agent,
        );
        if let Some(redactor) = &self.redactor {
            record.redact(redactor);
        }
        times.align_s = started.elapsed().as_secs_f64();
        Ok((record, times))
    }

    fn transcribe(
        &mut self,
        input: &CallInput,
    ) -> Result<(Transcript, Option<AgentChannel>, f64), CallError> {
        let file = input.path.display().to_string();
        let language: LanguageChoice = match input.language.as_deref() {
            None | Some("auto") => LanguageChoice::Detect(self.script.languages.clone()),
            Some(code) => code.parse().map_err(|reason| CallError::Input {
                file: file.clone(),
                reason,
            })?,
        };
        if self.recogniser.is_none() {
            let model =
                crate::models::resolve(&self.options.asr_model).map_err(|e| CallError::Input {
                    file: file.clone(),
                    reason: e.to_string(),
                })?;
            let recogniser =
                Recogniser::load(&model, self.options.asr.clone()).map_err(|source| {
                    CallError::Asr {
                        file: file.clone(),
                        source,
                    }
                })?;
            self.recogniser = Some(recogniser);
        }
        let recogniser = self.recogniser.as_ref().expect("loaded just above");
        let (t, decode_s) =
            transcribe_call_timed(recogniser, &input.path, input.channels, &language)?;
        let stereo = t.utterances.iter().any(|u| u.channel == Some(1));
        let fixed = |channel| {
            Some(AgentChannel {
                channel,
                decided_by: "layout".into(),
                confidence: None,
            })
        };
        let agent = match input.channels {
            Some(ChannelLayout::AgentLeft) => fixed(0),
            Some(ChannelLayout::AgentRight) => fixed(1),
            Some(ChannelLayout::Mono) => None,
            // Decided against the script once the transcript is in.
            None if stereo => Some(AgentChannel {
                channel: 0,
                decided_by: "default".into(),
                confidence: None,
            }),
            None => None,
        };
        Ok((t, agent, decode_s))
    }
}

/// A text transcript's language, when it does not say: the script's only language, or the one its
/// words read as.
fn text_language(t: &Transcript, script: &Script) -> Option<String> {
    if let [only] = script.languages.as_slice() {
        return Some(only.clone());
    }
    let text: Vec<&str> = t.utterances.iter().map(|u| u.text.as_str()).collect();
    let guessed = normalize::guess_language(&text.join(" "))?;
    script
        .languages
        .iter()
        .find(|l| Lang::from_code(l) == Some(guessed))
        .cloned()
}

/// Relabels the speakers so that the channel that best matches the agent's steps is the agent's.
fn decide_agent_channel(aligner: &Aligner, t: &mut Transcript) -> AgentChannel {
    let Some((channel, confidence)) = aligner.agent_channel(t) else {
        return AgentChannel {
            channel: 0,
            decided_by: "default".into(),
            confidence: None,
        };
    };
    t.set_agent_channel(channel);
    AgentChannel {
        channel,
        decided_by: "script".into(),
        confidence: Some(confidence),
    }
}
