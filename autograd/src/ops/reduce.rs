//! Reductions. The gradient of a reduced value is broadcast back over the reduced dimensions.
//!
//! **Ties in `max`/`min`:** the gradient is split equally among all elements that attain the extremum
//! (PyTorch's `amax` convention). A one-sided choice (first index) is also a valid subgradient, but the
//! even split is symmetric, does not depend on memory order, and is what finite differences of a
//! symmetric perturbation see. Tested explicitly in the test suite.
use engine::{DType, Result, Tensor};

use super::{mask_f32, resolve_dim};
use crate::var::{record, Var};

/// Resolves `dims` against `rank`, sorted and deduplicated.
fn resolve_dims(op: &'static str, dims: &[isize], rank: usize) -> Result<Vec<usize>> {
    let mut out = dims.iter().map(|&d| resolve_dim(op, d, rank)).collect::<Result<Vec<_>>>()?;
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// The output gradient `g` of a reduction over `dims` seen with those dimensions kept as size 1.
fn with_kept_dims(g: &Tensor, in_shape: &[usize], dims: &[usize], keepdim: bool) -> Result<Tensor> {
    if keepdim {
        return Ok(g.clone());
    }
    let kept: Vec<usize> =
        in_shape.iter().enumerate().map(|(d, &s)| if dims.contains(&d) { 1 } else { s }).collect();
    g.reshape(&kept)
}

impl Var {
    /// Sum over `dims` (negative counts from the end); `keepdim` keeps them as size 1.
    pub fn sum(&self, dims: &[isize], keepdim: bool) -> Result<Var> {
        let out = self.tensor().sum(dims, keepdim)?;
        let shape = self.shape().to_vec();
        let dims = resolve_dims("sum", dims, shape.len())?;
        Ok(record("sum", out, &[self], move |g, _| {
            Ok(vec![Some(with_kept_dims(g, &shape, &dims, keepdim)?.broadcast_to(&shape)?)])
        }))
    }

    /// Mean over `dims`.
    pub fn mean(&self, dims: &[isize], keepdim: bool) -> Result<Var> {
        let out = self.tensor().mean(dims, keepdim)?;
        let shape = self.shape().to_vec();
        let dims = resolve_dims("mean", dims, shape.len())?;
        let count: usize = dims.iter().map(|&d| shape[d]).product();
        Ok(record("mean", out, &[self], move |g, _| {
            let g = with_kept_dims(g, &shape, &dims, keepdim)?.div_scalar(count as f32)?;
            Ok(vec![Some(g.broadcast_to(&shape)?)])
        }))
    }

    /// The sum of every element, as a rank-0 value.
    pub fn sum_all(&self) -> Result<Var> {
        let out = self.tensor().sum_all()?;
        let shape = self.shape().to_vec();
        Ok(record("sum_all", out, &[self], move |g, _| Ok(vec![Some(g.reshape(&vec![1; shape.len()])?.broadcast_to(&shape)?)])))
    }

    /// The mean of every element, as a rank-0 value.
    pub fn mean_all(&self) -> Result<Var> {
        let out = self.tensor().mean_all()?;
        let shape = self.shape().to_vec();
        let count = self.numel().max(1) as f32;
        Ok(record("mean_all", out, &[self], move |g, _| {
            Ok(vec![Some(g.div_scalar(count)?.reshape(&vec![1; shape.len()])?.broadcast_to(&shape)?)])
        }))
    }

    /// Maximum over `dims`; ties share the gradient equally (see the module docs).
    pub fn max(&self, dims: &[isize], keepdim: bool) -> Result<Var> {
        let out = self.tensor().max(dims, keepdim)?;
        self.extremum_record("max", out, dims, keepdim)
    }

    /// Minimum over `dims`; ties share the gradient equally.
    pub fn min(&self, dims: &[isize], keepdim: bool) -> Result<Var> {
        let out = self.tensor().min(dims, keepdim)?;
        self.extremum_record("min", out, dims, keepdim)
    }

    fn extremum_record(&self, op: &'static str, out: Tensor, dims: &[isize], keepdim: bool) -> Result<Var> {
        let x = self.tensor().clone();
        let dims_resolved = resolve_dims(op, dims, x.rank())?;
        let dims_isize: Vec<isize> = dims_resolved.iter().map(|&d| d as isize).collect();
        let y = out.clone();
        Ok(record(op, out, &[self], move |g, _| {
            let shape = x.shape().to_vec();
            let y = with_kept_dims(&y, &shape, &dims_resolved, keepdim)?;
            let g = with_kept_dims(g, &shape, &dims_resolved, keepdim)?;
            let hits = mask_f32(&x.eq(&y)?)?; // 1 where the element attains the extremum
            let count = hits.sum(&dims_isize, true)?;
            Ok(vec![Some(hits.mul(&g.div(&count)?)?)])
        }))
    }

    /// The `k` largest values along `dim` (descending) and their I64 indices; the gradient flows to the
    /// selected elements only.
    pub fn topk(&self, k: usize, dim: isize) -> Result<(Var, Tensor)> {
        let (values, indices) = self.tensor().topk(k, dim)?;
        let shape = self.shape().to_vec();
        let idx = indices.clone();
        let var = record("topk", values, &[self], move |g, _| {
            Ok(vec![Some(Tensor::zeros(&shape, DType::F32)?.scatter_add(dim, &idx, g)?)])
        });
        Ok((var, indices))
    }

    /// Index of the largest element along `dim` (I64, not differentiable).
    pub fn argmax(&self, dim: isize, keepdim: bool) -> Result<Tensor> {
        self.tensor().argmax(dim, keepdim)
    }

    /// Index of the smallest element along `dim` (I64, not differentiable).
    pub fn argmin(&self, dim: isize, keepdim: bool) -> Result<Tensor> {
        self.tensor().argmin(dim, keepdim)
    }

    /// `log(sum(exp(self)))` over `dim`, computed stably; its gradient is `softmax(self) * g`.
    pub fn logsumexp(&self, dim: isize, keepdim: bool) -> Result<Var> {
        let x = self.tensor();
        let m = x.max(&[dim], true)?;
        let lse_keep = x.sub(&m)?.exp()?.sum(&[dim], true)?.log()?.add(&m)?;
        let out = if keepdim { lse_keep.clone() } else { lse_keep.squeeze(dim)? };
        let x = x.clone();
        let d = resolve_dim("logsumexp", dim, x.rank())?;
        Ok(record("logsumexp", out, &[self], move |g, _| {
            let g = if keepdim { g.clone() } else { g.unsqueeze(d as isize)? };
            Ok(vec![Some(x.sub(&lse_keep)?.exp()?.mul(&g)?)])
        }))
    }
}
