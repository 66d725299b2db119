//! Supervised fine-tuning: teach a pretrained GPT to answer the way demonstrations do.
//!
//! Conversations (the built-in world's demonstrations, or a JSONL / Self-Instruct file) are split into
//! training and validation slices, rendered with the chat template (old turns dropped from the left to fit
//! the block; examples that cannot fit or hold characters the tokenizer lacks are counted and left out),
//! then trained on with the loss on the assistant's tokens only.
//!
//! | file | what |
//! | --- | --- |
//! | `dataset.rs` | [`SftSource`], [`load_conversations`], [`split_train_val`], [`RenderedSet`] |
//! | `batch.rs` | [`pad_batch`]: right padding, targets masked to the responses; [`EpochSampler`] |
//! | `trainer.rs` | [`SftTrainer`] (one optimizer step), [`response_loss`] (validation loss on responses) |
//!
//! The run folder, checkpoints and the before/after evaluation are `rlhf sft`'s (`cli/sft.rs`); the
//! evaluation itself is [`crate::evaluate`].
pub mod batch;
pub mod dataset;
pub mod trainer;

pub use batch::{pad_batch, EpochSampler, SftBatch, IGNORE};
pub use dataset::{load_conversations, split_train_val, world_conversations, RenderedSet, SftFormat, SftSource};
pub use trainer::{response_loss, SftConfig, SftTrainer, StepStats};
