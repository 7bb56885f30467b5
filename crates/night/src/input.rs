//! The night's inputs read from disk: the brand's script and existing transcripts. The core parses
//! text it is handed and never opens a file; these are the reads in front of it, each error naming
//! the file.

use guion_core::review::{Labels, LabelsError, parse_labels};
use guion_core::script::{Diagnostic, Script, ScriptError};
use guion_core::transcript::Transcript;
use guion_core::transcript::read::{
    self, CsvColumns, InputFormat, ReadError, SNIFF_BYTES, parse_abcd,
};
use std::path::Path;

/// Reads and validates a script file. `Ok` carries the warnings, which do not stop a run but should
/// be shown.
pub fn load_script(path: &Path) -> Result<(Script, Vec<Diagnostic>), ScriptError> {
    read_script(path).map(|(_, script, warnings)| (script, warnings))
}

/// `load_script` with the file's text, for the store to keep beside the results it scored.
pub fn read_script(path: &Path) -> Result<(String, Script, Vec<Diagnostic>), ScriptError> {
    let file = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => Script::parse(&text, &file).map(|(s, w)| (text, s, w)),
        Err(source) => Err(ScriptError::Io { file, source }),
    }
}

/// Reads a labels (or reviews) CSV file; every bad row is named with its line.
pub fn read_labels(path: &Path) -> Result<Labels, LabelsError> {
    let file = path.display().to_string();
    match std::fs::read(path) {
        Ok(bytes) => parse_labels(&String::from_utf8_lossy(&bytes), &file),
        Err(e) => Err(LabelsError(vec![format!("cannot read {file}: {e}")])),
    }
}

/// Reads one call. The format comes from `format`, else from the name, else from the first bytes.
pub fn read_transcript(
    path: &Path,
    format: Option<InputFormat>,
    csv: &CsvColumns,
) -> Result<Transcript, ReadError> {
    let (source, bytes) = read_file(path)?;
    let format = format
        .or_else(|| InputFormat::detect(path, &bytes[..bytes.len().min(SNIFF_BYTES)]))
        .ok_or_else(|| ReadError::UnknownFormat {
            file: source.clone(),
        })?;
    read::parse(&bytes, &source, format, csv)
}

/// Every dialogue of an ABCD file (which holds many), with its `convo_id`.
pub fn read_abcd(path: &Path) -> Result<Vec<(String, Transcript)>, ReadError> {
    let (source, bytes) = read_file(path)?;
    parse_abcd(&bytes, &source)
}

fn read_file(path: &Path) -> Result<(String, Vec<u8>), ReadError> {
    let source = path.display().to_string();
    match std::fs::read(path) {
        Ok(bytes) => Ok((source, bytes)),
        Err(e) => Err(ReadError::Io {
            file: source,
            source: e,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_file_is_named_in_its_error() {
        let missing = load_script(Path::new("/nonexistent/acme.toml")).unwrap_err();
        assert!(matches!(missing, ScriptError::Io { .. }));
        assert!(
            missing
                .to_string()
                .starts_with("cannot read /nonexistent/acme.toml: ")
        );
        let missing = read_transcript(
            Path::new("/nonexistent/c.vtt"),
            None,
            &CsvColumns::default(),
        )
        .unwrap_err();
        assert!(
            missing.to_string().starts_with("/nonexistent/c.vtt: "),
            "{missing}"
        );
    }
}
