//! Content ids: the sha256 that names a transcript, a result and a model's bytes.

use sha2::{Digest, Sha256};

/// sha256 of bytes already in memory, as lowercase hex.
pub fn sha256_bytes(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Lowercase hex of a digest.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `name:sha256-prefix`: how results name the model that made them, short enough to read.
pub fn short_id(name: &str, sha256: &str) -> String {
    format!("{name}:{}", &sha256[..12.min(sha256.len())])
}
