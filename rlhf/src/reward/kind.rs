//! Which trunk a model folder makes (the GPT decoder or the BERT encoder, read from `config.json`'s
//! `model_type`), and [`RewardBase`]: what the training loop ([`super::train_reward_model`]) needs from a
//! base model of either kind, so one loop trains both.
use std::path::Path;

use engine::rng::Rng;

use super::examples::EncodedRankings;
use super::trunk::{RewardModel, RewardTrunk};
use crate::labeling::LabeledRanking;
use crate::run::{resolve_model_dir, RunError};

/// The kind of model a folder holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelKind {
    /// The GPT decoder (`model_type: "gpt2"`).
    Gpt,
    /// The BERT encoder (`model_type: "bert"`).
    Bert,
}

/// The kind of the model in `dir` (a model folder, or a run folder with `model/`), from `config.json`:
/// `model_type` `"gpt2"` or `"bert"` (a config without `model_type` but with GPT-2's `n_embd` is GPT).
///
/// ```
/// use rlhf::reward::kind::{model_kind, ModelKind};
/// let dir = std::env::temp_dir().join(format!("model-kind-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// std::fs::write(dir.join("config.json"), r#"{"model_type": "bert", "hidden_size": 8}"#).unwrap();
/// assert_eq!(model_kind(&dir).unwrap(), ModelKind::Bert);
/// std::fs::write(dir.join("config.json"), r#"{"model_type": "t5"}"#).unwrap();
/// assert!(model_kind(&dir).unwrap_err().to_string().contains("neither a GPT"));
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
pub fn model_kind(dir: &Path) -> Result<ModelKind, RunError> {
    let dir = resolve_model_dir(dir)?;
    let path = dir.join("config.json");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let config: serde_json::Value = serde_json::from_str(&text).map_err(|e| format!("{}: not JSON: {e}", path.display()))?;
    match config.get("model_type").and_then(|t| t.as_str()) {
        Some("gpt2") => Ok(ModelKind::Gpt),
        Some("bert") => Ok(ModelKind::Bert),
        None if config.get("n_embd").is_some() => Ok(ModelKind::Gpt),
        other => Err(format!(
            "{}: model_type {}: neither a GPT (\"gpt2\") nor a BERT (\"bert\") model; a reward model starts from one of those",
            path.display(),
            other.map(|t| format!("{t:?}")).unwrap_or_else(|| "missing".into())
        )
        .into()),
    }
}

/// A base model the reward model starts from, with its tokenizer: what the training loop needs of it.
pub trait RewardBase {
    /// The trunk the reward model gets.
    type Trunk: RewardTrunk;

    /// The model folder it was loaded from.
    fn dir(&self) -> &Path;

    /// The longest row (prompt + answer) the trunk takes.
    fn context(&self) -> usize;

    /// The id padding is filled with.
    fn pad_id(&self) -> u32;

    /// Labeled rankings as examples of rows of at most `max_len` tokens, with what was left out.
    fn encode(&self, records: &[LabeledRanking], max_len: usize) -> EncodedRankings;

    /// One answer to `conversation` as ids `(prompt, answer)`, encoded alone, exactly as
    /// [`super::RewardScorer`] (and so `rlhf reward score` and PPO) will encode it. A K-wise row can differ
    /// when it is too long: BERT cuts a group's prompt for the group's longest answer.
    fn encode_one(&self, conversation: &crate::data::Conversation, answer: &str, max_len: usize) -> Result<(Vec<u32>, Vec<u32>), RunError>;

    /// The reward model to train: the base's weights (only its first `trunk_layers` blocks when set) and a
    /// fresh head drawn from `rng`. Takes the weights out of the base: call it once.
    fn start_model(&mut self, trunk_layers: Option<usize>, rng: &mut Rng) -> Result<RewardModel<Self::Trunk>, RunError>;

    /// A fresh copy of the whole base language model, for the frozen answer-likelihood source
    /// ([`RewardModel::with_frozen_likelihood_source`]); an error for a base without an LM head.
    fn language_model(&self) -> Result<Self::Trunk, RunError> {
        Err(format!("{}: the answer-likelihood feature needs a GPT base (a language model), not an encoder", self.dir().display()).into())
    }

    /// Freezes the embeddings and every block below the last `layers`, so only the top of the trunk and
    /// the head learn.
    fn freeze_below(model: &RewardModel<Self::Trunk>, layers: usize) -> Result<(), RunError>;

    /// The trunk's configuration as the checkpoint records it (a resume with another one is refused).
    fn config_json(model: &RewardModel<Self::Trunk>) -> serde_json::Value;

    /// (blocks, width) of the trunk, for the log.
    fn layers_and_width(model: &RewardModel<Self::Trunk>) -> (usize, usize);

    /// Writes the model folder (weights, config, tokenizer files).
    fn save(&self, model: &RewardModel<Self::Trunk>, dir: &Path) -> Result<(), RunError>;
}
