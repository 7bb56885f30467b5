//! Diarization error rate: how much of the reference speech a hypothesis gets wrong, the standard
//! way (NIST md-eval): missed speech, false alarm and speaker confusion over the scored speech time,
//! after the best one-to-one mapping of hypothesis speakers onto reference speakers, with a collar
//! around every reference boundary left unscored. Pure: used by the tests and the benchmark.

use super::Turn;

/// Scoring resolution: 10 ms, finer than any turn edge either side can place.
const STEP_S: f64 = 0.01;

/// Errors in seconds, summed over speakers (two people talking at once count twice).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Der {
    /// Reference speech no hypothesis speaker covers.
    pub missed_s: f64,
    /// Hypothesis speech where the reference has no one (or fewer people).
    pub false_alarm_s: f64,
    /// Speech given to the wrong speaker.
    pub confusion_s: f64,
    /// Reference speech scored (outside the collars).
    pub speech_s: f64,
}

impl Der {
    /// (missed + false alarm + confusion) / scored speech; 0 when there is nothing to score.
    pub fn rate(&self) -> f64 {
        if self.speech_s > 0.0 {
            (self.missed_s + self.false_alarm_s + self.confusion_s) / self.speech_s
        } else {
            0.0
        }
    }

    /// Sums two files' errors, for a rate over all of them (weighted by speech, not by file).
    pub fn add(&self, other: &Der) -> Der {
        Der {
            missed_s: self.missed_s + other.missed_s,
            false_alarm_s: self.false_alarm_s + other.false_alarm_s,
            confusion_s: self.confusion_s + other.confusion_s,
            speech_s: self.speech_s + other.speech_s,
        }
    }
}

/// Scores `hypothesis` against `reference`. `collar_s` is removed on each side of every reference
/// turn's start and end (0.25 s is usual: a boundary is a matter of judgement within that).
pub fn diarization_error(reference: &[Turn], hypothesis: &[Turn], collar_s: f64) -> Der {
    let end = reference
        .iter()
        .chain(hypothesis)
        .map(|t| t.end)
        .fold(0.0_f64, f64::max);
    if end <= 0.0 || !end.is_finite() {
        return Der::default();
    }
    let steps = (end / STEP_S).ceil() as usize;
    let (ref_ids, ref_grid) = grid(reference, steps);
    let (hyp_ids, hyp_grid) = grid(hypothesis, steps);
    let mut scored = vec![true; steps];
    let collar = collar_s.max(0.0);
    for t in reference {
        for edge in [t.start, t.end] {
            for s in span_steps(edge - collar, edge + collar, steps) {
                scored[s] = false;
            }
        }
    }

    // Time each reference speaker shares with each hypothesis speaker, over scored steps.
    let mut shared = vec![vec![0u64; hyp_ids.len()]; ref_ids.len()];
    for s in (0..steps).filter(|&s| scored[s]) {
        for (r, row) in shared.iter_mut().enumerate() {
            if ref_grid[r][s] {
                for (h, cell) in row.iter_mut().enumerate() {
                    if hyp_grid[h][s] {
                        *cell += 1;
                    }
                }
            }
        }
    }
    let mapping = best_mapping(&shared);

    let mut der = Der::default();
    for s in (0..steps).filter(|&s| scored[s]) {
        let n_ref = ref_grid.iter().filter(|g| g[s]).count();
        let n_hyp = hyp_grid.iter().filter(|g| g[s]).count();
        let correct = mapping
            .iter()
            .enumerate()
            .filter(|(r, h)| h.is_some_and(|h| ref_grid[*r][s] && hyp_grid[h][s]))
            .count();
        der.speech_s += n_ref as f64 * STEP_S;
        der.missed_s += n_ref.saturating_sub(n_hyp) as f64 * STEP_S;
        der.false_alarm_s += n_hyp.saturating_sub(n_ref) as f64 * STEP_S;
        der.confusion_s += (n_ref.min(n_hyp) - correct) as f64 * STEP_S;
    }
    der
}

/// Each speaker's activity on the 10 ms grid, speakers in order of id.
fn grid(turns: &[Turn], steps: usize) -> (Vec<u32>, Vec<Vec<bool>>) {
    let mut ids: Vec<u32> = turns.iter().map(|t| t.voice).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut grids = vec![vec![false; steps]; ids.len()];
    for t in turns {
        let row = ids.binary_search(&t.voice).unwrap_or(0);
        for s in span_steps(t.start, t.end, steps) {
            grids[row][s] = true;
        }
    }
    (ids, grids)
}

/// Grid steps whose centre lies in `[start, end)`.
fn span_steps(start: f64, end: f64, steps: usize) -> std::ops::Range<usize> {
    let first = ((start / STEP_S) - 0.5).ceil().max(0.0) as usize;
    let last = ((end / STEP_S) - 0.5).ceil().max(0.0) as usize;
    first.min(steps)..last.min(steps)
}

/// For each reference speaker, the hypothesis speaker (at most one, each used once) that maximises
/// the total shared time. Exhaustive for the handful of speakers a call has; greedy beyond that.
fn best_mapping(shared: &[Vec<u64>]) -> Vec<Option<usize>> {
    let refs = shared.len();
    let hyps = shared.first().map_or(0, Vec::len);
    if refs <= 6 && hyps <= 6 {
        let mut best = (0u64, vec![None; refs]);
        let mut current = Vec::with_capacity(refs);
        exhaustive(shared, hyps, &mut current, 0, &mut best);
        return best.1;
    }
    let mut pairs: Vec<(u64, usize, usize)> = shared
        .iter()
        .enumerate()
        .flat_map(|(r, row)| row.iter().enumerate().map(move |(h, &v)| (v, r, h)))
        .filter(|p| p.0 > 0)
        .collect();
    pairs.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let mut mapping = vec![None; refs];
    let mut used = vec![false; hyps];
    for (_, r, h) in pairs {
        if mapping[r].is_none() && !used[h] {
            mapping[r] = Some(h);
            used[h] = true;
        }
    }
    mapping
}

fn exhaustive(
    shared: &[Vec<u64>],
    hyps: usize,
    current: &mut Vec<Option<usize>>,
    total: u64,
    best: &mut (u64, Vec<Option<usize>>),
) {
    let r = current.len();
    if r == shared.len() {
        if total > best.0 {
            *best = (total, current.clone());
        }
        return;
    }
    current.push(None);
    exhaustive(shared, hyps, current, total, best);
    current.pop();
    for h in 0..hyps {
        if !current.contains(&Some(h)) {
            current.push(Some(h));
            exhaustive(shared, hyps, current, total + shared[r][h], best);
            current.pop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn turn(start: f64, end: f64, speaker: u32) -> Turn {
        Turn {
            start,
            end,
            voice: speaker,
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 0.02
    }

    #[test]
    fn a_perfect_hypothesis_with_other_names_scores_zero() {
        let reference = [turn(0.0, 4.0, 0), turn(5.0, 9.0, 1)];
        let hypothesis = [turn(0.0, 4.0, 7), turn(5.0, 9.0, 3)];
        let der = diarization_error(&reference, &hypothesis, 0.0);
        assert!(close(der.speech_s, 8.0));
        assert_eq!(der.rate(), 0.0);
    }

    #[test]
    fn one_speaker_for_two_is_confusion_and_the_best_mapping_is_taken() {
        let reference = [turn(0.0, 6.0, 0), turn(6.0, 8.0, 1)];
        let hypothesis = [turn(0.0, 8.0, 0)];
        let der = diarization_error(&reference, &hypothesis, 0.0);
        assert!(close(der.confusion_s, 2.0), "{der:?}");
        assert!(close(der.missed_s, 0.0) && close(der.false_alarm_s, 0.0));
        assert!(close(der.rate(), 0.25));
    }

    #[test]
    fn missed_speech_false_alarm_and_overlap() {
        // Both talk over 2..3; the hypothesis hears only one there, and adds speech at 10..11.
        let reference = [turn(0.0, 3.0, 0), turn(2.0, 5.0, 1)];
        let hypothesis = [turn(0.0, 3.0, 0), turn(3.0, 5.0, 1), turn(10.0, 11.0, 1)];
        let der = diarization_error(&reference, &hypothesis, 0.0);
        assert!(close(der.speech_s, 6.0));
        assert!(close(der.missed_s, 1.0), "{der:?}");
        assert!(close(der.false_alarm_s, 1.0), "{der:?}");
        assert!(close(der.confusion_s, 0.0));
    }

    #[test]
    fn the_collar_leaves_boundaries_unscored() {
        let reference = [turn(1.0, 5.0, 0)];
        let hypothesis = [turn(1.2, 4.8, 0)];
        assert!(diarization_error(&reference, &hypothesis, 0.0).missed_s > 0.3);
        let der = diarization_error(&reference, &hypothesis, 0.25);
        assert_eq!(der.rate(), 0.0);
        assert!(close(der.speech_s, 3.5));
    }

    #[test]
    fn nothing_to_score_is_no_error() {
        assert_eq!(diarization_error(&[], &[], 0.25).rate(), 0.0);
        let der = diarization_error(&[], &[turn(0.0, 1.0, 0)], 0.25);
        assert!(close(der.false_alarm_s, 1.0));
        assert_eq!(der.rate(), 0.0);
    }
}
