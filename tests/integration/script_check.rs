//! `guion script check` on the example scripts: compiler-style diagnostics, a summary per file, and
//! the exit status that CI can gate on.

use crate::util;
use std::process::Output;

fn check(files: &[&str]) -> Output {
    util::guion()
        .args(["script", "check"])
        .args(files)
        .output()
        .unwrap()
}

#[test]
fn the_good_examples_check_clean() {
    let output = check(&[
        "examples/scripts/acme-seguros.toml",
        "examples/scripts/telco-en.toml",
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert_eq!(
        stdout.lines().collect::<Vec<_>>(),
        [
            "acme-seguros 2026-11: 7 steps (5 required), 3 forbidden, 3 values, languages es, en — ok",
            "northwind-mobile 2026.2: 8 steps (7 required), 2 forbidden, 2 values, languages en — ok",
        ]
    );
}

#[test]
fn the_broken_example_fails_with_every_diagnostic_located() {
    let output = check(&["examples/scripts/broken.toml"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    let located = |prefix: &str| lines.iter().any(|l| l.starts_with(prefix));
    for prefix in [
        "examples/scripts/broken.toml:4:1: error: [script] has no `version`",
        "examples/scripts/broken.toml:7:18: error: `min_similarity` must be between 0 and 1",
        "examples/scripts/broken.toml:12:8: error: unknown role `agnet`",
        "examples/scripts/broken.toml:13:33: warning: `last_s` 60 with end_s 30",
        "examples/scripts/broken.toml:14:1: error: unknown key `varients` in [[step]]; did you mean `variants`?",
        "examples/scripts/broken.toml:15:48: error: unbalanced `{`",
        "examples/scripts/broken.toml:16:16: error: empty phrase",
        "examples/scripts/broken.toml:17:10: error: language `fr` is not in [script] languages",
        "examples/scripts/broken.toml:20:6: warning: duplicate step id `greeting`",
        "examples/scripts/broken.toml:22:10: error: `weight` must be 0 or more",
        "examples/scripts/broken.toml:23:22: error: `start_s` (40) must be before `end_s` (30)",
        "examples/scripts/broken.toml:24:16: warning: step `greeting` contains \"le garantizo\"",
        "examples/scripts/broken.toml:25:16: warning: same variant as step `greeting`",
        "examples/scripts/broken.toml:29:12: error: unknown severity `critical`",
    ] {
        assert!(located(prefix), "missing {prefix:?} in\n{stdout}");
    }
    assert_eq!(
        lines.last().copied(),
        Some(
            "broken: 2 steps (2 required), 1 forbidden, 0 values, languages es, en — 10 errors, 4 warnings"
        )
    );
}

#[test]
fn one_bad_file_fails_the_run_but_every_file_is_checked() {
    let output = check(&[
        "examples/scripts/broken.toml",
        "examples/scripts/no-such-script.toml",
        "examples/scripts/telco-en.toml",
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("examples/scripts/no-such-script.toml: error: cannot read: "),
        "{stdout}"
    );
    assert!(stdout.trim_end().ends_with("languages en — ok"), "{stdout}");
}

#[test]
fn a_toml_syntax_error_is_located_too() {
    let dir = util::tempdir();
    let path = dir.path().join("typo.toml");
    std::fs::write(&path, "[script]\nid = \"x\nversion = \"1\"\n").unwrap();
    let output = check(&[path.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    let expected = format!("{}:2:8: error: invalid basic string", path.display());
    assert!(stdout.starts_with(&expected), "{stdout}");
    assert!(stdout.contains("typo.toml: not read — 1 error"), "{stdout}");
}
