//! A trained head: a linear layer and a softmax over the encoder's embedding, stored as a small ONNX
//! graph whose metadata carries what the numbers mean (its kind, labels, the encoder it was trained
//! on and its held-out metrics). ONNX Runtime computes the probabilities, the same way it computes
//! the embeddings, so a head trained by `guion train` runs anywhere the encoder runs.

use super::onnx::{self, AttributeProto, ModelProto, NodeProto, TensorProto, ValueInfoProto};
use super::{ClassifyError, Embedding};
use guion_models as models;
use ort::session::Session;
use ort::value::Tensor;
use prost::Message;
use std::path::Path;

/// What a head decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
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

    fn parse(s: &str) -> Option<HeadKind> {
        match s {
            "tone" => Some(HeadKind::Tone),
            "value" => Some(HeadKind::Value),
            _ => None,
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

impl LinearHead {
    /// The head as ONNX bytes. Deterministic: the same numbers give the same bytes, hence the same id.
    pub fn to_onnx(&self) -> Vec<u8> {
        let dim = self.weights.first().map_or(0, Vec::len);
        let k = self.labels.len();
        // MatMul wants [dim, k]; we keep one row per label.
        let mut w = vec![0.0f32; dim * k];
        for (label, row) in self.weights.iter().enumerate() {
            for (d, x) in row.iter().enumerate() {
                w[d * k + label] = *x;
            }
        }
        let node = |op: &str, inputs: &[&str], output: &str| NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![output.into()],
            name: output.into(),
            op_type: op.into(),
            attribute: Vec::new(),
        };
        let mut softmax = node("Softmax", &["logits"], "probabilities");
        softmax.attribute.push(AttributeProto {
            name: "axis".into(),
            i: -1,
            r#type: 2,
        });
        let meta = |key: &str, value: String| onnx::StringStringEntryProto {
            key: key.into(),
            value,
        };
        let model = ModelProto {
            ir_version: 8,
            producer_name: "guion".into(),
            producer_version: env!("CARGO_PKG_VERSION").into(),
            doc_string: format!(
                "guion {} head over multilingual-e5-small",
                self.kind.as_str()
            ),
            graph: Some(onnx::GraphProto {
                node: vec![
                    node("MatMul", &["embedding", "weights"], "scores"),
                    node("Add", &["scores", "bias"], "logits"),
                    softmax,
                ],
                name: format!("guion-{}-head", self.kind.as_str()),
                initializer: vec![
                    TensorProto {
                        dims: vec![dim as i64, k as i64],
                        data_type: onnx::FLOAT,
                        float_data: w,
                        name: "weights".into(),
                    },
                    TensorProto {
                        dims: vec![k as i64],
                        data_type: onnx::FLOAT,
                        float_data: self.bias.clone(),
                        name: "bias".into(),
                    },
                ],
                input: vec![ValueInfoProto {
                    name: "embedding".into(),
                    r#type: Some(onnx::float_type(&[None, Some(dim as i64)])),
                }],
                output: vec![ValueInfoProto {
                    name: "probabilities".into(),
                    r#type: Some(onnx::float_type(&[None, Some(k as i64)])),
                }],
            }),
            opset_import: vec![onnx::OperatorSetIdProto {
                domain: String::new(),
                version: 17,
            }],
            metadata_props: vec![
                meta("guion.kind", self.kind.as_str().into()),
                meta(
                    "guion.labels",
                    serde_json::to_string(&self.labels).unwrap_or_default(),
                ),
                meta("guion.encoder", self.encoder.clone()),
                meta("guion.notes", self.notes.clone()),
            ],
        };
        model.encode_to_vec()
    }

    /// Writes the head atomically and returns its id.
    pub fn write(&self, path: &Path) -> std::io::Result<String> {
        let bytes = self.to_onnx();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        models::atomic::write(path, &bytes)?;
        Ok(head_id(self.kind, &guion_core::hash::sha256_bytes(&bytes)))
    }

    /// Probabilities for one embedding, computed here rather than by ONNX Runtime: used while
    /// training, where a session per candidate model would cost more than the arithmetic.
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

/// A head loaded into ONNX Runtime.
pub struct Head {
    session: Session,
    pub kind: HeadKind,
    pub labels: Vec<String>,
    /// `tone-…`/`value-…`: goes into every result the head produces.
    pub id: String,
    pub encoder: String,
    pub notes: String,
}

impl Head {
    pub fn load(path: &Path, threads: usize) -> Result<Head, ClassifyError> {
        let not_a_head = |reason: &str| ClassifyError::NotAHead {
            path: path.to_path_buf(),
            reason: reason.into(),
        };
        let sha = models::sha256_file(path).map_err(|e| ClassifyError::Load {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        let session = guion_models::runtime::session(path, threads)?;
        let metadata = session.metadata().map_err(|e| not_a_head(&e.to_string()))?;
        let kind = metadata
            .custom("guion.kind")
            .and_then(|k| HeadKind::parse(&k))
            .ok_or_else(|| not_a_head("no guion.kind in its metadata"))?;
        let labels: Vec<String> = metadata
            .custom("guion.labels")
            .and_then(|l| serde_json::from_str(&l).ok())
            .ok_or_else(|| not_a_head("no guion.labels in its metadata"))?;
        let encoder = metadata.custom("guion.encoder").unwrap_or_default();
        let notes = metadata.custom("guion.notes").unwrap_or_default();
        drop(metadata);
        Ok(Head {
            session,
            kind,
            labels,
            id: head_id(kind, &sha),
            encoder,
            notes,
        })
    }

    /// One probability row per embedding, in label order.
    pub fn predict(&mut self, embeddings: &[Embedding]) -> Result<Vec<Vec<f32>>, ClassifyError> {
        let Some(dim) = embeddings.first().map(Vec::len) else {
            return Ok(Vec::new());
        };
        let run = |e: ort::Error| ClassifyError::Run(e.to_string());
        let flat: Vec<f32> = embeddings.iter().flatten().copied().collect();
        let input =
            Tensor::from_array(([embeddings.len() as i64, dim as i64], flat)).map_err(run)?;
        let outputs = self
            .session
            .run(ort::inputs!["embedding" => input])
            .map_err(run)?;
        let (_, data) = outputs["probabilities"]
            .try_extract_tensor::<f32>()
            .map_err(run)?;
        Ok(data
            .chunks(self.labels.len().max(1))
            .map(<[f32]>::to_vec)
            .collect())
    }
}
