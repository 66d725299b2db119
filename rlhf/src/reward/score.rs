//! Scoring answers with a trained reward model: batched, without gradients, each answer read at its
//! `<|end|>` (see [`super::examples::reward_row`]). The path `rlhf reward score`, the training's
//! evaluation and normalisation, and PPO share.
use std::path::{Path, PathBuf};

use autograd::no_grad;
use engine::Result;

use super::base::resolve_model_dir;
use super::batching::{pack_kwise, KwiseExample, Padding};
use super::examples::reward_row;
use super::folder::{load_reward_dir, GptRewardModel};
use super::loss::Ranking;
use super::trunk::{RewardModel, RewardTrunk};
use crate::data::{ChatTokenizer, Conversation};
use crate::run::RunError;

/// The rewards of every answer of `examples`, in order (example by example, answer by answer), computed
/// `batch_prompts` examples at a time.
pub fn score_examples<T: RewardTrunk>(
    model: &RewardModel<T>,
    examples: &[KwiseExample],
    pad_id: u32,
    padding: Padding,
    max_len: usize,
    batch_prompts: usize,
) -> Result<Vec<f32>> {
    let _guard = no_grad();
    let mut out = Vec::with_capacity(examples.iter().map(|e| e.answers.len()).sum());
    for chunk in examples.chunks(batch_prompts.max(1)) {
        let batch = pack_kwise(chunk, pad_id, padding, Some(max_len))?;
        out.extend(model.rewards_for(&batch)?.tensor().to_vec::<f32>()?);
    }
    Ok(out)
}

/// A reward model folder loaded for scoring, with its chat tokenizer.
pub struct RewardScorer {
    /// The model.
    pub model: GptRewardModel,
    /// Its tokenizer with the chat specials.
    pub tok: ChatTokenizer,
    /// The folder it came from.
    pub dir: PathBuf,
}

impl RewardScorer {
    /// Loads a reward-model folder (or a run folder of `rlhf reward train`, from its `model/`).
    pub fn load(dir: &Path) -> std::result::Result<RewardScorer, RunError> {
        let dir = resolve_model_dir(dir)?;
        let model = load_reward_dir(&dir)?;
        let inner = models::gpt::load_tokenizer_from_dir(&dir)?
            .ok_or_else(|| format!("{}: no tokenizer files beside the reward model", dir.display()))?;
        Ok(RewardScorer { model, tok: ChatTokenizer::new(inner), dir })
    }

    /// Wraps a model already in memory.
    pub fn new(model: GptRewardModel, tok: ChatTokenizer) -> RewardScorer {
        RewardScorer { model, tok, dir: PathBuf::new() }
    }

    /// The reward of each (conversation ending with the user's turn, answer), `batch` rows at a time.
    pub fn score(&self, items: &[(Conversation, String)], batch: usize) -> std::result::Result<Vec<f32>, RunError> {
        let max_len = self.model.trunk.config.block_size;
        let examples = items
            .iter()
            .enumerate()
            .map(|(i, (c, a))| {
                let (prompt, answer) = reward_row(&self.tok, c, a, max_len).map_err(|e| format!("item {}: {e}", i + 1))?;
                Ok(KwiseExample { prompt, answers: vec![answer], ranking: Ranking::from_order(&[0]) })
            })
            .collect::<std::result::Result<Vec<_>, RunError>>()?;
        Ok(score_examples(&self.model, &examples, self.tok.pad_id(), Padding::Left, max_len, batch)?)
    }
}
