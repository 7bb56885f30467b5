//! guion's own JSON, Azure AI Language conversations and ABCD dialogues.

use super::{Cx, ReadError, transcript, utterance};
use crate::transcript::{Speaker, Transcript, Utterance};
use serde_json::Value;

pub(super) fn parse_json(text: &str, bytes: &[u8], cx: &Cx) -> Result<Transcript, ReadError> {
    let value: Value = serde_json::from_str(text).map_err(|e| cx.json(e))?;
    if value.get("utterances").is_some() {
        // Parsed again as the type so that a wrong field is reported at its line and column.
        return serde_json::from_str(text).map_err(|e| cx.json(e));
    }
    if let Some(conversations) = azure_conversations(&value) {
        let [conversation] = conversations.as_slice() else {
            return Err(cx.shape(format!(
                "holds {} Azure conversations; guion reads one call per file",
                conversations.len()
            )));
        };
        let (language, utterances) = azure(conversation, cx)?;
        return Ok(transcript(cx.file, bytes, language, utterances));
    }
    if let Some(dialogues) = abcd_dialogues(&value) {
        let [(id, convo)] = dialogues.as_slice() else {
            return Err(cx.shape(format!(
                "holds {} ABCD dialogues; read them with read_abcd",
                dialogues.len()
            )));
        };
        return Ok(transcript(cx.file, bytes, None, abcd_turns(id, convo, cx)?));
    }
    Err(cx.shape(
        "not a transcript guion knows: expected guion's own (\"utterances\"), an Azure conversation \
         (\"conversationItems\") or ABCD dialogues (\"original\")",
    ))
}

/// Azure AI Language conversation analysis input: the whole request, its `conversations`, or one
/// conversation.
fn azure_conversations(value: &Value) -> Option<Vec<&Value>> {
    if value.get("conversationItems").is_some() {
        return Some(vec![value]);
    }
    let list = value
        .get("analysisInput")
        .unwrap_or(value)
        .get("conversations")?
        .as_array()?;
    Some(list.iter().collect())
}

/// Items carry `role` (agent, customer, generic) in some versions and only `participantId` in others;
/// word timings, when present, are in 100 ns ticks.
fn azure(conversation: &Value, cx: &Cx) -> Result<(Option<String>, Vec<Utterance>), ReadError> {
    let items = conversation
        .get("conversationItems")
        .and_then(Value::as_array)
        .ok_or_else(|| cx.shape("the conversation has no \"conversationItems\" list"))?;
    let mut utterances = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let text = item
            .get("text")
            .and_then(Value::as_str)
            .ok_or_else(|| cx.shape(format!("conversationItems[{i}] has no \"text\" string")))?;
        let named = |key: &str| {
            item.get(key)
                .and_then(Value::as_str)
                .and_then(|name| cx.cols.speaker_of(name))
                .filter(|&s| s != Speaker::Unknown)
        };
        let speaker = named("role")
            .or_else(|| named("participantId"))
            .unwrap_or(Speaker::Unknown);
        let (start, end) = azure_times(item);
        utterances.extend(utterance(speaker, start, end, text));
    }
    let language = conversation
        .get("language")
        .and_then(Value::as_str)
        .map(String::from);
    Ok((language, utterances))
}

fn azure_times(item: &Value) -> (Option<f64>, Option<f64>) {
    const TICKS_PER_S: f64 = 1e7;
    let Some(words) = item.get("wordLevelTimings").and_then(Value::as_array) else {
        return (None, None);
    };
    let spans = words.iter().filter_map(|w| {
        let offset = w.get("offset")?.as_f64()?;
        let duration = w.get("duration").and_then(Value::as_f64).unwrap_or(0.0);
        Some((offset / TICKS_PER_S, (offset + duration) / TICKS_PER_S))
    });
    spans.fold((None, None), |(s, e), (ws, we)| {
        (
            Some(s.map_or(ws, |s: f64| s.min(ws))),
            Some(e.map_or(we, |e: f64| e.max(we))),
        )
    })
}

fn is_abcd_dialogue(value: &Value) -> bool {
    value.get("original").is_some_and(Value::is_array)
}

/// ABCD ships a list of conversations, or `{"train": [...], "dev": [...], "test": [...]}`; a single
/// conversation object or one keyed by id is taken as well.
pub(super) fn abcd_dialogues(value: &Value) -> Option<Vec<(String, &Value)>> {
    let found = match value {
        Value::Object(_) if is_abcd_dialogue(value) => vec![(abcd_id(value, "0".into()), value)],
        Value::Array(items) => abcd_list(items)?,
        Value::Object(map) => {
            let mut found = Vec::new();
            for (key, v) in map {
                match v {
                    Value::Array(items) => found.extend(abcd_list(items)?),
                    _ if is_abcd_dialogue(v) => found.push((abcd_id(v, key.clone()), v)),
                    _ => return None,
                }
            }
            found
        }
        _ => return None,
    };
    (!found.is_empty()).then_some(found)
}

fn abcd_list(items: &[Value]) -> Option<Vec<(String, &Value)>> {
    items
        .iter()
        .enumerate()
        .map(|(i, c)| is_abcd_dialogue(c).then(|| (abcd_id(c, i.to_string()), c)))
        .collect()
}

fn abcd_id(convo: &Value, fallback: String) -> String {
    match convo.get("convo_id") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => fallback,
    }
}

/// `action` turns are the agent's clicks in the ABCD tool, not speech.
pub(super) fn abcd_turns(id: &str, convo: &Value, cx: &Cx) -> Result<Vec<Utterance>, ReadError> {
    let turns = convo
        .get("original")
        .and_then(Value::as_array)
        .ok_or_else(|| cx.shape(format!("dialogue {id} has no \"original\" list")))?;
    let mut utterances = Vec::new();
    for (i, turn) in turns.iter().enumerate() {
        let pair = turn.as_array().map(Vec::as_slice);
        let Some([Value::String(who), Value::String(text)]) = pair else {
            return Err(cx.shape(format!("dialogue {id}, turn {i}: expected [speaker, text]")));
        };
        let speaker = match who.as_str() {
            "action" => continue,
            "agent" => Speaker::Agent,
            "customer" => Speaker::Customer,
            _ => Speaker::Unknown,
        };
        utterances.extend(utterance(speaker, None, None, text));
    }
    Ok(utterances)
}

#[cfg(test)]
mod tests {
    use crate::transcript::Format;
    use crate::transcript::Speaker::{Agent, Customer, Unknown};
    use crate::transcript::read::tests::{err, ok, sample, turns};
    use crate::transcript::read::{InputFormat, ReadError, parse_abcd};

    #[test]
    fn guion_json_comes_back_as_written() {
        let t = sample();
        assert_eq!(ok(InputFormat::Json, &t.render(Format::Json)), t);
    }

    #[test]
    fn malformed_json_is_reported_at_line_and_column() {
        let e = err(InputFormat::Json, "{\"source\": \"x\",\n  \"sha256\": }");
        assert_eq!(e, "call:2:13: expected value");
        let mut json = sample().render(Format::Json);
        json = json.replacen("\"start\": 4.0", "\"start\": \"4\"", 1);
        let line = json.lines().position(|l| l.contains("\"4\"")).unwrap() + 1;
        let e = err(InputFormat::Json, &json);
        assert!(e.starts_with(&format!("call:{line}:")), "{e}");
        assert!(e.contains("invalid type: string \"4\""), "{e}");
        assert_eq!(
            err(InputFormat::Json, "{\"items\": []}"),
            "call: not a transcript guion knows: expected guion's own (\"utterances\"), an Azure \
             conversation (\"conversationItems\") or ABCD dialogues (\"original\")"
        );
    }

    #[test]
    fn azure_conversations_map_roles_and_word_times() {
        let json = r#"{"analysisInput": {"conversations": [{"id": "1", "language": "es",
            "conversationItems": [
              {"participantId": "Agent", "id": "1", "text": " Acme  Seguros, ¿dígame? "},
              {"participantId": "caller-7", "role": "customer", "id": "2", "text": "Hola",
               "wordLevelTimings": [{"word": "Hola", "offset": 25000000, "duration": 5000000}]},
              {"participantId": "Customer", "role": "generic", "id": "3", "text": "sí"},
              {"participantId": "bot", "id": "4", "text": "..."},
              {"participantId": "Agent", "id": "5", "text": ""}
            ]}]}}"#;
        let t = ok(InputFormat::Json, json);
        assert_eq!(t.language.as_deref(), Some("es"));
        assert_eq!(
            turns(&t),
            [
                (Agent, None, None, "Acme Seguros, ¿dígame?"),
                (Customer, Some(2.5), Some(3.0), "Hola"),
                (Customer, None, None, "sí"),
                (Unknown, None, None, "..."),
            ]
        );
        assert_eq!(t.duration_s, Some(3.0));
        let two = r#"{"conversations": [{"conversationItems": []}, {"conversationItems": []}]}"#;
        assert_eq!(
            err(InputFormat::Json, two),
            "call: holds 2 Azure conversations; guion reads one call per file"
        );
        assert_eq!(
            err(
                InputFormat::Json,
                r#"{"conversationItems": [{"participantId": "Agent"}]}"#
            ),
            "call: conversationItems[0] has no \"text\" string"
        );
    }

    #[test]
    fn abcd_dialogues_drop_actions_and_keep_their_ids() {
        let one = r#"[{"convo_id": 7, "original": [["agent", "Hi!"], ["action", "Account pulled up"],
            ["customer", "  I need help "], ["system", "?"]]}]"#;
        let t = ok(InputFormat::Json, one);
        assert_eq!(
            turns(&t),
            [
                (Agent, None, None, "Hi!"),
                (Customer, None, None, "I need help"),
                (Unknown, None, None, "?")
            ]
        );
        let splits = r#"{"train": [{"convo_id": 1, "original": [["agent", "a"]]}],
            "dev": [{"convo_id": "2", "original": [["customer", "b"]]}], "test": []}"#;
        let all = parse_abcd(splits.as_bytes(), "abcd.json").unwrap();
        let ids: Vec<&str> = all.iter().map(|(id, _)| id.as_str()).collect();
        // Splits come in key order: serde_json's map is sorted.
        assert_eq!(ids, ["2", "1"]);
        assert!(all.iter().all(|(_, t)| t.source == "abcd.json"));
        assert_eq!(
            err(InputFormat::Json, splits),
            "call: holds 2 ABCD dialogues; read them with read_abcd"
        );
        let bad = r#"[{"convo_id": 9, "original": [["agent", "a"], ["agent"]]}]"#;
        assert_eq!(
            parse_abcd(bad.as_bytes(), "a.json")
                .unwrap_err()
                .to_string(),
            "a.json: dialogue 9, turn 1: expected [speaker, text]"
        );
        assert!(matches!(
            parse_abcd(b"{\"utterances\": []}", "a.json"),
            Err(ReadError::Shape { .. })
        ));
    }
}
