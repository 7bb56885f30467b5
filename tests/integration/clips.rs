//! Evidence you can hear: `guion call --clips` on a real stereo call (espeak-ng voices, Whisper,
//! the encoder), clips as long as their evidence, cut from the agent's channel, PII silent.

use crate::util::{self, require};
use guion_core::align::{Evidence, MatchKind};
use guion_core::clip::CLIP_MARGIN_S;
use guion_night::pipeline::CallInput;
use std::path::Path;
use std::process::Command;

/// espeak-ng's Spanish for `text`, at 16 kHz.
fn say(dir: &Path, name: &str, voice: &str, text: &str) -> Vec<f32> {
    let wav = dir.join(format!("{name}.wav"));
    let ok = Command::new("espeak-ng")
        .args(["-v", voice, "-s", "150", "-w"])
        .arg(&wav)
        .arg(text)
        .status()
        .unwrap();
    assert!(ok.success());
    let mut r = hound::WavReader::open(&wav).unwrap();
    let rate = r.spec().sample_rate;
    let samples: Vec<f32> = r
        .samples::<i16>()
        .map(|s| f32::from(s.unwrap()) / 32768.0)
        .collect();
    guion_speech::audio::resample(&samples, rate, 16_000)
}

/// A stereo call: the agent on the left says `agent` lines, the customer on the right answers
/// between them.
fn stereo_call(dir: &Path, agent: &[&str], customer: &[&str]) -> std::path::PathBuf {
    let (mut left, mut right) = (vec![0.0f32; 8_000], vec![0.0f32; 8_000]);
    for (i, line) in agent.iter().enumerate() {
        let said = say(dir, &format!("a{i}"), "es", line);
        right.resize(left.len() + said.len(), 0.0);
        left.extend(said);
        left.extend(vec![0.0; 12_000]);
        if let Some(answer) = customer.get(i) {
            let said = say(dir, &format!("c{i}"), "es+f3", answer);
            right.resize(left.len(), 0.0);
            right.extend(said);
            right.extend(vec![0.0; 12_000]);
            left.resize(right.len(), 0.0);
        }
    }
    right.resize(left.len(), 0.0);
    let path = dir.join("call.wav");
    util::write_wav(&path, &[left, right]);
    path
}

#[test]
fn each_steps_evidence_is_a_clip_of_the_agents_channel_as_long_as_its_words() {
    require!(
        util::whisper(),
        util::encoder(),
        util::program("espeak-ng", "scripts/setup installs it")
    );
    let dir = util::tempdir();
    let call = stereo_call(
        dir.path(),
        &[
            "Gracias por llamar a Acme Seguros, le atiende Laura.",
            "Le informamos de que esta llamada puede ser grabada para mejorar la calidad del servicio.",
        ],
        &["Hola, quería cambiar la tarjeta del seguro."],
    );
    let clips = dir.path().join("clips");
    let out = util::guion()
        .args(["call"])
        .arg(&call)
        .args(["--script"])
        .arg(util::fixture("examples/scripts/acme-seguros.toml"))
        .args(["--language", "es", "--channels", "agent-left", "--clips"])
        .arg(&clips)
        .output()
        .unwrap();
    let view = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(clips.join("clips.json")).unwrap()).unwrap();
    assert_eq!(index["margin_s"], CLIP_MARGIN_S);
    let listed = index["clips"].as_array().unwrap();
    let files: Vec<&str> = listed.iter().map(|c| c["file"].as_str().unwrap()).collect();
    assert!(
        files.contains(&"greeting.wav") && files.contains(&"disclosure.wav"),
        "{files:?}\n{view}"
    );
    for c in listed {
        let file = clips.join(c["file"].as_str().unwrap());
        // The view says where each clip is.
        assert!(view.contains(&file.display().to_string()), "{view}");
        let r = hound::WavReader::open(&file).unwrap();
        assert_eq!((r.spec().channels, r.spec().sample_rate), (1, 16_000));
        let seconds = f64::from(r.len()) / 16_000.0;
        let (start, end) = (c["start"].as_f64().unwrap(), c["end"].as_f64().unwrap());
        assert!(
            (seconds - (end - start)).abs() < 0.01,
            "{file:?}: {seconds} s for {start}–{end}"
        );
        if c["of"] == "step" {
            assert_eq!(
                c["channel"], 0,
                "agent steps come from the agent's channel: {c}"
            );
            assert!(!c["text"].as_str().unwrap().is_empty());
        }
    }
    // A transcript has no audio to cut.
    let out = util::guion()
        .args(["call"])
        .arg(util::fixture("examples/transcripts/acme-es-partial.txt"))
        .args(["--script"])
        .arg(util::fixture("examples/scripts/acme-seguros.toml"))
        .args(["--no-meaning", "--clips"])
        .arg(dir.path().join("none"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs a recording"));
}

#[test]
fn a_number_read_out_inside_a_clip_is_silent_in_it() {
    require!(util::whisper(), util::prompts("es"));
    let dir = util::tempdir();
    // Asterisk's recorded voice asks for an agent number and reads out a phone number, digit by
    // digit, on the left; the right channel is silent until then.
    let mut left = vec![0.0f32; 8_000];
    for id in [
        "agent-user",
        "digits/6",
        "digits/1",
        "digits/2",
        "digits/3",
        "digits/8",
    ]
    .into_iter()
    .chain([
        "digits/4",
        "digits/9",
        "digits/0",
        "digits/7",
        "auth-thankyou",
    ]) {
        let audio = guion_speech::audio::decode_file(&util::prompt_path("es", id)).unwrap();
        left.extend(&audio.channels[0]);
        left.extend(vec![0.0; 1_600]);
    }
    let right = vec![0.0f32; left.len()];
    let call = dir.path().join("call.wav");
    util::write_wav(&call, &[left, right]);
    let (script, _) =
        guion_night::input::load_script(&util::fixture("examples/scripts/acme-seguros.toml"))
            .unwrap();
    let input = CallInput {
        path: call.clone(),
        language: Some("es".into()),
        channels: Some(guion_core::call::ChannelLayout::AgentLeft),
        ..CallInput::default()
    };
    let options = guion_night::pipeline::AnalyserOptions {
        meaning: false,
        ..util::call_options()
    };
    let mut record = util::analyse(&script, &input, options);
    let pii = record
        .pii_heard
        .clone()
        .expect("a redacted record says where PII was");
    let phone = *pii
        .first()
        .unwrap_or_else(|| panic!("no PII heard: {:?}", record.utterances));
    assert_eq!(phone.channel, Some(0), "{:?}", record.utterances);
    // The agent's whole sentence as a step's evidence: the number is inside the clip.
    let sentence = record
        .utterances
        .iter()
        .find(|u| u.text.contains('['))
        .unwrap_or_else(|| panic!("no sentence with a hidden number: {:?}", record.utterances))
        .clone();
    record.steps[0].evidence = Some(Evidence {
        text: sentence.text.clone(),
        start: sentence.start,
        end: sentence.end,
        speaker: sentence.speaker,
        kind: MatchKind::Lexical,
        variant: String::new(),
        p: 1.0,
        judged: None,
    });
    let clips = guion_night::clips::cut(&record, &call).unwrap();
    let clip = &clips[0];
    assert_eq!(clip.plan.silenced.len(), 1, "{:?}", clip.plan);
    let (s, e) = clip.plan.silenced[0];
    assert!(e - s > 1.0, "the number takes seconds to say: {s}–{e}");
    let at = |t: f64| ((t - clip.plan.start) * 16_000.0) as usize;
    assert!(
        clip.samples[at(s)..at(e)].iter().all(|&x| x == 0.0),
        "silent where the number was"
    );
    let energy = |xs: &[f32]| xs.iter().map(|x| x * x).sum::<f32>();
    assert!(
        energy(&clip.samples[..at(s)]) > 1.0,
        "the words before it are heard"
    );
    // And a data URI for the report: 8 kHz WAV, a few kB per second.
    let uri = guion_night::clips::data_uri(clip);
    assert!(uri.starts_with("data:audio/wav;base64,"));
    let seconds = clip.plan.end - clip.plan.start;
    assert!(
        (uri.len() as f64) < seconds * 16_000.0 * 4.0 / 3.0 + 200.0,
        "{} bytes",
        uri.len()
    );
}

#[test]
fn the_reports_worst_calls_carry_their_evidence_as_players_when_the_recording_is_here() {
    require!(
        util::whisper(),
        util::program("espeak-ng", "scripts/setup installs it")
    );
    let dir = util::tempdir();
    let call = stereo_call(
        dir.path(),
        &[
            "Gracias por llamar a Acme Seguros, le atiende Laura.",
            "Eso no es mi problema. Le garantizo que no pagará nada.",
        ],
        &["Hola, quería cambiar la tarjeta del seguro."],
    );
    let manifest = dir.path().join("night.csv");
    std::fs::write(
        &manifest,
        format!(
            "call_id,path,agent_id,vendor,site,sourcing,language,started_at,channels\n\
             c1,{},a1,Acme,madrid,insourced,es,2026-11-22T09:00:00+01:00,agent-left\n",
            call.display()
        ),
    )
    .unwrap();
    let night = dir.path().join("night");
    let batch = util::guion()
        .arg("batch")
        .arg(&manifest)
        .arg("--script")
        .arg(util::fixture("examples/scripts/acme-seguros.toml"))
        .args(["--no-meaning", "--out"])
        .arg(&night)
        .output()
        .unwrap();
    assert!(
        batch.status.success(),
        "{}",
        String::from_utf8_lossy(&batch.stderr)
    );
    let report = |night: &Path| {
        let out = util::guion().arg("report").arg(night).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::read_to_string(night.join("report.html")).unwrap()
    };
    let page = report(&night);
    let players = page.matches("<audio controls").count();
    assert!(players >= 1, "no player on the page");
    assert!(
        page.contains("src=\"data:audio&#x2f;wav;base64,UklGR"),
        "a WAV data URI"
    );
    // Without the recording, the page says the words only.
    std::fs::remove_file(&call).unwrap();
    assert_eq!(report(&night).matches("<audio").count(), 0);
}
