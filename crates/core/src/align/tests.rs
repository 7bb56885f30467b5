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
        judge_threshold: None,
        description: BTreeMap::new(),
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
        judge_threshold: None,
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
        voice: None,
        language: None,
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
        layout: None,
        wrong_language: None,
        turns: Vec::new(),
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
        .agent_side(&t)
        .unwrap();
    assert_eq!(channel, 1);
    assert!(confidence > 0.8, "{confidence}");
}

/// Stand-in embeddings: one axis per step, so a sentence "means" a step when it points along its axis.
fn axis(i: usize, weight: f32, rest: f32) -> Vec<f32> {
    let mut v = [rest; 6];
    v[i] = weight;
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter().map(|x| x / n).collect()
}

fn step_vectors(script: &Script) -> Vec<Vec<(String, String, Vec<f32>)>> {
    semantic_phrasings(script)
        .into_iter()
        .enumerate()
        .map(|(i, phrasings)| {
            phrasings
                .into_iter()
                .map(|(l, t)| (l, t, axis(i, 1.0, 0.0)))
                .collect()
        })
        .collect()
}

#[test]
fn a_step_in_other_words_is_found_by_meaning_and_words_win_where_both_exist() {
    use Speaker::Agent;
    let script = script();
    let aligner = Aligner::new(&script, AlignOptions::default());
    let t = call(
        vec![
            said(Agent, 1.0, "Acme Seguros, buenos días, soy Lucía.", 0.9),
            said(
                Agent,
                5.0,
                "Ojo: todo lo que hablemos queda registrado. Dígame.",
                0.9,
            ),
        ],
        120.0,
    );
    let pieces = pieces(&t);
    assert_eq!(
        pieces.iter().map(|p| p.text.as_str()).collect::<Vec<_>>(),
        [
            "Acme Seguros, buenos días, soy Lucía.",
            "Ojo: todo lo que hablemos queda registrado.",
            "Dígame."
        ]
    );
    // The greeting sentence also "means" the greeting; the notice sentence means the disclosure (2).
    let piece_vectors = vec![axis(0, 1.0, 0.1), axis(2, 1.0, 0.2), axis(5, 1.0, 0.0)];
    let steps = step_vectors(&script);
    let semantic = Semantic {
        pieces: &pieces,
        piece_vectors: &piece_vectors,
        step_vectors: &steps,
        judged: &[],
    };
    let a = aligner.align_with(&t, Some(&semantic));
    let greeting = &a.steps[0];
    assert_eq!(greeting.status, StepStatus::Done);
    assert_eq!(greeting.evidence.as_ref().unwrap().kind, MatchKind::Lexical);
    let disclosure = a.steps.iter().find(|s| s.id == "disclosure").unwrap();
    assert_eq!(disclosure.status, StepStatus::Done, "{disclosure:?}");
    let e = disclosure.evidence.as_ref().unwrap();
    assert_eq!(e.kind, MatchKind::Semantic);
    assert_eq!(e.text, "Ojo: todo lo que hablemos queda registrado.");
    assert_eq!(e.start, Some(5.0));
    assert!(disclosure.similarity > 0.9);
    // Words alone find no notice.
    let words_only = aligner.align(&t);
    assert_eq!(words_only.steps[2].status, StepStatus::Missed);
}

#[test]
fn a_sentence_shows_only_the_step_it_is_nearest_to_and_only_above_the_threshold() {
    use Speaker::Agent;
    let mut script = script();
    let aligner = Aligner::new(&script, AlignOptions::default());
    let t = call(vec![said(Agent, 1.0, "Frase ambigua.", 0.9)], 60.0);
    let pieces = pieces(&t);
    let steps = step_vectors(&script);
    // Near identification (1) and, a little less, disclosure (3): only identification may take it.
    let mut v = vec![0.0f32; 6];
    v[1] = 0.8;
    v[2] = 0.6;
    let semantic_vectors = vec![v];
    let semantic = Semantic {
        pieces: &pieces,
        piece_vectors: &semantic_vectors,
        step_vectors: &steps,
        judged: &[],
    };
    let a = aligner.align_with(&t, Some(&semantic));
    let found: Vec<&str> = a
        .steps
        .iter()
        .filter(|s| s.evidence.is_some())
        .map(|s| s.id.as_str())
        .collect();
    assert_eq!(found, ["identification"]);
    // A script that asks for more closeness than 0.8 finds nothing.
    script.semantic_threshold = Some(0.85);
    let strict = Aligner::new(&script, AlignOptions::default());
    assert!(
        strict
            .align_with(&t, Some(&semantic))
            .steps
            .iter()
            .all(|s| s.evidence.is_none())
    );
}

#[test]
fn slots_are_left_out_of_what_the_encoder_reads() {
    assert_eq!(
        without_slots("Acme Seguros, buenos días, soy {name}"),
        "Acme Seguros, buenos días, soy"
    );
    assert_eq!(without_slots("su {tipo de} póliza {n}."), "su póliza .");
    assert_eq!(without_slots("no {a {b}} risk"), "no risk");
    assert_eq!(
        without_slots("le garantizo {name}  que sí"),
        "le garantizo que sí"
    );
}

#[test]
fn the_judge_is_asked_about_the_nearest_sentences_and_its_yes_shows_the_step() {
    use Speaker::Agent;
    let script = script();
    let aligner = Aligner::new(&script, AlignOptions::default());
    let t = call(
        vec![
            said(Agent, 1.0, "Acme Seguros, buenos días, soy Lucía.", 0.9),
            said(Agent, 5.0, "Esto queda todo apuntado. Dígame.", 0.9),
        ],
        120.0,
    );
    let pieces = pieces(&t);
    let steps = step_vectors(&script);
    // The notice sentence is nearer the disclosure (2) than "Dígame.", but below the threshold.
    let piece_vectors = vec![axis(0, 1.0, 0.1), axis(2, 1.0, 2.5), axis(2, 1.0, 9.0)];
    let none = Semantic {
        pieces: &pieces,
        piece_vectors: &piece_vectors,
        step_vectors: &steps,
        judged: &[],
    };
    let first = aligner.align_with(&t, Some(&none));
    let disclosure = script
        .steps
        .iter()
        .position(|s| s.id == "disclosure")
        .unwrap();
    assert_eq!(first.steps[disclosure].status, StepStatus::Missed);
    assert!(first.steps[disclosure].by_meaning.unwrap() < 0.5);
    let shortlist = aligner.judge_shortlist(&t, &first, &none, 1);
    let (_, asked) = shortlist.iter().find(|(s, _)| *s == disclosure).unwrap();
    assert_eq!(
        asked,
        &[1],
        "the nearest free sentence, not the greeting's evidence"
    );
    assert!(
        shortlist.iter().all(|(_, p)| !p.contains(&0)),
        "a sentence that is another step's evidence is not asked about"
    );

    let judged = [Judged {
        step: disclosure,
        piece: 1,
        p: 0.95,
    }];
    let yes = Semantic {
        judged: &judged,
        ..none
    };
    let second = aligner.align_with(&t, Some(&yes));
    let step = &second.steps[disclosure];
    assert_eq!(step.status, StepStatus::Done);
    let e = step.evidence.as_ref().unwrap();
    assert_eq!(e.kind, MatchKind::Judged);
    assert_eq!(e.judged, Some(0.95));
    assert_eq!(e.text, "Esto queda todo apuntado.");
    // A sentence the judge is surer shows another step is left to that step.
    let identification = script
        .steps
        .iter()
        .position(|s| s.id == "identification")
        .unwrap();
    let judged_twice = [
        judged[0],
        Judged {
            step: identification,
            piece: 1,
            p: 0.97,
        },
    ];
    let twice = Semantic {
        judged: &judged_twice,
        ..none
    };
    let a = aligner.align_with(&t, Some(&twice));
    assert_eq!(a.steps[disclosure].status, StepStatus::Missed);
    assert_eq!(a.steps[identification].status, StepStatus::Done);
    // Below the judge's threshold, the step stays missed.
    let judged = [Judged {
        p: 0.3,
        ..judged[0]
    }];
    let no = Semantic {
        judged: &judged,
        ..none
    };
    assert_eq!(
        aligner.align_with(&t, Some(&no)).steps[disclosure].status,
        StepStatus::Missed
    );
}
