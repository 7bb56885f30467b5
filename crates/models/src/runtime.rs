//! ONNX Runtime, the one engine behind every ONNX model guion runs (the sentence encoder, the speech
//! detector, the speaker segmenter). `ort` loads the library at run time from the cache, so nothing
//! is fetched at build time and a machine without it still transcribes and aligns.

use crate::{self as models, ModelError};
use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error(
        "ONNX Runtime cannot be loaded from {path}: {reason}; run scripts/setup (or `guion models install onnxruntime`)"
    )]
    Library { path: PathBuf, reason: String },
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("{path}: {reason}")]
    Load { path: PathBuf, reason: String },
}

/// Where the runtime library is: `$ORT_DYLIB_PATH` if the user set it, else the cache.
fn library_path() -> Result<PathBuf, RuntimeError> {
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH").filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    Ok(models::resolve("onnxruntime")?.path)
}

/// ONNX Runtime allows one environment per process; every session of every worker shares it.
fn environment() -> Result<&'static ort::environment::Environment, RuntimeError> {
    static ENV: OnceLock<Result<ort::environment::Environment, String>> = OnceLock::new();
    let path = library_path()?;
    let env = ENV.get_or_init(|| {
        // A library that is not ONNX Runtime at all can make the loader panic instead of failing.
        let built = std::panic::catch_unwind(|| {
            ort::init_from(&path)
                .map_err(|e| e.to_string())?
                .with_name("guion")
                .build()
                .map_err(|e| e.to_string())
        });
        match built {
            Ok(result) => result,
            Err(_) => Err("the library could not be initialised".to_string()),
        }
    });
    env.as_ref().map_err(|reason| RuntimeError::Library {
        path,
        reason: reason.clone(),
    })
}

/// A session with `threads` intra-op threads: workers are the parallelism, and ORT's spinning
/// threads on a two-core machine cost more than they give.
pub fn session(path: &Path, threads: usize) -> Result<Session, RuntimeError> {
    let env = environment()?;
    let load = |reason: String| RuntimeError::Load {
        path: path.to_path_buf(),
        reason,
    };
    if !path.is_file() {
        return Err(load("no such file".into()));
    }
    let option = |e: ort::Error<_>| load(e.to_string());
    // ort's builder leaves ONNX Runtime's default optimisation level, which skips the fusions the
    // int8 encoder relies on (without them it ran at 0.58x Python onnxruntime: scripts/bench-classify).
    let mut builder = Session::builder(env)
        .map_err(|e| load(e.to_string()))?
        .with_optimization_level(GraphOptimizationLevel::All)
        .map_err(option)?
        .with_intra_threads(threads.max(1))
        .map_err(option)?
        .with_inter_threads(1)
        .map_err(option)?
        .with_intra_op_spinning(false)
        .map_err(option)?;
    builder
        .commit_from_file(path)
        .map_err(|e| load(e.to_string()))
}
