//! A GPT-2-shaped model built from autograd's modules (token + position embeddings, pre-norm blocks with
//! fused causal self-attention and a GELU MLP, a final layernorm, an LM head tied to the token embedding).
//! Shared by the `train_step_memory` example and the composite gradient test; the real model lives in the
//! `models` crate.
use autograd::nn::{join_name, Embedding, LayerNorm, Linear, Module};
use autograd::{Parameter, Var};
use engine::rng::Rng;
use engine::{Result, Tensor};

/// Sizes of the model.
#[derive(Clone, Copy, Debug)]
pub struct GptConfig {
    pub vocab_size: usize,
    pub block_size: usize,
    pub n_layer: usize,
    pub n_head: usize,
    pub n_embd: usize,
}

/// One pre-norm transformer block.
pub struct Block {
    ln_1: LayerNorm,
    c_attn: Linear,
    attn_proj: Linear,
    ln_2: LayerNorm,
    c_fc: Linear,
    mlp_proj: Linear,
    n_head: usize,
}

impl Block {
    fn new(c: &GptConfig, rng: &mut Rng) -> Result<Block> {
        let e = c.n_embd;
        let proj_std = 0.02 / (2.0 * c.n_layer as f32).sqrt();
        Ok(Block {
            ln_1: LayerNorm::new(e, 1e-5)?,
            c_attn: Linear::new_normal(e, 3 * e, true, 0.02, rng)?,
            attn_proj: Linear::new_normal(e, e, true, proj_std, rng)?,
            ln_2: LayerNorm::new(e, 1e-5)?,
            c_fc: Linear::new_normal(e, 4 * e, true, 0.02, rng)?,
            mlp_proj: Linear::new_normal(4 * e, e, true, proj_std, rng)?,
            n_head: c.n_head,
        })
    }

    /// `x [B, T, C] -> [B, T, C]`.
    fn forward(&self, x: &Var, key_padding: Option<&Tensor>) -> Result<Var> {
        let qkv = self.c_attn.forward(&self.ln_1.forward(x)?)?;
        let attn = Var::causal_self_attention(&qkv, self.n_head, key_padding)?;
        let x = x.add(&self.attn_proj.forward(&attn)?)?;
        let h = self.c_fc.forward(&self.ln_2.forward(&x)?)?.gelu()?;
        x.add(&self.mlp_proj.forward(&h)?)
    }
}

impl Module for Block {
    fn visit_parameters(&self, prefix: &str, f: &mut dyn FnMut(&str, &Parameter)) {
        self.ln_1.visit_parameters(&join_name(prefix, "ln_1"), f);
        self.c_attn.visit_parameters(&join_name(prefix, "attn.c_attn"), f);
        self.attn_proj.visit_parameters(&join_name(prefix, "attn.c_proj"), f);
        self.ln_2.visit_parameters(&join_name(prefix, "ln_2"), f);
        self.c_fc.visit_parameters(&join_name(prefix, "mlp.c_fc"), f);
        self.mlp_proj.visit_parameters(&join_name(prefix, "mlp.c_proj"), f);
    }
}

/// The whole model.
pub struct Gpt {
    pub config: GptConfig,
    wte: Embedding,
    wpe: Embedding,
    h: Vec<Block>,
    ln_f: LayerNorm,
}

impl Gpt {
    pub fn new(config: GptConfig, rng: &mut Rng) -> Result<Gpt> {
        Ok(Gpt {
            config,
            wte: Embedding::new(config.vocab_size, config.n_embd, 0.02, rng)?,
            wpe: Embedding::new(config.block_size, config.n_embd, 0.02, rng)?,
            h: (0..config.n_layer).map(|_| Block::new(&config, rng)).collect::<Result<_>>()?,
            ln_f: LayerNorm::new(config.n_embd, 1e-5)?,
        })
    }

    /// `ids` I64 `[B, T]` -> logits `[B, T, vocab]`.
    pub fn forward(&self, ids: &Tensor, key_padding: Option<&Tensor>) -> Result<Var> {
        let t = ids.shape()[1];
        let pos = Tensor::arange(0, t as i64)?;
        let mut x = self.wte.forward(ids)?.add(&self.wpe.forward(&pos)?)?;
        for block in &self.h {
            x = block.forward(&x, key_padding)?;
        }
        let x = self.ln_f.forward(&x)?;
        // LM head tied to the token embedding: its gradient adds to the embedding's.
        x.matmul(&self.wte.weight.var().t()?)
    }

    /// Mean cross-entropy of next-token prediction (`targets` I64 `[B, T]`, -100 ignored).
    pub fn loss(&self, ids: &Tensor, targets: &Tensor, key_padding: Option<&Tensor>) -> Result<Var> {
        self.forward(ids, key_padding)?.cross_entropy(targets, -100)
    }
}

impl Module for Gpt {
    fn visit_parameters(&self, prefix: &str, f: &mut dyn FnMut(&str, &Parameter)) {
        self.wte.visit_parameters(&join_name(prefix, "wte"), f);
        self.wpe.visit_parameters(&join_name(prefix, "wpe"), f);
        for (i, block) in self.h.iter().enumerate() {
            block.visit_parameters(&join_name(prefix, &format!("h.{i}")), f);
        }
        self.ln_f.visit_parameters(&join_name(prefix, "ln_f"), f);
    }
}
