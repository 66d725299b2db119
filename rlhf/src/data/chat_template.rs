//! The chat template: a conversation as token ids, with role markers as special tokens and an end-of-turn
//! token, and the loss mask that counts only the assistant's tokens.
//!
//! A turn is `<|role|>` + content + `<|end|>` (see [`models::tokenizer::special`]). A prompt for the model to
//! answer ends with `<|assistant|>`. Content is encoded as ordinary text, so a user who types `<|end|>`
//! gets the characters, never the special token.
//!
//! **Loss mask**: `mask[i] == 1` exactly when `ids[i]` is a token of an assistant turn's content or that
//! turn's `<|end|>`; role markers, system and user turns are 0. A trainer feeding `ids[..n-1]` and
//! predicting `ids[1..]` uses `mask[1..]` as the target mask.
//!
//! **Truncation** to `max_tokens` drops whole turns, never part of one: after the system turn (kept while
//! possible), the conversation is a run of exchanges (a user turn and the replies up to the next user turn);
//! the oldest exchanges are dropped first. If the system turn and the last exchange still do not fit, the
//! system turn is dropped too; if the last exchange alone does not fit, rendering fails with
//! [`ChatError::TooLong`] (a trainer skips and counts such examples; a chat front end tells the user).
use super::conversation::{Conversation, Role};
use models::tokenizer::{special, AnyTokenizer, CharTokenizer, SpecialTokens, Tokenizer, TokenizerError};
use std::fmt;

/// Why a conversation could not be rendered.
#[derive(Debug)]
pub enum ChatError {
    /// The tokenizer refused the text (e.g. a character outside a character vocabulary).
    Tokenizer(TokenizerError),
    /// The conversation has the wrong shape.
    Invalid(String),
    /// Even the last exchange needs more tokens than allowed.
    TooLong { needed: usize, max_tokens: usize },
}

impl fmt::Display for ChatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChatError::Tokenizer(e) => write!(f, "tokenizer: {e}"),
            ChatError::Invalid(m) => write!(f, "invalid conversation: {m}"),
            ChatError::TooLong { needed, max_tokens } => {
                write!(f, "the last exchange alone needs {needed} tokens, more than the {max_tokens} allowed")
            }
        }
    }
}

impl std::error::Error for ChatError {}

impl From<TokenizerError> for ChatError {
    fn from(e: TokenizerError) -> Self {
        ChatError::Tokenizer(e)
    }
}

/// A tokenizer with the chat specials: the inner vocabulary's own when it has them (our BPE vocabularies),
/// otherwise ids assigned after it in [`special::DEFAULT_BPE_SPECIALS`] order (a character vocabulary gets
/// `<|endoftext|>` = its size, then `<|system|>`, `<|user|>`, `<|assistant|>`, `<|end|>`, `<|pad|>`).
#[derive(Clone, Debug)]
pub struct ChatTokenizer {
    inner: AnyTokenizer,
    specials: SpecialTokens,
    inner_vocab: usize,
    vocab_size: usize,
}

/// One rendered turn.
struct Turn {
    role: Role,
    ids: Vec<u32>,
    mask: Vec<u8>,
}

/// A rendered conversation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenderedChat {
    /// The token ids.
    pub ids: Vec<u32>,
    /// 1 on the assistant's content and end-of-turn tokens, 0 elsewhere (same length as `ids`).
    pub loss_mask: Vec<u8>,
    /// How many messages truncation dropped (the system turn included, if it went).
    pub dropped_messages: usize,
    /// Whether the system turn was dropped.
    pub dropped_system: bool,
}

impl ChatTokenizer {
    /// Wraps a tokenizer, adding the chat specials it lacks.
    pub fn new(inner: AnyTokenizer) -> ChatTokenizer {
        let inner_vocab = inner.vocab_size();
        let mut specials = SpecialTokens::new();
        let mut next = inner_vocab as u32;
        for name in special::DEFAULT_BPE_SPECIALS {
            let id = inner.special_token_id(name).unwrap_or_else(|| {
                next += 1;
                next - 1
            });
            specials.insert(name, id);
        }
        ChatTokenizer { inner, specials, inner_vocab, vocab_size: next as usize }
    }

    /// A character vocabulary of the built-in world's characters ([`crate::world::charset`]) with the chat
    /// specials: 96 + 6 = 102 ids.
    ///
    /// ```
    /// use rlhf::data::{ChatTokenizer, Conversation};
    /// let tok = ChatTokenizer::for_world();
    /// assert_eq!(tok.vocab_size(), 102);
    /// let chat = tok.render(&Conversation::from_prompt_response("Hi", "Hello!")).unwrap();
    /// let text = tok.decode(&chat.ids).unwrap();
    /// assert_eq!(text, "<|user|>Hi<|end|><|assistant|>Hello!<|end|>");
    /// // The mask is 1 on "Hello!" and its <|end|>.
    /// let learned: Vec<u32> = chat.ids.iter().zip(&chat.loss_mask).filter(|(_, &m)| m == 1).map(|(&i, _)| i).collect();
    /// assert_eq!(tok.decode(&learned).unwrap(), "Hello!<|end|>");
    /// ```
    pub fn for_world() -> ChatTokenizer {
        let chars = CharTokenizer::from_corpus(&crate::world::charset()).expect("non-empty charset");
        ChatTokenizer::new(AnyTokenizer::Char(chars))
    }

    /// Decodes ids, the specials written as their text (`<|end|>`).
    pub fn decode(&self, ids: &[u32]) -> Result<String, TokenizerError> {
        let mut out = String::new();
        let mut run: Vec<u32> = Vec::new();
        for &id in ids {
            if (id as usize) < self.inner_vocab {
                run.push(id);
                continue;
            }
            out.push_str(&self.inner.decode(&run)?);
            run.clear();
            match self.specials.text(id) {
                Some(t) => out.push_str(t),
                None => return Err(TokenizerError::UnknownId { id, vocab_size: self.vocab_size }),
            }
        }
        out.push_str(&self.inner.decode(&run)?);
        Ok(out)
    }

    /// Number of ids: the inner vocabulary and the specials added after it.
    pub fn vocab_size(&self) -> usize {
        self.vocab_size
    }

    /// The wrapped tokenizer.
    pub fn inner(&self) -> &AnyTokenizer {
        &self.inner
    }

    /// The chat specials and their ids.
    pub fn specials(&self) -> &SpecialTokens {
        &self.specials
    }

    /// The id of a special token by its text (`"<|end|>"`).
    pub fn special_id(&self, name: &str) -> Option<u32> {
        self.specials.id(name)
    }

    fn id_of(&self, name: &str) -> u32 {
        self.specials.id(name).expect("every chat special has an id")
    }

    /// The id of a role's marker.
    pub fn role_id(&self, role: Role) -> u32 {
        self.id_of(match role {
            Role::System => special::SYSTEM,
            Role::User => special::USER,
            Role::Assistant => special::ASSISTANT,
        })
    }

    /// The end-of-turn id.
    pub fn end_id(&self) -> u32 {
        self.id_of(special::END_OF_TURN)
    }

    /// The padding id.
    pub fn pad_id(&self) -> u32 {
        self.id_of(special::PAD)
    }

    /// Ids of a turn: marker, content, end. Its mask is 1 after the marker for the assistant.
    fn turn(&self, role: Role, content: &str) -> Result<Turn, ChatError> {
        let mut ids = vec![self.role_id(role)];
        ids.extend(self.inner.encode(content)?);
        ids.push(self.end_id());
        let on = u8::from(role == Role::Assistant);
        let mut mask = vec![on; ids.len()];
        mask[0] = 0;
        Ok(Turn { role, ids, mask })
    }

    /// Renders a whole conversation (no truncation).
    pub fn render(&self, conversation: &Conversation) -> Result<RenderedChat, ChatError> {
        self.render_truncated(conversation, usize::MAX)
    }

    /// Renders a conversation in at most `max_tokens` tokens, dropping whole oldest turns as the module
    /// documentation says.
    ///
    /// ```
    /// use rlhf::data::{ChatTokenizer, Conversation, Message, Role};
    /// let tok = ChatTokenizer::for_world();
    /// let c = Conversation::new(vec![
    ///     Message::new(Role::System, "Be brief."),
    ///     Message::new(Role::User, "What is 2 plus 2?"),
    ///     Message::new(Role::Assistant, "4"),
    ///     Message::new(Role::User, "And 3 plus 3?"),
    ///     Message::new(Role::Assistant, "6"),
    /// ]);
    /// let full = tok.render(&c).unwrap();
    /// let cut = tok.render_truncated(&c, full.ids.len() - 1).unwrap();
    /// assert_eq!(tok.decode(&cut.ids).unwrap(), "<|system|>Be brief.<|end|><|user|>And 3 plus 3?<|end|><|assistant|>6<|end|>");
    /// assert_eq!(cut.dropped_messages, 2);
    /// ```
    pub fn render_truncated(&self, conversation: &Conversation, max_tokens: usize) -> Result<RenderedChat, ChatError> {
        conversation.validate().map_err(ChatError::Invalid)?;
        let turns: Vec<Turn> = conversation
            .messages
            .iter()
            .map(|m| self.turn(m.role, &m.content))
            .collect::<Result<_, _>>()?;
        self.assemble(turns, max_tokens, None)
    }

    /// The ids of a prompt for the model to answer: the conversation (its last turn the user's) and
    /// `<|assistant|>`, in at most `max_tokens` tokens (truncated like [`ChatTokenizer::render_truncated`];
    /// leave room for the answer by passing the block size minus the tokens to generate).
    pub fn render_prompt(&self, conversation: &Conversation, max_tokens: usize) -> Result<Vec<u32>, ChatError> {
        conversation.validate().map_err(ChatError::Invalid)?;
        if conversation.messages.last().map(|m| m.role) != Some(Role::User) {
            return Err(ChatError::Invalid("a prompt must end with the user's turn".into()));
        }
        let turns: Vec<Turn> = conversation
            .messages
            .iter()
            .map(|m| self.turn(m.role, &m.content))
            .collect::<Result<_, _>>()?;
        Ok(self.assemble(turns, max_tokens, Some(self.role_id(Role::Assistant)))?.ids)
    }

    fn assemble(
        &self,
        turns: Vec<Turn>,
        max_tokens: usize,
        tail: Option<u32>,
    ) -> Result<RenderedChat, ChatError> {
        let has_system = turns.first().map(|t| t.role) == Some(Role::System);
        let first = usize::from(has_system);
        let len = |range: std::ops::Range<usize>| turns[range].iter().map(|t| t.ids.len()).sum::<usize>();
        let tail_len = usize::from(tail.is_some());
        // Exchange starts: every user turn after the system turn.
        let starts: Vec<usize> = (first..turns.len()).filter(|&i| turns[i].role == Role::User).collect();
        let system_len = len(0..first);
        let mut keep_system = has_system;
        let mut from = first;
        let fits = |from: usize, system: bool| (if system { system_len } else { 0 }) + len(from..turns.len()) + tail_len <= max_tokens;
        if !fits(first, true) {
            let last_start = *starts.last().expect("a valid conversation has a user turn");
            from = *starts.iter().find(|&&s| fits(s, true)).unwrap_or(&last_start);
            if !fits(from, true) {
                keep_system = false;
                if !fits(from, false) {
                    return Err(ChatError::TooLong { needed: len(from..turns.len()) + tail_len, max_tokens });
                }
            }
        }
        let mut ids = Vec::new();
        let mut loss_mask = Vec::new();
        let kept = (0..first).filter(|_| keep_system).chain(from..turns.len());
        for i in kept {
            ids.extend_from_slice(&turns[i].ids);
            loss_mask.extend_from_slice(&turns[i].mask);
        }
        if let Some(t) = tail {
            ids.push(t);
            loss_mask.push(0);
        }
        let dropped_system = has_system && !keep_system;
        Ok(RenderedChat { ids, loss_mask, dropped_messages: (from - first) + usize::from(dropped_system), dropped_system })
    }
}

impl Tokenizer for ChatTokenizer {
    fn encode(&self, text: &str) -> Result<Vec<u32>, TokenizerError> {
        self.inner.encode(text)
    }
    fn encode_with_special(&self, text: &str, allowed: &[&str]) -> Result<Vec<u32>, TokenizerError> {
        let mut out = Vec::new();
        for seg in self.specials.split(text, Some(allowed)) {
            match seg {
                models::tokenizer::Segment::Text(t) => out.extend(self.inner.encode(t)?),
                models::tokenizer::Segment::Special(id) => out.push(id),
            }
        }
        Ok(out)
    }
    fn decode(&self, ids: &[u32]) -> Result<String, TokenizerError> {
        ChatTokenizer::decode(self, ids)
    }
    fn vocab_size(&self) -> usize {
        ChatTokenizer::vocab_size(self)
    }
    fn special_token_id(&self, text: &str) -> Option<u32> {
        self.specials.id(text)
    }
}
