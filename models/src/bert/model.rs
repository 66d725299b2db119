//! [`BertModel`]: embeddings, the encoder stack and the optional pooler, as HF `BertModel`.
use std::path::Path;

use autograd::nn::{join_name, Linear, Module};
use autograd::{Parameter, Var};
use engine::rng::Rng;
use engine::{DType, Error, Result, Tensor};

use super::config::BertConfig;
use super::embeddings::BertEmbeddings;
use super::encoder::{hf_linear, maybe_dropout, BertLayer, Dropout};
use super::inference::Workspace;
use super::weights;

/// What [`BertModel::forward`] returns.
#[derive(Clone, Debug)]
pub struct BertOutput {
    /// The last layer's output `[B, T, H]`.
    pub last_hidden_state: Var,
    /// The embedding output followed by every layer's output (`num_hidden_layers + 1` of `[B, T, H]`),
    /// as HF's `output_hidden_states=True`.
    pub hidden_states: Vec<Var>,
    /// `tanh(pooler.dense(last_hidden_state[:, 0]))`, `[B, H]`, when the model has a pooler.
    pub pooler_output: Option<Var>,
}

/// The BERT encoder. Parameter names are Hugging Face's (`embeddings.word_embeddings.weight`,
/// `encoder.layer.0.attention.self.query.weight`, ..., `pooler.dense.weight`).
///
/// ```
/// use autograd::nn::Module;
/// use engine::{rng::Rng, Tensor};
/// use models::bert::{BertConfig, BertModel};
/// let config = BertConfig::from_json_str(r#"{"vocab_size": 50, "hidden_size": 16, "num_hidden_layers": 2,
///     "num_attention_heads": 2, "intermediate_size": 32, "max_position_embeddings": 16}"#)?;
/// let model = BertModel::new(&config, true, &mut Rng::new(0))?;
/// assert!(model.named_parameters().iter().any(|(n, _)| n == "encoder.layer.1.attention.self.query.weight"));
/// let ids = Tensor::from_vec(vec![2i64, 7, 9, 3, 2, 5, 3, 0], &[2, 4])?;
/// let mask = Tensor::from_vec(vec![1i64, 1, 1, 1, 1, 1, 1, 0], &[2, 4])?;
/// let out = model.forward(&ids, Some(&mask), None)?;
/// assert_eq!(out.last_hidden_state.shape(), &[2, 4, 16]);
/// assert_eq!(out.hidden_states.len(), 3);
/// assert_eq!(out.pooler_output.unwrap().shape(), &[2, 16]);
/// # Ok::<(), engine::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct BertModel {
    /// The hyper-parameters.
    pub config: BertConfig,
    /// `embeddings.*`.
    pub embeddings: BertEmbeddings,
    /// `encoder.layer.N.*`.
    pub layers: Vec<BertLayer>,
    /// `pooler.dense.*`, absent in a masked-LM model.
    pub pooler: Option<Linear>,
}

/// An attention mask (`[B, T]`, any dtype, nonzero = real token) as the U8 key-padding mask the fused
/// attention takes, or `None` when every token is real.
pub fn key_padding_mask(attention_mask: Option<&Tensor>, input_shape: &[usize]) -> Result<Option<Tensor>> {
    let Some(mask) = attention_mask else { return Ok(None) };
    if mask.shape() != input_shape {
        return Err(Error::op("BertModel", format!("attention_mask {:?} must match input_ids {input_shape:?}", mask.shape())));
    }
    let keep = mask.ne_scalar(0.0)?;
    if keep.to_vec::<u8>()?.iter().all(|&k| k != 0) {
        return Ok(None);
    }
    Ok(Some(keep))
}

impl BertModel {
    /// A randomly initialised model (Hugging Face's initialisation), with or without the pooler.
    pub fn new(config: &BertConfig, add_pooler: bool, rng: &mut Rng) -> Result<BertModel> {
        config.validate()?;
        let embeddings = BertEmbeddings::new(config, rng)?;
        let layers = (0..config.num_hidden_layers).map(|_| BertLayer::new(config, rng)).collect::<Result<Vec<_>>>()?;
        let pooler =
            if add_pooler { Some(hf_linear(config.hidden_size, config.hidden_size, config, rng)?) } else { None };
        Ok(BertModel { config: config.clone(), embeddings, layers, pooler })
    }

    /// Loads a Hugging Face folder (`config.json`, `model.safetensors`). Tensors may carry the `bert.`
    /// prefix (a `BertForMaskedLM` or classification checkpoint: its heads are ignored). The pooler is
    /// built when the checkpoint has one.
    pub fn from_pretrained(dir: impl AsRef<Path>) -> Result<BertModel> {
        let dir = dir.as_ref();
        let config = BertConfig::from_file(dir)?;
        let path = weights::weights_file(dir)?;
        let state = engine::io::safetensors::load(&path)?;
        let has_pooler = state.keys().any(|k| k == "pooler.dense.weight" || k == "bert.pooler.dense.weight");
        // Weights are overwritten below; the seed only fills them meanwhile.
        let model = BertModel::new(&config, has_pooler, &mut Rng::new(0))?;
        let ignorable = |name: &str| {
            let name = name.strip_prefix("bert.").unwrap_or(name);
            name.starts_with("embeddings.position_ids")
                || name.starts_with("embeddings.token_type_ids")
                || !(name.starts_with("embeddings.") || name.starts_with("encoder.") || name.starts_with("pooler."))
        };
        weights::load_parameters(&model.named_parameters(), &state, &path, &ignorable)?;
        Ok(model)
    }

    /// Runs the encoder. `input_ids` I64 `[B, T]`; `attention_mask` `[B, T]` (any dtype, nonzero = real
    /// token; all real when `None`); `token_type_ids` I64 `[B, T]` (all 0 when `None`).
    pub fn forward(&self, input_ids: &Tensor, attention_mask: Option<&Tensor>, token_type_ids: Option<&Tensor>) -> Result<BertOutput> {
        self.forward_train(input_ids, attention_mask, token_type_ids, None)
    }

    /// [`BertModel::forward`] with training-time dropout (see [`Dropout`]); `None` is `forward`. When no
    /// gradient is recorded ([`autograd::no_grad`]) and there is no dropout, the layers run the inference
    /// path (`inference.rs`): the same arithmetic without the graph, in fewer passes over memory.
    pub fn forward_train(
        &self,
        input_ids: &Tensor,
        attention_mask: Option<&Tensor>,
        token_type_ids: Option<&Tensor>,
        mut dropout: Option<&mut Dropout>,
    ) -> Result<BertOutput> {
        let key_padding = key_padding_mask(attention_mask, input_ids.shape())?;
        let mut x = maybe_dropout(self.embeddings.forward(input_ids, token_type_ids)?, dropout.as_deref_mut())?;
        let mut hidden_states = Vec::with_capacity(self.layers.len() + 1);
        hidden_states.push(x.clone());
        if dropout.is_none() && !autograd::is_grad_enabled() && !self.layers.is_empty() {
            // Nothing to record: the same arithmetic on raw rows, faster (see `inference.rs`).
            let shape = x.shape().to_vec();
            let t = shape[1];
            let keep = key_padding.as_ref().map(|k| k.to_vec::<u8>()).transpose()?;
            let mut ws = Workspace::new(shape[0] * t, self.config.hidden_size, self.config.intermediate_size);
            let mut rows = x.tensor().contiguous()?;
            for layer in &self.layers {
                let y = layer.forward_inference(rows.contiguous_slice::<f32>()?, t, keep.as_deref(), &mut ws)?;
                rows = Tensor::from_vec(y, &shape)?;
                hidden_states.push(Var::constant(rows.clone()));
            }
            x = Var::constant(rows);
        } else {
            for layer in &self.layers {
                x = layer.forward_train(&x, key_padding.as_ref(), dropout.as_deref_mut())?;
                hidden_states.push(x.clone());
            }
        }
        let pooler_output = match &self.pooler {
            Some(dense) => Some(dense.forward(&x.select(1, 0)?)?.tanh()?),
            None => None,
        };
        Ok(BertOutput { last_hidden_state: x, hidden_states, pooler_output })
    }

    /// Writes `config.json` and `model.safetensors` (HF names) into `dir`, creating it.
    pub fn save_pretrained(&self, dir: impl AsRef<Path>) -> Result<()> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e.to_string()))?;
        let config_path = dir.join("config.json");
        std::fs::write(&config_path, self.config.to_json_string("BertModel")).map_err(|e| Error::io(&config_path, e.to_string()))?;
        weights::save_parameters(&self.named_parameters(), &dir.join("model.safetensors"))
    }
}

impl Module for BertModel {
    fn visit_parameters(&self, prefix: &str, f: &mut dyn FnMut(&str, &Parameter)) {
        self.embeddings.visit_parameters(&join_name(prefix, "embeddings"), f);
        for (i, layer) in self.layers.iter().enumerate() {
            layer.visit_parameters(&join_name(prefix, &format!("encoder.layer.{i}")), f);
        }
        if let Some(pooler) = &self.pooler {
            pooler.visit_parameters(&join_name(prefix, "pooler.dense"), f);
        }
    }
}

/// Ids `[B, T]` as an I64 tensor from rows of equal length.
pub fn ids_tensor(rows: &[Vec<u32>]) -> Result<Tensor> {
    let t = rows.first().map_or(0, Vec::len);
    if rows.iter().any(|r| r.len() != t) {
        return Err(Error::op("ids_tensor", "rows have different lengths; pad them first"));
    }
    let data: Vec<i64> = rows.iter().flatten().map(|&id| id as i64).collect();
    Tensor::from_vec(data, &[rows.len(), t])
}

/// Pads token-id rows to the longest with `pad_id`: returns I64 `input_ids [B, T]` and the I64
/// `attention_mask [B, T]` (1 = real token), as HF tokenizers with `padding=True` give them.
pub fn pad_batch(rows: &[Vec<u32>], pad_id: u32) -> Result<(Tensor, Tensor)> {
    let t = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut ids = Vec::with_capacity(rows.len() * t);
    let mut mask = Vec::with_capacity(rows.len() * t);
    for row in rows {
        ids.extend(row.iter().map(|&id| id as i64));
        ids.extend(std::iter::repeat_n(pad_id as i64, t - row.len()));
        mask.extend(std::iter::repeat_n(1i64, row.len()));
        mask.extend(std::iter::repeat_n(0i64, t - row.len()));
    }
    Ok((Tensor::from_vec(ids, &[rows.len(), t])?, Tensor::from_vec(mask, &[rows.len(), t])?))
}

/// An I64 mask as the f32 `[B, T, 1]` weights mean pooling multiplies by.
fn mask_weights(attention_mask: &Tensor) -> Result<Tensor> {
    attention_mask.ne_scalar(0.0)?.to_dtype(DType::F32)?.unsqueeze(-1)
}

/// Mean of `hidden [B, T, H]` over the real tokens of `attention_mask [B, T]` (all when `None`) -> `[B, H]`,
/// as sentence-transformers' `Pooling(mean)` (the count clamped at 1e-9).
pub fn mean_pool(hidden: &Var, attention_mask: Option<&Tensor>) -> Result<Var> {
    let s = hidden.shape();
    if s.len() != 3 {
        return Err(Error::op("mean_pool", format!("hidden states must be [B, T, H], got {s:?}")));
    }
    let weights = match attention_mask {
        Some(m) => {
            if m.shape() != &s[..2] {
                return Err(Error::op("mean_pool", format!("attention_mask {:?} must be {:?}", m.shape(), &s[..2])));
            }
            mask_weights(m)?
        }
        None => Tensor::ones(&[s[0], s[1], 1], DType::F32)?,
    };
    let counts = weights.sum(&[1], false)?.maximum(&Tensor::scalar(1e-9))?; // [B, 1]
    hidden.mul(&Var::constant(weights))?.sum(&[1], false)?.div(&Var::constant(counts))
}

/// `x / max(||x||_2, 1e-12)` along the last dimension (PyTorch's `F.normalize`).
pub fn l2_normalize(x: &Var) -> Result<Var> {
    let norm = x.square()?.sum(&[-1], true)?.sqrt()?;
    let floor = Var::constant(Tensor::scalar(1e-12));
    x.div(&norm.maximum(&floor)?)
}
