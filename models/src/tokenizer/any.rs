//! The common interface of the tokenizers, and [`AnyTokenizer`], which holds any one of them and is what
//! the `rlhf tokenize` command loads from a spec string.
use super::bpe::BpeTokenizer;
use super::char_level::CharTokenizer;
use super::error::TokenizerError;
use super::saved::{self, SavedTokenizer};
use super::wordpiece::WordPiece;
use std::path::Path;

/// What every tokenizer offers.
///
/// ```
/// use models::tokenizer::{CharTokenizer, Tokenizer};
/// fn roundtrip(tok: &dyn Tokenizer, text: &str) -> String {
///     tok.decode(&tok.encode(text).unwrap()).unwrap()
/// }
/// let tok = CharTokenizer::from_corpus("abc ").unwrap();
/// assert_eq!(roundtrip(&tok, "cab a"), "cab a");
/// ```
pub trait Tokenizer: Send + Sync {
    /// Encodes ordinary text: special-token strings written in it are text, never special ids.
    fn encode(&self, text: &str) -> Result<Vec<u32>, TokenizerError>;
    /// Encodes text, mapping the special tokens named in `allowed` to their ids.
    fn encode_with_special(&self, text: &str, allowed: &[&str]) -> Result<Vec<u32>, TokenizerError>;
    /// Decodes ids to text (exact for BPE and characters; WordPiece is lossy by nature).
    fn decode(&self, ids: &[u32]) -> Result<String, TokenizerError>;
    /// Number of ids.
    fn vocab_size(&self) -> usize;
    /// The id of a special token, if this vocabulary has it.
    fn special_token_id(&self, text: &str) -> Option<u32>;
}

impl Tokenizer for CharTokenizer {
    fn encode(&self, text: &str) -> Result<Vec<u32>, TokenizerError> {
        CharTokenizer::encode(self, text)
    }
    fn encode_with_special(&self, text: &str, _allowed: &[&str]) -> Result<Vec<u32>, TokenizerError> {
        CharTokenizer::encode(self, text) // a character vocabulary has no special tokens
    }
    fn decode(&self, ids: &[u32]) -> Result<String, TokenizerError> {
        CharTokenizer::decode(self, ids)
    }
    fn vocab_size(&self) -> usize {
        CharTokenizer::vocab_size(self)
    }
    fn special_token_id(&self, _text: &str) -> Option<u32> {
        None
    }
}

impl Tokenizer for BpeTokenizer {
    fn encode(&self, text: &str) -> Result<Vec<u32>, TokenizerError> {
        Ok(self.encode_ordinary(text))
    }
    fn encode_with_special(&self, text: &str, allowed: &[&str]) -> Result<Vec<u32>, TokenizerError> {
        Ok(BpeTokenizer::encode_with_special(self, text, allowed))
    }
    fn decode(&self, ids: &[u32]) -> Result<String, TokenizerError> {
        BpeTokenizer::decode(self, ids)
    }
    fn vocab_size(&self) -> usize {
        BpeTokenizer::vocab_size(self)
    }
    fn special_token_id(&self, text: &str) -> Option<u32> {
        self.special_tokens().id(text)
    }
}

impl Tokenizer for WordPiece {
    fn encode(&self, text: &str) -> Result<Vec<u32>, TokenizerError> {
        Ok(self.encode_ordinary(text))
    }
    fn encode_with_special(&self, text: &str, allowed: &[&str]) -> Result<Vec<u32>, TokenizerError> {
        Ok(WordPiece::encode_with_special(self, text, allowed))
    }
    fn decode(&self, ids: &[u32]) -> Result<String, TokenizerError> {
        WordPiece::decode(self, ids)
    }
    fn vocab_size(&self) -> usize {
        WordPiece::vocab_size(self)
    }
    fn special_token_id(&self, text: &str) -> Option<u32> {
        self.special_tokens().id(text)
    }
}

/// Any of our tokenizers.
#[derive(Clone, Debug)]
pub enum AnyTokenizer {
    Char(CharTokenizer),
    Bpe(BpeTokenizer),
    WordPiece(WordPiece),
}

impl AnyTokenizer {
    /// Loads from a spec: `gpt2:DIR` (GPT-2's `encoder.json`/`vocab.json` + `vocab.bpe`/`merges.txt`),
    /// `wordpiece:DIR` (BERT's `vocab.txt`), or the path of a JSON file saved by [`AnyTokenizer::save`].
    ///
    /// ```
    /// let err = models::tokenizer::AnyTokenizer::from_spec("gpt2:/no/such/dir").unwrap_err();
    /// assert!(err.to_string().contains("/no/such/dir"));
    /// ```
    pub fn from_spec(spec: &str) -> Result<AnyTokenizer, TokenizerError> {
        if let Some(dir) = spec.strip_prefix("gpt2:") {
            return BpeTokenizer::from_gpt2_dir(dir).map(AnyTokenizer::Bpe);
        }
        if let Some(dir) = spec.strip_prefix("wordpiece:") {
            return WordPiece::from_dir(dir).map(AnyTokenizer::WordPiece);
        }
        AnyTokenizer::load(spec)
    }

    /// Loads a tokenizer saved in our JSON format.
    pub fn load(path: impl AsRef<Path>) -> Result<AnyTokenizer, TokenizerError> {
        Ok(match saved::load(path)? {
            SavedTokenizer::Char(t) => AnyTokenizer::Char(t),
            SavedTokenizer::Bpe(t) => AnyTokenizer::Bpe(t),
        })
    }

    /// Saves in our JSON format (character and BPE vocabularies; a WordPiece vocabulary is BERT's
    /// `vocab.txt` and is not re-saved).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), TokenizerError> {
        let saved = match self {
            AnyTokenizer::Char(t) => SavedTokenizer::Char(t.clone()),
            AnyTokenizer::Bpe(t) => SavedTokenizer::Bpe(t.clone()),
            AnyTokenizer::WordPiece(_) => {
                return Err(TokenizerError::InvalidArgument(
                    "a WordPiece vocabulary is kept as its vocab.txt".into(),
                ))
            }
        };
        saved::save(&saved, path)
    }

    fn inner(&self) -> &dyn Tokenizer {
        match self {
            AnyTokenizer::Char(t) => t,
            AnyTokenizer::Bpe(t) => t,
            AnyTokenizer::WordPiece(t) => t,
        }
    }

    /// ```
    /// use models::tokenizer::{AnyTokenizer, CharTokenizer};
    /// let tok = AnyTokenizer::Char(CharTokenizer::from_corpus("abc").unwrap());
    /// assert_eq!(tok.encode_for_model("cab", false).unwrap(), vec![2, 0, 1]);
    /// ```
    ///
    /// The ids a model is fed: BPE with `allow_special` maps every special token of its vocabulary written
    /// in the text to its id (otherwise they are text); WordPiece gives `[CLS] … [SEP]` with the BERT
    /// specials in the text recognised, as HF's `BertTokenizer` does; characters are characters.
    pub fn encode_for_model(&self, text: &str, allow_special: bool) -> Result<Vec<u32>, TokenizerError> {
        match self {
            AnyTokenizer::Char(t) => t.encode(text),
            AnyTokenizer::Bpe(t) if allow_special => {
                let names: Vec<String> = t.special_tokens().iter().map(|(s, _)| s.to_string()).collect();
                let names: Vec<&str> = names.iter().map(String::as_str).collect();
                Ok(t.encode_with_special(text, &names))
            }
            AnyTokenizer::Bpe(t) => Ok(t.encode_ordinary(text)),
            AnyTokenizer::WordPiece(t) => Ok(t.encode(text).ids),
        }
    }
}

impl Tokenizer for AnyTokenizer {
    fn encode(&self, text: &str) -> Result<Vec<u32>, TokenizerError> {
        self.inner().encode(text)
    }
    fn encode_with_special(&self, text: &str, allowed: &[&str]) -> Result<Vec<u32>, TokenizerError> {
        self.inner().encode_with_special(text, allowed)
    }
    fn decode(&self, ids: &[u32]) -> Result<String, TokenizerError> {
        self.inner().decode(ids)
    }
    fn vocab_size(&self) -> usize {
        self.inner().vocab_size()
    }
    fn special_token_id(&self, text: &str) -> Option<u32> {
        self.inner().special_token_id(text)
    }
}
