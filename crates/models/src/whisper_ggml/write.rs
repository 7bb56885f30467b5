//! The ggml output: header, mel filters, vocabulary, then every tensor as the plan says.

use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, Write};
use std::path::Path;

use half::f16;

use super::ct2::Ct2Reader;
use super::mel::mel_filterbank;
use super::plan::{GgmlType, Hparams, TensorPlan};
use super::{ConvertError, io_err};

const GGML_MAGIC: u32 = 0x6767_6d6c;
const GGML_FTYPE_F16: i32 = 1;
/// Whisper's STFT: 16 kHz audio, 25 ms (400-sample) window.
const SAMPLE_RATE: f64 = 16_000.0;
const N_FFT: usize = 400;

pub(super) fn write_ggml<R: Read + Seek>(
    src: &mut Ct2Reader<'_, R>,
    hp: &Hparams,
    tokens: &[Vec<u8>],
    plan: &[TensorPlan],
    part: &Path,
) -> Result<u64, ConvertError> {
    let file = File::create(part).map_err(io_err("create", part))?;
    let mut w = CountingWriter {
        inner: BufWriter::with_capacity(1 << 20, file),
        bytes: 0,
    };
    let wr = |e| ConvertError::Io {
        action: "write",
        path: part.to_path_buf(),
        source: e,
    };

    w.i32(GGML_MAGIC as i32).map_err(wr)?;
    for v in hp.as_i32s() {
        w.i32(v).map_err(wr)?;
    }
    w.i32(GGML_FTYPE_F16).map_err(wr)?;

    let n_bins = N_FFT / 2 + 1;
    w.i32(hp.n_mels as i32).map_err(wr)?;
    w.i32(n_bins as i32).map_err(wr)?;
    for v in mel_filterbank(SAMPLE_RATE, N_FFT, hp.n_mels) {
        w.write_all(&v.to_le_bytes()).map_err(wr)?;
    }

    w.i32(tokens.len() as i32).map_err(wr)?;
    for t in tokens {
        w.i32(t.len() as i32).map_err(wr)?;
        w.write_all(t).map_err(wr)?;
    }

    // Fused sources are read once per part; caching the last one avoids re-reading a 3n×n
    // matrix three times while keeping memory at one source tensor.
    let mut cached: Option<(String, Vec<f32>)> = None;
    for t in plan {
        let var = &t.var;
        if cached
            .as_ref()
            .map(|(n, _)| n != &t.ct2_name)
            .unwrap_or(true)
        {
            let data = src.read_f32(&t.ct2_name, var)?;
            cached = Some((t.ct2_name.clone(), data));
        }
        let data = &cached.as_ref().expect("just filled").1;
        let slice = match t.part {
            None => &data[..],
            Some((k, n)) => {
                let len = data.len() / n;
                &data[k * len..(k + 1) * len]
            }
        };

        let name = t.ggml_name.as_bytes();
        w.i32(t.shape.len() as i32).map_err(wr)?;
        w.i32(name.len() as i32).map_err(wr)?;
        w.i32(t.ty as i32).map_err(wr)?;
        for &d in t.shape.iter().rev() {
            w.i32(d as i32).map_err(wr)?;
        }
        w.write_all(name).map_err(wr)?;
        let mut buf = Vec::with_capacity(slice.len() * 4);
        match t.ty {
            GgmlType::F32 => slice
                .iter()
                .for_each(|v| buf.extend_from_slice(&v.to_le_bytes())),
            GgmlType::F16 => slice
                .iter()
                .for_each(|v| buf.extend_from_slice(&f16::from_f32(*v).to_le_bytes())),
        }
        w.write_all(&buf).map_err(wr)?;
    }

    w.inner.flush().map_err(wr)?;
    let bytes = w.bytes;
    let file = w.inner.into_inner().map_err(|e| wr(e.into_error()))?;
    file.sync_all().map_err(io_err("fsync", part))?;
    Ok(bytes)
}

struct CountingWriter<W> {
    inner: W,
    bytes: u64,
}

impl<W: Write> CountingWriter<W> {
    fn i32(&mut self, v: i32) -> io::Result<()> {
        self.write_all(&v.to_le_bytes())
    }
}

impl<W: Write> Write for CountingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
