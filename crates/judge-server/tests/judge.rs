//! The judge on the real model, through the real server binary and protocol: held-out paraphrases of
//! steps (none of them in tests/fixtures/semantic/sentences.csv, none used to choose the prompt or
//! the threshold) at or above `guion_judge::THRESHOLD`, near misses below, and the prefix cache
//! changing no answer. Skipped, saying why, when the model is not installed (with
//! `GUION_TEST_REQUIRE_ALL=1`, as in CI, that fails instead: the suite's skip rule).

use guion_judge::JudgeClient;
use guion_judge::protocol::Request;
use std::io::Write;
use std::path::PathBuf;

fn model() -> Option<PathBuf> {
    match guion_models::resolve(guion_judge::MODEL_NAME) {
        Ok(m) => Some(m.path),
        Err(e) => {
            let what = format!("the judge's model: {e}");
            if std::env::var("GUION_TEST_REQUIRE_ALL").is_ok_and(|v| v == "1") {
                panic!(
                    "would be skipped ({what}); CI requires everything (GUION_TEST_REQUIRE_ALL=1)"
                );
            }
            // Past the harness's capture, as the suite's skips are: a passing run still says it.
            let _ = writeln!(std::io::stderr().lock(), "skipped: judge: {what}");
            None
        }
    }
}

const RECORDED: &str = "The agent tells the customer that this call is recorded";
const ANYTHING_ELSE: &str =
    "The agent asks the customer whether there is anything else they can help with";
const FAREWELL: &str = "The agent says goodbye to the customer on behalf of the company (Acme Seguros or Acme Insurance)";

/// (statement, sentence, carries it out)
const CASES: &[(&str, &str, bool)] = &[
    (
        RECORDED,
        "Le aviso de que esta conversación queda grabada para control de calidad.",
        true,
    ),
    (
        RECORDED,
        "Just so you know, we record all our calls to help train our staff.",
        true,
    ),
    (
        RECORDED,
        "Puede grabar un vídeo de los daños con el móvil y mandárnoslo por WhatsApp.",
        false,
    ),
    (
        RECORDED,
        "You can listen to your recorded voicemail messages in the app.",
        false,
    ),
    (
        ANYTHING_ELSE,
        "¿Le puedo ayudar con alguna otra cosa, señora?",
        true,
    ),
    (
        ANYTHING_ELSE,
        "No necesita hacer nada más, el pago se carga solo.",
        false,
    ),
    (
        FAREWELL,
        "Bueno, pues gracias por llamar a Acme Seguros y que tenga buena tarde.",
        true,
    ),
    (
        FAREWELL,
        "Buenos días, Acme Seguros, le atiende Lucía.",
        false,
    ),
];

#[test]
fn held_out_paraphrases_and_near_misses_fall_on_their_side_and_the_cache_changes_nothing() {
    let Some(model) = model() else { return };
    let server = PathBuf::from(env!("CARGO_BIN_EXE_guion-judge"));
    let mut judge = JudgeClient::start_server(&server, &model, 2).unwrap();

    let mut statements: Vec<&str> = CASES.iter().map(|c| c.0).collect();
    statements.dedup();
    let mut wrong = Vec::new();
    for statement in statements {
        let cases: Vec<&(&str, &str, bool)> = CASES.iter().filter(|c| c.0 == statement).collect();
        let sentences: Vec<&str> = cases.iter().map(|c| c.1).collect();
        let cached = judge.judge(statement, &sentences).unwrap();
        let whole = judge
            .ask(&Request {
                statement: statement.to_string(),
                sentences: sentences.iter().map(|s| s.to_string()).collect(),
                no_cache: true,
            })
            .unwrap()
            .p;
        for ((case, p), q) in cases.iter().zip(&cached).zip(&whole) {
            eprintln!("{p:.3} (uncached {q:.3}) {}: {}", case.2, case.1);
            // Not bit for bit: the cached prefix and the sentence go through ggml in different batches
            // (up to 0.02 apart measured).
            assert!(
                (p - q).abs() < 0.05,
                "the prefix cache changed the answer: {p} vs {q} for {:?}",
                case.1
            );
            if (*p >= guion_judge::THRESHOLD) != case.2 {
                wrong.push(format!("{p:.3} for {:?} against {:?}", case.1, case.0));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "on the wrong side of 0.5:\n{}",
        wrong.join("\n")
    );

    // A sentence far longer than any is cut, not refused; an empty shortlist has an empty answer.
    let long = judge
        .judge(RECORDED, &[&"bla ".repeat(5_000)])
        .map(|p| p.len());
    assert_eq!(long.unwrap(), 1);
    assert_eq!(judge.judge(RECORDED, &[]).unwrap(), Vec::<f32>::new());
}
