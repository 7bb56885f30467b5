//! One call through the stages: audio file → channels → language → Whisper per channel → transcript.

use crate::asr::{AsrError, Recogniser};
use crate::audio::{self, AudioError};
use crate::models::sha256_file;
use crate::transcript::{ModelId, Speaker, Transcript, Utterance};
use std::path::Path;
use std::str::FromStr;

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
    let decoded = audio::decode_file(path)?;
    let channels =
        assign_speakers(&decoded.channels, layout).map_err(|reason| CallError::Layout {
            file: file.clone(),
            reason,
        })?;

    let language = match language {
        LanguageChoice::Fixed(lang) => Some(lang.clone()),
        LanguageChoice::Detect(allowed) => {
            // The agent speaks the script's language; fall back to the other side when the agent's
            // channel holds no speech at all.
            let mut by_preference: Vec<&Channel> = channels.iter().collect();
            by_preference.sort_by_key(|c| c.1 == Speaker::Customer);
            let mut detected = None;
            for (_, _, samples) in by_preference {
                detected = recogniser
                    .detect_language(samples, allowed)
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
        for (channel, speaker, samples) in &channels {
            for seg in recogniser.transcribe(samples, lang).map_err(asr_err)? {
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
    Ok(Transcript {
        source: file,
        sha256,
        duration_s: Some(decoded.duration_s),
        language,
        model: Some(ModelId {
            name: model.name.clone(),
            sha256: model.sha256.clone(),
        }),
        utterances,
    })
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
