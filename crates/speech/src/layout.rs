//! What a recording's channels are, decided from the signal before anything is transcribed.
//!
//! Recorders and exports label files "stereo" when they are not: both channels may carry the same
//! mixed signal (dual mono, common in MP3 and WAV exports), or one channel may be silent while the
//! other holds both parties. Transcribing such a file as agent-left/customer-right writes every
//! sentence twice, or credits the customer's words to the agent. So the layout is measured, and the
//! transcript says what was found and why.

pub use guion_core::transcript::{Layout, LayoutKind};

/// Two channels whose waveforms correlate at least this much (in absolute value) carry one signal.
/// Measured: exact copies give 1.000, MP3 joint-stereo dual mono ≥ 0.99, a two-channel call with an
/// echo of the agent in the customer's leg (−20 dB) stays below 0.3, and separate legs near 0.
pub const SAME_SIGNAL_CORRELATION: f64 = 0.95;

/// A channel whose level is this far below the other's holds nothing of its own (a −40 dB echo
/// of the other side at most).
pub const SILENT_CHANNEL_DB: f64 = 40.0;

/// A channel quieter than this (RMS, dBFS) is silent whatever the other does.
pub const SILENT_DBFS: f64 = -70.0;

/// Decides the layout of decoded channels (same length and rate, as `audio::decode_file` gives).
pub fn detect(channels: &[Vec<f32>]) -> Layout {
    let [left, right] = channels else {
        return Layout {
            kind: LayoutKind::Mono,
            decided_by: format!("{} channel(s)", channels.len()),
            channel: Some(0),
        };
    };
    let stats = PairStats::of(left, right);
    let (l_db, r_db) = (stats.left_dbfs(), stats.right_dbfs());
    if l_db < SILENT_DBFS && r_db < SILENT_DBFS {
        return Layout {
            kind: LayoutKind::Stereo,
            decided_by: format!("both channels silent ({l_db:.0} and {r_db:.0} dBFS)"),
            channel: None,
        };
    }
    let correlation = stats.correlation();
    if correlation.abs() >= SAME_SIGNAL_CORRELATION {
        // Keep the louder copy: an export may attenuate one side.
        let channel = u32::from(r_db > l_db);
        return Layout {
            kind: LayoutKind::DualMono,
            decided_by: format!(
                "the channels carry one signal: correlation {correlation:.3} (≥ {SAME_SIGNAL_CORRELATION})"
            ),
            channel: Some(channel),
        };
    }
    for (quiet, quiet_db, loud_db, name) in [(1u32, r_db, l_db, "right"), (0, l_db, r_db, "left")] {
        if quiet_db < SILENT_DBFS || loud_db - quiet_db >= SILENT_CHANNEL_DB {
            return Layout {
                kind: LayoutKind::Mono,
                decided_by: format!(
                    "the {name} channel is silent ({quiet_db:.0} dBFS against {loud_db:.0})"
                ),
                channel: Some(1 - quiet),
            };
        }
    }
    Layout {
        kind: LayoutKind::Stereo,
        decided_by: format!(
            "two different signals: correlation {correlation:.3} (< {SAME_SIGNAL_CORRELATION})"
        ),
        channel: None,
    }
}

/// Sums over both channels in one pass (a five-minute call is ~5 M samples a side).
struct PairStats {
    n: f64,
    sum_l: f64,
    sum_r: f64,
    sum_ll: f64,
    sum_rr: f64,
    sum_lr: f64,
}

impl PairStats {
    fn of(left: &[f32], right: &[f32]) -> PairStats {
        let mut s = PairStats {
            n: 0.0,
            sum_l: 0.0,
            sum_r: 0.0,
            sum_ll: 0.0,
            sum_rr: 0.0,
            sum_lr: 0.0,
        };
        for (&l, &r) in left.iter().zip(right) {
            let (l, r) = (f64::from(l), f64::from(r));
            s.sum_l += l;
            s.sum_r += r;
            s.sum_ll += l * l;
            s.sum_rr += r * r;
            s.sum_lr += l * r;
        }
        s.n = left.len().min(right.len()) as f64;
        s
    }

    fn var(&self, sum: f64, sum_sq: f64) -> f64 {
        if self.n == 0.0 {
            return 0.0;
        }
        (sum_sq / self.n - (sum / self.n).powi(2)).max(0.0)
    }

    fn dbfs(&self, sum_sq: f64) -> f64 {
        if self.n == 0.0 || sum_sq <= 0.0 {
            return -200.0;
        }
        10.0 * (sum_sq / self.n).log10()
    }

    fn left_dbfs(&self) -> f64 {
        self.dbfs(self.sum_ll)
    }

    fn right_dbfs(&self) -> f64 {
        self.dbfs(self.sum_rr)
    }

    /// Pearson's correlation of the two waveforms; 0 when either is constant.
    fn correlation(&self) -> f64 {
        let (vl, vr) = (
            self.var(self.sum_l, self.sum_ll),
            self.var(self.sum_r, self.sum_rr),
        );
        if vl <= 0.0 || vr <= 0.0 {
            return 0.0;
        }
        let cov = self.sum_lr / self.n - (self.sum_l / self.n) * (self.sum_r / self.n);
        cov / (vl * vr).sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic, speech-like signal: a few tones under a syllable-rate envelope, with noise.
    fn voice(seed: u32, len: usize, f0: f32) -> Vec<f32> {
        let mut x = seed;
        (0..len)
            .map(|i| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                let t = i as f32 / 16_000.0;
                let env = (0.5 + 0.5 * (2.0 * std::f32::consts::PI * 4.0 * t).sin()).powi(2);
                let tone = (2.0 * std::f32::consts::PI * f0 * t).sin()
                    + 0.5 * (2.0 * std::f32::consts::PI * 2.3 * f0 * t).sin();
                0.2 * env * tone + 0.01 * (x as f32 / u32::MAX as f32 - 0.5)
            })
            .collect()
    }

    #[test]
    fn one_channel_is_mono() {
        let l = detect(&[voice(1, 16_000, 150.0)]);
        assert_eq!((l.kind, l.channel), (LayoutKind::Mono, Some(0)));
    }

    #[test]
    fn identical_and_attenuated_copies_are_dual_mono() {
        let v = voice(1, 32_000, 150.0);
        let l = detect(&[v.clone(), v.clone()]);
        assert_eq!(l.kind, LayoutKind::DualMono, "{}", l.decided_by);
        // Half as loud on the right (−6 dB), and inverted: still one signal; the louder copy is kept.
        let quieter: Vec<f32> = v.iter().map(|s| -0.5 * s).collect();
        let l = detect(&[quieter, v]);
        assert_eq!((l.kind, l.channel), (LayoutKind::DualMono, Some(1)));
        assert!(
            l.decided_by.contains("correlation -1.000"),
            "{}",
            l.decided_by
        );
    }

    #[test]
    fn two_voices_are_stereo_even_with_an_echo() {
        let agent = voice(1, 48_000, 140.0);
        let customer = voice(7, 48_000, 220.0);
        let l = detect(&[agent.clone(), customer.clone()]);
        assert_eq!(
            (l.kind, l.channel),
            (LayoutKind::Stereo, None),
            "{}",
            l.decided_by
        );
        // The agent's voice leaks into the customer's leg at −20 dB.
        let leaky: Vec<f32> = customer
            .iter()
            .zip(&agent)
            .map(|(c, a)| c + 0.1 * a)
            .collect();
        assert_eq!(detect(&[agent, leaky]).kind, LayoutKind::Stereo);
    }

    #[test]
    fn a_silent_channel_makes_the_other_a_mono_mix() {
        let v = voice(3, 16_000, 180.0);
        let l = detect(&[vec![0.0; v.len()], v.clone()]);
        assert_eq!(
            (l.kind, l.channel),
            (LayoutKind::Mono, Some(1)),
            "{}",
            l.decided_by
        );
        // A faint hum 50 dB down on the left is not a party either.
        let hum: Vec<f32> = (0..v.len())
            .map(|i| 0.0006 * (i as f32 * 0.02).sin())
            .collect();
        let l = detect(&[v, hum]);
        assert_eq!(
            (l.kind, l.channel),
            (LayoutKind::Mono, Some(0)),
            "{}",
            l.decided_by
        );
        // Nothing on either side is left as it is: there is no one to hear.
        let l = detect(&[vec![0.0; 100], vec![0.0; 100]]);
        assert_eq!(l.kind, LayoutKind::Stereo);
    }
}
