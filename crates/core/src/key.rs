//! A stored result's key: the call's content and everything that decides what guion makes of it
//! (the analysis version, the script, the models, the options). Two runs with the same key give the
//! same record, so the store reuses it; anything that can change a record must be in here.

use crate::call::ChannelLayout;
use crate::hash::sha256_bytes;
use std::path::Path;

/// Part of every stored result's key: raise it when a change to guion makes the same input and the
/// same models give a different record, so that stored nights are analysed again rather than reused.
/// 2: Whisper segments are cut at pauses. 3: channel layout, language per stretch, chunked decoding.
/// 4: steps keep their similarity by words and by meaning (for calibration); the judge.
/// 5: Whisper runs on CTranslate2 (int8), words timed by cross-attention alignment.
/// 6: the record keeps where PII was said (`pii_heard`), without which no clip of it is cut;
/// digits read out one by one are hidden; a sentence said twice in two stretches of speech is kept.
/// 7: a window Whisper ended (or jumped) over speech it did not write is decoded again from there.
/// 8: what Whisper leaves of the chunks is decoded in shared windows.
pub const ANALYSIS_VERSION: u32 = 8;

/// What hears a recording (absent for a transcript).
#[derive(Debug, Clone, PartialEq)]
pub struct Hearing {
    pub asr_model: String,
    pub beam: usize,
    /// The customer channel's beam, when it differs from `beam` (only the agent scored).
    pub customer_beam: Option<usize>,
    /// Whether Whisper was given the script's words as its initial prompt.
    pub prompt: bool,
    /// The speech detector's id.
    pub speech: String,
}

/// What judges meaning (absent with words only).
#[derive(Debug, Clone, PartialEq)]
pub struct Meaning {
    pub encoder: String,
    pub tone_head: String,
    /// A value head's id, or `prototypes:<script>@<version>#<digest of method, examples and ordinary lines>`.
    pub values: String,
    /// The judge model's id, when steps unfound by words and encoder are judged.
    pub judge: Option<String>,
}

/// Everything but the content that decides a call's record.
#[derive(Debug, Clone, PartialEq)]
pub struct Determinants {
    pub script_id: String,
    pub script_version: String,
    pub hearing: Option<Hearing>,
    pub meaning: Option<Meaning>,
    pub redact: bool,
    pub channels: Option<ChannelLayout>,
    /// As the manifest gave it; `None` is auto.
    pub language: Option<String>,
}

impl Determinants {
    /// The determinants as one readable line, stored beside each result
    /// (`analysis=8 script=acme@2 asr=base beam=5 … redact=true channels=None language=auto`).
    pub fn ids(&self) -> String {
        let mut ids = vec![
            format!("analysis={ANALYSIS_VERSION}"),
            format!("script={}@{}", self.script_id, self.script_version),
        ];
        if let Some(h) = &self.hearing {
            let customer = h
                .customer_beam
                .map_or(String::new(), |b| format!(" customer_beam={b}"));
            ids.push(format!(
                "asr={} beam={}{customer} prompt={} speech={}",
                h.asr_model, h.beam, h.prompt, h.speech
            ));
        }
        if let Some(m) = &self.meaning {
            ids.push(format!(
                "encoder={} tone={} values={}",
                m.encoder, m.tone_head, m.values
            ));
            if let Some(judge) = &m.judge {
                ids.push(format!("judge={judge}"));
            }
        }
        ids.push(format!("redact={}", self.redact));
        // Debug spelling (`Some(AgentLeft)`) kept as stored keys have it, so stored nights are reused.
        ids.push(format!(
            "channels={:?} language={}",
            self.channels,
            self.language.as_deref().unwrap_or("auto")
        ));
        ids.join(" ")
    }
}

/// The key of a call's result: its content's sha256 and the determinants' line.
pub fn result_key(content_sha256: &str, ids: &str) -> String {
    sha256_bytes(format!("{content_sha256} {ids}").as_bytes())
}

/// The key of a call whose content could not be read: its path and the reason, so that the failure
/// is stored once per path and reason and retried on the next run.
pub fn unreadable_key(path: &Path, reason: &str) -> String {
    sha256_bytes(format!("unreadable {} {}", path.display(), reason).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transcript_call() -> Determinants {
        Determinants {
            script_id: "acme".into(),
            script_version: "2".into(),
            hearing: None,
            meaning: None,
            redact: true,
            channels: None,
            language: None,
        }
    }

    #[test]
    fn the_ids_line_is_spelled_as_stored_keys_have_it() {
        let d = Determinants {
            hearing: Some(Hearing {
                asr_model: "base".into(),
                beam: 5,
                customer_beam: Some(1),
                prompt: true,
                speech: "silero-vad:abc".into(),
            }),
            meaning: Some(Meaning {
                encoder: "e5:1".into(),
                tone_head: "tone-1".into(),
                values: "prototypes:acme@2".into(),
                judge: None,
            }),
            channels: Some(ChannelLayout::AgentLeft),
            language: Some("es".into()),
            ..transcript_call()
        };
        assert_eq!(
            d.ids(),
            "analysis=8 script=acme@2 asr=base beam=5 customer_beam=1 prompt=true speech=silero-vad:abc \
             encoder=e5:1 tone=tone-1 values=prototypes:acme@2 redact=true \
             channels=Some(AgentLeft) language=es"
        );
        assert_eq!(
            transcript_call().ids(),
            "analysis=8 script=acme@2 redact=true channels=None language=auto"
        );
    }

    #[test]
    fn any_determinant_changes_the_key() {
        let base = transcript_call();
        let key = |d: &Determinants| result_key("c0ffee", &d.ids());
        let others = [
            Determinants {
                redact: false,
                ..base.clone()
            },
            Determinants {
                language: Some("en".into()),
                ..base.clone()
            },
            Determinants {
                channels: Some(ChannelLayout::Mono),
                ..base.clone()
            },
            Determinants {
                script_version: "3".into(),
                ..base.clone()
            },
        ];
        for other in &others {
            assert_ne!(key(&base), key(other), "{}", other.ids());
        }
        assert_ne!(key(&base), result_key("c0ffef", &base.ids()));
        assert_eq!(key(&base), key(&transcript_call()));
    }
}
