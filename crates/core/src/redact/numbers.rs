//! Runs of digits, written or read out, and the cards and phones found in them.

use super::ids::{control_letter, control_letter_after, nie_prefix_before};
use super::tokens::{Lex, Token, is_filler_word};
use super::{Pii, Span};

/// Spoken runs longer than this are a phone-like span as a whole, never searched for cards inside.
const LONGEST_SEARCHED_RUN: usize = 64;

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
pub(super) struct Run {
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
pub(super) fn gap(text: &str, end: usize, start: usize) -> &str {
    text.get(end..start).unwrap_or("")
}

pub(super) fn only_spaces(gap: &str) -> bool {
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
                spoken: dictated(text, token),
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

/// A lone digit tied by a dash to another lone digit ("6-1-0, 3-8-4"): how Whisper writes digits
/// read out one by one, so it joins across commas like a spoken digit does.
fn dictated(text: &str, token: &Token) -> bool {
    let lone = |s: &str| s.len() == 1 && s.bytes().all(|b| b.is_ascii_digit());
    if !lone(&text[token.start..token.end]) {
        return false;
    }
    let before = text[..token.start]
        .strip_suffix('-')
        .and_then(|t| t.chars().last());
    let after = text[token.end..]
        .strip_prefix('-')
        .and_then(|t| t.chars().next());
    let single = |at: usize, len: usize| {
        let b = text.as_bytes();
        at.checked_sub(1).is_none_or(|p| !b[p].is_ascii_digit())
            && b.get(at + len).is_none_or(|n| !n.is_ascii_digit())
    };
    let tied_before = before.is_some_and(|c| c.is_ascii_digit()) && single(token.start - 2, 1);
    let tied_after = after.is_some_and(|c| c.is_ascii_digit()) && single(token.end + 1, 1);
    tied_before || tied_after || listed(text, token.start, token.end)
}

/// A lone digit next to another lone digit across a comma or full stop and a space: how Whisper
/// writes digits read out one by one ("5, 0, 7, 3" or "4. 5. 0. 8."), which are a number read out.
fn listed(text: &str, start: usize, end: usize) -> bool {
    let lone = |s: &str| {
        let mut digits = s.chars().rev().take_while(char::is_ascii_digit);
        digits.next().is_some() && digits.next().is_none()
    };
    let strip = |s: &'_ str| -> Option<usize> {
        // The length of `s`'s leading ", " or ". " (a separator, then at least one space).
        let rest = s.strip_prefix([',', '.', ';'])?;
        let spaces = rest.len() - rest.trim_start().len();
        (spaces > 0).then_some(1 + spaces)
    };
    let after = &text[end..];
    let next_lone = strip(after).is_some_and(|n| {
        let rest = &after[n..];
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        digits == 1
            && !rest[1..]
                .chars()
                .next()
                .is_some_and(|c| c.is_alphanumeric())
    });
    let before = text[..start].trim_end();
    let prev_lone = text[..start].len() > before.len()
        && before
            .strip_suffix([',', '.', ';'])
            .is_some_and(|b| lone(b) && !b[..b.len() - 1].ends_with(|c: char| c.is_alphanumeric()));
    next_lone || prev_lone
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

pub(super) fn runs(text: &str, tokens: &[Token]) -> Vec<Run> {
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
pub(super) fn classify_run(text: &str, tokens: &[Token], run: &Run, found: &mut Vec<Span>) {
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
    // Read out, a DNI's eight digits (or seven and its letter) are hidden even when the recogniser
    // garbled them so that the control letter no longer checks ("5, 0, 7, 3, 2, 9, 1, 4", "Cinco-
    // Cero-7-3-2-1-4-C"): a wrong digit does not make a person's id any less theirs.
    if run.spoken()
        && (total == 8
            || (total == 7 && control_letter_after(text, tokens, last.next_token).is_some()))
    {
        let end =
            control_letter_after(text, tokens, last.next_token).map_or(last.end, |(_, end)| end);
        found.push(Span {
            start: first.start,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::redact::ids::control_letter;
    use crate::redact::tests::{kept, kinds, redact};

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
    fn digits_whisper_wrote_one_by_one_are_hidden_even_when_misheard() {
        // What Whisper wrote for a DNI and a card read out on the demo night.
        assert_eq!(
            redact("5, 0, 7, 3, 2, 9, 1, 4, y ya"),
            "[DNI], y ya",
            "eight digits read out: a DNI without its letter"
        );
        assert_eq!(
            redact("le confirmo el DNI Cinco-Cero-7-3-2-1-4-C, dígame"),
            "le confirmo el DNI [DNI], dígame",
            "a digit lost, the letter kept"
        );
        let card = redact("4. 5. 0. 8. 0. 3. 1. 2. 1. 7. 4. 4. 5. 8. 9. 3. 4.");
        assert!(
            !card.chars().any(|c| c.is_ascii_digit()),
            "a card read back with a digit too many: {card}"
        );
        // Lists of options are not numbers.
        kept("Marque 1, 2 o 3.");
        kept("opciones 1, 2, 3, 4 y 5");
        kept("En 2019, 3 de cada 4 clientes.");
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
    fn digits_written_one_by_one_with_dashes_join_like_spoken_ones() {
        // Whisper base on "seis uno dos, tres ocho cuatro, nueve cero siete" (espeak-ng, Spanish).
        assert_eq!(
            redact("Le llamamos al 6-1-0, 3-8-4-9-0-7 para confirmarlo."),
            "Le llamamos al [PHONE] para confirmarlo."
        );
        assert_eq!(
            redact("la tarjeta es 4-5-3-9, 1-4-8-8, 0-3-4-3, 6-4-6-7."),
            "la tarjeta es [CARD]."
        );
        kept("el marcador quedó 2-1, luego 3-0, y al final 4-2-1");
        kept("la póliza 12-34, la 56-78");
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

    #[test]
    fn line_breaks_end_numbers() {
        assert_eq!(
            redact("Tel: 612 345 678\nPóliza: 745218"),
            "Tel: [PHONE]\nPóliza: 745218"
        );
        kept("4539 1488\n0343 6467");
    }
}
