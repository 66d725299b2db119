//! Indexing: embedding lookup and its backward, `index_select`, `gather` / `scatter_add`, `index_add`,
//! `masked_fill` and `where_cond`. Indices are I64 and always bounds-checked (an error, never a panic).
//!
//! The ops that only move elements (`index_select`, `gather`, `masked_fill`, `where_cond`) work on every
//! dtype; the ones that add (`scatter_add`, `index_add`, the embedding backward) are f32.
use super::support::{
    f32_tensor, for_each_row, host_slice, outer_size_inner, read_indices, require_dtype, require_f32, resolve_dim_of,
    same_device, unsupported_device, with_element_type, zip_map,
};
use crate::dtype::{DType, Element};
use crate::error::{Error, Result};
use crate::layout::{broadcast_shapes, fmt_shape};
use crate::{Device, Tensor};

/// Calls `f(position, coords)` for every element of a tensor of `shape` in row-major order, `coords`
/// being its multi-index; the caller computes whatever offsets it needs from it.
fn for_each_coord(shape: &[usize], mut f: impl FnMut(usize, &[usize])) {
    let numel: usize = shape.iter().product();
    let mut coords = vec![0usize; shape.len()];
    for pos in 0..numel {
        f(pos, &coords);
        for d in (0..shape.len()).rev() {
            coords[d] += 1;
            if coords[d] < shape[d] {
                break;
            }
            coords[d] = 0;
        }
    }
}

/// `gather` / `scatter_add` share these checks: same rank, and `index.size(d) <= other.size(d)` for every
/// `d` other than `dim` (and for `dim` too against `src` in `scatter_add`).
fn check_index_fits(op: &'static str, index: &Tensor, what: &str, other: &Tensor, skip: Option<usize>) -> Result<()> {
    let fits = index.rank() == other.rank()
        && index.shape().iter().zip(other.shape()).enumerate().all(|(d, (&i, &o))| Some(d) == skip || i <= o);
    if !fits {
        let rule = if skip.is_some() { "in every dimension but dim" } else { "in every dimension" };
        return Err(Error::op(
            op,
            format!(
                "index {} must have the rank of {what} {} and be no larger {rule}",
                fmt_shape(index.shape()),
                fmt_shape(other.shape())
            ),
        ));
    }
    Ok(())
}

impl Tensor {
    /// Embedding lookup: `self` is the table `[V, D]`, `ids` an I64 tensor of any shape; the result is
    /// `[..ids.shape, D]`. Errors on an id outside `0..V`.
    ///
    /// ```
    /// use engine::Tensor;
    /// let table = Tensor::from_vec(vec![0f32, 0.0, 1.0, 1.0, 2.0, 2.0], &[3, 2])?;
    /// let ids = Tensor::from_vec(vec![2i64, 0], &[1, 2])?;
    /// let e = table.embedding(&ids)?;
    /// assert_eq!(e.shape(), &[1, 2, 2]);
    /// assert_eq!(e.to_vec::<f32>()?, vec![2.0, 2.0, 0.0, 0.0]);
    /// assert!(table.embedding(&Tensor::from_vec(vec![3i64], &[1])?).unwrap_err().to_string()
    ///     .contains("embedding: index 3 is out of range 0..3"));
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn embedding(&self, ids: &Tensor) -> Result<Tensor> {
        const OP: &str = "embedding";
        require_f32(OP, "table", self)?;
        if self.rank() != 2 {
            return Err(Error::op(OP, format!("table {} must be [vocab, dim]", fmt_shape(self.shape()))));
        }
        let (vocab, dim) = (self.shape()[0], self.shape()[1]);
        let context = format!("table {}, ids {}", fmt_shape(self.shape()), fmt_shape(ids.shape()));
        let checked = read_indices(OP, ids, vocab, &context)?;
        let mut out_shape = ids.shape().to_vec();
        out_shape.push(dim);
        match same_device(OP, &[self, ids])? {
            Device::Cpu => {
                let ids: Vec<i64> = checked.into_iter().map(|i| i as i64).collect();
                let table = self.contiguous()?;
                let mut out = vec![0.0f32; ids.len() * dim];
                kernels::embedding_forward(host_slice::<f32>(OP, &table)?, vocab, dim, &ids, &mut out)?;
                f32_tensor(out, &out_shape)
            }
            device => Err(unsupported_device(OP, device)),
        }
    }

    /// Embedding backward: `self` is `dout [..ids.shape, D]`; returns `dtable [vocab, D]` with each row of
    /// `dout` added into the row its id names (repeated ids accumulate).
    ///
    /// ```
    /// use engine::Tensor;
    /// let dout = Tensor::from_vec(vec![1f32, 2.0, 3.0, 4.0], &[2, 2])?;
    /// let ids = Tensor::from_vec(vec![1i64, 1], &[2])?;
    /// assert_eq!(dout.embedding_backward(&ids, 3)?.to_vec::<f32>()?, vec![0.0, 0.0, 4.0, 6.0, 0.0, 0.0]);
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn embedding_backward(&self, ids: &Tensor, vocab: usize) -> Result<Tensor> {
        const OP: &str = "embedding_backward";
        require_f32(OP, "dout", self)?;
        let fits = self.rank() == ids.rank() + 1 && &self.shape()[..ids.rank()] == ids.shape();
        if !fits {
            return Err(Error::op(
                OP,
                format!(
                    "dout {} must be ids {} with one more dimension",
                    fmt_shape(self.shape()),
                    fmt_shape(ids.shape())
                ),
            ));
        }
        let dim = self.shape()[self.rank() - 1];
        let context = format!("dout {}, ids {}, vocab {vocab}", fmt_shape(self.shape()), fmt_shape(ids.shape()));
        let checked = read_indices(OP, ids, vocab, &context)?;
        match same_device(OP, &[self, ids])? {
            Device::Cpu => {
                let ids: Vec<i64> = checked.into_iter().map(|i| i as i64).collect();
                let dout = self.contiguous()?;
                let mut dtable = vec![0.0f32; vocab * dim];
                kernels::embedding_backward(host_slice::<f32>(OP, &dout)?, &ids, vocab, dim, &mut dtable)?;
                f32_tensor(dtable, &[vocab, dim])
            }
            device => Err(unsupported_device(OP, device)),
        }
    }

    /// The slices at positions `index` (I64, 1-D) along `dim`, in that order (any dtype).
    ///
    /// ```
    /// use engine::Tensor;
    /// let t = Tensor::from_vec((0..6).map(|i| i as f32).collect(), &[2, 3])?;
    /// let idx = Tensor::from_vec(vec![2i64, 0, 2], &[3])?;
    /// assert_eq!(t.index_select(-1, &idx)?.to_vec::<f32>()?, vec![2.0, 0.0, 2.0, 5.0, 3.0, 5.0]);
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn index_select(&self, dim: isize, index: &Tensor) -> Result<Tensor> {
        const OP: &str = "index_select";
        let d = resolve_dim_of(OP, dim, self.shape())?;
        if index.rank() != 1 {
            return Err(Error::op(
                OP,
                format!("index {} must be 1-D (input {})", fmt_shape(index.shape()), fmt_shape(self.shape())),
            ));
        }
        let context = format!("dimension {dim} of {}", fmt_shape(self.shape()));
        let idx = read_indices(OP, index, self.shape()[d], &context)?;
        let mut out_shape = self.shape().to_vec();
        out_shape[d] = idx.len();
        match same_device(OP, &[self, index])? {
            Device::Cpu => {
                let x = self.contiguous()?;
                let (outer, size, inner) = outer_size_inner(self.shape(), d);
                with_element_type!(self.dtype(), T, {
                    let src = host_slice::<T>(OP, &x)?;
                    let mut out: Vec<T> = Vec::with_capacity(outer * idx.len() * inner);
                    for o in 0..outer {
                        for &i in &idx {
                            let start = (o * size + i) * inner;
                            out.extend_from_slice(&src[start..start + inner]);
                        }
                    }
                    Tensor::from_vec(out, &out_shape)
                })
            }
            device => Err(unsupported_device(OP, device)),
        }
    }

    /// `torch.gather`: `out[i][j][k] = self[index[i][j][k]][j][k]` for `dim = 0` (and likewise for other
    /// dims). `index` is I64 with `self`'s rank and no larger than `self` outside `dim`; the result has
    /// `index`'s shape. Any dtype; `self` may be any view (read through its strides).
    ///
    /// ```
    /// use engine::Tensor;
    /// let logp = Tensor::from_vec(vec![0.1f32, 0.2, 0.3, 0.4, 0.5, 0.6], &[2, 3])?;
    /// let picked = Tensor::from_vec(vec![2i64, 0], &[2, 1])?;
    /// assert_eq!(logp.gather(1, &picked)?.to_vec::<f32>()?, vec![0.3, 0.4]);
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn gather(&self, dim: isize, index: &Tensor) -> Result<Tensor> {
        const OP: &str = "gather";
        let d = resolve_dim_of(OP, dim, self.shape())?;
        check_index_fits(OP, index, "input", self, Some(d))?;
        let context =
            format!("dimension {dim} of input {}, index {}", fmt_shape(self.shape()), fmt_shape(index.shape()));
        let idx = read_indices(OP, index, self.shape()[d], &context)?;
        match same_device(OP, &[self, index])? {
            Device::Cpu => with_element_type!(self.dtype(), T, {
                let src = self.storage_slice::<T>(OP)?;
                let strides = self.strides();
                let mut out: Vec<T> = Vec::with_capacity(idx.len());
                for_each_coord(index.shape(), |pos, coords| {
                    let mut at = self.offset();
                    for (k, (&c, &s)) in coords.iter().zip(strides).enumerate() {
                        at += if k == d { idx[pos] * s } else { c * s };
                    }
                    out.push(src[at]);
                });
                Tensor::from_vec(out, index.shape())
            }),
            device => Err(unsupported_device(OP, device)),
        }
    }

    /// `torch.scatter_add` (out of place): a copy of `self` with `out[index[i][j]][j] += src[i][j]` for
    /// `dim = 0` (likewise for other dims); the backward of [`Tensor::gather`]. `index` is I64 with the rank
    /// of `self` and `src`, no larger than `src` anywhere and than `self` outside `dim`. F32.
    ///
    /// ```
    /// use engine::Tensor;
    /// let zeros = Tensor::from_vec(vec![0f32; 6], &[2, 3])?;
    /// let index = Tensor::from_vec(vec![2i64, 2], &[2, 1])?;
    /// let src = Tensor::from_vec(vec![1f32, 5.0], &[2, 1])?;
    /// assert_eq!(zeros.scatter_add(1, &index, &src)?.to_vec::<f32>()?, vec![0.0, 0.0, 1.0, 0.0, 0.0, 5.0]);
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn scatter_add(&self, dim: isize, index: &Tensor, src: &Tensor) -> Result<Tensor> {
        const OP: &str = "scatter_add";
        require_f32(OP, "input", self)?;
        require_f32(OP, "src", src)?;
        let d = resolve_dim_of(OP, dim, self.shape())?;
        check_index_fits(OP, index, "input", self, Some(d))?;
        check_index_fits(OP, index, "src", src, None)?;
        let context = format!(
            "dimension {dim} of input {}, index {}, src {}",
            fmt_shape(self.shape()),
            fmt_shape(index.shape()),
            fmt_shape(src.shape())
        );
        let idx = read_indices(OP, index, self.shape()[d], &context)?;
        match same_device(OP, &[self, index, src])? {
            Device::Cpu => {
                let mut out = self.to_vec::<f32>()?;
                let out_strides = crate::layout::contiguous_strides(self.shape());
                let src_data = src.storage_slice::<f32>(OP)?;
                for_each_coord(index.shape(), |pos, coords| {
                    let (mut at, mut from) = (0, src.offset());
                    for (k, &c) in coords.iter().enumerate() {
                        at += if k == d { idx[pos] } else { c } * out_strides[k];
                        from += c * src.strides()[k];
                    }
                    out[at] += src_data[from];
                });
                f32_tensor(out, self.shape())
            }
            device => Err(unsupported_device(OP, device)),
        }
    }

    /// `torch.index_add` (out of place): a copy of `self` with slice `i` of `source` along `dim` added
    /// into slice `index[i]` (repeated indices accumulate). `index` is I64 1-D; `source` has `self`'s shape
    /// except `index.len()` along `dim`. F32; the backward of [`Tensor::index_select`].
    ///
    /// ```
    /// use engine::Tensor;
    /// let base = Tensor::from_vec(vec![0f32; 3], &[3])?;
    /// let idx = Tensor::from_vec(vec![0i64, 2, 0], &[3])?;
    /// let source = Tensor::from_vec(vec![1f32, 2.0, 3.0], &[3])?;
    /// assert_eq!(base.index_add(0, &idx, &source)?.to_vec::<f32>()?, vec![4.0, 0.0, 2.0]);
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn index_add(&self, dim: isize, index: &Tensor, source: &Tensor) -> Result<Tensor> {
        const OP: &str = "index_add";
        require_f32(OP, "input", self)?;
        require_f32(OP, "source", source)?;
        let d = resolve_dim_of(OP, dim, self.shape())?;
        let mut expected = self.shape().to_vec();
        expected[d] = index.numel();
        if index.rank() != 1 || source.shape() != expected.as_slice() {
            return Err(Error::op(
                OP,
                format!(
                    "index {} must be 1-D and source {} must be {} (input {} with the index's length along dimension {dim})",
                    fmt_shape(index.shape()),
                    fmt_shape(source.shape()),
                    fmt_shape(&expected),
                    fmt_shape(self.shape())
                ),
            ));
        }
        let context = format!("dimension {dim} of input {}", fmt_shape(self.shape()));
        let idx = read_indices(OP, index, self.shape()[d], &context)?;
        match same_device(OP, &[self, index, source])? {
            Device::Cpu => {
                let mut out = self.to_vec::<f32>()?;
                let source = source.contiguous()?;
                let src = host_slice::<f32>(OP, &source)?;
                let (outer, size, inner) = outer_size_inner(self.shape(), d);
                for o in 0..outer {
                    for (j, &i) in idx.iter().enumerate() {
                        let to = (o * size + i) * inner;
                        let from = (o * idx.len() + j) * inner;
                        kernels::axpy(1.0, &src[from..from + inner], &mut out[to..to + inner])?;
                    }
                }
                f32_tensor(out, self.shape())
            }
            device => Err(unsupported_device(OP, device)),
        }
    }

    /// A copy of `self` with `value` wherever the U8 `mask` (broadcast to `self`'s shape) is nonzero. Any
    /// dtype (`value` is converted to it).
    ///
    /// ```
    /// use engine::Tensor;
    /// let scores = Tensor::from_vec(vec![1f32, 2.0, 3.0, 4.0], &[2, 2])?;
    /// let causal = Tensor::from_vec(vec![0u8, 1, 0, 0], &[2, 2])?;
    /// let masked = scores.masked_fill(&causal, f32::NEG_INFINITY)?;
    /// assert_eq!(masked.to_vec::<f32>()?, vec![1.0, f32::NEG_INFINITY, 3.0, 4.0]);
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn masked_fill(&self, mask: &Tensor, value: f32) -> Result<Tensor> {
        const OP: &str = "masked_fill";
        require_dtype(OP, "mask", mask, DType::U8)?;
        let mask_layout = mask.layout().broadcast_to(OP, self.shape()).map_err(|_| {
            Error::op(
                OP,
                format!(
                    "mask {} cannot be broadcast to the input's shape {}",
                    fmt_shape(mask.shape()),
                    fmt_shape(self.shape())
                ),
            )
        })?;
        match same_device(OP, &[self, mask])? {
            Device::Cpu => with_element_type!(self.dtype(), T, {
                let src = self.storage_slice::<T>(OP)?;
                let m = mask.storage_slice::<u8>(OP)?;
                let fill = T::from_f32(value);
                let out = zip_map(src, self.layout(), m, &mask_layout, |x, masked| if masked != 0 { fill } else { x });
                Tensor::from_vec(out, self.shape())
            }),
            device => Err(unsupported_device(OP, device)),
        }
    }

    /// `torch.where(cond, a, b)`: `a` where the U8 `self` is nonzero, else `b`; all three broadcast
    /// together. `a` and `b` share a dtype (any).
    ///
    /// ```
    /// use engine::Tensor;
    /// let cond = Tensor::from_vec(vec![1u8, 0], &[2, 1])?;
    /// let a = Tensor::from_vec(vec![1f32, 2.0, 3.0], &[3])?;
    /// let b = Tensor::from_vec(vec![0f32], &[1])?;
    /// assert_eq!(cond.where_cond(&a, &b)?.to_vec::<f32>()?, vec![1.0, 2.0, 3.0, 0.0, 0.0, 0.0]);
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn where_cond(&self, a: &Tensor, b: &Tensor) -> Result<Tensor> {
        const OP: &str = "where_cond";
        require_dtype(OP, "cond", self, DType::U8)?;
        if a.dtype() != b.dtype() {
            return Err(Error::op(
                OP,
                format!("a {} is {} but b {} is {}", fmt_shape(a.shape()), a.dtype(), fmt_shape(b.shape()), b.dtype()),
            ));
        }
        let shape = broadcast_shapes(OP, self.shape(), a.shape())
            .and_then(|s| broadcast_shapes(OP, &s, b.shape()))
            .map_err(|_| {
                Error::op(
                    OP,
                    format!(
                        "cond {}, a {} and b {} cannot be broadcast together",
                        fmt_shape(self.shape()),
                        fmt_shape(a.shape()),
                        fmt_shape(b.shape())
                    ),
                )
            })?;
        match same_device(OP, &[self, a, b])? {
            Device::Cpu => {
                let (lc, la, lb) = (
                    self.layout().broadcast_to(OP, &shape)?,
                    a.layout().broadcast_to(OP, &shape)?,
                    b.layout().broadcast_to(OP, &shape)?,
                );
                let c = self.storage_slice::<u8>(OP)?;
                with_element_type!(a.dtype(), T, {
                    let (xa, xb) = (a.storage_slice::<T>(OP)?, b.storage_slice::<T>(OP)?);
                    let mut out: Vec<T> = Vec::with_capacity(lc.numel());
                    for_each_row([&lc, &la, &lb], |[bc, ba, bb], [sc, sa, sb], len| {
                        out.extend(
                            (0..len).map(|i| if c[bc + i * sc] != 0 { xa[ba + i * sa] } else { xb[bb + i * sb] }),
                        );
                    });
                    Tensor::from_vec(out, &shape)
                })
            }
            device => Err(unsupported_device(OP, device)),
        }
    }
}
