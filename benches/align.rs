//! Alignment throughput: a five-minute Spanish call (about 750 words, ASR-like noise) against a
//! twelve-step script, lexical matching. Target: 1,000 calls/s on one core.
//!
//! The baseline in the same run is the floor any aligner pays: normalising the call's words once.
//! The ratio printed is align / baseline.
//!
//! usage: cargo bench --bench align

use criterion::{Criterion, criterion_group, criterion_main};
use guion_core::align::{AlignOptions, Aligner};
use guion_core::normalize::{Lang, words};
use guion_core::script::Script;
use guion_core::transcript::{Speaker, Transcript, Utterance, Word};
use std::hint::black_box;
use std::time::Instant;

const STEPS: &[(&str, &str)] = &[
    (
        "greeting",
        "gracias por llamar a Acme Seguros, le atiende {name}",
    ),
    (
        "disclosure",
        "le informamos de que esta llamada puede ser grabada para mejorar la calidad del servicio",
    ),
    ("identification", "¿me puede indicar su DNI, por favor?"),
    (
        "holder",
        "¿me confirma el nombre del titular y su fecha de nacimiento?",
    ),
    ("discovery", "cuénteme, ¿qué le ha ocurrido?"),
    (
        "empathy",
        "entiendo perfectamente la situación, vamos a solucionarlo",
    ),
    ("check", "permítame un momento que consulto su póliza"),
    (
        "offer",
        "tiene usted la cobertura de asistencia en carretera incluida",
    ),
    (
        "summary",
        "le resumo: abrimos el parte hoy y el perito le llamará en cuarenta y ocho horas",
    ),
    ("reference", "le doy el número de referencia del expediente"),
    ("anything_else", "¿puedo ayudarle en algo más?"),
    (
        "farewell",
        "gracias por confiar en Acme Seguros, que tenga un buen día",
    ),
];

const CHATTER: &[&str] = &[
    "sí claro no se preocupe",
    "vale pues mire le cuento lo que ha pasado esta mañana",
    "el coche estaba aparcado delante de casa y cuando he bajado tenía el retrovisor roto",
    "de acuerdo tomo nota de todo lo que me dice",
    "no sé si eso lo cubre mi seguro o tengo que pagarlo yo",
    "un segundo que lo estoy mirando en el sistema",
    "perfecto muchas gracias por la información",
    "ya entiendo entonces tengo que esperar a que me llamen",
    "exacto eso es lo que le comentaba antes",
    "muy bien pues nada más por mi parte",
];

fn script() -> Script {
    let mut toml = String::from(
        "[script]\nid = \"bench\"\nversion = \"1\"\nlanguages = [\"es\"]\nmin_similarity = 0.75\n",
    );
    for (i, (id, phrase)) in STEPS.iter().enumerate() {
        toml += &format!(
            "\n[[step]]\nid = \"{id}\"\ntitle = \"{id}\"\norder = {}\nvariants.es = [\"{phrase}\", \"{phrase} muy amable\"]\n",
            i + 1
        );
    }
    toml += "\n[[forbidden]]\nid = \"promise\"\nseverity = \"high\"\nvariants.es = [\"le garantizo\", \"sin ningún riesgo\"]\n";
    Script::parse(&toml, "bench.toml").expect("bench script").0
}

/// ASR-like damage: every seventh word dropped, every fifth misspelt.
fn noisy(text: &str, seed: usize) -> String {
    text.split_whitespace()
        .enumerate()
        .filter(|(i, _)| (i + seed) % 7 != 3)
        .map(|(i, w)| {
            if (i + seed) % 5 == 2 && w.len() > 4 {
                w.replacen(|c: char| "aeiou".contains(c), "", 1)
            } else {
                w.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn five_minute_call() -> Transcript {
    let mut utterances = Vec::new();
    let mut t = 0.0;
    let mut add = |speaker: Speaker, text: String, t: &mut f64| {
        let words: Vec<Word> = text
            .split_whitespace()
            .map(|w| {
                let word = Word {
                    text: w.into(),
                    start: *t,
                    end: *t + 0.3,
                    p: 0.85,
                };
                *t += 0.4;
                word
            })
            .collect();
        utterances.push(Utterance {
            voice: None,
            language: None,
            speaker,
            channel: Some(if speaker == Speaker::Agent { 0 } else { 1 }),
            start: words.first().map(|w| w.start),
            end: words.last().map(|w| w.end),
            text,
            words,
        });
        *t += 0.8;
    };
    let mut i = 0;
    while t < 300.0 {
        let (_, phrase) = STEPS[i % STEPS.len()];
        let agent = format!(
            "{} {}",
            noisy(&phrase.replace("{name}", "Ana"), i),
            CHATTER[i % CHATTER.len()]
        );
        add(Speaker::Agent, agent, &mut t);
        add(
            Speaker::Customer,
            CHATTER[(i * 3 + 1) % CHATTER.len()].to_string(),
            &mut t,
        );
        add(
            Speaker::Customer,
            CHATTER[(i * 7 + 2) % CHATTER.len()].to_string(),
            &mut t,
        );
        i += 1;
    }
    Transcript {
        layout: None,
        wrong_language: None,
        turns: Vec::new(),
        source: "bench".into(),
        sha256: String::new(),
        duration_s: Some(t),
        language: Some("es".into()),
        model: None,
        utterances,
    }
}

fn bench(c: &mut Criterion) {
    let script = script();
    let aligner = Aligner::new(&script, AlignOptions::default());
    let call = five_minute_call();
    let n_words: usize = call.utterances.iter().map(|u| u.words.len()).sum();

    c.bench_function("baseline: normalise a 5-minute call", |b| {
        b.iter(|| {
            for u in &call.utterances {
                for w in &u.words {
                    black_box(words(&w.text, Some(Lang::Es)));
                }
            }
        })
    });
    c.bench_function("align a 5-minute call, 12 steps", |b| {
        b.iter(|| black_box(aligner.align(&call)))
    });

    // The summary line, measured directly so it can be quoted: medians of repeated batches.
    let median = |f: &dyn Fn()| {
        let mut runs: Vec<f64> = (0..15)
            .map(|_| {
                let t = Instant::now();
                for _ in 0..50 {
                    f();
                }
                t.elapsed().as_secs_f64() / 50.0
            })
            .collect();
        runs.sort_by(f64::total_cmp);
        runs[runs.len() / 2]
    };
    let base = median(&|| {
        for u in &call.utterances {
            for w in &u.words {
                black_box(words(&w.text, Some(Lang::Es)));
            }
        }
    });
    let align = median(&|| {
        black_box(aligner.align(&call));
    });
    let result = aligner.align(&call);
    let done = result
        .steps
        .iter()
        .filter(|s| s.status == guion_core::align::StepStatus::Done)
        .count();
    println!(
        "\nalign: {n_words} words, {} steps ({done} done): {:.3} ms per call = {:.0} calls/s on one core \
         (target 1,000); baseline normalisation {:.3} ms; ratio align/baseline {:.1}x",
        script.steps.len(),
        align * 1e3,
        1.0 / align,
        base * 1e3,
        align / base
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
