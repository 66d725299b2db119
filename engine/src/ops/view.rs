//! View ops: reshape, transpose/permute, narrow/slice/select, (un)squeeze, broadcast/expand.
//!
//! Every op here builds a new [`Layout`] over the same storage (`Tensor::with_layout`), so it costs no copy
//! and works on any device. The one exception is [`Tensor::reshape`], which copies into a contiguous tensor
//! when the strides cannot express the new shape (as `torch.reshape` does); [`Tensor::view`] refuses instead.
use crate::error::{Error, Result};
use crate::layout::{broadcast_shapes, contiguous_strides, fmt_shape, resolve_dim, Layout};
use crate::tensor::Tensor;

/// Strides that show a tensor of `old_shape`/`old_strides` as `new_shape` without moving any element, or
/// `None` when no such strides exist (the tensor must be copied first). Both shapes must hold the same number
/// of elements.
///
/// The old dimensions are grouped into "chunks" that are contiguous among themselves; each chunk must be
/// covered exactly by consecutive new dimensions, whose strides are then derived from the chunk's innermost
/// stride. This is the rule PyTorch's `view` follows.
pub fn view_strides(old_shape: &[usize], old_strides: &[usize], new_shape: &[usize]) -> Option<Vec<usize>> {
    let numel: usize = old_shape.iter().product();
    if numel == 0 || old_shape.is_empty() {
        // No element, or one element: any strides read the right thing.
        return Some(contiguous_strides(new_shape));
    }
    let mut new_strides = vec![0usize; new_shape.len()];
    let mut view_d = new_shape.len() as isize - 1;
    let mut chunk_base_stride = *old_strides.last()?;
    let mut tensor_numel = 1usize;
    let mut view_numel = 1usize;
    for tensor_d in (0..old_shape.len()).rev() {
        tensor_numel *= old_shape[tensor_d];
        let chunk_ends = tensor_d == 0
            || (old_shape[tensor_d - 1] != 1 && old_strides[tensor_d - 1] != tensor_numel * chunk_base_stride);
        if chunk_ends {
            while view_d >= 0 && (view_numel < tensor_numel || new_shape[view_d as usize] == 1) {
                new_strides[view_d as usize] = view_numel * chunk_base_stride;
                view_numel *= new_shape[view_d as usize];
                view_d -= 1;
            }
            if view_numel != tensor_numel {
                return None;
            }
            if tensor_d > 0 {
                chunk_base_stride = old_strides[tensor_d - 1];
                tensor_numel = 1;
                view_numel = 1;
            }
        }
    }
    if view_d != -1 {
        return None;
    }
    Some(new_strides)
}

/// The element count of `shape`, or an error naming `op` when it overflows `usize`.
fn checked_numel(op: &'static str, shape: &[usize]) -> Result<usize> {
    shape.iter().try_fold(1usize, |acc, &n| acc.checked_mul(n)).ok_or_else(|| {
        Error::op(op, format!("shape {} has more elements than memory can address", fmt_shape(shape)))
    })
}

fn check_numel(op: &'static str, from: &[usize], to: &[usize]) -> Result<()> {
    let have: usize = from.iter().product();
    let want = checked_numel(op, to)?;
    if have != want {
        return Err(Error::op(
            op,
            format!("cannot view {} as {} ({have} elements against {want})", fmt_shape(from), fmt_shape(to)),
        ));
    }
    Ok(())
}

impl Tensor {
    /// The same elements in row-major order seen with another shape. A view sharing storage when the strides
    /// allow it (always for a contiguous tensor), otherwise a contiguous copy.
    ///
    /// ```
    /// use engine::Tensor;
    /// let t = Tensor::from_vec((0..6).map(|i| i as f32).collect(), &[2, 3])?;
    /// let r = t.reshape(&[3, 2])?;
    /// assert!(r.shares_storage_with(&t));
    /// assert_eq!(r.to_vec::<f32>()?, vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
    /// assert!(t.reshape(&[4, 2]).unwrap_err().to_string().contains("cannot view [2, 3] as [4, 2]"));
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn reshape(&self, shape: &[usize]) -> Result<Tensor> {
        check_numel("reshape", self.shape(), shape)?;
        if let Some(strides) = view_strides(self.shape(), self.strides(), shape) {
            return self.with_layout(Layout::new(shape.to_vec(), strides, self.offset()));
        }
        let copy = self.contiguous()?;
        copy.with_layout(Layout::new(shape.to_vec(), contiguous_strides(shape), copy.offset()))
    }

    /// [`Tensor::reshape`] where one dimension may be `-1`, inferred from the element count.
    ///
    /// ```
    /// use engine::Tensor;
    /// let t = Tensor::from_vec(vec![0f32; 24], &[2, 3, 4])?;
    /// assert_eq!(t.reshape_infer(&[-1, 4])?.shape(), &[6, 4]);
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn reshape_infer(&self, shape: &[isize]) -> Result<Tensor> {
        let shape = infer_shape("reshape_infer", self.shape(), shape)?;
        self.reshape(&shape)
    }

    /// Like [`Tensor::reshape`] but never copies: an error when the strides cannot express `shape`.
    ///
    /// ```
    /// use engine::Tensor;
    /// let t = Tensor::from_vec(vec![0f32; 6], &[2, 3])?;
    /// assert!(t.view(&[6])?.shares_storage_with(&t));
    /// assert!(t.t()?.view(&[6]).is_err()); // a transpose is not row-major
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn view(&self, shape: &[usize]) -> Result<Tensor> {
        check_numel("view", self.shape(), shape)?;
        match view_strides(self.shape(), self.strides(), shape) {
            Some(strides) => self.with_layout(Layout::new(shape.to_vec(), strides, self.offset())),
            None => Err(Error::op(
                "view",
                format!(
                    "cannot view {} with strides {:?} as {} without copying; use reshape or contiguous first",
                    fmt_shape(self.shape()),
                    self.strides(),
                    fmt_shape(shape)
                ),
            )),
        }
    }

    /// Merges dimensions `start..=end` (inclusive, negative counts from the end) into one. A rank-0 tensor
    /// flattens to shape `[1]`.
    ///
    /// ```
    /// use engine::Tensor;
    /// let t = Tensor::from_vec(vec![0f32; 24], &[2, 3, 4])?;
    /// assert_eq!(t.flatten(1, -1)?.shape(), &[2, 12]);
    /// assert_eq!(t.flatten(0, -1)?.shape(), &[24]);
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn flatten(&self, start: isize, end: isize) -> Result<Tensor> {
        if self.rank() == 0 {
            return self.reshape(&[1]);
        }
        let s = resolve_dim("flatten", start, self.rank())?;
        let e = resolve_dim("flatten", end, self.rank())?;
        if s > e {
            return Err(Error::op(
                "flatten",
                format!("start dimension {start} comes after end dimension {end} for shape {}", fmt_shape(self.shape())),
            ));
        }
        let mut shape = self.shape()[..s].to_vec();
        shape.push(self.shape()[s..=e].iter().product());
        shape.extend_from_slice(&self.shape()[e + 1..]);
        self.reshape(&shape)
    }

    /// Swaps two dimensions (a view).
    ///
    /// ```
    /// use engine::Tensor;
    /// let t = Tensor::from_vec(vec![1f32, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3])?;
    /// let tt = t.transpose(0, -1)?;
    /// assert_eq!(tt.shape(), &[3, 2]);
    /// assert_eq!(tt.to_vec::<f32>()?, vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn transpose(&self, d0: isize, d1: isize) -> Result<Tensor> {
        let a = resolve_dim("transpose", d0, self.rank())?;
        let b = resolve_dim("transpose", d1, self.rank())?;
        let mut shape = self.shape().to_vec();
        let mut strides = self.strides().to_vec();
        shape.swap(a, b);
        strides.swap(a, b);
        self.with_layout(Layout::new(shape, strides, self.offset()))
    }

    /// The transpose of a matrix. Rank 0 and 1 tensors are returned as they are (as `torch.t` does);
    /// higher ranks are an error (use [`Tensor::transpose`]).
    ///
    /// ```
    /// use engine::Tensor;
    /// let t = Tensor::from_vec(vec![0f32; 6], &[2, 3])?;
    /// assert_eq!(t.t()?.shape(), &[3, 2]);
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn t(&self) -> Result<Tensor> {
        match self.rank() {
            0 | 1 => Ok(self.clone()),
            2 => self.transpose(0, 1),
            _ => Err(Error::op(
                "t",
                format!("expects a tensor of rank 2 or less, got {}; use transpose", fmt_shape(self.shape())),
            )),
        }
    }

    /// Reorders the dimensions: output dimension `i` is input dimension `dims[i]` (a view).
    ///
    /// ```
    /// use engine::Tensor;
    /// let t = Tensor::from_vec(vec![0f32; 24], &[2, 3, 4])?;
    /// assert_eq!(t.permute(&[2, 0, 1])?.shape(), &[4, 2, 3]);
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn permute(&self, dims: &[usize]) -> Result<Tensor> {
        let rank = self.rank();
        let mut seen = vec![false; rank];
        let valid = dims.len() == rank
            && dims.iter().all(|&d| d < rank && !std::mem::replace(&mut seen[d], true));
        if !valid {
            return Err(Error::op(
                "permute",
                format!("{dims:?} is not a permutation of the {rank} dimensions of {}", fmt_shape(self.shape())),
            ));
        }
        let shape = dims.iter().map(|&d| self.shape()[d]).collect();
        let strides = dims.iter().map(|&d| self.strides()[d]).collect();
        self.with_layout(Layout::new(shape, strides, self.offset()))
    }

    /// Elements `start..start + len` along `dim` (a view).
    ///
    /// ```
    /// use engine::Tensor;
    /// let t = Tensor::from_vec((0..6).map(|i| i as f32).collect(), &[2, 3])?;
    /// assert_eq!(t.narrow(1, 1, 2)?.to_vec::<f32>()?, vec![1.0, 2.0, 4.0, 5.0]);
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn narrow(&self, dim: isize, start: usize, len: usize) -> Result<Tensor> {
        let d = resolve_dim("narrow", dim, self.rank())?;
        let size = self.shape()[d];
        if start.checked_add(len).map_or(true, |end| end > size) {
            return Err(Error::op(
                "narrow",
                format!(
                    "range {start}..{} is out of bounds for dimension {dim} of size {size} in {}",
                    start.saturating_add(len),
                    fmt_shape(self.shape())
                ),
            ));
        }
        let mut shape = self.shape().to_vec();
        shape[d] = len;
        let offset = if len == 0 { self.offset() } else { self.offset() + start * self.strides()[d] };
        self.with_layout(Layout::new(shape, self.strides().to_vec(), offset))
    }

    /// Elements `start..end` along `dim` (a view); `end` is exclusive.
    ///
    /// ```
    /// use engine::Tensor;
    /// let t = Tensor::from_vec((0..5).map(|i| i as f32).collect(), &[5])?;
    /// assert_eq!(t.slice(0, 1, 4)?.to_vec::<f32>()?, vec![1.0, 2.0, 3.0]);
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn slice(&self, dim: isize, start: usize, end: usize) -> Result<Tensor> {
        if end < start {
            return Err(Error::op(
                "slice",
                format!("range {start}..{end} ends before it starts (dimension {dim} of {})", fmt_shape(self.shape())),
            ));
        }
        self.narrow(dim, start, end - start).map_err(|e| rename("slice", e))
    }

    /// The sub-tensor at `index` along `dim`, with that dimension removed (a view).
    ///
    /// ```
    /// use engine::Tensor;
    /// let t = Tensor::from_vec((0..6).map(|i| i as f32).collect(), &[2, 3])?;
    /// let col = t.select(1, 2)?;
    /// assert_eq!(col.shape(), &[2]);
    /// assert_eq!(col.to_vec::<f32>()?, vec![2.0, 5.0]);
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn select(&self, dim: isize, index: usize) -> Result<Tensor> {
        let d = resolve_dim("select", dim, self.rank())?;
        let size = self.shape()[d];
        if index >= size {
            return Err(Error::op(
                "select",
                format!("index {index} is out of bounds for dimension {dim} of size {size} in {}", fmt_shape(self.shape())),
            ));
        }
        let mut shape = self.shape().to_vec();
        let mut strides = self.strides().to_vec();
        let offset = self.offset() + index * strides[d];
        shape.remove(d);
        strides.remove(d);
        self.with_layout(Layout::new(shape, strides, offset))
    }

    /// Inserts a dimension of size 1 at `dim` (`0..=rank`, negative counts from the end: `-1` appends).
    ///
    /// ```
    /// use engine::Tensor;
    /// let t = Tensor::from_vec(vec![0f32; 6], &[2, 3])?;
    /// assert_eq!(t.unsqueeze(0)?.shape(), &[1, 2, 3]);
    /// assert_eq!(t.unsqueeze(-1)?.shape(), &[2, 3, 1]);
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn unsqueeze(&self, dim: isize) -> Result<Tensor> {
        let d = resolve_dim("unsqueeze", dim, self.rank() + 1)?;
        let mut shape = self.shape().to_vec();
        let mut strides = self.strides().to_vec();
        // The stride a contiguous tensor would have there, so contiguous tensors stay contiguous.
        let stride = if d < shape.len() { shape[d] * strides[d] } else { 1 };
        shape.insert(d, 1);
        strides.insert(d, stride);
        self.with_layout(Layout::new(shape, strides, self.offset()))
    }

    /// Removes dimension `dim`, which must have size 1 (an error otherwise, where PyTorch silently does
    /// nothing: a squeeze of a non-1 dimension is almost always a shape bug).
    ///
    /// ```
    /// use engine::Tensor;
    /// let t = Tensor::from_vec(vec![0f32; 6], &[2, 1, 3])?;
    /// assert_eq!(t.squeeze(1)?.shape(), &[2, 3]);
    /// assert!(t.squeeze(0).is_err());
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn squeeze(&self, dim: isize) -> Result<Tensor> {
        let d = resolve_dim("squeeze", dim, self.rank())?;
        if self.shape()[d] != 1 {
            return Err(Error::op(
                "squeeze",
                format!("dimension {dim} of {} has size {}, not 1", fmt_shape(self.shape()), self.shape()[d]),
            ));
        }
        let mut shape = self.shape().to_vec();
        let mut strides = self.strides().to_vec();
        shape.remove(d);
        strides.remove(d);
        self.with_layout(Layout::new(shape, strides, self.offset()))
    }

    /// Removes every dimension of size 1.
    ///
    /// ```
    /// use engine::Tensor;
    /// let t = Tensor::from_vec(vec![0f32; 6], &[1, 2, 1, 3, 1])?;
    /// assert_eq!(t.squeeze_all()?.shape(), &[2, 3]);
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn squeeze_all(&self) -> Result<Tensor> {
        let (shape, strides): (Vec<usize>, Vec<usize>) =
            self.shape().iter().zip(self.strides()).filter(|(&n, _)| n != 1).map(|(&n, &s)| (n, s)).unzip();
        self.with_layout(Layout::new(shape, strides, self.offset()))
    }

    /// Views the tensor as `shape` by NumPy broadcasting: leading dimensions are added and size-1 dimensions
    /// repeat (stride 0), without copying.
    ///
    /// ```
    /// use engine::Tensor;
    /// let row = Tensor::from_vec(vec![1f32, 2.0, 3.0], &[3])?;
    /// let b = row.broadcast_to(&[2, 3])?;
    /// assert_eq!(b.to_vec::<f32>()?, vec![1.0, 2.0, 3.0, 1.0, 2.0, 3.0]);
    /// assert!(row.broadcast_to(&[2, 4]).is_err());
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn broadcast_to(&self, shape: &[usize]) -> Result<Tensor> {
        checked_numel("broadcast_to", shape)?;
        let layout = self.layout().broadcast_to("broadcast_to", shape)?;
        self.with_layout(layout)
    }

    /// `torch.expand`: the same view as [`Tensor::broadcast_to`] (each size must equal the tensor's or
    /// replace a 1; new leading dimensions may be added). Writing through the result is impossible: it
    /// shares storage, and mutation copies first.
    ///
    /// ```
    /// use engine::Tensor;
    /// let col = Tensor::from_vec(vec![1f32, 2.0], &[2, 1])?;
    /// assert_eq!(col.expand(&[2, 3])?.to_vec::<f32>()?, vec![1.0, 1.0, 1.0, 2.0, 2.0, 2.0]);
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn expand(&self, shape: &[usize]) -> Result<Tensor> {
        checked_numel("expand", shape)?;
        let layout = self.layout().broadcast_to("expand", shape)?;
        self.with_layout(layout)
    }

    /// Both tensors broadcast to their common shape (views), or an error naming both shapes.
    ///
    /// ```
    /// use engine::Tensor;
    /// let a = Tensor::from_vec(vec![0f32; 3], &[3])?;
    /// let b = Tensor::from_vec(vec![0f32; 2], &[2, 1])?;
    /// let (a2, b2) = a.broadcast_pair(&b)?;
    /// assert_eq!(a2.shape(), &[2, 3]);
    /// assert_eq!(b2.shape(), &[2, 3]);
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn broadcast_pair(&self, other: &Tensor) -> Result<(Tensor, Tensor)> {
        let shape = broadcast_shapes("broadcast_pair", self.shape(), other.shape())?;
        Ok((self.broadcast_to(&shape)?, other.broadcast_to(&shape)?))
    }
}

/// Resolves a shape with at most one `-1` against `from`'s element count.
fn infer_shape(op: &'static str, from: &[usize], shape: &[isize]) -> Result<Vec<usize>> {
    let numel: usize = from.iter().product();
    let mut inferred = None;
    let mut known = 1usize;
    for (i, &n) in shape.iter().enumerate() {
        match n {
            -1 if inferred.is_none() => inferred = Some(i),
            -1 => return Err(Error::op(op, format!("shape {shape:?} has more than one -1"))),
            n if n < 0 => return Err(Error::op(op, format!("shape {shape:?} has the negative size {n}"))),
            n => {
                known = known
                    .checked_mul(n as usize)
                    .ok_or_else(|| Error::op(op, format!("shape {shape:?} has more elements than memory can address")))?
            }
        }
    }
    let mut out: Vec<usize> = shape.iter().map(|&n| n.max(0) as usize).collect();
    if let Some(i) = inferred {
        if known == 0 || numel % known != 0 {
            return Err(Error::op(
                op,
                format!("cannot view {} ({numel} elements) as {shape:?}", fmt_shape(from)),
            ));
        }
        out[i] = numel / known;
    }
    Ok(out)
}

/// Re-labels an error with the public op's name.
fn rename(op: &'static str, err: Error) -> Error {
    match err {
        Error::Op { message, .. } => Error::op(op, message),
        other => other,
    }
}
