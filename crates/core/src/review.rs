//! A QA analyst's verdict on a step of a call. guion's own verdict is never overwritten: the store
//! keeps reviews in their own table, and a record read back carries the analyst's status with
//! guion's kept beside it (`CallRecord::apply_reviews`). The same verdicts are calibration labels.

use crate::align::StepStatus;
use serde::{Deserialize, Serialize};

/// What an analyst said of a step: a full status, or only whether it was said at all, as QA tools
/// that score a checklist export it (yes/no, 1/0, sí/no).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    Status(StepStatus),
    Said(bool),
}

impl Verdict {
    /// Reads a label cell: done, missed, out_of_order, outside_window (also with spaces or
    /// dashes), yes/no, y/n, 1/0, true/false, sí/si/no. `unclear` is guion's word, not an analyst's.
    pub fn parse(cell: &str) -> Option<Verdict> {
        let mut folded = String::new();
        crate::normalize::fold_into(cell.trim(), &mut folded);
        let folded = folded.replace([' ', '-'], "_");
        Some(match folded.as_str() {
            "done" => Verdict::Status(StepStatus::Done),
            "missed" => Verdict::Status(StepStatus::Missed),
            "out_of_order" => Verdict::Status(StepStatus::OutOfOrder),
            "outside_window" => Verdict::Status(StepStatus::OutsideWindow),
            "yes" | "y" | "1" | "true" | "si" => Verdict::Said(true),
            "no" | "n" | "0" | "false" => Verdict::Said(false),
            _ => return None,
        })
    }

    /// The words `parse` accepts, for error messages.
    pub const ACCEPTED: &'static str =
        "done, missed, out_of_order, outside_window, yes/no, sí/no or 1/0";

    /// The status this verdict stands for when it replaces guion's: "yes" is done.
    pub fn status(self) -> StepStatus {
        match self {
            Verdict::Status(s) => s,
            Verdict::Said(true) => StepStatus::Done,
            Verdict::Said(false) => StepStatus::Missed,
        }
    }

    /// The category guion's `status` is compared in: the status itself against a full label; said
    /// (done) or not (missed) against a yes/no one. `None` for `unclear`, which agrees with no label.
    pub fn compare(self, status: StepStatus) -> (Option<StepStatus>, StepStatus) {
        match self {
            Verdict::Status(s) => ((status != StepStatus::Unclear).then_some(status), s),
            Verdict::Said(said) => (
                said_of(status).map(|s| {
                    if s {
                        StepStatus::Done
                    } else {
                        StepStatus::Missed
                    }
                }),
                if said {
                    StepStatus::Done
                } else {
                    StepStatus::Missed
                },
            ),
        }
    }
}

/// Whether a status means the step was said (in order or not); `None` for unclear.
pub fn said_of(status: StepStatus) -> Option<bool> {
    match status {
        StepStatus::Done | StepStatus::OutOfOrder | StepStatus::OutsideWindow => Some(true),
        StepStatus::Missed => Some(false),
        StepStatus::Unclear => None,
    }
}

/// An analyst's verdict on one step, as it travels with the step it overrides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Review {
    pub status: StepStatus,
    /// The analyst.
    pub by: String,
    /// When it was given (UTC, RFC 3339).
    pub at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    /// guion's own verdict, filled in when the review is applied to a record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guion: Option<StepStatus>,
}

/// A review of one step of one call, as the store keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct StepReview {
    pub call_id: String,
    pub step: String,
    pub review: Review,
}

/// An analyst's verdict on a step, as a QA tool exports it (one row of a labels or reviews CSV).
#[derive(Debug, Clone, PartialEq)]
pub struct StepLabel {
    pub call_id: String,
    pub step: String,
    pub verdict: Verdict,
    pub analyst: Option<String>,
    pub why: Option<String>,
    pub night: Option<String>,
    /// `file:line`, for messages about this row.
    pub at: String,
}

/// An analyst's reading of one utterance: which brand value it shows (`None`: none).
#[derive(Debug, Clone, PartialEq)]
pub struct ValueLabel {
    pub call_id: String,
    /// When the utterance starts, in seconds into the call.
    pub start: f64,
    pub value: Option<String>,
    pub analyst: Option<String>,
    pub at: String,
}

/// A labels file: verdicts per step (`call_id, step_id, status`) or values per utterance
/// (`call_id, start, value`), told apart by the header.
#[derive(Debug, Clone, PartialEq)]
pub enum Labels {
    Steps(Vec<StepLabel>),
    Values(Vec<ValueLabel>),
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}", .0.join("\n"))]
pub struct LabelsError(pub Vec<String>);

/// The header names each column may go by, first the documented one.
const CALL: &[&str] = &["call_id", "call", "id_llamada", "llamada"];
const STEP: &[&str] = &["step_id", "step", "paso"];
const STATUS: &[&str] = &["status", "verdict", "label", "estado", "done"];
const ANALYST: &[&str] = &["analyst", "by", "reviewer", "analista", "evaluador"];
const WHY: &[&str] = &["why", "comment", "note", "comentario", "motivo"];
const NIGHT: &[&str] = &["night", "date", "noche", "fecha"];
const START: &[&str] = &["start", "start_s", "inicio"];
const VALUE: &[&str] = &["value", "valor"];

/// Reads a labels file. Every bad row is reported, each as `file:line: what`; "none", "ninguno" or
/// an empty cell as a value label means the utterance shows no value.
pub fn parse_labels(text: &str, file: &str) -> Result<Labels, LabelsError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let header_line = text.lines().next().unwrap_or("");
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(crate::transcript::read::sniff_delimiter(header_line))
        .flexible(true)
        .from_reader(text.as_bytes());
    let header: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|c| c.trim().to_lowercase()).collect(),
        Err(e) => return Err(LabelsError(vec![format!("{file}: {e}")])),
    };
    let column = |names: &[&str]| header.iter().position(|h| names.contains(&h.as_str()));
    let (call, step, status) = (column(CALL), column(STEP), column(STATUS));
    let (start, value) = (column(START), column(VALUE));
    let (analyst, why, night) = (column(ANALYST), column(WHY), column(NIGHT));
    let Some(call) = call else {
        return Err(LabelsError(vec![format!(
            "{file}:1: no `call_id` column (the header has: {})",
            header.join(", ")
        )]));
    };
    let by_values = match (step, status, start, value) {
        (Some(_), Some(_), _, _) => false,
        (_, _, Some(_), Some(_)) => true,
        _ => {
            return Err(LabelsError(vec![format!(
                "{file}:1: expected the columns call_id, step_id, status (step verdicts) or \
                 call_id, start, value (brand values per utterance); the header has: {}",
                header.join(", ")
            )]));
        }
    };
    let mut errors = Vec::new();
    let (mut steps, mut values) = (Vec::new(), Vec::new());
    for (i, row) in reader.records().enumerate() {
        let line = row
            .as_ref()
            .ok()
            .and_then(|r| r.position())
            .map_or(i + 2, |p| p.line() as usize);
        let at = format!("{file}:{line}");
        let row = match row {
            Ok(r) => r,
            Err(e) => {
                errors.push(format!("{at}: {e}"));
                continue;
            }
        };
        let cell = |k: Option<usize>| {
            k.and_then(|k| row.get(k))
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(String::from)
        };
        if row.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let Some(call_id) = cell(Some(call)) else {
            errors.push(format!("{at}: empty call_id"));
            continue;
        };
        if by_values {
            let Some(start) = cell(start)
                .as_deref()
                .and_then(crate::transcript::read::parse_offset)
            else {
                errors.push(format!(
                    "{at}: `start` must be seconds (12.5) or a clock (0:12), not {:?}",
                    cell(start).unwrap_or_default()
                ));
                continue;
            };
            let value = cell(value)
                .filter(|v| !matches!(v.to_lowercase().as_str(), "none" | "ninguno" | "-"));
            values.push(ValueLabel {
                call_id,
                start,
                value,
                analyst: cell(analyst),
                at,
            });
        } else {
            let Some(step) = cell(step) else {
                errors.push(format!("{at}: empty step_id"));
                continue;
            };
            let raw = cell(status).unwrap_or_default();
            let Some(verdict) = Verdict::parse(&raw) else {
                errors.push(format!(
                    "{at}: status {raw:?} is not one of {}",
                    Verdict::ACCEPTED
                ));
                continue;
            };
            steps.push(StepLabel {
                call_id,
                step,
                verdict,
                analyst: cell(analyst),
                why: cell(why),
                night: cell(night),
                at,
            });
        }
    }
    if !errors.is_empty() {
        return Err(LabelsError(errors));
    }
    Ok(if by_values {
        Labels::Values(values)
    } else {
        Labels::Steps(steps)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_labels_file_reads_step_verdicts_or_value_labels_and_names_each_bad_row() {
        let text =
            "\u{feff}call_id;step_id;status;analyst\nc1;greeting;sí;ana\nc1;disclosure;missed;\n";
        let Labels::Steps(steps) = parse_labels(text, "l.csv").unwrap() else {
            panic!("steps")
        };
        assert_eq!(steps.len(), 2);
        assert_eq!(steps[0].verdict, Verdict::Said(true));
        assert_eq!(steps[0].analyst.as_deref(), Some("ana"));
        assert_eq!(steps[1].analyst, None);
        assert_eq!(steps[1].at, "l.csv:3");

        let text = "call_id,start,value\nc1,0:12,clarity\nc1,30.5,none\n";
        let Labels::Values(values) = parse_labels(text, "v.csv").unwrap() else {
            panic!("values")
        };
        assert_eq!(values[0].start, 12.0);
        assert_eq!(values[0].value.as_deref(), Some("clarity"));
        assert_eq!(values[1].value, None);

        let bad = parse_labels(
            "call_id,step_id,status\nc1,greeting,perhaps\n,x,done\n",
            "b.csv",
        )
        .unwrap_err()
        .to_string();
        assert!(
            bad.contains("b.csv:2: status \"perhaps\" is not one of"),
            "{bad}"
        );
        assert!(bad.contains("b.csv:3: empty call_id"), "{bad}");
        let wrong = parse_labels("call,paso\nc1,x\n", "w.csv")
            .unwrap_err()
            .to_string();
        assert!(
            wrong.starts_with("w.csv:1: expected the columns"),
            "{wrong}"
        );
    }

    #[test]
    fn labels_read_as_qa_tools_write_them() {
        use StepStatus::*;
        for (cell, want) in [
            ("done", Verdict::Status(Done)),
            (" Missed ", Verdict::Status(Missed)),
            ("out of order", Verdict::Status(OutOfOrder)),
            ("outside-window", Verdict::Status(OutsideWindow)),
            ("Sí", Verdict::Said(true)),
            ("si", Verdict::Said(true)),
            ("1", Verdict::Said(true)),
            ("NO", Verdict::Said(false)),
            ("0", Verdict::Said(false)),
        ] {
            assert_eq!(Verdict::parse(cell), Some(want), "{cell}");
        }
        assert_eq!(Verdict::parse("unclear"), None);
        assert_eq!(Verdict::parse("maybe"), None);
    }

    #[test]
    fn yes_no_labels_compare_on_whether_the_step_was_said() {
        use StepStatus::*;
        let yes = Verdict::Said(true);
        assert_eq!(yes.compare(OutOfOrder), (Some(Done), Done));
        assert_eq!(yes.compare(Missed), (Some(Missed), Done));
        assert_eq!(yes.compare(Unclear), (None, Done));
        let full = Verdict::Status(OutsideWindow);
        assert_eq!(full.compare(Done), (Some(Done), OutsideWindow));
        assert_eq!(Verdict::Said(false).status(), Missed);
    }
}
