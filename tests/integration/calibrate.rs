//! `guion calibrate` and `guion review` on the demo night's dialogues (as text transcripts, words
//! only, so that the numbers are guion's matcher's and the test is fast) against the night's answer
//! key (examples/night/labels.csv): agreement and kappa computed by hand here from steps.csv; a
//! review that changes the rollups and survives a rerun; thresholds fitted on labels and written
//! into a new version of the script.

use crate::util;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Output;

const ACME: &str = "examples/scripts/acme-seguros.toml";
const LABELS: &str = "examples/night/labels.csv";

fn guion(args: &[&str]) -> Output {
    util::guion().args(args).output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The whole demo night as text, words only, into DIR/night.
fn scored_night(dir: &Path, script: &str) -> std::path::PathBuf {
    batch(&util::text_night(dir, 36, ""), script, &["--no-meaning"])
}

/// `guion batch MANIFEST` into night/ beside it, night 2026-11-22; it must score every call.
fn batch(manifest: &Path, script: &str, extra: &[&str]) -> std::path::PathBuf {
    let out = manifest.with_file_name("night");
    let mut args = vec![
        "batch",
        manifest.to_str().unwrap(),
        "--script",
        script,
        "--out",
        out.to_str().unwrap(),
        "--night",
        "2026-11-22",
        "--quiet",
    ];
    args.extend(extra);
    let o = guion(&args);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    out
}

/// `(call_id, step) → column` of a CSV file written by the batch.
fn steps_csv(out: &Path, column: &str) -> BTreeMap<(String, String), String> {
    let mut r = csv::Reader::from_path(out.join("steps.csv")).unwrap();
    let header = r.headers().unwrap().clone();
    let at = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (call, step, k) = (at("call_id"), at("step"), at(column));
    r.records()
        .map(|row| {
            let row = row.unwrap();
            (
                (row[call].to_string(), row[step].to_string()),
                row[k].to_string(),
            )
        })
        .collect()
}

fn csv_rows(path: &Path) -> Vec<BTreeMap<String, String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header = r.headers().unwrap().clone();
    r.records()
        .map(|row| {
            header
                .iter()
                .zip(row.unwrap().iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

#[test]
fn agreement_and_kappa_on_a_labelled_night_are_those_computed_by_hand() {
    let dir = util::tempdir();
    let out = scored_night(dir.path(), ACME);
    let o = guion(&[
        "calibrate",
        out.to_str().unwrap(),
        "--labels",
        LABELS,
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();

    // By hand: a yes/no label is compared on whether the step was said at all (done, out of
    // order or outside its window); a status label on the status itself.
    let guion_status = steps_csv(&out, "status");
    let labels = csv_rows(&util::fixture(LABELS));
    let mut pairs: Vec<(String, String, String)> = Vec::new(); // (step, guion, label)
    for l in &labels {
        let g = &guion_status[&(l["call_id"].clone(), l["step_id"].clone())];
        let said = |s: &str| {
            if s == "missed" {
                "missed"
            } else if s == "unclear" {
                "unclear"
            } else {
                "done"
            }
        };
        let (g, h) = match l["status"].as_str() {
            "yes" => (said(g).to_string(), "done".to_string()),
            "no" => (said(g).to_string(), "missed".to_string()),
            status => (g.clone(), status.to_string()),
        };
        pairs.push((l["step_id"].clone(), g, h));
    }
    let by_hand = |pairs: &[&(String, String, String)]| {
        let n = pairs.len() as f64;
        let po = pairs.iter().filter(|(_, g, h)| g == h).count() as f64 / n;
        let categories: BTreeSet<&str> = pairs
            .iter()
            .flat_map(|(_, g, h)| [g.as_str(), h.as_str()])
            .collect();
        let pe: f64 = categories
            .iter()
            .map(|c| {
                let g = pairs.iter().filter(|(_, g, _)| g == c).count() as f64 / n;
                let h = pairs.iter().filter(|(_, _, h)| h == c).count() as f64 / n;
                g * h
            })
            .sum();
        (po, (po - pe) / (1.0 - pe))
    };
    let all: Vec<&(String, String, String)> = pairs.iter().collect();
    let (po, kappa) = by_hand(&all);
    let overall = &json["overall"];
    assert_eq!(overall["n"], labels.len());
    assert!(
        (overall["agreement"].as_f64().unwrap() - po).abs() < 1e-9,
        "{overall}"
    );
    assert!(
        (overall["kappa"].as_f64().unwrap() - kappa).abs() < 1e-9,
        "{overall}"
    );
    // Real disagreements exist on this night (guion's words-only matcher is not the answer key),
    // and each is listed with its call.
    assert!(po < 1.0 && po > 0.7, "{po}");
    for step in json["steps"].as_array().unwrap() {
        let id = step["step"].as_str().unwrap();
        let mine: Vec<&(String, String, String)> = pairs.iter().filter(|p| p.0 == id).collect();
        assert_eq!(step["n"], mine.len(), "{id}");
        let (po, kappa) = by_hand(&mine);
        assert!(
            (step["agreement"].as_f64().unwrap() - po).abs() < 1e-9,
            "{id}"
        );
        if step["kappa"].is_f64() {
            assert!(
                (step["kappa"].as_f64().unwrap() - kappa).abs() < 1e-9,
                "{id}"
            );
        }
        let wrong = mine.iter().filter(|(_, g, h)| g != h).count();
        assert_eq!(
            step["disagreements"].as_array().unwrap().len(),
            wrong,
            "{id}"
        );
        // Precision of "missed" by hand.
        let said_missed = mine.iter().filter(|(_, g, _)| g == "missed").count();
        let both = mine
            .iter()
            .filter(|(_, g, h)| g == "missed" && h == "missed")
            .count();
        if said_missed > 0 {
            let p = both as f64 / said_missed as f64;
            assert!((step["precision_missed"].as_f64().unwrap() - p).abs() < 1e-9);
        }
    }
    // The terminal view names the same numbers.
    let o = guion(&["calibrate", out.to_str().unwrap(), "--labels", LABELS]);
    let view = text(&o);
    assert!(view.contains(&format!("{po:.2}")), "{view}");
    assert!(view.contains("disagreements"), "{view}");
}

#[test]
fn a_review_changes_the_rollups_says_whose_it_is_and_survives_a_rerun() {
    let dir = util::tempdir();
    let out = scored_night(dir.path(), ACME);
    let dir_arg = out.to_str().unwrap();
    // A required step guion calls missed.
    let status = steps_csv(&out, "status");
    let (call, step) = status
        .iter()
        .find(|((_, s), v)| *v == "missed" && s == "disclosure")
        .map(|(k, _)| k.clone())
        .expect("a missed disclosure on the demo night");
    let calls = csv_rows(&out.join("calls.csv"));
    let row = calls.iter().find(|r| r["call_id"] == call).unwrap();
    let agent = row["agent_id"].clone();
    let adherence_before: f64 = row["adherence"].parse().unwrap();
    let agent_rate = |out: &Path| -> f64 {
        let agents = csv_rows(&out.join("agents.csv"));
        agents.iter().find(|r| r["name"] == agent).unwrap()["done_disclosure"]
            .parse()
            .unwrap()
    };
    let rate_before = agent_rate(&out);

    let o = guion(&[
        "review",
        &call,
        "--from",
        dir_arg,
        "--step",
        &step,
        "--status",
        "done",
        "--by",
        "ana",
        "--why",
        "dice que la llamada queda grabada, con otras palabras; su DNI 50732914C",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let check = |out: &Path| {
        let reviewed = csv_rows(&out.join("steps.csv"))
            .into_iter()
            .find(|r| r["call_id"] == call && r["step"] == step)
            .unwrap();
        assert_eq!(reviewed["status"], "done");
        assert_eq!(reviewed["guion_status"], "missed");
        assert_eq!(reviewed["reviewed_by"], "ana");
        assert!(reviewed["reviewed_at"].ends_with('Z'));
        assert!(reviewed["review_why"].contains("otras palabras"));
        assert!(
            !reviewed["review_why"].contains("50732914C"),
            "the reason is redacted: {}",
            reviewed["review_why"]
        );
        let row = csv_rows(&out.join("calls.csv"))
            .into_iter()
            .find(|r| r["call_id"] == call)
            .unwrap();
        assert_eq!(row["reviews"], "1");
        let adherence: f64 = row["adherence"].parse().unwrap();
        assert!(
            adherence > adherence_before,
            "{adherence} vs {adherence_before}"
        );
        assert!(agent_rate(out) > rate_before);
    };
    check(&out);
    // The auditor's view says whose verdict it is.
    let o = guion(&["call", &call, "--from", dir_arg, "--json"]);
    let record: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let s = record["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == step.as_str())
        .unwrap();
    assert_eq!(s["status"], "done");
    assert_eq!(s["review"]["by"], "ana");
    assert_eq!(s["review"]["guion"], "missed");

    // The report says how many verdicts are analysts'.
    let o = guion(&["report", dir_arg]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let page = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        page.contains("1 step verdict comes from a QA analyst's review"),
        "the report names the reviews"
    );

    // The same review again is stored once; a rerun of the night keeps it.
    let o = guion(&[
        "review",
        &call,
        "--from",
        dir_arg,
        "--step",
        &step,
        "--status",
        "sí",
        "--by",
        "ana",
        "--why",
        "dice que la llamada queda grabada, con otras palabras; su DNI 50732914C",
    ]);
    assert!(text(&o).contains("0 verdict(s) stored"), "{}", text(&o));
    scored_night(dir.path(), ACME);
    check(&out);

    // Bad reviews are refused with the reason; a CSV import stores the good rows, names the bad.
    let o = guion(&[
        "review", &call, "--from", dir_arg, "--step", "saludo", "--status", "done", "--by", "ana",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("has no step \"saludo\""), "{}", text(&o));
    let import = dir.path().join("reviews.csv");
    std::fs::write(
        &import,
        format!(
            "call_id,step_id,status,analyst\n{call},farewell,no,luis\nnope,greeting,yes,luis\n"
        ),
    )
    .unwrap();
    let o = guion(&[
        "review",
        "--from",
        dir_arg,
        "--import",
        import.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o).contains("reviews.csv:3: no call \"nope\" in the store"),
        "{}",
        text(&o)
    );
    assert!(text(&o).contains("1 verdict(s) stored"), "{}", text(&o));
    // Reviews are labels: calibrate counts them.
    let o = guion(&["calibrate", dir_arg, "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["overall"]["n"], 2, "{json}");
}

#[test]
fn thresholds_fitted_on_labels_are_written_into_a_new_version_of_the_script() {
    let dir = util::tempdir();
    let out = scored_night(dir.path(), ACME);
    // Analysts more lenient than guion on the two optional steps: a looser phrasing of the
    // discovery question or of the solution counts for them. A rule cross-validation can learn: the
    // suggested thresholds must fall and hold on unseen calls.
    let similarity = steps_csv(&out, "similarity");
    let lenient = |v: f64| v >= 0.55;
    let mut text_labels = String::from("call_id,step_id,status\n");
    let mut looser = 0;
    for ((c, step), v) in &similarity {
        if step == "discovery" || step == "solution" {
            let v: f64 = v.parse().unwrap_or(0.0);
            looser += usize::from(lenient(v) && v < 0.75);
            let status = if lenient(v) { "yes" } else { "no" };
            text_labels.push_str(&format!("{c},{step},{status}\n"));
        }
    }
    assert!(looser >= 3, "{similarity:?}");
    let labels = dir.path().join("labels.csv");
    std::fs::write(&labels, text_labels).unwrap();
    let written = dir.path().join("acme-calibrated.toml");
    let o = guion(&[
        "calibrate",
        out.to_str().unwrap(),
        "--labels",
        labels.to_str().unwrap(),
        "--json",
        "--write-script",
        written.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let suggested: Vec<&serde_json::Value> = json["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| !s["suggested"].is_null())
        .collect();
    assert!(!suggested.is_empty(), "{json}");
    for s in suggested {
        let t = s["suggested"]["min_similarity"].as_f64().unwrap();
        assert!((0.5..0.75).contains(&t), "{s}");
        let check = &s["thresholds"];
        assert!(
            check["agreement_cross_validated"].as_f64() > check["agreement_now"].as_f64(),
            "{check}"
        );
    }
    let new = std::fs::read_to_string(&written).unwrap();
    assert!(
        new.contains("# Acme Seguros"),
        "the brand's comments are kept"
    );
    assert!(new.contains("version = \"2026-11+calibrated-"), "{new}");
    // The new version, scored, agrees with the analysts more than the old one did.
    let v2 = dir.path().join("v2");
    std::fs::create_dir_all(&v2).unwrap();
    let rescored = scored_night(&v2, written.to_str().unwrap());
    let o = guion(&[
        "calibrate",
        rescored.to_str().unwrap(),
        "--labels",
        labels.to_str().unwrap(),
        "--json",
    ]);
    let after: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        after["overall"]["agreement"].as_f64() > json["overall"]["agreement"].as_f64(),
        "{} vs {}",
        after["overall"],
        json["overall"]
    );
}

#[test]
fn value_labels_on_utterances_agree_as_computed_by_hand() {
    util::require!(util::encoder());
    let dir = util::tempdir();
    let manifest = dir.path().join("manifest.csv");
    let mut rows = String::from("call_id,path,agent_id,vendor,site,sourcing\n");
    for (id, file) in [
        ("para", "acme-es-paraphrased.txt"),
        ("breaks", "acme-es-breaks.txt"),
        ("follows", "acme-es-follows.txt"),
    ] {
        let path = util::fixture(&format!("examples/transcripts/{file}"));
        rows.push_str(&format!(
            "{id},{},a1,Acme,madrid,insourced\n",
            path.display()
        ));
    }
    std::fs::write(&manifest, rows).unwrap();
    let out = batch(&manifest, ACME, &[]);
    // Label every agent utterance that has a time: the paraphrased call's agent explains and
    // offers next steps; the others are labelled "none" except where the test reads otherwise.
    let lines = std::fs::read_to_string(out.join("utterances.jsonl")).unwrap();
    let mut labels = String::from("call_id,start,value\n");
    let mut by_hand: Vec<(Option<String>, Option<String>)> = Vec::new();
    for line in lines.lines() {
        let u: serde_json::Value = serde_json::from_str(line).unwrap();
        let Some(start) = u["start"].as_f64() else {
            continue;
        };
        if u["speaker"] != "agent" {
            continue;
        }
        let text = u["text"].as_str().unwrap();
        let label = if text.contains("Vamos a hacer lo siguiente") || text.contains("llave de paso")
        {
            Some("proactivity")
        } else if text.contains("qué faena") {
            Some("empathy")
        } else {
            None
        };
        let guion = u["value"]["score"]
            .as_f64()
            .filter(|s| *s >= 0.5)
            .and_then(|_| u["value"]["id"].as_str().map(String::from));
        labels.push_str(&format!(
            "{},{start},{}\n",
            u["call_id"].as_str().unwrap(),
            label.unwrap_or("none")
        ));
        by_hand.push((guion, label.map(String::from)));
    }
    assert!(by_hand.len() >= 10, "{lines}");
    let file = dir.path().join("values.csv");
    std::fs::write(&file, labels).unwrap();
    let o = guion(&[
        "calibrate",
        out.to_str().unwrap(),
        "--labels",
        file.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let values = &json["values"];
    assert_eq!(values["overall"]["n"], by_hand.len());
    let agree = by_hand.iter().filter(|(g, h)| g == h).count() as f64 / by_hand.len() as f64;
    assert!((values["overall"]["agreement"].as_f64().unwrap() - agree).abs() < 1e-9);
    let proactivity = values["values"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["value"] == "proactivity")
        .unwrap();
    let labelled = by_hand
        .iter()
        .filter(|(_, h)| h.as_deref() == Some("proactivity"))
        .count();
    let found = by_hand
        .iter()
        .filter(|(g, h)| h.as_deref() == Some("proactivity") && g == h)
        .count();
    assert_eq!(
        proactivity["recall"].as_f64(),
        Some(found as f64 / labelled as f64)
    );
}
