//! One post-LayerNorm BERT encoder block (HF `BertLayer`) and its parts:
//!
//! ```text
//! a = LayerNorm(x + attention.output.dense(SelfAttention(x, padding mask)))
//! y = LayerNorm(a + output.dense(act(intermediate.dense(a))))
//! ```
//! Attention is bidirectional: every real token sees every real token; padding keys are blocked through
//! autograd's fused attention (`AttentionMask::key_padding`).
use autograd::nn::{join_name, LayerNorm, Linear, Module};
use autograd::{AttentionMask, Parameter, Var};
use engine::rng::Rng as DropoutRng;
use engine::rng::Rng;
use engine::{Error, Result, Tensor};

use super::config::{BertActivation, BertConfig};

/// Training-time dropout (HF `hidden_dropout_prob`): applied to the embedding output, to each attention and
/// feed-forward output before its residual sum, and to the pooled output of a sequence head. Dropout of the
/// attention probabilities is not applied (the fused attention has none).
#[derive(Clone, Debug)]
pub struct Dropout {
    /// The probability of zeroing an element (BERT: 0.1).
    pub p: f32,
    /// Where the masks are drawn from.
    pub rng: DropoutRng,
}

impl Dropout {
    /// Dropout with probability `p` drawing from a generator seeded with `seed`.
    pub fn new(p: f32, seed: u64) -> Dropout {
        Dropout { p, rng: DropoutRng::new(seed) }
    }
}

/// `x` with dropout when `dropout` is given, unchanged otherwise.
pub(crate) fn maybe_dropout(x: Var, dropout: Option<&mut Dropout>) -> Result<Var> {
    match dropout {
        Some(d) => x.dropout(d.p, &mut d.rng),
        None => Ok(x),
    }
}

/// A linear layer initialised as Hugging Face initialises BERT: `W ~ N(0, std)`, `b = 0`.
pub(crate) fn hf_linear(in_features: usize, out_features: usize, config: &BertConfig, rng: &mut Rng) -> Result<Linear> {
    Linear::new_normal(in_features, out_features, true, config.initializer_range, rng)
}

/// `attention.self`: the query, key and value projections and multi-head scaled dot-product attention.
#[derive(Clone, Debug)]
pub struct BertSelfAttention {
    /// `query.{weight [H, H], bias [H]}`.
    pub query: Linear,
    /// `key.{weight, bias}`.
    pub key: Linear,
    /// `value.{weight, bias}`.
    pub value: Linear,
    /// Number of heads.
    pub num_heads: usize,
}

impl BertSelfAttention {
    /// `x [B, T, H]`, `key_padding` U8 `[B, T]` (1 = real token) -> the heads' outputs merged, `[B, T, H]`.
    pub fn forward(&self, x: &Var, key_padding: Option<&Tensor>) -> Result<Var> {
        let s = x.shape();
        if s.len() != 3 {
            return Err(Error::op("BertSelfAttention", format!("input must be [B, T, H], got {s:?}")));
        }
        let (b, t, h) = (s[0], s[1], s[2]);
        let hd = h / self.num_heads;
        // [B, T, H] -> [B, nh, T, hd] (a strided view; the GEMMs read it without a copy).
        let heads = |lin: &Linear| -> Result<Var> { lin.forward(x)?.reshape(&[b, t, self.num_heads, hd])?.transpose(1, 2) };
        let (q, k, v) = (heads(&self.query)?, heads(&self.key)?, heads(&self.value)?);
        let mask = AttentionMask { causal: false, key_padding: key_padding.cloned() };
        let context = Var::scaled_dot_product_attention(&q, &k, &v, &mask)?; // [B, nh, T, hd]
        context.transpose(1, 2)?.reshape(&[b, t, h])
    }
}

impl Module for BertSelfAttention {
    fn visit_parameters(&self, prefix: &str, f: &mut dyn FnMut(&str, &Parameter)) {
        self.query.visit_parameters(&join_name(prefix, "query"), f);
        self.key.visit_parameters(&join_name(prefix, "key"), f);
        self.value.visit_parameters(&join_name(prefix, "value"), f);
    }
}

/// A dense layer followed by the residual sum and LayerNorm (HF `BertSelfOutput` / `BertOutput`).
#[derive(Clone, Debug)]
pub struct BertResidualOutput {
    /// `dense.{weight, bias}`.
    pub dense: Linear,
    /// `LayerNorm.{weight, bias}`.
    pub layer_norm: LayerNorm,
}

impl BertResidualOutput {
    /// `LayerNorm(residual + dense(x))`.
    pub fn forward(&self, x: &Var, residual: &Var) -> Result<Var> {
        self.forward_train(x, residual, None)
    }

    /// `LayerNorm(residual + dropout(dense(x)))`.
    pub fn forward_train(&self, x: &Var, residual: &Var, dropout: Option<&mut Dropout>) -> Result<Var> {
        let y = maybe_dropout(self.dense.forward(x)?, dropout)?;
        self.layer_norm.forward(&y.add(residual)?)
    }
}

impl Module for BertResidualOutput {
    fn visit_parameters(&self, prefix: &str, f: &mut dyn FnMut(&str, &Parameter)) {
        self.dense.visit_parameters(&join_name(prefix, "dense"), f);
        self.layer_norm.visit_parameters(&join_name(prefix, "LayerNorm"), f);
    }
}

/// Applies a feed-forward activation.
pub(crate) fn activate(x: &Var, act: BertActivation) -> Result<Var> {
    match act {
        BertActivation::GeluErf => x.gelu_erf(),
        BertActivation::GeluTanh => x.gelu(),
        BertActivation::Relu => x.relu(),
    }
}

/// One encoder block, named as HF's `encoder.layer.N`.
#[derive(Clone, Debug)]
pub struct BertLayer {
    /// `attention.self.*`.
    pub attention_self: BertSelfAttention,
    /// `attention.output.*`.
    pub attention_output: BertResidualOutput,
    /// `intermediate.dense.*` (`[I, H]`).
    pub intermediate: Linear,
    /// `output.*` (dense `[H, I]` + LayerNorm).
    pub output: BertResidualOutput,
    /// The feed-forward activation.
    pub activation: BertActivation,
}

impl BertLayer {
    /// Randomly initialised as Hugging Face does.
    pub fn new(config: &BertConfig, rng: &mut Rng) -> Result<BertLayer> {
        let (h, i) = (config.hidden_size, config.intermediate_size);
        let residual = |inp: usize, rng: &mut Rng| -> Result<BertResidualOutput> {
            Ok(BertResidualOutput { dense: hf_linear(inp, h, config, rng)?, layer_norm: LayerNorm::new(h, config.layer_norm_eps)? })
        };
        Ok(BertLayer {
            attention_self: BertSelfAttention {
                query: hf_linear(h, h, config, rng)?,
                key: hf_linear(h, h, config, rng)?,
                value: hf_linear(h, h, config, rng)?,
                num_heads: config.num_attention_heads,
            },
            attention_output: residual(h, rng)?,
            intermediate: hf_linear(h, i, config, rng)?,
            output: residual(i, rng)?,
            activation: config.hidden_act,
        })
    }

    /// `x [B, T, H]`, `key_padding` U8 `[B, T]` (1 = real token) -> `[B, T, H]`.
    pub fn forward(&self, x: &Var, key_padding: Option<&Tensor>) -> Result<Var> {
        self.forward_train(x, key_padding, None)
    }

    /// [`BertLayer::forward`] with training-time dropout.
    pub fn forward_train(&self, x: &Var, key_padding: Option<&Tensor>, mut dropout: Option<&mut Dropout>) -> Result<Var> {
        let attended = self.attention_self.forward(x, key_padding)?;
        let a = self.attention_output.forward_train(&attended, x, dropout.as_deref_mut())?;
        let inner = activate(&self.intermediate.forward(&a)?, self.activation)?;
        self.output.forward_train(&inner, &a, dropout)
    }
}

impl Module for BertLayer {
    fn visit_parameters(&self, prefix: &str, f: &mut dyn FnMut(&str, &Parameter)) {
        self.attention_self.visit_parameters(&join_name(prefix, "attention.self"), f);
        self.attention_output.visit_parameters(&join_name(prefix, "attention.output"), f);
        self.intermediate.visit_parameters(&join_name(prefix, "intermediate.dense"), f);
        self.output.visit_parameters(&join_name(prefix, "output"), f);
    }
}
