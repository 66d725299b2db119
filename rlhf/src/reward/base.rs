//! Loading the chat model a stage starts from (the SFT policy: a model folder or a run folder with
//! `model/`), and carrying its tokenizer files into a new folder.
use std::path::{Path, PathBuf};

use models::gpt::{load_hf_dir, load_tokenizer_from_dir, Gpt};

use crate::data::ChatTokenizer;
use crate::run::RunError;

/// The tokenizer files a model folder may hold (ours, or GPT-2's in either naming).
pub const TOKENIZER_FILES: [&str; 5] = [models::gpt::hf::TOKENIZER_FILE, "vocab.json", "merges.txt", "encoder.json", "vocab.bpe"];

pub use crate::run::resolve_model_dir;

/// A GPT chat model and its chat tokenizer from a model or run folder; also returns the model folder.
pub fn load_chat_model(dir: &Path) -> Result<(Gpt, ChatTokenizer, PathBuf), RunError> {
    let dir = resolve_model_dir(dir)?;
    let model = load_hf_dir(&dir)?;
    let inner = load_tokenizer_from_dir(&dir)?
        .ok_or_else(|| format!("{}: no tokenizer files (rlhf_tokenizer.json, or vocab.json + merges.txt)", dir.display()))?;
    let tok = ChatTokenizer::new(inner);
    if tok.vocab_size() > model.config.vocab_size {
        return Err(format!(
            "{}: the chat tokenizer has {} ids but the model only {} (not a chat model: pretrain with the world tokenizer or fine-tune first)",
            dir.display(),
            tok.vocab_size(),
            model.config.vocab_size
        )
        .into());
    }
    Ok((model, tok, dir))
}

/// Copies the tokenizer files of model folder `from` into `to`.
pub fn copy_tokenizer_files(from: &Path, to: &Path) -> Result<(), RunError> {
    for name in TOKENIZER_FILES {
        if from.join(name).exists() {
            std::fs::copy(from.join(name), to.join(name)).map_err(|e| format!("{}: cannot copy: {e}", from.join(name).display()))?;
        }
    }
    Ok(())
}
