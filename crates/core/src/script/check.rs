//! The checker behind [`Script::check`]: it reads the document item by item, gives each value in error
//! its default, and collects every error and warning at its byte offset until `finish` turns them into
//! lines and columns.

mod fields;
mod lints;
mod phrases;
mod window;

use super::{
    Diagnostic, DiagnosticLevel, Forbidden, Role, Script, Severity, Step, Value, Variants,
};
use fields::describe;
use std::collections::BTreeMap;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

const DEFAULT_MIN_SIMILARITY: f64 = 0.75;

const TOP_KEYS: &[&str] = &["script", "step", "forbidden", "value"];
const SCRIPT_KEYS: &[&str] = &[
    "id",
    "version",
    "languages",
    "min_similarity",
    "semantic_threshold",
    "judge_threshold",
];
const STEP_KEYS: &[&str] = &[
    "id",
    "title",
    "required",
    "weight",
    "role",
    "order",
    "window",
    "min_similarity",
    "semantic_threshold",
    "judge_threshold",
    "description",
    "variants",
];
const FORBIDDEN_KEYS: &[&str] = &["id", "severity", "variants"];
const VALUE_KEYS: &[&str] = &["id", "name", "description", "examples"];
const ROLES: &[&str] = &["agent", "customer"];
const SEVERITIES: &[&str] = &["low", "medium", "high"];

/// Phrases with where each sits in the file, for the checks that compare steps with one another.
type Phrases = BTreeMap<String, Vec<Spanned<String>>>;

fn unspanned(phrases: &Phrases) -> Variants {
    phrases
        .iter()
        .map(|(lang, list)| {
            (
                lang.clone(),
                list.iter().map(|p| p.get_ref().clone()).collect(),
            )
        })
        .collect()
}

/// An item as read, with the spans its warnings point at.
struct Read<T> {
    item: T,
    /// The `[[step]]` header (or inline table) that starts it.
    at: usize,
    id: Option<Spanned<String>>,
    phrases: Phrases,
}

struct Header {
    id: String,
    version: String,
    /// `None` when missing or malformed: then phrases cannot be checked against it.
    languages: Option<Vec<String>>,
    min_similarity: f64,
    semantic_threshold: Option<f64>,
    judge_threshold: Option<f64>,
    at: usize,
}

struct Checker<'t> {
    text: &'t str,
    file: &'t str,
    /// Byte offset, level, message.
    found: Vec<(usize, DiagnosticLevel, String)>,
}

pub(super) fn run(text: &str, file: &str) -> (Option<Script>, Vec<Diagnostic>) {
    let mut checker = Checker {
        text,
        file,
        found: Vec::new(),
    };
    let (root, syntax) = DeTable::parse_recoverable(text);
    let script = if syntax.is_empty() {
        Some(checker.document(root.get_ref()))
    } else {
        // The recovered tree holds placeholders where the syntax broke; checking it would add
        // errors about values nobody wrote.
        for error in &syntax {
            let at = error.span().map_or(0, |span| span.start);
            checker.error(at, error.message().to_string());
        }
        None
    };
    (script, checker.finish())
}

impl Checker<'_> {
    fn error(&mut self, at: usize, message: impl Into<String>) {
        self.found
            .push((at, DiagnosticLevel::Error, message.into()));
    }

    fn warning(&mut self, at: usize, message: impl Into<String>) {
        self.found
            .push((at, DiagnosticLevel::Warning, message.into()));
    }

    fn finish(mut self) -> Vec<Diagnostic> {
        self.found
            .sort_by_key(|&(at, level, _)| (at, level == DiagnosticLevel::Warning));
        self.found
            .into_iter()
            .map(|(at, severity, message)| {
                let (line, column) = line_column(self.text, at);
                Diagnostic {
                    file: self.file.to_string(),
                    line,
                    column,
                    severity,
                    message,
                }
            })
            .collect()
    }

    fn document(&mut self, root: &DeTable<'_>) -> Script {
        self.deny_unknown(root, TOP_KEYS, "the top level");
        let header = self.header(root.get("script"));
        let languages = header.languages.as_deref();
        let steps: Vec<Read<Step>> = self
            .tables(root, "step")
            .into_iter()
            .scan(0u32, |order, (table, at)| {
                let step = self.step(table, at, *order, languages);
                *order = step.item.order;
                Some(step)
            })
            .collect();
        let forbidden: Vec<Read<Forbidden>> = self
            .tables(root, "forbidden")
            .into_iter()
            .map(|(table, at)| self.forbidden(table, at, languages))
            .collect();
        let values: Vec<Read<Value>> = self
            .tables(root, "value")
            .into_iter()
            .map(|(table, at)| self.value(table, at, languages))
            .collect();

        self.duplicate_ids("step", &steps);
        self.duplicate_ids("forbidden", &forbidden);
        self.duplicate_ids("value", &values);
        if !root.contains_key("step") {
            self.warning(
                header.at,
                "the script has no [[step]]: adherence cannot be scored",
            );
        }
        self.adherence_checks(&steps);
        self.indistinct_variants(&steps);
        self.forbidden_in_steps(&steps, &forbidden);

        Script {
            id: header.id,
            version: header.version,
            languages: header.languages.unwrap_or_default(),
            min_similarity: header.min_similarity,
            semantic_threshold: header.semantic_threshold,
            judge_threshold: header.judge_threshold,
            steps: steps.into_iter().map(|r| r.item).collect(),
            forbidden: forbidden.into_iter().map(|r| r.item).collect(),
            values: values.into_iter().map(|r| r.item).collect(),
        }
    }

    fn header(&mut self, item: Option<&Spanned<DeValue<'_>>>) -> Header {
        let mut header = Header {
            id: String::new(),
            version: String::new(),
            languages: None,
            min_similarity: DEFAULT_MIN_SIMILARITY,
            semantic_threshold: None,
            judge_threshold: None,
            at: 0,
        };
        let Some(item) = item else {
            self.error(0, "missing [script] table with id, version and languages");
            return header;
        };
        header.at = item.span().start;
        let DeValue::Table(table) = item.get_ref() else {
            self.error(
                item.span().start,
                "`script` must be a table: write [script], then its keys",
            );
            return header;
        };
        self.deny_unknown(table, SCRIPT_KEYS, "[script]");
        let at = header.at;
        let mut string = |key| {
            self.required_string(table, key, at, "[script]")
                .map(Spanned::into_inner)
                .unwrap_or_default()
        };
        header.id = string("id");
        header.version = string("version");
        header.languages = self.languages(table, at);
        if let Some(v) = self.fraction(table, "min_similarity") {
            header.min_similarity = v;
        }
        header.semantic_threshold = self.fraction(table, "semantic_threshold");
        header.judge_threshold = self.fraction(table, "judge_threshold");
        header
    }

    fn languages(&mut self, table: &DeTable<'_>, at: usize) -> Option<Vec<String>> {
        let Some(item) = table.get("languages") else {
            self.error(
                at,
                "[script] has no `languages`, such as languages = [\"es\", \"en\"]",
            );
            return None;
        };
        let DeValue::Array(list) = item.get_ref() else {
            self.error(
                item.span().start,
                format!(
                    "`languages` must be an array of language codes, not {}",
                    describe(item.get_ref())
                ),
            );
            return None;
        };
        if list.is_empty() {
            self.error(
                item.span().start,
                "`languages` is empty: name at least one, such as \"es\"",
            );
            return None;
        }
        let mut languages: Vec<String> = Vec::new();
        let mut valid = true;
        for code in list.iter() {
            match code.get_ref() {
                DeValue::String(s) if s.trim().is_empty() => {
                    self.error(code.span().start, "empty language code");
                    valid = false;
                }
                DeValue::String(s) if !crate::call::is_language_code(s) => {
                    self.error(
                        code.span().start,
                        format!("`{s}` is not a language code such as \"es\" or \"en\""),
                    );
                    valid = false;
                }
                DeValue::String(s) if languages.iter().any(|l| l == s.as_ref()) => {
                    self.warning(code.span().start, format!("language `{s}` is listed twice"));
                }
                DeValue::String(s) => languages.push(s.to_string()),
                other => {
                    self.error(
                        code.span().start,
                        format!("a language code must be a string, not {}", describe(other)),
                    );
                    valid = false;
                }
            }
        }
        valid.then_some(languages)
    }

    fn step(
        &mut self,
        table: &DeTable<'_>,
        at: usize,
        previous_order: u32,
        languages: Option<&[String]>,
    ) -> Read<Step> {
        self.deny_unknown(table, STEP_KEYS, "[[step]]");
        let id = self.required_string(table, "id", at, "[[step]]");
        let title = self.required_string(table, "title", at, "[[step]]");
        let required = self.boolean(table, "required").unwrap_or(true);
        let weight = match table.get("weight") {
            None => 1.0,
            Some(item) => match self.number_of(item, "weight") {
                Some(w) if w < 0.0 => {
                    self.error(
                        item.span().start,
                        format!("`weight` must be 0 or more, not {w}"),
                    );
                    1.0
                }
                Some(w) => w,
                None => 1.0,
            },
        };
        let role = match self.keyword(table, "role", ROLES) {
            Some(1) => Role::Customer,
            _ => Role::Agent,
        };
        let order = self
            .order(table)
            .unwrap_or_else(|| previous_order.saturating_add(1));
        let window = table.get("window").and_then(|w| self.window(w));
        let min_similarity = self.fraction(table, "min_similarity");
        let semantic_threshold = self.fraction(table, "semantic_threshold");
        let judge_threshold = self.fraction(table, "judge_threshold");
        let description = self.description(table, languages);
        let phrases = match table.get("variants") {
            Some(item) => {
                let phrases = self.phrases(item, "variants", languages);
                self.coverage(item, id.as_ref(), at, languages);
                phrases
            }
            None => {
                self.error(
                    at,
                    "[[step]] has no `variants`, such as variants.es = [\"…\"]",
                );
                Phrases::new()
            }
        };
        let title = title.map(Spanned::into_inner).unwrap_or_default();
        Read {
            item: Step {
                id: id.as_ref().map(|s| s.get_ref().clone()).unwrap_or_default(),
                title,
                required,
                weight,
                role,
                order,
                window,
                min_similarity,
                semantic_threshold,
                judge_threshold,
                description,
                variants: unspanned(&phrases),
            },
            at,
            id,
            phrases,
        }
    }

    /// A step must be sayable in every declared language. Judged on what was written, so that a
    /// malformed phrase (already an error) does not also count as a missing one.
    fn coverage(
        &mut self,
        variants: &Spanned<DeValue<'_>>,
        id: Option<&Spanned<String>>,
        at: usize,
        languages: Option<&[String]>,
    ) {
        let DeValue::Table(table) = variants.get_ref() else {
            return;
        };
        let written = |lang: &str| {
            table
                .get(lang)
                .is_some_and(|list| list.get_ref().as_array().is_none_or(|a| !a.is_empty()))
        };
        if table.keys().all(|lang| !written(lang.get_ref())) {
            self.error(variants.span().start, "`variants` holds no phrase");
            return;
        }
        let id = id.map_or("", |id| id.get_ref());
        for lang in languages.unwrap_or_default() {
            if !written(lang) {
                self.warning(
                    at,
                    format!(
                        "step `{id}` has no variant in `{lang}`: it cannot be found in {lang} calls"
                    ),
                );
            }
        }
    }

    fn order(&mut self, table: &DeTable<'_>) -> Option<u32> {
        let item = table.get("order")?;
        let parsed = match item.get_ref() {
            DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix()).ok(),
            other => {
                self.error(
                    item.span().start,
                    format!("`order` must be a whole number, not {}", describe(other)),
                );
                return None;
            }
        };
        match parsed.and_then(|n| u32::try_from(n).ok()) {
            Some(order) => Some(order),
            None => {
                self.error(
                    item.span().start,
                    "`order` must be a whole number from 0 up",
                );
                None
            }
        }
    }

    fn forbidden(
        &mut self,
        table: &DeTable<'_>,
        at: usize,
        languages: Option<&[String]>,
    ) -> Read<Forbidden> {
        self.deny_unknown(table, FORBIDDEN_KEYS, "[[forbidden]]");
        let id = self.required_string(table, "id", at, "[[forbidden]]");
        let severity = match self.keyword(table, "severity", SEVERITIES) {
            Some(0) => Severity::Low,
            Some(2) => Severity::High,
            Some(_) => Severity::Medium,
            None => {
                if !table.contains_key("severity") {
                    self.error(at, "[[forbidden]] has no `severity` (low, medium or high)");
                }
                Severity::Medium
            }
        };
        let phrases = match table.get("variants") {
            Some(item) => self.phrases(item, "variants", languages),
            None => {
                self.error(
                    at,
                    "[[forbidden]] has no `variants`, such as variants.es = [\"…\"]",
                );
                Phrases::new()
            }
        };
        Read {
            item: Forbidden {
                id: id.as_ref().map(|s| s.get_ref().clone()).unwrap_or_default(),
                severity,
                variants: unspanned(&phrases),
            },
            at,
            id,
            phrases,
        }
    }

    /// `description.<lang> = "…"`: one text per language.
    fn description(
        &mut self,
        table: &DeTable<'_>,
        languages: Option<&[String]>,
    ) -> BTreeMap<String, String> {
        let mut description = BTreeMap::new();
        if let Some(item) = table.get("description") {
            if let DeValue::Table(texts) = item.get_ref() {
                for (lang, text) in texts.iter() {
                    self.language_listed(lang, languages);
                    match text.get_ref() {
                        DeValue::String(s) if s.trim().is_empty() => {
                            self.error(
                                text.span().start,
                                format!("empty `description.{}`", lang.get_ref()),
                            );
                        }
                        DeValue::String(s) => {
                            description.insert(lang.get_ref().to_string(), s.to_string());
                        }
                        other => self.error(
                            text.span().start,
                            format!(
                                "`description.{}` must be a string, not {}",
                                lang.get_ref(),
                                describe(other)
                            ),
                        ),
                    }
                }
            } else {
                self.error(
                    item.span().start,
                    "`description` must be one text per language, such as description.es = \"…\"",
                );
            }
        }
        description
    }

    fn value(
        &mut self,
        table: &DeTable<'_>,
        at: usize,
        languages: Option<&[String]>,
    ) -> Read<Value> {
        self.deny_unknown(table, VALUE_KEYS, "[[value]]");
        let id = self.required_string(table, "id", at, "[[value]]");
        let name = self.required_string(table, "name", at, "[[value]]");
        let description = self.description(table, languages);
        let phrases = match table.get("examples") {
            Some(item) => self.phrases(item, "examples", languages),
            None => Phrases::new(),
        };
        Read {
            item: Value {
                id: id.as_ref().map(|s| s.get_ref().clone()).unwrap_or_default(),
                name: name.map(Spanned::into_inner).unwrap_or_default(),
                description,
                examples: unspanned(&phrases),
            },
            at,
            id,
            phrases,
        }
    }
}

/// Byte offset → 1-based line and column, the column in characters.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (
        before.matches('\n').count() + 1,
        before[line_start..].chars().count() + 1,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::ScriptError;
    use crate::script::tests::{HEAD, check, one_step, where_, with_variants};

    const BROKEN: &str = include_str!("../../../../examples/scripts/broken.toml");

    #[test]
    fn the_broken_example_reports_every_mistake_in_file_order() {
        let found = check(BROKEN);
        let expected = [
            "4:1: error: [script] has no `version`",
            "7:18: error: `min_similarity` must be between 0 and 1, not 1.5",
            "12:8: error: unknown role `agnet`: expected agent or customer; did you mean `agent`?",
            "13:33: warning: `last_s` 60 with end_s 30 holds only in calls shorter than 90 s: \
             the step would have to be said both near the start and in the last 60 s",
            "14:1: error: unknown key `varients` in [[step]]; did you mean `variants`?",
            "15:48: error: unbalanced `{`: slot `{name` is never closed with `}`",
            "16:16: error: empty phrase in `variants.en`",
            "17:10: error: language `fr` is not in [script] languages (es, en)",
            "20:6: warning: duplicate step id `greeting` (first on line 10): \
             results could not tell them apart",
            "22:10: error: `weight` must be 0 or more, not -1",
            "23:22: error: `start_s` (40) must be before `end_s` (30): \
             no moment of the call is in this window",
            "24:16: warning: step `greeting` contains \"le garantizo\", forbidden by `promise`: \
             an agent saying this variant would be flagged",
            "25:16: warning: same variant as step `greeting` (line 16): \
             the alignment could not tell the two steps apart",
            "29:12: error: unknown severity `critical`: expected low, medium or high",
        ];
        assert_eq!(found, expected);
        let Err(ScriptError::Invalid(all)) = Script::parse(BROKEN, "broken.toml") else {
            panic!("broken.toml parsed");
        };
        assert_eq!(all.len(), expected.len());
    }

    #[test]
    fn toml_syntax_errors_are_all_reported_and_stop_the_check() {
        let found = check("[script]\nid = \"t\nversion = 1\n[[step]\nid = 2\n");
        assert!(found.len() >= 2, "{found:?}");
        assert_eq!(found[0], "2:8: error: invalid basic string, expected `\"`");
        assert!(found.iter().any(|d| d.starts_with("4:")), "{found:?}");
        assert!(found.iter().all(|d| !d.contains("has no")), "{found:?}");
        assert!(Script::check("id = = 1", "t.toml").0.is_none());
    }

    #[test]
    fn the_script_header_must_name_id_version_and_languages() {
        assert_eq!(
            check("[script]\n"),
            [
                "1:1: error: [script] has no `id`",
                "1:1: error: [script] has no `version`",
                "1:1: error: [script] has no `languages`, such as languages = [\"es\", \"en\"]",
                "1:1: warning: the script has no [[step]]: adherence cannot be scored",
            ]
        );
        assert_eq!(
            check("# nothing\n"),
            [
                "1:1: error: missing [script] table with id, version and languages",
                "1:1: warning: the script has no [[step]]: adherence cannot be scored",
            ]
        );
        assert_eq!(
            where_("\n[script]\nid = \"\"\nversion = 2026-11-01\nlanguages = []\n"),
            ["2:1: warning", "3:6: error", "4:11: error", "5:13: error"]
        );
        let found = check("[script]\nid = \"t\"\nversion = 3\nlanguages = \"es\"\n");
        assert!(found[0].starts_with("1:1: warning"));
        assert_eq!(
            found[1],
            "3:11: error: `version` must be a string, not an integer; quote it: \"3\""
        );
        assert_eq!(
            found[2],
            "4:13: error: `languages` must be an array of language codes, not a string"
        );
    }

    #[test]
    fn weight_role_and_severity_are_checked() {
        assert_eq!(
            check(&with_variants("weight = -0.5\nrole = \"cliente\"")),
            [
                "8:10: error: `weight` must be 0 or more, not -0.5",
                "9:8: error: unknown role `cliente`: expected agent or customer",
            ]
        );
        let text = format!(
            "{HEAD}[[step]]\nid = \"a\"\ntitle = \"A\"\nvariants.es = [\"hola\"]\n\
             [[forbidden]]\nid = \"f\"\nseverity = \"High\"\nvariants.es = [\"tonto\"]\n\
             [[forbidden]]\nid = \"g\"\nvariants.es = [\"bobo\"]\n"
        );
        assert_eq!(
            check(&text),
            [
                "11:12: error: unknown severity `High`: expected low, medium or high; did you mean `high`?",
                "13:1: error: [[forbidden]] has no `severity` (low, medium or high)",
            ]
        );
    }

    #[test]
    fn a_step_missing_a_declared_language_warns() {
        let text = one_step("variants.es = [\"hola\"]").replace(
            "languages = [\"es\"]",
            "languages = [\"es\", \"en\", \"es\"]",
        );
        assert_eq!(
            check(&text),
            [
                "4:26: warning: language `es` is listed twice",
                "5:1: warning: step `a` has no variant in `en`: it cannot be found in en calls",
            ]
        );
    }

    #[test]
    fn defaults_fill_what_the_file_leaves_out() {
        let text = format!(
            "{HEAD}[[step]]\nid = \"a\"\ntitle = \"A\"\nvariants.es = [\"hola\"]\n\
             [[step]]\nid = \"b\"\ntitle = \"B\"\nvariants.es = [\"qué tal\"]\n\
             [[step]]\nid = \"c\"\ntitle = \"C\"\norder = 5\nweight = 2.5\nrole = \"customer\"\nrequired = false\n\
             min_similarity = 0.9\nsemantic_threshold = 0.6\nvariants.es = [\"bien\"]\n\
             [[step]]\nid = \"d\"\ntitle = \"D\"\nvariants.es = [\"adiós\"]\n"
        );
        let (script, warnings) = Script::parse(&text, "t.toml").unwrap();
        assert_eq!(warnings, []);
        assert_eq!(script.min_similarity, DEFAULT_MIN_SIMILARITY);
        assert_eq!(script.semantic_threshold, None);
        let [a, b, c, d] = &script.steps[..] else {
            panic!("{:?}", script.steps)
        };
        assert!(a.required && a.weight == 1.0 && a.role == Role::Agent && a.window.is_none());
        assert_eq!([a.order, b.order, c.order, d.order], [1, 2, 5, 6]);
        assert!(!c.required && c.weight == 2.5 && c.role == Role::Customer);
        assert_eq!(script.min_similarity_of(a), 0.75);
        assert_eq!(script.min_similarity_of(c), 0.9);
        assert_eq!(script.semantic_threshold_of(a), None);
        assert_eq!(script.semantic_threshold_of(c), Some(0.6));
        assert_eq!(a.variants["es"], ["hola"]);
    }

    #[test]
    fn columns_count_characters_and_lines_survive_crlf() {
        assert_eq!(line_column("ab\r\nñá x", 9), (2, 4));
        assert_eq!(line_column("ñ", 1), (1, 1), "inside a character: its start");
        assert_eq!(line_column("abc", 99), (1, 4));
        let crlf = one_step("variants.es = [\"\"]").replace('\n', "\r\n");
        assert_eq!(where_(&crlf), ["8:16: error"]);
    }
}
