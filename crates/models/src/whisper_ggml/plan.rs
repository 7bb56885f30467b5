//! The whisper.cpp header's hyper-parameters, recovered from tensor shapes, and the tensor plan:
//! which ggml tensor comes from which CT2 variable (or which rows of it). Both are worked out
//! before any output is written, so a model that cannot be converted fails early.

use std::path::Path;

use super::ConvertError;
use super::ct2::{Ct2Dtype, Ct2Index, Ct2Var};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Hparams {
    pub(super) n_vocab: usize,
    pub(super) n_audio_ctx: usize,
    pub(super) n_audio_state: usize,
    pub(super) n_audio_head: usize,
    pub(super) n_audio_layer: usize,
    pub(super) n_text_ctx: usize,
    pub(super) n_text_state: usize,
    pub(super) n_text_head: usize,
    pub(super) n_text_layer: usize,
    pub(super) n_mels: usize,
}

impl Hparams {
    pub(super) fn from_index(index: &Ct2Index, path: &Path) -> Result<Self, ConvertError> {
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

    pub(super) fn as_i32s(&self) -> [i32; 10] {
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum GgmlType {
    F32 = 0,
    F16 = 1,
}

#[derive(Debug, Clone)]
pub(super) struct TensorPlan {
    pub(super) ggml_name: String,
    pub(super) ct2_name: String,
    /// Row range of a fused CT2 matrix/bias (fused qkv, fused cross-attention kv).
    pub(super) part: Option<(usize, usize)>,
    /// Shape in PyTorch (row-major, outermost first) order; written reversed.
    pub(super) shape: Vec<usize>,
    pub(super) ty: GgmlType,
    pub(super) var: Ct2Var,
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

pub(super) fn plan_tensors(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tensor_count_formula() {
        assert_eq!(expected_tensor_count(6, 6), 7 + 90 + 4 + 144); // base
        assert_eq!(expected_tensor_count(4, 4), 167); // tiny
    }
}
