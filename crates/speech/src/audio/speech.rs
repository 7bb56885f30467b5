//! The energy gate: which stretches of a channel hold speech, so that Whisper is not fed silence.

use super::SAMPLE_RATE;

/// Tuning for [`speech_regions`]. The defaults are set for telephone speech and deliberately err
/// towards keeping audio: the gate exists because Whisper invents text on silence and steady
/// noise, and a word it never sees is worse than a second of hiss it does.
#[derive(Debug, Clone, PartialEq)]
pub struct GateOptions {
    /// Analysis frame length. 30 ms is short enough to see syllables and long enough to average
    /// over several pitch periods of a low voice.
    pub frame_ms: u32,
    /// Step between frames; 10 ms gives the region edges a 10 ms resolution.
    pub hop_ms: u32,
    /// The noise floor is this quantile (0..1) of all frame levels. Any call has pauses between
    /// words, so a low quantile lands on the background whatever its level.
    pub floor_quantile: f32,
    /// How far above the noise floor a frame must be to count as loud enough.
    pub margin_db: f32,
    /// Frames quieter than this are never speech, so digital silence and faint hiss, whose floor
    /// can be arbitrarily low, do not turn into "loud" frames relative to themselves.
    pub min_level_dbfs: f32,
    /// The loudness threshold never rises above this, so a recording that is almost all speech
    /// (whose low quantile is itself speech) still passes.
    pub max_threshold_dbfs: f32,
    /// Speech level rises and falls with every syllable (around 4 Hz); a hum, a tone or fan noise
    /// stays put. A loud frame counts as speech only when the typical level change over
    /// `modulation_lag_ms` around it is at least this large. Stationary noise, wide-band or
    /// telephone-band, measures under 0.5 dB and speech several dB; coverage of real speech is
    /// the same anywhere from 0.5 to 1.5 dB, so the default sits at the top of that range.
    pub min_modulation_db: f32,
    /// Lag over which level changes are measured: about half a syllable.
    pub modulation_lag_ms: u32,
    /// Window, centred on a frame, over which the median level change is taken. The median makes
    /// the single jump where a tone or noise starts or stops count for nothing.
    pub modulation_window_ms: u32,
    /// Speech separated by pauses shorter than this becomes one region, so a sentence is not cut
    /// at every breath.
    pub merge_gap_ms: u32,
    /// Regions shorter than this (after merging) are dropped: clicks and bumps, not words.
    pub min_speech_ms: u32,
    /// Added to both ends of each region, to keep the soft onsets and trailing consonants that
    /// fall below the threshold.
    pub padding_ms: u32,
}

impl Default for GateOptions {
    fn default() -> Self {
        Self {
            frame_ms: 30,
            hop_ms: 10,
            floor_quantile: 0.10,
            margin_db: 6.0,
            min_level_dbfs: -60.0,
            max_threshold_dbfs: -30.0,
            min_modulation_db: 1.5,
            modulation_lag_ms: 50,
            modulation_window_ms: 500,
            merge_gap_ms: 300,
            min_speech_ms: 150,
            padding_ms: 200,
        }
    }
}

/// A stretch of speech, as sample indices at [`SAMPLE_RATE`]: `start` inclusive, `end` exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpeechRegion {
    pub start: usize,
    pub end: usize,
}

impl SpeechRegion {
    /// Start time in seconds.
    pub fn start_s(&self) -> f64 {
        self.start as f64 / f64::from(SAMPLE_RATE)
    }

    /// End time in seconds.
    pub fn end_s(&self) -> f64 {
        self.end as f64 / f64::from(SAMPLE_RATE)
    }

    /// Length in samples.
    pub fn len(&self) -> usize {
        self.end.saturating_sub(self.start)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Finds the stretches of one channel of 16 kHz audio that contain speech, in order, at least
/// [`GateOptions::merge_gap_ms`] apart. Run it per channel: on a stereo call each side has its
/// own noise floor.
///
/// A frame is speech when it is loud (above the recording's noise floor by a margin, within
/// absolute bounds) and its level moves like syllables do (see
/// [`GateOptions::min_modulation_db`]). Loudness alone would pass a hold tone or a loud line;
/// modulation alone would pass the faint rustle of an idle line.
pub fn speech_regions(samples: &[f32], opts: &GateOptions) -> Vec<SpeechRegion> {
    let frame = ms_to_samples(opts.frame_ms).max(1);
    let hop = ms_to_samples(opts.hop_ms).max(1);
    let levels = frame_levels(samples, frame, hop);
    if levels.is_empty() {
        return Vec::new();
    }

    let floor = quantile(&levels, opts.floor_quantile);
    let threshold = (floor + opts.margin_db)
        .min(opts.max_threshold_dbfs)
        .max(opts.min_level_dbfs);
    let lag = (opts.modulation_lag_ms / opts.hop_ms.max(1)).max(1) as usize;
    let half_window = (opts.modulation_window_ms / opts.hop_ms.max(1) / 2) as usize;
    let changes: Vec<f32> = (0..levels.len())
        .map(|i| {
            if i >= lag {
                (levels[i] - levels[i - lag]).abs()
            } else {
                0.0
            }
        })
        .collect();

    let mut window = Vec::with_capacity(2 * half_window + 1);
    let is_speech: Vec<bool> = (0..levels.len())
        .map(|i| {
            if levels[i] < threshold {
                return false;
            }
            let lo = i.saturating_sub(half_window).max(lag);
            let hi = (i + half_window).min(levels.len() - 1);
            if lo > hi {
                // Too little audio around this frame to tell speech from a steady sound.
                return false;
            }
            window.clear();
            window.extend_from_slice(&changes[lo..=hi]);
            median(&mut window) >= opts.min_modulation_db
        })
        .collect();

    let frames_as_samples = runs(&is_speech).map(|(first, last)| SpeechRegion {
        start: first * hop,
        end: (last * hop + frame).min(samples.len()),
    });
    tidy_regions(frames_as_samples, samples.len(), opts)
}

fn ms_to_samples(ms: u32) -> usize {
    (u64::from(ms) * u64::from(SAMPLE_RATE) / 1000) as usize
}

/// Level of each frame in dBFS (0 dBFS is a full-scale square wave). Energy is Hann-weighted:
/// with a flat window a low hum's energy ripples by a dB or more depending on where the frame
/// cuts its cycle, which would look like the syllable modulation the gate keys on.
fn frame_levels(samples: &[f32], frame: usize, hop: usize) -> Vec<f32> {
    // -120 dBFS: digital silence for our purposes, and it keeps log10 finite.
    const SILENCE_MEAN_SQUARE: f64 = 1e-12;
    if samples.len() < frame {
        return Vec::new();
    }
    let window: Vec<f64> = (0..frame)
        .map(|n| 0.5 - 0.5 * (2.0 * std::f64::consts::PI * (n as f64 + 0.5) / frame as f64).cos())
        .collect();
    let weight: f64 = window.iter().sum();
    samples
        .windows(frame)
        .step_by(hop)
        .map(|chunk| {
            let energy: f64 = chunk
                .iter()
                .zip(&window)
                .map(|(&s, &w)| w * f64::from(s) * f64::from(s))
                .sum();
            (10.0 * (energy / weight).max(SILENCE_MEAN_SQUARE).log10()) as f32
        })
        .collect()
}

fn quantile(values: &[f32], q: f32) -> f32 {
    let mut sorted = values.to_vec();
    sorted.sort_unstable_by(f32::total_cmp);
    let rank = (q.clamp(0.0, 1.0) * (sorted.len() - 1) as f32).round() as usize;
    sorted[rank]
}

fn median(values: &mut [f32]) -> f32 {
    let mid = values.len() / 2;
    *values.select_nth_unstable_by(mid, f32::total_cmp).1
}

/// Maximal runs of `true`, as inclusive `(first, last)` index pairs.
fn runs(flags: &[bool]) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut i = 0;
    std::iter::from_fn(move || {
        let first = i + flags[i..].iter().position(|&f| f)?;
        let len = flags[first..]
            .iter()
            .position(|&f| !f)
            .unwrap_or(flags.len() - first);
        i = first + len;
        Some((first, i - 1))
    })
}

/// Merges close regions, drops blips, then pads. Blips are judged after merging so that speech
/// broken into short pieces by a noisy line is kept as a whole, and padding comes after that so
/// that it cannot rescue a blip. Padding can bring regions close again, hence the second merge.
fn tidy_regions(
    raw: impl Iterator<Item = SpeechRegion>,
    total: usize,
    opts: &GateOptions,
) -> Vec<SpeechRegion> {
    let gap = ms_to_samples(opts.merge_gap_ms);
    let min_len = ms_to_samples(opts.min_speech_ms);
    let pad = ms_to_samples(opts.padding_ms);

    let merged = merge_within(raw, gap);
    let padded = merged
        .into_iter()
        .filter(|r| r.len() >= min_len)
        .map(|r| SpeechRegion {
            start: r.start.saturating_sub(pad),
            end: (r.end + pad).min(total),
        });
    merge_within(padded, gap)
}

/// Joins sorted regions that overlap or are at most `gap` samples apart.
fn merge_within(regions: impl Iterator<Item = SpeechRegion>, gap: usize) -> Vec<SpeechRegion> {
    let mut out: Vec<SpeechRegion> = Vec::new();
    for region in regions {
        match out.last_mut() {
            Some(last) if region.start <= last.end + gap => last.end = last.end.max(region.end),
            _ => out.push(region),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::test_support::*;
    use crate::audio::{decode_file, resample};
    use std::f32::consts::PI;
    use std::path::{Path, PathBuf};

    fn seconds(regions: &[SpeechRegion]) -> Vec<(f64, f64)> {
        regions.iter().map(|r| (r.start_s(), r.end_s())).collect()
    }

    fn total_seconds(regions: &[SpeechRegion]) -> f64 {
        regions
            .iter()
            .map(|r| r.len() as f64 / f64::from(SAMPLE_RATE))
            .sum()
    }

    /// The shared speech samples, or `None` (with a note) where this checkout has none.
    fn speech_file(name: &str) -> Option<PathBuf> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/data/speech")
            .join(name);
        if path.exists() {
            Some(path)
        } else {
            println!("skipping: {} is not available", path.display());
            None
        }
    }

    fn gate(samples: &[f32]) -> Vec<SpeechRegion> {
        speech_regions(samples, &GateOptions::default())
    }

    #[test]
    fn silence_and_faint_hiss_are_not_speech() {
        assert!(gate(&[]).is_empty());
        assert!(gate(&[0.5; 100]).is_empty());
        assert!(gate(&vec![0.0; 5 * 16_000]).is_empty());
        assert!(gate(&noise(5 * 16_000, -70.0, 1)).is_empty());
    }

    #[test]
    fn stationary_noise_is_not_speech_at_any_level() {
        for level in [-50.0, -30.0, -12.0, -3.0] {
            let regions = gate(&noise(5 * 16_000, level, 2));
            assert!(
                regions.is_empty(),
                "{level} dBFS noise: {:?}",
                seconds(&regions)
            );
        }
        // Noise that starts and stops, surrounded by digital silence, still has no syllables;
        // nor does the narrower-band (so more level-jittery) noise of an 8 kHz line.
        let line_noise = resample(&noise(3 * 8000, -20.0, 3), 8000, SAMPLE_RATE);
        for noise in [noise(3 * 16_000, -20.0, 3), line_noise] {
            let mut burst = vec![0.0; 2 * 16_000];
            burst.extend(noise);
            burst.extend(vec![0.0; 2 * 16_000]);
            assert!(gate(&burst).is_empty(), "{:?}", seconds(&gate(&burst)));
        }
    }

    #[test]
    fn steady_tones_are_not_speech() {
        for (freq, level) in [
            (440.0, 0.3),
            (440.0, 0.9),
            (50.0, 0.5),
            (75.0, 0.5),
            (1000.0, 0.01),
        ] {
            let tone = sine(freq, level, SAMPLE_RATE, 4.0);
            assert!(
                gate(&tone).is_empty(),
                "{freq} Hz at {level}: {:?}",
                seconds(&gate(&tone))
            );
        }
        let mut late = vec![0.0; 2 * 16_000];
        late.extend(sine(440.0, 0.5, SAMPLE_RATE, 3.0));
        assert!(gate(&late).is_empty(), "{:?}", seconds(&gate(&late)));
    }

    #[test]
    fn busy_tone_is_not_speech() {
        // North American busy signal: 480 + 620 Hz, half a second on, half a second off.
        let on: Vec<f32> = sine(480.0, 0.2, SAMPLE_RATE, 0.5)
            .iter()
            .zip(sine(620.0, 0.2, SAMPLE_RATE, 0.5))
            .map(|(a, b)| a + b)
            .collect();
        let mut busy = Vec::new();
        for _ in 0..5 {
            busy.extend(&on);
            busy.extend(vec![0.0; on.len()]);
        }
        assert!(gate(&busy).is_empty(), "{:?}", seconds(&gate(&busy)));
    }

    #[test]
    fn syllable_modulated_sound_is_kept_with_padding() {
        // Noise whose envelope rises and falls four times a second, like syllables, between
        // stretches of quiet line noise.
        let quiet = noise(2 * 16_000, -65.0, 4);
        let babble: Vec<f32> = noise(2 * 16_000, -20.0, 5)
            .iter()
            .enumerate()
            .map(|(i, s)| s * (0.5 - 0.5 * (2.0 * PI * 4.0 * i as f32 / 16_000.0).cos()))
            .collect();
        let signal: Vec<f32> = [&quiet[..], &babble, &quiet].concat();

        let regions = gate(&signal);
        assert_eq!(regions.len(), 1, "{:?}", seconds(&regions));
        let (start, end) = (regions[0].start_s(), regions[0].end_s());
        assert!((1.7..=2.0).contains(&start), "start {start}");
        assert!((4.0..=4.3).contains(&end), "end {end}");
    }

    #[test]
    fn regions_are_merged_filtered_and_padded() {
        let opts = GateOptions::default();
        let ms = |ms: usize| ms * 16;
        let region = |a: usize, b: usize| SpeechRegion {
            start: ms(a),
            end: ms(b),
        };
        let raw = [
            region(1000, 1500),
            region(1700, 2000), // 200 ms gap: merged with the first
            region(3000, 3100), // 100 ms blip: dropped
            region(5000, 5400),
            region(9900, 10_000), // blip at the very end: dropped
        ];
        let tidy = tidy_regions(raw.into_iter(), ms(10_000), &opts);
        assert_eq!(tidy, vec![region(800, 2200), region(4800, 5600)]);

        // Padding stops at the ends of the audio and joins regions it makes overlap.
        let edges = [region(50, 400), region(700, 1000)];
        assert_eq!(
            tidy_regions(edges.into_iter(), ms(1100), &opts),
            vec![region(0, 1100)]
        );
    }

    #[test]
    fn real_speech_is_found() {
        let Some(path) = speech_file("jfk.flac") else {
            return;
        };
        let audio = decode_file(&path).unwrap();
        assert_eq!((audio.source_rate, audio.codec.as_str()), (44_100, "flac"));
        let regions = gate(&audio.mono());
        println!("jfk.flac: {:?}", seconds(&regions));
        // "And so my fellow Americans ... ask what you can do for your country": speech from
        // about 0.3 s to 10.6 s, with pauses of a second or so between phrases.
        assert!(regions.len() >= 2, "{:?}", seconds(&regions));
        assert!(regions[0].start_s() < 0.5);
        assert!(regions.last().unwrap().end_s() > 10.4);
        let kept = total_seconds(&regions);
        assert!((7.0..10.9).contains(&kept), "kept {kept} s");
    }

    #[test]
    fn real_speech_is_found_under_steady_noise() {
        let Some(path) = speech_file("jfk.flac") else {
            return;
        };
        let speech = decode_file(&path).unwrap().mono();
        let noisy: Vec<f32> = speech
            .iter()
            .zip(noise(speech.len(), -35.0, 6))
            .map(|(s, n)| s + n)
            .collect();
        let clean = total_seconds(&gate(&speech));
        let regions = gate(&noisy);
        assert!(
            total_seconds(&regions) > 0.8 * clean,
            "{:?}",
            seconds(&regions)
        );
    }

    #[test]
    fn mulaw_speech_file_is_decoded_and_gated() {
        let Some(path) = speech_file("whatstheweatherlike-mulaw.wav") else {
            return;
        };
        let audio = decode_file(&path).unwrap();
        assert_eq!(audio.codec, "pcm_mulaw");
        assert!((audio.duration_s - 2.03).abs() < 0.01);
        // Speech runs from about 0.1 s to 1.25 s, then digital silence.
        let regions = gate(&audio.channels[0]);
        assert_eq!(regions.len(), 1, "{:?}", seconds(&regions));
        assert!(regions[0].start_s() < 0.1 && regions[0].end_s() > 1.25);
        assert!(regions[0].end_s() < 1.8);
    }

    #[test]
    fn shared_stereo_and_telephony_files_decode() {
        if let Some(path) = speech_file("test_audio_stereo.wav") {
            let audio = decode_file(&path).unwrap();
            assert_eq!(audio.channels.len(), 2);
            assert_eq!(audio.source_rate, 16_000);
            assert_eq!(audio.channels[0].len(), audio.channels[1].len());
            assert!((audio.duration_s - 1.72).abs() < 0.01);
        }
        if let Some(path) = speech_file("aws-demo-agent.wav") {
            let audio = decode_file(&path).unwrap();
            assert_eq!((audio.source_rate, audio.channels.len()), (8000, 1));
            assert!((audio.duration_s - 141.73).abs() < 0.01);
            assert_eq!(
                audio.frames(),
                (audio.duration_s * 16_000.0).ceil() as usize
            );
            assert!(!gate(&audio.channels[0]).is_empty());
        }
    }
}
