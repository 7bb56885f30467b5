//! Small statistics every rollup needs, pure: a seeded generator, Wilson intervals for rates and
//! bootstrap intervals for means.

/// splitmix64: a fixed, documented generator, so that a seed means the same draws in every version
/// of guion (general-purpose RNG crates do not promise stable streams across releases).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// Fisher–Yates.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}

/// A value with its 95 % interval.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Estimate {
    pub value: f64,
    pub low: f64,
    pub high: f64,
    /// How many observations it rests on.
    pub n: usize,
}

const Z95: f64 = 1.959_963_984_540_054;

/// Wilson score interval for `successes` out of `n`: honest at small n and near 0 or 1, where the
/// normal approximation gives intervals outside 0..1.
pub fn wilson(successes: usize, n: usize) -> Option<Estimate> {
    if n == 0 {
        return None;
    }
    let (k, n_f) = (successes as f64, n as f64);
    let p = k / n_f;
    let z2 = Z95 * Z95;
    let centre = (p + z2 / (2.0 * n_f)) / (1.0 + z2 / n_f);
    let half = Z95 / (1.0 + z2 / n_f) * (p * (1.0 - p) / n_f + z2 / (4.0 * n_f * n_f)).sqrt();
    Some(Estimate {
        value: p,
        low: (centre - half).max(0.0),
        high: (centre + half).min(1.0),
        n,
    })
}

pub const BOOTSTRAP_RESAMPLES: usize = 2000;

/// Percentile bootstrap interval of the mean, seeded so that the same data gives the same interval.
pub fn bootstrap_mean(values: &[f64], seed: u64) -> Option<Estimate> {
    if values.is_empty() {
        return None;
    }
    let n = values.len();
    let mean = values.iter().sum::<f64>() / n as f64;
    let mut rng = Rng::new(seed);
    let mut means: Vec<f64> = (0..BOOTSTRAP_RESAMPLES)
        .map(|_| (0..n).map(|_| values[rng.below(n)]).sum::<f64>() / n as f64)
        .collect();
    means.sort_by(f64::total_cmp);
    Some(Estimate {
        value: mean,
        low: means[(BOOTSTRAP_RESAMPLES as f64 * 0.025) as usize],
        high: means[(BOOTSTRAP_RESAMPLES as f64 * 0.975) as usize - 1],
        n,
    })
}

/// Bootstrap interval of `mean(a) − mean(b)`, resampling each group on its own.
pub fn bootstrap_difference(a: &[f64], b: &[f64], seed: u64) -> Option<Estimate> {
    if a.is_empty() || b.is_empty() {
        return None;
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let mut rng = Rng::new(seed);
    let resample = |v: &[f64], rng: &mut Rng| {
        (0..v.len()).map(|_| v[rng.below(v.len())]).sum::<f64>() / v.len() as f64
    };
    let mut diffs: Vec<f64> = (0..BOOTSTRAP_RESAMPLES)
        .map(|_| resample(a, &mut rng) - resample(b, &mut rng))
        .collect();
    diffs.sort_by(f64::total_cmp);
    Some(Estimate {
        value: mean(a) - mean(b),
        low: diffs[(BOOTSTRAP_RESAMPLES as f64 * 0.025) as usize],
        high: diffs[(BOOTSTRAP_RESAMPLES as f64 * 0.975) as usize - 1],
        n: a.len() + b.len(),
    })
}

/// A seed from a group's name, so that each group's interval is stable and independent of the
/// order groups are listed in.
pub fn seed_of(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_matches_published_values() {
        // 8 of 10: Wilson 95 % is 0.490–0.943 (Newcombe 1998, table I style check).
        let e = wilson(8, 10).unwrap();
        assert!(
            (e.low - 0.4902).abs() < 1e-3 && (e.high - 0.9433).abs() < 1e-3,
            "{e:?}"
        );
        let zero = wilson(0, 5).unwrap();
        assert_eq!(zero.low, 0.0);
        assert!(zero.high > 0.4 && zero.high < 0.45, "{zero:?}");
        assert!(wilson(0, 0).is_none());
    }

    #[test]
    fn bootstrap_brackets_the_mean_and_is_seeded() {
        let v: Vec<f64> = (0..40).map(|i| (i % 10) as f64 / 10.0).collect();
        let e = bootstrap_mean(&v, 1).unwrap();
        assert!((e.value - 0.45).abs() < 1e-12);
        assert!(
            e.low < 0.45 && e.high > 0.45 && e.high - e.low < 0.25,
            "{e:?}"
        );
        assert_eq!(e, bootstrap_mean(&v, 1).unwrap());
        let one = bootstrap_mean(&[0.7], 3).unwrap();
        assert_eq!((one.low, one.high), (0.7, 0.7));
        let d = bootstrap_difference(&[0.9; 10], &[0.5; 12], 2).unwrap();
        assert!((d.value - 0.4).abs() < 1e-12 && (d.low - 0.4).abs() < 1e-12);
    }
}
