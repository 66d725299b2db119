//! Heads on the BERT encoder: [`BertForMaskedLM`] (HF names `bert.*`, `cls.predictions.*`, decoder tied to
//! the word embeddings) and [`BertForSequenceScore`] (classification or regression from the pooled or
//! mean-pooled output, HF `BertForSequenceClassification` names `bert.*`, `classifier.*`).
use std::path::Path;

use autograd::nn::{join_name, LayerNorm, Linear, Module};
use autograd::{ParamKind, Parameter, Var};
use engine::io::safetensors;
use engine::rng::Rng;
use engine::{DType, Error, Result, Tensor};

use super::config::{BertActivation, BertConfig};
use super::encoder::{activate, hf_linear, maybe_dropout, Dropout};
use super::model::{mean_pool, BertModel, BertOutput};
use super::weights;

/// `cls.predictions`: `transform.dense` (H -> H), the activation, `transform.LayerNorm`, then the decoder
/// (the word embedding table, transposed: tied) plus `bias [V]`.
#[derive(Clone, Debug)]
pub struct BertMlmHead {
    /// `transform.dense.*`.
    pub transform_dense: Linear,
    /// `transform.LayerNorm.*`.
    pub transform_layer_norm: LayerNorm,
    /// `bias [V]`, the decoder's bias.
    pub bias: Parameter,
    /// The transform's activation (the model's `hidden_act`).
    pub activation: BertActivation,
}

impl BertMlmHead {
    /// Randomly initialised as Hugging Face does (decoder bias 0).
    pub fn new(config: &BertConfig, rng: &mut Rng) -> Result<BertMlmHead> {
        Ok(BertMlmHead {
            transform_dense: hf_linear(config.hidden_size, config.hidden_size, config, rng)?,
            transform_layer_norm: LayerNorm::new(config.hidden_size, config.layer_norm_eps)?,
            bias: Parameter::new(Tensor::zeros(&[config.vocab_size], DType::F32)?, ParamKind::Bias),
            activation: config.hidden_act,
        })
    }

    /// `hidden [.., H]` and the word embedding table `[V, H]` -> logits `[.., V]`.
    pub fn forward(&self, hidden: &Var, word_embeddings: &Var) -> Result<Var> {
        let h = activate(&self.transform_dense.forward(hidden)?, self.activation)?;
        let h = self.transform_layer_norm.forward(&h)?;
        h.matmul(&word_embeddings.t()?)?.add(&self.bias.var())
    }
}

impl Module for BertMlmHead {
    fn visit_parameters(&self, prefix: &str, f: &mut dyn FnMut(&str, &Parameter)) {
        self.transform_dense.visit_parameters(&join_name(prefix, "transform.dense"), f);
        self.transform_layer_norm.visit_parameters(&join_name(prefix, "transform.LayerNorm"), f);
        f(&join_name(prefix, "bias"), &self.bias);
    }
}

/// BERT with the masked-LM head: `bert.*` (no pooler) and `cls.predictions.*`, the decoder tied to
/// `bert.embeddings.word_embeddings.weight`.
///
/// ```
/// use autograd::nn::Module;
/// use engine::{rng::Rng, Tensor};
/// use models::bert::{BertConfig, BertForMaskedLM};
/// let config = BertConfig::from_json_str(r#"{"vocab_size": 40, "hidden_size": 16, "num_hidden_layers": 1,
///     "num_attention_heads": 4, "intermediate_size": 32, "max_position_embeddings": 8}"#)?;
/// let mlm = BertForMaskedLM::new(&config, &mut Rng::new(1))?;
/// let names: Vec<String> = mlm.named_parameters().into_iter().map(|(n, _)| n).collect();
/// assert!(names.contains(&"bert.embeddings.word_embeddings.weight".to_string()));
/// assert!(names.contains(&"cls.predictions.bias".to_string()));
/// let logits = mlm.forward(&Tensor::from_vec(vec![1i64, 5, 4, 2], &[1, 4])?, None, None)?;
/// assert_eq!(logits.shape(), &[1, 4, 40]);
/// # Ok::<(), engine::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct BertForMaskedLM {
    /// `bert.*`.
    pub bert: BertModel,
    /// `cls.predictions.*`.
    pub cls: BertMlmHead,
}

impl BertForMaskedLM {
    /// A randomly initialised model (no pooler, as HF's `BertForMaskedLM`).
    pub fn new(config: &BertConfig, rng: &mut Rng) -> Result<BertForMaskedLM> {
        Ok(BertForMaskedLM { bert: BertModel::new(config, false, rng)?, cls: BertMlmHead::new(config, rng)? })
    }

    /// Loads a Hugging Face `BertForMaskedLM` / `BertForPreTraining` folder. The pooler, the next-sentence
    /// head and the tied decoder's copies in the file are ignored; a checkpoint without `cls.predictions`
    /// (a bare encoder such as all-MiniLM-L6-v2) is an error naming the missing tensor.
    pub fn from_pretrained(dir: impl AsRef<Path>) -> Result<BertForMaskedLM> {
        let dir = dir.as_ref();
        let config = BertConfig::from_file(dir)?;
        let model = BertForMaskedLM::new(&config, &mut Rng::new(0))?;
        let ignorable = |name: &str| {
            let bare = name.strip_prefix("bert.").unwrap_or(name);
            bare.starts_with("embeddings.position_ids")
                || bare.starts_with("embeddings.token_type_ids")
                || bare.starts_with("pooler.")
                || name.starts_with("cls.seq_relationship.")
                || name == "cls.predictions.decoder.weight"
                || name == "cls.predictions.decoder.bias"
        };
        weights::load_parameters_from_dir(&model.named_parameters(), dir, &ignorable)?;
        Ok(model)
    }

    /// Logits `[B, T, V]` (see [`BertModel::forward`] for the inputs).
    pub fn forward(&self, input_ids: &Tensor, attention_mask: Option<&Tensor>, token_type_ids: Option<&Tensor>) -> Result<Var> {
        Ok(self.forward_with_hidden(input_ids, attention_mask, token_type_ids)?.1)
    }

    /// The encoder's outputs and the logits `[B, T, V]`.
    pub fn forward_with_hidden(
        &self,
        input_ids: &Tensor,
        attention_mask: Option<&Tensor>,
        token_type_ids: Option<&Tensor>,
    ) -> Result<(BertOutput, Var)> {
        self.forward_train(input_ids, attention_mask, token_type_ids, None)
    }

    /// The encoder's outputs and the logits with training-time dropout in the encoder (see [`Dropout`]).
    pub fn forward_train(
        &self,
        input_ids: &Tensor,
        attention_mask: Option<&Tensor>,
        token_type_ids: Option<&Tensor>,
        dropout: Option<&mut Dropout>,
    ) -> Result<(BertOutput, Var)> {
        let out = self.bert.forward_train(input_ids, attention_mask, token_type_ids, dropout)?;
        let logits = self.cls.forward(&out.last_hidden_state, &self.bert.embeddings.word_embeddings.weight.var())?;
        Ok((out, logits))
    }

    /// Writes `config.json` and `model.safetensors` (HF names; the tied decoder is not written, as HF does).
    pub fn save_pretrained(&self, dir: impl AsRef<Path>) -> Result<()> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e.to_string()))?;
        let config_path = dir.join("config.json");
        std::fs::write(&config_path, self.bert.config.to_json_string("BertForMaskedLM"))
            .map_err(|e| Error::io(&config_path, e.to_string()))?;
        weights::save_parameters(&self.named_parameters(), &dir.join("model.safetensors"))
    }
}

impl Module for BertForMaskedLM {
    fn visit_parameters(&self, prefix: &str, f: &mut dyn FnMut(&str, &Parameter)) {
        self.bert.visit_parameters(&join_name(prefix, "bert"), f);
        self.cls.visit_parameters(&join_name(prefix, "cls.predictions"), f);
    }
}

/// Which summary of the sequence a [`BertForSequenceScore`] reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SequencePooling {
    /// The pooler output (`tanh(dense(h[CLS]))`), as HF's `BertForSequenceClassification`.
    Pooler,
    /// The mean of the last hidden states over the real tokens (sentence-transformers' pooling).
    Mean,
}

/// A sequence head: `classifier` (`Linear(H, num_labels)`) on the pooled or mean-pooled output. One label
/// is a regression or a scalar score (a reward model); more are classification logits.
///
/// ```
/// use engine::{rng::Rng, Tensor};
/// use models::bert::{BertConfig, BertForSequenceScore, SequencePooling};
/// let config = BertConfig::from_json_str(r#"{"vocab_size": 30, "hidden_size": 8, "num_hidden_layers": 1,
///     "num_attention_heads": 2, "intermediate_size": 16, "max_position_embeddings": 8}"#)?;
/// let head = BertForSequenceScore::new(&config, 1, SequencePooling::Mean, &mut Rng::new(2))?;
/// let ids = Tensor::from_vec(vec![1i64, 4, 2, 0], &[2, 2])?;
/// let scores = head.forward(&ids, Some(&Tensor::from_vec(vec![1i64, 1, 1, 0], &[2, 2])?), None)?;
/// assert_eq!(scores.shape(), &[2, 1]);
/// # Ok::<(), engine::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct BertForSequenceScore {
    /// `bert.*` (with the pooler when `pooling` is [`SequencePooling::Pooler`]).
    pub bert: BertModel,
    /// `classifier.*`.
    pub classifier: Linear,
    /// What the classifier reads.
    pub pooling: SequencePooling,
}

impl BertForSequenceScore {
    /// A randomly initialised encoder and head.
    pub fn new(config: &BertConfig, num_labels: usize, pooling: SequencePooling, rng: &mut Rng) -> Result<BertForSequenceScore> {
        let bert = BertModel::new(config, pooling == SequencePooling::Pooler, rng)?;
        let classifier = hf_linear(config.hidden_size, num_labels, config, rng)?;
        Ok(BertForSequenceScore { bert, classifier, pooling })
    }

    /// A pretrained encoder from a Hugging Face folder with a fresh head (`N(0, initializer_range)`, bias
    /// 0): the start of a reward model.
    pub fn from_pretrained_encoder(
        dir: impl AsRef<Path>,
        num_labels: usize,
        pooling: SequencePooling,
        rng: &mut Rng,
    ) -> Result<BertForSequenceScore> {
        let bert = BertModel::from_pretrained(dir.as_ref())?;
        if pooling == SequencePooling::Pooler && bert.pooler.is_none() {
            return Err(Error::io(dir.as_ref(), "the checkpoint has no pooler (pooler.dense.weight); use mean pooling"));
        }
        let classifier = hf_linear(bert.config.hidden_size, num_labels, &bert.config, rng)?;
        Ok(BertForSequenceScore { bert, classifier, pooling })
    }

    /// Loads a whole model (encoder and `classifier.*`) from a Hugging Face folder; `num_labels` is read
    /// from the classifier's shape.
    pub fn from_pretrained(dir: impl AsRef<Path>, pooling: SequencePooling) -> Result<BertForSequenceScore> {
        let dir = dir.as_ref();
        let config = BertConfig::from_file(dir)?;
        let path = weights::weights_file(dir)?;
        let state = safetensors::load(&path)?;
        let num_labels = state
            .get("classifier.weight")
            .map(|w| w.shape()[0])
            .ok_or_else(|| Error::io(&path, "missing tensor \"classifier.weight\""))?;
        let model = BertForSequenceScore::new(&config, num_labels, pooling, &mut Rng::new(0))?;
        let ignorable = |name: &str| {
            let bare = name.strip_prefix("bert.").unwrap_or(name);
            bare.starts_with("embeddings.position_ids") || bare.starts_with("embeddings.token_type_ids") || bare.starts_with("pooler.")
        };
        weights::load_parameters(&model.named_parameters(), &state, &path, &ignorable)?;
        Ok(model)
    }

    /// Scores `[B, num_labels]` (see [`BertModel::forward`] for the inputs).
    pub fn forward(&self, input_ids: &Tensor, attention_mask: Option<&Tensor>, token_type_ids: Option<&Tensor>) -> Result<Var> {
        self.forward_train(input_ids, attention_mask, token_type_ids, None)
    }

    /// Scores with training-time dropout in the encoder and on the pooled output (see [`Dropout`]).
    pub fn forward_train(
        &self,
        input_ids: &Tensor,
        attention_mask: Option<&Tensor>,
        token_type_ids: Option<&Tensor>,
        mut dropout: Option<&mut Dropout>,
    ) -> Result<Var> {
        let out = self.bert.forward_train(input_ids, attention_mask, token_type_ids, dropout.as_deref_mut())?;
        let pooled = match self.pooling {
            SequencePooling::Pooler => out
                .pooler_output
                .ok_or_else(|| Error::op("BertForSequenceScore", "pooler pooling needs a model with a pooler"))?,
            SequencePooling::Mean => mean_pool(&out.last_hidden_state, attention_mask)?,
        };
        self.classifier.forward(&maybe_dropout(pooled, dropout)?)
    }
}

impl Module for BertForSequenceScore {
    fn visit_parameters(&self, prefix: &str, f: &mut dyn FnMut(&str, &Parameter)) {
        self.bert.visit_parameters(&join_name(prefix, "bert"), f);
        self.classifier.visit_parameters(&join_name(prefix, "classifier"), f);
    }
}
