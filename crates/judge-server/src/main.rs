//! `guion-judge --model PATH [--threads N]`: loads the judge's model once, then answers one JSON line
//! on stdout for every request line on stdin (`guion_judge::protocol`), until stdin closes.

#![deny(unsafe_code)]

use guion_judge::protocol::{Reply, Request};
use guion_judge_server::Judge;
use std::io::{self, BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

const USAGE: &str = "usage: guion-judge --model PATH [--threads N]";

fn args() -> Result<(PathBuf, usize), String> {
    let mut model = None;
    let mut threads = 1;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--model" => model = args.next().map(PathBuf::from),
            "--threads" => {
                threads = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|&n: &usize| n > 0)
                    .ok_or("--threads takes a positive number")?;
            }
            "-h" | "--help" => return Err(USAGE.to_string()),
            other => return Err(format!("unexpected argument {other:?}; {USAGE}")),
        }
    }
    Ok((model.ok_or(USAGE)?, threads))
}

fn send(out: &mut impl Write, reply: &Reply) -> io::Result<()> {
    let line = serde_json::to_string(reply).map_err(io::Error::other)?;
    writeln!(out, "{line}")?;
    out.flush()
}

fn main() -> ExitCode {
    let mut out = io::stdout().lock();
    let fail = |out: &mut io::StdoutLock, message: String| {
        let _ = send(out, &Reply::Error { message });
        ExitCode::FAILURE
    };
    let (model, threads) = match args() {
        Ok(a) => a,
        Err(message) => return fail(&mut out, message),
    };
    let start = Instant::now();
    let mut judge = match Judge::load(&model, threads) {
        Ok(j) => j,
        Err(e) => return fail(&mut out, e.to_string()),
    };
    let ready = Reply::Ready {
        model: model.display().to_string(),
        threads,
        load_seconds: start.elapsed().as_secs_f64(),
    };
    if send(&mut out, &ready).is_err() {
        return ExitCode::FAILURE;
    }
    for line in io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        if line.trim().is_empty() {
            continue;
        }
        let reply = match serde_json::from_str::<Request>(&line) {
            Err(e) => Reply::Error {
                message: format!("not a request: {e}"),
            },
            Ok(request) => {
                let sentences: Vec<&str> = request.sentences.iter().map(String::as_str).collect();
                match judge.judge_timed(&request.statement, &sentences, !request.no_cache) {
                    Ok(v) => Reply::Answer {
                        p: v.p,
                        seconds: v.seconds,
                        prefix_seconds: v.prefix_seconds,
                    },
                    Err(e) => Reply::Error {
                        message: e.to_string(),
                    },
                }
            }
        };
        if send(&mut out, &reply).is_err() {
            break;
        }
    }
    ExitCode::SUCCESS
}
