//! Indexing: embedding, index_select, gather, scatter_add, index_add, masked_fill, where.
//! Index tensors (I64) and masks (U8) are plain tensors: they have no gradient.
//!
//! Rules: a lookup's gradient scatters back (`embedding` -> `embedding_backward`, `index_select` ->
//! `index_add`, `gather` -> `scatter_add`); a scatter's gradient gathers (`scatter_add` src -> `gather`,
//! `index_add` source -> `index_select`); masks route the gradient to the side that was chosen.
use engine::{DType, Result, Tensor};

use super::sum_to_shape;
use crate::var::{record, Var};

impl Var {
    /// Embedding lookup: `self` is the table `[V, D]`, `ids` I64 of any shape; the result is `[..ids, D]`.
    /// The backward accumulates rows of the output gradient into the table rows they came from.
    pub fn embedding(&self, ids: &Tensor) -> Result<Var> {
        let out = self.tensor().embedding(ids)?;
        let ids = ids.clone();
        let vocab = self.shape()[0];
        Ok(record("embedding", out, &[self], move |g, _| Ok(vec![Some(g.embedding_backward(&ids, vocab)?)])))
    }

    /// Picks entries `index` (1-D I64) along `dim`.
    pub fn index_select(&self, dim: isize, index: &Tensor) -> Result<Var> {
        let out = self.tensor().index_select(dim, index)?;
        let (index, shape) = (index.clone(), self.shape().to_vec());
        Ok(record("index_select", out, &[self], move |g, _| {
            Ok(vec![Some(Tensor::zeros(&shape, DType::F32)?.index_add(dim, &index, g)?)])
        }))
    }

    /// `out[i][j] = self[index[i][j]][j]` along `dim` (PyTorch's `gather`).
    pub fn gather(&self, dim: isize, index: &Tensor) -> Result<Var> {
        let out = self.tensor().gather(dim, index)?;
        let (index, shape) = (index.clone(), self.shape().to_vec());
        Ok(record("gather", out, &[self], move |g, _| {
            Ok(vec![Some(Tensor::zeros(&shape, DType::F32)?.scatter_add(dim, &index, g)?)])
        }))
    }

    /// `self` with `src` added at `index` along `dim` (PyTorch's `scatter_add`). Both inputs are
    /// differentiable: `d self = g`, `d src = gather(g, dim, index)`.
    pub fn scatter_add(&self, dim: isize, index: &Tensor, src: &Var) -> Result<Var> {
        let out = self.tensor().scatter_add(dim, index, src.tensor())?;
        let index = index.clone();
        let src_shape = src.shape().to_vec();
        Ok(record("scatter_add", out, &[self, src], move |g, need| {
            let dsrc = if need[1] {
                // gather reads index.shape() elements; src may be larger (only its index-shaped corner is used).
                let picked = g.gather(dim, &index)?;
                Some(if picked.shape() == src_shape.as_slice() { picked } else { pad_to(&picked, &src_shape)? })
            } else {
                None
            };
            Ok(vec![need[0].then(|| g.clone()), dsrc])
        }))
    }

    /// `self` with rows of `source` added at `index` (1-D) along `dim` (PyTorch's `index_add`).
    pub fn index_add(&self, dim: isize, index: &Tensor, source: &Var) -> Result<Var> {
        let out = self.tensor().index_add(dim, index, source.tensor())?;
        let index = index.clone();
        Ok(record("index_add", out, &[self, source], move |g, need| {
            let dsource = if need[1] { Some(g.index_select(dim, &index)?) } else { None };
            Ok(vec![need[0].then(|| g.clone()), dsource])
        }))
    }

    /// `value` where `mask` (U8, broadcast to `self`) is 1; the gradient is 0 there.
    pub fn masked_fill(&self, mask: &Tensor, value: f32) -> Result<Var> {
        let out = self.tensor().masked_fill(mask, value)?;
        let mask = mask.clone();
        Ok(record("masked_fill", out, &[self], move |g, _| Ok(vec![Some(g.masked_fill(&mask, 0.0)?)])))
    }

    /// `a` where `cond` (U8) is 1, else `b`, all three broadcast together.
    pub fn where_cond(cond: &Tensor, a: &Var, b: &Var) -> Result<Var> {
        let out = cond.where_cond(a.tensor(), b.tensor())?;
        let (cond, sa, sb) = (cond.clone(), a.shape().to_vec(), b.shape().to_vec());
        Ok(record("where_cond", out, &[a, b], move |g, need| {
            let zeros = Tensor::zeros(&[], DType::F32)?;
            let da = if need[0] { Some(sum_to_shape(&cond.where_cond(g, &zeros)?, &sa)?) } else { None };
            let db = if need[1] { Some(sum_to_shape(&cond.where_cond(&zeros, g)?, &sb)?) } else { None };
            Ok(vec![da, db])
        }))
    }
}

/// `t` padded with zeros at the end of each dimension up to `shape`.
fn pad_to(t: &Tensor, shape: &[usize]) -> Result<Tensor> {
    let mut cur = t.clone();
    for (d, &want) in shape.iter().enumerate() {
        let have = cur.shape()[d];
        if have < want {
            let mut zshape = cur.shape().to_vec();
            zshape[d] = want - have;
            cur = Tensor::cat(&[&cur, &Tensor::zeros(&zshape, DType::F32)?], d as isize)?;
        }
    }
    Ok(cur)
}
