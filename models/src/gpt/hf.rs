//! Hugging Face GPT-2 checkpoint folders: `config.json` + `model.safetensors` (+ tokenizer files), read
//! and written in the same layout and names, so our models load in `transformers` and theirs in ours.
//!
//! Reading accepts both key styles HF has used: `transformer.h.0...` (saved from `GPT2LMHeadModel`) and
//! bare `h.0...` (the hub's `gpt2`, saved from `GPT2Model`). The tied `lm_head.weight`, when present, must
//! equal `wte`; the old causal-mask buffers (`attn.bias`, `attn.masked_bias`) are skipped. F16 and BF16
//! tensors are widened to F32. Conv1D weights are `[in, out]` in HF's files and in our parameters alike.
use std::collections::BTreeMap;
use std::path::Path;

use autograd::nn::Module;
use engine::io::safetensors;
use engine::{DType, Error, Result, Tensor};

use super::config::GptConfig;
use super::model::{Gpt, TRANSFORMER_PREFIX};
use crate::tokenizer::{AnyTokenizer, BpeTokenizer};

/// The weights file of a checkpoint folder.
pub const WEIGHTS_FILE: &str = "model.safetensors";
/// The config file of a checkpoint folder.
pub const CONFIG_FILE: &str = "config.json";
/// Our own tokenizer's file in a checkpoint folder (character or trained BPE vocabularies, which HF has no
/// file for); GPT-2's own tokenizer is `vocab.json` + `merges.txt`.
pub const TOKENIZER_FILE: &str = "rlhf_tokenizer.json";

/// Loads a GPT-2 checkpoint folder (`config.json`, `model.safetensors`).
///
/// ```
/// use engine::rng::Rng;
/// use models::gpt::{load_hf_dir, save_hf_dir, Gpt, GptConfig};
/// let dir = std::env::temp_dir().join(format!("gpt-hf-doc-{}", std::process::id()));
/// let mut config = GptConfig::preset("char-tiny")?;
/// config.n_layer = 1;
/// let model = Gpt::new(config, &mut Rng::new(0))?;
/// save_hf_dir(&model, &dir)?;
/// let back = load_hf_dir(&dir)?;
/// assert_eq!(back.config, model.config);
/// assert_eq!(back.wte.weight.value().to_vec::<f32>()?, model.wte.weight.value().to_vec::<f32>()?);
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # Ok::<(), engine::Error>(())
/// ```
pub fn load_hf_dir(dir: impl AsRef<Path>) -> Result<Gpt> {
    let dir = dir.as_ref();
    let config = GptConfig::load_hf(dir.join(CONFIG_FILE))?;
    let weights = dir.join(WEIGHTS_FILE);
    let tensors = safetensors::load(&weights)?;
    let state = state_dict_from_hf(tensors).map_err(|e| Error::io(&weights, e.to_string()))?;
    // The initial values are replaced at once; a fixed seed keeps construction deterministic.
    let model = Gpt::new(config, &mut engine::rng::Rng::new(0))?;
    model.load_state_dict(&state).map_err(|e| Error::io(&weights, e.to_string()))?;
    Ok(model)
}

/// Maps HF tensor names onto ours (`transformer.` prefix added where missing, mask buffers dropped, the
/// tied head checked against `wte`), widening half-precision tensors to F32.
pub fn state_dict_from_hf(tensors: BTreeMap<String, Tensor>) -> Result<BTreeMap<String, Tensor>> {
    let mut state = BTreeMap::new();
    let mut lm_head = None;
    for (name, tensor) in tensors {
        if name.ends_with(".attn.bias") && tensor.rank() == 4 || name.ends_with(".attn.masked_bias") {
            continue; // HF's causal-mask buffers, not parameters
        }
        let tensor = match tensor.dtype() {
            DType::F32 => tensor,
            _ => tensor.to_dtype(DType::F32)?,
        };
        if name == "lm_head.weight" {
            lm_head = Some(tensor);
            continue;
        }
        let key = if name.starts_with("transformer.") { name } else { format!("{TRANSFORMER_PREFIX}.{name}") };
        state.insert(key, tensor);
    }
    if let (Some(head), Some(wte)) = (lm_head, state.get("transformer.wte.weight")) {
        if head.shape() != wte.shape() || head.to_vec::<f32>()? != wte.to_vec::<f32>()? {
            return Err(Error::op("state_dict_from_hf", "lm_head.weight differs from transformer.wte.weight (untied head)"));
        }
    }
    Ok(state)
}

/// Writes `model` as a HF checkpoint folder (`config.json`, `model.safetensors` with HF's names and the
/// `{"format": "pt"}` metadata `transformers` expects). The tied head is not written, as HF does not.
pub fn save_hf_dir(model: &Gpt, dir: impl AsRef<Path>) -> Result<()> {
    let dir = dir.as_ref();
    if !model.config.bias {
        return Err(Error::io(dir, "GPT-2 checkpoints have biases: a model with bias = false cannot be saved as one"));
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, format!("cannot create: {e}")))?;
    let state = model.state_dict();
    let refs: Vec<(&str, &Tensor)> = state.iter().map(|(n, t)| (n.as_str(), t)).collect();
    let meta = BTreeMap::from([("format".to_string(), "pt".to_string())]);
    safetensors::save(dir.join(WEIGHTS_FILE), &refs, Some(meta))?;
    let json = serde_json::to_string_pretty(&model.config.to_hf_json()).expect("a JSON value always serialises");
    let path = dir.join(CONFIG_FILE);
    std::fs::write(&path, json + "\n").map_err(|e| Error::io(&path, format!("cannot write: {e}")))
}

/// The tokenizer kept in a checkpoint folder: our [`TOKENIZER_FILE`], else GPT-2's `vocab.json` (or
/// `encoder.json`) + `merges.txt` (or `vocab.bpe`); `None` when the folder has neither.
pub fn load_tokenizer_from_dir(dir: impl AsRef<Path>) -> Result<Option<AnyTokenizer>> {
    let dir = dir.as_ref();
    let ours = dir.join(TOKENIZER_FILE);
    if ours.exists() {
        return AnyTokenizer::load(&ours).map(Some).map_err(|e| Error::io(&ours, e.to_string()));
    }
    let has = |names: &[&str]| names.iter().any(|n| dir.join(n).exists());
    if has(&["vocab.json", "encoder.json"]) && has(&["merges.txt", "vocab.bpe"]) {
        return BpeTokenizer::from_gpt2_dir(dir).map(|t| Some(AnyTokenizer::Bpe(t))).map_err(|e| Error::io(dir, e.to_string()));
    }
    Ok(None)
}

/// Saves `tokenizer` into a checkpoint folder as [`TOKENIZER_FILE`].
pub fn save_tokenizer_to_dir(tokenizer: &AnyTokenizer, dir: impl AsRef<Path>) -> Result<()> {
    let path = dir.as_ref().join(TOKENIZER_FILE);
    tokenizer.save(&path).map_err(|e| Error::io(&path, e.to_string()))
}
