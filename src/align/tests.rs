//! Alignment on small hand-written calls: statuses, order, windows, evidence, forbidden phrases.

use super::*;
use crate::script::{Forbidden, Role, Script, Severity, Step, Window};
use crate::transcript::{Utterance, Word};
use std::collections::BTreeMap;

fn step(id: &str, order: u32, weight: f64, es: &[&str]) -> Step {
    Step {
        id: id.into(),
        title: id.into(),
        required: true,
        weight,
        role: Role::Agent,
        order,
        window: None,
        min_similarity: None,
        semantic_threshold: None,
        variants: BTreeMap::from([("es".to_string(), es.iter().map(|s| s.to_string()).collect())]),
    }
}

fn script() -> Script {
    let mut greeting = step(
        "greeting",
        1,
        2.0,
        &[
            "gracias por llamar a Acme Seguros, le atiende {name}",
            "Acme Seguros, buenos días, soy {name}",
        ],
    );
    greeting.window = Some(Window {
        end_s: Some(30.0),
        ..Window::default()
    });
    let mut farewell = step(
        "farewell",
        5,
        1.0,
        &["gracias por confiar en Acme Seguros, que tenga un buen día"],
    );
    farewell.window = Some(Window {
        last_s: Some(60.0),
        ..Window::default()
    });
    Script {
        id: "acme".into(),
        version: "1".into(),
        languages: vec!["es".into()],
        min_similarity: 0.75,
        semantic_threshold: None,
        steps: vec![
            greeting,
            step(
                "identification",
                2,
                1.0,
                &["me puede indicar su DNI", "me confirma su número de póliza"],
            ),
            step(
                "disclosure",
                3,
                2.0,
                &["le informamos de que esta llamada puede ser grabada"],
            ),
            step("anything_else", 4, 1.0, &["puedo ayudarle en algo más"]),
            farewell,
        ],
        forbidden: vec![Forbidden {
            id: "promise".into(),
            severity: Severity::High,
            variants: BTreeMap::from([("es".to_string(), vec!["le garantizo".to_string()])]),
        }],
        values: vec![],
    }
}

/// An utterance with evenly spaced word times and one confidence for all its words.
fn said(speaker: Speaker, start: f64, text: &str, p: f32) -> Utterance {
    let words: Vec<Word> = text
        .split_whitespace()
        .enumerate()
        .map(|(i, w)| Word {
            text: w.into(),
            start: start + 0.4 * i as f64,
            end: start + 0.4 * i as f64 + 0.35,
            p,
        })
        .collect();
    Utterance {
        speaker,
        channel: Some(if speaker == Speaker::Customer { 1 } else { 0 }),
        start: Some(start),
        end: words.last().map(|w| w.end),
        text: text.into(),
        words,
    }
}

fn call(utterances: Vec<Utterance>, duration: f64) -> Transcript {
    Transcript {
        source: "call.wav".into(),
        sha256: String::new(),
        duration_s: Some(duration),
        language: Some("es".into()),
        model: None,
        utterances,
    }
}

fn statuses(a: &Alignment) -> Vec<(&str, StepStatus)> {
    a.steps.iter().map(|s| (s.id.as_str(), s.status)).collect()
}

fn good_call() -> Vec<Utterance> {
    use Speaker::{Agent, Customer};
    vec![
        said(
            Agent,
            1.0,
            "Gracias por llamar a Acme Seguros, le atiende Ana Belén. ¿En qué puedo ayudarle?",
            0.9,
        ),
        said(
            Customer,
            6.0,
            "Hola, quería consultar mi póliza del coche.",
            0.9,
        ),
        said(
            Agent,
            10.0,
            "Claro. ¿Me puede indicar su DNI, por favor?",
            0.9,
        ),
        said(
            Customer,
            14.0,
            "Sí, es el doce, treinta y cuatro, cincuenta y seis.",
            0.9,
        ),
        said(
            Agent,
            20.0,
            "Gracias. Le informamos de que esta llamada puede ser grabada.",
            0.9,
        ),
        said(Agent, 90.0, "¿Puedo ayudarle en algo más?", 0.9),
        said(Customer, 93.0, "No, nada más, gracias.", 0.9),
        said(
            Agent,
            95.0,
            "Gracias por confiar en Acme Seguros, que tenga un buen día.",
            0.9,
        ),
    ]
}

#[test]
fn a_call_that_follows_the_script_has_every_step_done_with_evidence() {
    let a = Aligner::new(&script(), AlignOptions::default()).align(&call(good_call(), 100.0));
    assert!(
        a.steps.iter().all(|s| s.status == StepStatus::Done),
        "{:?}",
        statuses(&a)
    );
    let greeting = &a.steps[0];
    let e = greeting.evidence.as_ref().unwrap();
    // A trailing {name} slot quotes the least it needs: the first name.
    assert_eq!(e.text, "Gracias por llamar a Acme Seguros, le atiende Ana");
    assert_eq!(e.start, Some(1.0));
    assert_eq!(e.speaker, Speaker::Agent);
    assert_eq!(e.kind, MatchKind::Lexical);
    assert!((greeting.similarity - 1.0).abs() < 1e-6);
    assert!(a.forbidden.is_empty());
}

#[test]
fn asr_noise_still_counts_as_done() {
    let mut u = good_call();
    // Dropped words, a misheard word, digits written as words.
    u[4] = said(
        Speaker::Agent,
        20.0,
        "gracias le informamos que esta llamada puede ser gravada",
        0.8,
    );
    u[0] = said(
        Speaker::Agent,
        1.0,
        "gracias por llamar acme seguros le atiende ana",
        0.8,
    );
    let a = Aligner::new(&script(), AlignOptions::default()).align(&call(u, 100.0));
    assert_eq!(a.steps[2].status, StepStatus::Done, "{:?}", a.steps[2]);
    assert_eq!(a.steps[0].status, StepStatus::Done, "{:?}", a.steps[0]);
}

#[test]
fn a_skipped_step_is_missed_and_the_rest_stand() {
    let mut u = good_call();
    u.remove(4);
    let a = Aligner::new(&script(), AlignOptions::default()).align(&call(u, 100.0));
    assert_eq!(a.steps[2].status, StepStatus::Missed);
    assert!(a.steps[2].evidence.is_none());
    assert_eq!(
        a.steps
            .iter()
            .filter(|s| s.status == StepStatus::Done)
            .count(),
        4
    );
}

#[test]
fn a_step_said_late_is_out_of_order() {
    let mut u = good_call();
    // The disclosure comes after the farewell.
    let disclosure = u.remove(4);
    u.push(said(Speaker::Agent, 99.0, &disclosure.text, 0.9));
    let a = Aligner::new(&script(), AlignOptions::default()).align(&call(u, 101.0));
    assert_eq!(
        a.steps[2].status,
        StepStatus::OutOfOrder,
        "{:?}",
        statuses(&a)
    );
    // The phrase starts at its second word, after "Gracias.".
    assert_eq!(a.steps[2].evidence.as_ref().unwrap().start, Some(99.4));
    assert_eq!(a.steps[4].status, StepStatus::Done);
}

#[test]
fn equal_order_steps_may_come_either_way() {
    let mut s = script();
    s.steps[1].order = 3; // identification and disclosure share a rank
    let mut u = good_call();
    u.swap(2, 4);
    let a = Aligner::new(&s, AlignOptions::default()).align(&call(u, 100.0));
    assert!(
        a.steps.iter().all(|s| s.status == StepStatus::Done),
        "{:?}",
        statuses(&a)
    );
}

#[test]
fn windows_are_checked_against_the_evidence_time() {
    let mut u = good_call();
    u[0] = said(Speaker::Agent, 45.0, &u[0].text.clone(), 0.9);
    u.swap(0, 1);
    // The farewell, 95 s into a 300 s call, is not within the last 60 s.
    let a = Aligner::new(&script(), AlignOptions::default()).align(&call(u, 300.0));
    assert_eq!(
        a.steps[0].status,
        StepStatus::OutsideWindow,
        "{:?}",
        statuses(&a)
    );
    assert_eq!(a.steps[4].status, StepStatus::OutsideWindow);
}

#[test]
fn doubtful_words_make_a_step_unclear_not_missed() {
    let mut u = good_call();
    u[4] = said(
        Speaker::Agent,
        20.0,
        "le informa de questa llama puede ser",
        0.3,
    );
    let a = Aligner::new(&script(), AlignOptions::default()).align(&call(u.clone(), 100.0));
    assert_eq!(a.steps[2].status, StepStatus::Unclear, "{:?}", a.steps[2]);
    assert!(a.steps[2].evidence.is_some());
    // The same words heard with confidence are a miss.
    u[4] = said(
        Speaker::Agent,
        20.0,
        "le informa de questa llama puede ser",
        0.95,
    );
    let a = Aligner::new(&script(), AlignOptions::default()).align(&call(u, 100.0));
    assert_eq!(a.steps[2].status, StepStatus::Missed, "{:?}", a.steps[2]);
    // A miss still shows the auditor what came nearest.
    let closest = a.steps[2].closest.as_ref().unwrap();
    assert_eq!(closest.text, "le informa de questa llama puede ser");
    assert!(a.steps[2].evidence.is_none());
}

#[test]
fn forbidden_phrases_are_reported_with_words_and_time() {
    let mut u = good_call();
    u.insert(
        5,
        said(
            Speaker::Agent,
            40.0,
            "No se preocupe, le garantizo que no subirá el precio.",
            0.9,
        ),
    );
    // The customer saying it is not the agent's fault.
    u.insert(
        6,
        said(
            Speaker::Customer,
            50.0,
            "¿Me lo garantiza? ¿Le garantizo, dice?",
            0.9,
        ),
    );
    let a = Aligner::new(&script(), AlignOptions::default()).align(&call(u, 100.0));
    assert_eq!(a.forbidden.len(), 1, "{:?}", a.forbidden);
    let hit = &a.forbidden[0];
    assert_eq!((hit.id.as_str(), hit.severity), ("promise", Severity::High));
    assert_eq!(hit.evidence.text, "le garantizo");
    assert!((hit.evidence.start.unwrap() - 41.2).abs() < 1e-6);
}

#[test]
fn text_without_times_aligns_and_says_windows_were_not_checked() {
    let mut t = call(good_call(), 100.0);
    t.duration_s = None;
    for u in &mut t.utterances {
        u.start = None;
        u.end = None;
        u.words.clear();
        u.channel = None;
    }
    let a = Aligner::new(&script(), AlignOptions::default()).align(&t);
    assert!(
        a.steps.iter().all(|s| s.status == StepStatus::Done),
        "{:?}",
        statuses(&a)
    );
    assert!(a.steps[0].note.as_deref().unwrap().contains("no times"));
    assert_eq!(a.steps[0].evidence.as_ref().unwrap().start, None);
    assert_eq!(a.steps[1].note, None);
}

#[test]
fn unknown_speakers_are_searched_for_either_role() {
    let mut t = call(good_call(), 100.0);
    for u in &mut t.utterances {
        u.speaker = Speaker::Unknown;
    }
    let a = Aligner::new(&script(), AlignOptions::default()).align(&t);
    assert!(
        a.steps.iter().all(|s| s.status == StepStatus::Done),
        "{:?}",
        statuses(&a)
    );
}

#[test]
fn the_agent_channel_is_the_one_that_sounds_like_the_script() {
    let mut t = call(good_call(), 100.0);
    // Swap the channels and forget who is who.
    for u in &mut t.utterances {
        u.channel = Some(if u.speaker == Speaker::Agent { 1 } else { 0 });
        u.speaker = Speaker::Unknown;
    }
    let (channel, confidence) = Aligner::new(&script(), AlignOptions::default())
        .agent_channel(&t)
        .unwrap();
    assert_eq!(channel, 1);
    assert!(confidence > 0.8, "{confidence}");
}
