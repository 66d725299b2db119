//! The one error type of the tokenizers: every failure names what was wrong and where.
use std::fmt;
use std::path::PathBuf;

/// Everything that can go wrong while loading, training, saving or using a tokenizer.
///
/// Errors about files name the file and, where it makes sense, the 1-based line.
///
/// ```
/// use models::tokenizer::TokenizerError;
/// let err = TokenizerError::InvalidUtf8 { source_name: "corpus.txt".into(), byte_offset: 17 };
/// assert_eq!(err.to_string(), "corpus.txt: invalid UTF-8 at byte offset 17");
/// ```
#[derive(Debug)]
pub enum TokenizerError {
    /// Reading or writing a file failed.
    Io { path: PathBuf, source: std::io::Error },
    /// A vocabulary, merges or saved-tokenizer file is malformed. `line` is 1-based; 0 when the
    /// problem concerns the file as a whole (for example a JSON syntax error reports its own line).
    InvalidFile {
        path: PathBuf,
        line: usize,
        message: String,
    },
    /// Input text (a corpus, a file to encode) is not valid UTF-8.
    InvalidUtf8 { source_name: String, byte_offset: usize },
    /// A token id outside the vocabulary was given to `decode`.
    UnknownId { id: u32, vocab_size: usize },
    /// Decoded bytes are not valid UTF-8 (a byte-level BPE id sequence can cut a character in half).
    DecodedInvalidUtf8 { byte_offset: usize },
    /// A character that is not in a character-level vocabulary.
    UnknownChar { ch: char },
    /// Bad arguments: a vocabulary size too small, an empty corpus, an unknown spec, ...
    InvalidArgument(String),
}

impl fmt::Display for TokenizerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenizerError::Io { path, source } => write!(f, "{}: {}", path.display(), source),
            TokenizerError::InvalidFile { path, line, message } => {
                if *line > 0 {
                    write!(f, "{}:{}: {}", path.display(), line, message)
                } else {
                    write!(f, "{}: {}", path.display(), message)
                }
            }
            TokenizerError::InvalidUtf8 {
                source_name,
                byte_offset,
            } => {
                write!(f, "{source_name}: invalid UTF-8 at byte offset {byte_offset}")
            }
            TokenizerError::UnknownId { id, vocab_size } => {
                write!(f, "token id {id} is outside the vocabulary (size {vocab_size})")
            }
            TokenizerError::DecodedInvalidUtf8 { byte_offset } => {
                write!(f, "decoded bytes are not valid UTF-8 at byte offset {byte_offset}")
            }
            TokenizerError::UnknownChar { ch } => {
                write!(f, "character {ch:?} (U+{:04X}) is not in the vocabulary", *ch as u32)
            }
            TokenizerError::InvalidArgument(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for TokenizerError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TokenizerError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl TokenizerError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        TokenizerError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn invalid_file(path: impl Into<PathBuf>, line: usize, message: impl Into<String>) -> Self {
        TokenizerError::InvalidFile {
            path: path.into(),
            line,
            message: message.into(),
        }
    }
}

/// Reads a whole file as UTF-8 text; invalid UTF-8 is an error carrying the byte offset, never dropped.
///
/// ```
/// let dir = std::env::temp_dir().join(format!("read_text_doc_{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("bad.txt");
/// std::fs::write(&path, b"ok\xffno").unwrap();
/// let err = models::tokenizer::read_text_file(&path).unwrap_err();
/// assert!(err.to_string().ends_with("invalid UTF-8 at byte offset 2"));
/// ```
pub fn read_text_file(path: impl AsRef<std::path::Path>) -> Result<String, TokenizerError> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| TokenizerError::io(path, e))?;
    text_from_bytes(bytes, &path.display().to_string())
}

/// Turns bytes into a `String`, reporting the offset of the first invalid UTF-8 byte.
///
/// ```
/// let err = models::tokenizer::text_from_bytes(b"ab\xc3".to_vec(), "stdin").unwrap_err();
/// assert_eq!(err.to_string(), "stdin: invalid UTF-8 at byte offset 2");
/// ```
pub fn text_from_bytes(bytes: Vec<u8>, source_name: &str) -> Result<String, TokenizerError> {
    String::from_utf8(bytes).map_err(|e| TokenizerError::InvalidUtf8 {
        source_name: source_name.to_string(),
        byte_offset: e.utf8_error().valid_up_to(),
    })
}
