//! Reading a recording and decoding it at its own rate: Symphonia for the containers and codecs it
//! knows, [`super::gsm_file`] for GSM 06.10, which it does not.

use std::fs;
use std::io::{self, Cursor};
use std::path::Path;

use symphonia::core::audio::GenericAudioBufferRef;
use symphonia::core::codecs::audio::well_known as codec_ids;
use symphonia::core::codecs::audio::{AudioCodecId, AudioDecoder, AudioDecoderOptions};
use symphonia::core::errors::Error as DecodeError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, TrackType};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;

use super::gsm;
use super::gsm_file::{GsmData, decode_gsm, decode_gsm_wav, is_raw_gsm};
use super::wav::WavFmt;
use super::{AudioError, PLAUSIBLE_RATES, corrupt, empty, unsupported_format};

const NOT_AUDIO: &str = "not a WAV, FLAC, MP3 or Ogg Vorbis file";

/// Reads the whole file: call recordings are a few megabytes, and having the bytes lets us
/// repair a common WAV header quirk before Symphonia sees it (see [`WavFmt::needs_cb_size`]).
pub(super) fn read_file(path: &Path) -> Result<Vec<u8>, AudioError> {
    let unreadable = |cause| AudioError::Unreadable {
        path: path.to_owned(),
        cause,
    };
    let meta = fs::metadata(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => AudioError::NotFound {
            path: path.to_owned(),
        },
        _ => unreadable(e),
    })?;
    if meta.is_dir() {
        return Err(unreadable(io::ErrorKind::IsADirectory.into()));
    }
    let bytes = fs::read(path).map_err(unreadable)?;
    if bytes.is_empty() {
        return Err(empty(path, "the file is 0 bytes long"));
    }
    Ok(bytes)
}

/// Audio at its native rate, straight out of the decoder.
pub(super) struct NativePcm {
    pub(super) rate: u32,
    pub(super) channels: Vec<Vec<f32>>,
    pub(super) codec: String,
}

impl NativePcm {
    pub(super) fn frames(&self) -> usize {
        self.channels.first().map_or(0, Vec::len)
    }

    /// Appends one decoded packet, converting whatever sample format the codec produced to `f32`.
    fn append(&mut self, buf: &GenericAudioBufferRef<'_>) -> Result<(), String> {
        let spec = buf.spec();
        let count = spec.channels().count();
        if self.channels.is_empty() {
            if count == 0 {
                return Err("the stream has no channels".into());
            }
            self.rate = spec.rate();
            self.channels.resize_with(count, Vec::new);
        } else if count != self.channels.len() || spec.rate() != self.rate {
            return Err(format!(
                "the stream changes from {} channel(s) at {} Hz to {count} at {} Hz part way through",
                self.channels.len(),
                self.rate,
                spec.rate()
            ));
        }

        let start = self.frames();
        let end = start + buf.frames();
        for channel in &mut self.channels {
            channel.resize(end, 0.0);
        }
        let mut tails: Vec<&mut [f32]> =
            self.channels.iter_mut().map(|c| &mut c[start..]).collect();
        buf.copy_to_slice_planar(&mut tails);
        Ok(())
    }

    /// Pads with silence up to frame `position`, if that is ahead of the audio so far.
    fn fill_gap_to(&mut self, position: f64) {
        // A hole longer than this is more likely a corrupt timestamp than lost audio, and must
        // not turn into a huge allocation.
        const MAX_GAP_S: f64 = 10.0;
        let gap = position - self.frames() as f64;
        if gap >= 1.0 && gap <= MAX_GAP_S * f64::from(self.rate) {
            let end = self.frames() + gap.round() as usize;
            for channel in &mut self.channels {
                channel.resize(end, 0.0);
            }
        }
    }
}

/// A demuxer positioned at the start of the call's audio track, with a decoder for it.
struct Stream {
    format: Box<dyn FormatReader>,
    decoder: Box<dyn AudioDecoder>,
    track_id: u32,
    /// Converts packet timestamps (in the track's time base) to frames, when the track says how.
    frames_per_tick: Option<f64>,
}

fn open_stream(path: &Path, mut bytes: Vec<u8>) -> Result<Stream, AudioError> {
    let wav_fmt = WavFmt::find(&bytes);
    let has_magic = starts_like_audio(&bytes);
    if let Some(fmt) = wav_fmt.filter(WavFmt::needs_cb_size) {
        fmt.insert_cb_size(&mut bytes);
    }
    let mut hint = Hint::new();
    if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
        hint.with_extension(ext);
    }
    let source = MediaSourceStream::new(Box::new(Cursor::new(bytes)), Default::default());
    let format = symphonia::default::get_probe()
        .probe(
            &hint,
            source,
            FormatOptions::default(),
            MetadataOptions::default(),
        )
        .map_err(|e| probe_error(path, e, wav_fmt, has_magic))?;

    let track = format
        .default_track(TrackType::Audio)
        .ok_or_else(|| unsupported_format(path, "the file has no audio track"))?;
    let Some(params) = track.codec_params.as_ref().and_then(|p| p.audio()) else {
        return Err(AudioError::UnsupportedCodec {
            path: path.to_owned(),
            codec: "unknown (the container does not say)".into(),
        });
    };
    let decoder = symphonia::default::get_codecs()
        .make_audio_decoder(params, &AudioDecoderOptions::default())
        .map_err(|e| match e {
            DecodeError::Unsupported(_) => AudioError::UnsupportedCodec {
                path: path.to_owned(),
                codec: codec_name(params.codec),
            },
            other => corrupt(path, other),
        })?;
    let frames_per_tick = track.time_base.zip(params.sample_rate).map(|(base, rate)| {
        f64::from(rate) * f64::from(base.numer.get()) / f64::from(base.denom.get())
    });
    let track_id = track.id;
    Ok(Stream {
        format,
        decoder,
        track_id,
        frames_per_tick,
    })
}

pub(super) fn decode_native(path: &Path, bytes: Vec<u8>) -> Result<NativePcm, AudioError> {
    if let Some(fmt) = WavFmt::find(&bytes).filter(|fmt| fmt.tag == WavFmt::GSM) {
        return decode_gsm_wav(path, &bytes, fmt);
    }
    if is_raw_gsm(path, &bytes) {
        let data = GsmData {
            bytes: &bytes,
            framing: gsm::Framing::Native,
            rate: gsm::SAMPLE_RATE,
            samples: None,
            cut: false,
            codec: "gsm",
        };
        return decode_gsm(path, data);
    }
    decode_symphonia(path, bytes)
}

fn decode_symphonia(path: &Path, bytes: Vec<u8>) -> Result<NativePcm, AudioError> {
    let Stream {
        mut format,
        mut decoder,
        track_id,
        frames_per_tick,
    } = open_stream(path, bytes)?;
    let mut pcm = NativePcm {
        rate: 0,
        channels: Vec::new(),
        codec: decoder.codec_info().short_name.into(),
    };
    // Frame position of timestamp zero, fixed by the first packet that decodes.
    let mut origin: Option<f64> = None;
    let mut good_packets = 0usize;
    let mut bad_packets = 0usize;
    let mut first_bad: Option<String> = None;
    let mut truncated = false;
    loop {
        let packet = match format.next_packet() {
            Ok(Some(packet)) => packet,
            Ok(None) => break,
            Err(DecodeError::IoError(e)) if e.kind() == io::ErrorKind::UnexpectedEof => {
                truncated = true;
                break;
            }
            // Only chained Ogg streams ask for a reset. A call recording is one stream, so
            // anything chained after it is not part of the call.
            Err(DecodeError::ResetRequired) => break,
            Err(e) => return Err(corrupt(path, e)),
        };
        if packet.track_id != track_id {
            continue;
        }
        match decoder.decode(&packet) {
            Ok(buf) => {
                good_packets += 1;
                // Priming packets (Vorbis) decode to nothing.
                if buf.frames() == 0 {
                    continue;
                }
                // When a packet's timestamp is ahead of the audio so far, packets before it were
                // lost or undecodable: fill the hole with silence so that every later timestamp
                // in a transcript still points at the right moment of the call.
                if let Some(frames_per_tick) = frames_per_tick {
                    let ticks = packet.pts.get() as f64 + packet.trim_start.get() as f64;
                    let start = ticks * frames_per_tick;
                    let origin = *origin.get_or_insert(start - pcm.frames() as f64);
                    pcm.fill_gap_to(start - origin);
                }
                pcm.append(&buf).map_err(|reason| corrupt(path, reason))?;
            }
            // One damaged packet costs a few milliseconds of audio and decoders recover at the
            // next one (whose timestamp fills the hole), so skip it and judge the file as a whole
            // once the stream has ended.
            Err(e @ (DecodeError::DecodeError(_) | DecodeError::IoError(_))) => {
                bad_packets += 1;
                first_bad.get_or_insert_with(|| e.to_string());
            }
            Err(DecodeError::ResetRequired) => break,
            Err(e) => return Err(corrupt(path, e)),
        }
    }

    // Mostly-undecodable streams are also what random bytes look like once the probe has found a
    // plausible MP3 frame header in them, so they are rejected rather than returned as noise.
    if bad_packets > good_packets {
        let reason = first_bad.unwrap_or_default();
        return Err(corrupt(
            path,
            format!(
                "{bad_packets} of {} packets failed to decode ({reason})",
                bad_packets + good_packets
            ),
        ));
    }
    if pcm.frames() == 0 {
        return Err(if truncated {
            AudioError::Truncated {
                path: path.to_owned(),
                reason: "the file ends before its first complete block of audio".into(),
            }
        } else {
            empty(path, "the file contains no audio samples")
        });
    }
    if !PLAUSIBLE_RATES.contains(&pcm.rate) {
        return Err(unsupported_format(
            path,
            format!("implausible sample rate {} Hz", pcm.rate),
        ));
    }
    if truncated {
        tracing::warn!(
            path = %path.display(),
            seconds = pcm.frames() as f64 / f64::from(pcm.rate),
            "recording ends mid-stream; using the audio before the cut"
        );
    }
    if bad_packets > 0 {
        tracing::warn!(
            path = %path.display(),
            bad_packets,
            first_error = first_bad.as_deref().unwrap_or_default(),
            "skipped undecodable packets"
        );
    }
    Ok(pcm)
}

/// Whether the file opens with the signature of a container we read, so that running out of
/// data while probing means it was cut short. The probe also hunts for signatures further in (to
/// get past junk and tags), and in random bytes it can latch onto a chance match and then run out
/// of data; that is not a truncated audio file. A bare MP3 frame sync is left out for the same
/// reason: two bytes match too much that is not audio.
pub(super) fn starts_like_audio(bytes: &[u8]) -> bool {
    let wav = bytes.starts_with(b"RIFF") && bytes.get(8..12).is_none_or(|form| form == b"WAVE");
    wav || [&b"fLaC"[..], b"OggS", b"ID3"]
        .iter()
        .any(|m| bytes.starts_with(m))
}

/// Maps a failure to recognise or open the container.
fn probe_error(
    path: &Path,
    error: DecodeError,
    wav_fmt: Option<WavFmt>,
    has_magic: bool,
) -> AudioError {
    let unrecognised = || {
        if has_magic {
            AudioError::Truncated {
                path: path.to_owned(),
                reason: "the file ends inside its header".into(),
            }
        } else {
            unsupported_format(path, NOT_AUDIO)
        }
    };
    match error {
        DecodeError::IoError(e) if e.kind() == io::ErrorKind::UnexpectedEof => unrecognised(),
        DecodeError::IoError(cause) => AudioError::Unreadable {
            path: path.to_owned(),
            cause,
        },
        // Symphonia says these only in text. Matching on it is brittle, but the tests pin it,
        // and the alternative is calling "unsupported" a file that is merely cut short, empty,
        // or in a telephony codec we could name.
        DecodeError::Unsupported(msg) if msg.contains("no suitable format reader") => {
            unrecognised()
        }
        DecodeError::Unsupported(msg) if msg.contains("missing data chunk") => {
            empty(path, "the WAV file has a header but no data chunk")
        }
        DecodeError::Unsupported(msg) if msg.contains("unsupported wave format") => {
            let codec = match wav_fmt {
                Some(fmt) => fmt.codec_name(),
                None => "unknown WAV codec".into(),
            };
            AudioError::UnsupportedCodec {
                path: path.to_owned(),
                codec,
            }
        }
        DecodeError::Unsupported(msg) => unsupported_format(path, msg),
        other => corrupt(path, other),
    }
}

/// Names a codec Symphonia can identify but not decode.
fn codec_name(id: AudioCodecId) -> String {
    use codec_ids::*;
    let name = match id {
        CODEC_ID_OPUS => "Opus",
        CODEC_ID_SPEEX => "Speex",
        CODEC_ID_AAC => "AAC",
        CODEC_ID_ALAC => "ALAC",
        CODEC_ID_AC3 => "AC-3",
        CODEC_ID_EAC3 => "E-AC-3",
        CODEC_ID_MP1 => "MPEG Layer I",
        CODEC_ID_MP2 => "MPEG Layer II",
        CODEC_ID_WMA => "WMA",
        CODEC_ID_ADPCM_G722 => "G.722",
        CODEC_ID_ADPCM_G726 | CODEC_ID_ADPCM_G726LE => "G.726",
        CODEC_ID_WAVPACK => "WavPack",
        _ => return format!("codec id {id}"),
    };
    name.into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::test_support::*;
    use crate::audio::{SAMPLE_RATE, decode_file};
    use std::process::Command;

    /// A WAV file built by hand, for encodings `hound` does not write.
    fn write_raw_wav(path: &Path, tag: u16, rate: u32, bits: u16, fmt_len: u32, data: &[u8]) {
        let block_align = bits.div_ceil(8).max(1);
        let mut fmt = Vec::new();
        fmt.extend_from_slice(&tag.to_le_bytes());
        fmt.extend_from_slice(&1u16.to_le_bytes());
        fmt.extend_from_slice(&rate.to_le_bytes());
        fmt.extend_from_slice(&(rate * u32::from(block_align)).to_le_bytes());
        fmt.extend_from_slice(&block_align.to_le_bytes());
        fmt.extend_from_slice(&bits.to_le_bytes());
        fmt.resize(fmt_len as usize, 0);

        let mut file = Vec::new();
        file.extend_from_slice(b"RIFF");
        file.extend_from_slice(&(4 + 8 + fmt_len + 8 + data.len() as u32).to_le_bytes());
        file.extend_from_slice(b"WAVEfmt ");
        file.extend_from_slice(&fmt_len.to_le_bytes());
        file.extend_from_slice(&fmt);
        file.extend_from_slice(b"data");
        file.extend_from_slice(&(data.len() as u32).to_le_bytes());
        file.extend_from_slice(data);
        fs::write(path, file).unwrap();
    }

    /// G.711 µ-law, as a telephone switch would encode it.
    fn mulaw_encode(sample: f32) -> u8 {
        const BIAS: i32 = 0x84;
        let linear = (sample * 32767.0) as i32;
        let sign = if linear < 0 { 0x80 } else { 0 };
        let magnitude = linear.abs().min(32635) + BIAS;
        let exponent = (31 - magnitude.leading_zeros() as i32) - 7;
        let mantissa = (magnitude >> (exponent + 3)) & 0x0f;
        !(sign | (exponent << 4) | mantissa) as u8
    }

    /// G.711 A-law.
    fn alaw_encode(sample: f32) -> u8 {
        let linear = ((sample * 32767.0) as i32) >> 3;
        let (sign, magnitude) = if linear >= 0 {
            (0x80, linear)
        } else {
            (0, -linear - 1)
        };
        let magnitude = magnitude.min(0xfff);
        let (exponent, mantissa) = if magnitude < 32 {
            (0, magnitude >> 1)
        } else {
            let exponent = (31 - magnitude.leading_zeros() as i32) - 4;
            (exponent, (magnitude >> exponent) & 0x0f)
        };
        ((sign | (exponent << 4) | mantissa) ^ 0x55) as u8
    }

    fn have(tool: &str, args: &[&str]) -> bool {
        Command::new(tool)
            .args(args)
            .output()
            .is_ok_and(|o| o.status.success())
    }

    // ---- decoding ------------------------------------------------------------------------

    #[test]
    fn decodes_every_pcm_wav_encoding() {
        let dir = tempfile::tempdir().unwrap();
        let signal = sine(440.0, 0.5, 16_000, 0.5);
        let float = hound::WavSpec {
            sample_format: hound::SampleFormat::Float,
            ..int_spec(1, 16_000, 32)
        };
        let cases = [
            (int_spec(1, 16_000, 8), "pcm_u8", 1.0 / 64.0),
            (int_spec(1, 16_000, 16), "pcm_s16le", 1e-4),
            (int_spec(1, 16_000, 24), "pcm_s24le", 1e-6),
            (int_spec(1, 16_000, 32), "pcm_s32le", 1e-6),
            (float, "pcm_f32le", 1e-7),
        ];
        for (spec, codec, tolerance) in cases {
            let path = dir.path().join(format!("{codec}.wav"));
            write_hound(&path, spec, std::slice::from_ref(&signal));
            let audio = decode_file(&path).unwrap();
            assert_eq!(audio.codec, codec);
            assert_eq!((audio.source_rate, audio.channels.len()), (16_000, 1));
            assert!((audio.duration_s - 0.5).abs() < 1e-9);
            let worst = audio.channels[0]
                .iter()
                .zip(&signal)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f32::max);
            assert!(worst <= tolerance, "{codec}: error {worst}");
        }
    }

    #[test]
    fn decodes_g711_wav_with_either_header_length() {
        let dir = tempfile::tempdir().unwrap();
        let signal = sine(440.0, 0.5, 16_000, 0.5);
        // Telephony systems often write the 16-byte header, which Symphonia alone rejects.
        for fmt_len in [16, 18] {
            for (tag, codec, encode) in [
                (WavFmt::MULAW, "pcm_mulaw", mulaw_encode as fn(f32) -> u8),
                (WavFmt::ALAW, "pcm_alaw", alaw_encode),
            ] {
                let path = dir.path().join(format!("{codec}-{fmt_len}.wav"));
                let data: Vec<u8> = signal.iter().map(|&s| encode(s)).collect();
                write_raw_wav(&path, tag, 16_000, 8, fmt_len, &data);
                let audio = decode_file(&path).unwrap();
                assert_eq!(audio.codec, codec);
                assert_eq!(audio.frames(), signal.len());
                // G.711 keeps about 3% relative precision, plus a small step near zero.
                for (decoded, original) in audio.channels[0].iter().zip(&signal) {
                    let error = (decoded - original).abs();
                    assert!(
                        error <= 0.002 + 0.04 * original.abs(),
                        "{codec}: {decoded} vs {original}"
                    );
                }
            }
        }
    }

    #[test]
    fn stereo_stays_two_channels_and_low_rates_are_resampled() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("call.wav");
        let agent = sine(440.0, 0.5, 8000, 1.0);
        let customer = vec![0.0; agent.len()];
        write_hound(&path, int_spec(2, 8000, 16), &[agent, customer]);

        let audio = decode_file(&path).unwrap();
        assert_eq!(audio.source_rate, 8000);
        assert_eq!(audio.channels.len(), 2);
        assert_eq!(audio.frames(), 16_000);
        assert_eq!(audio.channels[1].len(), 16_000);
        assert!((audio.duration_s - 1.0).abs() < 1e-9);
        assert!((tone_frequency(middle(&audio.channels[0]), SAMPLE_RATE) - 440.0).abs() < 1.0);
        assert!(audio.channels[1].iter().all(|&s| s == 0.0));
        assert_eq!(audio.mono().len(), 16_000);
    }

    /// Encodes a 44.1 kHz stereo tone with an external tool and checks it decodes to the tone.
    fn check_compressed(extension: &str, codec: &str, encode: impl FnOnce(&Path, &Path)) {
        let dir = tempfile::tempdir().unwrap();
        let wav = dir.path().join("source.wav");
        let encoded = dir.path().join(format!("tone.{extension}"));
        let tone = sine(440.0, 0.5, 44_100, 2.0);
        write_hound(&wav, int_spec(2, 44_100, 16), &[tone.clone(), tone]);
        encode(&wav, &encoded);

        let audio = decode_file(&encoded).unwrap();
        assert_eq!(audio.codec, codec);
        assert_eq!((audio.source_rate, audio.channels.len()), (44_100, 2));
        // Lossy encoders may add a frame of padding.
        assert!(
            (audio.duration_s - 2.0).abs() < 0.1,
            "duration {}",
            audio.duration_s
        );
        let f = tone_frequency(middle(&audio.channels[1]), SAMPLE_RATE);
        assert!((f - 440.0).abs() < 2.0, "{codec}: frequency {f}");
        let level = dbfs(middle(&audio.channels[0]));
        assert!(
            (level - dbfs(&[0.5, -0.5]) + 3.01).abs() < 0.5,
            "{codec}: level {level}"
        );
    }

    #[test]
    fn decodes_flac() {
        if !sox_writes("flac") {
            return println!("skipping: sox is missing or cannot write FLAC");
        }
        check_compressed("flac", "flac", |wav, out| run("sox", &[wav, out]));
    }

    #[test]
    fn decodes_ogg_vorbis() {
        if !sox_writes("vorbis") {
            return println!("skipping: sox is missing or cannot write Ogg Vorbis");
        }
        check_compressed("ogg", "vorbis", |wav, out| run("sox", &[wav, out]));
    }

    #[test]
    fn decodes_mp3() {
        if sox_writes("mp3") {
            check_compressed("mp3", "mp3", |wav, out| run("sox", &[wav, out]));
        } else if have("lame", &["--version"]) {
            check_compressed("mp3", "mp3", |wav, out| {
                run("lame", &[Path::new("--quiet"), wav, out]);
            });
        } else {
            println!("skipping: neither sox nor lame can write MP3 here");
        }
    }

    #[test]
    fn truncated_files_keep_the_audio_before_the_cut() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cut.wav");
        write_hound(
            &path,
            int_spec(1, 16_000, 16),
            &[sine(440.0, 0.5, 16_000, 2.0)],
        );
        let bytes = fs::read(&path).unwrap();
        fs::write(&path, &bytes[..44 + 32_000]).unwrap();
        let audio = decode_file(&path).unwrap();
        // Half the data is there; the last partial packet may be lost with the cut.
        assert!(
            (0.9..=1.0).contains(&audio.duration_s),
            "duration {}",
            audio.duration_s
        );

        if sox_writes("flac") {
            let wav = dir.path().join("tone.wav");
            let flac = dir.path().join("tone.flac");
            write_hound(&wav, int_spec(1, 16_000, 16), &[noise(32_000, -20.0, 7)]);
            run("sox", &[&wav, &flac]);
            let bytes = fs::read(&flac).unwrap();
            fs::write(&flac, &bytes[..bytes.len() / 2]).unwrap();
            let audio = decode_file(&flac).unwrap();
            assert!(
                (0.5..1.9).contains(&audio.duration_s),
                "duration {}",
                audio.duration_s
            );
        }
    }

    // ---- errors --------------------------------------------------------------------------

    #[test]
    fn missing_file_and_directory() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.wav");
        assert!(matches!(
            expect_error(&missing),
            AudioError::NotFound { .. }
        ));
        assert!(matches!(
            expect_error(dir.path()),
            AudioError::Unreadable { .. }
        ));
    }

    #[test]
    fn empty_files() {
        let dir = tempfile::tempdir().unwrap();
        let zero = dir.path().join("zero.wav");
        fs::write(&zero, b"").unwrap();
        assert!(matches!(expect_error(&zero), AudioError::Empty { .. }));

        let header_only = dir.path().join("header.wav");
        write_hound(&header_only, int_spec(1, 8000, 16), &[vec![]]);
        assert!(matches!(
            expect_error(&header_only),
            AudioError::Empty { .. }
        ));

        let no_data_chunk = dir.path().join("nodata.wav");
        let mut bytes = fs::read(&header_only).unwrap();
        bytes.truncate(36);
        bytes[4..8].copy_from_slice(&28u32.to_le_bytes());
        fs::write(&no_data_chunk, bytes).unwrap();
        assert!(matches!(
            expect_error(&no_data_chunk),
            AudioError::Empty { .. }
        ));
    }

    #[test]
    fn files_cut_before_any_audio_are_truncated() {
        let dir = tempfile::tempdir().unwrap();
        let full = dir.path().join("full.wav");
        write_hound(&full, int_spec(1, 8000, 16), &[sine(440.0, 0.5, 8000, 1.0)]);
        let bytes = fs::read(&full).unwrap();
        // Inside the header, then a header that promises data which is not there.
        for (name, len) in [("cut-header.wav", 20), ("cut-data.wav", 44)] {
            let path = dir.path().join(name);
            fs::write(&path, &bytes[..len]).unwrap();
            assert!(
                matches!(expect_error(&path), AudioError::Truncated { .. }),
                "{name}"
            );
        }
    }

    #[test]
    fn every_cut_through_a_header_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let full = dir.path().join("full.wav");
        let data: Vec<u8> = sine(440.0, 0.5, 8000, 0.1)
            .iter()
            .map(|&s| mulaw_encode(s))
            .collect();
        write_raw_wav(&full, WavFmt::MULAW, 8000, 8, 16, &data);
        let bytes = fs::read(&full).unwrap();
        let cut = dir.path().join("cut.wav");
        // From the "RIFF" magic on, the file is recognisably a WAV that stops short.
        for len in 4..=44 {
            fs::write(&cut, &bytes[..len]).unwrap();
            let err = expect_error(&cut);
            assert!(
                matches!(err, AudioError::Truncated { .. } | AudioError::Empty { .. }),
                "{len} bytes: {err}"
            );
        }
    }

    #[test]
    fn random_bytes_and_text_are_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let garbage: Vec<u8> = noise(64 * 1024, -3.0, 42)
            .iter()
            .map(|s| (s * 127.0 + 128.0) as u8)
            .collect();
        for name in ["random.wav", "random.mp3", "random.bin"] {
            let path = dir.path().join(name);
            fs::write(&path, &garbage).unwrap();
            let err = expect_error(&path);
            assert!(
                matches!(
                    err,
                    AudioError::UnsupportedFormat { .. } | AudioError::Corrupt { .. }
                ),
                "{err}"
            );
        }

        let text = dir.path().join("notes.wav");
        fs::write(&text, "Agent greeted the customer by name.\n".repeat(50)).unwrap();
        let err = expect_error(&text);
        assert!(matches!(err, AudioError::UnsupportedFormat { .. }), "{err}");
    }

    #[test]
    fn unsupported_codec_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g723.wav");
        write_raw_wav(&path, 0x0042, 8000, 0, 20, &[0; 640]);
        let err = expect_error(&path);
        assert!(matches!(err, AudioError::UnsupportedCodec { .. }), "{err}");
        assert!(err.to_string().contains("G.723.1"), "{err}");
    }

    #[test]
    fn malformed_header_reports_what_the_decoder_said() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("12bit.wav");
        write_raw_wav(&path, 0x0001, 8000, 12, 16, &[0; 300]);
        let err = expect_error(&path);
        assert!(matches!(err, AudioError::Corrupt { .. }), "{err}");
        assert!(err.to_string().contains("bits per sample"), "{err}");
    }
}
