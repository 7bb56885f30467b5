//! Coaching packs: what each vendor and agent should practise, with how other agents say it, and
//! whom to recognise. Pure: one night's stored calls (analysts' reviews already applied) in, plain
//! data out.
//!
//! Every rate is the rollup's own (`aggregate::summarise`, Wilson for completion, bootstrap over
//! calls for tone shares), so a pack never disagrees with agents.csv or the report. Steps are
//! compared only within one script (grouped by the script id each record carries): the same step id
//! in two scripts need not mean the same thing.

use crate::aggregate::{self, GroupSummary, StepKey};
use crate::align::{MatchKind, StepResult, StepStatus};
use crate::call::{Outcome, StoredCall};
use crate::meaning::tone_negativity;
use crate::record::CallRecord;
use crate::script::Severity;
use crate::stats::{self, Estimate};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Scored calls an agent or site needs before it is recognised: below this, one lucky call decides.
pub const MIN_CALLS: usize = 5;
/// Examples of how other agents say a step, at most.
pub const EXAMPLES: usize = 3;
/// Agents, and sites, recognised per script and award.
pub const RECOGNISED: usize = 3;

/// Whose packs to write; benchmarks, examples and recognition ranks always draw on the whole night.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    All,
    Vendor(String),
    Agent(String),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Coaching {
    /// The scored calls a recognition rests on, at least.
    pub min_calls: usize,
    /// Worst adherence first.
    pub vendors: Vec<Pack>,
    pub agents: Vec<Pack>,
    pub recognition: Vec<Recognition>,
}

/// One vendor's or one agent's pack.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pack {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// Several joined with "+" (an agent lent to two vendors, a vendor on two sites).
    pub vendor: String,
    pub site: String,
    pub calls: usize,
    pub failed: usize,
    pub wrong_language: usize,
    pub adherence: Option<Estimate>,
    /// Required steps not always done, most missed first.
    pub steps: Vec<StepPack>,
    /// Most often said first.
    pub forbidden: Vec<ForbiddenPack>,
    /// Tones further from the best site's than any other, first.
    pub tone: Vec<TonePack>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepPack {
    pub script: String,
    pub step: String,
    pub title: String,
    /// 1 − completion, over the calls where the step could be judged (unclear left out): missed,
    /// out of order and outside its window all count, as they do against completion.
    pub missed_rate: Estimate,
    pub missed: usize,
    pub out_of_order: usize,
    pub outside_window: usize,
    /// The site whose completion of the step has the highest lower bound, and its missed rate.
    pub best_site: Option<SiteRate>,
    pub examples: Vec<Example>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SiteRate {
    pub site: String,
    pub rate: Estimate,
}

/// Words of a call where the step was done: quoted as stored, so redacted.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Example {
    pub call_id: String,
    pub agent_id: String,
    pub vendor: String,
    pub site: String,
    pub language: Option<String>,
    pub text: String,
    #[serde(rename = "match")]
    pub kind: MatchKind,
    pub similarity: f32,
    /// The command that opens the call; left empty here, filled by whoever knows the store's
    /// directory.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub command: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ForbiddenPack {
    pub script: String,
    pub id: String,
    pub severity: Severity,
    /// Times said, over every scored call of the group.
    pub said: usize,
    /// The share of the group's scored calls where it was said.
    pub calls: Estimate,
    /// The group's own words, the most certain hit: what to stop saying.
    pub example: Option<Quote>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Quote {
    pub call_id: String,
    pub agent_id: String,
    pub text: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub command: String,
}

/// Whether a tone is one to say less (impatient, dismissive) or more (empathetic).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Aim {
    Less,
    More,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TonePack {
    pub tone: String,
    pub aim: Aim,
    /// The mean over calls of the share of the agent's utterances with this tone.
    pub share: Estimate,
    pub best_site: SiteRate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Award {
    /// Adherence to the script.
    Adherence,
    /// The share of warm utterances (empathetic or courteous).
    Tone,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Agent,
    Site,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recognition {
    pub award: Award,
    /// Within the night, the script, the award and the kind: by the interval's lower bound.
    pub rank: usize,
    pub kind: Kind,
    pub name: String,
    pub vendor: String,
    pub site: String,
    pub script: String,
    pub estimate: Estimate,
}

/// The packs of `selection` from one night's `calls`.
pub fn coach(calls: &[StoredCall], selection: &Selection, min_calls: usize) -> Coaching {
    let night = Night::new(calls);
    let groups = |key: fn(&StoredCall) -> &str| {
        let mut g: BTreeMap<&str, Vec<&StoredCall>> = BTreeMap::new();
        for c in calls {
            g.entry(key(c)).or_default().push(c);
        }
        g
    };
    let vendors: Vec<Pack> = match selection {
        Selection::Agent(_) => Vec::new(),
        _ => groups(|c| c.meta.vendor.as_str())
            .into_iter()
            .filter(|(v, _)| !matches!(selection, Selection::Vendor(s) if s != v))
            .map(|(v, members)| night.pack(v, None, &members))
            .collect(),
    };
    let agents: Vec<Pack> = groups(|c| c.meta.agent_id.as_str())
        .into_iter()
        .filter(|(a, members)| match selection {
            Selection::All => true,
            Selection::Vendor(v) => members.iter().any(|c| &c.meta.vendor == v),
            Selection::Agent(s) => s == a,
        })
        .map(|(a, members)| night.pack(a, Some(a), &members))
        .collect();
    let recognition = night
        .recognition(calls, min_calls)
        .into_iter()
        .filter(|r| match selection {
            Selection::All => true,
            Selection::Vendor(v) => r.vendor.split('+').any(|x| x == v),
            Selection::Agent(a) => r.kind == Kind::Agent && &r.name == a,
        })
        .collect();
    Coaching {
        min_calls,
        vendors: worst_first(vendors),
        agents: worst_first(agents),
        recognition,
    }
}

fn worst_first(mut packs: Vec<Pack>) -> Vec<Pack> {
    packs.sort_by(|a, b| {
        let key = |p: &Pack| p.adherence.map_or(f64::INFINITY, |e| e.value);
        key(a)
            .total_cmp(&key(b))
            .then_with(|| a.agent.cmp(&b.agent))
            .then_with(|| a.vendor.cmp(&b.vendor))
    });
    packs
}

/// A step of a script as the night's records describe it.
struct Step {
    id: String,
    title: String,
    required: bool,
}

/// What every pack is measured against: the night's scripts, tones and sites.
struct Night<'a> {
    /// Script id → its steps in the order records list them.
    scripts: BTreeMap<&'a str, Vec<Step>>,
    tones: Vec<String>,
    /// Script id → each site's rollup over that script's calls.
    sites_by_script: BTreeMap<&'a str, Vec<GroupSummary>>,
    /// Each site's rollup over all its calls (tone does not depend on the script).
    sites: Vec<GroupSummary>,
    scored: Vec<(&'a StoredCall, &'a CallRecord)>,
}

fn scored_record(c: &StoredCall) -> Option<&CallRecord> {
    match &c.outcome {
        Outcome::Scored { record, .. } if record.is_scored() => Some(record),
        _ => None,
    }
}

/// A call's script, when it was analysed (a failed call has no record).
fn script_of(c: &StoredCall) -> Option<&str> {
    match &c.outcome {
        Outcome::Scored { record, .. } => Some(&record.script.id),
        Outcome::Failed { .. } => None,
    }
}

fn step_ids(script: &str, steps: &[Step]) -> Vec<StepKey> {
    steps
        .iter()
        .map(|s| StepKey {
            script: script.to_string(),
            step: s.id.clone(),
        })
        .collect()
}

/// A missed rate from a completion rate: the same calls, the interval turned over.
fn missed(done: Estimate) -> Estimate {
    Estimate {
        value: 1.0 - done.value,
        low: 1.0 - done.high,
        high: 1.0 - done.low,
        n: done.n,
    }
}

/// Best first by the lower bound, so that a site with one perfect call does not outrank a large
/// one that is nearly as good; then by the point estimate and the name, for a stable order.
fn by_lower_bound(a: (&str, Estimate), b: (&str, Estimate)) -> std::cmp::Ordering {
    b.1.low
        .total_cmp(&a.1.low)
        .then(b.1.value.total_cmp(&a.1.value))
        .then_with(|| a.0.cmp(b.0))
}

impl<'a> Night<'a> {
    fn new(calls: &'a [StoredCall]) -> Night<'a> {
        let scored: Vec<(&StoredCall, &CallRecord)> = calls
            .iter()
            .filter_map(|c| scored_record(c).map(|r| (c, r)))
            .collect();
        let mut scripts: BTreeMap<&str, Vec<Step>> = BTreeMap::new();
        let mut tones: Vec<String> = Vec::new();
        for (_, r) in &scored {
            let steps = scripts.entry(r.script.id.as_str()).or_default();
            for s in &r.steps {
                if !steps.iter().any(|x| x.id == s.id) {
                    steps.push(Step {
                        id: s.id.clone(),
                        title: s.title.clone(),
                        required: s.required,
                    });
                }
            }
            for label in r.tone.iter().flat_map(|t| t.keys()) {
                if !tones.contains(label) {
                    tones.push(label.clone());
                }
            }
        }
        let by_site = |members: Vec<&StoredCall>, steps: &[StepKey], tones: &[String]| {
            let mut g: BTreeMap<&str, Vec<&StoredCall>> = BTreeMap::new();
            for c in members {
                g.entry(c.meta.site.as_str()).or_default().push(c);
            }
            g.into_iter()
                .map(|(site, m)| aggregate::summarise(site, &m, steps, tones, &[]))
                .collect::<Vec<_>>()
        };
        let sites_by_script = scripts
            .iter()
            .map(|(id, steps)| {
                let members = calls.iter().filter(|c| script_of(c) == Some(id)).collect();
                (*id, by_site(members, &step_ids(id, steps), &[]))
            })
            .collect();
        let sites = by_site(calls.iter().collect(), &[], &tones);
        Night {
            scripts,
            tones,
            sites_by_script,
            sites,
            scored,
        }
    }

    fn pack(&self, name: &str, agent: Option<&str>, members: &[&StoredCall]) -> Pack {
        let whole = aggregate::summarise(name, members, &[], &self.tones, &[]);
        let mut steps = Vec::new();
        let mut forbidden = Vec::new();
        for (script, script_steps) in &self.scripts {
            let of_script: Vec<&StoredCall> = members
                .iter()
                .copied()
                .filter(|c| script_of(c) == Some(script))
                .collect();
            let records: Vec<&CallRecord> =
                of_script.iter().filter_map(|c| scored_record(c)).collect();
            if records.is_empty() {
                continue;
            }
            let summary =
                aggregate::summarise(name, &of_script, &step_ids(script, script_steps), &[], &[]);
            for (step, (_, done)) in script_steps.iter().zip(&summary.steps) {
                let Some(done) = done.filter(|_| step.required) else {
                    continue;
                };
                let rate = missed(done);
                if rate.value <= 0.0 {
                    continue;
                }
                steps.push(self.step_pack(script, step, rate, members, &of_script));
            }
            forbidden.extend(forbidden_packs(script, &of_script, &records));
        }
        steps.sort_by(|a, b| {
            b.missed_rate
                .value
                .total_cmp(&a.missed_rate.value)
                .then(b.missed_rate.low.total_cmp(&a.missed_rate.low))
        });
        forbidden.sort_by(|a, b| {
            b.calls
                .value
                .total_cmp(&a.calls.value)
                .then(b.said.cmp(&a.said))
                .then_with(|| a.id.cmp(&b.id))
        });
        Pack {
            agent: agent.map(str::to_string),
            vendor: whole.vendor.clone(),
            site: whole.site.clone(),
            calls: whole.calls,
            failed: whole.failed,
            wrong_language: whole.wrong_language,
            adherence: whole.adherence,
            steps,
            forbidden,
            tone: self.tone_packs(&whole),
        }
    }

    fn step_pack(
        &self,
        script: &str,
        step: &Step,
        missed_rate: Estimate,
        group: &[&StoredCall],
        of_script: &[&StoredCall],
    ) -> StepPack {
        let statuses: Vec<(&CallRecord, StepStatus)> = of_script
            .iter()
            .filter_map(|c| scored_record(c))
            .filter_map(|r| {
                r.steps
                    .iter()
                    .find(|s| s.id == step.id)
                    .map(|s| (r, s.status))
            })
            .collect();
        let count = |which: StepStatus| statuses.iter().filter(|(_, s)| *s == which).count();
        // The languages the group fell short in, most often first: examples in them come first.
        let mut languages: BTreeMap<Option<&str>, usize> = BTreeMap::new();
        for (r, s) in &statuses {
            if !matches!(s, StepStatus::Done | StepStatus::Unclear) {
                *languages.entry(r.language.as_deref()).or_default() += 1;
            }
        }
        let mut languages: Vec<(Option<&str>, usize)> = languages.into_iter().collect();
        languages.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let languages: Vec<Option<&str>> = languages.into_iter().map(|(l, _)| l).collect();
        let best_site = self.sites_by_script.get(script).and_then(|sites| {
            sites
                .iter()
                .filter_map(|g| {
                    let (_, e) = g
                        .steps
                        .iter()
                        .find(|(key, _)| key.script == script && key.step == step.id)?;
                    e.map(|e| (g.name.as_str(), e))
                })
                .min_by(|a, b| by_lower_bound(*a, *b))
                .map(|(site, done)| SiteRate {
                    site: site.to_string(),
                    rate: missed(done),
                })
        });
        StepPack {
            script: script.to_string(),
            step: step.id.clone(),
            title: step.title.clone(),
            missed_rate,
            missed: count(StepStatus::Missed),
            out_of_order: count(StepStatus::OutOfOrder),
            outside_window: count(StepStatus::OutsideWindow),
            best_site,
            examples: self.examples(script, &step.id, group, &languages),
        }
    }

    /// Up to [`EXAMPLES`] calls where the step was done, each by a different agent: other
    /// agents' before the group's own, the languages the group fell short in first, words that
    /// matched a phrasing before words found by meaning or by the judge, steps whose every check
    /// could be made before those with a note, closer words first, then the agents who do the step
    /// most reliably. Only
    /// redacted records are quoted: a pack goes to a vendor, and another vendor's customer's data
    /// must not travel with it.
    fn examples(
        &self,
        script: &str,
        step: &str,
        group: &[&StoredCall],
        languages: &[Option<&str>],
    ) -> Vec<Example> {
        let in_group: BTreeSet<&str> = group.iter().map(|c| c.meta.agent_id.as_str()).collect();
        let mut candidates: Vec<(
            &StoredCall,
            &CallRecord,
            bool,
            &crate::align::Evidence,
            &StepResult,
        )> = self
            .scored
            .iter()
            .filter(|(_, r)| r.redacted && r.script.id == script)
            .filter_map(|(c, r)| {
                let s = r.steps.iter().find(|s| s.id == step)?;
                let e = s.evidence.as_ref()?;
                (s.status == StepStatus::Done && !e.text.trim().is_empty()).then_some((
                    *c,
                    *r,
                    in_group.contains(c.meta.agent_id.as_str()),
                    e,
                    s,
                ))
            })
            .collect();
        // How reliably each agent does the step: among equally close words, the steadiest
        // agent's come first.
        let mut record_of: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
        for (c, r) in self.scored.iter().filter(|(_, r)| r.script.id == script) {
            if let Some(s) = r.steps.iter().find(|s| s.id == step)
                && s.status != StepStatus::Unclear
            {
                let e = record_of.entry(c.meta.agent_id.as_str()).or_default();
                e.0 += usize::from(s.status == StepStatus::Done);
                e.1 += 1;
            }
        }
        let steadiness = |agent: &str| {
            record_of
                .get(agent)
                .map_or(0.0, |(done, n)| *done as f64 / (*n).max(1) as f64)
        };
        let kind_rank = |k: MatchKind| match k {
            MatchKind::Lexical => 0,
            MatchKind::Semantic => 1,
            MatchKind::Judged => 2,
        };
        candidates.sort_by(|a, b| {
            a.2.cmp(&b.2)
                .then(kind_rank(a.3.kind).cmp(&kind_rank(b.3.kind)))
                // A step whose every check was made (its window, on a call with times) is surer.
                .then(a.4.note.is_some().cmp(&b.4.note.is_some()))
                .then(b.4.similarity.total_cmp(&a.4.similarity))
                .then(steadiness(&b.0.meta.agent_id).total_cmp(&steadiness(&a.0.meta.agent_id)))
                .then(b.3.p.total_cmp(&a.3.p))
                .then_with(|| a.0.meta.call_id.cmp(&b.0.meta.call_id))
        });
        let mut chosen: Vec<usize> = Vec::new();
        let mut agents: BTreeSet<&str> = BTreeSet::new();
        let mut take = |wanted: &dyn Fn(Option<&str>) -> bool, own: bool, once: bool| {
            for (i, (c, r, mine, ..)) in candidates.iter().enumerate() {
                if chosen.len() == EXAMPLES {
                    return;
                }
                if chosen.contains(&i)
                    || *mine != own
                    || agents.contains(c.meta.agent_id.as_str())
                    || !wanted(r.language.as_deref())
                {
                    continue;
                }
                chosen.push(i);
                agents.insert(c.meta.agent_id.as_str());
                if once {
                    return;
                }
            }
        };
        // Other agents': one in each language the group fell short in, then more in those, then
        // in any; the group's own good calls only when others' run out.
        for l in languages {
            take(&|x| x == *l, false, true);
        }
        take(&|x| languages.contains(&x), false, false);
        take(&|_| true, false, false);
        take(&|x| languages.contains(&x), true, false);
        take(&|_| true, true, false);
        chosen
            .into_iter()
            .map(|i| {
                let (c, r, _, e, s) = candidates[i];
                Example {
                    call_id: c.meta.call_id.clone(),
                    agent_id: c.meta.agent_id.clone(),
                    vendor: c.meta.vendor.clone(),
                    site: c.meta.site.clone(),
                    language: r.language.clone(),
                    text: e.text.clone(),
                    kind: e.kind,
                    similarity: s.similarity,
                    command: String::new(),
                }
            })
            .collect()
    }

    /// Tones where the group is further from the best site than chance alone would put it: more
    /// impatient or dismissive than the best site's upper bound, or less empathetic than its lower
    /// bound; largest gap first.
    fn tone_packs(&self, whole: &GroupSummary) -> Vec<TonePack> {
        let mut out: Vec<(f64, TonePack)> = Vec::new();
        for (label, share) in &whole.tone {
            let Some(share) = share else { continue };
            let aim = match tone_negativity(label) {
                0 => Aim::More,
                n if n >= 3 => Aim::Less,
                _ => continue,
            };
            let sites = self.sites.iter().filter_map(|g| {
                let (_, e) = g.tone.iter().find(|(l, _)| l == label)?;
                e.map(|e| (g.name.as_str(), e))
            });
            let best = match aim {
                // The lowest share that is surely low: the smallest upper bound.
                Aim::Less => sites.min_by(|a, b| {
                    a.1.high
                        .total_cmp(&b.1.high)
                        .then(a.1.value.total_cmp(&b.1.value))
                        .then_with(|| a.0.cmp(b.0))
                }),
                Aim::More => sites.min_by(|a, b| by_lower_bound(*a, *b)),
            };
            let Some((site, best)) = best else { continue };
            let (gap, beyond) = match aim {
                Aim::Less => (share.value - best.value, share.value > best.high),
                Aim::More => (best.value - share.value, share.value < best.low),
            };
            if beyond {
                out.push((
                    gap,
                    TonePack {
                        tone: label.clone(),
                        aim,
                        share: *share,
                        best_site: SiteRate {
                            site: site.to_string(),
                            rate: best,
                        },
                    },
                ));
            }
        }
        out.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.tone.cmp(&b.1.tone)));
        out.into_iter().map(|(_, t)| t).collect()
    }

    /// Per script: the agents and sites with the best adherence and the warmest tone, among those
    /// with at least `min_calls` scored calls, ranked by the lower bound of the interval.
    fn recognition(&self, calls: &[StoredCall], min_calls: usize) -> Vec<Recognition> {
        let mut out = Vec::new();
        for script in self.scripts.keys() {
            for kind in [Kind::Agent, Kind::Site] {
                let mut groups: BTreeMap<&str, Vec<&StoredCall>> = BTreeMap::new();
                for c in calls.iter().filter(|c| script_of(c) == Some(script)) {
                    let key = match kind {
                        Kind::Agent => c.meta.agent_id.as_str(),
                        Kind::Site => c.meta.site.as_str(),
                    };
                    groups.entry(key).or_default().push(c);
                }
                for award in [Award::Adherence, Award::Tone] {
                    let mut ranked: Vec<(&str, Estimate, GroupSummary)> = groups
                        .iter()
                        .filter_map(|(name, members)| {
                            let summary = aggregate::summarise(name, members, &[], &[], &[]);
                            let estimate = match award {
                                Award::Adherence => summary.adherence,
                                Award::Tone => warm_share(name, members),
                            }?;
                            (estimate.n >= min_calls).then_some((*name, estimate, summary))
                        })
                        .collect();
                    ranked.sort_by(|a, b| by_lower_bound((a.0, a.1), (b.0, b.1)));
                    out.extend(ranked.into_iter().take(RECOGNISED).enumerate().map(
                        |(i, (name, estimate, summary))| Recognition {
                            award,
                            rank: i + 1,
                            kind,
                            name: name.to_string(),
                            vendor: summary.vendor,
                            site: summary.site,
                            script: script.to_string(),
                            estimate,
                        },
                    ));
                }
            }
        }
        out
    }
}

/// The mean over calls of the share of the agent's utterances in a warm tone (empathetic or
/// courteous), over the calls whose agent said something the classifier labelled.
fn warm_share(name: &str, members: &[&StoredCall]) -> Option<Estimate> {
    let shares: Vec<f64> = members
        .iter()
        .filter_map(|c| scored_record(c))
        .filter_map(aggregate::classified_tone)
        .map(|t| {
            t.iter()
                .filter(|(label, _)| tone_negativity(label) <= 1)
                .map(|(_, s)| s)
                .sum()
        })
        .collect();
    stats::bootstrap_mean(&shares, stats::seed_of(&format!("{name}/warm")))
}

fn forbidden_packs(
    script: &str,
    of_script: &[&StoredCall],
    records: &[&CallRecord],
) -> Vec<ForbiddenPack> {
    let mut ids: Vec<(&str, Severity)> = Vec::new();
    for r in records {
        for h in &r.forbidden {
            if !ids.iter().any(|(id, _)| *id == h.id) {
                ids.push((&h.id, h.severity));
            }
        }
    }
    ids.into_iter()
        .filter_map(|(id, severity)| {
            let hits: Vec<(&StoredCall, &crate::align::ForbiddenHit)> = of_script
                .iter()
                .filter_map(|c| scored_record(c).map(|r| (*c, r)))
                .flat_map(|(c, r)| {
                    r.forbidden
                        .iter()
                        .filter(|h| h.id == id)
                        .map(move |h| (c, h))
                })
                .collect();
            let with: BTreeSet<&str> = hits.iter().map(|(c, _)| c.meta.call_id.as_str()).collect();
            let example = hits
                .iter()
                .max_by(|a, b| {
                    a.1.similarity
                        .total_cmp(&b.1.similarity)
                        .then_with(|| b.0.meta.call_id.cmp(&a.0.meta.call_id))
                })
                .map(|(c, h)| Quote {
                    call_id: c.meta.call_id.clone(),
                    agent_id: c.meta.agent_id.clone(),
                    text: h.evidence.text.clone(),
                    command: String::new(),
                });
            Some(ForbiddenPack {
                script: script.to_string(),
                id: id.to_string(),
                severity,
                said: hits.len(),
                calls: stats::wilson(with.len(), records.len())?,
                example,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests;
