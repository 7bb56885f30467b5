//! One call through the stages: a recording is heard (`guion_speech::hear`) or a transcript file
//! read (`input`) into a `Transcript`; then classify → align → score → redact make it a
//! `CallRecord`. An `Analyser` holds one worker's models, loaded once, and analyses any number of
//! calls.

use guion_core::align::{AlignOptions, Aligner, Judged, Semantic};
use guion_core::call::{ChannelLayout, LanguageChoice};
use guion_core::key::{self, Determinants};
use guion_core::normalize::{self, Lang};
use guion_core::record::{AgentChannel, CallRecord, StageTimes};
use guion_core::redact::Redactor;
use guion_core::script::Script;
use guion_core::transcript::Transcript;
use guion_core::transcript::read::{CsvColumns, InputFormat};
use guion_meaning::{Classifier, ClassifierOptions, ClassifyError, ScriptMeaning};
use guion_speech::asr::AsrOptions;
use guion_speech::hear::{self, HearError, HearOptions, Listener};
use std::collections::BTreeMap;
use std::time::Instant;

#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error(transparent)]
    Hear(#[from] HearError),
    #[error(transparent)]
    Read(#[from] guion_core::transcript::read::ReadError),
    #[error("{file}: {source}")]
    Classify {
        file: String,
        source: guion_meaning::ClassifyError,
    },
    #[error("{file}: {reason}")]
    Input { file: String, reason: String },
    #[error("{file}: the judge: {source}")]
    Judge {
        file: String,
        source: guion_judge::JudgeError,
    },
}

/// What stops a worker from starting: a model that cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Classify(#[from] ClassifyError),
    #[error("the judge: {0}")]
    Judge(String),
}

/// How many of an unfound step's nearest sentences the judge reads: enough for a step said in
/// other words to be among them, few enough that a call costs seconds.
pub const JUDGE_SHORTLIST: usize = 3;

/// The customer channel's beam when only the agent is scored (`--customer-beam`): greedy.
pub const CUSTOMER_BEAM: usize = 1;

/// How a worker analyses calls.
#[derive(Debug, Clone)]
pub struct AnalyserOptions {
    /// Whisper model (manifest name or CTranslate2 directory); loaded on the first recording only.
    pub asr_model: String,
    pub asr: AsrOptions,
    /// Tone, values and steps by meaning; off = words only, no encoder.
    pub meaning: bool,
    pub classifier: ClassifierOptions,
    /// Hide PII in every text of the record.
    pub redact: bool,
    /// Give Whisper the script's names and key words as its initial prompt.
    pub script_prompt: bool,
    /// Whisper's beam for the customer's channel when only the agent is scored and the agent's
    /// side is given (see [`Analyser::customer_beam`]).
    pub customer_beam: usize,
    /// Ask the judge model about agent steps that neither words nor the encoder found (needs
    /// `meaning`).
    pub judge: bool,
}

impl Default for AnalyserOptions {
    fn default() -> Self {
        AnalyserOptions {
            asr_model: "base".into(),
            asr: AsrOptions::default(),
            meaning: true,
            classifier: ClassifierOptions::default(),
            redact: true,
            script_prompt: true,
            customer_beam: CUSTOMER_BEAM,
            judge: false,
        }
    }
}

/// One call to analyse.
#[derive(Debug, Clone, Default)]
pub struct CallInput {
    pub path: std::path::PathBuf,
    /// For recordings: a code, a list, or `auto` (among the script's languages); for transcripts that
    /// do not say: the language to assume.
    pub language: Option<String>,
    pub channels: Option<ChannelLayout>,
    pub format: Option<InputFormat>,
    pub columns: CsvColumns,
}

/// One worker's models and the scripts compiled for them (a mixed night has several; each call is
/// analysed against one).
pub struct Analyser {
    scripts: Vec<Compiled>,
    options: AnalyserOptions,
    listener: Option<Listener>,
    /// `speech_detector()`, settled once: it goes into every recording's key.
    speech_detector: &'static str,
    /// The encoder and heads; with a script's `prepared`, tone, values and steps by meaning are on.
    classifier: Option<Classifier>,
    /// The judge's model (`None` without `AnalyserOptions::judge`) and its process, started on the
    /// first call that needs it and again after it fails.
    judge: Option<Judge>,
    redactor: Option<Redactor>,
}

/// A script made ready once per worker: its aligner, Whisper's prompt from its words, and its
/// embeddings for the shared classifier.
struct Compiled {
    script: Script,
    aligner: Aligner,
    /// The script's words per language, for Whisper's initial prompt.
    prompts: BTreeMap<String, String>,
    /// The script embedded for the classifier, when `AnalyserOptions::meaning`.
    prepared: Option<ScriptMeaning>,
}

struct Judge {
    model: guion_models::ResolvedModel,
    /// The model's and the prompt's id, in every result's key.
    id: String,
    threads: usize,
    client: Option<guion_judge::JudgeClient>,
}

impl Analyser {
    /// Loads the encoder and heads now (a missing model should stop the night before it starts);
    /// Whisper waits for the first recording, since a night of chat logs never needs it.
    pub fn new(script: &Script, options: AnalyserOptions) -> Result<Analyser, LoadError> {
        Analyser::with_models(script, options, None, None)
    }

    /// As `new`, with several scripts sharing the worker's models; a call names its script by its
    /// index in `scripts` (`analyse_with`, `determinants`).
    pub fn for_scripts(
        scripts: &[Script],
        options: AnalyserOptions,
    ) -> Result<Analyser, LoadError> {
        Analyser::build(scripts, options, None, None)
    }

    /// As `new`, but with models the caller has already loaded, to take back with `into_models`: for
    /// a caller that analyses with several scripts or options in turn and should not load the
    /// encoder and Whisper again each time (the integration tests share one of each across the test
    /// binary). A `classifier` must have been loaded with `options.classifier`, a `listener` from
    /// `options.asr_model` with `options.asr`; neither is checked. What is not given is loaded as by
    /// `new`. With `options.meaning` off, a classifier given is kept, unused, for `into_models`.
    pub fn with_models(
        script: &Script,
        options: AnalyserOptions,
        classifier: Option<Classifier>,
        listener: Option<Listener>,
    ) -> Result<Analyser, LoadError> {
        Analyser::build(std::slice::from_ref(script), options, classifier, listener)
    }

    fn build(
        scripts: &[Script],
        options: AnalyserOptions,
        classifier: Option<Classifier>,
        listener: Option<Listener>,
    ) -> Result<Analyser, LoadError> {
        let mut classifier = match classifier {
            None if options.meaning => Some(Classifier::load(&options.classifier)?),
            given => given,
        };
        let mut compiled = Vec::with_capacity(scripts.len());
        for script in scripts {
            let prepared = match &mut classifier {
                Some(c) if options.meaning => Some(c.prepare(script)?),
                _ => None,
            };
            compiled.push(Compiled {
                script: script.clone(),
                aligner: Aligner::new(script, AlignOptions::default()),
                prompts: if options.script_prompt {
                    asr_prompts(script)
                } else {
                    BTreeMap::new()
                },
                prepared,
            });
        }
        let judge = if options.judge {
            Some(load_judge(&options)?)
        } else {
            None
        };
        Ok(Analyser {
            scripts: compiled,
            redactor: options.redact.then(Redactor::new),
            speech_detector: hear::speech_detector(),
            options,
            listener,
            classifier,
            judge,
        })
    }

    /// The models this analyser loaded or was given: `(classifier, listener)`, for the next one.
    pub fn into_models(self) -> (Option<Classifier>, Option<Listener>) {
        (self.classifier, self.listener)
    }

    /// What decides this worker's record of a call against its `script`-th script (the store's
    /// key, with the call's content).
    pub fn determinants(
        &self,
        script: usize,
        is_recording: bool,
        channels: Option<ChannelLayout>,
        language: Option<&str>,
    ) -> Determinants {
        let compiled = &self.scripts[script];
        Determinants {
            script_id: compiled.script.id.clone(),
            script_version: compiled.script.version.clone(),
            hearing: is_recording.then(|| key::Hearing {
                asr_model: self.options.asr_model.clone(),
                beam: self.options.asr.beam_size,
                customer_beam: self.customer_beam(script, channels),
                prompt: self.options.script_prompt,
                speech: self.speech_detector.to_string(),
            }),
            meaning: self
                .classifier
                .as_ref()
                .zip(compiled.prepared.as_ref())
                .map(|(c, prepared)| key::Meaning {
                    encoder: c.encoder_id(),
                    tone_head: c.tone_head_id().to_string(),
                    values: prepared.values_id().to_string(),
                    judge: self.judge.as_ref().map(|j| j.id.clone()),
                }),
            redact: self.options.redact,
            channels,
            language: language.map(String::from),
        }
    }

    /// The beam the customer's channel is decoded with, when it differs from the agent's: only
    /// when no step of the script is the customer's (their words decide no verdict) and the
    /// agent's side is given. A side guessed from the signal may be swapped once the transcript is
    /// matched to the script, and the agent's words must never have been decoded the cheap way.
    pub fn customer_beam(&self, script: usize, channels: Option<ChannelLayout>) -> Option<usize> {
        let agent_only = self.scripts[script]
            .script
            .steps
            .iter()
            .all(|s| s.role == guion_core::script::Role::Agent);
        let side_given = matches!(
            channels,
            Some(ChannelLayout::AgentLeft | ChannelLayout::AgentRight)
        );
        let beam = self.options.customer_beam.max(1);
        (agent_only && side_given && beam != self.options.asr.beam_size.max(1)).then_some(beam)
    }

    /// Analyses a call against the (first) script.
    pub fn analyse(&mut self, input: &CallInput) -> Result<(CallRecord, StageTimes), CallError> {
        self.analyse_with(0, input)
    }

    /// Analyses a call against the `script`-th script.
    pub fn analyse_with(
        &mut self,
        script: usize,
        input: &CallInput,
    ) -> Result<(CallRecord, StageTimes), CallError> {
        let compiled = &self.scripts[script];
        let file = input.path.display().to_string();
        let mut times = StageTimes::default();
        let started = Instant::now();
        let (mut transcript, mut agent, decode_s) =
            if guion_core::transcript::read::is_transcript_path(&input.path) {
                let mut t =
                    crate::input::read_transcript(&input.path, input.format, &input.columns)?;
                if t.language.is_none() {
                    t.language = input
                        .language
                        .clone()
                        .filter(|l| l != "auto")
                        .or_else(|| text_language(&t, &compiled.script));
                }
                (t, None, started.elapsed().as_secs_f64())
            } else {
                self.transcribe(script, input)?
            };
        let compiled = &self.scripts[script];
        times.decode_s = decode_s;
        times.asr_s = started.elapsed().as_secs_f64() - decode_s;
        if agent.as_ref().is_some_and(|a| a.decided_by == "default") {
            agent = Some(decide_agent_side(&compiled.aligner, &mut transcript));
        }

        if transcript.wrong_language.is_some() {
            // Not scored: steps, tone and values mean nothing in a language the script does not
            // cover. The record says which language was heard.
            let empty = guion_core::align::Alignment {
                steps: Vec::new(),
                forbidden: Vec::new(),
            };
            let record = CallRecord::build(&transcript, &compiled.script, empty, None, agent);
            return Ok((record, times));
        }
        let started = Instant::now();
        let meaning = match (&mut self.classifier, &compiled.prepared) {
            (Some(classifier), Some(prepared)) => {
                let m = classifier
                    .classify(&transcript, prepared)
                    .map_err(|source| CallError::Classify {
                        file: file.clone(),
                        source,
                    })?;
                Some((m, classifier.tone_labels().to_vec()))
            }
            _ => None,
        };
        times.classify_s = started.elapsed().as_secs_f64();

        let started = Instant::now();
        let alignment = match (&meaning, &compiled.prepared) {
            (Some((m, _)), Some(prepared)) => {
                let semantic = prepared.semantic(m);
                let first = compiled.aligner.align_with(&transcript, Some(&semantic));
                match &mut self.judge {
                    Some(judge) => {
                        let judge_started = Instant::now();
                        let shortlist = compiled.aligner.judge_shortlist(
                            &transcript,
                            &first,
                            &semantic,
                            JUDGE_SHORTLIST,
                        );
                        let judged =
                            ask_judge(judge, &compiled.script, &transcript, &semantic, &shortlist)
                                .map_err(|source| CallError::Judge {
                                    file: file.clone(),
                                    source,
                                })?;
                        times.judge_s = judge_started.elapsed().as_secs_f64();
                        if judged.is_empty() {
                            first
                        } else {
                            let semantic = Semantic {
                                judged: &judged,
                                ..semantic
                            };
                            compiled.aligner.align_with(&transcript, Some(&semantic))
                        }
                    }
                    None => first,
                }
            }
            _ => compiled.aligner.align(&transcript),
        };
        let mut record = CallRecord::build(
            &transcript,
            &compiled.script,
            alignment,
            meaning.as_ref().map(|(m, labels)| (m, labels.as_slice())),
            agent,
        );
        record.models.judge = self.judge.as_ref().map(|j| j.id.clone());
        if let Some(redactor) = &self.redactor {
            record.redact(redactor, &transcript);
        }
        times.align_s = started.elapsed().as_secs_f64() - times.judge_s;
        Ok((record, times))
    }

    fn transcribe(
        &mut self,
        script: usize,
        input: &CallInput,
    ) -> Result<(Transcript, Option<AgentChannel>, f64), CallError> {
        let file = input.path.display().to_string();
        let language = LanguageChoice::parse_or_auto(
            input.language.as_deref().unwrap_or("auto"),
            &self.scripts[script].script.languages,
        )
        .map_err(|reason| CallError::Input {
            file: file.clone(),
            reason,
        })?;
        if self.listener.is_none() {
            let model =
                guion_models::resolve(&self.options.asr_model).map_err(|e| CallError::Input {
                    file: file.clone(),
                    reason: e.to_string(),
                })?;
            let listener = Listener::load(&model, self.options.asr.clone()).map_err(|source| {
                HearError::Asr {
                    file: file.clone(),
                    source,
                }
            })?;
            self.listener = Some(listener);
        }
        let customer_beam = self.customer_beam(script, input.channels);
        let listener = self.listener.as_mut().expect("loaded just above");
        let options = HearOptions {
            layout: input.channels,
            language,
            prompts: self.scripts[script].prompts.clone(),
            customer_beam,
        };
        let (t, decode_s) = hear::transcribe_call_timed(listener, &input.path, &options)?;
        let stereo = t
            .layout
            .as_ref()
            .is_some_and(|l| l.kind == guion_core::transcript::LayoutKind::Stereo);
        let voices = t.utterances.iter().any(|u| u.voice.is_some());
        let agent = |channel, decided_by: &str| {
            Some(AgentChannel {
                channel,
                voice: None,
                decided_by: decided_by.into(),
                confidence: None,
            })
        };
        let agent = match input.channels {
            Some(ChannelLayout::AgentLeft) if stereo => agent(0, "layout"),
            Some(ChannelLayout::AgentRight) if stereo => agent(1, "layout"),
            // Decided against the script once the transcript is in ("default" until then).
            _ if stereo || voices => agent(0, "default"),
            _ => None,
        };
        Ok((t, agent, decode_s))
    }
}

/// The words of a script that Whisper should expect, per language: brand and product names (runs
/// of capitalised words inside a phrasing) and the longer words of the agent's steps, as a comma
/// list. Only steps: a forbidden phrase in the prompt would make Whisper readier to hear it.
pub fn asr_prompts(script: &Script) -> BTreeMap<String, String> {
    const MAX_TERMS: usize = 40;
    const MIN_LETTERS: usize = 7;
    let mut prompts = BTreeMap::new();
    for lang in &script.languages {
        let mut terms: Vec<String> = Vec::new();
        let add = |term: String, terms: &mut Vec<String>| {
            let key = normalize::normalize(&term, None);
            if !key.is_empty()
                && terms.len() < MAX_TERMS
                && !terms.iter().any(|t| normalize::normalize(t, None) == key)
            {
                terms.push(term);
            }
        };
        let phrasings = script
            .steps
            .iter()
            .filter(|s| s.role == guion_core::script::Role::Agent)
            .filter_map(|s| s.variants.get(lang))
            .flatten();
        // Names first: they are what Whisper gets wrong ("Acme Seguros" heard as "a que se muros").
        for phrasing in phrasings.clone() {
            let words: Vec<&str> = phrasing
                .split(|c: char| c.is_whitespace() || ",.;:¿?¡!\"()".contains(c))
                .filter(|w| !w.is_empty())
                .collect();
            let mut name: Vec<&str> = Vec::new();
            for (i, w) in words.iter().enumerate() {
                let capital =
                    !w.starts_with('{') && w.chars().next().is_some_and(char::is_uppercase);
                if capital && i > 0 {
                    name.push(w);
                } else if !name.is_empty() {
                    add(name.join(" "), &mut terms);
                    name.clear();
                }
            }
            if !name.is_empty() {
                add(name.join(" "), &mut terms);
            }
        }
        for phrasing in phrasings {
            for w in phrasing.split(|c: char| !c.is_alphanumeric() && c != '{' && c != '}') {
                if !w.starts_with('{')
                    && w.chars().filter(|c| c.is_alphabetic()).count() >= MIN_LETTERS
                {
                    add(w.to_lowercase(), &mut terms);
                }
            }
        }
        if !terms.is_empty() {
            prompts.insert(lang.clone(), terms.join(", ") + ".");
        }
    }
    prompts
}

/// A text transcript's language, when it does not say: the script's only language, or the one its
/// words read as.
fn text_language(t: &Transcript, script: &Script) -> Option<String> {
    if let [only] = script.languages.as_slice() {
        return Some(only.clone());
    }
    let text: Vec<&str> = t.utterances.iter().map(|u| u.text.as_str()).collect();
    let guessed = normalize::guess_language(&text.join(" "))?;
    script
        .languages
        .iter()
        .find(|l| Lang::from_code(l) == Some(guessed))
        .cloned()
}

/// Relabels the speakers so that the side (channel, or voice of a mono call) that best matches the
/// agent's steps is the agent's.
fn decide_agent_side(aligner: &Aligner, t: &mut Transcript) -> AgentChannel {
    let voices = t.utterances.iter().any(|u| u.voice.is_some());
    let channel = if voices {
        t.utterances.iter().find_map(|u| u.channel).unwrap_or(0)
    } else {
        0
    };
    let Some((side, confidence)) = aligner.agent_side(t) else {
        return AgentChannel {
            channel,
            voice: None,
            decided_by: "default".into(),
            confidence: None,
        };
    };
    t.set_agent_side(side);
    AgentChannel {
        channel: if voices { channel } else { side },
        voice: voices.then_some(side),
        decided_by: "script".into(),
        confidence: Some(confidence),
    }
}

/// The judge's model, found and named; its process starts with the first call that needs it.
fn load_judge(options: &AnalyserOptions) -> Result<Judge, LoadError> {
    if !options.meaning {
        return Err(LoadError::Judge(
            "it reads the sentences the encoder finds nearest a step: it cannot run with words \
             only (--no-meaning)"
                .into(),
        ));
    }
    let model = guion_models::resolve(guion_judge::MODEL_NAME).map_err(|e| {
        LoadError::Judge(format!(
            "{e} (scripts/setup installs it, or `guion models install judge`)"
        ))
    })?;
    guion_judge::server_path().map_err(|e| LoadError::Judge(e.to_string()))?;
    let prompt = guion_core::hash::sha256_bytes(
        format!(
            "{} {:?} {}",
            guion_judge::prompt::SYSTEM,
            guion_judge::prompt::EXAMPLES,
            guion_judge::prompt::user_message("{step}", "{sentence}")
        )
        .as_bytes(),
    );
    Ok(Judge {
        id: format!(
            "{} prompt={}",
            guion_core::hash::short_id(&model.name, &model.sha256),
            &prompt[..8]
        ),
        model,
        threads: options.asr.threads.max(1),
        client: None,
    })
}

/// The judge's answers on a call's shortlist, one request per step (the step's statement is the
/// prompt prefix the judge keeps cached). A failed exchange drops the process, so that the next
/// call starts a fresh one, and fails this call.
fn ask_judge(
    judge: &mut Judge,
    script: &Script,
    transcript: &Transcript,
    semantic: &Semantic,
    shortlist: &[(usize, Vec<usize>)],
) -> Result<Vec<Judged>, guion_judge::JudgeError> {
    let mut judged = Vec::new();
    if shortlist.is_empty() {
        return Ok(judged);
    }
    if judge.client.is_none() {
        judge.client = Some(guion_judge::JudgeClient::start(
            &judge.model.path,
            judge.threads,
        )?);
    }
    let client = judge.client.as_mut().expect("started just above");
    let language = transcript.language.as_deref();
    for (step, pieces) in shortlist {
        let statement = script.judge_statement(&script.steps[*step], language);
        let sentences: Vec<&str> = pieces
            .iter()
            .map(|&k| semantic.pieces[k].text.as_str())
            .collect();
        match client.judge(statement, &sentences) {
            Ok(p) => judged.extend(pieces.iter().zip(p).map(|(&piece, p)| Judged {
                step: *step,
                piece,
                p,
            })),
            Err(e) => {
                judge.client = None;
                return Err(e);
            }
        }
    }
    Ok(judged)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whisper_is_prompted_with_the_scripts_names_and_key_words_not_its_forbidden_phrases() {
        let toml = include_str!("../../../examples/scripts/acme-seguros.toml");
        let (script, _) = Script::parse(toml, "acme-seguros.toml").expect("the example parses");
        let prompts = asr_prompts(&script);
        let es = &prompts["es"];
        assert!(es.starts_with("Acme Seguros,"), "{es}");
        assert!(
            prompts["en"].starts_with("Acme Insurance,"),
            "{}",
            prompts["en"]
        );
        for f in &script.forbidden {
            for phrase in f.variants.values().flatten() {
                assert!(!es.contains(phrase.as_str()), "{phrase} in {es}");
            }
        }
        assert!(es.split(", ").count() <= 40);
    }
}
