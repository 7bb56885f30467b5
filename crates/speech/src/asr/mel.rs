//! Whisper's input: the log-mel spectrogram of 16 kHz audio, 80 bands, 100 frames a second,
//! computed exactly as OpenAI's `log_mel_spectrogram` does (periodic Hann window of 400 samples,
//! hop 160, reflect-padded centre frames, power spectrum, Slaney mel, log10 clamped 8 below the
//! maximum, then `(x + 4) / 4`). The audio is padded with 30 s of zeros, as Whisper's reference
//! does, so every window of 3,000 frames can be sliced from one spectrogram.

use realfft::RealFftPlanner;

pub const N_FFT: usize = 400;
pub const HOP: usize = 160;
pub const N_MELS: usize = 80;
/// Frames in one Whisper window (30 s).
pub const WINDOW_FRAMES: usize = 3000;
const PAD_SAMPLES: usize = WINDOW_FRAMES * HOP;

/// A spectrogram, band-major (`[band][frame]`): the audio's frames, then a window of padding.
pub struct Mel {
    pub data: Vec<f32>,
    pub frames: usize,
}

impl Mel {
    /// Frames `[from, from + 3000)` as one window `[80][3000]`, zero-filled past the end (never
    /// reached: the padding is a whole window).
    pub fn window(&self, from: usize) -> Vec<f32> {
        let mut out = vec![0f32; N_MELS * WINDOW_FRAMES];
        let n = WINDOW_FRAMES.min(self.frames.saturating_sub(from));
        for band in 0..N_MELS {
            let row = &self.data[band * self.frames..(band + 1) * self.frames];
            out[band * WINDOW_FRAMES..band * WINDOW_FRAMES + n]
                .copy_from_slice(&row[from..from + n]);
        }
        out
    }
}

pub struct MelMaker {
    filters: Vec<f32>,
    window: Vec<f32>,
    fft: std::sync::Arc<dyn realfft::RealToComplex<f32>>,
}

impl Default for MelMaker {
    fn default() -> Self {
        let window = (0..N_FFT)
            .map(|i| {
                let x = 2.0 * std::f64::consts::PI * i as f64 / N_FFT as f64;
                (0.5 - 0.5 * x.cos()) as f32
            })
            .collect();
        MelMaker {
            filters: mel_filterbank(16_000.0, N_FFT, N_MELS),
            window,
            fft: RealFftPlanner::<f32>::new().plan_fft_forward(N_FFT),
        }
    }
}

impl MelMaker {
    pub fn compute(&self, samples: &[f32]) -> Mel {
        let mut padded = Vec::with_capacity(samples.len() + PAD_SAMPLES + N_FFT);
        // Centre frames: reflect the first and last N_FFT/2 samples (torch.stft, center=True).
        let half = N_FFT / 2;
        let audio: Vec<f32> = samples
            .iter()
            .copied()
            .chain(std::iter::repeat_n(0.0, PAD_SAMPLES))
            .collect();
        padded.extend((1..=half).rev().map(|i| audio[i.min(audio.len() - 1)]));
        padded.extend_from_slice(&audio);
        let n = audio.len();
        padded.extend((0..half).map(|i| audio[n.saturating_sub(2 + i)]));
        // torch.stft gives len/hop + 1 frames and Whisper drops the last one.
        let frames = n / HOP;
        let bins = N_FFT / 2 + 1;
        let mut data = vec![0f32; N_MELS * frames];
        let mut input = self.fft.make_input_vec();
        let mut spectrum = self.fft.make_output_vec();
        let mut scratch = self.fft.make_scratch_vec();
        let mut power = vec![0f32; bins];
        // Frames wholly inside the padding are silence: the floor, without an FFT.
        let silent_from = (samples.len() + half).div_ceil(HOP);
        for f in 0..frames {
            let at = f * HOP;
            if f >= silent_from && at + N_FFT <= half + n {
                for band in 0..N_MELS {
                    data[band * frames + f] = -10.0;
                }
                continue;
            }
            for ((x, s), w) in input
                .iter_mut()
                .zip(&padded[at..at + N_FFT])
                .zip(&self.window)
            {
                *x = s * w;
            }
            self.fft
                .process_with_scratch(&mut input, &mut spectrum, &mut scratch)
                .expect("buffers sized by the planner");
            for (p, c) in power.iter_mut().zip(&spectrum) {
                *p = c.norm_sqr();
            }
            for band in 0..N_MELS {
                let row = &self.filters[band * bins..(band + 1) * bins];
                let e: f32 = row.iter().zip(&power).map(|(a, b)| a * b).sum();
                data[band * frames + f] = e.max(1e-10).log10();
            }
        }
        let max = data.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        for x in &mut data {
            *x = (x.max(max - 8.0) + 4.0) / 4.0;
        }
        Mel { data, frames }
    }
}

// The filterbank is also the voice features' (diarize/voice.rs).
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

    #[test]
    fn frames_and_padding_follow_whisper() {
        let maker = MelMaker::default();
        let tone: Vec<f32> = (0..16_000)
            .map(|i| (i as f32 * 440.0 * std::f32::consts::TAU / 16_000.0).sin() * 0.5)
            .collect();
        let mel = maker.compute(&tone);
        assert_eq!(mel.frames, 100 + WINDOW_FRAMES);
        // The loudest band of a 440 Hz tone is the band holding 440 Hz, in the audio, not the padding.
        let band_of = |f: usize| {
            (0..N_MELS)
                .max_by(|&a, &b| {
                    mel.data[a * mel.frames + f].total_cmp(&mel.data[b * mel.frames + f])
                })
                .unwrap()
        };
        assert!((8..=14).contains(&band_of(50)), "band {}", band_of(50));
        // Values are in Whisper's range: at most (max + 4) / 4 and at least 8 below it.
        let (lo, hi) = mel
            .data
            .iter()
            .fold((f32::MAX, f32::MIN), |(l, h), &x| (l.min(x), h.max(x)));
        assert!(hi - lo <= 2.0 + 1e-5);
        assert_eq!(mel.window(0).len(), N_MELS * WINDOW_FRAMES);
    }
}
