//! Plain text, one `NAME: text` line per turn, optionally behind a `[mm:ss]` time: what guion writes.

use super::time::parse_clock;
use super::{CsvColumns, Cx, ReadError, excerpt, utterance};
use crate::transcript::{Speaker, Utterance};

pub(super) fn parse_txt(text: &str, cx: &Cx) -> Result<Vec<Utterance>, ReadError> {
    let mut turns: Vec<(Speaker, Option<f64>, String)> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        let (start, rest) = leading_time(line).map_err(|bad| cx.bad_time(n, None, bad))?;
        match (txt_label(rest, cx.cols), turns.last_mut()) {
            (Some((speaker, body)), _) => turns.push((speaker, start, body.into())),
            // A time marks a new utterance, so it must say whose.
            (None, Some((_, _, text))) if start.is_none() => {
                text.push(' ');
                text.push_str(rest);
            }
            (None, _) => {
                return Err(cx.syntax(
                    n,
                    format!(
                        "expected 'AGENT:' or 'CUSTOMER:' (or another name from the speaker lists), found '{}'",
                        excerpt(line)
                    ),
                ));
            }
        }
    }
    // A line's end is the next one's start: all the format says about it.
    let starts: Vec<Option<f64>> = turns.iter().map(|t| t.1).skip(1).chain([None]).collect();
    Ok(turns
        .into_iter()
        .zip(starts)
        .filter_map(|((speaker, start, text), next)| {
            let end = next.filter(|&next| start.is_none_or(|start| next >= start));
            utterance(speaker, start, end, &text)
        })
        .collect())
}

/// An optional `[mm:ss]` / `[hh:mm:ss]` prefix. `Err` holds a bracket that tries to be a time and fails,
/// so `[12:3x]` is reported rather than read as text.
pub(super) fn leading_time(line: &str) -> Result<(Option<f64>, &str), &str> {
    let Some((inside, rest)) = line.strip_prefix('[').and_then(|l| l.split_once(']')) else {
        return Ok((None, line));
    };
    let time_like = inside.contains(':')
        && inside.trim().starts_with(|c: char| c.is_ascii_digit())
        && inside
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ":., ".contains(c));
    if !time_like {
        return Ok((None, line));
    }
    match parse_clock(inside.trim()) {
        Some(t) => Ok((Some(t), rest.trim_start())),
        None => Err(inside),
    }
}

/// `NAME: text` where the name is in the lists.
pub(super) fn txt_label<'a>(line: &'a str, cols: &CsvColumns) -> Option<(Speaker, &'a str)> {
    let (name, rest) = line.split_once(':')?;
    Some((cols.speaker_of(name)?, rest))
}

#[cfg(test)]
mod tests {
    use crate::transcript::Format;
    use crate::transcript::Speaker::{Agent, Customer, Unknown};
    use crate::transcript::read::InputFormat;
    use crate::transcript::read::tests::{err, ok, sample, turns};

    #[test]
    fn txt_round_trips_guion_output_with_ends_from_the_next_start() {
        let t = ok(InputFormat::Txt, &sample().render(Format::Txt));
        assert_eq!(
            turns(&t),
            [
                (
                    Agent,
                    Some(1.0),
                    Some(4.0),
                    "Acme Seguros <soy> Ana & co, ¿dígame?"
                ),
                (Customer, Some(4.0), Some(64.0), "Hola, buenos días."),
                (Unknown, Some(64.0), None, "Gracias: adiós."),
            ]
        );
        assert_eq!(t.duration_s, Some(64.0));
    }

    #[test]
    fn txt_names_times_and_continuations() {
        let txt = "\n[00:00:05] Agente: Acme Seguros,\n  buenos días.\n\n[01:02:03.5] cliente : Hola\nNota: sigue\nUSUARIO: sin hora\n[00:00:01] Agent: antes\n";
        assert_eq!(
            turns(&ok(InputFormat::Txt, txt)),
            [
                (Agent, Some(5.0), Some(3723.5), "Acme Seguros, buenos días."),
                (Customer, Some(3723.5), None, "Hola Nota: sigue"),
                (Customer, None, Some(1.0), "sin hora"),
                (Agent, Some(1.0), None, "antes"),
            ]
        );
    }

    #[test]
    fn txt_errors_name_the_line() {
        assert_eq!(
            err(InputFormat::Txt, "\n\nLlamada 42\nAGENT: hola\n"),
            "call:3: expected 'AGENT:' or 'CUSTOMER:' (or another name from the speaker lists), found 'Llamada 42'"
        );
        assert_eq!(
            err(InputFormat::Txt, "AGENT: hola\n[00:04] Juan: adiós\n"),
            "call:2: expected 'AGENT:' or 'CUSTOMER:' (or another name from the speaker lists), found '[00:04] Juan: adiós'"
        );
        assert_eq!(
            err(InputFormat::Txt, "AGENT: hola\n\n[00:3x] CUSTOMER: adiós\n"),
            "call:3: bad time '00:3x': expected seconds, mm:ss, hh:mm:ss or a date-time"
        );
        assert_eq!(
            err(InputFormat::Txt, "[00:00:75] AGENT: hola\n"),
            "call:1: bad time '00:00:75': expected seconds, mm:ss, hh:mm:ss or a date-time"
        );
    }
}
