//! [`RewardTrunk`]: any model that turns token ids into per-token hidden states; [`RewardModel`]: a trunk
//! with a scalar head (`Linear(H, 1)`) whose score is read at each row's last real token.
//!
//! BERT (the encoder) implements the trunk here; the GPT decoder (initialised from the SFT model, LM head
//! removed) implements it in `gpt_trunk.rs`.
use autograd::nn::{join_name, Linear, Module};
use autograd::{Parameter, Var};
use engine::rng::Rng;
use engine::{Error, Result, Tensor};
use models::bert::BertModel;

use super::batching::{last_token_values, KwiseBatch, Padding};
use super::loss::ranking_loss;

/// A model body for a reward model: token ids in, one hidden vector per token out.
pub trait RewardTrunk: Module {
    /// H, the width of the hidden states.
    fn hidden_size(&self) -> usize;

    /// Whether this trunk gives a row's real tokens the same hidden states under left padding as unpadded.
    /// A trunk with absolute positions counted from column 0 (BERT) does not, and must get right padding.
    fn supports_left_padding(&self) -> bool;

    /// `input_ids` I64 `[B, T]` and `attention_mask` I64 `[B, T]` (1 = real token) -> hidden `[B, T, H]`.
    /// Padding must not change the hidden states of real tokens (mask it out of attention).
    fn forward_hidden(&self, input_ids: &Tensor, attention_mask: &Tensor) -> Result<Var>;
}

impl RewardTrunk for BertModel {
    fn hidden_size(&self) -> usize {
        self.config.hidden_size
    }

    fn supports_left_padding(&self) -> bool {
        false // position embeddings are indexed 0..T from the first column
    }

    fn forward_hidden(&self, input_ids: &Tensor, attention_mask: &Tensor) -> Result<Var> {
        Ok(self.forward(input_ids, Some(attention_mask), None)?.last_hidden_state)
    }
}

/// A reward model: `r = head(trunk(ids)[last real token])`, one scalar per row.
///
/// Parameters are named `trunk.*` and `score.*` (the head: `score.weight [1, H]`, `score.bias [1]`).
///
/// ```
/// use engine::rng::Rng;
/// use models::bert::{BertConfig, BertModel};
/// use rlhf::reward::{pack_kwise, KwiseExample, Padding, Ranking, RewardModel};
/// let config = BertConfig::from_json_str(r#"{"vocab_size": 20, "hidden_size": 8, "num_hidden_layers": 1,
///     "num_attention_heads": 2, "intermediate_size": 16, "max_position_embeddings": 16}"#)?;
/// let mut rng = Rng::new(0);
/// let model = RewardModel::new(BertModel::new(&config, false, &mut rng)?, &mut rng)?;
/// let ex = KwiseExample { prompt: vec![1, 4], answers: vec![vec![5], vec![6, 7], vec![8]], ranking: Ranking::from_order(&[1, 0, 2]) };
/// let batch = pack_kwise(&[ex], 0, Padding::Right, None)?;
/// let (loss, rewards) = model.loss(&batch)?;
/// assert_eq!(rewards.shape(), &[3]);
/// loss.backward()?;
/// # Ok::<(), engine::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct RewardModel<T: RewardTrunk> {
    /// The body.
    pub trunk: T,
    /// The scalar head `Linear(H, 1)`.
    pub head: Linear,
}

impl<T: RewardTrunk> RewardModel<T> {
    /// A fresh head on `trunk`: weights `N(0, 1/sqrt(H + 1))`, bias 0 (OpenAI's lm-human-preferences
    /// initialisation, which starts rewards at about unit scale).
    pub fn new(trunk: T, rng: &mut Rng) -> Result<RewardModel<T>> {
        let h = trunk.hidden_size();
        let head = Linear::new_normal(h, 1, true, 1.0 / ((h + 1) as f32).sqrt(), rng)?;
        Ok(RewardModel { trunk, head })
    }

    /// Scores at every position: `[B, T]` (padding positions hold meaningless values).
    pub fn token_scores(&self, input_ids: &Tensor, attention_mask: &Tensor) -> Result<Var> {
        let hidden = self.trunk.forward_hidden(input_ids, attention_mask)?; // [B, T, H]
        self.head.forward(&hidden)?.squeeze(-1) // [B, T, 1] -> [B, T]
    }

    /// Rewards `[B]`, read at `last_index` (I64 `[B]`, each row's last real token).
    pub fn rewards(&self, input_ids: &Tensor, attention_mask: &Tensor, last_index: &Tensor) -> Result<Var> {
        last_token_values(&self.token_scores(input_ids, attention_mask)?, last_index)
    }

    /// Rewards `[B]` of a packed batch; an error when the trunk cannot take the batch's padding side.
    pub fn rewards_for(&self, batch: &KwiseBatch) -> Result<Var> {
        if batch.padding == Padding::Left && !self.trunk.supports_left_padding() {
            return Err(Error::op("RewardModel", "this trunk needs right padding (its positions count from column 0)"));
        }
        self.rewards(&batch.input_ids, &batch.attention_mask, &batch.last_index)
    }

    /// The ranking loss of a packed batch and its rewards `[B]` (each answer run once).
    pub fn loss(&self, batch: &KwiseBatch) -> Result<(Var, Var)> {
        let rewards = self.rewards_for(batch)?;
        Ok((ranking_loss(&rewards, &batch.groups)?, rewards))
    }

    /// Adds `offset` to the head's bias, so every reward moves by `offset` and a checkpoint keeps it (use
    /// with [`super::normalization_bias`] to centre the SFT answers' rewards at 0).
    pub fn add_to_bias(&self, offset: f32) -> Result<()> {
        let bias = self.head.bias.as_ref().ok_or_else(|| Error::op("RewardModel", "the head has no bias"))?;
        bias.set_value(bias.value().add_scalar(offset)?)
    }
}

impl<T: RewardTrunk> Module for RewardModel<T> {
    fn visit_parameters(&self, prefix: &str, f: &mut dyn FnMut(&str, &Parameter)) {
        self.trunk.visit_parameters(&join_name(prefix, "trunk"), f);
        self.head.visit_parameters(&join_name(prefix, "score"), f);
    }
}
