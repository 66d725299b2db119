//! The GPT decoder as the base of a reward model ([`RewardBase`]): the SFT chat model, its LM head removed,
//! rows rendered with the chat template (`prompt ++ answer ++ <|end|>`, [`super::examples`]), saved as a
//! `GPT2ForSequenceClassification` folder ([`super::folder`]).
use std::path::{Path, PathBuf};

use autograd::nn::Module;
use engine::rng::Rng;
use models::gpt::Gpt;

use super::base::{copy_tokenizer_files, load_chat_model};
use super::examples::{encode_rankings, EncodedRankings};
use super::folder::{reward_model_from_policy, save_reward_dir, GptRewardModel};
use super::kind::RewardBase;
use crate::data::ChatTokenizer;
use crate::labeling::LabeledRanking;
use crate::run::RunError;

/// A GPT chat model to start a reward model from.
pub struct GptBase {
    policy: Option<Gpt>,
    block_size: usize,
    tok: ChatTokenizer,
    dir: PathBuf,
}

impl GptBase {
    /// Loads the chat model of a model or run folder.
    pub fn load(dir: &Path) -> Result<GptBase, RunError> {
        let (policy, tok, dir) = load_chat_model(dir)?;
        Ok(GptBase { block_size: policy.config.block_size, policy: Some(policy), tok, dir })
    }
}

impl RewardBase for GptBase {
    type Trunk = Gpt;

    fn dir(&self) -> &Path {
        &self.dir
    }

    fn context(&self) -> usize {
        self.block_size
    }

    fn pad_id(&self) -> u32 {
        self.tok.pad_id()
    }

    fn encode(&self, records: &[LabeledRanking], max_len: usize) -> EncodedRankings {
        encode_rankings(&self.tok, records, max_len)
    }

    fn encode_one(&self, conversation: &crate::data::Conversation, answer: &str, max_len: usize) -> Result<(Vec<u32>, Vec<u32>), RunError> {
        Ok(super::examples::reward_row(&self.tok, conversation, answer, max_len).map_err(|e| e.to_string())?)
    }

    fn start_model(&mut self, trunk_layers: Option<usize>, rng: &mut Rng) -> Result<GptRewardModel, RunError> {
        let policy = self.policy.take().ok_or("the base model was already used")?;
        let mut model = reward_model_from_policy(&policy, rng)?;
        drop(policy);
        if let Some(n) = trunk_layers {
            if n > model.trunk.config.n_layer {
                return Err(format!("--trunk-layers {n}: the SFT model has only {} layers", model.trunk.config.n_layer).into());
            }
            model.trunk.h.truncate(n);
            model.trunk.config.n_layer = n;
        }
        Ok(model)
    }

    /// The optimizer skips parameters that get no gradient, so frozen ones stay as the SFT model left them:
    /// less to overfit on ~1,000 rankings, and no backward pass through the frozen bottom.
    fn freeze_below(model: &GptRewardModel, layers: usize) -> Result<(), RunError> {
        let total = model.trunk.config.n_layer;
        if layers > total {
            return Err(format!("--train-layers {layers}: the trunk has only {total} layers").into());
        }
        let mut frozen: Vec<&dyn Module> = vec![&model.trunk.wte, &model.trunk.wpe];
        frozen.extend(model.trunk.h[..total - layers].iter().map(|b| b as &dyn Module));
        for m in frozen {
            for p in m.parameters() {
                p.set_requires_grad(false);
            }
        }
        Ok(())
    }

    fn language_model(&self) -> Result<Gpt, RunError> {
        let (mut model, _, _) = load_chat_model(&self.dir)?;
        model.config.dropout = 0.0;
        Ok(model)
    }

    fn config_json(model: &GptRewardModel) -> serde_json::Value {
        model.trunk.config.to_hf_json()
    }

    fn layers_and_width(model: &GptRewardModel) -> (usize, usize) {
        (model.trunk.config.n_layer, model.trunk.config.n_embd)
    }

    fn save(&self, model: &GptRewardModel, dir: &Path) -> Result<(), RunError> {
        save_reward_dir(model, dir)?;
        copy_tokenizer_files(&self.dir, dir)
    }
}
