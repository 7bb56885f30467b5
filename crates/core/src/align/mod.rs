//! Did the agent follow the script? Each step of the brand's script is looked for in the transcript,
//! fuzzily (`matcher`), then the steps found are put in the order the script asks for with a weighted
//! longest-chain search, and their times are checked against the step's window.
//!
//! No I/O and no model: an `Aligner` is compiled once from a `Script` and then aligns any number of
//! transcripts, from audio or from text alike.

mod matcher;

use crate::normalize::Lang;
use crate::script::{Forbidden, Role, Script, Severity, Step, Window};
use crate::transcript::{Speaker, Transcript};
use matcher::{Hit, Phrase, SimilarityTable, Vocabulary, WordMemo};

#[cfg(test)]
mod tests;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// What became of one step in one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    Done,
    Missed,
    OutOfOrder,
    OutsideWindow,
    /// The closest words were misheard (low recogniser confidence): the audio cannot tell.
    Unclear,
}

impl StepStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Done => "done",
            StepStatus::Missed => "missed",
            StepStatus::OutOfOrder => "out_of_order",
            StepStatus::OutsideWindow => "outside_window",
            StepStatus::Unclear => "unclear",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MatchKind {
    Lexical,
    Semantic,
    /// Found by the judge model reading the sentence and the step's description; `Evidence::judged`
    /// holds its probability.
    Judged,
}

/// The words that show a step (or a forbidden phrase) was said.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// The transcript's own words, as said.
    pub text: String,
    pub start: Option<f64>,
    pub end: Option<f64>,
    pub speaker: Speaker,
    #[serde(rename = "match")]
    pub kind: MatchKind,
    /// The script phrasing it matched.
    pub variant: String,
    /// Mean recogniser confidence of those words (1 for text transcripts).
    pub p: f32,
    /// For `"match": "judged"`: the judge's probability that the words carry out the step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub judged: Option<f32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepResult {
    pub id: String,
    pub title: String,
    pub required: bool,
    pub weight: f64,
    pub status: StepStatus,
    /// The best similarity found, 0..1, whatever the status.
    pub similarity: f32,
    /// For done, out_of_order and outside_window: what was said; for unclear: the closest words.
    pub evidence: Option<Evidence>,
    /// For missed: the words that came nearest (below the step's similarity), for the auditor to
    /// judge; absent when nothing came near.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closest: Option<Evidence>,
    /// Why a check could not be made, e.g. a window on a transcript without times.
    pub note: Option<String>,
    /// The best similarity by words alone (0 when nothing came within reach of the step's
    /// threshold), and by meaning (agent steps, when the encoder ran): what calibration re-thresholds.
    /// `None` in records stored before guion kept them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by_words: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by_meaning: Option<f32>,
    /// A QA analyst's verdict, when one was given: it then stands in `status`, and guion's own
    /// verdict is kept in the review. Never stored with the result (see `CallRecord::apply_reviews`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<crate::review::Review>,
}

impl StepResult {
    /// guion's own verdict, whether or not an analyst overrode it.
    pub fn guion_status(&self) -> StepStatus {
        self.review
            .as_ref()
            .and_then(|r| r.guion)
            .unwrap_or(self.status)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForbiddenHit {
    pub id: String,
    pub severity: Severity,
    pub similarity: f32,
    #[serde(flatten)]
    pub evidence: Evidence,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alignment {
    pub steps: Vec<StepResult>,
    pub forbidden: Vec<ForbiddenHit>,
}

#[derive(Debug, Clone)]
pub struct AlignOptions {
    /// A step whose best match falls short by at most this much, in words the recogniser doubted,
    /// is `unclear` rather than `missed`.
    pub unclear_margin: f32,
    /// Mean word confidence below which the recogniser "doubted" the words.
    pub unclear_max_p: f32,
    /// Forbidden phrases are short and an accusation is costly: they need a closer match than steps.
    pub forbidden_min_similarity: f32,
}

impl Default for AlignOptions {
    fn default() -> Self {
        AlignOptions {
            unclear_margin: 0.25,
            unclear_max_p: 0.6,
            forbidden_min_similarity: 0.85,
        }
    }
}

/// The similarity by meaning (cosine of centred e5 embeddings, see `classify::call`) at or above
/// which a sentence shows a step, when neither the step nor the script sets `semantic_threshold`.
/// Chosen on guion's example calls: step lines said in other words score 0.5–0.65 for their step,
/// unrelated agent lines mostly below 0.4.
pub const DEFAULT_SEMANTIC_THRESHOLD: f64 = 0.5;

/// A sentence of an agent utterance: the unit in which a step is looked for by meaning (a whole
/// utterance would blur two steps said in one breath).
#[derive(Debug, Clone, PartialEq)]
pub struct Piece {
    pub utterance: usize,
    /// Display-word range `[start, end)` within the utterance.
    pub words: (usize, usize),
    pub text: String,
}

/// The agent's sentences, split after words that end a sentence.
pub fn pieces(transcript: &Transcript) -> Vec<Piece> {
    let mut out = Vec::new();
    for (u, utterance) in transcript.utterances.iter().enumerate() {
        if !role_speakers(Role::Agent).contains(&utterance.speaker) {
            continue;
        }
        let words = display_words(utterance);
        let mut start = 0;
        for (i, w) in words.iter().enumerate() {
            let ends = w
                .text
                .trim_end_matches(['"', '\'', '»', ')'])
                .ends_with(['.', '?', '!', ';']);
            if ends || i + 1 == words.len() {
                let text: Vec<&str> = words[start..=i].iter().map(|w| w.text.as_str()).collect();
                let text = text.join(" ");
                if text.chars().any(char::is_alphanumeric) {
                    out.push(Piece {
                        utterance: u,
                        words: (start, i + 1),
                        text,
                    });
                }
                start = i + 1;
            }
        }
    }
    out
}

/// Each step's phrasings as the encoder should read them, `(language, text)`: slots are left out,
/// since "{name}" means nothing to an encoder and a made-up name would pull towards that name.
pub fn semantic_phrasings(script: &Script) -> Vec<Vec<(String, String)>> {
    script
        .steps
        .iter()
        .map(|step| {
            step.variants
                .iter()
                .flat_map(|(lang, phrases)| {
                    phrases
                        .iter()
                        .map(move |p| (lang.clone(), without_slots(p)))
                })
                .collect()
        })
        .collect()
}

/// A phrasing as an encoder should read it: `{slot}`s left out (nested too), spaces collapsed.
pub fn without_slots(phrase: &str) -> String {
    let mut out = String::new();
    let mut depth = 0;
    for c in phrase.chars() {
        match c {
            '{' => depth += 1,
            '}' if depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A call's meaning, computed by the encoder before alignment: plain numbers, so alignment stays
/// free of models.
pub struct Semantic<'a> {
    /// From `pieces(transcript)`.
    pub pieces: &'a [Piece],
    /// One normalised embedding per piece.
    pub piece_vectors: &'a [Vec<f32>],
    /// Per step, per phrasing of `semantic_phrasings`: `(language, text, embedding)`.
    pub step_vectors: &'a [Vec<(String, String, Vec<f32>)>],
    /// The judge's answers for the sentences of `Aligner::judge_shortlist` (empty without a judge).
    pub judged: &'a [Judged],
}

/// The judge model's answer: the probability that sentence `piece` carries out step `step`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Judged {
    pub step: usize,
    pub piece: usize,
    pub p: f32,
}

/// The judge's probability at or above which a sentence shows a step, when the script does not set
/// `judge_threshold`. The model leans to yes (near misses score 0.6–0.75), and it is only asked
/// about steps nothing else found, where a false find costs most: on tests/fixtures/semantic, the
/// judge at 0.9 after words and encoder found more paraphrases than they did and no more near
/// misses; at 0.8 it found more of both. Calibrate it on labelled calls.
pub const DEFAULT_JUDGE_THRESHOLD: f64 = 0.9;

/// The phrasing (in `language` when given) nearest to `vector`, with its cosine.
fn closest_phrasing<'p>(
    phrasings: &'p [(String, String, Vec<f32>)],
    vector: &[f32],
    language: Option<&str>,
) -> Option<(f32, &'p String)> {
    phrasings
        .iter()
        .filter(|(pl, _, _)| language.is_none_or(|l| pl == l))
        .map(|(_, text, v)| (crate::meaning::cosine(v, vector), text))
        .max_by(|a, b| a.0.total_cmp(&b.0))
}

/// Where a sentence's meaning is nearest: the agent step, the cosine and the phrasing.
struct Nearest<'p> {
    step: usize,
    similarity: f32,
    variant: &'p String,
}

/// Per piece, the agent step whose phrasings (in the call's language when the step has it) come
/// nearest to it.
fn nearest_steps<'p>(
    script: &Script,
    semantic: &'p Semantic,
    language: Option<&str>,
) -> Vec<Option<Nearest<'p>>> {
    semantic
        .piece_vectors
        .iter()
        .map(|vector| {
            script
                .steps
                .iter()
                .zip(semantic.step_vectors)
                .enumerate()
                .filter(|(_, (step, _))| step.role == Role::Agent)
                .filter_map(|(i, (_, phrasings))| {
                    let in_language =
                        language.filter(|l| phrasings.iter().any(|(pl, _, _)| pl == l));
                    closest_phrasing(phrasings, vector, in_language).map(|(similarity, variant)| {
                        Nearest {
                            step: i,
                            similarity,
                            variant,
                        }
                    })
                })
                .max_by(|a, b| a.similarity.total_cmp(&b.similarity))
        })
        .collect()
}

/// A script compiled for matching: every phrasing normalised and interned once.
pub struct Aligner {
    script: Script,
    options: AlignOptions,
    vocab: Vocabulary,
    /// Per step, its phrasings with their language.
    steps: Vec<Vec<(String, Phrase)>>,
    forbidden: Vec<Vec<(String, Phrase)>>,
    /// The script's words each call word resembles, remembered across calls (see `WordMemo`).
    memo: std::sync::Mutex<WordMemo>,
}

impl Aligner {
    pub fn new(script: &Script, options: AlignOptions) -> Aligner {
        let mut vocab = Vocabulary::default();
        let mut compile = |variants: &crate::script::Variants| {
            variants
                .iter()
                .flat_map(|(lang, phrases)| {
                    let l = Lang::from_code(lang);
                    phrases
                        .iter()
                        .map(|p| (lang.clone(), vocab.phrase(p, l)))
                        .collect::<Vec<_>>()
                })
                .collect::<Vec<_>>()
        };
        let steps = script.steps.iter().map(|s| compile(&s.variants)).collect();
        let forbidden = script
            .forbidden
            .iter()
            .map(|f| compile(&f.variants))
            .collect();
        Aligner {
            script: script.clone(),
            options,
            vocab,
            steps,
            forbidden,
            memo: std::sync::Mutex::default(),
        }
    }

    /// The call's words, and their similarities with the script's words.
    fn call_words<'t>(&self, transcript: &'t Transcript) -> (CallWords<'t>, SimilarityTable) {
        let mut memo = self.memo.lock().unwrap_or_else(|e| e.into_inner());
        let call = CallWords::new(transcript, &mut memo);
        let sims = SimilarityTable::new(&self.vocab, &call.words, &mut memo);
        (call, sims)
    }

    pub fn script(&self) -> &Script {
        &self.script
    }

    /// Aligns by words alone.
    pub fn align(&self, transcript: &Transcript) -> Alignment {
        self.align_with(transcript, None)
    }

    /// Aligns by words, and by meaning for the agent steps that no words show when `semantic`
    /// carries the call's sentence embeddings.
    pub fn align_with(&self, transcript: &Transcript, semantic: Option<&Semantic>) -> Alignment {
        let (call, sims) = self.call_words(transcript);
        let language = transcript.language.as_deref();
        let duration = call_duration(transcript);
        let agent = call.stream(role_speakers(Role::Agent));
        let customer = call.stream(role_speakers(Role::Customer));

        let mut by_words: Vec<f32> = Vec::with_capacity(self.script.steps.len());
        let mut by_meaning: Vec<Option<f32>> = vec![None; self.script.steps.len()];
        // Candidates per step, best first.
        let mut candidates: Vec<Vec<Found>> = self
            .script
            .steps
            .iter()
            .zip(&self.steps)
            .map(|(step, phrases)| {
                let floor = (self.script.min_similarity_of(step) as f32
                    - self.options.unclear_margin)
                    .max(0.0);
                let stream = match step.role {
                    Role::Agent => &agent,
                    Role::Customer => &customer,
                };
                let threshold = self.script.min_similarity_of(step) as f32;
                let mut found = call.search(phrases, language, stream, floor, 3, &sims);
                by_words.push(found.first().map_or(0.0, |f| f.similarity));
                for f in &mut found {
                    f.passes = f.similarity >= threshold;
                }
                found
            })
            .collect();
        // Lexical evidence wins: only a step with no passing lexical match is looked for by meaning.
        // The judge, last: only for a step that neither words nor the encoder show.
        if let Some(semantic) = semantic {
            let nearest = nearest_steps(&self.script, semantic, language);
            for (i, step) in self.script.steps.iter().enumerate() {
                if step.role != Role::Agent {
                    continue;
                }
                by_meaning[i] = Some(
                    nearest
                        .iter()
                        .flatten()
                        .filter(|n| n.step == i)
                        .map(|n| n.similarity)
                        .fold(0.0, f32::max),
                );
                if candidates[i].iter().any(|f| f.passes) {
                    continue;
                }
                let threshold = self
                    .script
                    .semantic_threshold_of(step)
                    .unwrap_or(DEFAULT_SEMANTIC_THRESHOLD) as f32;
                let mut found = call.search_meaning(semantic.pieces, &nearest, i, threshold);
                if found.is_empty() {
                    let threshold =
                        self.script
                            .judge_threshold_of(step)
                            .unwrap_or(DEFAULT_JUDGE_THRESHOLD) as f32;
                    found = call.search_judged(semantic.pieces, semantic.judged, i, threshold);
                }
                found.append(&mut candidates[i]);
                candidates[i] = found;
            }
        }

        let chain = ordered_chain(&self.script.steps, &candidates);
        // Words that already show a step in the chain are not evidence for another.
        let used: Vec<(usize, usize)> = chain
            .iter()
            .zip(&candidates)
            .filter_map(|(k, found)| k.map(|k| found[k].tokens))
            .collect();
        let candidates: Vec<Vec<Found>> = candidates
            .into_iter()
            .zip(&chain)
            .map(|(found, k)| match k {
                Some(_) => found,
                None => found
                    .into_iter()
                    .filter(|f| used.iter().all(|u| f.tokens.1 <= u.0 || f.tokens.0 >= u.1))
                    .collect(),
            })
            .collect();

        let steps = self
            .script
            .steps
            .iter()
            .enumerate()
            .map(|(i, step)| {
                let best = candidates[i].first();
                let similarity = best.map_or(0.0, |f| f.similarity);
                let (status, found, note) = match chain[i] {
                    Some(k) => {
                        let f = &candidates[i][k];
                        let evidence = call.evidence(f);
                        match step
                            .window
                            .map(|w| window_holds(&w, (evidence.start, evidence.end), duration))
                        {
                            Some(Err(why)) => (StepStatus::Done, Some(f), Some(why)),
                            Some(Ok(false)) => (StepStatus::OutsideWindow, Some(f), None),
                            Some(Ok(true)) | None => (StepStatus::Done, Some(f), None),
                        }
                    }
                    None => match best {
                        Some(f) if f.passes => (StepStatus::OutOfOrder, Some(f), None),
                        Some(f) if f.p < self.options.unclear_max_p => {
                            (StepStatus::Unclear, Some(f), None)
                        }
                        _ => (StepStatus::Missed, None, None),
                    },
                };
                StepResult {
                    id: step.id.clone(),
                    title: step.title.clone(),
                    required: step.required,
                    weight: step.weight,
                    status,
                    similarity: found.map_or(similarity, |f| f.similarity),
                    evidence: found.map(|f| call.evidence(f)),
                    closest: match (status, best) {
                        (StepStatus::Missed, Some(f)) => Some(call.evidence(f)),
                        _ => None,
                    },
                    note,
                    by_words: Some(by_words[i]),
                    by_meaning: by_meaning[i],
                    review: None,
                }
            })
            .collect();

        let forbidden = self.find_forbidden(&call, &agent, language, &sims);
        Alignment { steps, forbidden }
    }

    fn find_forbidden(
        &self,
        call: &CallWords,
        agent: &Stream,
        language: Option<&str>,
        sims: &SimilarityTable,
    ) -> Vec<ForbiddenHit> {
        let floor = self.options.forbidden_min_similarity;
        let mut hits: Vec<(usize, ForbiddenHit)> = Vec::new();
        for (rule, phrases) in self.script.forbidden.iter().zip(&self.forbidden) {
            let found = call.search(phrases, language, agent, floor, 20, sims);
            hits.extend(
                found
                    .iter()
                    .map(|f| (f.position, forbidden_hit(rule, f, call))),
            );
        }
        hits.sort_by_key(|(position, _)| *position);
        hits.into_iter().map(|(_, h)| h).collect()
    }

    /// For each agent step that neither words nor the encoder showed (`alignment` is from
    /// `align_with` without judged answers), the sentences the judge should read: the `per_step`
    /// nearest to the step's phrasings by meaning, inside the step's window when the call has
    /// times, and not already the evidence of another step. Returns `(step, pieces)`, best first.
    pub fn judge_shortlist(
        &self,
        transcript: &Transcript,
        alignment: &Alignment,
        semantic: &Semantic,
        per_step: usize,
    ) -> Vec<(usize, Vec<usize>)> {
        let language = transcript.language.as_deref();
        let duration = call_duration(transcript);
        let spans: Vec<(Option<f64>, Option<f64>)> = semantic
            .pieces
            .iter()
            .map(|p| piece_span(transcript, p))
            .collect();
        let evidence: Vec<(f64, f64)> = alignment
            .steps
            .iter()
            .filter_map(|s| s.evidence.as_ref())
            .filter_map(|e| Some((e.start?, e.end?)))
            .collect();
        let free = |span: &(Option<f64>, Option<f64>)| match span {
            (Some(a), Some(b)) => evidence.iter().all(|(s, e)| *b <= *s || *a >= *e),
            _ => true,
        };
        let mut out = Vec::new();
        for (i, step) in self.script.steps.iter().enumerate() {
            let missed = alignment
                .steps
                .get(i)
                .is_some_and(|r| r.status == StepStatus::Missed);
            if step.role != Role::Agent || !missed {
                continue;
            }
            let Some(phrasings) = semantic.step_vectors.get(i) else {
                continue;
            };
            let in_language = language.filter(|l| phrasings.iter().any(|(pl, _, _)| pl == l));
            let mut ranked: Vec<(f32, usize)> = semantic
                .piece_vectors
                .iter()
                .enumerate()
                .filter(|(k, _)| free(&spans[*k]))
                .filter(|(k, _)| {
                    step.window
                        .is_none_or(|w| window_holds(&w, spans[*k], duration).unwrap_or(true))
                })
                .filter_map(|(k, v)| {
                    closest_phrasing(phrasings, v, in_language).map(|(sim, _)| (sim, k))
                })
                .collect();
            ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            let pieces: Vec<usize> = ranked.into_iter().take(per_step).map(|(_, k)| k).collect();
            if !pieces.is_empty() {
                out.push((i, pieces));
            }
        }
        out
    }

    /// For a call whose agent is not known: the side (a stereo call's channel, a mono call's voice)
    /// that sounds most like the script's agent steps, and how sure that is (its share of what all
    /// sides matched: 0.5 between two sides is a coin toss, 1 = only one side matches at all).
    pub fn agent_side(&self, transcript: &Transcript) -> Option<(u32, f32)> {
        let sides = transcript.sides();
        if sides.len() < 2 {
            return None;
        }
        let scores: Vec<f32> = sides
            .iter()
            .map(|&c| {
                let mut as_agent = transcript.clone();
                as_agent.set_agent_side(c);
                let (call, sims) = self.call_words(&as_agent);
                let agent = call.stream(&[Speaker::Agent]);
                self.script
                    .steps
                    .iter()
                    .zip(&self.steps)
                    .filter(|(s, _)| s.role == Role::Agent)
                    .map(|(_, phrases)| {
                        call.search(phrases, as_agent.language.as_deref(), &agent, 0.3, 1, &sims)
                            .first()
                            .map_or(0.0, |f| f.similarity)
                    })
                    .sum()
            })
            .collect();
        let total: f32 = scores.iter().sum();
        if total <= 0.0 {
            return None;
        }
        // The first of equals: the left channel, or the voice heard first.
        let best = (0..scores.len())
            .rev()
            .max_by(|&a, &b| scores[a].total_cmp(&scores[b]))
            .unwrap_or(0);
        Some((sides[best], scores[best] / total))
    }
}

fn forbidden_hit(rule: &Forbidden, f: &Found, call: &CallWords) -> ForbiddenHit {
    ForbiddenHit {
        id: rule.id.clone(),
        severity: rule.severity,
        similarity: f.similarity,
        evidence: call.evidence(f),
    }
}

fn role_speakers(role: Role) -> &'static [Speaker] {
    // A mono recording or an unlabelled text has only "unknown" speakers: they may be either party.
    match role {
        Role::Agent => &[Speaker::Agent, Speaker::Unknown],
        Role::Customer => &[Speaker::Customer, Speaker::Unknown],
    }
}

fn call_duration(t: &Transcript) -> Option<f64> {
    t.duration_s.or_else(|| {
        t.utterances
            .iter()
            .filter_map(|u| u.end.or(u.start))
            .reduce(f64::max)
    })
}

/// Whether evidence lies inside a step's window; `Err` says why it cannot be checked.
fn window_holds(
    w: &Window,
    (start, end): (Option<f64>, Option<f64>),
    duration: Option<f64>,
) -> Result<bool, String> {
    let (Some(start), Some(end)) = (start, end) else {
        return Err("window not checked: the transcript has no times".into());
    };
    let needs_duration = w.last_s.is_some() || w.end_pct.is_some();
    let duration = match duration {
        Some(d) => d,
        None if needs_duration => {
            return Err("window not checked: the call's length is unknown".into());
        }
        None => 0.0,
    };
    Ok(w.start_s.is_none_or(|s| start >= s)
        && w.end_s.is_none_or(|s| end <= s)
        && w.last_s.is_none_or(|s| start >= duration - s)
        && w.end_pct.is_none_or(|pct| end <= duration * pct / 100.0))
}

/// Candidates best first: the most similar, then the earliest.
fn best_first(found: &mut [Found]) {
    found.sort_by(|a, b| {
        b.similarity
            .total_cmp(&a.similarity)
            .then(a.position.cmp(&b.position))
    });
}

/// A candidate for a step: a hit in one speaker stream, placed in the call.
#[derive(Debug, Clone)]
struct Found {
    /// 0..1: edit-based for lexical matches, the encoder's cosine for semantic ones.
    similarity: f32,
    kind: MatchKind,
    /// Good enough to show the step: at or above its lexical or semantic threshold.
    passes: bool,
    /// Index of the first matched token in the whole call, so that agent and customer steps compare.
    position: usize,
    /// Call-token indices of the match.
    tokens: (usize, usize),
    variant: String,
    /// Mean recogniser confidence over the matched words.
    p: f32,
}

/// The best order-consistent choice of one candidate per step: the heaviest chain of candidates that
/// rise in call position while their steps' `order` never falls. Steps off the chain that were found
/// anyway were said out of order. Returns, per step, the index of its chosen candidate.
fn ordered_chain(steps: &[Step], candidates: &[Vec<Found>]) -> Vec<Option<usize>> {
    // (tokens, step, candidate index, gain)
    let mut nodes: Vec<((usize, usize), usize, usize, f32)> = Vec::new();
    for (s, (step, found)) in steps.iter().zip(candidates).enumerate() {
        for (k, f) in found.iter().enumerate() {
            if f.passes {
                // Weight first, similarity to break ties between equally weighted chains.
                let gain = step.weight.max(0.0) as f32 + 1e-3 + f.similarity * 1e-3;
                nodes.push((f.tokens, s, k, gain));
            }
        }
    }
    nodes.sort_by_key(|&(tokens, s, _, _)| (tokens.0, steps[s].order));
    let n = nodes.len();
    let mut best = vec![0.0f32; n];
    let mut back: Vec<Option<usize>> = vec![None; n];
    for i in 0..n {
        best[i] = nodes[i].3;
        for j in 0..i {
            let (tj, sj, _, _) = nodes[j];
            let (ti, si, _, _) = nodes[i];
            // The same words cannot show two steps.
            let fits = tj.1 <= ti.0 && steps[sj].order <= steps[si].order && sj != si;
            if fits && best[j] + nodes[i].3 > best[i] {
                best[i] = best[j] + nodes[i].3;
                back[i] = Some(j);
            }
        }
    }
    let mut chosen = vec![None; steps.len()];
    let mut at = (0..n).max_by(|&a, &b| best[a].total_cmp(&best[b]));
    while let Some(i) = at {
        let (_, s, k, _) = nodes[i];
        // A step may appear twice in a chain only among equal orders; keep its earliest.
        chosen[s] = Some(k);
        at = back[i];
    }
    chosen
}

/// One role's share of a call's words: call-token indices and their word ids.
struct Stream {
    tokens: Vec<usize>,
    ids: Vec<u32>,
}

/// A call's words, normalised once, with where each came from.
struct CallWords<'t> {
    transcript: &'t Transcript,
    /// Distinct normalised words of this call; ids index this.
    words: Vec<String>,
    tokens: Vec<Token>,
    /// Per utterance, the words as displayed (transcript words, or the text split on spaces).
    display: Vec<Vec<DisplayWord>>,
}

#[derive(Debug, Clone, Copy)]
struct Token {
    word: u32,
    utterance: usize,
    display: usize,
}

#[derive(Debug, Clone)]
struct DisplayWord {
    text: String,
    start: Option<f64>,
    end: Option<f64>,
    p: f32,
}

impl<'t> CallWords<'t> {
    fn new(transcript: &'t Transcript, memo: &mut WordMemo) -> CallWords<'t> {
        let lang = transcript.language.as_deref().and_then(Lang::from_code);
        let mut ids: HashMap<String, u32> = HashMap::new();
        let mut words: Vec<String> = Vec::new();
        let mut tokens = Vec::new();
        let mut display = Vec::with_capacity(transcript.utterances.len());
        for (u_index, u) in transcript.utterances.iter().enumerate() {
            let shown = display_words(u);
            for (d_index, d) in shown.iter().enumerate() {
                for w in memo.normalized(&d.text, lang) {
                    let id = match ids.get(w) {
                        Some(&id) => id,
                        None => {
                            let id = words.len() as u32;
                            ids.insert(w.clone(), id);
                            words.push(w.clone());
                            id
                        }
                    };
                    tokens.push(Token {
                        word: id,
                        utterance: u_index,
                        display: d_index,
                    });
                }
            }
            display.push(shown);
        }
        CallWords {
            transcript,
            words,
            tokens,
            display,
        }
    }

    /// The words of `speakers`, in call order: what a step of one role is looked for in.
    fn stream(&self, speakers: &[Speaker]) -> Stream {
        let tokens: Vec<usize> = (0..self.tokens.len())
            .filter(|&i| {
                speakers.contains(&self.transcript.utterances[self.tokens[i].utterance].speaker)
            })
            .collect();
        let ids = tokens.iter().map(|&i| self.tokens[i].word).collect();
        Stream { tokens, ids }
    }

    /// The best non-overlapping hits of any of `phrases` in `stream`.
    fn search(
        &self,
        phrases: &[(String, Phrase)],
        language: Option<&str>,
        stream: &Stream,
        floor: f32,
        limit: usize,
        sims: &SimilarityTable,
    ) -> Vec<Found> {
        // Phrasings in the call's language when the script has them; all of them otherwise.
        let in_language = language.filter(|l| phrases.iter().any(|(pl, _)| pl == l));
        let mut found: Vec<Found> = phrases
            .iter()
            .filter(|(pl, _)| in_language.is_none_or(|l| pl == l))
            .flat_map(|(_, phrase)| {
                matcher::find(phrase, &stream.ids, sims, floor, limit)
                    .into_iter()
                    .map(|hit| self.found(hit, &stream.tokens, phrase))
                    .collect::<Vec<_>>()
            })
            .collect();
        best_first(&mut found);
        let mut kept: Vec<Found> = Vec::new();
        for f in found {
            if kept.len() == limit {
                break;
            }
            if kept
                .iter()
                .all(|k| f.tokens.1 <= k.tokens.0 || f.tokens.0 >= k.tokens.1)
            {
                kept.push(f);
            }
        }
        kept
    }

    /// The agent's sentences nearest to step `step` and close enough to one of its phrasings, best
    /// first. A sentence shows at most the one step it is nearest to.
    fn search_meaning(
        &self,
        pieces: &[Piece],
        nearest: &[Option<Nearest>],
        step: usize,
        threshold: f32,
    ) -> Vec<Found> {
        let mut found: Vec<Found> = Vec::new();
        for (piece, nearest) in pieces.iter().zip(nearest) {
            let Some(n) = nearest
                .as_ref()
                .filter(|n| n.step == step && n.similarity >= threshold)
            else {
                continue;
            };
            found.extend(self.piece_found(
                piece,
                n.similarity,
                MatchKind::Semantic,
                n.variant.clone(),
            ));
        }
        best_first(&mut found);
        found.truncate(3);
        found
    }

    /// The sentences the judge said carry out step `step` (and no other step more surely), most
    /// probable first.
    fn search_judged(
        &self,
        pieces: &[Piece],
        judged: &[Judged],
        step: usize,
        threshold: f32,
    ) -> Vec<Found> {
        // A sentence the judge said yes to for several steps shows the one it was surest of.
        let surest = |j: &Judged| {
            judged
                .iter()
                .filter(|o| o.piece == j.piece && o.step != j.step)
                .all(|o| o.p < j.p || (o.p == j.p && o.step > j.step))
        };
        let mut found: Vec<Found> = judged
            .iter()
            .filter(|j| j.step == step && j.p >= threshold && surest(j))
            .filter_map(|j| {
                let piece = pieces.get(j.piece)?;
                self.piece_found(piece, j.p, MatchKind::Judged, String::new())
            })
            .collect();
        best_first(&mut found);
        found.truncate(3);
        found
    }

    /// A whole sentence as a passing candidate (by meaning or by the judge); `None` for a sentence
    /// with no words to match.
    fn piece_found(
        &self,
        piece: &Piece,
        similarity: f32,
        kind: MatchKind,
        variant: String,
    ) -> Option<Found> {
        let tokens: Vec<usize> = (0..self.tokens.len())
            .filter(|&i| {
                let t = self.tokens[i];
                t.utterance == piece.utterance
                    && t.display >= piece.words.0
                    && t.display < piece.words.1
            })
            .collect();
        let (&first, &last) = (tokens.first()?, tokens.last()?);
        Some(Found {
            similarity,
            kind,
            passes: true,
            position: first,
            tokens: (first, last + 1),
            variant,
            p: self.mean_p(&tokens),
        })
    }

    /// Mean recogniser confidence over some call tokens.
    fn mean_p(&self, tokens: &[usize]) -> f32 {
        tokens
            .iter()
            .map(|&i| {
                let t = self.tokens[i];
                self.display[t.utterance][t.display].p
            })
            .sum::<f32>()
            / tokens.len() as f32
    }

    fn found(&self, hit: Hit, stream: &[usize], phrase: &Phrase) -> Found {
        let (first, last) = (stream[hit.start], stream[hit.end - 1]);
        let p = self.mean_p(&stream[hit.start..hit.end]);
        Found {
            similarity: hit.similarity,
            kind: MatchKind::Lexical,
            passes: false,
            position: first,
            tokens: (first, last + 1),
            variant: phrase.text.clone(),
            p,
        }
    }

    fn evidence(&self, f: &Found) -> Evidence {
        let (first, last) = (self.tokens[f.tokens.0], self.tokens[f.tokens.1 - 1]);
        let mut text = Vec::new();
        let (mut start, mut end) = (None, None);
        for u in first.utterance..=last.utterance {
            let words = &self.display[u];
            let from = if u == first.utterance {
                first.display
            } else {
                0
            };
            let to = if u == last.utterance {
                last.display
            } else {
                words.len().saturating_sub(1)
            };
            for d in words.iter().take(to + 1).skip(from) {
                text.push(d.text.as_str());
                start = start.or(d.start);
                end = d.end.or(end);
            }
        }
        Evidence {
            text: text.join(" "),
            start,
            end,
            speaker: self.transcript.utterances[first.utterance].speaker,
            kind: f.kind,
            variant: f.variant.clone(),
            p: f.p,
            judged: (f.kind == MatchKind::Judged).then_some(f.similarity),
        }
    }
}

/// When a sentence was said, from its first and last timed words.
fn piece_span(transcript: &Transcript, piece: &Piece) -> (Option<f64>, Option<f64>) {
    let Some(u) = transcript.utterances.get(piece.utterance) else {
        return (None, None);
    };
    let words = display_words(u);
    let words = &words[piece.words.0.min(words.len())..piece.words.1.min(words.len())];
    (
        words.iter().find_map(|w| w.start),
        words.iter().rev().find_map(|w| w.end),
    )
}

/// An utterance's words as the auditor will read them, with times: the recogniser's own words, or
/// for text transcripts the text split on spaces, spread evenly over the utterance's span if it has one.
fn display_words(u: &crate::transcript::Utterance) -> Vec<DisplayWord> {
    if !u.words.is_empty() {
        return u
            .words
            .iter()
            .map(|w| DisplayWord {
                text: w.text.clone(),
                start: Some(w.start),
                end: Some(w.end),
                p: w.p,
            })
            .collect();
    }
    let parts: Vec<&str> = u.text.split_whitespace().collect();
    let n = parts.len().max(1) as f64;
    parts
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let at = |k: f64| match (u.start, u.end) {
                (Some(s), Some(e)) => Some(s + (e - s) * k / n),
                (Some(s), None) => Some(s),
                _ => None,
            };
            DisplayWord {
                text: text.to_string(),
                start: at(i as f64),
                end: at(i as f64 + 1.0).or(u.end),
                p: 1.0,
            }
        })
        .collect()
}
