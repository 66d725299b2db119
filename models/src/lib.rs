//! Tokenizers (see [`tokenizer`]: character-level, GPT-2 byte-level BPE, BERT WordPiece) and the GPT and
//! BERT models built on `autograd`. The `tokenizer` module uses neither `engine` nor `autograd`.
pub mod tokenizer;
pub mod bert;
pub mod gpt;
