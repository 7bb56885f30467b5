//! Which language a call, and each stretch of it, is in: decided from Whisper's language
//! probabilities (over every language it knows) for each chunk of speech.
//!
//! Two mistakes are worse than an honest "cannot tell": scoring a call in a language the script
//! does not cover as if it were a very bad call in an allowed one, and forcing an English sentence
//! of a Spanish call through Spanish decoding (Whisper then drops or translates it).

/// What Whisper's language detector said about one chunk of speech.
#[derive(Debug, Clone, PartialEq)]
pub struct Heard {
    /// Seconds of speech it judged.
    pub speech_s: f64,
    /// `(code, p)` over the languages the model knows.
    pub probs: Vec<(String, f32)>,
}

/// A chunk with less speech than this does not vote on its own: on a "sí" or an "okay" the
/// detector's guess is close to chance.
pub const MIN_EVIDENCE_S: f64 = 2.0;

/// A call is in a language outside the allowed ones when, over at least this much of its speech...
pub const WRONG_MIN_SPEECH_S: f64 = 8.0;
/// ...the allowed languages together hold less than this share of the detector's belief...
pub const WRONG_MAX_ALLOWED: f32 = 0.04;
/// ...and one language outside them holds at least this share. Measured on Debian's Asterisk prompts
/// (benches/language.rs): Whisper base gives Mexican Spanish at 8 kHz as little as 0.13 for es+en on
/// a 17 s prompt (0.84 Italian) and 0.05 on a 3 s one, while French, Italian and Russian prompts of
/// 8 s or more leave es+en at most 0.001 (0.03 on a 2 s Italian one: too short to judge).
pub const WRONG_MIN_FOUND: f32 = 0.8;

/// A chunk whose most likely allowed language holds less than this share among the allowed ones
/// may mix two of them: its speech regions are judged one by one.
pub const MIXED_BELOW: f32 = 0.9;

/// The call's language as decided.
#[derive(Debug, Clone, PartialEq)]
pub enum CallLanguage {
    /// No speech to judge by.
    NoSpeech,
    /// The main language among the allowed ones (stretches may still differ).
    Allowed(String),
    /// Clearly a language outside the allowed ones: `found` with its share `p`, against `allowed_p`
    /// for the allowed ones together.
    Wrong {
        found: String,
        p: f32,
        allowed_p: f32,
    },
}

/// Speech-weighted belief per language over the chunks that hold enough speech to judge (all of
/// them when none does).
fn belief(heard: &[Heard]) -> Vec<(String, f32)> {
    let judged: Vec<&Heard> = heard
        .iter()
        .filter(|h| h.speech_s >= MIN_EVIDENCE_S)
        .collect();
    let judged: Vec<&Heard> = if judged.is_empty() {
        heard.iter().collect()
    } else {
        judged
    };
    let total: f64 = judged.iter().map(|h| h.speech_s).sum();
    let mut acc: Vec<(String, f32)> = Vec::new();
    for h in &judged {
        let w = if total > 0.0 {
            h.speech_s / total
        } else {
            1.0 / judged.len() as f64
        };
        for (code, p) in &h.probs {
            match acc.iter_mut().find(|(c, _)| c == code) {
                Some((_, sum)) => *sum += p * w as f32,
                None => acc.push((code.clone(), p * w as f32)),
            }
        }
    }
    acc
}

fn share(probs: &[(String, f32)], allowed: &[String]) -> f32 {
    probs
        .iter()
        .filter(|(c, _)| allowed.contains(c))
        .map(|(_, p)| p)
        .sum()
}

/// The most likely allowed language, with its share among the allowed ones.
fn best_allowed(probs: &[(String, f32)], allowed: &[String]) -> Option<(String, f32)> {
    let total = share(probs, allowed);
    allowed
        .iter()
        .map(|a| {
            let p = probs.iter().find(|(c, _)| c == a).map_or(0.0, |(_, p)| *p);
            (a.clone(), p)
        })
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(a, p)| (a, if total > 0.0 { p / total } else { 0.0 }))
}

/// The call's language from every chunk of its speech (both parties), among `allowed`.
pub fn call_language(heard: &[Heard], allowed: &[String]) -> CallLanguage {
    if heard.iter().all(|h| h.probs.is_empty()) || allowed.is_empty() {
        return CallLanguage::NoSpeech;
    }
    let belief = belief(heard);
    let allowed_p = share(&belief, allowed);
    let top = belief
        .iter()
        .filter(|(c, _)| !allowed.contains(c))
        .max_by(|a, b| a.1.total_cmp(&b.1));
    let judged_s: f64 = heard
        .iter()
        .filter(|h| h.speech_s >= MIN_EVIDENCE_S)
        .map(|h| h.speech_s)
        .sum();
    if let Some((found, p)) = top
        && judged_s >= WRONG_MIN_SPEECH_S
        && allowed_p < WRONG_MAX_ALLOWED
        && *p >= WRONG_MIN_FOUND
    {
        return CallLanguage::Wrong {
            found: found.clone(),
            p: *p,
            allowed_p,
        };
    }
    match best_allowed(&belief, allowed) {
        Some((lang, _)) => CallLanguage::Allowed(lang),
        None => CallLanguage::NoSpeech,
    }
}

/// The language to decode one chunk (or one region) in: its own most likely allowed language when
/// it holds enough speech to judge, else the call's.
pub fn stretch_language(heard: &Heard, allowed: &[String], call: &str) -> String {
    if heard.speech_s < MIN_EVIDENCE_S || allowed.len() < 2 {
        return call.to_string();
    }
    best_allowed(&heard.probs, allowed).map_or_else(|| call.to_string(), |(lang, _)| lang)
}

/// Among the allowed languages, the share the most likely one must hold for a short piece of
/// speech to be called that language on its own; a closer call is left to its neighbours.
pub const CLEAR_ABOVE: f32 = 0.65;

/// The probability, over every language, the most likely allowed one must hold as well: a short
/// piece the detector spreads over many languages is not clear, whatever the allowed ones' shares
/// (3 s of Spanish heard as en 0.46, es 0.16, id 0.11 was decoded, and translated, as English).
pub const CLEAR_AT_LEAST: f32 = 0.5;

/// A piece's own language, when it holds enough speech and the detector is clear about it.
pub fn clear_language(heard: &Heard, allowed: &[String]) -> Option<String> {
    if heard.speech_s < MIN_EVIDENCE_S {
        return None;
    }
    let p = |lang: &str| {
        heard
            .probs
            .iter()
            .find(|(c, _)| c == lang)
            .map_or(0.0, |(_, p)| *p)
    };
    best_allowed(&heard.probs, allowed)
        .filter(|(lang, share)| *share >= CLEAR_ABOVE && p(lang) >= CLEAR_AT_LEAST)
        .map(|(lang, _)| lang)
}

/// Groups consecutive pieces by language: a piece with no clear language of its own goes with the
/// one before it (the first ones with the first that has one; all with `fallback` when none has).
/// Returns `(language, first piece, past the last piece)`.
pub fn runs(langs: &[Option<String>], fallback: &str) -> Vec<(String, usize, usize)> {
    let first = langs
        .iter()
        .flatten()
        .next()
        .map_or(fallback, String::as_str);
    let mut out: Vec<(String, usize, usize)> = Vec::new();
    for (i, lang) in langs.iter().enumerate() {
        match (out.last_mut(), lang) {
            (Some(run), None) => run.2 = i + 1,
            (Some(run), Some(l)) if run.0 == *l => run.2 = i + 1,
            (_, lang) => out.push((lang.as_deref().unwrap_or(first).to_string(), i, i + 1)),
        }
    }
    out
}

/// Whether a chunk may hold two allowed languages, so that its regions should be judged apart.
pub fn may_mix(heard: &Heard, allowed: &[String]) -> bool {
    allowed.len() >= 2
        && best_allowed(&heard.probs, allowed).is_some_and(|(_, share)| share < MIXED_BELOW)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn heard(speech_s: f64, probs: &[(&str, f32)]) -> Heard {
        Heard {
            speech_s,
            probs: probs.iter().map(|(c, p)| (c.to_string(), *p)).collect(),
        }
    }

    fn allowed(codes: &[&str]) -> Vec<String> {
        codes.iter().map(|c| c.to_string()).collect()
    }

    #[test]
    fn a_call_in_an_allowed_language_is_that_language() {
        let es_en = allowed(&["es", "en"]);
        let h = [
            heard(20.0, &[("es", 0.8), ("pt", 0.1), ("en", 0.05)]),
            heard(10.0, &[("es", 0.6), ("gl", 0.3), ("en", 0.1)]),
        ];
        assert_eq!(
            call_language(&h, &es_en),
            CallLanguage::Allowed("es".into())
        );
        // Accent-heavy Spanish that the detector half takes for Portuguese is still Spanish.
        let h = [heard(25.0, &[("pt", 0.55), ("es", 0.35), ("gl", 0.1)])];
        assert_eq!(
            call_language(&h, &es_en),
            CallLanguage::Allowed("es".into())
        );
        // Seen on a 17 s Mexican prompt at 8 kHz: mostly "Italian", yet Spanish.
        let h = [heard(17.2, &[("it", 0.84), ("es", 0.125), ("en", 0.003)])];
        assert_eq!(
            call_language(&h, &es_en),
            CallLanguage::Allowed("es".into())
        );
        // Too little speech to condemn a call, however sure the detector is.
        let h = [heard(2.3, &[("it", 0.97), ("es", 0.029)])];
        assert_eq!(
            call_language(&h, &es_en),
            CallLanguage::Allowed("es".into())
        );
    }

    #[test]
    fn a_call_clearly_in_another_language_is_wrong_language() {
        let h = [
            heard(
                30.0,
                &[("hu", 0.93), ("en", 0.01), ("fi", 0.05), ("es", 0.001)],
            ),
            heard(12.0, &[("hu", 0.99), ("en", 0.005)]),
        ];
        match call_language(&h, &allowed(&["es", "en"])) {
            CallLanguage::Wrong {
                found,
                p,
                allowed_p,
            } => {
                assert_eq!(found, "hu");
                assert!(p > 0.9 && allowed_p < 0.02, "{p} {allowed_p}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_short_allowed_aside_does_not_rescue_a_foreign_call_nor_condemn_an_allowed_one() {
        let es = allowed(&["es"]);
        // A two-second "sí" that reads as Spanish does not outvote a minute of Russian.
        let h = [
            heard(60.0, &[("ru", 0.95), ("uk", 0.03)]),
            heard(1.0, &[("es", 0.99)]),
        ];
        assert!(matches!(call_language(&h, &es), CallLanguage::Wrong { .. }));
        // A short English word at the start does not make a Spanish call foreign.
        let h = [
            heard(1.5, &[("en", 0.99)]),
            heard(40.0, &[("es", 0.9), ("en", 0.05)]),
        ];
        assert_eq!(call_language(&h, &es), CallLanguage::Allowed("es".into()));
    }

    #[test]
    fn pieces_group_into_runs_and_unclear_pieces_follow_their_neighbours() {
        let es_en = allowed(&["es", "en"]);
        // A near tie is not clear; a short piece is not judged at all.
        assert_eq!(
            clear_language(&heard(3.0, &[("en", 0.36), ("es", 0.35)]), &es_en),
            None
        );
        assert_eq!(clear_language(&heard(1.0, &[("en", 0.99)]), &es_en), None);
        // A clear share of the allowed languages but a weak belief overall is not clear either.
        assert_eq!(
            clear_language(
                &heard(3.2, &[("en", 0.46), ("es", 0.16), ("id", 0.11)]),
                &es_en
            ),
            None
        );
        assert_eq!(
            clear_language(&heard(4.0, &[("es", 0.84), ("en", 0.06)]), &es_en),
            Some("es".into())
        );
        let l = |s: &str| Some(s.to_string());
        assert_eq!(
            runs(&[None, l("es"), l("es"), None, l("en"), l("en")], "en"),
            [("es".to_string(), 0, 4), ("en".to_string(), 4, 6)]
        );
        assert_eq!(runs(&[None, None], "es"), [("es".to_string(), 0, 2)]);
        assert!(runs(&[], "es").is_empty());
    }

    #[test]
    fn no_speech_is_no_language() {
        assert_eq!(
            call_language(&[], &allowed(&["es"])),
            CallLanguage::NoSpeech
        );
    }

    #[test]
    fn stretches_take_their_own_allowed_language_when_they_can_be_judged() {
        let es_en = allowed(&["es", "en"]);
        let english = heard(6.0, &[("en", 0.7), ("es", 0.2), ("de", 0.1)]);
        assert_eq!(stretch_language(&english, &es_en, "es"), "en");
        // Too short to judge, or only one language allowed: the call's.
        let short = heard(1.0, &[("en", 0.9)]);
        assert_eq!(stretch_language(&short, &es_en, "es"), "es");
        assert_eq!(stretch_language(&english, &allowed(&["es"]), "es"), "es");
        // A chunk split between the two may mix them; a clear one does not.
        assert!(may_mix(&heard(20.0, &[("es", 0.5), ("en", 0.4)]), &es_en));
        assert!(!may_mix(
            &heard(20.0, &[("es", 0.95), ("en", 0.02)]),
            &es_en
        ));
        assert!(!may_mix(
            &heard(20.0, &[("es", 0.5), ("en", 0.4)]),
            &allowed(&["es"])
        ));
    }
}
