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

    /// Whether [`RewardTrunk::next_token_logprobs`] gives log-probabilities (a decoder with an LM head).
    fn has_lm_head(&self) -> bool {
        false
    }

    /// `log p(ids[b, t + 1] | ids[b, ..= t])`, `[B, T - 1]`, read from `hidden` (this trunk's
    /// [`RewardTrunk::forward_hidden`] output) through the trunk's language-model head; `None` for a trunk
    /// with no such head (an encoder).
    fn next_token_logprobs(&self, _hidden: &Var, _input_ids: &Tensor) -> Result<Option<Var>> {
        Ok(None)
    }
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

/// A reward model: `r = head(trunk(ids)[last real token])`, one scalar per row; with the answer-likelihood
/// feature, `r = head(..) + w · Σ_answer log p_trunk(token)`.
///
/// **Why the likelihood feature.** A small reward model read at its last token judges style and cannot
/// tell `Sure! 81 is larger.` from `Sure! 73 is larger.`, yet the same trunk, as the SFT language model
/// it was, gives the right answer more probability: on the default pipeline's held-out answers, the SFT
/// model's log-likelihood of an answer orders 8 in 10 right/wrong pairs correctly where the plain reward
/// model is at chance. The feature hands the head that knowledge through the trunk's tied LM head; `w`
/// is learned with the rest from the rankings (and the trunk's likelihoods are tuned with them).
///
/// **Frozen source.** Tuning the trunk for rankings also moves its likelihoods.
/// [`RewardModel::with_frozen_likelihood_source`] reads the feature from a frozen copy of the base
/// instead: `r = head(..) + w · Σ_answer log p_base(token)`. On the default pipeline it made no
/// difference that mattered: the head learned the same preferences around it (see `rlhf reward train
/// --likelihood-source`).
///
/// Parameters are named `trunk.*` and `score.*` (the head: `score.weight [1, H]`, `score.bias [1]`, and
/// with the feature `score.likelihood [1]`).
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
    /// The weight `w` of the answer-likelihood feature (`None`: no feature).
    pub likelihood: Option<Parameter>,
    /// The frozen language model the feature reads (`None`: the trunk's own LM head). Not among the
    /// parameters: no optimiser or checkpoint sees it; the model folder stores it beside the weights.
    pub likelihood_source: Option<Box<T>>,
}

impl<T: RewardTrunk> RewardModel<T> {
    /// A fresh head on `trunk`: weights `N(0, 1/sqrt(H + 1))`, bias 0 (OpenAI's lm-human-preferences
    /// initialisation, which starts rewards at about unit scale).
    pub fn new(trunk: T, rng: &mut Rng) -> Result<RewardModel<T>> {
        let h = trunk.hidden_size();
        let head = Linear::new_normal(h, 1, true, 1.0 / ((h + 1) as f32).sqrt(), rng)?;
        Ok(RewardModel { trunk, head, likelihood: None, likelihood_source: None })
    }

    /// Adds the answer-likelihood feature with weight `w` (see the type's documentation); an error for a
    /// trunk without a language-model head.
    pub fn with_likelihood_feature(mut self, w: f32) -> Result<RewardModel<T>> {
        if !self.trunk.has_lm_head() {
            return Err(Error::op("RewardModel", "the answer-likelihood feature needs a trunk with a language-model head (a GPT, not BERT)"));
        }
        self.likelihood = Some(Parameter::new(Tensor::from_vec(vec![w], &[1])?, autograd::ParamKind::Other));
        Ok(self)
    }

    /// Reads the answer-likelihood feature from `source`, a frozen language model (the base the trunk
    /// started from), instead of the trunk; an error without the feature or for a source with no LM head.
    pub fn with_frozen_likelihood_source(mut self, source: T) -> Result<RewardModel<T>> {
        if self.likelihood.is_none() {
            return Err(Error::op("RewardModel", "a likelihood source without the answer-likelihood feature: add the feature first"));
        }
        if !source.has_lm_head() {
            return Err(Error::op("RewardModel", "the likelihood source needs a language-model head (a GPT, not BERT)"));
        }
        for p in source.parameters() {
            p.set_requires_grad(false);
        }
        self.likelihood_source = Some(Box::new(source));
        Ok(self)
    }

    /// Scores at every position: `[B, T]` (padding positions hold meaningless values).
    pub fn token_scores(&self, input_ids: &Tensor, attention_mask: &Tensor) -> Result<Var> {
        let hidden = self.trunk.forward_hidden(input_ids, attention_mask)?; // [B, T, H]
        self.head.forward(&hidden)?.squeeze(-1) // [B, T, 1] -> [B, T]
    }

    /// Rewards `[B]`, read at `last_index` (I64 `[B]`, each row's last real token). A model with the
    /// answer-likelihood feature needs to know where the answers are: use [`RewardModel::rewards_masked`].
    pub fn rewards(&self, input_ids: &Tensor, attention_mask: &Tensor, last_index: &Tensor) -> Result<Var> {
        self.rewards_masked(input_ids, attention_mask, last_index, None)
    }

    /// [`RewardModel::rewards`] with `answer_mask` F32 `[B, T - 1]`: 1 where `input_ids[b, t + 1]` is an
    /// answer token (the layout of next-token targets), which the likelihood feature sums over.
    pub fn rewards_masked(&self, input_ids: &Tensor, attention_mask: &Tensor, last_index: &Tensor, answer_mask: Option<&Tensor>) -> Result<Var> {
        let (head, feature) = self.reward_parts(input_ids, attention_mask, last_index, answer_mask)?;
        match feature {
            None => Ok(head),
            Some(per_token) => head.add(&per_token.sum(&[-1], false)?),
        }
    }

    /// The reward in its two parts: the head's score `[B]` at the last real token, and (with the
    /// answer-likelihood feature) the feature token by token, `w · log p(ids[b, t + 1])` on answer
    /// positions and 0 elsewhere, `[B, T - 1]`. Their sum over `t` plus the head is
    /// [`RewardModel::rewards_masked`]; PPO can pay the feature per token, where each token earns it.
    pub fn reward_parts(&self, input_ids: &Tensor, attention_mask: &Tensor, last_index: &Tensor, answer_mask: Option<&Tensor>) -> Result<(Var, Option<Var>)> {
        let hidden = self.trunk.forward_hidden(input_ids, attention_mask)?; // [B, T, H]
        let head = last_token_values(&self.head.forward(&hidden)?.squeeze(-1)?, last_index)?; // [B]
        let Some(w) = &self.likelihood else {
            return Ok((head, None));
        };
        let mask = answer_mask.ok_or_else(|| Error::op("RewardModel", "the answer-likelihood feature needs the answer mask (rewards_masked, rewards_for)"))?;
        let (b, t) = (input_ids.shape()[0], input_ids.shape()[1]);
        if mask.shape() != [b, t.saturating_sub(1)] {
            return Err(Error::op("RewardModel", format!("answer mask {:?} for ids {:?}: expected [{b}, {}]", mask.shape(), input_ids.shape(), t.saturating_sub(1))));
        }
        let no_head = || Error::op("RewardModel", "the likelihood's model has no language-model head");
        let logprobs = match &self.likelihood_source {
            None => self.trunk.next_token_logprobs(&hidden, input_ids)?.ok_or_else(no_head)?,
            Some(source) => {
                let _frozen = autograd::no_grad();
                let h = source.forward_hidden(input_ids, attention_mask)?;
                Var::constant(source.next_token_logprobs(&h, input_ids)?.ok_or_else(no_head)?.into_tensor())
            }
        };
        let per_token = logprobs.mul(&Var::constant(mask.to_dtype(engine::DType::F32)?))?.mul(&w.var())?; // [B, T-1]
        Ok((head, Some(per_token)))
    }

    /// Rewards `[B]` of a packed batch; an error when the trunk cannot take the batch's padding side.
    pub fn rewards_for(&self, batch: &KwiseBatch) -> Result<Var> {
        if batch.padding == Padding::Left && !self.trunk.supports_left_padding() {
            return Err(Error::op("RewardModel", "this trunk needs right padding (its positions count from column 0)"));
        }
        self.rewards_masked(&batch.input_ids, &batch.attention_mask, &batch.last_index, Some(&batch.answer_mask))
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
        if let Some(w) = &self.likelihood {
            f(&join_name(prefix, "score.likelihood"), w);
        }
    }
}
