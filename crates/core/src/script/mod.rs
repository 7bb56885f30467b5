//! The brand's script as data: ordered steps with phrasing variants per language, time windows,
//! forbidden phrases and brand values. Written once by the brand in TOML; every result names its
//! `id` and `version`.
//!
//! ```toml
//! [script]
//! id = "acme-seguros"          # required; results name it with the version
//! version = "2026-11"          # required, a string
//! languages = ["es", "en"]     # required; every variants.<lang> must be one of these
//! min_similarity = 0.75        # 0..1, default 0.75
//! semantic_threshold = 0.5     # 0..1, optional (default 0.5): matching by meaning, see align
//!
//! [[step]]
//! id = "greeting"              # required
//! title = "Saludo"             # required: what reports call the step
//! required = true              # default true
//! weight = 2                   # ≥ 0, default 1
//! role = "agent"               # agent | customer, default agent
//! order = 1                    # default: the previous step's order + 1
//! window = { end_s = 30 }      # start_s, end_s, last_s (from the end), end_pct; all given must hold
//! min_similarity = 0.8         # optional override
//! semantic_threshold = 0.6     # optional override
//! variants.es = ["gracias por llamar a Acme Seguros, le atiende {name}"]
//!
//! [[forbidden]]
//! id = "promise"               # required
//! severity = "high"            # required: low | medium | high
//! variants.es = ["le garantizo"]
//!
//! [[value]]
//! id = "empathy"               # required
//! name = "Cercanía"            # required
//! description.es = "…"         # optional, one string per language
//! examples.es = ["entiendo perfectamente su situación"]
//! ```
//!
//! Reading is a walk over toml's spanned document rather than a serde derive: serde stops at the first
//! error, and a brand fixing its file wants every mistake at once, each at its line and column.

use crate::normalize::{self, Lang};
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::Path;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// Language code (`es`, `en`) → phrasings. A `{slot}` such as `{name}` stands for one to three words.
pub type Variants = BTreeMap<String, Vec<String>>;

#[derive(Debug, Clone, PartialEq)]
pub struct Script {
    pub id: String,
    pub version: String,
    pub languages: Vec<String>,
    /// Default similarity a step's best evidence must reach to count as said (0..1).
    pub min_similarity: f64,
    /// Default for a meaning-based matcher (0..1); `None` leaves the choice to the matcher.
    pub semantic_threshold: Option<f64>,
    pub steps: Vec<Step>,
    pub forbidden: Vec<Forbidden>,
    pub values: Vec<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Agent,
    Customer,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub id: String,
    pub title: String,
    pub required: bool,
    /// Share of the adherence score.
    pub weight: f64,
    pub role: Role,
    /// Steps with equal `order` may come in any order among themselves.
    pub order: u32,
    pub window: Option<Window>,
    /// Overrides the script's `min_similarity`.
    pub min_similarity: Option<f64>,
    /// Overrides the script's `semantic_threshold`.
    pub semantic_threshold: Option<f64>,
    pub variants: Variants,
}

/// Where in the call a step must happen. Every bound given must hold.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Window {
    /// Not before this many seconds from the start.
    pub start_s: Option<f64>,
    /// Not after this many seconds from the start.
    pub end_s: Option<f64>,
    /// Within the call's last this-many seconds.
    pub last_s: Option<f64>,
    /// Within the first this-percent of the call.
    pub end_pct: Option<f64>,
}

/// Serialised lower-case, as the script spells it, because results report it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Forbidden {
    pub id: String,
    pub severity: Severity,
    pub variants: Variants,
}

/// A brand value (scored by the classifier; parsed and validated here).
#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    pub id: String,
    pub name: String,
    pub description: BTreeMap<String, String>,
    pub examples: Variants,
}

impl Script {
    /// The steps' minimum similarity, with the script's default filled in.
    pub fn min_similarity_of(&self, step: &Step) -> f64 {
        step.min_similarity.unwrap_or(self.min_similarity)
    }

    /// The step's semantic threshold, with the script's default filled in.
    pub fn semantic_threshold_of(&self, step: &Step) -> Option<f64> {
        step.semantic_threshold.or(self.semantic_threshold)
    }

    /// Reads and validates a script file. `Ok` carries the warnings, which do not stop a run but
    /// should be shown.
    pub fn load(path: &Path) -> Result<(Script, Vec<Diagnostic>), ScriptError> {
        let file = path.display().to_string();
        match std::fs::read_to_string(path) {
            Ok(text) => Script::parse(&text, &file),
            Err(source) => Err(ScriptError::Io { file, source }),
        }
    }

    /// Validates a script's text; `file` names it in diagnostics. `Ok` carries the warnings.
    pub fn parse(text: &str, file: &str) -> Result<(Script, Vec<Diagnostic>), ScriptError> {
        match Script::check(text, file) {
            (Some(script), diagnostics) if !diagnostics.iter().any(Diagnostic::is_error) => {
                Ok((script, diagnostics))
            }
            (_, diagnostics) => Err(ScriptError::Invalid(diagnostics)),
        }
    }

    /// Every diagnostic for a script's text, in file order, and the script as far as it could be read:
    /// a value in error takes its default, a step or phrase in error is left out. `None` only when the
    /// TOML itself does not parse. For `guion script check`, which summarises even a broken file;
    /// anything that scores calls wants `parse`.
    pub fn check(text: &str, file: &str) -> (Option<Script>, Vec<Diagnostic>) {
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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiagnosticLevel {
    Error,
    Warning,
}

impl fmt::Display for DiagnosticLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DiagnosticLevel::Error => "error",
            DiagnosticLevel::Warning => "warning",
        })
    }
}

/// One finding in a script file. `line` and `column` are 1-based; the column counts characters.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub severity: DiagnosticLevel,
    pub message: String,
}

impl Diagnostic {
    pub fn is_error(&self) -> bool {
        self.severity == DiagnosticLevel::Error
    }
}

/// `file:line:column: error: message`, which editors and terminals turn into links.
impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}: {}",
            self.file, self.line, self.column, self.severity, self.message
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ScriptError {
    #[error("cannot read {file}: {source}")]
    Io {
        file: String,
        source: std::io::Error,
    },
    /// Every diagnostic, warnings included, so that a caller can show them all; only the errors are
    /// displayed.
    #[error("{}", display_errors(.0))]
    Invalid(Vec<Diagnostic>),
}

fn display_errors(diagnostics: &[Diagnostic]) -> String {
    let errors: Vec<String> = diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(Diagnostic::to_string)
        .collect();
    errors.join("\n")
}

const DEFAULT_MIN_SIMILARITY: f64 = 0.75;

/// A typical inbound service call runs three to six minutes: a window that only calls shorter than this
/// can satisfy fails on almost every call.
const PLAUSIBLE_CALL_S: f64 = 180.0;

const TOP_KEYS: &[&str] = &["script", "step", "forbidden", "value"];
const SCRIPT_KEYS: &[&str] = &[
    "id",
    "version",
    "languages",
    "min_similarity",
    "semantic_threshold",
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
    "variants",
];
const WINDOW_KEYS: &[&str] = &["start_s", "end_s", "last_s", "end_pct"];
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
    at: usize,
}

struct Checker<'t> {
    text: &'t str,
    file: &'t str,
    /// Byte offset, level, message.
    found: Vec<(usize, DiagnosticLevel, String)>,
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

    fn window(&mut self, item: &Spanned<DeValue<'_>>) -> Option<Window> {
        let at = item.span().start;
        let DeValue::Table(table) = item.get_ref() else {
            self.error(
                at,
                format!(
                    "`window` must be a table such as {{ end_s = 30 }}, not {}",
                    describe(item.get_ref())
                ),
            );
            return None;
        };
        self.deny_unknown(table, WINDOW_KEYS, "`window`");
        let mut bound = |key: &str, valid: fn(f64) -> bool, rule: &str| {
            let item = table.get(key)?;
            let value = self.number_of(item, key)?;
            if valid(value) {
                Some(Spanned::new(item.span(), value))
            } else {
                self.error(item.span().start, format!("`{key}` {rule}, not {value}"));
                None
            }
        };
        let start_s = bound("start_s", |v| v >= 0.0, "must be 0 or more");
        let end_s = bound("end_s", |v| v > 0.0, "must be more than 0");
        let last_s = bound("last_s", |v| v > 0.0, "must be more than 0");
        let end_pct = bound(
            "end_pct",
            |v| v > 0.0 && v <= 100.0,
            "must be a percentage of the call, more than 0 and at most 100",
        );
        if [&start_s, &end_s, &last_s, &end_pct]
            .iter()
            .all(|b| b.is_none())
        {
            // With keys present, each was wrong and has said so already.
            if table.is_empty() {
                self.error(
                    at,
                    "`window` has no bound: give start_s, end_s, last_s or end_pct",
                );
            }
            return None;
        }

        if let (Some(start), Some(end)) = (&start_s, &end_s)
            && start.get_ref() >= end.get_ref()
        {
            self.error(
                start.span().start,
                format!(
                    "`start_s` ({}) must be before `end_s` ({}): no moment of the call is in this window",
                    start.get_ref(),
                    end.get_ref()
                ),
            );
        }
        if let Some(last) = &last_s {
            let l = *last.get_ref();
            // From the end and from the start at once: only calls short enough for the two to meet.
            let longest = [
                end_s
                    .as_ref()
                    .map(|e| (e.get_ref() + l, format!("end_s {}", e.get_ref()))),
                end_pct.as_ref().filter(|p| *p.get_ref() < 100.0).map(|p| {
                    (
                        l / (1.0 - p.get_ref() / 100.0),
                        format!("end_pct {}", p.get_ref()),
                    )
                }),
            ];
            for (longest, other) in longest.into_iter().flatten() {
                if longest < PLAUSIBLE_CALL_S {
                    self.warning(
                        last.span().start,
                        format!(
                            "`last_s` {l} with {other} holds only in calls shorter than {longest:.0} s: \
                             the step would have to be said both near the start and in the last {l} s"
                        ),
                    );
                }
            }
        }
        let value = |b: Option<Spanned<f64>>| b.map(Spanned::into_inner);
        Some(Window {
            start_s: value(start_s),
            end_s: value(end_s),
            last_s: value(last_s),
            end_pct: value(end_pct),
        })
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

    fn value(
        &mut self,
        table: &DeTable<'_>,
        at: usize,
        languages: Option<&[String]>,
    ) -> Read<Value> {
        self.deny_unknown(table, VALUE_KEYS, "[[value]]");
        let id = self.required_string(table, "id", at, "[[value]]");
        let name = self.required_string(table, "name", at, "[[value]]");
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

    /// `variants` or `examples`: language code → phrases.
    fn phrases(
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

    fn language_listed(
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

    /// A `[[name]]` array's tables with where each starts; anything else under `name` is reported.
    fn tables<'a, 'i>(
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

    fn deny_unknown(&mut self, table: &DeTable<'_>, known: &[&str], place: &str) {
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

    fn required_string(
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

    fn boolean(&mut self, table: &DeTable<'_>, key: &str) -> Option<bool> {
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
    fn keyword(&mut self, table: &DeTable<'_>, key: &str, allowed: &[&str]) -> Option<usize> {
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
    fn fraction(&mut self, table: &DeTable<'_>, key: &str) -> Option<f64> {
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

    fn number_of(&mut self, item: &Spanned<DeValue<'_>>, key: &str) -> Option<f64> {
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

    fn duplicate_ids<T>(&mut self, kind: &str, items: &[Read<T>]) {
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

    fn adherence_checks(&mut self, steps: &[Read<Step>]) {
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
    fn indistinct_variants(&mut self, steps: &[Read<Step>]) {
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
    fn forbidden_in_steps(&mut self, steps: &[Read<Step>], forbidden: &[Read<Forbidden>]) {
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

/// `agent or customer`, `low, medium or high`.
fn one_of(words: &[&str]) -> String {
    match words {
        [] => String::new(),
        [only] => (*only).to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

fn describe(value: &DeValue<'_>) -> String {
    let article = if matches!(value, DeValue::Integer(_) | DeValue::Array(_)) {
        "an"
    } else {
        "a"
    };
    format!("{article} {}", value.type_str())
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
    use super::*;

    const ACME: &str = include_str!("../../../../examples/scripts/acme-seguros.toml");
    const TELCO: &str = include_str!("../../../../examples/scripts/telco-en.toml");
    const BROKEN: &str = include_str!("../../../../examples/scripts/broken.toml");

    /// Lines 1–4; the tests' own lines start at 5.
    const HEAD: &str = "[script]\nid = \"t\"\nversion = \"1\"\nlanguages = [\"es\"]\n";

    /// `line:column: level: message` for each diagnostic.
    fn check(text: &str) -> Vec<String> {
        Script::check(text, "t.toml")
            .1
            .iter()
            .map(|d| format!("{}:{}: {}: {}", d.line, d.column, d.severity, d.message))
            .collect()
    }

    /// A script whose one step (header on line 5) has `body` from line 8 on.
    fn one_step(body: &str) -> String {
        format!("{HEAD}[[step]]\nid = \"a\"\ntitle = \"A\"\n{body}\n")
    }

    fn with_variants(body: &str) -> String {
        one_step(&format!("{body}\nvariants.es = [\"buenos días\"]"))
    }

    fn where_(text: &str) -> Vec<String> {
        check(text)
            .iter()
            .map(|d| d.split(": ").take(2).collect::<Vec<_>>().join(": "))
            .collect()
    }

    #[test]
    fn the_examples_parse_without_warnings() {
        let (acme, warnings) = Script::parse(ACME, "acme-seguros.toml").unwrap();
        assert_eq!(warnings, []);
        assert_eq!(
            (acme.id.as_str(), acme.version.as_str()),
            ("acme-seguros", "2026-11")
        );
        assert_eq!(acme.languages, ["es", "en"]);
        assert_eq!(acme.steps.len(), 7);
        assert_eq!(acme.steps.iter().filter(|s| s.required).count(), 5);
        assert_eq!((acme.forbidden.len(), acme.values.len()), (3, 3));
        let step = |id: &str| acme.steps.iter().find(|s| s.id == id).unwrap();
        assert_eq!(step("greeting").window.unwrap().end_s, Some(30.0));
        assert_eq!(step("farewell").window.unwrap().last_s, Some(60.0));
        assert_eq!(step("disclosure").window.unwrap().end_s, Some(60.0));
        assert_eq!(step("disclosure").order, step("identification").order);
        for s in &acme.steps {
            assert!(
                s.variants["es"].len() >= 3 && s.variants["en"].len() >= 2,
                "{}",
                s.id
            );
        }
        for v in &acme.values {
            assert!(
                v.examples["es"].len() >= 2 && v.examples["en"].len() >= 2,
                "{}",
                v.id
            );
        }

        let (telco, warnings) = Script::parse(TELCO, "telco-en.toml").unwrap();
        assert_eq!(warnings, []);
        assert_eq!(telco.languages, ["en"]);
        assert_eq!(telco.steps.len(), 8);
        let orders: Vec<u32> = telco.steps.iter().map(|s| s.order).collect();
        assert_eq!(orders, [1, 2, 3, 4, 5, 6, 7, 8]);
    }

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
                 required, weight, role, order, window, min_similarity, semantic_threshold, variants",
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
    fn windows_need_a_bound_that_some_moment_satisfies() {
        assert_eq!(
            check(&with_variants("window = {}")),
            ["8:10: error: `window` has no bound: give start_s, end_s, last_s or end_pct"]
        );
        assert_eq!(
            check(&with_variants(
                "window = { start_s = -1, end_s = 0, last_s = -5, end_pct = 150 }"
            )),
            [
                "8:22: error: `start_s` must be 0 or more, not -1",
                "8:34: error: `end_s` must be more than 0, not 0",
                "8:46: error: `last_s` must be more than 0, not -5",
                "8:60: error: `end_pct` must be a percentage of the call, more than 0 and at most 100, not 150",
            ]
        );
        assert_eq!(
            where_(&with_variants("window = { end_pct = 0 }")),
            ["8:22: error"]
        );
        assert_eq!(
            check(&one_step(
                "variants.es = [\"hola\"]\n[step.window]\nstart_s = 30\nend_s = 30"
            )),
            [
                "10:11: error: `start_s` (30) must be before `end_s` (30): no moment of the call is in this window"
            ]
        );
    }

    #[test]
    fn windows_from_both_ends_warn_when_only_short_calls_fit() {
        assert_eq!(
            check(&with_variants("window = { end_pct = 20, last_s = 60 }")),
            [
                "8:35: warning: `last_s` 60 with end_pct 20 holds only in calls shorter than 75 s: \
              the step would have to be said both near the start and in the last 60 s"
            ]
        );
        // A late step allowed anywhere in a long first stretch is plausible.
        assert_eq!(
            check(&with_variants("window = { end_s = 600, last_s = 60 }")),
            [] as [&str; 0]
        );
        assert_eq!(
            check(&with_variants("window = { start_s = 10, end_s = 30 }")),
            [] as [&str; 0]
        );
    }

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
    fn parse_and_load_separate_errors_from_warnings() {
        let ok = one_step("variants.es = [\"hola\"]\nwindow = { end_s = 10, last_s = 10 }");
        let (_, warnings) = Script::parse(&ok, "t.toml").unwrap();
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].severity, DiagnosticLevel::Warning);

        let bad = format!("{ok}\nweight = -1\nrole = \"x\"\n");
        let err = Script::parse(&bad, "dir/t.toml").unwrap_err();
        assert_eq!(
            err.to_string(),
            "dir/t.toml:11:10: error: `weight` must be 0 or more, not -1\n\
             dir/t.toml:12:8: error: unknown role `x`: expected agent or customer"
        );
        let ScriptError::Invalid(all) = err else {
            panic!()
        };
        assert_eq!(all.len(), 3, "the warning travels with the errors");

        let missing = Script::load(Path::new("/nonexistent/acme.toml")).unwrap_err();
        assert!(matches!(missing, ScriptError::Io { .. }));
        assert!(
            missing
                .to_string()
                .starts_with("cannot read /nonexistent/acme.toml: ")
        );
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
