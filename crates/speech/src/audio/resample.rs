//! From the file's rate and channels to what Whisper hears.

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler};

/// Resamples one channel with a band-limited (FFT) resampler, so that content above the new
/// Nyquist frequency is filtered out instead of folding back into the speech band.
///
/// The output has `ceil(len * to_hz / from_hz)` samples and is time-aligned with the input (the
/// filter delay is removed).
///
/// # Panics
///
/// If either rate is zero.
pub fn resample(samples: &[f32], from_hz: u32, to_hz: u32) -> Vec<f32> {
    match resampler(from_hz, to_hz) {
        Some(mut resampler) => run_resampler(&mut resampler, samples),
        None => samples.to_vec(),
    }
}

/// [`resample`] for every channel, reusing one resampler (building it is the expensive part).
pub(super) fn resample_all(channels: Vec<Vec<f32>>, from_hz: u32, to_hz: u32) -> Vec<Vec<f32>> {
    match resampler(from_hz, to_hz) {
        Some(mut resampler) => channels
            .iter()
            .map(|c| run_resampler(&mut resampler, c))
            .collect(),
        None => channels,
    }
}

/// `None` when there is nothing to do.
fn resampler(from_hz: u32, to_hz: u32) -> Option<Fft<f32>> {
    assert!(
        from_hz > 0 && to_hz > 0,
        "sample rates must be non-zero ({from_hz} -> {to_hz} Hz)"
    );
    if from_hz == to_hz {
        return None;
    }
    // The FFT resampler is exact for a fixed rational ratio and much cheaper than rubato's sinc
    // interpolator at the same quality. The chunk size only trades memory against per-call
    // overhead; rubato rounds it to a multiple of the reduced ratio.
    const CHUNK: usize = 1024;
    let resampler = Fft::<f32>::new(from_hz as usize, to_hz as usize, CHUNK, 1, FixedSync::Both)
        .expect("an FFT resampler exists for any pair of non-zero rates");
    Some(resampler)
}

fn run_resampler(resampler: &mut Fft<f32>, samples: &[f32]) -> Vec<f32> {
    if samples.is_empty() {
        return Vec::new();
    }
    let input =
        InterleavedSlice::new(samples, 1, samples.len()).expect("a mono slice is its own length");
    resampler
        .process_all(&input, samples.len(), None)
        .expect("process_all sizes its own buffers")
        .take_data()
}

/// Averages channels into one. A channel shorter than the others counts as silence past its end.
pub fn downmix(channels: &[Vec<f32>]) -> Vec<f32> {
    let Some(len) = channels.iter().map(Vec::len).max() else {
        return Vec::new();
    };
    let mut mix = vec![0.0f32; len];
    for channel in channels {
        for (m, &s) in mix.iter_mut().zip(channel) {
            *m += s;
        }
    }
    let scale = 1.0 / channels.len() as f32;
    mix.iter_mut().for_each(|m| *m *= scale);
    mix
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::test_support::*;

    #[test]
    fn upsampling_8k_keeps_frequency_and_amplitude() {
        let out = resample(&sine(1000.0, 0.5, 8000, 1.0), 8000, 16_000);
        assert_eq!(out.len(), 16_000);
        let f = tone_frequency(middle(&out), 16_000);
        assert!((f - 1000.0).abs() < 1.0, "frequency {f}");
        let level = rms(middle(&out)) * 2f32.sqrt();
        assert!((level - 0.5).abs() < 0.005, "amplitude {level}");
    }

    #[test]
    fn downsampling_44k1_keeps_frequency_and_amplitude() {
        let out = resample(&sine(1000.0, 0.5, 44_100, 2.0), 44_100, 16_000);
        assert_eq!(out.len(), 32_000);
        let f = tone_frequency(middle(&out), 16_000);
        assert!((f - 1000.0).abs() < 1.0, "frequency {f}");
        let level = rms(middle(&out)) * 2f32.sqrt();
        assert!((level - 0.5).abs() < 0.005, "amplitude {level}");
    }

    #[test]
    fn downsampling_removes_content_above_the_new_nyquist() {
        // Naive decimation would fold 10 kHz down to 6 kHz at full level.
        let out = resample(&sine(10_000.0, 0.5, 44_100, 1.0), 44_100, 16_000);
        assert!(
            dbfs(middle(&out)) < -60.0,
            "aliased level {} dBFS",
            dbfs(middle(&out))
        );
    }

    #[test]
    fn resampled_length_follows_the_ratio() {
        for (from, len) in [
            (8000, 12_345),
            (11_025, 11_025),
            (22_050, 1),
            (48_000, 48_001),
        ] {
            let out = resample(&vec![0.1; len], from, 16_000);
            let expected = (len as f64 * 16_000.0 / f64::from(from)).ceil() as usize;
            assert_eq!(out.len(), expected, "{len} samples at {from} Hz");
        }
        assert!(resample(&[], 8000, 16_000).is_empty());
        assert_eq!(resample(&[0.25, -0.5], 16_000, 16_000), vec![0.25, -0.5]);
    }

    #[test]
    fn resampling_does_not_shift_audio_in_time() {
        let mut input = vec![0.0; 4410];
        input.extend(sine(500.0, 0.5, 44_100, 0.5));
        let out = resample(&input, 44_100, 16_000);
        let onset = out.iter().position(|s| s.abs() > 0.1).unwrap();
        // The tone starts at 0.1 s = sample 1600; allow a fraction of a millisecond of ringing.
        assert!((1595..=1615).contains(&onset), "onset at {onset}");
    }

    #[test]
    fn downmix_averages_and_pads_short_channels() {
        assert_eq!(
            downmix(&[vec![1.0, 0.5], vec![0.0, 0.5, 1.0]]),
            vec![0.5, 0.5, 0.5]
        );
        assert_eq!(downmix(&[vec![0.25]]), vec![0.25]);
        assert!(downmix(&[]).is_empty());
    }
}
