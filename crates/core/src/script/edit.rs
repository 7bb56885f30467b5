//! Writing thresholds back into a brand's script file, keeping its layout and comments: the brand
//! reviews the change as a diff of its own file.

use toml_edit::{DocumentMut, Item, value};

/// New thresholds for one step; `None` leaves a threshold as the file has it.
#[derive(Debug, Clone, PartialEq)]
pub struct StepThresholds {
    pub step: String,
    pub min_similarity: Option<f64>,
    pub semantic_threshold: Option<f64>,
}

/// `text` with `version` as the script's version and each step's thresholds set (rounded to 3
/// decimals). Fails, naming `file`, when the text is not TOML or names a step it does not have.
pub fn with_thresholds(
    text: &str,
    file: &str,
    version: &str,
    steps: &[StepThresholds],
) -> Result<String, String> {
    let mut doc: DocumentMut = text.parse().map_err(|e| format!("{file}: {e}"))?;
    doc["script"]["version"] = value(version);
    let tables = doc
        .get_mut("step")
        .and_then(Item::as_array_of_tables_mut)
        .ok_or_else(|| format!("{file}: no [[step]] tables"))?;
    for change in steps {
        let table = tables
            .iter_mut()
            .find(|t| t.get("id").and_then(Item::as_str) == Some(change.step.as_str()))
            .ok_or_else(|| format!("{file}: no step {:?}", change.step))?;
        let round = |x: f64| (x * 1000.0).round() / 1000.0;
        if let Some(x) = change.min_similarity {
            table["min_similarity"] = value(round(x));
        }
        if let Some(x) = change.semantic_threshold {
            table["semantic_threshold"] = value(round(x));
        }
    }
    Ok(doc.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::Script;

    #[test]
    fn thresholds_are_written_into_the_brands_file_keeping_its_comments() {
        let text = "# Acme\n[script]\nid = \"a\"\nversion = \"1\"\nlanguages = [\"es\"]\n\n\
                    # the greeting\n[[step]]\nid = \"greeting\"\ntitle = \"G\"\nvariants.es = [\"hola\"]\n\n\
                    [[step]]\nid = \"notice\"\ntitle = \"N\"\nmin_similarity = 0.8\nvariants.es = [\"grabada\"]\n";
        let out = with_thresholds(
            text,
            "a.toml",
            "1+cal1",
            &[StepThresholds {
                step: "notice".into(),
                min_similarity: Some(0.70000001),
                semantic_threshold: Some(0.425),
            }],
        )
        .unwrap();
        assert!(out.contains("# the greeting\n[[step]]"), "{out}");
        let (script, _) = Script::parse(&out, "out.toml").unwrap();
        assert_eq!(script.version, "1+cal1");
        assert_eq!(script.steps[1].min_similarity, Some(0.7));
        assert_eq!(script.steps[1].semantic_threshold, Some(0.425));
        assert_eq!(script.steps[0].min_similarity, None);
        let missing = with_thresholds(
            text,
            "a.toml",
            "2",
            &[StepThresholds {
                step: "farewell".into(),
                min_similarity: Some(0.7),
                semantic_threshold: None,
            }],
        );
        assert_eq!(missing.unwrap_err(), "a.toml: no step \"farewell\"");
    }
}
