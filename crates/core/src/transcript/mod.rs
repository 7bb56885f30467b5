//! The transcript: the one currency between the speech path and the text path.
//!
//! `guion transcribe` writes it (`render`); `read` parses the formats other systems produce; alignment and scoring read it, whether it came from Whisper, a chat log or
//! another ASR. Times are seconds from the start of the call and are `None` where the source has none.

pub mod read;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transcript {
    /// The file it was made from, as given.
    pub source: String,
    /// sha256 of that file's bytes: results are keyed by content, not by name.
    pub sha256: String,
    pub duration_s: Option<f64>,
    pub language: Option<String>,
    /// The model that produced it; `None` for transcripts that came from elsewhere.
    pub model: Option<ModelId>,
    /// What the recording's channels were found to be, and why; `None` for text sources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layout: Option<Layout>,
    /// Set when the call's speech is clearly in a language outside the allowed ones: then it is
    /// neither transcribed nor scored, and `language` is the one found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wrong_language: Option<WrongLanguage>,
    /// Who spoke when in a mono call, from speaker separation: talk time and overtalk come from
    /// here, since a mono call's utterances never overlap. Empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub turns: Vec<Turn>,
    pub utterances: Vec<Utterance>,
}

/// One stretch of one voice's talk in a mono call (speaker separation), in seconds from the start.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Turn {
    pub start: f64,
    pub end: f64,
    /// 0, 1, … in the order the voices first talk.
    pub voice: u32,
}

/// A call whose speech is in none of the languages it may be scored in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WrongLanguage {
    /// The language found (ISO 639-1), and the detector's share of belief in it.
    pub found: String,
    pub p: f32,
    /// The languages allowed (the script's, or --language), and their share together.
    pub allowed: Vec<String>,
    pub allowed_p: f32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelId {
    pub name: String,
    pub sha256: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Speaker {
    Agent,
    Customer,
    Unknown,
}

impl Speaker {
    pub fn label(self) -> &'static str {
        match self {
            Speaker::Agent => "Agent",
            Speaker::Customer => "Customer",
            Speaker::Unknown => "Unknown",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Utterance {
    pub speaker: Speaker,
    /// The audio channel it was heard on; `None` for text sources.
    pub channel: Option<u32>,
    pub start: Option<f64>,
    pub end: Option<f64>,
    /// In a mono call, which voice said it (speaker separation: 0, 1, …), before the script decides
    /// which voice is the agent's; `None` where channels or the source tell the parties apart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voice: Option<u32>,
    /// The language it was said in, where it differs from the call's (a code-switched call).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    pub text: String,
    #[serde(default)]
    pub words: Vec<Word>,
}

impl Utterance {
    /// Which side of the call said it: its voice in a mono call, else its channel.
    pub fn side(&self) -> Option<u32> {
        self.voice.or(self.channel)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Word {
    pub text: String,
    pub start: f64,
    pub end: f64,
    /// The recogniser's confidence, 0..1: alignment calls a step "unclear" rather than "missed" when its
    /// best evidence lies in low-confidence words.
    pub p: f32,
}

/// Output formats of `guion transcribe`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Vtt,
    Srt,
    Txt,
}

crate::named!(Format { Json => "json", Vtt => "vtt", Srt => "srt", Txt => "txt" });

impl Format {
    /// The file extension, which is also the format's name.
    pub fn extension(self) -> &'static str {
        crate::names::Named::name(self)
    }
}

impl Transcript {
    /// The sides of the call that may be the agent's: the voices of a mono call told apart by speaker
    /// separation, else the channels of a stereo call. Sorted.
    pub fn sides(&self) -> Vec<u32> {
        let mut sides: Vec<u32> = self.utterances.iter().filter_map(Utterance::side).collect();
        sides.sort_unstable();
        sides.dedup();
        sides
    }

    /// Labels the utterances of `side` (see [`Transcript::sides`]) as the agent's and all others as
    /// the customer's: what a stereo call's layout, or a mono call's voices, mean once decided.
    pub fn set_agent_side(&mut self, side: u32) {
        for u in &mut self.utterances {
            u.speaker = if u.side() == Some(side) {
                Speaker::Agent
            } else {
                Speaker::Customer
            };
        }
    }

    pub fn render(&self, format: Format) -> String {
        match format {
            // Plain owned data with string keys: serde_json cannot fail on it.
            Format::Json => {
                serde_json::to_string_pretty(self).expect("transcript serialises") + "\n"
            }
            Format::Vtt => self.to_vtt(),
            Format::Srt => self.to_srt(),
            Format::Txt => self.to_txt(),
        }
    }

    fn to_vtt(&self) -> String {
        let mut out = String::from("WEBVTT\n");
        for u in &self.utterances {
            let (start, end) = (u.start.unwrap_or(0.0), u.end.unwrap_or(0.0));
            let _ = write!(
                out,
                "\n{} --> {}\n<v {}>{}\n",
                clock(start, '.'),
                clock(end, '.'),
                u.speaker.label(),
                vtt_escape(&u.text)
            );
        }
        out
    }

    fn to_srt(&self) -> String {
        let mut out = String::new();
        for (i, u) in self.utterances.iter().enumerate() {
            let (start, end) = (u.start.unwrap_or(0.0), u.end.unwrap_or(0.0));
            let _ = write!(
                out,
                "{}\n{} --> {}\n{}: {}\n\n",
                i + 1,
                clock(start, ','),
                clock(end, ','),
                u.speaker.label(),
                u.text
            );
        }
        out
    }

    /// The plain-text form guion also reads back: `[m:ss] AGENT: text`.
    fn to_txt(&self) -> String {
        let mut out = String::new();
        for u in &self.utterances {
            if let Some(start) = u.start {
                let _ = write!(out, "[{}] ", clock_stamp(start));
            }
            let _ = writeln!(out, "{}: {}", u.speaker.label().to_uppercase(), u.text);
        }
        out
    }
}

/// `m:ss`, or `h:mm:ss` from one hour on: a moment in a call as people are shown it, in the
/// terminal, the plain-text form and the report alike, so that one moment reads the same
/// everywhere. Truncated to the whole second, as a player shows its position: the words have begun
/// by then.
pub fn clock_stamp(seconds: f64) -> String {
    let s = seconds.max(0.0) as u64;
    let (hours, minutes, seconds) = (s / 3600, s / 60 % 60, s % 60);
    if hours > 0 {
        format!("{hours}:{minutes:02}:{seconds:02}")
    } else {
        format!("{minutes}:{seconds:02}")
    }
}

/// `hh:mm:ss.mmm` (VTT) or `hh:mm:ss,mmm` (SRT).
fn clock(seconds: f64, sep: char) -> String {
    let ms = (seconds.max(0.0) * 1000.0).round() as u64;
    format!(
        "{:02}:{:02}:{:02}{sep}{:03}",
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1000 % 60,
        ms % 1000
    )
}

/// Cue text is markup in WebVTT: a transcript that says "<b>" or "a & b" must stay text.
fn vtt_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// What a recording's channels were found to be (decided by `guion_speech::layout`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LayoutKind {
    /// One party per channel.
    Stereo,
    /// Two channels carrying the same signal: transcribed once, as a mono call.
    DualMono,
    /// Both parties on one channel.
    Mono,
}

impl LayoutKind {
    pub fn label(self) -> &'static str {
        match self {
            LayoutKind::Stereo => "stereo",
            LayoutKind::DualMono => "dual_mono",
            LayoutKind::Mono => "mono",
        }
    }
}

/// The layout found, and the measurement it was decided by (for the transcript and the auditor).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Layout {
    pub kind: LayoutKind,
    /// In words with the numbers, e.g. "channels correlate at 0.999 (≥ 0.95)".
    pub decided_by: String,
    /// The channel to transcribe when the call is heard as one signal (mono, dual mono, or a
    /// "stereo" file with one silent channel); `None` for a stereo call, whose channels are all kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Transcript {
        Transcript {
            layout: None,
            wrong_language: None,
            turns: Vec::new(),
            source: "call.wav".into(),
            sha256: "00".repeat(32),
            duration_s: Some(3725.5),
            language: Some("es".into()),
            model: Some(ModelId {
                name: "base".into(),
                sha256: "ab".repeat(32),
            }),
            utterances: vec![
                Utterance {
                    voice: None,
                    language: None,
                    speaker: Speaker::Agent,
                    channel: Some(0),
                    start: Some(1.25),
                    end: Some(3.5),
                    text: "Acme Seguros, buenos días <soy> Ana & co".into(),
                    words: vec![Word {
                        text: "Acme".into(),
                        start: 1.25,
                        end: 1.6,
                        p: 0.9,
                    }],
                },
                Utterance {
                    voice: None,
                    language: None,
                    speaker: Speaker::Customer,
                    channel: Some(1),
                    start: Some(3725.0),
                    end: Some(3725.4),
                    text: "Hola".into(),
                    words: vec![],
                },
            ],
        }
    }

    #[test]
    fn clock_stamp_truncates_to_the_second_and_shows_hours_only_when_there_are_some() {
        assert_eq!(clock_stamp(0.0), "0:00");
        assert_eq!(clock_stamp(64.7), "1:04");
        assert_eq!(clock_stamp(599.99), "9:59");
        assert_eq!(clock_stamp(3599.9), "59:59");
        assert_eq!(clock_stamp(3600.0), "1:00:00");
        assert_eq!(clock_stamp(3725.0), "1:02:05");
        assert_eq!(clock_stamp(36_000.0), "10:00:00");
        assert_eq!(clock_stamp(-1.0), "0:00");
        assert_eq!(clock_stamp(f64::NAN), "0:00");
    }

    #[test]
    fn clock_formats_hours_and_rounds_milliseconds() {
        assert_eq!(clock(3725.4, '.'), "01:02:05.400");
        assert_eq!(clock(0.0004, ','), "00:00:00,000");
        assert_eq!(clock(-1.0, '.'), "00:00:00.000");
    }

    #[test]
    fn vtt_has_voice_tags_and_escapes_markup() {
        let vtt = sample().render(Format::Vtt);
        assert!(vtt.starts_with("WEBVTT\n"));
        assert!(vtt.contains("00:00:01.250 --> 00:00:03.500\n<v Agent>Acme Seguros, buenos días &lt;soy&gt; Ana &amp; co\n"));
        assert!(vtt.contains("<v Customer>Hola"));
    }

    #[test]
    fn srt_numbers_cues_and_names_speakers() {
        let srt = sample().render(Format::Srt);
        assert!(srt.starts_with("1\n00:00:01,250 --> 00:00:03,500\nAgent: Acme"));
        assert!(srt.contains("\n2\n01:02:05,000 --> 01:02:05,400\nCustomer: Hola\n"));
    }

    #[test]
    fn txt_is_the_plain_line_format() {
        let txt = sample().render(Format::Txt);
        assert_eq!(
            txt.lines().collect::<Vec<_>>(),
            [
                "[0:01] AGENT: Acme Seguros, buenos días <soy> Ana & co",
                "[1:02:05] CUSTOMER: Hola"
            ]
        );
    }

    #[test]
    fn json_round_trips_with_the_documented_field_names() {
        let t = sample();
        let json = t.render(Format::Json);
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        for key in [
            "source",
            "sha256",
            "duration_s",
            "language",
            "model",
            "utterances",
        ] {
            assert!(v.get(key).is_some(), "missing {key}");
        }
        assert_eq!(v["utterances"][0]["speaker"], "agent");
        assert_eq!(
            v["utterances"][0]["words"][0]["p"].as_f64().unwrap() as f32,
            0.9
        );
        let back: Transcript = serde_json::from_str(&json).unwrap();
        assert_eq!(back, t);
    }
}
