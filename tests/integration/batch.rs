//! `guion batch` end to end with the real models: a small night of the demo dialogues (as text
//! transcripts), a real recording, a corrupt recording and bad manifest rows; resuming after
//! `kill -9`; redaction; the stored call reopened in the auditor's view; Spanish Excel CSV.

use crate::util::{self, require};
use std::path::Path;
use std::process::{Output, Stdio};

const ACME: &str = "examples/scripts/acme-seguros.toml";
const FILES: [&str; 6] = [
    "calls.csv",
    "steps.csv",
    "utterances.jsonl",
    "agents.csv",
    "vendors.csv",
    "sourcing.csv",
];

fn guion(args: &[&str]) -> Output {
    util::guion().args(args).output().unwrap()
}

fn batch(manifest: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "batch",
        manifest.to_str().unwrap(),
        "--script",
        ACME,
        "--out",
        out.to_str().unwrap(),
        "--night",
        "2026-11-22",
    ];
    args.extend_from_slice(extra);
    guion(&args)
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

fn csv_rows(dir: &Path, file: &str) -> Vec<csv::StringRecord> {
    csv::Reader::from_path(dir.join(file))
        .unwrap()
        .records()
        .map(Result::unwrap)
        .collect()
}

fn column(dir: &Path, file: &str, name: &str) -> usize {
    csv::Reader::from_path(dir.join(file))
        .unwrap()
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("{file} has no column {name}"))
}

#[test]
fn a_night_with_a_recording_a_corrupt_file_and_bad_rows_scores_every_good_call() {
    require!(util::whisper(), util::encoder(), util::prompts("en"));
    let dir = util::tempdir();
    let corrupt = dir.path().join("corrupt.wav");
    let mut bytes = b"RIFF\x24\x00\x00\x00WAVEfmt ".to_vec();
    bytes.extend_from_slice(&[0x10, 0, 0, 0, 1, 0, 1, 0]);
    bytes.extend(std::iter::repeat_n(0xAB, 200));
    std::fs::write(&corrupt, bytes).unwrap();
    let prompt = util::prompt_path("en", "vm-goodbye");
    let extra = format!(
        "rec-1,{},mad-lucia,Acme in-house,madrid,insourced,en,2026-11-22T12:00:00,mono\n\
         bad-1,{},mnl-joy,CallNova,manila,outsourced,en,,\n\
         bad-2,nowhere.txt,,CallNova,manila,outsourced,en,,\n\
         bad-3,nowhere.txt,x,CallNova,manila,elsewhere,en,,\n\
         gone-1,{}/missing.txt,x,CallNova,manila,outsourced,en,,\n",
        prompt.display(),
        corrupt.display(),
        dir.path().display()
    );
    let manifest = util::text_night(dir.path(), 6, &extra);
    let out = dir.path().join("out");
    let output = batch(&manifest, &out, &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    // Bad rows are named by line; the night goes on.
    assert!(
        stderr.contains("manifest.csv:10: `agent_id` is empty"),
        "{stderr}"
    );
    assert!(
        stderr.contains("manifest.csv:11: `sourcing` must be insourced or outsourced"),
        "{stderr}"
    );

    let rows = csv_rows(&out, "calls.csv");
    let (id, status, reason) = (
        column(&out, "calls.csv", "call_id"),
        column(&out, "calls.csv", "status"),
        column(&out, "calls.csv", "reason"),
    );
    assert_eq!(rows.len(), 9, "6 dialogues + recording + corrupt + missing");
    let find = |call: &str| rows.iter().find(|r| &r[id] == call).unwrap();
    assert_eq!(&find("rec-1")[status], "scored");
    assert_eq!(&find("bad-1")[status], "failed");
    assert!(
        find("bad-1")[reason].contains("corrupt.wav"),
        "{:?}",
        find("bad-1")
    );
    assert_eq!(&find("gone-1")[status], "failed");
    assert!(find("gone-1")[reason].contains("missing.txt"));
    assert_eq!(rows.iter().filter(|r| &r[status] == "scored").count(), 7);

    // Per step, per utterance, per agent and vendor, with intervals.
    let steps = csv_rows(&out, "steps.csv");
    assert_eq!(steps.len(), 7 * 7, "seven scored calls × seven steps");
    let utterances = read(&out, "utterances.jsonl");
    let first: serde_json::Value =
        serde_json::from_str(utterances.lines().next().unwrap()).unwrap();
    assert!(first["call_id"].is_string() && first["speaker"].is_string());
    assert!(
        utterances
            .lines()
            .any(|l| l.contains("\"tone\":{\"label\""))
    );
    let vendors = csv_rows(&out, "vendors.csv");
    let (lo, hi, value) = (
        column(&out, "vendors.csv", "adherence_low"),
        column(&out, "vendors.csv", "adherence_high"),
        column(&out, "vendors.csv", "adherence"),
    );
    for v in &vendors {
        let (l, x, h): (f64, f64, f64) = (
            v[lo].parse().unwrap(),
            v[value].parse().unwrap(),
            v[hi].parse().unwrap(),
        );
        assert!(l <= x && x <= h, "{v:?}");
    }
    let sourcing = read(&out, "sourcing.csv");
    assert!(
        sourcing.contains("gap (insourced - outsourced)"),
        "{sourcing}"
    );
    assert!(out.join("guion.sqlite").is_file());
}

#[test]
fn a_night_killed_in_the_middle_and_run_again_ends_as_an_uninterrupted_one() {
    require!(util::encoder());
    let dir = util::tempdir();
    let manifest = util::text_night(dir.path(), 12, "");
    let whole = dir.path().join("whole");
    let output = batch(&manifest, &whole, &["--jobs", "1"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let resumed = dir.path().join("resumed");
    let mut child = util::guion()
        .args([
            "batch",
            manifest.to_str().unwrap(),
            "--script",
            ACME,
            "--out",
            resumed.to_str().unwrap(),
            "--night",
            "2026-11-22",
            "--jobs",
            "1",
        ])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Kill (SIGKILL: no chance to tidy up) as soon as a few calls are stored.
    let seen = util::kill_after_scored(&mut child, 4);
    assert_eq!(
        seen, 4,
        "the batch should have scored some calls before the kill"
    );

    let again = batch(&manifest, &resumed, &["--jobs", "1"]);
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(again.status.success(), "{stderr}");
    assert!(stderr.contains("already in the store"), "{stderr}");
    for file in FILES {
        assert_eq!(
            read(&whole, file),
            read(&resumed, file),
            "{file} differs after kill and resume"
        );
    }

    // A third run of a finished night analyses nothing and changes nothing.
    let third = batch(&manifest, &resumed, &["--jobs", "2"]);
    let stderr = String::from_utf8_lossy(&third.stderr);
    assert!(
        stderr.contains("12 calls: 0 scored, 12 already in the store, 0 failed"),
        "{stderr}"
    );
    for file in FILES {
        assert_eq!(
            read(&whole, file),
            read(&resumed, file),
            "{file} changed on a rerun"
        );
    }
}

#[test]
fn pii_is_redacted_in_everything_written_unless_asked_and_a_stored_call_reopens_as_it_was() {
    require!(util::encoder());
    let dir = util::tempdir();
    let call = dir.path().join("pii.txt");
    std::fs::write(
        &call,
        "[00:00] AGENTE: Acme Seguros, buenos días, soy Lucía. ¿En qué puedo ayudarle?\n\
         [00:05] CLIENTE: Quiero pagar con tarjeta: cuatro cinco tres nueve, uno cuatro ocho ocho, cero tres cuatro tres, seis cuatro seis siete.\n\
         [00:15] AGENTE: Para poder ayudarle necesito su DNI o el número de póliza.\n\
         [00:20] CLIENTE: Mi DNI es 12345678Z y mi móvil el 612 345 678, el correo ana.garcia@example.com.\n\
         [00:30] AGENTE: Gracias. Le confirmo el correo ana.garcia@example.com y el teléfono 612 345 678.\n",
    )
    .unwrap();
    let manifest = dir.path().join("m.csv");
    std::fs::write(
        &manifest,
        format!(
            "call_id,path,agent_id,vendor,site,sourcing,language\npii-1,{},mad-lucia,Acme in-house,madrid,insourced,es\n",
            call.display()
        ),
    )
    .unwrap();
    let out = dir.path().join("out");
    let output = batch(&manifest, &out, &[]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let written: String = FILES.iter().map(|f| read(&out, f)).collect();
    for secret in [
        "12345678Z",
        "612 345 678",
        "ana.garcia@example.com",
        "cuatro cinco tres nueve",
    ] {
        assert!(!written.contains(secret), "{secret} leaked");
    }
    for mark in ["[CARD]", "[DNI]", "[PHONE]", "[EMAIL]"] {
        assert!(written.contains(mark), "no {mark} in {written}");
    }
    let db = std::fs::read(out.join("guion.sqlite")).unwrap();
    assert!(
        !String::from_utf8_lossy(&db).contains("12345678Z"),
        "the store holds PII"
    );

    // The auditor's view of the stored call is the same as of the file (`guion call FILE --script
    // ACME --json`, in this process).
    let stored = guion(&["call", "pii-1", "--from", out.to_str().unwrap(), "--json"]);
    let direct = util::call_json(&call, &util::fixture(ACME), util::call_options());
    assert!(
        stored.status.success(),
        "{}",
        String::from_utf8_lossy(&stored.stderr)
    );
    let stored: serde_json::Value = serde_json::from_slice(&stored.stdout).unwrap();
    assert_eq!(stored, direct);
    let missing = guion(&["call", "nope", "--from", out.to_str().unwrap()]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no call nope"));

    // An audit may see it, in a store of its own (a different option is a different result).
    let audit = dir.path().join("audit");
    let output = batch(&manifest, &audit, &["--no-redact", "--csv-locale", "es"]);
    assert!(output.status.success());
    let calls = read(&audit, "calls.csv");
    assert!(calls.starts_with('\u{feff}'), "Spanish Excel wants a BOM");
    assert!(calls.lines().next().unwrap().contains(";call_id;"));
    assert!(calls.contains("0,"), "decimal comma: {calls}");
    assert!(read(&audit, "utterances.jsonl").contains("12345678Z"));
}

/// A failure reason can quote a transcript's line: it is redacted before it is stored or written.
#[test]
fn failure_reasons_are_redacted_before_they_are_stored() {
    let dir = util::tempdir();
    let bad = dir.path().join("bad.txt");
    std::fs::write(&bad, "mi tarjeta es 4539 1488 0343 6467\n").unwrap();
    let manifest = dir.path().join("m.csv");
    std::fs::write(
        &manifest,
        format!(
            "call_id,path,agent_id,vendor,site,sourcing\nbad-1,{},a1,Acme,madrid,insourced\n",
            bad.display()
        ),
    )
    .unwrap();
    let out = dir.path().join("out");
    let output = batch(&manifest, &out, &["--no-meaning", "--quiet"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("[CARD]") && !stderr.contains("4539"),
        "{stderr}"
    );
    let calls = read(&out, "calls.csv");
    assert!(calls.contains("mi tarjeta es [CARD]"), "{calls}");
    let db = std::fs::read(out.join("guion.sqlite")).unwrap();
    assert!(
        !String::from_utf8_lossy(&db).contains("4539 1488"),
        "the store holds the card number"
    );
}

/// A night of two scripts (text dialogues, words only): each call is scored against the script its
/// row names or the routing rules pick; an unknown script id and a row no rule routes are stored as
/// failed with the manifest's file:line while the rest of the night runs; every output says which
/// script scored a call; the store keeps both scripts and keys each result by its call's script.
#[test]
fn a_night_of_two_scripts_scores_each_call_against_its_own() {
    const TELCO: &str = "examples/scripts/telco-en.toml";
    let dir = util::tempdir();
    let dialogue = |id: &str| util::fixture(&format!("examples/night/dialogues/{id}.txt"));
    let manifest = dir.path().join("manifest.csv");
    let write_manifest = |first_script: &str| {
        let rows = [
            // An explicit script wins over the rule that would route its queue elsewhere.
            (
                "20261122-mad-01",
                "mad-lucia",
                "Acme in-house",
                "es",
                first_script,
                "mobile",
            ),
            (
                "20261122-mad-10",
                "mad-elena",
                "Acme in-house",
                "en",
                "",
                "mobile",
            ),
            (
                "20261122-mnl-04",
                "mnl-joy",
                "CallNova",
                "en",
                "northwind-mobile",
                "cards",
            ),
            (
                "20261122-bog-01",
                "bog-andres",
                "Contacta BPO",
                "es",
                "acme-typo",
                "claims",
            ),
            (
                "20261122-mad-02",
                "mad-lucia",
                "Acme in-house",
                "es",
                "",
                "home",
            ),
            (
                "20261122-bog-09",
                "bog-camilo",
                "Contacta BPO",
                "en",
                "",
                "claims",
            ),
        ];
        let mut text =
            String::from("call_id,path,agent_id,vendor,site,sourcing,language,script,queue\n");
        for (id, agent, vendor, language, script, queue) in rows {
            let sourcing = if vendor == "Acme in-house" {
                "insourced"
            } else {
                "outsourced"
            };
            text.push_str(&format!(
                "{id},{},{agent},{vendor},site,{sourcing},{language},{script},{queue}\n",
                dialogue(id).display()
            ));
        }
        std::fs::write(&manifest, text).unwrap();
    };
    write_manifest("acme-seguros");
    let routes = dir.path().join("routes.toml");
    std::fs::write(
        &routes,
        "[[route]]\nqueue = \"mobile\"\nscript = \"northwind-mobile\"\n\n\
         [[route]]\nqueue = [\"claims\", \"Cards\"]\nscript = \"acme-seguros\"\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let run = || {
        batch(
            &manifest,
            &out,
            &[
                "--script",
                TELCO,
                "--routes",
                routes.to_str().unwrap(),
                "--no-meaning",
                "--quiet",
            ],
        )
    };
    let output = run();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("4 scored"), "{stderr}");

    let rows = csv_rows(&out, "calls.csv");
    let col = |name: &str| column(&out, "calls.csv", name);
    let (id, script, version, status, reason) = (
        col("call_id"),
        col("script"),
        col("script_version"),
        col("status"),
        col("reason"),
    );
    let find = |call: &str| rows.iter().find(|r| &r[id] == call).unwrap().clone();
    let scored_against = |call: &str| find(call)[script].to_string();
    assert_eq!(
        scored_against("20261122-mad-01"),
        "acme-seguros",
        "the script column wins"
    );
    assert_eq!(&find("20261122-mad-01")[version], "2026-11");
    assert_eq!(
        scored_against("20261122-mad-10"),
        "northwind-mobile",
        "routed by queue"
    );
    assert_eq!(scored_against("20261122-mnl-04"), "northwind-mobile");
    assert_eq!(
        scored_against("20261122-bog-09"),
        "acme-seguros",
        "any of a rule's values"
    );
    let manifest_name = manifest.display().to_string();
    let typo = find("20261122-bog-01");
    assert_eq!(&typo[status], "failed");
    assert!(
        typo[reason].starts_with(&format!("{manifest_name}:5: unknown script `acme-typo`")),
        "{:?}",
        typo
    );
    let unrouted = find("20261122-mad-02");
    assert_eq!(&unrouted[status], "failed");
    assert!(
        unrouted[reason].starts_with(&format!("{manifest_name}:6: no script for this call")),
        "{:?}",
        unrouted
    );
    assert_eq!(
        &unrouted[script], "",
        "a failed call was scored against no script"
    );
    assert!(
        !rows.iter().any(|r| r[col("models")].contains("script=")),
        "the script has its own columns"
    );

    // steps.csv: each call's steps are its own script's.
    let steps = csv_rows(&out, "steps.csv");
    let steps_col = |name: &str| column(&out, "steps.csv", name);
    let (s_call, s_script, s_step) = (steps_col("call_id"), steps_col("script"), steps_col("step"));
    for s in &steps {
        assert_eq!(s[s_script], scored_against(&s[s_call]), "{s:?}");
    }
    let of = |call: &str| {
        steps
            .iter()
            .filter(|s| &s[s_call] == call)
            .map(|s| s[s_step].to_string())
            .collect::<Vec<_>>()
    };
    assert!(of("20261122-mad-01").contains(&"disclosure".to_string()));
    assert!(of("20261122-mad-10").contains(&"recording_notice".to_string()));

    // The rollups: a step's completion is per script's step; both greetings are their own column.
    let vendors = read(&out, "vendors.csv");
    let header = vendors.lines().next().unwrap();
    for c in [
        "done_acme-seguros/greeting",
        "done_northwind-mobile/greeting",
        "adherence",
    ] {
        assert!(header.split(',').any(|h| h == c), "{c} not in {header}");
    }

    // The store keeps both scripts; a rerun reuses every result; a call moved to the other script
    // is scored again (its key holds its script), the others are reused.
    let store = guion_night::store::Store::open_existing(&out).unwrap();
    assert!(
        store
            .script_text("acme-seguros", "2026-11")
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .script_text("northwind-mobile", "2026.2")
            .unwrap()
            .is_some()
    );
    drop(store);
    let again = run();
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(
        stderr.contains("0 scored, 4 already in the store, 2 failed"),
        "{stderr}"
    );
    write_manifest("northwind-mobile");
    let moved = run();
    let stderr = String::from_utf8_lossy(&moved.stderr);
    assert!(
        stderr.contains("1 scored, 3 already in the store, 2 failed"),
        "{stderr}"
    );
    assert_eq!(
        csv_rows(&out, "calls.csv")
            .iter()
            .find(|r| &r[id] == "20261122-mad-01")
            .map(|r| r[script].to_string())
            .as_deref(),
        Some("northwind-mobile")
    );
    write_manifest("acme-seguros");
    assert_eq!(run().status.code(), Some(1));

    // The report has a heat map per script; a stored call opens against its own script.
    let report = guion(&["report", out.to_str().unwrap()]);
    assert!(
        report.status.success(),
        "{}",
        String::from_utf8_lossy(&report.stderr)
    );
    let html = read(&out, "report.html");
    assert!(
        html.contains("<h3>Script acme-seguros 2026-11"),
        "no acme heat map"
    );
    assert!(
        html.contains("<h3>Script northwind-mobile 2026.2"),
        "no northwind heat map"
    );
    let call = guion(&[
        "call",
        "20261122-mad-10",
        "--from",
        out.to_str().unwrap(),
        "--json",
    ]);
    let call: serde_json::Value = serde_json::from_slice(&call.stdout).unwrap();
    assert_eq!(call["script"]["id"], "northwind-mobile");

    // Calibration resolves each label's step under its call's script.
    let labels = dir.path().join("labels.csv");
    std::fs::write(
        &labels,
        "call_id,step_id,status\n20261122-mad-01,disclosure,yes\n20261122-mad-10,recording_notice,no\n\
         20261122-mad-10,disclosure,yes\n",
    )
    .unwrap();
    let calibrated = guion(&[
        "calibrate",
        out.to_str().unwrap(),
        "--labels",
        labels.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(
        calibrated.status.code(),
        Some(1),
        "one label names no step of its call's script"
    );
    let json: serde_json::Value = serde_json::from_slice(&calibrated.stdout).unwrap();
    let scripts = json["scripts"].as_array().unwrap();
    let ids: Vec<&str> = scripts
        .iter()
        .map(|s| s["script"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["acme-seguros", "northwind-mobile"]);
    for s in scripts {
        assert_eq!(s["overall"]["n"], 1, "{s}");
    }
    let unmatched = json["unmatched"].as_array().unwrap();
    assert_eq!(unmatched.len(), 1, "{unmatched:?}");
    assert!(
        unmatched[0]
            .as_str()
            .unwrap()
            .contains("no step \"disclosure\"")
    );

    // --scripts DIR: every script in it, the same night; a second file with an id already given is
    // refused (a script column naming it would be ambiguous).
    let scripts = dir.path().join("scripts");
    std::fs::create_dir(&scripts).unwrap();
    for s in [ACME, TELCO] {
        let name = Path::new(s).file_name().unwrap();
        std::fs::copy(util::fixture(s), scripts.join(name)).unwrap();
    }
    std::fs::write(scripts.join("notes.txt"), "not a script").unwrap();
    let from_dir = dir.path().join("from-dir");
    let output = guion(&[
        "batch",
        manifest.to_str().unwrap(),
        "--scripts",
        scripts.to_str().unwrap(),
        "--routes",
        routes.to_str().unwrap(),
        "--out",
        from_dir.to_str().unwrap(),
        "--night",
        "2026-11-22",
        "--no-meaning",
        "--quiet",
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(read(&from_dir, "calls.csv"), read(&out, "calls.csv"));
    let twice = batch(
        &manifest,
        &dir.path().join("twice"),
        &["--scripts", scripts.to_str().unwrap(), "--no-meaning"],
    );
    let stderr = String::from_utf8_lossy(&twice.stderr);
    assert_eq!(twice.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("are both script `acme-seguros`"),
        "{stderr}"
    );

    // A rule naming a script the night does not have stops the night before it starts.
    std::fs::write(
        &routes,
        "# mobile\n[[route]]\nqueue = \"mobile\"\nscript = \"telco\"\n",
    )
    .unwrap();
    let refused = run();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{}:2: rule 1: script `telco` is not among",
            routes.display()
        )),
        "{stderr}"
    );
}
