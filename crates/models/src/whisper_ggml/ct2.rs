//! CTranslate2 `model.bin`: its variables indexed in one pass, their data read one at a time.

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use half::{bf16, f16};

use super::{ConvertError, io_err};

/// CTranslate2 `DataType` ids as stored in binary version >= 4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ct2Dtype {
    F32,
    I8,
    I16,
    I32,
    F16,
    Bf16,
}

impl Ct2Dtype {
    fn from_id(id: u8) -> Option<Self> {
        Some(match id {
            0 => Self::F32,
            1 => Self::I8,
            2 => Self::I16,
            3 => Self::I32,
            4 => Self::F16,
            5 => Self::Bf16,
            _ => return None,
        })
    }

    fn size(self) -> usize {
        match self {
            Self::I8 => 1,
            Self::I16 | Self::F16 | Self::Bf16 => 2,
            Self::F32 | Self::I32 => 4,
        }
    }

    pub(super) fn name(self) -> &'static str {
        match self {
            Self::F32 => "float32",
            Self::I8 => "int8",
            Self::I16 => "int16",
            Self::I32 => "int32",
            Self::F16 => "float16",
            Self::Bf16 => "bfloat16",
        }
    }
}

/// One variable of `model.bin`: where its data is, not the data itself.
#[derive(Debug, Clone)]
pub struct Ct2Var {
    /// Position in the file, for error messages ("tensor 124").
    pub ordinal: usize,
    pub shape: Vec<usize>,
    pub dtype: Ct2Dtype,
    pub offset: u64,
    pub n_bytes: u64,
    /// Small variables (scalars, flags) are kept inline; they are never more than a few bytes
    /// and the hparams are read from them.
    pub small: Option<Vec<u8>>,
}

#[derive(Debug, Default)]
pub struct Ct2Index {
    pub spec: String,
    pub vars: HashMap<String, Ct2Var>,
    /// alias -> target (e.g. the decoder projection tied to the token embedding).
    pub aliases: HashMap<String, String>,
}

impl Ct2Index {
    pub(super) fn scalar_int(&self, name: &str) -> Option<i64> {
        let v = self.vars.get(name)?;
        let b = v.small.as_deref()?;
        if !v.shape.is_empty() || b.len() != v.dtype.size() {
            return None;
        }
        Some(match v.dtype {
            Ct2Dtype::I8 => b[0] as i8 as i64,
            Ct2Dtype::I16 => i16::from_le_bytes([b[0], b[1]]) as i64,
            Ct2Dtype::I32 => i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as i64,
            _ => return None,
        })
    }
}

const CT2_BINARY_VERSION: u32 = 6;
const SMALL_VAR_BYTES: u64 = 64;

/// A position-tracking reader over `model.bin` that turns every short read into a
/// [`ConvertError::Truncated`] naming what was being read.
pub struct Ct2Reader<'p, R> {
    inner: R,
    pos: u64,
    len: u64,
    path: &'p Path,
}

impl<'p, R: Read + Seek> Ct2Reader<'p, R> {
    pub fn new(inner: R, len: u64, path: &'p Path) -> Self {
        Self {
            inner,
            pos: 0,
            len,
            path,
        }
    }

    fn left(&self) -> u64 {
        self.len.saturating_sub(self.pos)
    }

    fn truncated(&self, detail: String) -> ConvertError {
        ConvertError::Truncated {
            path: self.path.to_path_buf(),
            detail,
        }
    }

    fn format(&self, detail: String) -> ConvertError {
        ConvertError::Format {
            path: self.path.to_path_buf(),
            detail,
        }
    }

    fn bytes(&mut self, n: usize, what: &dyn Fn() -> String) -> Result<Vec<u8>, ConvertError> {
        if (n as u64) > self.left() {
            return Err(self.truncated(format!(
                "{} needs {n} bytes, {} left",
                what(),
                self.left()
            )));
        }
        let mut buf = vec![0u8; n];
        self.inner
            .read_exact(&mut buf)
            .map_err(io_err("read", self.path))?;
        self.pos += n as u64;
        Ok(buf)
    }

    fn u8(&mut self, what: &dyn Fn() -> String) -> Result<u8, ConvertError> {
        Ok(self.bytes(1, what)?[0])
    }

    fn u16(&mut self, what: &dyn Fn() -> String) -> Result<u16, ConvertError> {
        let b = self.bytes(2, what)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self, what: &dyn Fn() -> String) -> Result<u32, ConvertError> {
        let b = self.bytes(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A CT2 string: u16 length that counts a trailing NUL, then the bytes and the NUL.
    pub fn string(&mut self, what: &dyn Fn() -> String) -> Result<String, ConvertError> {
        let n = self.u16(what)? as usize;
        let raw = self.bytes(n, what)?;
        // CT2 itself reads up to the first NUL (it builds a std::string from a C string).
        let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
        String::from_utf8(raw[..end].to_vec())
            .map_err(|_| self.format(format!("{} is not UTF-8", what())))
    }

    fn skip(&mut self, n: u64) -> Result<(), ConvertError> {
        let delta = i64::try_from(n).map_err(|_| self.format(format!("cannot skip {n} bytes")))?;
        self.inner
            .seek(SeekFrom::Current(delta))
            .map_err(io_err("seek in", self.path))?;
        self.pos += n;
        Ok(())
    }

    fn seek_to(&mut self, pos: u64) -> Result<(), ConvertError> {
        if pos != self.pos {
            self.inner
                .seek(SeekFrom::Start(pos))
                .map_err(io_err("seek in", self.path))?;
            self.pos = pos;
        }
        Ok(())
    }

    /// Pass one: every variable's name, shape, type and position; data is skipped.
    pub fn read_index(&mut self) -> Result<Ct2Index, ConvertError> {
        let version = self.u32(&|| "the format version".into())?;
        if version != CT2_BINARY_VERSION {
            return Err(self.format(format!(
                "binary format version {version}; only version {CT2_BINARY_VERSION} (CTranslate2 3.x/4.x) is supported"
            )));
        }
        let spec = self.string(&|| "the model spec name".into())?;
        if spec != "WhisperSpec" {
            return Err(self.format(format!("model spec is {spec:?}, not \"WhisperSpec\"")));
        }
        let _revision = self.u32(&|| "the spec revision".into())?;
        let n_vars = self.u32(&|| "the variable count".into())? as usize;

        let mut index = Ct2Index {
            spec,
            ..Default::default()
        };
        for ordinal in 0..n_vars {
            let at = |what: &'static str| {
                move || format!("the {what} of variable {ordinal} of {n_vars}")
            };
            let name = self.string(&at("name"))?;
            let named = |what: &'static str| {
                let name = name.clone();
                move || format!("the {what} of variable {ordinal} ({name})")
            };
            let rank = self.u8(&named("rank"))? as usize;
            let mut shape = Vec::with_capacity(rank);
            for _ in 0..rank {
                shape.push(self.u32(&named("shape"))? as usize);
            }
            let type_id = self.u8(&named("type"))?;
            let dtype = Ct2Dtype::from_id(type_id).ok_or_else(|| {
                self.format(format!(
                    "variable {ordinal} ({name}) has unknown type id {type_id}"
                ))
            })?;
            let n_bytes = self.u32(&named("byte count"))? as u64;
            let elements: usize = shape.iter().product();
            if n_bytes != (elements * dtype.size()) as u64 {
                return Err(self.format(format!(
                    "variable {ordinal} ({name}) declares {n_bytes} bytes but shape {shape:?} of {} needs {}",
                    dtype.name(),
                    elements * dtype.size()
                )));
            }
            if n_bytes > self.left() {
                return Err(self.truncated(format!(
                    "tensor {ordinal} ({name}) needs {n_bytes} bytes, {} left",
                    self.left()
                )));
            }
            let offset = self.pos;
            let small = if n_bytes <= SMALL_VAR_BYTES {
                Some(self.bytes(n_bytes as usize, &named("data"))?)
            } else {
                self.skip(n_bytes)?;
                None
            };
            index.vars.insert(
                name,
                Ct2Var {
                    ordinal,
                    shape,
                    dtype,
                    offset,
                    n_bytes,
                    small,
                },
            );
        }

        let n_aliases = self.u32(&|| format!("the alias count after {n_vars} variables"))?;
        for i in 0..n_aliases {
            let alias = self.string(&|| format!("alias {i} of {n_aliases}"))?;
            let target = self.string(&|| format!("the target of alias {i} ({alias})"))?;
            index.aliases.insert(alias, target);
        }
        Ok(index)
    }

    /// Reads one variable's data as f32, whatever float type it is stored in.
    pub(super) fn read_f32(&mut self, name: &str, var: &Ct2Var) -> Result<Vec<f32>, ConvertError> {
        self.seek_to(var.offset)?;
        let raw = self.bytes(var.n_bytes as usize, &|| {
            format!("tensor {} ({name})", var.ordinal)
        })?;
        Ok(match var.dtype {
            Ct2Dtype::F32 => raw
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
            Ct2Dtype::F16 => raw
                .chunks_exact(2)
                .map(|c| f16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
            Ct2Dtype::Bf16 => raw
                .chunks_exact(2)
                .map(|c| bf16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
            other => {
                return Err(ConvertError::UnsupportedDtype {
                    path: self.path.to_path_buf(),
                    name: name.to_string(),
                    dtype: other.name(),
                });
            }
        })
    }
}

/// A CT2 string as `model.bin` stores it, for tests that build one by hand.
#[cfg(test)]
pub(super) fn ct2_string(s: &str) -> Vec<u8> {
    let mut v = ((s.len() + 1) as u16).to_le_bytes().to_vec();
    v.extend_from_slice(s.as_bytes());
    v.push(0);
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn reads_ct2_strings_and_reports_short_ones() {
        let mut data = ct2_string("WhisperSpec");
        data.extend(ct2_string(""));
        let p = Path::new("model.bin");
        let mut r = Ct2Reader::new(Cursor::new(data.clone()), data.len() as u64, p);
        assert_eq!(r.string(&|| "a".into()).unwrap(), "WhisperSpec");
        assert_eq!(r.string(&|| "b".into()).unwrap(), "");
        assert_eq!(r.pos, data.len() as u64);

        let cut = &data[..6];
        let mut r = Ct2Reader::new(Cursor::new(cut.to_vec()), cut.len() as u64, p);
        let e = r
            .string(&|| "the spec name".into())
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "model.bin is truncated: the spec name needs 12 bytes, 4 left"
        );
    }

    #[test]
    fn rejects_non_whisper_spec_and_unknown_version() {
        let p = Path::new("model.bin");
        let mut d = 6u32.to_le_bytes().to_vec();
        d.extend(ct2_string("TransformerSpec"));
        let e = Ct2Reader::new(Cursor::new(d.clone()), d.len() as u64, p)
            .read_index()
            .unwrap_err();
        assert!(e.to_string().contains("\"TransformerSpec\""), "{e}");
        let d = 9u32.to_le_bytes().to_vec();
        let e = Ct2Reader::new(Cursor::new(d), 4, p)
            .read_index()
            .unwrap_err();
        assert!(e.to_string().contains("version 9"), "{e}");
    }
}
