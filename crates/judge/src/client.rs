//! The client: starts the `guion-judge` server once, and asks it about shortlists of sentences.

use crate::protocol::{Reply, Request};
use crate::{SERVER_BIN, SERVER_ENV};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

#[derive(Debug, thiserror::Error)]
pub enum JudgeError {
    #[error(
        "the judge server `{SERVER_BIN}` was not found (looked at {}); build it with \
         `cargo build --release -p guion-judge-server`, or set {SERVER_ENV}",
        .tried.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    )]
    NoServer { tried: Vec<PathBuf> },
    #[error("cannot start the judge server {server}: {source}")]
    Spawn { server: PathBuf, source: io::Error },
    #[error("the judge server could not load {model}: {message}")]
    Load { model: PathBuf, message: String },
    #[error("the judge server: {0}")]
    Server(String),
    #[error("the judge server broke the protocol: {0}")]
    Protocol(String),
    #[error("talking to the judge server: {0}")]
    Io(#[from] io::Error),
}

/// Where the server binary is: `$GUION_JUDGE_SERVER`, else `guion-judge` beside the running executable
/// (`target/release/guion`), else one directory up (tests and examples run from `target/release/deps`
/// and `target/release/examples`).
pub fn server_path() -> Result<PathBuf, JudgeError> {
    if let Some(path) = std::env::var_os(SERVER_ENV).filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(path));
    }
    let mut tried = Vec::new();
    if let Ok(exe) = std::env::current_exe() {
        let mut dir = exe.parent();
        for _ in 0..2 {
            let Some(d) = dir else { break };
            let candidate = d.join(SERVER_BIN);
            if candidate.is_file() {
                return Ok(candidate);
            }
            tried.push(candidate);
            dir = d.parent();
        }
    }
    Err(JudgeError::NoServer { tried })
}

/// A running judge server with its model loaded. Dropping it closes the server's stdin, and the
/// server exits.
#[derive(Debug)]
pub struct JudgeClient {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    load_seconds: f64,
}

/// One answer: P(Yes) per sentence, the seconds each took, and what the shared prefix cost.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub p: Vec<f32>,
    pub seconds: Vec<f64>,
    pub prefix_seconds: f64,
}

impl JudgeClient {
    /// Starts the server found by [`server_path`] on `model` (a GGUF file), with `threads` threads.
    pub fn start(model: &Path, threads: usize) -> Result<JudgeClient, JudgeError> {
        JudgeClient::start_server(&server_path()?, model, threads)
    }

    /// Starts a given server binary and waits until its model is loaded.
    pub fn start_server(
        server: &Path,
        model: &Path,
        threads: usize,
    ) -> Result<JudgeClient, JudgeError> {
        let mut child = Command::new(server)
            .arg("--model")
            .arg(model)
            .arg("--threads")
            .arg(threads.max(1).to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|source| JudgeError::Spawn {
                server: server.to_path_buf(),
                source,
            })?;
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
        let mut client = JudgeClient {
            child,
            stdin,
            stdout,
            load_seconds: 0.0,
        };
        match client.read_reply()? {
            Reply::Ready { load_seconds, .. } => {
                client.load_seconds = load_seconds;
                Ok(client)
            }
            Reply::Error { message } => Err(JudgeError::Load {
                model: model.to_path_buf(),
                message,
            }),
            other => Err(JudgeError::Protocol(format!(
                "expected ready, got {other:?}"
            ))),
        }
    }

    /// P(Yes) for each sentence against `statement`, in order.
    pub fn judge(&mut self, statement: &str, sentences: &[&str]) -> Result<Vec<f32>, JudgeError> {
        let request = Request {
            statement: statement.to_string(),
            sentences: sentences.iter().map(|s| s.to_string()).collect(),
            no_cache: false,
        };
        Ok(self.ask(&request)?.p)
    }

    /// The full exchange: any request, the answer with its timings.
    pub fn ask(&mut self, request: &Request) -> Result<Answer, JudgeError> {
        let mut line =
            serde_json::to_string(request).map_err(|e| JudgeError::Protocol(e.to_string()))?;
        line.push('\n');
        let stdin = self
            .stdin
            .as_mut()
            .ok_or_else(|| JudgeError::Protocol("stdin already closed".into()))?;
        stdin.write_all(line.as_bytes())?;
        stdin.flush()?;
        match self.read_reply()? {
            Reply::Answer {
                p,
                seconds,
                prefix_seconds,
            } if p.len() == request.sentences.len() => Ok(Answer {
                p,
                seconds,
                prefix_seconds,
            }),
            Reply::Error { message } => Err(JudgeError::Server(message)),
            other => Err(JudgeError::Protocol(format!(
                "expected {} probabilities, got {other:?}",
                request.sentences.len()
            ))),
        }
    }

    /// Seconds the server took to load the model.
    pub fn load_seconds(&self) -> f64 {
        self.load_seconds
    }

    /// The server's process id (to read its memory from /proc, say).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    fn read_reply(&mut self) -> Result<Reply, JudgeError> {
        let mut line = String::new();
        if self.stdout.read_line(&mut line)? == 0 {
            let status = self.child.wait()?;
            return Err(JudgeError::Protocol(format!(
                "the server exited ({status}) without answering"
            )));
        }
        serde_json::from_str(&line)
            .map_err(|e| JudgeError::Protocol(format!("{e}: {}", line.trim_end())))
    }
}

impl Drop for JudgeClient {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stand-in server in shell: says ready, then answers every line with fixed probabilities.
    fn fake_server(dir: &Path, body: &str) -> PathBuf {
        let path = dir.join("fake-judge");
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        let mut perms = std::fs::metadata(&path).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
        std::fs::set_permissions(&path, perms).unwrap();
        path
    }

    #[test]
    fn the_client_waits_for_ready_then_reads_one_answer_per_request() {
        let dir = std::env::temp_dir().join(format!("guion-judge-client-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let server = fake_server(
            &dir,
            r#"echo '{"reply":"ready","model":"m","threads":1,"load_seconds":0.25}'
while read -r line; do echo '{"reply":"answer","p":[0.75,0.125],"seconds":[0.5,0.5],"prefix_seconds":1.0}'; done"#,
        );
        let mut client = JudgeClient::start_server(&server, Path::new("m"), 1).unwrap();
        assert_eq!(client.load_seconds(), 0.25);
        assert_eq!(client.judge("s", &["a", "b"]).unwrap(), vec![0.75, 0.125]);
        // A shortlist of the wrong length is the server's fault, and says so.
        let err = client.judge("s", &["a"]).unwrap_err();
        assert!(matches!(err, JudgeError::Protocol(_)), "{err}");
        drop(client);

        let failing = fake_server(
            &dir,
            r#"echo '{"reply":"error","message":"no such file"}'; exit 1"#,
        );
        let err = JudgeClient::start_server(&failing, Path::new("missing.gguf"), 1).unwrap_err();
        assert!(err.to_string().contains("missing.gguf"), "{err}");
        assert!(err.to_string().contains("no such file"), "{err}");

        let silent = fake_server(&dir, "exit 3");
        let err = JudgeClient::start_server(&silent, Path::new("m"), 1).unwrap_err();
        assert!(err.to_string().contains("without answering"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_server_that_cannot_start_is_named() {
        let err =
            JudgeClient::start_server(Path::new("/nonexistent/guion-judge"), Path::new("m"), 1)
                .unwrap_err();
        assert!(matches!(err, JudgeError::Spawn { .. }), "{err}");
        assert!(
            err.to_string().contains("/nonexistent/guion-judge"),
            "{err}"
        );
    }
}
