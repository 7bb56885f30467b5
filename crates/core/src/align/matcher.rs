//! Fuzzy phrase matching over normalised words, built to survive real ASR: a phrase is found where a
//! stretch of the transcript can be turned into it with few word edits, and a misheard word
//! ("atenticado" for "autenticado") costs only as much as it differs.
//!
//! The search is a semi-global alignment: the whole phrase against any stretch of the transcript.
//! Words are interned once; word-to-word similarity is computed at most once per pair per call and
//! read from a dense table inside the dynamic programme, which keeps a 12-step script against a
//! five-minute call well under a millisecond.

use crate::normalize::{self, Lang};
use std::collections::HashMap;

/// One element of a compiled phrase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    Word(u32),
    /// `{name}`: one to three words of anything.
    Slot,
}

#[derive(Debug, Clone)]
pub(crate) struct Phrase {
    pub parts: Vec<Part>,
    /// The phrase as the brand wrote it, for reports.
    pub text: String,
}

impl Phrase {
    fn weight(&self) -> f32 {
        self.parts.len() as f32
    }
}

/// Words seen in the script, interned; the ids of a call's words continue past them.
#[derive(Debug, Clone, Default)]
pub(crate) struct Vocabulary {
    ids: HashMap<String, u32>,
    words: Vec<String>,
    /// Word ids by length in characters: only words of similar length can be misheard for each other.
    by_length: Vec<Vec<u32>>,
}

impl Vocabulary {
    pub fn intern(&mut self, word: &str) -> u32 {
        if let Some(&id) = self.ids.get(word) {
            return id;
        }
        let id = self.words.len() as u32;
        self.ids.insert(word.to_string(), id);
        self.words.push(word.to_string());
        let length = word.chars().count();
        if self.by_length.len() <= length {
            self.by_length.resize(length + 1, Vec::new());
        }
        self.by_length[length].push(id);
        id
    }

    pub fn word(&self, id: u32) -> &str {
        &self.words[id as usize]
    }

    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// Compiles a phrase; `{slot}`s become wildcards, everything else is normalised like transcripts.
    pub fn phrase(&mut self, text: &str, lang: Option<Lang>) -> Phrase {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            let (before, after) = rest.split_at(open);
            self.push_words(before, lang, &mut parts);
            match after.find('}') {
                Some(close) => {
                    parts.push(Part::Slot);
                    rest = &after[close + 1..];
                }
                None => {
                    rest = &after[1..];
                }
            }
        }
        self.push_words(rest, lang, &mut parts);
        Phrase {
            parts,
            text: text.to_string(),
        }
    }

    fn push_words(&mut self, text: &str, lang: Option<Lang>, parts: &mut Vec<Part>) {
        for w in normalize::words(text, lang) {
            parts.push(Part::Word(self.intern(&w)));
        }
    }
}

/// How alike two normalised words are, 0..1. Short words and numbers must match exactly: "su" and
/// "tu", "15" and "16" differ in meaning, not in spelling.
pub(crate) fn word_similarity(a: &str, b: &str) -> f32 {
    if a == b {
        return 1.0;
    }
    // Normalised words are almost always ASCII (accents are folded), where bytes are characters.
    let ascii = a.is_ascii() && b.is_ascii();
    let (la, lb) = if ascii {
        (a.len(), b.len())
    } else {
        (a.chars().count(), b.chars().count())
    };
    if la < 4 || lb < 4 || la.min(lb) * 10 < la.max(lb) * 6 {
        return 0.0;
    }
    if a.starts_with(|c: char| c.is_ascii_digit()) || b.starts_with(|c: char| c.is_ascii_digit()) {
        return 0.0;
    }
    if ascii && !letters_allow(a.as_bytes(), b.as_bytes(), la.max(lb)) {
        return 0.0;
    }
    let s = strsim::normalized_levenshtein(a, b) as f32;
    if s >= MIN_WORD_SIMILARITY { s } else { 0.0 }
}

/// Whether the letter counts alone leave room for a similarity of `MIN_WORD_SIMILARITY`: one edit
/// changes the counts' difference by at most two, so that difference bounds the edit distance from
/// below. Most word pairs in a call fail here, before the quadratic edit distance is paid for.
fn letters_allow(a: &[u8], b: &[u8], longest: usize) -> bool {
    let mut counts = [0i8; 128];
    for &c in a {
        counts[usize::from(c & 0x7f)] += 1;
    }
    for &c in b {
        counts[usize::from(c & 0x7f)] -= 1;
    }
    let mut difference = 0usize;
    for &c in a.iter().chain(b) {
        let slot = &mut counts[usize::from(c & 0x7f)];
        difference += usize::from(slot.unsigned_abs());
        *slot = 0;
    }
    let min_edits = difference.div_ceil(2);
    1.0 - min_edits as f32 / longest as f32 >= MIN_WORD_SIMILARITY
}

/// Below this, two words are simply different.
const MIN_WORD_SIMILARITY: f32 = 0.6;
/// A word the speaker added inside the phrase costs less than one left out: people pad scripts
/// ("gracias por su llamada, de verdad") far more often than they clip them.
const INSERTION_COST: f32 = 0.5;
const DELETION_COST: f32 = 1.0;
/// A slot left empty (the agent did not say a name) costs a word.
const EMPTY_SLOT_COST: f32 = 1.0;
const MAX_SLOT_WORDS: usize = 3;

/// The script's words other than `exact` (the word itself, when the script has it) that `word`
/// resembles, with their similarity: only long words of similar length can.
fn alike_words(vocab: &Vocabulary, word: &str, exact: Option<u32>) -> Box<[(u32, f32)]> {
    let length = word.chars().count();
    // The bounds of word_similarity's length check, so no pair it could accept is skipped.
    let (shortest, longest) = ((length * 6).div_ceil(10).max(4), length * 10 / 6);
    let mut alike = Vec::new();
    for ids in vocab.by_length.iter().take(longest + 1).skip(shortest) {
        for &w in ids {
            if Some(w) != exact {
                let s = word_similarity(vocab.word(w), word);
                if s > 0.0 {
                    alike.push((w, s));
                }
            }
        }
    }
    alike.into_boxed_slice()
}

/// Each call word's `alike_words`, kept across the calls one `Aligner` aligns: a night's calls share
/// most of their words, and a word's likeness to the script's words never changes. Bounded: past
/// `MAX_WORDS` words it starts again empty.
#[derive(Debug, Default)]
pub(crate) struct WordMemo {
    words: HashMap<String, Box<[(u32, f32)]>>,
    /// `normalize::words` of a displayed word, per language (none, es, en).
    normalized: [HashMap<String, Box<[String]>>; 3],
}

impl WordMemo {
    const MAX_WORDS: usize = 100_000;

    /// `normalize::words(text, lang)`, remembered.
    pub fn normalized(&mut self, text: &str, lang: Option<Lang>) -> &[String] {
        let map = &mut self.normalized[match lang {
            None => 0,
            Some(Lang::Es) => 1,
            Some(Lang::En) => 2,
        }];
        if !map.contains_key(text) {
            if map.len() >= Self::MAX_WORDS {
                map.clear();
            }
            map.insert(
                text.to_string(),
                normalize::words(text, lang).into_boxed_slice(),
            );
        }
        &map[text]
    }
}

/// Word-to-word similarities between phrase words and call words, computed once per call for the
/// pairs that can be alike at all (equal words, or long words of similar length) and read from a
/// dense table inside the dynamic programme.
pub(crate) struct SimilarityTable {
    /// Row per phrase word id, column per call word id.
    table: Vec<f32>,
    pub(crate) columns: usize,
}

impl SimilarityTable {
    pub fn new(vocab: &Vocabulary, call_words: &[String], memo: &mut WordMemo) -> Self {
        let columns = call_words.len();
        let mut table = vec![0.0f32; vocab.len() * columns];
        for (c, word) in call_words.iter().enumerate() {
            let exact = vocab.ids.get(word).copied();
            if let Some(w) = exact {
                table[w as usize * columns + c] = 1.0;
            }
            let alike = match memo.words.get(word) {
                Some(alike) => alike,
                None => {
                    let alike = alike_words(vocab, word, exact);
                    if memo.words.len() >= WordMemo::MAX_WORDS {
                        memo.words.clear();
                    }
                    memo.words.entry(word.clone()).or_insert(alike)
                }
            };
            for &(w, s) in alike.iter() {
                table[w as usize * columns + c] = s;
            }
        }
        SimilarityTable { table, columns }
    }

    fn get(&self, phrase_word: u32, call_word: u32) -> f32 {
        self.table[phrase_word as usize * self.columns + call_word as usize]
    }
}

/// Where a phrase was found: token range `[start, end)` in the searched sequence, and how well.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Hit {
    pub start: usize,
    pub end: usize,
    pub similarity: f32,
}

/// Every local optimum of the phrase against `text` (call-word ids), best first, not overlapping,
/// at most `limit` of them, each with similarity ≥ `floor`.
///
/// Most of a call cannot hold a given phrase: a stretch with too few of its words could not reach
/// `floor` however they were arranged. Only the stretches that could are aligned, which cuts the work
/// several-fold on a long call.
pub(crate) fn find(
    phrase: &Phrase,
    text: &[u32],
    sims: &SimilarityTable,
    floor: f32,
    limit: usize,
) -> Vec<Hit> {
    let mut candidates: Vec<Hit> = Vec::new();
    for (from, to) in promising_stretches(phrase, text, sims, floor) {
        candidates.extend(
            align_stretch(phrase, &text[from..to], sims, floor)
                .into_iter()
                .map(|h| Hit {
                    start: h.start + from,
                    end: h.end + from,
                    similarity: h.similarity,
                }),
        );
    }
    // Best first; among equals the earliest and the tightest, so evidence quotes no more than it must.
    candidates.sort_by(|a, b| {
        b.similarity
            .total_cmp(&a.similarity)
            .then(a.start.cmp(&b.start))
            .then((a.end - a.start).cmp(&(b.end - b.start)))
    });
    let mut hits: Vec<Hit> = Vec::new();
    for c in candidates {
        if hits.len() == limit {
            break;
        }
        if hits.iter().all(|h| c.end <= h.start || c.start >= h.end) {
            hits.push(c);
        }
    }
    hits
}

/// The merged stretches of `text` in which the phrase could reach `floor`: every word it does not
/// find costs at least one, so a match needs `floor × parts − slots` of its words inside a span no
/// longer than the phrase plus the insertions the remaining budget allows.
fn promising_stretches(
    phrase: &Phrase,
    text: &[u32],
    sims: &SimilarityTable,
    floor: f32,
) -> Vec<(usize, usize)> {
    let n = phrase.parts.len();
    let slots = phrase.parts.iter().filter(|p| **p == Part::Slot).count();
    let budget = (1.0 - floor) * n as f32;
    let span = n + slots * (MAX_SLOT_WORDS - 1) + (budget / INSERTION_COST) as usize + 1;
    let needed = ((floor * n as f32).ceil() as usize)
        .saturating_sub(slots)
        .max(1);
    let words: Vec<u32> = phrase
        .parts
        .iter()
        .filter_map(|p| match p {
            Part::Word(w) => Some(*w),
            Part::Slot => None,
        })
        .collect();
    // Whether each distinct call word resembles any of the phrase's words, decided once per word.
    let mut resembles: Vec<Option<bool>> = vec![None; sims.columns];
    let matches: Vec<bool> = text
        .iter()
        .map(|&t| {
            *resembles[t as usize]
                .get_or_insert_with(|| words.iter().any(|&w| sims.get(w, t) > 0.0))
        })
        .collect();
    let mut stretches: Vec<(usize, usize)> = Vec::new();
    let mut in_window = 0usize;
    for j in 0..text.len() {
        in_window += usize::from(matches[j]);
        if j >= span {
            in_window -= usize::from(matches[j - span]);
        }
        if in_window >= needed {
            let (from, to) = ((j + 1).saturating_sub(span), (j + span).min(text.len()));
            match stretches.last_mut() {
                Some(last) if from <= last.1 => last.1 = last.1.max(to),
                _ => stretches.push((from, to)),
            }
        }
    }
    stretches
}

/// Semi-global alignment of the whole phrase against any part of `text`: every end position whose
/// best alignment reaches `floor`, with where that alignment starts.
fn align_stretch(phrase: &Phrase, text: &[u32], sims: &SimilarityTable, floor: f32) -> Vec<Hit> {
    let n = phrase.parts.len();
    if n == 0 || text.is_empty() {
        return Vec::new();
    }
    let m = text.len();
    // cost[i][j]: the cheapest alignment of the first i parts ending just before text[j];
    // start[i][j]: where in the text that alignment began. Row 0 is free: the phrase may start anywhere.
    let width = m + 1;
    let mut cost = vec![0.0f32; (n + 1) * width];
    let mut start = vec![0usize; (n + 1) * width];
    for (j, s) in start.iter_mut().enumerate().take(width) {
        *s = j;
    }
    for (i, part) in phrase.parts.iter().enumerate() {
        let (prev, row) = (i * width, (i + 1) * width);
        let leave_out = match part {
            Part::Word(_) => DELETION_COST,
            Part::Slot => EMPTY_SLOT_COST,
        };
        cost[row] = cost[prev] + leave_out;
        start[row] = start[prev];
        for j in 1..=m {
            let mut best = cost[prev + j] + leave_out;
            let mut from = start[prev + j];
            match *part {
                Part::Word(w) => {
                    let s = sims.get(w, text[j - 1]);
                    let c = cost[prev + j - 1] + (1.0 - s);
                    if c < best {
                        best = c;
                        from = start[prev + j - 1];
                    }
                    // A word inserted inside the phrase (never before its first word: row 0 is free).
                    if i > 0 {
                        let c = cost[row + j - 1] + INSERTION_COST;
                        if c < best {
                            best = c;
                            from = start[row + j - 1];
                        }
                    }
                }
                Part::Slot => {
                    for k in 1..=MAX_SLOT_WORDS.min(j) {
                        let c = cost[prev + j - k];
                        if c < best {
                            best = c;
                            from = start[prev + j - k];
                        }
                    }
                }
            }
            cost[row + j] = best;
            start[row + j] = from;
        }
    }
    let last = n * width;
    let weight = phrase.weight();
    let row = &cost[last..last + width];
    (1..=m)
        .filter_map(|j| {
            // Ends next to a better one are the same match, worse: only local optima compete.
            let c = row[j];
            if c > row[j - 1] || (j < m && c > row[j + 1]) {
                return None;
            }
            let similarity = (1.0 - c / weight).max(0.0);
            let s = start[last + j];
            (similarity >= floor && s < j).then_some(Hit {
                start: s,
                end: j,
                similarity,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Compiles `phrase` and searches `text` with it, as alignment does.
    fn search(phrase: &str, text: &str, floor: f32) -> Vec<(String, f32)> {
        let mut vocab = Vocabulary::default();
        let p = vocab.phrase(phrase, Some(Lang::Es));
        let words = normalize::words(text, Some(Lang::Es));
        let mut call_ids: HashMap<String, u32> = HashMap::new();
        let mut call_words: Vec<String> = Vec::new();
        let ids: Vec<u32> = words
            .iter()
            .map(|w| {
                *call_ids.entry(w.clone()).or_insert_with(|| {
                    call_words.push(w.clone());
                    call_words.len() as u32 - 1
                })
            })
            .collect();
        let sims = SimilarityTable::new(&vocab, &call_words, &mut WordMemo::default());
        find(&p, &ids, &sims, floor, 5)
            .into_iter()
            .map(|h| (words[h.start..h.end].join(" "), h.similarity))
            .collect()
    }

    #[test]
    fn exact_phrase_is_found_with_similarity_one() {
        let hits = search(
            "le informamos de que esta llamada puede ser grabada",
            "hola sí le informamos de que esta llamada puede ser grabada vale",
            0.5,
        );
        assert_eq!(
            hits[0].0,
            "le informamos de que esta llamada puede ser grabada"
        );
        assert!((hits[0].1 - 1.0).abs() < 1e-6);
    }

    #[test]
    fn asr_noise_costs_in_proportion() {
        // A dropped word, a misheard word and a filler.
        let hits = search(
            "le informamos de que esta llamada puede ser grabada",
            "eh le informamos que esta llamada puede ser gravada",
            0.5,
        );
        let (text, sim) = &hits[0];
        assert_eq!(text, "le informamos que esta llamada puede ser gravada");
        assert!(*sim > 0.8 && *sim < 0.95, "{sim}");
    }

    #[test]
    fn digits_and_number_words_meet() {
        let hits = search(
            "marque uno para continuar",
            "por favor marque 1 para continuar",
            0.9,
        );
        assert_eq!(hits.len(), 1);
    }

    #[test]
    fn slots_take_one_to_three_words() {
        let phrase = "gracias por llamar a acme seguros le atiende {name}";
        for name in ["ana", "ana maría", "maría josé lópez"] {
            let hits = search(
                phrase,
                &format!(
                    "gracias por llamar a acme seguros le atiende {name} en qué puedo ayudarle"
                ),
                0.9,
            );
            assert!((hits[0].1 - 1.0).abs() < 1e-6, "{name}: {hits:?}");
        }
        // No name at all costs one part.
        let hits = search(phrase, "gracias por llamar a acme seguros le atiende", 0.5);
        assert!((hits[0].1 - 8.0 / 9.0).abs() < 1e-4, "{hits:?}");
    }

    #[test]
    fn inserted_words_cost_half() {
        let hits = search("en qué puedo ayudarle", "en qué más puedo ayudarle", 0.5);
        assert!((hits[0].1 - (1.0 - 0.5 / 4.0)).abs() < 1e-4, "{hits:?}");
    }

    #[test]
    fn unrelated_text_is_not_a_match() {
        assert!(
            search(
                "le informamos de que esta llamada puede ser grabada",
                "quiero dar de baja mi póliza de coche",
                0.6
            )
            .is_empty()
        );
    }

    #[test]
    fn repeated_phrases_give_separate_hits() {
        let hits = search("algo más", "algo más no gracias bueno algo más sí", 0.9);
        assert_eq!(hits.len(), 2);
    }

    #[test]
    fn short_words_and_numbers_must_match_exactly() {
        assert_eq!(word_similarity("su", "tu"), 0.0);
        assert_eq!(word_similarity("1500", "1600"), 0.0);
        assert!(word_similarity("autenticado", "atenticado") > 0.85);
        assert_eq!(word_similarity("seguros", "seguros"), 1.0);
        assert_eq!(word_similarity("llamada", "lámpara"), 0.0);
    }
}
