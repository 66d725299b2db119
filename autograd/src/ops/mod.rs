//! Differentiable ops on [`crate::Var`], one module per family, each op's forward and backward side by side.
//!
//! A primitive has one backward rule, written next to its forward as a closure that receives the output
//! gradient and returns each input's gradient. Fused ops (softmax + cross-entropy, layernorm, GELU,
//! attention) have hand-written backward rules that call the engine's backward kernels.
use engine::{DType, Error, Result, Tensor};

pub mod attention;
pub mod concat;
pub mod dropout;
pub mod elementwise;
pub mod index;
pub mod layernorm;
pub mod loss;
pub mod matmul;
pub mod reduce;
pub mod softmax;
pub mod view;

/// Sums a broadcast gradient back to `shape`: over the leading dimensions the broadcast added and over
/// the dimensions where `shape` has size 1 (NumPy broadcasting, undone).
pub(crate) fn sum_to_shape(g: &Tensor, shape: &[usize]) -> Result<Tensor> {
    if g.shape() == shape {
        return Ok(g.clone());
    }
    if g.rank() < shape.len() {
        return Err(Error::op(
            "sum_to_shape",
            format!("gradient {:?} has lower rank than the input {:?}", g.shape(), shape),
        ));
    }
    let lead = g.rank() - shape.len();
    let mut dims: Vec<isize> = (0..lead as isize).collect();
    for (i, &s) in shape.iter().enumerate() {
        if s == 1 && g.shape()[lead + i] != 1 {
            dims.push((lead + i) as isize);
        }
    }
    let summed = if dims.is_empty() { g.clone() } else { g.sum(&dims, true)? };
    summed.reshape(shape)
}

/// A U8 mask (0/1) as f32 (0.0/1.0).
pub(crate) fn mask_f32(mask: &Tensor) -> Result<Tensor> {
    mask.to_dtype(DType::F32)
}

/// Resolves a possibly negative dimension against `rank`.
pub(crate) fn resolve_dim(op: &'static str, dim: isize, rank: usize) -> Result<usize> {
    engine::layout::resolve_dim(op, dim, rank)
}
