//! Typed reads of the document's values, and unknown keys. A wrong type, an out-of-range number or a
//! misspelt key is reported at its place and the read gives nothing, so that the walk goes on with the
//! default.

use super::Checker;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

impl Checker<'_> {
    /// A `[[name]]` array's tables with where each starts; anything else under `name` is reported.
    pub(super) fn tables<'a, 'i>(
        &mut self,
        root: &'a DeTable<'i>,
        name: &str,
    ) -> Vec<(&'a DeTable<'i>, usize)> {
        let Some(item) = root.get(name) else {
            return Vec::new();
        };
        let DeValue::Array(items) = item.get_ref() else {
            self.error(
                item.span().start,
                format!("`{name}` must be an array of tables: write [[{name}]] above each one"),
            );
            return Vec::new();
        };
        let mut tables = Vec::new();
        for entry in items.iter() {
            match entry.get_ref() {
                DeValue::Table(table) => tables.push((table, entry.span().start)),
                other => self.error(
                    entry.span().start,
                    format!("each `{name}` must be a table, not {}", describe(other)),
                ),
            }
        }
        tables
    }

    pub(super) fn deny_unknown(&mut self, table: &DeTable<'_>, known: &[&str], place: &str) {
        for key in table.keys() {
            let name = key.get_ref();
            if known.contains(&name.as_ref()) {
                continue;
            }
            let hint = match closest(name, known) {
                Some(near) => format!("did you mean `{near}`?"),
                None => format!("expected one of {}", known.join(", ")),
            };
            self.error(
                key.span().start,
                format!("unknown key `{name}` in {place}; {hint}"),
            );
        }
    }

    pub(super) fn required_string(
        &mut self,
        table: &DeTable<'_>,
        key: &str,
        at: usize,
        place: &str,
    ) -> Option<Spanned<String>> {
        let Some(item) = table.get(key) else {
            self.error(at, format!("{place} has no `{key}`"));
            return None;
        };
        match item.get_ref() {
            DeValue::String(s) if s.trim().is_empty() => {
                self.error(item.span().start, format!("`{key}` must not be empty"));
                None
            }
            DeValue::String(s) => Some(Spanned::new(item.span(), s.to_string())),
            DeValue::Array(_) | DeValue::Table(_) => {
                self.error(
                    item.span().start,
                    format!("`{key}` must be a string, not {}", describe(item.get_ref())),
                );
                None
            }
            other => {
                // A bare 2026-11-01 or 3 is a date or a number to TOML; the fix is the quotes.
                let raw = &self.text[item.span()];
                self.error(
                    item.span().start,
                    format!(
                        "`{key}` must be a string, not {}; quote it: \"{raw}\"",
                        describe(other)
                    ),
                );
                None
            }
        }
    }

    pub(super) fn boolean(&mut self, table: &DeTable<'_>, key: &str) -> Option<bool> {
        let item = table.get(key)?;
        match item.get_ref() {
            DeValue::Boolean(b) => Some(*b),
            other => {
                self.error(
                    item.span().start,
                    format!("`{key}` must be true or false, not {}", describe(other)),
                );
                None
            }
        }
    }

    /// The index in `allowed` of the string under `key`; `None` when absent or reported.
    pub(super) fn keyword(
        &mut self,
        table: &DeTable<'_>,
        key: &str,
        allowed: &[&str],
    ) -> Option<usize> {
        let item = table.get(key)?;
        let DeValue::String(s) = item.get_ref() else {
            self.error(
                item.span().start,
                format!(
                    "`{key}` must be one of {}, not {}",
                    one_of(allowed),
                    describe(item.get_ref())
                ),
            );
            return None;
        };
        if let Some(index) = allowed.iter().position(|a| a == s) {
            return Some(index);
        }
        let hint = match closest(s, allowed) {
            Some(near) => format!("; did you mean `{near}`?"),
            None => String::new(),
        };
        self.error(
            item.span().start,
            format!("unknown {key} `{s}`: expected {}{hint}", one_of(allowed)),
        );
        None
    }

    /// A similarity or threshold: a number from 0 to 1.
    pub(super) fn fraction(&mut self, table: &DeTable<'_>, key: &str) -> Option<f64> {
        let item = table.get(key)?;
        let value = self.number_of(item, key)?;
        if (0.0..=1.0).contains(&value) {
            Some(value)
        } else {
            self.error(
                item.span().start,
                format!("`{key}` must be between 0 and 1, not {value}"),
            );
            None
        }
    }

    pub(super) fn number_of(&mut self, item: &Spanned<DeValue<'_>>, key: &str) -> Option<f64> {
        let parsed = match item.get_ref() {
            // Exact up to 2^53, far beyond any weight or second count.
            DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix())
                .ok()
                .map(|n| n as f64),
            DeValue::Float(f) => f.as_str().parse::<f64>().ok(),
            other => {
                self.error(
                    item.span().start,
                    format!("`{key}` must be a number, not {}", describe(other)),
                );
                return None;
            }
        };
        match parsed.filter(|v| v.is_finite()) {
            Some(v) => Some(v),
            None => {
                self.error(
                    item.span().start,
                    format!("`{key}` must be a finite number"),
                );
                None
            }
        }
    }
}

/// `agent or customer`, `low, medium or high`.
fn one_of(words: &[&str]) -> String {
    match words {
        [] => String::new(),
        [only] => (*only).to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

pub(super) fn describe(value: &DeValue<'_>) -> String {
    let article = if matches!(value, DeValue::Integer(_) | DeValue::Array(_)) {
        "an"
    } else {
        "a"
    };
    format!("{article} {}", value.type_str())
}

/// The known name a typo most likely meant: within one edit per three letters (at least one), swaps of
/// neighbours counting as one edit; or one it abbreviates (`end` for `end_s`).
fn closest<'k>(word: &str, known: &[&'k str]) -> Option<&'k str> {
    let word = word.to_lowercase();
    known
        .iter()
        .map(|&k| (strsim::osa_distance(&word, k), k))
        .filter(|&(d, k)| {
            d <= (k.chars().count() / 3).max(1) || (word.len() >= 3 && k.starts_with(&word))
        })
        .min_by_key(|&(d, _)| d)
        .map(|(_, k)| k)
}

#[cfg(test)]
mod tests {
    use crate::script::tests::{HEAD, check, one_step, where_, with_variants};

    #[test]
    fn unknown_keys_name_the_closest_known_one_or_list_them() {
        let text =
            one_step("varients.es = [\"hola\"]\nwieght = 2\ncolour = 1\nwindow = { end = 3 }");
        assert_eq!(
            check(&text)[..4],
            [
                "5:1: error: [[step]] has no `variants`, such as variants.es = [\"…\"]",
                "8:1: error: unknown key `varients` in [[step]]; did you mean `variants`?",
                "9:1: error: unknown key `wieght` in [[step]]; did you mean `weight`?",
                "10:1: error: unknown key `colour` in [[step]]; expected one of id, title, \
                 required, weight, role, order, window, min_similarity, semantic_threshold, \
                 judge_threshold, description, variants",
            ]
        );
        assert_eq!(
            check(&text)[4],
            "11:12: error: unknown key `end` in `window`; did you mean `end_s`?"
        );
        assert_eq!(
            check(&format!("{HEAD}[[steps]]\nid = \"a\"\n"))[1],
            "5:3: error: unknown key `steps` in the top level; did you mean `step`?"
        );
        assert_eq!(
            check(&format!("{HEAD}min_similarty = 0.5\n"))[1],
            "5:1: error: unknown key `min_similarty` in [script]; did you mean `min_similarity`?"
        );
    }

    #[test]
    fn values_of_the_wrong_type_are_errors() {
        let text =
            with_variants("required = \"yes\"\nweight = \"2\"\norder = 1.5\nrole = 1\nwindow = 30");
        assert_eq!(
            check(&text),
            [
                "8:12: error: `required` must be true or false, not a string",
                "9:10: error: `weight` must be a number, not a string",
                "10:9: error: `order` must be a whole number, not a float",
                "11:8: error: `role` must be one of agent or customer, not an integer",
                "12:10: error: `window` must be a table such as { end_s = 30 }, not an integer",
            ]
        );
        assert_eq!(
            check(&one_step("variants = [\"hola\"]")),
            [
                "8:12: error: `variants` must give phrases per language, such as variants.es = [\"…\"], \
              not an array"
            ]
        );
        assert_eq!(where_(&one_step("variants.es = \"hola\"")), ["8:15: error"]);
        assert_eq!(
            check(&one_step("variants.es = [\"hola\", 3]")),
            ["8:24: error: each phrase in `variants.es` must be a string, not an integer"]
        );
        assert_eq!(
            check(&format!("{HEAD}[step]\nid = \"a\"\n")),
            ["5:1: error: `step` must be an array of tables: write [[step]] above each one"]
        );
        assert_eq!(
            check(&with_variants("order = -1"))[0],
            "8:9: error: `order` must be a whole number from 0 up"
        );
    }

    #[test]
    fn similarities_and_thresholds_lie_between_0_and_1() {
        let text = format!(
            "{}[[step]]\nid = \"a\"\ntitle = \"A\"\nmin_similarity = -0.1\nsemantic_threshold = 1.01\nvariants.es = [\"hola\"]\n",
            HEAD.replace(
                "[script]\n",
                "[script]\nmin_similarity = 2\nsemantic_threshold = 1\n"
            )
        );
        assert_eq!(
            check(&text),
            [
                "2:18: error: `min_similarity` must be between 0 and 1, not 2",
                "10:18: error: `min_similarity` must be between 0 and 1, not -0.1",
                "11:22: error: `semantic_threshold` must be between 0 and 1, not 1.01",
            ]
        );
        assert_eq!(
            check(&with_variants("min_similarity = nan")),
            ["8:18: error: `min_similarity` must be a finite number"]
        );
    }
}
