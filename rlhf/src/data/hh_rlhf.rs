//! Anthropic HH-RLHF pairs (`{"chosen", "rejected"}`, each a whole dialogue `"\n\nHuman: ...\n\nAssistant:
//! ..."`): split at the last `"\n\nAssistant:"` into the shared prompt and the two final answers.
use super::conversation::{Conversation, Message, Role};
use super::error::{jsonl_lines, read_to_string, DataError, LineErrors};
use super::preference::PreferencePair;
use serde::Deserialize;
use std::path::Path;

const HUMAN: &str = "\n\nHuman:";
const ASSISTANT: &str = "\n\nAssistant:";

/// A dialogue split at its last `"\n\nAssistant:"`: (the prompt text before it, the answer after it,
/// trimmed).
///
/// ```
/// let (prompt, answer) = rlhf::data::split_hh_dialogue("\n\nHuman: Hi\n\nAssistant: Hello!").unwrap();
/// assert_eq!((prompt, answer), ("\n\nHuman: Hi", "Hello!"));
/// ```
pub fn split_hh_dialogue(dialogue: &str) -> Option<(&str, &str)> {
    let at = dialogue.rfind(ASSISTANT)?;
    Some((&dialogue[..at], dialogue[at + ASSISTANT.len()..].trim()))
}

/// The turns of an HH prompt (`Human:` is the user, `Assistant:` the assistant; two turns of one speaker in
/// a row are joined with a blank line), checked to end with the user.
pub fn hh_prompt_conversation(prompt: &str) -> Result<Conversation, String> {
    let mut messages = Vec::new();
    let mut rest = prompt;
    loop {
        let (role, marker) = if rest.starts_with(HUMAN) {
            (Role::User, HUMAN)
        } else if rest.starts_with(ASSISTANT) {
            (Role::Assistant, ASSISTANT)
        } else {
            return Err(format!("expected \"\\n\\nHuman:\" or \"\\n\\nAssistant:\" at {:?}", &rest[..rest.len().min(30)]));
        };
        rest = &rest[marker.len()..];
        let end = [rest.find(HUMAN), rest.find(ASSISTANT)].into_iter().flatten().min().unwrap_or(rest.len());
        let text = rest[..end].trim();
        match messages.last_mut() {
            // A few dialogues have two turns of one speaker in a row: they are one turn.
            Some(Message { role: last, content }) if *last == role => {
                content.push_str("\n\n");
                content.push_str(text);
            }
            _ => messages.push(Message::new(role, text)),
        }
        rest = &rest[end..];
        if rest.is_empty() {
            break;
        }
    }
    let c = Conversation::new(messages);
    c.validate()?;
    if c.messages.last().map(|m| m.role) != Some(Role::User) {
        return Err("the prompt does not end with a human turn".into());
    }
    Ok(c)
}

#[derive(Deserialize)]
struct HhLine {
    chosen: String,
    rejected: String,
}

/// HH-RLHF pairs, and the lines that were skipped with why (not a format error: the two dialogues do not
/// share their history, or a turn is empty).
#[derive(Debug, Default)]
pub struct HhPairs {
    /// The usable pairs.
    pub pairs: Vec<PreferencePair>,
    /// (1-based line, reason) of each skipped pair.
    pub skipped: Vec<(usize, String)>,
}

/// Loads HH-RLHF pairs. Lines that are not `{"chosen", "rejected"}` strings are errors (with their
/// numbers); pairs whose prompts differ or cannot be read as turns are skipped and listed.
pub fn load_hh_rlhf(path: impl AsRef<Path>) -> Result<HhPairs, DataError> {
    let path = path.as_ref();
    let text = read_to_string(path)?;
    let mut errors = LineErrors::default();
    let mut out = HhPairs::default();
    for (n, line) in jsonl_lines(&text) {
        let pair = match serde_json::from_str::<HhLine>(line) {
            Ok(p) => p,
            Err(e) => {
                errors.push(path, n, format!("expected {{\"chosen\", \"rejected\"}} strings: {e}"));
                continue;
            }
        };
        let (Some((pc, chosen)), Some((pr, rejected))) = (split_hh_dialogue(&pair.chosen), split_hh_dialogue(&pair.rejected)) else {
            out.skipped.push((n, "no \"\\n\\nAssistant:\" turn".into()));
            continue;
        };
        if pc != pr {
            out.skipped.push((n, "chosen and rejected do not share the history before the last assistant turn".into()));
            continue;
        }
        match hh_prompt_conversation(pc) {
            Ok(prompt) => out.pairs.push(PreferencePair { prompt, chosen: chosen.to_string(), rejected: rejected.to_string() }),
            Err(e) => out.skipped.push((n, e)),
        }
    }
    errors.finish(out)
}
