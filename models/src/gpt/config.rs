//! [`GptConfig`]: the sizes of a GPT-2-style decoder, its named presets, and the mapping to and from
//! Hugging Face's `config.json` (`GPT2Config`).
use std::path::Path;

use engine::{Error, Result};
use serde_json::{json, Value};

/// Sizes and regularisation of a GPT-2-style decoder.
///
/// ```
/// use models::gpt::GptConfig;
/// let c = GptConfig::preset("char-tiny").unwrap();
/// assert_eq!((c.vocab_size, c.n_layer, c.n_head, c.n_embd, c.block_size), (65, 4, 4, 128, 64));
/// assert_eq!(GptConfig::preset("gpt2").unwrap().vocab_size, 50257);
/// assert!(GptConfig::preset("nope").is_err());
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct GptConfig {
    /// Number of token ids.
    pub vocab_size: usize,
    /// Longest context (the number of learned positions; HF's `n_positions`).
    pub block_size: usize,
    /// Number of transformer blocks.
    pub n_layer: usize,
    /// Attention heads per block (`n_embd` must be a multiple).
    pub n_head: usize,
    /// Width of the residual stream.
    pub n_embd: usize,
    /// Dropout probability on embeddings, attention probabilities and residual branches (training only).
    pub dropout: f32,
    /// Biases in the projections (GPT-2: true). The layer norms always have a shift.
    pub bias: bool,
    /// Layer-norm epsilon (GPT-2: 1e-5).
    pub layer_norm_eps: f32,
}

/// The preset names [`GptConfig::preset`] knows.
pub const PRESETS: [&str; 3] = ["char-tiny", "char-small", "gpt2"];

impl GptConfig {
    /// A named preset: `char-tiny` (vocab 65, 4 layers, 4 heads, 128 wide, block 64), `char-small`
    /// (vocab 65, 6 layers, 6 heads, 384 wide, block 256), `gpt2` (124M: vocab 50257, 12 layers, 12 heads,
    /// 768 wide, block 1024). Dropout is 0 (set it on the result); the character presets' vocabulary is
    /// Tiny Shakespeare's and is usually replaced by the tokenizer's size.
    pub fn preset(name: &str) -> Result<GptConfig> {
        let (vocab_size, n_layer, n_head, n_embd, block_size) = match name {
            "char-tiny" => (65, 4, 4, 128, 64),
            "char-small" => (65, 6, 6, 384, 256),
            "gpt2" => (50257, 12, 12, 768, 1024),
            _ => {
                return Err(Error::op("GptConfig::preset", format!("unknown preset {name:?}; known: {PRESETS:?}")));
            }
        };
        let c = GptConfig { vocab_size, block_size, n_layer, n_head, n_embd, dropout: 0.0, bias: true, layer_norm_eps: 1e-5 };
        c.validate()?;
        Ok(c)
    }

    /// Checks the sizes: all positive, `n_embd` divisible by `n_head`, dropout in `[0, 1)`.
    pub fn validate(&self) -> Result<()> {
        let problem = if self.vocab_size == 0 || self.block_size == 0 || self.n_layer == 0 || self.n_head == 0 {
            Some("vocab_size, block_size, n_layer and n_head must be positive".to_string())
        } else if self.n_embd == 0 || !self.n_embd.is_multiple_of(self.n_head) {
            Some(format!("n_embd {} must be a positive multiple of n_head {}", self.n_embd, self.n_head))
        } else if !(0.0..1.0).contains(&self.dropout) {
            Some(format!("dropout {} must be in [0, 1)", self.dropout))
        } else {
            None
        };
        match problem {
            Some(p) => Err(Error::op("GptConfig", p)),
            None => Ok(()),
        }
    }

    /// Width of one attention head.
    pub fn head_dim(&self) -> usize {
        self.n_embd / self.n_head
    }

    /// The std of the residual output projections (`attn.c_proj`, `mlp.c_proj`): `0.02 / sqrt(2 n_layer)`.
    pub fn residual_init_std(&self) -> f32 {
        0.02 / (2.0 * self.n_layer as f32).sqrt()
    }

    /// Reads a Hugging Face `GPT2Config` from JSON (`n_positions` or `n_ctx` is the block size; the
    /// residual dropout `resid_pdrop` is the dropout). Errors on fields GPT-2 code would read differently
    /// (another activation, an `n_inner` other than 4 n_embd, untied embeddings, scaled attention tricks).
    pub fn from_hf_json(value: &Value) -> Result<GptConfig> {
        const OP: &str = "GptConfig::from_hf_json";
        let get = |key: &str| value.get(key).filter(|v| !v.is_null());
        let int = |keys: &[&str]| -> Result<usize> {
            keys.iter()
                .find_map(|k| get(k).and_then(Value::as_u64))
                .map(|v| v as usize)
                .ok_or_else(|| Error::op(OP, format!("config.json has no integer {}", keys.join(" or "))))
        };
        let n_embd = int(&["n_embd", "hidden_size"])?;
        if let Some(act) = get("activation_function").and_then(Value::as_str) {
            if act != "gelu_new" && act != "gelu_pytorch_tanh" {
                return Err(Error::op(OP, format!("activation_function {act:?} is not GPT-2's tanh GELU (gelu_new)")));
            }
        }
        if let Some(inner) = get("n_inner").and_then(Value::as_u64) {
            if inner as usize != 4 * n_embd {
                return Err(Error::op(OP, format!("n_inner {inner} is not 4 * n_embd = {}", 4 * n_embd)));
            }
        }
        if get("tie_word_embeddings").and_then(Value::as_bool) == Some(false) {
            return Err(Error::op(OP, "tie_word_embeddings = false: the LM head must be tied to wte"));
        }
        for flag in ["scale_attn_by_inverse_layer_idx", "reorder_and_upcast_attn"] {
            if get(flag).and_then(Value::as_bool) == Some(true) {
                return Err(Error::op(OP, format!("{flag} = true is not supported")));
            }
        }
        if get("scale_attn_weights").and_then(Value::as_bool) == Some(false) {
            return Err(Error::op(OP, "scale_attn_weights = false is not supported"));
        }
        let c = GptConfig {
            vocab_size: int(&["vocab_size"])?,
            block_size: int(&["n_positions", "n_ctx", "max_position_embeddings"])?,
            n_layer: int(&["n_layer", "num_hidden_layers"])?,
            n_head: int(&["n_head", "num_attention_heads"])?,
            n_embd,
            dropout: get("resid_pdrop").and_then(Value::as_f64).unwrap_or(0.0) as f32,
            bias: true,
            layer_norm_eps: get("layer_norm_epsilon").and_then(Value::as_f64).unwrap_or(1e-5) as f32,
        };
        c.validate()?;
        Ok(c)
    }

    /// The Hugging Face `config.json` for this model (`GPT2LMHeadModel`), loadable by `transformers`.
    pub fn to_hf_json(&self) -> Value {
        json!({
            "architectures": ["GPT2LMHeadModel"],
            "model_type": "gpt2",
            "vocab_size": self.vocab_size,
            "n_positions": self.block_size,
            "n_ctx": self.block_size,
            "n_embd": self.n_embd,
            "n_layer": self.n_layer,
            "n_head": self.n_head,
            "n_inner": null,
            "activation_function": "gelu_new",
            "resid_pdrop": self.dropout,
            "embd_pdrop": self.dropout,
            "attn_pdrop": self.dropout,
            "layer_norm_epsilon": self.layer_norm_eps,
            "initializer_range": 0.02,
            "scale_attn_weights": true,
            "tie_word_embeddings": true,
            "use_cache": true,
            "torch_dtype": "float32",
        })
    }

    /// Reads `config.json` from a file.
    pub fn load_hf(path: impl AsRef<Path>) -> Result<GptConfig> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, format!("cannot read: {e}")))?;
        let value: Value = serde_json::from_str(&text).map_err(|e| Error::io(path, format!("malformed JSON: {e}")))?;
        GptConfig::from_hf_json(&value).map_err(|e| Error::io(path, e.to_string()))
    }
}
