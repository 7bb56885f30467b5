//! What the meaning models said of a call, as plain data: tone and value per agent utterance, the
//! embeddings alignment compares steps with, and which models said it (`guion_meaning` produces it).

use crate::align::Piece;
use serde::{Deserialize, Serialize};

/// One sentence's meaning: L2-normalised, so the dot product is the cosine.
pub type Embedding = Vec<f32>;

/// Cosine of two normalised vectors.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// How negative a tone label is, 0 (empathetic) to 4 (dismissive): what the report picks a call's
/// worst utterance by and the coaching packs tell warm tones from those to say less. A label a
/// brand's own head adds counts as neutral.
pub fn tone_negativity(label: &str) -> i32 {
    match label {
        "dismissive" => 4,
        "impatient" => 3,
        "empathetic" => 0,
        "courteous" => 1,
        _ => 2,
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tone {
    pub label: String,
    pub p: f32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValueScore {
    pub id: String,
    pub score: f32,
}

/// What the classifier says of one agent utterance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UtteranceMeaning {
    pub tone: Tone,
    /// The best-aligned value; `None` when the script defines none.
    pub value: Option<ValueScore>,
    /// Every value's score, in the script's order.
    #[serde(skip)]
    pub value_scores: Vec<f32>,
}

/// Which models produced a call's meaning: these ids go into every result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeaningModels {
    pub encoder: String,
    pub tone_head: String,
    /// A value head's id, or `prototypes:<script id>@<version>`.
    pub values: String,
}

pub struct CallMeaning {
    /// Per utterance of the transcript: `None` for the customer's and for empty ones.
    pub utterances: Vec<Option<UtteranceMeaning>>,
    pub pieces: Vec<Piece>,
    pub piece_vectors: Vec<Embedding>,
    pub models: MeaningModels,
    /// Value ids, in the order of `UtteranceMeaning::value_scores`.
    pub value_ids: Vec<String>,
}
