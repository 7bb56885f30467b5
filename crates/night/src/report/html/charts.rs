//! The SVG charts' geometry and colours: whiskers, the tone bars and the trend lines.

use super::build::{pct, pct_range, rate_cell};
use super::{Chart, Dot, Line, Segment, Swatch, Tick, ToneRow, Tones, Trend, TrendRow};
use guion_core::aggregate::GroupSummary;
use guion_core::stats::Estimate;
use std::collections::BTreeSet;

pub(super) const WHISKER_W: f64 = 220.0;
const WHISKER_PAD: f64 = 6.0;

pub(super) fn whisker_x(v: f64) -> f64 {
    round1(WHISKER_PAD + v.clamp(0.0, 1.0) * (WHISKER_W - 2.0 * WHISKER_PAD))
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
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

pub(super) fn tone_order(labels: &[String]) -> Vec<(String, String, String)> {
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

const TONE_W: f64 = 420.0;

pub(super) fn tones(vendors: &[GroupSummary], order: &[(String, String, String)]) -> Tones {
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

const PALETTE: [&str; 8] = [
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2",
];

pub(super) fn trend_of(trend: &[(String, String, Option<Estimate>)]) -> Trend {
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
