use super::*;
use crate::align::{Evidence, StepResult};
use crate::call::{CallMeta, Sourcing};
use crate::review::{Review, StepReview};
use crate::transcript::Speaker;
use StepStatus::*;

/// A record with only what coaching reads; the rest as a text call would have it.
fn record(script: &str, language: &str) -> CallRecord {
    serde_json::from_value(serde_json::json!({
        "call": "x.txt", "sha256": "0", "script": {"id": script, "version": "1"},
        "language": language, "duration_s": null, "adherence": null,
        "score": {"adherence": null, "steps_done": 0, "steps_required": 0, "steps_unclear": 0,
                  "forbidden": 0},
        "steps": [], "forbidden": [], "metrics": {}, "agent_channel": null, "utterances": [],
        "models": {"asr": null}, "redacted": true
    }))
    .unwrap()
}

fn evidence(text: &str, kind: MatchKind) -> Evidence {
    Evidence {
        text: text.to_string(),
        start: None,
        end: None,
        speaker: Speaker::Agent,
        kind,
        variant: String::new(),
        p: 1.0,
        judged: None,
    }
}

fn step(id: &str, status: StepStatus, said: Option<(&str, MatchKind, f32)>) -> StepResult {
    StepResult {
        id: id.to_string(),
        title: format!("title of {id}"),
        required: id != "optional",
        weight: 1.0,
        status,
        similarity: said.map_or(0.3, |s| s.2),
        evidence: said.map(|(t, k, _)| evidence(t, k)),
        closest: None,
        note: None,
        by_words: None,
        by_meaning: None,
        review: None,
    }
}

struct Call {
    id: &'static str,
    agent: &'static str,
    vendor: &'static str,
    site: &'static str,
    language: &'static str,
    script: &'static str,
}

const fn at(
    id: &'static str,
    agent: &'static str,
    vendor: &'static str,
    site: &'static str,
) -> Call {
    Call {
        id,
        agent,
        vendor,
        site,
        language: "es",
        script: "acme",
    }
}

impl Call {
    fn lang(self, language: &'static str) -> Call {
        Call { language, ..self }
    }

    fn script(self, script: &'static str) -> Call {
        Call { script, ..self }
    }

    fn meta(&self) -> CallMeta {
        CallMeta {
            call_id: self.id.to_string(),
            path: self.id.into(),
            agent_id: self.agent.to_string(),
            vendor: self.vendor.to_string(),
            site: self.site.to_string(),
            sourcing: Sourcing::Outsourced,
            language: None,
            started_at: None,
        }
    }

    /// Scored with these step statuses; a done step's words say who said it, by words.
    fn with(self, steps: &[(&str, StepStatus)]) -> StoredCall {
        let mut r = record(self.script, self.language);
        r.steps = steps
            .iter()
            .map(|(id, s)| {
                let words = format!("{} does {id}", self.id);
                let said = (*s == Done).then_some((words.as_str(), MatchKind::Lexical, 0.9));
                step(id, *s, said)
            })
            .collect();
        self.stored(r)
    }

    fn stored(self, mut r: CallRecord) -> StoredCall {
        r.score = crate::score::score_steps(&r.steps, r.forbidden.len());
        r.adherence = r.score.adherence;
        StoredCall {
            night: "2026-11-22".into(),
            meta: self.meta(),
            outcome: Outcome::Scored {
                record: Box::new(r),
                times: Default::default(),
            },
        }
    }

    fn failed(self) -> StoredCall {
        StoredCall {
            night: "2026-11-22".into(),
            meta: self.meta(),
            outcome: Outcome::Failed {
                reason: "corrupt".into(),
            },
        }
    }
}

fn pack<'a>(packs: &'a [Pack], agent: &str) -> &'a Pack {
    packs
        .iter()
        .find(|p| p.agent.as_deref() == Some(agent))
        .unwrap_or_else(|| panic!("no pack for {agent}"))
}

#[test]
fn missed_rates_turn_the_completion_interval_over_and_count_only_judged_calls() {
    let mut calls = vec![
        at("a1", "ana", "V", "s1").with(&[("greet", Done), ("close", Missed)]),
        at("a2", "ana", "V", "s1").with(&[("greet", Missed), ("close", Missed)]),
        at("a3", "ana", "V", "s1").with(&[("greet", Unclear), ("close", OutOfOrder)]),
        at("a4", "ana", "V", "s1").with(&[("greet", Done), ("close", Done)]),
        // Neither a failed call nor one in another language misses anything.
        at("a5", "ana", "V", "s1").failed(),
    ];
    let mut other = record("acme", "fr");
    other.wrong_language = Some(
        serde_json::from_value(serde_json::json!(
            {"found": "fr", "p": 0.9, "allowed": ["es"], "allowed_p": 0.01}
        ))
        .unwrap(),
    );
    calls.push(at("a6", "ana", "V", "s1").stored(other));
    let c = coach(&calls, &Selection::All, MIN_CALLS);
    let ana = pack(&c.agents, "ana");
    assert_eq!((ana.calls, ana.failed, ana.wrong_language), (6, 1, 1));
    let steps: Vec<&str> = ana.steps.iter().map(|s| s.step.as_str()).collect();
    assert_eq!(steps, ["close", "greet"], "most missed first");
    let close = &ana.steps[0];
    let done = stats::wilson(1, 4).unwrap();
    assert_eq!(close.missed_rate.value, 0.75);
    assert!((close.missed_rate.low - (1.0 - done.high)).abs() < 1e-12);
    assert!((close.missed_rate.high - (1.0 - done.low)).abs() < 1e-12);
    assert_eq!(
        (close.missed, close.out_of_order, close.outside_window),
        (2, 1, 0)
    );
    // The unclear call is left out of the greeting's rate: 1 missed of 3 judged.
    assert_eq!(ana.steps[1].missed_rate.n, 3);
    assert!((ana.steps[1].missed_rate.value - 1.0 / 3.0).abs() < 1e-12);
}

#[test]
fn optional_steps_and_steps_always_done_are_not_coached() {
    let calls = vec![
        at("a1", "ana", "V", "s1").with(&[("greet", Done), ("optional", Missed)]),
        at("a2", "ana", "V", "s1").with(&[("greet", Done), ("optional", Missed)]),
    ];
    let c = coach(&calls, &Selection::All, MIN_CALLS);
    assert!(pack(&c.agents, "ana").steps.is_empty());
    assert!(c.vendors[0].steps.is_empty());
}

#[test]
fn steps_of_different_scripts_are_never_pooled() {
    // "close" misses in the sales script only; the claims script's "close" is another step.
    let calls = vec![
        at("a1", "ana", "V", "s1")
            .script("sales")
            .with(&[("close", Missed)]),
        at("a2", "ana", "V", "s1")
            .script("claims")
            .with(&[("close", Done)]),
        at("b1", "bea", "W", "s2")
            .script("claims")
            .with(&[("close", Done)]),
    ];
    let c = coach(&calls, &Selection::All, MIN_CALLS);
    let ana = pack(&c.agents, "ana");
    assert_eq!(ana.steps.len(), 1);
    assert_eq!(
        (ana.steps[0].script.as_str(), ana.steps[0].missed_rate.value),
        ("sales", 1.0)
    );
    // Nobody did the sales script's close: no example from the claims script stands in for it.
    assert!(ana.steps[0].examples.is_empty());
}

#[test]
fn examples_come_from_other_agents_in_the_language_missed_by_words_first() {
    let semantic = |c: Call, text: &str, sim: f32| {
        let mut r = record(c.script, c.language);
        r.steps = vec![step("close", Done, Some((text, MatchKind::Semantic, sim)))];
        c.stored(r)
    };
    let mut unredacted = record("acme", "es");
    unredacted.steps = vec![step(
        "close",
        Done,
        Some(("my card 4111", MatchKind::Lexical, 1.0)),
    )];
    unredacted.redacted = false;
    let mut unclear = record("acme", "es");
    unclear.steps = vec![step(
        "close",
        Unclear,
        Some(("¿algo ma…", MatchKind::Lexical, 0.7)),
    )];
    let calls = vec![
        at("a1", "ana", "V", "s1").with(&[("close", Missed)]),
        at("a2", "ana", "V", "s1").with(&[("close", Missed)]),
        // Ana's own good call: an example only when others' run out.
        at("a3", "ana", "V", "s1").with(&[("close", Done)]),
        at("b1", "bea", "V", "s1").with(&[("close", Done)]),
        at("b2", "bea", "V", "s1").with(&[("close", Done)]),
        semantic(at("c1", "carla", "W", "s2"), "in other words", 0.95),
        at("d1", "dan", "W", "s2")
            .lang("en")
            .with(&[("close", Done)]),
        at("e1", "eva", "W", "s2").stored(unredacted),
        at("f1", "fede", "W", "s2").stored(unclear),
    ];
    let c = coach(&calls, &Selection::All, MIN_CALLS);
    let close = &pack(&c.agents, "ana").steps[0];
    let who: Vec<(&str, &str)> = close
        .examples
        .iter()
        .map(|e| (e.call_id.as_str(), e.agent_id.as_str()))
        .collect();
    // Spanish first (one per agent, words before meaning), then English, never the unredacted
    // or the unclear call, and Ana's own only if nothing else were left.
    assert_eq!(who, [("b1", "bea"), ("c1", "carla"), ("d1", "dan")]);
    assert_eq!(close.examples[0].text, "b1 does close");
    assert!(close.examples.iter().all(|e| e.command.is_empty()));
    // For the vendor V (Ana and Bea), "other agents" are W's.
    let v = c.vendors.iter().find(|p| p.vendor == "V").unwrap();
    let who: Vec<&str> = v.steps[0]
        .examples
        .iter()
        .map(|e| e.agent_id.as_str())
        .collect();
    assert_eq!(
        who,
        ["carla", "dan", "bea"],
        "then the steadiest of its own"
    );
}

#[test]
fn an_example_whose_every_check_was_made_comes_before_a_closer_one_that_was_not() {
    // Gil's words are closer, but his call had no times to check the step's window by.
    let mut untimed = record("acme", "es");
    let mut said = step(
        "close",
        Done,
        Some(("g1 does close", MatchKind::Lexical, 1.0)),
    );
    said.note = Some("no times: the window was not checked".into());
    untimed.steps = vec![said];
    let calls = vec![
        at("a1", "ana", "V", "s1").with(&[("close", Missed)]),
        at("g1", "gil", "W", "s2").stored(untimed),
        at("b1", "bea", "W", "s2").with(&[("close", Done)]),
    ];
    let c = coach(&calls, &Selection::All, MIN_CALLS);
    let who: Vec<&str> = pack(&c.agents, "ana").steps[0]
        .examples
        .iter()
        .map(|e| e.agent_id.as_str())
        .collect();
    assert_eq!(who, ["bea", "gil"]);
}

#[test]
fn the_best_site_is_the_one_surely_best_not_one_lucky_call() {
    let mut calls = vec![at("a1", "ana", "V", "tiny").with(&[("close", Done)])];
    for i in 0..10 {
        let id = ["b0", "b1", "b2", "b3", "b4", "b5", "b6", "b7", "b8", "b9"][i];
        let s = if i == 0 { Missed } else { Done };
        calls.push(at(id, "bea", "W", "big").with(&[("close", s)]));
    }
    calls.push(at("c1", "carla", "X", "bad").with(&[("close", Missed)]));
    let c = coach(&calls, &Selection::All, MIN_CALLS);
    let best = c
        .agents
        .iter()
        .find(|p| p.agent.as_deref() == Some("carla"))
        .unwrap()
        .steps[0]
        .best_site
        .clone()
        .unwrap();
    assert_eq!(best.site, "big");
    assert!((best.rate.value - 0.1).abs() < 1e-12);
}

#[test]
fn an_analysts_review_counts_as_the_report_counts_it() {
    let mut call = at("a1", "ana", "V", "s1").with(&[("close", Missed)]);
    if let Outcome::Scored { record, .. } = &mut call.outcome {
        let review = StepReview {
            call_id: "a1".into(),
            step: "close".into(),
            review: Review {
                status: Done,
                by: "qa".into(),
                at: "2026-11-23".into(),
                why: None,
                guion: None,
            },
        };
        record.apply_reviews([&review]);
    }
    let c = coach(&[call], &Selection::All, MIN_CALLS);
    assert!(pack(&c.agents, "ana").steps.is_empty());
}

fn with_tone(c: Call, adherence_done: bool, tone: &[(&str, f64)]) -> StoredCall {
    let mut call = c.with(&[("close", if adherence_done { Done } else { Missed })]);
    if let Outcome::Scored { record, .. } = &mut call.outcome {
        record.tone = Some(tone.iter().map(|(l, s)| (l.to_string(), *s)).collect());
    }
    call
}

#[test]
fn recognition_needs_enough_calls_and_ranks_by_the_lower_bound() {
    let ids =
        |p: &'static str| (0..8).map(move |i| &*Box::leak(format!("{p}{i}").into_boxed_str()));
    let mut calls = Vec::new();
    // Ana: 8 calls, 7 done. Bea: 5 calls, all done but spread thin in tone. Carla: 2 perfect calls.
    for (i, id) in ids("a").enumerate() {
        let warm = [("empathetic", 0.6), ("neutral", 0.4)];
        calls.push(with_tone(at(id, "ana", "V", "s1"), i != 0, &warm));
    }
    for (i, id) in ids("b").take(5).enumerate() {
        let tone = [
            ("courteous", if i % 2 == 0 { 1.0 } else { 0.0 }),
            ("neutral", 0.5),
        ];
        calls.push(with_tone(at(id, "bea", "W", "s2"), true, &tone));
    }
    for id in ids("c").take(2) {
        calls.push(with_tone(
            at(id, "carla", "W", "s2"),
            true,
            &[("empathetic", 1.0)],
        ));
    }
    let c = coach(&calls, &Selection::All, 5);
    let named = |award: Award, kind: Kind| {
        c.recognition
            .iter()
            .filter(|r| r.award == award && r.kind == kind)
            .map(|r| (r.rank, r.name.as_str()))
            .collect::<Vec<_>>()
    };
    // Bea's 5 of 5 (all 1.0) beats Ana's 7 of 8; Carla's two perfect calls are too few.
    assert_eq!(
        named(Award::Adherence, Kind::Agent),
        [(1, "bea"), (2, "ana")]
    );
    assert_eq!(named(Award::Tone, Kind::Agent), [(1, "ana"), (2, "bea")]);
    assert_eq!(named(Award::Adherence, Kind::Site), [(1, "s2"), (2, "s1")]);
    assert!(
        c.recognition
            .iter()
            .all(|r| r.estimate.n >= 5 && r.script == "acme")
    );
    // With a lower bar Carla counts, and her two calls do not outrank Bea's five.
    let c = coach(&calls, &Selection::All, 2);
    let agents: Vec<&str> = c
        .recognition
        .iter()
        .filter(|r| r.award == Award::Adherence && r.kind == Kind::Agent)
        .map(|r| r.name.as_str())
        .collect();
    assert_eq!(agents, ["bea", "carla", "ana"]);
}

#[test]
fn tones_to_work_on_are_measured_against_the_best_site() {
    let mut calls = Vec::new();
    for id in ["a1", "a2", "a3"] {
        let tone = [("impatient", 0.5), ("neutral", 0.5)];
        calls.push(with_tone(at(id, "mark", "V", "manila"), true, &tone));
    }
    for id in ["b1", "b2", "b3"] {
        let tone = [("empathetic", 0.7), ("neutral", 0.3)];
        calls.push(with_tone(at(id, "lucia", "W", "madrid"), true, &tone));
    }
    let c = coach(&calls, &Selection::All, MIN_CALLS);
    let mark = pack(&c.agents, "mark");
    let tones: Vec<(&str, Aim, &str)> = mark
        .tone
        .iter()
        .map(|t| (t.tone.as_str(), t.aim, t.best_site.site.as_str()))
        .collect();
    assert_eq!(
        tones,
        [
            ("empathetic", Aim::More, "madrid"),
            ("impatient", Aim::Less, "madrid")
        ]
    );
    assert!(pack(&c.agents, "lucia").tone.is_empty());
}

#[test]
fn forbidden_phrases_are_counted_with_the_groups_own_words() {
    let hit = |text: &str| crate::align::ForbiddenHit {
        id: "promise".into(),
        severity: Severity::High,
        similarity: 0.9,
        evidence: evidence(text, MatchKind::Lexical),
    };
    let mut calls = Vec::new();
    for (id, hits) in [("a1", 2), ("a2", 0), ("a3", 1)] {
        let mut r = record("acme", "en");
        r.steps = vec![step("close", Done, Some(("bye", MatchKind::Lexical, 1.0)))];
        r.forbidden = (0..hits).map(|_| hit("I guarantee it")).collect();
        calls.push(at(id, "mark", "V", "manila").stored(r));
    }
    let c = coach(&calls, &Selection::All, MIN_CALLS);
    let f = &pack(&c.agents, "mark").forbidden;
    assert_eq!(f.len(), 1);
    assert_eq!(
        (f[0].id.as_str(), f[0].said, f[0].calls.n),
        ("promise", 3, 3)
    );
    assert!((f[0].calls.value - 2.0 / 3.0).abs() < 1e-12);
    assert_eq!(f[0].example.as_ref().unwrap().text, "I guarantee it");
}

#[test]
fn a_selection_writes_only_its_packs_but_measures_against_the_whole_night() {
    let calls = vec![
        at("a1", "ana", "V", "s1").with(&[("close", Missed)]),
        at("b1", "bea", "V", "s1").with(&[("close", Missed)]),
        at("c1", "carla", "W", "s2").with(&[("close", Done)]),
    ];
    let c = coach(&calls, &Selection::Vendor("V".into()), MIN_CALLS);
    assert_eq!(c.vendors.len(), 1);
    let agents: Vec<_> = c
        .agents
        .iter()
        .map(|p| p.agent.as_deref().unwrap())
        .collect();
    assert_eq!(agents, ["ana", "bea"]);
    assert_eq!(c.vendors[0].steps[0].examples[0].agent_id, "carla");
    assert_eq!(c.vendors[0].steps[0].best_site.as_ref().unwrap().site, "s2");
    let c = coach(&calls, &Selection::Agent("bea".into()), MIN_CALLS);
    assert!(c.vendors.is_empty());
    assert_eq!(c.agents.len(), 1);
}

#[test]
fn the_json_has_the_documented_shape() {
    let calls = vec![
        at("a1", "ana", "V", "s1").with(&[("close", Missed)]),
        at("c1", "carla", "W", "s2").with(&[("close", Done)]),
    ];
    let json = serde_json::to_value(coach(&calls, &Selection::All, MIN_CALLS)).unwrap();
    let v = &json["vendors"][0];
    assert_eq!(v["vendor"], "V");
    assert_eq!(v["steps"][0]["step"], "close");
    assert_eq!(v["steps"][0]["missed_rate"]["value"], 1.0);
    let e = &v["steps"][0]["examples"][0];
    assert_eq!(
        (&e["call_id"], &e["agent_id"], &e["text"]),
        (&"c1".into(), &"carla".into(), &"c1 does close".into())
    );
    assert_eq!(json["agents"][0]["agent"], "ana");
    assert!(json["recognition"].is_array());
}
