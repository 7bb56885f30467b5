//! Coaching packs as people read them: Markdown for a terminal or a ticket, one self-contained HTML
//! page, or JSON. The packs themselves are `guion_core::coach`'s; this module only words and lays
//! them out, once for Markdown and HTML alike (`view`), so both say the same thing.
//!
//! Transcript words reach HTML only through minijinja's auto-escaping (the template never marks data
//! safe), and Markdown only through `md`, which defuses what a renderer would read as markup.

use super::html::{open_command, pct, pct_range, to_value};
use guion_core::coach::{
    Aim, Award, Coaching, Example, ForbiddenPack, Kind, Pack, Recognition, StepPack, TonePack,
};
use minijinja::{Environment, ErrorKind, UndefinedBehavior};
use serde::Serialize;
use std::fmt::Write;

const TEMPLATE: &str = include_str!("coach.html");

/// The formats a pack is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PackFormat {
    Md,
    Html,
    Json,
}

guion_core::named!(PackFormat { Md => "md", Html => "html", Json => "json" });

/// What the packs are of: shown at the top of every format.
pub struct Heading<'a> {
    pub night: &'a str,
    /// The scripts scored against, as "id version" joined with ", ".
    pub scripts: &'a str,
    /// The batch directory as the reader types it after `--from`.
    pub dir: &'a str,
}

/// The packs in `format`, each example and quote with the command that opens its call.
pub fn render(
    mut coaching: Coaching,
    format: PackFormat,
    heading: &Heading,
) -> Result<String, minijinja::Error> {
    fill_commands(&mut coaching, heading.dir);
    match format {
        PackFormat::Json => {
            #[derive(Serialize)]
            struct Json<'a> {
                night: &'a str,
                scripts: &'a str,
                store: &'a str,
                #[serde(flatten)]
                coaching: &'a Coaching,
            }
            let json = Json {
                night: heading.night,
                scripts: heading.scripts,
                store: heading.dir,
                coaching: &coaching,
            };
            serde_json::to_string_pretty(&json)
                .map(|s| s + "\n")
                .map_err(|e| minijinja::Error::new(ErrorKind::InvalidOperation, e.to_string()))
        }
        PackFormat::Md => Ok(markdown(&view(&coaching, heading))),
        PackFormat::Html => {
            let json = serde_json::to_value(view(&coaching, heading))
                .map_err(|e| minijinja::Error::new(ErrorKind::InvalidOperation, e.to_string()))?;
            let mut env = Environment::new();
            // A name ending in .html turns HTML auto-escaping on for every `{{ … }}`.
            env.add_template("coach.html", TEMPLATE)?;
            env.set_undefined_behavior(UndefinedBehavior::Strict);
            env.get_template("coach.html")?.render(to_value(json))
        }
    }
}

fn fill_commands(coaching: &mut Coaching, dir: &str) {
    for pack in coaching
        .vendors
        .iter_mut()
        .chain(coaching.agents.iter_mut())
    {
        for e in pack.steps.iter_mut().flat_map(|s| s.examples.iter_mut()) {
            e.command = open_command(&e.call_id, dir);
        }
        for q in pack.forbidden.iter_mut().filter_map(|f| f.example.as_mut()) {
            q.command = open_command(&q.call_id, dir);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The words, shared by Markdown and HTML.

#[derive(Serialize)]
struct View {
    title: String,
    facts: Vec<String>,
    recognition: Vec<RecognitionList>,
    /// Said when nobody can be recognised yet.
    recognition_none: String,
    sections: Vec<Section>,
}

#[derive(Serialize)]
struct RecognitionList {
    heading: String,
    rows: Vec<String>,
}

#[derive(Serialize)]
struct Section {
    heading: String,
    packs: Vec<PackView>,
}

#[derive(Serialize)]
struct PackView {
    anchor: String,
    name: String,
    facts: String,
    steps: Vec<StepView>,
    forbidden: Vec<Quoted>,
    tone: Vec<String>,
}

#[derive(Serialize)]
struct StepView {
    step: String,
    title: String,
    rate: String,
    best: String,
    examples: Vec<Quoted>,
}

/// A line about words said, the words (transcript text, escaped by each format), and the call.
#[derive(Serialize)]
struct Quoted {
    line: String,
    text: String,
    who: String,
    command: String,
}

fn view(c: &Coaching, h: &Heading) -> View {
    let several_scripts = h.scripts.contains(", ");
    let mut facts = vec![
        format!("Night {} · script {} · store {}", h.night, h.scripts, h.dir),
        "Rates are shares of scored calls with their 95\u{a0}% interval (Wilson for steps and \
         forbidden phrases, bootstrap over calls for tone). A step counts against a call when it \
         was missed, out of order or outside its window; unclear steps, failed calls and calls in \
         a language the script does not cover are left out. Only required steps are coached."
            .to_string(),
        "Examples are quoted as stored, PII redacted, from calls where the step was done — other \
         agents' first, in the language it was missed in, words that match the script before \
         words found by meaning."
            .to_string(),
    ];
    if c.vendors.is_empty() && c.agents.is_empty() {
        facts.push("No calls to coach.".to_string());
    }
    let mut recognition = Vec::new();
    for award in [Award::Adherence, Award::Tone] {
        for kind in [Kind::Agent, Kind::Site] {
            let rows: Vec<&Recognition> = c
                .recognition
                .iter()
                .filter(|r| r.award == award && r.kind == kind)
                .collect();
            if rows.is_empty() {
                continue;
            }
            recognition.push(RecognitionList {
                // Ranks are the night's, also when only one vendor's or agent's are shown.
                heading: format!(
                    "{} · {}, ranked in the night",
                    match award {
                        Award::Adherence => "Best adherence",
                        Award::Tone => "Warmest tone (empathetic or courteous utterances)",
                    },
                    match kind {
                        Kind::Agent => "agents",
                        Kind::Site => "sites",
                    }
                ),
                rows: rows
                    .iter()
                    .map(|r| recognition_row(r, several_scripts))
                    .collect(),
            });
        }
    }
    let mut sections = Vec::new();
    if !c.vendors.is_empty() {
        sections.push(Section {
            heading: "Vendors, lowest adherence first".to_string(),
            packs: c
                .vendors
                .iter()
                .map(|p| pack_view(p, several_scripts))
                .collect(),
        });
    }
    if !c.agents.is_empty() {
        sections.push(Section {
            heading: "Agents, lowest adherence first".to_string(),
            packs: c
                .agents
                .iter()
                .map(|p| pack_view(p, several_scripts))
                .collect(),
        });
    }
    View {
        title: format!("Coaching packs — night {}", h.night),
        facts,
        recognition,
        recognition_none: format!(
            "Recognition needs at least {} scored calls of a script; ranks go by the lower bound \
             of the 95\u{a0}% interval, so that a few lucky calls do not outrank a steady record.{}",
            c.min_calls,
            if c.recognition.is_empty() {
                " No recognition to show: nobody here has that many and a place among the best 3."
            } else {
                ""
            }
        ),
        sections,
    }
}

fn calls(n: usize) -> String {
    format!("{n} call{}", if n == 1 { "" } else { "s" })
}

fn estimate(e: &guion_core::stats::Estimate) -> String {
    format!("{} (95\u{a0}% CI {})", pct(e.value), pct_range(e))
}

fn recognition_row(r: &Recognition, several_scripts: bool) -> String {
    let whose = match r.kind {
        Kind::Agent => format!("{}, {}", r.vendor, r.site),
        Kind::Site => r.vendor.clone(),
    };
    format!(
        "{}. {} ({whose}){}: {}, {} scored",
        r.rank,
        r.name,
        if several_scripts {
            format!(" on {}", r.script)
        } else {
            String::new()
        },
        estimate(&r.estimate),
        calls(r.estimate.n)
    )
}

fn pack_view(p: &Pack, several_scripts: bool) -> PackView {
    let name = match &p.agent {
        Some(a) => format!("Agent {a} ({}, {})", p.vendor, p.site),
        None => format!("Vendor {} ({})", p.vendor, p.site),
    };
    let mut facts = calls(p.calls);
    if p.failed > 0 {
        let _ = write!(facts, ", {} failed", p.failed);
    }
    if p.wrong_language > 0 {
        let _ = write!(facts, ", {} in another language", p.wrong_language);
    }
    if let Some(a) = &p.adherence {
        let _ = write!(facts, " · adherence {}", estimate(a));
    }
    PackView {
        // An id holds no blanks; the name is escaped by the template like any other text.
        anchor: format!(
            "{}-{}",
            if p.agent.is_some() { "agent" } else { "vendor" },
            p.agent
                .as_deref()
                .unwrap_or(&p.vendor)
                .chars()
                .map(|c| if c.is_alphanumeric() { c } else { '-' })
                .collect::<String>()
        ),
        name,
        facts,
        steps: p
            .steps
            .iter()
            .map(|s| step_view(s, several_scripts))
            .collect(),
        forbidden: p.forbidden.iter().map(forbidden_view).collect(),
        tone: p.tone.iter().map(tone_line).collect(),
    }
}

fn step_view(s: &StepPack, several_scripts: bool) -> StepView {
    let not_done = s.missed + s.out_of_order + s.outside_window;
    let mut kinds = Vec::new();
    for (n, what) in [
        (s.missed, "missed"),
        (s.out_of_order, "out of order"),
        (s.outside_window, "outside its window"),
    ] {
        if n > 0 {
            kinds.push(format!("{n} {what}"));
        }
    }
    StepView {
        step: if several_scripts {
            format!("{} / {}", s.script, s.step)
        } else {
            s.step.clone()
        },
        title: s.title.clone(),
        rate: format!(
            "not done in {not_done} of {}: {} ({})",
            calls(s.missed_rate.n),
            estimate(&s.missed_rate),
            kinds.join(", ")
        ),
        best: s.best_site.as_ref().map_or(String::new(), |b| {
            format!(
                "best site: {}, {} of {}",
                b.site,
                estimate(&b.rate),
                calls(b.rate.n)
            )
        }),
        examples: s.examples.iter().map(example_view).collect(),
    }
}

fn example_view(e: &Example) -> Quoted {
    let how = match e.kind {
        guion_core::align::MatchKind::Lexical => "in the script's words",
        guion_core::align::MatchKind::Semantic => "in other words",
        guion_core::align::MatchKind::Judged => "in other words (judge)",
    };
    Quoted {
        line: String::new(),
        text: e.text.clone(),
        who: format!(
            "{}, {}, {}{} — {how}",
            e.agent_id,
            e.vendor,
            e.site,
            e.language
                .as_deref()
                .map_or(String::new(), |l| format!(" ({l})"))
        ),
        command: e.command.clone(),
    }
}

fn forbidden_view(f: &ForbiddenPack) -> Quoted {
    let with = (f.calls.value * f.calls.n as f64).round() as usize;
    Quoted {
        line: format!(
            "{} ({}): said {} time{}, in {with} of {}: {}",
            f.id,
            match f.severity {
                guion_core::script::Severity::High => "high",
                guion_core::script::Severity::Medium => "medium",
                guion_core::script::Severity::Low => "low",
            },
            f.said,
            if f.said == 1 { "" } else { "s" },
            calls(f.calls.n),
            estimate(&f.calls)
        ),
        text: f.example.as_ref().map_or(String::new(), |q| q.text.clone()),
        who: f
            .example
            .as_ref()
            .map_or(String::new(), |q| q.agent_id.clone()),
        command: f
            .example
            .as_ref()
            .map_or(String::new(), |q| q.command.clone()),
    }
}

fn tone_line(t: &TonePack) -> String {
    format!(
        "{}: {} of the agent's utterances, per call; best site: {}, {} — {}",
        t.tone,
        estimate(&t.share),
        t.best_site.site,
        estimate(&t.best_site.rate),
        match t.aim {
            Aim::Less => "to say less",
            Aim::More => "to say more",
        }
    )
}

// ---------------------------------------------------------------------------------------------
// Markdown.

/// Text from a call or a manifest, made inert: one line, and nothing a Markdown renderer would turn
/// into emphasis, code, a link or raw HTML. Brackets stay as they are unless they open a link's
/// target, so that redaction marks ([CARD]) read plainly in a terminal; an underscore inside a word
/// (a step id) cannot emphasise and stays too.
fn md(s: &str) -> String {
    let chars: Vec<char> = s
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .collect();
    let mut out = String::with_capacity(s.len());
    for (i, &ch) in chars.iter().enumerate() {
        let before = i.checked_sub(1).map(|j| chars[j]);
        let after = chars.get(i + 1).copied();
        let escape = match ch {
            '\\' | '`' | '*' | '<' | '>' => true,
            '_' => {
                !(before.is_some_and(char::is_alphanumeric)
                    && after.is_some_and(char::is_alphanumeric))
            }
            '(' => before == Some(']'),
            _ => false,
        };
        if escape {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

/// A command as inline code, fenced by more backticks than any run inside it, so none can close it.
fn md_code(s: &str) -> String {
    let longest = s.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    if longest == 0 {
        format!("`{s}`")
    } else {
        let fence = "`".repeat(longest + 1);
        format!("{fence} {s} {fence}")
    }
}

fn markdown(v: &View) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# {}\n", md(&v.title));
    for f in &v.facts {
        let _ = writeln!(o, "{}\n", md(f));
    }
    let _ = writeln!(o, "## Recognition\n\n{}\n", md(&v.recognition_none));
    for r in &v.recognition {
        let _ = writeln!(o, "**{}**\n", md(&r.heading));
        // Each row starts with its rank: a numbered list as it stands.
        for row in &r.rows {
            let _ = writeln!(o, "{}", md(row));
        }
        o.push('\n');
    }
    for s in &v.sections {
        let _ = writeln!(o, "## {}\n", md(&s.heading));
        for p in &s.packs {
            let _ = writeln!(o, "### {}\n\n{}\n", md(&p.name), md(&p.facts));
            if p.steps.is_empty() && p.forbidden.is_empty() && p.tone.is_empty() {
                o.push_str("Nothing to work on tonight: every required step done, no forbidden phrase, tone level with the best site.\n\n");
                continue;
            }
            if !p.steps.is_empty() {
                o.push_str("**Steps to practise**, most missed first:\n\n");
                for (i, st) in p.steps.iter().enumerate() {
                    let _ = writeln!(
                        o,
                        "{}. **{}** ({}): {}{}",
                        i + 1,
                        md(&st.step),
                        md(&st.title),
                        md(&st.rate),
                        if st.best.is_empty() {
                            String::new()
                        } else {
                            format!("; {}", md(&st.best))
                        }
                    );
                    if st.examples.is_empty() {
                        o.push_str("   - nobody else did it tonight: no example to quote\n");
                    } else {
                        o.push_str("   - how other agents say it:\n");
                    }
                    for e in &st.examples {
                        let _ = writeln!(
                            o,
                            "     - “{}” — {}  \n       {}",
                            md(&e.text),
                            md(&e.who),
                            md_code(&e.command)
                        );
                    }
                }
                o.push('\n');
            }
            if !p.forbidden.is_empty() {
                o.push_str("**Forbidden phrases said**:\n\n");
                for f in &p.forbidden {
                    let _ = write!(o, "- {}", md(&f.line));
                    if !f.text.is_empty() {
                        let _ = write!(
                            o,
                            "; e.g. “{}” ({})  \n  {}",
                            md(&f.text),
                            md(&f.who),
                            md_code(&f.command)
                        );
                    }
                    o.push('\n');
                }
                o.push('\n');
            }
            if !p.tone.is_empty() {
                o.push_str("**Tone to work on**:\n\n");
                for t in &p.tone {
                    let _ = writeln!(o, "- {}", md(t));
                }
                o.push('\n');
            }
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_text_cannot_become_markup() {
        assert_eq!(
            md("<img src=x onerror=alert(1)> *bold*\n[a](b) _em_"),
            "\\<img src=x onerror=alert(1)\\> \\*bold\\* [a]\\(b) \\_em\\_"
        );
        assert_eq!(
            md("anything_else: [CARD] (es)"),
            "anything_else: [CARD] (es)"
        );
        assert_eq!(md_code("guion call x --from d"), "`guion call x --from d`");
        assert_eq!(md_code("a`b"), "`` a`b ``");
    }

    const HOSTILE: &str = "<script>alert(1)</script><img src=x onerror=alert(2)>";

    /// A pack whose every text from a call or a manifest is hostile.
    fn hostile() -> Coaching {
        use guion_core::coach::{Quote, SiteRate};
        use guion_core::stats::wilson;
        let rate = wilson(1, 3).unwrap();
        let example = Example {
            call_id: format!("c1{HOSTILE}"),
            agent_id: format!("ana{HOSTILE}"),
            vendor: HOSTILE.into(),
            site: HOSTILE.into(),
            language: Some(HOSTILE.into()),
            text: format!("gracias {HOSTILE}"),
            kind: guion_core::align::MatchKind::Lexical,
            similarity: 1.0,
            command: String::new(),
        };
        let pack = Pack {
            agent: Some(HOSTILE.into()),
            vendor: HOSTILE.into(),
            site: HOSTILE.into(),
            calls: 3,
            failed: 0,
            wrong_language: 0,
            adherence: Some(rate),
            steps: vec![StepPack {
                script: HOSTILE.into(),
                step: HOSTILE.into(),
                title: HOSTILE.into(),
                missed_rate: rate,
                missed: 2,
                out_of_order: 0,
                outside_window: 0,
                best_site: Some(SiteRate {
                    site: HOSTILE.into(),
                    rate,
                }),
                examples: vec![example],
            }],
            forbidden: vec![ForbiddenPack {
                script: HOSTILE.into(),
                id: HOSTILE.into(),
                severity: guion_core::script::Severity::High,
                said: 1,
                calls: rate,
                example: Some(Quote {
                    call_id: HOSTILE.into(),
                    agent_id: HOSTILE.into(),
                    text: HOSTILE.into(),
                    command: String::new(),
                }),
            }],
            tone: vec![TonePack {
                tone: HOSTILE.into(),
                aim: Aim::More,
                share: rate,
                best_site: SiteRate {
                    site: HOSTILE.into(),
                    rate,
                },
            }],
        };
        Coaching {
            min_calls: 5,
            vendors: vec![Pack {
                agent: None,
                ..pack.clone()
            }],
            agents: vec![pack],
            recognition: vec![Recognition {
                award: Award::Tone,
                rank: 1,
                kind: Kind::Agent,
                name: HOSTILE.into(),
                vendor: HOSTILE.into(),
                site: HOSTILE.into(),
                script: HOSTILE.into(),
                estimate: rate,
            }],
        }
    }

    #[test]
    fn hostile_text_is_escaped_in_html_and_inert_in_markdown() {
        let heading = Heading {
            night: HOSTILE,
            scripts: HOSTILE,
            dir: HOSTILE,
        };
        let html = render(hostile(), PackFormat::Html, &heading).unwrap();
        for raw in ["<script", "<img", "onerror=alert(2)>"] {
            assert!(!html.contains(raw), "{raw} reached the page unescaped");
        }
        assert!(html.contains("gracias &lt;script&gt;alert(1)&lt;"));
        assert!(
            html.contains("guion call"),
            "each example says how to open it"
        );
        let md = render(hostile(), PackFormat::Md, &heading).unwrap();
        // Outside code spans (the commands, on lines of their own), every `<` is escaped.
        for line in md.lines().filter(|l| !l.trim_start().starts_with('`')) {
            assert!(
                line.match_indices('<')
                    .all(|(i, _)| line[..i].ends_with('\\')),
                "raw HTML in Markdown: {line}"
            );
        }
        assert!(md.contains("gracias \\<script\\>"));
        let json = render(hostile(), PackFormat::Json, &heading).unwrap();
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(
            v["vendors"][0]["steps"][0]["examples"][0]["text"],
            format!("gracias {HOSTILE}")
        );
        assert!(
            v["agents"][0]["steps"][0]["examples"][0]["command"]
                .as_str()
                .unwrap()
                .starts_with("guion call 'c1<script>")
        );
    }

    #[test]
    fn pack_formats_are_named() {
        use guion_core::names::Named;
        assert_eq!(PackFormat::from_name("HTML"), Some(PackFormat::Html));
        assert_eq!(PackFormat::Md.name(), "md");
    }
}
