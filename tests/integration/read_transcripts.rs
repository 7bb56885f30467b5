//! Reading existing transcripts: one Spanish insurer call written out in every input format
//! (`tests/fixtures/transcripts/`), and the public ABCD and Azure samples in `../shared/data/text`.

use crate::util::{self, require};
use guion_core::hash::sha256_bytes;
use guion_core::transcript::read::{CsvColumns, InputFormat, ReadError, is_transcript_path};
use guion_core::transcript::{Speaker, Transcript};
use guion_night::input::{read_abcd, read_transcript};
use std::path::PathBuf;

use Speaker::{Agent, Customer};

fn fixture(name: &str) -> PathBuf {
    util::fixture(&format!("transcripts/{name}"))
}

fn read(name: &str) -> Transcript {
    read_transcript(&fixture(name), None, &CsvColumns::default()).unwrap_or_else(|e| panic!("{e}"))
}

/// The call every fixture holds: greeting, identity check, offer, recording disclosure, farewell.
const CALL: [(Speaker, &str); 13] = [
    (
        Agent,
        "Gracias por llamar a Acme Seguros, le atiende Ana. ¿En qué puedo ayudarle?",
    ),
    (
        Customer,
        "Hola, buenos días. Quería revisar el seguro de mi coche, que me vence el mes que viene.",
    ),
    (
        Agent,
        "Por supuesto. Para acceder a su póliza, ¿me confirma su nombre completo y su DNI?",
    ),
    (Customer, "Sí, Javier Martín López, con DNI 12345678Z."),
    (
        Agent,
        "Gracias, señor Martín. ¿Me confirma también su fecha de nacimiento?",
    ),
    (Customer, "El 14 de marzo de 1979."),
    (
        Agent,
        "Perfecto, ya le he identificado. Por ser cliente, podemos ofrecerle el Motor Plus, todo riesgo \
         con franquicia & lunas, por 32 euros al mes.",
    ),
    (Customer, "Vale, me interesa. ¿Qué tengo que hacer?"),
    (
        Agent,
        "Le informo de que, para formalizar la contratación, esta llamada está siendo grabada. ¿Está \
         usted de acuerdo?",
    ),
    (Customer, "Sí, de acuerdo."),
    (
        Agent,
        "Muchas gracias. Le enviaremos la documentación por correo electrónico. ¿Puedo ayudarle en algo \
         más?",
    ),
    (Customer, "No, eso es todo. Gracias."),
    (
        Agent,
        "Gracias a usted por confiar en Acme Seguros. Que tenga un buen día.",
    ),
];

/// Cue times of the recorded call (JSON, VTT and SRT carry them).
const CUES: [(f64, f64); 13] = [
    (0.8, 5.2),
    (5.6, 10.1),
    (10.5, 15.0),
    (15.4, 21.3),
    (21.8, 26.0),
    (26.3, 28.9),
    (29.4, 38.2),
    (38.6, 42.0),
    (42.4, 50.7),
    (51.0, 52.1),
    (52.5, 59.8),
    (60.2, 61.9),
    (62.3, 66.0),
];

const FIXTURES: [&str; 5] = [
    "llamada.json",
    "llamada.vtt",
    "llamada.srt",
    "llamada.txt",
    "llamada.csv",
];

fn close(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => (a - b).abs() < 1e-6,
        (a, b) => a == b,
    }
}

fn assert_times(t: &Transcript, times: &[(Option<f64>, Option<f64>)]) {
    let got: Vec<_> = t.utterances.iter().map(|u| (u.start, u.end)).collect();
    assert_eq!(got.len(), times.len(), "{}", t.source);
    for (g, w) in got.iter().zip(times) {
        assert!(
            close(g.0, w.0) && close(g.1, w.1),
            "{}: {got:?} != {times:?}",
            t.source
        );
    }
}

#[test]
fn every_format_reads_the_same_call() {
    for name in FIXTURES {
        let path = fixture(name);
        assert!(is_transcript_path(&path));
        let t = read(name);
        let got: Vec<(Speaker, &str)> = t
            .utterances
            .iter()
            .map(|u| (u.speaker, u.text.as_str()))
            .collect();
        assert_eq!(got, CALL, "{name}");
        assert!(
            t.utterances
                .iter()
                .all(|u| name.ends_with("json") || (u.channel.is_none() && u.words.is_empty())),
            "{name}"
        );
    }
}

#[test]
fn text_sources_are_named_by_their_own_bytes() {
    for name in &FIXTURES[1..] {
        let path = fixture(name);
        let t = read(name);
        assert_eq!(t.source, path.display().to_string());
        assert_eq!(t.sha256, sha256_bytes(&std::fs::read(&path).unwrap()));
        assert_eq!((&t.model, &t.language), (&None, &None), "{name}");
    }
}

#[test]
fn guion_json_keeps_its_audio_and_model() {
    let t = read("llamada.json");
    assert_eq!(t.source, "llamadas/2024-05-14/0042.wav");
    assert_eq!(t.model.as_ref().map(|m| m.name.as_str()), Some("base"));
    assert_eq!(t.language.as_deref(), Some("es"));
    assert_eq!(t.duration_s, Some(66.4));
    assert_eq!(t.utterances[0].words.len(), 3);
    assert_eq!(
        t.utterances.iter().map(|u| u.channel).collect::<Vec<_>>(),
        CALL.map(|(s, _)| Some(u32::from(s == Customer)))
    );
    let cues = CUES.map(|(s, e)| (Some(s), Some(e)));
    assert_times(&t, &cues);
}

#[test]
fn subtitles_keep_their_cue_times() {
    let cues = CUES.map(|(s, e)| (Some(s), Some(e)));
    for name in ["llamada.vtt", "llamada.srt"] {
        let t = read(name);
        assert_times(&t, &cues);
        assert_eq!(t.duration_s, Some(66.0), "{name}");
    }
}

#[test]
fn txt_lines_end_where_the_next_begins() {
    let starts = [0, 5, 10, 15, 21, 26, 29, 38, 42, 51, 52, 60, 62].map(f64::from);
    let times: Vec<_> = (0..starts.len())
        .map(|i| (Some(starts[i]), starts.get(i + 1).copied()))
        .collect();
    let t = read("llamada.txt");
    assert_times(&t, &times);
    assert_eq!(t.duration_s, Some(62.0));
}

#[test]
fn csv_date_times_count_from_the_first_message() {
    let starts = [
        0.0, 4.8, 9.7, 14.6, 21.0, 25.5, 28.6, 37.8, 41.6, 50.2, 51.7, 59.4, 61.5,
    ];
    let times: Vec<_> = starts.iter().map(|&s| (Some(s), None)).collect();
    let t = read("llamada.csv");
    assert_times(&t, &times);
    assert!(close(t.duration_s, Some(61.5)));
}

#[test]
fn an_explicit_format_overrides_the_name() {
    let t = read_transcript(
        &fixture("llamada.txt"),
        Some(InputFormat::Txt),
        &CsvColumns::default(),
    )
    .unwrap();
    assert_eq!(t.utterances.len(), CALL.len());
    let e = read_transcript(
        &fixture("llamada.txt"),
        Some(InputFormat::Vtt),
        &CsvColumns::default(),
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("llamada.txt:1: expected 'WEBVTT' on the first line"),
        "{e}"
    );
}

#[test]
fn unreadable_files_are_named() {
    let dir = util::tempdir();
    let missing = dir.path().join("no-such.csv");
    let e = read_transcript(&missing, None, &CsvColumns::default()).unwrap_err();
    assert!(matches!(e, ReadError::Io { .. }));
    assert!(
        e.to_string().starts_with(&missing.display().to_string()),
        "{e}"
    );

    let unknown = dir.path().join("export");
    std::fs::write(&unknown, "hola\n").unwrap();
    let e = read_transcript(&unknown, None, &CsvColumns::default()).unwrap_err();
    assert!(matches!(e, ReadError::UnknownFormat { .. }), "{e}");

    // Without an extension the content decides.
    let vtt = dir.path().join("captions");
    std::fs::copy(fixture("llamada.vtt"), &vtt).unwrap();
    let t = read_transcript(&vtt, None, &CsvColumns::default()).unwrap();
    assert_eq!(t.utterances.len(), CALL.len());
}

#[test]
fn abcd_sample_reads_every_dialogue_without_actions() {
    let path = require!(util::shared("text/abcd/abcd_sample.json"));
    let dialogues = read_abcd(&path).unwrap_or_else(|e| panic!("{e}"));
    let summary: Vec<(&str, usize)> = dialogues
        .iter()
        .map(|(id, t)| (id.as_str(), t.utterances.len()))
        .collect();
    // 29, 21 and 22 turns, of which 4, 2 and 3 are the agent's tool actions.
    assert_eq!(summary, [("3592", 25), ("9489", 19), ("3695", 19)]);
    let (_, first) = &dialogues[0];
    assert_eq!(
        (
            first.utterances[0].speaker,
            first.utterances[0].text.as_str()
        ),
        (Agent, "Hi!")
    );
    let last = first.utterances.last().unwrap();
    assert_eq!(
        (last.speaker, last.text.as_str()),
        (Customer, "That's it. Take care.")
    );
    for (_, t) in &dialogues {
        assert!(t.utterances.iter().all(|u| u.speaker != Speaker::Unknown));
        let actions = [
            "Account has been pulled up",
            "in progress ...",
            "System Action:",
        ];
        assert!(
            !t.utterances
                .iter()
                .any(|u| actions.iter().any(|a| u.text.contains(a)))
        );
        assert_eq!(t.duration_s, None);
    }

    let e = read_transcript(&path, None, &CsvColumns::default()).unwrap_err();
    assert!(
        e.to_string()
            .ends_with("holds 3 ABCD dialogues; read them with read_abcd"),
        "{e}"
    );
}

#[test]
fn azure_conversation_maps_participants() {
    let path = require!(util::shared("text/azure-call-center-customer-support.json"));
    let t = read_transcript(&path, None, &CsvColumns::default()).unwrap_or_else(|e| panic!("{e}"));
    let pattern: String = t
        .utterances
        .iter()
        .map(|u| match u.speaker {
            Agent => 'A',
            Customer => 'C',
            Speaker::Unknown => '?',
        })
        .collect();
    assert_eq!(pattern, "ACACACACAAACACACA");
    assert_eq!(
        t.utterances[0].text,
        "Hello, you’re chatting with Rene. How may I help you?"
    );
    assert_eq!(t.utterances[16].text, "you're welcome! Have a nice day!");
    assert_eq!(t.language.as_deref(), Some("en"));
    assert_eq!((t.duration_s, t.model.as_ref()), (None, None));
}
