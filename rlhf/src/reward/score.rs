//! Scoring answers with a trained reward model: batched, without gradients; a GPT reward model reads each
//! answer at its `<|end|>` (see [`super::examples::reward_row`]), a BERT one reads
//! `[CLS] prompt [SEP] answer [SEP]` at `[CLS]` (see [`super::bert_examples`]). The path
//! `rlhf reward score`, the training's evaluation and normalisation, and PPO share.
use std::path::{Path, PathBuf};

use autograd::no_grad;
use engine::Result;

use models::tokenizer::WordPiece;

use super::base::resolve_model_dir;
use super::batching::{pack_kwise, KwiseExample, Padding};
use super::bert_examples::BertRowEncoder;
use super::bert_folder::load_bert_reward_dir;
use super::bert_trunk::BertRewardModel;
use super::examples::reward_row;
use super::folder::{load_reward_dir, GptRewardModel};
use super::kind::{model_kind, ModelKind};
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

/// A reward model of either kind with what it reads text through.
pub enum LoadedReward {
    /// A GPT reward model and its chat tokenizer (rows `prompt ++ answer ++ <|end|>`, left padded).
    Gpt {
        /// The model.
        model: GptRewardModel,
        /// Its tokenizer with the chat specials.
        tok: ChatTokenizer,
    },
    /// A BERT reward model and its vocabulary (rows `[CLS] prompt [SEP] answer [SEP]`, right padded).
    Bert {
        /// The model.
        model: BertRewardModel,
        /// Its WordPiece vocabulary with `[CLS]` and `[SEP]`.
        encoder: BertRowEncoder,
    },
}

/// A reward model folder loaded for scoring: a GPT one (`GPT2ForSequenceClassification` layout) or a
/// BERT one (`BertForSequenceClassification`), told apart by its `config.json`.
pub struct RewardScorer {
    /// The model and its tokenizer.
    pub model: LoadedReward,
    /// The folder it came from.
    pub dir: PathBuf,
}

impl RewardScorer {
    /// Loads a reward-model folder of either kind (or a run folder of `rlhf reward train`, from its `model/`).
    pub fn load(dir: &Path) -> std::result::Result<RewardScorer, RunError> {
        let dir = resolve_model_dir(dir)?;
        let model = match model_kind(&dir)? {
            ModelKind::Gpt => {
                let model = load_reward_dir(&dir)?;
                let inner = models::gpt::load_tokenizer_from_dir(&dir)?
                    .ok_or_else(|| format!("{}: no tokenizer files beside the reward model", dir.display()))?;
                LoadedReward::Gpt { model, tok: ChatTokenizer::new(inner) }
            }
            ModelKind::Bert => {
                let (model, wp) = load_bert_reward_dir(&dir)?;
                LoadedReward::Bert { model, encoder: BertRowEncoder::new(wp).map_err(|e| format!("{}: {e}", dir.display()))? }
            }
        };
        Ok(RewardScorer { model, dir })
    }

    /// Wraps a GPT reward model already in memory.
    pub fn new(model: GptRewardModel, tok: ChatTokenizer) -> RewardScorer {
        RewardScorer { model: LoadedReward::Gpt { model, tok }, dir: PathBuf::new() }
    }

    /// Wraps a BERT reward model already in memory with its vocabulary; an error when the vocabulary has
    /// no `[CLS]` or `[SEP]`.
    pub fn new_bert(model: BertRewardModel, wp: WordPiece) -> std::result::Result<RewardScorer, RunError> {
        Ok(RewardScorer { model: LoadedReward::Bert { model, encoder: BertRowEncoder::new(wp)? }, dir: PathBuf::new() })
    }

    /// Which trunk the model has.
    pub fn kind(&self) -> ModelKind {
        match self.model {
            LoadedReward::Gpt { .. } => ModelKind::Gpt,
            LoadedReward::Bert { .. } => ModelKind::Bert,
        }
    }

    /// The reward of each (conversation ending with the user's turn, answer), `batch` rows at a time.
    pub fn score(&self, items: &[(Conversation, String)], batch: usize) -> std::result::Result<Vec<f32>, RunError> {
        let single = |prompt: Vec<u32>, answer: Vec<u32>| KwiseExample { prompt, answers: vec![answer], ranking: Ranking::from_order(&[0]) };
        match &self.model {
            LoadedReward::Gpt { model, tok } => {
                let max_len = model.trunk.config.block_size;
                let examples = items
                    .iter()
                    .enumerate()
                    .map(|(i, (c, a))| {
                        let (prompt, answer) = reward_row(tok, c, a, max_len).map_err(|e| format!("item {}: {e}", i + 1))?;
                        Ok(single(prompt, answer))
                    })
                    .collect::<std::result::Result<Vec<_>, RunError>>()?;
                Ok(score_examples(model, &examples, tok.pad_id(), Padding::Left, max_len, batch)?)
            }
            LoadedReward::Bert { model, encoder } => {
                let max_len = model.trunk.bert.config.max_position_embeddings;
                let examples: Vec<KwiseExample> = items
                    .iter()
                    .map(|(c, a)| {
                        let (prompt, mut answers) = encoder.encode(c, std::slice::from_ref(a), max_len);
                        single(prompt, answers.remove(0))
                    })
                    .collect();
                Ok(score_examples(model, &examples, encoder.pad_id(), Padding::Right, max_len, batch)?)
            }
        }
    }
}
