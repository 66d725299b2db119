//! SFT data in JSONL, one example a line, in either of the forms people already have:
//!
//! - `{"prompt": "...", "response": "..."}` (optionally `"system": "..."`);
//! - `{"messages": [{"role": "system"|"user"|"assistant", "content": "..."}, ...]}`.
//!
//! Blank lines are skipped. Every bad line is reported as `FILE:LINE: what is wrong`, and nothing is
//! returned unless the whole file is good, so a run stops before training.
use super::conversation::{Conversation, Message, Role};
use super::error::{jsonl_lines, read_to_string, DataError, LineErrors};
use serde_json::Value;
use std::io::Write;
use std::path::Path;

/// Parses one line into a training conversation, or says what is wrong with it.
///
/// ```
/// use rlhf::data::parse_sft_line;
/// let c = parse_sft_line(r#"{"prompt": "Hi", "response": "Hello!"}"#).unwrap();
/// assert_eq!(c.messages.len(), 2);
/// let err = parse_sft_line(r#"{"prompt": "Hi"}"#).unwrap_err();
/// assert!(err.contains("response"), "{err}");
/// ```
pub fn parse_sft_line(line: &str) -> Result<Conversation, String> {
    let value: Value = serde_json::from_str(line).map_err(|e| format!("invalid JSON: {e}"))?;
    let Value::Object(obj) = value else {
        return Err("expected a JSON object".into());
    };
    let string_field = |name: &str| -> Result<Option<String>, String> {
        match obj.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(format!("\"{name}\" must be a string, found {}", kind(other))),
        }
    };
    let conversation = if let Some(messages) = obj.get("messages") {
        if obj.contains_key("prompt") || obj.contains_key("response") {
            return Err("a line has either \"messages\" or \"prompt\"/\"response\", not both".into());
        }
        let Value::Array(items) = messages else {
            return Err(format!("\"messages\" must be an array, found {}", kind(messages)));
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let Value::Object(m) = item else {
                return Err(format!("messages[{i}] must be an object, found {}", kind(item)));
            };
            let role = match m.get("role") {
                Some(Value::String(r)) => Role::from_name(r)
                    .ok_or_else(|| format!("messages[{i}].role is {r:?}; expected \"system\", \"user\" or \"assistant\""))?,
                Some(other) => return Err(format!("messages[{i}].role must be a string, found {}", kind(other))),
                None => return Err(format!("messages[{i}] has no \"role\"")),
            };
            let content = match m.get("content") {
                Some(Value::String(c)) => c.clone(),
                Some(other) => return Err(format!("messages[{i}].content must be a string, found {}", kind(other))),
                None => return Err(format!("messages[{i}] has no \"content\"")),
            };
            out.push(Message::new(role, content));
        }
        Conversation::new(out)
    } else {
        let prompt = string_field("prompt")?;
        let response = string_field("response")?;
        let system = string_field("system")?;
        let (prompt, response) = match (prompt, response) {
            (Some(p), Some(r)) => (p, r),
            (None, _) if !obj.contains_key("response") => {
                return Err("expected \"messages\" or \"prompt\" and \"response\"".into())
            }
            (None, _) => return Err("missing \"prompt\"".into()),
            (_, None) => return Err("missing \"response\"".into()),
        };
        let mut messages = Vec::with_capacity(3);
        if let Some(s) = system {
            messages.push(Message::new(Role::System, s));
        }
        messages.push(Message::new(Role::User, prompt));
        messages.push(Message::new(Role::Assistant, response));
        Conversation::new(messages)
    };
    conversation.validate_for_training()?;
    Ok(conversation)
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Parses SFT JSONL text; `path` names the file in errors.
pub fn parse_sft_jsonl(text: &str, path: &Path) -> Result<Vec<Conversation>, DataError> {
    let mut errors = LineErrors::default();
    let mut out = Vec::new();
    for (line_no, line) in jsonl_lines(text) {
        match parse_sft_line(line) {
            Ok(c) => out.push(c),
            Err(e) => errors.push(path, line_no, e),
        }
    }
    if out.is_empty() && errors.total_is_zero() {
        return Err(DataError::Invalid(format!("{}: no examples", path.display())));
    }
    errors.finish(out)
}

/// Loads an SFT JSONL file: every conversation, or every bad line with its number.
///
/// ```
/// let dir = std::env::temp_dir().join(format!("rlhf-doc-sft-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("data.jsonl");
/// std::fs::write(&path, "{\"prompt\": \"Hi\", \"response\": \"Hello!\"}\n{\"prompt\": 3}\n").unwrap();
/// let err = rlhf::data::load_sft_jsonl(&path).unwrap_err();
/// assert!(err.to_string().starts_with(&format!("{}:2: ", path.display())), "{err}");
/// std::fs::remove_dir_all(&dir).unwrap();
/// ```
pub fn load_sft_jsonl(path: impl AsRef<Path>) -> Result<Vec<Conversation>, DataError> {
    let path = path.as_ref();
    parse_sft_jsonl(&read_to_string(path)?, path)
}

/// Writes conversations as `{"messages": [...]}` lines (what [`load_sft_jsonl`] reads back).
pub fn write_sft_jsonl(path: impl AsRef<Path>, conversations: &[Conversation]) -> Result<(), DataError> {
    let path = path.as_ref();
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).map_err(|e| DataError::io(path, e))?);
    for c in conversations {
        let line = serde_json::to_string(c).expect("conversations serialise");
        writeln!(out, "{line}").map_err(|e| DataError::io(path, e))?;
    }
    out.flush().map_err(|e| DataError::io(path, e))
}
