//! The baseline a trained tone head must beat: a hand-written cue lexicon (`models/tone/lexicon.csv`,
//! columns language,label,cue). The label with the most cue hits wins; no hit means neutral. It is
//! what a QA team would build with a spreadsheet, so it is the honest yardstick for the encoder.

use guion_core::normalize::{self, Lang};

pub const EMBEDDED: &str = include_str!("../../../models/tone/lexicon.csv");

/// When two labels have as many hits, the more serious finding wins: missing a dismissive agent
/// costs a brand more than missing an empathetic one.
const PRIORITY: [&str; 4] = ["dismissive", "impatient", "empathetic", "courteous"];

#[derive(Debug, Clone)]
pub struct Lexicon {
    /// (language, label, cue words normalised)
    cues: Vec<(String, String, Vec<String>)>,
}

impl Lexicon {
    pub fn parse(text: &str) -> Result<Lexicon, String> {
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let mut cues = Vec::new();
        for (i, row) in reader.records().enumerate() {
            let row = row.map_err(|e| format!("lexicon.csv line {}: {e}", i + 2))?;
            let (Some(lang), Some(label), Some(cue)) = (row.get(0), row.get(1), row.get(2)) else {
                return Err(format!(
                    "lexicon.csv line {}: expected language,label,cue",
                    i + 2
                ));
            };
            let words = normalize::words(cue, Lang::from_code(lang));
            if !words.is_empty() {
                cues.push((lang.to_string(), label.to_string(), words));
            }
        }
        Ok(Lexicon { cues })
    }

    pub fn embedded() -> Lexicon {
        Lexicon::parse(EMBEDDED).expect("the embedded lexicon is checked by a unit test")
    }

    /// The lexicon's tone for `text` in `language`.
    pub fn predict(&self, text: &str, language: &str) -> &str {
        let words = normalize::words(text, Lang::from_code(language));
        let mut hits: Vec<(&str, usize)> = Vec::new();
        for (lang, label, cue) in &self.cues {
            if lang != language || cue.len() > words.len() {
                continue;
            }
            let n = words
                .windows(cue.len())
                .filter(|w| *w == cue.as_slice())
                .count();
            if n > 0 {
                match hits.iter_mut().find(|(l, _)| l == label) {
                    Some((_, count)) => *count += n,
                    None => hits.push((label, n)),
                }
            }
        }
        let rank = |label: &str| {
            PRIORITY
                .iter()
                .position(|p| *p == label)
                .unwrap_or(PRIORITY.len())
        };
        hits.iter()
            .max_by(|a, b| a.1.cmp(&b.1).then(rank(b.0).cmp(&rank(a.0))))
            .map_or("neutral", |(label, _)| label)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_lexicon_parses_and_covers_both_languages() {
        let lexicon = Lexicon::embedded();
        for lang in ["es", "en"] {
            for label in PRIORITY {
                assert!(
                    lexicon.cues.iter().any(|(l, t, _)| l == lang && t == label),
                    "no {label} cue for {lang}"
                );
            }
        }
    }

    #[test]
    fn most_hits_win_and_ties_go_to_the_serious_label() {
        let lexicon = Lexicon::parse(
            "language,label,cue\nen,courteous,please\nen,courteous,thank you\nen,impatient,as i said\nen,empathetic,sorry\n",
        )
        .unwrap();
        assert_eq!(lexicon.predict("Thank you, please hold", "en"), "courteous");
        assert_eq!(lexicon.predict("As I said, please hold", "en"), "impatient");
        assert_eq!(
            lexicon.predict("Your card was sent on Monday", "en"),
            "neutral"
        );
        assert_eq!(lexicon.predict("Thank you, please hold", "es"), "neutral");
    }
}
