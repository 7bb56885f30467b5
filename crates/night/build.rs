//! Binaries here link guion-speech, and so CTranslate2's shared library: they find it by their run
//! path, the directory guion-speech's build script linked it from.

fn main() {
    if let Some(dir) = std::env::var_os("DEP_GUION_CT2_LIBDIR") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", dir.to_string_lossy());
    }
}
