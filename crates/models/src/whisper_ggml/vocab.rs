//! The vocabulary section: `vocabulary.txt`'s ordinary tokens as raw bytes.

use std::collections::HashMap;
use std::path::Path;

use super::ConvertError;

/// GPT-2's reversible map from bytes to printable characters, inverted: `vocabulary.txt` holds
/// tokens as those characters (space is `Ġ`, newline `Ċ`), whisper.cpp wants the raw bytes.
fn gpt2_unicode_to_byte() -> HashMap<char, u8> {
    let printable = |b: u8| matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF);
    let mut map = HashMap::with_capacity(256);
    let mut next = 0u32;
    for b in 0..=255u8 {
        let c = if printable(b) {
            char::from(b)
        } else {
            next += 1;
            char::from_u32(255 + next).expect("U+0100..U+0143 are valid chars")
        };
        map.insert(c, b);
    }
    map
}

/// Decodes one `vocabulary.txt` entry to its raw bytes; `None` names the first character that
/// is not part of GPT-2's byte alphabet.
pub fn decode_gpt2_token(token: &str) -> Result<Vec<u8>, char> {
    thread_local! {
        static MAP: HashMap<char, u8> = gpt2_unicode_to_byte();
    }
    MAP.with(|map| {
        token
            .chars()
            .map(|c| map.get(&c).copied().ok_or(c))
            .collect()
    })
}

/// The ordinary BPE tokens: every line before `<|endoftext|>`. The multilingual vocabulary has
/// one extra, empty entry (id 50256) just before it, which is kept so ids line up.
pub(super) fn ordinary_tokens(text: &str, path: &Path) -> Result<Vec<Vec<u8>>, ConvertError> {
    let mut out = Vec::with_capacity(50_257);
    for (i, line) in text.lines().enumerate() {
        if line == "<|endoftext|>" {
            return Ok(out);
        }
        let bytes = decode_gpt2_token(line).map_err(|c| ConvertError::Vocabulary {
            path: path.to_path_buf(),
            line: i + 1,
            detail: format!("token {i} {line:?} has {c:?}, which is not in GPT-2's byte alphabet"),
        })?;
        out.push(bytes);
    }
    Err(ConvertError::Vocabulary {
        path: path.to_path_buf(),
        line: out.len(),
        detail: "no <|endoftext|> line: not a Whisper vocabulary".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_gpt2_byte_alphabet() {
        assert_eq!(decode_gpt2_token("Ġthe").unwrap(), b" the");
        assert_eq!(decode_gpt2_token("ĊĊ").unwrap(), b"\n\n");
        assert_eq!(decode_gpt2_token("Ā").unwrap(), [0u8]);
        assert_eq!(decode_gpt2_token("ł").unwrap(), [0xA0u8]); // no-break space
        assert_eq!(decode_gpt2_token("Ń").unwrap(), [0xADu8]); // soft hyphen, the last remapped byte
        // "é" in UTF-8 is C3 A9, each byte printable in Latin-1 -> "Ã©".
        assert_eq!(decode_gpt2_token("Ã©").unwrap(), "é".as_bytes());
        assert_eq!(decode_gpt2_token("").unwrap(), b"");
        assert_eq!(decode_gpt2_token("a€"), Err('€'));
        // The map is a bijection over all 256 bytes.
        let m = gpt2_unicode_to_byte();
        assert_eq!(m.len(), 256);
        let mut seen: Vec<u8> = m.values().copied().collect();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 256);
    }

    #[test]
    fn vocabulary_stops_at_endoftext_and_keeps_empty_entry() {
        let text = "!\nĠa\n\n<|endoftext|>\n<|startoftranscript|>\n";
        let t = ordinary_tokens(text, Path::new("vocabulary.txt")).unwrap();
        assert_eq!(t, vec![b"!".to_vec(), b" a".to_vec(), vec![]]);
        let e = ordinary_tokens("ok\n€\n", Path::new("vocabulary.txt")).unwrap_err();
        assert!(
            e.to_string().starts_with("vocabulary.txt line 2: token 1 "),
            "{e}"
        );
    }
}
