//! Warnings about the script as a whole, once every item is read: ids used twice, weights and
//! requirements that make scoring meaningless, steps the aligner cannot tell apart, forbidden phrases
//! inside steps.

use super::{Checker, Read, line_column};
use crate::normalize::{self, Lang};
use crate::script::{Forbidden, Step};
use std::collections::BTreeMap;

impl Checker<'_> {
    pub(super) fn duplicate_ids<T>(&mut self, kind: &str, items: &[Read<T>]) {
        for (i, item) in items.iter().enumerate() {
            let Some(id) = &item.id else { continue };
            let first = items[..i]
                .iter()
                .filter_map(|earlier| earlier.id.as_ref())
                .find(|earlier| earlier.get_ref() == id.get_ref());
            if let Some(first) = first {
                let (line, _) = line_column(self.text, first.span().start);
                self.warning(
                    id.span().start,
                    format!(
                        "duplicate {kind} id `{}` (first on line {line}): results could not tell them apart",
                        id.get_ref()
                    ),
                );
            }
        }
    }

    pub(super) fn adherence_checks(&mut self, steps: &[Read<Step>]) {
        let Some(first) = steps.first() else {
            return;
        };
        if steps.iter().all(|s| s.item.weight == 0.0) {
            self.warning(
                first.at,
                "every step has weight 0: the adherence score would be 0 / 0",
            );
        }
        if !steps.iter().any(|s| s.item.required) {
            self.warning(
                first.at,
                "no step is required: every call would pass whatever is said",
            );
        }
    }

    /// Two steps with the same phrase (as the aligner compares them) are one step twice.
    pub(super) fn indistinct_variants(&mut self, steps: &[Read<Step>]) {
        // (language, words) → where first seen and in which step (by position: ids may repeat).
        let mut seen: BTreeMap<(&str, Vec<String>), (usize, usize)> = BTreeMap::new();
        for (index, step) in steps.iter().enumerate() {
            for (lang, phrases) in &step.phrases {
                for phrase in phrases {
                    let words = normalize::words(phrase.get_ref(), Lang::from_code(lang));
                    if words.is_empty() {
                        continue;
                    }
                    let here = phrase.span().start;
                    let Some(&(there, owner)) = seen.get(&(lang.as_str(), words.clone())) else {
                        seen.insert((lang, words), (here, index));
                        continue;
                    };
                    let (line, _) = line_column(self.text, there);
                    let message = if owner == index {
                        format!("repeats the variant on line {line} of the same step")
                    } else {
                        format!(
                            "same variant as step `{}` (line {line}): the alignment could not tell \
                             the two steps apart",
                            steps[owner].item.id
                        )
                    };
                    self.warning(here, message);
                }
            }
        }
    }

    /// A step written with a forbidden phrase in it flags every agent who follows the script.
    pub(super) fn forbidden_in_steps(
        &mut self,
        steps: &[Read<Step>],
        forbidden: &[Read<Forbidden>],
    ) {
        for group in forbidden {
            for (lang, banned) in &group.phrases {
                let language = Lang::from_code(lang);
                for ban in banned {
                    let needle = normalize::words(ban.get_ref(), language);
                    if needle.is_empty() {
                        continue;
                    }
                    for step in steps {
                        for phrase in step.phrases.get(lang).into_iter().flatten() {
                            let hay = normalize::words(phrase.get_ref(), language);
                            if hay.windows(needle.len()).any(|w| w == needle.as_slice()) {
                                self.warning(
                                    phrase.span().start,
                                    format!(
                                        "step `{}` contains \"{}\", forbidden by `{}`: an agent saying this variant would be flagged",
                                        step.item.id,
                                        ban.get_ref(),
                                        group.item.id
                                    ),
                                );
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::script::tests::{HEAD, check};

    #[test]
    fn duplicate_ids_warn_within_each_kind() {
        let text = format!(
            "{HEAD}[[step]]\nid = \"a\"\ntitle = \"A\"\nvariants.es = [\"hola\"]\n\
             [[step]]\nid = \"a\"\ntitle = \"B\"\nvariants.es = [\"adiós\"]\n\
             [[forbidden]]\nid = \"a\"\nseverity = \"low\"\nvariants.es = [\"tonto\"]\n\
             [[forbidden]]\nid = \"a\"\nseverity = \"low\"\nvariants.es = [\"bobo\"]\n\
             [[value]]\nid = \"v\"\nname = \"V\"\n[[value]]\nid = \"v\"\nname = \"W\"\n"
        );
        assert_eq!(
            check(&text),
            [
                "10:6: warning: duplicate step id `a` (first on line 6): results could not tell them apart",
                "18:6: warning: duplicate forbidden id `a` (first on line 14): results could not tell them apart",
                "25:6: warning: duplicate value id `v` (first on line 22): results could not tell them apart",
            ]
        );
    }

    #[test]
    fn weights_all_zero_and_nothing_required_warn() {
        let text = format!(
            "{HEAD}[[step]]\nid = \"a\"\ntitle = \"A\"\nweight = 0\nrequired = false\nvariants.es = [\"hola\"]\n\
             [[step]]\nid = \"b\"\ntitle = \"B\"\nweight = 0\nrequired = false\nvariants.es = [\"adiós\"]\n"
        );
        assert_eq!(
            check(&text),
            [
                "5:1: warning: every step has weight 0: the adherence score would be 0 / 0",
                "5:1: warning: no step is required: every call would pass whatever is said",
            ]
        );
    }

    #[test]
    fn phrases_the_aligner_cannot_tell_apart_warn() {
        let text = format!(
            "{HEAD}[[step]]\nid = \"a\"\ntitle = \"A\"\nvariants.es = [\"Hola, buenos días\", \"hola buenos dias\"]\n\
             [[step]]\nid = \"b\"\ntitle = \"B\"\nvariants.es = [\"¡HOLA! Buenos días.\"]\n"
        );
        assert_eq!(
            check(&text),
            [
                "8:37: warning: repeats the variant on line 8 of the same step",
                "12:16: warning: same variant as step `a` (line 8): the alignment could not tell the two steps apart",
            ]
        );
    }

    #[test]
    fn a_forbidden_phrase_inside_a_step_warns() {
        let text = format!(
            "{HEAD}[[step]]\nid = \"a\"\ntitle = \"A\"\nvariants.es = [\"Le GARANTIZO la cobertura\", \"le garantizamos\"]\n\
             [[forbidden]]\nid = \"promise\"\nseverity = \"high\"\nvariants.es = [\"le garantizo\"]\n"
        );
        assert_eq!(
            check(&text),
            [
                "8:16: warning: step `a` contains \"le garantizo\", forbidden by `promise`: \
              an agent saying this variant would be flagged"
            ]
        );
    }
}
