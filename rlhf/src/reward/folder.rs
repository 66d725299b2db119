//! Reward-model folders for the GPT trunk, in Hugging Face's `GPT2ForSequenceClassification` layout:
//! `config.json` (the GPT-2 config with `num_labels: 1`), `model.safetensors` holding `transformer.*` and
//! `score.weight [1, C]` (plus our `score.bias [1]`, which carries the normalisation offset, and
//! `score.likelihood [1]` when the model has the answer-likelihood feature), and the
//! tokenizer files; a feature read from a frozen language model keeps that model, in the ordinary GPT
//! layout, in the subfolder `likelihood_model/`. The same folder serves as PPO's value model (critic)
//! initialisation: the head read at every token instead of the last.
use std::collections::BTreeMap;
use std::path::Path;

use autograd::nn::Module;
use engine::io::safetensors;
use engine::rng::Rng;
use engine::{Error, Result, Tensor};
use models::gpt::hf::{CONFIG_FILE, WEIGHTS_FILE};
use models::gpt::{load_hf_dir, save_hf_dir, Gpt, GptConfig};

use super::trunk::RewardModel;

/// The subfolder of a reward-model folder that holds the frozen language model its likelihood feature
/// reads ([`RewardModel::with_frozen_likelihood_source`]).
pub const LIKELIHOOD_MODEL_DIR: &str = "likelihood_model";

/// A reward model on the GPT decoder.
pub type GptRewardModel = RewardModel<Gpt>;

/// A reward model whose trunk is `policy`'s weights (the LM head goes: it is tied to `wte`, which the trunk
/// keeps as its input embedding) and a fresh head.
pub fn reward_model_from_policy(policy: &Gpt, rng: &mut Rng) -> Result<GptRewardModel> {
    let trunk = Gpt::new(policy.config.clone(), &mut Rng::new(0))?;
    trunk.load_state_dict(&policy.state_dict())?;
    RewardModel::new(trunk, rng)
}

/// Writes a GPT reward model folder (config and weights; copy the tokenizer beside them separately).
///
/// ```
/// use engine::rng::Rng;
/// use models::gpt::{Gpt, GptConfig};
/// use rlhf::reward::folder::{load_reward_dir, reward_model_from_policy, save_reward_dir};
/// let mut config = GptConfig::preset("char-tiny")?;
/// config.n_layer = 1;
/// let policy = Gpt::new(config, &mut Rng::new(0))?;
/// let rm = reward_model_from_policy(&policy, &mut Rng::new(1))?;
/// rm.add_to_bias(0.5)?;
/// let dir = std::env::temp_dir().join(format!("rm-doc-{}", std::process::id()));
/// save_reward_dir(&rm, &dir)?;
/// let back = load_reward_dir(&dir)?;
/// assert_eq!(back.head.bias.as_ref().unwrap().value().to_vec::<f32>()?, vec![0.5]);
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # Ok::<(), engine::Error>(())
/// ```
pub fn save_reward_dir(model: &GptRewardModel, dir: impl AsRef<Path>) -> Result<()> {
    let dir = dir.as_ref();
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, format!("cannot create: {e}")))?;
    let mut state: BTreeMap<String, Tensor> = BTreeMap::new();
    for (name, tensor) in model.state_dict() {
        let key = name.strip_prefix("trunk.").map(str::to_string).unwrap_or(name);
        state.insert(key, tensor);
    }
    let refs: Vec<(&str, &Tensor)> = state.iter().map(|(n, t)| (n.as_str(), t)).collect();
    let meta = BTreeMap::from([("format".to_string(), "pt".to_string())]);
    safetensors::save(dir.join(WEIGHTS_FILE), &refs, Some(meta))?;
    let mut config = model.trunk.config.to_hf_json();
    config["architectures"] = serde_json::json!(["GPT2ForSequenceClassification"]);
    config["num_labels"] = serde_json::json!(1);
    config["pad_token_id"] = serde_json::json!(0);
    let path = dir.join(CONFIG_FILE);
    let json = serde_json::to_string_pretty(&config).expect("a JSON value always serialises");
    engine::io::write_atomically(&path, |w| std::io::Write::write_all(w, (json + "\n").as_bytes()))?;
    let source_dir = dir.join(LIKELIHOOD_MODEL_DIR);
    match &model.likelihood_source {
        Some(source) => save_hf_dir(source, &source_dir),
        // A model without one must not pick up an older model's when it is loaded from this folder.
        None if source_dir.exists() => std::fs::remove_dir_all(&source_dir).map_err(|e| Error::io(&source_dir, format!("cannot remove: {e}"))),
        None => Ok(()),
    }
}

/// Loads a folder written by [`save_reward_dir`]. A missing `score.bias` (a folder saved by `transformers`)
/// is taken as 0. A BERT reward-model folder is an error that says so: this reads GPT reward models
/// (PPO's critic starts from one); [`super::RewardScorer::load`] reads both kinds.
pub fn load_reward_dir(dir: impl AsRef<Path>) -> Result<GptRewardModel> {
    let dir = dir.as_ref();
    let config_path = dir.join(CONFIG_FILE);
    if let Ok(text) = std::fs::read_to_string(&config_path) {
        let model_type = serde_json::from_str::<serde_json::Value>(&text).ok().and_then(|v| v["model_type"].as_str().map(str::to_string));
        if model_type.as_deref() == Some("bert") {
            return Err(Error::io(
                &config_path,
                "a BERT reward model (BertForSequenceClassification) where a GPT one is needed; RewardScorer::load reads both kinds",
            ));
        }
    }
    let config = GptConfig::load_hf(config_path)?;
    let weights = dir.join(WEIGHTS_FILE);
    let tensors = safetensors::load(&weights)?;
    let trunk = Gpt::new(config, &mut Rng::new(0))?;
    let mut model: GptRewardModel = RewardModel::new(trunk, &mut Rng::new(0))?;
    let mut state = BTreeMap::new();
    for (name, tensor) in tensors {
        let tensor = tensor.to_dtype(engine::DType::F32)?;
        if name.starts_with("score.") {
            state.insert(name, tensor);
        } else if name.starts_with("transformer.") {
            state.insert(format!("trunk.{name}"), tensor);
        }
    }
    if !state.contains_key("score.bias") {
        state.insert("score.bias".into(), Tensor::zeros(&[1], engine::DType::F32)?);
    }
    if !state.contains_key("score.weight") {
        return Err(Error::io(&weights, "no score.weight: not a reward-model folder (a GPT language model?)"));
    }
    if state.contains_key("score.likelihood") {
        model = model.with_likelihood_feature(0.0)?; // the saved weight is loaded just below
    }
    model.load_state_dict(&state).map_err(|e| Error::io(&weights, e.to_string()))?;
    model.trunk.config.dropout = 0.0;
    let source_dir = dir.join(LIKELIHOOD_MODEL_DIR);
    if source_dir.exists() {
        let mut source = load_hf_dir(&source_dir)?;
        source.config.dropout = 0.0;
        model = model.with_frozen_likelihood_source(source).map_err(|e| Error::io(&source_dir, e.to_string()))?;
    }
    Ok(model)
}
