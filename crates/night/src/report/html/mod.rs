//! The night's report for a brand owner: one self-contained HTML page (inline CSS and SVG, no JavaScript,
//! no external asset) drawn from stored calls alone — the header, vendors compared with their 95 %
//! intervals and the in-house vs outsourced gap in words, a vendor × step heat map, tone and value
//! coverage per vendor, the agents, the ten worst calls with their evidence, failed calls, and the
//! trend across nights.
//!
//! Pure: calls in, a string out. Numbers and chart geometry are worked out here; `report.html` (a
//! minijinja template, embedded) only lays them out. Every text that comes from a call (transcript
//! words, ids, names, failure reasons) reaches the page through minijinja's HTML auto-escaping,
//! SVG `<title>`s included; the template never marks data safe.

use crate::store::{Outcome, StoredCall};
use guion_core::aggregate::{self, GroupSummary};
use guion_core::align::StepStatus;
use guion_core::record::{CallRecord, UtteranceRecord};
use guion_core::stats::{self, Estimate};
use guion_core::transcript::Speaker;
use minijinja::{Environment, ErrorKind, UndefinedBehavior, Value};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

const TEMPLATE: &str = include_str!("report.html");

/// How many of the worst calls the page shows.
pub const WORST_CALLS: usize = 10;

/// Renders the report of `night` (`calls`: that night's calls; `all_calls`: every night's, for the
/// trend). `script` is shown as given (e.g. "acme-care 3"); `dir_shown` is the batch directory as
/// the reader should type it in `guion call CALL_ID --from DIR`.
pub fn render(
    night: &str,
    script: &str,
    calls: &[StoredCall],
    all_calls: &[StoredCall],
    dir_shown: &str,
) -> Result<String, minijinja::Error> {
    let page = page(night, script, calls, all_calls, dir_shown);
    let json = serde_json::to_value(&page)
        .map_err(|e| minijinja::Error::new(ErrorKind::InvalidOperation, e.to_string()))?;
    let mut env = Environment::new();
    // A name ending in .html turns HTML auto-escaping on for every `{{ … }}`.
    env.add_template("report.html", TEMPLATE)?;
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.get_template("report.html")?.render(to_value(json))
}

/// minijinja is built without its serde feature: the page goes over as plain values.
fn to_value(v: serde_json::Value) -> Value {
    use serde_json::Value as J;
    match v {
        J::Null => Value::from(()),
        J::Bool(b) => Value::from(b),
        J::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Value::from(i),
            (None, Some(u)) => Value::from(u),
            _ => Value::from(n.as_f64().unwrap_or(0.0)),
        },
        J::String(s) => Value::from(s),
        J::Array(a) => Value::from(a.into_iter().map(to_value).collect::<Vec<_>>()),
        J::Object(o) => Value::from(
            o.into_iter()
                .map(|(k, v)| (k, to_value(v)))
                .collect::<BTreeMap<String, Value>>(),
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// What the template sees.

#[derive(Serialize)]
struct Page {
    night: String,
    script: String,
    dir: String,
    dir_cmd: String,
    calls: usize,
    scored: usize,
    failed: usize,
    unscorable: usize,
    wrong_language: Vec<OtherLanguageCall>,
    vendors: Vec<String>,
    nights: usize,
    redaction: String,
    resamples: usize,
    axis: Axis,
    vendor_rows: Vec<GroupRow>,
    sourcing_rows: Vec<GroupRow>,
    gap: String,
    heat: Grid,
    tones: Tones,
    values: Grid,
    agents: Vec<GroupRow>,
    worst: Vec<WorstCall>,
    failures: Vec<FailedCall>,
    trend: Trend,
}

/// The common 0–100 % scale of every whisker on the page.
#[derive(Serialize)]
struct Axis {
    width: f64,
    ticks: Vec<Tick>,
}

#[derive(Serialize)]
struct Tick {
    x: f64,
    label: String,
}

#[derive(Serialize)]
struct Whisker {
    x1: f64,
    x2: f64,
    cx: f64,
    title: String,
}

#[derive(Serialize)]
struct GroupRow {
    name: String,
    vendor: String,
    site: String,
    sourcing: String,
    calls: usize,
    failed: usize,
    adherence: String,
    adherence_ci: String,
    whisker: Option<Whisker>,
    forbidden: String,
    forbidden_ci: String,
    tone: String,
}

#[derive(Serialize)]
struct Column {
    id: String,
    title: String,
}

#[derive(Serialize)]
struct Cell {
    text: String,
    title: String,
    bg: String,
    fg: String,
}

#[derive(Serialize)]
struct GridRow {
    name: String,
    cells: Vec<Cell>,
}

#[derive(Serialize)]
struct Grid {
    columns: Vec<Column>,
    rows: Vec<GridRow>,
}

#[derive(Serialize)]
struct Tones {
    width: f64,
    legend: Vec<Swatch>,
    rows: Vec<ToneRow>,
}

#[derive(Serialize)]
struct Swatch {
    label: String,
    colour: String,
}

#[derive(Serialize)]
struct ToneRow {
    name: String,
    n: usize,
    segments: Vec<Segment>,
}

#[derive(Serialize)]
struct Segment {
    x: f64,
    w: f64,
    colour: String,
    fg: String,
    text: String,
    title: String,
}

#[derive(Serialize)]
struct WorstCall {
    call_id: String,
    agent: String,
    vendor: String,
    site: String,
    adherence: String,
    steps: String,
    forbidden_n: usize,
    missed: Vec<MissedStep>,
    forbidden: Vec<Hit>,
    negative: Option<Said>,
    command: String,
}

#[derive(Serialize)]
struct MissedStep {
    id: String,
    title: String,
    status: String,
    optional: bool,
    /// The words that came nearest (missed) or that were said (out of order, outside the window).
    words: Option<Said>,
}

#[derive(Serialize)]
struct Said {
    text: String,
    time: String,
    note: String,
}

#[derive(Serialize)]
struct Hit {
    id: String,
    severity: String,
    text: String,
    time: String,
}

#[derive(Serialize)]
struct OtherLanguageCall {
    call_id: String,
    agent: String,
    vendor: String,
    site: String,
    language: String,
    allowed: String,
}

#[derive(Serialize)]
struct FailedCall {
    call_id: String,
    agent: String,
    vendor: String,
    site: String,
    reason: String,
}

#[derive(Serialize)]
struct Trend {
    nights: Vec<String>,
    chart: Option<Chart>,
    rows: Vec<TrendRow>,
}

#[derive(Serialize)]
struct TrendRow {
    name: String,
    colour: String,
    cells: Vec<Cell>,
}

#[derive(Serialize)]
struct Chart {
    width: f64,
    height: f64,
    left: f64,
    right: f64,
    top: f64,
    bottom: f64,
    grid: Vec<Tick>,
    xlabels: Vec<Tick>,
    lines: Vec<Line>,
}

#[derive(Serialize)]
struct Line {
    name: String,
    colour: String,
    points: String,
    dots: Vec<Dot>,
}

#[derive(Serialize)]
struct Dot {
    cx: f64,
    cy: f64,
    title: String,
}

// ---------------------------------------------------------------------------------------------
// Building it.

fn page(
    night: &str,
    script: &str,
    calls: &[StoredCall],
    all_calls: &[StoredCall],
    dir: &str,
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
    let step_titles: BTreeMap<&str, &str> = scored
        .iter()
        .flat_map(|(_, r)| r.steps.iter().map(|s| (s.id.as_str(), s.title.as_str())))
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
        vendors: rollup.vendors.iter().map(|g| g.name.clone()).collect(),
        nights: all_calls
            .iter()
            .map(|c| c.meta.night.as_str())
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
        heat: Grid {
            columns: rollup
                .steps
                .iter()
                .map(|id| Column {
                    id: id.clone(),
                    title: step_titles
                        .get(id.as_str())
                        .copied()
                        .unwrap_or(id)
                        .to_string(),
                })
                .collect(),
            rows: rollup
                .vendors
                .iter()
                .map(|g| GridRow {
                    name: g.name.clone(),
                    cells: g
                        .steps
                        .iter()
                        .map(|(id, e)| {
                            rate_cell(
                                *e,
                                &format!(
                                    "{}, {}",
                                    g.name,
                                    step_titles.get(id.as_str()).copied().unwrap_or(id)
                                ),
                                "calls",
                            )
                        })
                        .collect(),
                })
                .collect(),
        },
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
fn pct(x: f64) -> String {
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

fn pct_range(e: &Estimate) -> String {
    format!(
        "{}\u{a0}%",
        range(whole(e.low * 100.0), whole(e.high * 100.0))
    )
}

const WHISKER_W: f64 = 220.0;
const WHISKER_PAD: f64 = 6.0;

fn whisker_x(v: f64) -> f64 {
    round1(WHISKER_PAD + v.clamp(0.0, 1.0) * (WHISKER_W - 2.0 * WHISKER_PAD))
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
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
fn rate_cell(e: Option<Estimate>, what: &str, unit: &str) -> Cell {
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

/// Known tones from warm to cold, then any others as the rollup lists them.
const TONES: [(&str, &str, &str); 5] = [
    ("empathetic", "#2e7d32", "#fff"),
    ("courteous", "#81c784", "#1a1a1a"),
    ("neutral", "#cfd4d8", "#1a1a1a"),
    ("impatient", "#f59e0b", "#1a1a1a"),
    ("dismissive", "#c62828", "#fff"),
];
const OTHER_COLOURS: [&str; 4] = ["#5c6bc0", "#8d6e63", "#26a69a", "#ab47bc"];

fn tone_order(labels: &[String]) -> Vec<(String, String, String)> {
    let mut out: Vec<(String, String, String)> = TONES
        .iter()
        .filter(|(l, _, _)| labels.iter().any(|x| x == l))
        .map(|(l, c, f)| (l.to_string(), c.to_string(), f.to_string()))
        .collect();
    for (i, l) in labels
        .iter()
        .filter(|l| !TONES.iter().any(|(t, _, _)| t == l))
        .enumerate()
    {
        out.push((
            l.clone(),
            OTHER_COLOURS[i % OTHER_COLOURS.len()].to_string(),
            "#fff".to_string(),
        ));
    }
    out
}

/// How negative a tone is, for picking a call's worst utterance.
fn negativity(label: &str) -> i32 {
    match label {
        "dismissive" => 4,
        "impatient" => 3,
        "empathetic" => 0,
        "courteous" => 1,
        _ => 2,
    }
}

const TONE_W: f64 = 420.0;

fn tones(vendors: &[GroupSummary], order: &[(String, String, String)]) -> Tones {
    let rows = vendors
        .iter()
        .filter(|g| g.tone.iter().any(|(_, e)| e.is_some()))
        .map(|g| {
            let shares: Vec<(&(String, String, String), Estimate)> = order
                .iter()
                .filter_map(|t| {
                    g.tone
                        .iter()
                        .find(|(l, _)| *l == t.0)
                        .and_then(|(_, e)| *e)
                        .map(|e| (t, e))
                })
                .collect();
            let total: f64 = shares.iter().map(|(_, e)| e.value.max(0.0)).sum();
            let mut x = 0.0;
            let segments = shares
                .iter()
                .filter(|(_, e)| e.value > 0.0 && total > 0.0)
                .map(|((label, colour, fg), e)| {
                    let w = e.value / total * TONE_W;
                    let s = Segment {
                        x: round1(x),
                        w: round1(w),
                        colour: colour.clone(),
                        fg: fg.clone(),
                        text: if w >= 34.0 {
                            pct(e.value)
                        } else {
                            String::new()
                        },
                        title: format!(
                            "{}: {label} {} of the agent's utterances (95\u{a0}% CI {})",
                            g.name,
                            pct(e.value),
                            pct_range(e)
                        ),
                    };
                    x += w;
                    s
                })
                .collect();
            ToneRow {
                name: g.name.clone(),
                n: shares.first().map_or(0, |(_, e)| e.n),
                segments,
            }
        })
        .collect();
    Tones {
        width: TONE_W,
        legend: order
            .iter()
            .map(|(l, c, _)| Swatch {
                label: l.clone(),
                colour: c.clone(),
            })
            .collect(),
        rows,
    }
}

fn clock(s: Option<f64>) -> String {
    match s {
        None => String::new(),
        Some(s) => {
            let s = s.max(0.0).round() as u64;
            format!("{}:{:02}", s / 60, s % 60)
        }
    }
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
        .filter_map(|u| u.tone.as_ref().map(|t| (u, negativity(&t.label), t.p)))
        .max_by(|a, b| a.1.cmp(&b.1).then(a.2.total_cmp(&b.2)))
        .map(|(u, _, _)| u)
}

fn worst_calls(scored: &[(&StoredCall, &CallRecord)], dir: &str) -> Vec<WorstCall> {
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
            WorstCall {
                call_id: c.meta.call_id.clone(),
                agent: c.meta.agent_id.clone(),
                vendor: c.meta.vendor.clone(),
                site: c.meta.site.clone(),
                adherence: pct(a),
                steps: format!(
                    "{} of {} steps done{}",
                    r.steps
                        .iter()
                        .filter(|s| s.status == StepStatus::Done)
                        .count(),
                    r.steps.len(),
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
                    })
                    .collect(),
                negative: worst_utterance(r).map(|u| {
                    let t = u.tone.as_ref();
                    Said {
                        text: u.text.clone(),
                        time: clock(u.start),
                        note: t.map_or(String::new(), |t| format!("{}, p {:.2}", t.label, t.p)),
                    }
                }),
                command: format!(
                    "guion call {} --from {}",
                    shell_word(&c.meta.call_id),
                    shell_word(dir)
                ),
            }
        })
        .collect()
}

const PALETTE: [&str; 8] = [
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2",
];

fn trend_of(trend: &[(String, String, Option<Estimate>)]) -> Trend {
    let nights: Vec<String> = trend
        .iter()
        .map(|(n, _, _)| n.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let vendors: Vec<String> = trend
        .iter()
        .map(|(_, v, _)| v.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let at = |night: &str, vendor: &str| {
        trend
            .iter()
            .find(|(n, v, _)| n == night && v == vendor)
            .and_then(|(_, _, e)| *e)
    };
    let colour = |i: usize| PALETTE[i % PALETTE.len()].to_string();
    let rows = vendors
        .iter()
        .enumerate()
        .map(|(i, v)| TrendRow {
            name: v.clone(),
            colour: colour(i),
            cells: nights
                .iter()
                .map(|n| rate_cell(at(n, v), &format!("{v}, {n}"), "scored calls"))
                .collect(),
        })
        .collect();
    let chart = (nights.len() >= 2).then(|| {
        let (width, height) = (640.0, 220.0);
        let (left, right, top, bottom) = (44.0, 624.0, 12.0, 184.0);
        let x = |i: usize| round1(left + (right - left) * i as f64 / (nights.len() - 1) as f64);
        let y = |v: f64| round1(bottom - (bottom - top) * v.clamp(0.0, 1.0));
        let every = nights.len().div_ceil(8);
        Chart {
            width,
            height,
            left,
            right,
            top,
            bottom,
            grid: [0.0, 0.25, 0.5, 0.75, 1.0]
                .iter()
                .map(|&v| Tick {
                    x: y(v),
                    label: format!("{:.0}\u{a0}%", v * 100.0),
                })
                .collect(),
            xlabels: nights
                .iter()
                .enumerate()
                .filter(|(i, _)| i % every == 0 || *i == nights.len() - 1)
                .map(|(i, n)| Tick {
                    x: x(i),
                    label: n.clone(),
                })
                .collect(),
            lines: vendors
                .iter()
                .enumerate()
                .map(|(vi, v)| {
                    let dots: Vec<Dot> = nights
                        .iter()
                        .enumerate()
                        .filter_map(|(i, n)| {
                            at(n, v).map(|e| Dot {
                                cx: x(i),
                                cy: y(e.value),
                                title: format!(
                                    "{v}, {n}: adherence {} (95\u{a0}% CI {}), {} scored calls",
                                    pct(e.value),
                                    pct_range(&e),
                                    e.n
                                ),
                            })
                        })
                        .collect();
                    Line {
                        name: v.clone(),
                        colour: colour(vi),
                        points: dots
                            .iter()
                            .map(|d| format!("{},{}", d.cx, d.cy))
                            .collect::<Vec<_>>()
                            .join(" "),
                        dots,
                    }
                })
                .collect(),
        }
    });
    Trend {
        nights,
        chart,
        rows,
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
