//! `guion train`: a brand's labelled agent utterances in, a tone or value head out.

use crate::flags;
use anyhow::{Context, Result, bail};
use guion_meaning::head::HeadKind;
use guion_meaning::lexicon::Lexicon;
use guion_meaning::train::{self, FitOptions, Scores};
use guion_meaning::{Encoder, EncoderOptions, call::default_tone_head};
use guion_models as models;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// Train a tone or brand-value head from labelled agent utterances.
///
/// Each --data file is a CSV with a header and the columns text, language, label (more columns
/// are ignored). An optional `split` column (train|test) fixes the held-out rows; without it,
/// --test-share of every (language, label) group is held out, drawn with --seed.
///
/// The utterances are embedded with multilingual-e5-small; a logistic-regression head is fitted on
/// the training rows (its L2 penalty chosen by 5-fold cross-validation on those rows only) and scored
/// on the held-out rows, per language and overall, next to two baselines: always the most frequent
/// label, and for tone heads guion's cue lexicon (models/tone/lexicon.csv). The head is written as a
/// small ONNX graph; its id (kind and sha256 prefix) goes into every result it produces.
///
///   tone:  the labels are the tones (guion ships empathetic, courteous, neutral, impatient,
///          dismissive; a brand may use its own set). Default --out: the tone head guion uses.
///   value: the labels are the value ids of the brand's script, plus `none` for utterances that show
///          no value. Use it with `guion call --value-head FILE`.
///
/// Same data, same seed, same encoder: the same head, byte for byte.
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Labelled CSV files (text, language, label[, split]).
    #[arg(long, required = true, value_name = "CSV")]
    data: Vec<PathBuf>,

    /// What the labels are.
    #[arg(long, value_enum, default_value = "tone")]
    kind: Kind,

    #[command(flatten)]
    out: flags::OutFlag,

    /// Share of each (language, label) group held out when the data has no split column.
    #[arg(long, default_value_t = 0.2)]
    test_share: f64,

    /// Seed for the held-out draw and the cross-validation folds.
    #[arg(long, default_value_t = 7)]
    seed: u64,

    #[command(flatten)]
    threads: flags::ThreadsFlag,

    #[command(flatten)]
    json: flags::JsonFlag,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Kind {
    Tone,
    Value,
}

/// One labelled utterance.
struct Row {
    text: String,
    language: String,
    label: String,
    test: Option<bool>,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let kind = match args.kind {
        Kind::Tone => HeadKind::Tone,
        Kind::Value => HeadKind::Value,
    };
    let out = match (&args.out.out, kind) {
        (Some(p), _) => p.clone(),
        (None, HeadKind::Tone) => default_tone_head(),
        (None, HeadKind::Value) => bail!("a value head needs --out FILE"),
    };
    if !(0.0..1.0).contains(&args.test_share) {
        bail!("--test-share must be at least 0 and below 1");
    }
    let mut rows = Vec::new();
    let mut sources = Vec::new();
    for path in &args.data {
        rows.extend(read_rows(path)?);
        let sha =
            models::sha256_file(path).with_context(|| format!("cannot read {}", path.display()))?;
        sources.push(format!("{} sha256:{}", path.display(), &sha[..12]));
    }
    if rows.is_empty() {
        bail!("no labelled rows in {}", sources.join(", "));
    }
    let test: Vec<bool> = if rows.iter().all(|r| r.test.is_some()) {
        rows.iter().map(|r| r.test == Some(true)).collect()
    } else {
        let groups: Vec<String> = rows
            .iter()
            .map(|r| format!("{}/{}", r.language, r.label))
            .collect();
        train::stratified_holdout(&groups, args.test_share, args.seed)
    };
    let labels: Vec<String> = {
        let mut l: Vec<String> = rows.iter().map(|r| r.label.clone()).collect();
        l.sort();
        l.dedup();
        l
    };
    if labels.len() < 2 {
        bail!(
            "at least two labels are needed, found {}",
            labels.join(", ")
        );
    }
    let y: Vec<usize> = rows
        .iter()
        .map(|r| labels.iter().position(|l| *l == r.label).unwrap_or(0))
        .collect();

    let started = Instant::now();
    let mut encoder = Encoder::load(&EncoderOptions {
        threads: args.threads.threads.unwrap_or(1),
        ..EncoderOptions::default()
    })?;
    eprintln!(
        "train: embedding {} utterances with {}",
        rows.len(),
        encoder.model.name
    );
    let texts: Vec<&str> = rows.iter().map(|r| r.text.as_str()).collect();
    let x = encoder.embed(&texts)?;
    let embed_s = started.elapsed().as_secs_f64();

    let train_rows: Vec<usize> = (0..rows.len()).filter(|&i| !test[i]).collect();
    let test_rows: Vec<usize> = (0..rows.len()).filter(|&i| test[i]).collect();
    let tx: Vec<_> = train_rows.iter().map(|&i| x[i].clone()).collect();
    let ty: Vec<usize> = train_rows.iter().map(|&i| y[i]).collect();
    let options = FitOptions {
        seed: args.seed,
        ..FitOptions::default()
    };
    let (mut head, penalty) = train::fit(kind, &labels, &tx, &ty, &options);

    // Held-out evaluation, per language and overall, with the baselines.
    let majority = {
        let mut counts = vec![0usize; labels.len()];
        ty.iter().for_each(|&c| counts[c] += 1);
        train::argmax(&counts.iter().map(|&c| c as f32).collect::<Vec<_>>())
    };
    let lexicon = (kind == HeadKind::Tone).then(Lexicon::embedded);
    let mut languages: Vec<&str> = test_rows
        .iter()
        .map(|&i| rows[i].language.as_str())
        .collect();
    languages.sort();
    languages.dedup();
    let mut report = BTreeMap::new();
    for lang in languages.iter().map(|l| Some(*l)).chain([None]) {
        let rows_here: Vec<usize> = test_rows
            .iter()
            .copied()
            .filter(|&i| lang.is_none_or(|l| rows[i].language == l))
            .collect();
        let truth: Vec<usize> = rows_here.iter().map(|&i| y[i]).collect();
        let head_pred: Vec<usize> = rows_here
            .iter()
            .map(|&i| train::argmax(&head.probabilities(&x[i])))
            .collect();
        let mut entry = BTreeMap::new();
        entry.insert("head", Scores::new(labels.len(), &truth, &head_pred));
        entry.insert(
            "majority",
            Scores::new(labels.len(), &truth, &vec![majority; truth.len()]),
        );
        if let Some(lexicon) = &lexicon {
            let pred: Vec<usize> = rows_here
                .iter()
                .map(|&i| {
                    let label = lexicon.predict(&rows[i].text, &rows[i].language);
                    labels.iter().position(|l| l == label).unwrap_or(majority)
                })
                .collect();
            entry.insert("lexicon", Scores::new(labels.len(), &truth, &pred));
        }
        report.insert(lang.unwrap_or("all").to_string(), entry);
    }

    head.encoder = encoder.model.sha256.clone();
    head.notes = serde_json::json!({
        "data": sources,
        "rows": rows.len(),
        "train": train_rows.len(),
        "test": test_rows.len(),
        "seed": args.seed,
        "l2": penalty,
        "macro_f1": report.iter().map(|(l, e)| (l.clone(), e["head"].macro_f1)).collect::<BTreeMap<_, _>>(),
    })
    .to_string();
    let id = head
        .write(&out)
        .with_context(|| format!("cannot write {}", out.display()))?;

    if args.json.json {
        println!(
            "{}",
            serde_json::json!({"id": id, "path": out, "labels": labels, "l2": penalty, "held_out": report})
        );
    } else {
        print_report(&labels, &report, &test_rows);
        println!(
            "wrote {} ({id}); {} train / {} held-out rows; L2 {penalty}; {:.1} s embedding, {:.1} s in all",
            out.display(),
            train_rows.len(),
            test_rows.len(),
            embed_s,
            started.elapsed().as_secs_f64()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn print_report(
    labels: &[String],
    report: &BTreeMap<String, BTreeMap<&str, Scores>>,
    test_rows: &[usize],
) {
    if test_rows.is_empty() {
        println!("no held-out rows: nothing to report");
        return;
    }
    println!("held-out macro-F1 (accuracy)");
    println!(
        "{:<6} {:>6} {:>16} {:>16} {:>16}",
        "lang", "n", "head", "lexicon", "majority"
    );
    for (lang, entry) in report {
        let cell = |name: &str| {
            entry.get(name).map_or_else(
                || "-".to_string(),
                |s| format!("{:.3} ({:.3})", s.macro_f1, s.accuracy),
            )
        };
        println!(
            "{:<6} {:>6} {:>16} {:>16} {:>16}",
            lang,
            entry["head"].n,
            cell("head"),
            cell("lexicon"),
            cell("majority")
        );
    }
    if let Some(all) = report.get("all").map(|e| &e["head"]) {
        println!("\nper label, all languages (head)");
        println!(
            "{:<14} {:>9} {:>7} {:>6} {:>8}",
            "label", "precision", "recall", "F1", "support"
        );
        for (label, (p, r, f, n)) in labels.iter().zip(&all.per_label) {
            println!("{label:<14} {p:>9.3} {r:>7.3} {f:>6.3} {n:>8}");
        }
    }
}

fn read_rows(path: &Path) -> Result<Vec<Row>> {
    let file = path.display();
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .with_context(|| format!("cannot read {file}"))?;
    let headers = reader
        .headers()
        .with_context(|| format!("{file}: line 1: cannot read the header"))?
        .clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
    };
    let (Some(text), Some(language), Some(label)) =
        (column("text"), column("language"), column("label"))
    else {
        bail!("{file}: line 1: the header must name the columns text, language and label");
    };
    let split = column("split");
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.with_context(|| format!("{file}: malformed CSV"))?;
        let line = record.position().map_or(0, |p| p.line());
        let field = |i: usize, name: &str| -> Result<String> {
            match record.get(i).map(str::trim) {
                Some(v) if !v.is_empty() => Ok(v.to_string()),
                _ => bail!("{file}: line {line}: empty `{name}`"),
            }
        };
        let test = match split.map(|i| record.get(i).unwrap_or("").trim()) {
            None | Some("") => None,
            Some("train") => Some(false),
            Some("test") => Some(true),
            Some(other) => {
                bail!("{file}: line {line}: `split` must be train or test, not `{other}`")
            }
        };
        rows.push(Row {
            text: field(text, "text")?,
            language: field(language, "language")?,
            label: field(label, "label")?,
            test,
        });
    }
    Ok(rows)
}
