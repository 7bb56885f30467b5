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
//! judge_threshold = 0.5        # 0..1, optional (default 0.5): the judge model's P(yes), see align
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
//! judge_threshold = 0.7        # optional override
//! description.en = "The agent greets with the brand and their name"  # optional: what the judge reads
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

mod check;
pub mod edit;

use std::collections::BTreeMap;
use std::fmt;

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
    /// Default P(yes) at which the judge model's verdict shows a step; `None`: the matcher's default.
    pub judge_threshold: Option<f64>,
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
    /// Overrides the script's `judge_threshold`.
    pub judge_threshold: Option<f64>,
    /// What the step asks, per language, as the judge model reads it (the title when absent).
    pub description: BTreeMap<String, String>,
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

    /// What the judge model is asked whether a sentence does: the step's description in the
    /// call's language, else in any language, else its title.
    pub fn judge_statement<'s>(&self, step: &'s Step, language: Option<&str>) -> &'s str {
        language
            .and_then(|l| step.description.get(l))
            .or_else(|| step.description.values().next())
            .unwrap_or(&step.title)
    }

    /// The step's judge threshold, with the script's default filled in.
    pub fn judge_threshold_of(&self, step: &Step) -> Option<f64> {
        step.judge_threshold.or(self.judge_threshold)
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
        check::run(text, file)
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
#[cfg(test)]
mod tests {
    use super::*;

    const ACME: &str = include_str!("../../../../examples/scripts/acme-seguros.toml");
    const TELCO: &str = include_str!("../../../../examples/scripts/telco-en.toml");

    /// Lines 1–4; the tests' own lines start at 5.
    pub(super) const HEAD: &str = "[script]\nid = \"t\"\nversion = \"1\"\nlanguages = [\"es\"]\n";

    /// `line:column: level: message` for each diagnostic.
    pub(super) fn check(text: &str) -> Vec<String> {
        Script::check(text, "t.toml")
            .1
            .iter()
            .map(|d| format!("{}:{}: {}: {}", d.line, d.column, d.severity, d.message))
            .collect()
    }

    /// A script whose one step (header on line 5) has `body` from line 8 on.
    pub(super) fn one_step(body: &str) -> String {
        format!("{HEAD}[[step]]\nid = \"a\"\ntitle = \"A\"\n{body}\n")
    }

    pub(super) fn with_variants(body: &str) -> String {
        one_step(&format!("{body}\nvariants.es = [\"buenos días\"]"))
    }

    pub(super) fn where_(text: &str) -> Vec<String> {
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
    }
}
