//! The page's numbers and words, worked out from the store's calls.

use super::charts::{WHISKER_W, tone_order, tones, trend_of, whisker_x};
use super::{
    Axis, Cell, Column, CostLine, FailedCall, Grid, GridRow, GroupRow, Hit, MissedStep,
    OtherLanguageCall, Page, ReviewLine, Said, ScriptGrid, Tick, WORST_CALLS, Whisker, WorstCall,
};
use crate::store::{Outcome, StoredCall};
use guion_core::aggregate::{self, GroupSummary};
use guion_core::align::StepStatus;
use guion_core::cost::{Run, RunKind};
use guion_core::meaning::tone_negativity;
use guion_core::record::{CallRecord, UtteranceRecord};
use guion_core::stats::{self, Estimate};
use guion_core::transcript::{self, Speaker};
use std::collections::{BTreeMap, BTreeSet};

pub(super) fn page(
    night: &str,
    script: &str,
    calls: &[StoredCall],
    all_calls: &[StoredCall],
    dir: &str,
    runs: &[Run],
) -> Page {
    let rollup = aggregate::rollup(calls);
    let trend = aggregate::trend(all_calls);
    let scored: Vec<(&StoredCall, &CallRecord)> = calls
        .iter()
        .filter_map(|c| match &c.outcome {
            Outcome::Scored { record, .. } if record.is_scored() => Some((c, record.as_ref())),
            _ => None,
        })
        .collect();
    let redacted = scored.iter().filter(|(_, r)| r.redacted).count();
    let redaction = if scored.is_empty() {
        String::new()
    } else if redacted == scored.len() {
        "PII (card numbers, DNI/NIE, phone numbers, e-mail addresses) is redacted in every call shown."
            .to_string()
    } else {
        format!(
            "{} of {} scored calls were stored without PII redaction (--no-redact): their words are shown as said.",
            scored.len() - redacted,
            scored.len()
        )
    };
    let step_titles: BTreeMap<(&str, &str), &str> = scored
        .iter()
        .flat_map(|(_, r)| {
            r.steps
                .iter()
                .map(|s| ((r.script.id.as_str(), s.id.as_str()), s.title.as_str()))
        })
        .collect();
    // A night scores each script at one version; should two meet, the page names the latest seen.
    let versions: BTreeMap<&str, &str> = scored
        .iter()
        .map(|(_, r)| (r.script.id.as_str(), r.script.version.as_str()))
        .collect();
    let tone_order = tone_order(&rollup.tones);

    let mut agents: Vec<&GroupSummary> = rollup.agents.iter().collect();
    agents.sort_by(|a, b| {
        let key = |g: &GroupSummary| g.adherence.map(|e| e.value);
        match (key(a), key(b)) {
            (Some(x), Some(y)) => x.total_cmp(&y),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        }
        .then_with(|| a.name.cmp(&b.name))
    });

    Page {
        night: night.to_string(),
        script: script.to_string(),
        dir: dir.to_string(),
        dir_cmd: shell_word(dir),
        calls: calls.len(),
        scored: scored.len(),
        failed: calls.len()
            - scored.len()
            - calls
                .iter()
                .filter(|c| aggregate::is_wrong_language(c))
                .count(),
        wrong_language: calls
            .iter()
            .filter_map(|c| match &c.outcome {
                Outcome::Scored { record, .. } => {
                    let w = record.wrong_language.as_ref()?;
                    Some(OtherLanguageCall {
                        call_id: c.meta.call_id.clone(),
                        agent: c.meta.agent_id.clone(),
                        vendor: c.meta.vendor.clone(),
                        site: c.meta.site.clone(),
                        language: format!("{} (p {:.2})", w.found, w.p),
                        allowed: w.allowed.join(", "),
                    })
                }
                Outcome::Failed { .. } => None,
            })
            .collect(),
        unscorable: scored.iter().filter(|(_, r)| r.adherence.is_none()).count(),
        reviewed_steps: scored
            .iter()
            .map(|(_, r)| r.steps.iter().filter(|s| s.review.is_some()).count())
            .sum(),
        reviewed_calls: scored
            .iter()
            .filter(|(_, r)| r.steps.iter().any(|s| s.review.is_some()))
            .count(),
        vendors: rollup.vendors.iter().map(|g| g.name.clone()).collect(),
        nights: all_calls
            .iter()
            .map(|c| c.night.as_str())
            .collect::<BTreeSet<_>>()
            .len(),
        redaction,
        resamples: stats::BOOTSTRAP_RESAMPLES,
        axis: Axis {
            width: WHISKER_W,
            ticks: [0.0, 0.25, 0.5, 0.75, 1.0]
                .iter()
                .map(|&v| Tick {
                    x: whisker_x(v),
                    label: format!("{:.0}", v * 100.0),
                })
                .collect(),
        },
        vendor_rows: rollup.vendors.iter().map(group_row).collect(),
        sourcing_rows: rollup
            .sourcing
            .iter()
            .map(|g| GroupRow {
                name: sourcing_label(&g.name).to_string(),
                ..group_row(g)
            })
            .collect(),
        gap: gap_words(rollup.gap),
        heats: rollup
            .scripts
            .iter()
            .map(|script| {
                let of_script = |k: &&aggregate::StepKey| &k.script == script;
                let title = |k: &aggregate::StepKey| {
                    step_titles
                        .get(&(k.script.as_str(), k.step.as_str()))
                        .copied()
                        .unwrap_or(&k.step)
                        .to_string()
                };
                ScriptGrid {
                    script: versions
                        .get(script.as_str())
                        .map_or(script.clone(), |v| format!("{script} {v}")),
                    calls: scored
                        .iter()
                        .filter(|(_, r)| &r.script.id == script)
                        .count(),
                    grid: Grid {
                        columns: rollup
                            .steps
                            .iter()
                            .filter(of_script)
                            .map(|k| Column {
                                id: k.step.clone(),
                                title: title(k),
                            })
                            .collect(),
                        rows: rollup
                            .vendors
                            .iter()
                            // A vendor none of whose calls had this script has nothing to show.
                            .filter(|g| {
                                g.steps
                                    .iter()
                                    .any(|(k, e)| &k.script == script && e.is_some())
                            })
                            .map(|g| GridRow {
                                name: g.name.clone(),
                                cells: g
                                    .steps
                                    .iter()
                                    .filter(|(k, _)| &k.script == script)
                                    .map(|(k, e)| {
                                        rate_cell(*e, &format!("{}, {}", g.name, title(k)), "calls")
                                    })
                                    .collect(),
                            })
                            .collect(),
                    },
                }
            })
            .collect(),
        tones: tones(&rollup.vendors, &tone_order),
        values: Grid {
            columns: rollup
                .values
                .iter()
                .map(|id| Column {
                    id: id.clone(),
                    title: id.clone(),
                })
                .collect(),
            rows: rollup
                .vendors
                .iter()
                .filter(|g| g.values.iter().any(|(_, e)| e.is_some()))
                .map(|g| GridRow {
                    name: g.name.clone(),
                    cells: g
                        .values
                        .iter()
                        .map(|(id, e)| rate_cell(*e, &format!("{}, {id}", g.name), "calls"))
                        .collect(),
                })
                .collect(),
        },
        agents: agents.into_iter().map(group_row).collect(),
        worst: worst_calls(&scored, dir),
        failures: calls
            .iter()
            .filter_map(|c| match &c.outcome {
                Outcome::Failed { reason } => Some(FailedCall {
                    call_id: c.meta.call_id.clone(),
                    agent: c.meta.agent_id.clone(),
                    vendor: c.meta.vendor.clone(),
                    site: c.meta.site.clone(),
                    reason: reason.clone(),
                }),
                Outcome::Scored { .. } => None,
            })
            .collect(),
        trend: trend_of(&trend),
        cost: runs.iter().map(cost_line).collect(),
    }
}

fn sourcing_label(s: &str) -> &str {
    match s {
        "insourced" => "In-house",
        "outsourced" => "Outsourced",
        other => other,
    }
}

/// A share as a whole percentage.
pub(crate) fn pct(x: f64) -> String {
    format!("{}\u{a0}%", whole(x * 100.0))
}

/// A number rounded to a whole, with a true minus sign and never "-0".
fn whole(x: f64) -> String {
    let r = x.round();
    if r == 0.0 {
        "0".to_string()
    } else if r < 0.0 {
        format!("\u{2212}{:.0}", -r)
    } else {
        format!("{r:.0}")
    }
}

fn one_decimal(x: f64) -> String {
    let s = format!("{x:.1}");
    if s == "-0.0" {
        "0.0".to_string()
    } else {
        s.replace('-', "\u{2212}")
    }
}

/// "9–27", or "−3 to 15" when a dash would read as a minus.
fn range(low: String, high: String) -> String {
    if low.starts_with('\u{2212}') || high.starts_with('\u{2212}') {
        format!("{low} to {high}")
    } else {
        format!("{low}\u{2013}{high}")
    }
}

pub(crate) fn pct_range(e: &Estimate) -> String {
    format!(
        "{}\u{a0}%",
        range(whole(e.low * 100.0), whole(e.high * 100.0))
    )
}

fn group_row(g: &GroupSummary) -> GroupRow {
    let dominant = g
        .tone
        .iter()
        .filter_map(|(label, e)| e.map(|e| (label, e.value)))
        .max_by(|a, b| a.1.total_cmp(&b.1));
    GroupRow {
        name: g.name.clone(),
        vendor: g.vendor.clone(),
        site: g.site.clone(),
        sourcing: g.sourcing.clone(),
        calls: g.calls,
        failed: g.failed,
        adherence: g.adherence.map_or("—".into(), |e| pct(e.value)),
        adherence_ci: g.adherence.map_or(String::new(), |e| pct_range(&e)),
        whisker: g.adherence.map(|e| Whisker {
            x1: whisker_x(e.low),
            x2: whisker_x(e.high),
            cx: whisker_x(e.value),
            title: format!(
                "{}: adherence {} (95\u{a0}% CI {}), {} scored call{}",
                g.name,
                pct(e.value),
                pct_range(&e),
                e.n,
                if e.n == 1 { "" } else { "s" }
            ),
        }),
        forbidden: g
            .forbidden_per_100
            .map_or("—".into(), |e| one_decimal(e.value)),
        forbidden_ci: g.forbidden_per_100.map_or(String::new(), |e| {
            range(one_decimal(e.low), one_decimal(e.high))
        }),
        tone: dominant.map_or("—".into(), |(label, share)| {
            format!("{label} ({})", pct(share))
        }),
    }
}

/// The in-house minus outsourced adherence gap, in words.
fn gap_words(gap: Option<Estimate>) -> String {
    let Some(g) = gap else {
        return "No in-house vs outsourced gap tonight: the scored calls are all of one sourcing."
            .to_string();
    };
    let points = |x: f64| whole(x * 100.0);
    let unit = |x: f64| {
        if (x * 100.0).round().abs() == 1.0 {
            "point"
        } else {
            "points"
        }
    };
    let (lead, value, low, high) = if g.value >= 0.0 {
        ("In-house is", g.value, g.low, g.high)
    } else {
        ("Outsourced is", -g.value, -g.high, -g.low)
    };
    let mut s = if points(value) == "0" {
        format!(
            "In-house and outsourced are level (difference 0 points, 95\u{a0}% CI {})",
            range(points(g.low), points(g.high))
        )
    } else {
        format!(
            "{lead} {} {} ahead (95\u{a0}% CI {})",
            points(value),
            unit(value),
            range(points(low), points(high))
        )
    };
    if g.low <= 0.0 && g.high >= 0.0 {
        s.push_str(": the interval includes zero, so the gap may be chance.");
    } else {
        s.push('.');
    }
    s
}

/// A rate in a coloured cell: red at 0 through amber to green at 1; the interval in the tooltip.
pub(super) fn rate_cell(e: Option<Estimate>, what: &str, unit: &str) -> Cell {
    match e {
        None => Cell {
            text: "—".into(),
            title: format!("{what}: no {unit} to judge"),
            bg: "#f2f2f2".into(),
            fg: "#888".into(),
        },
        Some(e) => Cell {
            text: pct(e.value),
            title: format!(
                "{what}: {} (95\u{a0}% CI {}), {} {unit}",
                pct(e.value),
                pct_range(&e),
                e.n
            ),
            bg: format!(
                "hsl({:.0}, 70%, {:.0}%)",
                e.value.clamp(0.0, 1.0) * 120.0,
                80.0
            ),
            fg: "#1a1a1a".into(),
        },
    }
}

fn clock(s: Option<f64>) -> String {
    s.map_or_else(String::new, transcript::clock_stamp)
}

/// The command that opens a stored call in the auditor's view, ready to paste.
pub(crate) fn open_command(call_id: &str, dir: &str) -> String {
    format!(
        "guion call {} --from {}",
        shell_word(call_id),
        shell_word(dir)
    )
}

/// A word safe to paste into a POSIX shell as is, or single-quoted.
fn shell_word(s: &str) -> String {
    if !s.is_empty()
        && s.chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '_' | '-' | ':' | '+' | ',' | '@')
        })
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

fn status_words(s: StepStatus) -> &'static str {
    match s {
        StepStatus::Done => "done",
        StepStatus::Missed => "missed",
        StepStatus::OutOfOrder => "out of order",
        StepStatus::OutsideWindow => "outside its window",
        StepStatus::Unclear => "unclear",
    }
}

fn worst_utterance(record: &CallRecord) -> Option<&UtteranceRecord> {
    record
        .utterances
        .iter()
        .filter(|u| u.speaker == Speaker::Agent)
        .filter_map(|u| u.tone.as_ref().map(|t| (u, tone_negativity(&t.label), t.p)))
        .max_by(|a, b| a.1.cmp(&b.1).then(a.2.total_cmp(&b.2)))
        .map(|(u, _, _)| u)
}

/// A worst call's evidence as players: its clips, each made a `data:` URI only when the page shows
/// it (a step done is cut but not shown), and taken once, by step or forbidden phrase id. Empty when
/// the recording is not reachable from here (or is a transcript), or the record predates knowing
/// where its PII was (`clip::plan` says why, in the log).
struct Heard(Vec<crate::clips::Clip>);

impl Heard {
    fn take(&mut self, forbidden: bool, id: &str) -> Option<String> {
        let i = self.0.iter().position(|c| {
            (c.plan.of == guion_core::clip::ClipOf::Forbidden) == forbidden && c.plan.id == id
        })?;
        Some(crate::clips::data_uri(&self.0.remove(i)))
    }
}

fn evidence_heard(recording: &std::path::Path, record: &CallRecord) -> Heard {
    if record.models.asr.is_none() || !recording.is_file() {
        return Heard(Vec::new());
    }
    match crate::clips::cut(record, recording) {
        Ok(clips) => Heard(clips),
        Err(e) => {
            tracing::warn!("no players for {}: {e}", recording.display());
            Heard(Vec::new())
        }
    }
}

fn worst_calls(scored: &[(&StoredCall, &CallRecord)], dir: &str) -> Vec<WorstCall> {
    // On a night of several scripts, "3 of 8 steps" needs to say of which.
    let several = scored
        .iter()
        .map(|(_, r)| r.script.id.as_str())
        .collect::<BTreeSet<_>>()
        .len()
        > 1;
    let mut ranked: Vec<(&StoredCall, &CallRecord, f64)> = scored
        .iter()
        .filter_map(|(c, r)| r.adherence.map(|a| (*c, *r, a)))
        .collect();
    ranked.sort_by(|a, b| {
        a.2.total_cmp(&b.2)
            .then(b.1.forbidden.len().cmp(&a.1.forbidden.len()))
            .then_with(|| a.0.meta.call_id.cmp(&b.0.meta.call_id))
    });
    ranked
        .into_iter()
        .take(WORST_CALLS)
        .map(|(c, r, a)| {
            let unclear = r.score.steps_unclear;
            let mut heard = evidence_heard(&c.meta.path, r);
            WorstCall {
                call_id: c.meta.call_id.clone(),
                agent: c.meta.agent_id.clone(),
                vendor: c.meta.vendor.clone(),
                site: c.meta.site.clone(),
                adherence: pct(a),
                steps: format!(
                    "{} of {} steps{} done{}",
                    r.steps
                        .iter()
                        .filter(|s| s.status == StepStatus::Done)
                        .count(),
                    r.steps.len(),
                    if several {
                        format!(" of {}", r.script.id)
                    } else {
                        String::new()
                    },
                    if unclear > 0 {
                        format!(", {unclear} unclear")
                    } else {
                        String::new()
                    }
                ),
                forbidden_n: r.forbidden.len(),
                missed: r
                    .steps
                    .iter()
                    // A missed optional step costs nothing: only what lowered the score is shown.
                    .filter(|s| !matches!(s.status, StepStatus::Done | StepStatus::Unclear))
                    .filter(|s| s.required || s.status != StepStatus::Missed)
                    .map(|s| {
                        let (evidence, note) = match s.status {
                            StepStatus::Missed => (
                                s.closest.as_ref(),
                                format!("nearest words, similarity {:.2}", s.similarity),
                            ),
                            _ => (s.evidence.as_ref(), "said".to_string()),
                        };
                        MissedStep {
                            id: s.id.clone(),
                            title: s.title.clone(),
                            status: format!("step {}", status_words(s.status)),
                            optional: !s.required,
                            words: evidence.map(|e| Said {
                                text: e.text.clone(),
                                time: clock(e.start),
                                note,
                                audio: heard.take(false, &s.id),
                            }),
                        }
                    })
                    .collect(),
                forbidden: r
                    .forbidden
                    .iter()
                    .map(|f| Hit {
                        id: f.id.clone(),
                        severity: serde_json::to_value(f.severity)
                            .ok()
                            .and_then(|v| v.as_str().map(String::from))
                            .unwrap_or_default(),
                        text: f.evidence.text.clone(),
                        time: clock(f.evidence.start),
                        audio: heard.take(true, &f.id),
                    })
                    .collect(),
                negative: worst_utterance(r).map(|u| {
                    let t = u.tone.as_ref();
                    Said {
                        text: u.text.clone(),
                        time: clock(u.start),
                        note: t.map_or(String::new(), |t| format!("{}, p {:.2}", t.label, t.p)),
                        audio: None,
                    }
                }),
                reviews: r
                    .steps
                    .iter()
                    .filter_map(|s| {
                        s.review.as_ref().map(|v| ReviewLine {
                            step: s.id.clone(),
                            status: status_words(s.status).to_string(),
                            guion: status_words(s.guion_status()).to_string(),
                            by: v.by.clone(),
                            at: v.at.clone(),
                            why: v.why.clone().unwrap_or_default(),
                        })
                    })
                    .collect(),
                command: open_command(&c.meta.call_id, dir),
            }
        })
        .collect()
}

/// A run of the night in words: which, on what, what it analysed and at what rate.
fn cost_line(r: &Run) -> CostLine {
    let kind = match r.kind {
        RunKind::Night => "",
        RunKind::Calibration => " (calibration)",
    };
    let machine = format!(
        "{} core{}{}, guion {}, {}",
        r.machine.cores,
        if r.machine.cores == 1 { "" } else { "s" },
        r.machine
            .cpu
            .as_deref()
            .map_or(String::new(), |cpu| format!(" ({cpu})")),
        r.version,
        r.engine
    );
    let (line, stages) = match &r.finished_at {
        Some(_) => (
            r.measurement.describe()
                + &if r.reused > 0 {
                    format!("; {} reused from the store, not counted", r.reused)
                } else {
                    String::new()
                },
            r.measurement.describe_stages(),
        ),
        None => (
            "did not finish (killed or stopped by an error): its calls are counted by the run that \
             completed the night"
                .to_string(),
            String::new(),
        ),
    };
    CostLine {
        run: format!("Run {}{kind}, started {}", r.id, r.started_at),
        machine,
        line,
        stages,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gap_in_words() {
        let e = |value, low, high| {
            Some(Estimate {
                value,
                low,
                high,
                n: 50,
            })
        };
        assert_eq!(
            gap_words(e(0.18, 0.09, 0.27)),
            "In-house is 18 points ahead (95\u{a0}% CI 9\u{2013}27)."
        );
        assert_eq!(
            gap_words(e(-0.06, -0.15, 0.03)),
            "Outsourced is 6 points ahead (95\u{a0}% CI \u{2212}3 to 15): the interval includes zero, so the gap may be chance."
        );
        assert!(gap_words(None).starts_with("No in-house"));
    }

    #[test]
    fn shell_words_are_quoted_when_needed() {
        assert_eq!(shell_word("/tmp/night-out"), "/tmp/night-out");
        assert_eq!(shell_word("my dir"), "'my dir'");
        assert_eq!(shell_word("it's"), "'it'\\''s'");
    }
}
