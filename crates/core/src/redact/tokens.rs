//! Words and numerals with their byte spans, each read as what it can mean in a number or an address.

use crate::normalize;

/// What a word or numeral is, as far as redaction cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Lex {
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
    pub(super) fn may_be_pii(self) -> bool {
        matches!(
            self,
            Lex::Digit(_) | Lex::Oh | Lex::TwoDigits(_) | Lex::Tens(_) | Lex::At
        )
    }
}

#[derive(Debug, Clone, Copy)]
pub(super) struct Token {
    pub(super) start: usize,
    pub(super) end: usize,
    pub(super) lex: Lex,
}

/// Splits text into words and numerals with their byte spans. A word is a run of letters and digits; '.'
/// and ',' between two ASCII digits stay inside a numeral.
pub(super) fn tokenize(text: &str) -> Vec<Token> {
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
            fold_word(word, &mut folded);
            lex_of(&folded)
        };
        tokens.push(Token { start, end, lex });
    }
    tokens
}

/// `word` folded as [`normalize`] folds it ("Dieciséis" → "dieciseis", "Núñez" → "nunez") into a cleared
/// buffer; long words are left empty, since no word that matters here is long.
pub(super) fn fold_word(word: &str, folded: &mut String) {
    folded.clear();
    if word.len() > 24 {
        return;
    }
    normalize::fold_into(word, folded);
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
pub(super) fn is_filler_word(word: &str) -> bool {
    let mut folded = String::new();
    fold_word(word, &mut folded);
    is_filler(&folded)
}
