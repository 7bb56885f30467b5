//! A trained head: a linear layer and a softmax over the encoder's embedding, stored as plain JSON
//! weights with what the numbers mean (its kind, labels, the encoder it was trained on and its
//! held-out metrics). A 384×k product needs no runtime: Rust computes it, the same code in training
//! and in use.

use super::{ClassifyError, Embedding};
use guion_models as models;
use std::path::Path;

/// What a head decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HeadKind {
    Tone,
    Value,
}

impl HeadKind {
    pub fn as_str(self) -> &'static str {
        match self {
            HeadKind::Tone => "tone",
            HeadKind::Value => "value",
        }
    }
}

/// A head's numbers before they become a graph: `weights[k]` scores label `k`.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearHead {
    pub kind: HeadKind,
    pub labels: Vec<String>,
    pub weights: Vec<Vec<f32>>,
    pub bias: Vec<f32>,
    /// sha256 of the encoder the embeddings came from: a head is meaningless on another encoder.
    pub encoder: String,
    /// Free-form provenance shown by `guion models` and kept in results: data, seed, metrics.
    pub notes: String,
}

/// The file format's name and version, written in every head: a reader refuses what it does not know.
const FORMAT: &str = "guion-head/1";

/// A head as its file holds it: the numbers and what they mean, as plain JSON.
#[derive(serde::Serialize, serde::Deserialize)]
struct HeadFile {
    format: String,
    kind: HeadKind,
    labels: Vec<String>,
    /// sha256 of the encoder the head was trained on.
    encoder: String,
    notes: String,
    bias: Vec<f32>,
    /// One row per label, one column per embedding dimension.
    weights: Vec<Vec<f32>>,
}

impl LinearHead {
    /// The head's file. Deterministic: the same numbers give the same bytes, hence the same id
    /// (f32s are written in their shortest form that reads back to the same bits).
    pub fn to_bytes(&self) -> Vec<u8> {
        let file = HeadFile {
            format: FORMAT.into(),
            kind: self.kind,
            labels: self.labels.clone(),
            encoder: self.encoder.clone(),
            notes: self.notes.clone(),
            bias: self.bias.clone(),
            weights: self.weights.clone(),
        };
        let mut bytes = serde_json::to_vec(&file).expect("a head serialises");
        bytes.push(b'\n');
        bytes
    }

    /// Reads a head's file; `reason` says what is wrong with one that is not a head.
    pub fn from_bytes(bytes: &[u8]) -> Result<LinearHead, String> {
        let file: HeadFile = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        if file.format != FORMAT {
            return Err(format!("format `{}`, not {FORMAT}", file.format));
        }
        let k = file.labels.len();
        let dim = file.weights.first().map_or(0, Vec::len);
        if k == 0 || file.weights.len() != k || file.bias.len() != k {
            return Err(format!(
                "{k} labels but {} weight rows and {} biases",
                file.weights.len(),
                file.bias.len()
            ));
        }
        if dim == 0 || file.weights.iter().any(|row| row.len() != dim) {
            return Err("weight rows of different lengths".into());
        }
        Ok(LinearHead {
            kind: file.kind,
            labels: file.labels,
            weights: file.weights,
            bias: file.bias,
            encoder: file.encoder,
            notes: file.notes,
        })
    }

    /// Writes the head atomically and returns its id.
    pub fn write(&self, path: &Path) -> std::io::Result<String> {
        let bytes = self.to_bytes();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        models::atomic::write(path, &bytes)?;
        Ok(head_id(self.kind, &guion_core::hash::sha256_bytes(&bytes)))
    }

    /// Probabilities for one embedding: softmax(W·x + b).
    pub fn probabilities(&self, x: &[f32]) -> Vec<f32> {
        let logits: Vec<f32> = self
            .weights
            .iter()
            .zip(&self.bias)
            .map(|(w, b)| w.iter().zip(x).map(|(a, b)| a * b).sum::<f32>() + b)
            .collect();
        softmax(&logits)
    }
}

pub fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exp: Vec<f32> = logits.iter().map(|l| (l - max).exp()).collect();
    let sum: f32 = exp.iter().sum();
    exp.into_iter().map(|e| e / sum).collect()
}

/// `tone-1a2b3c4d5e6f`: the kind and the first 12 hex digits of the file's sha256.
fn head_id(kind: HeadKind, sha256: &str) -> String {
    format!("{}-{}", kind.as_str(), &sha256[..12])
}

/// A head loaded for use: its numbers and what they mean, and the id that goes into every result
/// it produces.
pub struct Head {
    pub linear: LinearHead,
    /// `tone-…`/`value-…`: the kind and the first 12 hex digits of the file's sha256.
    pub id: String,
}

impl Head {
    pub fn load(path: &Path) -> Result<Head, ClassifyError> {
        let bytes = std::fs::read(path).map_err(|e| ClassifyError::Load {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        let linear = LinearHead::from_bytes(&bytes).map_err(|reason| ClassifyError::NotAHead {
            path: path.to_path_buf(),
            reason,
        })?;
        Ok(Head {
            id: head_id(linear.kind, &guion_core::hash::sha256_bytes(&bytes)),
            linear,
        })
    }

    /// One probability row per embedding, in label order.
    pub fn predict(&self, embeddings: &[Embedding]) -> Vec<Vec<f32>> {
        embeddings
            .iter()
            .map(|e| self.linear.probabilities(e))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head() -> LinearHead {
        LinearHead {
            kind: HeadKind::Tone,
            labels: vec!["warm".into(), "cold".into()],
            weights: vec![vec![0.5, -0.25, 1.0 / 3.0], vec![-0.1, 0.2, 0.3]],
            bias: vec![0.01, -0.02],
            encoder: "abc".into(),
            notes: "seed 7".into(),
        }
    }

    #[test]
    fn a_head_file_reads_back_to_the_same_numbers_and_bytes() {
        let bytes = head().to_bytes();
        let back = LinearHead::from_bytes(&bytes).unwrap();
        assert_eq!(back, head());
        assert_eq!(back.to_bytes(), bytes);
    }

    #[test]
    fn a_file_that_is_not_a_head_says_why() {
        assert!(LinearHead::from_bytes(b"\x08\x01onnx").is_err());
        let mut wrong = head();
        wrong.bias.pop();
        let err = LinearHead::from_bytes(&wrong.to_bytes()).unwrap_err();
        assert!(
            err.contains("2 labels but 2 weight rows and 1 biases"),
            "{err}"
        );
        let other = String::from_utf8(head().to_bytes())
            .unwrap()
            .replace(FORMAT, "guion-head/9");
        let err = LinearHead::from_bytes(other.as_bytes()).unwrap_err();
        assert!(err.contains("guion-head/9"), "{err}");
    }

    #[test]
    fn a_loaded_head_predicts_softmax_of_its_linear_layer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tone.json");
        let id = head().write(&path).unwrap();
        let loaded = Head::load(&path).unwrap();
        assert_eq!(loaded.id, id);
        assert!(id.starts_with("tone-"));
        let x = vec![1.0, 0.0, 0.0];
        let p = loaded.predict(std::slice::from_ref(&x));
        let (a, b) = (0.5f32 + 0.01, -0.1f32 - 0.02);
        let expected = 1.0 / (1.0 + (b - a).exp());
        assert!((p[0][0] - expected).abs() < 1e-6, "{:?}", p);
        assert!((p[0].iter().sum::<f32>() - 1.0).abs() < 1e-6);
    }
}
