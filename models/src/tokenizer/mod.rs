//! Tokenizers: character-level, byte-level BPE (GPT-2 compatible, loadable and trainable), WordPiece (BERT).
//!
//! ```
//! use models::tokenizer::{special, BpeTrainer, Tokenizer};
//! let corpus = "First Citizen: Before we proceed any further, hear me speak. ".repeat(50);
//! let bpe = BpeTrainer::new(256 + 64 + special::DEFAULT_BPE_SPECIALS.len()).train(&corpus).unwrap();
//! let ids = bpe.encode("hear me speak").unwrap();
//! assert_eq!(bpe.decode(&ids).unwrap(), "hear me speak");
//! let eot = bpe.special_token_id(special::ENDOFTEXT).unwrap();
//! assert_eq!(bpe.encode_with_special("hi<|endoftext|>", &[special::ENDOFTEXT]).last(), Some(&eot));
//! ```
//!
//! GPT-2's own files load with [`BpeTokenizer::from_gpt2_dir`], BERT's `vocab.txt` with
//! [`WordPiece::from_vocab_file`], and any of them from a spec string with [`AnyTokenizer::from_spec`].
//!
//! One file per concept:
//!
//! | file | what |
//! | --- | --- |
//! | `error.rs` | [`TokenizerError`], reading text files with UTF-8 errors reported by byte offset |
//! | `byte_unicode.rs` | GPT-2's byte <-> printable-character table |
//! | `unicode_class.rs` | `\p{L}`, `\p{N}`, `\s` for the GPT-2 pattern: exact Unicode general categories |
//! | `pretokenize.rs` | GPT-2's pre-tokenization pattern, written by hand |
//! | `fxhash.rs` | a small fast hasher for the hot path |
//! | `bpe_merge.rs` | the merge loop (fast, heap for long words, and GPT-2's reference as oracle) |
//! | `bpe.rs` | [`BpeTokenizer`]: encode (with a word cache), decode, specials |
//! | `gpt2_files.rs` | loading `encoder.json`/`vocab.json` + `vocab.bpe`/`merges.txt` |
//! | `bpe_train.rs` | training a byte-level BPE vocabulary (incremental pair counts, lazy heap) |
//! | `char_level.rs` | [`CharTokenizer`] |
//! | `bert_normalizer.rs` | BERT's normalizer and pre-tokenizer (HF's character tables) |
//! | `wordpiece.rs` | [`WordPiece`] (BERT `vocab.txt`) |
//! | `special.rs` | special-token names and splitting text around them |
//! | `saved.rs` | the JSON save/load format of our own vocabularies |
//! | `any.rs` | the [`Tokenizer`] trait and [`AnyTokenizer`] (what the CLI loads from a spec string) |
pub mod any;
pub mod bert_normalizer;
pub mod bpe;
pub mod bpe_merge;
pub mod bpe_train;
pub mod byte_unicode;
pub mod char_level;
pub mod error;
pub mod fxhash;
pub mod gpt2_files;
pub mod pretokenize;
pub mod saved;
pub mod special;
pub mod unicode_class;
pub mod wordpiece;

pub use any::{AnyTokenizer, Tokenizer};
pub use bert_normalizer::{bert_pre_tokenize, BertNormalizer};
pub use bpe::{BpeBuilder, BpeTokenizer};
pub use bpe_train::{train_bpe, BpeTrainer};
pub use byte_unicode::{bytes_to_unicode, unicode_to_bytes};
pub use char_level::CharTokenizer;
pub use error::{read_text_file, text_from_bytes, TokenizerError};
pub use pretokenize::Gpt2PreTokenizer;
pub use special::{Segment, SpecialTokens};
pub use wordpiece::{WordPiece, WordPieceEncoding};
