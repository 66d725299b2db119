//! A character-level WordPiece vocabulary for pretraining a small BERT from scratch, and writing any
//! WordPiece vocabulary back as a Hugging Face `vocab.txt` (+ `tokenizer_config.json`).
//!
//! A character vocabulary for BERT cannot be a plain list of characters: BERT's tokenizer splits text on
//! whitespace and punctuation and spells each word with a first piece and `##` continuation pieces. So the
//! vocabulary holds the five BERT specials (`[PAD] [UNK] [CLS] [SEP] [MASK]`, ids 0..5), every character as
//! a word-initial piece and, for characters that can continue a word (not whitespace, not punctuation),
//! its `##` piece. `hello, world` then becomes `h ##e ##l ##l ##o , w ##o ##r ##l ##d`: one token per
//! character, with word boundaries kept in which piece is used (whitespace itself is not a token, as in
//! every BERT). Case is kept (`do_lower_case: false`), so the folder loads with
//! [`load_wordpiece`](super::load_wordpiece) exactly as it was trained.
use std::collections::BTreeSet;
use std::path::Path;

use engine::{Error, Result};

use crate::tokenizer::bert_normalizer::{is_bert_control, is_bert_punctuation, is_bert_whitespace};
use crate::tokenizer::special::BERT_SPECIALS;
use crate::tokenizer::WordPiece;

/// The character WordPiece vocabulary of the characters in `text` (sorted by code point after the
/// specials), case kept.
///
/// ```
/// use models::bert::char_vocab::char_wordpiece;
/// let wp = char_wordpiece("Hi, hi!")?;
/// assert_eq!(wp.id_to_token(4), Some("[MASK]"));
/// assert_eq!(wp.encode("Hi [MASK], hi").tokens, ["[CLS]", "H", "##i", "[MASK]", ",", "h", "##i", "[SEP]"]);
/// assert_eq!(wp.token_id("##,"), None); // punctuation never continues a word
/// # Ok::<(), engine::Error>(())
/// ```
pub fn char_wordpiece(text: &str) -> Result<WordPiece> {
    let chars: BTreeSet<char> = text.chars().filter(|&c| !is_bert_whitespace(c) && !is_bert_control(c) && c != '\0').collect();
    let mut tokens: Vec<String> = BERT_SPECIALS.iter().map(|s| s.to_string()).collect();
    tokens.extend(chars.iter().map(|c| c.to_string()));
    tokens.extend(chars.iter().filter(|&&c| !is_bert_punctuation(c)).map(|c| format!("##{c}")));
    // A character spelling a special (e.g. "[" is punctuation, never "[PAD]") cannot collide; duplicates
    // would only come from the specials themselves.
    let mut wp = WordPiece::from_tokens(tokens).map_err(|e| Error::op("char_wordpiece", e.to_string()))?;
    wp.normalizer.lowercase = false;
    Ok(wp)
}

/// Writes `vocab.txt` (one token a line, id = line index) and `tokenizer_config.json` (the tokenizer
/// class and whether it lower-cases) into `dir`, as a Hugging Face BERT folder holds them.
///
/// ```
/// use models::bert::char_vocab::{char_wordpiece, save_wordpiece};
/// use models::bert::load_wordpiece;
/// let dir = std::env::temp_dir().join(format!("char_vocab_doc_{}", std::process::id()));
/// let wp = char_wordpiece("To be, or not")?;
/// save_wordpiece(&wp, &dir)?;
/// let back = load_wordpiece(&dir)?;
/// assert_eq!(back.encode("To be").ids, wp.encode("To be").ids); // case kept after the round trip
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # Ok::<(), engine::Error>(())
/// ```
pub fn save_wordpiece(wp: &WordPiece, dir: impl AsRef<Path>) -> Result<()> {
    let dir = dir.as_ref();
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e.to_string()))?;
    let mut vocab = String::new();
    for id in 0..wp.vocab_size() as u32 {
        let token = wp.id_to_token(id).ok_or_else(|| Error::op("save_wordpiece", format!("no token for id {id}")))?;
        vocab.push_str(token);
        vocab.push('\n');
    }
    let path = dir.join("vocab.txt");
    std::fs::write(&path, vocab).map_err(|e| Error::io(&path, e.to_string()))?;
    let config = serde_json::json!({
        "tokenizer_class": "BertTokenizer",
        "do_lower_case": wp.normalizer.lowercase,
    });
    let path = dir.join("tokenizer_config.json");
    std::fs::write(&path, serde_json::to_string_pretty(&config).unwrap_or_default()).map_err(|e| Error::io(&path, e.to_string()))
}
