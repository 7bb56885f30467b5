//! `guion report`: the HTML page from hand-made stored calls — hostile text escaped everywhere, no
//! external reference, every section present — and the command end to end on a temporary store.

use crate::util;
use guion_core::call::{CallMeta, Outcome, Sourcing, StoredCall};
use guion_core::cost::{Machine, Measurement, Run};
use guion_core::record::CallRecord;
use guion_core::record::StageTimes;
use guion_night::report::html;
use guion_night::store::Store;
use serde_json::json;

const SCRIPT_TAG: &str = "<script>alert(1)</script>";
const IMG_TAG: &str = "\"><img src=x onerror=alert(1)>";
const STYLE_END: &str = "</style>";

/// The three, as minijinja's HTML escaping writes them.
const SCRIPT_TAG_ESCAPED: &str = "&lt;script&gt;alert(1)&lt;&#x2f;script&gt;";
const IMG_TAG_ESCAPED: &str = "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;";
const STYLE_END_ESCAPED: &str = "&lt;&#x2f;style&gt;";

const STEPS: [(&str, &str); 3] = [
    ("greet", "Greeting"),
    ("verify", "Verify identity"),
    ("close", "Closing"),
];

struct Spec<'a> {
    night: &'a str,
    call_id: &'a str,
    agent: &'a str,
    vendor: &'a str,
    site: &'a str,
    sourcing: Sourcing,
    /// Done or not, per step of STEPS.
    done: [bool; 3],
    /// (forbidden id, the words said).
    forbidden: &'a [(&'a str, &'a str)],
    /// An agent utterance and its tone.
    said: (&'a str, &'a str),
}

fn evidence(text: &str, start: f64) -> serde_json::Value {
    json!({"text": text, "start": start, "end": start + 2.0, "speaker": "agent", "match": "lexical",
           "variant": text, "p": 1.0})
}

/// A CallRecord as the batch stores it, from its JSON form.
fn record(s: &Spec) -> CallRecord {
    let steps: Vec<_> = STEPS
        .iter()
        .zip(s.done)
        .enumerate()
        .map(|(i, ((id, title), done))| {
            json!({
                "id": id, "title": title, "required": true, "weight": 1.0,
                "status": if done { "done" } else { "missed" },
                "similarity": if done { 0.95 } else { 0.41 },
                "evidence": if done { evidence("buenos días, le atiende Ana", i as f64 * 10.0) } else { json!(null) },
                "closest": if done { json!(null) } else { evidence(s.said.0, 30.0) },
                "note": null,
            })
        })
        .collect();
    let forbidden: Vec<_> = s
        .forbidden
        .iter()
        .map(|(id, text)| {
            let mut hit = evidence(text, 65.0);
            hit["id"] = json!(id);
            hit["severity"] = json!("high");
            hit["similarity"] = json!(0.97);
            hit
        })
        .collect();
    let done = s.done.iter().filter(|d| **d).count();
    let adherence = done as f64 / 3.0;
    let (text, tone) = s.said;
    let mut shares = serde_json::Map::new();
    for label in [
        "empathetic",
        "courteous",
        "neutral",
        "impatient",
        "dismissive",
    ] {
        // Half the agent's utterances in the call's tone, half neutral.
        let share = match (label == tone, label == "neutral") {
            (true, true) => 1.0,
            (false, false) => 0.0,
            _ => 0.5,
        };
        shares.insert(label.into(), json!(share));
    }
    let value = json!({
        "call": format!("{}.txt", s.call_id), "sha256": "00", "script": {"id": "acme-care", "version": "3"},
        "language": "es", "duration_s": 120.0, "adherence": adherence,
        "score": {"adherence": adherence, "steps_done": done, "steps_required": 3, "steps_unclear": 0,
                  "forbidden": s.forbidden.len()},
        "steps": steps, "forbidden": forbidden,
        "metrics": {"agent_talk_s": 60.0, "customer_talk_s": 40.0, "agent_talk_ratio": 0.6,
                    "longest_silence_s": 3.0, "overtalk_s": null, "hold_gaps": 0, "hold_s": 0.0},
        "agent_channel": null,
        "utterances": [
            {"speaker": "agent", "channel": null, "start": 1.0, "end": 3.0, "text": "Buenos días, le atiende Ana",
             "tone": {"label": "courteous", "p": 0.9}, "value": {"id": "warmth", "score": 0.7}},
            {"speaker": "customer", "channel": null, "start": 4.0, "end": 6.0, "text": "Hola"},
            {"speaker": "agent", "channel": null, "start": 42.0, "end": 45.0, "text": text,
             "tone": {"label": tone, "p": 0.8}, "value": {"id": "warmth", "score": 0.2}},
        ],
        "tone": shares,
        "values": [{"id": "warmth", "shown": done >= 2, "utterances": 1, "best": 0.7}],
        "models": {"asr": null, "encoder": "e5-small:abc", "tone_head": "tone:def", "values": "prototypes:acme-care@3"},
        "redacted": true,
    });
    serde_json::from_value(value).expect("a CallRecord")
}

fn meta(s: &Spec) -> CallMeta {
    CallMeta {
        call_id: s.call_id.into(),
        path: format!("{}.txt", s.call_id).into(),
        agent_id: s.agent.into(),
        vendor: s.vendor.into(),
        site: s.site.into(),
        sourcing: s.sourcing,
        language: Some("es".into()),
        started_at: None,
    }
}

fn scored(s: &Spec) -> StoredCall {
    StoredCall {
        night: s.night.into(),
        meta: meta(s),
        outcome: Outcome::Scored {
            record: Box::new(record(s)),
            times: StageTimes::default(),
        },
    }
}

fn failed(s: &Spec, reason: &str) -> StoredCall {
    StoredCall {
        night: s.night.into(),
        meta: meta(s),
        outcome: Outcome::Failed {
            reason: reason.into(),
        },
    }
}

fn spec<'a>(
    night: &'a str,
    call_id: &'a str,
    agent: &'a str,
    vendor: &'a str,
    done: [bool; 3],
) -> Spec<'a> {
    Spec {
        night,
        call_id,
        agent,
        vendor,
        site: "bog",
        sourcing: if vendor == "Acme BPO" {
            Sourcing::Outsourced
        } else {
            Sourcing::Insourced
        },
        done,
        forbidden: &[],
        said: ("Un momento, por favor", "neutral"),
    }
}

/// A night: two vendors, a hostile agent id, utterance, evidence, site and failure reason.
fn night(n: &str) -> Vec<StoredCall> {
    vec![
        scored(&Spec {
            forbidden: &[(
                "no-blame",
                "eso no es mi problema <script>alert(1)</script>",
            )],
            said: (IMG_TAG, "dismissive"),
            ..spec(n, "call-001", SCRIPT_TAG, "Acme BPO", [true, false, false])
        }),
        scored(&Spec {
            site: STYLE_END,
            ..spec(n, "call-002", "ag-07", "Acme BPO", [true, true, false])
        }),
        scored(&spec(
            n,
            "call-003",
            "ag-11",
            "Casa Propia",
            [true, true, true],
        )),
        scored(&Spec {
            said: ("Le entiendo perfectamente, lo siento mucho", "empathetic"),
            ..spec(n, "call-004", "ag-12", "Casa Propia", [false, true, true])
        }),
        failed(
            &spec(n, "call-005", "ag-12", "Casa Propia", [false; 3]),
            &format!("cannot decode {IMG_TAG}: {STYLE_END}{SCRIPT_TAG}"),
        ),
    ]
}

fn section<'a>(page: &'a str, id: &str) -> &'a str {
    let start = page
        .find(&format!("<section id=\"{id}\">"))
        .unwrap_or_else(|| panic!("no section {id}"));
    let end = page[start..].find("</section>").unwrap() + start;
    &page[start..end]
}

#[test]
fn hostile_text_is_escaped_everywhere() {
    let calls = night("2026-11-22");
    let page = html::render(
        "2026-11-22",
        "acme-care 3",
        &calls,
        &calls,
        "/tmp/out dir",
        &[],
    )
    .unwrap();
    // Nothing raw: no script element, no injected image, the one </style> is the page's own.
    for raw in [SCRIPT_TAG, IMG_TAG, "<script", "<img", "onerror=alert(1)>"] {
        assert!(!page.contains(raw), "raw {raw:?} in the page");
    }
    assert_eq!(page.matches(STYLE_END).count(), 1, "an injected </style>");
    // …and each shows, escaped, where it belongs.
    assert!(
        page.contains(SCRIPT_TAG_ESCAPED),
        "escaped agent id / evidence"
    );
    assert!(page.contains(IMG_TAG_ESCAPED), "escaped utterance");
    assert!(page.contains(STYLE_END_ESCAPED), "escaped site");
    let worst = section(&page, "worst");
    assert!(
        worst.contains(&format!(
            "<q>eso no es mi problema {SCRIPT_TAG_ESCAPED}</q>"
        )),
        "the forbidden phrase's words"
    );
    assert!(
        worst.contains(&format!("<q>{IMG_TAG_ESCAPED}</q>")),
        "the most negative utterance"
    );
    assert!(
        worst.contains(&format!(
            "cannot decode {IMG_TAG_ESCAPED}: {STYLE_END_ESCAPED}{SCRIPT_TAG_ESCAPED}"
        )),
        "the failure reason"
    );
    // Hostile agent ids in SVG tooltips are escaped too.
    let agents = section(&page, "agents");
    assert!(agents.contains(&format!("<title>{SCRIPT_TAG_ESCAPED}: adherence 33")));
}

#[test]
fn the_page_is_self_contained_and_complete() {
    let mut all = night("2026-11-21");
    let tonight = night("2026-11-22");
    all.extend(tonight.iter().cloned());
    let machine = Machine {
        cores: 2,
        cpu: Some("Xeon <4 cores>".into()),
        hostname: Some("qa-box".into()),
    };
    let killed = Run {
        id: 1,
        night: "2026-11-22".into(),
        started_at: "2026-11-22T23:00:00Z".into(),
        version: "0.1.0".into(),
        engine: "ctranslate2-int8".into(),
        machine: machine.clone(),
        ..Run::default()
    };
    let finished = Run {
        id: 2,
        finished_at: Some("2026-11-23T00:10:00Z".into()),
        reused: 3,
        measurement: Measurement {
            workers: 2,
            threads: 1,
            cores: 2,
            scored: 2,
            recordings: 2,
            audio_s: 1800.0,
            wall_s: 300.0,
            cpu_s: Some(590.0),
            stages: StageTimes {
                asr_s: 540.0,
                classify_s: 30.0,
                ..StageTimes::default()
            },
            ..Measurement::default()
        },
        ..killed.clone()
    };
    let page = html::render(
        "2026-11-22",
        "acme-care 3",
        &tonight,
        &all,
        "/tmp/night-out",
        &[killed, finished],
    )
    .unwrap();
    for external in [
        "http://",
        "https://",
        "<link",
        "<script",
        "<img",
        "<iframe",
        "@import",
        "url(",
        "@font-face",
        "href=",
        " src=\"",
    ] {
        assert!(!page.contains(external), "{external:?} in the page");
    }
    assert!(page.starts_with("<!DOCTYPE html>"), "{}", &page[..200]);
    // Header.
    assert!(page.contains("<dd>acme-care 3</dd>") && page.contains("<dd>2026-11-22</dd>"));
    assert!(
        page.contains("<dt>Calls</dt><dd>5</dd>") && page.contains("<dt>Scored</dt><dd>4</dd>")
    );
    assert!(page.contains("<dd>Acme BPO, Casa Propia</dd>"));
    // What the night cost, run by run; the host's name stays in the store.
    let cost = section(&page, "cost");
    assert!(
        cost.contains("Run 1, started 2026-11-22T23:00:00Z"),
        "{cost}"
    );
    assert!(cost.contains("did not finish"), "{cost}");
    assert!(
        cost.contains(
            "2 calls analysed (0.50 h of audio in 2 recordings) in 5.0 min on 2 cores (2 workers × \
             1 thread): 3.00 h of audio per core-hour, 24.0 calls&#x2f;h; CPU 9.8 min; 3 reused from \
             the store, not counted"
        ),
        "{cost}"
    );
    assert!(
        cost.contains("asr 90.0 % (3.33 h of audio per core-hour)"),
        "{cost}"
    );
    assert!(cost.contains("Xeon &lt;4 cores&gt;") && !page.contains("qa-box"));
    // Vendors: whiskers, sourcing rows and the gap in words.
    let vendors = section(&page, "vendors");
    assert_eq!(
        vendors.matches("<circle class=\"dot\"").count(),
        4,
        "2 vendors + 2 sourcing rows"
    );
    assert!(vendors.contains("In-house") && vendors.contains("Outsourced"));
    assert!(
        vendors.contains("In-house is 33 points ahead (95\u{a0}% CI "),
        "{vendors}"
    );
    // Heat map: a cell per vendor per step, the value printed, the interval in the tooltip.
    let steps = section(&page, "steps");
    assert_eq!(steps.matches("<td class=\"cell\"").count(), 2 * STEPS.len());
    assert!(steps.contains(
        "title=\"Casa Propia, Greeting: 50\u{a0}% (95\u{a0}% CI 9\u{2013}91\u{a0}%), 2 calls\">50\u{a0}%</td>"
    ));
    assert!(steps.contains(">100\u{a0}%</td>") && steps.contains(">0\u{a0}%</td>"));
    // Tone bars and value coverage.
    let tone = section(&page, "tone");
    assert_eq!(tone.matches("<svg class=\"bar\"").count(), 2);
    assert!(tone.contains("Acme BPO: dismissive 25\u{a0}%"));
    assert!(tone.contains("Casa Propia, warmth: "));
    // Agents, lowest adherence first.
    let agents = section(&page, "agents");
    let first = agents.find(SCRIPT_TAG_ESCAPED).unwrap();
    assert!(
        first < agents.find("ag-07").unwrap()
            && agents.find("ag-07").unwrap() < agents.find("ag-11").unwrap()
    );
    // Worst calls: the lowest first, with the command to open each.
    let worst = section(&page, "worst");
    assert_eq!(worst.matches("<article class=\"call\">").count(), 4);
    assert!(worst.find("call-001").unwrap() < worst.find("call-002").unwrap());
    assert!(worst.contains(
        "<code class=\"cmd\">guion call call-001 --from &#x2f;tmp&#x2f;night-out</code>"
    ));
    assert!(
        worst.contains("step missed</span>\n    <span><strong>Verify identity</strong>"),
        "{worst}"
    );
    assert!(worst.contains("<h3>Failed calls (1)</h3>"));
    // Trend: two nights make a line per vendor.
    let trend = section(&page, "trend");
    assert_eq!(trend.matches("<polyline").count(), 2);
    assert!(trend.contains("<th>2026-11-21</th><th>2026-11-22</th>"));
}

#[test]
fn one_night_without_meaning_still_renders() {
    let calls: Vec<StoredCall> = night("2026-11-22")
        .into_iter()
        .map(|mut c| {
            if let Outcome::Scored { record, .. } = &mut c.outcome {
                record.tone = None;
                record.values = None;
                for u in &mut record.utterances {
                    u.tone = None;
                    u.value = None;
                }
            }
            c
        })
        .collect();
    let page = html::render("2026-11-22", "acme-care 3", &calls, &calls, "out", &[]).unwrap();
    assert!(page.contains("No tone was classified this night"));
    assert!(!section(&page, "trend").contains("<polyline"));
    let empty = html::render("2026-11-22", "—", &[], &[], "out", &[]).unwrap();
    assert!(empty.contains("No calls this night."));
}

#[test]
fn guion_report_writes_the_page_from_a_store() {
    let dir = util::tempdir();
    {
        let mut store = Store::open(dir.path()).unwrap();
        for (i, c) in night("2026-11-21")
            .into_iter()
            .chain(night("2026-11-22"))
            .enumerate()
        {
            let key = format!("k{i}");
            store
                .put(&c.night, &c.meta, &key, &key, "test", &c.outcome)
                .unwrap();
        }
    }
    let out = util::guion()
        .arg("report")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let path = dir.path().join("report.html");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        path.display().to_string()
    );
    let page = std::fs::read_to_string(&path).unwrap();
    assert!(page.contains("Script adherence — night 2026-11-22"));
    assert!(!dir.path().join("report.html.part").exists());

    let other = dir.path().join("older.html");
    let out = util::guion()
        .args(["report", "--night", "2026-11-21", "--out"])
        .arg(&other)
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        std::fs::read_to_string(&other)
            .unwrap()
            .contains("night 2026-11-21")
    );

    let out = util::guion()
        .args(["report", "--night", "2026-01-01"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no night \"2026-01-01\""));

    let empty = util::tempdir();
    let out = util::guion()
        .arg("report")
        .arg(empty.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no guion store here"));
}
