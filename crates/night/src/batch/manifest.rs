//! The night's list of calls: a manifest CSV (`call_id, path, agent_id, vendor, site, sourcing,
//! language, started_at, channels, script`), or a directory of recordings/transcripts with a
//! `metadata.csv` beside them. Every bad row is reported with its file and line; the good rows still
//! run. Columns the routing rules match on (queue, campaign…) are kept with each row.

use guion_core::call::{CallMeta, ChannelLayout, LanguageChoice, Sourcing};
use guion_core::transcript::read;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

/// One call of the night, as the manifest describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct CallRow {
    /// Where it came from: `file:line`.
    pub origin: String,
    pub meta: CallMeta,
    /// How to hear it, when the manifest says (else decided from the signal and the script).
    pub channels: Option<ChannelLayout>,
    /// The script id the manifest names for it (else routing rules, or the night's only script).
    pub script: Option<String>,
    /// Every non-empty cell of its row, by lowercase column name: what routing rules match on.
    pub cells: BTreeMap<String, String>,
}

/// A row that cannot run, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub file: String,
    pub line: u64,
    pub message: String,
    /// The row's call id, when it has one: the shard it belongs to goes by it.
    pub call_id: Option<String>,
}

impl RowError {
    /// What decides the shard a bad row is reported by: its call id, as for a good row, else where
    /// it is (`file:line`), so that each bad row counts in exactly one shard.
    pub fn shard_key(&self) -> String {
        match &self.call_id {
            Some(id) => id.clone(),
            None => format!("{}:{}", self.file, self.line),
        }
    }
}

/// The rows and bad rows of `shard`, by call id (bad rows without one, by `file:line`): every row
/// of the manifest is in exactly one shard.
pub fn cut(
    rows: Vec<CallRow>,
    errors: Vec<RowError>,
    shard: &guion_core::shard::Shard,
) -> (Vec<CallRow>, Vec<RowError>) {
    (
        rows.into_iter()
            .filter(|r| shard.holds(&r.meta.call_id))
            .collect(),
        errors
            .into_iter()
            .filter(|e| shard.holds(&e.shard_key()))
            .collect(),
    )
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

const REQUIRED: [&str; 5] = ["call_id", "agent_id", "vendor", "site", "sourcing"];
const KNOWN: [&str; 10] = [
    "call_id",
    "path",
    "agent_id",
    "vendor",
    "site",
    "sourcing",
    "language",
    "started_at",
    "channels",
    "script",
];

/// Reads a manifest CSV; relative paths are taken from the manifest's directory. `used`: columns
/// beyond the known ones that something reads (routing rules), not to be reported as ignored.
pub fn read_manifest(
    path: &Path,
    used: &[&str],
) -> Result<(Vec<CallRow>, Vec<RowError>), RowError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| RowError {
        file: file.clone(),
        line: 0,
        message: format!("cannot read the manifest: {e}"),
        call_id: None,
    })?;
    let base = path.parent().unwrap_or(Path::new("."));
    parse(&text, &file, base, None, used)
}

/// A directory walk: every recording or transcript under `dir` (sorted), described by the rows of
/// `dir/metadata.csv` whose `path` (or `call_id`, as a file stem) names it.
pub fn read_directory(
    dir: &Path,
    used: &[&str],
) -> Result<(Vec<CallRow>, Vec<RowError>), RowError> {
    let metadata = dir.join("metadata.csv");
    let file = metadata.display().to_string();
    let text = std::fs::read_to_string(&metadata).map_err(|e| RowError {
        file: file.clone(),
        line: 0,
        message: format!("a call directory needs a metadata.csv beside the calls: {e}"),
        call_id: None,
    })?;
    let mut found = Vec::new();
    walk(dir, &mut found);
    found.sort();
    let (rows, mut errors) = parse(&text, &file, dir, Some(&found), used)?;
    let named: std::collections::HashSet<&PathBuf> = rows.iter().map(|r| &r.meta.path).collect();
    for f in &found {
        if !named.contains(f) {
            errors.push(RowError {
                file: f.display().to_string(),
                line: 0,
                message: "no row in metadata.csv describes this file".into(),
                call_id: None,
            });
        }
    }
    Ok((rows, errors))
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let p = entry.path();
        if p.is_dir() {
            walk(&p, out);
        } else if p.file_name().is_some_and(|n| n != "metadata.csv") && is_call_file(&p) {
            out.push(p);
        }
    }
}

fn is_call_file(p: &Path) -> bool {
    let audio = ["wav", "flac", "mp3", "ogg", "oga", "gsm"];
    read::is_transcript_path(p)
        || p.extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| audio.contains(&e.to_ascii_lowercase().as_str()))
}

/// Parses manifest text. With `files` (a directory walk), `path` may be left out: the file whose
/// stem is the call id is used.
pub fn parse(
    text: &str,
    file: &str,
    base: &Path,
    files: Option<&[PathBuf]>,
    used: &[&str],
) -> Result<(Vec<CallRow>, Vec<RowError>), RowError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let delimiter = read::sniff_delimiter(text.lines().next().unwrap_or_default());
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(text.as_bytes());
    let header_error = |message: String| RowError {
        file: file.to_string(),
        line: 1,
        message,
        call_id: None,
    };
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| header_error(format!("cannot read the header: {e}")))?
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    let column = |name: &str| headers.iter().position(|h| h == name);
    let mut missing: Vec<&str> = REQUIRED
        .iter()
        .copied()
        .filter(|c| column(c).is_none())
        .collect();
    if files.is_none() && column("path").is_none() {
        missing.insert(1, "path");
    }
    if !missing.is_empty() {
        return Err(header_error(format!(
            "missing column(s) {}; a manifest has {}",
            missing.join(", "),
            KNOWN.join(", ")
        )));
    }
    let unknown: Vec<&String> = headers
        .iter()
        .filter(|h| !KNOWN.contains(&h.as_str()) && !used.contains(&h.as_str()))
        .collect();
    let mut errors = Vec::new();
    if !unknown.is_empty() {
        errors.push(header_error(format!(
            "unknown column(s) {} ignored",
            unknown
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let by_stem: HashMap<String, &PathBuf> = files
        .unwrap_or(&[])
        .iter()
        .filter_map(|p| Some((p.file_stem()?.to_string_lossy().into_owned(), p)))
        .collect();
    let mut rows: Vec<CallRow> = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                errors.push(RowError {
                    file: file.to_string(),
                    line,
                    message: format!("malformed CSV: {e}"),
                    call_id: None,
                });
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        let get = |name: &str| {
            column(name)
                .and_then(|i| record.get(i))
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(String::from)
        };
        let mut problems: Vec<String> = REQUIRED
            .iter()
            .filter(|c| get(c).is_none())
            .map(|c| format!("`{c}` is empty"))
            .collect();
        let call_id = get("call_id").unwrap_or_default();
        let path = match (get("path"), files) {
            (Some(p), _) => Some(base.join(p)),
            (None, Some(_)) => by_stem.get(&call_id).map(|p| (*p).clone()),
            (None, None) => None,
        };
        if path.is_none() {
            problems.push(if files.is_some() {
                format!("no file named {call_id}.* in the directory")
            } else {
                "`path` is empty".into()
            });
        }
        let sourcing = get("sourcing").and_then(|s| {
            let parsed = Sourcing::parse(&s);
            if parsed.is_none() {
                problems.push(format!(
                    "`sourcing` must be insourced or outsourced, not `{s}`"
                ));
            }
            parsed
        });
        let language = get("language").map(|l| l.to_ascii_lowercase());
        if let Some(l) = &language
            && LanguageChoice::parse_or_auto(l, &[]).is_err()
        {
            problems.push(format!(
                "`language` must be a code such as es or en, a list such as es,en, or auto; not `{l}`"
            ));
        }
        let channels = get("channels").and_then(|c| {
            let parsed = <ChannelLayout as guion_core::names::Named>::from_name(&c);
            if parsed.is_none() {
                problems.push(format!(
                    "`channels` must be agent-left, agent-right or mono, not `{c}`"
                ));
            }
            parsed
        });
        let started_at = get("started_at");
        if let Some(t) = &started_at
            && !looks_like_time(t)
        {
            problems.push(format!(
                "`started_at` must be a date-time such as 2026-11-22T09:30:00, not `{t}`"
            ));
        }
        if !call_id.is_empty()
            && let Some(first) = seen.get(&call_id)
        {
            problems.push(format!("call_id `{call_id}` already used on line {first}"));
        }
        if !problems.is_empty() {
            errors.push(RowError {
                file: file.to_string(),
                line,
                message: problems.join("; "),
                call_id: (!call_id.is_empty()).then(|| call_id.clone()),
            });
            continue;
        }
        seen.insert(call_id.clone(), line);
        rows.push(CallRow {
            origin: format!("{file}:{line}"),
            meta: CallMeta {
                call_id,
                path: path.unwrap_or_default(),
                agent_id: get("agent_id").unwrap_or_default(),
                vendor: get("vendor").unwrap_or_default(),
                site: get("site").unwrap_or_default(),
                sourcing: sourcing.unwrap_or(Sourcing::Insourced),
                language,
                started_at,
            },
            channels,
            script: get("script"),
            cells: headers
                .iter()
                .zip(record.iter())
                .map(|(h, v)| (h.clone(), v.trim().to_string()))
                .filter(|(_, v)| !v.is_empty())
                .collect(),
        });
    }
    Ok((rows, errors))
}

/// ISO 8601 date or date-time, loosely: what a call recorder exports.
fn looks_like_time(t: &str) -> bool {
    let b = t.as_bytes();
    b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'-'
        && b[8..10].iter().all(u8::is_ascii_digit)
        && (b.len() == 10 || matches!(b[10], b'T' | b' '))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str =
        "call_id,path,agent_id,vendor,site,sourcing,language,started_at,channels\n";

    #[test]
    fn good_rows_run_and_every_bad_row_is_named_by_line() {
        let text = format!(
            "{HEADER}\
             c1,calls/c1.wav,a1,Acme,madrid,insourced,es,2026-11-22T09:00:00,agent-left\n\
             c2,calls/c2.wav,a2,Contacta,bogota,outsourced,,,\n\
             c3,calls/c3.wav,,Contacta,bogota,outsourced,,,\n\
             c4,calls/c4.wav,a4,Contacta,bogota,outsorced,es,,\n\
             c1,calls/c5.wav,a1,Acme,madrid,insourced,es,,\n\
             c6,calls/c6.wav,a6,Acme,madrid,insourced,spanish,yesterday,left\n\
             \n\
             c7,calls/c7.txt,a7,Acme,madrid,in-house,en,2026-11-22 10:00,mono\n"
        );
        let (rows, errors) = parse(&text, "night.csv", Path::new("/data"), None, &[]).unwrap();
        let ids: Vec<&str> = rows.iter().map(|r| r.meta.call_id.as_str()).collect();
        assert_eq!(ids, ["c1", "c2", "c7"]);
        assert_eq!(rows[0].meta.path, PathBuf::from("/data/calls/c1.wav"));
        assert_eq!(rows[0].channels, Some(ChannelLayout::AgentLeft));
        assert_eq!(rows[2].meta.sourcing, Sourcing::Insourced);
        let shown: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        assert_eq!(shown.len(), 4, "{shown:#?}");
        assert_eq!(shown[0], "night.csv:4: `agent_id` is empty");
        assert!(
            shown[1].starts_with("night.csv:5: `sourcing` must be"),
            "{}",
            shown[1]
        );
        assert_eq!(shown[2], "night.csv:6: call_id `c1` already used on line 2");
        assert!(
            shown[3].starts_with("night.csv:7: `language` must be"),
            "{}",
            shown[3]
        );
        assert!(shown[3].contains("`started_at`") && shown[3].contains("`channels`"));
    }

    #[test]
    fn a_header_without_required_columns_is_one_clear_error() {
        let err = parse("id,file\nx,y\n", "m.csv", Path::new("."), None, &[]).unwrap_err();
        assert_eq!(err.line, 1);
        assert!(
            err.message
                .contains("missing column(s) call_id, path, agent_id"),
            "{}",
            err.message
        );
    }

    #[test]
    fn spanish_excel_manifests_with_a_bom_and_semicolons_read_the_same() {
        let text =
            "\u{feff}call_id;path;agent_id;vendor;site;sourcing\nc1;a.wav;a1;V;s;outsourced\n";
        let (rows, errors) = parse(text, "m.csv", Path::new("."), None, &[]).unwrap();
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(rows[0].meta.sourcing, Sourcing::Outsourced);
    }

    #[test]
    fn a_directory_row_may_name_its_file_by_call_id() {
        let files = vec![PathBuf::from("/d/x/c1.wav"), PathBuf::from("/d/c2.vtt")];
        let text = "call_id,agent_id,vendor,site,sourcing\nc1,a,V,s,insourced\nc2,a,V,s,insourced\nc3,a,V,s,insourced\n";
        let (rows, errors) =
            parse(text, "metadata.csv", Path::new("/d"), Some(&files), &[]).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].meta.path, PathBuf::from("/d/x/c1.wav"));
        assert_eq!(errors.len(), 1);
        assert!(errors[0].message.contains("no file named c3"));
    }

    #[test]
    fn a_row_keeps_its_script_and_the_columns_rules_match_on() {
        let text = "call_id,path,agent_id,vendor,site,sourcing,Script,queue,campaign\n\
                    c1,a.txt,a1,V,s,insourced,acme-claims,claims,\n\
                    c2,b.txt,a2,V,s,insourced, ,sales,renewals\n";
        let (rows, errors) = parse(text, "m.csv", Path::new("."), None, &["queue"]).unwrap();
        assert_eq!(rows[0].script.as_deref(), Some("acme-claims"));
        assert_eq!(rows[1].script, None, "a blank cell names no script");
        assert_eq!(rows[0].cells["queue"], "claims");
        assert!(
            !rows[0].cells.contains_key("campaign"),
            "empty cells are not kept"
        );
        assert_eq!(rows[1].cells["vendor"], "V");
        // Only the column nothing reads is reported as ignored.
        let shown: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        assert_eq!(shown, ["m.csv:1: unknown column(s) campaign ignored"]);
    }

    #[test]
    fn every_row_good_or_bad_is_in_exactly_one_shard() {
        use guion_core::shard::Shard;
        let mut text = String::from("call_id,path,agent_id,vendor,site,sourcing,oops\n");
        for i in 0..60 {
            text.push_str(&format!("c{i},c{i}.txt,a,V,s,insourced,\n"));
        }
        // Bad rows: one with an id (by it), one without (by line), a duplicate id.
        text.push_str(
            "b1,b1.txt,,V,s,insourced,\n,x.txt,a,V,s,insourced,\nc3,d.txt,a,V,s,insourced,\n",
        );
        let (rows, errors) = parse(&text, "m.csv", Path::new("."), None, &[]).unwrap();
        assert_eq!((rows.len(), errors.len()), (60, 4), "{errors:?}");
        let mut seen_rows = Vec::new();
        let mut seen_errors = Vec::new();
        for index in 0..3 {
            let shard = Shard::new(index, 3).unwrap();
            let (r, e) = cut(rows.clone(), errors.clone(), &shard);
            assert!(!r.is_empty(), "shard {index} got no call of 60");
            // The duplicate of c3 goes where c3 goes.
            if r.iter().any(|r| r.meta.call_id == "c3") {
                assert!(e.iter().any(|e| e.message.contains("already used")));
            }
            seen_rows.extend(r.into_iter().map(|r| r.meta.call_id));
            seen_errors.extend(e.into_iter().map(|e| e.to_string()));
        }
        seen_rows.sort();
        seen_errors.sort();
        let mut all_rows: Vec<String> = rows.iter().map(|r| r.meta.call_id.clone()).collect();
        let mut all_errors: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        all_rows.sort();
        all_errors.sort();
        assert_eq!(seen_rows, all_rows);
        assert_eq!(seen_errors, all_errors);
    }
}
