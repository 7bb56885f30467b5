//! GSM 06.10 recordings as files hold them: raw frames (Asterisk's `.gsm`) and GSM in WAV. The
//! codec itself is in [`super::gsm`]; Symphonia reads neither.

use std::path::Path;

use super::decode::{NativePcm, starts_like_audio};
use super::gsm;
use super::wav::{Chunks, WavFmt, le16, le32};
use super::{AudioError, PLAUSIBLE_RATES, corrupt, empty, unsupported_format};

/// Raw GSM has no header to recognise it by, so the name says it: Asterisk writes `.gsm`. A file so
/// named that opens like another format is read as that format.
pub(super) fn is_raw_gsm(path: &Path, bytes: &[u8]) -> bool {
    let named_gsm = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("gsm"));
    named_gsm && !starts_like_audio(bytes)
}

/// GSM frames found in a file, and what the file says about them.
pub(super) struct GsmData<'a> {
    pub(super) bytes: &'a [u8],
    pub(super) framing: gsm::Framing,
    pub(super) rate: u32,
    /// The WAV `fact` chunk's sample count, which tells how much of the last block is padding.
    pub(super) samples: Option<usize>,
    /// The file ends before the end its header promised.
    pub(super) cut: bool,
    pub(super) codec: &'static str,
}

/// Reads the `fmt ` and `data` chunks of a GSM 6.10 WAV file (format tag 0x31) and decodes it.
pub(super) fn decode_gsm_wav(
    path: &Path,
    bytes: &[u8],
    fmt: WavFmt,
) -> Result<NativePcm, AudioError> {
    let truncated_header = || AudioError::Truncated {
        path: path.to_owned(),
        reason: "the file ends inside its header".into(),
    };
    let body = fmt.at + 8;
    if fmt.len < 14 {
        return Err(corrupt(
            path,
            format!(
                "the fmt chunk is {} bytes long, too short for a WAV header",
                fmt.len
            ),
        ));
    }
    let (channels, rate, block_align) = match (
        le16(bytes, body + 2),
        le32(bytes, body + 4),
        le16(bytes, body + 12),
    ) {
        (Some(channels), Some(rate), Some(block_align)) => (channels, rate, block_align),
        _ => return Err(truncated_header()),
    };
    let framing = match block_align {
        65 => gsm::Framing::Wav49,
        33 => gsm::Framing::Native,
        other => {
            return Err(corrupt(
                path,
                format!(
                    "GSM 6.10 in {other}-byte blocks: a block is 65 bytes (Microsoft GSM, two frames) or 33 (one frame)"
                ),
            ));
        }
    };
    if channels != 1 {
        return Err(corrupt(
            path,
            format!("GSM 6.10 is mono, but the header says {channels} channels"),
        ));
    }

    let mut fact = None;
    let mut data = None;
    let mut walk = Chunks::new(bytes);
    for chunk in walk.by_ref() {
        match &chunk.id {
            b"fact" if chunk.len >= 4 => fact = le32(bytes, chunk.body),
            b"data" => {
                data = Some(chunk);
                break;
            }
            _ => {}
        }
    }
    let Some(chunk) = data else {
        return Err(if walk.cut {
            truncated_header()
        } else {
            empty(path, "the WAV file has a header but no data chunk")
        });
    };
    let available = bytes.len().saturating_sub(chunk.body);
    // 0xffffffff is a streamed file's "length unknown"; 0 is what a recorder that stopped before
    // closing the file left in the header. Either way the audio runs to the end of the file.
    let unknown = chunk.len == u32::MAX || (chunk.len == 0 && available > 0);
    if chunk.len == 0 && available > 0 {
        tracing::warn!(
            path = %path.display(),
            bytes = available,
            "the WAV header says the data chunk is empty; reading the audio after it"
        );
    }
    let declared = usize::try_from(chunk.len).unwrap_or(usize::MAX);
    let len = if unknown {
        available
    } else {
        declared.min(available)
    };
    let data = GsmData {
        bytes: &bytes[chunk.body..chunk.body + len],
        framing,
        rate,
        samples: fact
            .and_then(|n| usize::try_from(n).ok())
            .filter(|&n| n > 0),
        cut: !unknown && declared > available,
        codec: match framing {
            gsm::Framing::Wav49 => "gsm_ms",
            gsm::Framing::Native => "gsm",
        },
    };
    decode_gsm(path, data)
}

/// Decodes GSM frames, judging the file as a whole the way
/// [`decode_symphonia`](super::decode::decode_symphonia) judges packets.
pub(super) fn decode_gsm(path: &Path, data: GsmData<'_>) -> Result<NativePcm, AudioError> {
    if !PLAUSIBLE_RATES.contains(&data.rate) {
        return Err(unsupported_format(
            path,
            format!("implausible sample rate {} Hz", data.rate),
        ));
    }
    let decoded = gsm::decode(data.bytes, data.framing).map_err(|e| match e {
        gsm::GsmError::NoWav49 => AudioError::UnsupportedCodec {
            path: path.to_owned(),
            codec: format!("GSM 6.10 in WAV ({e})"),
        },
        gsm::GsmError::OutOfMemory => corrupt(path, e),
    })?;
    let block_bytes = data.framing.block_bytes();
    if decoded.blocks == 0 {
        return Err(if data.bytes.is_empty() && !data.cut {
            empty(path, "the file contains no audio samples")
        } else {
            AudioError::Truncated {
                path: path.to_owned(),
                reason: format!(
                    "the file ends before its first complete GSM block ({} of {block_bytes} bytes)",
                    decoded.leftover_bytes
                ),
            }
        });
    }
    // Random bytes pass the signature check one frame in sixteen.
    let good = decoded.blocks - decoded.bad_blocks;
    if decoded.bad_blocks > good {
        return Err(unsupported_format(
            path,
            format!(
                "not GSM 06.10 audio: {} of {} {block_bytes}-byte frames lack the GSM signature",
                decoded.bad_blocks, decoded.blocks
            ),
        ));
    }
    let mut samples = decoded.samples;
    // Only the padding of the last block is trimmed: a count that would cut more is not a count
    // of this file's samples, and dropping audio on its word would lose part of the call.
    if let Some(n) = data.samples
        && n < samples.len()
        && samples.len() - n < data.framing.block_samples()
    {
        samples.truncate(n);
    }
    if data.cut || decoded.leftover_bytes > 0 {
        tracing::warn!(
            path = %path.display(),
            seconds = samples.len() as f64 / f64::from(data.rate),
            "recording ends mid-stream; using the audio before the cut"
        );
    }
    if decoded.bad_blocks > 0 {
        tracing::warn!(
            path = %path.display(),
            bad_packets = decoded.bad_blocks,
            first_error = "a frame without the GSM signature",
            "skipped undecodable packets"
        );
    }
    Ok(NativePcm {
        rate: data.rate,
        channels: vec![samples],
        codec: data.codec.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::decode::decode_native;
    use crate::audio::test_support::*;
    use crate::audio::{SAMPLE_RATE, decode_file};
    use std::fs;
    use std::path::PathBuf;

    /// A tone sox encoded as raw GSM and as GSM in WAV, with sox's own decodes of both as 16-bit
    /// samples (sox uses the same libgsm, so ours must agree with it sample for sample).
    struct SoxGsm {
        _dir: tempfile::TempDir,
        raw: PathBuf,
        wav49: PathBuf,
        raw_by_sox: Vec<i16>,
        wav49_by_sox: Vec<i16>,
    }

    /// 1.01 s: not a whole number of 20 ms frames, so sox pads the last one.
    const GSM_TONE_SAMPLES: usize = 8080;

    fn sox_gsm() -> Option<SoxGsm> {
        if !sox_writes("gsm") {
            println!("skipping: sox cannot write GSM here");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let at = |name: &str| dir.path().join(name);
        let mut tone = sine(1000.0, 0.5, 8000, 1.01);
        tone.truncate(GSM_TONE_SAMPLES);
        write_hound(&at("tone.wav"), int_spec(1, 8000, 16), &[tone]);
        run("sox", &[&at("tone.wav"), &at("tone.gsm")]);
        let wav49_args = [
            at("tone.wav"),
            "-e".into(),
            "gsm-full-rate".into(),
            at("tone-gsm.wav"),
        ];
        run(
            "sox",
            &wav49_args.iter().map(PathBuf::as_path).collect::<Vec<_>>(),
        );
        let by_sox = |input: &str, output: &str| {
            let args = [
                at(input),
                "-e".into(),
                "signed-integer".into(),
                "-b".into(),
                "16".into(),
                at(output),
            ];
            run(
                "sox",
                &args.iter().map(PathBuf::as_path).collect::<Vec<_>>(),
            );
            hound::WavReader::open(at(output))
                .unwrap()
                .samples::<i16>()
                .map(Result::unwrap)
                .collect::<Vec<_>>()
        };
        Some(SoxGsm {
            raw_by_sox: by_sox("tone.gsm", "raw-by-sox.wav"),
            wav49_by_sox: by_sox("tone-gsm.wav", "wav49-by-sox.wav"),
            raw: at("tone.gsm"),
            wav49: at("tone-gsm.wav"),
            _dir: dir,
        })
    }

    fn native(path: &Path) -> NativePcm {
        decode_native(path, fs::read(path).unwrap()).unwrap_or_else(|e| panic!("{e}"))
    }

    fn max_difference(ours: &[f32], sox: &[i16]) -> f32 {
        assert_eq!(ours.len(), sox.len());
        ours.iter()
            .zip(sox)
            .map(|(&a, &b)| (a * 32768.0 - f32::from(b)).abs())
            .fold(0.0, f32::max)
    }

    #[test]
    fn raw_gsm_and_gsm_in_wav_decode_as_sox_decodes_them() {
        let Some(gsm) = sox_gsm() else { return };
        let raw = native(&gsm.raw);
        assert_eq!(
            (raw.rate, raw.channels.len(), raw.codec.as_str()),
            (8000, 1, "gsm")
        );
        // Raw GSM has no sample count: the padded last frame stays.
        assert_eq!(raw.frames(), GSM_TONE_SAMPLES.div_ceil(160) * 160);
        assert_eq!(max_difference(&raw.channels[0], &gsm.raw_by_sox), 0.0);

        let wav49 = native(&gsm.wav49);
        assert_eq!(
            (wav49.rate, wav49.channels.len(), wav49.codec.as_str()),
            (8000, 1, "gsm_ms")
        );
        // The fact chunk's count trims the padding, which sox keeps.
        assert_eq!(wav49.frames(), GSM_TONE_SAMPLES);
        let sox = &gsm.wav49_by_sox[..GSM_TONE_SAMPLES];
        assert_eq!(max_difference(&wav49.channels[0], sox), 0.0);

        for path in [&gsm.raw, &gsm.wav49] {
            let audio = decode_file(path).unwrap();
            assert_eq!(audio.source_rate, 8000);
            let f = tone_frequency(middle(&audio.channels[0]), SAMPLE_RATE);
            assert!(
                (f - 1000.0).abs() < 2.0,
                "{}: frequency {f}",
                path.display()
            );
            // GSM is lossy; a tone's level comes through within a couple of dB.
            let level = dbfs(middle(&audio.channels[0])) - dbfs(&[0.5, -0.5]) + 3.01;
            assert!(
                level.abs() < 2.0,
                "{}: level off by {level} dB",
                path.display()
            );
        }
    }

    #[test]
    fn the_header_wins_over_the_name() {
        let Some(gsm) = sox_gsm() else { return };
        let dir = tempfile::tempdir().unwrap();
        // A GSM WAV named .gsm is still a WAV, and raw GSM needs its name to be recognised.
        let named_gsm = dir.path().join("recording.gsm");
        fs::copy(&gsm.wav49, &named_gsm).unwrap();
        assert_eq!(native(&named_gsm).codec, "gsm_ms");
        let upper = dir.path().join("RECORDING.GSM");
        fs::copy(&gsm.raw, &upper).unwrap();
        assert_eq!(native(&upper).codec, "gsm");
        let unnamed = dir.path().join("recording.raw");
        fs::copy(&gsm.raw, &unnamed).unwrap();
        assert!(matches!(
            expect_error(&unnamed),
            AudioError::UnsupportedFormat { .. }
        ));
    }

    #[test]
    fn cut_and_damaged_gsm_keeps_what_decodes() {
        let Some(gsm) = sox_gsm() else { return };
        let dir = tempfile::tempdir().unwrap();
        let raw = fs::read(&gsm.raw).unwrap();
        let full = native(&gsm.raw);

        // Cut mid-frame: the whole frames before the cut.
        let cut = dir.path().join("cut.gsm");
        fs::write(&cut, &raw[..33 * 20 + 17]).unwrap();
        assert_eq!(native(&cut).channels[0], full.channels[0][..20 * 160]);

        // One damaged frame: silence in its place, the rest as before.
        let damaged = dir.path().join("damaged.gsm");
        let mut bytes = raw.clone();
        bytes[33 * 10] = 0x00;
        fs::write(&damaged, &bytes).unwrap();
        let pcm = native(&damaged);
        assert_eq!(pcm.frames(), full.frames());
        assert!(pcm.channels[0][1600..1760].iter().all(|&s| s == 0.0));
        assert_eq!(pcm.channels[0][..1600], full.channels[0][..1600]);

        // A WAV cut inside its data: the whole blocks before the cut.
        let wav = fs::read(&gsm.wav49).unwrap();
        let cut_wav = dir.path().join("cut.wav");
        fs::write(&cut_wav, &wav[..60 + 65 * 7 + 40]).unwrap();
        let wav49 = native(&gsm.wav49);
        assert_eq!(native(&cut_wav).channels[0], wav49.channels[0][..7 * 320]);

        // A sample count that would cut more than the last block's padding is not believed.
        let bogus_fact = dir.path().join("bogus-fact.wav");
        let mut bytes = wav.clone();
        bytes[48..52].copy_from_slice(&1000u32.to_le_bytes());
        fs::write(&bogus_fact, &bytes).unwrap();
        assert_eq!(native(&bogus_fact).frames(), 8320);

        // A recorder that stopped before closing the file leaves a data length of 0.
        let unclosed = dir.path().join("unclosed.wav");
        let mut bytes = wav.clone();
        bytes[56..60].copy_from_slice(&0u32.to_le_bytes());
        fs::write(&unclosed, &bytes).unwrap();
        assert_eq!(native(&unclosed).channels[0], wav49.channels[0]);
    }

    #[test]
    fn broken_gsm_files_say_why() {
        let Some(gsm) = sox_gsm() else { return };
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, bytes: &[u8]| {
            let path = dir.path().join(name);
            fs::write(&path, bytes).unwrap();
            path
        };
        let raw = fs::read(&gsm.raw).unwrap();
        let wav = fs::read(&gsm.wav49).unwrap();
        let reason = |path: &Path| expect_error(path).to_string();

        let short = write("short.gsm", &raw[..20]);
        assert!(matches!(expect_error(&short), AudioError::Truncated { .. }));
        assert!(
            reason(&short).contains("first complete GSM block"),
            "{}",
            reason(&short)
        );

        let garbage: Vec<u8> = noise(64 * 1024, -3.0, 42)
            .iter()
            .map(|s| (s * 127.0 + 128.0) as u8)
            .collect();
        for path in [
            write("random.gsm", &garbage),
            write(
                "notes.gsm",
                &b"Agent greeted the customer by name.\n".repeat(50),
            ),
        ] {
            let err = expect_error(&path);
            assert!(matches!(err, AudioError::UnsupportedFormat { .. }), "{err}");
            assert!(err.to_string().contains("GSM signature"), "{err}");
        }

        // The header ends where the data chunk would start, or the data chunk holds nothing.
        let no_data = write("no-data.wav", &wav[..52]);
        assert!(matches!(expect_error(&no_data), AudioError::Empty { .. }));
        let mut header_only = wav[..60].to_vec();
        header_only[56..60].copy_from_slice(&0u32.to_le_bytes());
        let header_only = write("header-only.wav", &header_only);
        assert!(matches!(
            expect_error(&header_only),
            AudioError::Empty { .. }
        ));
        // The header promises data that is not there.
        let promised = write("promised.wav", &wav[..60 + 30]);
        assert!(matches!(
            expect_error(&promised),
            AudioError::Truncated { .. }
        ));

        let mut odd = wav.clone();
        odd[32..34].copy_from_slice(&40u16.to_le_bytes());
        let odd = write("odd-blocks.wav", &odd);
        assert!(matches!(expect_error(&odd), AudioError::Corrupt { .. }));
        assert!(reason(&odd).contains("40-byte blocks"), "{}", reason(&odd));

        let mut stereo = wav.clone();
        stereo[22..24].copy_from_slice(&2u16.to_le_bytes());
        let stereo = write("stereo.wav", &stereo);
        assert!(reason(&stereo).contains("mono"), "{}", reason(&stereo));

        let mut zero_rate = wav.clone();
        zero_rate[24..28].copy_from_slice(&0u32.to_le_bytes());
        let zero_rate = write("zero-rate.wav", &zero_rate);
        assert!(
            reason(&zero_rate).contains("sample rate"),
            "{}",
            reason(&zero_rate)
        );

        // Every cut through the header.
        for len in 4..60 {
            let path = write("cut-header.wav", &wav[..len]);
            let err = expect_error(&path);
            assert!(
                matches!(err, AudioError::Truncated { .. } | AudioError::Empty { .. }),
                "{len} bytes: {err}"
            );
        }
    }
}
