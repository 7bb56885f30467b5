//! ARCHITECTURE.md's invariants that a machine can check: the crate floors and what each floor may
//! not link, the core's lack of I/O, and where `unsafe` may appear. Reads `cargo metadata` and the
//! sources; loads no model, so it runs anywhere in a second.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

struct Graph {
    /// Package id → name.
    names: BTreeMap<String, String>,
    /// Package id → ids of its normal (not dev, not build) dependencies.
    normal: BTreeMap<String, Vec<String>>,
    /// Workspace member name → id.
    members: BTreeMap<String, String>,
}

/// The machine's target triple: the graph is read for it alone, so that other platforms' crates
/// (which cargo would have to download) stay out of it.
fn host() -> String {
    let out = Command::new("rustc")
        .arg("-vV")
        .output()
        .expect("rustc runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .expect("rustc -vV names the host")
        .to_string()
}

fn graph() -> Graph {
    let output = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--locked", "--offline"])
        .args(["--filter-platform", &host()])
        .current_dir(root())
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let meta: Value = serde_json::from_slice(&output.stdout).unwrap();
    // `cargo test` at the root (the README's command, CI's) must reach every crate's unit tests.
    let set = |key: &str| -> BTreeSet<String> {
        meta[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|id| id.as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        set("workspace_default_members"),
        set("workspace_members"),
        "Cargo.toml's default-members must list every crate"
    );
    let names: BTreeMap<String, String> = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["id"].as_str().unwrap().to_string(),
                p["name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let members = meta["workspace_members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| {
            let id = id.as_str().unwrap().to_string();
            (names[&id].clone(), id)
        })
        .collect();
    let normal = meta["resolve"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|node| {
            let deps = node["deps"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| {
                    d["dep_kinds"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|k| k["kind"].is_null())
                })
                .map(|d| d["pkg"].as_str().unwrap().to_string())
                .collect();
            (node["id"].as_str().unwrap().to_string(), deps)
        })
        .collect();
    Graph {
        names,
        normal,
        members,
    }
}

impl Graph {
    /// Every package `name` links, itself excluded.
    fn closure(&self, name: &str) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut todo = vec![self.members[name].clone()];
        while let Some(id) = todo.pop() {
            for dep in &self.normal[&id] {
                if seen.insert(dep.clone()) {
                    todo.push(dep.clone());
                }
            }
        }
        seen.iter().map(|id| self.names[id].clone()).collect()
    }

    /// The workspace crates `name` depends on directly.
    fn floors_below(&self, name: &str) -> BTreeSet<String> {
        self.normal[&self.members[name]]
            .iter()
            .map(|id| self.names[id].clone())
            .filter(|n| self.members.contains_key(n))
            .collect()
    }
}

/// The floors: each crate and the workspace crates it may use. Cargo forbids cycles; this also
/// forbids a crate reaching sideways or up (meaning never links speech, models never links meaning).
#[test]
fn crates_stand_on_the_floors_architecture_md_draws() {
    let g = graph();
    let expected: [(&str, &[&str]); 8] = [
        ("guion-core", &[]),
        ("guion-judge", &[]),
        ("guion-judge-server", &["guion-judge"]),
        ("guion-models", &["guion-core"]),
        ("guion-speech", &["guion-core", "guion-models"]),
        ("guion-meaning", &["guion-core", "guion-models"]),
        (
            "guion-night",
            &[
                "guion-core",
                "guion-judge",
                "guion-meaning",
                "guion-models",
                "guion-speech",
            ],
        ),
        (
            "guion",
            &[
                "guion-core",
                "guion-meaning",
                "guion-models",
                "guion-night",
                "guion-speech",
            ],
        ),
    ];
    let members: BTreeSet<&str> = g.members.keys().map(String::as_str).collect();
    assert_eq!(
        members,
        expected.iter().map(|(n, _)| *n).collect(),
        "a crate was added or removed: update ARCHITECTURE.md and this table"
    );
    for (name, below) in expected {
        let found = g.floors_below(name);
        let wanted: BTreeSet<String> = below.iter().map(|s| s.to_string()).collect();
        assert_eq!(found, wanted, "{name}'s workspace dependencies");
    }
}

/// What each floor must not link, even indirectly.
#[test]
fn heavy_crates_stay_out_of_the_floors_that_do_not_need_them() {
    let g = graph();
    let speech_and_models = ["ct2rs", "symphonia", "rubato"];
    let runtime = ["ort", "ort-sys", "tokenizers"];
    // rayon is not here: tokenizers uses it inside the meaning crate.
    let night = ["rusqlite", "libsqlite3-sys", "minijinja"];
    let cli = [
        "clap",
        "clap_builder",
        "anstream",
        "indicatif",
        "tracing-subscriber",
    ];
    // Only the judge's own server links llama.cpp: a 1.8 GB model and its crashes stay out of the
    // workers' process.
    let llama = ["llama-cpp-2", "llama-cpp-sys-2"];
    let rules: [(&str, Vec<&str>); 8] = [
        (
            "guion-core",
            [
                &speech_and_models[..],
                &runtime,
                &night,
                &cli,
                &["rayon"],
                &llama,
            ]
            .concat(),
        ),
        (
            "guion-models",
            [
                &speech_and_models[..],
                &night,
                &cli,
                &["tokenizers"],
                &llama,
            ]
            .concat(),
        ),
        (
            "guion-meaning",
            [&speech_and_models[..], &night, &cli, &llama].concat(),
        ),
        ("guion-speech", [&night[..], &cli, &llama].concat()),
        ("guion-night", [&cli[..], &llama].concat()),
        ("guion", llama.to_vec()),
        (
            "guion-judge",
            [&speech_and_models[..], &runtime, &night, &cli, &llama].concat(),
        ),
        (
            "guion-judge-server",
            [&speech_and_models[..], &runtime, &night, &cli].concat(),
        ),
    ];
    // The graph is the real one: the floors that need these do link them.
    assert!(g.closure("guion-speech").contains("ct2rs"));
    assert!(g.closure("guion-meaning").contains("tokenizers"));
    assert!(g.closure("guion-night").contains("rusqlite"));
    assert!(g.closure("guion-judge-server").contains("llama-cpp-sys-2"));
    for (name, banned) in rules {
        let links = g.closure(name);
        let found: Vec<&&str> = banned.iter().filter(|b| links.contains(**b)).collect();
        assert!(found.is_empty(), "{name} links {found:?}");
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The pure core does no I/O: it parses what it is handed. Tests inside it may embed files with
/// `include_str!`, which happens at compile time.
#[test]
fn the_core_opens_no_file_and_writes_nowhere() {
    let mut files = Vec::new();
    rust_files(&root().join("crates/core/src"), &mut files);
    let io = [
        "std::fs",
        "std::net",
        "std::process",
        "File::",
        "OpenOptions",
        "std::env::var",
        "stdin()",
        "stdout()",
        "stderr()",
        "println!",
        "eprintln!",
    ];
    let mut found = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for (n, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("//") {
                continue;
            }
            for pattern in io {
                if line.contains(pattern) {
                    found.push(format!("{}:{}: {pattern}", file.display(), n + 1));
                }
            }
        }
    }
    assert!(files.len() > 20, "the core's sources were not found");
    assert!(found.is_empty(), "I/O in the core:\n{}", found.join("\n"));
}

/// No `unsafe` but libgsm's binding and the speech engine's process settings: every crate root
/// denies it, and those two files allow it for themselves.
#[test]
fn unsafe_code_lives_in_the_gsm_binding_and_the_process_settings_alone() {
    let roots = [
        "crates/core/src/lib.rs",
        "crates/models/src/lib.rs",
        "crates/speech/src/lib.rs",
        "crates/meaning/src/lib.rs",
        "crates/night/src/lib.rs",
        "crates/judge/src/lib.rs",
        "crates/judge-server/src/lib.rs",
        "crates/judge-server/src/main.rs",
        "src/main.rs",
    ];
    for file in roots {
        let text = std::fs::read_to_string(root().join(file)).unwrap();
        assert!(
            text.contains("#![deny(unsafe_code)]"),
            "{file} does not deny unsafe code"
        );
    }
    let mut files = Vec::new();
    rust_files(&root().join("crates"), &mut files);
    rust_files(&root().join("src"), &mut files);
    let mut allowing: Vec<String> = files
        .iter()
        .filter(|f| {
            std::fs::read_to_string(f)
                .unwrap()
                .contains("allow(unsafe_code)")
        })
        .map(|f| f.strip_prefix(root()).unwrap().display().to_string())
        .collect();
    allowing.sort();
    assert_eq!(
        allowing,
        [
            "crates/speech/src/asr/process.rs",
            "crates/speech/src/audio/gsm.rs"
        ]
    );
}
