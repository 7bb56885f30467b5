//! Brand values by example, against ordinary lines. A line shows a value as much as it is nearer to
//! the value's examples than to the ordinary agent lines nearest to it: the margin between the mean
//! cosine of its `NEAREST_EXAMPLES` nearest examples and that of its `NEAREST_ORDINARY` nearest
//! ordinary lines in its language (procedural lines from guion's tone data, and the script's own
//! steps and forbidden phrases, which are what an agent says without showing a value). Comparing
//! with the nearest ordinary lines takes the topic out: "the assessor calls you tomorrow" is as near
//! to a summary about an assessor as to a plain statement about one, so only the summing-up counts.
//! Embeddings are centred first (the mean of the procedural lines is taken out), since every e5
//! vector shares a large common part that squeezes cosines into 0.8–0.95.
//!
//! A margin becomes a score by a sigmoid fitted per value (Platt scaling): its examples, each
//! against the others (leave-one-out), are the positives; the ordinary lines, each against the
//! others, are the negatives, weighted so that a value is taken to show in `PRIOR` of agent lines. 0.5 (`guion_core::score::VALUE_SHOWN`) is then where a line is
//! as likely to show the value as not, whatever the encoder's cosine scale, the number of examples
//! or of ordinary lines.

use super::{Embedding, cosine};

/// A value's examples, embedded: `(language, embedding)`.
#[derive(Debug, Clone)]
pub struct ValueExamples {
    pub id: String,
    pub examples: Vec<(String, Embedding)>,
}

/// How many of a value's examples a line is compared with: its nearest few, so that a value with
/// several sides (a summary, a check that the customer understood) is matched side by side rather
/// than through one blurred average.
const NEAREST_EXAMPLES: usize = 3;
/// How many ordinary lines a line is compared with.
const NEAREST_ORDINARY: usize = 5;
/// The share of agent lines taken to show any one value before a line is read: about one turn in
/// five of a call whose agent shows it. It places the 0.5 cut; a balanced fit (0.5) would let a
/// value light up on every third line, the raw counts of examples against ordinary lines (some
/// 16 against 200) on almost none.
const PRIOR: f64 = 0.2;
/// When no value has two examples there is nothing to calibrate on: 0.5 at a margin of 0.05,
/// 0.9 at 0.16.
const DEFAULT_SIGMOID: (f64, f64) = (-20.0, 1.0);

#[derive(Debug, Clone)]
struct Value {
    id: String,
    /// Centred.
    examples: Vec<(String, Embedding)>,
    /// Platt's sigmoid: p = 1 / (1 + exp(a·margin + b)).
    a: f64,
    b: f64,
}

/// A value's fitted sigmoid, for diagnostics: `cut` is the margin that scores 0.5.
#[derive(Debug, Clone, PartialEq)]
pub struct Calibration {
    pub id: String,
    pub a: f64,
    pub b: f64,
    pub cut: f64,
    /// The leave-one-out margins of its examples, and how many of them score at least 0.5.
    pub positives: Vec<f64>,
    pub positives_shown: usize,
}

/// The script's values, ready to score lines. Built once per script per worker.
#[derive(Debug, Clone, Default)]
pub struct ValuePrototypes {
    values: Vec<Value>,
    /// Centred, with their language.
    ordinary: Vec<(String, Embedding)>,
    center: Embedding,
    calibration: Vec<Calibration>,
}

impl ValuePrototypes {
    /// `ordinary`: agent lines that show no value, with their language; `center`: what to take out
    /// of every embedding (the mean of procedural lines), or empty for nothing.
    pub fn new(
        values: &[ValueExamples],
        ordinary: &[(String, Embedding)],
        center: &[f32],
    ) -> ValuePrototypes {
        let centre = |e: &Embedding| centred(e, center);
        let mut values: Vec<Value> = values
            .iter()
            .filter(|v| !v.examples.is_empty())
            .map(|v| Value {
                id: v.id.clone(),
                examples: v
                    .examples
                    .iter()
                    .map(|(l, e)| (l.clone(), centre(e)))
                    .collect(),
                a: DEFAULT_SIGMOID.0,
                b: DEFAULT_SIGMOID.1,
            })
            .collect();
        let ordinary: Vec<(String, Embedding)> = ordinary
            .iter()
            .map(|(l, e)| (l.clone(), centre(e)))
            .collect();
        let positives: Vec<Vec<f64>> = values
            .iter()
            .map(|v| {
                (0..v.examples.len())
                    .filter(|_| v.examples.len() > 1)
                    .map(|k| {
                        let (lang, e) = &v.examples[k];
                        margin(&v.examples, Some(k), &ordinary, None, e, Some(lang))
                    })
                    .collect()
            })
            .collect();
        // A value with a single example borrows the others' positives: how near an example comes
        // to its siblings is a property of the encoder and of how examples are written.
        let pooled: Vec<f64> = positives.iter().flatten().copied().collect();
        let mut calibration = Vec::new();
        for i in 0..values.len() {
            let v = &values[i];
            // Not the other values' examples: values overlap ("to sum up: I'll ring you on Monday"
            // is clear and proactive), and a line may show two.
            let negatives: Vec<f64> = ordinary
                .iter()
                .enumerate()
                .map(|(j, (lang, e))| margin(&v.examples, None, &ordinary, Some(j), e, Some(lang)))
                .collect();
            let own = if positives[i].is_empty() {
                &pooled
            } else {
                &positives[i]
            };
            let (a, b) = if own.is_empty() || negatives.is_empty() {
                DEFAULT_SIGMOID
            } else {
                platt(own, &negatives, PRIOR)
            };
            calibration.push(Calibration {
                id: v.id.clone(),
                a,
                b,
                cut: -b / a,
                positives: positives[i].clone(),
                positives_shown: positives[i]
                    .iter()
                    .filter(|&&m| sigmoid(a, b, m) >= 0.5)
                    .count(),
            });
            values[i].a = a;
            values[i].b = b;
        }
        ValuePrototypes {
            values,
            ordinary,
            center: center.to_vec(),
            calibration,
        }
    }

    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.values.iter().map(|v| v.id.as_str())
    }

    /// Each value's sigmoid and how its own examples fare, in the script's order.
    pub fn calibration(&self) -> &[Calibration] {
        &self.calibration
    }

    /// Calibrated score per value, in the script's order.
    pub fn scores(&self, line: &Embedding, language: Option<&str>) -> Vec<f32> {
        let e = centred(line, &self.center);
        self.values
            .iter()
            .map(|v| {
                let m = margin(&v.examples, None, &self.ordinary, None, &e, language);
                sigmoid(v.a, v.b, m) as f32
            })
            .collect()
    }
}

fn sigmoid(a: f64, b: f64, margin: f64) -> f64 {
    1.0 / (1.0 + (a * margin + b).clamp(-50.0, 50.0).exp())
}

/// `v − center`, normalised again (`v` itself when `center` is empty).
pub(crate) fn centred(v: &[f32], center: &[f32]) -> Embedding {
    if center.is_empty() {
        return v.to_vec();
    }
    let mut c: Vec<f32> = v.iter().zip(center).map(|(a, b)| a - b).collect();
    let norm = c.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        c.iter_mut().for_each(|x| *x /= norm);
    }
    c
}

/// Mean cosine of `e` with its `NEAREST_EXAMPLES` nearest examples, less its mean cosine with its
/// `NEAREST_ORDINARY` nearest ordinary lines in `language` (in every language when there are none
/// in it). `skip_*` leaves one example or ordinary line out, for leave-one-out.
fn margin(
    examples: &[(String, Embedding)],
    skip_example: Option<usize>,
    ordinary: &[(String, Embedding)],
    skip_ordinary: Option<usize>,
    e: &Embedding,
    language: Option<&str>,
) -> f64 {
    let near = mean_of_top(
        examples
            .iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != skip_example)
            .map(|(_, (_, x))| cosine(x, e)),
        NEAREST_EXAMPLES,
    );
    let others = || {
        ordinary
            .iter()
            .enumerate()
            .filter(|(j, _)| Some(*j) != skip_ordinary)
    };
    let in_language = language.filter(|l| others().any(|(_, (ol, _))| ol == l));
    let plain = mean_of_top(
        others()
            .filter(|(_, (ol, _))| in_language.is_none_or(|l| ol == l))
            .map(|(_, (_, x))| cosine(x, e)),
        NEAREST_ORDINARY,
    );
    near - plain
}

/// The mean of the `k` largest values (of all, when fewer); 0 when there are none.
fn mean_of_top(values: impl Iterator<Item = f32>, k: usize) -> f64 {
    let mut v: Vec<f32> = values.collect();
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(|a, b| b.total_cmp(a));
    v.truncate(k);
    v.iter().map(|&x| x as f64).sum::<f64>() / v.len() as f64
}

/// Platt scaling (Platt 1999, with Lin et al.'s target smoothing) by Newton's method: the sigmoid
/// 1/(1+exp(a·s+b)) that best predicts positives from negatives, the positives weighing `prior`
/// of the whole and the negatives the rest, whatever their counts.
fn platt(positives: &[f64], negatives: &[f64], prior: f64) -> (f64, f64) {
    let (np, nn) = (positives.len() as f64, negatives.len() as f64);
    if np == 0.0 || nn == 0.0 {
        return DEFAULT_SIGMOID;
    }
    let hi = (np + 1.0) / (np + 2.0);
    let lo = 1.0 / (nn + 2.0);
    let (wp, wn) = (prior * (np + nn) / np, (1.0 - prior) * (np + nn) / nn);
    let data: Vec<(f64, f64, f64)> = positives
        .iter()
        .map(|&s| (s, hi, wp))
        .chain(negatives.iter().map(|&s| (s, lo, wn)))
        .collect();
    let (mut a, mut b) = (0.0f64, ((1.0 - prior) / prior).ln());
    let objective = |a: f64, b: f64| -> f64 {
        data.iter()
            .map(|&(s, t, w)| {
                let f = a * s + b;
                // −[t log p + (1−t) log(1−p)] with p = 1/(1+e^f), written to avoid overflow.
                w * if f >= 0.0 {
                    t * f + (1.0 + (-f).exp()).ln()
                } else {
                    (t - 1.0) * f + (1.0 + f.exp()).ln()
                }
            })
            .sum()
    };
    let mut value = objective(a, b);
    for _ in 0..100 {
        let (mut h11, mut h22, mut h21, mut g1, mut g2) = (1e-12, 1e-12, 0.0, 0.0, 0.0);
        for &(s, t, w) in &data {
            let f = a * s + b;
            let (p, q) = if f >= 0.0 {
                let e = (-f).exp();
                (e / (1.0 + e), 1.0 / (1.0 + e))
            } else {
                let e = f.exp();
                (1.0 / (1.0 + e), e / (1.0 + e))
            };
            let d2 = w * p * q;
            h11 += s * s * d2;
            h22 += d2;
            h21 += s * d2;
            let d1 = w * (t - p);
            g1 += s * d1;
            g2 += d1;
        }
        if g1.abs() < 1e-9 && g2.abs() < 1e-9 {
            break;
        }
        let det = h11 * h22 - h21 * h21;
        let da = -(h22 * g1 - h21 * g2) / det;
        let db = -(-h21 * g1 + h11 * g2) / det;
        let gd = g1 * da + g2 * db;
        let mut step = 1.0;
        loop {
            let (na, nb) = (a + step * da, b + step * db);
            let nv = objective(na, nb);
            if nv < value + 1e-4 * step * gd {
                a = na;
                b = nb;
                value = nv;
                break;
            }
            step /= 2.0;
            if step < 1e-10 {
                return (a, b);
            }
        }
    }
    (a, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(v: &[f32]) -> Embedding {
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter().map(|x| x / n).collect()
    }

    fn en(v: &[f32]) -> (String, Embedding) {
        ("en".into(), unit(v))
    }

    /// Axes 0–1: two values' way of speaking; 2–4: three topics; 5: noise.
    fn model() -> ValuePrototypes {
        let values = vec![
            ValueExamples {
                id: "empathy".into(),
                examples: vec![
                    en(&[1.0, 0.0, 0.6, 0.0, 0.0, 0.1]),
                    en(&[1.0, 0.0, 0.0, 0.6, 0.0, 0.0]),
                    en(&[1.0, 0.0, 0.0, 0.0, 0.6, 0.1]),
                    en(&[1.0, 0.1, 0.3, 0.3, 0.0, 0.0]),
                ],
            },
            ValueExamples {
                id: "clarity".into(),
                examples: vec![
                    en(&[0.0, 1.0, 0.6, 0.0, 0.0, 0.0]),
                    en(&[0.1, 1.0, 0.0, 0.6, 0.0, 0.1]),
                    en(&[0.0, 1.0, 0.0, 0.0, 0.6, 0.0]),
                    en(&[0.0, 1.0, 0.0, 0.3, 0.3, 0.1]),
                ],
            },
        ];
        // Ordinary lines: about the same topics, in neither value's way.
        let ordinary: Vec<(String, Embedding)> = (0..30)
            .map(|i| {
                let mut v = [0.0, 0.0, 0.0, 0.0, 0.0, 0.2 + 0.02 * i as f32];
                v[2 + i % 3] = 1.0;
                en(&v)
            })
            .collect();
        ValuePrototypes::new(&values, &ordinary, &[])
    }

    #[test]
    fn platt_orders_and_separates_and_the_prior_moves_the_cut() {
        let positives = [0.9, 0.92, 0.88, 0.95, 0.78];
        let negatives = [0.7, 0.72, 0.75, 0.68, 0.8, 0.71, 0.69, 0.73, 0.74, 0.7];
        let (a, b) = platt(&positives, &negatives, 0.5);
        let p = |s: f64| sigmoid(a, b, s);
        assert!(a < 0.0, "higher similarity must mean higher score");
        assert!(p(0.93) > 0.8, "{}", p(0.93));
        assert!(p(0.70) < 0.2, "{}", p(0.70));
        // A rarer value needs more to be shown: its 0.5 lies further up.
        let (a2, b2) = platt(&positives, &negatives, 0.1);
        assert!(-b2 / a2 > -b / a, "{} vs {}", -b2 / a2, -b / a);
    }

    #[test]
    fn a_line_in_a_values_way_scores_high_for_it_only_whatever_its_topic() {
        let model = model();
        let s = model.scores(&unit(&[1.0, 0.0, 0.5, 0.0, 0.0, 0.0]), Some("en"));
        assert!(s[0] > 0.8 && s[1] < 0.5, "{s:?}");
        let s = model.scores(&unit(&[0.0, 1.0, 0.0, 0.0, 0.5, 0.0]), Some("en"));
        assert!(s[1] > 0.8 && s[0] < 0.5, "{s:?}");
    }

    /// What sank the plain prototype: a brand's examples share its topic (claims, assessors), while
    /// ordinary lines are about everything. A plain line about claims then comes as near to the
    /// examples as they come to each other (scored by nearness to the examples alone, the plain
    /// lines below get 0.59), unless it is set against the ordinary lines nearest to it.
    #[test]
    fn a_plain_line_on_the_examples_topic_does_not_show_the_value() {
        // Axis 0: the value's way of speaking (a small part of a line, as in e5); 1: the brand's
        // topic; 2–7: other topics; 8–13: what a line is about besides.
        let line = |value: f32, topic: usize, side: usize| {
            let mut v = [0.0; 14];
            v[0] = value;
            v[topic] = 1.0;
            v[side] = 0.5;
            unit(&v)
        };
        let values = vec![ValueExamples {
            id: "clarity".into(),
            examples: (8..12)
                .map(|side| ("en".into(), line(0.3, 1, side)))
                .collect(),
        }];
        // A few ordinary lines about the brand's topic, among many about others.
        let ordinary: Vec<(String, Embedding)> = (8..12)
            .map(|side| line(0.0, 1, side))
            .chain((0..30).map(|i| line(0.0, 2 + i % 6, 8 + i % 6)))
            .map(|e| ("en".into(), e))
            .collect();
        let model = ValuePrototypes::new(&values, &ordinary, &[]);
        for side in 8..12 {
            let plain = model.scores(&line(0.0, 1, side), Some("en"))[0];
            let clear = model.scores(&line(0.3, 1, side), Some("en"))[0];
            assert!(
                plain < 0.5 && clear > 0.5,
                "side {side}: plain {plain}, clear {clear}"
            );
        }
    }

    #[test]
    fn each_value_is_calibrated_on_its_own_examples() {
        let model = model();
        for c in model.calibration() {
            assert!(c.a < 0.0, "{c:?}");
            assert_eq!(c.positives.len(), 4, "{c:?}");
            assert!(c.positives_shown >= 3, "{c:?}");
        }
    }

    #[test]
    fn a_value_with_one_example_borrows_the_others_positives() {
        let values = vec![
            ValueExamples {
                id: "empathy".into(),
                examples: vec![
                    en(&[1.0, 0.0, 0.6, 0.0]),
                    en(&[1.0, 0.0, 0.0, 0.6]),
                    en(&[1.0, 0.1, 0.3, 0.3]),
                ],
            },
            ValueExamples {
                id: "clarity".into(),
                examples: vec![en(&[0.0, 1.0, 0.3, 0.3])],
            },
            ValueExamples {
                id: "unused".into(),
                examples: Vec::new(),
            },
        ];
        let ordinary: Vec<(String, Embedding)> = (0..10)
            .map(|i| en(&[0.0, 0.0, 1.0, 0.1 * i as f32]))
            .collect();
        let model = ValuePrototypes::new(&values, &ordinary, &[]);
        assert_eq!(model.ids().collect::<Vec<_>>(), ["empathy", "clarity"]);
        let c = &model.calibration()[1];
        assert!(c.positives.is_empty() && c.a < 0.0, "{c:?}");
        let s = model.scores(&unit(&[0.0, 1.0, 0.3, 0.2]), Some("en"));
        assert!(s[1] > 0.5 && s[0] < 0.5, "{s:?}");
    }

    #[test]
    fn ordinary_lines_of_the_lines_language_are_the_ones_compared_with() {
        let examples = vec![en(&[1.0, 0.0, 0.0])];
        let ordinary = vec![
            ("es".to_string(), unit(&[0.9, 0.1, 0.0])),
            ("en".to_string(), unit(&[0.0, 1.0, 0.0])),
        ];
        let e = unit(&[1.0, 0.0, 0.0]);
        let in_es = margin(&examples, None, &ordinary, None, &e, Some("es"));
        let in_en = margin(&examples, None, &ordinary, None, &e, Some("en"));
        assert!(in_en > in_es, "{in_en} vs {in_es}");
        // A language without ordinary lines, or none, is compared with all of them.
        let in_fr = margin(&examples, None, &ordinary, None, &e, Some("fr"));
        let unknown = margin(&examples, None, &ordinary, None, &e, None);
        assert_eq!(in_fr, unknown);
        // Leaving the only Spanish line out leaves the others.
        let without = margin(&examples, None, &ordinary, Some(0), &e, Some("es"));
        assert_eq!(without, in_en);
    }

    #[test]
    fn mean_of_top_takes_the_largest_few() {
        assert_eq!(
            mean_of_top([0.1, 0.5, 0.3, 0.9].into_iter(), 2),
            0.7f32 as f64
        );
        assert!((mean_of_top([0.5f32, 0.25].into_iter(), 5) - 0.375).abs() < 1e-9);
        assert_eq!(mean_of_top(std::iter::empty(), 3), 0.0);
    }

    #[test]
    fn centring_takes_the_common_part_out() {
        let center = [0.8, 0.0, 0.0];
        let a = centred(&unit(&[0.9, 0.3, 0.0]), &center);
        let b = centred(&unit(&[0.9, 0.0, 0.3]), &center);
        assert!(cosine(&a, &b) < cosine(&unit(&[0.9, 0.3, 0.0]), &unit(&[0.9, 0.0, 0.3])));
        assert_eq!(centred(&[0.6, 0.8], &[]), vec![0.6, 0.8]);
    }
}
