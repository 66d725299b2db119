//! Reductions over any set of axes: sum, mean, max, min (with `keepdim`), whole-tensor sum and mean,
//! argmax / argmin and top-k.
//!
//! Every reduction is turned into a row reduction: the reduced axes are moved last (a view), the tensor is
//! made contiguous (a copy only if the axes were not already last), and a `kernels::*_rows` kernel reduces
//! each row. Reducing leading axes of a contiguous tensor (the bias gradient `dy.sum(&[0], false)`) uses
//! `kernels::sum_cols` instead, with no copy.
use std::cmp::Ordering;

use super::support::{
    f32_tensor, host_slice, move_dims_last, move_last_to, require_f32, resolve_dim_of, resolve_dims,
    unsupported_device, with_element_type,
};
use crate::dtype::{DType, Element};
use crate::error::{Error, Result};
use crate::layout::fmt_shape;
use crate::{Device, Tensor};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Reduction {
    Sum,
    Mean,
    Max,
    Min,
}

/// The shape left after reducing `dims` (sorted): removed, or kept as 1 with `keepdim`.
fn reduced_shape(shape: &[usize], dims: &[usize], keepdim: bool) -> Vec<usize> {
    let mut out = Vec::with_capacity(shape.len());
    for (d, &n) in shape.iter().enumerate() {
        if !dims.contains(&d) {
            out.push(n);
        } else if keepdim {
            out.push(1);
        }
    }
    out
}

impl Tensor {
    fn reduce(&self, dims: &[isize], keepdim: bool, kind: Reduction, name: &'static str) -> Result<Tensor> {
        require_f32(name, "input", self)?;
        let dims = resolve_dims(name, dims, self.shape())?;
        let out_shape = reduced_shape(self.shape(), &dims, keepdim);
        let cols: usize = dims.iter().map(|&d| self.shape()[d]).product();
        let rows: usize = out_shape.iter().product();
        if cols == 0 && rows > 0 && matches!(kind, Reduction::Max | Reduction::Min) {
            return Err(Error::op(
                name,
                format!("cannot reduce over dimensions {dims:?} of {}: they hold no elements", fmt_shape(self.shape())),
            ));
        }
        match self.device() {
            Device::Cpu => reduce_cpu(self, &dims, kind, name, rows, cols, &out_shape),
            device => Err(unsupported_device(name, device)),
        }
    }

    /// Sum over `dims` (negative counts from the end); `keepdim` keeps them as size 1. An empty `dims`
    /// reduces nothing (a copy), unlike PyTorch where it means "all": use [`Tensor::sum_all`] for that.
    ///
    /// ```
    /// use engine::Tensor;
    /// let t = Tensor::from_vec(vec![1f32, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3])?;
    /// assert_eq!(t.sum(&[0], false)?.to_vec::<f32>()?, vec![5.0, 7.0, 9.0]);
    /// let rows = t.sum(&[-1], true)?;
    /// assert_eq!(rows.shape(), &[2, 1]);
    /// assert_eq!(rows.to_vec::<f32>()?, vec![6.0, 15.0]);
    /// assert!(t.sum(&[2], false).unwrap_err().to_string().contains("sum: dimension 2 is out of range for a tensor [2, 3]"));
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn sum(&self, dims: &[isize], keepdim: bool) -> Result<Tensor> {
        self.reduce(dims, keepdim, Reduction::Sum, "sum")
    }

    /// Mean over `dims` (NaN over an empty dimension, as in PyTorch).
    ///
    /// ```
    /// use engine::Tensor;
    /// let t = Tensor::from_vec(vec![1f32, 2.0, 3.0, 4.0], &[2, 2])?;
    /// assert_eq!(t.mean(&[0, 1], false)?.to_vec::<f32>()?, vec![2.5]);
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn mean(&self, dims: &[isize], keepdim: bool) -> Result<Tensor> {
        self.reduce(dims, keepdim, Reduction::Mean, "mean")
    }

    /// Maximum values over `dims` (an error over an empty dimension). See [`Tensor::argmax`] for indices.
    pub fn max(&self, dims: &[isize], keepdim: bool) -> Result<Tensor> {
        self.reduce(dims, keepdim, Reduction::Max, "max")
    }

    /// Minimum values over `dims` (an error over an empty dimension).
    pub fn min(&self, dims: &[isize], keepdim: bool) -> Result<Tensor> {
        self.reduce(dims, keepdim, Reduction::Min, "min")
    }

    /// Sums `self` down to `shape`, the shape it was broadcast from: the gradient of a broadcasting op
    /// reduced to its operand (leading extra dimensions and dimensions where `shape` has 1 are summed).
    ///
    /// ```
    /// use engine::Tensor;
    /// let grad = Tensor::from_vec(vec![1f32; 2 * 3 * 4], &[2, 3, 4])?;
    /// let bias_grad = grad.sum_to(&[1, 4])?;
    /// assert_eq!(bias_grad.shape(), &[1, 4]);
    /// assert_eq!(bias_grad.to_vec::<f32>()?, vec![6.0; 4]);
    /// assert!(grad.sum_to(&[2, 4]).unwrap_err().to_string().contains("sum_to: [2, 3, 4] was not broadcast from [2, 4]"));
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn sum_to(&self, shape: &[usize]) -> Result<Tensor> {
        const OP: &str = "sum_to";
        let rank = self.rank();
        let fits = shape.len() <= rank
            && shape.iter().enumerate().all(|(i, &n)| n == 1 || n == self.shape()[rank - shape.len() + i]);
        if !fits {
            return Err(Error::op(
                OP,
                format!("{} was not broadcast from {}", fmt_shape(self.shape()), fmt_shape(shape)),
            ));
        }
        let lead = rank - shape.len();
        let dims: Vec<isize> = (0..rank)
            .filter(|&d| d < lead || (shape[d - lead] == 1 && self.shape()[d] != 1))
            .map(|d| d as isize)
            .collect();
        let summed = self.reduce(&dims, true, Reduction::Sum, OP)?;
        // Drop the leading dimensions (now of size 1) that `shape` does not have.
        Tensor::from_vec(summed.to_vec::<f32>()?, shape)
    }

    /// The sum of every element, as a rank-0 tensor.
    ///
    /// ```
    /// use engine::Tensor;
    /// let s = Tensor::from_vec(vec![1f32, 2.0, 3.0], &[3])?.sum_all()?;
    /// assert_eq!(s.shape(), &[] as &[usize]);
    /// assert_eq!(s.item()?, 6.0);
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn sum_all(&self) -> Result<Tensor> {
        let all: Vec<isize> = (0..self.rank() as isize).collect();
        self.reduce(&all, false, Reduction::Sum, "sum_all")
    }

    /// The mean of every element, as a rank-0 tensor.
    pub fn mean_all(&self) -> Result<Tensor> {
        let all: Vec<isize> = (0..self.rank() as isize).collect();
        self.reduce(&all, false, Reduction::Mean, "mean_all")
    }

    /// Index of the largest element along `dim` as I64; ties go to the lowest index. Works on every dtype.
    ///
    /// ```
    /// use engine::{DType, Tensor};
    /// let t = Tensor::from_vec(vec![1f32, 5.0, 5.0, 7.0, 0.0, 7.0], &[2, 3])?;
    /// let i = t.argmax(-1, false)?;
    /// assert_eq!(i.dtype(), DType::I64);
    /// assert_eq!(i.to_vec::<i64>()?, vec![1, 0]);
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn argmax(&self, dim: isize, keepdim: bool) -> Result<Tensor> {
        self.arg_extreme(dim, keepdim, true, "argmax")
    }

    /// Index of the smallest element along `dim` as I64; ties go to the lowest index.
    pub fn argmin(&self, dim: isize, keepdim: bool) -> Result<Tensor> {
        self.arg_extreme(dim, keepdim, false, "argmin")
    }

    fn arg_extreme(&self, dim: isize, keepdim: bool, largest: bool, name: &'static str) -> Result<Tensor> {
        let d = resolve_dim_of(name, dim, self.shape())?;
        let cols = self.shape()[d];
        let out_shape = reduced_shape(self.shape(), &[d], keepdim);
        let rows: usize = out_shape.iter().product();
        if cols == 0 && rows > 0 {
            return Err(Error::op(name, format!("dimension {dim} of {} is empty", fmt_shape(self.shape()))));
        }
        match self.device() {
            Device::Cpu => {
                let moved = move_dims_last(self, &[d])?;
                let x = moved.contiguous()?;
                let indices: Vec<i64> = if largest && self.dtype() == DType::F32 {
                    let mut out = vec![0usize; rows];
                    if rows > 0 {
                        kernels::argmax_rows(host_slice::<f32>(name, &x)?, rows, cols, &mut out)?;
                    }
                    out.into_iter().map(|i| i as i64).collect()
                } else {
                    with_element_type!(
                        self.dtype(),
                        T,
                        arg_extreme_rows::<T>(host_slice::<T>(name, &x)?, cols, largest)
                    )
                };
                Tensor::from_vec(indices, &out_shape)
            }
            device => Err(unsupported_device(name, device)),
        }
    }

    /// The `k` largest elements along `dim`, sorted descending, and their I64 indices; ties go to the lower
    /// index, NaN counts as the largest value. Works on every dtype (values keep the input's dtype).
    ///
    /// ```
    /// use engine::Tensor;
    /// let t = Tensor::from_vec(vec![3f32, 1.0, 3.0, 2.0], &[4])?;
    /// let (values, indices) = t.topk(3, 0)?;
    /// assert_eq!(values.to_vec::<f32>()?, vec![3.0, 3.0, 2.0]);
    /// assert_eq!(indices.to_vec::<i64>()?, vec![0, 2, 3]);
    /// assert!(t.topk(5, 0).unwrap_err().to_string().contains("topk: k = 5 exceeds the size 4 of dimension 0 of [4]"));
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn topk(&self, k: usize, dim: isize) -> Result<(Tensor, Tensor)> {
        const OP: &str = "topk";
        let d = resolve_dim_of(OP, dim, self.shape())?;
        let size = self.shape()[d];
        if k > size {
            return Err(Error::op(
                OP,
                format!("k = {k} exceeds the size {size} of dimension {dim} of {}", fmt_shape(self.shape())),
            ));
        }
        match self.device() {
            Device::Cpu => {
                let moved = move_dims_last(self, &[d])?;
                let x = moved.contiguous()?;
                let mut shape = moved.shape().to_vec();
                *shape.last_mut().expect("topk input has rank >= 1") = k;
                let (values, indices) = with_element_type!(self.dtype(), T, {
                    let (v, i) = topk_rows::<T>(host_slice::<T>(OP, &x)?, size, k);
                    (Tensor::from_vec(v, &shape)?, Tensor::from_vec(i, &shape)?)
                });
                Ok((move_last_to(values, d)?, move_last_to(indices, d)?))
            }
            device => Err(unsupported_device(OP, device)),
        }
    }
}

/// CPU body of sum / mean / max / min once shapes are checked.
fn reduce_cpu(
    t: &Tensor,
    dims: &[usize],
    kind: Reduction,
    name: &'static str,
    rows: usize,
    cols: usize,
    out_shape: &[usize],
) -> Result<Tensor> {
    let mut out = vec![0.0f32; rows];
    if rows == 0 {
        return f32_tensor(out, out_shape);
    }
    if cols == 0 {
        // Only sum and mean get here: 0 and 0/0.
        if kind == Reduction::Mean {
            out.fill(f32::NAN);
        }
        return f32_tensor(out, out_shape);
    }
    let leading = dims.iter().enumerate().all(|(i, &d)| i == d);
    if leading && !dims.is_empty() && t.is_contiguous() && matches!(kind, Reduction::Sum | Reduction::Mean) {
        // [cols, rows] row-major: reduce down the columns without moving anything.
        kernels::sum_cols(host_slice::<f32>(name, t)?, cols, rows, &mut out)?;
        if kind == Reduction::Mean {
            kernels::scale(1.0 / cols as f32, &mut out);
        }
        return f32_tensor(out, out_shape);
    }
    let moved = move_dims_last(t, dims)?;
    let x = moved.contiguous()?;
    let x = host_slice::<f32>(name, &x)?;
    match kind {
        Reduction::Sum => kernels::sum_rows(x, rows, cols, &mut out)?,
        Reduction::Mean => kernels::mean_rows(x, rows, cols, &mut out)?,
        Reduction::Max => kernels::max_rows(x, rows, cols, &mut out)?,
        Reduction::Min => kernels::min_rows(x, rows, cols, &mut out)?,
    }
    f32_tensor(out, out_shape)
}

/// NaN sorts above every number (as in `torch.topk` / `torch.argmax`); other values by `partial_cmp`.
fn compare_nan_largest<T: PartialOrd>(a: &T, b: &T) -> Ordering {
    #[allow(clippy::eq_op)]
    let (a_nan, b_nan) = (a != a, b != b);
    match (a_nan, b_nan) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => a.partial_cmp(b).unwrap_or(Ordering::Equal),
    }
}

/// Index of the first largest (or smallest) element of each row of a contiguous `[rows, cols]` buffer.
fn arg_extreme_rows<T: Element + PartialOrd>(x: &[T], cols: usize, largest: bool) -> Vec<i64> {
    if cols == 0 {
        return Vec::new();
    }
    x.chunks(cols)
        .map(|row| {
            let mut best = 0;
            for (i, v) in row.iter().enumerate().skip(1) {
                let ord = compare_nan_largest(v, &row[best]);
                let better = if largest { ord == Ordering::Greater } else { ord == Ordering::Less };
                if better {
                    best = i;
                }
            }
            best as i64
        })
        .collect()
}

/// The `k` largest of each row of a contiguous `[rows, cols]` buffer, descending, ties by lower index.
fn topk_rows<T: Element + PartialOrd>(x: &[T], cols: usize, k: usize) -> (Vec<T>, Vec<i64>) {
    let rows = x.len().checked_div(cols).unwrap_or(0);
    let mut values = Vec::with_capacity(rows * k);
    let mut indices = Vec::with_capacity(rows * k);
    let mut order: Vec<usize> = Vec::with_capacity(cols);
    for row in x.chunks(cols.max(1)).take(rows) {
        order.clear();
        order.extend(0..cols);
        // Descending by value, then ascending by index: a total order, so the result is unique.
        let before = |&a: &usize, &b: &usize| compare_nan_largest(&row[b], &row[a]).then(a.cmp(&b));
        if k > 0 && k < cols {
            order.select_nth_unstable_by(k - 1, before);
            order.truncate(k);
        }
        order.sort_unstable_by(before);
        for &i in order.iter().take(k) {
            values.push(row[i]);
            indices.push(i as i64);
        }
    }
    (values, indices)
}
