//! Which script a call of a mixed night is scored against. A night may hold sales, claims and
//! support calls, each with its own script: the manifest's `script` column names it outright, or
//! routing rules (a small TOML file) pick it from the call's other columns, or, when the night has
//! one script, that one. Pure: the caller hands in the file's text and each row's cells.
//!
//! ```toml
//! [[route]]
//! queue = "claims"              # a manifest column and the value it must hold
//! script = "acme-siniestros" # the script id the call is scored against
//!
//! [[route]]
//! campaign = ["renewals", "winback"]   # any of these
//! language = "en"                      # every condition of a rule must hold
//! script = "acme-sales-en"
//! ```
//! Rules are tried in order and the first whose every condition holds wins; a rule with no
//! condition catches every call that reaches it. Values are compared trimmed and without regard to
//! case, since manifests come from many exports.

use std::collections::BTreeMap;
use std::fmt;

/// One rule: every `(column, any of these values)` must hold for `script` to be chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The rule's line in its file (its `[[route]]` header), for errors.
    pub line: usize,
    pub when: Vec<(String, Vec<String>)>,
    pub script: String,
}

/// A routes file, parsed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Routes {
    pub file: String,
    pub rules: Vec<Route>,
}

/// A routes file that cannot be used, naming the file and line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

impl fmt::Display for RouteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

impl std::error::Error for RouteError {}

impl Routes {
    /// Parses a routes file's text (`file` names it in errors).
    pub fn parse(text: &str, file: &str) -> Result<Routes, RouteError> {
        let error = |line: usize, message: String| RouteError {
            file: file.to_string(),
            line,
            message,
        };
        let value: toml::Table = toml::from_str(text).map_err(|e| {
            let line = e.span().map_or(1, |s| {
                text[..s.start.min(text.len())].lines().count().max(1)
            });
            error(line, e.message().to_string())
        })?;
        // toml's tables keep no positions: a rule's line is its `[[route]]` header's, counted.
        let headers: Vec<usize> = text
            .lines()
            .enumerate()
            .filter(|(_, l)| l.trim_start().starts_with("[[route]]"))
            .map(|(i, _)| i + 1)
            .collect();
        let mut rules = Vec::new();
        for (key, v) in &value {
            if key != "route" {
                return Err(error(
                    1,
                    format!("unknown key `{key}`: a routes file holds [[route]] tables only"),
                ));
            }
            let Some(tables) = v.as_array() else {
                return Err(error(
                    1,
                    "`route` must be written as [[route]] tables".into(),
                ));
            };
            for (i, t) in tables.iter().enumerate() {
                let line = headers.get(i).copied().unwrap_or(1);
                let Some(t) = t.as_table() else {
                    return Err(error(line, "a route must be a table".into()));
                };
                let mut script = None;
                let mut when = Vec::new();
                for (column, v) in t {
                    let values: Option<Vec<String>> = match v {
                        toml::Value::String(s) => Some(vec![s.clone()]),
                        toml::Value::Array(a) => a
                            .iter()
                            .map(|x| x.as_str().map(String::from))
                            .collect::<Option<Vec<_>>>()
                            .filter(|v| !v.is_empty()),
                        _ => None,
                    };
                    let Some(values) = values else {
                        return Err(error(
                            line,
                            format!(
                                "rule {}: `{column}` must be a text or a list of texts",
                                i + 1
                            ),
                        ));
                    };
                    if column == "script" {
                        match <[String; 1]>::try_from(values) {
                            Ok([id]) if !id.trim().is_empty() => script = Some(id.trim().into()),
                            _ => {
                                return Err(error(
                                    line,
                                    format!("rule {}: `script` must be one script id", i + 1),
                                ));
                            }
                        }
                    } else {
                        when.push((
                            column.trim().to_ascii_lowercase(),
                            values.iter().map(|v| v.trim().to_lowercase()).collect(),
                        ));
                    }
                }
                let Some(script) = script else {
                    return Err(error(
                        line,
                        format!(
                            "rule {}: no `script`: a rule names the script id its calls are scored against",
                            i + 1
                        ),
                    ));
                };
                rules.push(Route { line, when, script });
            }
        }
        Ok(Routes {
            file: file.to_string(),
            rules,
        })
    }

    /// Checks every rule against the night's script ids and the columns the manifest's rows fill: a
    /// rule that names an unknown script, or matches on a column no row has, would route calls
    /// nowhere or never, silently.
    pub fn check(&self, ids: &[&str], columns: &[&str]) -> Result<(), RouteError> {
        for (i, r) in self.rules.iter().enumerate() {
            let error = |message: String| RouteError {
                file: self.file.clone(),
                line: r.line,
                message: format!("rule {}: {message}", i + 1),
            };
            if !ids.contains(&r.script.as_str()) {
                return Err(error(format!(
                    "script `{}` is not among the night's scripts ({})",
                    r.script,
                    ids.join(", ")
                )));
            }
            if let Some((c, _)) = r.when.iter().find(|(c, _)| !columns.contains(&c.as_str())) {
                return Err(error(format!(
                    "no row of the manifest has a value in column `{c}` (they have {})",
                    columns.join(", ")
                )));
            }
        }
        Ok(())
    }

    /// The columns the rules match on.
    pub fn columns(&self) -> Vec<&str> {
        let mut c: Vec<&str> = self
            .rules
            .iter()
            .flat_map(|r| r.when.iter().map(|(c, _)| c.as_str()))
            .collect();
        c.sort_unstable();
        c.dedup();
        c
    }
}

/// How a night's calls find their script: its scripts' ids, in the order given, and its rules.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Routing {
    pub ids: Vec<String>,
    pub routes: Option<Routes>,
}

impl Routing {
    /// The index (into `ids`) of the script a call is scored against: the manifest's `script` cell
    /// when it has one (it wins over rules: whoever wrote it knew the call), else the first rule
    /// that matches the row's `cells` (column → value), else the only script. The error says why,
    /// without the row's place, which the caller knows.
    pub fn script_for(
        &self,
        explicit: Option<&str>,
        cells: &BTreeMap<String, String>,
    ) -> Result<usize, String> {
        let index = |id: &str| self.ids.iter().position(|i| i == id);
        if let Some(id) = explicit.map(str::trim).filter(|s| !s.is_empty()) {
            return index(id).ok_or_else(|| {
                format!(
                    "unknown script `{id}`: the night's scripts are {}",
                    self.ids.join(", ")
                )
            });
        }
        if let Some(routes) = &self.routes {
            let holds = |(column, values): &(String, Vec<String>)| {
                cells
                    .get(column)
                    .is_some_and(|v| values.contains(&v.trim().to_lowercase()))
            };
            if let Some(r) = routes.rules.iter().find(|r| r.when.iter().all(holds)) {
                // `Routes::check` has made sure it is there; a routing not checked says so.
                return index(&r.script).ok_or_else(|| {
                    format!(
                        "{}:{}: unknown script `{}`: the night's scripts are {}",
                        routes.file,
                        r.line,
                        r.script,
                        self.ids.join(", ")
                    )
                });
            }
        }
        match self.ids.as_slice() {
            [_] => Ok(0),
            _ => Err(format!(
                "no script for this call: the night has {} scripts ({}); name one in a `script` \
                 column{}",
                self.ids.len(),
                self.ids.join(", "),
                match &self.routes {
                    Some(r) => format!(" or add a rule to {} that matches it", r.file),
                    None => " or give --routes FILE".into(),
                }
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROUTES: &str = r#"
# claims first
[[route]]
queue = "claims"
script = "acme-claims"

[[route]]
campaign = ["Renewals", "winback"]
language = "en"
script = "acme-sales"
"#;

    fn cells(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn routing() -> Routing {
        Routing {
            ids: vec![
                "acme-seguros".into(),
                "acme-claims".into(),
                "acme-sales".into(),
            ],
            routes: Some(Routes::parse(ROUTES, "routes.toml").unwrap()),
        }
    }

    #[test]
    fn rules_are_read_with_their_lines() {
        let r = Routes::parse(ROUTES, "routes.toml").unwrap();
        assert_eq!(r.rules.len(), 2);
        assert_eq!(r.rules[0].line, 3);
        assert_eq!(
            r.rules[0].when,
            vec![("queue".to_string(), vec!["claims".to_string()])]
        );
        assert_eq!(r.rules[1].line, 7);
        assert_eq!(r.rules[1].script, "acme-sales");
        assert_eq!(r.columns(), ["campaign", "language", "queue"]);
    }

    #[test]
    fn the_script_column_wins_then_the_first_matching_rule() {
        let r = routing();
        let row = cells(&[
            ("queue", "claims"),
            ("campaign", "renewals"),
            ("language", "en"),
        ]);
        assert_eq!(r.script_for(Some("acme-sales"), &row), Ok(2));
        assert_eq!(r.script_for(None, &row), Ok(1), "the first rule that holds");
        let sales = cells(&[
            ("queue", "sales"),
            ("campaign", " WINBACK "),
            ("language", "en"),
        ]);
        assert_eq!(
            r.script_for(Some(" "), &sales),
            Ok(2),
            "a blank cell names none"
        );
        let spanish = cells(&[
            ("queue", "sales"),
            ("campaign", "winback"),
            ("language", "es"),
        ]);
        let err = r.script_for(None, &spanish).unwrap_err();
        assert!(
            err.contains("no script for this call") && err.contains("routes.toml"),
            "{err}"
        );
    }

    #[test]
    fn an_unknown_id_is_an_error_naming_the_night_s_scripts() {
        let err = routing()
            .script_for(Some("acme-typo"), &cells(&[]))
            .unwrap_err();
        assert_eq!(
            err,
            "unknown script `acme-typo`: the night's scripts are acme-seguros, acme-claims, acme-sales"
        );
    }

    #[test]
    fn one_script_takes_every_call_without_a_rule_and_several_do_not() {
        let one = Routing {
            ids: vec!["acme-seguros".into()],
            routes: None,
        };
        assert_eq!(one.script_for(None, &cells(&[])), Ok(0));
        let two = Routing {
            ids: vec!["a".into(), "b".into()],
            routes: None,
        };
        let err = two.script_for(None, &cells(&[])).unwrap_err();
        assert!(err.contains("--routes"), "{err}");
    }

    #[test]
    fn a_rule_naming_an_unknown_script_or_column_is_named_by_file_and_line() {
        let r = Routes::parse(ROUTES, "routes.toml").unwrap();
        let err = r
            .check(
                &["acme-seguros", "acme-claims"],
                &["queue", "campaign", "language"],
            )
            .unwrap_err();
        assert_eq!(err.line, 7);
        assert!(
            err.to_string()
                .starts_with("routes.toml:7: rule 2: script `acme-sales` is not among"),
            "{err}"
        );
        let err = r
            .check(&["acme-claims", "acme-sales"], &["queue", "language"])
            .unwrap_err();
        assert!(err.to_string().contains("in column `campaign`"), "{err}");
        assert!(
            r.check(
                &["acme-claims", "acme-sales"],
                &["queue", "campaign", "language"]
            )
            .is_ok()
        );
    }

    #[test]
    fn bad_files_are_named_by_line() {
        let err = Routes::parse("[[route]]\nqueue = \"x\"\n", "r.toml").unwrap_err();
        assert_eq!((err.line, err.file.as_str()), (1, "r.toml"));
        assert!(err.message.contains("no `script`"), "{}", err.message);
        let err = Routes::parse(
            "[[route]]\nscript = \"a\"\n\n[[route]]\nqueue = 3\nscript = \"b\"\n",
            "r.toml",
        )
        .unwrap_err();
        assert_eq!(err.line, 4);
        let err = Routes::parse("[[route]\n", "r.toml").unwrap_err();
        assert_eq!(err.line, 1);
        let err = Routes::parse("[rules]\n", "r.toml").unwrap_err();
        assert!(
            err.message.contains("unknown key `rules`"),
            "{}",
            err.message
        );
    }
}
