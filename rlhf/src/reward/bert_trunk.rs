//! The BERT encoder as a reward-model trunk that reads the score where Hugging Face's
//! `BertForSequenceClassification` does: `classifier(tanh(pooler.dense(h[CLS])))`.
//!
//! **Why [CLS] and not the last real token.** BERT is bidirectional, so its `[CLS]` state has attended to
//! every real token of the prompt and the answer, just as the last token has in a decoder; nothing is lost
//! by reading there. Reading it through the pooler makes the saved folder *the same function* as
//! `BertForSequenceClassification` in `transformers` (`bert_folder.rs`), so a BERT reward model trained
//! here scores identically there. (The plain [`BertModel`] trunk in `trunk.rs` reads the last token's
//! hidden state instead; `transformers` has no head that does that.)
//!
//! The generic [`RewardModel`] reads each row at its last real token. So this trunk hands the pooled
//! `[CLS]` summary `[B, H]` back at every position (`[B, T, H]`, a broadcast view, no copy in the forward
//! pass; its backward sums the read position's gradient back to the one summary): wherever the model reads,
//! it finds the row's `[CLS]` summary. Right padding keeps `[CLS]` at column 0 and padded keys are masked,
//! so padding does not change the score (`rlhf/tests/reward_bert_trunk.rs` checks it).
//!
//! Token type ids are all 0, as masked-LM pretraining (`rlhf pretrain --model bert`) saw them; in
//! `transformers` score with `token_type_ids` left out (zeros), not with a pair encoding's ones.
use autograd::nn::{join_name, Linear, Module};
use autograd::{Parameter, Var};
use engine::rng::Rng;
use engine::{Error, Result, Tensor};
use models::bert::BertModel;

use super::trunk::{RewardModel, RewardTrunk};

/// A BERT encoder with its pooler, as a reward-model trunk read at `[CLS]` (see the module docs).
/// Parameter names are `BertModel`'s (`embeddings.*`, `encoder.layer.N.*`, `pooler.dense.*`).
#[derive(Clone, Debug)]
pub struct BertRewardTrunk {
    /// The encoder; its pooler is always present.
    pub bert: BertModel,
}

/// A reward model on the BERT encoder, read at `[CLS]` through the pooler.
pub type BertRewardModel = RewardModel<BertRewardTrunk>;

impl BertRewardTrunk {
    /// Wraps `bert`, adding a fresh pooler (`N(0, initializer_range)`, bias 0, as Hugging Face initialises
    /// it) when it has none (a masked-LM checkpoint has none).
    pub fn new(mut bert: BertModel, rng: &mut Rng) -> Result<BertRewardTrunk> {
        if bert.pooler.is_none() {
            let h = bert.config.hidden_size;
            bert.pooler = Some(Linear::new_normal(h, h, true, bert.config.initializer_range, rng)?);
        }
        Ok(BertRewardTrunk { bert })
    }

    /// The pooled `[CLS]` summary `tanh(pooler.dense(h[:, 0]))`, `[B, H]`.
    pub fn pooled(&self, input_ids: &Tensor, attention_mask: &Tensor) -> Result<Var> {
        let out = self.bert.forward(input_ids, Some(attention_mask), None)?;
        out.pooler_output.ok_or_else(|| Error::op("BertRewardTrunk", "the encoder has no pooler"))
    }
}

impl RewardTrunk for BertRewardTrunk {
    fn hidden_size(&self) -> usize {
        self.bert.config.hidden_size
    }

    fn supports_left_padding(&self) -> bool {
        false // absolute positions from column 0, and [CLS] must sit at column 0
    }

    fn forward_hidden(&self, input_ids: &Tensor, attention_mask: &Tensor) -> Result<Var> {
        let pooled = self.pooled(input_ids, attention_mask)?; // [B, H]
        let (b, t) = (input_ids.shape()[0], input_ids.shape()[1]);
        pooled.unsqueeze(1)?.broadcast_to(&[b, t, self.hidden_size()]) // [B, T, H]: the summary at every position
    }
}

impl Module for BertRewardTrunk {
    fn visit_parameters(&self, prefix: &str, f: &mut dyn FnMut(&str, &Parameter)) {
        self.bert.visit_parameters(prefix, f);
    }
}

/// A BERT reward model on `bert` (its pooler added when missing) with a fresh scalar head, both drawn
/// from `rng`.
///
/// ```
/// use engine::{rng::Rng, Tensor};
/// use models::bert::{BertConfig, BertModel};
/// use rlhf::reward::bert_trunk::bert_reward_model;
/// let config = BertConfig::from_json_str(r#"{"vocab_size": 20, "hidden_size": 8, "num_hidden_layers": 1,
///     "num_attention_heads": 2, "intermediate_size": 16, "max_position_embeddings": 16}"#)?;
/// let mut rng = Rng::new(0);
/// let rm = bert_reward_model(BertModel::new(&config, false, &mut rng)?, &mut rng)?;
/// let ids = Tensor::from_vec(vec![2i64, 7, 3, 9, 3, 0], &[1, 6])?;
/// let mask = Tensor::from_vec(vec![1i64, 1, 1, 1, 1, 0], &[1, 6])?;
/// let scores = rm.token_scores(&ids, &mask)?.tensor().to_vec::<f32>()?;
/// assert!(scores.iter().all(|&s| s == scores[0])); // the [CLS] score, wherever it is read
/// # Ok::<(), engine::Error>(())
/// ```
pub fn bert_reward_model(bert: BertModel, rng: &mut Rng) -> Result<BertRewardModel> {
    let trunk = BertRewardTrunk::new(bert, rng)?;
    RewardModel::new(trunk, rng)
}

/// The parameter name a [`BertRewardModel`] parameter has in a `BertForSequenceClassification` folder:
/// `trunk.X` is `bert.X`, `score.X` is `classifier.X`.
///
/// ```
/// use rlhf::reward::bert_trunk::hf_name;
/// assert_eq!(hf_name("trunk.pooler.dense.weight"), "bert.pooler.dense.weight");
/// assert_eq!(hf_name("score.bias"), "classifier.bias");
/// ```
pub fn hf_name(name: &str) -> String {
    if let Some(rest) = name.strip_prefix("trunk.") {
        join_name("bert", rest)
    } else if let Some(rest) = name.strip_prefix("score.") {
        join_name("classifier", rest)
    } else {
        name.to_string()
    }
}
