//! Transcripts that already exist — chat exports, subtitles, other systems' ASR, guion's own output —
//! read into the same [`Transcript`] the speech path produces, so alignment cannot tell text from speech.
//!
//! Pure: the file reads are `guion_night::input`'s. Speaker names are
//! matched, case-insensitively, against [`CsvColumns::agent`] and [`CsvColumns::customer`] in every
//! format, so one configuration says who is who. Every error names the file and, where the format has
//! lines, the line.

mod csv;
mod json;
mod time;
mod txt;
mod vtt;

use super::{Speaker, Transcript, Utterance};
use crate::hash::sha256_bytes;
use csv::parse_csv;
pub use csv::sniff_delimiter;
use json::{abcd_dialogues, abcd_turns, parse_json};
use serde_json::Value;
use std::path::Path;
pub use time::parse_offset;
use txt::{leading_time, parse_txt, txt_label};
use vtt::{parse_srt, parse_vtt};

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

/// Every dialogue of an ABCD file (which holds many), with its `convo_id`. Each transcript's `source` is the file and its `sha256` the
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

/// `.json .vtt .srt .txt .csv` (and `.tsv`), whatever the case: the inputs `guion_night::input::read_transcript` takes
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transcript::{Format, ModelId, Word};

    fn read(format: InputFormat, text: &str) -> Result<Transcript, ReadError> {
        parse(text.as_bytes(), "call", format, &CsvColumns::default())
    }

    pub(super) fn ok(format: InputFormat, text: &str) -> Transcript {
        read(format, text).unwrap_or_else(|e| panic!("{e}"))
    }

    pub(super) fn err(format: InputFormat, text: &str) -> String {
        match read(format, text) {
            Ok(t) => panic!("expected an error, got {t:?}"),
            Err(e) => e.to_string(),
        }
    }

    type Turn<'a> = (Speaker, Option<f64>, Option<f64>, &'a str);

    pub(super) fn turns(t: &Transcript) -> Vec<Turn<'_>> {
        t.utterances
            .iter()
            .map(|u| (u.speaker, u.start, u.end, u.text.as_str()))
            .collect()
    }

    use Speaker::{Agent, Customer, Unknown};

    pub(super) fn sample() -> Transcript {
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

    pub(super) const VTT: &str = "\u{feff}WEBVTT - Acme Seguros, llamada 42
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
