//! `variants` and `examples`: phrases per declared language, each with balanced `{slot}`s.

use super::fields::describe;
use super::{Checker, Phrases};
use std::ops::Range;
use toml::Spanned;
use toml::de::DeValue;

impl Checker<'_> {
    /// `variants` or `examples`: language code → phrases.
    pub(super) fn phrases(
        &mut self,
        item: &Spanned<DeValue<'_>>,
        key: &str,
        languages: Option<&[String]>,
    ) -> Phrases {
        let mut phrases = Phrases::new();
        let DeValue::Table(table) = item.get_ref() else {
            self.error(
                item.span().start,
                format!(
                    "`{key}` must give phrases per language, such as {key}.es = [\"…\"], not {}",
                    describe(item.get_ref())
                ),
            );
            return phrases;
        };
        for (lang, list) in table.iter() {
            self.language_listed(lang, languages);
            let lang = lang.get_ref();
            let DeValue::Array(list) = list.get_ref() else {
                self.error(
                    list.span().start,
                    format!(
                        "`{key}.{lang}` must be an array of phrases, not {}",
                        describe(list.get_ref())
                    ),
                );
                continue;
            };
            let mut kept = Vec::new();
            for phrase in list.iter() {
                let at = phrase.span().start;
                match phrase.get_ref() {
                    DeValue::String(s) if s.trim().is_empty() => {
                        self.error(at, format!("empty phrase in `{key}.{lang}`"));
                    }
                    DeValue::String(s) => {
                        let errors = slot_errors(s);
                        for (offset, message) in &errors {
                            let at = self.inside_string(phrase.span(), s, *offset);
                            self.error(at, message.clone());
                        }
                        if errors.is_empty() {
                            kept.push(Spanned::new(phrase.span(), s.to_string()));
                        }
                    }
                    other => self.error(
                        at,
                        format!(
                            "each phrase in `{key}.{lang}` must be a string, not {}",
                            describe(other)
                        ),
                    ),
                }
            }
            phrases.insert(lang.to_string(), kept);
        }
        phrases
    }

    pub(super) fn language_listed(
        &mut self,
        lang: &Spanned<std::borrow::Cow<'_, str>>,
        languages: Option<&[String]>,
    ) {
        let Some(languages) = languages else { return };
        let code = lang.get_ref();
        if languages.iter().any(|l| l == code.as_ref()) {
            return;
        }
        let hint = match languages.iter().find(|l| l.eq_ignore_ascii_case(code)) {
            Some(same) => format!("; did you mean `{same}`?"),
            None => format!(" ({})", languages.join(", ")),
        };
        self.error(
            lang.span().start,
            format!("language `{code}` is not in [script] languages{hint}"),
        );
    }

    /// The source offset of byte `offset` of a string's decoded text, when the source spells the text
    /// as is; otherwise (escapes, a trimmed first newline) the string's opening quote.
    fn inside_string(&self, span: Range<usize>, decoded: &str, offset: usize) -> usize {
        let raw = &self.text[span.clone()];
        for quote in [3, 1] {
            if raw.get(quote..raw.len().saturating_sub(quote)) == Some(decoded) {
                return span.start + quote + offset;
            }
        }
        span.start
    }
}

/// Malformed `{slot}`s in a phrase: byte offset in the phrase and message. A slot is `{` + letters,
/// digits or `_` + `}`.
fn slot_errors(phrase: &str) -> Vec<(usize, String)> {
    let unclosed = |start: usize| {
        let shown = phrase[start..].split_whitespace().next().unwrap_or("{");
        (
            start,
            format!("unbalanced `{{`: slot `{shown}` is never closed with `}}`"),
        )
    };
    let mut errors = Vec::new();
    let mut open = None;
    for (i, c) in phrase.char_indices() {
        match c {
            '{' => {
                if let Some(start) = open.replace(i) {
                    errors.push(unclosed(start));
                }
            }
            '}' => match open.take() {
                None => errors.push((i, "unbalanced `}`: no `{` opens it".to_string())),
                Some(start) => {
                    let name = &phrase[start + 1..i];
                    if name.is_empty() {
                        errors.push((start, "empty slot `{}`: name it, as in {name}".to_string()));
                    } else if !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
                        let fixed: String = name
                            .chars()
                            .map(|c| if c.is_alphanumeric() { c } else { '_' })
                            .collect();
                        errors.push((
                            start,
                            format!(
                                "slot `{{{name}}}` may hold only letters, digits and _, as in {{{fixed}}}"
                            ),
                        ));
                    }
                }
            },
            _ => {}
        }
    }
    if let Some(start) = open {
        errors.push(unclosed(start));
    }
    errors
}

#[cfg(test)]
mod tests {
    use crate::script::tests::{check, one_step, where_};

    #[test]
    fn phrases_must_be_non_empty_with_balanced_slots() {
        let text = one_step(
            "variants.es = [\"  \", \"le atiende {name\", \"hola} {\", \"soy {}\", \"soy {agent name}\", \"¿qué tal, {nombre?\"]",
        );
        assert_eq!(
            check(&text),
            [
                "8:16: error: empty phrase in `variants.es`",
                "8:34: error: unbalanced `{`: slot `{name` is never closed with `}`",
                "8:47: error: unbalanced `}`: no `{` opens it",
                "8:49: error: unbalanced `{`: slot `{` is never closed with `}`",
                "8:58: error: empty slot `{}`: name it, as in {name}",
                "8:68: error: slot `{agent name}` may hold only letters, digits and _, as in {agent_name}",
                "8:94: error: unbalanced `{`: slot `{nombre?` is never closed with `}`",
            ]
        );
        // With an escape the decoded text no longer lines up with the source: the quote is blamed.
        assert_eq!(
            where_(&one_step("variants.es = [\"\\u00bfqu\\u00e9 tal, {name\"]")),
            ["8:16: error"]
        );
        assert_eq!(
            check(&one_step("variants.es = []")),
            ["8:1: error: `variants` holds no phrase"]
        );
        assert_eq!(
            check(&one_step("variants.es = [\"soy {nombre_1}, {ñandú}\"]")),
            [] as [&str; 0]
        );
    }

    #[test]
    fn phrases_in_undeclared_languages_are_errors() {
        let text =
            one_step("variants.es = [\"hola\"]\nvariants.ES = [\"hola\"]\nvariants.en = [\"hi\"]");
        assert_eq!(
            check(&text),
            [
                "9:10: error: language `ES` is not in [script] languages; did you mean `es`?",
                "10:10: error: language `en` is not in [script] languages (es)",
            ]
        );
        let text = format!(
            "{}[[value]]\nid = \"v\"\nname = \"V\"\ndescription.pt = \"x\"\nexamples.en = [\"y\"]\n",
            one_step("variants.es = [\"hola\"]")
        );
        assert_eq!(where_(&text), ["12:13: error", "13:10: error"]);
    }
}
