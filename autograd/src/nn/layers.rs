//! The layers models build on: [`Linear`], [`LayerNorm`], [`Embedding`].
use engine::rng::Rng;
use engine::{DType, Error, Result, Tensor};

use super::{join_name, Module};
use crate::graph::ParamKind;
use crate::param::Parameter;
use crate::var::Var;

/// `y = x W^T + b` with `W [out, in]` and `b [out]` (PyTorch's `nn.Linear` layout).
#[derive(Clone, Debug)]
pub struct Linear {
    /// `[out_features, in_features]`.
    pub weight: Parameter,
    /// `[out_features]`, when the layer has a bias.
    pub bias: Option<Parameter>,
}

impl Linear {
    /// PyTorch's default initialisation: `W, b ~ U(-1/sqrt(in), 1/sqrt(in))`.
    pub fn new(in_features: usize, out_features: usize, bias: bool, rng: &mut Rng) -> Result<Linear> {
        let bound = 1.0 / (in_features.max(1) as f32).sqrt();
        let weight = Tensor::rand_uniform(&[out_features, in_features], -bound, bound, rng)?;
        let bias = if bias { Some(Tensor::rand_uniform(&[out_features], -bound, bound, rng)?) } else { None };
        Linear::from_tensors(weight, bias)
    }

    /// GPT-2's initialisation: `W ~ N(0, std)`, `b = 0`.
    pub fn new_normal(in_features: usize, out_features: usize, bias: bool, std: f32, rng: &mut Rng) -> Result<Linear> {
        let weight = Tensor::randn(&[out_features, in_features], 0.0, std, rng)?;
        let bias = if bias { Some(Tensor::zeros(&[out_features], DType::F32)?) } else { None };
        Linear::from_tensors(weight, bias)
    }

    /// A layer with the given weight `[out, in]` and bias `[out]`.
    pub fn from_tensors(weight: Tensor, bias: Option<Tensor>) -> Result<Linear> {
        if weight.rank() != 2 || bias.as_ref().is_some_and(|b| b.shape() != [weight.shape()[0]]) {
            return Err(Error::op(
                "Linear",
                format!("weight {:?} must be [out, in] and bias {:?} [out]", weight.shape(), bias.as_ref().map(|b| b.shape().to_vec())),
            ));
        }
        Ok(Linear {
            weight: Parameter::new(weight, ParamKind::Weight),
            bias: bias.map(|b| Parameter::new(b, ParamKind::Bias)),
        })
    }

    /// `x [..., in] -> [..., out]`, one fused op ([`Var::linear`]: the bias seeds the GEMM's output, and
    /// the transposed weight is read in place).
    pub fn forward(&self, x: &Var) -> Result<Var> {
        let bias = self.bias.as_ref().map(Parameter::var);
        x.linear(&self.weight.var().t()?, bias.as_ref())
    }
}

impl Module for Linear {
    fn visit_parameters(&self, prefix: &str, f: &mut dyn FnMut(&str, &Parameter)) {
        f(&join_name(prefix, "weight"), &self.weight);
        if let Some(b) = &self.bias {
            f(&join_name(prefix, "bias"), b);
        }
    }
}

/// Layer normalisation over the last dimension with a gain (`weight`) and shift (`bias`), fused.
#[derive(Clone, Debug)]
pub struct LayerNorm {
    /// `[dim]`, initialised to 1.
    pub weight: Parameter,
    /// `[dim]`, initialised to 0.
    pub bias: Parameter,
    /// Added to the variance.
    pub eps: f32,
}

impl LayerNorm {
    /// A layer norm over `dim` features (gain 1, shift 0).
    pub fn new(dim: usize, eps: f32) -> Result<LayerNorm> {
        Ok(LayerNorm {
            weight: Parameter::new(Tensor::ones(&[dim], DType::F32)?, ParamKind::Norm),
            bias: Parameter::new(Tensor::zeros(&[dim], DType::F32)?, ParamKind::Norm),
            eps,
        })
    }

    /// `x [..., dim] -> [..., dim]`.
    pub fn forward(&self, x: &Var) -> Result<Var> {
        x.layer_norm(Some(&self.weight.var()), Some(&self.bias.var()), self.eps)
    }
}

impl Module for LayerNorm {
    fn visit_parameters(&self, prefix: &str, f: &mut dyn FnMut(&str, &Parameter)) {
        f(&join_name(prefix, "weight"), &self.weight);
        f(&join_name(prefix, "bias"), &self.bias);
    }
}

/// A lookup table `[num_embeddings, dim]`.
#[derive(Clone, Debug)]
pub struct Embedding {
    /// `[num_embeddings, dim]`.
    pub weight: Parameter,
}

impl Embedding {
    /// A table initialised `N(0, std)` (PyTorch uses 1, GPT-2 0.02).
    pub fn new(num_embeddings: usize, dim: usize, std: f32, rng: &mut Rng) -> Result<Embedding> {
        Ok(Embedding::from_tensor(Tensor::randn(&[num_embeddings, dim], 0.0, std, rng)?))
    }

    /// A layer over the given table.
    pub fn from_tensor(weight: Tensor) -> Embedding {
        Embedding { weight: Parameter::new(weight, ParamKind::Embedding) }
    }

    /// I64 ids of any shape -> `[..ids, dim]`.
    pub fn forward(&self, ids: &Tensor) -> Result<Var> {
        self.weight.var().embedding(ids)
    }
}

impl Module for Embedding {
    fn visit_parameters(&self, prefix: &str, f: &mut dyn FnMut(&str, &Parameter)) {
        f(&join_name(prefix, "weight"), &self.weight);
    }
}
