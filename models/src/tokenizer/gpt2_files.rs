//! Loading GPT-2's own vocabulary files: `encoder.json` (HF: `vocab.json`) and `vocab.bpe` (HF: `merges.txt`).
//!
//! Both store tokens in GPT-2's byte alphabet (see `byte_unicode.rs`). Every problem is reported with the
//! file and the line (and for JSON the column).
use super::bpe::{BpeBuilder, BpeTokenizer};
use super::byte_unicode::unicode_to_bytes;
use super::error::TokenizerError;
use super::special::ENDOFTEXT;
use serde::de::{Deserializer, MapAccess, Visitor};
use std::path::{Path, PathBuf};

/// Turns a serde_json error into an `InvalidFile` carrying its line.
pub(crate) fn json_error(path: &Path, err: serde_json::Error) -> TokenizerError {
    let full = err.to_string();
    let suffix = format!(" at line {} column {}", err.line(), err.column());
    let message = match full.strip_suffix(&suffix) {
        Some(m) => format!("{m} (column {})", err.column()),
        None => full,
    };
    TokenizerError::invalid_file(path, err.line(), message)
}

/// The token map of `encoder.json`, parsed entry by entry so that a bad entry is reported at its position.
struct EncoderEntries(Vec<(Vec<u8>, u32)>);

impl<'de> serde::Deserialize<'de> for EncoderEntries {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntriesVisitor;
        impl<'de> Visitor<'de> for EntriesVisitor {
            type Value = EncoderEntries;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object mapping token strings to integer ids")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<EncoderEntries, A::Error> {
                let inverse = unicode_to_bytes();
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0));
                let mut seen_ids = std::collections::HashSet::new();
                while let Some(token) = map.next_key::<String>()? {
                    let id: u32 = map.next_value()?;
                    let bytes: Option<Vec<u8>> = token.chars().map(|c| inverse(&c)).collect();
                    let Some(bytes) = bytes else {
                        return Err(serde::de::Error::custom(format!(
                            "token {token:?} has a character outside GPT-2's byte alphabet"
                        )));
                    };
                    if !seen_ids.insert(id) {
                        return Err(serde::de::Error::custom(format!(
                            "id {id} is given twice (again for {token:?})"
                        )));
                    }
                    entries.push((bytes, id));
                }
                Ok(EncoderEntries(entries))
            }
        }
        deserializer.deserialize_map(EntriesVisitor)
    }
}

/// Reads `encoder.json`/`vocab.json`: the vocabulary as token bytes in id order.
pub fn read_encoder_json(path: &Path) -> Result<Vec<Vec<u8>>, TokenizerError> {
    let text = std::fs::read_to_string(path).map_err(|e| TokenizerError::io(path, e))?;
    let EncoderEntries(mut entries) = serde_json::from_str(&text).map_err(|e| json_error(path, e))?;
    entries.sort_by_key(|(_, id)| *id);
    let count = entries.len();
    let mut vocab = Vec::with_capacity(entries.len());
    for (expected, (bytes, id)) in entries.into_iter().enumerate() {
        if id as usize != expected {
            return Err(TokenizerError::invalid_file(
                path,
                0,
                format!("ids must be 0..{}: id {expected} is missing", count - 1),
            ));
        }
        vocab.push(bytes);
    }
    Ok(vocab)
}

/// Reads `vocab.bpe`/`merges.txt` into `builder`: an optional `#version` first line, then one merge
/// `left right` a line in rank order (blank lines are skipped).
pub fn read_merges(path: &Path, builder: &mut BpeBuilder) -> Result<(), TokenizerError> {
    let text = std::fs::read_to_string(path).map_err(|e| TokenizerError::io(path, e))?;
    let inverse = unicode_to_bytes();
    let to_bytes = |part: &str, line: usize| -> Result<Vec<u8>, TokenizerError> {
        part.chars()
            .map(|c| inverse(&c))
            .collect::<Option<Vec<u8>>>()
            .ok_or_else(|| {
                TokenizerError::invalid_file(
                    path,
                    line,
                    format!("{part:?} has a character outside GPT-2's byte alphabet"),
                )
            })
    };
    for (index, raw) in text.lines().enumerate() {
        let line_no = index + 1;
        if (index == 0 && raw.starts_with("#version")) || raw.trim().is_empty() {
            continue;
        }
        let mut parts = raw.split(' ');
        let (Some(left), Some(right), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(TokenizerError::invalid_file(
                path,
                line_no,
                format!("expected two tokens separated by one space, found {raw:?}"),
            ));
        };
        if left.is_empty() || right.is_empty() {
            return Err(TokenizerError::invalid_file(
                path,
                line_no,
                format!("empty token in {raw:?}"),
            ));
        }
        let (left, right) = (to_bytes(left, line_no)?, to_bytes(right, line_no)?);
        builder
            .add_merge(&left, &right)
            .map_err(|m| TokenizerError::invalid_file(path, line_no, m))?;
    }
    Ok(())
}

/// Finds the first existing file of `names` in `dir`.
fn find_in(dir: &Path, names: &[&str]) -> Result<PathBuf, TokenizerError> {
    names.iter().map(|n| dir.join(n)).find(|p| p.is_file()).ok_or_else(|| {
        TokenizerError::InvalidArgument(format!(
            "{}: no {} in this directory",
            dir.display(),
            names.join(" or ")
        ))
    })
}

impl BpeTokenizer {
    /// Loads GPT-2's vocabulary and merges from two files. A token `<|endoftext|>` in the vocabulary
    /// becomes the special token of that id (50256 for GPT-2).
    pub fn from_gpt2_files(encoder_json: &Path, merges: &Path) -> Result<BpeTokenizer, TokenizerError> {
        let vocab = read_encoder_json(encoder_json)?;
        let endoftext = vocab.iter().position(|t| t == ENDOFTEXT.as_bytes()).map(|id| id as u32);
        let mut builder = BpeBuilder::new(vocab).map_err(|m| TokenizerError::invalid_file(encoder_json, 0, m))?;
        read_merges(merges, &mut builder)?;
        let specials: Vec<(&str, u32)> = endoftext.map(|id| (ENDOFTEXT, id)).into_iter().collect();
        builder
            .build(&specials)
            .map_err(|m| TokenizerError::invalid_file(encoder_json, 0, m))
    }

    /// Loads GPT-2's tokenizer from a directory holding `encoder.json` or `vocab.json`, and `vocab.bpe`
    /// or `merges.txt`.
    ///
    /// ```
    /// use models::tokenizer::{byte_unicode::bytes_to_token_text, BpeTokenizer};
    /// // A tiny vocabulary in GPT-2's file format: the 256 byte tokens, then "Ġh" and "Ġhi".
    /// let dir = std::env::temp_dir().join(format!("gpt2_dir_doc_{}", std::process::id()));
    /// std::fs::create_dir_all(&dir).unwrap();
    /// let mut entries: Vec<String> =
    ///     (0..=255u8).map(|b| format!("{}: {b}", serde_json::to_string(&bytes_to_token_text(&[b])).unwrap())).collect();
    /// entries.push("\"Ġh\": 256".into());
    /// entries.push("\"Ġhi\": 257".into());
    /// std::fs::write(dir.join("vocab.json"), format!("{{{}}}", entries.join(","))).unwrap();
    /// std::fs::write(dir.join("merges.txt"), "#version: 0.2\nĠ h\nĠh i\n").unwrap();
    /// let gpt2_like = BpeTokenizer::from_gpt2_dir(&dir).unwrap();
    /// assert_eq!(gpt2_like.encode_ordinary("oh hi"), vec![b'o' as u32, b'h' as u32, 257]);
    /// ```
    pub fn from_gpt2_dir(dir: impl AsRef<Path>) -> Result<BpeTokenizer, TokenizerError> {
        let dir = dir.as_ref();
        let encoder = find_in(dir, &["encoder.json", "vocab.json"])?;
        let merges = find_in(dir, &["vocab.bpe", "merges.txt"])?;
        BpeTokenizer::from_gpt2_files(&encoder, &merges)
    }
}
