//! The JSON format our own vocabularies (character-level and byte-level BPE) are saved in.
//!
//! ```json
//! {"format": "rlhf-tokenizer", "version": 1, "kind": "char", "chars": ["\n", " ", "!", ...]}
//! {"format": "rlhf-tokenizer", "version": 1, "kind": "bpe", "pre_tokenizer": "gpt2",
//!  "vocab": ["!", "\"", ..., "Ġt", ...],          // id order, in GPT-2's byte alphabet
//!  "merges": [[220, 83, 256], ...],                // rank order: left id, right id, merged id
//!  "special_tokens": [{"text": "<|endoftext|>", "id": 512}, ...]}
//! ```
//!
//! BPE tokens are written in GPT-2's byte alphabet (as in `vocab.json`), so any byte string is valid JSON
//! text. Merges are written by id, so a vocabulary where one byte string has two ids still round-trips.
use super::bpe::{BpeBuilder, BpeTokenizer};
use super::byte_unicode::{bytes_to_token_text, token_text_to_bytes};
use super::char_level::CharTokenizer;
use super::error::TokenizerError;
use super::gpt2_files::json_error;
use serde::{Deserialize, Serialize};
use std::path::Path;

const FORMAT: &str = "rlhf-tokenizer";
const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct SavedSpecial {
    text: String,
    id: u32,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
enum SavedBody {
    Char {
        chars: Vec<String>,
    },
    Bpe {
        pre_tokenizer: String,
        vocab: Vec<String>,
        merges: Vec<[u32; 3]>,
        special_tokens: Vec<SavedSpecial>,
    },
}

#[derive(Serialize, Deserialize)]
struct SavedFile {
    format: String,
    version: u32,
    #[serde(flatten)]
    body: SavedBody,
}

/// A tokenizer that can be saved in our format.
#[derive(Clone, Debug)]
pub enum SavedTokenizer {
    Char(CharTokenizer),
    Bpe(BpeTokenizer),
}

fn char_body(tok: &CharTokenizer) -> SavedBody {
    SavedBody::Char {
        chars: tok.chars().iter().map(|c| c.to_string()).collect(),
    }
}

fn bpe_body(tok: &BpeTokenizer) -> SavedBody {
    let vocab = (0..tok.vocab_size() as u32)
        .map(|id| bytes_to_token_text(tok.token_bytes(id).expect("id below vocab_size")))
        .collect();
    let merges = tok
        .merges()
        .iter()
        .map(|&(l, r)| [l, r, tok.merge_of(l, r).expect("listed merge is in the table").0])
        .collect();
    let special_tokens = tok
        .special_tokens()
        .iter()
        .map(|(text, id)| SavedSpecial {
            text: text.to_string(),
            id,
        })
        .collect();
    SavedBody::Bpe {
        pre_tokenizer: "gpt2".into(),
        vocab,
        merges,
        special_tokens,
    }
}

/// Writes the JSON text of a saved tokenizer.
pub fn to_json(tok: &SavedTokenizer) -> String {
    let body = match tok {
        SavedTokenizer::Char(t) => char_body(t),
        SavedTokenizer::Bpe(t) => bpe_body(t),
    };
    let file = SavedFile {
        format: FORMAT.into(),
        version: VERSION,
        body,
    };
    serde_json::to_string(&file).expect("plain data serializes")
}

/// Parses the JSON text of a saved tokenizer; `path` only names the source in errors.
pub fn from_json(text: &str, path: &Path) -> Result<SavedTokenizer, TokenizerError> {
    let bad = |message: String| TokenizerError::invalid_file(path, 0, message);
    let file: SavedFile = serde_json::from_str(text).map_err(|e| json_error(path, e))?;
    if file.format != FORMAT || file.version != VERSION {
        return Err(bad(format!(
            "not a saved tokenizer of this program: format {:?} version {} (expected {FORMAT:?} version {VERSION})",
            file.format, file.version
        )));
    }
    match file.body {
        SavedBody::Char { chars } => {
            let mut list = Vec::with_capacity(chars.len());
            for (i, s) in chars.iter().enumerate() {
                let mut it = s.chars();
                match (it.next(), it.next()) {
                    (Some(c), None) => list.push(c),
                    _ => return Err(bad(format!("chars[{i}] = {s:?} is not exactly one character"))),
                }
            }
            CharTokenizer::from_chars(list)
                .map(SavedTokenizer::Char)
                .map_err(|e| bad(e.to_string()))
        }
        SavedBody::Bpe {
            pre_tokenizer,
            vocab,
            merges,
            special_tokens,
        } => {
            if pre_tokenizer != "gpt2" {
                return Err(bad(format!(
                    "unknown pre_tokenizer {pre_tokenizer:?} (expected \"gpt2\")"
                )));
            }
            let mut bytes = Vec::with_capacity(vocab.len());
            for (id, token) in vocab.iter().enumerate() {
                let b = token_text_to_bytes(token).ok_or_else(|| {
                    bad(format!(
                        "vocab[{id}] = {token:?} has a character outside GPT-2's byte alphabet"
                    ))
                })?;
                bytes.push(b);
            }
            let mut builder = BpeBuilder::new_allowing_duplicates(bytes).map_err(bad)?;
            for (rank, [l, r, m]) in merges.iter().enumerate() {
                builder
                    .add_merge_ids(*l, *r, *m)
                    .map_err(|e| bad(format!("merges[{rank}]: {e}")))?;
            }
            let specials: Vec<(&str, u32)> = special_tokens.iter().map(|s| (s.text.as_str(), s.id)).collect();
            for s in &special_tokens {
                if vocab.get(s.id as usize).and_then(|t| token_text_to_bytes(t)) != Some(s.text.as_bytes().to_vec()) {
                    return Err(bad(format!(
                        "special token {:?}: vocab[{}] is not its text",
                        s.text, s.id
                    )));
                }
            }
            builder.build(&specials).map(SavedTokenizer::Bpe).map_err(bad)
        }
    }
}

/// Saves a tokenizer to a JSON file.
///
/// ```
/// use models::tokenizer::{CharTokenizer, saved::{save, load, SavedTokenizer}};
/// let path = std::env::temp_dir().join(format!("saved_doc_{}.json", std::process::id()));
/// save(&SavedTokenizer::Char(CharTokenizer::from_corpus("to be or not").unwrap()), &path).unwrap();
/// let SavedTokenizer::Char(back) = load(&path).unwrap() else { panic!("kind changed") };
/// assert_eq!(back.decode(&back.encode("not be").unwrap()).unwrap(), "not be");
/// ```
pub fn save(tok: &SavedTokenizer, path: impl AsRef<Path>) -> Result<(), TokenizerError> {
    let path = path.as_ref();
    std::fs::write(path, to_json(tok)).map_err(|e| TokenizerError::io(path, e))
}

/// Loads a tokenizer saved by [`save`].
pub fn load(path: impl AsRef<Path>) -> Result<SavedTokenizer, TokenizerError> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|e| TokenizerError::io(path, e))?;
    from_json(&text, path)
}
