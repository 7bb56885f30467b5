//! Brand values by prototype: each value is the centroid of its examples' embeddings (per language
//! when the script has examples in the call's language), and a raw cosine becomes a calibrated score
//! by Platt scaling fitted per value: the examples themselves, each against the prototype of the
//! others (leave-one-out), are the positives; ordinary procedural agent lines and the other values'
//! examples are the negatives. A score of 0.8 then means "looks like the examples about as much as
//! the examples look like each other", whatever the encoder's cosine scale.

use super::{Embedding, centroid, cosine};
use std::collections::BTreeMap;

/// One value's examples, embedded: `(language, embedding)`.
#[derive(Debug, Clone)]
pub struct ValueExamples {
    pub id: String,
    pub examples: Vec<(String, Embedding)>,
}

#[derive(Debug, Clone)]
struct Prototype {
    id: String,
    by_language: BTreeMap<String, Embedding>,
    all: Embedding,
    /// Platt's sigmoid: p = 1 / (1 + exp(a·s + b)).
    a: f64,
    b: f64,
}

/// The script's values, ready to score utterances. Built once per script per worker.
#[derive(Debug, Clone, Default)]
pub struct ValuePrototypes {
    prototypes: Vec<Prototype>,
}

impl ValuePrototypes {
    /// `background`: agent lines that carry no particular value, with their language.
    pub fn new(values: &[ValueExamples], background: &[(String, Embedding)]) -> ValuePrototypes {
        let mut prototypes: Vec<Prototype> = values
            .iter()
            .filter(|v| !v.examples.is_empty())
            .map(|v| {
                let mut by_language: BTreeMap<String, Vec<&Embedding>> = BTreeMap::new();
                for (lang, e) in &v.examples {
                    by_language.entry(lang.clone()).or_default().push(e);
                }
                Prototype {
                    id: v.id.clone(),
                    by_language: by_language
                        .into_iter()
                        .filter_map(|(l, es)| centroid(es).map(|c| (l, c)))
                        .collect(),
                    all: centroid(v.examples.iter().map(|(_, e)| e)).unwrap_or_default(),
                    a: -10.0,
                    b: 8.0,
                }
            })
            .collect();
        for (i, value) in values.iter().filter(|v| !v.examples.is_empty()).enumerate() {
            let proto = &prototypes[i];
            let positives: Vec<f64> = (0..value.examples.len())
                .filter_map(|k| leave_one_out(value, k).map(|s| s as f64))
                .collect();
            let mut negatives: Vec<f64> = background
                .iter()
                .map(|(l, e)| raw(proto, e, Some(l)) as f64)
                .collect();
            for other in values.iter().filter(|o| o.id != value.id) {
                negatives.extend(
                    other
                        .examples
                        .iter()
                        .map(|(l, e)| raw(proto, e, Some(l)) as f64),
                );
            }
            let (a, b) = platt(&positives, &negatives);
            prototypes[i].a = a;
            prototypes[i].b = b;
        }
        ValuePrototypes { prototypes }
    }

    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.prototypes.iter().map(|p| p.id.as_str())
    }

    /// Calibrated score per value, in the script's order.
    pub fn scores(&self, utterance: &Embedding, language: Option<&str>) -> Vec<f32> {
        self.prototypes
            .iter()
            .map(|p| {
                let s = raw(p, utterance, language) as f64;
                (1.0 / (1.0 + (p.a * s + p.b).exp())) as f32
            })
            .collect()
    }
}

fn raw(p: &Prototype, e: &Embedding, language: Option<&str>) -> f32 {
    let proto = language
        .and_then(|l| p.by_language.get(l))
        .unwrap_or(&p.all);
    cosine(proto, e)
}

/// Example `k` against the centroid of the others in its language (or of all others when it is
/// the only one in its language).
fn leave_one_out(value: &ValueExamples, k: usize) -> Option<f32> {
    let (lang, e) = &value.examples[k];
    let same: Vec<&Embedding> = value
        .examples
        .iter()
        .enumerate()
        .filter(|(i, (l, _))| *i != k && l == lang)
        .map(|(_, (_, e))| e)
        .collect();
    let others = if same.is_empty() {
        value
            .examples
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != k)
            .map(|(_, (_, e))| e)
            .collect()
    } else {
        same
    };
    centroid(others).map(|c| cosine(&c, e))
}

/// Platt scaling (Platt 1999, with Lin et al.'s target smoothing) by Newton's method: the sigmoid
/// 1/(1+exp(a·s+b)) that best predicts positives from negatives.
fn platt(positives: &[f64], negatives: &[f64]) -> (f64, f64) {
    let (np, nn) = (positives.len() as f64, negatives.len() as f64);
    if np == 0.0 || nn == 0.0 {
        return (-10.0, 8.0);
    }
    let hi = (np + 1.0) / (np + 2.0);
    let lo = 1.0 / (nn + 2.0);
    let data: Vec<(f64, f64)> = positives
        .iter()
        .map(|&s| (s, hi))
        .chain(negatives.iter().map(|&s| (s, lo)))
        .collect();
    let (mut a, mut b) = (0.0f64, ((nn + 1.0) / (np + 1.0)).ln());
    let objective = |a: f64, b: f64| -> f64 {
        data.iter()
            .map(|&(s, t)| {
                let f = a * s + b;
                // −[t log p + (1−t) log(1−p)] with p = 1/(1+e^f), written to avoid overflow.
                if f >= 0.0 {
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
        for &(s, t) in &data {
            let f = a * s + b;
            let (p, q) = if f >= 0.0 {
                let e = (-f).exp();
                (e / (1.0 + e), 1.0 / (1.0 + e))
            } else {
                let e = f.exp();
                (1.0 / (1.0 + e), e / (1.0 + e))
            };
            let d2 = p * q;
            h11 += s * s * d2;
            h22 += d2;
            h21 += s * d2;
            let d1 = t - p;
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

    #[test]
    fn platt_orders_and_separates() {
        let (a, b) = platt(
            &[0.9, 0.92, 0.88, 0.95],
            &[0.7, 0.72, 0.75, 0.68, 0.8, 0.71],
        );
        let p = |s: f64| 1.0 / (1.0 + (a * s + b).exp());
        assert!(a < 0.0, "higher similarity must mean higher score");
        assert!(p(0.93) > 0.8, "{}", p(0.93));
        assert!(p(0.70) < 0.2, "{}", p(0.70));
    }

    #[test]
    fn utterance_near_a_value_scores_high_for_it_only() {
        let values = vec![
            ValueExamples {
                id: "empathy".into(),
                examples: vec![
                    ("en".into(), unit(&[1.0, 0.1, 0.0, 0.0])),
                    ("en".into(), unit(&[1.0, 0.0, 0.1, 0.0])),
                    ("en".into(), unit(&[1.0, 0.05, 0.05, 0.1])),
                ],
            },
            ValueExamples {
                id: "clarity".into(),
                examples: vec![
                    ("en".into(), unit(&[0.0, 1.0, 0.1, 0.0])),
                    ("en".into(), unit(&[0.1, 1.0, 0.0, 0.0])),
                    ("en".into(), unit(&[0.0, 1.0, 0.0, 0.1])),
                ],
            },
        ];
        let background: Vec<(String, Embedding)> = (0..10)
            .map(|i| ("en".into(), unit(&[0.1, 0.1, 1.0, i as f32 * 0.05])))
            .collect();
        let model = ValuePrototypes::new(&values, &background);
        let s = model.scores(&unit(&[1.0, 0.05, 0.0, 0.05]), Some("en"));
        assert!(s[0] > 0.5 && s[1] < 0.5, "{s:?}");
        let s = model.scores(&unit(&[0.0, 0.1, 1.0, 0.2]), Some("en"));
        assert!(s.iter().all(|&x| x < 0.5), "background scores low: {s:?}");
    }
}
