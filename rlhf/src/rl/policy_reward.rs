//! The reward `rlhf ppo` and `rlhf pg` optimise, from a reward-model folder of either kind:
//!
//! - a GPT reward model (`GPT2ForSequenceClassification`) reads the policy's own token ids (the rollout
//!   batch) at each answer's last token, and starts PPO's critic (its trunk and head, read at every token);
//! - a BERT reward model (`BertForSequenceClassification`) has its own vocabulary, so it scores each
//!   answer from its text, `[CLS] prompt [SEP] answer [SEP]` (the prompt being the rollout's last user
//!   turn), through [`RewardScorer`]. It cannot start a GPT critic: PPO's critic then starts from the
//!   policy's trunk with a fresh value head ([`crate::reward::reward_model_from_policy`]).
use std::path::Path;

use engine::{Error, Result};

use super::rollout::{AnswerScorer, PaddedBatch, Rollout};
use crate::data::Conversation;
use crate::reward::kind::{model_kind, ModelKind};
use crate::reward::{load_reward_dir, GptRewardModel, RewardScorer};
use crate::run::RunError;

/// Rows scored at once when a reward model reads text.
const TEXT_SCORE_BATCH: usize = 32;

/// A loaded reward model as RL uses it.
///
/// ```
/// use engine::rng::Rng;
/// use models::bert::{char_vocab::char_wordpiece, BertConfig, BertModel};
/// use rlhf::reward::{bert_trunk::bert_reward_model, save_bert_reward_dir};
/// use rlhf::rl::policy_reward::PolicyReward;
/// let wp = char_wordpiece("What is 2 plus 3? Sure! 5")?;
/// let config = BertConfig::from_json_str(&format!(r#"{{"vocab_size": {}, "hidden_size": 8, "num_hidden_layers": 1,
///     "num_attention_heads": 2, "intermediate_size": 16, "max_position_embeddings": 32}}"#, wp.vocab_size()))?;
/// let mut rng = Rng::new(0);
/// let dir = std::env::temp_dir().join(format!("policy-reward-doc-{}", std::process::id()));
/// save_bert_reward_dir(&bert_reward_model(BertModel::new(&config, false, &mut rng)?, &mut rng)?, &wp, &dir)?;
/// let reward = PolicyReward::load(&dir).unwrap();
/// assert!(reward.gpt().is_none() && reward.context().is_none()); // scores text; PPO's critic starts from the policy
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # Ok::<(), engine::Error>(())
/// ```
pub enum PolicyReward {
    /// A GPT reward model scoring the policy's token ids.
    Tokens(GptRewardModel),
    /// A reward model of another trunk (BERT) scoring answers from their text.
    Text(Box<RewardScorer>),
}

impl PolicyReward {
    /// Loads the reward-model folder `dir` (its kind from `config.json`).
    pub fn load(dir: &Path) -> std::result::Result<PolicyReward, RunError> {
        Ok(match model_kind(dir)? {
            ModelKind::Gpt => PolicyReward::Tokens(load_reward_dir(dir)?),
            ModelKind::Bert => PolicyReward::Text(Box::new(RewardScorer::load(dir)?)),
        })
    }

    /// What scores the rollouts.
    pub fn scorer(&self) -> &dyn AnswerScorer {
        match self {
            PolicyReward::Tokens(m) => m,
            PolicyReward::Text(s) => s.as_ref(),
        }
    }

    /// The GPT reward model, when it is one (PPO's critic starts from it).
    pub fn gpt(&self) -> Option<&GptRewardModel> {
        match self {
            PolicyReward::Tokens(m) => Some(m),
            PolicyReward::Text(_) => None,
        }
    }

    /// The longest prompt + answer the reward model reads on the policy's ids (`None`: it reads text and
    /// fits it to its own context).
    pub fn context(&self) -> Option<usize> {
        self.gpt().map(|m| m.trunk.config.block_size)
    }
}

impl AnswerScorer for RewardScorer {
    /// Each rollout scored from its text: (the prompt as a user turn, the answer without `<|end|>`).
    fn score(&self, _batch: &PaddedBatch, rollouts: &[&Rollout]) -> Result<Vec<f32>> {
        let _guard = autograd::no_grad();
        let items: Vec<(Conversation, String)> = rollouts.iter().map(|r| (Conversation::from_prompt(&r.prompt), r.text.clone())).collect();
        RewardScorer::score(self, &items, TEXT_SCORE_BATCH).map_err(|e| Error::op("RewardScorer", e.to_string()))
    }
}
