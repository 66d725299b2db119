//! Small helpers shared by the compute ops: dtype and device checks, dimension lists, moving dimensions
//! to the end, and reading a tensor's host data as one contiguous slice.
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::layout::{fmt_shape, resolve_dim, Layout};
use crate::{Device, Tensor};

/// Runs `$body` with `$T` bound to the Rust element type of `$dtype`.
macro_rules! with_element_type {
    ($dtype:expr, $T:ident, $body:expr) => {
        match $dtype {
            $crate::DType::F32 => {
                type $T = f32;
                $body
            }
            $crate::DType::F16 => {
                type $T = half::f16;
                $body
            }
            $crate::DType::BF16 => {
                type $T = half::bf16;
                $body
            }
            $crate::DType::I64 => {
                type $T = i64;
                $body
            }
            $crate::DType::U8 => {
                type $T = u8;
                $body
            }
        }
    };
}
pub(crate) use with_element_type;

/// An error for a tensor whose dtype the op does not compute in.
pub(crate) fn require_dtype(op: &'static str, what: &str, t: &Tensor, dtype: DType) -> Result<()> {
    if t.dtype() == dtype {
        return Ok(());
    }
    let hint = if dtype == DType::F32 && t.dtype().is_float() { "; cast to F32 first" } else { "" };
    Err(Error::op(
        op,
        format!("{what} {} has dtype {} but {} is required{hint}", fmt_shape(t.shape()), t.dtype(), dtype),
    ))
}

/// Compute is f32: every float op checks its operands with this.
pub(crate) fn require_f32(op: &'static str, what: &str, t: &Tensor) -> Result<()> {
    require_dtype(op, what, t, DType::F32)
}

/// All operands of an op must live on the same device.
pub(crate) fn same_device(op: &'static str, tensors: &[&Tensor]) -> Result<Device> {
    let device = tensors[0].device();
    if let Some(other) = tensors.iter().find(|t| t.device() != device) {
        return Err(Error::op(
            op,
            format!(
                "operands live on different devices ({device} for {}, {} for {})",
                fmt_shape(tensors[0].shape()),
                other.device(),
                fmt_shape(other.shape())
            ),
        ));
    }
    Ok(device)
}

/// The error for a device that has no implementation of `op` yet.
pub(crate) fn unsupported_device(op: &'static str, device: Device) -> Error {
    Error::op(op, format!("not implemented on device {device}"))
}

/// Resolves a list of possibly negative dimensions, rejecting repeats. Returned sorted ascending.
pub(crate) fn resolve_dims(op: &'static str, dims: &[isize], shape: &[usize]) -> Result<Vec<usize>> {
    let mut resolved = Vec::with_capacity(dims.len());
    for &d in dims {
        let r = resolve_dim(op, d, shape.len()).map_err(|_| {
            Error::op(
                op,
                format!("dimension {d} is out of range for a tensor {} of rank {}", fmt_shape(shape), shape.len()),
            )
        })?;
        if resolved.contains(&r) {
            return Err(Error::op(op, format!("dimension {d} is repeated in {dims:?} (tensor {})", fmt_shape(shape))));
        }
        resolved.push(r);
    }
    resolved.sort_unstable();
    Ok(resolved)
}

/// Resolves one dimension; the error names the tensor's shape.
pub(crate) fn resolve_dim_of(op: &'static str, dim: isize, shape: &[usize]) -> Result<usize> {
    resolve_dim(op, dim, shape.len()).map_err(|_| {
        Error::op(
            op,
            format!("dimension {dim} is out of range for a tensor {} of rank {}", fmt_shape(shape), shape.len()),
        )
    })
}

/// A view with the listed dimensions moved to the end (in the order given), the others keeping their order.
pub(crate) fn move_dims_last(t: &Tensor, dims: &[usize]) -> Result<Tensor> {
    let mut perm: Vec<usize> = (0..t.rank()).filter(|d| !dims.contains(d)).collect();
    perm.extend_from_slice(dims);
    permute_view(t, &perm)
}

/// A view whose dimension `i` is `t`'s dimension `perm[i]` (no checks: `perm` is built by the caller).
pub(crate) fn permute_view(t: &Tensor, perm: &[usize]) -> Result<Tensor> {
    let shape = perm.iter().map(|&d| t.shape()[d]).collect();
    let strides = perm.iter().map(|&d| t.strides()[d]).collect();
    t.with_layout(Layout::new(shape, strides, t.offset()))
}

/// Moves the last dimension of a contiguous result back to position `dim` and makes it contiguous again
/// (the inverse of computing along `dim` after moving it last).
pub(crate) fn move_last_to(t: Tensor, dim: usize) -> Result<Tensor> {
    let rank = t.rank();
    if dim + 1 == rank {
        return Ok(t);
    }
    let mut perm: Vec<usize> = (0..rank - 1).collect();
    perm.insert(dim, rank - 1);
    permute_view(&t, &perm)?.contiguous()
}

/// The elements of a contiguous host tensor as one slice of `T` (callers make it contiguous first).
pub(crate) fn host_slice<'a, T: crate::Element>(op: &'static str, t: &'a Tensor) -> Result<&'a [T]> {
    if !t.is_contiguous() {
        return Err(Error::op(op, format!("internal: tensor {} is not contiguous", fmt_shape(t.shape()))));
    }
    let all = t.storage_slice::<T>(op)?;
    Ok(&all[t.offset()..t.offset() + t.numel()])
}

/// Sizes before, at and after `dim`: a contiguous tensor is then `[outer, size, inner]`.
pub(crate) fn outer_size_inner(shape: &[usize], dim: usize) -> (usize, usize, usize) {
    let outer = shape[..dim].iter().product();
    let inner = shape[dim + 1..].iter().product();
    (outer, shape[dim], inner)
}

/// Reads an I64 index tensor (any layout, row-major order) as `usize`s in `0..bound`, or an error naming
/// the first index out of range and `context` (the shapes involved).
pub(crate) fn read_indices(op: &'static str, index: &Tensor, bound: usize, context: &str) -> Result<Vec<usize>> {
    require_dtype(op, "index", index, DType::I64)?;
    let values = index.to_vec::<i64>().map_err(|e| retag(op, e))?;
    values
        .into_iter()
        .map(|i| {
            if i < 0 || i as u64 >= bound as u64 {
                Err(Error::op(op, format!("index {i} is out of range 0..{bound} ({context})")))
            } else {
                Ok(i as usize)
            }
        })
        .collect()
}

/// Re-labels an error from a helper with the op that called it.
pub(crate) fn retag(op: &'static str, err: Error) -> Error {
    match err {
        Error::Op { message, .. } => Error::op(op, message),
        other => other,
    }
}

/// A new contiguous f32 tensor.
pub(crate) fn f32_tensor(data: Vec<f32>, shape: &[usize]) -> Result<Tensor> {
    Tensor::from_vec(data, shape)
}

/// Walks `N` layouts of the same logical shape row by row (a row = a run of the last dimension), calling
/// `row(bases, inner_strides, len)` with each layout's storage offset of the row's first element. The
/// odometer runs once per row, not per element, so the inner loop is a plain strided loop.
pub(crate) fn for_each_row<const N: usize>(layouts: [&Layout; N], mut row: impl FnMut([usize; N], [usize; N], usize)) {
    let shape = layouts[0].shape();
    let numel: usize = shape.iter().product();
    if numel == 0 {
        return;
    }
    let rank = shape.len();
    if rank == 0 {
        row(layouts.map(|l| l.offset()), [0; N], 1);
        return;
    }
    let inner = shape[rank - 1];
    let inner_strides = layouts.map(|l| l.strides()[rank - 1]);
    let mut bases = layouts.map(|l| l.offset());
    let mut index = vec![0usize; rank - 1];
    for _ in 0..numel / inner {
        row(bases, inner_strides, inner);
        for d in (0..rank - 1).rev() {
            index[d] += 1;
            for (base, l) in bases.iter_mut().zip(&layouts) {
                *base += l.strides()[d];
            }
            if index[d] < shape[d] {
                break;
            }
            for (base, l) in bases.iter_mut().zip(&layouts) {
                *base -= l.strides()[d] * shape[d];
            }
            index[d] = 0;
        }
    }
}

/// `f(a[i], b[i])` for every element of two layouts of the same logical shape (broadcast views
/// included), in row-major order: a flat zip when both are contiguous, a row walk otherwise.
pub(crate) fn zip_map<A: Copy, B: Copy, R>(
    a: &[A],
    la: &Layout,
    b: &[B],
    lb: &Layout,
    f: impl Fn(A, B) -> R,
) -> Vec<R> {
    debug_assert_eq!(la.shape(), lb.shape());
    let n = la.numel();
    if la.is_contiguous() && lb.is_contiguous() {
        let (sa, sb) = (&a[la.offset()..la.offset() + n], &b[lb.offset()..lb.offset() + n]);
        return sa.iter().zip(sb).map(|(&x, &y)| f(x, y)).collect();
    }
    let mut out = Vec::with_capacity(n);
    for_each_row([la, lb], |[ba, bb], [sa, sb], len| {
        out.extend((0..len).map(|i| f(a[ba + i * sa], b[bb + i * sb])));
    });
    out
}

/// `f(x[i])` for every element of a layout, in row-major order.
pub(crate) fn map_layout<A: Copy, R>(x: &[A], layout: &Layout, f: impl Fn(A) -> R) -> Vec<R> {
    let n = layout.numel();
    if layout.is_contiguous() {
        return x[layout.offset()..layout.offset() + n].iter().map(|&v| f(v)).collect();
    }
    let mut out = Vec::with_capacity(n);
    for_each_row([layout], |[base], [stride], len| out.extend((0..len).map(|i| f(x[base + i * stride]))));
    out
}
