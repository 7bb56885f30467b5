//! Chat and call-centre exports: one row per message, columns found by header name.

use super::time::{parse_clock, parse_datetime, parse_seconds};
use super::{Cx, DEFAULT_END, DEFAULT_START, ReadError, utterance};
use crate::transcript::{Speaker, Utterance};

enum Stamp {
    /// Seconds from the start of the call.
    Offset(f64),
    /// Seconds since 1970, or since whatever the file's zone-less date-times count from.
    Absolute(f64),
}

struct Row {
    line: usize,
    speaker: Speaker,
    start: Option<Stamp>,
    end: Option<Stamp>,
    text: String,
}

pub(super) fn parse_csv(text: &str, cx: &Cx) -> Result<Vec<Utterance>, ReadError> {
    let cols = cx.cols;
    let delimiter = cols
        .delimiter
        .unwrap_or_else(|| sniff_delimiter(text.lines().next().unwrap_or_default()));
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(text.as_bytes());
    let csv_error = |e: csv::Error| {
        let line = e.position().map_or(0, |p| p.line() as usize);
        cx.syntax(line, e.to_string())
    };
    let header: Vec<String> = reader
        .headers()
        .map_err(csv_error)?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let find = |spec: &str| {
        spec.split('|').map(str::trim).find_map(|want| {
            header
                .iter()
                .position(|h| h.to_lowercase() == want.to_lowercase())
        })
    };
    let no_column = |role: &'static str, spec: &str| {
        let names: Vec<String> = spec.split('|').map(|n| format!("'{}'", n.trim())).collect();
        ReadError::NoColumn {
            file: cx.file.into(),
            role,
            wanted: names.join(" or "),
            found: header
                .iter()
                .map(|h| format!("'{h}'"))
                .collect::<Vec<_>>()
                .join(", "),
        }
    };
    let required = |role, spec: &str| find(spec).ok_or_else(|| no_column(role, spec));
    // The default time columns are a guess at common exports; a column the caller named must exist.
    let optional = |role, spec: &Option<String>, default: &str| match spec {
        None => Ok(None),
        Some(spec) => match find(spec) {
            Some(i) => Ok(Some(i)),
            None if spec == default => Ok(None),
            None => Err(no_column(role, spec)),
        },
    };
    let speaker_at = required("speaker", &cols.speaker)?;
    let text_at = required("text", &cols.text)?;
    let start_at = optional("start time", &cols.start, DEFAULT_START)?;
    let end_at = optional("end time", &cols.end, DEFAULT_END)?;

    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(csv_error)?;
        let line = record.position().map_or(0, |p| p.line() as usize);
        if record.iter().all(|field| field.trim().is_empty()) {
            continue;
        }
        let field = |at: usize| {
            record
                .get(at)
                .map(str::trim)
                .ok_or_else(|| ReadError::MissingField {
                    file: cx.file.into(),
                    line,
                    column: header[at].clone(),
                })
        };
        let text = field(text_at)?;
        if text.is_empty() {
            continue;
        }
        let who = field(speaker_at)?;
        let speaker = cols
            .speaker_of(who)
            .ok_or_else(|| ReadError::UnknownSpeaker {
                file: cx.file.into(),
                line,
                column: Some(header[speaker_at].clone()),
                value: who.into(),
            })?;
        let stamp = |at: Option<usize>| -> Result<Option<Stamp>, ReadError> {
            let Some(at) = at else { return Ok(None) };
            let value = field(at)?;
            if value.is_empty() {
                return Ok(None);
            }
            parse_stamp(value)
                .map(Some)
                .ok_or_else(|| cx.bad_time(line, Some(&header[at]), value))
        };
        rows.push(Row {
            line,
            speaker,
            start: stamp(start_at)?,
            end: stamp(end_at)?,
            text: text.into(),
        });
    }
    let origin = csv_origin(&rows, cx)?;
    let relative = |stamp: Option<Stamp>| match stamp? {
        Stamp::Offset(t) => Some(t),
        Stamp::Absolute(t) => Some(t - origin),
    };
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            utterance(
                row.speaker,
                relative(row.start),
                relative(row.end),
                &row.text,
            )
        })
        .collect())
}

/// Where date-times count from: the earliest message, which is the first when the export is in order.
/// A file that mixes date-times with offsets has no common clock.
fn csv_origin(rows: &[Row], cx: &Cx) -> Result<f64, ReadError> {
    let stamps = || {
        rows.iter()
            .flat_map(|r| [&r.start, &r.end].map(|s| (r.line, s)))
    };
    let mut origin = None;
    let mut offset_line = None;
    for (line, stamp) in stamps() {
        match stamp {
            Some(Stamp::Absolute(t)) => origin = Some(origin.map_or(*t, |o: f64| o.min(*t))),
            Some(Stamp::Offset(_)) => offset_line = offset_line.or(Some(line)),
            None => {}
        }
    }
    match (origin, offset_line) {
        (Some(_), Some(line)) => Err(cx.syntax(
            line,
            "a time here is an offset, but other rows give date-times: use one kind throughout",
        )),
        (origin, _) => Ok(origin.unwrap_or(0.0)),
    }
}

/// Whichever of `,` `;` tab occurs most in the header line outside quotes; `,` when none does, and the
/// first of them in that order on a tie. Public for the other CSV files guion reads, such as batch
/// manifests that a Spanish spreadsheet saved with `;`.
pub fn sniff_delimiter(header: &str) -> u8 {
    let mut counts = [0usize; 3];
    let mut quoted = false;
    for b in header.bytes() {
        match b {
            b'"' => quoted = !quoted,
            b',' if !quoted => counts[0] += 1,
            b';' if !quoted => counts[1] += 1,
            b'\t' if !quoted => counts[2] += 1,
            _ => {}
        }
    }
    let delimiters = [b',', b';', b'\t'];
    let best = (0..3).max_by_key(|&i| (counts[i], std::cmp::Reverse(i)));
    best.filter(|&i| counts[i] > 0)
        .map_or(b',', |i| delimiters[i])
}

fn parse_stamp(value: &str) -> Option<Stamp> {
    if let Some(t) = parse_datetime(value) {
        return Some(Stamp::Absolute(t));
    }
    if value.contains(':') {
        return parse_clock(value).map(Stamp::Offset);
    }
    let seconds = parse_seconds(value)?;
    // No call lasts 30 years: numbers this large are Unix times (seconds, or milliseconds past 1e11).
    Some(if seconds >= 1e11 {
        Stamp::Absolute(seconds / 1000.0)
    } else if seconds >= 1e9 {
        Stamp::Absolute(seconds)
    } else {
        Stamp::Offset(seconds)
    })
}

#[cfg(test)]
mod tests {
    use crate::transcript::Speaker::{Agent, Customer};
    use crate::transcript::read::tests::{err, ok, turns};
    use crate::transcript::read::{CsvColumns, InputFormat, parse, sniff_delimiter};

    #[test]
    fn delimiter_is_the_commonest_outside_quotes() {
        assert_eq!(sniff_delimiter("speaker,text,start"), b',');
        assert_eq!(sniff_delimiter("start;end;author;body"), b';');
        assert_eq!(sniff_delimiter("speaker\ttext"), b'\t');
        assert_eq!(
            sniff_delimiter("\"who, full name\";\"text, said\";start"),
            b';'
        );
        assert_eq!(sniff_delimiter("\"a,b,c\"\ttext"), b'\t');
        assert_eq!(sniff_delimiter("a;b;c,d"), b';');
        assert_eq!(sniff_delimiter("a;b,c"), b',', "a tie goes to the comma");
        assert_eq!(sniff_delimiter("a;b\tc"), b';', "then to the semicolon");
        assert_eq!(sniff_delimiter("speaker"), b',');
        assert_eq!(sniff_delimiter(""), b',');
    }

    #[test]
    fn csv_default_columns_and_offsets() {
        let csv = "Time,Role,Message,Extra\n0,agent,\"Acme Seguros, ¿dígame?\",x\n1:02.5,Cliente,Hola\n,user,sin hora\n3,agent,   \n0:01:10,REP,adiós\n";
        let t = ok(InputFormat::Csv, csv);
        assert_eq!(
            turns(&t),
            [
                (Agent, Some(0.0), None, "Acme Seguros, ¿dígame?"),
                (Customer, Some(62.5), None, "Hola"),
                (Customer, None, None, "sin hora"),
                (Agent, Some(70.0), None, "adiós"),
            ]
        );
        assert_eq!(t.duration_s, Some(70.0));
    }

    #[test]
    fn csv_semicolons_decimal_commas_ends_and_quoted_lines() {
        let csv =
            "start;end;author;body\n1,5;3,25;Agente;\"Acme; dos\nlíneas\"\n4;5;Cliente;Hola\n";
        assert_eq!(
            turns(&ok(InputFormat::Csv, csv)),
            [
                (Agent, Some(1.5), Some(3.25), "Acme; dos líneas"),
                (Customer, Some(4.0), Some(5.0), "Hola"),
            ]
        );
        let tsv = "speaker\ttext\nagent\thola, qué tal\n";
        assert_eq!(
            turns(&ok(InputFormat::Csv, tsv)),
            [(Agent, None, None, "hola, qué tal")]
        );
    }

    #[test]
    fn csv_date_times_count_from_the_first_message() {
        let csv = "timestamp,speaker,text\n\
                   2024-05-14T10:32:07.800+02:00,agent,uno\n\
                   2024-05-14T08:32:09Z,customer,dos\n\
                   2024-05-14T09:33:10.3+0100,agent,tres\n";
        let t = ok(InputFormat::Csv, csv);
        let starts: Vec<f64> = t.utterances.iter().filter_map(|u| u.start).collect();
        assert_eq!(starts.len(), 3);
        for (got, want) in starts.iter().zip([0.0, 1.2, 62.5]) {
            assert!((got - want).abs() < 1e-6, "{starts:?}");
        }
        let naive =
            "timestamp,speaker,text\n2024-05-14 23:59:58,agent,a\n2024-05-15 00:00:03,customer,b\n";
        let t = ok(InputFormat::Csv, naive);
        assert_eq!(t.utterances[1].start, Some(5.0));
        let epoch = "timestamp,speaker,text\n1715675527800,agent,a\n1715675530300,customer,b\n";
        let t = ok(InputFormat::Csv, epoch);
        assert_eq!(
            (t.utterances[0].start, t.utterances[1].start),
            (Some(0.0), Some(2.5))
        );
    }

    #[test]
    fn csv_columns_can_be_named() {
        let cols = CsvColumns {
            speaker: "who".into(),
            text: "said|what".into(),
            start: Some("at".into()),
            end: None,
            agent: vec!["Ana".into()],
            customer: vec!["Javier".into()],
            delimiter: Some(b'|'),
        };
        let csv = "at|who|what|end\n2|ana|hola|9\n3|JAVIER|adiós|9\n";
        let t = parse(csv.as_bytes(), "c.csv", InputFormat::Csv, &cols).unwrap();
        assert_eq!(
            turns(&t),
            [
                (Agent, Some(2.0), None, "hola"),
                (Customer, Some(3.0), None, "adiós")
            ]
        );
        let missing = parse(b"who|what\nana|x\n", "c.csv", InputFormat::Csv, &cols).unwrap_err();
        assert_eq!(
            missing.to_string(),
            "c.csv:1: the header has no start time column (looked for 'at'; it has 'who', 'what')"
        );
    }

    #[test]
    fn csv_errors_name_line_column_and_value() {
        assert_eq!(
            err(InputFormat::Csv, "who,message\nagent,hola\n"),
            "call:1: the header has no speaker column (looked for 'speaker' or 'role' or 'author'; it has 'who', 'message')"
        );
        assert_eq!(
            err(
                InputFormat::Csv,
                "speaker,text\nagent,\"hola\nque tal\"\ncustomer\n"
            ),
            "call:4: column 'text' is missing"
        );
        assert_eq!(
            err(
                InputFormat::Csv,
                "speaker,text\nagent,hola\n\ncustomer,sí\nbot,¿algo más?\n"
            ),
            "call:5: unknown speaker 'bot' in column 'speaker': not among the agent or customer names"
        );
        assert_eq!(
            err(
                InputFormat::Csv,
                "time,speaker,text\n1,agent,a\n1:7x,customer,b\n"
            ),
            "call:3: bad time '1:7x' in column 'time': expected seconds, mm:ss, hh:mm:ss or a date-time"
        );
        assert_eq!(
            err(
                InputFormat::Csv,
                "time,speaker,text\n2024-02-30 10:00:00,agent,a\n"
            ),
            "call:2: bad time '2024-02-30 10:00:00' in column 'time': expected seconds, mm:ss, hh:mm:ss or a date-time"
        );
        assert_eq!(
            err(
                InputFormat::Csv,
                "time,speaker,text\n2024-05-14 10:00:00,agent,a\n12,customer,b\n"
            ),
            "call:3: a time here is an offset, but other rows give date-times: use one kind throughout"
        );
    }
}
