//! Call recordings in, 16 kHz `f32` channels out, plus an energy-based speech gate.
//!
//! Whisper only accepts 16 kHz mono, while call platforms hand us anything from 8 kHz µ-law WAV
//! or GSM to 44.1 kHz MP3, so every file is decoded and resampled here once. Symphonia reads the
//! containers and codecs it knows; GSM 06.10, which it does not, goes through [`gsm`]. Channels are kept apart:
//! a stereo call recording usually has the agent on one side and the customer on the other, and
//! that split is worth more than any speaker separation we could do afterwards.

use std::fs;
use std::io::{self, Cursor};
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler};
use symphonia::core::audio::GenericAudioBufferRef;
use symphonia::core::codecs::audio::well_known as codec_ids;
use symphonia::core::codecs::audio::{AudioCodecId, AudioDecoder, AudioDecoderOptions};
use symphonia::core::errors::Error as DecodeError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, TrackType};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;

pub mod gsm;

/// The rate Whisper and [`speech_regions`] work at.
pub const SAMPLE_RATE: u32 = 16_000;

/// Source rates outside this range are treated as a broken header rather than resampled: below
/// 1 kHz nothing intelligible survives, and above 768 kHz nobody records calls.
const PLAUSIBLE_RATES: std::ops::RangeInclusive<u32> = 1_000..=768_000;

const NOT_AUDIO: &str = "not a WAV, FLAC, MP3 or Ogg Vorbis file";

/// A decoded recording.
#[derive(Debug, Clone, PartialEq)]
pub struct Audio {
    /// Sample rate of the file before resampling, in Hz.
    pub source_rate: u32,
    /// One buffer per channel, in file order, resampled to [`SAMPLE_RATE`]. All the same length.
    pub channels: Vec<Vec<f32>>,
    /// Length of the recording in seconds, measured at the source rate.
    pub duration_s: f64,
    /// The decoder's short codec name, e.g. `pcm_mulaw`, `pcm_s16le`, `flac`, `mp3`, `vorbis`,
    /// `gsm` (raw GSM 06.10 frames) or `gsm_ms` (GSM 06.10 in WAV, "WAV49").
    pub codec: String,
}

impl Audio {
    /// Number of samples per channel at [`SAMPLE_RATE`].
    pub fn frames(&self) -> usize {
        self.channels.first().map_or(0, Vec::len)
    }

    /// All channels mixed to one, for callers that want a single stream.
    pub fn mono(&self) -> Vec<f32> {
        downmix(&self.channels)
    }
}

/// Why a file could not be turned into audio. Every message starts with the file's path.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    #[error("{}: file not found", path.display())]
    NotFound { path: PathBuf },

    // `cause` rather than `source`: the reason belongs in this message, and a `source` would make
    // error reporters that walk the chain print it twice.
    #[error("{}: cannot read file: {cause}", path.display())]
    Unreadable { path: PathBuf, cause: io::Error },

    #[error("{}: no audio: {reason}", path.display())]
    Empty { path: PathBuf, reason: String },

    #[error("{}: unsupported format: {reason}", path.display())]
    UnsupportedFormat { path: PathBuf, reason: String },

    #[error("{}: unsupported codec: {codec}", path.display())]
    UnsupportedCodec { path: PathBuf, codec: String },

    #[error("{}: corrupt audio: {reason}", path.display())]
    Corrupt { path: PathBuf, reason: String },

    #[error("{}: truncated: {reason}", path.display())]
    Truncated { path: PathBuf, reason: String },
}

impl AudioError {
    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            Self::NotFound { path }
            | Self::Unreadable { path, .. }
            | Self::Empty { path, .. }
            | Self::UnsupportedFormat { path, .. }
            | Self::UnsupportedCodec { path, .. }
            | Self::Corrupt { path, .. }
            | Self::Truncated { path, .. } => path,
        }
    }
}

/// Decodes a WAV (PCM, float, µ-law, A-law, IMA/MS ADPCM, GSM 6.10), FLAC, MP3, Ogg Vorbis or raw
/// GSM 06.10 (`.gsm`, as Asterisk records it) file and resamples every channel to [`SAMPLE_RATE`].
///
/// A file that ends early but still holds some decodable audio is returned with what it has (and
/// a warning is logged), because a cut-off call is still worth scoring; one that ends before any
/// audio is [`AudioError::Truncated`].
pub fn decode_file(path: &Path) -> Result<Audio, AudioError> {
    let bytes = read_file(path)?;
    // Symphonia aims to be panic-free, but it parses bytes from outside and a batch run over
    // thousands of calls must not die on one bad file, so a panic becomes an ordinary error.
    let pcm = panic::catch_unwind(AssertUnwindSafe(|| decode_native(path, bytes)))
        .unwrap_or_else(|_| Err(corrupt(path, "the decoder crashed on this file")))?;

    let duration_s = pcm.frames() as f64 / f64::from(pcm.rate);
    let channels = resample_all(pcm.channels, pcm.rate, SAMPLE_RATE);
    Ok(Audio {
        source_rate: pcm.rate,
        channels,
        duration_s,
        codec: pcm.codec,
    })
}

/// Reads the whole file: call recordings are a few megabytes, and having the bytes lets us
/// repair a common WAV header quirk before Symphonia sees it (see [`WavFmt::needs_cb_size`]).
fn read_file(path: &Path) -> Result<Vec<u8>, AudioError> {
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
struct NativePcm {
    rate: u32,
    channels: Vec<Vec<f32>>,
    codec: String,
}

impl NativePcm {
    fn frames(&self) -> usize {
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

fn decode_native(path: &Path, bytes: Vec<u8>) -> Result<NativePcm, AudioError> {
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

/// Raw GSM has no header to recognise it by, so the name says it: Asterisk writes `.gsm`. A file so
/// named that opens like another format is read as that format.
fn is_raw_gsm(path: &Path, bytes: &[u8]) -> bool {
    let named_gsm = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("gsm"));
    named_gsm && !starts_like_audio(bytes)
}

/// GSM frames found in a file, and what the file says about them.
struct GsmData<'a> {
    bytes: &'a [u8],
    framing: gsm::Framing,
    rate: u32,
    /// The WAV `fact` chunk's sample count, which tells how much of the last block is padding.
    samples: Option<usize>,
    /// The file ends before the end its header promised.
    cut: bool,
    codec: &'static str,
}

/// Reads the `fmt ` and `data` chunks of a GSM 6.10 WAV file (format tag 0x31) and decodes it.
fn decode_gsm_wav(path: &Path, bytes: &[u8], fmt: WavFmt) -> Result<NativePcm, AudioError> {
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

/// Decodes GSM frames, judging the file as a whole the way [`decode_symphonia`] judges packets.
fn decode_gsm(path: &Path, data: GsmData<'_>) -> Result<NativePcm, AudioError> {
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

/// Whether the file opens with the signature of a container we read, so that running out of
/// data while probing means it was cut short. The probe also hunts for signatures further in (to
/// get past junk and tags), and in random bytes it can latch onto a chance match and then run out
/// of data; that is not a truncated audio file. A bare MP3 frame sync is left out for the same
/// reason: two bytes match too much that is not audio.
fn starts_like_audio(bytes: &[u8]) -> bool {
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

/// The `fmt ` chunk of a RIFF/WAVE file.
#[derive(Debug, Clone, Copy)]
struct WavFmt {
    /// Offset of the chunk's 8-byte header in the file.
    at: usize,
    len: u32,
    /// The codec, looking through `WAVE_FORMAT_EXTENSIBLE` to the real one.
    tag: u16,
}

impl WavFmt {
    const ALAW: u16 = 0x0006;
    const MULAW: u16 = 0x0007;
    const GSM: u16 = 0x0031;
    const EXTENSIBLE: u16 = 0xfffe;

    fn find(bytes: &[u8]) -> Option<Self> {
        let chunk = Chunks::new(bytes).find(|chunk| &chunk.id == b"fmt ")?;
        let tag = le16(bytes, chunk.body)?;
        // An extensible header's sub-format GUID starts with the real format tag.
        let tag = if tag == Self::EXTENSIBLE {
            le16(bytes, chunk.body + 24)?
        } else {
            tag
        };
        Some(Self {
            at: chunk.body - 8,
            len: chunk.len,
            tag,
        })
    }

    /// Symphonia insists that a µ-law or A-law `fmt ` chunk is the 18-byte `WAVEFORMATEX`, but
    /// many telephony systems write the 16-byte `PCMWAVEFORMAT` for them, which is what the
    /// format allows for any codec with no extra data.
    fn needs_cb_size(&self) -> bool {
        self.len == 16 && matches!(self.tag, Self::ALAW | Self::MULAW)
    }

    /// Turns a 16-byte `fmt ` chunk into the equivalent 18-byte one, with no extra data.
    fn insert_cb_size(&self, bytes: &mut Vec<u8>) {
        let body_end = self.at + 8 + 16;
        if bytes.len() < body_end {
            // Cut inside the chunk: leave it for the probe to report as truncated.
            return;
        }
        bytes.splice(body_end..body_end, [0, 0]);
        bytes[self.at + 4..self.at + 8].copy_from_slice(&18u32.to_le_bytes());
        // 0xffffffff means "length unknown" (streamed), which must stay as it is.
        let riff_len = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
        if riff_len != u32::MAX {
            bytes[4..8].copy_from_slice(&riff_len.saturating_add(2).to_le_bytes());
        }
    }

    /// Symphonia rejects WAV codecs it cannot decode without saying which, and "GSM 6.10" is a
    /// far more useful message than "unsupported".
    fn codec_name(&self) -> String {
        let name = match self.tag {
            0x0022 => "DSP Group TrueSpeech",
            0x0031 => "GSM 6.10",
            0x0040 => "G.721 ADPCM",
            0x0042 => "G.723.1",
            0x0050 => "MPEG audio",
            0x0055 => "MP3 inside WAV",
            0x0064 => "G.726 ADPCM",
            0x0065 => "G.722 ADPCM",
            0x0161 => "Windows Media Audio",
            _ => "unknown codec",
        };
        format!("{name} (WAV format tag {:#06x})", self.tag)
    }
}

/// One chunk of a RIFF/WAVE file, as its header describes it.
#[derive(Debug, Clone, Copy)]
struct Chunk {
    id: [u8; 4],
    /// Offset of the chunk's body (just after its 8-byte header) in the file.
    body: usize,
    /// The length the header declares, which the file may not hold.
    len: u32,
}

/// The chunks of a RIFF/WAVE file, in order; nothing for any other file.
struct Chunks<'a> {
    bytes: &'a [u8],
    /// Where the next chunk header starts; `None` once the walk is over.
    at: Option<usize>,
    /// The walk stopped because the file ends inside a chunk header or a chunk.
    cut: bool,
}

impl<'a> Chunks<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        let wave = bytes.get(..4) == Some(b"RIFF") && bytes.get(8..12) == Some(b"WAVE");
        Self {
            bytes,
            at: wave.then_some(12),
            cut: false,
        }
    }
}

impl Iterator for Chunks<'_> {
    type Item = Chunk;

    fn next(&mut self) -> Option<Chunk> {
        let at = self.at.take()?;
        if at >= self.bytes.len() {
            self.cut = at > self.bytes.len();
            return None;
        }
        let (Some(id), Some(len)) = (self.bytes.get(at..at + 4), le32(self.bytes, at + 4)) else {
            self.cut = true;
            return None;
        };
        let body = at + 8;
        // RIFF chunks are padded to an even length. A length past the address space is past the
        // end of the file: the walk ends there, cut.
        let padded = usize::try_from(len).ok().and_then(|n| n.checked_add(n & 1));
        self.at = Some(
            padded
                .and_then(|n| body.checked_add(n))
                .unwrap_or(usize::MAX),
        );
        Some(Chunk {
            id: id.try_into().expect("a 4-byte slice"),
            body,
            len,
        })
    }
}

fn le16(bytes: &[u8], at: usize) -> Option<u16> {
    let b = bytes.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes([b[0], b[1]]))
}

fn le32(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

fn empty(path: &Path, reason: &str) -> AudioError {
    AudioError::Empty {
        path: path.to_owned(),
        reason: reason.into(),
    }
}

fn unsupported_format(path: &Path, reason: impl Into<String>) -> AudioError {
    AudioError::UnsupportedFormat {
        path: path.to_owned(),
        reason: reason.into(),
    }
}

fn corrupt(path: &Path, reason: impl ToString) -> AudioError {
    AudioError::Corrupt {
        path: path.to_owned(),
        reason: reason.to_string(),
    }
}

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
fn resample_all(channels: Vec<Vec<f32>>, from_hz: u32, to_hz: u32) -> Vec<Vec<f32>> {
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
    use std::f32::consts::PI;
    use std::process::Command;

    // ---- signals -------------------------------------------------------------------------

    fn sine(freq: f32, amplitude: f32, rate: u32, seconds: f32) -> Vec<f32> {
        let n = (seconds * rate as f32).round() as usize;
        (0..n)
            .map(|i| amplitude * (2.0 * PI * freq * i as f32 / rate as f32).sin())
            .collect()
    }

    /// Deterministic white noise with the given RMS level in dBFS.
    fn noise(len: usize, rms_dbfs: f32, seed: u64) -> Vec<f32> {
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

    fn rms(samples: &[f32]) -> f32 {
        (samples.iter().map(|s| s * s).sum::<f32>() / samples.len() as f32).sqrt()
    }

    fn dbfs(samples: &[f32]) -> f32 {
        20.0 * rms(samples).log10()
    }

    /// Frequency of a pure tone from its rising zero crossings.
    fn tone_frequency(samples: &[f32], rate: u32) -> f32 {
        let crossings: Vec<usize> = (1..samples.len())
            .filter(|&i| samples[i - 1] < 0.0 && samples[i] >= 0.0)
            .collect();
        let (first, last) = (crossings[0], *crossings.last().unwrap());
        (crossings.len() - 1) as f32 * rate as f32 / (last - first) as f32
    }

    /// The middle of a signal, away from any edge effects of resampling or codec priming.
    fn middle(samples: &[f32]) -> &[f32] {
        &samples[samples.len() / 4..samples.len() * 3 / 4]
    }

    fn seconds(regions: &[SpeechRegion]) -> Vec<(f64, f64)> {
        regions.iter().map(|r| (r.start_s(), r.end_s())).collect()
    }

    fn total_seconds(regions: &[SpeechRegion]) -> f64 {
        regions
            .iter()
            .map(|r| r.len() as f64 / f64::from(SAMPLE_RATE))
            .sum()
    }

    // ---- files ---------------------------------------------------------------------------

    fn write_hound(path: &Path, spec: hound::WavSpec, channels: &[Vec<f32>]) {
        let mut writer = hound::WavWriter::create(path, spec).unwrap();
        for i in 0..channels[0].len() {
            for channel in channels {
                let s = channel[i];
                match (spec.sample_format, spec.bits_per_sample) {
                    (hound::SampleFormat::Float, _) => writer.write_sample(s).unwrap(),
                    (hound::SampleFormat::Int, 8) => {
                        writer.write_sample((s * 127.0) as i8).unwrap()
                    }
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

    fn int_spec(channels: u16, rate: u32, bits: u16) -> hound::WavSpec {
        hound::WavSpec {
            channels,
            sample_rate: rate,
            bits_per_sample: bits,
            sample_format: hound::SampleFormat::Int,
        }
    }

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

    fn sox_writes(format: &str) -> bool {
        Command::new("sox").arg("-h").output().is_ok_and(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .find(|l| l.starts_with("AUDIO FILE FORMATS:"))
                .is_some_and(|l| l.split_whitespace().any(|f| f == format))
        })
    }

    fn run(tool: &str, args: &[&Path]) {
        let status = Command::new(tool).args(args).status().unwrap();
        assert!(status.success(), "{tool} {args:?} failed");
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

    fn expect_error(path: &Path) -> AudioError {
        let err = decode_file(path).expect_err("decoding should fail");
        let message = err.to_string();
        assert!(
            message.contains(&path.display().to_string()),
            "no path in: {message}"
        );
        assert_eq!(err.path(), path);
        err
    }

    // ---- resampling ----------------------------------------------------------------------

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

    // ---- GSM 06.10 -----------------------------------------------------------------------

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

    // ---- speech gate ---------------------------------------------------------------------

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
