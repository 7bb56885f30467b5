//! Meaning: sentence embeddings from multilingual-e5-small through ONNX Runtime (`ort`, loaded
//! dynamically from the cache) and its tokenizer (`tokenizers`), and the small heads that turn an
//! embedding into a tone or a brand value (plain weights, computed in Rust: `head`).
//!
//! This is the only crate besides `guion-speech` that runs a model. A worker builds one `Encoder`
//! and reuses it for every call: a session costs ~2 s to load, a sentence ~15 ms. Everything that
//! decides from embeddings without running a model lives in the pure submodules (`head`, `train`,
//! `values`, `lexicon`) so that it is testable without the runtime. What the classifier says of a
//! call is plain data in `guion_core::meaning`.

#![deny(unsafe_code)]

pub mod call;
pub mod head;
pub mod lexicon;
pub mod train;
pub mod values;

use guion_models::runtime::{RuntimeError, session};
use guion_models::{self as models, ModelError};
use ort::session::Session;
use ort::value::Tensor;
use std::path::PathBuf;
use tokenizers::Tokenizer;

pub use call::{CallMeaning, Classifier, ClassifierOptions, ScriptMeaning};
pub use head::Head;

pub use guion_core::meaning::{Embedding, cosine};

/// e5 was trained with this prefix on symmetric tasks; without it similarities drift.
const E5_PREFIX: &str = "query: ";
/// XLM-R's `<pad>` id.
const PAD_ID: i64 = 1;
/// The encoder's position table ends here.
const MAX_TOKENS: usize = 512;

#[derive(Debug, thiserror::Error)]
pub enum ClassifyError {
    #[error(transparent)]
    Runtime(Box<RuntimeError>),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("{path}: {reason}")]
    Load { path: PathBuf, reason: String },
    #[error("{path}: not a guion head: {reason}; write one with `guion train`")]
    NotAHead { path: PathBuf, reason: String },
    #[error("inference failed: {0}")]
    Run(String),
    #[error("tokenizer: {0}")]
    Tokenize(String),
}

impl From<RuntimeError> for ClassifyError {
    fn from(e: RuntimeError) -> Self {
        ClassifyError::Runtime(Box::new(e))
    }
}

/// Options for loading the encoder.
#[derive(Debug, Clone)]
pub struct EncoderOptions {
    /// Manifest name or path of the ONNX encoder.
    pub model: String,
    /// Manifest name or path of its tokenizer.json.
    pub tokenizer: String,
    pub threads: usize,
    /// Sentences per inference call.
    pub batch: usize,
}

impl Default for EncoderOptions {
    fn default() -> Self {
        EncoderOptions {
            model: "e5-small".into(),
            tokenizer: "e5-tokenizer".into(),
            threads: 1,
            batch: 32,
        }
    }
}

/// multilingual-e5-small: text in, one normalised 384-d vector per sentence out.
pub struct Encoder {
    session: Session,
    tokenizer: Tokenizer,
    batch: usize,
    /// The model's identity (manifest name and sha256), for every result it produces.
    pub model: models::ResolvedModel,
}

impl Encoder {
    pub fn load(options: &EncoderOptions) -> Result<Encoder, ClassifyError> {
        let model = models::resolve(&options.model)?;
        let tokenizer_path = models::resolve(&options.tokenizer)?.path;
        let session = session(&model.path, options.threads)?;
        let tokenizer = Tokenizer::from_file(&tokenizer_path).map_err(|e| ClassifyError::Load {
            path: tokenizer_path.clone(),
            reason: e.to_string(),
        })?;
        Ok(Encoder {
            session,
            tokenizer,
            batch: options.batch.max(1),
            model,
        })
    }

    /// Embeds `texts`, in order. Texts are batched by length so that padding costs little; the
    /// batches depend only on the texts, so the same input gives the same vectors.
    pub fn embed(&mut self, texts: &[&str]) -> Result<Vec<Embedding>, ClassifyError> {
        let ids: Vec<Vec<i64>> = texts
            .iter()
            .map(|t| self.token_ids(t))
            .collect::<Result<_, _>>()?;
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| ids[i].len());
        let mut out: Vec<Embedding> = vec![Vec::new(); texts.len()];
        for chunk in order.chunks(self.batch) {
            let vectors = self.run_batch(chunk.iter().map(|&i| ids[i].as_slice()))?;
            for (&i, v) in chunk.iter().zip(vectors) {
                out[i] = v;
            }
        }
        Ok(out)
    }

    fn token_ids(&self, text: &str) -> Result<Vec<i64>, ClassifyError> {
        let encoding = self
            .tokenizer
            .encode(format!("{E5_PREFIX}{text}"), true)
            .map_err(|e| ClassifyError::Tokenize(e.to_string()))?;
        let mut ids: Vec<i64> = encoding.get_ids().iter().map(|&i| i as i64).collect();
        if ids.len() > MAX_TOKENS {
            // Keep the closing </s>: the model has only seen sentences that end with it.
            let last = ids[ids.len() - 1];
            ids.truncate(MAX_TOKENS);
            ids[MAX_TOKENS - 1] = last;
        }
        Ok(ids)
    }

    fn run_batch<'a>(
        &mut self,
        batch: impl Iterator<Item = &'a [i64]> + Clone,
    ) -> Result<Vec<Embedding>, ClassifyError> {
        let rows = batch.clone().count();
        let width = batch.clone().map(<[i64]>::len).max().unwrap_or(0);
        if rows == 0 {
            return Ok(Vec::new());
        }
        let mut input = vec![PAD_ID; rows * width];
        let mut mask = vec![0i64; rows * width];
        for (r, ids) in batch.enumerate() {
            input[r * width..r * width + ids.len()].copy_from_slice(ids);
            mask[r * width..r * width + ids.len()].fill(1);
        }
        let run = |e: ort::Error| ClassifyError::Run(e.to_string());
        let shape = [rows as i64, width as i64];
        let input = Tensor::from_array((shape, input)).map_err(run)?;
        let mask = Tensor::from_array((shape, mask)).map_err(run)?;
        let outputs = self
            .session
            .run(ort::inputs!["input_ids" => input, "attention_mask" => mask])
            .map_err(run)?;
        let (shape, data) = outputs["embeddings"]
            .try_extract_tensor::<f32>()
            .map_err(run)?;
        let dim = shape.get(1).copied().unwrap_or(0) as usize;
        Ok(data.chunks(dim.max(1)).map(<[f32]>::to_vec).collect())
    }
}

/// The mean of some normalised vectors, normalised again: a prototype.
pub fn centroid<'a>(vectors: impl IntoIterator<Item = &'a Embedding>) -> Option<Embedding> {
    let mut sum: Option<Vec<f32>> = None;
    for v in vectors {
        let s = sum.get_or_insert_with(|| vec![0.0; v.len()]);
        for (a, b) in s.iter_mut().zip(v) {
            *a += b;
        }
    }
    let mut s = sum?;
    let norm = s.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        s.iter_mut().for_each(|x| *x /= norm);
    }
    Some(s)
}
