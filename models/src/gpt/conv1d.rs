//! [`Conv1D`]: GPT-2's linear layer, stored as Hugging Face stores it (`weight [in, out]`), so checkpoint
//! tensors load without a transpose and `y = x W + b` is one GEMM with no transposed operand.
use autograd::nn::{join_name, Module};
use autograd::{ParamKind, Parameter, Var};
use engine::rng::Rng;
use engine::{DType, Error, Result, Tensor};

/// `y = x W + b` with `W [in, out]`, `b [out]` (HF's `transformers.pytorch_utils.Conv1D`).
///
/// ```
/// use models::gpt::Conv1D;
/// use autograd::Var;
/// use engine::Tensor;
/// let w = Tensor::from_vec(vec![1f32, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3])?; // in 2, out 3
/// let layer = Conv1D::from_tensors(w, Some(Tensor::from_vec(vec![0f32, 0.0, 1.0], &[3])?))?;
/// let y = layer.forward(&Var::constant(Tensor::from_vec(vec![1f32, 1.0], &[1, 2])?))?;
/// assert_eq!(y.tensor().to_vec::<f32>()?, vec![5.0, 7.0, 10.0]);
/// # Ok::<(), engine::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Conv1D {
    /// `[in_features, out_features]`.
    pub weight: Parameter,
    /// `[out_features]`, when the layer has a bias.
    pub bias: Option<Parameter>,
}

impl Conv1D {
    /// GPT-2's initialisation: `W ~ N(0, std)`, `b = 0`.
    pub fn new(in_features: usize, out_features: usize, bias: bool, std: f32, rng: &mut Rng) -> Result<Conv1D> {
        let weight = Tensor::randn(&[in_features, out_features], 0.0, std, rng)?;
        let bias = if bias { Some(Tensor::zeros(&[out_features], DType::F32)?) } else { None };
        Conv1D::from_tensors(weight, bias)
    }

    /// A layer over the given weight `[in, out]` and bias `[out]`.
    pub fn from_tensors(weight: Tensor, bias: Option<Tensor>) -> Result<Conv1D> {
        if weight.rank() != 2 || bias.as_ref().is_some_and(|b| b.shape() != [weight.shape()[1]]) {
            return Err(Error::op(
                "Conv1D",
                format!(
                    "weight {:?} must be [in, out] and bias {:?} [out]",
                    weight.shape(),
                    bias.as_ref().map(|b| b.shape().to_vec())
                ),
            ));
        }
        Ok(Conv1D {
            weight: Parameter::new(weight, ParamKind::Weight),
            bias: bias.map(|b| Parameter::new(b, ParamKind::Bias)),
        })
    }

    /// `x [..., in] -> [..., out]`, one fused op (`Var::linear`: the bias seeds the GEMM's output).
    pub fn forward(&self, x: &Var) -> Result<Var> {
        let bias = self.bias.as_ref().map(Parameter::var);
        x.linear(&self.weight.var(), bias.as_ref())
    }
}

impl Module for Conv1D {
    fn visit_parameters(&self, prefix: &str, f: &mut dyn FnMut(&str, &Parameter)) {
        f(&join_name(prefix, "weight"), &self.weight);
        if let Some(b) = &self.bias {
            f(&join_name(prefix, "bias"), b);
        }
    }
}
