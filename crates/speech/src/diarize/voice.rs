//! A cheap voice cue: a speaker's long-term average spectrum, in log mel bands with the overall
//! level removed. It cannot tell strangers apart as an embedding model would, but within one call it
//! tells whether two stretches the segmentation model labelled differently are one person (the same
//! voice through the same phone gives the same average spectrum) — which the model alone gets wrong
//! across a few seconds of silence. Pure computation on samples given to it.

use realfft::RealFftPlanner;

/// 32 ms analysis frames every 16 ms at 16 kHz.
const FFT: usize = 512;
const HOP: usize = 256;
/// Mel bands: enough to see formant regions and the line's colouring, few enough to average well.
const BANDS: usize = 24;

/// Log mel band energies of every analysis frame; reuse it for all speakers of a call.
pub struct Spectrogram {
    frames: Vec<[f32; BANDS]>,
}

impl Spectrogram {
    pub fn new(samples: &[f32]) -> Spectrogram {
        let filters = crate::asr::mel::mel_filterbank(16_000.0, FFT, BANDS);
        let bins = FFT / 2 + 1;
        let mut planner = RealFftPlanner::<f32>::new();
        let fft = planner.plan_fft_forward(FFT);
        let window: Vec<f32> = (0..FFT)
            .map(|i| 0.5 - 0.5 * (2.0 * std::f32::consts::PI * i as f32 / FFT as f32).cos())
            .collect();
        let mut input = fft.make_input_vec();
        let mut spectrum = fft.make_output_vec();
        let count = if samples.len() >= FFT {
            (samples.len() - FFT) / HOP + 1
        } else {
            0
        };
        let frames = (0..count)
            .map(|n| {
                let chunk = &samples[n * HOP..n * HOP + FFT];
                for ((x, &s), &w) in input.iter_mut().zip(chunk).zip(&window) {
                    *x = s * w;
                }
                // A fixed-size plan on buffers it made itself cannot fail.
                let _ = fft.process(&mut input, &mut spectrum);
                let power: Vec<f32> = spectrum.iter().map(|c| c.norm_sqr()).collect();
                let mut bands = [0.0f32; BANDS];
                for (b, band) in bands.iter_mut().enumerate() {
                    let e: f32 = filters[b * bins..(b + 1) * bins]
                        .iter()
                        .zip(&power)
                        .map(|(w, p)| w * p)
                        .sum();
                    *band = 10.0 * (e + 1e-10).log10();
                }
                bands
            })
            .collect();
        Spectrogram { frames }
    }

    /// The average spectrum over the given spans (seconds), level removed; `None` with under
    /// `min_s` of audio to go on.
    pub fn signature(&self, spans: &[(f64, f64)], min_s: f64) -> Option<Vec<f32>> {
        let hop_s = HOP as f64 / 16_000.0;
        let mut sum = [0.0f64; BANDS];
        let mut n = 0usize;
        for &(s, e) in spans {
            let first = (s / hop_s).ceil().max(0.0) as usize;
            let last = ((e / hop_s) as usize).min(self.frames.len());
            for f in &self.frames[first.min(last)..last] {
                for (acc, &v) in sum.iter_mut().zip(f) {
                    *acc += f64::from(v);
                }
                n += 1;
            }
        }
        if (n as f64) * hop_s < min_s {
            return None;
        }
        let mean: Vec<f64> = sum.iter().map(|s| s / n as f64).collect();
        let level = mean.iter().sum::<f64>() / BANDS as f64;
        Some(mean.iter().map(|m| (m - level) as f32).collect())
    }
}

/// How different two signatures are: root-mean-square difference in dB per band.
pub fn distance(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().max(1) as f32;
    (a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f32>() / n).sqrt()
}
