//! Per-call numbers from an alignment, a transcript and the classifier's verdicts: the adherence
//! score, the conversation metrics, tone shares and value coverage. No I/O, no model.

use crate::align::{Alignment, StepResult, StepStatus};
use crate::meaning::UtteranceMeaning;
use crate::transcript::{Speaker, Transcript};
use serde::{Deserialize, Serialize};

/// Share of a step's weight each status earns. A step said out of order or outside its window was
/// still said: half credit. `unclear` earns nothing and costs nothing — the audio could not tell, so
/// the step is left out of the score rather than held against the agent.
fn credit(status: StepStatus) -> Option<f64> {
    match status {
        StepStatus::Done => Some(1.0),
        StepStatus::OutOfOrder | StepStatus::OutsideWindow => Some(0.5),
        StepStatus::Missed => Some(0.0),
        StepStatus::Unclear => None,
    }
}

/// Weighted adherence, 0..1: required steps always count; optional steps count only when said (they
/// can raise the score, never lower it). `None` when nothing could be scored.
pub fn adherence(steps: &[StepResult]) -> Option<f64> {
    let (mut earned, mut possible) = (0.0, 0.0);
    for s in steps {
        let Some(c) = credit(s.status) else { continue };
        if s.required || c > 0.0 {
            earned += s.weight * c;
            possible += s.weight;
        }
    }
    (possible > 0.0).then(|| earned / possible)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallScore {
    pub adherence: Option<f64>,
    pub steps_done: usize,
    pub steps_required: usize,
    pub steps_unclear: usize,
    pub forbidden: usize,
}

pub fn score(alignment: &Alignment) -> CallScore {
    score_steps(&alignment.steps, alignment.forbidden.len())
}

/// The score of steps as they now stand (e.g. with analysts' verdicts in place).
pub fn score_steps(steps: &[StepResult], forbidden: usize) -> CallScore {
    let count = |f: &dyn Fn(&StepResult) -> bool| steps.iter().filter(|s| f(s)).count();
    CallScore {
        adherence: adherence(steps),
        steps_done: count(&|s| s.status == StepStatus::Done),
        steps_required: count(&|s| s.required),
        steps_unclear: count(&|s| s.status == StepStatus::Unclear),
        forbidden,
    }
}

/// A silence this long, with both parties quiet, is a hold (the customer was put on hold or left
/// waiting), not a pause for thought.
pub const HOLD_GAP_S: f64 = 20.0;

/// Conversation metrics; each is `None` when the transcript cannot support it (no times; overtalk on
/// a recording where the two parties are neither on separate channels nor told apart by voice).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub agent_talk_s: Option<f64>,
    pub customer_talk_s: Option<f64>,
    /// Agent talk time over both parties' talk time.
    pub agent_talk_ratio: Option<f64>,
    pub longest_silence_s: Option<f64>,
    /// Time both parties spoke at once.
    pub overtalk_s: Option<f64>,
    pub hold_gaps: Option<usize>,
    pub hold_s: Option<f64>,
}

pub fn metrics(t: &Transcript) -> Metrics {
    let spans = |who: &dyn Fn(Speaker) -> bool| {
        union(
            t.utterances
                .iter()
                .filter(|u| who(u.speaker))
                .filter_map(|u| Some((u.start?, u.end?)))
                .collect(),
        )
    };
    let timed = t
        .utterances
        .iter()
        .any(|u| u.start.is_some() && u.end.is_some());
    if !timed {
        return Metrics {
            agent_talk_s: None,
            customer_talk_s: None,
            agent_talk_ratio: None,
            longest_silence_s: None,
            overtalk_s: None,
            hold_gaps: None,
            hold_s: None,
        };
    }
    let mut agent = spans(&|s| s == Speaker::Agent);
    let mut customer = spans(&|s| s == Speaker::Customer);
    let everyone = spans(&|_| true);
    let labelled = t.utterances.iter().all(|u| u.speaker != Speaker::Unknown);
    // A mono call's utterances are cut from one stream and never overlap: who talked when, and
    // over whom, comes from its speaker separation's turns.
    let agent_voice = t
        .utterances
        .iter()
        .find(|u| u.speaker == Speaker::Agent)
        .and_then(|u| u.voice);
    if let Some(voice) = agent_voice.filter(|_| !t.turns.is_empty()) {
        let of = |mine: bool| {
            union(
                t.turns
                    .iter()
                    .filter(|turn| (turn.voice == voice) == mine)
                    .map(|turn| (turn.start, turn.end))
                    .collect(),
            )
        };
        agent = of(true);
        customer = of(false);
    }
    let separated = separate_channels(t) || agent_voice.is_some() && !t.turns.is_empty();
    let (a, c) = (total(&agent), total(&customer));
    let gaps: Vec<f64> = everyone.windows(2).map(|w| w[1].0 - w[0].1).collect();
    let holds: Vec<f64> = gaps.iter().copied().filter(|g| *g >= HOLD_GAP_S).collect();
    Metrics {
        agent_talk_s: labelled.then_some(a),
        customer_talk_s: labelled.then_some(c),
        agent_talk_ratio: (labelled && a + c > 0.0).then(|| a / (a + c)),
        longest_silence_s: Some(gaps.iter().copied().fold(0.0, f64::max)),
        overtalk_s: (labelled && separated).then(|| overlap(&agent, &customer)),
        hold_gaps: Some(holds.len()),
        hold_s: Some(holds.iter().sum()),
    }
}

fn separate_channels(t: &Transcript) -> bool {
    let channel_of = |s: Speaker| {
        t.utterances
            .iter()
            .find(|u| u.speaker == s)
            .and_then(|u| u.channel)
    };
    matches!((channel_of(Speaker::Agent), channel_of(Speaker::Customer)), (Some(a), Some(c)) if a != c)
}

/// Sorted, merged intervals.
fn union(mut spans: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    spans.retain(|(s, e)| e >= s);
    spans.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut out: Vec<(f64, f64)> = Vec::new();
    for (s, e) in spans {
        match out.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

fn total(spans: &[(f64, f64)]) -> f64 {
    spans.iter().map(|(s, e)| e - s).sum()
}

/// Length of the intersection of two merged interval lists.
fn overlap(a: &[(f64, f64)], b: &[(f64, f64)]) -> f64 {
    let (mut i, mut j, mut sum) = (0, 0, 0.0);
    while i < a.len() && j < b.len() {
        let (s, e) = (a[i].0.max(b[j].0), a[i].1.min(b[j].1));
        if e > s {
            sum += e - s;
        }
        if a[i].1 < b[j].1 {
            i += 1;
        } else {
            j += 1;
        }
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transcript::Utterance;

    fn result(status: StepStatus, required: bool, weight: f64) -> StepResult {
        StepResult {
            id: "s".into(),
            title: "s".into(),
            required,
            weight,
            status,
            similarity: 0.0,
            evidence: None,
            closest: None,
            note: None,
            by_words: None,
            by_meaning: None,
            review: None,
        }
    }

    #[test]
    fn adherence_weighs_steps_and_gives_partial_credit() {
        use StepStatus::*;
        let steps = [
            result(Done, true, 2.0),
            result(Missed, true, 1.0),
            result(OutOfOrder, true, 1.0),
        ];
        assert!((adherence(&steps).unwrap() - 2.5 / 4.0).abs() < 1e-9);
    }

    #[test]
    fn unclear_steps_are_left_out_and_optional_ones_only_help() {
        use StepStatus::*;
        let steps = [
            result(Done, true, 1.0),
            result(Unclear, true, 5.0),
            result(Missed, false, 3.0),
        ];
        assert_eq!(adherence(&steps), Some(1.0));
        let steps = [result(Missed, true, 1.0), result(Done, false, 1.0)];
        assert_eq!(adherence(&steps), Some(0.5));
        assert_eq!(adherence(&[result(Unclear, true, 1.0)]), None);
    }

    fn u(speaker: Speaker, channel: u32, start: f64, end: f64) -> Utterance {
        Utterance {
            voice: None,
            language: None,
            speaker,
            channel: Some(channel),
            start: Some(start),
            end: Some(end),
            text: "x".into(),
            words: vec![],
        }
    }

    fn transcript(utterances: Vec<Utterance>) -> Transcript {
        Transcript {
            layout: None,
            wrong_language: None,
            turns: Vec::new(),
            source: "c".into(),
            sha256: String::new(),
            duration_s: Some(100.0),
            language: None,
            model: None,
            utterances,
        }
    }

    #[test]
    fn talk_silence_overtalk_and_holds() {
        use Speaker::*;
        let t = transcript(vec![
            u(Agent, 0, 0.0, 10.0),
            u(Customer, 1, 8.0, 12.0),
            u(Agent, 0, 40.0, 45.0),
            u(Customer, 1, 47.0, 50.0),
        ]);
        let m = metrics(&t);
        assert_eq!(m.agent_talk_s, Some(15.0));
        assert_eq!(m.customer_talk_s, Some(7.0));
        assert!((m.agent_talk_ratio.unwrap() - 15.0 / 22.0).abs() < 1e-9);
        assert_eq!(m.overtalk_s, Some(2.0));
        assert_eq!(m.longest_silence_s, Some(28.0));
        assert_eq!((m.hold_gaps, m.hold_s), (Some(1), Some(28.0)));
    }

    #[test]
    fn mono_and_untimed_transcripts_say_what_they_cannot_measure() {
        let mut t = transcript(vec![
            u(Speaker::Unknown, 0, 0.0, 5.0),
            u(Speaker::Unknown, 0, 6.0, 9.0),
        ]);
        let m = metrics(&t);
        assert_eq!((m.agent_talk_ratio, m.overtalk_s), (None, None));
        assert_eq!(m.longest_silence_s, Some(1.0));
        for x in &mut t.utterances {
            x.start = None;
            x.end = None;
        }
        assert_eq!(metrics(&t).longest_silence_s, None);
    }

    #[test]
    fn a_mono_call_told_apart_by_voice_takes_talk_and_overtalk_from_its_turns() {
        use crate::transcript::Turn;
        let voiced = |speaker, voice, start, end| Utterance {
            voice: Some(voice),
            ..u(speaker, 0, start, end)
        };
        let mut t = transcript(vec![
            voiced(Speaker::Agent, 1, 0.0, 4.0),
            voiced(Speaker::Customer, 0, 4.0, 9.0),
        ]);
        // The customer starts a second before the agent stops.
        t.turns = vec![
            Turn {
                start: 0.0,
                end: 4.5,
                voice: 1,
            },
            Turn {
                start: 3.5,
                end: 9.0,
                voice: 0,
            },
        ];
        let m = metrics(&t);
        assert_eq!(m.agent_talk_s, Some(4.5));
        assert_eq!(m.customer_talk_s, Some(5.5));
        assert_eq!(m.overtalk_s, Some(1.0));
    }
}

/// A value's score at or above which an utterance counts as showing it.
pub const VALUE_SHOWN: f32 = 0.5;

/// Share of the agent's classified utterances per tone, in the head's label order (labels with no
/// utterance are listed with 0 so that calls compare column by column).
pub fn tone_shares(labels: &[String], meanings: &[Option<UtteranceMeaning>]) -> Vec<(String, f64)> {
    let tones: Vec<&str> = meanings
        .iter()
        .flatten()
        .map(|m| m.tone.label.as_str())
        .collect();
    labels
        .iter()
        .map(|l| {
            let n = tones.iter().filter(|t| *t == l).count();
            let share = if tones.is_empty() {
                0.0
            } else {
                n as f64 / tones.len() as f64
            };
            (l.clone(), share)
        })
        .collect()
}

/// Whether and how often each of the brand's values showed up in a call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValueCoverage {
    pub id: String,
    pub shown: bool,
    /// Agent utterances scoring at least `VALUE_SHOWN` for this value.
    pub utterances: usize,
    /// The highest score any utterance reached.
    pub best: f32,
}

pub fn value_coverage(ids: &[String], meanings: &[Option<UtteranceMeaning>]) -> Vec<ValueCoverage> {
    ids.iter()
        .enumerate()
        .map(|(k, id)| {
            let scores: Vec<f32> = meanings
                .iter()
                .flatten()
                .filter_map(|m| m.value_scores.get(k).copied())
                .collect();
            let utterances = scores.iter().filter(|&&s| s >= VALUE_SHOWN).count();
            ValueCoverage {
                id: id.clone(),
                shown: utterances > 0,
                utterances,
                best: scores.iter().copied().fold(0.0, f32::max),
            }
        })
        .collect()
}
