//! WebVTT and SubRip: timed cues, with speakers in VTT voice tags or in `Name:` labels.

use super::time::parse_clock;
use super::{CsvColumns, Cx, ReadError, excerpt, utterance};
use crate::transcript::{Speaker, Utterance};

/// A line and its 1-based number.
type Numbered<'a> = (usize, &'a str);

/// Non-blank lines grouped into blank-line-separated blocks.
fn blocks(text: &str) -> Vec<Vec<Numbered<'_>>> {
    let mut out = Vec::new();
    let mut block = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            if !block.is_empty() {
                out.push(std::mem::take(&mut block));
            }
        } else {
            block.push((i + 1, line));
        }
    }
    if !block.is_empty() {
        out.push(block);
    }
    out
}

/// The cue's timing line and what follows it. A block whose timing line is missing or unreadable is an
/// error rather than skipped: its text would otherwise vanish from the call unseen.
fn cue<'a, 'b>(
    block: &'b [Numbered<'a>],
    cx: &Cx,
) -> Result<(f64, f64, &'b [Numbered<'a>]), ReadError> {
    let looks_timed = |line: &str| {
        let line = line.trim_start();
        line.starts_with(|c: char| c.is_ascii_digit()) && line.contains(':')
    };
    // An identifier may come first; it is any line without "-->", numbers included.
    let at = match block {
        [(_, first), ..] if first.contains("-->") => 0,
        [_, (_, second), ..] if second.contains("-->") => 1,
        [(n, first), ..] if looks_timed(first) => {
            return Err(cx.bad_timing(*n, first, "expected 'start --> end'"));
        }
        [_, (n, second), ..] if looks_timed(second) => {
            return Err(cx.bad_timing(*n, second, "expected 'start --> end'"));
        }
        [(n, first), ..] => {
            return Err(cx.syntax(
                *n,
                format!(
                    "expected a cue timing 'start --> end', found '{}'",
                    excerpt(first)
                ),
            ));
        }
        [] => return Err(cx.syntax(0, "empty cue")),
    };
    let (n, line) = block[at];
    let (left, right) = line.split_once("-->").unwrap_or((line, ""));
    // Cue settings (VTT `align:start`, SRT `X1:…`) may follow the end time.
    let end = right.split_whitespace().next().unwrap_or_default();
    let (Some(start), Some(end)) = (parse_clock(left.trim()), parse_clock(end)) else {
        return Err(cx.bad_timing(n, line, "expected [hh:]mm:ss.ttt times"));
    };
    if end < start {
        return Err(cx.bad_timing(n, line, "it ends before it starts"));
    }
    Ok((start, end, &block[at + 1..]))
}

pub(super) fn parse_vtt(text: &str, cx: &Cx) -> Result<Vec<Utterance>, ReadError> {
    let first = text.lines().next().unwrap_or_default();
    let signature = first.strip_prefix("WEBVTT");
    if !signature.is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t'])) {
        return Err(cx.syntax(
            1,
            format!(
                "expected 'WEBVTT' on the first line, found '{}'",
                excerpt(first)
            ),
        ));
    }
    let blocks = blocks(text);
    let Some((header, cues)) = blocks.split_first() else {
        return Ok(Vec::new());
    };
    // The header runs to the first blank line; files that start their first cue right under it get
    // that cue back.
    let first_cue = header
        .iter()
        .position(|(_, l)| l.contains("-->"))
        .map(|at| &header[at..]);
    let mut utterances = Vec::new();
    for block in first_cue.into_iter().chain(cues.iter().map(Vec::as_slice)) {
        let Some(&(_, first)) = block.first() else {
            continue;
        };
        let keyword = first.split([' ', '\t']).next().unwrap_or_default();
        if matches!(keyword, "NOTE" | "STYLE" | "REGION") && !first.contains("-->") {
            continue;
        }
        let (start, end, payload) = cue(block, cx)?;
        let payload: Vec<&str> = payload.iter().map(|&(_, l)| l).collect();
        for (voice, text) in vtt_voices(&payload.join("\n"), cx.cols) {
            let turns = match voice {
                Some(speaker) => vec![(speaker, text)],
                None => label_turns(text.lines(), cx.cols, true),
            };
            for (speaker, text) in turns {
                let text = decode_entities(&text);
                utterances.extend(utterance(speaker, Some(start), Some(end), &text));
            }
        }
    }
    Ok(utterances)
}

/// The cue text split at its voice tags, every tag removed and entities still encoded (decoding first
/// would turn `&lt;` into a tag). `None` for text before any voice tag.
fn vtt_voices(payload: &str, cols: &CsvColumns) -> Vec<(Option<Speaker>, String)> {
    let mut turns = Vec::new();
    let mut voice = None;
    let mut text = String::new();
    let mut rest = payload;
    while let Some(open) = rest.find('<') {
        text.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('>') else {
            // Unclosed: not markup a renderer would hide, so it stays text.
            text.push_str(&rest[open..]);
            rest = "";
            break;
        };
        if let Some(name) = voice_name(&rest[open + 1..open + close]) {
            if voice.is_some() || !text.trim().is_empty() {
                turns.push((voice, std::mem::take(&mut text)));
            } else {
                text.clear();
            }
            voice = Some(cols.speaker_of(name).unwrap_or(Speaker::Unknown));
        }
        rest = &rest[open + close + 1..];
    }
    text.push_str(rest);
    turns.push((voice, text));
    turns
}

/// The annotation of a voice tag, `v`, `v Name` or `v.class.class Name`.
fn voice_name(tag: &str) -> Option<&str> {
    let rest = tag.strip_prefix('v')?;
    match rest.chars().next() {
        None => Some(""),
        Some('.') => Some(
            rest.split_once([' ', '\t'])
                .map_or("", |(_, name)| name.trim()),
        ),
        Some(c) if c.is_whitespace() => Some(rest.trim()),
        _ => None,
    }
}

pub(super) fn parse_srt(text: &str, cx: &Cx) -> Result<Vec<Utterance>, ReadError> {
    let mut utterances = Vec::new();
    for block in &blocks(text) {
        let (start, end, payload) = cue(block, cx)?;
        let lines = payload.iter().map(|&(_, l)| strip_srt_markup(l));
        for (speaker, text) in label_turns(lines, cx.cols, false) {
            let text = decode_entities(&text);
            utterances.extend(utterance(speaker, Some(start), Some(end), &text));
        }
    }
    Ok(utterances)
}

/// Cue lines to turns: a line that opens with a speaker label (`Name:`, `[Name]`) or a dialogue dash
/// starts one, any other line continues the last. `known_only` keeps names outside the lists as text
/// (VTT, whose own speaker markup is the voice tag).
fn label_turns<S: AsRef<str>>(
    lines: impl Iterator<Item = S>,
    cols: &CsvColumns,
    known_only: bool,
) -> Vec<(Speaker, String)> {
    let mut turns: Vec<(Speaker, String)> = Vec::new();
    for line in lines {
        let line = line.as_ref().trim();
        match (line_label(line, cols, known_only), turns.last_mut()) {
            (Some((speaker, rest)), _) => turns.push((speaker, rest.into())),
            (None, Some((_, text))) => {
                text.push(' ');
                text.push_str(line);
            }
            (None, None) => turns.push((Speaker::Unknown, line.into())),
        }
    }
    turns
}

fn line_label<'a>(
    line: &'a str,
    cols: &CsvColumns,
    known_only: bool,
) -> Option<(Speaker, &'a str)> {
    if let Some(rest) = ["- ", "– ", "— "].iter().find_map(|d| line.strip_prefix(d)) {
        return Some(line_label(rest, cols, known_only).unwrap_or((Speaker::Unknown, rest)));
    }
    let (name, rest) = match line.strip_prefix('[') {
        Some(after) => after.split_once(']')?,
        None => {
            let (name, rest) = line.split_once(':')?;
            // `http://…`, `10:30`: a label's colon is followed by a space.
            if !(rest.is_empty() || rest.starts_with(char::is_whitespace)) {
                return None;
            }
            (name, rest)
        }
    };
    match cols.speaker_of(name) {
        Some(speaker) => Some((speaker, rest)),
        None if !known_only && looks_like_name(name.trim()) => Some((Speaker::Unknown, rest)),
        None => None,
    }
}

/// `Ana`, `Sr. Martín`, `JUAN PABLO`: up to three words, capitalised, letters only. Narrow on purpose:
/// what passes is cut from the text.
fn looks_like_name(name: &str) -> bool {
    name.chars().next().is_some_and(char::is_uppercase)
        && name.chars().count() <= 32
        && name.split_whitespace().count() <= 3
        && name
            .chars()
            .all(|c| c.is_alphabetic() || c == ' ' || c == '.' || c == '\'' || c == '-')
}

/// SRT has no markup of its own, but players honour `<b>`, `<i>`, `<u>`, `<s>`, `<font …>` and ASS
/// `{\an8}`; anything else in angle brackets is text (guion's own SRT writes text unescaped).
fn strip_srt_markup(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(i) = rest.find(['<', '{']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let (is_tag, close) = if let Some(inside) = tail.strip_prefix('<') {
            let inside = inside.trim_start_matches('/');
            let name_len = inside
                .find(|c: char| !c.is_ascii_alphabetic())
                .unwrap_or(inside.len());
            let name = inside[..name_len].to_ascii_lowercase();
            (matches!(name.as_str(), "b" | "i" | "u" | "s" | "font"), '>')
        } else {
            (
                tail.strip_prefix('{').is_some_and(|t| t.starts_with('\\')),
                '}',
            )
        };
        match tail.find(close) {
            Some(j) if is_tag => rest = &tail[j + 1..],
            _ => {
                out.push_str(&tail[..1]);
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The character references a cue may hold; an unknown one stays as written.
fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let tail = &rest[amp + 1..];
        // The longest reference taken is `&#x10FFFF;`; looking further would scan the whole text.
        let decoded = tail
            .char_indices()
            .take(10)
            .find(|&(_, c)| c == ';')
            .and_then(|(semi, _)| Some((entity(&tail[..semi])?, semi)));
        match decoded {
            Some((c, semi)) => {
                out.extend(c);
                rest = &tail[semi + 1..];
            }
            None => {
                out.push('&');
                rest = tail;
            }
        }
    }
    out.push_str(rest);
    out
}

/// `None`: not a reference; `Some(None)`: one that renders as nothing (direction marks).
fn entity(name: &str) -> Option<Option<char>> {
    let numeric = |digits: &str, radix| {
        u32::from_str_radix(digits, radix)
            .ok()
            .and_then(char::from_u32)
    };
    Some(match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        "nbsp" => Some(' '),
        "lrm" | "rlm" => None,
        _ => {
            let number = name.strip_prefix('#')?;
            let c = match number.strip_prefix(['x', 'X']) {
                Some(hex) => numeric(hex, 16),
                None => numeric(number, 10),
            };
            Some(c?)
        }
    })
}

#[cfg(test)]
mod tests {
    use crate::transcript::Format;
    use crate::transcript::Speaker::{Agent, Customer, Unknown};
    use crate::transcript::read::InputFormat;
    use crate::transcript::read::tests::{VTT, err, ok, sample, turns};

    #[test]
    fn vtt_voices_markup_and_entities() {
        let t = ok(InputFormat::Vtt, VTT);
        assert_eq!(
            turns(&t),
            [
                (
                    Agent,
                    Some(1.0),
                    Some(4.5),
                    "Acme Seguros & Hogar, buenos días"
                ),
                (Customer, Some(5.0), Some(7.25), "Hola quería <consultar>"),
                (Unknown, Some(68.0), Some(69.0), "¿Está?"),
                (Customer, Some(68.0), Some(69.0), "Sí."),
                (Agent, Some(70.0), Some(71.0), "un momento"),
                (
                    Unknown,
                    Some(72.0),
                    Some(73.0),
                    "Nota: sin voz ññ &foo; a&b"
                ),
            ]
        );
        assert_eq!(t.duration_s, Some(73.0));
    }

    #[test]
    fn vtt_round_trips_guion_output_and_takes_a_cue_under_the_header() {
        let t = ok(InputFormat::Vtt, &sample().render(Format::Vtt));
        assert_eq!(
            turns(&t),
            [
                (
                    Agent,
                    Some(1.25),
                    Some(3.5),
                    "Acme Seguros <soy> Ana & co, ¿dígame?"
                ),
                (Customer, Some(4.0), Some(6.75), "Hola, buenos días."),
                (Unknown, Some(64.0), Some(75.5), "Gracias: adiós."),
            ]
        );
        let t = ok(
            InputFormat::Vtt,
            "WEBVTT\n00:01.000 --> 00:02.000\n<v Agent>hola\n",
        );
        assert_eq!(turns(&t), [(Agent, Some(1.0), Some(2.0), "hola")]);
    }

    #[test]
    fn vtt_errors_name_the_line() {
        assert_eq!(
            err(InputFormat::Vtt, "1\n00:01.000 --> 00:02.000\nhola\n"),
            "call:1: expected 'WEBVTT' on the first line, found '1'"
        );
        let arrow = "WEBVTT\n\n00:01.000 --> 00:02.000\n<v Agent>hola\n\nNOTE x\n\n\n\n\ncue-2\n00:01.000 -> 00:02.000\n<v Agent>adiós\n";
        assert_eq!(
            err(InputFormat::Vtt, arrow),
            "call:12: bad cue timing '00:01.000 -> 00:02.000': expected 'start --> end'"
        );
        assert_eq!(
            err(
                InputFormat::Vtt,
                "WEBVTT\n\n00:01.000 --> 00:0x.000\nhola\n"
            ),
            "call:3: bad cue timing '00:01.000 --> 00:0x.000': expected [hh:]mm:ss.ttt times"
        );
        assert_eq!(
            err(
                InputFormat::Vtt,
                "WEBVTT\n\n00:03.000 --> 00:02.000\nhola\n"
            ),
            "call:3: bad cue timing '00:03.000 --> 00:02.000': it ends before it starts"
        );
        assert_eq!(
            err(
                InputFormat::Vtt,
                "WEBVTT\n\n00:01.000 --> 00:02.000\nhola\n\ny adiós\n"
            ),
            "call:6: expected a cue timing 'start --> end', found 'y adiós'"
        );
    }

    #[test]
    fn srt_labels_dashes_and_markup() {
        let srt = "\u{feff}1\r\n00:00:01,000 --> 00:00:03,500\r\nAgente: <i>Acme Seguros</i>,\r\nbuenos días\r\n\r\n\
                   2\r\n00:00:04,000 --> 00:00:05,000 X1:10 X2:20\r\n{\\an8}[Cliente] Hola\r\n\r\n\
                   00:00:06,000 --> 00:00:07,000\r\n- ¿Me oye?\r\n- Sí, le oigo.\r\n\r\n\
                   4\r\n00:00:08,000 --> 00:00:09,000\r\nSr. Martín: <font color=\"red\">vale</font>\r\nweb: http://acme.es a < b <soy>\r\n\r\n\
                   5\r\n00:00:10,000 --> 00:00:11,000\r\n[MÚSICA]\r\n";
        let t = ok(InputFormat::Srt, srt);
        assert_eq!(
            turns(&t),
            [
                (Agent, Some(1.0), Some(3.5), "Acme Seguros, buenos días"),
                (Customer, Some(4.0), Some(5.0), "Hola"),
                (Unknown, Some(6.0), Some(7.0), "¿Me oye?"),
                (Unknown, Some(6.0), Some(7.0), "Sí, le oigo."),
                (
                    Unknown,
                    Some(8.0),
                    Some(9.0),
                    "vale web: http://acme.es a < b <soy>"
                ),
            ]
        );
        // The music-only cue leaves no utterance, so it does not count.
        assert_eq!(t.duration_s, Some(9.0));
    }

    #[test]
    fn srt_round_trips_guion_output() {
        let t = ok(InputFormat::Srt, &sample().render(Format::Srt));
        assert_eq!(turns(&t), turns(&sample()));
    }

    #[test]
    fn srt_errors_name_the_line() {
        assert_eq!(
            err(
                InputFormat::Srt,
                "1\n00:00:01,000 --> 00:00:02,000\nhola\n\n2\n00:00:02,000 - 00:00:03,000\nadiós\n"
            ),
            "call:6: bad cue timing '00:00:02,000 - 00:00:03,000': expected 'start --> end'"
        );
        assert_eq!(
            err(
                InputFormat::Srt,
                "1\n00:00:01,000 --> 00:00:02,000\nhola\n\nsigue aquí\n"
            ),
            "call:5: expected a cue timing 'start --> end', found 'sigue aquí'"
        );
    }
}
