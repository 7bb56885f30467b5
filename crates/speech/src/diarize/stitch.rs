//! The pure half of speaker separation: from the segmentation model's per-window powerset scores to
//! one set of speaker turns for the whole call, and the turn arithmetic (who holds a span, overtalk,
//! talk time). No I/O and no model: every step is tested on hand-made scores.
//!
//! The model sees 10 s at a time and numbers the (up to three) voices it hears in that window
//! arbitrarily. Windows overlap, so a voice heard in the shared stretch of two windows can be
//! followed from one to the next: each new window's voices are mapped onto the call's speakers by
//! the assignment that best agrees with what earlier windows said about the shared frames.

use super::{Diarization, Turn};

/// Samples between two model frames at 16 kHz (the SincNet front end's total stride).
pub const FRAME_STEP: usize = 270;
/// Samples one frame sees (the front end's receptive field).
pub const FRAME_SPAN: usize = 721;
/// The model's window: 10 s at 16 kHz.
pub const WINDOW_SAMPLES: usize = 160_000;
/// Frames the model gives for one window: (160000 − 721) / 270 + 1.
pub const WINDOW_FRAMES: usize = 589;
/// Voices the model can tell apart in one window.
pub const LOCAL_SPEAKERS: usize = 3;
/// Powerset classes: no speech, 1, 2, 3, 1+2, 1+3, 2+3.
pub const CLASSES: usize = 7;

const SAMPLE_RATE: f64 = 16_000.0;

/// Which local speakers each powerset class means.
const POWERSET: [[bool; LOCAL_SPEAKERS]; CLASSES] = [
    [false, false, false],
    [true, false, false],
    [false, true, false],
    [false, false, true],
    [true, true, false],
    [true, false, true],
    [false, true, true],
];

/// Tuning of the stitching and of the turns it makes. The defaults are what the measurement in
/// `benches/diarize.rs` settled on; see each field.
#[derive(Debug, Clone, PartialEq)]
pub struct StitchOptions {
    /// Frames between the starts of two windows. 148 frames (2.50 s) means every moment is seen by
    /// four windows, whose averaged verdicts smooth out one window's mistakes, and consecutive
    /// windows share 7.5 s, which is what lets a voice be followed across them.
    pub step_frames: usize,
    /// A frame is a speaker's when the windows' averaged activity for them reaches this.
    pub threshold: f32,
    /// A speaker's pauses shorter than this are closed: a breath between words is not a turn change.
    pub min_gap_s: f64,
    /// Turns shorter than this (after closing gaps) are dropped: clicks and single-frame flickers.
    pub min_turn_s: f64,
    /// The most speakers a call may have; see [`DEFAULT_MAX_SPEAKERS`].
    pub max_speakers: usize,
    /// Voices followed through the windows before they are grouped into speakers by sound: more
    /// than speakers, because the model gives one person a new label now and then.
    pub max_fragments: usize,
    /// Fragments whose voice cues differ by less than this (dB, RMS over mel bands) are one person.
    /// Measured: one agent split in two, 0.8 dB; different people, 2.5–17 dB.
    pub merge_below_db: f32,
    /// A speaker who talks for less than this in the whole call is folded into the speaker they
    /// most often sit next to: one voice that a window split in two, not a party to the call.
    pub min_speaker_s: f64,
}

/// Agent and customer, plus one more voice: an IVR prompt or the person a call is transferred to.
/// Without voice embeddings a returning voice can only be recognised through the windows' overlap,
/// so every extra speaker allowed is one more place for one person to be split in two; a fourth
/// party in a call is rare enough that merging it into another is the cheaper mistake.
pub const DEFAULT_MAX_SPEAKERS: usize = 3;

impl Default for StitchOptions {
    fn default() -> Self {
        StitchOptions {
            step_frames: 148,
            threshold: 0.5,
            min_gap_s: 0.3,
            min_turn_s: 0.2,
            max_speakers: DEFAULT_MAX_SPEAKERS,
            max_fragments: 8,
            merge_below_db: 1.5,
            min_speaker_s: 1.0,
        }
    }
}

/// Per frame, whether each local speaker talks, from the model's log-probabilities (`frames × 7`,
/// row-major): the most likely powerset class wins. Ties go to the lower class, so the same scores
/// always decode the same way.
pub fn powerset_decode(log_probs: &[f32]) -> Vec<[f32; LOCAL_SPEAKERS]> {
    log_probs
        .chunks_exact(CLASSES)
        .map(|row| {
            let mut best = 0;
            for (c, &v) in row.iter().enumerate() {
                if v > row[best] {
                    best = c;
                }
            }
            POWERSET[best].map(|on| if on { 1.0 } else { 0.0 })
        })
        .collect()
}

/// How many model frames cover `samples` samples (at least one, so that even an empty tail has a
/// frame to pad into).
pub fn frames_for(samples: usize) -> usize {
    samples.div_ceil(FRAME_STEP).max(1)
}

/// The first frame of every window for a call of `frames` frames: windows every `step` frames, the
/// last one starting early enough to reach the end (its audio is padded with silence).
pub fn window_starts(frames: usize, step: usize) -> Vec<usize> {
    let step = step.clamp(1, WINDOW_FRAMES);
    let mut starts = vec![0];
    while starts[starts.len() - 1] + WINDOW_FRAMES < frames {
        let next = starts[starts.len() - 1] + step;
        starts.push(next);
    }
    starts
}

/// The call's speakers so far, as summed activity per frame; windows are added in order.
#[derive(Debug, Clone)]
pub struct Stitcher {
    options: StitchOptions,
    /// Per call speaker, the sum over windows of their activity at each frame.
    sums: Vec<Vec<f32>>,
    /// How many windows have covered each frame.
    counts: Vec<u32>,
}

/// A local speaker with less activity than this in a window (frames, 0.5 s) is not taken as a
/// voice: the model flickers a second speaker on for a fraction of a second inside one person's
/// talk, and such a flicker, made a speaker of its own, later attracts that person's voice.
const MIN_LOCAL_FRAMES: f32 = 30.0;

/// Two voices of one window this far apart (frames, 4 s) may still be one person: the model keeps
/// a voice's label reliably across a turn change but not across a long silence (measured: one
/// agent alone given two labels 5.7 s and 6.3 s apart). Turn changes in conversation come well
/// within 4 s, so nearer voices are trusted to differ.
const FAR_FRAMES: usize = 237;

/// Assignments whose disagreement differs by less than this many frames are equally good, and the
/// tie is settled by preferring a known speaker over a new one.
const TIE_FRAMES: f32 = 1.0;

impl Stitcher {
    pub fn new(frames: usize, options: StitchOptions) -> Stitcher {
        Stitcher {
            options,
            sums: Vec::new(),
            counts: vec![0; frames],
        }
    }

    /// Adds one window's decoded activity (`WINDOW_FRAMES` rows; more or fewer are tolerated),
    /// starting at call frame `first`.
    pub fn add_window(&mut self, first: usize, activity: &[[f32; LOCAL_SPEAKERS]]) {
        let end = (first + activity.len()).min(self.counts.len());
        if first >= end {
            return;
        }
        let activity = &activity[..end - first];
        let shared: Vec<usize> = (first..end).filter(|&f| self.counts[f] > 0).collect();
        let voices: Vec<usize> = (0..LOCAL_SPEAKERS)
            .filter(|&k| activity.iter().map(|a| a[k]).sum::<f32>() >= MIN_LOCAL_FRAMES)
            .collect();
        let mapping = self.assign(first, activity, &shared, &voices);
        // Each call speaker's activity in this window; two voices merged into one speaker (only
        // when the cap forces it) count as that speaker talking whenever either does.
        let mut added: Vec<(usize, Vec<f32>)> = Vec::new();
        for (&k, target) in voices.iter().zip(&mapping) {
            let g = match *target {
                Target::Known(g) | Target::Merge(g) => g,
                Target::Skip => continue,
                Target::New => {
                    self.sums.push(vec![0.0; self.counts.len()]);
                    self.sums.len() - 1
                }
            };
            let column = activity.iter().map(|a| a[k]);
            match added.iter_mut().find(|(h, _)| *h == g) {
                Some((_, acc)) => acc.iter_mut().zip(column).for_each(|(x, y)| *x = x.max(y)),
                None => added.push((g, column.collect())),
            }
        }
        for (g, column) in added {
            for (f, a) in (first..end).zip(column) {
                self.sums[g][f] += a;
            }
        }
        for c in &mut self.counts[first..end] {
            *c += 1;
        }
    }

    /// For each voice, the call speaker it is, minimising the summed absolute disagreement over the
    /// frames earlier windows already cover.
    fn assign(
        &self,
        first: usize,
        activity: &[[f32; LOCAL_SPEAKERS]],
        shared: &[usize],
        voices: &[usize],
    ) -> Vec<Target> {
        let problem = Problem {
            // Each known speaker's mean activity over the shared frames.
            known: (0..self.sums.len())
                .map(|g| {
                    shared
                        .iter()
                        .map(|&f| self.sums[g][f] / self.counts[f] as f32)
                        .collect()
                })
                .collect(),
            voices: voices
                .iter()
                .map(|&k| shared.iter().map(|&f| activity[f - first][k]).collect())
                .collect(),
            far: voices
                .iter()
                .map(|&u| voices.iter().map(|&v| far_apart(activity, u, v)).collect())
                .collect(),
            max_speakers: self.options.max_fragments.max(1),
        };
        let mut best = None;
        problem.search(&mut Vec::with_capacity(voices.len()), &mut best);
        // The search always completes (skipping a voice is always possible).
        best.map_or_else(|| vec![Target::Skip; voices.len()], |b| b.mapping)
    }

    /// Each voice followed through the windows (a fragment: one person, or part of one), as
    /// spans in seconds: averaged activity, thresholded, gaps closed, tiny spans dropped.
    pub fn fragments(&self, samples: usize) -> Vec<Vec<(f64, f64)>> {
        let duration = samples as f64 / SAMPLE_RATE;
        let o = &self.options;
        self.sums
            .iter()
            .map(|sums| {
                let active: Vec<bool> = sums
                    .iter()
                    .zip(&self.counts)
                    .map(|(&s, &c)| c > 0 && s / c as f32 >= o.threshold)
                    .collect();
                let spans = runs(&active)
                    .map(|(a, b)| (frame_start(a).min(duration), frame_end(b).min(duration)));
                tidy(spans, o.min_gap_s, o.min_turn_s)
            })
            .collect()
    }
}

/// Each fragment's spans where no other fragment talks: what its voice cue is measured on.
pub fn exclusive(fragments: &[Vec<(f64, f64)>], i: usize) -> Vec<(f64, f64)> {
    let mut out = Vec::new();
    for &(s, e) in &fragments[i] {
        let mut pieces = vec![(s, e)];
        for (j, other) in fragments.iter().enumerate() {
            if j == i {
                continue;
            }
            for &(os, oe) in other {
                pieces = pieces
                    .into_iter()
                    .flat_map(|(ps, pe)| {
                        [(ps, pe.min(os)), (ps.max(oe), pe)]
                            .into_iter()
                            .filter(|(a, b)| b > a)
                            .collect::<Vec<_>>()
                    })
                    .collect();
            }
        }
        out.extend(pieces);
    }
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    out
}

/// Fragments that sound alike (voice cues less than `merge_below_db` apart) become one speaker,
/// nearest first; beyond that, the nearest are merged until at most `max_speakers` remain. Two
/// fragments that talk at once for `OVERTALK_S` or more are two people and never merged (one
/// person split in two overlapped themselves by 0.7 s in 140 s, from the averaging at the edges of
/// their turns); nor is a fragment without a cue (too little clear speech) merged by sound, only by
/// the cap.
pub fn group(
    fragments: Vec<Vec<(f64, f64)>>,
    cues: &[Option<Vec<f32>>],
    max_speakers: usize,
    merge_below_db: f32,
) -> Vec<Vec<(f64, f64)>> {
    const OVERTALK_S: f64 = 1.5;
    struct Group {
        spans: Vec<(f64, f64)>,
        cue: Option<Vec<f32>>,
        weight: f64,
    }
    let mut groups: Vec<Group> = fragments
        .into_iter()
        .zip(cues)
        .filter(|(f, _)| !f.is_empty())
        .map(|(spans, cue)| Group {
            weight: spans.iter().map(|(s, e)| e - s).sum(),
            spans,
            cue: cue.clone(),
        })
        .collect();
    loop {
        let mut best: Option<(f32, usize, usize)> = None;
        for i in 0..groups.len() {
            for j in i + 1..groups.len() {
                if shared_time(&groups[i].spans, &groups[j].spans) >= OVERTALK_S {
                    continue;
                }
                let d = match (&groups[i].cue, &groups[j].cue) {
                    (Some(a), Some(b)) => super::voice::distance(a, b),
                    _ => f32::INFINITY,
                };
                if best.is_none_or(|(bd, _, _)| d < bd) {
                    best = Some((d, i, j));
                }
            }
        }
        let Some((d, i, j)) = best else { break };
        if d >= merge_below_db && groups.len() <= max_speakers.max(1) {
            break;
        }
        let b = groups.remove(j);
        let a = &mut groups[i];
        a.cue = match (a.cue.take(), b.cue) {
            (Some(x), Some(y)) => {
                let (wx, wy) = (a.weight as f32, b.weight as f32);
                Some(
                    x.iter()
                        .zip(&y)
                        .map(|(p, q)| (p * wx + q * wy) / (wx + wy).max(f32::EPSILON))
                        .collect(),
                )
            }
            (x, y) => x.or(y),
        };
        a.weight += b.weight;
        a.spans.extend(b.spans);
        a.spans.sort_by(|p, q| p.0.total_cmp(&q.0));
        a.spans = tidy(std::mem::take(&mut a.spans), 0.0, 0.0);
    }
    groups.into_iter().map(|g| g.spans).collect()
}

/// Time two sets of spans share.
fn shared_time(a: &[(f64, f64)], b: &[(f64, f64)]) -> f64 {
    a.iter()
        .flat_map(|&(s, e)| {
            b.iter()
                .map(move |&(os, oe)| (e.min(oe) - s.max(os)).max(0.0))
        })
        .sum()
}

/// The call's turns from its speakers' spans: gaps closed, speakers with almost no talk folded into
/// their nearest neighbour, numbered in order of first speech.
pub fn into_diarization(
    mut per_speaker: Vec<Vec<(f64, f64)>>,
    options: &StitchOptions,
) -> Diarization {
    for spans in &mut per_speaker {
        *spans = tidy(std::mem::take(spans), options.min_gap_s, options.min_turn_s);
    }
    fold_minor_speakers(&mut per_speaker, options.min_speaker_s, options.min_gap_s);
    number_turns(per_speaker)
}

/// Whether voices `u` and `v` of one window never talk at once and come no closer than
/// [`FAR_FRAMES`]: then the model's saying they are different people is weak evidence. Stretches
/// under 0.2 s are left out: the model flickers a voice on for a few frames at a window's edge.
fn far_apart(activity: &[[f32; LOCAL_SPEAKERS]], u: usize, v: usize) -> bool {
    const MIN_STRETCH: usize = 12;
    if u == v {
        return false;
    }
    let stretches = |k: usize| -> Vec<(usize, usize)> {
        let on: Vec<bool> = activity.iter().map(|a| a[k] >= 0.5).collect();
        runs(&on)
            .filter(|(a, b)| b + 1 - a >= MIN_STRETCH)
            .collect()
    };
    let (a, b) = (stretches(u), stretches(v));
    a.iter().all(|&(a0, a1)| {
        b.iter()
            .all(|&(b0, b1)| b0 >= a1 + FAR_FRAMES || a0 >= b1 + FAR_FRAMES)
    })
}

/// One window's assignment problem, restricted to the frames earlier windows cover.
struct Problem {
    known: Vec<Vec<f32>>,
    voices: Vec<Vec<f32>>,
    far: Vec<Vec<bool>>,
    max_speakers: usize,
}

struct Best {
    cost: f32,
    /// Voices skipped, new speakers, merged voices: fewer is better, in that order.
    rank: (usize, usize, usize),
    mapping: Vec<Target>,
}

impl Problem {
    /// Disagreement of a complete assignment: each known speaker's mean activity against what this
    /// window says they do (the louder of their voices where two were merged), plus the shared-frame
    /// activity of voices that become new speakers or are skipped (nobody known said so).
    fn cost(&self, mapping: &[Target]) -> f32 {
        let mut cost = 0.0;
        for (g, mean) in self.known.iter().enumerate() {
            for (f, &m) in mean.iter().enumerate() {
                let said = mapping
                    .iter()
                    .zip(&self.voices)
                    .filter(|(t, _)| matches!(t, Target::Known(h) | Target::Merge(h) if *h == g))
                    .map(|(_, v)| v[f])
                    .fold(0.0, f32::max);
                cost += (said - m).abs();
            }
        }
        for (t, v) in mapping.iter().zip(&self.voices) {
            if matches!(t, Target::New | Target::Skip) {
                cost += v.iter().sum::<f32>();
            }
        }
        cost
    }

    /// Tries every assignment (at most 3 voices, so a few hundred), keeping the one with least
    /// disagreement; near-ties go to fewer skipped voices, then fewer new speakers, then fewer
    /// merged voices.
    fn search(&self, current: &mut Vec<Target>, best: &mut Option<Best>) {
        let v = current.len();
        if v == self.voices.len() {
            let cost = self.cost(current);
            let count = |f: fn(&Target) -> bool| current.iter().filter(|t| f(t)).count();
            let rank = (
                count(|t| *t == Target::Skip),
                count(|t| *t == Target::New),
                count(|t| matches!(t, Target::Merge(_))),
            );
            let better = match best {
                None => true,
                Some(b) => {
                    cost < b.cost - TIE_FRAMES || (cost < b.cost + TIE_FRAMES && rank < b.rank)
                }
            };
            if better {
                *best = Some(Best {
                    cost,
                    rank,
                    mapping: current.clone(),
                });
            }
            return;
        }
        let known = self.known.len();
        let taken_by: Vec<Option<usize>> = (0..known)
            .map(|g| {
                current
                    .iter()
                    .position(|t| matches!(t, Target::Known(h) if *h == g))
            })
            .collect();
        let new = current.iter().filter(|t| **t == Target::New).count();
        let full = taken_by.iter().all(Option::is_some) && known + new >= self.max_speakers;
        for (g, taken) in taken_by.iter().enumerate() {
            let target = match *taken {
                None => Target::Known(g),
                // Joining a speaker another voice of this window already is: when the model's
                // verdict that they differ is weak, or when there is nowhere else to go.
                Some(u) if self.far[u][v] || full => Target::Merge(g),
                Some(_) => continue,
            };
            current.push(target);
            self.search(current, best);
            current.pop();
        }
        if known + new < self.max_speakers {
            current.push(Target::New);
            self.search(current, best);
            current.pop();
        }
        current.push(Target::Skip);
        self.search(current, best);
        current.pop();
    }
}

/// What a window's voice becomes in the call.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Target {
    /// A speaker earlier windows know.
    Known(usize),
    /// A speaker not heard before.
    New,
    /// A known speaker another voice of this window is also mapped to.
    Merge(usize),
    /// Nobody: left out of the call's activity.
    Skip,
}

/// A frame stands for the middle 270 samples of the 721 it sees, so consecutive frames tile time.
fn frame_start(f: usize) -> f64 {
    (f * FRAME_STEP + (FRAME_SPAN - FRAME_STEP) / 2) as f64 / SAMPLE_RATE
}

fn frame_end(f: usize) -> f64 {
    frame_start(f + 1)
}

/// First and last index of each run of `true`.
fn runs(flags: &[bool]) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < flags.len() && !flags[i] {
            i += 1;
        }
        if i >= flags.len() {
            return None;
        }
        let first = i;
        while i < flags.len() && flags[i] {
            i += 1;
        }
        Some((first, i - 1))
    })
}

/// One speaker's spans in order: gaps under `min_gap` closed, then spans under `min_turn` dropped.
pub fn tidy(
    spans: impl IntoIterator<Item = (f64, f64)>,
    min_gap: f64,
    min_turn: f64,
) -> Vec<(f64, f64)> {
    let mut merged: Vec<(f64, f64)> = Vec::new();
    for (s, e) in spans {
        if e <= s {
            continue;
        }
        match merged.last_mut() {
            Some(last) if s - last.1 < min_gap => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    merged.retain(|(s, e)| e - s >= min_turn);
    merged
}

/// Folds every speaker with less than `min_speaker_s` of talk into the speaker whose turns lie
/// nearest to theirs (a voice one window split off), or drops them if there is no one else.
fn fold_minor_speakers(per_speaker: &mut [Vec<(f64, f64)>], min_speaker_s: f64, min_gap: f64) {
    loop {
        let talk: Vec<f64> = per_speaker
            .iter()
            .map(|t| t.iter().map(|(s, e)| e - s).sum())
            .collect();
        // The smallest speaker first, so that folding is the same whatever the numbering.
        let minor = (0..per_speaker.len())
            .filter(|&g| !per_speaker[g].is_empty() && talk[g] < min_speaker_s)
            .min_by(|&a, &b| talk[a].total_cmp(&talk[b]).then(a.cmp(&b)));
        let Some(minor) = minor else { return };
        let turns = std::mem::take(&mut per_speaker[minor]);
        let host = (0..per_speaker.len())
            .filter(|&g| g != minor && !per_speaker[g].is_empty())
            .min_by(|&a, &b| {
                let d = |g: usize| distance(&turns, &per_speaker[g]);
                d(a).total_cmp(&d(b)).then(a.cmp(&b))
            });
        if let Some(host) = host {
            let mut all = std::mem::take(&mut per_speaker[host]);
            all.extend(turns);
            all.sort_by(|a, b| a.0.total_cmp(&b.0));
            per_speaker[host] = tidy(all, min_gap, 0.0);
        }
    }
}

/// Summed distance from each of `turns` to the nearest of `others` (0 where they touch).
fn distance(turns: &[(f64, f64)], others: &[(f64, f64)]) -> f64 {
    turns
        .iter()
        .map(|&(s, e)| {
            others
                .iter()
                .map(|&(os, oe)| (os - e).max(s - oe).max(0.0))
                .fold(f64::INFINITY, f64::min)
        })
        .sum()
}

/// Speakers numbered 0, 1, … in the order they first speak; turns sorted by start.
fn number_turns(per_speaker: Vec<Vec<(f64, f64)>>) -> Diarization {
    let mut order: Vec<usize> = (0..per_speaker.len())
        .filter(|&g| !per_speaker[g].is_empty())
        .collect();
    order.sort_by(|&a, &b| {
        per_speaker[a][0]
            .0
            .total_cmp(&per_speaker[b][0].0)
            .then(a.cmp(&b))
    });
    let mut turns: Vec<Turn> = order
        .iter()
        .enumerate()
        .flat_map(|(id, &g)| {
            per_speaker[g].iter().map(move |&(start, end)| Turn {
                start,
                end,
                voice: id as u32,
            })
        })
        .collect();
    turns.sort_by(|a, b| a.start.total_cmp(&b.start).then(a.voice.cmp(&b.voice)));
    Diarization {
        turns,
        speakers: order.len() as u32,
    }
}

/// Time covered by a set of spans (overlaps counted once).
pub fn union_length(spans: impl IntoIterator<Item = (f64, f64)>) -> f64 {
    let mut spans: Vec<(f64, f64)> = spans.into_iter().filter(|(s, e)| e > s).collect();
    spans.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut total = 0.0;
    let mut current: Option<(f64, f64)> = None;
    for (s, e) in spans {
        match current {
            Some((cs, ce)) if s <= ce => current = Some((cs, ce.max(e))),
            Some((cs, ce)) => {
                total += ce - cs;
                current = Some((s, e));
            }
            None => current = Some((s, e)),
        }
    }
    if let Some((cs, ce)) = current {
        total += ce - cs;
    }
    total
}

/// Time during which at least two different speakers talk.
pub fn overlap_length(turns: &[Turn]) -> f64 {
    // Sweep over boundaries with the number of distinct speakers active; one speaker's own turns
    // never overlap after `tidy`, but hand-made turns might, so count speakers, not turns.
    let mut edges: Vec<(f64, i32, u32)> = turns
        .iter()
        .filter(|t| t.end > t.start)
        .flat_map(|t| [(t.start, 1, t.voice), (t.end, -1, t.voice)])
        .collect();
    edges.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut active: std::collections::BTreeMap<u32, i32> = Default::default();
    let mut total = 0.0;
    let mut last = 0.0;
    for (t, delta, speaker) in edges {
        let speaking = active.values().filter(|&&n| n > 0).count();
        if speaking >= 2 {
            total += t - last;
        }
        *active.entry(speaker).or_insert(0) += delta;
        last = t;
    }
    total
}

/// The speaker who holds most of `[start, end]`; for a span no turn touches, the speaker of the
/// nearest turn within `reach` seconds (a word's timing and a turn's edge can disagree by a little).
pub fn speaker_of(turns: &[Turn], start: f64, end: f64, reach: f64) -> Option<u32> {
    let (start, end) = if end < start {
        (end, start)
    } else {
        (start, end)
    };
    let mut held: std::collections::BTreeMap<u32, f64> = Default::default();
    for t in turns {
        let shared = end.min(t.end) - start.max(t.start);
        // A zero-length span (a point) counts as held by any turn that contains it.
        if shared > 0.0 || (shared == 0.0 && t.start <= start && end <= t.end) {
            *held.entry(t.voice).or_insert(0.0) += shared;
        }
    }
    if let Some((&speaker, _)) = held
        .iter()
        .max_by(|a, b| a.1.total_cmp(b.1).then(b.0.cmp(a.0)))
    {
        return Some(speaker);
    }
    turns
        .iter()
        .map(|t| ((t.start - end).max(start - t.end), t.voice))
        .filter(|(d, _)| *d <= reach)
        .min_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)))
        .map(|(_, s)| s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(class: usize) -> [f32; CLASSES] {
        let mut r = [-10.0; CLASSES];
        r[class] = -0.01;
        r
    }

    /// A window's activity with local speaker `k` on over each of `spans` (window frames).
    fn window(spans: &[(usize, std::ops::Range<usize>)]) -> Vec<[f32; LOCAL_SPEAKERS]> {
        let mut a = vec![[0.0; LOCAL_SPEAKERS]; WINDOW_FRAMES];
        for (k, range) in spans {
            for f in range.clone() {
                a[f][*k] = 1.0;
            }
        }
        a
    }

    #[test]
    fn powerset_classes_decode_to_the_speakers_they_name() {
        let scores: Vec<f32> = [0, 1, 4, 6, 3].iter().flat_map(|&c| row(c)).collect();
        assert_eq!(
            powerset_decode(&scores),
            vec![
                [0.0, 0.0, 0.0],
                [1.0, 0.0, 0.0],
                [1.0, 1.0, 0.0],
                [0.0, 1.0, 1.0],
                [0.0, 0.0, 1.0]
            ]
        );
        // A tie goes to the lower class: the same scores always decode the same way.
        assert_eq!(powerset_decode(&[0.0; CLASSES]), vec![[0.0, 0.0, 0.0]]);
    }

    #[test]
    fn windows_cover_the_call_and_the_last_is_padded() {
        assert_eq!(window_starts(1, 148), vec![0]);
        assert_eq!(window_starts(WINDOW_FRAMES, 148), vec![0]);
        let starts = window_starts(2000, 148);
        assert_eq!(starts[1], 148);
        assert!(starts.last().unwrap() + WINDOW_FRAMES >= 2000);
        assert!(starts[starts.len() - 2] + WINDOW_FRAMES < 2000);
        assert_eq!(frames_for(0), 1);
        assert_eq!(frames_for(271), 2);
    }

    #[test]
    fn voices_are_followed_across_windows_whatever_the_model_numbers_them() {
        let options = StitchOptions::default();
        let mut s = Stitcher::new(148 + WINDOW_FRAMES, options.clone());
        // A talks over frames 0..300, B over 300..737. The second window (from frame 148) calls
        // them the other way round.
        s.add_window(0, &window(&[(0, 0..300), (1, 300..WINDOW_FRAMES)]));
        s.add_window(148, &window(&[(1, 0..152), (0, 152..WINDOW_FRAMES)]));
        let fragments = s.fragments((148 + WINDOW_FRAMES) * FRAME_STEP);
        assert_eq!(fragments.len(), 2);
        let a = &fragments[0];
        let b = &fragments[1];
        assert_eq!(a.len(), 1);
        assert_eq!(b.len(), 1);
        assert!((a[0].1 - frame_start(300)).abs() < 0.02, "{a:?}");
        assert!((b[0].0 - frame_start(300)).abs() < 0.02, "{b:?}");
    }

    #[test]
    fn a_voice_back_after_a_long_silence_is_a_known_speaker_not_a_new_one() {
        let frames = 148 * 3 + WINDOW_FRAMES;
        let mut s = Stitcher::new(frames, StitchOptions::default());
        s.add_window(0, &window(&[(0, 0..100)]));
        s.add_window(148, &window(&[]));
        s.add_window(296, &window(&[]));
        // Nothing in the shared frames says who this is: one speaker so far, so it is them.
        s.add_window(444, &window(&[(2, 400..500)]));
        assert_eq!(s.fragments(frames * FRAME_STEP).len(), 1);
    }

    #[test]
    fn short_gaps_close_and_tiny_turns_go() {
        let spans = [(0.0, 1.0), (1.2, 2.0), (3.0, 3.1), (5.0, 6.0)];
        assert_eq!(tidy(spans, 0.3, 0.2), vec![(0.0, 2.0), (5.0, 6.0)]);
        assert_eq!(tidy([(1.0, 1.0), (2.0, 1.5)], 0.3, 0.0), vec![]);
    }

    #[test]
    fn fragments_that_sound_alike_become_one_speaker_unless_they_talk_at_once() {
        let cue = |x: f32| Some(vec![x, -x]);
        let far = |x: f32| Some(vec![x + 10.0, -x - 10.0]);
        // Alike, apart in time: one person.
        let g = group(
            vec![vec![(0.0, 5.0)], vec![(10.0, 15.0)]],
            &[cue(0.0), cue(0.3)],
            3,
            1.5,
        );
        assert_eq!(g, vec![vec![(0.0, 5.0), (10.0, 15.0)]]);
        // Alike but talking at once for 2 s: two people.
        let g = group(
            vec![vec![(0.0, 5.0)], vec![(3.0, 8.0)]],
            &[cue(0.0), cue(0.3)],
            3,
            1.5,
        );
        assert_eq!(g.len(), 2);
        // Different voices stay apart until the cap forces the nearest together.
        let three = vec![vec![(0.0, 1.0)], vec![(2.0, 3.0)], vec![(4.0, 5.0)]];
        let cues = [cue(0.0), far(0.0), far(5.0)];
        assert_eq!(group(three.clone(), &cues, 3, 1.5).len(), 3);
        let two = group(three, &cues, 2, 1.5);
        assert_eq!(two.len(), 2);
        assert!(two.contains(&vec![(0.0, 1.0)]));
    }

    #[test]
    fn a_speaker_with_almost_no_talk_joins_their_neighbour() {
        let options = StitchOptions::default();
        let d = into_diarization(
            vec![vec![(0.0, 10.0), (20.0, 30.0)], vec![(10.05, 10.5)]],
            &options,
        );
        assert_eq!(d.speakers, 1);
        assert_eq!(d.turns.len(), 2);
        // Numbered by first speech.
        let d = into_diarization(vec![vec![(5.0, 9.0)], vec![(0.0, 4.0)]], &options);
        assert_eq!(d.turns[0].voice, 0);
        assert_eq!(d.turns[0].start, 0.0);
    }

    fn turn(start: f64, end: f64, speaker: u32) -> Turn {
        Turn {
            start,
            end,
            voice: speaker,
        }
    }

    #[test]
    fn turn_arithmetic() {
        let turns = [turn(0.0, 4.0, 0), turn(3.0, 6.0, 1), turn(5.0, 7.0, 0)];
        assert!((overlap_length(&turns) - 2.0).abs() < 1e-9);
        assert!((union_length(turns.iter().map(|t| (t.start, t.end))) - 7.0).abs() < 1e-9);
        assert_eq!(speaker_of(&turns, 3.2, 4.5, 0.5), Some(1));
        assert_eq!(speaker_of(&turns, 1.0, 1.0, 0.5), Some(0));
        assert_eq!(speaker_of(&turns, 7.3, 7.6, 0.5), Some(0));
        assert_eq!(speaker_of(&turns, 9.0, 9.5, 0.5), None);
        assert_eq!(speaker_of(&[], 0.0, 1.0, 0.5), None);
    }
}
