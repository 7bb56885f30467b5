//! Recordings as contact centres keep them, heard by the real Whisper base model: dual-mono exports,
//! a "stereo" file with a silent channel, a call in a language the script does not cover, a call
//! that switches from Spanish to English, and words said on one side of a long pause. The speech is
//! Debian's recorded Asterisk prompts (human voices, 8 kHz) in Spanish, English, French and Russian.

use crate::util::{self, listener, prompt_references, require, write_wav};
use guion_core::call::{ChannelLayout, LanguageChoice};
use guion_core::normalize::{Lang, wer};
use guion_core::transcript::{Speaker, Transcript};
use guion_speech::audio;
use guion_speech::hear::{self, HearOptions};
use guion_speech::layout::LayoutKind;
use std::path::Path;

/// A prompt of Debian's Asterisk sounds as 16 kHz samples.
fn prompt(lang: &str, id: &str) -> Vec<f32> {
    audio::decode_file(&util::prompt_path(lang, id))
        .unwrap()
        .channels
        .remove(0)
}

fn silence(seconds: f64) -> Vec<f32> {
    vec![0.0; (seconds * audio::SAMPLE_RATE as f64) as usize]
}

fn hear(path: &Path, layout: Option<ChannelLayout>, language: &str) -> Transcript {
    let options = HearOptions {
        layout,
        language: language.parse::<LanguageChoice>().unwrap(),
        prompts: Default::default(),
        customer_beam: None,
    };
    hear::transcribe_call(&mut listener(), path, &options).unwrap_or_else(|e| panic!("{e}"))
}

fn text(t: &Transcript, keep: impl Fn(&guion_core::transcript::Utterance) -> bool) -> String {
    t.utterances
        .iter()
        .filter(|u| keep(u))
        .map(|u| u.text.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

const ES_IDS: [&str; 2] = ["queue-youarenext", "privacy-unident"];

/// Two Spanish prompts one after the other, with a pause: one signal holding "both parties".
fn spanish_mix() -> Vec<f32> {
    [
        prompt("es", ES_IDS[0]),
        silence(1.0),
        prompt("es", ES_IDS[1]),
    ]
    .concat()
}

#[test]
fn a_dual_mono_export_is_transcribed_once() {
    require!(util::whisper(), util::prompts("es"), util::references("es"));
    let mix = spanish_mix();
    let dir = util::tempdir();
    let dual = dir.path().join("dual.wav");
    write_wav(&dual, &[mix.clone(), mix.clone()]);
    let mono = dir.path().join("mono.wav");
    write_wav(&mono, std::slice::from_ref(&mix));

    // Even told that the agent is on the left, one signal is heard once.
    let t = hear(&dual, Some(ChannelLayout::AgentLeft), "es");
    let layout = t.layout.clone().unwrap();
    assert_eq!(layout.kind, LayoutKind::DualMono, "{layout:?}");
    assert!(
        layout.decided_by.contains("correlation 1.000"),
        "{}",
        layout.decided_by
    );
    assert!(t.utterances.iter().all(|u| u.channel == Some(0)));
    let refs = prompt_references("es");
    let reference = format!("{} {}", refs[ES_IDS[0]], refs[ES_IDS[1]]);
    let heard = text(&t, |_| true);
    assert!(wer(&reference, &heard, Some(Lang::Es)) <= 0.3, "{heard}");
    // Every word once: the same words as the mono file.
    let m = hear(&mono, None, "es");
    assert_eq!(m.layout.clone().unwrap().kind, LayoutKind::Mono);
    assert_eq!(heard, text(&m, |_| true));
}

#[test]
fn a_stereo_file_with_a_silent_channel_is_a_mono_call() {
    require!(util::whisper(), util::prompts("es"));
    let mix = spanish_mix();
    let dir = util::tempdir();
    let path = dir.path().join("right-silent.wav");
    write_wav(&path, &[mix.clone(), vec![0.0; mix.len()]]);
    let t = hear(&path, None, "es");
    let layout = t.layout.unwrap();
    assert_eq!((layout.kind, layout.channel), (LayoutKind::Mono, Some(0)));
    assert!(layout.decided_by.contains("right channel is silent"));
    // Nobody is called the agent or the customer on the strength of a channel number.
    assert!(t.utterances.iter().all(|u| u.speaker == Speaker::Unknown));
}

#[test]
fn a_call_in_another_language_is_flagged_not_transcribed() {
    require!(util::whisper(), util::prompts("fr"), util::prompts("ru"));
    let dir = util::tempdir();
    for (lang, ids, allowed) in [
        (
            "fr",
            ["conf-placeintoconf", "vm-intro", "queue-periodic-announce"],
            "es,en",
        ),
        (
            "ru",
            ["conf-placeintoconf", "vm-intro", "queue-periodic-announce"],
            "es",
        ),
    ] {
        let samples: Vec<f32> = ids
            .iter()
            .flat_map(|id| [prompt(lang, id), silence(0.8)])
            .flatten()
            .collect();
        let path = dir.path().join(format!("{lang}.wav"));
        write_wav(&path, &[samples]);
        let t = hear(&path, None, allowed);
        let wrong = t
            .wrong_language
            .as_ref()
            .unwrap_or_else(|| panic!("{lang} not flagged: {t:?}"));
        assert_eq!(wrong.found, lang);
        assert!(wrong.p >= 0.9 && wrong.allowed_p <= 0.05, "{wrong:?}");
        assert_eq!(t.language.as_deref(), Some(lang));
        assert!(t.utterances.is_empty(), "nothing is invented: {t:?}");
    }
}

#[test]
fn a_call_that_switches_from_spanish_to_english_keeps_both() {
    require!(
        util::whisper(),
        util::prompts("es"),
        util::prompts("en"),
        util::references("es"),
        util::references("en"),
    );
    // No pause between the languages long enough to end a speech region: the switch is mid-turn.
    let es = ["privacy-prompt", "queue-periodic-announce"];
    let en = ["vm-intro", "conf-placeintoconf"];
    let samples: Vec<f32> = es
        .iter()
        .map(|id| prompt("es", id))
        .chain(en.iter().map(|id| prompt("en", id)))
        .flatten()
        .collect();
    let dir = util::tempdir();
    let path = dir.path().join("switch.wav");
    write_wav(&path, &[samples]);
    let t = hear(&path, None, "es,en");
    let in_english = |u: &guion_core::transcript::Utterance| {
        u.language.as_deref().or(t.language.as_deref()) == Some("en")
    };
    let spanish = text(&t, |u| !in_english(u));
    let english = text(&t, in_english);
    let (es_refs, en_refs) = (prompt_references("es"), prompt_references("en"));
    let es_ref = es.map(|id| es_refs[id].as_str()).join(" ");
    let en_ref = en.map(|id| en_refs[id].as_str()).join(" ");
    let (es_wer, en_wer) = (
        wer(&es_ref, &spanish, Some(Lang::Es)),
        wer(&en_ref, &english, Some(Lang::En)),
    );
    assert!(es_wer <= 0.3, "Spanish {es_wer:.2}: {spanish}");
    assert!(en_wer <= 0.2, "English {en_wer:.2}: {english}");
}

#[test]
fn words_are_timed_on_their_own_side_of_a_long_pause() {
    require!(util::whisper(), util::prompts("en"));
    // The agent greets, the customer talks for a long while on the other channel, the agent answers.
    let greeting = prompt("en", "agent-user");
    let customer = [
        prompt("en", "vm-intro"),
        silence(0.5),
        prompt("en", "privacy-prompt"),
        silence(0.5),
        prompt("en", "queue-periodic-announce"),
    ]
    .concat();
    let answer = prompt("en", "conf-placeintoconf");
    let sr = audio::SAMPLE_RATE as f64;
    let gap = silence(0.7);
    let left = [
        greeting.clone(),
        gap.clone(),
        silence(customer.len() as f64 / sr),
        gap.clone(),
        answer.clone(),
    ]
    .concat();
    let right = [
        silence(greeting.len() as f64 / sr),
        gap.clone(),
        customer.clone(),
    ]
    .concat();
    let dir = util::tempdir();
    let path = dir.path().join("call.wav");
    write_wav(&path, &[left.clone(), right]);
    let t = hear(&path, Some(ChannelLayout::AgentLeft), "en");
    let greeting_end = greeting.len() as f64 / sr;
    let answer_start = (greeting.len() + 2 * gap.len() + customer.len()) as f64 / sr;
    let agent_words: Vec<_> = t
        .utterances
        .iter()
        .filter(|u| u.speaker == Speaker::Agent)
        .flat_map(|u| &u.words)
        .collect();
    assert!(!agent_words.is_empty());
    for w in &agent_words {
        let in_greeting = w.end <= greeting_end + 0.3;
        let in_answer = w.start >= answer_start - 0.3;
        assert!(
            in_greeting || in_answer,
            "'{}' timed at {:.2}–{:.2} s, while the agent was silent ({greeting_end:.2}–{answer_start:.2} s)",
            w.text,
            w.start,
            w.end
        );
    }
    // An utterance is one side's words only, and never spans the pause.
    for u in t.utterances.iter().filter(|u| u.speaker == Speaker::Agent) {
        let (start, end) = (u.start.unwrap(), u.end.unwrap());
        assert!(
            end <= greeting_end + 0.3 || start >= answer_start - 0.3,
            "{u:?}"
        );
    }
}

/// A two-party call on one channel, from real recordings of two people: the agent is Allison
/// (Asterisk's English prompts), the customer the speaker of Azure's sample. Stretches of the
/// customer are cut at their own pauses, so no word is split.
fn two_party_mono(customer: &Path) -> (Vec<f32>, f64) {
    let customer = audio::decode_file(customer).unwrap().channels.remove(0);
    let regions = audio::speech_regions(&customer, &guion_speech::asr::AsrOptions::default().gate);
    let sr = audio::SAMPLE_RATE as f64;
    // The customer's first ~8 s and next ~8 s of speech, each ending at a pause.
    let cut = |from: usize, at_least_s: f64| {
        regions
            .iter()
            .map(|r| r.end)
            .find(|&end| end > from && (end - from) as f64 / sr >= at_least_s)
            .unwrap_or(customer.len())
    };
    let first_end = cut(0, 8.0);
    let second_end = cut(first_end, 8.0);
    let agent_opening = prompt("en", "queue-periodic-announce");
    let call: Vec<f32> = [
        agent_opening.clone(),
        silence(0.6),
        customer[..first_end].to_vec(),
        silence(0.6),
        prompt("en", "conf-placeintoconf"),
        silence(0.6),
        customer[first_end..second_end].to_vec(),
    ]
    .concat();
    (call, agent_opening.len() as f64 / sr)
}

#[test]
fn a_mono_call_says_who_spoke_and_finds_the_agent_by_the_script() {
    require!(util::whisper(), util::prompts("en"));
    let customer = require!(util::shared_speech("azure-en-US-general.wav"));
    let (call, _) = two_party_mono(&customer);
    let dir = util::tempdir();
    let path = dir.path().join("mono-call.wav");
    write_wav(&path, &[call]);
    let script = r#"
[script]
id = "queue"
version = "1"
languages = ["en"]

[[step]]
id = "busy"
title = "Says all representatives are busy"
order = 1
variants.en = ["all of our representatives are currently busy"]

[[step]]
id = "transfer"
title = "Announces the transfer"
order = 2
variants.en = ["you will now be placed into the conference"]
"#;
    let (script, _) = guion_core::script::Script::parse(script, "queue.toml").unwrap();
    let input = guion_night::pipeline::CallInput {
        path: path.clone(),
        language: Some("en".into()),
        ..Default::default()
    };
    // Words only, with the shared Whisper.
    let options = guion_night::pipeline::AnalyserOptions {
        meaning: false,
        ..util::call_options()
    };
    let record = util::analyse(&script, &input, options);
    assert_eq!(record.layout.as_ref().unwrap().kind, LayoutKind::Mono);
    let agent = record.agent_channel.clone().expect("an agent side");
    assert_eq!(agent.decided_by, "script", "{agent:?}");
    assert_eq!(agent.voice, Some(0), "the agent speaks first: {agent:?}");
    // Both of the agent's lines are the agent's, and nothing the customer said is.
    for step in &record.steps {
        assert_eq!(step.status, guion_core::align::StepStatus::Done, "{step:?}");
        let evidence = step.evidence.as_ref().unwrap();
        assert_eq!(evidence.speaker, Speaker::Agent, "{evidence:?}");
    }
    let (agent_text, customer_text) = (
        util::said_by(&record, Speaker::Agent),
        util::said_by(&record, Speaker::Customer),
    );
    let normal = |t: &str| guion_core::normalize::normalize(t, Some(Lang::En));
    assert!(normal(&customer_text).contains("test"), "{customer_text}");
    assert!(!normal(&agent_text).contains("test"), "{agent_text}");
    assert!(
        !normal(&customer_text).contains("representatives"),
        "{customer_text}"
    );
    // Talk time comes from the voices' turns.
    let m = &record.metrics;
    assert!(
        m.agent_talk_s.unwrap() > 8.0 && m.customer_talk_s.unwrap() > 12.0,
        "{m:?}"
    );
    assert!(m.overtalk_s.is_some(), "{m:?}");
}
