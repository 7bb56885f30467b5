//! A call's meaning: tone and value per agent utterance, and the sentence embeddings alignment uses
//! to find steps said in other words. One `Classifier` per worker; one `ScriptMeaning` per script.

use super::head::{Head, HeadKind};
use super::values::{ValueExamples, ValuePrototypes, centred};
use super::{ClassifyError, Embedding, Encoder, EncoderOptions};
use guion_core::align::{self, Semantic};
use guion_core::hash::sha256_bytes;
pub use guion_core::meaning::{CallMeaning, MeaningModels, Tone, UtteranceMeaning, ValueScore};
use guion_core::script::Script;
use guion_core::transcript::{Speaker, Transcript};
use guion_models as models;
use std::path::PathBuf;

/// The tone training data shipped with guion; its procedural (neutral) lines are, with the script's
/// own steps and forbidden phrases, the ordinary lines that value scores are measured against.
const TONE_DATA: [&str; 2] = [
    include_str!("../../../models/tone/tone-es.csv"),
    include_str!("../../../models/tone/tone-en.csv"),
];
const BACKGROUND_PER_LANGUAGE: usize = 40;
/// A sentence shorter than this is scored for values only as part of its turn.
const MIN_SENTENCE_WORDS: usize = 3;

/// Where `scripts/setup` leaves the tone head it trains from `models/tone/`.
pub fn default_tone_head() -> PathBuf {
    models::cache_dir().join("models").join("tone-head.json")
}

#[derive(Debug, Clone, Default)]
pub struct ClassifierOptions {
    pub encoder: EncoderOptions,
    /// Default: `default_tone_head()`.
    pub tone_head: Option<PathBuf>,
    /// A brand's trained value head; without it values are scored by prototype from the script.
    pub value_head: Option<PathBuf>,
}

pub struct Classifier {
    encoder: Encoder,
    tone: Head,
    value_head: Option<Head>,
    /// Procedural agent lines, embedded once per worker: `(language, embedding)`.
    background: Vec<(String, Embedding)>,
    /// Their `(language, text)`, in the same order.
    background_lines: Vec<(String, String)>,
    /// Their mean. Every e5 embedding shares a large common component (cosines between unrelated
    /// sentences sit around 0.8); subtracting this before comparing steps with sentences spreads
    /// related and unrelated apart (0.5–0.9 vs. below 0.4 on guion's example calls).
    center: Embedding,
}

enum Values {
    Prototypes(ValuePrototypes),
    Head,
    None,
}

/// A script's phrasings and values, embedded once.
pub struct ScriptMeaning {
    step_vectors: Vec<Vec<(String, String, Embedding)>>,
    values: Values,
    value_ids: Vec<String>,
    values_id: String,
}

impl ScriptMeaning {
    /// A value head's id, or `prototypes:<script>@<version>#<digest of method, examples and ordinary lines>`.
    pub fn values_id(&self) -> &str {
        &self.values_id
    }

    /// What alignment needs to find this script's steps by meaning in a call.
    pub fn semantic<'a>(&'a self, call: &'a CallMeaning) -> Semantic<'a> {
        Semantic {
            pieces: &call.pieces,
            piece_vectors: &call.piece_vectors,
            step_vectors: &self.step_vectors,
            judged: &[],
        }
    }
}

impl Classifier {
    pub fn load(options: &ClassifierOptions) -> Result<Classifier, ClassifyError> {
        let encoder = Encoder::load(&options.encoder)?;
        let tone_path = options.tone_head.clone().unwrap_or_else(default_tone_head);
        if !tone_path.is_file() {
            return Err(ClassifyError::Load {
                path: tone_path,
                reason: "no tone head; run scripts/setup, which trains it from models/tone/, or \
                         `guion train --data models/tone/tone-es.csv --data models/tone/tone-en.csv`"
                    .into(),
            });
        }
        let tone = Head::load(&tone_path)?;
        let value_head = options.value_head.as_deref().map(Head::load).transpose()?;
        for head in std::iter::once(&tone).chain(&value_head) {
            if !head.linear.encoder.is_empty() && head.linear.encoder != encoder.model.sha256 {
                tracing::warn!(
                    "head {} was trained on another encoder ({}); its scores may mean little",
                    head.id,
                    head.linear.encoder
                );
            }
        }
        if let Some(h) = &value_head
            && h.linear.kind != HeadKind::Value
        {
            return Err(ClassifyError::NotAHead {
                path: options.value_head.clone().unwrap_or_default(),
                reason: format!("it is a {} head, not a value head", h.linear.kind.as_str()),
            });
        }
        if tone.linear.kind != HeadKind::Tone {
            return Err(ClassifyError::NotAHead {
                path: tone_path,
                reason: format!(
                    "it is a {} head, not a tone head",
                    tone.linear.kind.as_str()
                ),
            });
        }
        let mut encoder = encoder;
        let lines = background_lines();
        let texts: Vec<&str> = lines.iter().map(|(_, t)| t.as_str()).collect();
        let background: Vec<(String, Embedding)> = lines
            .iter()
            .map(|(l, _)| l.clone())
            .zip(encoder.embed(&texts)?)
            .collect();
        let center = mean(background.iter().map(|(_, e)| e));
        Ok(Classifier {
            encoder,
            tone,
            value_head,
            background,
            background_lines: lines,
            center,
        })
    }

    pub fn tone_head_id(&self) -> &str {
        &self.tone.id
    }

    /// `name:sha256-prefix` of the encoder.
    pub fn encoder_id(&self) -> String {
        models::short_id(&self.encoder.model.name, &self.encoder.model.sha256)
    }

    pub fn tone_labels(&self) -> &[String] {
        &self.tone.linear.labels
    }

    /// Embeds the script's phrasings and values. A trained value head must know every label it
    /// gives as a value id of the script (or `none`).
    pub fn prepare(&mut self, script: &Script) -> Result<ScriptMeaning, ClassifyError> {
        let phrasings = align::semantic_phrasings(script);
        let forbidden = forbidden_phrasings(script);
        let flat: Vec<&str> = phrasings
            .iter()
            .flatten()
            .chain(&forbidden)
            .map(|(_, t)| t.as_str())
            .collect();
        let embedded = self.encoder.embed(&flat)?;
        // The script's steps and forbidden phrases, as said: lines that show no brand value.
        let script_texts: Vec<&(String, String)> =
            phrasings.iter().flatten().chain(&forbidden).collect();
        let script_lines: Vec<(String, Embedding)> = script_texts
            .iter()
            .map(|(l, _)| l.clone())
            .zip(embedded.iter().cloned())
            .collect();
        let mut vectors = embedded.into_iter();
        let step_vectors = phrasings
            .iter()
            .map(|step| {
                step.iter()
                    .map(|(l, t)| {
                        let v = vectors.next().unwrap_or_default();
                        (l.clone(), t.clone(), centred(&v, &self.center))
                    })
                    .collect()
            })
            .collect();
        let script_id = format!("{}@{}", script.id, script.version);
        let (values, value_ids, values_id) = if let Some(head) = &self.value_head {
            let ids: Vec<String> = head
                .linear
                .labels
                .iter()
                .filter(|l| *l != "none")
                .cloned()
                .collect();
            if let Some(unknown) = ids
                .iter()
                .find(|l| !script.values.iter().any(|v| &v.id == *l))
            {
                return Err(ClassifyError::NotAHead {
                    path: PathBuf::from(&head.id),
                    reason: format!(
                        "its label `{unknown}` is not a value of script {script_id}; labels must be value ids or `none`"
                    ),
                });
            }
            (Values::Head, ids, head.id.clone())
        } else if script.values.is_empty() {
            (Values::None, Vec::new(), String::new())
        } else {
            let examples: Vec<(usize, &str, &str)> = script
                .values
                .iter()
                .enumerate()
                .flat_map(|(i, v)| {
                    v.examples.iter().flat_map(move |(l, es)| {
                        es.iter().map(move |e| (i, l.as_str(), e.as_str()))
                    })
                })
                .collect();
            let texts: Vec<&str> = examples.iter().map(|e| e.2).collect();
            let mut vectors = self.encoder.embed(&texts)?.into_iter();
            let mut per_value: Vec<ValueExamples> = script
                .values
                .iter()
                .map(|v| ValueExamples {
                    id: v.id.clone(),
                    examples: Vec::new(),
                })
                .collect();
            for (i, lang, _) in &examples {
                per_value[*i]
                    .examples
                    .push((lang.to_string(), vectors.next().unwrap_or_default()));
            }
            let in_script = |l: &String| script.languages.contains(l);
            let ordinary: Vec<(String, Embedding)> = self
                .background
                .iter()
                .filter(|(l, _)| in_script(l))
                .cloned()
                .chain(script_lines)
                .collect();
            let ordinary_texts = self
                .background_lines
                .iter()
                .filter(|(l, _)| in_script(l))
                .chain(script_texts.iter().copied());
            let prototypes = ValuePrototypes::new(&per_value, &ordinary, &self.center);
            for c in prototypes.calibration() {
                tracing::debug!(
                    "value {}: 0.5 at margin {:.3}; {} of its {} examples score 0.5 against the others",
                    c.id,
                    c.cut,
                    c.positives_shown,
                    c.positives.len()
                );
            }
            let ids = prototypes.ids().map(String::from).collect();
            (
                Values::Prototypes(prototypes),
                ids,
                prototypes_id(
                    &script_id,
                    examples
                        .iter()
                        .map(|&(i, l, t)| (script.values[i].id.as_str(), l, t)),
                    ordinary_texts,
                ),
            )
        };
        Ok(ScriptMeaning {
            step_vectors,
            values,
            value_ids,
            values_id,
        })
    }

    /// Tone and value of every agent utterance, and the agent's sentences embedded.
    pub fn classify(
        &mut self,
        transcript: &Transcript,
        script: &ScriptMeaning,
    ) -> Result<CallMeaning, ClassifyError> {
        let agent: Vec<usize> = transcript
            .utterances
            .iter()
            .enumerate()
            .filter(|(_, u)| {
                matches!(u.speaker, Speaker::Agent | Speaker::Unknown)
                    && u.text.chars().any(char::is_alphanumeric)
            })
            .map(|(i, _)| i)
            .collect();
        let pieces = align::pieces(transcript);
        // A one-sentence utterance is its own piece: embed each distinct text once.
        let mut texts: Vec<&str> = agent
            .iter()
            .map(|&i| transcript.utterances[i].text.as_str())
            .collect();
        let mut piece_index = Vec::with_capacity(pieces.len());
        for p in &pieces {
            let at = texts.iter().position(|t| t.trim() == p.text.trim());
            piece_index.push(at.unwrap_or_else(|| {
                texts.push(&p.text);
                texts.len() - 1
            }));
        }
        let vectors = self.encoder.embed(&texts)?;
        let utterance_vectors = &vectors[..agent.len()];
        let tones = self.tone.predict(utterance_vectors);
        // Every vector's value scores, in the script's value order: `vectors` holds the agent's
        // utterances first, then the sentences that are not whole utterances.
        let language = transcript.language.as_deref();
        let scored: Vec<Vec<f32>> = match (&script.values, &mut self.value_head) {
            (Values::Head, Some(head)) => {
                let columns: Vec<usize> = script
                    .value_ids
                    .iter()
                    .filter_map(|id| head.linear.labels.iter().position(|l| l == id))
                    .collect();
                head.predict(&vectors)
                    .iter()
                    .map(|row| columns.iter().map(|&c| row[c]).collect())
                    .collect()
            }
            (Values::Prototypes(protos), _) => {
                vectors.iter().map(|v| protos.scores(v, language)).collect()
            }
            _ => vec![Vec::new(); vectors.len()],
        };
        // A value often lives in one sentence of a longer turn ("I'm so sorry. Now, your policy
        // number?"): the turn shows it as much as its best sentence does. A sentence of a word or
        // two ("Okay.", "Muy bien.") says too little to be read alone; it counts within its turn.
        let value_rows: Vec<Vec<f32>> = agent
            .iter()
            .enumerate()
            .map(|(k, &u)| {
                let mut best = scored[k].clone();
                for (p, &at) in pieces.iter().zip(&piece_index) {
                    if p.utterance == u && p.words.1 - p.words.0 >= MIN_SENTENCE_WORDS {
                        best.iter_mut()
                            .zip(&scored[at])
                            .for_each(|(b, x)| *b = b.max(*x));
                    }
                }
                best
            })
            .collect();
        let mut utterances: Vec<Option<UtteranceMeaning>> = vec![None; transcript.utterances.len()];
        for (k, &i) in agent.iter().enumerate() {
            let best = super::train::argmax(&tones[k]);
            let values = &value_rows[k];
            let value = (!values.is_empty()).then(|| {
                let v = super::train::argmax(values);
                ValueScore {
                    id: script.value_ids[v].clone(),
                    score: values[v],
                }
            });
            utterances[i] = Some(UtteranceMeaning {
                tone: Tone {
                    label: self.tone.linear.labels[best].clone(),
                    p: tones[k][best],
                },
                value,
                value_scores: values.clone(),
            });
        }
        Ok(CallMeaning {
            utterances,
            piece_vectors: piece_index
                .iter()
                .map(|&k| centred(&vectors[k], &self.center))
                .collect(),
            pieces,
            models: MeaningModels {
                encoder: self.encoder_id(),
                tone_head: self.tone.id.clone(),
                values: script.values_id.clone(),
            },
            value_ids: script.value_ids.clone(),
        })
    }
}

/// Part of the values' id, and so of every stored result's key: raise it when the way values are
/// scored changes, so that stored nights are scored again rather than reused. 2: margin against
/// ordinary lines (tone data, the script's steps and forbidden phrases), prior-weighted Platt.
const VALUES_METHOD: u32 = 2;

/// `prototypes:<script>@<version>#<digest of method, examples and ordinary lines>#<digest>`: the digest covers the method, the value examples and the
/// ordinary lines, so that editing a script's examples without raising its version still changes
/// the key of the results they score.
fn prototypes_id<'a>(
    script_id: &str,
    examples: impl Iterator<Item = (&'a str, &'a str, &'a str)>,
    ordinary: impl Iterator<Item = &'a (String, String)>,
) -> String {
    let mut text = format!("values-method {VALUES_METHOD}\n");
    for (value, lang, example) in examples {
        text.push_str(&format!("example {value} {lang} {example}\n"));
    }
    for (lang, line) in ordinary {
        text.push_str(&format!("ordinary {lang} {line}\n"));
    }
    let digest = sha256_bytes(text.as_bytes());
    format!("prototypes:{script_id}#{}", &digest[..12])
}

/// The script's forbidden phrases as the encoder should read them, `(language, text)`, slots left
/// out as in `align::semantic_phrasings`.
fn forbidden_phrasings(script: &Script) -> Vec<(String, String)> {
    script
        .forbidden
        .iter()
        .flat_map(|f| {
            f.variants.iter().flat_map(|(l, ps)| {
                ps.iter()
                    .map(move |p| (l.clone(), guion_core::align::without_slots(p)))
            })
        })
        .collect()
}

/// Procedural (neutral) agent lines from guion's own tone data: `(language, text)`.
fn background_lines() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for data in TONE_DATA {
        let mut reader = csv::Reader::from_reader(data.as_bytes());
        let rows = reader
            .records()
            .flatten()
            .filter(|row| row.get(3) == Some("neutral") && row.get(4) == Some("train"));
        for row in rows.take(BACKGROUND_PER_LANGUAGE) {
            out.push((row[2].to_string(), row[1].to_string()));
        }
    }
    out
}

fn mean<'a>(vectors: impl Iterator<Item = &'a Embedding>) -> Embedding {
    let mut sum: Vec<f32> = Vec::new();
    let mut n = 0.0f32;
    for v in vectors {
        sum.resize(v.len(), 0.0);
        sum.iter_mut().zip(v).for_each(|(a, b)| *a += b);
        n += 1.0;
    }
    sum.iter_mut().for_each(|a| *a /= n.max(1.0));
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_values_id_changes_with_the_examples_and_the_ordinary_lines() {
        let ordinary = vec![("es".to_string(), "Un momento, por favor.".to_string())];
        let examples = [("empathy", "es", "lo siento mucho")];
        let id = |examples: &[(&'static str, &'static str, &'static str)],
                  ordinary: &[(String, String)]| {
            prototypes_id("acme@1", examples.iter().copied(), ordinary.iter())
        };
        let base = id(&examples, &ordinary);
        assert!(base.starts_with("prototypes:acme@1#"), "{base}");
        assert_eq!(base.len(), "prototypes:acme@1#".len() + 12);
        assert_eq!(base, id(&examples, &ordinary), "same input, same id");
        assert_ne!(base, id(&[("empathy", "es", "lo siento")], &ordinary));
        assert_ne!(base, id(&[("clarity", "es", "lo siento mucho")], &ordinary));
        assert_ne!(base, id(&examples, &[]));
    }

    #[test]
    fn the_background_has_procedural_lines_in_both_languages() {
        let lines = background_lines();
        for lang in ["es", "en"] {
            let n = lines.iter().filter(|(l, _)| l == lang).count();
            assert_eq!(n, BACKGROUND_PER_LANGUAGE, "{lang}");
        }
    }
}
