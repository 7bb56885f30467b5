//! GSM 06.10 full-rate speech, as call recorders store it: Asterisk's raw `.gsm` files (33-byte
//! frames) and "WAV49" WAV files (format tag 0x31, 65-byte blocks that pack two frames).
//!
//! The codec itself is Debian's libgsm (`libgsm1-dev`), the reference implementation from TU Berlin
//! that sox and Asterisk also use. crates.io has no maintained GSM 06.10 decoder (`gsm-sys` 0.0.2
//! compiles its own old copy of this same C code), and writing one would mean re-deriving a 1992
//! standard's fixed-point arithmetic bit for bit. This module is the one place in guion with
//! `unsafe` code: four C functions behind [`Decoder`], which owns the C state and frees it on drop,
//! and hands the library only buffers of the size it reads.

#![allow(unsafe_code)]

use std::fmt;
use std::os::raw::{c_int, c_short};
use std::ptr::NonNull;

/// GSM 06.10 always runs at 8 kHz: it was made for the telephone band.
pub const SAMPLE_RATE: u32 = 8000;

/// Samples in one GSM frame (20 ms at 8 kHz).
pub const FRAME_SAMPLES: usize = 160;

/// How frames are laid out in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// libgsm's own 33-byte frames, each starting with the 0xD signature nibble (Asterisk `.gsm`).
    Native,
    /// Microsoft's GSM 6.10 (WAV format tag 0x31): two frames packed into 65 bytes, no signature.
    Wav49,
}

impl Framing {
    /// Bytes in one independently decodable block.
    pub const fn block_bytes(self) -> usize {
        match self {
            Self::Native => 33,
            Self::Wav49 => 65,
        }
    }

    /// Samples one block decodes to.
    pub const fn block_samples(self) -> usize {
        match self {
            Self::Native => FRAME_SAMPLES,
            Self::Wav49 => 2 * FRAME_SAMPLES,
        }
    }
}

/// What a run of blocks decoded to.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// Samples in -1..1 at [`SAMPLE_RATE`], [`Framing::block_samples`] per block; a block that would
    /// not decode is silence, so that every later time still points at the right moment.
    pub samples: Vec<f32>,
    /// Whole blocks in the input.
    pub blocks: usize,
    /// Blocks that were not GSM frames (a native frame without the 0xD signature).
    pub bad_blocks: usize,
    /// Bytes after the last whole block: a recording cut off mid-frame.
    pub leftover_bytes: usize,
}

/// Why GSM audio could not be decoded at all (damaged frames are counted in [`Decoded`] instead).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GsmError {
    /// libgsm could not allocate its state.
    OutOfMemory,
    /// The installed libgsm was built without WAV49 support, so 65-byte blocks cannot be unpacked.
    NoWav49,
}

impl fmt::Display for GsmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::OutOfMemory => "libgsm could not allocate a decoder",
            Self::NoWav49 => "the installed libgsm cannot unpack WAV49 (Microsoft GSM) blocks",
        })
    }
}

impl std::error::Error for GsmError {}

/// A block that is not a GSM frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadFrame;

/// One GSM decoder: the codec's filter memory, carried from frame to frame of one stream.
pub struct Decoder {
    state: NonNull<ffi::GsmState>,
    framing: Framing,
}

impl Decoder {
    pub fn new(framing: Framing) -> Result<Self, GsmError> {
        // SAFETY: gsm_create takes no arguments and returns a fresh state or null.
        let state = NonNull::new(unsafe { ffi::gsm_create() }).ok_or(GsmError::OutOfMemory)?;
        // Owned from here on, so an early return below still frees it.
        let decoder = Self { state, framing };
        if framing == Framing::Wav49 {
            let mut on: c_int = 1;
            // SAFETY: the state is live, and `on` outlives the call (libgsm reads it, keeps no pointer).
            let previous =
                unsafe { ffi::gsm_option(decoder.state.as_ptr(), ffi::GSM_OPT_WAV49, &mut on) };
            // gsm_option answers -1 for an option the library was built without.
            if previous < 0 {
                return Err(GsmError::NoWav49);
            }
        }
        Ok(decoder)
    }

    pub fn framing(&self) -> Framing {
        self.framing
    }

    /// Decodes one block of exactly [`Framing::block_bytes`] bytes into exactly
    /// [`Framing::block_samples`] samples.
    ///
    /// # Panics
    ///
    /// If either slice has the wrong length: that is a bug in the caller, not bad input.
    pub fn decode_block(&mut self, block: &[u8], out: &mut [i16]) -> Result<(), BadFrame> {
        assert_eq!(block.len(), self.framing.block_bytes(), "GSM block length");
        assert_eq!(out.len(), self.framing.block_samples(), "GSM output length");
        match self.framing {
            Framing::Native => self.decode_frame(block, out),
            // libgsm in WAV49 mode takes the 65 bytes as 33 then 32 (it keeps the odd half byte
            // and which half comes next between the calls), so both halves always go in, in order.
            Framing::Wav49 => {
                let (first, second) = block.split_at(33);
                let (out_first, out_second) = out.split_at_mut(FRAME_SAMPLES);
                let first = self.decode_frame(first, out_first);
                let second = self.decode_frame(second, out_second);
                first.and(second)
            }
        }
    }

    /// One call to gsm_decode. `frame` is 33 bytes, or 32 for the second half of a WAV49 block.
    fn decode_frame(&mut self, frame: &[u8], out: &mut [i16]) -> Result<(), BadFrame> {
        // libgsm reads up to 33 bytes through a mutable pointer and writes 160 samples; copying
        // into buffers of exactly those sizes means it can never reach past our memory.
        let mut bytes = [0u8; 33];
        bytes[..frame.len()].copy_from_slice(frame);
        let mut samples = [0 as c_short; FRAME_SAMPLES];
        // SAFETY: the state is live and owned by self; `bytes` holds the 33 bytes libgsm may read
        // and `samples` the 160 it writes; it keeps neither pointer after returning.
        let status = unsafe {
            ffi::gsm_decode(
                self.state.as_ptr(),
                bytes.as_mut_ptr(),
                samples.as_mut_ptr(),
            )
        };
        if status != 0 {
            // Only a native frame without the 0xD signature is refused; libgsm has then left the
            // state untouched, so the next frame decodes as if this one had been silence.
            return Err(BadFrame);
        }
        out.copy_from_slice(&samples);
        Ok(())
    }
}

impl Drop for Decoder {
    fn drop(&mut self) {
        // SAFETY: the state came from gsm_create, is freed only here, and is not used afterwards.
        unsafe { ffi::gsm_destroy(self.state.as_ptr()) }
    }
}

/// Decodes a run of blocks (a raw `.gsm` file's bytes, or a WAV file's `data` chunk). Bytes past the
/// last whole block are left over, not an error: a cut-off call is still worth scoring.
pub fn decode(bytes: &[u8], framing: Framing) -> Result<Decoded, GsmError> {
    let mut decoder = Decoder::new(framing)?;
    let blocks = bytes.chunks_exact(framing.block_bytes());
    let leftover_bytes = blocks.remainder().len();
    let block_count = blocks.len();
    let mut samples = Vec::with_capacity(block_count * framing.block_samples());
    let mut pcm = vec![0i16; framing.block_samples()];
    let mut bad_blocks = 0;
    for block in blocks {
        match decoder.decode_block(block, &mut pcm) {
            Ok(()) => samples.extend(pcm.iter().map(|&s| f32::from(s) / 32768.0)),
            Err(BadFrame) => {
                bad_blocks += 1;
                samples.resize(samples.len() + framing.block_samples(), 0.0);
            }
        }
    }
    Ok(Decoded {
        samples,
        blocks: block_count,
        bad_blocks,
        leftover_bytes,
    })
}

/// The part of Debian's libgsm (`/usr/include/gsm.h`, GSM patch level 22) that guion calls.
mod ffi {
    use std::os::raw::{c_int, c_short, c_uchar};

    /// `struct gsm_state`, opaque: only libgsm looks inside.
    #[repr(C)]
    pub struct GsmState {
        _private: [u8; 0],
    }

    pub const GSM_OPT_WAV49: c_int = 4;

    #[link(name = "gsm")]
    unsafe extern "C" {
        pub fn gsm_create() -> *mut GsmState;
        pub fn gsm_destroy(state: *mut GsmState);
        pub fn gsm_option(state: *mut GsmState, option: c_int, value: *mut c_int) -> c_int;
        pub fn gsm_decode(
            state: *mut GsmState,
            frame: *mut c_uchar,
            samples: *mut c_short,
        ) -> c_int;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic bytes; with `native`, each 33-byte frame gets the 0xD signature so it decodes.
    fn frames(count: usize, framing: Framing, seed: u64) -> Vec<u8> {
        let mut state = seed | 1;
        let mut bytes: Vec<u8> = (0..count * framing.block_bytes())
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 32) as u8
            })
            .collect();
        if framing == Framing::Native {
            for frame in bytes.chunks_mut(33) {
                frame[0] = 0xd0 | (frame[0] & 0x0f);
            }
        }
        bytes
    }

    #[test]
    fn each_native_frame_gives_160_samples() {
        let decoded = decode(&frames(50, Framing::Native, 1), Framing::Native).unwrap();
        assert_eq!(decoded.blocks, 50);
        assert_eq!(decoded.bad_blocks, 0);
        assert_eq!(decoded.leftover_bytes, 0);
        assert_eq!(decoded.samples.len(), 50 * FRAME_SAMPLES);
        assert!(decoded.samples.iter().all(|s| (-1.0..1.0).contains(s)));
        assert!(decoded.samples.iter().any(|&s| s != 0.0), "all silence");
    }

    #[test]
    fn each_wav49_block_gives_320_samples_and_needs_no_signature() {
        let bytes = frames(20, Framing::Wav49, 2);
        let decoded = decode(&bytes, Framing::Wav49).unwrap();
        assert_eq!((decoded.blocks, decoded.bad_blocks), (20, 0));
        assert_eq!(decoded.samples.len(), 20 * 2 * FRAME_SAMPLES);
        assert!(decoded.samples.iter().any(|&s| s != 0.0), "all silence");
        // The same bytes as native frames mostly lack the signature.
        let native = decode(&bytes[..33 * 39], Framing::Native).unwrap();
        assert!(native.bad_blocks > native.blocks / 2, "{native:?}");
    }

    #[test]
    fn a_frame_without_the_signature_becomes_silence_in_its_place() {
        let mut bytes = frames(3, Framing::Native, 3);
        bytes[33] = 0x2a;
        let decoded = decode(&bytes, Framing::Native).unwrap();
        assert_eq!((decoded.blocks, decoded.bad_blocks), (3, 1));
        assert_eq!(decoded.samples.len(), 3 * FRAME_SAMPLES);
        assert!(decoded.samples[160..320].iter().all(|&s| s == 0.0));
        // libgsm leaves its state alone on a refused frame: the third frame decodes as if the
        // second had never been there.
        let mut skipped = bytes[..33].to_vec();
        skipped.extend_from_slice(&bytes[66..]);
        let without = decode(&skipped, Framing::Native).unwrap();
        assert_eq!(decoded.samples[320..], without.samples[160..]);
    }

    #[test]
    fn bytes_after_the_last_whole_block_are_left_over() {
        for (framing, extra) in [
            (Framing::Native, 32),
            (Framing::Native, 1),
            (Framing::Wav49, 64),
        ] {
            let mut bytes = frames(2, framing, 4);
            bytes.extend(std::iter::repeat_n(0xd0, extra));
            let decoded = decode(&bytes, framing).unwrap();
            assert_eq!(decoded.blocks, 2, "{framing:?}");
            assert_eq!(decoded.leftover_bytes, extra, "{framing:?}");
            assert_eq!(decoded.samples.len(), 2 * framing.block_samples());
        }
        let nothing = decode(&[0xd0; 20], Framing::Native).unwrap();
        assert_eq!((nothing.blocks, nothing.leftover_bytes), (0, 20));
        assert!(nothing.samples.is_empty());
    }

    #[test]
    fn the_decoder_carries_its_state_from_frame_to_frame() {
        for framing in [Framing::Native, Framing::Wav49] {
            let bytes = frames(10, framing, 5);
            let whole = decode(&bytes, framing).unwrap().samples;
            // Block by block through one decoder: the same samples.
            let mut decoder = Decoder::new(framing).unwrap();
            let mut pcm = vec![0i16; framing.block_samples()];
            let mut one_by_one = Vec::new();
            for block in bytes.chunks(framing.block_bytes()) {
                decoder.decode_block(block, &mut pcm).unwrap();
                one_by_one.extend(pcm.iter().map(|&s| f32::from(s) / 32768.0));
            }
            assert_eq!(whole, one_by_one, "{framing:?}");
            // A fresh decoder per block forgets the filter memory, so the samples differ: the
            // state really is carried over.
            let fresh: Vec<f32> = bytes
                .chunks(framing.block_bytes())
                .flat_map(|block| decode(block, framing).unwrap().samples)
                .collect();
            assert_ne!(whole, fresh, "{framing:?}");
        }
    }

    #[test]
    fn every_decoder_starts_from_the_same_state() {
        // Each decoder owns its own state, created and freed with it: nothing is shared between
        // calls, so the same bytes always give the same samples.
        let bytes = frames(1, Framing::Wav49, 6);
        let first = decode(&bytes, Framing::Wav49).unwrap();
        for _ in 0..10_000 {
            assert_eq!(decode(&bytes, Framing::Wav49).unwrap(), first);
        }
    }
}
