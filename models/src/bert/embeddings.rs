//! [`BertEmbeddings`]: word + absolute position + token type embeddings, then LayerNorm (HF `BertEmbeddings`).
use autograd::nn::{join_name, Embedding, LayerNorm, Module};
use autograd::{Parameter, Var};
use engine::rng::Rng;
use engine::{DType, Error, Result, Tensor};

use super::config::BertConfig;

/// The input embeddings: `LayerNorm(word[ids] + position[0..T] + token_type[types])` (dropout is not
/// applied: inference and the reference checks run without it).
#[derive(Clone, Debug)]
pub struct BertEmbeddings {
    /// `word_embeddings.weight [vocab, H]` (tied to the MLM decoder).
    pub word_embeddings: Embedding,
    /// `position_embeddings.weight [max_positions, H]`.
    pub position_embeddings: Embedding,
    /// `token_type_embeddings.weight [type_vocab, H]`.
    pub token_type_embeddings: Embedding,
    /// `LayerNorm.{weight,bias} [H]`.
    pub layer_norm: LayerNorm,
}

impl BertEmbeddings {
    /// Randomly initialised as Hugging Face does: `N(0, initializer_range)`, the `[PAD]` row of the word
    /// table zero, LayerNorm 1 / 0.
    pub fn new(config: &BertConfig, rng: &mut Rng) -> Result<BertEmbeddings> {
        let std = config.initializer_range;
        let h = config.hidden_size;
        let mut word = Tensor::randn(&[config.vocab_size, h], 0.0, std, rng)?.contiguous()?;
        let pad = config.pad_token_id as usize;
        if pad < config.vocab_size {
            word.contiguous_slice_mut::<f32>()?[pad * h..(pad + 1) * h].fill(0.0);
        }
        Ok(BertEmbeddings {
            word_embeddings: Embedding::from_tensor(word),
            position_embeddings: Embedding::new(config.max_position_embeddings, h, std, rng)?,
            token_type_embeddings: Embedding::new(config.type_vocab_size, h, std, rng)?,
            layer_norm: LayerNorm::new(h, config.layer_norm_eps)?,
        })
    }

    /// `input_ids` I64 `[B, T]`, `token_type_ids` I64 `[B, T]` (all 0 when `None`) -> `[B, T, H]`.
    pub fn forward(&self, input_ids: &Tensor, token_type_ids: Option<&Tensor>) -> Result<Var> {
        const OP: &str = "BertEmbeddings";
        if input_ids.rank() != 2 || input_ids.dtype() != DType::I64 {
            return Err(Error::op(OP, format!("input_ids must be I64 [B, T], got {} {:?}", input_ids.dtype(), input_ids.shape())));
        }
        let (b, t) = (input_ids.shape()[0], input_ids.shape()[1]);
        let max_positions = self.position_embeddings.weight.shape()[0];
        if t > max_positions {
            return Err(Error::op(OP, format!("sequence length {t} exceeds max_position_embeddings {max_positions}")));
        }
        let words = self.word_embeddings.forward(input_ids)?; // [B, T, H]
        let positions = self.position_embeddings.forward(&Tensor::arange(0, t as i64)?)?; // [T, H]
        let zeros;
        let types = match token_type_ids {
            Some(types) => {
                if types.shape() != input_ids.shape() {
                    return Err(Error::op(
                        OP,
                        format!("token_type_ids {:?} must match input_ids {:?}", types.shape(), input_ids.shape()),
                    ));
                }
                types
            }
            None => {
                zeros = Tensor::zeros(&[b, t], DType::I64)?;
                &zeros
            }
        };
        let types = self.token_type_embeddings.forward(types)?; // [B, T, H]
        let sum = words.add(&positions)?.add(&types)?;
        self.layer_norm.forward(&sum)
    }
}

impl Module for BertEmbeddings {
    fn visit_parameters(&self, prefix: &str, f: &mut dyn FnMut(&str, &Parameter)) {
        self.word_embeddings.visit_parameters(&join_name(prefix, "word_embeddings"), f);
        self.position_embeddings.visit_parameters(&join_name(prefix, "position_embeddings"), f);
        self.token_type_embeddings.visit_parameters(&join_name(prefix, "token_type_embeddings"), f);
        self.layer_norm.visit_parameters(&join_name(prefix, "LayerNorm"), f);
    }
}
