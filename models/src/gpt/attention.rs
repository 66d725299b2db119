//! GPT-2's causal multi-head self-attention: `c_attn` projects `[B, T, C]` to q, k, v side by side
//! (`[B, T, 3C]`), the heads attend causally, `c_proj` maps back to `[B, T, C]`.
//!
//! Three paths, one set of weights:
//! - [`CausalSelfAttention::forward`] without attention dropout: autograd's fused
//!   `Var::causal_self_attention` (head split, softmax and merge in one op with a hand-written backward).
//! - With attention dropout (training with `dropout > 0`), or as the oracle in tests:
//!   [`CausalSelfAttention::forward_composed`], the same maths from primitive ops, so dropout can sit on the
//!   probabilities as in GPT-2.
//! - [`CausalSelfAttention::forward_cached`]: incremental decoding against a [`LayerKv`] cache.
use autograd::nn::{join_name, Module};
use autograd::{attention_forward, AttentionMask, Parameter, Var};
use engine::rng::Rng;
use engine::{Result, Tensor};

use super::config::GptConfig;
use super::conv1d::Conv1D;
use super::kv_cache::LayerKv;

/// Causal multi-head self-attention with HF GPT-2's parameter names (`c_attn`, `c_proj`).
#[derive(Clone, Debug)]
pub struct CausalSelfAttention {
    /// `[C, 3C]`: q, k, v projections side by side.
    pub c_attn: Conv1D,
    /// `[C, C]`: the output projection (a residual projection: initialised with the scaled std).
    pub c_proj: Conv1D,
    /// Number of heads.
    pub n_head: usize,
    /// Dropout on the attention probabilities and on the output (training only).
    pub dropout: f32,
}

impl CausalSelfAttention {
    /// GPT-2's initialisation for `config`.
    pub fn new(config: &GptConfig, rng: &mut Rng) -> Result<Self> {
        let c = config.n_embd;
        Ok(CausalSelfAttention {
            c_attn: Conv1D::new(c, 3 * c, config.bias, 0.02, rng)?,
            c_proj: Conv1D::new(c, c, config.bias, config.residual_init_std(), rng)?,
            n_head: config.n_head,
            dropout: config.dropout,
        })
    }

    /// `x [B, T, C] -> [B, T, C]`. `key_padding` is U8 `[B, T]` (1 = real token). `dropout_rng` is given in
    /// training only; with it and `dropout > 0` the probabilities and output are dropped out.
    pub fn forward(&self, x: &Var, key_padding: Option<&Tensor>, dropout_rng: Option<&mut Rng>) -> Result<Var> {
        let qkv = self.c_attn.forward(x)?;
        match dropout_rng {
            Some(rng) if self.dropout > 0.0 => {
                let y = self.attend_composed(&qkv, key_padding, Some(&mut *rng))?;
                self.c_proj.forward(&y)?.dropout(self.dropout, rng)
            }
            _ => {
                let y = Var::causal_self_attention(&qkv, self.n_head, key_padding)?;
                self.c_proj.forward(&y)
            }
        }
    }

    /// The same attention from primitive ops (no dropout): the oracle for the fused path.
    pub fn forward_composed(&self, x: &Var, key_padding: Option<&Tensor>) -> Result<Var> {
        let qkv = self.c_attn.forward(x)?;
        self.c_proj.forward(&self.attend_composed(&qkv, key_padding, None)?)
    }

    /// `qkv [B, T, 3C] -> [B, T, C]` from primitive ops, with optional dropout on the probabilities.
    fn attend_composed(&self, qkv: &Var, key_padding: Option<&Tensor>, dropout_rng: Option<&mut Rng>) -> Result<Var> {
        let (b, t, c) = (qkv.shape()[0], qkv.shape()[1], qkv.shape()[2] / 3);
        let (h, hd) = (self.n_head, c / self.n_head);
        // [B, T, C] -> [B, H, T, hd]
        let heads = |i: usize| -> Result<Var> { qkv.narrow(-1, i * c, c)?.reshape(&[b, t, h, hd])?.transpose(1, 2) };
        let (q, k, v) = (heads(0)?, heads(1)?, heads(2)?);
        let mut scores = q.matmul(&k.transpose(-2, -1)?)?.mul_scalar(1.0 / (hd as f32).sqrt())?; // [B, H, T, T]
        let mask = AttentionMask { causal: true, key_padding: key_padding.cloned() };
        if let Some(blocked) = mask.blocked(&[b, h], t, t)? {
            scores = scores.masked_fill(&blocked, autograd::ops::attention::MASKED_SCORE)?;
        }
        let mut p = scores.softmax(-1)?;
        if let Some(rng) = dropout_rng {
            p = p.dropout(self.dropout, rng)?;
        }
        p.matmul(&v)?.transpose(1, 2)?.contiguous()?.reshape(&[b, t, c])
    }

    /// Incremental decoding (no gradient): `x [B, Tn, C]` are the new positions; their keys and values are
    /// appended to `cache`, and they attend to everything cached so far (causally among themselves).
    /// `key_padding` is U8 `[B, Tk]` over all cached positions including the new ones (1 = real token).
    pub fn forward_cached(&self, x: &Tensor, cache: &mut LayerKv, key_padding: Option<&Tensor>) -> Result<Tensor> {
        let (b, tn, c) = (x.shape()[0], x.shape()[1], x.shape()[2]);
        let (h, hd) = (self.n_head, c / self.n_head);
        let qkv = self.c_attn.forward(&Var::constant(x.clone()))?.into_tensor();
        let heads = |i: usize| -> Result<Tensor> {
            qkv.narrow(-1, i * c, c)?.reshape(&[b, tn, h, hd])?.transpose(1, 2)?.contiguous()
        };
        let (q, k_new, v_new) = (heads(0)?, heads(1)?, heads(2)?);
        cache.append(&k_new, &v_new)?;
        let (k, v) = cache.keys_values()?;
        let tk = k.shape()[2];
        let mask = AttentionMask { causal: true, key_padding: key_padding.cloned() };
        let blocked = mask.blocked(&[b, h], tn, tk)?;
        let (o, _p) = attention_forward(&q, &k, &v, blocked.as_ref())?;
        drop((k, v)); // release the views of the cache buffer before the next append writes into it
        let y = o.transpose(1, 2)?.contiguous()?.reshape(&[b, tn, c])?;
        Ok(self.c_proj.forward(&Var::constant(y))?.into_tensor())
    }
}

impl Module for CausalSelfAttention {
    fn visit_parameters(&self, prefix: &str, f: &mut dyn FnMut(&str, &Parameter)) {
        self.c_attn.visit_parameters(&join_name(prefix, "c_attn"), f);
        self.c_proj.visit_parameters(&join_name(prefix, "c_proj"), f);
    }
}
