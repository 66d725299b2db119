//! Views: shape changes that share storage in the forward pass. Their backward rules put the gradient
//! back into the input's shape: reshape back, transpose/permute back, pad a narrow/select with zeros,
//! sum a broadcast.
use engine::{DType, Result, Tensor};

use super::{resolve_dim, sum_to_shape};
use crate::var::{record, Var};

/// The gradient of `narrow(dim, start, len)`: `g` placed at `start` inside zeros of `shape`.
pub(crate) fn narrow_backward(g: &Tensor, shape: &[usize], dim: usize, start: usize) -> Result<Tensor> {
    let len = g.shape()[dim];
    if start == 0 && len == shape[dim] {
        return Ok(g.clone());
    }
    let mut parts: Vec<Tensor> = Vec::with_capacity(3);
    let zeros = |n: usize| {
        let mut s = shape.to_vec();
        s[dim] = n;
        Tensor::zeros(&s, DType::F32)
    };
    if start > 0 {
        parts.push(zeros(start)?);
    }
    parts.push(g.clone());
    let after = shape[dim] - start - len;
    if after > 0 {
        parts.push(zeros(after)?);
    }
    let refs: Vec<&Tensor> = parts.iter().collect();
    Tensor::cat(&refs, dim as isize)
}

impl Var {
    /// The same elements with another shape (a view when the strides allow, else a copy).
    pub fn reshape(&self, shape: &[usize]) -> Result<Var> {
        let out = self.tensor().reshape(shape)?;
        let in_shape = self.shape().to_vec();
        Ok(record("reshape", out, &[self], move |g, _| Ok(vec![Some(g.reshape(&in_shape)?)])))
    }

    /// [`Var::reshape`] where one dimension may be `-1`.
    pub fn reshape_infer(&self, shape: &[isize]) -> Result<Var> {
        let out = self.tensor().reshape_infer(shape)?;
        let in_shape = self.shape().to_vec();
        Ok(record("reshape", out, &[self], move |g, _| Ok(vec![Some(g.reshape(&in_shape)?)])))
    }

    /// Like [`Var::reshape`] but never copies.
    pub fn view(&self, shape: &[usize]) -> Result<Var> {
        let out = self.tensor().view(shape)?;
        let in_shape = self.shape().to_vec();
        Ok(record("view", out, &[self], move |g, _| Ok(vec![Some(g.reshape(&in_shape)?)])))
    }

    /// Merges dimensions `start..=end` into one.
    pub fn flatten(&self, start: isize, end: isize) -> Result<Var> {
        let out = self.tensor().flatten(start, end)?;
        let in_shape = self.shape().to_vec();
        Ok(record("flatten", out, &[self], move |g, _| Ok(vec![Some(g.reshape(&in_shape)?)])))
    }

    /// Swaps two dimensions (a view).
    pub fn transpose(&self, d0: isize, d1: isize) -> Result<Var> {
        let out = self.tensor().transpose(d0, d1)?;
        Ok(record("transpose", out, &[self], move |g, _| Ok(vec![Some(g.transpose(d0, d1)?)])))
    }

    /// The transpose of a matrix (the last two dimensions swapped).
    pub fn t(&self) -> Result<Var> {
        let out = self.tensor().t()?;
        Ok(record("t", out, &[self], move |g, _| Ok(vec![Some(g.t()?)])))
    }

    /// Reorders dimensions: output dimension `i` is input dimension `dims[i]` (a view).
    pub fn permute(&self, dims: &[usize]) -> Result<Var> {
        let out = self.tensor().permute(dims)?;
        let mut inverse = vec![0; dims.len()];
        for (i, &d) in dims.iter().enumerate() {
            inverse[d] = i;
        }
        Ok(record("permute", out, &[self], move |g, _| Ok(vec![Some(g.permute(&inverse)?)])))
    }

    /// `len` elements of dimension `dim` from `start` (a view).
    pub fn narrow(&self, dim: isize, start: usize, len: usize) -> Result<Var> {
        let out = self.tensor().narrow(dim, start, len)?;
        let shape = self.shape().to_vec();
        let d = resolve_dim("narrow", dim, shape.len())?;
        Ok(record("narrow", out, &[self], move |g, _| Ok(vec![Some(narrow_backward(g, &shape, d, start)?)])))
    }

    /// Elements `start..end` of dimension `dim` (a view).
    pub fn slice(&self, dim: isize, start: usize, end: usize) -> Result<Var> {
        let out = self.tensor().slice(dim, start, end)?;
        let shape = self.shape().to_vec();
        let d = resolve_dim("slice", dim, shape.len())?;
        Ok(record("slice", out, &[self], move |g, _| Ok(vec![Some(narrow_backward(g, &shape, d, start)?)])))
    }

    /// Index `index` of dimension `dim`, dropping that dimension (a view).
    pub fn select(&self, dim: isize, index: usize) -> Result<Var> {
        let out = self.tensor().select(dim, index)?;
        let shape = self.shape().to_vec();
        let d = resolve_dim("select", dim, shape.len())?;
        Ok(record("select", out, &[self], move |g, _| {
            Ok(vec![Some(narrow_backward(&g.unsqueeze(d as isize)?, &shape, d, index)?)])
        }))
    }

    /// Inserts a dimension of size 1 at `dim`.
    pub fn unsqueeze(&self, dim: isize) -> Result<Var> {
        let out = self.tensor().unsqueeze(dim)?;
        let in_shape = self.shape().to_vec();
        Ok(record("unsqueeze", out, &[self], move |g, _| Ok(vec![Some(g.reshape(&in_shape)?)])))
    }

    /// Removes dimension `dim` (which must have size 1).
    pub fn squeeze(&self, dim: isize) -> Result<Var> {
        let out = self.tensor().squeeze(dim)?;
        let in_shape = self.shape().to_vec();
        Ok(record("squeeze", out, &[self], move |g, _| Ok(vec![Some(g.reshape(&in_shape)?)])))
    }

    /// Removes every dimension of size 1.
    pub fn squeeze_all(&self) -> Result<Var> {
        let out = self.tensor().squeeze_all()?;
        let in_shape = self.shape().to_vec();
        Ok(record("squeeze_all", out, &[self], move |g, _| Ok(vec![Some(g.reshape(&in_shape)?)])))
    }

    /// The value on another device; the gradient goes back to the input's device.
    pub fn to_device(&self, device: engine::Device) -> Result<Var> {
        let out = self.tensor().to_device(device)?;
        let from = self.tensor().device();
        Ok(record("to_device", out, &[self], move |g, _| Ok(vec![Some(g.to_device(from)?)])))
    }

    /// Broadcasts to `shape` (a stride-0 view); the gradient is summed back.
    pub fn broadcast_to(&self, shape: &[usize]) -> Result<Var> {
        let out = self.tensor().broadcast_to(shape)?;
        let in_shape = self.shape().to_vec();
        Ok(record("broadcast_to", out, &[self], move |g, _| Ok(vec![Some(sum_to_shape(g, &in_shape)?)])))
    }

    /// Expands size-1 dimensions to `shape` (a stride-0 view); the gradient is summed back.
    pub fn expand(&self, shape: &[usize]) -> Result<Var> {
        let out = self.tensor().expand(shape)?;
        let in_shape = self.shape().to_vec();
        Ok(record("expand", out, &[self], move |g, _| Ok(vec![Some(sum_to_shape(g, &in_shape)?)])))
    }

    /// A row-major copy when the value is not already contiguous; the gradient passes through.
    pub fn contiguous(&self) -> Result<Var> {
        let out = self.tensor().contiguous()?;
        Ok(record("contiguous", out, &[self], |g, _| Ok(vec![Some(g.clone())])))
    }

    /// A cast; the gradient is cast back to the input's dtype. Casting to a non-float dtype cuts the graph.
    pub fn to_dtype(&self, dtype: DType) -> Result<Var> {
        let out = self.tensor().to_dtype(dtype)?;
        if !dtype.is_float() {
            return Ok(Var::constant(out));
        }
        let in_dtype = self.dtype();
        Ok(record("to_dtype", out, &[self], move |g, _| Ok(vec![Some(g.to_dtype(in_dtype)?)])))
    }
}
