//! Whisper's tokens: the vocabulary (`vocabulary.txt`, GPT-2's byte alphabet), the special tokens
//! guion asks for, a prompt's tokens (`tokenizer.json`), and a decoded window's tokens cut into
//! timed segments the way Whisper's reference does.

use std::collections::HashMap;
use std::path::Path;

pub struct Vocabulary {
    tokens: Vec<String>,
    /// Each ordinary token's raw bytes (empty for the special ones).
    bytes: Vec<Vec<u8>>,
    pub eot: usize,
    pub sot: usize,
    pub sot_prev: usize,
    pub timestamp_begin: usize,
    tokenizer: tokenizers::Tokenizer,
}

/// Seconds per timestamp token step.
pub const TIME_PRECISION: f64 = 0.02;

impl Vocabulary {
    pub fn load(dir: &Path) -> Result<Vocabulary, String> {
        let path = dir.join("vocabulary.txt");
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let tokens: Vec<String> = text.lines().map(str::to_string).collect();
        let id = |t: &str| {
            tokens.iter().position(|x| x == t).ok_or_else(|| {
                format!("{}: no {t} token: not a Whisper vocabulary", path.display())
            })
        };
        let tok_path = dir.join("tokenizer.json");
        let tokenizer = tokenizers::Tokenizer::from_file(&tok_path)
            .map_err(|e| format!("{}: {e}", tok_path.display()))?;
        let eot = id("<|endoftext|>")?;
        let bytes = tokens[..eot]
            .iter()
            .map(|t| decode_gpt2_token(t).unwrap_or_default())
            .collect();
        Ok(Vocabulary {
            bytes,
            eot,
            sot: id("<|startoftranscript|>")?,
            sot_prev: id("<|startofprev|>")?,
            timestamp_begin: id("<|0.00|>")?,
            tokens,
            tokenizer,
        })
    }

    pub fn token(&self, id: usize) -> &str {
        self.tokens.get(id).map_or("", String::as_str)
    }

    /// A text token's raw bytes (a character may be split across tokens).
    pub fn bytes(&self, id: usize) -> &[u8] {
        self.bytes.get(id).map_or(&[], Vec::as_slice)
    }

    /// Start of transcript, then (multilingual models) the language and the task.
    pub fn sot_sequence(&self, language: Option<&str>) -> Vec<usize> {
        let mut out = vec![self.sot];
        if let Some(language) = language {
            let lang = format!("<|{language}|>");
            let id = |t: &str| self.tokens.iter().position(|x| x == t);
            out.extend(id(&lang));
            out.extend(id("<|transcribe|>"));
        }
        out
    }

    /// The decoder's start: an optional prompt (as Whisper's reference takes it: after
    /// `<|startofprev|>`, a leading space, its last 223 tokens), then `sot_sequence`. Tokens are
    /// given as vocabulary strings.
    pub fn start(&self, sot_sequence: &[usize], prompt: Option<&str>) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(prompt) = prompt
            && let Ok(enc) = self.tokenizer.encode(format!(" {}", prompt.trim()), false)
        {
            let toks = enc.get_tokens();
            let keep = &toks[toks.len().saturating_sub(223)..];
            if !keep.is_empty() {
                out.push(self.token(self.sot_prev).to_string());
                out.extend(keep.iter().cloned());
            }
        }
        out.extend(sot_sequence.iter().map(|&t| self.token(t).to_string()));
        out
    }

    pub fn knows_language(&self, language: &str) -> bool {
        let t = format!("<|{language}|>");
        self.tokens[self.sot..self.timestamp_begin].contains(&t)
    }
}

/// GPT-2's reversible map from bytes to printable characters, inverted: `vocabulary.txt` holds
/// tokens as those characters (space is `Ġ`, newline `Ċ`); words are made of the raw bytes.
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

/// One segment of a decoded window: its text tokens and its span in the window, in seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct TimedTokens {
    pub start: f64,
    pub end: f64,
    pub tokens: Vec<usize>,
}

/// Cuts a window's output into segments at its timestamp tokens, and says how far into the window
/// the next one should start (frames): Whisper's reference rule. A window that ends inside a
/// segment (no closing timestamp) is resumed from the last segment's end; one that ends on a
/// timestamp, or holds no pair of them, is done.
pub fn segments(
    ids: &[usize],
    eot: usize,
    timestamp_begin: usize,
    window_frames: usize,
) -> (Vec<TimedTokens>, usize) {
    let ids: Vec<usize> = ids.iter().copied().filter(|&t| t != eot).collect();
    let is_ts = |t: usize| t >= timestamp_begin;
    let time = |t: usize| (t - timestamp_begin) as f64 * TIME_PRECISION;
    let window_s = window_frames as f64 / 100.0;
    let single_ending = ids.len() >= 2 && is_ts(ids[ids.len() - 1]) && !is_ts(ids[ids.len() - 2]);
    let consecutive: Vec<usize> = (1..ids.len())
        .filter(|&i| is_ts(ids[i]) && is_ts(ids[i - 1]))
        .collect();
    let text = |slice: &[usize]| {
        slice
            .iter()
            .copied()
            .filter(|&t| t < eot)
            .collect::<Vec<_>>()
    };
    if consecutive.is_empty() {
        let last_ts = ids.iter().rev().find(|&&t| is_ts(t)).copied();
        let end = match last_ts {
            Some(t) if t != timestamp_begin => time(t).min(window_s),
            _ => window_s,
        };
        let start = ids.first().filter(|&&t| is_ts(t)).map_or(0.0, |&t| time(t));
        let tokens = text(&ids);
        let segs = if tokens.is_empty() {
            Vec::new()
        } else {
            vec![TimedTokens {
                start: start.min(end),
                end,
                tokens,
            }]
        };
        return (segs, window_frames);
    }
    let mut cuts = consecutive.clone();
    if single_ending {
        cuts.push(ids.len());
    }
    let mut segs = Vec::new();
    let mut last = 0;
    for &cut in &cuts {
        let slice = &ids[last..cut];
        if let (Some(&first), Some(&end)) = (slice.first(), slice.last())
            && is_ts(first)
            && is_ts(end)
        {
            let tokens = text(slice);
            if !tokens.is_empty() {
                let (s, e) = (time(first).min(window_s), time(end).min(window_s));
                segs.push(TimedTokens {
                    start: s.min(e),
                    end: e,
                    tokens,
                });
            }
        }
        last = cut;
    }
    let next = if single_ending {
        window_frames
    } else {
        // Resume where the last complete segment ended.
        let end_ts = ids[last - 1];
        (((end_ts - timestamp_begin) as f64 * TIME_PRECISION * 100.0).round() as usize)
            .clamp(1, window_frames)
    };
    (segs, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    const EOT: usize = 50257;
    const TS: usize = 50364;
    fn ts(seconds: f64) -> usize {
        TS + (seconds / TIME_PRECISION).round() as usize
    }

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
    fn a_window_is_cut_at_its_timestamp_pairs() {
        // <0.00> a b <2.00><2.40> c <4.00> <eot>: two segments, ends on a single timestamp.
        let ids = [ts(0.0), 10, 11, ts(2.0), ts(2.4), 12, ts(4.0), EOT];
        let (segs, next) = segments(&ids, EOT, TS, 3000);
        assert_eq!(segs.len(), 2);
        assert_eq!(
            (segs[0].start, segs[0].end, segs[0].tokens.clone()),
            (0.0, 2.0, vec![10, 11])
        );
        assert_eq!(
            (segs[1].start, segs[1].end, segs[1].tokens.clone()),
            (2.4, 4.0, vec![12])
        );
        assert_eq!(next, 3000);
    }

    #[test]
    fn a_window_ending_inside_a_segment_resumes_after_the_last_whole_one() {
        let ids = [ts(0.0), 10, ts(5.0), ts(5.5), 11, 12];
        let (segs, next) = segments(&ids, EOT, TS, 3000);
        assert_eq!(segs.len(), 1);
        assert_eq!(next, 500);
    }

    #[test]
    fn a_window_without_a_timestamp_pair_is_one_segment() {
        let ids = [ts(0.0), 10, 11, ts(3.0)];
        let (segs, next) = segments(&ids, EOT, TS, 1200);
        assert_eq!(
            segs,
            vec![TimedTokens {
                start: 0.0,
                end: 3.0,
                tokens: vec![10, 11]
            }]
        );
        assert_eq!(next, 1200);
        assert!(segments(&[EOT], EOT, TS, 1200).0.is_empty());
    }
}
