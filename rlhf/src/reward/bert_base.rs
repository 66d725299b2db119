//! The BERT encoder as the base of a reward model ([`RewardBase`]): a Hugging Face BERT folder
//! (`BertModel` or `BertForMaskedLM`, e.g. `rlhf pretrain --model bert`; its masked-LM head is dropped)
//! with its `vocab.txt`, rows encoded as `[CLS] prompt [SEP] answer [SEP]` ([`super::bert_examples`]), the
//! score read at `[CLS]` through the pooler ([`super::bert_trunk`]), saved as a
//! `BertForSequenceClassification` folder ([`super::bert_folder`]).
use std::path::{Path, PathBuf};

use autograd::nn::Module;
use engine::rng::Rng;
use models::bert::{load_wordpiece, BertModel};

use super::bert_examples::BertRowEncoder;
use super::bert_folder::save_bert_reward_dir;
use super::bert_trunk::{bert_reward_model, BertRewardModel, BertRewardTrunk};
use super::examples::EncodedRankings;
use super::kind::RewardBase;
use crate::labeling::LabeledRanking;
use crate::run::{resolve_model_dir, RunError};

/// A BERT encoder and its vocabulary to start a reward model from.
pub struct BertBase {
    bert: Option<BertModel>,
    context: usize,
    encoder: BertRowEncoder,
    dir: PathBuf,
}

impl BertBase {
    /// Loads the encoder and vocabulary of a model or run folder.
    pub fn load(dir: &Path) -> Result<BertBase, RunError> {
        let dir = resolve_model_dir(dir)?;
        let bert = BertModel::from_pretrained(&dir)?;
        let wp = load_wordpiece(&dir)?;
        if wp.vocab_size() > bert.config.vocab_size {
            return Err(format!("{}: vocab.txt has {} tokens but the model only {}", dir.display(), wp.vocab_size(), bert.config.vocab_size).into());
        }
        let encoder = BertRowEncoder::new(wp).map_err(|e| format!("{}: {e}", dir.display()))?;
        Ok(BertBase { context: bert.config.max_position_embeddings, bert: Some(bert), encoder, dir })
    }
}

impl RewardBase for BertBase {
    type Trunk = BertRewardTrunk;

    fn dir(&self) -> &Path {
        &self.dir
    }

    fn context(&self) -> usize {
        self.context
    }

    fn pad_id(&self) -> u32 {
        self.encoder.pad_id()
    }

    fn encode(&self, records: &[LabeledRanking], max_len: usize) -> EncodedRankings {
        self.encoder.encode_rankings(records, max_len)
    }

    fn encode_one(&self, conversation: &crate::data::Conversation, answer: &str, max_len: usize) -> Result<(Vec<u32>, Vec<u32>), RunError> {
        let (prompt, mut answers) = self.encoder.encode(conversation, std::slice::from_ref(&answer.to_string()), max_len);
        Ok((prompt, answers.remove(0)))
    }

    fn start_model(&mut self, trunk_layers: Option<usize>, rng: &mut Rng) -> Result<BertRewardModel, RunError> {
        let mut bert = self.bert.take().ok_or("the base model was already used")?;
        if let Some(n) = trunk_layers {
            if n > bert.layers.len() {
                return Err(format!("--trunk-layers {n}: the BERT model has only {} layers", bert.layers.len()).into());
            }
            bert.layers.truncate(n);
            bert.config.num_hidden_layers = n;
        }
        Ok(bert_reward_model(bert, rng)?)
    }

    /// The pooler stays trainable with the top blocks: it is new (masked-LM pretraining has none).
    fn freeze_below(model: &BertRewardModel, layers: usize) -> Result<(), RunError> {
        let bert = &model.trunk.bert;
        let total = bert.layers.len();
        if layers > total {
            return Err(format!("--train-layers {layers}: the trunk has only {total} layers").into());
        }
        let mut frozen: Vec<&dyn Module> = vec![&bert.embeddings];
        frozen.extend(bert.layers[..total - layers].iter().map(|b| b as &dyn Module));
        for m in frozen {
            for p in m.parameters() {
                p.set_requires_grad(false);
            }
        }
        Ok(())
    }

    fn config_json(model: &BertRewardModel) -> serde_json::Value {
        serde_json::from_str(&model.trunk.bert.config.to_json_string("BertModel")).unwrap_or_default()
    }

    fn layers_and_width(model: &BertRewardModel) -> (usize, usize) {
        (model.trunk.bert.layers.len(), model.trunk.bert.config.hidden_size)
    }

    fn save(&self, model: &BertRewardModel, dir: &Path) -> Result<(), RunError> {
        Ok(save_bert_reward_dir(model, &self.encoder.wp, dir)?)
    }
}
