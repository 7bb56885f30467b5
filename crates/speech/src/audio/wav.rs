//! RIFF/WAVE headers: the chunk walk and the `fmt ` chunk. Symphonia reads WAV itself, but the
//! header is read here first: to repair it, to name a codec Symphonia will not decode, and to find
//! GSM in WAV.

/// The `fmt ` chunk of a RIFF/WAVE file.
#[derive(Debug, Clone, Copy)]
pub(super) struct WavFmt {
    /// Offset of the chunk's 8-byte header in the file.
    pub(super) at: usize,
    pub(super) len: u32,
    /// The codec, looking through `WAVE_FORMAT_EXTENSIBLE` to the real one.
    pub(super) tag: u16,
}

impl WavFmt {
    pub(super) const ALAW: u16 = 0x0006;
    pub(super) const MULAW: u16 = 0x0007;
    pub(super) const GSM: u16 = 0x0031;
    const EXTENSIBLE: u16 = 0xfffe;

    pub(super) fn find(bytes: &[u8]) -> Option<Self> {
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
    pub(super) fn needs_cb_size(&self) -> bool {
        self.len == 16 && matches!(self.tag, Self::ALAW | Self::MULAW)
    }

    /// Turns a 16-byte `fmt ` chunk into the equivalent 18-byte one, with no extra data.
    pub(super) fn insert_cb_size(&self, bytes: &mut Vec<u8>) {
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
    pub(super) fn codec_name(&self) -> String {
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
pub(super) struct Chunk {
    pub(super) id: [u8; 4],
    /// Offset of the chunk's body (just after its 8-byte header) in the file.
    pub(super) body: usize,
    /// The length the header declares, which the file may not hold.
    pub(super) len: u32,
}

/// The chunks of a RIFF/WAVE file, in order; nothing for any other file.
pub(super) struct Chunks<'a> {
    bytes: &'a [u8],
    /// Where the next chunk header starts; `None` once the walk is over.
    at: Option<usize>,
    /// The walk stopped because the file ends inside a chunk header or a chunk.
    pub(super) cut: bool,
}

impl<'a> Chunks<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Self {
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

pub(super) fn le16(bytes: &[u8], at: usize) -> Option<u16> {
    let b = bytes.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes([b[0], b[1]]))
}

pub(super) fn le32(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}
