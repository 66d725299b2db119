//! One pre-LayerNorm transformer block: `x + attn(ln_1(x))`, then `x + mlp(ln_2(x))`.
use autograd::nn::{join_name, LayerNorm, Module};
use autograd::{Parameter, Var};
use engine::rng::Rng;
use engine::{Result, Tensor};

use super::attention::CausalSelfAttention;
use super::config::GptConfig;
use super::kv_cache::LayerKv;
use super::mlp::Mlp;

/// A GPT-2 block with HF's names (`ln_1`, `attn`, `ln_2`, `mlp`).
#[derive(Clone, Debug)]
pub struct Block {
    /// Norm before attention.
    pub ln_1: LayerNorm,
    /// Causal self-attention.
    pub attn: CausalSelfAttention,
    /// Norm before the MLP.
    pub ln_2: LayerNorm,
    /// The feed-forward block.
    pub mlp: Mlp,
}

impl Block {
    /// GPT-2's initialisation for `config`.
    pub fn new(config: &GptConfig, rng: &mut Rng) -> Result<Block> {
        Ok(Block {
            ln_1: LayerNorm::new(config.n_embd, config.layer_norm_eps)?,
            attn: CausalSelfAttention::new(config, rng)?,
            ln_2: LayerNorm::new(config.n_embd, config.layer_norm_eps)?,
            mlp: Mlp::new(config, rng)?,
        })
    }

    /// `x [B, T, C] -> [B, T, C]`; `dropout_rng` only in training.
    pub fn forward(&self, x: &Var, key_padding: Option<&Tensor>, mut dropout_rng: Option<&mut Rng>) -> Result<Var> {
        let x = x.add(&self.attn.forward(&self.ln_1.forward(x)?, key_padding, dropout_rng.as_deref_mut())?)?;
        x.add(&self.mlp.forward(&self.ln_2.forward(&x)?, dropout_rng)?)
    }

    /// The block with attention from primitive ops (the oracle of the fused path; no dropout).
    pub fn forward_composed(&self, x: &Var, key_padding: Option<&Tensor>) -> Result<Var> {
        let x = x.add(&self.attn.forward_composed(&self.ln_1.forward(x)?, key_padding)?)?;
        x.add(&self.mlp.forward(&self.ln_2.forward(&x)?, None)?)
    }

    /// Incremental decoding of new positions `x [B, Tn, C]` against `cache` (no gradient).
    pub fn forward_cached(&self, x: &Tensor, cache: &mut LayerKv, key_padding: Option<&Tensor>) -> Result<Tensor> {
        let h = self.ln_1.forward(&Var::constant(x.clone()))?.into_tensor();
        let x = x.add(&self.attn.forward_cached(&h, cache, key_padding)?)?;
        let h = self.mlp.forward(&self.ln_2.forward(&Var::constant(x.clone()))?, None)?.into_tensor();
        x.add(&h)
    }
}

impl Module for Block {
    fn visit_parameters(&self, prefix: &str, f: &mut dyn FnMut(&str, &Parameter)) {
        self.ln_1.visit_parameters(&join_name(prefix, "ln_1"), f);
        self.attn.visit_parameters(&join_name(prefix, "attn"), f);
        self.ln_2.visit_parameters(&join_name(prefix, "ln_2"), f);
        self.mlp.visit_parameters(&join_name(prefix, "mlp"), f);
    }
}
