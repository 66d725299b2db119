//! BERT, the bidirectional encoder: the model, its masked-LM and sequence heads, Hugging Face checkpoint
//! loading (`config.json`, `model.safetensors`, `vocab.txt`) and sentence embeddings.
//!
//! | file | what |
//! | --- | --- |
//! | `config.rs` | [`BertConfig`] from `config.json` |
//! | `embeddings.rs` | [`BertEmbeddings`]: word + position + token type, LayerNorm |
//! | `encoder.rs` | [`BertLayer`]: post-LN block, bidirectional attention with a padding mask, GELU MLP; [`Dropout`] |
//! | `inference.rs` | the no-grad fast path of the encoder stack (fused q/k/v, attention per sentence in cache) |
//! | `model.rs` | [`BertModel`]: the stack and the pooler; padding, mean pooling, L2 normalisation |
//! | `heads.rs` | [`BertForMaskedLM`] (tied decoder), [`BertForSequenceScore`] |
//! | `weights.rs` | strict loading of HF tensors by name |
//! | `tokenizer.rs` | the WordPiece tokenizer of a model folder; [`SentenceEncoder`], [`sentence_embeddings`] |
//! | `char_vocab.rs` | a character-level WordPiece vocabulary for pretraining; writing `vocab.txt` |
//! | `mlm.rs` | masked-LM pretraining: the 15% / 80-10-10 masking and the loss on chosen tokens |
pub mod char_vocab;
pub mod config;
pub mod embeddings;
pub mod encoder;
pub mod heads;
mod inference;
pub mod mlm;
pub mod model;
pub mod tokenizer;
pub mod weights;

pub use config::{BertActivation, BertConfig};
pub use embeddings::BertEmbeddings;
pub use encoder::{BertLayer, BertResidualOutput, BertSelfAttention, Dropout};
pub use heads::{BertForMaskedLM, BertForSequenceScore, BertMlmHead, SequencePooling};
pub use mlm::{mask_tokens, masked_accuracy, mlm_loss, windows_with_cls_sep, MaskedBatch, MaskingOptions, IGNORE_INDEX};
pub use model::{ids_tensor, key_padding_mask, l2_normalize, mean_pool, pad_batch, BertModel, BertOutput};
pub use tokenizer::{load_wordpiece, sentence_embeddings, SentenceEncoder};
