//! Text normalisation for Spanish and English, so that a transcript and a reference (or a script phrase)
//! are compared on what was said, not on how Whisper or a scriptwriter chose to write it.
//!
//! `words` is the one pipeline: fold case and Latin diacritics → split into words (keeping "don't" whole
//! and "1.500" / "3,5" as one numeral) → drop hesitation fillers → turn spelled-out numbers into digits.
//! Digits are the canonical form because Whisper writes numbers either way, often within one call.
//!
//! Everything here is total: any `&str` — empty, emoji, lone punctuation, other scripts — gives a result.

/// The languages whose number words and fillers are known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Es,
    En,
}

impl Lang {
    /// Reads the primary subtag of a language tag or locale: "es", "es-MX", "en_US", "en_GB.UTF-8", "spa",
    /// and Whisper's full names ("spanish").
    pub fn from_code(code: &str) -> Option<Lang> {
        let primary = code.trim().split(['-', '_', '.', '@']).next()?;
        match primary.to_ascii_lowercase().as_str() {
            "es" | "spa" | "spanish" => Some(Lang::Es),
            "en" | "eng" | "english" => Some(Lang::En),
            _ => None,
        }
    }

    /// Hesitations, written with repeated letters collapsed so that "eeeh" and "mmmm" match too.
    fn fillers(self) -> &'static [&'static str] {
        match self {
            Lang::Es => &["eh", "ehm", "em", "m", "hm", "ah"],
            Lang::En => &["uh", "um", "uhm", "er", "erm", "hm", "m", "ah"],
        }
    }

    fn number_word(self, word: &str) -> Option<NumberWord> {
        match self {
            Lang::Es => spanish_number_word(word),
            Lang::En => english_number_word(word),
        }
    }
}

/// The languages whose rules apply: both when the language is unknown.
fn langs(lang: Option<Lang>) -> &'static [Lang] {
    match lang {
        Some(Lang::Es) => &[Lang::Es],
        Some(Lang::En) => &[Lang::En],
        None => &[Lang::Es, Lang::En],
    }
}

/// Lower-case, diacritics folded, punctuation dropped, fillers dropped, numbers spelled out in words turned
/// into digits.
///
/// `lang = None` applies both languages' number words and fillers, except that a word which is a number in
/// one language and an everyday word in the other ("once", "ten") becomes a digit only inside a longer
/// number; pass the language when it is known.
pub fn words(text: &str, lang: Option<Lang>) -> Vec<String> {
    let tokens: Vec<String> = tokenize(text)
        .into_iter()
        .filter(|token| !is_filler(token, lang))
        .collect();
    numbers_to_digits(&tokens, lang)
}

/// `words` joined by single spaces.
pub fn normalize(text: &str, lang: Option<Lang>) -> String {
    words(text, lang).join(" ")
}

/// Word error rate of `hypothesis` against `reference` after normalisation: (S + D + I) / N, N being the
/// number of reference words, by word-level Levenshtein distance. 0/0 is 0 and x/0 is 1 for x > 0, so an
/// empty reference still scores a hypothesis that invents speech. Insertions can take it above 1.
pub fn wer(reference: &str, hypothesis: &str, lang: Option<Lang>) -> f64 {
    let reference = words(reference, lang);
    let hypothesis = words(hypothesis, lang);
    let edits = edit_distance(&reference, &hypothesis);
    match reference.len() {
        0 if edits == 0 => 0.0,
        0 => 1.0,
        n => edits as f64 / n as f64,
    }
}

fn edit_distance<T: PartialEq>(a: &[T], b: &[T]) -> usize {
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, x) in a.iter().enumerate() {
        current[0] = i + 1;
        for (j, y) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(x != y);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

// ---------------------------------------------------------------------------------------------------------
// Folding and tokenising

/// Appends `text` lower-cased with Latin diacritics folded by table (no Unicode normalisation tables are
/// available): "Núñez" → "nunez", "Straße" → "strasse". Public so that redaction reads a word the way
/// comparison does.
pub fn fold_into(text: &str, folded: &mut impl Extend<char>) {
    for c in text.chars().flat_map(char::to_lowercase) {
        match c {
            // Combining marks: decomposed input ("e" + U+0301), and what 'İ' lower-cases to.
            '\u{300}'..='\u{36f}' => {}
            'ß' => folded.extend(['s', 's']),
            'œ' => folded.extend(['o', 'e']),
            'æ' => folded.extend(['a', 'e']),
            c => folded.extend([fold_letter(c)]),
        }
    }
}

/// As characters: the tokenizer looks at each one's neighbours.
fn fold(text: &str) -> Vec<char> {
    let mut folded = Vec::with_capacity(text.len());
    fold_into(text, &mut folded);
    folded
}

fn fold_letter(c: char) -> char {
    match c {
        'á' | 'à' | 'â' | 'ä' | 'ã' | 'å' => 'a',
        'é' | 'è' | 'ê' | 'ë' => 'e',
        'í' | 'ì' | 'î' | 'ï' => 'i',
        'ó' | 'ò' | 'ô' | 'ö' | 'õ' => 'o',
        'ú' | 'ù' | 'û' | 'ü' => 'u',
        'ñ' => 'n',
        'ç' => 'c',
        c => c,
    }
}

fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '’' | 'ʼ' | '‘')
}

fn is_numeral_mark(c: char) -> bool {
    matches!(c, '.' | ',')
}

/// Splits folded text into words. Apostrophes between letters vanish ("don't" → "dont") because ASR and
/// references disagree on them; '.' and ',' between digits stay for `split_numeral` to interpret.
fn tokenize(text: &str) -> Vec<String> {
    let chars = fold(text);
    let between = |i: usize, test: fn(&char) -> bool| {
        let prev = i.checked_sub(1).and_then(|p| chars.get(p));
        let next = chars.get(i + 1);
        prev.is_some_and(test) && next.is_some_and(test)
    };

    let mut tokens = Vec::new();
    let mut token = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_alphanumeric() {
            token.push(c);
        } else if is_apostrophe(c) && between(i, |c| c.is_alphabetic()) {
            continue;
        } else if is_numeral_mark(c) && between(i, char::is_ascii_digit) {
            token.push(c);
        } else if !token.is_empty() {
            tokens.extend(split_numeral(&token));
            token.clear();
        }
    }
    if !token.is_empty() {
        tokens.extend(split_numeral(&token));
    }
    tokens
}

/// Interprets the marks inside a written numeral. Thousands separators go ("1.500", "1,500" → "1500": only
/// when every later group has exactly three digits), a single other mark is a decimal point ("3,5" →
/// "3.5"), "12.345,67" is both; anything else ("602.123.45", a date) is a sequence of groups read out.
fn split_numeral(token: &str) -> Vec<String> {
    if !token.contains(is_numeral_mark) {
        return vec![token.to_owned()];
    }
    let groups: Vec<&str> = token.split(is_numeral_mark).collect();
    if !token
        .chars()
        .all(|c| c.is_ascii_digit() || is_numeral_mark(c))
    {
        // A mark between digits inside a word-like token ("a1.5"): no numeral to read, just split.
        return groups.into_iter().map(str::to_owned).collect();
    }
    let marks: Vec<char> = token.chars().filter(|&c| is_numeral_mark(c)).collect();
    let all_same = |marks: &[char]| marks.windows(2).all(|pair| pair[0] == pair[1]);

    if all_same(&marks) && is_thousands(&groups) {
        return vec![groups.concat()];
    }
    if let [whole, fraction] = groups[..] {
        return vec![format!("{whole}.{fraction}")];
    }
    if let Some((fraction, whole)) = groups.split_last()
        && let Some((last_mark, whole_marks)) = marks.split_last()
        && all_same(whole_marks)
        && whole_marks.first() != Some(last_mark)
        && is_thousands(whole)
    {
        return vec![format!("{}.{fraction}", whole.concat())];
    }
    groups.into_iter().map(str::to_owned).collect()
}

/// At least one separator, a leading group of one to three digits, every later group exactly three.
fn is_thousands(groups: &[&str]) -> bool {
    match groups.split_first() {
        Some((first, rest)) => {
            !rest.is_empty() && (1..=3).contains(&first.len()) && rest.iter().all(|g| g.len() == 3)
        }
        None => false,
    }
}

// ---------------------------------------------------------------------------------------------------------
// Fillers

/// A whole-word hesitation. A single letter is never one: a lone "m" is more likely metres than "mmm".
fn is_filler(word: &str, lang: Option<Lang>) -> bool {
    if word.chars().nth(1).is_none() {
        return false;
    }
    let collapsed = collapse_repeats(word);
    langs(lang)
        .iter()
        .any(|l| l.fillers().contains(&collapsed.as_str()))
}

fn collapse_repeats(word: &str) -> String {
    let mut collapsed = String::with_capacity(word.len());
    for c in word.chars() {
        if !collapsed.ends_with(c) {
            collapsed.push(c);
        }
    }
    collapsed
}

// ---------------------------------------------------------------------------------------------------------
// Number words

/// What a word contributes to a spelled-out number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NumberWord {
    /// Always a number of its own: nothing is built on top of zero.
    Zero,
    /// Adds to the group under construction: units, teens, tens, Spanish hundreds ("doscientos").
    Value(u64),
    /// English "hundred", which multiplies the group under construction ("nineteen hundred").
    Hundred,
    /// Thousand, million…; `plural` words ("millones") mean "millions" unless a number precedes them.
    Scale { value: u64, plural: bool },
    /// "y" / "and": part of the number only when another number word follows.
    And,
    /// "un" / "una" / "a": more often an article than a number; `advance` says when it is one.
    Article(Lang),
}

const fn scale(value: u64) -> NumberWord {
    NumberWord::Scale {
        value,
        plural: false,
    }
}

const fn plural_scale(value: u64) -> NumberWord {
    NumberWord::Scale {
        value,
        plural: true,
    }
}

/// Number words that are everyday words in the other language ("once" = 11, "ten" = imperative of tener).
const AMBIGUOUS_WITHOUT_LANG: [&str; 2] = ["once", "ten"];

const ES_UP_TO_29: [&str; 30] = [
    "cero",
    "uno",
    "dos",
    "tres",
    "cuatro",
    "cinco",
    "seis",
    "siete",
    "ocho",
    "nueve",
    "diez",
    "once",
    "doce",
    "trece",
    "catorce",
    "quince",
    "dieciseis",
    "diecisiete",
    "dieciocho",
    "diecinueve",
    "veinte",
    "veintiuno",
    "veintidos",
    "veintitres",
    "veinticuatro",
    "veinticinco",
    "veintiseis",
    "veintisiete",
    "veintiocho",
    "veintinueve",
];
const ES_TENS_FROM_30: [&str; 7] = [
    "treinta",
    "cuarenta",
    "cincuenta",
    "sesenta",
    "setenta",
    "ochenta",
    "noventa",
];
const ES_HUNDREDS_FROM_200: [&str; 8] = [
    "doscient",
    "trescient",
    "cuatrocient",
    "quinient",
    "seiscient",
    "setecient",
    "ochocient",
    "novecient",
];

const EN_UP_TO_19: [&str; 20] = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
];
const EN_TENS_FROM_20: [&str; 8] = [
    "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
];

fn position(table: &[&str], word: &str) -> Option<u64> {
    let index = table.iter().position(|&entry| entry == word)?;
    u64::try_from(index).ok()
}

/// Words are already folded, so "veintidós" arrives as "veintidos" and "millón" as "millon".
fn spanish_number_word(word: &str) -> Option<NumberWord> {
    use NumberWord::*;
    let kind = match word {
        "cero" => Zero,
        "un" | "una" => Article(Lang::Es),
        "veintiun" | "veintiuna" => Value(21),
        "cien" | "ciento" => Value(100),
        "mil" => scale(1_000),
        "millon" => scale(1_000_000),
        "millones" => plural_scale(1_000_000),
        "y" => And,
        _ => {
            if let Some(n) = position(&ES_UP_TO_29, word) {
                Value(n)
            } else if let Some(n) = position(&ES_TENS_FROM_30, word) {
                Value(30 + 10 * n)
            } else {
                // Hundreds agree in gender: "doscientos euros", "doscientas libras".
                let stem = word
                    .strip_suffix("os")
                    .or_else(|| word.strip_suffix("as"))?;
                Value(200 + 100 * position(&ES_HUNDREDS_FROM_200, stem)?)
            }
        }
    };
    Some(kind)
}

fn english_number_word(word: &str) -> Option<NumberWord> {
    use NumberWord::*;
    let kind = match word {
        "zero" => Zero,
        "a" => Article(Lang::En),
        "hundred" => Hundred,
        "thousand" => scale(1_000),
        "million" => scale(1_000_000),
        "billion" => scale(1_000_000_000),
        "and" => And,
        _ => {
            if let Some(n) = position(&EN_UP_TO_19, word) {
                Value(n)
            } else {
                Value(20 + 10 * position(&EN_TENS_FROM_20, word)?)
            }
        }
    };
    Some(kind)
}

fn number_word(word: &str, lang: Option<Lang>) -> Option<NumberWord> {
    langs(lang).iter().find_map(|l| l.number_word(word))
}

/// A numeral Whisper wrote before a scale word ("2 mil", "300 thousand"), so it can join that word.
fn literal(token: &str) -> Option<u64> {
    if token.is_empty() || !token.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    token.parse().ok().filter(|n| (1..=999).contains(n))
}

/// Replaces each spelled-out number with its digits; every other token passes through.
fn numbers_to_digits(tokens: &[String], lang: Option<Lang>) -> Vec<String> {
    let mut out = Vec::with_capacity(tokens.len());
    let mut rest = tokens;
    while let Some(first) = rest.first() {
        let (token, used) = match leading_number(rest, lang) {
            Some((value, used)) => (value.to_string(), used),
            None => (first.clone(), 1),
        };
        out.push(token);
        rest = rest.get(used..).unwrap_or_default();
    }
    out
}

/// The longest number spelled at the start of `tokens`, with how many tokens it took.
///
/// Words join only while the result is a well-formed number, so a run of units read one by one (a phone
/// or card number: "seis cero dos tres") comes out as one number per word, as people write those.
fn leading_number(tokens: &[String], lang: Option<Lang>) -> Option<(u64, usize)> {
    let first = tokens.first()?;
    if number_word(first, lang) == Some(NumberWord::Zero) {
        return Some((0, 1));
    }
    let mut number = Accumulator::default();
    let mut used = 0;
    while let Some((next, taken)) = advance(number, tokens.get(used..).unwrap_or_default(), lang) {
        number = next;
        used += taken;
    }
    let lone_ambiguous =
        used == 1 && lang.is_none() && AMBIGUOUS_WITHOUT_LANG.contains(&first.as_str());
    (used > 0 && !lone_ambiguous).then(|| (number.value(), used))
}

/// Extends `number` with the words at the start of `rest`, if they continue it; returns the new number
/// and how many tokens it took.
fn advance(
    number: Accumulator,
    rest: &[String],
    lang: Option<Lang>,
) -> Option<(Accumulator, usize)> {
    let first = rest.first()?;
    let second = || rest.get(1).and_then(|t| number_word(t, lang));

    if let Some(n) = literal(first) {
        let scaled = match (number.is_empty(), second()?) {
            (true, NumberWord::Hundred) => number.add(n)?.hundred()?,
            (true, NumberWord::Scale { value, plural }) => number.add(n)?.scale(value, plural)?,
            _ => return None,
        };
        return Some((scaled, 2));
    }

    match number_word(first, lang)? {
        NumberWord::Zero => None,
        NumberWord::Value(n) => Some((number.add(n)?, 1)),
        NumberWord::Hundred => Some((number.hundred()?, 1)),
        NumberWord::Scale { value, plural } => Some((number.scale(value, plural)?, 1)),
        NumberWord::And => {
            // "treinta y cinco", "treinta y una", "two thousand and five"; otherwise "y" is a word.
            let n = match second()? {
                NumberWord::Value(n) => n,
                NumberWord::Article(Lang::Es) => 1,
                _ => return None,
            };
            if number.is_empty() {
                return None;
            }
            Some((number.add(n)?, 2))
        }
        NumberWord::Article(article_lang) => {
            // "un millón", "a hundred": an article is one when a scale word follows it…
            let before_scale = number.is_empty()
                && rest
                    .get(1)
                    .and_then(|t| number_word(t, Some(article_lang)))
                    .is_some_and(|w| matches!(w, NumberWord::Hundred | NumberWord::Scale { .. }));
            // …and in Spanish after a round hundred ("ciento un euros"); "veinte una" is no number.
            let after_hundred =
                article_lang == Lang::Es && number.group > 0 && number.group.is_multiple_of(100);
            if !(before_scale || after_hundred) {
                return None;
            }
            Some((number.add(1)?, 1))
        }
    }
}

/// A number being read word by word: `total` holds the groups already closed by a scale word, `group` the
/// part below the smallest scale so far.
#[derive(Debug, Clone, Copy, Default)]
struct Accumulator {
    total: u64,
    group: u64,
    last_scale: Option<u64>,
}

impl Accumulator {
    /// Zero is never accumulated (it is a number of its own), so an empty number is a zero value.
    fn is_empty(self) -> bool {
        self.total == 0 && self.group == 0
    }

    fn value(self) -> u64 {
        self.total.saturating_add(self.group)
    }

    /// `n` must fit in the places the group has not filled yet: "veinte" + "cinco", "ciento" + "veinte",
    /// but not "dos" + "tres" (digits read one by one) nor "veinte" + "quince".
    fn add(self, n: u64) -> Option<Self> {
        if self.group > 0 && n >= free_places(self.group) {
            return None;
        }
        Some(Self {
            group: self.group.checked_add(n)?,
            ..self
        })
    }

    /// "hundred", "three hundred", "nineteen hundred"; not "thousand hundred" nor "hundred hundred".
    fn hundred(self) -> Option<Self> {
        let group = match self.group {
            0 if self.total == 0 => 100,
            g @ 1..=99 => g * 100,
            _ => return None,
        };
        Some(Self { group, ..self })
    }

    fn scale(self, scale: u64, plural: bool) -> Option<Self> {
        let total = if self.group > 0 {
            // Scales fall: "dos millones trescientos mil"; a second "mil" starts another number.
            if self.last_scale.is_some_and(|last| scale >= last) {
                return None;
            }
            self.group.checked_mul(scale)?.checked_add(self.total)?
        } else if self.total == 0 {
            // A bare "mil" is a thousand; a bare "millones" is "millions", not a number.
            if plural {
                return None;
            }
            scale
        } else if self.total < scale {
            // "mil millones", "two thousand million": the scale multiplies everything so far.
            self.total.checked_mul(scale)?
        } else {
            return None;
        };
        Some(Self {
            total,
            group: 0,
            last_scale: Some(scale),
        })
    }
}

/// 10 to the number of trailing zeros: the values that still fit below the group's last filled place.
fn free_places(group: u64) -> u64 {
    let mut places = 1;
    let mut rest = group;
    while rest > 0 && rest.is_multiple_of(10) {
        places *= 10;
        rest /= 10;
    }
    places
}

#[cfg(test)]
mod tests {
    use super::*;

    const ES: Option<Lang> = Some(Lang::Es);
    const EN: Option<Lang> = Some(Lang::En);

    fn es(text: &str) -> String {
        normalize(text, ES)
    }

    fn en(text: &str) -> String {
        normalize(text, EN)
    }

    #[test]
    fn lang_codes() {
        for code in [
            "es",
            "ES",
            "es-MX",
            "es_ES",
            "es_ES.UTF-8",
            " spa ",
            "spanish",
        ] {
            assert_eq!(Lang::from_code(code), Some(Lang::Es), "{code}");
        }
        for code in ["en", "en-GB", "en_US", "eng", "English"] {
            assert_eq!(Lang::from_code(code), Some(Lang::En), "{code}");
        }
        for code in ["", "-", "fr", "esp", "e", "🙂"] {
            assert_eq!(Lang::from_code(code), None, "{code}");
        }
    }

    #[test]
    fn case_punctuation_and_diacritics() {
        assert_eq!(es("¿En qué le puedo ayudar?"), "en que le puedo ayudar");
        assert_eq!(
            es("Le atiende María, ¿me confirma su DNI?"),
            "le atiende maria me confirma su dni"
        );
        assert_eq!(es("¡Muchas gracias!"), "muchas gracias");
        assert_eq!(words("contraseña", ES), words("contrasena", ES));
        assert_eq!(
            es("ÁÀÂÄÃÅ ÉÈÊË ÍÌÎÏ ÓÒÔÖÕ ÚÙÛÜ Ñ Ç"),
            "aaaaaa eeee iiii ooooo uuuu n c"
        );
        assert_eq!(
            normalize("Straße Œuvre Æther", None),
            "strasse oeuvre aether"
        );
    }

    #[test]
    fn fold_into_appends_to_a_string_or_a_char_buffer() {
        let mut text = String::from("ya: ");
        fold_into("Núñez ÇA Straße E\u{301}", &mut text);
        assert_eq!(text, "ya: nunez ca strasse e");
        let mut chars = Vec::new();
        fold_into("Ñandú", &mut chars);
        assert_eq!(chars, ['n', 'a', 'n', 'd', 'u']);
    }

    #[test]
    fn decomposed_accents_fold_like_precomposed() {
        assert_eq!(es("Mari\u{301}a Nun\u{303}ez"), "maria nunez");
        assert_eq!(normalize("İstanbul", None), "istanbul");
    }

    #[test]
    fn apostrophes_join_english_words() {
        assert_eq!(
            en("Don't worry, what's the problem?"),
            "dont worry whats the problem"
        );
        assert_eq!(en("I’m sorry, it’s O'Brien"), "im sorry its obrien");
        assert_eq!(en("'quoted' words' end"), "quoted words end");
    }

    #[test]
    fn other_punctuation_separates_or_vanishes() {
        assert_eq!(
            es("«Bienvenido» a \"Telco\"… un momento—gracias – vale"),
            "bienvenido a telco un momento gracias vale"
        );
        assert_eq!(es("correo-e: ana@mail.com"), "correo e ana mail com");
        assert_eq!(es("50% de descuento, 25€ o $25"), "50 de descuento 25 o 25");
        for lone in ["", " ", "¿?", "...", "—", "«»", "'", "-", "🙂", "👍🏽 🎉"] {
            assert!(words(lone, None).is_empty(), "{lone:?}");
        }
    }

    #[test]
    fn spanish_numbers_up_to_hundreds() {
        assert_eq!(es("cero"), "0");
        assert_eq!(es("uno"), "1");
        assert_eq!(es("quince"), "15");
        assert_eq!(es("dieciséis"), "16");
        assert_eq!(es("veinte"), "20");
        assert_eq!(es("veintiún"), "21");
        assert_eq!(es("veintiuna llamadas"), "21 llamadas");
        assert_eq!(es("veintidós"), "22");
        assert_eq!(es("treinta y cinco euros"), "35 euros");
        assert_eq!(es("noventa y nueve"), "99");
        assert_eq!(es("cien"), "100");
        assert_eq!(es("ciento veinte"), "120");
        assert_eq!(es("doscientas libras"), "200 libras");
        assert_eq!(es("quinientos cincuenta y cinco"), "555");
        assert_eq!(es("novecientos noventa y nueve"), "999");
    }

    #[test]
    fn spanish_numbers_with_scales() {
        assert_eq!(es("mil"), "1000");
        assert_eq!(es("mil quinientos euros"), "1500 euros");
        assert_eq!(es("en dos mil veinticinco"), "en 2025");
        assert_eq!(es("cien mil"), "100000");
        assert_eq!(es("un millón de euros"), "1000000 de euros");
        assert_eq!(es("tres millones doscientos mil"), "3200000");
        assert_eq!(es("mil millones"), "1000000000");
        assert_eq!(es("treinta y un mil"), "31000");
    }

    #[test]
    fn spanish_articles_stay_words() {
        assert_eq!(es("Tengo una consulta"), "tengo una consulta");
        assert_eq!(es("un momento, por favor"), "un momento por favor");
        assert_eq!(es("solo uno"), "solo 1");
        assert_eq!(es("treinta y una"), "31");
        assert_eq!(es("ciento un euros"), "101 euros");
        assert_eq!(es("mil y una noches"), "1001 noches");
        assert_eq!(es("veinte, una consulta"), "20 una consulta");
    }

    #[test]
    fn y_joins_only_inside_a_number() {
        assert_eq!(es("cinco y seis"), "5 y 6");
        assert_eq!(es("nombre y apellidos"), "nombre y apellidos");
        assert_eq!(es("treinta y"), "30 y");
        assert_eq!(en("rock and roll"), "rock and roll");
        assert_eq!(en("one and two"), "1 and 2");
    }

    #[test]
    fn english_numbers() {
        assert_eq!(en("twenty-five dollars"), "25 dollars");
        assert_eq!(en("twenty five dollars"), "25 dollars");
        assert_eq!(en("It's one hundred and twenty"), "its 120");
        assert_eq!(en("two thousand and five"), "2005");
        assert_eq!(en("a hundred"), "100");
        assert_eq!(en("a thousand pounds"), "1000 pounds");
        assert_eq!(en("nineteen hundred eighty-four"), "1984");
        assert_eq!(en("three million four hundred thousand"), "3400000");
        assert_eq!(en("zero"), "0");
        assert_eq!(en("one moment please"), "1 moment please");
    }

    #[test]
    fn english_articles_and_oh_stay_words() {
        assert_eq!(en("a moment"), "a moment");
        assert_eq!(en("a billing question"), "a billing question");
        assert_eq!(en("oh four five"), "oh 4 5");
    }

    #[test]
    fn digits_read_one_by_one_stay_one_per_word() {
        assert_eq!(
            es("Su número es el seis, cero, dos, tres"),
            "su numero es el 6 0 2 3"
        );
        assert_eq!(en("four five six"), "4 5 6");
        assert_eq!(words("1 2 3 4", ES), words("uno dos tres cuatro", ES));
        assert_eq!(words("1 2 3 4", EN), words("one two three four", EN));
        assert_eq!(es("cuarenta y cinco sesenta y dos"), "45 62");
        assert_eq!(es("veinte quince"), "20 15");
        assert_eq!(es("dos mil mil"), "2000 1000");
    }

    #[test]
    fn written_numerals() {
        assert_eq!(es("Por favor marque 1."), "por favor marque 1");
        assert_eq!(es("1.500 euros"), "1500 euros");
        assert_eq!(en("1,500 dollars"), "1500 dollars");
        assert_eq!(es("1.500.000"), "1500000");
        assert_eq!(es("3,5 gigas"), "3.5 gigas");
        assert_eq!(en("3.5 gigs"), "3.5 gigs");
        assert_eq!(es("12.345,67"), "12345.67");
        assert_eq!(en("12,345.67"), "12345.67");
        assert_eq!(es("1, 2, 3"), "1 2 3");
        assert_eq!(es("602-123-456"), "602 123 456");
        assert_eq!(es("602 12 34 56"), "602 12 34 56");
        assert_eq!(es("91.234.56.78"), "91 234 56 78");
        assert_eq!(es("el 12/05/2025"), "el 12 05 2025");
        assert_eq!(es("DNI 12345678Z"), "dni 12345678z");
    }

    #[test]
    fn written_numerals_join_scale_words() {
        assert_eq!(es("2 mil euros"), "2000 euros");
        assert_eq!(es("300 millones"), "300000000");
        assert_eq!(en("5 hundred"), "500");
        assert_eq!(es("2 y 3"), "2 y 3");
        assert_eq!(es("1500 mil"), "1500 1000");
    }

    #[test]
    fn fillers_are_dropped_as_whole_words() {
        assert_eq!(es("Eh, bueno, este, mmm, vale"), "bueno este vale");
        assert_eq!(es("eeeh ehm em ah hmm mm"), "");
        assert_eq!(en("Um, I, uh, think, er, erm, umm, uhm"), "i think");
        assert_eq!(es("ahora mismo, hemos"), "ahora mismo hemos");
        assert_eq!(en("umbrella hmmm ermine"), "umbrella ermine");
        assert_eq!(es("5 m"), "5 m");
        assert_eq!(es("um"), "um");
        assert_eq!(normalize("um eh", None), "");
    }

    #[test]
    fn fillers_do_not_break_numbers() {
        assert_eq!(es("treinta y, eh, cinco"), "35");
        assert_eq!(en("two hundred, um, and ten"), "210");
    }

    #[test]
    fn words_ambiguous_across_languages_need_context_without_lang() {
        assert_eq!(normalize("I called once", None), "i called once");
        assert_eq!(normalize("ten cuidado", None), "ten cuidado");
        assert_eq!(normalize("once mil", None), "11000");
        assert_eq!(normalize("ten thousand", None), "10000");
        assert_eq!(es("once"), "11");
        assert_eq!(en("ten"), "10");
        assert_eq!(es("ten cuidado"), "ten cuidado");
        assert_eq!(en("once more"), "once more");
    }

    #[test]
    fn both_languages_apply_without_lang() {
        assert_eq!(normalize("veintiuno and twenty-one", None), "21 and 21");
        assert_eq!(normalize("a mil metros", None), "a 1000 metros");
    }

    #[test]
    fn wer_known_values() {
        assert_eq!(wer("buenos días", "Buenos días.", ES), 0.0);
        assert_eq!(wer("por favor marque uno", "Por favor marque 1", ES), 0.0);
        assert_eq!(
            wer("le atiende maría gracias", "le atiende marta gracias", ES),
            0.25
        );
        assert_eq!(
            wer("le atiende maría gracias", "le atiende gracias", ES),
            0.25
        );
        assert_eq!(
            wer(
                "le atiende maría gracias",
                "eh le atiende pues maría gracias",
                ES
            ),
            0.25
        );
        assert_eq!(wer("hello there", "", EN), 1.0);
        assert_eq!(wer("hi", "hi there my friend", EN), 3.0);
        // thank→thanks, "you" deleted, "us" inserted.
        assert_eq!(
            wer("thank you for calling", "thanks for calling us", EN),
            0.75
        );
    }

    #[test]
    fn wer_of_empty_reference() {
        assert_eq!(wer("", "", None), 0.0);
        assert_eq!(wer("¿?", "eh, mmm", ES), 0.0);
        assert_eq!(wer("", "hola", ES), 1.0);
    }

    #[test]
    fn edit_distance_counts_each_operation_once() {
        assert_eq!(edit_distance::<u8>(&[], &[]), 0);
        assert_eq!(edit_distance(&[1, 2, 3], &[1, 2, 3]), 0);
        assert_eq!(edit_distance(&[1, 2, 3], &[1, 9, 3]), 1);
        assert_eq!(edit_distance(&[1, 2, 3], &[2, 3]), 1);
        assert_eq!(edit_distance(&[1, 2, 3], &[0, 1, 2, 3]), 1);
        assert_eq!(edit_distance(&[1, 2, 3], &[3, 2, 1]), 2);
        assert_eq!(edit_distance(&[1, 2], &[7, 8, 9]), 3);
    }

    /// Arbitrary text: random code points, plus number words, numerals and marks that hit the parser.
    fn arbitrary_texts(count: usize) -> Vec<String> {
        const PIECES: [&str; 30] = [
            " ",
            ",",
            ".",
            "'",
            "-",
            "¿",
            "…",
            "\u{301}",
            "🙂",
            "👩‍👩‍👧",
            "ẞ",
            "İ",
            "y",
            "and",
            "a",
            "un",
            "mil",
            "millones",
            "hundred",
            "billion",
            "cero",
            "once",
            "ten",
            "veinte",
            "cinco",
            "1",
            "999",
            "1.500",
            "3,5",
            "mmm",
        ];
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            seed >> 33
        };
        (0..count)
            .map(|_| {
                let len = next() % 24;
                (0..len)
                    .map(|_| match next() % 3 {
                        0 => char::from_u32((next() % 0x1_0000) as u32)
                            .unwrap_or('?')
                            .to_string(),
                        1 => PIECES[(next() % PIECES.len() as u64) as usize].to_owned(),
                        _ => format!(" {} ", PIECES[(next() % PIECES.len() as u64) as usize]),
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn arbitrary_input_never_panics_and_normalises_to_a_fixed_point() {
        for text in arbitrary_texts(3_000) {
            for lang in [ES, EN, None] {
                let tokens = words(&text, lang);
                assert!(
                    tokens
                        .iter()
                        .all(|t| !t.is_empty() && !t.contains(char::is_whitespace)),
                    "{text:?} → {tokens:?}"
                );
                let once = tokens.join(" ");
                assert_eq!(normalize(&once, lang), once, "{text:?}");
                assert_eq!(wer(&text, &once, lang), 0.0, "{text:?}");
                let against_nothing = wer(&text, "", lang);
                assert!(against_nothing == 0.0 || against_nothing == 1.0, "{text:?}");
            }
        }
    }

    #[test]
    fn huge_numbers_do_not_overflow() {
        let text = "novecientos noventa y nueve mil millones ".repeat(20) + &"billion ".repeat(20);
        assert!(!normalize(&text, None).is_empty());
        assert_eq!(en("nine hundred ninety-nine billion"), "999000000000");
    }
}

/// Spanish or English, by their commonest function words — enough to choose a script's phrasings
/// for a text transcript that does not say its language. `None` when neither clearly leads.
pub fn guess_language(text: &str) -> Option<Lang> {
    const ES: &[&str] = &[
        "de", "que", "el", "la", "y", "en", "los", "las", "por", "con", "para", "su", "es", "una",
        "le", "lo", "se", "del", "al", "usted", "muy", "pero", "gracias",
    ];
    const EN: &[&str] = &[
        "the", "and", "to", "you", "of", "is", "your", "for", "it", "that", "this", "with", "can",
        "have", "be", "are", "will", "thank", "please", "my", "we",
    ];
    let (mut es, mut en) = (0usize, 0usize);
    for w in words(text, None) {
        es += usize::from(ES.contains(&w.as_str()));
        en += usize::from(EN.contains(&w.as_str()));
    }
    match es.cmp(&en) {
        _ if es + en < 3 => None,
        std::cmp::Ordering::Greater if es >= 2 * en => Some(Lang::Es),
        std::cmp::Ordering::Less if en >= 2 * es => Some(Lang::En),
        _ => None,
    }
}

#[cfg(test)]
mod language_tests {
    use super::*;

    #[test]
    fn function_words_tell_spanish_from_english() {
        assert_eq!(
            guess_language(
                "Gracias por llamar a Acme Seguros, le atiende Ana. ¿En qué puedo ayudarle?"
            ),
            Some(Lang::Es)
        );
        assert_eq!(
            guess_language(
                "Thank you for calling, this is Ana. How can I help you with your policy?"
            ),
            Some(Lang::En)
        );
        assert_eq!(guess_language("OK"), None);
        assert_eq!(guess_language(""), None);
    }
}
