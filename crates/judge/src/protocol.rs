//! What goes between the client and the `guion-judge` server: one JSON object a line each way.
//!
//! The server is started as `guion-judge --model PATH --threads N`, loads the model, and writes one
//! [`Reply::Ready`] (or [`Reply::Error`], then exits non-zero). Then for every [`Request`] line on its
//! stdin it writes one [`Reply::Answer`] or [`Reply::Error`] line. It exits when stdin closes.

use serde::{Deserialize, Serialize};

/// Judge `sentences`, each against the same `statement` (a step's description).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    pub statement: String,
    pub sentences: Vec<String>,
    /// Evaluate every prompt whole, reusing nothing from the KV cache: for measuring what the cache
    /// saves. The probabilities are the same either way (up to float rounding).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_cache: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum Reply {
    /// The model is loaded: its path, the threads it runs on and how long loading took.
    Ready {
        model: String,
        threads: usize,
        load_seconds: f64,
    },
    /// One P(Yes) per sentence, in order, with the seconds each took; `prefix_seconds` is what the
    /// statement's shared prefix cost (0 when it was already in the cache).
    Answer {
        p: Vec<f32>,
        seconds: Vec<f64>,
        prefix_seconds: f64,
    },
    Error {
        message: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_replies_are_one_json_line_each() {
        let request = Request {
            statement: "Despedida con la marca".into(),
            sentences: vec!["Gracias por llamar a Acme Seguros.\nAdiós".into()],
            no_cache: false,
        };
        let line = serde_json::to_string(&request).unwrap();
        assert!(!line.contains('\n'));
        assert!(!line.contains("no_cache"));
        assert_eq!(serde_json::from_str::<Request>(&line).unwrap(), request);

        let reply: Reply = serde_json::from_str(
            r#"{"reply":"answer","p":[0.9,0.1],"seconds":[0.3,0.2],"prefix_seconds":0.0}"#,
        )
        .unwrap();
        assert_eq!(
            reply,
            Reply::Answer {
                p: vec![0.9, 0.1],
                seconds: vec![0.3, 0.2],
                prefix_seconds: 0.0
            }
        );
        let ready = serde_json::to_string(&Reply::Ready {
            model: "m.gguf".into(),
            threads: 2,
            load_seconds: 1.5,
        })
        .unwrap();
        assert!(ready.starts_with(r#"{"reply":"ready""#), "{ready}");
    }
}
