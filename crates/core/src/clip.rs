//! Evidence you can hear: for each step's words (or, for a missed step, the nearest words) and each
//! forbidden phrase said, which stretch of which channel holds them, with a fixed margin, and where
//! in it PII must be silenced. Plain data from a stored record; cutting the audio is the night's
//! (`guion_night::clips`).

use crate::align::Evidence;
use crate::record::CallRecord;
use serde::Serialize;

/// Audio kept before and after the evidence's words: Whisper's word times are good to a few
/// hundredths of a second, and a clip that starts on the first phoneme sounds cut.
pub const CLIP_MARGIN_S: f64 = 0.25;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClipOf {
    /// The words that show the step (done, out of order, outside its window, or unclear).
    Step,
    /// A missed step's nearest words, for the auditor to judge.
    Closest,
    /// A forbidden phrase said.
    Forbidden,
}

/// One clip to cut: `file` is `<step_id>.wav` (or `forbidden-<id>.wav`), times are the call's.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClipPlan {
    pub file: String,
    pub of: ClipOf,
    /// The step's or the forbidden phrase's id.
    pub id: String,
    pub channel: u32,
    /// The clip's bounds: the words' span widened by [`CLIP_MARGIN_S`], within the call.
    pub start: f64,
    pub end: f64,
    /// The words (redacted as the record is).
    pub text: String,
    /// Stretches inside the clip where PII was said: silence there.
    pub silenced: Vec<(f64, f64)>,
}

/// The clips of a record's evidence, in the script's order, then the forbidden phrases. Evidence
/// without times or without a channel (a text transcript) has no clip. A redacted record that does
/// not say where its PII was said is refused: its audio would let the PII be heard.
pub fn plan(record: &CallRecord) -> Result<Vec<ClipPlan>, String> {
    let pii = match (&record.pii_heard, record.redacted) {
        (Some(spans), _) => spans.as_slice(),
        (None, false) => &[],
        (None, true) => {
            return Err(
                "this result was stored before guion kept where PII was said, so its \
                        audio cannot be silenced there: analyse the call again (guion batch \
                        reuses nothing older)"
                    .to_string(),
            );
        }
    };
    let mut plans: Vec<ClipPlan> = Vec::new();
    let mut add = |of: ClipOf, id: &str, stem: String, e: &Evidence| {
        let (Some(start), Some(end)) = (e.start, e.end) else {
            return;
        };
        let Some(channel) = channel_of(record, e, start, end) else {
            return;
        };
        let limit = record.duration_s.unwrap_or(f64::INFINITY);
        let (from, to) = (
            (start - CLIP_MARGIN_S).max(0.0),
            (end.max(start) + CLIP_MARGIN_S).min(limit),
        );
        let silenced = pii
            .iter()
            .filter(|s| s.channel.is_none_or(|c| c == channel))
            .filter(|s| s.start < to && from < s.end)
            .map(|s| (s.start.max(from), s.end.min(to)))
            .collect();
        let mut file = format!("{stem}.wav");
        let mut n = 1;
        while plans.iter().any(|p| p.file == file) {
            n += 1;
            file = format!("{stem}-{n}.wav");
        }
        plans.push(ClipPlan {
            file,
            of,
            id: id.to_string(),
            channel,
            start: from,
            end: to,
            text: e.text.clone(),
            silenced,
        });
    };
    for step in &record.steps {
        let stem = file_stem(&step.id);
        if let Some(e) = &step.evidence {
            add(ClipOf::Step, &step.id, stem, e);
        } else if let Some(e) = &step.closest {
            add(ClipOf::Closest, &step.id, stem, e);
        }
    }
    for hit in &record.forbidden {
        add(
            ClipOf::Forbidden,
            &hit.id,
            format!("forbidden-{}", file_stem(&hit.id)),
            &hit.evidence,
        );
    }
    Ok(plans)
}

/// The channel the evidence was said on: that of the speaker's utterance that overlaps it most.
fn channel_of(record: &CallRecord, e: &Evidence, start: f64, end: f64) -> Option<u32> {
    record
        .utterances
        .iter()
        .filter(|u| u.speaker == e.speaker)
        .filter_map(|u| {
            let overlap = u.end?.min(end) - u.start?.max(start);
            Some((overlap, u.channel?))
        })
        .filter(|&(overlap, _)| overlap >= 0.0)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, channel)| channel)
}

/// An id as a file name: letters, digits, `-` and `_` kept, anything else `_`, so that no id can
/// name a path outside the clips' directory.
fn file_stem(id: &str) -> String {
    let stem: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if stem.is_empty() {
        "_".to_string()
    } else {
        stem
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::align::{ForbiddenHit, MatchKind, StepResult, StepStatus};
    use crate::record::{HeardSpan, UtteranceRecord};
    use crate::script::Severity;
    use crate::transcript::Speaker;

    fn evidence(text: &str, speaker: Speaker, start: f64, end: f64) -> Evidence {
        Evidence {
            text: text.into(),
            start: Some(start),
            end: Some(end),
            speaker,
            kind: MatchKind::Lexical,
            variant: text.into(),
            p: 0.9,
            judged: None,
        }
    }

    fn step(
        id: &str,
        status: StepStatus,
        e: Option<Evidence>,
        closest: Option<Evidence>,
    ) -> StepResult {
        StepResult {
            id: id.into(),
            title: id.into(),
            required: true,
            weight: 1.0,
            status,
            similarity: 0.9,
            evidence: e,
            closest,
            note: None,
            by_words: None,
            by_meaning: None,
            review: None,
        }
    }

    fn utterance(speaker: Speaker, channel: u32, start: f64, end: f64) -> UtteranceRecord {
        UtteranceRecord {
            speaker,
            channel: Some(channel),
            start: Some(start),
            end: Some(end),
            text: String::new(),
            tone: None,
            value: None,
        }
    }

    fn record() -> CallRecord {
        let transcript: crate::transcript::Transcript = serde_json::from_str(
            r#"{"source": "c.wav", "sha256": "0", "duration_s": 60.0, "language": "es",
                "model": null, "utterances": []}"#,
        )
        .unwrap();
        let (script, _) = crate::script::Script::parse(
            include_str!("../../../examples/scripts/acme-seguros.toml"),
            "acme-seguros.toml",
        )
        .unwrap();
        let empty = crate::align::Alignment {
            steps: Vec::new(),
            forbidden: Vec::new(),
        };
        let mut r = CallRecord::build(&transcript, &script, empty, None, None);
        r.utterances = vec![
            utterance(Speaker::Agent, 0, 0.1, 4.0),
            utterance(Speaker::Customer, 1, 4.5, 9.0),
            utterance(Speaker::Agent, 0, 10.0, 20.0),
        ];
        r.steps = vec![
            step(
                "greeting",
                StepStatus::Done,
                Some(evidence("Buenos días", Speaker::Agent, 0.1, 1.2)),
                None,
            ),
            step(
                "id/check",
                StepStatus::Missed,
                None,
                Some(evidence("su [DNI] por favor", Speaker::Agent, 11.0, 14.0)),
            ),
            step("closing", StepStatus::Missed, None, None),
        ];
        r.forbidden = vec![ForbiddenHit {
            id: "promise".into(),
            severity: Severity::High,
            similarity: 0.8,
            evidence: evidence("le garantizo", Speaker::Agent, 18.0, 19.0),
        }];
        r.redacted = true;
        r.pii_heard = Some(vec![
            HeardSpan {
                channel: Some(0),
                start: 12.0,
                end: 13.5,
            },
            // The customer's channel, same time: not in the agent's clip.
            HeardSpan {
                channel: Some(1),
                start: 11.0,
                end: 12.0,
            },
        ]);
        r
    }

    #[test]
    fn each_step_and_forbidden_phrase_is_a_clip_of_its_speakers_channel_with_pii_silenced() {
        let plans = plan(&record()).unwrap();
        let files: Vec<&str> = plans.iter().map(|p| p.file.as_str()).collect();
        assert_eq!(
            files,
            ["greeting.wav", "id_check.wav", "forbidden-promise.wav"]
        );
        let greeting = &plans[0];
        assert_eq!((greeting.of, greeting.channel), (ClipOf::Step, 0));
        // The margin, but never before the call's start.
        assert_eq!((greeting.start, greeting.end), (0.0, 1.2 + CLIP_MARGIN_S));
        assert!(greeting.silenced.is_empty());
        let id = &plans[1];
        assert_eq!(id.of, ClipOf::Closest);
        assert_eq!(id.silenced, [(12.0, 13.5)]);
        assert_eq!(plans[2].of, ClipOf::Forbidden);
    }

    #[test]
    fn a_redacted_record_that_does_not_say_where_pii_was_is_refused() {
        let mut r = record();
        r.pii_heard = None;
        assert!(plan(&r).unwrap_err().contains("analyse the call again"));
        // Not redacted (the user asked): nothing to silence.
        r.redacted = false;
        assert!(plan(&r).unwrap().iter().all(|p| p.silenced.is_empty()));
    }

    #[test]
    fn ids_cannot_leave_the_directory_and_repeats_are_numbered() {
        assert_eq!(file_stem("../etc/passwd"), "___etc_passwd");
        let mut r = record();
        let again = r.forbidden[0].clone();
        r.forbidden.push(again);
        let plans = plan(&r).unwrap();
        assert_eq!(plans.last().unwrap().file, "forbidden-promise-2.wav");
    }
}
