//! How close the demo night scored from its audio comes to the same night scored from the
//! dialogues' own text (perfect recognition, the answer key): word error rate per party and
//! language, and agreement of every call × step status. Run by `scripts/measure-demo-night`,
//! which scores both; usage: `cargo bench --bench demo_night -- AUDIO_DIR TEXT_DIR [AUDIO_DIR_2…]`.

use guion_core::normalize::{Lang, wer};
use std::collections::BTreeMap;
use std::path::Path;

/// (call_id, speaker) → the party's words in order; and call_id → language.
fn words(dir: &Path) -> (BTreeMap<(String, String), String>, BTreeMap<String, String>) {
    let path = dir.join("utterances.jsonl");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out: BTreeMap<(String, String), String> = BTreeMap::new();
    for line in text.lines() {
        let u: serde_json::Value = serde_json::from_str(line).expect("utterances.jsonl line");
        let key = (
            u["call_id"].as_str().unwrap_or_default().to_string(),
            u["speaker"].as_str().unwrap_or_default().to_string(),
        );
        let said = out.entry(key).or_default();
        said.push(' ');
        said.push_str(u["text"].as_str().unwrap_or_default());
    }
    let calls = dir.join("calls.csv");
    let mut languages = BTreeMap::new();
    let mut r =
        csv::Reader::from_path(&calls).unwrap_or_else(|e| panic!("{}: {e}", calls.display()));
    let header = r.headers().expect("header").clone();
    let col = |name: &str| header.iter().position(|h| h == name).expect(name);
    for row in r.records() {
        let row = row.expect("calls.csv row");
        languages.insert(
            row[col("call_id")].to_string(),
            row[col("language")].to_string(),
        );
    }
    (out, languages)
}

/// (call_id, step) → status.
fn statuses(dir: &Path) -> BTreeMap<(String, String), String> {
    let path = dir.join("steps.csv");
    let mut r = csv::Reader::from_path(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let header = r.headers().expect("header").clone();
    let col = |name: &str| header.iter().position(|h| h == name).expect(name);
    let (call, step, status) = (col("call_id"), col("step"), col("status"));
    r.records()
        .map(|row| {
            let row = row.expect("steps.csv row");
            (
                (row[call].to_string(), row[step].to_string()),
                row[status].to_string(),
            )
        })
        .collect()
}

fn main() {
    let dirs: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let [audio_dirs @ .., text_dir] = dirs.as_slice() else {
        eprintln!("usage: demo_night AUDIO_DIR… TEXT_DIR");
        std::process::exit(2);
    };
    let (reference, languages) = words(Path::new(text_dir));
    let truth = statuses(Path::new(text_dir));
    for audio_dir in audio_dirs {
        let (heard, _) = words(Path::new(audio_dir));
        let mut errors: BTreeMap<(String, String), (f64, f64)> = BTreeMap::new();
        for ((call, speaker), said) in &reference {
            let lang = languages.get(call).map_or("", String::as_str);
            let got = heard
                .get(&(call.clone(), speaker.clone()))
                .map_or("", String::as_str);
            let n = said.split_whitespace().count() as f64;
            let w = wer(said, got, Lang::from_code(lang));
            let e = errors
                .entry((lang.to_string(), speaker.clone()))
                .or_default();
            e.0 += w * n;
            e.1 += n;
        }
        println!("{audio_dir}");
        for ((lang, speaker), (edits, n)) in &errors {
            println!(
                "  WER {lang} {speaker:<8} {:.3}  ({n:.0} reference words)",
                edits / n
            );
        }
        let scored = statuses(Path::new(audio_dir));
        let mut same = 0usize;
        let mut confusion: BTreeMap<(String, String), usize> = BTreeMap::new();
        for (key, want) in &truth {
            let got = scored.get(key).map_or("absent", String::as_str);
            same += usize::from(got == want);
            *confusion
                .entry((want.clone(), got.to_string()))
                .or_default() += 1;
        }
        println!(
            "  steps: {same} of {} call × step statuses as from the text ({:.1} %)",
            truth.len(),
            100.0 * same as f64 / truth.len().max(1) as f64
        );
        for ((want, got), n) in confusion.iter().filter(|((w, g), _)| w != g) {
            println!("    text {want:<15} audio {got:<15} {n}");
        }
    }
}
