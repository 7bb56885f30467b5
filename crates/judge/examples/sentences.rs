//! The judge on tests/fixtures/semantic/sentences.csv: every sentence against every agent step of its
//! script, with the step's title as the statement and with its `description` (what the pipeline asks).
//!
//! ```text
//! cargo build --release -p guion-judge-server
//! cargo run --release -p guion-judge --example sentences -- [--threads 2] [--statements title|described|both]
//!     [--uncached 16] [--every 1] [--offset 0] [--out pairs.csv]
//! ```
//! Prints per kind of sentence: found (P >= threshold for the expected step), wrongly found (P >=
//! threshold for another step), right (the expected step alone, or none for a sentence that carries
//! out none) and right by best step (the most likely step if it clears the threshold, else none) at
//! several thresholds; seconds per pair with and without the prefix cache; load time
//! and the server's peak RSS. `--every N` takes every Nth sentence (a sample spread over the file,
//! which is ordered by step and kind) when the whole file would take too long; `--offset K` starts
//! at the Kth, so that another sample is held out from the one a threshold was chosen on. The model is `$GUION_CACHE/models/` + `guion_judge::MODEL_FILE`, or
//! `--model PATH`.

use guion_core::script::{Role, Script};
use guion_judge::JudgeClient;
use guion_judge::protocol::Request;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

struct Row {
    script: String,
    text: String,
    expected: String,
    kind: String,
}

fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

fn peak_rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib / 1024.0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut threads = 2usize;
    let mut which = "both".to_string();
    let mut uncached = 16usize;
    let mut every = 1usize;
    let mut offset = 0usize;
    let mut out: Option<PathBuf> = None;
    let mut model: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--threads" => threads = args.next().ok_or("--threads N")?.parse()?,
            "--statements" => which = args.next().ok_or("--statements title|described|both")?,
            "--uncached" => uncached = args.next().ok_or("--uncached N")?.parse()?,
            "--every" => every = args.next().ok_or("--every N")?.parse::<usize>()?.max(1),
            "--offset" => offset = args.next().ok_or("--offset K")?.parse()?,
            "--out" => out = Some(args.next().ok_or("--out FILE")?.into()),
            "--model" => model = Some(args.next().ok_or("--model PATH")?.into()),
            other => return Err(format!("unexpected argument {other}").into()),
        }
    }
    let model = model.unwrap_or_else(|| {
        let cache = std::env::var_os("GUION_CACHE")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/guion")
            });
        cache.join("models").join(guion_judge::MODEL_FILE)
    });

    let scripts: BTreeMap<String, Script> = [
        ("acme-seguros", "examples/scripts/acme-seguros.toml"),
        ("telco-en", "examples/scripts/telco-en.toml"),
    ]
    .into_iter()
    .map(|(name, file)| {
        let text = std::fs::read_to_string(root.join(file)).expect("script");
        (
            name.to_string(),
            Script::parse(&text, file).expect("valid").0,
        )
    })
    .collect();
    let mut reader = csv::Reader::from_path(root.join("tests/fixtures/semantic/sentences.csv"))?;
    let rows: Vec<Row> = reader
        .records()
        .map(|r| {
            let r = r.expect("csv row");
            Row {
                script: r[0].to_string(),
                text: r[2].to_string(),
                expected: r[3].to_string(),
                kind: r[4].to_string(),
            }
        })
        .skip(offset)
        .step_by(every)
        .collect();

    let mut judge = JudgeClient::start(&model, threads)?;
    println!(
        "model {} loaded in {:.1} s, {threads} threads",
        model.display(),
        judge.load_seconds()
    );
    let sets: Vec<&str> = match which.as_str() {
        "both" => vec!["title", "described"],
        one => vec![one],
    };
    let mut dump = match &out {
        Some(path) => Some(std::io::BufWriter::new(std::fs::File::create(path)?)),
        None => None,
    };
    if let Some(d) = dump.as_mut() {
        writeln!(d, "statements,script,step,kind,expected,p,text")?;
    }
    for set in sets {
        // p[row][step id]
        let mut p: Vec<BTreeMap<String, f32>> = vec![BTreeMap::new(); rows.len()];
        let mut cached_seconds = Vec::new();
        let mut prefix_seconds = Vec::new();
        for (name, script) in &scripts {
            let indices: Vec<usize> = (0..rows.len())
                .filter(|&i| rows[i].script == *name)
                .collect();
            for step in script.steps.iter().filter(|s| s.role == Role::Agent) {
                let statement = match set {
                    "title" => step.title.clone(),
                    _ => script.judge_statement(step, None).to_string(),
                };
                let request = Request {
                    statement,
                    sentences: indices.iter().map(|&i| rows[i].text.clone()).collect(),
                    no_cache: false,
                };
                let answer = judge.ask(&request)?;
                eprintln!(
                    "{set} {name}/{}: {} sentences, median {:.2} s",
                    step.id,
                    answer.p.len(),
                    median(&mut answer.seconds.clone())
                );
                if request.sentences.len() > 1 {
                    // The server times the prefix apart only when more than one sentence shares it.
                    prefix_seconds.push(answer.prefix_seconds);
                }
                cached_seconds.extend(&answer.seconds);
                for (&i, &pi) in indices.iter().zip(&answer.p) {
                    p[i].insert(step.id.clone(), pi);
                    if let Some(d) = dump.as_mut() {
                        let r = &rows[i];
                        writeln!(
                            d,
                            "{set},{},{},{},{},{pi:.4},\"{}\"",
                            r.script,
                            step.id,
                            r.kind,
                            r.expected,
                            r.text.replace('"', "\"\"")
                        )?;
                    }
                }
                if let Some(d) = dump.as_mut() {
                    d.flush()?;
                }
            }
        }
        // Uncached: the same prompts evaluated whole, on a sample of pairs.
        let mut uncached_seconds = Vec::new();
        let step_of = |name: &str, k: usize| &scripts[name].steps[k % scripts[name].steps.len()];
        for k in 0..uncached {
            let row = &rows[(k * 37) % rows.len()];
            let step = step_of(&row.script, k);
            let statement = match set {
                "title" => step.title.clone(),
                _ => scripts[&row.script].judge_statement(step, None).to_string(),
            };
            let answer = judge.ask(&Request {
                statement,
                sentences: vec![row.text.clone()],
                no_cache: true,
            })?;
            uncached_seconds.extend(answer.seconds);
        }

        println!("\n== statements: {set} ==");
        println!(
            "seconds per pair: cached median {:.3} (n={}), uncached median {:.3} (n={}); \
             prefix per statement median {:.3}",
            median(&mut cached_seconds.clone()),
            cached_seconds.len(),
            median(&mut uncached_seconds),
            uncached_seconds.len(),
            median(&mut prefix_seconds)
        );
        for threshold in [0.3f32, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9] {
            println!("threshold {threshold:.1}:");
            let mut kinds: BTreeMap<&str, (usize, usize, usize, usize)> = BTreeMap::new();
            for (i, r) in rows.iter().enumerate() {
                let t = kinds.entry(r.kind.as_str()).or_default();
                let expected_found = p[i].get(&r.expected).is_some_and(|&x| x >= threshold);
                let wrong = p[i]
                    .iter()
                    .any(|(id, &x)| *id != r.expected && x >= threshold);
                let right = if r.expected == "none" {
                    !wrong
                } else {
                    expected_found && !wrong
                };
                t.0 += 1;
                t.1 += usize::from(expected_found);
                t.2 += usize::from(wrong);
                t.3 += usize::from(right);
            }
            // One step per sentence instead: the most likely step, if it clears the threshold.
            let mut best_right: BTreeMap<&str, usize> = BTreeMap::new();
            for (i, r) in rows.iter().enumerate() {
                let best = p[i].iter().max_by(|a, b| a.1.total_cmp(b.1));
                let right = match best {
                    Some((id, &x)) if x >= threshold => *id == r.expected,
                    _ => r.expected == "none",
                };
                *best_right.entry(r.kind.as_str()).or_default() += usize::from(right);
            }
            for kind in ["natural", "distant", "near_miss", "other"] {
                let Some(&(n, found, wrong, right)) = kinds.get(kind) else {
                    continue;
                };
                let best = best_right.get(kind).copied().unwrap_or(0);
                let found = if matches!(kind, "near_miss" | "other") {
                    "   -".to_string()
                } else {
                    format!("{found:>4}")
                };
                println!(
                    "  {kind:9} n={n:3}  found {found}  wrongly found {wrong:>3}  right {right:>3} ({:.2})  \
                     right by best step {best:>3} ({:.2})",
                    right as f64 / n as f64,
                    best as f64 / n as f64
                );
            }
        }
    }
    if let Some(pid) = Some(judge.pid()) {
        match peak_rss_mib(pid) {
            Some(mib) => println!("\nserver peak RSS {mib:.0} MiB"),
            None => println!("\nserver peak RSS unknown"),
        }
    }
    if let Some(mut d) = dump {
        d.flush()?;
    }
    Ok(())
}
