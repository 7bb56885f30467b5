//! One scored call, whole: what `guion call --json` prints, what the batch stores (one JSON document
//! per row) and what the auditor's view, the CSV files and the report are all drawn from. Plain data.

use crate::align::{Alignment, ForbiddenHit, StepResult};
use crate::meaning::CallMeaning;
use crate::meaning::{MeaningModels, Tone, ValueScore};
use crate::redact::Redactor;
use crate::review::{Review, StepReview};
use crate::score::{self, CallScore, Metrics, ValueCoverage};
use crate::script::Script;
use crate::transcript::{Layout, Speaker, Transcript, WrongLanguage};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallRecord {
    /// The input, as given.
    pub call: String,
    pub sha256: String,
    pub script: ScriptId,
    pub language: Option<String>,
    pub duration_s: Option<f64>,
    pub adherence: Option<f64>,
    pub score: CallScore,
    pub steps: Vec<StepResult>,
    pub forbidden: Vec<ForbiddenHit>,
    pub metrics: Metrics,
    pub agent_channel: Option<AgentChannel>,
    /// What the recording's channels were found to be, and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layout: Option<Layout>,
    /// Set when the call is in a language outside the allowed ones: it is not scored (no adherence,
    /// no steps) and the rollups count it apart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wrong_language: Option<WrongLanguage>,
    pub utterances: Vec<UtteranceRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tone: Option<BTreeMap<String, f64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<ValueCoverage>>,
    pub models: Models,
    /// Whether PII was redacted from every text in this record.
    #[serde(default)]
    pub redacted: bool,
    /// Where the PII hidden in the text was said, so that audio cut from the call can be silenced
    /// there too. Set by [`CallRecord::redact`]; `None` in a record that was not redacted, or was
    /// stored before guion kept it (no audio is cut from such a record).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pii_heard: Option<Vec<HeardSpan>>,
}

/// A stretch of one channel's audio, in seconds from the start of the call.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HeardSpan {
    pub channel: Option<u32>,
    pub start: f64,
    pub end: f64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScriptId {
    pub id: String,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentChannel {
    pub channel: u32,
    /// In a mono call, the agent's voice (speaker separation); `None` for a stereo call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voice: Option<u32>,
    /// "layout" (given), "script" (detected from the script's agent steps), or "default" (left).
    pub decided_by: String,
    pub confidence: Option<f32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UtteranceRecord {
    pub speaker: Speaker,
    pub channel: Option<u32>,
    pub start: Option<f64>,
    pub end: Option<f64>,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tone: Option<Tone>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<ValueScore>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Models {
    /// `name:sha256-prefix` of the Whisper model, for recordings.
    pub asr: Option<String>,
    #[serde(flatten)]
    pub meaning: Option<MeaningModels>,
    /// The judge's model and prompt, when steps were put to it (`--judge`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub judge: Option<String>,
}

impl CallRecord {
    pub fn build(
        transcript: &Transcript,
        script: &Script,
        alignment: Alignment,
        meaning: Option<(&CallMeaning, &[String])>,
        agent_channel: Option<AgentChannel>,
    ) -> CallRecord {
        let score = score::score(&alignment);
        let utterances = transcript
            .utterances
            .iter()
            .enumerate()
            .map(|(i, u)| {
                let verdict = meaning.and_then(|(m, _)| m.utterances[i].as_ref());
                UtteranceRecord {
                    speaker: u.speaker,
                    channel: u.channel,
                    start: u.start,
                    end: u.end,
                    text: u.text.clone(),
                    tone: verdict.map(|v| v.tone.clone()),
                    value: verdict.and_then(|v| v.value.clone()),
                }
            })
            .collect();
        CallRecord {
            call: transcript.source.clone(),
            sha256: transcript.sha256.clone(),
            script: ScriptId {
                id: script.id.clone(),
                version: script.version.clone(),
            },
            language: transcript.language.clone(),
            duration_s: transcript.duration_s,
            adherence: score.adherence,
            score,
            metrics: score::metrics(transcript),
            steps: alignment.steps,
            forbidden: alignment.forbidden,
            agent_channel,
            layout: transcript.layout.clone(),
            wrong_language: transcript.wrong_language.clone(),
            utterances,
            tone: meaning.map(|(m, labels)| {
                score::tone_shares(labels, &m.utterances)
                    .into_iter()
                    .collect()
            }),
            values: meaning.map(|(m, _)| score::value_coverage(&m.value_ids, &m.utterances)),
            models: Models {
                asr: transcript
                    .model
                    .as_ref()
                    .map(|m| crate::hash::short_id(&m.name, &m.sha256)),
                meaning: meaning.map(|(m, _)| m.models.clone()),
                judge: None,
            },
            redacted: false,
            pii_heard: None,
        }
    }

    /// Puts analysts' verdicts in place of guion's, in the order given (a later review of a step
    /// replaces an earlier one), keeping guion's own verdict in each, and scores the call again.
    /// Reviews of steps the record does not have are ignored (the store checks them when given).
    pub fn apply_reviews<'r>(&mut self, reviews: impl IntoIterator<Item = &'r StepReview>) {
        let mut changed = false;
        for r in reviews {
            if let Some(step) = self.steps.iter_mut().find(|s| s.id == r.step) {
                let guion = step.guion_status();
                step.review = Some(Review {
                    guion: Some(guion),
                    ..r.review.clone()
                });
                step.status = r.review.status;
                changed = true;
            }
        }
        if changed {
            self.score = score::score_steps(&self.steps, self.forbidden.len());
            self.adherence = self.score.adherence;
        }
    }

    /// Whether the call was scored: false for a call in a language the script does not cover.
    pub fn is_scored(&self) -> bool {
        self.wrong_language.is_none()
    }

    /// Hides PII in every text the record carries: utterances, evidence and closest words; and
    /// notes where in `transcript` (the one the record was built from) it was said: its words'
    /// times, or a whole utterance's when it has no word times.
    pub fn redact(&mut self, redactor: &Redactor, transcript: &Transcript) {
        let mut heard = Vec::new();
        for u in &transcript.utterances {
            let times = if u.words.is_empty() {
                match (u.start, u.end, redactor.redact(&u.text)) {
                    (Some(start), Some(end), std::borrow::Cow::Owned(_)) => vec![(start, end)],
                    _ => Vec::new(),
                }
            } else {
                redactor.word_times(&u.words)
            };
            heard.extend(times.into_iter().map(|(start, end)| HeardSpan {
                channel: u.channel,
                start,
                end,
            }));
        }
        self.pii_heard = Some(heard);
        let hide = |s: &mut String| {
            if let std::borrow::Cow::Owned(r) = redactor.redact(s) {
                *s = r;
            }
        };
        for u in &mut self.utterances {
            hide(&mut u.text);
        }
        for s in &mut self.steps {
            for e in s.evidence.iter_mut().chain(s.closest.iter_mut()) {
                hide(&mut e.text);
            }
        }
        for f in &mut self.forbidden {
            hide(&mut f.evidence.text);
        }
        self.redacted = true;
    }
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
    /// Asking the judge model about steps nothing else found (with `--judge`).
    #[serde(default)]
    pub judge_s: f64,
}
