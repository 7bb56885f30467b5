//! CTranslate2 is the shared library faster-whisper's wheel carries, installed in guion's cache by
//! scripts/setup before anything is built (`cargo run --release -p guion-models --example install
//! -- ctranslate2`), which also makes the link directory `.cargo/config.toml` names. Binaries find
//! the library by their run path: this crate's own tests here; the binaries of the crates above it
//! read `DEP_GUION_CT2_LIBDIR` in their build scripts.

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=GUION_CACHE");
    println!("cargo:rerun-if-env-changed=HOME");
    // guion_models::cache_dir's rule, restated: as a build dependency guion-models would be
    // compiled a second time, for the host.
    let cache = std::env::var_os("GUION_CACHE")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/guion")
        });
    let dir = cache.join("models").join("ctranslate2");
    let found = std::fs::read_dir(&dir).ok().is_some_and(|entries| {
        entries.flatten().any(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("libctranslate2-")
        })
    });
    if !found {
        panic!(
            "{}: no CTranslate2 library; run scripts/setup (or: cargo run --release -p guion-models --example install -- ctranslate2)",
            dir.display()
        );
    }
    println!("cargo:rustc-link-arg=-Wl,-rpath,{}", dir.display());
    println!("cargo:libdir={}", dir.display());
}
