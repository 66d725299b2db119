//! [`Gpt`]: the GPT-2 decoder. Token + learned position embeddings, `n_layer` pre-LN [`Block`]s, a final
//! LayerNorm, and an LM head tied to the token embedding (`logits = ln_f(x) wte^T`, so the head's gradient
//! adds into `wte`'s). Parameter names are Hugging Face's (`transformer.h.0.attn.c_attn.weight`), so the
//! state dict maps one to one onto `GPT2LMHeadModel` checkpoints (whose `lm_head.weight` is the tied
//! `wte`, not a separate tensor).
use autograd::nn::{join_name, Embedding, LayerNorm, Module};
use autograd::{no_grad, Parameter, Var};
use engine::rng::Rng;
use engine::{DType, Error, Result, Tensor};

use super::block::Block;
use super::config::GptConfig;
use super::kv_cache::KvCache;

/// The prefix of every transformer parameter's name (HF's `GPT2LMHeadModel.transformer`).
pub const TRANSFORMER_PREFIX: &str = "transformer";

/// The output of a forward pass.
#[derive(Debug)]
pub struct GptOutput {
    /// `[B, T, vocab]`.
    pub logits: Var,
    /// Mean next-token cross-entropy over targets that are not -100, when targets were given.
    pub loss: Option<Var>,
}

/// A GPT-2 decoder.
///
/// ```
/// use autograd::nn::Module;
/// use engine::{rng::Rng, Tensor};
/// use models::gpt::{Gpt, GptConfig};
/// let mut config = GptConfig::preset("char-tiny")?;
/// config.n_layer = 2;
/// let model = Gpt::new(config, &mut Rng::new(0))?;
/// assert_eq!(model.named_parameters()[0].0, "transformer.wte.weight");
/// let ids = Tensor::from_vec(vec![1i64, 2, 3, 4, 5, 6], &[2, 3])?;
/// let targets = Tensor::from_vec(vec![2i64, 3, 4, 5, 6, 7], &[2, 3])?;
/// let out = model.forward(&ids, Some(&targets))?;
/// assert_eq!(out.logits.shape(), &[2, 3, 65]);
/// let loss = out.loss.unwrap();
/// assert!((loss.item()? - 65f32.ln()).abs() < 0.1); // small init: close to uniform
/// loss.backward()?;
/// assert!(model.wte.weight.grad().is_some());
/// # Ok::<(), engine::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Gpt {
    /// The sizes.
    pub config: GptConfig,
    /// Token embedding `[vocab, C]`, also the LM head.
    pub wte: Embedding,
    /// Position embedding `[block_size, C]`.
    pub wpe: Embedding,
    /// The blocks.
    pub h: Vec<Block>,
    /// The final norm.
    pub ln_f: LayerNorm,
}

impl Gpt {
    /// A model with GPT-2's initialisation: embeddings and projections `N(0, 0.02)`, residual projections
    /// (`attn.c_proj`, `mlp.c_proj`) `N(0, 0.02 / sqrt(2 n_layer))`, biases 0, norms (1, 0).
    pub fn new(config: GptConfig, rng: &mut Rng) -> Result<Gpt> {
        config.validate()?;
        Ok(Gpt {
            wte: Embedding::new(config.vocab_size, config.n_embd, 0.02, rng)?,
            wpe: Embedding::new(config.block_size, config.n_embd, 0.02, rng)?,
            h: (0..config.n_layer).map(|_| Block::new(&config, rng)).collect::<Result<_>>()?,
            ln_f: LayerNorm::new(config.n_embd, config.layer_norm_eps)?,
            config,
        })
    }

    /// Evaluation forward (no dropout): `ids` I64 `[B, T]`, optional `targets` I64 `[B, T]` (-100 ignored).
    pub fn forward(&self, ids: &Tensor, targets: Option<&Tensor>) -> Result<GptOutput> {
        let logits = self.logits_with(ids, None, None, None, false)?;
        with_loss(logits, targets)
    }

    /// Training forward: as [`Gpt::forward`] with dropout drawn from `rng` (when `config.dropout > 0`).
    pub fn forward_train(&self, ids: &Tensor, targets: Option<&Tensor>, rng: &mut Rng) -> Result<GptOutput> {
        let logits = self.logits_with(ids, None, None, Some(rng), false)?;
        with_loss(logits, targets)
    }

    /// Evaluation logits of padded rows: `key_padding` U8 `[B, T]` (1 = real token) and `positions` I64
    /// `[B, T]` (the position id of each token; `None` means `0..T` for every row).
    pub fn forward_padded(&self, ids: &Tensor, key_padding: Option<&Tensor>, positions: Option<&Tensor>) -> Result<Var> {
        self.logits_with(ids, key_padding, positions, None, false)
    }

    /// The same logits with attention from primitive ops instead of the fused op: the oracle in tests.
    pub fn forward_composed(&self, ids: &Tensor) -> Result<Var> {
        self.logits_with(ids, None, None, None, true)
    }

    /// The final hidden states `ln_f(x)`, `[B, T, C]`, of padded rows (evaluation, no dropout): the input
    /// of the LM head, and the trunk output a reward or value head reads. `key_padding` and `positions` as
    /// in [`Gpt::forward_padded`].
    pub fn hidden_states(&self, ids: &Tensor, key_padding: Option<&Tensor>, positions: Option<&Tensor>) -> Result<Var> {
        self.hidden_with(ids, key_padding, positions, None, false)
    }

    fn logits_with(
        &self,
        ids: &Tensor,
        key_padding: Option<&Tensor>,
        positions: Option<&Tensor>,
        dropout_rng: Option<&mut Rng>,
        composed: bool,
    ) -> Result<Var> {
        self.lm_head(&self.hidden_with(ids, key_padding, positions, dropout_rng, composed)?)
    }

    fn hidden_with(
        &self,
        ids: &Tensor,
        key_padding: Option<&Tensor>,
        positions: Option<&Tensor>,
        mut dropout_rng: Option<&mut Rng>,
        composed: bool,
    ) -> Result<Var> {
        let t = self.check_ids(ids)?;
        let pos = match positions {
            Some(p) => p.clone(),
            None => Tensor::arange(0, t as i64)?,
        };
        let mut x = self.wte.forward(ids)?.add(&self.wpe.forward(&pos)?)?; // [B, T, C]
        if let Some(rng) = dropout_rng.as_deref_mut() {
            x = x.dropout(self.config.dropout, rng)?;
        }
        for block in &self.h {
            x = if composed {
                block.forward_composed(&x, key_padding)?
            } else {
                block.forward(&x, key_padding, dropout_rng.as_deref_mut())?
            };
        }
        self.ln_f.forward(&x)
    }

    /// The log-probability of each next token, `ids [B, T] -> [B, T - 1]`: entry `(b, t)` is
    /// `log p(ids[b, t + 1] | ids[b, ..= t])`. Differentiable (policy gradients need it); no dropout. The
    /// path `rlhf score` reports and PPO's reference model scores with.
    ///
    /// ```
    /// use engine::{rng::Rng, Tensor};
    /// use models::gpt::{Gpt, GptConfig};
    /// let mut config = GptConfig::preset("char-tiny")?;
    /// config.n_layer = 1;
    /// let model = Gpt::new(config, &mut Rng::new(0))?;
    /// let ids = Tensor::from_vec(vec![5i64, 6, 7, 8], &[1, 4])?;
    /// let lp = model.token_logprobs(&ids)?;
    /// assert_eq!(lp.shape(), &[1, 3]);
    /// assert!(lp.tensor().to_vec::<f32>()?.iter().all(|&p| p < 0.0 && p > -10.0));
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn token_logprobs(&self, ids: &Tensor) -> Result<Var> {
        let t = self.check_ids(ids)?;
        if t < 2 {
            return Err(Error::op("Gpt::token_logprobs", "needs at least 2 tokens per row"));
        }
        let logits = self.forward(ids, None)?.logits; // [B, T, V]
        let logprobs = logits.narrow(1, 0, t - 1)?.contiguous()?.log_softmax(-1)?; // [B, T-1, V]
        let next = ids.narrow(1, 1, t - 1)?.contiguous()?.unsqueeze(-1)?; // [B, T-1, 1]
        logprobs.gather(-1, &next)?.squeeze(-1)
    }

    /// `x [.., C] -> logits [.., vocab]` through the tied head (`x wte^T`); `x` is [`Gpt::hidden_states`]'s
    /// output.
    pub fn lm_head(&self, x: &Var) -> Result<Var> {
        x.matmul(&self.wte.weight.var().t()?)
    }

    /// Incremental decoding (runs under [`no_grad`]): feeds new tokens `ids [B, Tn]` with their padding
    /// flags `keep [B * Tn]` (1 = real), appends to `cache`, and returns the logits of the new positions
    /// `[B, Tn, vocab]`.
    pub fn forward_cached(&self, ids: &Tensor, keep: &[u8], cache: &mut KvCache) -> Result<Tensor> {
        let _guard = no_grad();
        let tn = self.check_ids(ids)?;
        if cache.batch() != ids.shape()[0] || cache.layers.len() != self.h.len() {
            return Err(Error::op(
                "Gpt::forward_cached",
                format!("cache for {} rows and {} layers, ids {:?}", cache.batch(), cache.layers.len(), ids.shape()),
            ));
        }
        let positions = cache.push_positions(keep, tn)?;
        let key_padding = cache.key_padding()?;
        let all_real = keep.iter().all(|&k| k != 0) && key_padding.to_vec::<u8>()?.iter().all(|&k| k != 0);
        let padding = if all_real { None } else { Some(&key_padding) };
        let mut x = self.wte.forward(ids)?.add(&self.wpe.forward(&positions)?)?.into_tensor();
        for (block, layer) in self.h.iter().zip(cache.layers.iter_mut()) {
            x = block.forward_cached(&x, layer, padding)?;
        }
        Ok(self.lm_head(&self.ln_f.forward(&Var::constant(x))?)?.into_tensor())
    }

    /// Checks `ids` is I64 `[B, T]` with `T <= block_size`; returns `T`.
    fn check_ids(&self, ids: &Tensor) -> Result<usize> {
        if ids.rank() != 2 || ids.dtype() != DType::I64 || ids.shape()[1] == 0 {
            return Err(Error::op("Gpt::forward", format!("ids must be I64 [B, T] with T > 0, got {} {:?}", ids.dtype(), ids.shape())));
        }
        let t = ids.shape()[1];
        if t > self.config.block_size {
            return Err(Error::op("Gpt::forward", format!("sequence length {t} exceeds the block size {}", self.config.block_size)));
        }
        Ok(t)
    }
}

fn with_loss(logits: Var, targets: Option<&Tensor>) -> Result<GptOutput> {
    let loss = match targets {
        Some(t) => Some(logits.cross_entropy(t, -100)?),
        None => None,
    };
    Ok(GptOutput { logits, loss })
}

impl Module for Gpt {
    fn visit_parameters(&self, prefix: &str, f: &mut dyn FnMut(&str, &Parameter)) {
        let base = join_name(prefix, TRANSFORMER_PREFIX);
        self.wte.visit_parameters(&join_name(&base, "wte"), f);
        self.wpe.visit_parameters(&join_name(&base, "wpe"), f);
        for (i, block) in self.h.iter().enumerate() {
            block.visit_parameters(&join_name(&base, &format!("h.{i}")), f);
        }
        self.ln_f.visit_parameters(&join_name(&base, "ln_f"), f);
    }
}
