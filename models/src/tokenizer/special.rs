//! Special tokens: their names, and how text is split around them.
//!
//! A special token is never produced by splitting ordinary text: `encode` treats `<|endoftext|>` written in
//! a document as the seven ordinary pieces it is made of. Only `encode_with_special`, given the set of
//! specials the caller allows, maps their literal text to their ids.
//!
//! | token | used by |
//! | --- | --- |
//! | `<|endoftext|>` | GPT-2 (id 50256) and our BPE vocabularies: separates documents |
//! | `<|system|>`, `<|user|>`, `<|assistant|>` | chat format: start of a turn of that role (SFT, chat, PPO) |
//! | `<|end|>` | chat format: end of a turn |
//! | `<|pad|>` | padding for batched GPT inputs |
//! | `[CLS] [SEP] [MASK] [PAD] [UNK]` | BERT WordPiece vocabularies (masked-LM encoder, reward model) |
//!
//! A chat turn is written `<|user|>` + text + `<|end|>`; a conversation for the assistant to continue ends
//! with `<|assistant|>`.

/// End of a document (GPT-2's id 50256).
pub const ENDOFTEXT: &str = "<|endoftext|>";
/// Start of a system turn in the chat format.
pub const SYSTEM: &str = "<|system|>";
/// Start of a user turn in the chat format.
pub const USER: &str = "<|user|>";
/// Start of an assistant turn in the chat format.
pub const ASSISTANT: &str = "<|assistant|>";
/// End of a chat turn.
pub const END_OF_TURN: &str = "<|end|>";
/// Padding for batches of GPT inputs.
pub const PAD: &str = "<|pad|>";
/// The GPT-side specials in their id order when we add them to a vocabulary.
pub const CHAT_TOKENS: [&str; 5] = [SYSTEM, USER, ASSISTANT, END_OF_TURN, PAD];
/// The specials a newly trained BPE vocabulary gets, at its end, in this order.
pub const DEFAULT_BPE_SPECIALS: [&str; 6] = [ENDOFTEXT, SYSTEM, USER, ASSISTANT, END_OF_TURN, PAD];

/// BERT: start of a sequence; its final hidden state is the sequence summary.
pub const CLS: &str = "[CLS]";
/// BERT: end of a segment.
pub const SEP: &str = "[SEP]";
/// BERT: a masked position for masked-LM training.
pub const MASK: &str = "[MASK]";
/// BERT: padding.
pub const BERT_PAD: &str = "[PAD]";
/// BERT: a word that WordPiece cannot spell.
pub const UNK: &str = "[UNK]";
/// The BERT specials in the usual vocab.txt order.
pub const BERT_SPECIALS: [&str; 5] = [BERT_PAD, UNK, CLS, SEP, MASK];

/// A set of special tokens with their ids.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SpecialTokens {
    tokens: Vec<(String, u32)>,
}

/// A piece of text split around special tokens.
#[derive(Debug, PartialEq, Eq)]
pub enum Segment<'a> {
    /// Ordinary text, to be encoded normally.
    Text(&'a str),
    /// A special token's id.
    Special(u32),
}

impl SpecialTokens {
    pub fn new() -> Self {
        SpecialTokens::default()
    }

    /// Adds (or re-points) a special token.
    pub fn insert(&mut self, text: &str, id: u32) {
        if let Some(entry) = self.tokens.iter_mut().find(|(t, _)| t == text) {
            entry.1 = id;
        } else {
            self.tokens.push((text.to_string(), id));
        }
    }

    pub fn id(&self, text: &str) -> Option<u32> {
        self.tokens.iter().find(|(t, _)| t == text).map(|(_, id)| *id)
    }

    /// The text of the special token with this id.
    pub fn text(&self, id: u32) -> Option<&str> {
        self.tokens.iter().find(|(_, i)| *i == id).map(|(t, _)| t.as_str())
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, u32)> {
        self.tokens.iter().map(|(t, id)| (t.as_str(), *id))
    }

    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// Splits `text` at every occurrence of an allowed special token (leftmost first, the longest on a tie).
    /// Names in `allowed` that are not in this set are ignored; `None` allows all of them.
    ///
    /// ```
    /// use models::tokenizer::{SpecialTokens, Segment};
    /// let mut specials = SpecialTokens::new();
    /// specials.insert("<|endoftext|>", 9);
    /// let parts = specials.split("a<|endoftext|>b", None);
    /// assert_eq!(parts, [Segment::Text("a"), Segment::Special(9), Segment::Text("b")]);
    /// assert_eq!(specials.split("a<|endoftext|>b", Some(&[])), [Segment::Text("a<|endoftext|>b")]);
    /// ```
    pub fn split<'a>(&self, text: &'a str, allowed: Option<&[&str]>) -> Vec<Segment<'a>> {
        let active: Vec<(&str, u32)> = self
            .tokens
            .iter()
            .filter(|(t, _)| !t.is_empty() && !matches!(allowed, Some(a) if !a.contains(&t.as_str())))
            .map(|(t, id)| (t.as_str(), *id))
            .collect();
        let mut out = Vec::new();
        // Next occurrence of each active special at or after `from` (None: no more).
        let mut next_at: Vec<Option<usize>> = active.iter().map(|(t, _)| text.find(t)).collect();
        let mut start = 0;
        loop {
            let mut best: Option<(usize, usize)> = None; // (position, index into active)
            for (k, pos) in next_at.iter().enumerate() {
                if let Some(p) = *pos {
                    let better = match best {
                        None => true,
                        Some((bp, bk)) => p < bp || (p == bp && active[k].0.len() > active[bk].0.len()),
                    };
                    if better {
                        best = Some((p, k));
                    }
                }
            }
            let Some((pos, k)) = best else { break };
            if pos > start {
                out.push(Segment::Text(&text[start..pos]));
            }
            out.push(Segment::Special(active[k].1));
            start = pos + active[k].0.len();
            for (j, slot) in next_at.iter_mut().enumerate() {
                if matches!(*slot, Some(p) if p < start) {
                    *slot = text[start..].find(active[j].0).map(|p| p + start);
                }
            }
        }
        if start < text.len() {
            out.push(Segment::Text(&text[start..]));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_takes_leftmost_then_longest_and_respects_allowed() {
        let mut s = SpecialTokens::new();
        s.insert("<|end|>", 1);
        s.insert("<|endoftext|>", 2);
        s.insert("<|e", 3);
        let text = "x<|endoftext|><|end|>y<|e";
        assert_eq!(
            s.split(text, None),
            [
                Segment::Text("x"),
                Segment::Special(2),
                Segment::Special(1),
                Segment::Text("y"),
                Segment::Special(3)
            ]
        );
        assert_eq!(
            s.split(text, Some(&["<|end|>"])),
            [
                Segment::Text("x<|endoftext|>"),
                Segment::Special(1),
                Segment::Text("y<|e")
            ]
        );
        assert_eq!(s.split("", None), []);
        assert_eq!(s.text(2), Some("<|endoftext|>"));
    }
}
