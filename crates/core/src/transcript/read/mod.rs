//! Transcripts that already exist — chat exports, subtitles, other systems' ASR, guion's own output —
//! read into the same [`Transcript`] the speech path produces, so alignment cannot tell text from speech.
//!
//! [`parse`] is pure; [`read_transcript`] and [`read_abcd`] only add the file read. Speaker names are
//! matched, case-insensitively, against [`CsvColumns::agent`] and [`CsvColumns::customer`] in every
//! format, so one configuration says who is who. Every error names the file and, where the format has
//! lines, the line.

use super::{Speaker, Transcript, Utterance};
use crate::hash::sha256_bytes;
use serde_json::Value;
use std::path::Path;

/// How much of a file [`InputFormat::detect`] looks at: enough for a header line, or a cue number
/// and its timing.
pub const SNIFF_BYTES: usize = 1024;

/// `guion transcribe` writes `UNKNOWN:` for mono calls; reading its own output back must not fail.
const UNKNOWN_NAMES: [&str; 2] = ["unknown", "desconocido"];

const DEFAULT_SPEAKER: &str = "speaker|role|author";
const DEFAULT_TEXT: &str = "text|message|body";
const DEFAULT_START: &str = "timestamp|time|start";
const DEFAULT_END: &str = "end";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    Json,
    Vtt,
    Srt,
    Txt,
    Csv,
}

crate::named!(InputFormat { Json => "json", Vtt => "vtt", Srt => "srt", Txt => "txt", Csv => "csv" });

impl InputFormat {
    /// By extension, else by the first bytes (pass at least [`SNIFF_BYTES`] of them when the file has
    /// that many).
    pub fn detect(path: &Path, head: &[u8]) -> Option<InputFormat> {
        Self::from_extension(path).or_else(|| Self::sniff(head))
    }

    fn from_extension(path: &Path) -> Option<InputFormat> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match ext.as_str() {
            "json" => InputFormat::Json,
            "vtt" => InputFormat::Vtt,
            "srt" => InputFormat::Srt,
            "txt" => InputFormat::Txt,
            "csv" | "tsv" => InputFormat::Csv,
            _ => return None,
        })
    }

    fn sniff(head: &[u8]) -> Option<InputFormat> {
        let head = strip_bom(head);
        // The head may end inside a character; what precedes it is enough to judge.
        let text = match std::str::from_utf8(head) {
            Ok(text) => text,
            Err(e) => std::str::from_utf8(&head[..e.valid_up_to()]).unwrap_or_default(),
        };
        let text = text.trim_start();
        if text.starts_with("WEBVTT") {
            return Some(InputFormat::Vtt);
        }
        // guion's own txt lines open with `[mm:ss]` too, so `[` is JSON only before a value.
        let after_bracket = text.strip_prefix('[').map(str::trim_start);
        if text.starts_with('{')
            || after_bracket.is_some_and(|r| r.is_empty() || r.starts_with(['{', '[', '"', ']']))
        {
            return Some(InputFormat::Json);
        }
        let mut lines = text.lines();
        let first = lines.next()?.trim();
        if !first.is_empty()
            && first.bytes().all(|b| b.is_ascii_digit())
            && lines.next().is_some_and(|l| l.contains("-->"))
        {
            return Some(InputFormat::Srt);
        }
        let defaults = CsvColumns::default();
        let header: Vec<String> = first
            .split(sniff_delimiter(first) as char)
            .map(|h| h.trim().trim_matches('"').to_lowercase())
            .collect();
        let has = |spec: &str| spec.split('|').any(|name| header.iter().any(|h| h == name));
        if header.len() > 1 && has(DEFAULT_SPEAKER) && has(DEFAULT_TEXT) {
            return Some(InputFormat::Csv);
        }
        let (_, rest) = leading_time(first).ok()?;
        txt_label(rest, &defaults).map(|_| InputFormat::Txt)
    }
}

/// Where a CSV keeps what, and which speaker names mean agent or customer (the name lists apply to every
/// format). A column may be given as alternatives, `a|b|c`: the first the header has is used. Header
/// names match case-insensitively.
#[derive(Debug, Clone)]
pub struct CsvColumns {
    pub speaker: String,
    pub text: String,
    /// Optional columns: the defaults are used when the header has them; a column named otherwise must
    /// be there.
    pub start: Option<String>,
    pub end: Option<String>,
    pub agent: Vec<String>,
    pub customer: Vec<String>,
    /// `None`: whichever of `,` `;` tab the header line holds most of.
    pub delimiter: Option<u8>,
}

impl Default for CsvColumns {
    fn default() -> Self {
        let names = |names: &[&str]| names.iter().map(|n| n.to_string()).collect();
        CsvColumns {
            speaker: DEFAULT_SPEAKER.into(),
            text: DEFAULT_TEXT.into(),
            start: Some(DEFAULT_START.into()),
            end: Some(DEFAULT_END.into()),
            agent: names(&["agent", "agente", "operator", "asesor", "rep"]),
            customer: names(&["customer", "cliente", "client", "user", "usuario", "caller"]),
            delimiter: None,
        }
    }
}

impl CsvColumns {
    /// `None` when the name is in no list: each format decides whether that is an error.
    fn speaker_of(&self, name: &str) -> Option<Speaker> {
        let name = name.trim().to_lowercase();
        let is = |n: &str| n.to_lowercase() == name;
        if self.agent.iter().any(|n| is(n)) {
            Some(Speaker::Agent)
        } else if self.customer.iter().any(|n| is(n)) {
            Some(Speaker::Customer)
        } else if UNKNOWN_NAMES.into_iter().any(is) {
            Some(Speaker::Unknown)
        } else {
            None
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{file}: {source}")]
    Io {
        file: String,
        source: std::io::Error,
    },
    #[error("{file}: the file is empty")]
    Empty { file: String },
    #[error("{file}:{line}: not UTF-8 text{hint}")]
    NotUtf8 {
        file: String,
        line: usize,
        hint: &'static str,
    },
    #[error(
        "{file}: cannot tell the transcript format from the name or the first bytes; give it (json, vtt, srt, txt or csv)"
    )]
    UnknownFormat { file: String },
    #[error("{file}:{line}:{column}: {message}")]
    Json {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    /// JSON that parses but is not laid out as expected; `message` says where in it.
    #[error("{file}: {message}")]
    Shape { file: String, message: String },
    #[error("{file}:{line}: {message}")]
    Syntax {
        file: String,
        line: usize,
        message: String,
    },
    #[error("{file}:{line}: bad cue timing '{timing}': {reason}")]
    BadTiming {
        file: String,
        line: usize,
        timing: String,
        reason: &'static str,
    },
    #[error(
        "{file}:{line}: bad time '{value}'{}: expected seconds, mm:ss, hh:mm:ss or a date-time",
        in_column(.column)
    )]
    BadTime {
        file: String,
        line: usize,
        column: Option<String>,
        value: String,
    },
    #[error(
        "{file}:{line}: unknown speaker '{value}'{}: not among the agent or customer names",
        in_column(.column)
    )]
    UnknownSpeaker {
        file: String,
        line: usize,
        column: Option<String>,
        value: String,
    },
    #[error("{file}:1: the header has no {role} column (looked for {wanted}; it has {found})")]
    NoColumn {
        file: String,
        role: &'static str,
        wanted: String,
        found: String,
    },
    #[error("{file}:{line}: column '{column}' is missing")]
    MissingField {
        file: String,
        line: usize,
        column: String,
    },
}

fn in_column(column: &Option<String>) -> String {
    column
        .as_ref()
        .map_or_else(String::new, |c| format!(" in column '{c}'"))
}

/// Reads one call. The format comes from `format`, else from the name, else from the first bytes.
pub fn read_transcript(
    path: &Path,
    format: Option<InputFormat>,
    csv: &CsvColumns,
) -> Result<Transcript, ReadError> {
    let (source, bytes) = read_file(path)?;
    let format = format
        .or_else(|| InputFormat::detect(path, &bytes[..bytes.len().min(SNIFF_BYTES)]))
        .ok_or_else(|| ReadError::UnknownFormat {
            file: source.clone(),
        })?;
    parse(&bytes, &source, format, csv)
}

fn read_file(path: &Path) -> Result<(String, Vec<u8>), ReadError> {
    let source = path.display().to_string();
    match std::fs::read(path) {
        Ok(bytes) => Ok((source, bytes)),
        Err(e) => Err(ReadError::Io {
            file: source,
            source: e,
        }),
    }
}

/// Parses one call from `bytes`; `source` names it in the transcript and in errors.
///
/// guion's own JSON comes back as written: it already names its audio, that audio's sha256 and the
/// model, and replacing them with the JSON file's would lose what produced it.
pub fn parse(
    bytes: &[u8],
    source: &str,
    format: InputFormat,
    csv: &CsvColumns,
) -> Result<Transcript, ReadError> {
    let cx = Cx {
        file: source,
        cols: csv,
    };
    let text = cx.decode(bytes)?;
    let utterances = match format {
        InputFormat::Json => return parse_json(text, bytes, &cx),
        InputFormat::Vtt => parse_vtt(text, &cx)?,
        InputFormat::Srt => parse_srt(text, &cx)?,
        InputFormat::Txt => parse_txt(text, &cx)?,
        InputFormat::Csv => parse_csv(text, &cx)?,
    };
    Ok(transcript(source, bytes, None, utterances))
}

/// Every dialogue of an ABCD file (which holds many), with its `convo_id`.
pub fn read_abcd(path: &Path) -> Result<Vec<(String, Transcript)>, ReadError> {
    let (source, bytes) = read_file(path)?;
    parse_abcd(&bytes, &source)
}

/// [`read_abcd`] without the file read. Each transcript's `source` is the file and its `sha256` the
/// file's: the dialogue is told apart by the id returned beside it.
pub fn parse_abcd(bytes: &[u8], source: &str) -> Result<Vec<(String, Transcript)>, ReadError> {
    let cols = CsvColumns::default();
    let cx = Cx {
        file: source,
        cols: &cols,
    };
    let text = cx.decode(bytes)?;
    let value: Value = serde_json::from_str(text).map_err(|e| cx.json(e))?;
    let dialogues = abcd_dialogues(&value).ok_or_else(|| {
        cx.shape("not ABCD dialogues: expected conversations with an \"original\" list of [speaker, text] turns")
    })?;
    dialogues
        .into_iter()
        .map(|(id, convo)| {
            let utterances = abcd_turns(&id, convo, &cx)?;
            Ok((id, transcript(source, bytes, None, utterances)))
        })
        .collect()
}

/// `.json .vtt .srt .txt .csv` (and `.tsv`), whatever the case: the inputs [`read_transcript`] takes
/// rather than audio.
pub fn is_transcript_path(path: &Path) -> bool {
    InputFormat::from_extension(path).is_some()
}

/// The file being read and the speaker names: what every parser and error needs.
struct Cx<'a> {
    file: &'a str,
    cols: &'a CsvColumns,
}

impl Cx<'_> {
    fn decode<'b>(&self, bytes: &'b [u8]) -> Result<&'b str, ReadError> {
        if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
            return Err(ReadError::NotUtf8 {
                file: self.file.into(),
                line: 1,
                hint: " (it is UTF-16: save it as UTF-8)",
            });
        }
        let bytes = strip_bom(bytes);
        let text = std::str::from_utf8(bytes).map_err(|e| ReadError::NotUtf8 {
            file: self.file.into(),
            line: 1 + bytes[..e.valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count(),
            hint: "",
        })?;
        if text.trim().is_empty() {
            return Err(ReadError::Empty {
                file: self.file.into(),
            });
        }
        Ok(text)
    }

    fn syntax(&self, line: usize, message: impl Into<String>) -> ReadError {
        ReadError::Syntax {
            file: self.file.into(),
            line,
            message: message.into(),
        }
    }

    fn shape(&self, message: impl Into<String>) -> ReadError {
        ReadError::Shape {
            file: self.file.into(),
            message: message.into(),
        }
    }

    fn bad_timing(&self, line: usize, timing: &str, reason: &'static str) -> ReadError {
        ReadError::BadTiming {
            file: self.file.into(),
            line,
            timing: timing.trim().into(),
            reason,
        }
    }

    fn bad_time(&self, line: usize, column: Option<&str>, value: &str) -> ReadError {
        ReadError::BadTime {
            file: self.file.into(),
            line,
            column: column.map(Into::into),
            value: value.into(),
        }
    }

    fn json(&self, e: serde_json::Error) -> ReadError {
        // serde_json appends the position to its message; it goes in front here, like every other error.
        let suffix = format!(" at line {} column {}", e.line(), e.column());
        let message = e.to_string();
        ReadError::Json {
            file: self.file.into(),
            line: e.line(),
            column: e.column(),
            message: message.strip_suffix(&suffix).unwrap_or(&message).into(),
        }
    }
}

fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}

fn transcript(
    source: &str,
    bytes: &[u8],
    language: Option<String>,
    utterances: Vec<Utterance>,
) -> Transcript {
    // The latest time rather than the last utterance's: sources are not always in time order.
    let duration_s = utterances
        .iter()
        .filter_map(|u| u.end.or(u.start))
        .reduce(f64::max);
    Transcript {
        layout: None,
        wrong_language: None,
        turns: Vec::new(),
        source: source.into(),
        sha256: sha256_bytes(bytes),
        duration_s,
        language,
        model: None,
        utterances,
    }
}

/// `None` when nothing is left of the text once whitespace is collapsed.
fn utterance(
    speaker: Speaker,
    start: Option<f64>,
    end: Option<f64>,
    text: &str,
) -> Option<Utterance> {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    (!text.is_empty()).then_some(Utterance {
        voice: None,
        language: None,
        speaker,
        channel: None,
        start,
        end,
        text,
        words: Vec::new(),
    })
}

/// At most 60 characters of a line, for error messages.
fn excerpt(line: &str) -> String {
    let line = line.trim();
    match line.char_indices().nth(60) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line.into(),
    }
}

// ---------------------------------------------------------------------------------------------- JSON

fn parse_json(text: &str, bytes: &[u8], cx: &Cx) -> Result<Transcript, ReadError> {
    let value: Value = serde_json::from_str(text).map_err(|e| cx.json(e))?;
    if value.get("utterances").is_some() {
        // Parsed again as the type so that a wrong field is reported at its line and column.
        return serde_json::from_str(text).map_err(|e| cx.json(e));
    }
    if let Some(conversations) = azure_conversations(&value) {
        let [conversation] = conversations.as_slice() else {
            return Err(cx.shape(format!(
                "holds {} Azure conversations; guion reads one call per file",
                conversations.len()
            )));
        };
        let (language, utterances) = azure(conversation, cx)?;
        return Ok(transcript(cx.file, bytes, language, utterances));
    }
    if let Some(dialogues) = abcd_dialogues(&value) {
        let [(id, convo)] = dialogues.as_slice() else {
            return Err(cx.shape(format!(
                "holds {} ABCD dialogues; read them with read_abcd",
                dialogues.len()
            )));
        };
        return Ok(transcript(cx.file, bytes, None, abcd_turns(id, convo, cx)?));
    }
    Err(cx.shape(
        "not a transcript guion knows: expected guion's own (\"utterances\"), an Azure conversation \
         (\"conversationItems\") or ABCD dialogues (\"original\")",
    ))
}

/// Azure AI Language conversation analysis input: the whole request, its `conversations`, or one
/// conversation.
fn azure_conversations(value: &Value) -> Option<Vec<&Value>> {
    if value.get("conversationItems").is_some() {
        return Some(vec![value]);
    }
    let list = value
        .get("analysisInput")
        .unwrap_or(value)
        .get("conversations")?
        .as_array()?;
    Some(list.iter().collect())
}

/// Items carry `role` (agent, customer, generic) in some versions and only `participantId` in others;
/// word timings, when present, are in 100 ns ticks.
fn azure(conversation: &Value, cx: &Cx) -> Result<(Option<String>, Vec<Utterance>), ReadError> {
    let items = conversation
        .get("conversationItems")
        .and_then(Value::as_array)
        .ok_or_else(|| cx.shape("the conversation has no \"conversationItems\" list"))?;
    let mut utterances = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let text = item
            .get("text")
            .and_then(Value::as_str)
            .ok_or_else(|| cx.shape(format!("conversationItems[{i}] has no \"text\" string")))?;
        let named = |key: &str| {
            item.get(key)
                .and_then(Value::as_str)
                .and_then(|name| cx.cols.speaker_of(name))
                .filter(|&s| s != Speaker::Unknown)
        };
        let speaker = named("role")
            .or_else(|| named("participantId"))
            .unwrap_or(Speaker::Unknown);
        let (start, end) = azure_times(item);
        utterances.extend(utterance(speaker, start, end, text));
    }
    let language = conversation
        .get("language")
        .and_then(Value::as_str)
        .map(String::from);
    Ok((language, utterances))
}

fn azure_times(item: &Value) -> (Option<f64>, Option<f64>) {
    const TICKS_PER_S: f64 = 1e7;
    let Some(words) = item.get("wordLevelTimings").and_then(Value::as_array) else {
        return (None, None);
    };
    let spans = words.iter().filter_map(|w| {
        let offset = w.get("offset")?.as_f64()?;
        let duration = w.get("duration").and_then(Value::as_f64).unwrap_or(0.0);
        Some((offset / TICKS_PER_S, (offset + duration) / TICKS_PER_S))
    });
    spans.fold((None, None), |(s, e), (ws, we)| {
        (
            Some(s.map_or(ws, |s: f64| s.min(ws))),
            Some(e.map_or(we, |e: f64| e.max(we))),
        )
    })
}

fn is_abcd_dialogue(value: &Value) -> bool {
    value.get("original").is_some_and(Value::is_array)
}

/// ABCD ships a list of conversations, or `{"train": [...], "dev": [...], "test": [...]}`; a single
/// conversation object or one keyed by id is taken as well.
fn abcd_dialogues(value: &Value) -> Option<Vec<(String, &Value)>> {
    let found = match value {
        Value::Object(_) if is_abcd_dialogue(value) => vec![(abcd_id(value, "0".into()), value)],
        Value::Array(items) => abcd_list(items)?,
        Value::Object(map) => {
            let mut found = Vec::new();
            for (key, v) in map {
                match v {
                    Value::Array(items) => found.extend(abcd_list(items)?),
                    _ if is_abcd_dialogue(v) => found.push((abcd_id(v, key.clone()), v)),
                    _ => return None,
                }
            }
            found
        }
        _ => return None,
    };
    (!found.is_empty()).then_some(found)
}

fn abcd_list(items: &[Value]) -> Option<Vec<(String, &Value)>> {
    items
        .iter()
        .enumerate()
        .map(|(i, c)| is_abcd_dialogue(c).then(|| (abcd_id(c, i.to_string()), c)))
        .collect()
}

fn abcd_id(convo: &Value, fallback: String) -> String {
    match convo.get("convo_id") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => fallback,
    }
}

/// `action` turns are the agent's clicks in the ABCD tool, not speech.
fn abcd_turns(id: &str, convo: &Value, cx: &Cx) -> Result<Vec<Utterance>, ReadError> {
    let turns = convo
        .get("original")
        .and_then(Value::as_array)
        .ok_or_else(|| cx.shape(format!("dialogue {id} has no \"original\" list")))?;
    let mut utterances = Vec::new();
    for (i, turn) in turns.iter().enumerate() {
        let pair = turn.as_array().map(Vec::as_slice);
        let Some([Value::String(who), Value::String(text)]) = pair else {
            return Err(cx.shape(format!("dialogue {id}, turn {i}: expected [speaker, text]")));
        };
        let speaker = match who.as_str() {
            "action" => continue,
            "agent" => Speaker::Agent,
            "customer" => Speaker::Customer,
            _ => Speaker::Unknown,
        };
        utterances.extend(utterance(speaker, None, None, text));
    }
    Ok(utterances)
}

// ------------------------------------------------------------------------------------------ VTT, SRT

/// A line and its 1-based number.
type Numbered<'a> = (usize, &'a str);

/// Non-blank lines grouped into blank-line-separated blocks.
fn blocks(text: &str) -> Vec<Vec<Numbered<'_>>> {
    let mut out = Vec::new();
    let mut block = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            if !block.is_empty() {
                out.push(std::mem::take(&mut block));
            }
        } else {
            block.push((i + 1, line));
        }
    }
    if !block.is_empty() {
        out.push(block);
    }
    out
}

/// The cue's timing line and what follows it. A block whose timing line is missing or unreadable is an
/// error rather than skipped: its text would otherwise vanish from the call unseen.
fn cue<'a, 'b>(
    block: &'b [Numbered<'a>],
    cx: &Cx,
) -> Result<(f64, f64, &'b [Numbered<'a>]), ReadError> {
    let looks_timed = |line: &str| {
        let line = line.trim_start();
        line.starts_with(|c: char| c.is_ascii_digit()) && line.contains(':')
    };
    // An identifier may come first; it is any line without "-->", numbers included.
    let at = match block {
        [(_, first), ..] if first.contains("-->") => 0,
        [_, (_, second), ..] if second.contains("-->") => 1,
        [(n, first), ..] if looks_timed(first) => {
            return Err(cx.bad_timing(*n, first, "expected 'start --> end'"));
        }
        [_, (n, second), ..] if looks_timed(second) => {
            return Err(cx.bad_timing(*n, second, "expected 'start --> end'"));
        }
        [(n, first), ..] => {
            return Err(cx.syntax(
                *n,
                format!(
                    "expected a cue timing 'start --> end', found '{}'",
                    excerpt(first)
                ),
            ));
        }
        [] => return Err(cx.syntax(0, "empty cue")),
    };
    let (n, line) = block[at];
    let (left, right) = line.split_once("-->").unwrap_or((line, ""));
    // Cue settings (VTT `align:start`, SRT `X1:…`) may follow the end time.
    let end = right.split_whitespace().next().unwrap_or_default();
    let (Some(start), Some(end)) = (parse_clock(left.trim()), parse_clock(end)) else {
        return Err(cx.bad_timing(n, line, "expected [hh:]mm:ss.ttt times"));
    };
    if end < start {
        return Err(cx.bad_timing(n, line, "it ends before it starts"));
    }
    Ok((start, end, &block[at + 1..]))
}

fn parse_vtt(text: &str, cx: &Cx) -> Result<Vec<Utterance>, ReadError> {
    let first = text.lines().next().unwrap_or_default();
    let signature = first.strip_prefix("WEBVTT");
    if !signature.is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t'])) {
        return Err(cx.syntax(
            1,
            format!(
                "expected 'WEBVTT' on the first line, found '{}'",
                excerpt(first)
            ),
        ));
    }
    let blocks = blocks(text);
    let Some((header, cues)) = blocks.split_first() else {
        return Ok(Vec::new());
    };
    // The header runs to the first blank line; files that start their first cue right under it get
    // that cue back.
    let first_cue = header
        .iter()
        .position(|(_, l)| l.contains("-->"))
        .map(|at| &header[at..]);
    let mut utterances = Vec::new();
    for block in first_cue.into_iter().chain(cues.iter().map(Vec::as_slice)) {
        let Some(&(_, first)) = block.first() else {
            continue;
        };
        let keyword = first.split([' ', '\t']).next().unwrap_or_default();
        if matches!(keyword, "NOTE" | "STYLE" | "REGION") && !first.contains("-->") {
            continue;
        }
        let (start, end, payload) = cue(block, cx)?;
        let payload: Vec<&str> = payload.iter().map(|&(_, l)| l).collect();
        for (voice, text) in vtt_voices(&payload.join("\n"), cx.cols) {
            let turns = match voice {
                Some(speaker) => vec![(speaker, text)],
                None => label_turns(text.lines(), cx.cols, true),
            };
            for (speaker, text) in turns {
                let text = decode_entities(&text);
                utterances.extend(utterance(speaker, Some(start), Some(end), &text));
            }
        }
    }
    Ok(utterances)
}

/// The cue text split at its voice tags, every tag removed and entities still encoded (decoding first
/// would turn `&lt;` into a tag). `None` for text before any voice tag.
fn vtt_voices(payload: &str, cols: &CsvColumns) -> Vec<(Option<Speaker>, String)> {
    let mut turns = Vec::new();
    let mut voice = None;
    let mut text = String::new();
    let mut rest = payload;
    while let Some(open) = rest.find('<') {
        text.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('>') else {
            // Unclosed: not markup a renderer would hide, so it stays text.
            text.push_str(&rest[open..]);
            rest = "";
            break;
        };
        if let Some(name) = voice_name(&rest[open + 1..open + close]) {
            if voice.is_some() || !text.trim().is_empty() {
                turns.push((voice, std::mem::take(&mut text)));
            } else {
                text.clear();
            }
            voice = Some(cols.speaker_of(name).unwrap_or(Speaker::Unknown));
        }
        rest = &rest[open + close + 1..];
    }
    text.push_str(rest);
    turns.push((voice, text));
    turns
}

/// The annotation of a voice tag, `v`, `v Name` or `v.class.class Name`.
fn voice_name(tag: &str) -> Option<&str> {
    let rest = tag.strip_prefix('v')?;
    match rest.chars().next() {
        None => Some(""),
        Some('.') => Some(
            rest.split_once([' ', '\t'])
                .map_or("", |(_, name)| name.trim()),
        ),
        Some(c) if c.is_whitespace() => Some(rest.trim()),
        _ => None,
    }
}

fn parse_srt(text: &str, cx: &Cx) -> Result<Vec<Utterance>, ReadError> {
    let mut utterances = Vec::new();
    for block in &blocks(text) {
        let (start, end, payload) = cue(block, cx)?;
        let lines = payload.iter().map(|&(_, l)| strip_srt_markup(l));
        for (speaker, text) in label_turns(lines, cx.cols, false) {
            let text = decode_entities(&text);
            utterances.extend(utterance(speaker, Some(start), Some(end), &text));
        }
    }
    Ok(utterances)
}

/// Cue lines to turns: a line that opens with a speaker label (`Name:`, `[Name]`) or a dialogue dash
/// starts one, any other line continues the last. `known_only` keeps names outside the lists as text
/// (VTT, whose own speaker markup is the voice tag).
fn label_turns<S: AsRef<str>>(
    lines: impl Iterator<Item = S>,
    cols: &CsvColumns,
    known_only: bool,
) -> Vec<(Speaker, String)> {
    let mut turns: Vec<(Speaker, String)> = Vec::new();
    for line in lines {
        let line = line.as_ref().trim();
        match (line_label(line, cols, known_only), turns.last_mut()) {
            (Some((speaker, rest)), _) => turns.push((speaker, rest.into())),
            (None, Some((_, text))) => {
                text.push(' ');
                text.push_str(line);
            }
            (None, None) => turns.push((Speaker::Unknown, line.into())),
        }
    }
    turns
}

fn line_label<'a>(
    line: &'a str,
    cols: &CsvColumns,
    known_only: bool,
) -> Option<(Speaker, &'a str)> {
    if let Some(rest) = ["- ", "– ", "— "].iter().find_map(|d| line.strip_prefix(d)) {
        return Some(line_label(rest, cols, known_only).unwrap_or((Speaker::Unknown, rest)));
    }
    let (name, rest) = match line.strip_prefix('[') {
        Some(after) => after.split_once(']')?,
        None => {
            let (name, rest) = line.split_once(':')?;
            // `http://…`, `10:30`: a label's colon is followed by a space.
            if !(rest.is_empty() || rest.starts_with(char::is_whitespace)) {
                return None;
            }
            (name, rest)
        }
    };
    match cols.speaker_of(name) {
        Some(speaker) => Some((speaker, rest)),
        None if !known_only && looks_like_name(name.trim()) => Some((Speaker::Unknown, rest)),
        None => None,
    }
}

/// `Ana`, `Sr. Martín`, `JUAN PABLO`: up to three words, capitalised, letters only. Narrow on purpose:
/// what passes is cut from the text.
fn looks_like_name(name: &str) -> bool {
    name.chars().next().is_some_and(char::is_uppercase)
        && name.chars().count() <= 32
        && name.split_whitespace().count() <= 3
        && name
            .chars()
            .all(|c| c.is_alphabetic() || c == ' ' || c == '.' || c == '\'' || c == '-')
}

/// SRT has no markup of its own, but players honour `<b>`, `<i>`, `<u>`, `<s>`, `<font …>` and ASS
/// `{\an8}`; anything else in angle brackets is text (guion's own SRT writes text unescaped).
fn strip_srt_markup(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(i) = rest.find(['<', '{']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let (is_tag, close) = if let Some(inside) = tail.strip_prefix('<') {
            let inside = inside.trim_start_matches('/');
            let name_len = inside
                .find(|c: char| !c.is_ascii_alphabetic())
                .unwrap_or(inside.len());
            let name = inside[..name_len].to_ascii_lowercase();
            (matches!(name.as_str(), "b" | "i" | "u" | "s" | "font"), '>')
        } else {
            (
                tail.strip_prefix('{').is_some_and(|t| t.starts_with('\\')),
                '}',
            )
        };
        match tail.find(close) {
            Some(j) if is_tag => rest = &tail[j + 1..],
            _ => {
                out.push_str(&tail[..1]);
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The character references a cue may hold; an unknown one stays as written.
fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let tail = &rest[amp + 1..];
        // The longest reference taken is `&#x10FFFF;`; looking further would scan the whole text.
        let decoded = tail
            .char_indices()
            .take(10)
            .find(|&(_, c)| c == ';')
            .and_then(|(semi, _)| Some((entity(&tail[..semi])?, semi)));
        match decoded {
            Some((c, semi)) => {
                out.extend(c);
                rest = &tail[semi + 1..];
            }
            None => {
                out.push('&');
                rest = tail;
            }
        }
    }
    out.push_str(rest);
    out
}

/// `None`: not a reference; `Some(None)`: one that renders as nothing (direction marks).
fn entity(name: &str) -> Option<Option<char>> {
    let numeric = |digits: &str, radix| {
        u32::from_str_radix(digits, radix)
            .ok()
            .and_then(char::from_u32)
    };
    Some(match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        "nbsp" => Some(' '),
        "lrm" | "rlm" => None,
        _ => {
            let number = name.strip_prefix('#')?;
            let c = match number.strip_prefix(['x', 'X']) {
                Some(hex) => numeric(hex, 16),
                None => numeric(number, 10),
            };
            Some(c?)
        }
    })
}

// ------------------------------------------------------------------------------------------------ TXT

fn parse_txt(text: &str, cx: &Cx) -> Result<Vec<Utterance>, ReadError> {
    let mut turns: Vec<(Speaker, Option<f64>, String)> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        let (start, rest) = leading_time(line).map_err(|bad| cx.bad_time(n, None, bad))?;
        match (txt_label(rest, cx.cols), turns.last_mut()) {
            (Some((speaker, body)), _) => turns.push((speaker, start, body.into())),
            // A time marks a new utterance, so it must say whose.
            (None, Some((_, _, text))) if start.is_none() => {
                text.push(' ');
                text.push_str(rest);
            }
            (None, _) => {
                return Err(cx.syntax(
                    n,
                    format!(
                        "expected 'AGENT:' or 'CUSTOMER:' (or another name from the speaker lists), found '{}'",
                        excerpt(line)
                    ),
                ));
            }
        }
    }
    // A line's end is the next one's start: all the format says about it.
    let starts: Vec<Option<f64>> = turns.iter().map(|t| t.1).skip(1).chain([None]).collect();
    Ok(turns
        .into_iter()
        .zip(starts)
        .filter_map(|((speaker, start, text), next)| {
            let end = next.filter(|&next| start.is_none_or(|start| next >= start));
            utterance(speaker, start, end, &text)
        })
        .collect())
}

/// An optional `[mm:ss]` / `[hh:mm:ss]` prefix. `Err` holds a bracket that tries to be a time and fails,
/// so `[12:3x]` is reported rather than read as text.
fn leading_time(line: &str) -> Result<(Option<f64>, &str), &str> {
    let Some((inside, rest)) = line.strip_prefix('[').and_then(|l| l.split_once(']')) else {
        return Ok((None, line));
    };
    let time_like = inside.contains(':')
        && inside.trim().starts_with(|c: char| c.is_ascii_digit())
        && inside
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ":., ".contains(c));
    if !time_like {
        return Ok((None, line));
    }
    match parse_clock(inside.trim()) {
        Some(t) => Ok((Some(t), rest.trim_start())),
        None => Err(inside),
    }
}

/// `NAME: text` where the name is in the lists.
fn txt_label<'a>(line: &'a str, cols: &CsvColumns) -> Option<(Speaker, &'a str)> {
    let (name, rest) = line.split_once(':')?;
    Some((cols.speaker_of(name)?, rest))
}

// ------------------------------------------------------------------------------------------------ CSV

enum Stamp {
    /// Seconds from the start of the call.
    Offset(f64),
    /// Seconds since 1970, or since whatever the file's zone-less date-times count from.
    Absolute(f64),
}

struct Row {
    line: usize,
    speaker: Speaker,
    start: Option<Stamp>,
    end: Option<Stamp>,
    text: String,
}

fn parse_csv(text: &str, cx: &Cx) -> Result<Vec<Utterance>, ReadError> {
    let cols = cx.cols;
    let delimiter = cols
        .delimiter
        .unwrap_or_else(|| sniff_delimiter(text.lines().next().unwrap_or_default()));
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(text.as_bytes());
    let csv_error = |e: csv::Error| {
        let line = e.position().map_or(0, |p| p.line() as usize);
        cx.syntax(line, e.to_string())
    };
    let header: Vec<String> = reader
        .headers()
        .map_err(csv_error)?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let find = |spec: &str| {
        spec.split('|').map(str::trim).find_map(|want| {
            header
                .iter()
                .position(|h| h.to_lowercase() == want.to_lowercase())
        })
    };
    let no_column = |role: &'static str, spec: &str| {
        let names: Vec<String> = spec.split('|').map(|n| format!("'{}'", n.trim())).collect();
        ReadError::NoColumn {
            file: cx.file.into(),
            role,
            wanted: names.join(" or "),
            found: header
                .iter()
                .map(|h| format!("'{h}'"))
                .collect::<Vec<_>>()
                .join(", "),
        }
    };
    let required = |role, spec: &str| find(spec).ok_or_else(|| no_column(role, spec));
    // The default time columns are a guess at common exports; a column the caller named must exist.
    let optional = |role, spec: &Option<String>, default: &str| match spec {
        None => Ok(None),
        Some(spec) => match find(spec) {
            Some(i) => Ok(Some(i)),
            None if spec == default => Ok(None),
            None => Err(no_column(role, spec)),
        },
    };
    let speaker_at = required("speaker", &cols.speaker)?;
    let text_at = required("text", &cols.text)?;
    let start_at = optional("start time", &cols.start, DEFAULT_START)?;
    let end_at = optional("end time", &cols.end, DEFAULT_END)?;

    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(csv_error)?;
        let line = record.position().map_or(0, |p| p.line() as usize);
        if record.iter().all(|field| field.trim().is_empty()) {
            continue;
        }
        let field = |at: usize| {
            record
                .get(at)
                .map(str::trim)
                .ok_or_else(|| ReadError::MissingField {
                    file: cx.file.into(),
                    line,
                    column: header[at].clone(),
                })
        };
        let text = field(text_at)?;
        if text.is_empty() {
            continue;
        }
        let who = field(speaker_at)?;
        let speaker = cols
            .speaker_of(who)
            .ok_or_else(|| ReadError::UnknownSpeaker {
                file: cx.file.into(),
                line,
                column: Some(header[speaker_at].clone()),
                value: who.into(),
            })?;
        let stamp = |at: Option<usize>| -> Result<Option<Stamp>, ReadError> {
            let Some(at) = at else { return Ok(None) };
            let value = field(at)?;
            if value.is_empty() {
                return Ok(None);
            }
            parse_stamp(value)
                .map(Some)
                .ok_or_else(|| cx.bad_time(line, Some(&header[at]), value))
        };
        rows.push(Row {
            line,
            speaker,
            start: stamp(start_at)?,
            end: stamp(end_at)?,
            text: text.into(),
        });
    }
    let origin = csv_origin(&rows, cx)?;
    let relative = |stamp: Option<Stamp>| match stamp? {
        Stamp::Offset(t) => Some(t),
        Stamp::Absolute(t) => Some(t - origin),
    };
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            utterance(
                row.speaker,
                relative(row.start),
                relative(row.end),
                &row.text,
            )
        })
        .collect())
}

/// Where date-times count from: the earliest message, which is the first when the export is in order.
/// A file that mixes date-times with offsets has no common clock.
fn csv_origin(rows: &[Row], cx: &Cx) -> Result<f64, ReadError> {
    let stamps = || {
        rows.iter()
            .flat_map(|r| [&r.start, &r.end].map(|s| (r.line, s)))
    };
    let mut origin = None;
    let mut offset_line = None;
    for (line, stamp) in stamps() {
        match stamp {
            Some(Stamp::Absolute(t)) => origin = Some(origin.map_or(*t, |o: f64| o.min(*t))),
            Some(Stamp::Offset(_)) => offset_line = offset_line.or(Some(line)),
            None => {}
        }
    }
    match (origin, offset_line) {
        (Some(_), Some(line)) => Err(cx.syntax(
            line,
            "a time here is an offset, but other rows give date-times: use one kind throughout",
        )),
        (origin, _) => Ok(origin.unwrap_or(0.0)),
    }
}

/// Whichever of `,` `;` tab occurs most in the header line outside quotes; `,` when none does.
fn sniff_delimiter(header: &str) -> u8 {
    let mut counts = [0usize; 3];
    let mut quoted = false;
    for b in header.bytes() {
        match b {
            b'"' => quoted = !quoted,
            b',' if !quoted => counts[0] += 1,
            b';' if !quoted => counts[1] += 1,
            b'\t' if !quoted => counts[2] += 1,
            _ => {}
        }
    }
    let delimiters = [b',', b';', b'\t'];
    let best = (0..3).max_by_key(|&i| (counts[i], std::cmp::Reverse(i)));
    best.filter(|&i| counts[i] > 0)
        .map_or(b',', |i| delimiters[i])
}

fn parse_stamp(value: &str) -> Option<Stamp> {
    if let Some(t) = parse_datetime(value) {
        return Some(Stamp::Absolute(t));
    }
    if value.contains(':') {
        return parse_clock(value).map(Stamp::Offset);
    }
    let seconds = parse_seconds(value)?;
    // No call lasts 30 years: numbers this large are Unix times (seconds, or milliseconds past 1e11).
    Some(if seconds >= 1e11 {
        Stamp::Absolute(seconds / 1000.0)
    } else if seconds >= 1e9 {
        Stamp::Absolute(seconds)
    } else {
        Stamp::Offset(seconds)
    })
}

/// `12`, `12.5`, `12,5` (a `;`-separated export from a Spanish spreadsheet writes a decimal comma).
fn parse_seconds(value: &str) -> Option<f64> {
    let value = value.replacen(',', ".", 1);
    let digits = value.bytes().filter(u8::is_ascii_digit).count();
    let points = value.bytes().filter(|&b| b == b'.').count();
    (digits > 0 && points <= 1 && digits + points == value.len())
        .then(|| value.parse::<f64>().ok())
        .flatten()
        .filter(|t| t.is_finite())
}

/// `[h…:]mm:ss[.fff]`, `,` also as the decimal mark (SRT). Minutes run past 59 when there are no hours,
/// as guion's own txt writes them.
fn parse_clock(value: &str) -> Option<f64> {
    let (whole, fraction) = match value.split_once(['.', ',']) {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (value, None),
    };
    let number = |digits: &str| -> Option<u64> {
        (!digits.is_empty() && digits.len() <= 9 && digits.bytes().all(|b| b.is_ascii_digit()))
            .then(|| digits.parse().ok())
            .flatten()
    };
    let parts = whole.split(':').map(number).collect::<Option<Vec<u64>>>()?;
    let (hours, minutes, seconds) = match parts[..] {
        [m, s] => (0, m, s),
        [h, m, s] if m < 60 => (h, m, s),
        _ => return None,
    };
    if seconds >= 60 {
        return None;
    }
    let fraction = match fraction {
        Some(f) => number(f)? as f64 / 10f64.powi(f.len() as i32),
        None => 0.0,
    };
    Some((hours * 3600 + minutes * 60 + seconds) as f64 + fraction)
}

/// `YYYY-MM-DDTHH:MM:SS[.fff][Z|±HH:MM]` or `YYYY-MM-DD HH:MM:SS` → seconds since 1970-01-01 (in UTC
/// when a zone is given; zone-less times are only ever compared with each other).
fn parse_datetime(value: &str) -> Option<f64> {
    let b = value.as_bytes();
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let digits = b.get(range)?;
        digits
            .iter()
            .all(u8::is_ascii_digit)
            .then(|| digits.iter().fold(0, |n, d| n * 10 + i64::from(d - b'0')))
    };
    let separators = [(4, b'-'), (7, b'-'), (13, b':'), (16, b':')];
    if b.len() < 19
        || !separators.iter().all(|&(i, c)| b[i] == c)
        || !matches!(b[10], b'T' | b't' | b' ')
    {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    // The first 19 bytes are ASCII, so 19 is a character boundary.
    let mut rest = &value[19..];
    let mut fraction = 0.0;
    if let Some(after) = rest.strip_prefix(['.', ',']) {
        let len = after.bytes().take_while(u8::is_ascii_digit).count();
        if len == 0 || len > 9 {
            return None;
        }
        fraction = after[..len].parse::<f64>().ok()? / 10f64.powi(len as i32);
        rest = &after[len..];
    }
    let offset = zone_offset(rest)?;
    let days = days_from_civil(year, month, day);
    Some((days * 86_400 + hour * 3600 + minute * 60 + second - offset) as f64 + fraction)
}

/// Seconds east of UTC: ``, `Z`, `±HH:MM`, `±HHMM`, `±HH`.
fn zone_offset(zone: &str) -> Option<i64> {
    if zone.is_empty() || zone.eq_ignore_ascii_case("z") {
        return Some(0);
    }
    let (sign, hhmm) = match zone.as_bytes()[0] {
        b'+' => (1, &zone[1..]),
        b'-' => (-1, &zone[1..]),
        _ => return None,
    };
    let digits: String = hhmm.chars().filter(|&c| c != ':').collect();
    // Checked before slicing: every byte is then a character.
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let colon_at_2 = hhmm.len() == 5 && hhmm.as_bytes()[2] == b':';
    let (h, m) = match (digits.len(), hhmm.len()) {
        (2, 2) => (&digits[..], "0"),
        (4, 4) => (&digits[..2], &digits[2..]),
        (4, 5) if colon_at_2 => (&digits[..2], &digits[2..]),
        _ => return None,
    };
    let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
    (h <= 23 && m <= 59).then_some(sign * (h * 3600 + m * 60))
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 in the proleptic Gregorian calendar (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transcript::{Format, ModelId, Word};

    fn read(format: InputFormat, text: &str) -> Result<Transcript, ReadError> {
        parse(text.as_bytes(), "call", format, &CsvColumns::default())
    }

    fn ok(format: InputFormat, text: &str) -> Transcript {
        read(format, text).unwrap_or_else(|e| panic!("{e}"))
    }

    fn err(format: InputFormat, text: &str) -> String {
        match read(format, text) {
            Ok(t) => panic!("expected an error, got {t:?}"),
            Err(e) => e.to_string(),
        }
    }

    type Turn<'a> = (Speaker, Option<f64>, Option<f64>, &'a str);

    fn turns(t: &Transcript) -> Vec<Turn<'_>> {
        t.utterances
            .iter()
            .map(|u| (u.speaker, u.start, u.end, u.text.as_str()))
            .collect()
    }

    use Speaker::{Agent, Customer, Unknown};

    fn sample() -> Transcript {
        let utterance = |speaker, channel, start, end, text: &str| Utterance {
            voice: None,
            language: None,
            speaker,
            channel: Some(channel),
            start: Some(start),
            end: Some(end),
            text: text.into(),
            words: vec![],
        };
        Transcript {
            layout: None,
            wrong_language: None,
            turns: Vec::new(),
            source: "calls/0001.wav".into(),
            sha256: "ab".repeat(32),
            duration_s: Some(75.5),
            language: Some("es".into()),
            model: Some(ModelId {
                name: "base".into(),
                sha256: "cd".repeat(32),
            }),
            utterances: vec![
                Utterance {
                    voice: None,
                    language: None,
                    words: vec![Word {
                        text: "Acme".into(),
                        start: 1.25,
                        end: 1.5,
                        p: 0.5,
                    }],
                    ..utterance(Agent, 0, 1.25, 3.5, "Acme Seguros <soy> Ana & co, ¿dígame?")
                },
                utterance(Customer, 1, 4.0, 6.75, "Hola, buenos días."),
                utterance(Unknown, 0, 64.0, 75.5, "Gracias: adiós."),
            ],
        }
    }

    #[test]
    fn detects_by_extension_then_by_content() {
        let detect = |name: &str, head: &str| InputFormat::detect(Path::new(name), head.as_bytes());
        assert_eq!(detect("a/call.VTT", ""), Some(InputFormat::Vtt));
        assert_eq!(detect("chat.tsv", ""), Some(InputFormat::Csv));
        assert_eq!(detect("x.json", "WEBVTT"), Some(InputFormat::Json));
        assert_eq!(detect("x", "\u{feff}WEBVTT\n\n"), Some(InputFormat::Vtt));
        assert_eq!(
            detect("x", "1\r\n00:00:01,000 --> 00:00:02,000\r\n"),
            Some(InputFormat::Srt)
        );
        assert_eq!(detect("x", "  {\"source\""), Some(InputFormat::Json));
        assert_eq!(
            detect("x", "[\n  {\"convo_id\": 1"),
            Some(InputFormat::Json)
        );
        assert_eq!(detect("x", "[00:01] AGENT: hola"), Some(InputFormat::Txt));
        assert_eq!(detect("x", "Cliente: hola\n"), Some(InputFormat::Txt));
        assert_eq!(
            detect("x", "timestamp;Author;message\n1;a;b"),
            Some(InputFormat::Csv)
        );
        assert_eq!(detect("x", "\"role\",\"text\"\n"), Some(InputFormat::Csv));
        assert_eq!(detect("call.wav", "RIFF\0\0\0\0WAVE"), None);
        assert_eq!(detect("x", "hola"), None);
        // A head cut inside a character still sniffs.
        assert_eq!(
            InputFormat::detect(Path::new("x"), &"WEBVTT ñ".as_bytes()[..8]),
            Some(InputFormat::Vtt)
        );
        assert!(is_transcript_path(Path::new("a/b.Json")));
        assert!(is_transcript_path(Path::new("b.srt")));
        assert!(!is_transcript_path(Path::new("b.wav")));
        assert!(!is_transcript_path(Path::new("json")));
    }

    #[test]
    fn common_fields_name_the_file_and_its_bytes() {
        let text = "AGENT:  Hola,\t buenos   días\n";
        let t = parse(
            text.as_bytes(),
            "in/a.txt",
            InputFormat::Txt,
            &CsvColumns::default(),
        )
        .unwrap();
        assert_eq!(t.source, "in/a.txt");
        assert_eq!(t.sha256, sha256_bytes(text.as_bytes()));
        assert_eq!((t.model, t.language, t.duration_s), (None, None, None));
        let u = &t.utterances[0];
        assert_eq!((u.channel, u.words.len()), (None, 0));
        assert_eq!(u.text, "Hola, buenos días");
    }

    #[test]
    fn bom_is_tolerated_and_bad_encodings_are_named() {
        let t = ok(InputFormat::Txt, "\u{feff}AGENT: hola");
        assert_eq!(turns(&t), [(Agent, None, None, "hola")]);
        let bytes = b"AGENT: hola\nCUSTOMER: \xff\xfe adi\xf3s\n";
        let e = parse(bytes, "x.txt", InputFormat::Txt, &CsvColumns::default()).unwrap_err();
        assert_eq!(e.to_string(), "x.txt:2: not UTF-8 text");
        let e = parse(
            b"\xff\xfeA\0",
            "x.txt",
            InputFormat::Txt,
            &CsvColumns::default(),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "x.txt:1: not UTF-8 text (it is UTF-16: save it as UTF-8)"
        );
        for format in [InputFormat::Json, InputFormat::Vtt, InputFormat::Csv] {
            assert_eq!(err(format, " \n\t"), "call: the file is empty");
        }
        assert_eq!(
            parse(
                b"\xEF\xBB\xBF \n",
                "e.srt",
                InputFormat::Srt,
                &CsvColumns::default()
            )
            .unwrap_err()
            .to_string(),
            "e.srt: the file is empty"
        );
    }

    #[test]
    fn guion_json_comes_back_as_written() {
        let t = sample();
        assert_eq!(ok(InputFormat::Json, &t.render(Format::Json)), t);
    }

    #[test]
    fn malformed_json_is_reported_at_line_and_column() {
        let e = err(InputFormat::Json, "{\"source\": \"x\",\n  \"sha256\": }");
        assert_eq!(e, "call:2:13: expected value");
        let mut json = sample().render(Format::Json);
        json = json.replacen("\"start\": 4.0", "\"start\": \"4\"", 1);
        let line = json.lines().position(|l| l.contains("\"4\"")).unwrap() + 1;
        let e = err(InputFormat::Json, &json);
        assert!(e.starts_with(&format!("call:{line}:")), "{e}");
        assert!(e.contains("invalid type: string \"4\""), "{e}");
        assert_eq!(
            err(InputFormat::Json, "{\"items\": []}"),
            "call: not a transcript guion knows: expected guion's own (\"utterances\"), an Azure \
             conversation (\"conversationItems\") or ABCD dialogues (\"original\")"
        );
    }

    #[test]
    fn azure_conversations_map_roles_and_word_times() {
        let json = r#"{"analysisInput": {"conversations": [{"id": "1", "language": "es",
            "conversationItems": [
              {"participantId": "Agent", "id": "1", "text": " Acme  Seguros, ¿dígame? "},
              {"participantId": "caller-7", "role": "customer", "id": "2", "text": "Hola",
               "wordLevelTimings": [{"word": "Hola", "offset": 25000000, "duration": 5000000}]},
              {"participantId": "Customer", "role": "generic", "id": "3", "text": "sí"},
              {"participantId": "bot", "id": "4", "text": "..."},
              {"participantId": "Agent", "id": "5", "text": ""}
            ]}]}}"#;
        let t = ok(InputFormat::Json, json);
        assert_eq!(t.language.as_deref(), Some("es"));
        assert_eq!(
            turns(&t),
            [
                (Agent, None, None, "Acme Seguros, ¿dígame?"),
                (Customer, Some(2.5), Some(3.0), "Hola"),
                (Customer, None, None, "sí"),
                (Unknown, None, None, "..."),
            ]
        );
        assert_eq!(t.duration_s, Some(3.0));
        let two = r#"{"conversations": [{"conversationItems": []}, {"conversationItems": []}]}"#;
        assert_eq!(
            err(InputFormat::Json, two),
            "call: holds 2 Azure conversations; guion reads one call per file"
        );
        assert_eq!(
            err(
                InputFormat::Json,
                r#"{"conversationItems": [{"participantId": "Agent"}]}"#
            ),
            "call: conversationItems[0] has no \"text\" string"
        );
    }

    #[test]
    fn abcd_dialogues_drop_actions_and_keep_their_ids() {
        let one = r#"[{"convo_id": 7, "original": [["agent", "Hi!"], ["action", "Account pulled up"],
            ["customer", "  I need help "], ["system", "?"]]}]"#;
        let t = ok(InputFormat::Json, one);
        assert_eq!(
            turns(&t),
            [
                (Agent, None, None, "Hi!"),
                (Customer, None, None, "I need help"),
                (Unknown, None, None, "?")
            ]
        );
        let splits = r#"{"train": [{"convo_id": 1, "original": [["agent", "a"]]}],
            "dev": [{"convo_id": "2", "original": [["customer", "b"]]}], "test": []}"#;
        let all = parse_abcd(splits.as_bytes(), "abcd.json").unwrap();
        let ids: Vec<&str> = all.iter().map(|(id, _)| id.as_str()).collect();
        // Splits come in key order: serde_json's map is sorted.
        assert_eq!(ids, ["2", "1"]);
        assert!(all.iter().all(|(_, t)| t.source == "abcd.json"));
        assert_eq!(
            err(InputFormat::Json, splits),
            "call: holds 2 ABCD dialogues; read them with read_abcd"
        );
        let bad = r#"[{"convo_id": 9, "original": [["agent", "a"], ["agent"]]}]"#;
        assert_eq!(
            parse_abcd(bad.as_bytes(), "a.json")
                .unwrap_err()
                .to_string(),
            "a.json: dialogue 9, turn 1: expected [speaker, text]"
        );
        assert!(matches!(
            parse_abcd(b"{\"utterances\": []}", "a.json"),
            Err(ReadError::Shape { .. })
        ));
    }

    const VTT: &str = "\u{feff}WEBVTT - Acme Seguros, llamada 42
Kind: captions

NOTE revisado por calidad
con dos líneas

STYLE
::cue { color: white }

saludo
00:01.000 --> 00:04.500 align:start position:10%
<v.loud Agente>Acme Seguros &amp; Hogar,
<b>buenos</b> días</v>

00:00:05.000 --> 00:00:07.250
<v Cliente>Hola <00:00:06.000><c.dim>quería</c> &lt;consultar&gt;</v>

3
00:01:08.000 --> 00:01:09.000
<v Juan>¿Está?</v><v customer>Sí.</v>

00:01:10.000 --> 00:01:11.000
Agente: un momento

00:01:12.000 --> 00:01:13.000
Nota: sin voz &nbsp;&#241;&#xF1; &foo; a&b

00:01:14.000 --> 00:01:15.000
<i> </i>
";

    #[test]
    fn vtt_voices_markup_and_entities() {
        let t = ok(InputFormat::Vtt, VTT);
        assert_eq!(
            turns(&t),
            [
                (
                    Agent,
                    Some(1.0),
                    Some(4.5),
                    "Acme Seguros & Hogar, buenos días"
                ),
                (Customer, Some(5.0), Some(7.25), "Hola quería <consultar>"),
                (Unknown, Some(68.0), Some(69.0), "¿Está?"),
                (Customer, Some(68.0), Some(69.0), "Sí."),
                (Agent, Some(70.0), Some(71.0), "un momento"),
                (
                    Unknown,
                    Some(72.0),
                    Some(73.0),
                    "Nota: sin voz ññ &foo; a&b"
                ),
            ]
        );
        assert_eq!(t.duration_s, Some(73.0));
    }

    #[test]
    fn vtt_round_trips_guion_output_and_takes_a_cue_under_the_header() {
        let t = ok(InputFormat::Vtt, &sample().render(Format::Vtt));
        assert_eq!(
            turns(&t),
            [
                (
                    Agent,
                    Some(1.25),
                    Some(3.5),
                    "Acme Seguros <soy> Ana & co, ¿dígame?"
                ),
                (Customer, Some(4.0), Some(6.75), "Hola, buenos días."),
                (Unknown, Some(64.0), Some(75.5), "Gracias: adiós."),
            ]
        );
        let t = ok(
            InputFormat::Vtt,
            "WEBVTT\n00:01.000 --> 00:02.000\n<v Agent>hola\n",
        );
        assert_eq!(turns(&t), [(Agent, Some(1.0), Some(2.0), "hola")]);
    }

    #[test]
    fn vtt_errors_name_the_line() {
        assert_eq!(
            err(InputFormat::Vtt, "1\n00:01.000 --> 00:02.000\nhola\n"),
            "call:1: expected 'WEBVTT' on the first line, found '1'"
        );
        let arrow = "WEBVTT\n\n00:01.000 --> 00:02.000\n<v Agent>hola\n\nNOTE x\n\n\n\n\ncue-2\n00:01.000 -> 00:02.000\n<v Agent>adiós\n";
        assert_eq!(
            err(InputFormat::Vtt, arrow),
            "call:12: bad cue timing '00:01.000 -> 00:02.000': expected 'start --> end'"
        );
        assert_eq!(
            err(
                InputFormat::Vtt,
                "WEBVTT\n\n00:01.000 --> 00:0x.000\nhola\n"
            ),
            "call:3: bad cue timing '00:01.000 --> 00:0x.000': expected [hh:]mm:ss.ttt times"
        );
        assert_eq!(
            err(
                InputFormat::Vtt,
                "WEBVTT\n\n00:03.000 --> 00:02.000\nhola\n"
            ),
            "call:3: bad cue timing '00:03.000 --> 00:02.000': it ends before it starts"
        );
        assert_eq!(
            err(
                InputFormat::Vtt,
                "WEBVTT\n\n00:01.000 --> 00:02.000\nhola\n\ny adiós\n"
            ),
            "call:6: expected a cue timing 'start --> end', found 'y adiós'"
        );
    }

    #[test]
    fn srt_labels_dashes_and_markup() {
        let srt = "\u{feff}1\r\n00:00:01,000 --> 00:00:03,500\r\nAgente: <i>Acme Seguros</i>,\r\nbuenos días\r\n\r\n\
                   2\r\n00:00:04,000 --> 00:00:05,000 X1:10 X2:20\r\n{\\an8}[Cliente] Hola\r\n\r\n\
                   00:00:06,000 --> 00:00:07,000\r\n- ¿Me oye?\r\n- Sí, le oigo.\r\n\r\n\
                   4\r\n00:00:08,000 --> 00:00:09,000\r\nSr. Martín: <font color=\"red\">vale</font>\r\nweb: http://acme.es a < b <soy>\r\n\r\n\
                   5\r\n00:00:10,000 --> 00:00:11,000\r\n[MÚSICA]\r\n";
        let t = ok(InputFormat::Srt, srt);
        assert_eq!(
            turns(&t),
            [
                (Agent, Some(1.0), Some(3.5), "Acme Seguros, buenos días"),
                (Customer, Some(4.0), Some(5.0), "Hola"),
                (Unknown, Some(6.0), Some(7.0), "¿Me oye?"),
                (Unknown, Some(6.0), Some(7.0), "Sí, le oigo."),
                (
                    Unknown,
                    Some(8.0),
                    Some(9.0),
                    "vale web: http://acme.es a < b <soy>"
                ),
            ]
        );
        // The music-only cue leaves no utterance, so it does not count.
        assert_eq!(t.duration_s, Some(9.0));
    }

    #[test]
    fn srt_round_trips_guion_output() {
        let t = ok(InputFormat::Srt, &sample().render(Format::Srt));
        assert_eq!(turns(&t), turns(&sample()));
    }

    #[test]
    fn srt_errors_name_the_line() {
        assert_eq!(
            err(
                InputFormat::Srt,
                "1\n00:00:01,000 --> 00:00:02,000\nhola\n\n2\n00:00:02,000 - 00:00:03,000\nadiós\n"
            ),
            "call:6: bad cue timing '00:00:02,000 - 00:00:03,000': expected 'start --> end'"
        );
        assert_eq!(
            err(
                InputFormat::Srt,
                "1\n00:00:01,000 --> 00:00:02,000\nhola\n\nsigue aquí\n"
            ),
            "call:5: expected a cue timing 'start --> end', found 'sigue aquí'"
        );
    }

    #[test]
    fn txt_round_trips_guion_output_with_ends_from_the_next_start() {
        let t = ok(InputFormat::Txt, &sample().render(Format::Txt));
        assert_eq!(
            turns(&t),
            [
                (
                    Agent,
                    Some(1.0),
                    Some(4.0),
                    "Acme Seguros <soy> Ana & co, ¿dígame?"
                ),
                (Customer, Some(4.0), Some(64.0), "Hola, buenos días."),
                (Unknown, Some(64.0), None, "Gracias: adiós."),
            ]
        );
        assert_eq!(t.duration_s, Some(64.0));
    }

    #[test]
    fn txt_names_times_and_continuations() {
        let txt = "\n[00:00:05] Agente: Acme Seguros,\n  buenos días.\n\n[01:02:03.5] cliente : Hola\nNota: sigue\nUSUARIO: sin hora\n[00:00:01] Agent: antes\n";
        assert_eq!(
            turns(&ok(InputFormat::Txt, txt)),
            [
                (Agent, Some(5.0), Some(3723.5), "Acme Seguros, buenos días."),
                (Customer, Some(3723.5), None, "Hola Nota: sigue"),
                (Customer, None, Some(1.0), "sin hora"),
                (Agent, Some(1.0), None, "antes"),
            ]
        );
    }

    #[test]
    fn txt_errors_name_the_line() {
        assert_eq!(
            err(InputFormat::Txt, "\n\nLlamada 42\nAGENT: hola\n"),
            "call:3: expected 'AGENT:' or 'CUSTOMER:' (or another name from the speaker lists), found 'Llamada 42'"
        );
        assert_eq!(
            err(InputFormat::Txt, "AGENT: hola\n[00:04] Juan: adiós\n"),
            "call:2: expected 'AGENT:' or 'CUSTOMER:' (or another name from the speaker lists), found '[00:04] Juan: adiós'"
        );
        assert_eq!(
            err(InputFormat::Txt, "AGENT: hola\n\n[00:3x] CUSTOMER: adiós\n"),
            "call:3: bad time '00:3x': expected seconds, mm:ss, hh:mm:ss or a date-time"
        );
        assert_eq!(
            err(InputFormat::Txt, "[00:00:75] AGENT: hola\n"),
            "call:1: bad time '00:00:75': expected seconds, mm:ss, hh:mm:ss or a date-time"
        );
    }

    #[test]
    fn csv_default_columns_and_offsets() {
        let csv = "Time,Role,Message,Extra\n0,agent,\"Acme Seguros, ¿dígame?\",x\n1:02.5,Cliente,Hola\n,user,sin hora\n3,agent,   \n0:01:10,REP,adiós\n";
        let t = ok(InputFormat::Csv, csv);
        assert_eq!(
            turns(&t),
            [
                (Agent, Some(0.0), None, "Acme Seguros, ¿dígame?"),
                (Customer, Some(62.5), None, "Hola"),
                (Customer, None, None, "sin hora"),
                (Agent, Some(70.0), None, "adiós"),
            ]
        );
        assert_eq!(t.duration_s, Some(70.0));
    }

    #[test]
    fn csv_semicolons_decimal_commas_ends_and_quoted_lines() {
        let csv =
            "start;end;author;body\n1,5;3,25;Agente;\"Acme; dos\nlíneas\"\n4;5;Cliente;Hola\n";
        assert_eq!(
            turns(&ok(InputFormat::Csv, csv)),
            [
                (Agent, Some(1.5), Some(3.25), "Acme; dos líneas"),
                (Customer, Some(4.0), Some(5.0), "Hola"),
            ]
        );
        let tsv = "speaker\ttext\nagent\thola, qué tal\n";
        assert_eq!(
            turns(&ok(InputFormat::Csv, tsv)),
            [(Agent, None, None, "hola, qué tal")]
        );
    }

    #[test]
    fn csv_date_times_count_from_the_first_message() {
        let csv = "timestamp,speaker,text\n\
                   2024-05-14T10:32:07.800+02:00,agent,uno\n\
                   2024-05-14T08:32:09Z,customer,dos\n\
                   2024-05-14T09:33:10.3+0100,agent,tres\n";
        let t = ok(InputFormat::Csv, csv);
        let starts: Vec<f64> = t.utterances.iter().filter_map(|u| u.start).collect();
        assert_eq!(starts.len(), 3);
        for (got, want) in starts.iter().zip([0.0, 1.2, 62.5]) {
            assert!((got - want).abs() < 1e-6, "{starts:?}");
        }
        let naive =
            "timestamp,speaker,text\n2024-05-14 23:59:58,agent,a\n2024-05-15 00:00:03,customer,b\n";
        let t = ok(InputFormat::Csv, naive);
        assert_eq!(t.utterances[1].start, Some(5.0));
        let epoch = "timestamp,speaker,text\n1715675527800,agent,a\n1715675530300,customer,b\n";
        let t = ok(InputFormat::Csv, epoch);
        assert_eq!(
            (t.utterances[0].start, t.utterances[1].start),
            (Some(0.0), Some(2.5))
        );
    }

    #[test]
    fn csv_columns_can_be_named() {
        let cols = CsvColumns {
            speaker: "who".into(),
            text: "said|what".into(),
            start: Some("at".into()),
            end: None,
            agent: vec!["Ana".into()],
            customer: vec!["Javier".into()],
            delimiter: Some(b'|'),
        };
        let csv = "at|who|what|end\n2|ana|hola|9\n3|JAVIER|adiós|9\n";
        let t = parse(csv.as_bytes(), "c.csv", InputFormat::Csv, &cols).unwrap();
        assert_eq!(
            turns(&t),
            [
                (Agent, Some(2.0), None, "hola"),
                (Customer, Some(3.0), None, "adiós")
            ]
        );
        let missing = parse(b"who|what\nana|x\n", "c.csv", InputFormat::Csv, &cols).unwrap_err();
        assert_eq!(
            missing.to_string(),
            "c.csv:1: the header has no start time column (looked for 'at'; it has 'who', 'what')"
        );
    }

    #[test]
    fn csv_errors_name_line_column_and_value() {
        assert_eq!(
            err(InputFormat::Csv, "who,message\nagent,hola\n"),
            "call:1: the header has no speaker column (looked for 'speaker' or 'role' or 'author'; it has 'who', 'message')"
        );
        assert_eq!(
            err(
                InputFormat::Csv,
                "speaker,text\nagent,\"hola\nque tal\"\ncustomer\n"
            ),
            "call:4: column 'text' is missing"
        );
        assert_eq!(
            err(
                InputFormat::Csv,
                "speaker,text\nagent,hola\n\ncustomer,sí\nbot,¿algo más?\n"
            ),
            "call:5: unknown speaker 'bot' in column 'speaker': not among the agent or customer names"
        );
        assert_eq!(
            err(
                InputFormat::Csv,
                "time,speaker,text\n1,agent,a\n1:7x,customer,b\n"
            ),
            "call:3: bad time '1:7x' in column 'time': expected seconds, mm:ss, hh:mm:ss or a date-time"
        );
        assert_eq!(
            err(
                InputFormat::Csv,
                "time,speaker,text\n2024-02-30 10:00:00,agent,a\n"
            ),
            "call:2: bad time '2024-02-30 10:00:00' in column 'time': expected seconds, mm:ss, hh:mm:ss or a date-time"
        );
        assert_eq!(
            err(
                InputFormat::Csv,
                "time,speaker,text\n2024-05-14 10:00:00,agent,a\n12,customer,b\n"
            ),
            "call:3: a time here is an offset, but other rows give date-times: use one kind throughout"
        );
    }

    #[test]
    fn clock_and_date_time_parsers() {
        assert_eq!(parse_clock("01:02:03.5"), Some(3723.5));
        assert_eq!(parse_clock("75:00"), Some(4500.0));
        assert_eq!(parse_clock("00:01,250"), Some(1.25));
        for bad in [
            "1:60",
            "1:60:00",
            "12",
            "a:00",
            "",
            ":",
            "1::2",
            "00:01.",
            "-1:00",
            "1:00:00:00",
        ] {
            assert_eq!(parse_clock(bad), None, "{bad}");
        }
        assert_eq!(parse_datetime("1970-01-01T00:00:00Z"), Some(0.0));
        assert_eq!(parse_datetime("1969-12-31 23:59:59"), Some(-1.0));
        assert_eq!(
            parse_datetime("2000-03-01T00:00:00+00:00"),
            Some(951_868_800.0)
        );
        assert_eq!(
            parse_datetime("2024-02-29T14:00:00.5+02:00"),
            Some(1_709_208_000.5)
        );
        assert_eq!(
            parse_datetime("2024-02-29T12:00:00-0130"),
            Some(1_709_213_400.0)
        );
        for bad in [
            "2023-02-29T00:00:00",
            "2024-13-01T00:00:00",
            "2024-01-01T24:00:00",
            "2024-01-01T00:00:00Zx",
            "2024-01-01T00:00:00+1é1",
            "2024-01-01T00:00:00.",
            "2024-01-01",
            "2024/01/01 00:00:00",
        ] {
            assert_eq!(parse_datetime(bad), None, "{bad}");
        }
        assert_eq!(parse_seconds("12,5"), Some(12.5));
        assert_eq!(parse_seconds("1.2.3"), None);
        assert_eq!(parse_seconds("1e3"), None);
        assert_eq!(parse_seconds(&"9".repeat(400)), None);
    }

    /// Every prefix of every example, and every example with a byte changed, parses or fails: never
    /// panics.
    #[test]
    fn no_input_panics() {
        let sample = sample();
        let examples = [
            (InputFormat::Vtt, VTT.to_string()),
            (InputFormat::Vtt, sample.render(Format::Vtt)),
            (InputFormat::Srt, sample.render(Format::Srt)),
            (InputFormat::Txt, sample.render(Format::Txt)),
            (InputFormat::Json, sample.render(Format::Json)),
            (
                InputFormat::Json,
                r#"[{"convo_id": 1, "original": [["agent", "a"]]}]"#.to_string(),
            ),
            (
                InputFormat::Csv,
                "timestamp;author;text\n2024-05-14T10:32:07.8+02:00;agente;\"a;b\"\n".to_string(),
            ),
            (
                InputFormat::Txt,
                "[01:02.5] Cliente: ñá\nsigue\n".to_string(),
            ),
        ];
        let mut seed = 0x9E37_79B9_7F4A_7C15_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let cols = CsvColumns::default();
        for (format, text) in &examples {
            let bytes = text.as_bytes();
            for cut in 0..=bytes.len() {
                for f in [
                    *format,
                    InputFormat::Txt,
                    InputFormat::Csv,
                    InputFormat::Srt,
                ] {
                    let _ = parse(&bytes[..cut], "fuzz", f, &cols);
                }
                let _ = InputFormat::detect(Path::new("x"), &bytes[..cut]);
            }
            let alphabet = b"<>&;:[]-.,\n\r\t\"{}v0123456789 ";
            for _ in 0..2000 {
                let mut mutated = bytes.to_vec();
                for _ in 0..1 + next() % 3 {
                    let at = (next() as usize) % mutated.len().max(1);
                    let b = alphabet[(next() as usize) % alphabet.len()];
                    if let Some(slot) = mutated.get_mut(at) {
                        *slot = b;
                    }
                }
                let _ = parse(&mutated, "fuzz", *format, &cols);
            }
        }
    }
}
