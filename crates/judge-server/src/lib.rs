//! The judge's model, in process: Qwen2.5-Coder-1.5B-Instruct (GGUF Q4_K_M) through llama.cpp.
//!
//! Only the `guion-judge` binary of this crate links it: the model, its memory and its crashes stay
//! out of the workers' process (see `guion-judge`'s crate documentation), so guion talks to this
//! through `guion_judge::JudgeClient`.
//!
//! Every prompt is evaluated against what the KV cache already holds: the longest common prefix of
//! token ids is kept and only the rest is decoded. A statement's prompts share the system message,
//! the instruction and the statement, so each sentence after the first costs only its own tokens and
//! the short question after them; and consecutive statements still share the system message.

#![deny(unsafe_code)]

use guion_judge::prompt::{Prompt, chat, clean_sentence, yes_probability_of};
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::{LlamaChatMessage, LlamaChatTemplate, LlamaModel};
use llama_cpp_2::token::LlamaToken;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Instant;

/// Tokens the context holds: the longest prompt is about 500 tokens of system message and examples,
/// a statement, a sentence of at most 600 characters and 6 tokens after it.
const N_CTX: u32 = 2048;

#[derive(Debug, thiserror::Error)]
pub enum JudgeError {
    #[error("{path}: no such model file")]
    Missing { path: PathBuf },
    #[error("llama.cpp: {0}")]
    Llama(String),
    #[error("the model has no usable chat template: {0}")]
    Template(String),
    #[error("the model's vocabulary has no single token for {0:?}")]
    Answer(&'static str),
    #[error("the prompt has {tokens} tokens; the context holds {N_CTX}")]
    TooLong { tokens: usize },
}

fn llama<E: std::fmt::Display>(e: E) -> JudgeError {
    JudgeError::Llama(e.to_string())
}

/// llama.cpp's global state: set up once per process, never torn down.
fn backend() -> Result<&'static LlamaBackend, JudgeError> {
    static BACKEND: OnceLock<Result<LlamaBackend, String>> = OnceLock::new();
    BACKEND
        .get_or_init(|| {
            llama_cpp_2::send_logs_to_tracing(
                llama_cpp_2::LogOptions::default().with_logs_enabled(false),
            );
            LlamaBackend::init().map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| JudgeError::Llama(e.clone()))
}

/// The loaded model and one context on it, with what its KV cache holds.
pub struct Judge {
    ctx: LlamaContext<'static>,
    model: &'static LlamaModel,
    template: LlamaChatTemplate,
    /// Token ids of the answers (`Yes`, `yes`; `No`, `no`: those that are single tokens).
    yes: Vec<LlamaToken>,
    no: Vec<LlamaToken>,
    /// The tokens whose keys and values are in sequence 0 of the KV cache, in position order.
    cached: Vec<LlamaToken>,
    /// The last statement's split prompt and prefix tokens.
    last: Option<(String, Prompt, Vec<LlamaToken>)>,
    n_batch: usize,
}

/// P(Yes) per sentence, with the seconds each took and what the statement's prefix cost.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdicts {
    pub p: Vec<f32>,
    pub seconds: Vec<f64>,
    pub prefix_seconds: f64,
}

impl Judge {
    /// Loads the GGUF model and makes a context running on `threads` threads.
    ///
    /// The model lives as long as the process (it is leaked so that the context can borrow it for
    /// `'static`): load one judge per process, as the `guion-judge` server does.
    pub fn load(path: &Path, threads: usize) -> Result<Judge, JudgeError> {
        if !path.is_file() {
            return Err(JudgeError::Missing {
                path: path.to_path_buf(),
            });
        }
        let backend = backend()?;
        let model = LlamaModel::load_from_file(backend, path, &LlamaModelParams::default())
            .map_err(llama)?;
        let model: &'static LlamaModel = Box::leak(Box::new(model));
        let threads = i32::try_from(threads.max(1)).unwrap_or(1);
        let params = LlamaContextParams::default()
            .with_n_ctx(NonZeroU32::new(N_CTX))
            .with_n_batch(N_CTX)
            .with_n_ubatch(512)
            .with_n_seq_max(1)
            .with_n_threads(threads)
            .with_n_threads_batch(threads);
        let ctx = model.new_context(backend, params).map_err(llama)?;
        let template = model
            .chat_template(None)
            .map_err(|e| JudgeError::Template(e.to_string()))?;
        let single = |text: &'static str| -> Option<LlamaToken> {
            match model.vocab().tokenize(text.as_bytes(), false, false)[..] {
                [token] => Some(token),
                _ => None,
            }
        };
        let yes: Vec<LlamaToken> = ["Yes", "yes"].into_iter().filter_map(single).collect();
        let no: Vec<LlamaToken> = ["No", "no"].into_iter().filter_map(single).collect();
        if yes.is_empty() {
            return Err(JudgeError::Answer("Yes"));
        }
        if no.is_empty() {
            return Err(JudgeError::Answer("No"));
        }
        Ok(Judge {
            ctx,
            model,
            template,
            yes,
            no,
            cached: Vec::new(),
            last: None,
            n_batch: N_CTX as usize,
        })
    }

    /// P(Yes)/(P(Yes)+P(No)) for each sentence against `statement`, reusing the KV cache.
    pub fn judge(&mut self, statement: &str, sentences: &[&str]) -> Result<Vec<f32>, JudgeError> {
        Ok(self.judge_timed(statement, sentences, true)?.p)
    }

    /// The same, with timings; with `cache` false every prompt is evaluated whole (for measuring).
    pub fn judge_timed(
        &mut self,
        statement: &str,
        sentences: &[&str],
        cache: bool,
    ) -> Result<Verdicts, JudgeError> {
        let (prompt, prefix) = self.prompt(statement)?;
        let suffix = self.tokenize(&prompt.suffix, true);
        let mut prefix_seconds = 0.0;
        if cache && sentences.len() > 1 {
            // Evaluated once up front, so that its cost is not counted against the first sentence.
            let start = Instant::now();
            self.eval(&prefix)?;
            prefix_seconds = start.elapsed().as_secs_f64();
        }
        let mut verdicts = Verdicts {
            p: Vec::with_capacity(sentences.len()),
            seconds: Vec::with_capacity(sentences.len()),
            prefix_seconds,
        };
        for sentence in sentences {
            let start = Instant::now();
            let mut tokens = prefix.clone();
            tokens.extend(self.tokenize(&clean_sentence(sentence), false));
            tokens.extend_from_slice(&suffix);
            if !cache {
                self.ctx.clear_kv_cache();
                self.cached.clear();
            }
            let last = self.eval(&tokens)?;
            let logits = self.ctx.get_logits_ith(last);
            let pick = |ids: &[LlamaToken]| -> Vec<f32> {
                ids.iter().map(|t| logits[t.0 as usize]).collect()
            };
            let p = yes_probability_of(&pick(&self.yes), &pick(&self.no));
            verdicts.p.push(p);
            verdicts.seconds.push(start.elapsed().as_secs_f64());
        }
        Ok(verdicts)
    }

    /// The text the model sees for one sentence against `statement` (for logs and tests).
    pub fn rendered(&mut self, statement: &str, sentence: &str) -> Result<String, JudgeError> {
        Ok(self.prompt(statement)?.0.full(sentence))
    }

    /// The statement's prompt, rendered with the model's chat template and split around the
    /// sentence, and the prefix's tokens; the last statement's is kept.
    fn prompt(&mut self, statement: &str) -> Result<(Prompt, Vec<LlamaToken>), JudgeError> {
        if let Some((last, prompt, tokens)) = &self.last
            && last == statement
        {
            return Ok((prompt.clone(), tokens.clone()));
        }
        let message = |role: &str, content: String| {
            LlamaChatMessage::new(role.to_string(), content)
                .map_err(|e| JudgeError::Template(e.to_string()))
        };
        let chat = chat(statement)
            .into_iter()
            .map(|(role, content)| message(role, content))
            .collect::<Result<Vec<_>, _>>()?;
        let rendered = self
            .model
            .apply_chat_template(&self.template, &chat, true)
            .map_err(|e| JudgeError::Template(e.to_string()))?;
        let prompt = Prompt::split(&rendered).map_err(|e| JudgeError::Template(e.to_string()))?;
        let tokens = self.tokenize_prefix(&prompt.prefix);
        self.last = Some((statement.to_string(), prompt.clone(), tokens.clone()));
        Ok((prompt, tokens))
    }

    /// The prompt's start: with the model's own leading token if it wants one, special tokens parsed.
    fn tokenize_prefix(&self, text: &str) -> Vec<LlamaToken> {
        self.model.vocab().tokenize(text.as_bytes(), true, true)
    }

    /// Template text (`special`: `<|im_end|>` is one token) or a sentence (plain text: it is not).
    fn tokenize(&self, text: &str, special: bool) -> Vec<LlamaToken> {
        self.model.vocab().tokenize(text.as_bytes(), false, special)
    }

    /// Brings sequence 0 of the KV cache to `tokens`, decoding only what differs from what it held,
    /// and returns the index, in the last batch, of the last token: its logits are the answer.
    fn eval(&mut self, tokens: &[LlamaToken]) -> Result<i32, JudgeError> {
        if tokens.is_empty() {
            return Err(JudgeError::Llama("empty prompt".into()));
        }
        if tokens.len() > N_CTX as usize {
            return Err(JudgeError::TooLong {
                tokens: tokens.len(),
            });
        }
        let mut keep = common_prefix(&self.cached, tokens);
        // At least the last token is decoded again: its logits are the answer.
        if keep == tokens.len() {
            keep -= 1;
        }
        self.ctx
            .clear_kv_cache_seq(Some(0), Some(keep as u32), None)
            .map_err(llama)?;
        self.cached.truncate(keep);
        let mut batch = LlamaBatch::new(self.n_batch, 1);
        let mut start = keep;
        while start < tokens.len() {
            let end = (start + self.n_batch).min(tokens.len());
            batch.clear();
            for (pos, &token) in tokens.iter().enumerate().take(end).skip(start) {
                batch
                    .add(token, pos as i32, &[0], pos + 1 == tokens.len())
                    .map_err(llama)?;
            }
            if let Err(e) = self.ctx.decode(&mut batch) {
                // What the failed batch may have left is not trusted.
                self.ctx.clear_kv_cache();
                self.cached.clear();
                return Err(llama(e));
            }
            self.cached.extend_from_slice(&tokens[start..end]);
            start = end;
        }
        Ok(batch.n_tokens() - 1)
    }
}

/// How many leading items two slices share.
fn common_prefix<T: PartialEq>(a: &[T], b: &[T]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_common_prefix_is_counted_to_the_first_difference() {
        assert_eq!(common_prefix(&[1, 2, 3], &[1, 2, 4, 5]), 2);
        assert_eq!(common_prefix(&[1, 2], &[1, 2, 3]), 2);
        assert_eq!(common_prefix::<u8>(&[], &[1]), 0);
        assert_eq!(common_prefix(&[9], &[1]), 0);
    }
}
