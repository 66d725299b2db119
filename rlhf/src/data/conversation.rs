//! A conversation: an optional system turn, then user and assistant turns in alternation.
use serde::{Deserialize, Serialize};

/// Who speaks a turn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

impl Role {
    /// `"system"`, `"user"` or `"assistant"`.
    pub fn name(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }

    /// The role of a name as written in `messages` JSON.
    pub fn from_name(name: &str) -> Option<Role> {
        match name {
            "system" => Some(Role::System),
            "user" => Some(Role::User),
            "assistant" => Some(Role::Assistant),
            _ => None,
        }
    }
}

/// One turn.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: String,
}

impl Message {
    /// A turn of `role` saying `content`.
    pub fn new(role: Role, content: impl Into<String>) -> Message {
        Message { role, content: content.into() }
    }
}

/// A conversation.
///
/// ```
/// use rlhf::data::{Conversation, Role};
/// let c = Conversation::from_prompt_response("What is 2 plus 3?", "Sure! 2 + 3 = 5.");
/// assert_eq!(c.messages[1].role, Role::Assistant);
/// assert!(c.validate_for_training().is_ok());
/// assert!(Conversation::from_prompt("Hi").validate_for_training().is_err()); // nothing to learn
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversation {
    pub messages: Vec<Message>,
}

impl Conversation {
    /// A conversation of these turns (unchecked: see [`Conversation::validate`]).
    pub fn new(messages: Vec<Message>) -> Conversation {
        Conversation { messages }
    }

    /// One user turn and one assistant turn.
    pub fn from_prompt_response(prompt: &str, response: &str) -> Conversation {
        Conversation::new(vec![Message::new(Role::User, prompt), Message::new(Role::Assistant, response)])
    }

    /// One user turn, for the assistant to answer.
    pub fn from_prompt(prompt: &str) -> Conversation {
        Conversation::new(vec![Message::new(Role::User, prompt)])
    }

    /// The system turn, if the conversation has one.
    pub fn system(&self) -> Option<&str> {
        self.messages.first().filter(|m| m.role == Role::System).map(|m| m.content.as_str())
    }

    /// Checks the shape: at least one turn; a system turn only first; then user and assistant turns in
    /// alternation, starting with the user; no empty content.
    pub fn validate(&self) -> Result<(), String> {
        if self.messages.is_empty() {
            return Err("the conversation has no messages".into());
        }
        let start = usize::from(self.messages[0].role == Role::System);
        if start == self.messages.len() {
            return Err("the conversation has only a system message".into());
        }
        for (i, m) in self.messages.iter().enumerate() {
            if m.content.trim().is_empty() {
                return Err(format!("message {i} ({}) is empty", m.role.name()));
            }
            if i < start {
                continue;
            }
            let want = if (i - start) % 2 == 0 { Role::User } else { Role::Assistant };
            if m.role != want {
                return Err(format!(
                    "message {i} is {} but {} was expected (after an optional system message, user and assistant alternate, user first)",
                    m.role.name(),
                    want.name()
                ));
            }
        }
        Ok(())
    }

    /// [`Conversation::validate`], and the last turn must be the assistant's (a demonstration to learn).
    pub fn validate_for_training(&self) -> Result<(), String> {
        self.validate()?;
        match self.messages.last() {
            Some(m) if m.role == Role::Assistant => Ok(()),
            _ => Err("the last message must be the assistant's (there is nothing to learn otherwise)".into()),
        }
    }
}
