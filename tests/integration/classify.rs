//! Tone, values and matching by meaning with the real encoder (multilingual-e5-small through ONNX
//! Runtime) and the tone head scripts/setup trains: what a call's analysis finds (in this process,
//! with the shared classifier), what `guion call` and `guion train` say, and how they fail when the
//! runtime or a model is missing.

use crate::util::{self, require};
use guion_core::score::VALUE_SHOWN;
use guion_core::script::Script;
use guion_core::transcript::{Speaker, Transcript, Utterance};
use guion_meaning::{Encoder, EncoderOptions, cosine};
use guion_night::pipeline::AnalyserOptions;
use serde_json::Value;
use std::process::Output;

const ACME: &str = "examples/scripts/acme-seguros.toml";

fn guion(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = util::guion();
    command.args(args);
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().unwrap()
}

/// `guion call FILE --script ACME --json`, in this process; `meaning: false` is `--no-meaning`.
fn call_json(file: &str, meaning: bool) -> Value {
    let options = AnalyserOptions {
        meaning,
        ..util::call_options()
    };
    util::call_json(&util::fixture(file), &util::fixture(ACME), options)
}

/// `guion call FILE --script ACME --json EXTRA…`, for what only the command line does.
fn guion_call_json(file: &str, extra: &[&str]) -> Value {
    let mut args = vec!["call", file, "--json", "--script", ACME];
    args.extend_from_slice(extra);
    let output = guion(&args, &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"))
}

fn step<'a>(v: &'a Value, id: &str) -> &'a Value {
    v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("no step {id}"))
}

fn agent_utterance<'a>(v: &'a Value, containing: &str) -> &'a Value {
    v["utterances"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["speaker"] == "agent" && u["text"].as_str().unwrap().contains(containing))
        .unwrap_or_else(|| panic!("no agent utterance with {containing:?}"))
}

/// The held-out split of models/tone is the tone head's exam. Measured when the bound was set
/// (seed 7, 5 labels, 18+4 held-out rows per label and language): macro-F1 0.84–0.87; the cue
/// lexicon scores 0.40–0.52 on the same rows.
#[test]
fn tone_head_meets_its_held_out_bound_in_both_languages_and_beats_the_lexicon() {
    require!(util::encoder());
    let dir = util::tempdir();
    let out = dir.path().join("tone.json");
    let output = guion(
        &[
            "train",
            "--data",
            "models/tone/tone-es.csv",
            "--data",
            "models/tone/tone-en.csv",
            "--json",
            "--out",
            out.to_str().unwrap(),
        ],
        &[],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(report["id"].as_str().unwrap().starts_with("tone-"));
    for lang in ["es", "en"] {
        let held_out = &report["held_out"][lang];
        let head = held_out["head"]["macro_f1"].as_f64().unwrap();
        let lexicon = held_out["lexicon"]["macro_f1"].as_f64().unwrap();
        assert!(head >= 0.80, "{lang}: held-out macro-F1 {head:.3} < 0.80");
        assert!(
            head >= lexicon + 0.2,
            "{lang}: head {head:.3} vs lexicon {lexicon:.3}"
        );
    }
    assert!(out.is_file());
}

#[test]
fn the_encoder_gives_the_same_vectors_for_the_same_text_whatever_the_batch() {
    require!(util::encoder());
    // An encoder of its own: the shared classifier does not lend out the one inside it.
    let mut encoder = Encoder::load(&EncoderOptions::default()).unwrap();
    let texts = [
        "Gracias por llamar a Acme Seguros, le atiende Lucía.",
        "Is there anything else I can help you with today?",
        "Ya se lo he explicado tres veces, preste atención.",
    ];
    let a = encoder.embed(&texts).unwrap();
    let b = encoder.embed(&texts).unwrap();
    assert_eq!(a, b, "same input, same vectors");
    let alone = encoder.embed(&texts[2..]).unwrap();
    assert!(cosine(&alone[0], &a[2]) > 0.9999);
    for v in &a {
        let norm: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4);
        assert_eq!(v.len(), 384);
    }
}

#[test]
fn steps_said_in_other_words_are_found_by_meaning_and_words_win_where_both_exist() {
    require!(util::encoder());
    for (file, by_meaning) in [
        (
            "examples/transcripts/acme-es-paraphrased.txt",
            &["greeting", "discovery", "farewell"][..],
        ),
        (
            "examples/transcripts/acme-en-paraphrased.txt",
            &["greeting", "disclosure", "farewell"][..],
        ),
    ] {
        let v = call_json(file, true);
        for id in by_meaning {
            let s = step(&v, id);
            assert_eq!(s["status"], "done", "{file}: {id}: {s}");
            assert_eq!(s["evidence"]["match"], "semantic", "{file}: {id}");
        }
        // Without meaning, the same call shows none of them: the words differ that much.
        let words_only = call_json(file, false);
        for id in by_meaning {
            assert_eq!(step(&words_only, id)["status"], "missed", "{file}: {id}");
        }
    }
    let follows = call_json("examples/transcripts/acme-es-follows.txt", true);
    for s in follows["steps"].as_array().unwrap() {
        assert_eq!(s["evidence"]["match"], "lexical", "{s}");
    }
    // Talk about recordings and ID cards that is not the notice: the notice stays missed.
    let offtopic = call_json("examples/transcripts/acme-es-offtopic.txt", true);
    assert_eq!(step(&offtopic, "disclosure")["status"], "missed");
}

#[test]
fn every_agent_utterance_gets_a_tone_and_a_value_and_the_call_its_shares() {
    require!(util::encoder());
    let v = call_json("examples/transcripts/acme-es-follows.txt", true);
    for u in v["utterances"].as_array().unwrap() {
        let has_tone = u.get("tone").is_some();
        assert_eq!(has_tone, u["speaker"] == "agent", "{u}");
        if has_tone {
            let p = u["tone"]["p"].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&p));
            assert!(u["value"]["id"].is_string());
        }
    }
    // "Vaya, siento mucho lo que le ha pasado. Antes de nada, le informamos de que esta llamada
    // puede ser grabada…": two attitudes, and the guide labels the one the customer is left with.
    let sorry = agent_utterance(&v, "siento mucho");
    let warm = ["empathetic", "courteous"];
    assert!(
        warm.contains(&sorry["tone"]["label"].as_str().unwrap()),
        "{sorry}"
    );
    assert_eq!(sorry["value"]["id"], "empathy");
    assert!(sorry["value"]["score"].as_f64().unwrap() >= 0.5);
    assert_eq!(
        agent_utterance(&v, "que tenga un buen día")["tone"]["label"],
        "courteous"
    );
    let shares: f64 = v["tone"]
        .as_object()
        .unwrap()
        .values()
        .map(|x| x.as_f64().unwrap())
        .sum();
    assert!((shares - 1.0).abs() < 1e-9);
    let empathy = v["values"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == "empathy")
        .unwrap();
    assert_eq!(empathy["shown"], true);
    assert!(
        v["models"]["tone_head"]
            .as_str()
            .unwrap()
            .starts_with("tone-")
    );
    // The script, and a digest of its examples and of the lines they are measured against.
    let values_id = v["models"]["values"].as_str().unwrap();
    assert!(
        values_id.starts_with("prototypes:acme-seguros@2026-11#"),
        "{values_id}"
    );

    let rude = call_json("examples/transcripts/acme-es-breaks.txt", true);
    assert_eq!(
        agent_utterance(&rude, "no es mi problema")["tone"]["label"],
        "dismissive"
    );
}

fn value<'a>(v: &'a Value, id: &str) -> &'a Value {
    v["values"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == id)
        .unwrap_or_else(|| panic!("no value {id}"))
}

/// A demo-night call written with an agent who is warm, sums up and offers the next step shows all
/// three values, each where the agent shows it; its greeting and farewell show none. Issue 11: with
/// whole-prototype cosines and a sigmoid fitted with clarity's examples below the ordinary lines,
/// clarity's best line of that night scored 0.23, and the summary in this call 0.12.
#[test]
fn a_call_shows_the_values_its_agent_shows_and_its_procedure_none() {
    require!(util::encoder());
    let v = call_json("examples/night/dialogues/20261122-mad-01.txt", true);
    for id in ["empathy", "clarity", "proactivity"] {
        assert_eq!(value(&v, id)["shown"], true, "{id}: {}", v["values"]);
    }
    let summary = agent_utterance(&v, "Se lo resumo");
    assert_eq!(summary["value"]["id"], "clarity", "{summary}");
    assert!(
        summary["value"]["score"].as_f64().unwrap() >= 0.8,
        "{summary}"
    );
    for procedure in ["le atiende Lucía", "Gracias por confiar en Acme Seguros"] {
        let u = agent_utterance(&v, procedure);
        assert!(u["value"]["score"].as_f64().unwrap() < 0.2, "{u}");
    }
    // The flat agent who ignores the customer's small children shows no empathy.
    let flat = call_json("examples/night/dialogues/20261122-bog-02.txt", true);
    assert_eq!(
        value(&flat, "empathy")["shown"],
        false,
        "{}",
        flat["values"]
    );
}

/// tests/fixtures/values-acme.csv: single agent lines that show one of acme-seguros' values in
/// other words than its examples, and ordinary lines (facts, greetings, identification, holds,
/// transfers, farewells) that show none, in both languages. Each line is a one-line call; a value
/// is shown at `VALUE_SHOWN`, and the line's value is the best one shown, or none.
#[test]
fn brand_values_on_the_labelled_fixture() {
    require!(util::encoder());
    let mut classifier = util::classifier();
    let (script, _) = guion_night::input::load_script(&util::fixture(ACME)).unwrap();
    let prepared = classifier.prepare(&script).unwrap();
    let ids: Vec<String> = script.values.iter().map(|v| v.id.clone()).collect();
    let mut reader = csv::Reader::from_path(util::fixture("values-acme.csv")).unwrap();
    let (mut rows, mut agree, mut ordinary, mut ordinary_shown) = (0, 0, 0, 0);
    // value -> (shown and labelled, shown, labelled)
    let mut counts = vec![(0usize, 0usize, 0usize); ids.len()];
    for row in reader.records() {
        let row = row.unwrap();
        let (text, language, label) = (&row[0], &row[1], &row[2]);
        let transcript = agent_line(text, language);
        let meaning = classifier.classify(&transcript, &prepared).unwrap();
        let scores = &meaning.utterances[0].as_ref().unwrap().value_scores;
        let shown = |k: usize| scores[k] >= VALUE_SHOWN;
        let best = (0..ids.len())
            .filter(|&k| shown(k))
            .max_by(|&a, &b| scores[a].total_cmp(&scores[b]))
            .map_or("none", |k| ids[k].as_str());
        rows += 1;
        agree += (best == label) as usize;
        if label == "none" {
            ordinary += 1;
            ordinary_shown += (0..ids.len()).any(shown) as usize;
        }
        for (k, id) in ids.iter().enumerate() {
            let c = &mut counts[k];
            c.0 += (shown(k) && label == id) as usize;
            c.1 += shown(k) as usize;
            c.2 += (label == id) as usize;
        }
        if std::env::var_os("GUION_SHOW").is_some() && best != label {
            eprintln!("{label:12} got {best:12} {scores:.2?}: {text}");
        }
    }
    let agreement = agree as f64 / rows as f64;
    eprintln!(
        "values: agreement {agreement:.2} on {rows} lines; {ordinary_shown} of {ordinary} ordinary lines show a value"
    );
    for (id, &(hit, shown, labelled)) in ids.iter().zip(&counts) {
        let precision = hit as f64 / shown.max(1) as f64;
        let recall = hit as f64 / labelled as f64;
        eprintln!(
            "{id:12} precision {precision:.2} ({hit}/{shown}), recall {recall:.2} ({hit}/{labelled})"
        );
        // Measured when the bounds were set: precision 0.75–0.78, recall 0.56–0.88.
        assert!(precision >= 0.65, "{id}: precision {precision:.2}");
        assert!(recall >= 0.45, "{id}: recall {recall:.2}");
    }
    // Measured: 0.76 (0.36 with issue 11's scoring); 3 of 32 ordinary lines.
    assert!(agreement >= 0.65, "agreement {agreement:.2}");
    assert!(
        ordinary_shown <= 4,
        "{ordinary_shown} of {ordinary} ordinary lines show a value"
    );
}

#[test]
fn empty_and_foreign_utterances_do_not_break_a_call() {
    require!(util::encoder());
    let mut classifier = util::classifier();
    let (script, _) = guion_night::input::load_script(&util::fixture(ACME)).unwrap();
    let prepared = classifier.prepare(&script).unwrap();
    let utterance = |speaker, text: &str| Utterance {
        voice: None,
        language: None,
        speaker,
        channel: None,
        start: None,
        end: None,
        text: text.into(),
        words: Vec::new(),
    };
    let transcript = Transcript {
        layout: None,
        wrong_language: None,
        turns: Vec::new(),
        source: "hostile".into(),
        sha256: String::new(),
        duration_s: None,
        language: Some("es".into()),
        model: None,
        utterances: vec![
            utterance(Speaker::Agent, ""),
            utterance(Speaker::Agent, "  ¿? ... "),
            utterance(
                Speaker::Agent,
                "Bonjour, je vous appelle au sujet de votre contrat.",
            ),
            utterance(Speaker::Agent, "Guten Tag, wie kann ich Ihnen helfen?"),
            utterance(Speaker::Customer, "Hola."),
            utterance(Speaker::Agent, &"muy ".repeat(2000)),
        ],
    };
    let meaning = classifier.classify(&transcript, &prepared).unwrap();
    assert!(meaning.utterances[0].is_none() && meaning.utterances[1].is_none());
    assert!(meaning.utterances[4].is_none(), "the customer gets no tone");
    for i in [2, 3, 5] {
        let m = meaning.utterances[i].as_ref().unwrap();
        assert!(m.tone.p > 0.0 && m.tone.p <= 1.0);
    }
    // And it aligns without finding steps in foreign small talk.
    let aligner = guion_core::align::Aligner::new(&script, Default::default());
    let alignment = aligner.align_with(&transcript, Some(&prepared.semantic(&meaning)));
    assert!(
        alignment.steps.iter().all(|s| s.evidence.is_none()),
        "{alignment:?}"
    );
}

#[test]
fn a_brand_can_train_its_own_value_head_and_use_it() {
    require!(util::encoder());
    let dir = util::tempdir();
    let out = dir.path().join("acme-values.json");
    let out_s = out.to_str().unwrap();
    let output = guion(
        &[
            "train",
            "--kind",
            "value",
            "--data",
            "tests/fixtures/values-acme.csv",
            "--out",
            out_s,
            "--json",
        ],
        &[],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let id = report["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("value-"));
    // Through the command line: --value-head is the point.
    let v = guion_call_json(
        "examples/transcripts/acme-es-follows.txt",
        &["--value-head", out_s],
    );
    assert_eq!(v["models"]["values"], id.as_str());
    assert_eq!(
        agent_utterance(&v, "siento mucho")["value"]["id"],
        "empathy"
    );

    // A tone head is not a value head.
    let wrong = guion(
        &[
            "call",
            "examples/transcripts/acme-es-follows.txt",
            "--script",
            ACME,
            "--tone-head",
            out_s,
        ],
        &[],
    );
    assert_eq!(wrong.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("not a tone head"));
}

const CALL: [&str; 4] = [
    "call",
    "examples/transcripts/acme-es-follows.txt",
    "--script",
    ACME,
];

#[test]
fn a_missing_runtime_says_how_to_fix_it() {
    // The runtime is looked for once the encoder's files are found.
    require!(util::model("e5-small"), util::model("e5-tokenizer"));
    let call = CALL;
    let no_runtime = guion(
        &call,
        &[("ORT_DYLIB_PATH", "/nonexistent/libonnxruntime.so")],
    );
    assert_eq!(no_runtime.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&no_runtime.stderr);
    assert!(
        stderr.contains("ONNX Runtime cannot be loaded from /nonexistent/libonnxruntime.so"),
        "{stderr}"
    );
    assert!(stderr.contains("scripts/setup"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_missing_model_says_how_to_fix_it_and_words_alone_need_none() {
    let call = CALL;
    let empty = util::tempdir();
    let cache = empty.path().to_str().unwrap();
    let no_models = guion(&call, &[("GUION_CACHE", cache)]);
    assert_eq!(no_models.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&no_models.stderr);
    assert!(
        stderr.contains("is not installed") && stderr.contains("scripts/setup"),
        "{stderr}"
    );

    // Words alone need no model at all.
    let mut words_only = call.to_vec();
    words_only.push("--no-meaning");
    let output = guion(&words_only, &[("GUION_CACHE", cache)]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The held-out check of matching by meaning (tests/fixtures/semantic/sentences.csv, written after
/// the threshold was chosen on examples/transcripts): single agent sentences that perform a step in
/// the agent's own words ("natural": some script words kept; "distant": at most two), that touch a
/// step's topic without performing it ("near_miss"), or that are ordinary talk ("other"). Each is
/// aligned alone; a sentence counts as found when exactly its step shows evidence.
#[test]
fn matching_by_meaning_on_held_out_sentences() {
    require!(util::encoder());
    let mut classifier = util::classifier();
    let scripts: Vec<(&str, Script)> = [
        ("acme-seguros", ACME),
        ("telco-en", "examples/scripts/telco-en.toml"),
    ]
    .into_iter()
    .map(|(name, path)| {
        (
            name,
            guion_night::input::load_script(&util::fixture(path))
                .unwrap()
                .0,
        )
    })
    .collect();
    let prepared: Vec<_> = scripts
        .iter()
        .map(|(_, s)| classifier.prepare(s).unwrap())
        .collect();
    let mut reader = csv::Reader::from_path(util::fixture("semantic/sentences.csv")).unwrap();
    // kind -> (rows, right with meaning, right with words only)
    let mut tally: std::collections::BTreeMap<String, (usize, usize, usize)> = Default::default();
    for row in reader.records() {
        let row = row.unwrap();
        let (script_name, language, text, expected, kind) =
            (&row[0], &row[1], &row[2], &row[3], &row[4]);
        let k = scripts.iter().position(|(n, _)| *n == script_name).unwrap();
        let transcript = agent_line(text, language);
        let aligner = guion_core::align::Aligner::new(&scripts[k].1, Default::default());
        let meaning = classifier.classify(&transcript, &prepared[k]).unwrap();
        let found = |a: guion_core::align::Alignment| -> Vec<String> {
            a.steps
                .into_iter()
                .filter(|s| s.evidence.is_some())
                .map(|s| s.id)
                .collect()
        };
        let right = |ids: &[String]| {
            if expected == "none" {
                ids.is_empty()
            } else {
                ids == [expected.to_string()]
            }
        };
        let with_meaning =
            found(aligner.align_with(&transcript, Some(&prepared[k].semantic(&meaning))));
        let words_only = found(aligner.align(&transcript));
        let t = tally.entry(kind.to_string()).or_default();
        t.0 += 1;
        t.1 += right(&with_meaning) as usize;
        t.2 += right(&words_only) as usize;
        if std::env::var_os("GUION_SHOW").is_some() && !right(&with_meaning) {
            eprintln!("{kind:9} {expected:16} got {with_meaning:?}: {text}");
        }
    }
    let share = |kind: &str, which: usize| {
        let t = tally[kind];
        [t.1, t.2][which] as f64 / t.0 as f64
    };
    for kind in ["natural", "distant", "near_miss", "other"] {
        eprintln!(
            "{kind:9}: {:>3} sentences, right with meaning {:.2}, with words only {:.2}",
            tally[kind].0,
            share(kind, 0),
            share(kind, 1)
        );
    }
    // Measured when the bounds were set: natural 0.83 (words only 0.03), distant 0.34, near_miss
    // 0.93, other 1.00.
    assert!(
        share("natural", 0) >= 0.75,
        "natural paraphrases found: {:.2}",
        share("natural", 0)
    );
    assert!(
        share("distant", 0) >= 0.25,
        "distant paraphrases found: {:.2}",
        share("distant", 0)
    );
    assert!(
        share("near_miss", 0) >= 0.85,
        "near misses left alone: {:.2}",
        share("near_miss", 0)
    );
    assert!(
        share("other", 0) >= 0.9,
        "ordinary lines left alone: {:.2}",
        share("other", 0)
    );
}

/// A call of one agent line, without times: how single sentences are scored in these tests.
fn agent_line(text: &str, language: &str) -> Transcript {
    Transcript {
        layout: None,
        wrong_language: None,
        turns: Vec::new(),
        source: "line".into(),
        sha256: String::new(),
        duration_s: None,
        language: Some(language.into()),
        model: None,
        utterances: vec![Utterance {
            voice: None,
            language: None,
            speaker: Speaker::Agent,
            channel: None,
            start: None,
            end: None,
            text: text.into(),
            words: Vec::new(),
        }],
    }
}
