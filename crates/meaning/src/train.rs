//! Training a head: multinomial logistic regression with an L2 penalty over encoder embeddings, the
//! penalty chosen by cross-validation on the training rows only, and held-out metrics. Pure and
//! seeded: the same rows, embeddings and seed give the same head, bit for bit.

use super::Embedding;
use super::head::{HeadKind, LinearHead, softmax};

pub use guion_core::stats::Rng;

/// Which rows are held out: `test_share` of every (language, label) group, drawn with `seed`.
/// `groups[i]` names row i's group.
pub fn stratified_holdout(groups: &[String], test_share: f64, seed: u64) -> Vec<bool> {
    let mut by_group: std::collections::BTreeMap<&str, Vec<usize>> = Default::default();
    for (i, g) in groups.iter().enumerate() {
        by_group.entry(g.as_str()).or_default().push(i);
    }
    let mut rng = Rng::new(seed);
    let mut test = vec![false; groups.len()];
    for rows in by_group.values_mut() {
        rng.shuffle(rows);
        let n = ((rows.len() as f64) * test_share).round() as usize;
        // A group of one stays in training: a label never trained on cannot be tested fairly.
        let n = n.min(rows.len().saturating_sub(1));
        for &r in rows.iter().take(n) {
            test[r] = true;
        }
    }
    test
}

#[derive(Debug, Clone)]
pub struct FitOptions {
    /// L2 penalties tried; the best by cross-validated macro-F1 is used.
    pub penalties: Vec<f32>,
    pub folds: usize,
    pub iterations: usize,
    pub seed: u64,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            penalties: vec![1e-2, 1e-1, 0.3, 1.0, 3.0, 10.0],
            folds: 5,
            iterations: 300,
            seed: 7,
        }
    }
}

/// Fits a head on `(x, y)`; `y` indexes `labels`. Returns the head and the penalty chosen.
pub fn fit(
    kind: HeadKind,
    labels: &[String],
    x: &[Embedding],
    y: &[usize],
    options: &FitOptions,
) -> (LinearHead, f32) {
    let penalty = if options.penalties.len() == 1 || x.len() < options.folds * 2 {
        options.penalties[0]
    } else {
        choose_penalty(labels.len(), x, y, options)
    };
    let (weights, bias) = logistic(labels.len(), x, y, penalty, options.iterations);
    let head = LinearHead {
        kind,
        labels: labels.to_vec(),
        weights,
        bias,
        encoder: String::new(),
        notes: String::new(),
    };
    (head, penalty)
}

fn choose_penalty(k: usize, x: &[Embedding], y: &[usize], options: &FitOptions) -> f32 {
    let mut order: Vec<usize> = (0..x.len()).collect();
    Rng::new(options.seed ^ 0xF01D).shuffle(&mut order);
    let fold_of: Vec<usize> = {
        let mut f = vec![0; x.len()];
        for (rank, &i) in order.iter().enumerate() {
            f[i] = rank % options.folds;
        }
        f
    };
    let mut best = (f64::NEG_INFINITY, options.penalties[0]);
    for &penalty in &options.penalties {
        let mut truth = Vec::new();
        let mut predicted = Vec::new();
        for fold in 0..options.folds {
            let train: Vec<usize> = (0..x.len()).filter(|&i| fold_of[i] != fold).collect();
            let tx: Vec<Embedding> = train.iter().map(|&i| x[i].clone()).collect();
            let ty: Vec<usize> = train.iter().map(|&i| y[i]).collect();
            let (w, b) = logistic(k, &tx, &ty, penalty, options.iterations);
            let head = LinearHead {
                kind: HeadKind::Tone,
                labels: vec![String::new(); k],
                weights: w,
                bias: b,
                encoder: String::new(),
                notes: String::new(),
            };
            for i in (0..x.len()).filter(|&i| fold_of[i] == fold) {
                truth.push(y[i]);
                predicted.push(argmax(&head.probabilities(&x[i])));
            }
        }
        let f1 = Scores::new(k, &truth, &predicted).macro_f1;
        // Ties go to the later, stronger penalty: the simpler model.
        if f1 >= best.0 {
            best = (f1, penalty);
        }
    }
    best.1
}

/// Multinomial logistic regression on standardised features by Nesterov-accelerated gradient
/// descent with a fixed step of 1/L; returns weights and bias for the raw (unstandardised) inputs.
fn logistic(
    k: usize,
    x: &[Embedding],
    y: &[usize],
    penalty: f32,
    iterations: usize,
) -> (Vec<Vec<f32>>, Vec<f32>) {
    let n = x.len().max(1);
    let d = x.first().map_or(0, Vec::len);
    let mut mean = vec![0.0f32; d];
    for row in x {
        for (m, v) in mean.iter_mut().zip(row) {
            *m += v / n as f32;
        }
    }
    let mut sd = vec![0.0f32; d];
    for row in x {
        for ((s, v), m) in sd.iter_mut().zip(row).zip(&mean) {
            *s += (v - m) * (v - m) / n as f32;
        }
    }
    sd.iter_mut().for_each(|s| *s = s.sqrt().max(1e-6));
    let z: Vec<Vec<f32>> = x
        .iter()
        .map(|row| {
            row.iter()
                .zip(&mean)
                .zip(&sd)
                .map(|((v, m), s)| (v - m) / s)
                .collect()
        })
        .collect();
    // Softmax cross-entropy is (1/2)·λmax(ZᵀZ/n)-smooth; λmax ≤ trace = d for standardised columns,
    // but that bound is loose by an order of magnitude, so estimate λmax by power iteration.
    let lipschitz = 0.5 * top_eigenvalue(&z, d) + penalty;
    let step = 1.0 / lipschitz;
    let zeros = || (vec![vec![0.0f32; d]; k], vec![0.0f32; k]);
    let (mut w, mut b) = zeros();
    let (mut w_prev, mut b_prev) = zeros();
    let mut t_prev = 1.0f32;
    for _ in 0..iterations {
        let t = (1.0 + (1.0 + 4.0 * t_prev * t_prev).sqrt()) / 2.0;
        let momentum = (t_prev - 1.0) / t;
        // Look-ahead point.
        let look = |now: &[f32], before: &[f32]| -> Vec<f32> {
            now.iter()
                .zip(before)
                .map(|(a, p)| a + momentum * (a - p))
                .collect()
        };
        let wl: Vec<Vec<f32>> = w.iter().zip(&w_prev).map(|(a, p)| look(a, p)).collect();
        let bl = look(&b, &b_prev);
        let (mut gw, mut gb) = zeros();
        for (row, &label) in z.iter().zip(y) {
            let logits: Vec<f32> = wl
                .iter()
                .zip(&bl)
                .map(|(wk, bk)| wk.iter().zip(row).map(|(a, c)| a * c).sum::<f32>() + bk)
                .collect();
            let p = softmax(&logits);
            for c in 0..k {
                let g = (p[c] - if c == label { 1.0 } else { 0.0 }) / n as f32;
                gb[c] += g;
                for (gwc, v) in gw[c].iter_mut().zip(row) {
                    *gwc += g * v;
                }
            }
        }
        w_prev = std::mem::replace(
            &mut w,
            wl.iter()
                .zip(&gw)
                .map(|(wk, gk)| {
                    wk.iter()
                        .zip(gk)
                        .map(|(a, g)| a - step * (g + penalty * a))
                        .collect()
                })
                .collect(),
        );
        b_prev = std::mem::replace(
            &mut b,
            bl.iter().zip(&gb).map(|(a, g)| a - step * g).collect(),
        );
        t_prev = t;
    }
    // Fold the standardisation into the weights: w·(x−μ)/σ + b = (w/σ)·x + (b − w·μ/σ).
    let weights: Vec<Vec<f32>> = w
        .iter()
        .map(|wk| wk.iter().zip(&sd).map(|(a, s)| a / s).collect())
        .collect();
    let bias: Vec<f32> = weights
        .iter()
        .zip(&b)
        .map(|(wk, bk)| bk - wk.iter().zip(&mean).map(|(a, m)| a * m).sum::<f32>())
        .collect();
    (weights, bias)
}

fn top_eigenvalue(z: &[Vec<f32>], d: usize) -> f32 {
    let n = z.len().max(1) as f32;
    let mut v = vec![1.0f32 / (d as f32).sqrt(); d];
    let mut lambda = 1.0;
    for _ in 0..30 {
        let mut next = vec![0.0f32; d];
        for row in z {
            let dot: f32 = row.iter().zip(&v).map(|(a, b)| a * b).sum();
            for (nx, r) in next.iter_mut().zip(row) {
                *nx += dot * r / n;
            }
        }
        lambda = next.iter().map(|x| x * x).sum::<f32>().sqrt();
        if lambda == 0.0 {
            return 1.0;
        }
        v = next.into_iter().map(|x| x / lambda).collect();
    }
    lambda
}

pub fn argmax(p: &[f32]) -> usize {
    p.iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1).then(b.0.cmp(&a.0)))
        .map_or(0, |(i, _)| i)
}

/// Held-out quality of a classifier: per label precision, recall, F1 and support, and their means.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Scores {
    pub macro_f1: f64,
    pub accuracy: f64,
    pub n: usize,
    /// Per label index: (precision, recall, f1, support).
    pub per_label: Vec<(f64, f64, f64, usize)>,
    /// `confusion[truth][predicted]`.
    pub confusion: Vec<Vec<usize>>,
}

impl Scores {
    pub fn new(k: usize, truth: &[usize], predicted: &[usize]) -> Scores {
        let mut confusion = vec![vec![0usize; k]; k];
        for (&t, &p) in truth.iter().zip(predicted) {
            confusion[t][p] += 1;
        }
        let per_label: Vec<(f64, f64, f64, usize)> = (0..k)
            .map(|c| {
                let tp = confusion[c][c] as f64;
                let support: usize = confusion[c].iter().sum();
                let predicted: usize = confusion.iter().map(|row| row[c]).sum();
                let precision = if predicted == 0 {
                    0.0
                } else {
                    tp / predicted as f64
                };
                let recall = if support == 0 {
                    0.0
                } else {
                    tp / support as f64
                };
                let f1 = if precision + recall == 0.0 {
                    0.0
                } else {
                    2.0 * precision * recall / (precision + recall)
                };
                (precision, recall, f1, support)
            })
            .collect();
        // Labels absent from both truth and predictions say nothing about this set.
        let present: Vec<f64> = per_label
            .iter()
            .enumerate()
            .filter(|(c, l)| l.3 > 0 || confusion.iter().any(|row| row[*c] > 0))
            .map(|(_, l)| l.2)
            .collect();
        let correct: usize = (0..k).map(|c| confusion[c][c]).sum();
        Scores {
            macro_f1: if present.is_empty() {
                0.0
            } else {
                present.iter().sum::<f64>() / present.len() as f64
            },
            accuracy: if truth.is_empty() {
                0.0
            } else {
                correct as f64 / truth.len() as f64
            },
            n: truth.len(),
            per_label,
            confusion,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blobs() -> (Vec<Embedding>, Vec<usize>) {
        // Three well-separated clusters in 4-d, with a little deterministic jitter.
        let mut rng = Rng::new(1);
        let centres = [
            [1.0, 0.0, 0.0, 0.2],
            [0.0, 1.0, 0.0, 0.2],
            [0.0, 0.0, 1.0, 0.2],
        ];
        let mut x = Vec::new();
        let mut y = Vec::new();
        for i in 0..60 {
            let c = i % 3;
            let jitter = |r: &mut Rng| (r.next_u64() % 1000) as f32 / 1000.0 * 0.4 - 0.2;
            x.push(centres[c].iter().map(|v| v + jitter(&mut rng)).collect());
            y.push(c);
        }
        (x, y)
    }

    #[test]
    fn separable_clusters_are_learnt() {
        let (x, y) = blobs();
        let labels: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        let (head, _) = fit(HeadKind::Tone, &labels, &x, &y, &FitOptions::default());
        let predicted: Vec<usize> = x.iter().map(|v| argmax(&head.probabilities(v))).collect();
        assert_eq!(Scores::new(3, &y, &predicted).accuracy, 1.0);
    }

    #[test]
    fn same_seed_same_head() {
        let (x, y) = blobs();
        let labels: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        let a = fit(HeadKind::Tone, &labels, &x, &y, &FitOptions::default()).0;
        let b = fit(HeadKind::Tone, &labels, &x, &y, &FitOptions::default()).0;
        assert_eq!(a.to_bytes(), b.to_bytes());
    }

    #[test]
    fn holdout_is_stratified_and_seeded() {
        let groups: Vec<String> = (0..100)
            .map(|i| format!("es/{}", ["a", "b"][i % 2]))
            .collect();
        let test = stratified_holdout(&groups, 0.2, 3);
        assert_eq!(test.iter().filter(|&&t| t).count(), 20);
        let a_held = (0..100).filter(|&i| i % 2 == 0 && test[i]).count();
        assert_eq!(a_held, 10);
        assert_eq!(test, stratified_holdout(&groups, 0.2, 3));
        assert_ne!(test, stratified_holdout(&groups, 0.2, 4));
        // A singleton group is never held out.
        assert_eq!(stratified_holdout(&["x".to_string()], 0.5, 1), vec![false]);
    }

    #[test]
    fn scores_match_hand_counts() {
        // truth a a b b c ; predicted a b b b a
        let s = Scores::new(3, &[0, 0, 1, 1, 2], &[0, 1, 1, 1, 0]);
        assert_eq!(
            s.confusion,
            vec![vec![1, 1, 0], vec![0, 2, 0], vec![1, 0, 0]]
        );
        // a: p 1/2 r 1/2 f 0.5; b: p 2/3 r 1 f 0.8; c: 0
        assert!((s.macro_f1 - (0.5 + 0.8 + 0.0) / 3.0).abs() < 1e-9);
        assert!((s.accuracy - 0.6).abs() < 1e-9);
    }
}
