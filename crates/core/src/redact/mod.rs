//! PII redaction for every text guion writes: transcripts, evidence and reports.
//!
//! A [`Redactor`] is built once (its regular expressions compiled in [`Redactor::new`]) and then hides, in
//! any `&str`, card numbers (`[CARD]`), Spanish DNI/NIE (`[DNI]`), phone numbers (`[PHONE]`) and e-mail
//! addresses (`[EMAIL]`), written or read out the way an ASR writes speech:
//!
//! - **Numbers** are found as *runs*: written digit groups and Spanish/English digit words ("cuatro",
//!   "four", "oh", "double four", "cuarenta y cinco", "forty-five") joined by spaces, dashes, brackets,
//!   hesitations ("eh", "um") and — once a word is spoken — commas and full stops. A run is then read
//!   as a card (13–19 digits, Luhn-valid), a DNI (8 digits and the right control letter; NIE: X/Y/Z,
//!   7 digits and the letter) or a phone. Written runs keep their grouping, so a phone or a card is looked
//!   for at group boundaries and a year or a policy number beside it stays; a spoken run has no grouping,
//!   so nine or more spoken digits in a row that are not a card are a phone, whole.
//! - Amounts ("1.250,50 €", a number next to a currency), times ("10:30"), dates ("12/05/2025") and
//!   short references (up to 8 digits without a control letter) are never hidden.
//! - **E-mail**: the usual written form, and the spoken one ("juan punto perez arroba gmail punto com",
//!   "john dot smith at gmail dot com").
//! - Overlapping findings are merged into one span named after the longest, so no digit of a hidden number
//!   is left behind.
//!
//! Pure: no I/O, no global state; a `Redactor` is `Send + Sync` and cheap to share.

use crate::transcript::{Transcript, Word};
use std::borrow::Cow;

use regex::{Captures, Regex};

/// What kinds of PII were hidden, for counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Pii {
    Card,
    Id,
    Phone,
    Email,
}

impl Pii {
    /// The text that stands in for a hidden span.
    pub fn placeholder(self) -> &'static str {
        match self {
            Pii::Card => "[CARD]",
            Pii::Id => "[DNI]",
            Pii::Phone => "[PHONE]",
            Pii::Email => "[EMAIL]",
        }
    }

    /// Which kind names a merged span when two findings of the same length overlap: the more specific.
    fn specificity(self) -> u8 {
        match self {
            Pii::Email => 3,
            Pii::Card => 2,
            Pii::Id => 1,
            Pii::Phone => 0,
        }
    }
}

/// Finds and hides PII; compiled once, then used for any number of texts (and threads).
#[derive(Debug, Clone)]
pub struct Redactor {
    email: Regex,
    spoken_email: Regex,
    dni: Regex,
    nie: Regex,
}

impl Default for Redactor {
    fn default() -> Self {
        Redactor::new()
    }
}

/// Top-level domains a spoken address may end with ("… punto com", "… dot co dot uk").
const TLDS: &str =
    "com|es|net|org|edu|gov|info|biz|io|co|uk|eu|cat|mx|ar|cl|pe|us|de|fr|it|pt|me|tv|ai|dev|app";

/// Mailbox providers: with one of these, "name at provider dot com" is an address even without a
/// dotted name (otherwise "visit us at acme dot com" would be one).
const MAIL_PROVIDERS: [&str; 16] = [
    "gmail",
    "googlemail",
    "hotmail",
    "outlook",
    "live",
    "msn",
    "yahoo",
    "ymail",
    "icloud",
    "me",
    "aol",
    "proton",
    "protonmail",
    "gmx",
    "mail",
    "btinternet",
];

/// The DNI/NIE control letters, indexed by the number modulo 23.
const CONTROL_LETTERS: &[u8; 23] = b"TRWAGMYFPDXBNJZSQVHLCKE";

/// Spoken runs longer than this are a phone-like span as a whole, never searched for cards inside.
const LONGEST_SEARCHED_RUN: usize = 64;

impl Redactor {
    /// Compiles the patterns: do it once per process (or worker) and share the result.
    pub fn new() -> Redactor {
        let compile =
            |pattern: &str| Regex::new(pattern).expect("redact: built-in pattern compiles");
        let word = r"[\p{L}\p{N}]+";
        let separator = r"(?:\s+(?:gui[oó]n\s+bajo|barra\s+baja|underscore|gui[oó]n|dash|hyphen|punto|dot)\s+|[._\-])";
        let at = r"(?:\s+(?P<at>arroba|at)\s+|\s*@\s*)";
        let dot = r"(?:\s+(?:punto|dot)\s+|\.)";
        Redactor {
            email: compile(r"[\p{L}\p{N}._%+\-]+@[\p{L}\p{N}\-]+(?:\.[\p{L}\p{N}\-]+)*\.\p{L}{2,}"),
            spoken_email: compile(&format!(
                r"(?i)\b(?P<local>{word}(?:{separator}{word})*){at}(?P<domain>{word})(?:{dot}{word})*{dot}(?:{TLDS})\b"
            )),
            dni: compile(
                r"(?-u:\b)(?P<number>\d{8}|\d{2}\.\d{3}\.\d{3})(?P<sep>[ \-]?)(?P<letter>[A-Za-z])(?-u:\b)",
            ),
            nie: compile(
                r"(?-u:\b)(?P<prefix>[XYZxyz])(?P<sep1>[ \-]?)(?P<number>\d{7}|\d\.\d{3}\.\d{3})(?P<sep>[ \-]?)(?P<letter>[A-Za-z])(?-u:\b)",
            ),
        }
    }

    /// The text with each PII span replaced by a placeholder: [CARD], [DNI] (for Spanish DNI/NIE),
    /// [PHONE], [EMAIL].
    pub fn redact<'t>(&self, text: &'t str) -> Cow<'t, str> {
        let spans = self.spans(text);
        if spans.is_empty() {
            Cow::Borrowed(text)
        } else {
            Cow::Owned(replace(text, &spans))
        }
    }

    /// Same, and which kinds were found: one entry per hidden span, in the order of the text.
    pub fn redact_counting(&self, text: &str) -> (String, Vec<Pii>) {
        let spans = self.spans(text);
        let kinds = spans.iter().map(|span| span.kind).collect();
        let redacted = if spans.is_empty() {
            text.to_owned()
        } else {
            replace(text, &spans)
        };
        (redacted, kinds)
    }

    /// Hides PII in a transcript: each utterance's text, and its words, where a hidden span that
    /// covers several words becomes one word (the placeholder) timed from the first to the last, so
    /// word timings stay usable and no digit survives in a word list.
    pub fn transcript(&self, transcript: &mut Transcript) {
        for u in &mut transcript.utterances {
            if let Cow::Owned(text) = self.redact(&u.text) {
                u.text = text;
            }
            self.words(&mut u.words);
        }
    }

    fn words(&self, words: &mut Vec<Word>) {
        let mut joined = String::new();
        let mut at = Vec::with_capacity(words.len());
        for w in words.iter() {
            if !joined.is_empty() {
                joined.push(' ');
            }
            let start = joined.len();
            joined.push_str(w.text.trim());
            at.push(start..joined.len());
        }
        let spans = self.spans(&joined);
        if spans.is_empty() {
            return;
        }
        let mut kept: Vec<Word> = Vec::with_capacity(words.len());
        let mut spans = spans.iter().peekable();
        for (w, range) in words.drain(..).zip(at) {
            while spans.next_if(|s| s.end <= range.start).is_some() {}
            let Some(span) = spans.peek().filter(|s| s.start < range.end) else {
                kept.push(w);
                continue;
            };
            let placeholder = span.kind.placeholder();
            // The span's first word becomes the placeholder; later words of it extend its time.
            match kept.last_mut() {
                Some(last) if last.text == placeholder && span.start < range.start => {
                    last.end = last.end.max(w.end);
                    last.p = last.p.min(w.p);
                }
                _ => kept.push(Word {
                    text: placeholder.to_string(),
                    ..w
                }),
            }
        }
        *words = kept;
    }

    /// The spans to hide, sorted and disjoint.
    fn spans(&self, text: &str) -> Vec<Span> {
        let bytes = text.as_bytes();
        let has_digit = bytes.iter().any(u8::is_ascii_digit);
        let has_at = bytes.contains(&b'@');
        let tokens = tokenize(text);
        let has_words = tokens.iter().any(|t| t.lex.may_be_pii());
        if !has_digit && !has_at && !has_words {
            return Vec::new();
        }

        let mut found = Vec::new();
        if has_at {
            found.extend(self.email.find_iter(text).map(|m| Span {
                start: m.start(),
                end: m.end(),
                kind: Pii::Email,
            }));
        }
        self.spoken_emails(text, &tokens, &mut found);
        if has_digit {
            self.written_ids(text, &mut found);
        }
        for run in runs(text, &tokens) {
            classify_run(text, &tokens, &run, &mut found);
        }
        merge(found)
    }

    /// Spoken (or half-spoken) addresses, looked for only around an "arroba", "at" or "@" that a domain
    /// ending can follow, so that ordinary English ("at home") costs nothing.
    fn spoken_emails(&self, text: &str, tokens: &[Token], found: &mut Vec<Span>) {
        let mut anchors: Vec<usize> = Vec::new();
        for (i, token) in tokens.iter().enumerate() {
            let next_has_dot = || {
                tokens
                    .iter()
                    .skip(i + 1)
                    .take(8)
                    .any(|t| t.lex == Lex::Dot || text[..t.start].ends_with('.'))
            };
            if token.lex == Lex::At && next_has_dot() {
                anchors.push(token.start);
            }
        }
        anchors.extend(text.match_indices('@').map(|(i, _)| i));
        anchors.sort_unstable();
        let mut searched_to = 0;
        for anchor in anchors {
            // An anchor well inside the last window was searched with it; one near its end is searched
            // again, so that an address cut by the window's edge is still found whole.
            if anchor + 120 <= searched_to {
                continue;
            }
            let start = window_start(text, anchor.saturating_sub(160));
            let end = window_end(text, (anchor + 200).min(text.len()));
            let window = &text[start..end];
            for caps in self.spoken_email.captures_iter(window) {
                let Some(whole) = caps.get(0) else { continue };
                if !plausible_spoken_email(&caps) {
                    continue;
                }
                found.push(Span {
                    start: start + whole.start(),
                    end: start + whole.end(),
                    kind: Pii::Email,
                });
            }
            searched_to = end;
        }
    }

    /// Written DNI ("12345678Z", "12.345.678-Z") and NIE ("X1234567L", "Y-1234567-X") with a valid
    /// control letter.
    fn written_ids(&self, text: &str, found: &mut Vec<Span>) {
        for (regex, is_nie) in [(&self.dni, false), (&self.nie, true)] {
            for caps in regex.captures_iter(text) {
                let (Some(whole), Some(number), Some(letter)) =
                    (caps.get(0), caps.name("number"), caps.name("letter"))
                else {
                    continue;
                };
                if !standalone(text, whole.start(), whole.end()) {
                    continue;
                }
                let spaced = |name: &str| caps.name(name).is_some_and(|m| m.as_str() == " ");
                let letter = letter.as_str().chars().next().unwrap_or(' ');
                if spaced("sep") && is_common_lowercase_word(letter) {
                    continue;
                }
                let mut digits: String = number
                    .as_str()
                    .chars()
                    .filter(char::is_ascii_digit)
                    .collect();
                if is_nie {
                    let Some(prefix) = caps.name("prefix") else {
                        continue;
                    };
                    let prefix = prefix.as_str().chars().next().unwrap_or(' ');
                    if spaced("sep1") && prefix.is_ascii_lowercase() {
                        continue;
                    }
                    let Some(value) = nie_prefix_value(prefix) else {
                        continue;
                    };
                    digits.insert(0, char::from(b'0' + value));
                }
                if control_letter(&digits) == Some(letter.to_ascii_uppercase()) {
                    found.push(Span {
                        start: whole.start(),
                        end: whole.end(),
                        kind: Pii::Id,
                    });
                }
            }
        }
    }
}

/// Whether a match stands alone: no letter or digit glued to either side ("A12345678Z9" is not a DNI).
fn standalone(text: &str, start: usize, end: usize) -> bool {
    let before = text[..start].chars().next_back();
    let after = text[end..].chars().next();
    !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
}

/// A search window's start moved forward to a whitespace, so that it never cuts a word in two.
fn window_start(text: &str, at: usize) -> usize {
    if at == 0 {
        return 0;
    }
    let mut at = at;
    while !text.is_char_boundary(at) {
        at += 1;
    }
    match text[at..].find(char::is_whitespace) {
        Some(offset) => at + offset,
        None => at,
    }
}

/// A search window's end moved forward to a whitespace (or the end), so that it never cuts a word in two.
fn window_end(text: &str, at: usize) -> usize {
    let mut at = at;
    while !text.is_char_boundary(at) {
        at += 1;
    }
    match text[at..].find(char::is_whitespace) {
        Some(offset) => at + offset,
        None => text.len(),
    }
}

/// "arroba" and "@" always introduce an address; the English "at" only with a dotted (or numbered) name
/// or a mailbox provider, because "visit us at acme dot com" is a website.
fn plausible_spoken_email(caps: &Captures) -> bool {
    let Some(at) = caps.name("at") else {
        return true;
    };
    if !at.as_str().eq_ignore_ascii_case("at") {
        return true;
    }
    let local = caps.name("local").map_or("", |m| m.as_str());
    let dotted = local.contains(|c: char| c.is_whitespace() || matches!(c, '.' | '_' | '-'));
    let numbered = local.contains(|c: char| c.is_ascii_digit());
    let domain = caps
        .name("domain")
        .map_or(String::new(), |m| m.as_str().to_lowercase());
    dotted || numbered || MAIL_PROVIDERS.contains(&domain.as_str())
}

/// Lower-case 'a', 'e' and 'y' after a space are Spanish words ("12345678 y 5"), not control letters.
fn is_common_lowercase_word(letter: char) -> bool {
    matches!(letter, 'a' | 'e' | 'y')
}

/// The NIE's leading letter as the digit it stands for.
fn nie_prefix_value(prefix: char) -> Option<u8> {
    match prefix.to_ascii_uppercase() {
        'X' => Some(0),
        'Y' => Some(1),
        'Z' => Some(2),
        _ => None,
    }
}

/// The control letter of a DNI number (or a NIE with its prefix as a digit).
fn control_letter(digits: &str) -> Option<char> {
    let number: u64 = digits.parse().ok()?;
    let index = usize::try_from(number % 23).ok()?;
    CONTROL_LETTERS.get(index).map(|&b| char::from(b))
}

fn luhn(digits: &str) -> bool {
    let mut sum = 0;
    for (i, b) in digits.bytes().rev().enumerate() {
        let mut d = u32::from(b - b'0');
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum % 10 == 0
}

/// 13 to 19 digits, Luhn-valid, and not starting with 0 (no card issuer number does).
fn is_card(digits: &str) -> bool {
    (13..=19).contains(&digits.len()) && !digits.starts_with('0') && luhn(digits)
}

/// Whether a run of digits (without its grouping) can be a phone number.
///
/// With a leading '+': any 8–15 digits (E.164). Otherwise: "00" and a country code; Spanish 9 digits
/// from 6–9, also behind "34"; North American 10 digits (area code from 2), also behind "1"; British
/// 11 digits from "0" and 12 behind "44".
fn is_phone(digits: &str, plus: bool) -> bool {
    let b = digits.as_bytes();
    let n = b.len();
    if n < 8 {
        return false;
    }
    if plus {
        return n <= 15 && b[0] != b'0';
    }
    if n >= 10 && digits.starts_with("00") {
        return n <= 17 && b[2] != b'0';
    }
    let spanish = |d: u8| matches!(d, b'6'..=b'9');
    match n {
        9 => spanish(b[0]),
        10 => matches!(b[0], b'2'..=b'9'),
        11 => {
            (digits.starts_with("34") && spanish(b[2]))
                || (b[0] == b'1' && matches!(b[1], b'2'..=b'9'))
                || (b[0] == b'0' && b[1] != b'0')
        }
        // Behind "44", or a national number whose recogniser heard one digit too many.
        12 => (digits.starts_with("44") && b[2] != b'0') || (b[0] == b'0' && b[1] != b'0'),
        _ => false,
    }
}

// ---------------------------------------------------------------------------------------------------------
// Spans

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    start: usize,
    end: usize,
    kind: Pii,
}

impl Span {
    fn len(&self) -> usize {
        self.end - self.start
    }
}

/// Sorts the findings and merges overlapping ones into one span, named after the longest member (the
/// more specific kind on a tie), so that no part of a hidden number or address stays behind.
fn merge(mut found: Vec<Span>) -> Vec<Span> {
    found.retain(|span| span.start < span.end);
    found.sort_by_key(|span| (span.start, std::cmp::Reverse(span.end)));
    let mut merged: Vec<(Span, Span)> = Vec::with_capacity(found.len());
    for span in found {
        if let Some((union, longest)) = merged.last_mut()
            && span.start < union.end
        {
            union.end = union.end.max(span.end);
            let better =
                (span.len(), span.kind.specificity()) > (longest.len(), longest.kind.specificity());
            if better {
                *longest = span;
            }
            union.kind = longest.kind;
            continue;
        }
        merged.push((span, span));
    }
    merged.into_iter().map(|(union, _)| union).collect()
}

fn replace(text: &str, spans: &[Span]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for span in spans {
        out.push_str(&text[at..span.start]);
        out.push_str(span.kind.placeholder());
        at = span.end;
    }
    out.push_str(&text[at..]);
    out
}

// ---------------------------------------------------------------------------------------------------------
// Tokens

/// What a word or numeral is, as far as redaction cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lex {
    /// ASCII digits only.
    Digits,
    /// Digits with '.' or ',' between them ("1.250,50", "91.234.56.78").
    Numeral,
    /// A digit word: "cero", "uno", "una", "four", "zero"…
    Digit(u8),
    /// English "oh" for zero.
    Oh,
    /// "o": zero in English readings, "or" in Spanish; never the edge of a run.
    O,
    /// One word, two digits: 10–19 and "veintiuno"…"veintinueve".
    TwoDigits(u8),
    /// Twenty…ninety, veinte…noventa: two digits, or the start of "forty-five" / "cuarenta y cinco".
    Tens(u8),
    /// The Spanish "y" of "cuarenta y cinco".
    And,
    /// "double" / "doble" (2), "triple" (3) before a digit.
    Repeat(u8),
    /// A hesitation: "eh", "mmm", "um"…
    Filler,
    /// "letra", before a DNI's control letter.
    Letra,
    /// "guion", "dash", "hyphen": may stand before a DNI's control letter.
    Dash,
    /// "arroba" / "at".
    At,
    /// "punto" / "dot".
    Dot,
    /// A currency word: a number next to it is an amount.
    Currency,
    /// Anything else.
    Word,
}

impl Lex {
    /// Whether a text with this word (and no digit or '@') can hold anything to hide.
    fn may_be_pii(self) -> bool {
        matches!(
            self,
            Lex::Digit(_) | Lex::Oh | Lex::TwoDigits(_) | Lex::Tens(_) | Lex::At
        )
    }
}

#[derive(Debug, Clone, Copy)]
struct Token {
    start: usize,
    end: usize,
    lex: Lex,
}

/// Splits text into words and numerals with their byte spans. A word is a run of letters and digits; '.'
/// and ',' between two ASCII digits stay inside a numeral.
fn tokenize(text: &str) -> Vec<Token> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut folded = String::new();
    let mut chars = text.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        if !c.is_alphanumeric() {
            continue;
        }
        let mut end = start + c.len_utf8();
        let mut has_letter = !c.is_ascii_digit();
        let mut has_mark = false;
        while let Some(&(at, next)) = chars.peek() {
            if next.is_alphanumeric() {
                has_letter |= !next.is_ascii_digit();
            } else if matches!(next, '.' | ',')
                && bytes[end - 1].is_ascii_digit()
                && bytes.get(at + 1).is_some_and(u8::is_ascii_digit)
            {
                has_mark = true;
            } else {
                break;
            }
            end = at + next.len_utf8();
            chars.next();
        }
        let word = &text[start..end];
        let lex = if !has_letter {
            if has_mark { Lex::Numeral } else { Lex::Digits }
        } else if has_mark || word.bytes().any(|b| b.is_ascii_digit()) {
            Lex::Word
        } else {
            fold_into(word, &mut folded);
            lex_of(&folded)
        };
        tokens.push(Token { start, end, lex });
    }
    tokens
}

/// Lower-case with Latin accents removed ("Dieciséis" → "dieciseis"); long words are left empty, since
/// no word that matters here is long.
fn fold_into(word: &str, folded: &mut String) {
    folded.clear();
    if word.len() > 24 {
        return;
    }
    for c in word.chars().flat_map(char::to_lowercase) {
        let c = match c {
            '\u{300}'..='\u{36f}' => continue,
            'á' | 'à' | 'â' | 'ä' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'í' | 'ì' | 'î' | 'ï' => 'i',
            'ó' | 'ò' | 'ô' | 'ö' => 'o',
            'ú' | 'ù' | 'û' | 'ü' => 'u',
            c => c,
        };
        folded.push(c);
    }
}

fn lex_of(word: &str) -> Lex {
    use Lex::*;
    match word {
        "cero" | "zero" => Digit(0),
        "uno" | "una" | "one" => Digit(1),
        "dos" | "two" => Digit(2),
        "tres" | "three" => Digit(3),
        // Whisper writes a spoken "four" at the start of a number as "for" ("for 539-1488-…").
        "cuatro" | "four" | "for" | "fore" => Digit(4),
        "cinco" | "five" => Digit(5),
        "seis" | "six" => Digit(6),
        "siete" | "seven" => Digit(7),
        "ocho" | "eight" => Digit(8),
        "nueve" | "nine" => Digit(9),
        "oh" => Oh,
        "o" => O,
        "diez" | "ten" => TwoDigits(10),
        "once" | "eleven" => TwoDigits(11),
        "doce" | "twelve" => TwoDigits(12),
        "trece" | "thirteen" => TwoDigits(13),
        "catorce" | "fourteen" => TwoDigits(14),
        "quince" | "fifteen" => TwoDigits(15),
        "dieciseis" | "sixteen" => TwoDigits(16),
        "diecisiete" | "seventeen" => TwoDigits(17),
        "dieciocho" | "eighteen" => TwoDigits(18),
        "diecinueve" | "nineteen" => TwoDigits(19),
        "veintiuno" | "veintiuna" | "veintiun" => TwoDigits(21),
        "veintidos" => TwoDigits(22),
        "veintitres" => TwoDigits(23),
        "veinticuatro" => TwoDigits(24),
        "veinticinco" => TwoDigits(25),
        "veintiseis" => TwoDigits(26),
        "veintisiete" => TwoDigits(27),
        "veintiocho" => TwoDigits(28),
        "veintinueve" => TwoDigits(29),
        "veinte" | "twenty" => Tens(20),
        "treinta" | "thirty" => Tens(30),
        "cuarenta" | "forty" => Tens(40),
        "cincuenta" | "fifty" => Tens(50),
        "sesenta" | "sixty" => Tens(60),
        "setenta" | "seventy" => Tens(70),
        "ochenta" | "eighty" => Tens(80),
        "noventa" | "ninety" => Tens(90),
        "y" => And,
        "double" | "doble" => Repeat(2),
        "triple" => Repeat(3),
        "letra" => Letra,
        "guion" | "dash" | "hyphen" => Dash,
        "arroba" | "at" => At,
        "punto" | "dot" => Dot,
        "euro" | "euros" | "eur" | "dolar" | "dolares" | "dollar" | "dollars" | "usd" | "libra"
        | "libras" | "pound" | "pounds" | "gbp" | "peso" | "pesos" | "centimos" | "cents" => {
            Currency
        }
        _ if is_filler(word) => Filler,
        _ => Word,
    }
}

/// A hesitation, with repeated letters collapsed ("eeeh", "mmm", "ummm"). Folded input.
fn is_filler(word: &str) -> bool {
    if word.len() < 2 || word.len() > 12 {
        return false;
    }
    let mut collapsed = String::with_capacity(word.len());
    for c in word.chars() {
        if !collapsed.ends_with(c) {
            collapsed.push(c);
        }
    }
    matches!(
        collapsed.as_str(),
        "eh" | "ehm" | "em" | "m" | "hm" | "mh" | "ah" | "uh" | "um" | "uhm" | "er" | "erm"
    )
}

/// `is_filler` for a word as it is written in the text.
fn is_filler_word(word: &str) -> bool {
    let mut folded = String::new();
    fold_into(word, &mut folded);
    is_filler(&folded)
}

// ---------------------------------------------------------------------------------------------------------
// Runs of digits

/// One unit of a number: a written digit group, or one or two spoken digit words.
#[derive(Debug, Clone)]
struct Atom {
    start: usize,
    end: usize,
    digits: String,
    spoken: bool,
    /// The Spanish "o" ("or") read as zero: dropped at a run's edges.
    weak: bool,
    /// Index of its first token and of the token after it.
    first_token: usize,
    next_token: usize,
}

/// Consecutive atoms with only separators and hesitations between them.
#[derive(Debug)]
struct Run {
    atoms: Vec<Atom>,
    /// The byte offset of a '+' right before the first atom.
    plus: Option<usize>,
    /// `all[offsets[i]..offsets[j]]` are the digits of atoms i..j.
    all: String,
    offsets: Vec<usize>,
}

impl Run {
    fn new(atoms: Vec<Atom>, text: &str) -> Run {
        let mut all = String::new();
        let mut offsets = vec![0];
        for atom in &atoms {
            all.push_str(&atom.digits);
            offsets.push(all.len());
        }
        let plus = atoms
            .first()
            .filter(|first| text[..first.start].ends_with('+'))
            .map(|first| first.start - 1);
        Run {
            atoms,
            plus,
            all,
            offsets,
        }
    }

    /// Digits of atoms `lo..hi`.
    fn digits(&self, lo: usize, hi: usize) -> &str {
        &self.all[self.offsets[lo]..self.offsets[hi]]
    }

    fn count(&self, lo: usize, hi: usize) -> usize {
        self.offsets[hi] - self.offsets[lo]
    }

    fn spoken(&self) -> bool {
        self.atoms.iter().any(|atom| atom.spoken)
    }

    /// The byte span of atoms `lo..=hi`, with the '+' and a bracket that opens before the first atom when
    /// the span closes it.
    fn span(&self, text: &str, lo: usize, hi: usize, kind: Pii) -> Span {
        let mut start = self.atoms[lo].start;
        let end = self.atoms[hi].end;
        if lo == 0
            && let Some(plus) = self.plus
        {
            start = plus;
        }
        if text[..start].ends_with('(') && text[start..end].contains(')') {
            start -= 1;
        }
        Span { start, end, kind }
    }
}

/// Byte text between two tokens (or atoms).
fn gap(text: &str, end: usize, start: usize) -> &str {
    text.get(end..start).unwrap_or("")
}

fn only_spaces(gap: &str) -> bool {
    gap.chars().all(char::is_whitespace)
}

/// The atom starting at token `i`, with the index of the token after it.
fn atom_at(text: &str, tokens: &[Token], i: usize) -> Option<Atom> {
    let token = tokens.get(i)?;
    let spoken = |digits: String, next_token: usize, weak: bool| {
        let end = tokens[next_token - 1].end;
        Some(Atom {
            start: token.start,
            end,
            digits,
            spoken: true,
            weak,
            first_token: i,
            next_token,
        })
    };
    let digit_word = |t: Option<&Token>, allow_zero: bool| match t.map(|t| t.lex) {
        Some(Lex::Digit(d)) if allow_zero || d > 0 => Some(d),
        Some(Lex::Oh | Lex::O) if allow_zero => Some(0),
        _ => None,
    };
    match token.lex {
        Lex::Digits | Lex::Numeral => {
            let written = &text[token.start..token.end];
            if token.lex == Lex::Numeral
                && (written.contains(',') || written.matches('.').count() < 2)
            {
                // An amount or a decimal ("1.250,50", "1.500", "3.5"), never part of a number to hide.
                return None;
            }
            Some(Atom {
                start: token.start,
                end: token.end,
                digits: written.chars().filter(char::is_ascii_digit).collect(),
                spoken: false,
                weak: false,
                first_token: i,
                next_token: i + 1,
            })
        }
        Lex::Digit(d) => spoken(d.to_string(), i + 1, false),
        Lex::Oh => spoken("0".to_owned(), i + 1, false),
        Lex::O => spoken("0".to_owned(), i + 1, true),
        Lex::TwoDigits(n) => spoken(n.to_string(), i + 1, false),
        Lex::Tens(n) => {
            let next = tokens.get(i + 1);
            let joined = next.is_some_and(|next| {
                let between = gap(text, token.end, next.start);
                only_spaces(between) || between == "-"
            });
            if joined && let Some(unit) = digit_word(next, false) {
                return spoken((n + unit).to_string(), i + 2, false);
            }
            let and = next.filter(|next| next.lex == Lex::And);
            if let (Some(and), Some(unit_token)) = (and, tokens.get(i + 2))
                && only_spaces(gap(text, token.end, and.start))
                && only_spaces(gap(text, and.end, unit_token.start))
                && let Some(unit) = digit_word(Some(unit_token), false)
            {
                return spoken((n + unit).to_string(), i + 3, false);
            }
            spoken(n.to_string(), i + 1, false)
        }
        Lex::Repeat(times) => {
            let next = tokens.get(i + 1)?;
            if !only_spaces(gap(text, token.end, next.start)) {
                return None;
            }
            let digit = match next.lex {
                Lex::Digits if next.end - next.start == 1 => {
                    text[next.start..next.end].parse().ok()?
                }
                _ => digit_word(Some(next), true)?,
            };
            spoken(digit.to_string().repeat(usize::from(times)), i + 2, false)
        }
        _ => None,
    }
}

/// Whether two atoms with `gap` between them belong to one number. Spaces, dashes, brackets and
/// hesitations always join; commas, full stops and semicolons only when a digit is spoken ("cuatro,
/// cinco"), since between written numbers they end an amount or a sentence. A line break, a colon (a
/// time), a slash (a date) or any other word ends the run.
fn joins(gap: &str, spoken: bool) -> bool {
    let mut word_start = None;
    for (i, c) in gap.char_indices() {
        if c.is_alphanumeric() {
            word_start.get_or_insert(i);
            continue;
        }
        if let Some(start) = word_start.take()
            && !is_filler_word(&gap[start..i])
        {
            return false;
        }
        let fine = match c {
            '\n' | '\r' => false,
            c if c.is_whitespace() => true,
            '-' | '–' | '—' | '(' | ')' => true,
            ',' | '.' | '…' | ';' => spoken,
            _ => false,
        };
        if !fine {
            return false;
        }
    }
    word_start.is_none_or(|start| is_filler_word(&gap[start..]))
}

fn runs(text: &str, tokens: &[Token]) -> Vec<Run> {
    let mut runs = Vec::new();
    let mut current: Vec<Atom> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if let Some(atom) = atom_at(text, tokens, i) {
            // "o" beside a written number is the Spanish "or" ("612345678 o 912345678").
            let or_between =
                |last: &Atom| (last.weak && !atom.spoken) || (atom.weak && !last.spoken);
            if let Some(last) = current.last()
                && (or_between(last)
                    || !joins(gap(text, last.end, atom.start), last.spoken || atom.spoken))
            {
                finish_run(text, std::mem::take(&mut current), &mut runs);
            }
            i = atom.next_token;
            current.push(atom);
        } else {
            // A hesitation inside a run is skipped; any other word ends it.
            if tokens[i].lex != Lex::Filler || current.is_empty() {
                finish_run(text, std::mem::take(&mut current), &mut runs);
            }
            i += 1;
        }
    }
    finish_run(text, current, &mut runs);
    runs
}

/// Keeps a run that can hold anything (7 digits for a NIE), without a Spanish "o" at either edge.
fn finish_run(text: &str, mut atoms: Vec<Atom>, runs: &mut Vec<Run>) {
    while atoms.last().is_some_and(|atom| atom.weak) {
        atoms.pop();
    }
    let leading = atoms.iter().take_while(|atom| atom.weak).count();
    atoms.drain(..leading);
    let digits: usize = atoms.iter().map(|atom| atom.digits.len()).sum();
    if digits >= 7 {
        runs.push(Run::new(atoms, text));
    }
}

/// Reads one run as a DNI/NIE, cards and phones, pushing what it finds.
fn classify_run(text: &str, tokens: &[Token], run: &Run, found: &mut Vec<Span>) {
    let (Some(first), Some(last)) = (run.atoms.first(), run.atoms.last()) else {
        return;
    };
    let n = run.atoms.len();
    let total = run.count(0, n);
    if total == 8
        && let Some((letter, end)) = control_letter_after(text, tokens, last.next_token)
        && control_letter(&run.all) == Some(letter)
    {
        found.push(Span {
            start: first.start,
            end,
            kind: Pii::Id,
        });
        return;
    }
    if total == 7
        && let Some((value, start)) = nie_prefix_before(text, tokens, first.first_token)
        && let Some((letter, end)) = control_letter_after(text, tokens, last.next_token)
        && control_letter(&format!("{value}{}", run.all)) == Some(letter)
    {
        found.push(Span {
            start,
            end,
            kind: Pii::Id,
        });
        return;
    }
    if total < 8 {
        return;
    }
    let mut windows = Vec::new();
    if run.spoken() {
        if n > LONGEST_SEARCHED_RUN {
            windows.push((0, n - 1, Pii::Phone));
        } else {
            spoken_windows(run, 0, n, &mut windows);
        }
    } else if !near_currency(text, tokens, run) {
        written_windows(run, &mut windows);
    }
    found.extend(
        windows
            .into_iter()
            .map(|(lo, hi, kind)| run.span(text, lo, hi, kind)),
    );
}

/// A run next to a currency sign or word is an amount ("612.000.000 €", "$ 2 500 000", "650 000 euros").
fn near_currency(text: &str, tokens: &[Token], run: &Run) -> bool {
    let (Some(first), Some(last)) = (run.atoms.first(), run.atoms.last()) else {
        return false;
    };
    let before = text[..first.start].trim_end();
    let after = text[last.end..].trim_start();
    before.ends_with(['€', '$', '£'])
        || after.starts_with(['€', '$', '£', '%'])
        || tokens
            .get(last.next_token)
            .is_some_and(|t| t.lex == Lex::Currency && only_spaces(gap(text, last.end, t.start)))
}

/// Spoken (or mixed) atoms `lo..hi`: no grouping to go by, so the whole stretch is one number. A card if
/// it is one; else a card of 16 or 15 digits at its start or end, the rest joined to it unless it is long
/// enough to be a phone itself; else nine digits or more are a phone.
fn spoken_windows(run: &Run, lo: usize, hi: usize, out: &mut Vec<(usize, usize, Pii)>) {
    if run.count(lo, hi) < 9 {
        return;
    }
    if is_card(run.digits(lo, hi)) {
        out.push((lo, hi - 1, Pii::Card));
        return;
    }
    for target in [16, 15] {
        if let Some(end) = (lo + 1..hi).find(|&end| run.count(lo, end) == target)
            && is_card(run.digits(lo, end))
        {
            if run.count(end, hi) >= 9 {
                out.push((lo, end - 1, Pii::Card));
                spoken_windows(run, end, hi, out);
            } else {
                out.push((lo, hi - 1, Pii::Card));
            }
            return;
        }
        if let Some(start) = (lo + 1..hi).find(|&start| run.count(start, hi) == target)
            && is_card(run.digits(start, hi))
        {
            if run.count(lo, start) >= 9 {
                spoken_windows(run, lo, start, out);
                out.push((start, hi - 1, Pii::Card));
            } else {
                out.push((lo, hi - 1, Pii::Card));
            }
            return;
        }
    }
    out.push((lo, hi - 1, Pii::Phone));
}

/// The group lengths a written card comes in: one block, digit by digit, fours (the last group shorter),
/// or American Express / Diners' 4-6-5 and 4-6-4.
fn card_shape(atoms: &[Atom]) -> bool {
    let lengths: Vec<usize> = atoms.iter().map(|atom| atom.digits.len()).collect();
    match lengths.as_slice() {
        [] => false,
        [_] | [4, 6, 5] | [4, 6, 4] => true,
        lengths if lengths.iter().all(|&n| n == 1) => true,
        [init @ .., last] => init.iter().all(|&n| n == 4) && (1..=4).contains(last),
    }
}

/// The groups a written phone comes in, so that a year or a count before it stays out ("en 2025 612 345
/// 678", "tengo 2 612 345 678"): one block or digit by digit always; Spanish 2–3 then 2–4-digit groups
/// (behind "34"); North American 3-3-4 (behind "1"); British national 3–5 then 3–6 (behind "44": 2–6).
/// After a '+' or "00" the grouping is free.
fn phone_groups(atoms: &[Atom], plus: bool, digits: &str) -> bool {
    let lengths: Vec<usize> = atoms.iter().map(|atom| atom.digits.len()).collect();
    if plus || digits.starts_with("00") || lengths.len() == 1 || lengths.iter().all(|&n| n == 1) {
        return true;
    }
    let spanish = |groups: &[usize]| {
        groups.first().is_some_and(|n| (2..=3).contains(n))
            && groups.iter().all(|n| (2..=4).contains(n))
    };
    let (first, rest) = (lengths[0], &lengths[1..]);
    match digits.len() {
        9 => spanish(&lengths),
        10 => matches!(lengths.as_slice(), [3, 3, 4] | [3, 7]),
        11 if digits.starts_with("34") && first == 2 => spanish(rest),
        11 if digits.starts_with('1') => {
            matches!(lengths.as_slice(), [1, 3, 3, 4] | [1, 3, 7] | [4, 3, 4])
        }
        11 => (3..=5).contains(&first) && rest.iter().all(|n| (3..=6).contains(n)),
        12 => first == 2 && rest.iter().all(|n| (2..=6).contains(n)),
        _ => false,
    }
}

/// Written atoms: left to right, a card starting at a group (preferring 16, then 15 digits) or else the
/// longest phone starting there that does not swallow the start of a card. Up to four digits right after
/// a card (a security code, an expiry) go with it.
fn written_windows(run: &Run, out: &mut Vec<(usize, usize, Pii)>) {
    let n = run.atoms.len();
    let card_at: Vec<Option<usize>> = (0..n)
        .map(|start| {
            let mut best: Option<(usize, (u8, usize))> = None;
            for end in start..n {
                let count = run.count(start, end + 1);
                if count > 19 {
                    break;
                }
                if is_card(run.digits(start, end + 1)) && card_shape(&run.atoms[start..=end]) {
                    let rank = (
                        match count {
                            16 => 2,
                            15 => 1,
                            _ => 0,
                        },
                        count,
                    );
                    if best.is_none_or(|(_, best_rank)| rank > best_rank) {
                        best = Some((end, rank));
                    }
                }
            }
            best.map(|(end, _)| end)
        })
        .collect();

    let mut start = 0;
    while start < n {
        if let Some(end) = card_at[start] {
            let end = if run.count(end + 1, n) <= 4 {
                n - 1
            } else {
                end
            };
            out.push((start, end, Pii::Card));
            start = end + 1;
            continue;
        }
        let plus = start == 0 && run.plus.is_some();
        let mut phone = None;
        for (end, card) in card_at.iter().enumerate().skip(start) {
            if run.count(start, end + 1) > 17 || card.is_some() && end > start {
                break;
            }
            let digits = run.digits(start, end + 1);
            if is_phone(digits, plus) && phone_groups(&run.atoms[start..=end], plus, digits) {
                phone = Some(end);
            }
        }
        match phone {
            Some(end) => {
                out.push((start, end, Pii::Phone));
                start = end + 1;
            }
            None => start += 1,
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// DNI / NIE letters read out

/// Spanish letter names, and whether the name is distinctive enough to be taken without "letra" before it.
fn letter_name(word: &str) -> Option<(char, bool)> {
    let letter = match word {
        "efe" => ('F', true),
        "hache" => ('H', true),
        "jota" => ('J', true),
        "ka" => ('K', true),
        "ele" => ('L', true),
        "eme" => ('M', true),
        "ene" => ('N', true),
        "erre" => ('R', true),
        "uve" => ('V', true),
        "equis" => ('X', true),
        "zeta" | "ceta" | "zeda" => ('Z', true),
        "a" => ('A', false),
        "be" => ('B', false),
        "ce" => ('C', false),
        "de" => ('D', false),
        "e" => ('E', false),
        "ge" => ('G', false),
        "pe" => ('P', false),
        "cu" => ('Q', false),
        "ese" => ('S', false),
        "te" => ('T', false),
        "ye" => ('Y', false),
        _ => return None,
    };
    Some(letter)
}

fn folded(text: &str, token: &Token) -> String {
    let mut folded = String::new();
    fold_into(&text[token.start..token.end], &mut folded);
    folded
}

/// A DNI control letter after the digits: "Z", "-Z", ", letra zeta", "guion equis", "letra i griega",
/// "uve doble". Returns the letter and the byte end of what names it.
fn control_letter_after(text: &str, tokens: &[Token], next: usize) -> Option<(char, usize)> {
    let mut previous_end = tokens.get(next.checked_sub(1)?)?.end;
    let mut after_letra = false;
    for i in next..tokens.len().min(next + 4) {
        let token = &tokens[i];
        let between = gap(text, previous_end, token.start);
        if !between
            .chars()
            .all(|c| c.is_whitespace() || matches!(c, ',' | '-' | ':' | '.'))
            || between.contains('\n')
        {
            return None;
        }
        let spaced = !between.is_empty() && !between.ends_with('-');
        previous_end = token.end;
        match token.lex {
            Lex::Letra => {
                after_letra = true;
                continue;
            }
            Lex::Dash | Lex::Filler => continue,
            _ => {}
        }
        let written = &text[token.start..token.end];
        let word = folded(text, token);
        let next_word = tokens
            .get(i + 1)
            .filter(|t| only_spaces(gap(text, token.end, t.start)))
            .map(|t| (folded(text, t), t.end));
        // Two-word names.
        if let Some((second, end)) = &next_word {
            match (word.as_str(), second.as_str()) {
                ("i", "griega") => return Some(('Y', *end)),
                ("uve", "doble") | ("doble", "uve") => return Some(('W', *end)),
                _ => {}
            }
        }
        let mut chars = written.chars();
        if let (Some(c), None) = (chars.next(), chars.next())
            && c.is_ascii_alphabetic()
        {
            if !after_letra && spaced && c.is_ascii_lowercase() && is_common_lowercase_word(c) {
                return None;
            }
            return Some((c.to_ascii_uppercase(), token.end));
        }
        return match letter_name(&word) {
            Some((letter, distinctive)) if distinctive || after_letra => Some((letter, token.end)),
            _ => None,
        };
    }
    None
}

/// The X/Y/Z of a NIE read before its seven digits ("equis", "X", "i griega", "zeta"), as its digit,
/// with the byte offset where it starts. A lower-case "y" is the conjunction, not a prefix.
fn nie_prefix_before(text: &str, tokens: &[Token], first: usize) -> Option<(u8, usize)> {
    let index = first.checked_sub(1)?;
    let token = tokens.get(index)?;
    let between = gap(text, token.end, tokens.get(first)?.start);
    if !between
        .chars()
        .all(|c| c.is_whitespace() || matches!(c, ',' | '-'))
        || between.contains('\n')
    {
        return None;
    }
    let written = &text[token.start..token.end];
    match folded(text, token).as_str() {
        "x" | "equis" => Some((0, token.start)),
        "z" | "zeta" | "ceta" => Some((2, token.start)),
        "y" if written == "Y" => Some((1, token.start)),
        "griega" => {
            let i = tokens.get(index.checked_sub(1)?)?;
            (folded(text, i) == "i" && only_spaces(gap(text, i.end, token.start)))
                .then_some((1, i.start))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::LazyLock;
    use std::time::{Duration, Instant};

    static REDACTOR: LazyLock<Redactor> = LazyLock::new(Redactor::new);

    fn redact(text: &str) -> String {
        REDACTOR.redact(text).into_owned()
    }

    fn kinds(text: &str) -> Vec<Pii> {
        REDACTOR.redact_counting(text).1
    }

    fn kept(text: &str) {
        let out = REDACTOR.redact(text);
        assert!(
            matches!(out, Cow::Borrowed(_)),
            "{text:?} should be kept, got {out:?}"
        );
    }

    #[test]
    fn transcript_words_lose_the_pii_and_keep_their_times() {
        let said = "mi tarjeta es 4111 1111 1111 1111 gracias";
        let words: Vec<Word> = said
            .split(' ')
            .enumerate()
            .map(|(i, w)| Word {
                text: format!(" {w}"),
                start: i as f64,
                end: i as f64 + 0.5,
                p: 0.9 - i as f32 * 0.01,
            })
            .collect();
        let mut t = Transcript {
            source: "call.wav".into(),
            sha256: String::new(),
            duration_s: None,
            language: Some("es".into()),
            model: None,
            layout: None,
            wrong_language: None,
            turns: Vec::new(),
            utterances: vec![crate::transcript::Utterance {
                speaker: crate::transcript::Speaker::Customer,
                channel: Some(1),
                start: Some(0.0),
                end: Some(7.5),
                voice: None,
                language: None,
                text: said.into(),
                words,
            }],
        };
        REDACTOR.transcript(&mut t);
        let u = &t.utterances[0];
        assert_eq!(u.text, "mi tarjeta es [CARD] gracias");
        let texts: Vec<&str> = u.words.iter().map(|w| w.text.trim()).collect();
        assert_eq!(texts, ["mi", "tarjeta", "es", "[CARD]", "gracias"]);
        let card = &u.words[3];
        assert_eq!((card.start, card.end), (3.0, 6.5));
        assert!((card.p - 0.84).abs() < 1e-6, "{}", card.p);
    }

    #[test]
    fn redactor_is_send_sync_and_default() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Redactor>();
        assert_eq!(
            Redactor::default().redact("612 345 678"),
            Redactor::new().redact("612 345 678")
        );
    }

    #[test]
    fn checksums() {
        assert!(luhn("4539148803436467"));
        assert!(!luhn("4539148803436468"));
        assert!(is_card("378282246310005"));
        assert!(!is_card("0000000000000"));
        assert_eq!(control_letter("12345678"), Some('Z'));
        assert_eq!(control_letter("01234567"), Some('L'));
        assert_eq!(control_letter("00000000"), Some('T'));
    }

    // --- Cards ---------------------------------------------------------------------------------------

    #[test]
    fn written_cards() {
        assert_eq!(
            redact("Mi tarjeta es 4539 1488 0343 6467, gracias"),
            "Mi tarjeta es [CARD], gracias"
        );
        assert_eq!(redact("card 4539-1488-0343-6467."), "card [CARD].");
        assert_eq!(redact("4539148803436467"), "[CARD]");
        assert_eq!(redact("Amex 3782 822463 10005 ok"), "Amex [CARD] ok");
        assert_eq!(
            redact("My card number is 4111 1111 1111 1111."),
            "My card number is [CARD]."
        );
        assert_eq!(kinds("5555 5555 5555 4444"), vec![Pii::Card]);
        assert_eq!(
            redact("4 5 3 9 1 4 8 8 0 3 4 3 6 4 6 7"),
            "[CARD]",
            "digits written one by one"
        );
    }

    #[test]
    fn luhn_invalid_numbers_are_kept() {
        kept("Número de póliza 4539 1488 0343 6468, gracias");
        kept("4539148803436468");
        kept("ref 1234-5678-9012-3456");
    }

    #[test]
    fn written_card_takes_a_short_tail_but_not_a_year_before_it() {
        assert_eq!(redact("4539 1488 0343 6467 123"), "[CARD]");
        assert_eq!(redact("2019 4539 1488 0343 6467"), "2019 [CARD]");
    }

    #[test]
    fn spoken_cards_in_spanish() {
        let digits = "cuatro cinco tres nueve uno cuatro ocho ocho cero tres cuatro tres seis cuatro seis siete";
        assert_eq!(redact(digits), "[CARD]");
        assert_eq!(
            redact(&format!("Sí, es el {digits}. Gracias.")),
            "Sí, es el [CARD]. Gracias."
        );
        assert_eq!(
            redact(
                "es el cuatro, cinco, tres, nueve, eh, uno, cuatro, ocho, ocho... cero tres cuatro tres, seis cuatro seis siete, ¿vale?"
            ),
            "es el [CARD], ¿vale?"
        );
        assert_eq!(
            redact(
                "CUATRO Cinco tres nueve UNO cuatro ocho ocho cero tres cuatro tres seis cuatro seis siete"
            ),
            "[CARD]"
        );
        assert_eq!(
            redact(
                "tarjeta cuarenta y cinco treinta y nueve catorce ochenta y ocho cero tres cuarenta y tres sesenta y cuatro sesenta y siete, gracias"
            ),
            "tarjeta [CARD], gracias"
        );
        assert_eq!(kinds(digits), vec![Pii::Card]);
    }

    #[test]
    fn spoken_cards_in_english() {
        assert_eq!(
            redact(
                "It's four five three nine one four eight eight zero three four three six four six seven, thanks"
            ),
            "It's [CARD], thanks"
        );
        assert_eq!(
            redact(
                "four five three nine, one four eight eight, oh three four three, six four six seven"
            ),
            "[CARD]"
        );
        assert_eq!(
            redact("Sure: four triple one, one triple one, one triple one, one triple one."),
            "Sure: [CARD]."
        );
        assert_eq!(
            redact(
                "double five double five double five double five double five double five double four double four"
            ),
            "[CARD]"
        );
        assert_eq!(
            redact(
                "forty-five thirty-nine fourteen eighty-eight oh three forty-three sixty-four sixty-seven"
            ),
            "[CARD]"
        );
    }

    #[test]
    fn cards_mixing_digits_and_words() {
        assert_eq!(
            redact("es 4539 uno cuatro ocho ocho 0343 seis cuatro seis siete"),
            "es [CARD]"
        );
        assert_eq!(
            redact("four five three nine 1488 0343 six four six seven"),
            "[CARD]"
        );
    }

    #[test]
    fn spoken_card_keeps_digits_read_after_it() {
        // The security code read straight after the number goes with it; nothing is left behind.
        let out = redact(
            "cuatro cinco tres nueve uno cuatro ocho ocho cero tres cuatro tres seis cuatro seis siete tres dos uno",
        );
        assert_eq!(out, "[CARD]");
        assert_eq!(
            kinds(
                "cuatro cinco tres nueve uno cuatro ocho ocho cero tres cuatro tres seis cuatro seis siete tres dos uno"
            ),
            vec![Pii::Card]
        );
    }

    // --- DNI / NIE -----------------------------------------------------------------------------------

    #[test]
    fn valid_dni_is_hidden() {
        assert_eq!(redact("DNI 12345678Z, gracias"), "DNI [DNI], gracias");
        assert_eq!(redact("dni: 12345678-Z."), "dni: [DNI].");
        assert_eq!(redact("12345678 Z"), "[DNI]");
        assert_eq!(redact("12345678z"), "[DNI]");
        assert_eq!(redact("12.345.678-Z"), "[DNI]");
        assert_eq!(redact("87654321X es el mío"), "[DNI] es el mío");
        assert_eq!(redact("12 345 678 Z"), "[DNI]");
        assert_eq!(kinds("DNI 00000000T"), vec![Pii::Id]);
    }

    #[test]
    fn invalid_dni_is_kept() {
        kept("DNI 12345678A");
        kept("12345678-B");
        kept("123456789Z");
        kept("A12345678Z");
        // "y" after a space is the conjunction even where it would be the right letter.
        kept("pedidos 11111111 y más");
    }

    #[test]
    fn nie() {
        assert_eq!(redact("NIE X1234567L"), "NIE [DNI]");
        assert_eq!(redact("nie x-1234567-l ok"), "nie [DNI] ok");
        assert_eq!(redact("Y1234567X"), "[DNI]");
        assert_eq!(redact("Z 7654321 H"), "[DNI]");
        kept("X1234567A");
        kept("Y1234567L");
        kept("W1234567L");
    }

    #[test]
    fn spoken_dni_and_nie() {
        assert_eq!(
            redact("mi DNI es uno dos tres cuatro cinco seis siete ocho, letra zeta, ¿vale?"),
            "mi DNI es [DNI], ¿vale?"
        );
        assert_eq!(
            redact("ocho siete seis cinco cuatro tres dos uno equis"),
            "[DNI]"
        );
        assert_eq!(
            redact("cero cero cero cero cero cero cero cero letra te"),
            "[DNI]"
        );
        assert_eq!(redact("12345678 letra Z"), "[DNI]");
        assert_eq!(
            redact("NIE equis uno dos tres cuatro cinco seis siete ele"),
            "NIE [DNI]"
        );
        // A wrong letter leaves eight digits: a reference, kept.
        kept("uno dos tres cuatro cinco seis siete ocho letra a");
        // "de" is only a letter after "letra".
        kept("pagó 1234 5678 de más");
    }

    // --- Phones --------------------------------------------------------------------------------------

    #[test]
    fn spanish_phones() {
        for phone in [
            "612 345 678",
            "612345678",
            "612 34 56 78",
            "612-345-678",
            "91 234 56 78",
            "912 345 678",
            "+34 612 345 678",
            "+34612345678",
            "0034 612 345 678",
            "34 612 345 678",
            "(+34) 612 345 678",
            "612.345.678",
        ] {
            assert_eq!(
                redact(&format!("llame al {phone}, gracias")),
                "llame al [PHONE], gracias",
                "{phone}"
            );
        }
        assert_eq!(
            kinds("móvil 612 345 678 y fijo 912 345 678"),
            vec![Pii::Phone, Pii::Phone]
        );
    }

    #[test]
    fn english_and_international_phones() {
        for phone in [
            "+1 (555) 123-4567",
            "(555) 123-4567",
            "555-123-4567",
            "555.123.4567",
            "1-800-555-0199",
            "+44 20 7946 0958",
            "07700 900123",
            "020 7946 0958",
            "+33 1 23 45 67 89",
            "0044 20 7946 0958",
        ] {
            assert_eq!(
                redact(&format!("call me on {phone} today")),
                "call me on [PHONE] today",
                "{phone}"
            );
        }
    }

    #[test]
    fn numbers_as_the_recogniser_garbles_them() {
        // Heard on the demo night: "four five three nine …" came out as "for 539-…".
        assert_eq!(
            redact("the card is for 539-1488-0343-6467, okay"),
            "the card is [CARD], okay"
        );
        assert_eq!(redact("my number is 077009040461"), "my number is [PHONE]");
        kept("thanks for calling, that's for 2 weeks");
        kept("it's 15 for 20 pounds");
    }

    #[test]
    fn spoken_phones() {
        assert_eq!(
            redact("mi número es el seis uno dos tres cuatro cinco seis siete ocho, gracias"),
            "mi número es el [PHONE], gracias"
        );
        assert_eq!(
            redact("seis, uno, dos... tres cuatro cinco, eh, seis siete ocho"),
            "[PHONE]"
        );
        assert_eq!(redact("seiscientos"), "seiscientos",);
        assert_eq!(
            redact("it's oh seven seven oh oh nine oh oh one two three"),
            "it's [PHONE]"
        );
        assert_eq!(
            redact("five five five, one two three, four five six seven"),
            "[PHONE]"
        );
        assert_eq!(
            redact("six one two, thirty-four, fifty-six, seventy-eight"),
            "[PHONE]"
        );
        assert_eq!(
            redact("el seis doce treinta y cuatro cincuenta y seis setenta y ocho"),
            "el [PHONE]"
        );
        // Sixteen spoken digits that are no card: a phone-like number, hidden all the same.
        assert_eq!(
            kinds(
                "uno dos tres cuatro cinco seis siete ocho nueve cero uno dos tres cuatro cinco seis"
            ),
            vec![Pii::Phone]
        );
    }

    #[test]
    fn spanish_or_between_written_numbers_separates_them() {
        assert_eq!(kinds("612345678 o 912345678"), vec![Pii::Phone, Pii::Phone]);
        assert_eq!(redact("612345678 o 912345678"), "[PHONE] o [PHONE]");
        // Read out in English, "o" is a zero inside the number.
        assert_eq!(
            redact(
                "four five three nine one four eight eight o three four three six four six seven"
            ),
            "[CARD]"
        );
    }

    #[test]
    fn phone_beside_a_year_or_a_count_keeps_them() {
        assert_eq!(redact("en 2025 612 345 678"), "en 2025 [PHONE]");
        assert_eq!(redact("tengo 2 612 345 678"), "tengo 2 [PHONE]");
        assert_eq!(redact("a las 10:30 612 345 678"), "a las 10:30 [PHONE]");
    }

    // --- What is kept --------------------------------------------------------------------------------

    #[test]
    fn times_prices_dates_years_and_references_are_kept() {
        for text in [
            "Le llamo a las 10:30, ¿le va bien?",
            "La cuota es de 1.250,50 € al mes",
            "The premium is $1,250.50 a month",
            "son 1 250,50 euros",
            "en 2025 subió un 3,5 %",
            "el 12/05/2025",
            "el 12-05-2025",
            "el 12.05.2025",
            "la póliza 745218 está activa",
            "reference 48120, please",
            "policy 74521896",
            "póliza 745 218",
            "siete cuatro cinco dos uno ocho",
            "seven four five two one eight nine",
            "el importe es 612.000.000 €",
            "un total de 650 000 000 euros",
            "entre 1990 y 2025",
            "version 3.5.1",
            "123 456 789",
            "at home dot",
            "two or three",
            "uno de ellos y dos más",
        ] {
            kept(text);
        }
    }

    #[test]
    fn text_without_pii_is_borrowed() {
        kept("Buenos días, le atiende María. ¿En qué puedo ayudarle?");
        kept("Thank you for calling, how can I help you today?");
        kept("I'll look at it at once, one moment.");
        kept("¡Perfecto! Queda todo registrado 🙂");
    }

    #[test]
    fn empty_and_blank_text() {
        kept("");
        kept("   ");
        assert_eq!(REDACTOR.redact_counting(""), (String::new(), Vec::new()));
    }

    // --- E-mail --------------------------------------------------------------------------------------

    #[test]
    fn written_emails() {
        assert_eq!(
            redact("mi correo es juan.perez@gmail.com, ¿lo tiene?"),
            "mi correo es [EMAIL], ¿lo tiene?"
        );
        assert_eq!(
            redact("write to john.smith+acme@example.co.uk."),
            "write to [EMAIL]."
        );
        assert_eq!(redact("<ana_lopez-2@correo.es>"), "<[EMAIL]>");
        assert_eq!(redact("josé.núñez@correo.es"), "[EMAIL]");
    }

    #[test]
    fn spoken_emails() {
        assert_eq!(
            redact("mi correo es juan punto perez arroba gmail punto com, gracias"),
            "mi correo es [EMAIL], gracias"
        );
        assert_eq!(
            redact("Es Juan Punto Pérez Arroba Hotmail Punto Es"),
            "Es [EMAIL]"
        );
        assert_eq!(
            redact("ana guion bajo lopez arroba empresa punto co punto uk"),
            "[EMAIL]"
        );
        assert_eq!(redact("juan arroba empresa punto es"), "[EMAIL]");
        assert_eq!(
            redact("it's john dot smith at gmail dot com, thanks"),
            "it's [EMAIL], thanks"
        );
        assert_eq!(redact("email john at gmail dot com"), "email [EMAIL]");
        assert_eq!(redact("juan.perez arroba gmail.com"), "[EMAIL]");
        assert_eq!(redact("juanperez@gmail punto com"), "[EMAIL]");
        assert_eq!(
            kinds("juan punto perez arroba gmail punto com"),
            vec![Pii::Email]
        );
    }

    #[test]
    fn websites_and_ordinary_at_are_kept() {
        kept("visit us at acme dot com for details");
        kept("I'm at home, I'll call at five");
        kept("we're at the office dot dot dot");
    }

    // --- Mixed, overlaps, boundaries -----------------------------------------------------------------

    #[test]
    fn mixed_sentence_with_several_kinds() {
        let text = "Soy Ana, DNI 12345678Z, teléfono +34 612 345 678, correo ana@correo.es y tarjeta 4539 1488 0343 6467; póliza 745218 a las 10:30.";
        let (out, found) = REDACTOR.redact_counting(text);
        assert_eq!(
            out,
            "Soy Ana, DNI [DNI], teléfono [PHONE], correo [EMAIL] y tarjeta [CARD]; póliza 745218 a las 10:30."
        );
        assert_eq!(found, vec![Pii::Id, Pii::Phone, Pii::Email, Pii::Card]);
        assert_eq!(REDACTOR.redact(text), out);
    }

    #[test]
    fn mixed_spoken_sentence_in_english() {
        let text = "So that's john dot smith at gmail dot com, phone five five five one two three four five six seven, and the card is four one one one one one one one one one one one one one one one.";
        assert_eq!(
            redact(text),
            "So that's [EMAIL], phone [PHONE], and the card is [CARD]."
        );
        assert_eq!(kinds(text), vec![Pii::Email, Pii::Phone, Pii::Card]);
    }

    #[test]
    fn overlapping_findings_become_one_span() {
        assert_eq!(redact("612345678@gmail.com"), "[EMAIL]");
        assert_eq!(kinds("612345678@gmail.com"), vec![Pii::Email]);
        assert_eq!(
            merge(vec![
                Span {
                    start: 0,
                    end: 5,
                    kind: Pii::Phone
                },
                Span {
                    start: 3,
                    end: 12,
                    kind: Pii::Email
                },
                Span {
                    start: 20,
                    end: 22,
                    kind: Pii::Id
                },
            ]),
            vec![
                Span {
                    start: 0,
                    end: 12,
                    kind: Pii::Email
                },
                Span {
                    start: 20,
                    end: 22,
                    kind: Pii::Id
                },
            ]
        );
    }

    #[test]
    fn non_ascii_text_around_spans() {
        assert_eq!(
            redact("número: 4539 1488 0343 6467, ¿vale?"),
            "número: [CARD], ¿vale?"
        );
        assert_eq!(
            redact("Teléfono—612 345 678—señor Núñez 🙂"),
            "Teléfono—[PHONE]—señor Núñez 🙂"
        );
        assert_eq!(
            redact("«ñandú@correo.es» y «12345678Z»"),
            "«[EMAIL]» y «[DNI]»"
        );
        assert_eq!(
            redact("¿Dígame? seis uno dos tres cuatro cinco seis siete ocho… ¡gracias!"),
            "¿Dígame? [PHONE]… ¡gracias!"
        );
        // A window for spoken addresses starting inside a multi-byte character.
        let long_prefix = "ñ".repeat(200);
        assert_eq!(
            redact(&format!("{long_prefix} juan arroba gmail punto com")),
            format!("{long_prefix} [EMAIL]")
        );
    }

    #[test]
    fn line_breaks_end_numbers() {
        assert_eq!(
            redact("Tel: 612 345 678\nPóliza: 745218"),
            "Tel: [PHONE]\nPóliza: 745218"
        );
        kept("4539 1488\n0343 6467");
    }

    #[test]
    fn redact_and_counting_agree_and_are_idempotent() {
        for text in [
            "DNI 12345678Z y móvil 612 345 678",
            "cuatro cinco tres nueve uno cuatro ocho ocho cero tres cuatro tres seis cuatro seis siete",
            "john dot smith at gmail dot com",
            "nothing here",
        ] {
            let once = REDACTOR.redact(text).into_owned();
            assert_eq!(REDACTOR.redact_counting(text).0, once);
            assert_eq!(redact(&once), once, "{text:?}");
        }
    }

    /// Arbitrary text built from pieces that hit the scanners, with multi-byte characters between them.
    fn arbitrary_texts(count: usize) -> Vec<String> {
        const PIECES: [&str; 34] = [
            " ", ",", ".", "-", "+", "(", ")", "@", ":", "/", "\n", "ñ", "🙂", "\u{301}", "é",
            "4539", "1488", "0343", "6467", "612", "345", "678", "12345678", "Z", "X", "cuatro",
            "oh", "o", "y", "letra", "arroba", "punto", "at", "dot",
        ];
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        (0..count)
            .map(|_| {
                let len = next() % 30;
                (0..len)
                    .map(|_| match next() % 4 {
                        0 => char::from_u32((next() % 0x800) as u32)
                            .unwrap_or('?')
                            .to_string(),
                        _ => PIECES[(next() % PIECES.len() as u64) as usize].to_owned(),
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn arbitrary_input_never_panics_and_redaction_is_stable() {
        for text in arbitrary_texts(5_000) {
            let (out, found) = REDACTOR.redact_counting(&text);
            assert_eq!(REDACTOR.redact(&text), out, "{text:?}");
            let placeholders = ["[CARD]", "[DNI]", "[PHONE]", "[EMAIL]"]
                .iter()
                .map(|p| out.matches(p).count())
                .sum::<usize>();
            assert!(placeholders >= found.len(), "{text:?} → {out:?}");
        }
    }

    #[test]
    fn ten_thousand_words_are_fast() {
        let sentences = [
            "Buenos días, le atiende María, ¿en qué puedo ayudarle con su póliza 745218?",
            "Thank you for calling, the premium is 1.250,50 € and we renew at 10:30 on 12/05/2025.",
            "Mi teléfono es el seis uno dos tres cuatro cinco seis siete ocho y mi DNI 12345678Z.",
            "The card is 4539 1488 0343 6467 and my email is john dot smith at gmail dot com.",
            "Vale, uno de ellos, dos o tres veces, at home, at once, entonces perfecto.",
        ];
        let mut text = String::new();
        let mut words = 0;
        let mut expected = 0;
        let mut i = 0;
        while words < 10_000 {
            let sentence = sentences[i % sentences.len()];
            expected += [0, 0, 2, 2, 0][i % sentences.len()];
            text.push_str(sentence);
            text.push(' ');
            words += sentence.split_whitespace().count();
            i += 1;
        }
        let started = Instant::now();
        let (out, found) = REDACTOR.redact_counting(&text);
        let elapsed = started.elapsed();
        assert_eq!(found.len(), expected);
        assert!(!out.contains("4539"));
        assert!(out.contains("745218"));
        let limit = if cfg!(debug_assertions) { 2_000 } else { 250 };
        assert!(
            elapsed < Duration::from_millis(limit),
            "10k words took {elapsed:?}"
        );

        let plain =
            "Gracias por llamar, le atiende Ana, ¿en qué puedo ayudarle hoy? ".repeat(1_000);
        let started = Instant::now();
        assert!(matches!(REDACTOR.redact(&plain), Cow::Borrowed(_)));
        assert!(started.elapsed() < Duration::from_millis(limit));
    }
}
