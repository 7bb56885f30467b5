//! Spanish DNI and NIE: written with their control letter, or read out digit by digit and letter by name.

use super::numbers::{gap, only_spaces};
use super::tokens::{Lex, Token, fold_word};
use super::{Pii, Redactor, Span};

/// The DNI/NIE control letters, indexed by the number modulo 23.
const CONTROL_LETTERS: &[u8; 23] = b"TRWAGMYFPDXBNJZSQVHLCKE";

impl Redactor {
    /// Written DNI ("12345678Z", "12.345.678-Z") and NIE ("X1234567L", "Y-1234567-X") with a valid
    /// control letter.
    pub(super) fn written_ids(&self, text: &str, found: &mut Vec<Span>) {
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
pub(super) fn control_letter(digits: &str) -> Option<char> {
    let number: u64 = digits.parse().ok()?;
    let index = usize::try_from(number % 23).ok()?;
    CONTROL_LETTERS.get(index).map(|&b| char::from(b))
}

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
    let word = &text[token.start..token.end];
    // "eñe" names Ñ, which is never a control letter; folded it would read as "ene" (N).
    if word.contains(['ñ', 'Ñ']) {
        return word.to_lowercase();
    }
    let mut folded = String::new();
    fold_word(word, &mut folded);
    folded
}

/// A DNI control letter after the digits: "Z", "-Z", ", letra zeta", "guion equis", "letra i griega",
/// "uve doble". Returns the letter and the byte end of what names it.
pub(super) fn control_letter_after(
    text: &str,
    tokens: &[Token],
    next: usize,
) -> Option<(char, usize)> {
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
pub(super) fn nie_prefix_before(text: &str, tokens: &[Token], first: usize) -> Option<(u8, usize)> {
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
    use crate::redact::Pii;
    use crate::redact::tests::{kept, kinds, redact};

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
        // Read out, eight digits with a wrong letter are more likely a misheard DNI than a
        // reference: hidden all the same (numbers.rs, `classify_run`).
        assert_eq!(
            redact("uno dos tres cuatro cinco seis siete ocho letra a"),
            "[DNI]"
        );
        assert_eq!(
            redact("cero cero cero cero cero cero uno dos eñe"),
            "[DNI] eñe"
        );
        // "de" is only a letter after "letra".
        kept("pagó 1234 5678 de más");
    }
}
