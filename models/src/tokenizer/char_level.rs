//! Character-level tokenizer: one id per distinct character of a corpus, in sorted order (nanoGPT's
//! `sorted(set(text))`, so tiny Shakespeare gives its classic 65 symbols).
use super::error::TokenizerError;
use std::collections::HashMap;

const NO_ID: u32 = u32::MAX;

/// A character-level vocabulary.
///
/// ```
/// use models::tokenizer::CharTokenizer;
/// let tok = CharTokenizer::from_corpus("hello world").unwrap();
/// assert_eq!(tok.vocab_size(), 8); // ' ', d, e, h, l, o, r, w
/// let ids = tok.encode("hold").unwrap();
/// assert_eq!(ids, vec![3, 5, 4, 1]);
/// assert_eq!(tok.decode(&ids).unwrap(), "hold");
/// assert!(tok.encode("z").is_err()); // not in the vocabulary
/// ```
#[derive(Clone, Debug)]
pub struct CharTokenizer {
    chars: Vec<char>,
    /// Ids of ASCII characters (boxed: keeps `AnyTokenizer` small).
    ascii: Box<[u32; 128]>,
    others: HashMap<char, u32>,
}

impl CharTokenizer {
    /// The sorted distinct characters of `corpus`.
    pub fn from_corpus(corpus: &str) -> Result<Self, TokenizerError> {
        let mut chars: Vec<char> = corpus.chars().collect();
        chars.sort_unstable();
        chars.dedup();
        if chars.is_empty() {
            return Err(TokenizerError::InvalidArgument(
                "cannot build a character vocabulary from an empty corpus".into(),
            ));
        }
        CharTokenizer::from_chars(chars)
    }

    /// A vocabulary of exactly these characters, id = position. Characters must be distinct.
    pub fn from_chars(chars: Vec<char>) -> Result<Self, TokenizerError> {
        let mut ascii = Box::new([NO_ID; 128]);
        let mut others = HashMap::new();
        for (id, &ch) in chars.iter().enumerate() {
            let fresh = if (ch as u32) < 128 {
                std::mem::replace(&mut ascii[ch as usize], id as u32) == NO_ID
            } else {
                others.insert(ch, id as u32).is_none()
            };
            if !fresh {
                return Err(TokenizerError::InvalidArgument(format!(
                    "character {ch:?} appears twice in the vocabulary"
                )));
            }
        }
        Ok(CharTokenizer { chars, ascii, others })
    }

    /// The vocabulary, id order.
    pub fn chars(&self) -> &[char] {
        &self.chars
    }

    pub fn vocab_size(&self) -> usize {
        self.chars.len()
    }

    /// The id of a character.
    #[inline]
    pub fn char_id(&self, ch: char) -> Option<u32> {
        let id = if (ch as u32) < 128 {
            self.ascii[ch as usize]
        } else {
            *self.others.get(&ch).unwrap_or(&NO_ID)
        };
        (id != NO_ID).then_some(id)
    }

    /// One id per character; a character outside the vocabulary is an error naming it.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, TokenizerError> {
        text.chars()
            .map(|ch| self.char_id(ch).ok_or(TokenizerError::UnknownChar { ch }))
            .collect()
    }

    pub fn decode(&self, ids: &[u32]) -> Result<String, TokenizerError> {
        ids.iter()
            .map(|&id| {
                self.chars.get(id as usize).copied().ok_or(TokenizerError::UnknownId {
                    id,
                    vocab_size: self.chars.len(),
                })
            })
            .collect()
    }
}
