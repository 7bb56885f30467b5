//! The night's report for a brand owner: one self-contained HTML page (inline CSS and SVG, no JavaScript,
//! no external asset) drawn from the store alone — the header with what the night cost, vendors compared with their 95 %
//! intervals and the in-house vs outsourced gap in words, a vendor × step heat map per script, tone and value
//! coverage per vendor, the agents, the ten worst calls with their evidence, failed calls, and the
//! trend across nights.
//!
//! Pure: calls in, a string out. Numbers and chart geometry are worked out here; `report.html` (a
//! minijinja template, embedded) only lays them out. Every text that comes from a call (transcript
//! words, ids, names, failure reasons) reaches the page through minijinja's HTML auto-escaping,
//! SVG `<title>`s included; the template never marks data safe.

use crate::store::StoredCall;
use guion_core::cost::Run;
use minijinja::{Environment, ErrorKind, UndefinedBehavior, Value};
use serde::Serialize;
use std::collections::BTreeMap;

mod build;
mod charts;

pub(crate) use build::{open_command, pct, pct_range};

const TEMPLATE: &str = include_str!("report.html");

/// How many of the worst calls the page shows.
pub const WORST_CALLS: usize = 10;

/// Renders the report of `night` (`calls`: that night's calls; `all_calls`: every night's, for the
/// trend). `script` is shown as given (e.g. "acme-care 3"); `dir_shown` is the batch directory as
/// the reader should type it in `guion call CALL_ID --from DIR`. `runs`: the night's runs, for the
/// cost in the header.
pub fn render(
    night: &str,
    script: &str,
    calls: &[StoredCall],
    all_calls: &[StoredCall],
    dir_shown: &str,
    runs: &[Run],
) -> Result<String, minijinja::Error> {
    let page = build::page(night, script, calls, all_calls, dir_shown, runs);
    let json = serde_json::to_value(&page)
        .map_err(|e| minijinja::Error::new(ErrorKind::InvalidOperation, e.to_string()))?;
    let mut env = Environment::new();
    // A name ending in .html turns HTML auto-escaping on for every `{{ … }}`.
    env.add_template("report.html", TEMPLATE)?;
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.get_template("report.html")?.render(to_value(json))
}

/// minijinja is built without its serde feature: the page goes over as plain values.
pub(crate) fn to_value(v: serde_json::Value) -> Value {
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
    /// Steps whose verdict is an analyst's, and in how many calls.
    reviewed_steps: usize,
    reviewed_calls: usize,
    wrong_language: Vec<OtherLanguageCall>,
    vendors: Vec<String>,
    nights: usize,
    redaction: String,
    resamples: usize,
    axis: Axis,
    vendor_rows: Vec<GroupRow>,
    sourcing_rows: Vec<GroupRow>,
    gap: String,
    /// A vendor × step heat map per script: a step id means something only within its script.
    heats: Vec<ScriptGrid>,
    tones: Tones,
    values: Grid,
    agents: Vec<GroupRow>,
    worst: Vec<WorstCall>,
    failures: Vec<FailedCall>,
    trend: Trend,
    /// The night's runs, as the store measured them.
    cost: Vec<CostLine>,
}

/// One run of the night: where, what it analysed, at what rate, and where the time went.
#[derive(Serialize)]
struct CostLine {
    run: String,
    machine: String,
    line: String,
    stages: String,
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

/// A script's heat map, headed by the script it belongs to (`id version`) and how many scored
/// calls were scored against it.
#[derive(Serialize)]
struct ScriptGrid {
    script: String,
    calls: usize,
    grid: Grid,
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
    reviews: Vec<ReviewLine>,
    command: String,
}

/// An analyst's verdict standing in for guion's on a step of a call.
#[derive(Serialize)]
struct ReviewLine {
    step: String,
    status: String,
    guion: String,
    by: String,
    at: String,
    why: String,
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
    /// The words as heard: a `data:` URI of the clip, when the recording is reachable.
    audio: Option<String>,
}

#[derive(Serialize)]
struct Hit {
    id: String,
    severity: String,
    text: String,
    time: String,
    audio: Option<String>,
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
