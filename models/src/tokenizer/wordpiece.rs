//! WordPiece, BERT's tokenizer: `vocab.txt` (one token a line, id = line index), the BERT normalizer and
//! pre-tokenizer, greedy longest-match-first with `##` continuation pieces, `[UNK]` for words it cannot
//! spell or longer than 100 characters, and the `[CLS] … [SEP]` template.
use super::bert_normalizer::{bert_pre_tokenize, BertNormalizer};
use super::error::TokenizerError;
use super::special::{Segment, SpecialTokens, BERT_SPECIALS, CLS, SEP, UNK};
use std::collections::HashMap;
use std::path::Path;

/// A WordPiece vocabulary with its normalizer.
///
/// ```
/// use models::tokenizer::WordPiece;
/// let vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##aff", "##able", "hello", "!"];
/// let wp = WordPiece::from_tokens(vocab.iter().map(|s| s.to_string()).collect()).unwrap();
/// let enc = wp.encode("Hello unaffable [MASK]!");
/// assert_eq!(enc.tokens, ["[CLS]", "hello", "un", "##aff", "##able", "[MASK]", "!", "[SEP]"]);
/// assert_eq!(enc.ids, vec![2, 8, 5, 6, 7, 4, 9, 3]);
/// assert_eq!(wp.encode_ordinary("xyz"), vec![1]); // [UNK]
/// ```
#[derive(Clone, Debug)]
pub struct WordPiece {
    tokens: Vec<String>,
    ids: HashMap<String, u32>,
    unk_id: u32,
    specials: SpecialTokens,
    pub normalizer: BertNormalizer,
    /// Longer words (in characters) become `[UNK]` (BERT: 100).
    pub max_input_chars_per_word: usize,
    pub continuing_subword_prefix: String,
}

/// The result of [`WordPiece::encode`]: ids, their token strings, and segment (token type) ids.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WordPieceEncoding {
    pub ids: Vec<u32>,
    pub tokens: Vec<String>,
    pub type_ids: Vec<u32>,
}

impl WordPiece {
    /// A vocabulary from its tokens in id order. It must contain `[UNK]`; the BERT specials it contains
    /// (`[PAD] [UNK] [CLS] [SEP] [MASK]`) are recognised in text by [`WordPiece::encode`].
    pub fn from_tokens(tokens: Vec<String>) -> Result<Self, TokenizerError> {
        let mut ids = HashMap::with_capacity(tokens.len());
        for (id, token) in tokens.iter().enumerate() {
            if ids.insert(token.clone(), id as u32).is_some() {
                return Err(TokenizerError::InvalidArgument(format!(
                    "token {token:?} appears twice"
                )));
            }
        }
        WordPiece::from_parts(tokens, ids)
    }

    fn from_parts(tokens: Vec<String>, ids: HashMap<String, u32>) -> Result<Self, TokenizerError> {
        let unk_id = *ids
            .get(UNK)
            .ok_or_else(|| TokenizerError::InvalidArgument("the vocabulary has no [UNK]".into()))?;
        let mut specials = SpecialTokens::new();
        for name in BERT_SPECIALS {
            if let Some(&id) = ids.get(name) {
                specials.insert(name, id);
            }
        }
        Ok(WordPiece {
            tokens,
            ids,
            unk_id,
            specials,
            normalizer: BertNormalizer::default(),
            max_input_chars_per_word: 100,
            continuing_subword_prefix: "##".to_string(),
        })
    }

    /// Loads BERT's `vocab.txt`: one token a line; an empty or repeated token is an error naming the line.
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("vocab_doc_{}.txt", std::process::id()));
    /// std::fs::write(&path, "[PAD]\n[UNK]\n[CLS]\n[SEP]\nplay\n##ing\n").unwrap();
    /// let wp = models::tokenizer::WordPiece::from_vocab_file(&path).unwrap();
    /// assert_eq!(wp.encode("Playing").tokens, ["[CLS]", "play", "##ing", "[SEP]"]);
    /// std::fs::write(&path, "[UNK]\nplay\nplay\n").unwrap();
    /// let err = models::tokenizer::WordPiece::from_vocab_file(&path).unwrap_err();
    /// assert!(err.to_string().contains(":3: token \"play\" repeats line 2"));
    /// ```
    pub fn from_vocab_file(path: impl AsRef<Path>) -> Result<Self, TokenizerError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| TokenizerError::io(path, e))?;
        let mut tokens = Vec::new();
        let mut ids = HashMap::new();
        for (index, line) in text.lines().enumerate() {
            let token = line.trim_end();
            if token.is_empty() {
                return Err(TokenizerError::invalid_file(path, index + 1, "empty token"));
            }
            if let Some(first) = ids.insert(token.to_string(), index as u32) {
                return Err(TokenizerError::invalid_file(
                    path,
                    index + 1,
                    format!("token {token:?} repeats line {}", first + 1),
                ));
            }
            tokens.push(token.to_string());
        }
        WordPiece::from_parts(tokens, ids).map_err(|e| TokenizerError::invalid_file(path, 0, e.to_string()))
    }

    /// Loads `vocab.txt` from a directory.
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<Self, TokenizerError> {
        WordPiece::from_vocab_file(dir.as_ref().join("vocab.txt"))
    }

    pub fn vocab_size(&self) -> usize {
        self.tokens.len()
    }

    pub fn token_id(&self, token: &str) -> Option<u32> {
        self.ids.get(token).copied()
    }

    pub fn id_to_token(&self, id: u32) -> Option<&str> {
        self.tokens.get(id as usize).map(String::as_str)
    }

    pub fn special_tokens(&self) -> &SpecialTokens {
        &self.specials
    }

    /// Greedy longest-match-first on one pre-tokenized word, appending ids.
    fn encode_word(&self, word: &str, out: &mut Vec<u32>, candidate: &mut String) {
        let char_count = word.chars().count();
        if char_count > self.max_input_chars_per_word {
            out.push(self.unk_id);
            return;
        }
        let before = out.len();
        let mut start = 0;
        while start < word.len() {
            let mut end = word.len();
            let mut found = None;
            while start < end {
                candidate.clear();
                if start > 0 {
                    candidate.push_str(&self.continuing_subword_prefix);
                }
                candidate.push_str(&word[start..end]);
                if let Some(&id) = self.ids.get(candidate.as_str()) {
                    found = Some(id);
                    break;
                }
                // Step back one character.
                end = word[..end].char_indices().next_back().map_or(start, |(i, _)| i);
            }
            match found {
                Some(id) => out.push(id),
                None => {
                    out.truncate(before);
                    out.push(self.unk_id);
                    return;
                }
            }
            start = end;
        }
    }

    /// Normalizes, pre-tokenizes and WordPiece-encodes ordinary text (no template; `[MASK]` written in the
    /// text is ordinary text here: `[`, `mask`, `]`).
    pub fn encode_ordinary(&self, text: &str) -> Vec<u32> {
        let mut out = Vec::new();
        self.encode_ordinary_into(text, &mut out);
        out
    }

    fn encode_ordinary_into(&self, text: &str, out: &mut Vec<u32>) {
        let normalized = self.normalizer.normalize(text);
        let mut candidate = String::new();
        for word in bert_pre_tokenize(&normalized) {
            self.encode_word(word, out, &mut candidate);
        }
    }

    /// Like [`WordPiece::encode_ordinary`], but the special tokens named in `allowed` that appear in the raw
    /// text are mapped to their ids.
    pub fn encode_with_special(&self, text: &str, allowed: &[&str]) -> Vec<u32> {
        let mut out = Vec::new();
        for segment in self.specials.split(text, Some(allowed)) {
            match segment {
                Segment::Text(t) => self.encode_ordinary_into(t, &mut out),
                Segment::Special(id) => out.push(id),
            }
        }
        out
    }

    /// What BERT models are fed: `[CLS]` + the text's ids (every BERT special written in the text
    /// recognised) + `[SEP]`, as HF's `BertTokenizer` does.
    pub fn encode(&self, text: &str) -> WordPieceEncoding {
        let mut ids = Vec::new();
        self.push_template_piece(CLS, &mut ids);
        ids.extend(self.encode_with_special(text, &BERT_SPECIALS));
        self.push_template_piece(SEP, &mut ids);
        self.finish(ids, 0)
    }

    /// A sentence pair: `[CLS] a [SEP] b [SEP]`, type ids 0 for the first part and 1 for `b [SEP]`.
    pub fn encode_pair(&self, a: &str, b: &str) -> WordPieceEncoding {
        let first = self.encode(a);
        let mut ids = first.ids;
        let split = ids.len();
        ids.extend(self.encode_with_special(b, &BERT_SPECIALS));
        self.push_template_piece(SEP, &mut ids);
        self.finish(ids, split)
    }

    fn push_template_piece(&self, name: &str, ids: &mut Vec<u32>) {
        if let Some(id) = self.specials.id(name) {
            ids.push(id);
        }
    }

    fn finish(&self, ids: Vec<u32>, second_segment_start: usize) -> WordPieceEncoding {
        let tokens = ids.iter().map(|&id| self.tokens[id as usize].clone()).collect();
        let type_ids = (0..ids.len())
            .map(|i| u32::from(second_segment_start > 0 && i >= second_segment_start))
            .collect();
        WordPieceEncoding { ids, tokens, type_ids }
    }

    /// Joins tokens with spaces, gluing `##` pieces to the previous one. Lossy (case, accents and spacing
    /// around punctuation are gone after normalization).
    pub fn decode(&self, ids: &[u32]) -> Result<String, TokenizerError> {
        let mut out = String::new();
        for (i, &id) in ids.iter().enumerate() {
            let token = self.id_to_token(id).ok_or(TokenizerError::UnknownId {
                id,
                vocab_size: self.vocab_size(),
            })?;
            match token.strip_prefix(self.continuing_subword_prefix.as_str()) {
                Some(rest) if i > 0 => out.push_str(rest),
                _ => {
                    if i > 0 {
                        out.push(' ');
                    }
                    out.push_str(token);
                }
            }
        }
        Ok(out)
    }
}
