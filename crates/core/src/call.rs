//! A call as the night's list describes it, and how it came out: the metadata every rollup groups by
//! (agent, vendor, site, in-house or outsourced) and the outcome the store keeps.

use crate::record::{CallRecord, StageTimes};
use crate::transcript::WrongLanguage;
use std::path::PathBuf;
use std::str::FromStr;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Sourcing {
    Insourced,
    Outsourced,
}

impl Sourcing {
    pub fn as_str(self) -> &'static str {
        match self {
            Sourcing::Insourced => "insourced",
            Sourcing::Outsourced => "outsourced",
        }
    }

    pub fn parse(s: &str) -> Option<Sourcing> {
        match s.trim().to_ascii_lowercase().as_str() {
            "insourced" | "in-house" | "inhouse" => Some(Sourcing::Insourced),
            "outsourced" => Some(Sourcing::Outsourced),
            _ => None,
        }
    }
}

/// Which side of a recording the agent is on. Contact-centre recorders put one party per channel;
/// `mono` is for recordings where both share one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelLayout {
    AgentLeft,
    AgentRight,
    Mono,
}

crate::named!(ChannelLayout { AgentLeft => "agent-left", AgentRight => "agent-right", Mono => "mono" });

/// The languages a call may be in: one given outright, or several to decide among, per call and per
/// stretch of speech. Speech clearly in none of them makes the call `wrong_language`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LanguageChoice {
    Fixed(String),
    Detect(Vec<String>),
}

/// The languages `auto` stands for when nothing narrower is known (no script).
pub const AUTO_LANGUAGES: [&str; 2] = ["es", "en"];

/// A language code as Whisper and scripts name languages: two lowercase letters (`es`, `en`).
pub fn is_language_code(code: &str) -> bool {
    code.len() == 2 && code.chars().all(|c| c.is_ascii_lowercase())
}

impl LanguageChoice {
    /// Parses what a user wrote for a call's language (a flag, a manifest cell): `es` (fixed),
    /// `es,en,pt` (detect among those), or `auto` (detect among `auto`). Case and blanks are ignored.
    pub fn parse_or_auto(s: &str, auto: &[String]) -> Result<LanguageChoice, String> {
        let s = s.trim().to_ascii_lowercase();
        if s == "auto" {
            return Ok(LanguageChoice::Detect(auto.to_vec()));
        }
        let codes: Vec<String> = s
            .split(',')
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty())
            .collect();
        if codes.is_empty() || !codes.iter().all(|c| is_language_code(c)) {
            return Err(format!(
                "'{s}' is not a language: use es, en, auto, or a list such as es,en"
            ));
        }
        Ok(match <[String; 1]>::try_from(codes) {
            Ok([one]) => LanguageChoice::Fixed(one),
            Err(many) => LanguageChoice::Detect(many),
        })
    }
}

impl FromStr for LanguageChoice {
    type Err = String;

    /// `es`, `en` (fixed); `auto` (detect among es and en); `es,en,pt` (detect among those).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        LanguageChoice::parse_or_auto(s, &AUTO_LANGUAGES.map(String::from))
    }
}

/// What the night's list says of a call: who took it, for which vendor and site, and where it is.
/// The manifest reader makes it, the store keeps it, every rollup groups by it.
#[derive(Debug, Clone, PartialEq)]
pub struct CallMeta {
    pub call_id: String,
    /// The recording or transcript (as the manifest named it, resolved from the manifest's folder).
    pub path: PathBuf,
    pub agent_id: String,
    pub vendor: String,
    pub site: String,
    pub sourcing: Sourcing,
    pub language: Option<String>,
    pub started_at: Option<String>,
}

/// How a call came out: what the store keeps and the batch's progress reports.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Analysed: scored, or found to be in a language outside the allowed ones (then not scored;
    /// see [`CallRecord::is_scored`]).
    Scored {
        record: Box<CallRecord>,
        times: StageTimes,
    },
    Failed {
        reason: String,
    },
}

impl Outcome {
    /// The language heard, when the call was analysed and found outside the allowed ones.
    pub fn wrong_language(&self) -> Option<&WrongLanguage> {
        match self {
            Outcome::Scored { record, .. } => record.wrong_language.as_ref(),
            Outcome::Failed { .. } => None,
        }
    }
}

/// A call of some night, with its result.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredCall {
    /// The night's label (YYYY-MM-DD by convention).
    pub night: String,
    pub meta: CallMeta,
    pub outcome: Outcome,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_choices_parse() {
        assert_eq!("es".parse(), Ok(LanguageChoice::Fixed("es".into())));
        assert_eq!(
            "auto".parse(),
            Ok(LanguageChoice::Detect(vec!["es".into(), "en".into()]))
        );
        assert_eq!(
            "en, es".parse(),
            Ok(LanguageChoice::Detect(vec!["en".into(), "es".into()]))
        );
        assert!("spanish".parse::<LanguageChoice>().is_err());
        assert!("".parse::<LanguageChoice>().is_err());
    }
}
