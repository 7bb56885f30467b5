//! guion against its human analysts: how often they agree on each step (and on each brand value),
//! Cohen's kappa, precision and recall of "missed" (what the brand acts on), the analysts'
//! agreement with each other (the ceiling guion is judged against), and per-step thresholds that
//! would agree better, chosen by cross-validation over calls so the figure reported for them is
//! measured on calls they were not fitted on. Pure: compared verdicts in, numbers out.

use crate::align::{DEFAULT_SEMANTIC_THRESHOLD, StepStatus};
use crate::record::CallRecord;
use crate::review::{StepLabel, ValueLabel, Verdict, said_of};
use crate::script::{Role, Script};
use crate::transcript::Speaker;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// One analyst's label beside guion's verdict on the same step of the same call.
#[derive(Debug, Clone, PartialEq)]
pub struct Compared {
    pub call_id: String,
    pub step: String,
    /// guion's own verdict (not an analyst's review of it).
    pub guion: StepStatus,
    pub label: Verdict,
    pub analyst: Option<String>,
    /// The step's best similarity by words and by meaning, and whether the judge found it: what
    /// other thresholds would have made of the call.
    /// `None` when the record predates guion keeping them: then nothing can be replayed.
    pub by_words: Option<f32>,
    pub by_meaning: Option<f32>,
    pub judged: bool,
}

/// Agreement between two raters over the same items.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Agreement {
    pub n: usize,
    /// Share of identical verdicts (guion's `unclear` agrees with nothing).
    pub agreement: Option<f64>,
    /// Cohen's kappa over the verdicts: agreement beyond what the two raters' rates give by chance.
    pub kappa: Option<f64>,
    /// Of the steps guion calls missed, the share the analyst calls missed too.
    pub precision_missed: Option<f64>,
    /// Of the steps the analyst calls missed, the share guion calls missed too.
    pub recall_missed: Option<f64>,
}

/// Pairs of `(guion's category, the label's)`; `None` for a guion verdict that agrees with no label.
fn agreement(pairs: &[(Option<&str>, &str)], positive: &str) -> Agreement {
    let n = pairs.len();
    let share = |num: usize, den: usize| (den > 0).then(|| num as f64 / den as f64);
    let same = pairs.iter().filter(|(g, h)| *g == Some(*h)).count();
    let po = share(same, n);
    let mut first: BTreeMap<Option<&str>, usize> = BTreeMap::new();
    let mut second: BTreeMap<&str, usize> = BTreeMap::new();
    for (g, h) in pairs {
        *first.entry(*g).or_default() += 1;
        *second.entry(*h).or_default() += 1;
    }
    let pe: f64 = second
        .iter()
        .map(|(h, k)| {
            let g = first.get(&Some(*h)).copied().unwrap_or(0);
            (g as f64 / n as f64) * (*k as f64 / n as f64)
        })
        .sum();
    let kappa = po.and_then(|po| (1.0 - pe > 1e-12).then(|| (po - pe) / (1.0 - pe)));
    let said_positive = pairs.iter().filter(|(g, _)| *g == Some(positive)).count();
    let is_positive = pairs.iter().filter(|(_, h)| *h == positive).count();
    let both = pairs
        .iter()
        .filter(|(g, h)| *g == Some(positive) && *h == positive)
        .count();
    Agreement {
        n,
        agreement: po,
        kappa,
        precision_missed: share(both, said_positive),
        recall_missed: share(both, is_positive),
    }
}

fn step_pairs<'c>(
    compared: impl Iterator<Item = &'c Compared>,
) -> Vec<(Option<&'static str>, &'static str)> {
    compared
        .map(|c| {
            let (g, h) = c.label.compare(c.guion);
            (g.map(StepStatus::as_str), h.as_str())
        })
        .collect()
}

/// Thresholds for one step.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Thresholds {
    pub min_similarity: f64,
    /// `None` for steps matched by words only (customer steps, or no meaning computed).
    pub semantic_threshold: Option<f64>,
}

/// What the cross-validation found for one step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThresholdCheck {
    pub current: Thresholds,
    /// Agreement the current thresholds give, replayed on the stored similarities.
    pub agreement_now: f64,
    /// Agreement on held-out calls of thresholds fitted on the other calls (folds by call).
    pub agreement_cross_validated: f64,
    /// Thresholds fitted on every label: proposed only when held-out agreement beats `agreement_now`.
    pub fitted: Thresholds,
    pub folds: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Disagreement {
    pub call_id: String,
    pub guion: StepStatus,
    /// The analyst's verdict, as a status (`done` for yes, `missed` for no).
    pub label: StepStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub analyst: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepCalibration {
    pub step: String,
    #[serde(flatten)]
    pub agreement: Agreement,
    /// Better thresholds, when cross-validation says they agree better on calls they did not see.
    pub suggested: Option<Thresholds>,
    pub thresholds: Option<ThresholdCheck>,
    /// Analysts against each other on this step's calls labelled by more than one.
    pub analysts: Option<Agreement>,
    pub disagreements: Vec<Disagreement>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Overall {
    #[serde(flatten)]
    pub agreement: Agreement,
    pub analysts: Option<Agreement>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Calibration {
    pub overall: Overall,
    pub steps: Vec<StepCalibration>,
}

/// Agreement per step of `script` and overall, and threshold suggestions.
pub fn calibrate(script: &Script, compared: &[Compared]) -> Calibration {
    let steps = script
        .steps
        .iter()
        .filter(|s| compared.iter().any(|c| c.step == s.id))
        .map(|step| {
            let mine: Vec<&Compared> = compared.iter().filter(|c| c.step == step.id).collect();
            let current = Thresholds {
                min_similarity: script.min_similarity_of(step),
                semantic_threshold: (step.role == Role::Agent
                    && mine.iter().any(|c| c.by_meaning.is_some()))
                .then(|| {
                    script
                        .semantic_threshold_of(step)
                        .unwrap_or(DEFAULT_SEMANTIC_THRESHOLD)
                }),
            };
            let thresholds = check_thresholds(&mine, current);
            StepCalibration {
                step: step.id.clone(),
                agreement: agreement(&step_pairs(mine.iter().copied()), "missed"),
                suggested: thresholds
                    .as_ref()
                    .filter(|t| t.agreement_cross_validated > t.agreement_now)
                    .map(|t| t.fitted),
                thresholds,
                analysts: analysts(&mine),
                disagreements: mine
                    .iter()
                    .filter(|c| {
                        let (g, h) = c.label.compare(c.guion);
                        g != Some(h)
                    })
                    .map(|c| Disagreement {
                        call_id: c.call_id.clone(),
                        guion: c.guion,
                        label: c.label.status(),
                        analyst: c.analyst.clone(),
                    })
                    .collect(),
            }
        })
        .collect();
    let all: Vec<&Compared> = compared.iter().collect();
    Calibration {
        overall: Overall {
            agreement: agreement(&step_pairs(compared.iter()), "missed"),
            analysts: analysts(&all),
        },
        steps,
    }
}

/// Every pair of different analysts who labelled the same step of the same call.
fn analysts(compared: &[&Compared]) -> Option<Agreement> {
    let mut items: BTreeMap<(&str, &str), Vec<(&str, Verdict)>> = BTreeMap::new();
    for c in compared {
        if let Some(a) = &c.analyst {
            items
                .entry((&c.call_id, &c.step))
                .or_default()
                .push((a, c.label));
        }
    }
    let mut pairs = Vec::new();
    for labels in items.values() {
        for (i, (a, x)) in labels.iter().enumerate() {
            for (b, y) in &labels[i + 1..] {
                if a == b {
                    continue;
                }
                // A yes/no label compares with any other on whether the step was said.
                let (x, y) = match (x, y) {
                    (Verdict::Status(x), Verdict::Status(y)) => (*x, *y),
                    _ => (said_status(x.status()), said_status(y.status())),
                };
                pairs.push((Some(x.as_str()), y.as_str()));
            }
        }
    }
    (!pairs.is_empty()).then(|| agreement(&pairs, "missed"))
}

fn said_status(s: StepStatus) -> StepStatus {
    match said_of(s) {
        Some(true) => StepStatus::Done,
        _ => StepStatus::Missed,
    }
}

/// guion's verdict had the step's thresholds been `t`, from the similarities it stored: found
/// evidence keeps guion's status when guion found the step too (order and window are not replayed),
/// and is `done` otherwise.
fn replay(c: &Compared, t: Thresholds) -> StepStatus {
    const EPS: f32 = 1e-6;
    let found = c.judged
        || c.by_words
            .is_some_and(|w| w + EPS >= t.min_similarity as f32)
        || matches!((c.by_meaning, t.semantic_threshold), (Some(m), Some(s)) if m + EPS >= s as f32);
    match (found, said_of(c.guion)) {
        (true, Some(true)) => c.guion,
        (true, _) => StepStatus::Done,
        (false, None) => StepStatus::Unclear,
        (false, Some(_)) => StepStatus::Missed,
    }
}

fn agrees(c: &Compared, t: Thresholds) -> bool {
    let (g, h) = c.label.compare(replay(c, t));
    g == Some(h)
}

/// Candidate thresholds: a grid, never below the floor the matcher searched down to (under it,
/// nothing was stored to replay).
fn grid(current: Thresholds) -> Vec<Thresholds> {
    let floor = (current.min_similarity - 0.25).max(0.0);
    let mut words: Vec<f64> = (0..=20)
        .map(|k| k as f64 * 0.05)
        .filter(|w| *w >= floor - 1e-9)
        .collect();
    words.push(current.min_similarity);
    let meaning: Vec<Option<f64>> = match current.semantic_threshold {
        None => vec![None],
        Some(now) => (0..=20)
            .map(|k| Some(0.3 + k as f64 * 0.025))
            .chain([Some(now)])
            .collect(),
    };
    words
        .iter()
        .flat_map(|&w| {
            meaning.iter().map(move |&m| Thresholds {
                min_similarity: w,
                semantic_threshold: m,
            })
        })
        .collect()
}

/// The grid point that agrees with most of `train`; ties go to the one nearest `current`.
fn fit(train: &[&Compared], current: Thresholds) -> Thresholds {
    let distance = |t: &Thresholds| {
        (t.min_similarity - current.min_similarity).abs()
            + match (t.semantic_threshold, current.semantic_threshold) {
                (Some(a), Some(b)) => (a - b).abs(),
                _ => 0.0,
            }
    };
    grid(current)
        .into_iter()
        .map(|t| (train.iter().filter(|c| agrees(c, t)).count(), t))
        .max_by(|(a, t), (b, u)| a.cmp(b).then(distance(u).total_cmp(&distance(t))))
        .map_or(current, |(_, t)| t)
}

const FOLDS: usize = 5;

fn check_thresholds(compared: &[&Compared], current: Thresholds) -> Option<ThresholdCheck> {
    let calls: BTreeSet<&str> = compared.iter().map(|c| c.call_id.as_str()).collect();
    let folds = FOLDS.min(calls.len());
    if folds < 2 || compared.iter().any(|c| c.by_words.is_none()) {
        return None;
    }
    // Folds by call, in a fixed order shuffled by a fixed seed: every label of a call is in one fold.
    let mut order: Vec<&str> = calls.into_iter().collect();
    crate::stats::Rng::new(crate::stats::seed_of("calibration folds")).shuffle(&mut order);
    let fold_of: BTreeMap<&str, usize> = order
        .iter()
        .enumerate()
        .map(|(i, c)| (*c, i % folds))
        .collect();
    let mut held_out_right = 0;
    for f in 0..folds {
        let (test, train): (Vec<&Compared>, Vec<&Compared>) = compared
            .iter()
            .partition(|c| fold_of[c.call_id.as_str()] == f);
        let t = fit(&train, current);
        held_out_right += test.iter().filter(|c| agrees(c, t)).count();
    }
    let n = compared.len() as f64;
    Some(ThresholdCheck {
        current,
        agreement_now: compared.iter().filter(|c| agrees(c, current)).count() as f64 / n,
        agreement_cross_validated: held_out_right as f64 / n,
        fitted: fit(compared, current),
        folds,
    })
}

/// An analyst's value label on one utterance, beside what guion made of it.
#[derive(Debug, Clone, PartialEq)]
pub struct ComparedValue {
    pub call_id: String,
    pub start: f64,
    /// The value the analyst saw, or `None` for an utterance showing none.
    pub label: Option<String>,
    /// The value guion showed (its best value at or over the cut), or `None`.
    pub guion: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ValueCalibration {
    pub value: String,
    pub n: usize,
    /// Per utterance: whether guion and the analyst agree on "shows this value" or not.
    pub agreement: Option<f64>,
    pub kappa: Option<f64>,
    /// Of the utterances guion says show the value, the share the analyst says show it.
    pub precision: Option<f64>,
    /// Of the utterances the analyst says show the value, the share guion found.
    pub recall: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ValuesCalibration {
    /// Over every labelled utterance, the value (or none) guion and the analyst name.
    pub overall: Agreement,
    pub values: Vec<ValueCalibration>,
}

pub fn calibrate_values(compared: &[ComparedValue]) -> ValuesCalibration {
    const NONE: &str = "none";
    let name = |v: &Option<String>| v.clone().unwrap_or_else(|| NONE.to_string());
    let overall_pairs: Vec<(String, String)> = compared
        .iter()
        .map(|c| (name(&c.guion), name(&c.label)))
        .collect();
    let pairs: Vec<(Option<&str>, &str)> = overall_pairs
        .iter()
        .map(|(g, h)| (Some(g.as_str()), h.as_str()))
        .collect();
    let mut overall = agreement(&pairs, "");
    overall.precision_missed = None;
    overall.recall_missed = None;
    let ids: BTreeSet<&String> = compared
        .iter()
        .flat_map(|c| c.label.iter().chain(c.guion.iter()))
        .collect();
    let values = ids
        .into_iter()
        .map(|id| {
            let pairs: Vec<(Option<&str>, &str)> = compared
                .iter()
                .map(|c| {
                    let yes =
                        |v: &Option<String>| if v.as_ref() == Some(id) { "yes" } else { "no" };
                    (Some(yes(&c.guion)), yes(&c.label))
                })
                .collect();
            let a = agreement(&pairs, "yes");
            ValueCalibration {
                value: id.clone(),
                n: a.n,
                agreement: a.agreement,
                kappa: a.kappa,
                precision: a.precision_missed,
                recall: a.recall_missed,
            }
        })
        .collect();
    ValuesCalibration { overall, values }
}

/// Labels joined with the records of the calls they name (`record_of` gives a call's record
/// with guion's own verdicts). Returns the pairs and, per label that names no scored call or no
/// step of its script, a message naming its row.
pub fn compare<'r>(
    labels: &[StepLabel],
    record_of: impl Fn(&str) -> Option<&'r CallRecord>,
) -> (Vec<Compared>, Vec<String>) {
    let (mut pairs, mut unmatched) = (Vec::new(), Vec::new());
    for l in labels {
        let Some(record) = stored(&record_of, &l.call_id, &l.at, &mut unmatched) else {
            continue;
        };
        let Some(step) = record.steps.iter().find(|s| s.id == l.step) else {
            unmatched.push(format!(
                "{}: call {} was scored against {} {}, which has no step {:?}",
                l.at, l.call_id, record.script.id, record.script.version, l.step
            ));
            continue;
        };
        pairs.push(Compared {
            call_id: l.call_id.clone(),
            step: l.step.clone(),
            guion: step.guion_status(),
            label: l.verdict,
            analyst: l.analyst.clone(),
            by_words: step.by_words,
            by_meaning: step.by_meaning,
            judged: step
                .evidence
                .as_ref()
                .is_some_and(|e| e.kind == crate::align::MatchKind::Judged),
        });
    }
    (pairs, unmatched)
}

/// The record a label's call has, or a message naming the label's row.
fn stored<'r>(
    record_of: &impl Fn(&str) -> Option<&'r CallRecord>,
    call_id: &str,
    at: &str,
    unmatched: &mut Vec<String>,
) -> Option<&'r CallRecord> {
    let record = record_of(call_id);
    if record.is_none() {
        unmatched.push(format!("{at}: no scored call {call_id:?} in the store"));
    }
    record
}

/// How far (seconds) a value label's `start` may be from the agent utterance it names.
pub const VALUE_LABEL_TOLERANCE_S: f64 = 1.5;

/// Value labels joined with the agent utterance of their call that starts nearest to them.
pub fn compare_values<'r>(
    labels: &[ValueLabel],
    record_of: impl Fn(&str) -> Option<&'r CallRecord>,
) -> (Vec<ComparedValue>, Vec<String>) {
    let (mut pairs, mut unmatched) = (Vec::new(), Vec::new());
    for l in labels {
        let Some(record) = stored(&record_of, &l.call_id, &l.at, &mut unmatched) else {
            continue;
        };
        let nearest = record
            .utterances
            .iter()
            .filter(|u| u.speaker != Speaker::Customer)
            .filter_map(|u| Some(((u.start? - l.start).abs(), u)))
            .filter(|(d, _)| *d <= VALUE_LABEL_TOLERANCE_S)
            .min_by(|a, b| a.0.total_cmp(&b.0));
        let Some((_, u)) = nearest else {
            unmatched.push(format!(
                "{}: call {} has no agent utterance starting within {VALUE_LABEL_TOLERANCE_S} s \
                 of {}",
                l.at, l.call_id, l.start
            ));
            continue;
        };
        pairs.push(ComparedValue {
            call_id: l.call_id.clone(),
            start: l.start,
            label: l.value.clone(),
            guion: u
                .value
                .as_ref()
                .filter(|v| v.score >= crate::score::VALUE_SHOWN)
                .map(|v| v.id.clone()),
        });
    }
    (pairs, unmatched)
}

#[cfg(test)]
mod tests {
    use super::*;
    use StepStatus::*;

    fn pair(g: StepStatus, h: StepStatus) -> (Option<&'static str>, &'static str) {
        (Some(g.as_str()), h.as_str())
    }

    #[test]
    fn kappa_matches_a_hand_computation() {
        // 10 items: guion done/missed against an analyst. Table (guion rows × analyst columns):
        //            done  missed
        //   done       5      1
        //   missed     1      3
        // po = 0.8; pe = 0.6·0.6 + 0.4·0.4 = 0.52; kappa = 0.28 / 0.48.
        let mut pairs = vec![pair(Done, Done); 5];
        pairs.push(pair(Done, Missed));
        pairs.push(pair(Missed, Done));
        pairs.extend(vec![pair(Missed, Missed); 3]);
        let a = agreement(&pairs, "missed");
        assert_eq!(a.n, 10);
        assert!((a.agreement.unwrap() - 0.8).abs() < 1e-12);
        assert!((a.kappa.unwrap() - 0.28 / 0.48).abs() < 1e-12);
        assert!((a.precision_missed.unwrap() - 0.75).abs() < 1e-12);
        assert!((a.recall_missed.unwrap() - 0.75).abs() < 1e-12);
    }

    #[test]
    fn unclear_is_a_disagreement_and_a_category_of_its_own() {
        let pairs = vec![(None, "done"), pair(Done, Done)];
        let a = agreement(&pairs, "missed");
        assert_eq!(a.agreement, Some(0.5));
        // pe = P(guion done)·P(label done) = 0.5·1 → kappa = 0.
        assert_eq!(a.kappa, Some(0.0));
        assert_eq!(a.precision_missed, None);
    }

    fn compared(call: usize, by_words: f32, label: bool) -> Compared {
        Compared {
            call_id: format!("c{call:03}"),
            step: "s".into(),
            guion: if by_words >= 0.75 { Done } else { Missed },
            label: Verdict::Said(label),
            analyst: None,
            by_words: Some(by_words),
            by_meaning: None,
            judged: false,
        }
    }

    fn script() -> Script {
        let text = "[script]\nid = \"x\"\nversion = \"1\"\nlanguages = [\"es\"]\n\
                    [[step]]\nid = \"s\"\ntitle = \"S\"\nvariants.es = [\"hola buenas\"]\n";
        Script::parse(text, "x.toml").unwrap().0
    }

    #[test]
    fn a_threshold_that_fits_the_labels_is_suggested_when_it_holds_on_unseen_calls() {
        // Analysts call the step done from a similarity of 0.6 on: a consistent, learnable rule.
        let labels: Vec<Compared> = (0..40)
            .map(|i| {
                let w = 0.5 + (i % 10) as f32 * 0.05;
                compared(i, w, w >= 0.6 - 1e-6)
            })
            .collect();
        let c = calibrate(&script(), &labels);
        let step = &c.steps[0];
        let check = step.thresholds.as_ref().unwrap();
        assert!(check.agreement_cross_validated > check.agreement_now);
        assert!((step.suggested.unwrap().min_similarity - 0.6).abs() < 1e-9);
    }

    #[test]
    fn labels_without_signal_are_fitted_in_sample_but_the_reported_figure_is_held_out() {
        // Labels unrelated to the similarity: on each such night some threshold fits the labels
        // better than the current one, yet the figure calibrate reports for the fitted thresholds is
        // their agreement on calls they were not fitted on, and it rarely beats the current one.
        let current = Thresholds {
            min_similarity: 0.75,
            semantic_threshold: None,
        };
        let (mut fitted_better, mut suggested, mut in_sample_sum, mut held_out_sum) =
            (0, 0, 0.0, 0.0);
        for seed in 1..=30 {
            let mut rng = crate::stats::Rng::new(seed);
            let labels: Vec<Compared> = (0..40)
                .map(|i| compared(i, 0.5 + rng.below(10) as f32 * 0.05, rng.below(2) == 0))
                .collect();
            let check = check_thresholds(&labels.iter().collect::<Vec<_>>(), current).unwrap();
            let in_sample = labels.iter().filter(|c| agrees(c, check.fitted)).count() as f64 / 40.0;
            assert!(in_sample >= check.agreement_now);
            fitted_better += usize::from(in_sample > check.agreement_now);
            let c = calibrate(&script(), &labels);
            suggested += usize::from(c.steps[0].suggested.is_some());
            in_sample_sum += in_sample;
            held_out_sum += check.agreement_cross_validated;
        }
        assert!(fitted_better >= 25, "{fitted_better}");
        assert!(suggested < fitted_better, "{suggested} of {fitted_better}");
        assert!(held_out_sum < in_sample_sum - 0.05 * 30.0);
    }

    #[test]
    fn analysts_are_compared_with_each_other() {
        let mut labels = Vec::new();
        for (call, a, b) in [(0, true, true), (1, false, false), (2, true, false)] {
            for (who, said) in [("ana", a), ("luis", b)] {
                let mut c = compared(call, 0.9, said);
                c.analyst = Some(who.into());
                labels.push(c);
            }
        }
        let c = calibrate(&script(), &labels);
        let analysts = c.overall.analysts.unwrap();
        assert_eq!(analysts.n, 3);
        assert!((analysts.agreement.unwrap() - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(c.overall.agreement.n, 6);
    }

    #[test]
    fn values_agree_per_value_and_overall() {
        let v = |g: Option<&str>, h: Option<&str>| ComparedValue {
            call_id: "c".into(),
            start: 0.0,
            label: h.map(String::from),
            guion: g.map(String::from),
        };
        let c = calibrate_values(&[
            v(Some("empathy"), Some("empathy")),
            v(None, Some("clarity")),
            v(None, None),
            v(Some("clarity"), Some("clarity")),
        ]);
        assert_eq!(c.overall.agreement, Some(0.75));
        let clarity = c.values.iter().find(|v| v.value == "clarity").unwrap();
        assert_eq!(clarity.precision, Some(1.0));
        assert_eq!(clarity.recall, Some(0.5));
    }
}
