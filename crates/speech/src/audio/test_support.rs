//! Signals and files that the tests of decoding, resampling and the speech gate share.

use std::f32::consts::PI;
use std::path::Path;
use std::process::Command;

use super::{AudioError, decode_file};

pub(super) fn sine(freq: f32, amplitude: f32, rate: u32, seconds: f32) -> Vec<f32> {
    let n = (seconds * rate as f32).round() as usize;
    (0..n)
        .map(|i| amplitude * (2.0 * PI * freq * i as f32 / rate as f32).sin())
        .collect()
}

/// Deterministic white noise with the given RMS level in dBFS.
pub(super) fn noise(len: usize, rms_dbfs: f32, seed: u64) -> Vec<f32> {
    let mut state = seed | 1;
    // Uniform on [-1, 1] has an RMS of 1/sqrt(3).
    let scale = 10f32.powf(rms_dbfs / 20.0) * 3f32.sqrt();
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            scale * ((state >> 40) as f32 / (1u64 << 23) as f32 - 1.0)
        })
        .collect()
}

pub(super) fn rms(samples: &[f32]) -> f32 {
    (samples.iter().map(|s| s * s).sum::<f32>() / samples.len() as f32).sqrt()
}

pub(super) fn dbfs(samples: &[f32]) -> f32 {
    20.0 * rms(samples).log10()
}

/// Frequency of a pure tone from its rising zero crossings.
pub(super) fn tone_frequency(samples: &[f32], rate: u32) -> f32 {
    let crossings: Vec<usize> = (1..samples.len())
        .filter(|&i| samples[i - 1] < 0.0 && samples[i] >= 0.0)
        .collect();
    let (first, last) = (crossings[0], *crossings.last().unwrap());
    (crossings.len() - 1) as f32 * rate as f32 / (last - first) as f32
}

/// The middle of a signal, away from any edge effects of resampling or codec priming.
pub(super) fn middle(samples: &[f32]) -> &[f32] {
    &samples[samples.len() / 4..samples.len() * 3 / 4]
}

pub(super) fn write_hound(path: &Path, spec: hound::WavSpec, channels: &[Vec<f32>]) {
    let mut writer = hound::WavWriter::create(path, spec).unwrap();
    for i in 0..channels[0].len() {
        for channel in channels {
            let s = channel[i];
            match (spec.sample_format, spec.bits_per_sample) {
                (hound::SampleFormat::Float, _) => writer.write_sample(s).unwrap(),
                (hound::SampleFormat::Int, 8) => writer.write_sample((s * 127.0) as i8).unwrap(),
                (hound::SampleFormat::Int, 16) => {
                    writer.write_sample((s * 32767.0) as i16).unwrap()
                }
                (hound::SampleFormat::Int, bits) => writer
                    .write_sample((s * ((1i64 << (bits - 1)) - 1) as f32) as i32)
                    .unwrap(),
            }
        }
    }
    writer.finalize().unwrap();
}

pub(super) fn int_spec(channels: u16, rate: u32, bits: u16) -> hound::WavSpec {
    hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: bits,
        sample_format: hound::SampleFormat::Int,
    }
}

pub(super) fn sox_writes(format: &str) -> bool {
    Command::new("sox").arg("-h").output().is_ok_and(|o| {
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .find(|l| l.starts_with("AUDIO FILE FORMATS:"))
            .is_some_and(|l| l.split_whitespace().any(|f| f == format))
    })
}

pub(super) fn run(tool: &str, args: &[&Path]) {
    let status = Command::new(tool).args(args).status().unwrap();
    assert!(status.success(), "{tool} {args:?} failed");
}

pub(super) fn expect_error(path: &Path) -> AudioError {
    let err = decode_file(path).expect_err("decoding should fail");
    let message = err.to_string();
    assert!(
        message.contains(&path.display().to_string()),
        "no path in: {message}"
    );
    assert_eq!(err.path(), path);
    err
}
