//! `guion call` on the example transcripts, on real ABCD dialogues against a script written from
//! ABCD's own workflow guidelines, and on a real recording whose layout it must work out. What the
//! analysis finds is checked in this process (`util::analyse`, the shared models); what the command
//! line does — its terminal view, its errors and exit codes — through `guion`.

use crate::util::{self, require};
use guion_core::align::{AlignOptions, Aligner, StepStatus};
use guion_core::call::ChannelLayout;
use guion_core::transcript::Speaker;
use guion_night::pipeline::{Analyser, AnalyserOptions, CallInput};
use serde_json::Value;
use std::path::Path;

/// `guion call FILE --script SCRIPT --json`, in this process.
fn call_json(file: &Path, script: &str) -> Value {
    util::call_json(file, &util::fixture(script), util::call_options())
}

fn statuses(v: &Value) -> Vec<(String, String)> {
    v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["id"].as_str().unwrap().to_string(),
                s["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn status_of<'a>(v: &'a Value, id: &str) -> &'a Value {
    v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap()
}

const ACME: &str = "examples/scripts/acme-seguros.toml";

#[test]
fn calls_that_follow_the_script_score_full_marks_in_both_languages() {
    require!(util::encoder());
    for file in [
        "examples/transcripts/acme-es-follows.txt",
        "examples/transcripts/acme-en-follows.vtt",
    ] {
        let v = call_json(&util::fixture(file), ACME);
        assert_eq!(v["adherence"], 1.0, "{file}: {:?}", statuses(&v));
        assert_eq!(v["forbidden"].as_array().unwrap().len(), 0);
        assert_eq!(v["script"]["id"], "acme-seguros");
        assert_eq!(v["script"]["version"], "2026-11");
        let greeting = status_of(&v, "greeting");
        let evidence = &greeting["evidence"];
        assert_eq!(evidence["speaker"], "agent");
        assert_eq!(evidence["match"], "lexical");
        assert!(evidence["start"].as_f64().unwrap() < 1.0, "{evidence}");
        assert!(greeting["similarity"].as_f64().unwrap() > 0.99);
    }
}

#[test]
fn a_partial_call_shows_each_kind_of_miss() {
    require!(util::encoder());
    let v = call_json(
        &util::fixture("examples/transcripts/acme-es-partial.txt"),
        ACME,
    );
    assert_eq!(v["language"], "es");
    assert_eq!(
        status_of(&v, "greeting")["status"],
        "missed",
        "{:?}",
        statuses(&v)
    );
    assert_eq!(status_of(&v, "greeting")["evidence"], Value::Null);
    // The recording notice came, but only after "anything else?".
    let disclosure = status_of(&v, "disclosure");
    assert_eq!(disclosure["status"], "out_of_order");
    // Text transcripts time words by spreading them over their line: the notice's line starts at 00:42.
    let start = disclosure["evidence"]["start"].as_f64().unwrap();
    assert!((42.0..49.0).contains(&start), "{start}");
    assert_eq!(status_of(&v, "discovery")["status"], "missed");
    assert_eq!(status_of(&v, "farewell")["status"], "done");
    let a = v["adherence"].as_f64().unwrap();
    assert!(0.5 < a && a < 0.9, "{a}");
}

#[test]
fn a_broken_call_is_flagged_with_its_forbidden_phrases() {
    require!(util::encoder());
    let v = call_json(
        &util::fixture("examples/transcripts/acme-es-breaks.txt"),
        ACME,
    );
    assert_eq!(v["adherence"], 0.0);
    let hits: Vec<(&str, &str)> = v["forbidden"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["id"].as_str().unwrap(), f["text"].as_str().unwrap()))
        .collect();
    assert!(
        hits.contains(&("rude", "eso no es mi problema,")),
        "{hits:?}"
    );
    assert!(hits.contains(&("rude", "Cálmese,")), "{hits:?}");
    assert!(hits.contains(&("promise", "Le garantizo")), "{hits:?}");
    let promise = v["forbidden"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "promise")
        .unwrap();
    assert_eq!(promise["severity"], "high");
    let start = promise["start"].as_f64().unwrap();
    assert!((21.0..29.0).contains(&start), "{start}");
}

#[test]
fn the_terminal_view_is_plain_when_piped() {
    require!(util::encoder());
    let output = util::guion()
        .args([
            "call",
            "examples/transcripts/acme-es-follows.txt",
            "--script",
            ACME,
        ])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success());
    assert!(!out.contains('\u{1b}'), "colour codes in piped output");
    assert!(out.contains("adherence 100%"), "{out}");
    assert!(out.contains("✔ greeting"), "{out}");
    assert!(out.contains("TIMELINE"), "{out}");
}

/// ABCD's agents follow written workflows; the script is that workflow in guion's form. Its steps must
/// be the workflow's actions, and the agent of dialogue 3592 (a size return refused after 90 days)
/// must come out as ABCD's own annotations say: account, validation and membership checks done, no
/// address or order update, and the closing question asked.
#[test]
fn an_abcd_workflow_checks_real_abcd_dialogues() {
    let abcd = require!(util::shared("text/abcd"));
    let (script, warnings) =
        guion_night::input::load_script(&util::fixture("examples/scripts/abcd-return-size.toml"))
            .unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");

    let guidelines: Value =
        serde_json::from_str(&std::fs::read_to_string(abcd.join("guidelines.json")).unwrap())
            .unwrap();
    let actions = guidelines["Product Defect"]["subflows"]["Return Due to Size"]["actions"]
        .as_array()
        .unwrap();
    for action in actions.iter().filter(|a| a["type"] != "communication") {
        let button = action["button"].as_str().unwrap();
        assert!(
            script.steps.iter().any(|s| s.title.starts_with(button)),
            "workflow action [{button}] has no step"
        );
    }

    let dialogues = guion_night::input::read_abcd(&abcd.join("abcd_sample.json")).unwrap();
    let (_, t) = dialogues
        .iter()
        .find(|(id, _)| id == "3592")
        .expect("dialogue 3592");
    let a = Aligner::new(&script, AlignOptions::default()).align(t);
    let status = |id: &str| a.steps.iter().find(|s| s.id == id).unwrap().status;
    for done in [
        "pull_up_account",
        "validate_purchase",
        "membership_privileges",
        "purchase_date",
        "anything_else",
    ] {
        assert_eq!(status(done), StepStatus::Done, "{done}: {:?}", a.steps);
    }
    for missed in ["enter_details", "update_order"] {
        assert_eq!(status(missed), StepStatus::Missed, "{missed}");
    }
    assert!(a.forbidden.is_empty());
}

/// A real stereo recording with the agent on the RIGHT and no --channels: guion must find the agent's
/// side from the script, say so, and then find the steps in the agent's words.
#[test]
fn the_agent_channel_of_a_stereo_recording_is_found_from_the_script() {
    require!(util::whisper(), util::encoder(), util::prompts("en"));
    let customer =
        guion_speech::audio::decode_file(&util::prompt_path("en", "privacy-unident")).unwrap();
    let agent =
        guion_speech::audio::decode_file(&util::prompt_path("en", "queue-youarenext")).unwrap();
    let (c, a) = (&customer.channels[0], &agent.channels[0]);
    let gap = vec![0.0f32; 8_000];
    let left: Vec<f32> = [c.as_slice(), &gap, &vec![0.0; a.len()]].concat();
    let right: Vec<f32> = [vec![0.0; c.len()].as_slice(), &gap, a].concat();
    let dir = util::tempdir();
    let wav = dir.path().join("call.wav");
    util::write_wav(&wav, &[left, right]);
    let script = dir.path().join("queue.toml");
    std::fs::write(
        &script,
        "[script]\nid = \"queue\"\nversion = \"1\"\nlanguages = [\"en\"]\n\n\
         [[step]]\nid = \"queue_position\"\ntitle = \"Tell the caller they are next\"\n\
         variants.en = [\"your call is now first in line\", \"you are next in the queue\"]\n\n\
         [[step]]\nid = \"representative\"\ntitle = \"Promise the next available representative\"\n\
         variants.en = [\"will be answered by the next available representative\"]\n",
    )
    .unwrap();
    // `guion call call.wav --script queue.toml --threads 2 --json`, in this process.
    let v = util::call_json(&wav, &script, util::call_options());
    assert_eq!(v["agent_channel"]["channel"], 1, "{}", v["agent_channel"]);
    assert_eq!(v["agent_channel"]["decided_by"], "script");
    assert!(v["agent_channel"]["confidence"].as_f64().unwrap() > 0.7);
    assert_eq!(v["adherence"], 1.0, "{:?}", statuses(&v));
    let evidence = &status_of(&v, "queue_position")["evidence"];
    assert_eq!(evidence["speaker"], "agent");
    // The agent starts after the customer's 4.4 s prompt and a half-second gap.
    let start = evidence["start"].as_f64().unwrap();
    assert!((4.5..6.5).contains(&start), "{start}");

    // With the agent's side given and no step of the customer's, the customer's channel is
    // decoded greedily (`--customer-beam`, default 1), and the stored key says so; the agent's
    // verdicts do not change, and the customer's words are still there.
    let (parsed, _) = guion_night::input::load_script(&script).unwrap();
    let given = CallInput {
        path: wav.clone(),
        language: Some("en".into()),
        channels: Some(ChannelLayout::AgentRight),
        ..CallInput::default()
    };
    let record = util::analyse(&parsed, &given, util::call_options());
    let by_side = |speaker: Speaker| util::said_by(&record, speaker);
    assert_eq!(record.adherence, Some(1.0), "{:?}", record.steps);
    assert!(by_side(Speaker::Agent).to_lowercase().contains("next"));
    let customer = by_side(Speaker::Customer);
    assert!(customer.split(' ').count() >= 10, "{customer}");
    let options = util::call_options();
    let analyser = Analyser::with_models(&parsed, options.clone(), None, None).unwrap();
    let ids = |channels| analyser.determinants(0, true, channels, Some("en")).ids();
    assert!(ids(Some(ChannelLayout::AgentRight)).contains("beam=5 customer_beam=1 "));
    // A side found from the signal may be swapped after decoding: both sides alike.
    assert!(!ids(None).contains("customer_beam"), "{}", ids(None));
    assert!(!ids(Some(ChannelLayout::Mono)).contains("customer_beam"));
    // Asked to decode both alike, or a script with a customer's step: no cheaper side.
    let alike = AnalyserOptions {
        customer_beam: 5,
        ..options.clone()
    };
    let alike = Analyser::with_models(&parsed, alike, None, None).unwrap();
    assert!(
        !alike
            .determinants(0, true, Some(ChannelLayout::AgentRight), None)
            .ids()
            .contains("customer_beam")
    );
    let mut with_customer_step = parsed.clone();
    with_customer_step.steps[1].role = guion_core::script::Role::Customer;
    let customer_scored = Analyser::with_models(&with_customer_step, options, None, None).unwrap();
    assert_eq!(
        customer_scored.customer_beam(0, Some(ChannelLayout::AgentRight)),
        None
    );
}

#[test]
fn a_bad_transcript_is_reported_once_with_file_and_line() {
    let dir = util::tempdir();
    let bad = dir.path().join("chat.txt");
    std::fs::write(
        &bad,
        "AGENTE: hola\nesto no es una línea\n[00:1x] CLIENTE: adiós\n",
    )
    .unwrap();
    // Reading fails the same with or without meaning; without, no model is needed.
    let output = util::guion()
        .arg("call")
        .arg(&bad)
        .args(["--no-meaning", "--script", ACME])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("chat.txt:3"), "{stderr}");
    let missing = util::guion()
        .args(["call", "no-such-call.vtt", "--no-meaning", "--script", ACME])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(stderr.contains("no-such-call.vtt"), "{stderr}");
    assert_eq!(
        stderr.matches("No such file").count(),
        1,
        "said twice: {stderr}"
    );
}

/// `guion call … | head` must end quietly when the reader stops reading, as ripgrep does: no
/// "Broken pipe" on standard error, exit status 0.
#[test]
fn a_closed_output_pipe_ends_the_command_quietly() {
    for view in [&["--json"][..], &[]] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let output = util::guion()
            .args([
                "call",
                "examples/transcripts/acme-es-partial.txt",
                "--script",
                "examples/scripts/acme-seguros.toml",
                "--no-meaning",
            ])
            .args(view)
            .stdout(writer)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{view:?}: {stderr}");
        assert!(stderr.is_empty(), "{view:?}: {stderr}");
    }
}

/// A reason that quotes a transcript's line is shown with its PII hidden, unless --no-redact.
#[test]
fn failure_reasons_hide_pii_unless_asked() {
    let dir = util::tempdir();
    let bad = dir.path().join("bad.txt");
    std::fs::write(&bad, "mi tarjeta es 4539 1488 0343 6467\n").unwrap();
    let run = |extra: &[&str]| {
        let output = util::guion()
            .args(["call", bad.to_str().unwrap()])
            .args([
                "--script",
                "examples/scripts/acme-seguros.toml",
                "--no-meaning",
            ])
            .args(extra)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2));
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    let shown = run(&[]);
    assert!(shown.contains("bad.txt:1:"), "{shown}");
    assert!(shown.contains("mi tarjeta es [CARD]"), "{shown}");
    assert!(!shown.contains("4539"), "{shown}");
    assert!(run(&["--no-redact"]).contains("4539 1488 0343 6467"));
}

/// `--judge` on a call where the agent does every step in their own words: the steps that neither
/// words nor the encoder found and the judge does are labelled "judged" with a probability over the
/// threshold, nothing found without the judge is lost, and small talk that touches a step's topic
/// (a match "recorded" at home) is not taken for the step.
#[test]
fn the_judge_finds_steps_said_in_other_words_and_no_step_in_small_talk() {
    require!(util::encoder(), util::judge());
    let run = |file: &str, judge: bool| -> serde_json::Value {
        let mut args = vec![
            "call",
            file,
            "--script",
            "examples/scripts/acme-seguros.toml",
            "--json",
        ];
        if judge {
            args.push("--judge");
        }
        let o = util::guion().args(&args).output().unwrap();
        assert!(
            o.status.code().is_some_and(|c| c <= 1),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        serde_json::from_slice(&o.stdout).unwrap()
    };
    let done = |record: &serde_json::Value| -> Vec<(String, String)> {
        record["steps"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["status"] == "done")
            .map(|s| {
                (
                    s["id"].as_str().unwrap().to_string(),
                    s["evidence"]["match"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    };

    let paraphrased = "examples/transcripts/acme-es-paraphrased.txt";
    let without = done(&run(paraphrased, false));
    let record = run(paraphrased, true);
    let with = done(&record);
    for step in &without {
        assert!(
            with.contains(step),
            "{step:?} lost with the judge: {with:?}"
        );
    }
    let judged: Vec<&str> = with
        .iter()
        .filter(|(_, m)| m == "judged")
        .map(|(id, _)| id.as_str())
        .collect();
    // The recording notice and the identification are said only in other words here.
    assert!(judged.contains(&"disclosure"), "{with:?}");
    assert!(judged.contains(&"identification"), "{with:?}");
    for s in record["steps"].as_array().unwrap() {
        if s["evidence"]["match"] == "judged" {
            assert!(s["evidence"]["judged"].as_f64().unwrap() >= 0.9, "{s}");
            assert_eq!(s["evidence"]["speaker"], "agent");
        }
    }
    assert!(
        record["models"]["judge"].is_string(),
        "{}",
        record["models"]
    );

    // Small talk about a match "recorded" on the decoder is a near miss of the recording notice,
    // which this agent never gives; the travel cover the agent offers is a real solution.
    let offtopic = "examples/transcripts/acme-es-offtopic.txt";
    let without = done(&run(offtopic, false));
    let with = done(&run(offtopic, true));
    for step in &without {
        assert!(
            with.contains(step),
            "{step:?} lost with the judge: {with:?}"
        );
    }
    assert!(!with.iter().any(|(id, _)| id == "disclosure"), "{with:?}");
}
