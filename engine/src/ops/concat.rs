//! Joining and splitting along a dimension: `cat`, `stack`, `split`, `chunk`. Any dtype.
//!
//! `cat` and `stack` copy into a new contiguous tensor; `split` and `chunk` return views (as PyTorch
//! does), which cost nothing; call `contiguous()` on a piece that must be contiguous.
use super::support::{
    host_slice, outer_size_inner, resolve_dim_of, same_device, unsupported_device, with_element_type,
};
use crate::dtype::Element;
use crate::error::{Error, Result};
use crate::layout::{fmt_shape, resolve_dim};
use crate::{Device, Tensor};

fn shapes_of(tensors: &[&Tensor]) -> String {
    tensors.iter().map(|t| fmt_shape(t.shape())).collect::<Vec<_>>().join(", ")
}

/// Copies each contiguous input's `[outer, size_i, inner]` blocks into their place in the output.
fn cat_cpu<T: Element>(op: &'static str, parts: &[Tensor], d: usize, out_shape: &[usize]) -> Result<Tensor> {
    let (outer, total, inner) = outer_size_inner(out_shape, d);
    let mut out: Vec<T> = Vec::with_capacity(outer * total * inner);
    let slices: Vec<&[T]> = parts.iter().map(|p| host_slice::<T>(op, p)).collect::<Result<_>>()?;
    for o in 0..outer {
        for (part, slice) in parts.iter().zip(&slices) {
            let block = part.shape()[d] * inner;
            out.extend_from_slice(&slice[o * block..(o + 1) * block]);
        }
    }
    Tensor::from_vec(out, out_shape)
}

impl Tensor {
    /// Concatenates tensors along `dim`; all must share dtype, device, rank and every other dimension.
    ///
    /// ```
    /// use engine::Tensor;
    /// let a = Tensor::from_vec(vec![1f32, 2.0, 3.0, 4.0], &[2, 2])?;
    /// let b = Tensor::from_vec(vec![5f32, 6.0], &[2, 1])?;
    /// let c = Tensor::cat(&[&a, &b], -1)?;
    /// assert_eq!(c.shape(), &[2, 3]);
    /// assert_eq!(c.to_vec::<f32>()?, vec![1.0, 2.0, 5.0, 3.0, 4.0, 6.0]);
    /// assert!(Tensor::cat(&[&a, &b], 0).unwrap_err().to_string()
    ///     .contains("cat: tensors [2, 2], [2, 1] differ outside dimension 0"));
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn cat(tensors: &[&Tensor], dim: isize) -> Result<Tensor> {
        Self::cat_named("cat", tensors, dim)
    }

    fn cat_named(op: &'static str, tensors: &[&Tensor], dim: isize) -> Result<Tensor> {
        let first = tensors.first().ok_or_else(|| Error::op(op, "needs at least one tensor"))?;
        let d = resolve_dim_of(op, dim, first.shape())?;
        let mut out_shape = first.shape().to_vec();
        out_shape[d] = 0;
        for t in tensors {
            if t.dtype() != first.dtype() {
                return Err(Error::op(
                    op,
                    format!("tensors {} mix dtypes {} and {}", shapes_of(tensors), first.dtype(), t.dtype()),
                ));
            }
            let fits = t.rank() == first.rank()
                && t.shape().iter().zip(first.shape()).enumerate().all(|(i, (a, b))| i == d || a == b);
            if !fits {
                return Err(Error::op(op, format!("tensors {} differ outside dimension {dim}", shapes_of(tensors))));
            }
            out_shape[d] += t.shape()[d];
        }
        match same_device(op, tensors)? {
            Device::Cpu => {
                let parts: Vec<Tensor> = tensors.iter().map(|t| t.contiguous()).collect::<Result<_>>()?;
                with_element_type!(first.dtype(), T, cat_cpu::<T>(op, &parts, d, &out_shape))
            }
            device => Err(unsupported_device(op, device)),
        }
    }

    /// Stacks same-shape tensors along a new dimension `dim` (`0..=rank`, negative counts from the end).
    ///
    /// ```
    /// use engine::Tensor;
    /// let a = Tensor::from_vec(vec![1f32, 2.0], &[2])?;
    /// let b = Tensor::from_vec(vec![3f32, 4.0], &[2])?;
    /// assert_eq!(Tensor::stack(&[&a, &b], 0)?.shape(), &[2, 2]);
    /// assert_eq!(Tensor::stack(&[&a, &b], -1)?.to_vec::<f32>()?, vec![1.0, 3.0, 2.0, 4.0]);
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn stack(tensors: &[&Tensor], dim: isize) -> Result<Tensor> {
        const OP: &str = "stack";
        let first = tensors.first().ok_or_else(|| Error::op(OP, "needs at least one tensor"))?;
        if let Some(t) = tensors.iter().find(|t| t.shape() != first.shape()) {
            let _ = t;
            return Err(Error::op(OP, format!("tensors {} must all have the same shape", shapes_of(tensors))));
        }
        let d = resolve_dim(OP, dim, first.rank() + 1).map_err(|_| {
            Error::op(
                OP,
                format!(
                    "dimension {dim} is out of range for stacking tensors {} (valid: -{r1}..{r1})",
                    shapes_of(tensors),
                    r1 = first.rank() + 1
                ),
            )
        })?;
        let unsqueezed: Vec<Tensor> = tensors.iter().map(|t| t.unsqueeze(d as isize)).collect::<Result<_>>()?;
        let refs: Vec<&Tensor> = unsqueezed.iter().collect();
        Self::cat_named(OP, &refs, d as isize)
    }

    /// Splits along `dim` into pieces of the given sizes, which must add up to the dimension's size.
    /// The pieces are views of `self`.
    ///
    /// ```
    /// use engine::Tensor;
    /// let t = Tensor::from_vec((0..10).map(|i| i as f32).collect(), &[5, 2])?;
    /// let parts = t.split(&[2, 3], 0)?;
    /// assert_eq!(parts[1].shape(), &[3, 2]);
    /// let back = Tensor::cat(&parts.iter().collect::<Vec<_>>(), 0)?;
    /// assert_eq!(back.to_vec::<f32>()?, t.to_vec::<f32>()?);
    /// assert!(t.split(&[2, 2], 0).unwrap_err().to_string().contains("split: sizes [2, 2] add up to 4"));
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn split(&self, sizes: &[usize], dim: isize) -> Result<Vec<Tensor>> {
        const OP: &str = "split";
        let d = resolve_dim_of(OP, dim, self.shape())?;
        let total: usize = sizes.iter().sum();
        if total != self.shape()[d] {
            return Err(Error::op(
                OP,
                format!(
                    "sizes {sizes:?} add up to {total}, not the size {} of dimension {dim} of {}",
                    self.shape()[d],
                    fmt_shape(self.shape())
                ),
            ));
        }
        let mut start = 0;
        let mut parts = Vec::with_capacity(sizes.len());
        for &len in sizes {
            parts.push(self.narrow(d as isize, start, len)?);
            start += len;
        }
        Ok(parts)
    }

    /// Splits along `dim` into `n` pieces of `ceil(size / n)` (the last may be smaller, and fewer than `n`
    /// pieces come back when the size is too small, as in `torch.chunk`). The pieces are views.
    ///
    /// ```
    /// use engine::Tensor;
    /// let qkv = Tensor::from_vec(vec![0f32; 2 * 12], &[2, 12])?;
    /// let parts = qkv.chunk(3, -1)?;
    /// assert_eq!(parts.len(), 3);
    /// assert_eq!(parts[2].shape(), &[2, 4]);
    /// assert_eq!(Tensor::from_vec(vec![0f32; 5], &[5])?.chunk(3, 0)?.iter().map(|p| p.shape()[0]).collect::<Vec<_>>(), vec![2, 2, 1]);
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn chunk(&self, n: usize, dim: isize) -> Result<Vec<Tensor>> {
        const OP: &str = "chunk";
        if n == 0 {
            return Err(Error::op(OP, format!("cannot split {} into 0 chunks", fmt_shape(self.shape()))));
        }
        let d = resolve_dim_of(OP, dim, self.shape())?;
        let size = self.shape()[d];
        let step = size.div_ceil(n).max(1);
        let mut sizes = Vec::new();
        let mut start = 0;
        while start < size {
            sizes.push(step.min(size - start));
            start += step;
        }
        if sizes.is_empty() {
            sizes.push(0);
        }
        self.split(&sizes, d as isize)
    }
}
