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

/// The first 8 bytes of `text`'s sha256 as a number: a stable, evenly spread bucket for a name
/// (a call id), the same on every machine and in every release.
pub fn sha256_u64(text: &str) -> u64 {
    let digest = Sha256::digest(text.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}
