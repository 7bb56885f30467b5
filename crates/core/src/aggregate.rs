//! Per agent, per vendor and in-house vs outsourced: the night's calls rolled up, each number with
//! its 95 % interval — Wilson for rates (step completion, value coverage), a seeded bootstrap over
//! calls for means (adherence, forbidden phrases per 100 calls, tone shares). Pure: stored calls in,
//! plain numbers out.
//!
//! A night may mix scripts. A step id means something only within its script, so step completion
//! is per script's step ([`StepKey`]); adherence, forbidden phrases, tone and values are over all of
//! a group's calls, each call measured against its own script (an agent who takes sales and claims
//! calls has one adherence, as a QA lead ranks agents).

use crate::align::StepStatus;
use crate::call::Sourcing;
use crate::call::{Outcome, StoredCall};
use crate::stats::{self, Estimate};
use serde::Serialize;
use std::collections::BTreeMap;

/// A step of a script.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct StepKey {
    pub script: String,
    pub step: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupSummary {
    /// The agent id, the vendor, or the sourcing.
    pub name: String,
    /// For agents: their vendor and site; for vendors: their sites joined with "+".
    pub vendor: String,
    pub site: String,
    pub sourcing: String,
    pub calls: usize,
    pub failed: usize,
    /// Calls in a language the script does not cover: neither scored nor failed.
    pub wrong_language: usize,
    pub adherence: Option<Estimate>,
    /// Per step of each script: the share of the calls scored against that script where it was
    /// done (unclear calls left out); `None` when the group has no such call.
    pub steps: Vec<(StepKey, Option<Estimate>)>,
    pub forbidden_per_100: Option<Estimate>,
    /// Per tone: the mean over calls of the share of the agent's utterances with that tone.
    pub tone: Vec<(String, Option<Estimate>)>,
    /// Per value: the share of calls where it showed.
    pub values: Vec<(String, Option<Estimate>)>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rollup {
    /// The scripts the calls were scored against, in the order they first appear.
    pub scripts: Vec<String>,
    pub steps: Vec<StepKey>,
    pub tones: Vec<String>,
    pub values: Vec<String>,
    pub agents: Vec<GroupSummary>,
    pub vendors: Vec<GroupSummary>,
    pub sourcing: Vec<GroupSummary>,
    /// In-house minus outsourced adherence, with its bootstrap interval.
    pub gap: Option<Estimate>,
}

impl Rollup {
    /// A step as a column or a label names it: its id when the night has one script (as it always
    /// did), `script/step` when several.
    pub fn step_name(&self, k: &StepKey) -> String {
        if self.scripts.len() > 1 {
            format!("{}/{}", k.script, k.step)
        } else {
            k.step.clone()
        }
    }
}

pub fn rollup(calls: &[StoredCall]) -> Rollup {
    let mut scripts: Vec<String> = Vec::new();
    let mut steps: Vec<StepKey> = Vec::new();
    let mut tones: Vec<String> = Vec::new();
    let mut values: Vec<String> = Vec::new();
    for c in calls {
        if let Outcome::Scored { record, .. } = &c.outcome {
            if !scripts.contains(&record.script.id) {
                scripts.push(record.script.id.clone());
            }
            for s in &record.steps {
                let k = StepKey {
                    script: record.script.id.clone(),
                    step: s.id.clone(),
                };
                if !steps.contains(&k) {
                    steps.push(k);
                }
            }
            for label in record.tone.iter().flat_map(|t| t.keys()) {
                if !tones.contains(label) {
                    tones.push(label.clone());
                }
            }
            for v in record.values.iter().flatten() {
                if !values.contains(&v.id) {
                    values.push(v.id.clone());
                }
            }
        }
    }
    let group = |key: &dyn Fn(&StoredCall) -> String| {
        let mut groups: BTreeMap<String, Vec<&StoredCall>> = BTreeMap::new();
        for c in calls {
            groups.entry(key(c)).or_default().push(c);
        }
        groups
            .into_iter()
            .map(|(name, members)| summarise(&name, &members, &steps, &tones, &values))
            .collect::<Vec<_>>()
    };
    let agents = group(&|c| c.meta.agent_id.clone());
    let vendors = group(&|c| c.meta.vendor.clone());
    let sourcing = group(&|c| c.meta.sourcing.as_str().to_string());
    let adherences = |which: Sourcing| -> Vec<f64> {
        calls
            .iter()
            .filter(|c| c.meta.sourcing == which)
            .filter_map(adherence)
            .collect()
    };
    let gap = stats::bootstrap_difference(
        &adherences(Sourcing::Insourced),
        &adherences(Sourcing::Outsourced),
        stats::seed_of("gap"),
    );
    Rollup {
        scripts,
        steps,
        tones,
        values,
        agents,
        vendors,
        sourcing,
        gap,
    }
}

fn adherence(c: &StoredCall) -> Option<f64> {
    match &c.outcome {
        Outcome::Scored { record, .. } => record.adherence,
        Outcome::Failed { .. } => None,
    }
}

/// A call's tone shares, when its agent said something the classifier could label: a call whose
/// agent said nothing classifiable has all-zero shares, which say nothing about tone.
pub fn classified_tone(record: &crate::record::CallRecord) -> Option<&BTreeMap<String, f64>> {
    record
        .tone
        .as_ref()
        .filter(|t| t.values().any(|s| *s > 0.0))
}

/// Whether a stored call is in a language outside the script's: stored, but not scored.
pub fn is_wrong_language(c: &StoredCall) -> bool {
    c.outcome.wrong_language().is_some()
}

fn joined<'a>(items: impl Iterator<Item = &'a str>) -> String {
    let mut v: Vec<&str> = items.collect();
    v.sort_unstable();
    v.dedup();
    v.join("+")
}

/// One group's rollup: `members` are its calls (failed and wrong-language ones counted apart);
/// `steps`, `tones` and `values` are the columns to fill, so that groups line up.
pub fn summarise(
    name: &str,
    members: &[&StoredCall],
    steps: &[StepKey],
    tones: &[String],
    values: &[String],
) -> GroupSummary {
    let scored: Vec<&crate::record::CallRecord> = members
        .iter()
        .filter_map(|c| match &c.outcome {
            Outcome::Scored { record, .. } if record.is_scored() => Some(record.as_ref()),
            _ => None,
        })
        .collect();
    let wrong_language = members.iter().filter(|c| is_wrong_language(c)).count();
    let seed = |what: &str| stats::seed_of(&format!("{name}/{what}"));
    let adherence: Vec<f64> = scored.iter().filter_map(|r| r.adherence).collect();
    let step_rates = steps
        .iter()
        .map(|k| {
            let statuses: Vec<StepStatus> = scored
                .iter()
                .filter(|r| r.script.id == k.script)
                .filter_map(|r| r.steps.iter().find(|s| s.id == k.step).map(|s| s.status))
                .filter(|s| *s != StepStatus::Unclear)
                .collect();
            let done = statuses.iter().filter(|s| **s == StepStatus::Done).count();
            (k.clone(), stats::wilson(done, statuses.len()))
        })
        .collect();
    let forbidden: Vec<f64> = scored
        .iter()
        .map(|r| r.forbidden.len() as f64 * 100.0)
        .collect();
    let tone = tones
        .iter()
        .map(|label| {
            let shares: Vec<f64> = scored
                .iter()
                .filter_map(|r| classified_tone(r))
                .map(|t| t.get(label).copied().unwrap_or(0.0))
                .collect();
            (label.clone(), stats::bootstrap_mean(&shares, seed(label)))
        })
        .collect();
    let value_rates = values
        .iter()
        .map(|id| {
            let shown: Vec<bool> = scored
                .iter()
                .filter_map(|r| r.values.as_ref())
                .filter_map(|vs| vs.iter().find(|v| &v.id == id).map(|v| v.shown))
                .collect();
            let n = shown.iter().filter(|s| **s).count();
            (id.clone(), stats::wilson(n, shown.len()))
        })
        .collect();
    GroupSummary {
        name: name.to_string(),
        vendor: joined(members.iter().map(|c| c.meta.vendor.as_str())),
        site: joined(members.iter().map(|c| c.meta.site.as_str())),
        sourcing: joined(members.iter().map(|c| c.meta.sourcing.as_str())),
        calls: members.len(),
        failed: members.len() - scored.len() - wrong_language,
        wrong_language,
        adherence: stats::bootstrap_mean(&adherence, seed("adherence")),
        steps: step_rates,
        forbidden_per_100: stats::bootstrap_mean(&forbidden, seed("forbidden")),
        tone,
        values: value_rates,
    }
}

/// Adherence per vendor per night, oldest night first: the trend across nights.
pub fn trend(calls: &[StoredCall]) -> Vec<(String, String, Option<Estimate>)> {
    let mut groups: BTreeMap<(String, String), Vec<f64>> = BTreeMap::new();
    for c in calls {
        let entry = groups
            .entry((c.night.clone(), c.meta.vendor.clone()))
            .or_default();
        if let Some(a) = adherence(c) {
            entry.push(a);
        }
    }
    groups
        .into_iter()
        .map(|((night, vendor), a)| {
            let seed = stats::seed_of(&format!("{night}/{vendor}"));
            (night, vendor, stats::bootstrap_mean(&a, seed))
        })
        .collect()
}
