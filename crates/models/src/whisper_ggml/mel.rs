//! The mel filterbank whisper.cpp reads from the model file (and the voice features borrow).

/// Slaney-style mel scale (linear below 1 kHz, logarithmic above), as librosa with htk=False.
fn hz_to_mel(f: f64) -> f64 {
    const F_SP: f64 = 200.0 / 3.0;
    const MIN_LOG_HZ: f64 = 1000.0;
    let min_log_mel = MIN_LOG_HZ / F_SP;
    let logstep = 6.4f64.ln() / 27.0;
    if f >= MIN_LOG_HZ {
        min_log_mel + (f / MIN_LOG_HZ).ln() / logstep
    } else {
        f / F_SP
    }
}

fn mel_to_hz(m: f64) -> f64 {
    const F_SP: f64 = 200.0 / 3.0;
    const MIN_LOG_HZ: f64 = 1000.0;
    let min_log_mel = MIN_LOG_HZ / F_SP;
    let logstep = 6.4f64.ln() / 27.0;
    if m >= min_log_mel {
        MIN_LOG_HZ * (logstep * (m - min_log_mel)).exp()
    } else {
        F_SP * m
    }
}

/// `librosa.filters.mel(sr, n_fft, n_mels, fmin=0, fmax=sr/2, htk=False, norm="slaney")`,
/// row-major `[mel][bin]`. Whisper was trained with exactly this matrix (OpenAI ship it as
/// `mel_filters.npz`), so it must match to the bit, including librosa's rounding: it stores the
/// triangle weights into a float32 array first and only then scales by the Slaney norm in f64.
pub fn mel_filterbank(sr: f64, n_fft: usize, n_mels: usize) -> Vec<f32> {
    let n_bins = n_fft / 2 + 1;
    let fft_freqs: Vec<f64> = (0..n_bins).map(|k| k as f64 * sr / n_fft as f64).collect();
    let (lo, hi) = (hz_to_mel(0.0), hz_to_mel(sr / 2.0));
    let n_pts = n_mels + 2;
    // np.linspace(lo, hi, n): lo + k*step, with the last point forced to hi.
    let step = (hi - lo) / (n_pts - 1) as f64;
    let mel_f: Vec<f64> = (0..n_pts)
        .map(|k| {
            if k == n_pts - 1 {
                hi
            } else {
                lo + k as f64 * step
            }
        })
        .map(mel_to_hz)
        .collect();

    let mut w = vec![0f32; n_mels * n_bins];
    for i in 0..n_mels {
        let fdiff_lo = mel_f[i + 1] - mel_f[i];
        let fdiff_hi = mel_f[i + 2] - mel_f[i + 1];
        let enorm = 2.0 / (mel_f[i + 2] - mel_f[i]);
        for (j, &f) in fft_freqs.iter().enumerate() {
            let lower = -(mel_f[i] - f) / fdiff_lo;
            let upper = (mel_f[i + 2] - f) / fdiff_hi;
            // numpy's minimum/maximum keep the second operand on ties, so bin 0 of the first
            // filter comes out as -0.0; mirrored here so the bytes equal OpenAI's table.
            let m = if lower < upper { lower } else { upper };
            let tri = (if 0.0 > m { 0.0 } else { m }) as f32;
            w[i * n_bins + j] = (tri as f64 * enorm) as f32;
        }
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference values: librosa 0.11 `filters.mel(sr=16000, n_fft=400, n_mels=80)`, which is
    /// bit-identical to OpenAI's `whisper/assets/mel_filters.npz` (`mel_80`); checked with numpy.
    #[test]
    fn mel_filterbank_matches_librosa_bits() {
        let m = mel_filterbank(16_000.0, 400, 80);
        assert_eq!(m.len(), 80 * 201);
        let at = |i: usize, j: usize| m[i * 201 + j].to_bits();
        assert_eq!(at(0, 1), 0x3ccb_aca4); // 0.024862595
        assert_eq!(at(1, 1), 0x3b02_7873);
        assert_eq!(at(26, 26), 0x3b59_7cf8);
        assert_eq!(at(55, 75), 0x3b7d_ad73);
        assert_eq!(at(62, 101), 0x3ba8_c8ed);
        assert_eq!(at(73, 149), 0x3ab8_7fde);
        assert_eq!(at(79, 199), 0x39eb_476a); // 0.00044875900
        assert_eq!(at(0, 0), 0x8000_0000); // -0.0, as numpy leaves it
        assert_eq!(at(79, 200), 0);
        assert_eq!(m.iter().filter(|v| **v > 0.0).count(), 391);
        let sum: f32 = m.iter().sum();
        assert!((sum - 1.999_024_2).abs() < 1e-5, "{sum}");
    }
}
