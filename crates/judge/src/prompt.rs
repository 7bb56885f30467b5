//! What the model is asked, and how its answer becomes a probability.
//!
//! The prompt is laid out so that everything that depends only on the step (system message,
//! instruction, statement) comes first and the sentence last: the server evaluates that prefix once,
//! keeps it in the KV cache, and per sentence evaluates only the few tokens after it.
//!
//! The server renders the model's own chat template once per statement, with [`SENTENCE_MARKER`] where
//! the sentence goes, and splits the text there ([`Prompt::split`]): the part before is the cached
//! prefix, the sentence and the part after are the suffix. The sentence is tokenised as plain text, so
//! a transcript that happens to contain `<|im_end|>` cannot close the turn.

/// The system message: what the model is for, and the two answers it may give.
pub const SYSTEM: &str = "You check contact-centre calls against the brand's call script. You are \
given one step of the script and one sentence that the agent said, in Spanish or English. Answer \
Yes if the sentence carries out that step, and No if it does not (a sentence that only mentions the \
same topic, or does something else, does not). Answer with one word: Yes or No.";

/// Stands where the sentence goes while the chat template is rendered; never in a real transcript.
pub const SENTENCE_MARKER: &str = "\u{2063}SENTENCE\u{2063}";

/// The longest sentence sent to the model, in characters; the rest is cut (a transcript line can be a
/// whole monologue, and the step is carried out, if at all, in its first part as often as not).
pub const MAX_SENTENCE_CHARS: usize = 600;

/// The user's message for a statement, with [`SENTENCE_MARKER`] (or a sentence) in it. The question
/// comes before the sentence, so that all that follows the sentence is the end of the turn: a few
/// tokens per sentence beyond its own.
pub fn user_message(statement: &str, sentence: &str) -> String {
    format!(
        "Script step: {}\nDoes this sentence by the agent carry out the script step?\n«{}»",
        one_line(statement),
        sentence
    )
}

/// Worked answers, given to the model as earlier turns of the chat (the same for every statement, so
/// they cost once per process). Steps that no example script has, Spanish and English, each with a
/// sentence that does it and one that only touches its topic: (statement, sentence, answer).
pub const EXAMPLES: &[(&str, &str, bool)] = &[
    (
        "The agent asks the customer for their account number",
        "¿Me puede leer el número de cuenta, por favor?",
        true,
    ),
    (
        "The agent asks the customer for their account number",
        "Your account number is printed at the top of every bill.",
        false,
    ),
    (
        "Confirmación de la dirección de envío",
        "La dirección de envío se puede cambiar desde la web.",
        false,
    ),
    (
        "Confirmación de la dirección de envío",
        "¿Me confirma que le enviamos la tarjeta a la calle Mayor 5?",
        true,
    ),
    (
        "The agent apologises to the customer for the problem",
        "I'm really sorry about all the trouble you've had with this order.",
        true,
    ),
    (
        "The agent apologises to the customer for the problem",
        "Sorry, could you repeat that? The line is very bad.",
        false,
    ),
];

/// The chat for one statement, as (role, content) messages: the system message, the worked examples
/// as user and assistant turns, and the question with [`SENTENCE_MARKER`] where the sentence goes.
pub fn chat(statement: &str) -> Vec<(&'static str, String)> {
    let mut messages = vec![("system", SYSTEM.to_string())];
    for (step, sentence, answer) in EXAMPLES {
        messages.push(("user", user_message(step, sentence)));
        messages.push(("assistant", if *answer { "Yes" } else { "No" }.to_string()));
    }
    messages.push(("user", user_message(statement, SENTENCE_MARKER)));
    messages
}

/// A statement or sentence as one line of text: runs of whitespace (newlines too) become one space,
/// and the marker cannot be smuggled in.
pub fn one_line(text: &str) -> String {
    text.replace(SENTENCE_MARKER, " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// A sentence as it goes into the prompt: one line, at most [`MAX_SENTENCE_CHARS`] characters.
pub fn clean_sentence(sentence: &str) -> String {
    let line = one_line(sentence);
    match line.char_indices().nth(MAX_SENTENCE_CHARS) {
        Some((cut, _)) => line[..cut].to_string(),
        None => line,
    }
}

/// A rendered chat prompt split around the sentence: `prefix` (cached) + sentence + `suffix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    pub prefix: String,
    pub suffix: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PromptError {
    #[error("the rendered chat template holds the sentence marker {0} times, not once")]
    Marker(usize),
}

impl Prompt {
    /// Splits the chat template's rendering of [`chat`]`(statement)`.
    pub fn split(rendered: &str) -> Result<Prompt, PromptError> {
        let count = rendered.matches(SENTENCE_MARKER).count();
        if count != 1 {
            return Err(PromptError::Marker(count));
        }
        let (prefix, suffix) = rendered.split_once(SENTENCE_MARKER).expect("counted once");
        Ok(Prompt {
            prefix: prefix.to_string(),
            suffix: suffix.to_string(),
        })
    }

    /// The whole prompt for one sentence, as text (for logs and tests; the server tokenises the three
    /// parts separately).
    pub fn full(&self, sentence: &str) -> String {
        format!("{}{}{}", self.prefix, clean_sentence(sentence), self.suffix)
    }
}

/// P(Yes) / (P(Yes) + P(No)) from the two tokens' logits. The softmax's shared denominator cancels, so
/// this is the logistic function of their difference, computed without overflow for any finite logits.
pub fn yes_probability(logit_yes: f32, logit_no: f32) -> f32 {
    let d = f64::from(logit_yes) - f64::from(logit_no);
    let p = if d >= 0.0 {
        1.0 / (1.0 + (-d).exp())
    } else {
        let e = d.exp();
        e / (1.0 + e)
    };
    p as f32
}

/// The probability from several spellings of each answer (`Yes`, `yes`, ` Yes` …): the log of the sum
/// of their exponentials on each side, then [`yes_probability`]. Empty sides give 0.5.
pub fn yes_probability_of(yes_logits: &[f32], no_logits: &[f32]) -> f32 {
    if yes_logits.is_empty() || no_logits.is_empty() {
        return 0.5;
    }
    yes_probability(log_sum_exp(yes_logits), log_sum_exp(no_logits))
}

fn log_sum_exp(logits: &[f32]) -> f32 {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let sum: f64 = logits
        .iter()
        .map(|&l| (f64::from(l) - f64::from(max)).exp())
        .sum();
    (f64::from(max) + sum.ln()) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Qwen2.5's template, as llama.cpp renders a chat.
    fn chatml(messages: &[(&str, String)]) -> String {
        let mut text: String = messages
            .iter()
            .map(|(role, content)| format!("<|im_start|>{role}\n{content}<|im_end|>\n"))
            .collect();
        text.push_str("<|im_start|>assistant\n");
        text
    }

    #[test]
    fn the_statement_is_in_the_prefix_and_only_the_end_of_the_turn_follows_the_sentence() {
        let statement = "The agent tells the customer that the call is recorded";
        let prompt = Prompt::split(&chatml(&chat(statement))).unwrap();
        assert!(prompt.prefix.starts_with("<|im_start|>system\n"));
        assert!(prompt.prefix.contains(statement));
        assert!(prompt.prefix.ends_with("carry out the script step?\n«"));
        assert_eq!(prompt.suffix, "»<|im_end|>\n<|im_start|>assistant\n");
        let sentence = "Le informo de que la llamada se graba.";
        let mut messages = chat(statement);
        messages.last_mut().unwrap().1 = user_message(statement, sentence);
        assert_eq!(prompt.full(sentence), chatml(&messages));
    }

    #[test]
    fn the_examples_are_answered_turns_before_the_question_and_balanced() {
        let messages = chat("Saludo");
        assert_eq!(messages.len(), 2 + 2 * EXAMPLES.len());
        assert_eq!(messages[0].0, "system");
        for pair in messages[1..messages.len() - 1].chunks(2) {
            assert_eq!((pair[0].0, pair[1].0), ("user", "assistant"));
            assert!(!pair[0].1.contains(SENTENCE_MARKER));
            assert!(pair[1].1 == "Yes" || pair[1].1 == "No");
        }
        let yes = EXAMPLES.iter().filter(|e| e.2).count();
        assert_eq!(2 * yes, EXAMPLES.len());
    }

    #[test]
    fn two_statements_share_everything_before_the_statement() {
        let a = Prompt::split(&chatml(&chat("Saludo"))).unwrap();
        let b = Prompt::split(&chatml(&chat("Despedida"))).unwrap();
        let shared = a
            .prefix
            .bytes()
            .zip(b.prefix.bytes())
            .take_while(|(x, y)| x == y)
            .count();
        assert!(a.prefix[..shared].ends_with("Script step: "));
        assert!(a.prefix[..shared].contains(EXAMPLES[5].1));
        assert_eq!(a.suffix, b.suffix);
    }

    #[test]
    fn a_template_without_the_marker_or_with_it_twice_is_refused() {
        assert_eq!(Prompt::split("no marker"), Err(PromptError::Marker(0)));
        let twice = format!("{SENTENCE_MARKER} and {SENTENCE_MARKER}");
        assert_eq!(Prompt::split(&twice), Err(PromptError::Marker(2)));
    }

    #[test]
    fn sentences_become_one_line_cut_at_a_character_boundary_and_cannot_hold_the_marker() {
        assert_eq!(
            clean_sentence("  Hola,\n  buenos\tdías "),
            "Hola, buenos días"
        );
        assert_eq!(clean_sentence(&format!("a{SENTENCE_MARKER}b")), "a b");
        let long = "ñ".repeat(MAX_SENTENCE_CHARS + 50);
        let cut = clean_sentence(&long);
        assert_eq!(cut.chars().count(), MAX_SENTENCE_CHARS);
        assert!(cut.chars().all(|c| c == 'ñ'));
    }

    #[test]
    fn the_probability_is_the_two_way_softmax_of_yes_and_no() {
        assert_eq!(yes_probability(3.0, 3.0), 0.5);
        // exp(2) / (exp(2) + exp(0))
        let expected = (2f64.exp() / (2f64.exp() + 1.0)) as f32;
        assert!((yes_probability(5.0, 3.0) - expected).abs() < 1e-6);
        assert!((yes_probability(3.0, 5.0) - (1.0 - expected)).abs() < 1e-6);
        // No overflow at extreme logits, and monotone.
        assert_eq!(yes_probability(1e30, -1e30), 1.0);
        assert_eq!(yes_probability(-1e30, 1e30), 0.0);
        assert!(yes_probability(0.1, 0.0) > yes_probability(0.0, 0.1));
    }

    #[test]
    fn several_spellings_add_up_on_each_side() {
        // Two equal Yes spellings weigh twice one No of the same logit: 2/3.
        assert!((yes_probability_of(&[1.0, 1.0], &[1.0]) - 2.0 / 3.0).abs() < 1e-6);
        assert_eq!(yes_probability_of(&[], &[1.0]), 0.5);
        // Large logits do not overflow the sum.
        assert!((yes_probability_of(&[1000.0, 1000.0], &[1000.0]) - 2.0 / 3.0).abs() < 1e-4);
    }
}
