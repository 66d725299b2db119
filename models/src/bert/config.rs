//! [`BertConfig`]: the hyper-parameters of a BERT model, read from a Hugging Face `config.json`.
use std::path::Path;

use engine::{Error, Result};
use serde::Deserialize;

/// The activation of the feed-forward block (`hidden_act` in `config.json`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BertActivation {
    /// `"gelu"`: the exact form `x Phi(x)` with erf (BERT's own).
    GeluErf,
    /// `"gelu_new"`, `"gelu_pytorch_tanh"`: the tanh approximation.
    GeluTanh,
    /// `"relu"`.
    Relu,
}

impl BertActivation {
    /// The activation named by Hugging Face's `hidden_act`; an error for any other name.
    pub fn from_hf_name(name: &str) -> Result<BertActivation> {
        match name {
            "gelu" => Ok(BertActivation::GeluErf),
            "gelu_new" | "gelu_pytorch_tanh" | "gelu_fast" => Ok(BertActivation::GeluTanh),
            "relu" => Ok(BertActivation::Relu),
            other => Err(Error::op("BertConfig", format!("unsupported hidden_act {other:?} (gelu, gelu_new, relu)"))),
        }
    }

    /// Hugging Face's name for it.
    pub fn hf_name(self) -> &'static str {
        match self {
            BertActivation::GeluErf => "gelu",
            BertActivation::GeluTanh => "gelu_new",
            BertActivation::Relu => "relu",
        }
    }
}

/// BERT's hyper-parameters, with Hugging Face's field names and `bert-base-uncased` defaults.
///
/// ```
/// use models::bert::BertConfig;
/// let config = BertConfig::from_json_str(r#"{"vocab_size": 100, "hidden_size": 32, "num_hidden_layers": 2,
///     "num_attention_heads": 2, "intermediate_size": 64}"#)?;
/// assert_eq!(config.head_dim(), 16);
/// assert_eq!(config.max_position_embeddings, 512); // default
/// assert!(BertConfig::from_json_str(r#"{"hidden_size": 30, "num_attention_heads": 4}"#).is_err());
/// # Ok::<(), engine::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct BertConfig {
    /// Number of WordPiece tokens.
    pub vocab_size: usize,
    /// Width of the residual stream.
    pub hidden_size: usize,
    /// Number of encoder blocks.
    pub num_hidden_layers: usize,
    /// Number of attention heads; divides `hidden_size`.
    pub num_attention_heads: usize,
    /// Width of the feed-forward block.
    pub intermediate_size: usize,
    /// The feed-forward activation.
    pub hidden_act: BertActivation,
    /// Number of learned absolute positions (the longest input).
    pub max_position_embeddings: usize,
    /// Number of segment (token type) embeddings.
    pub type_vocab_size: usize,
    /// LayerNorm epsilon.
    pub layer_norm_eps: f32,
    /// Standard deviation of the initial weights.
    pub initializer_range: f32,
    /// Id of `[PAD]`.
    pub pad_token_id: u32,
}

#[derive(Deserialize)]
struct HfBertConfig {
    #[serde(default = "d_vocab")]
    vocab_size: usize,
    #[serde(default = "d_hidden")]
    hidden_size: usize,
    #[serde(default = "d_layers")]
    num_hidden_layers: usize,
    #[serde(default = "d_heads")]
    num_attention_heads: usize,
    #[serde(default = "d_inter")]
    intermediate_size: usize,
    #[serde(default = "d_act")]
    hidden_act: String,
    #[serde(default = "d_pos")]
    max_position_embeddings: usize,
    #[serde(default = "d_types")]
    type_vocab_size: usize,
    #[serde(default = "d_eps")]
    layer_norm_eps: f64,
    #[serde(default = "d_init")]
    initializer_range: f64,
    #[serde(default)]
    pad_token_id: Option<u32>,
    #[serde(default)]
    position_embedding_type: Option<String>,
}

fn d_vocab() -> usize {
    30522
}
fn d_hidden() -> usize {
    768
}
fn d_layers() -> usize {
    12
}
fn d_heads() -> usize {
    12
}
fn d_inter() -> usize {
    3072
}
fn d_act() -> String {
    "gelu".into()
}
fn d_pos() -> usize {
    512
}
fn d_types() -> usize {
    2
}
fn d_eps() -> f64 {
    1e-12
}
fn d_init() -> f64 {
    0.02
}

impl BertConfig {
    /// Parses a Hugging Face `config.json` text; missing fields take `bert-base-uncased`'s values.
    pub fn from_json_str(json: &str) -> Result<BertConfig> {
        let hf: HfBertConfig =
            serde_json::from_str(json).map_err(|e| Error::op("BertConfig", format!("config.json: {e}")))?;
        if let Some(kind) = hf.position_embedding_type.as_deref() {
            if kind != "absolute" {
                return Err(Error::op("BertConfig", format!("position_embedding_type {kind:?} is not supported (absolute)")));
            }
        }
        let config = BertConfig {
            vocab_size: hf.vocab_size,
            hidden_size: hf.hidden_size,
            num_hidden_layers: hf.num_hidden_layers,
            num_attention_heads: hf.num_attention_heads,
            intermediate_size: hf.intermediate_size,
            hidden_act: BertActivation::from_hf_name(&hf.hidden_act)?,
            max_position_embeddings: hf.max_position_embeddings,
            type_vocab_size: hf.type_vocab_size,
            layer_norm_eps: hf.layer_norm_eps as f32,
            initializer_range: hf.initializer_range as f32,
            pad_token_id: hf.pad_token_id.unwrap_or(0),
        };
        config.validate()?;
        Ok(config)
    }

    /// Reads `config.json` (a file, or a directory that holds one).
    pub fn from_file(path: impl AsRef<Path>) -> Result<BertConfig> {
        let mut path = path.as_ref().to_path_buf();
        if path.is_dir() {
            path = path.join("config.json");
        }
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e.to_string()))?;
        BertConfig::from_json_str(&text).map_err(|e| Error::io(&path, e.to_string()))
    }

    /// Checks that the sizes are usable (non-zero, heads divide the width).
    pub fn validate(&self) -> Result<()> {
        let sizes = [
            ("vocab_size", self.vocab_size),
            ("hidden_size", self.hidden_size),
            ("num_attention_heads", self.num_attention_heads),
            ("intermediate_size", self.intermediate_size),
            ("max_position_embeddings", self.max_position_embeddings),
            ("type_vocab_size", self.type_vocab_size),
        ];
        if let Some((name, _)) = sizes.iter().find(|(_, v)| *v == 0) {
            return Err(Error::op("BertConfig", format!("{name} must be positive")));
        }
        if !self.hidden_size.is_multiple_of(self.num_attention_heads) {
            return Err(Error::op(
                "BertConfig",
                format!("hidden_size {} is not divisible by num_attention_heads {}", self.hidden_size, self.num_attention_heads),
            ));
        }
        Ok(())
    }

    /// The width of one attention head.
    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_attention_heads
    }

    /// The configuration as Hugging Face `config.json` text (`architectures` as given).
    pub fn to_json_string(&self, architecture: &str) -> String {
        let value = serde_json::json!({
            "architectures": [architecture],
            "model_type": "bert",
            "vocab_size": self.vocab_size,
            "hidden_size": self.hidden_size,
            "num_hidden_layers": self.num_hidden_layers,
            "num_attention_heads": self.num_attention_heads,
            "intermediate_size": self.intermediate_size,
            "hidden_act": self.hidden_act.hf_name(),
            "max_position_embeddings": self.max_position_embeddings,
            "type_vocab_size": self.type_vocab_size,
            "layer_norm_eps": self.layer_norm_eps,
            "initializer_range": self.initializer_range,
            "pad_token_id": self.pad_token_id,
            "position_embedding_type": "absolute",
        });
        serde_json::to_string_pretty(&value).unwrap_or_default()
    }
}
