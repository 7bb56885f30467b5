//! Installs models from the manifest into guion's cache, without the `guion` binary: scripts/setup
//! runs it for CTranslate2's library, which the binary links and so must exist before it is built.
//!
//! usage: cargo run --release -p guion-models --example install -- NAME...

fn main() {
    let names: Vec<String> = std::env::args().skip(1).collect();
    if names.is_empty() {
        eprintln!("usage: install NAME...");
        std::process::exit(2);
    }
    let run = || -> Result<(), guion_models::ModelError> {
        let manifest = guion_models::Manifest::embedded()?;
        for name in &names {
            guion_models::install(manifest.get(name)?, &mut |line| eprintln!("{line}"))?;
        }
        Ok(())
    };
    if let Err(e) = run() {
        eprintln!("install: {e}");
        std::process::exit(1);
    }
}
