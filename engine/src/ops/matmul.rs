//! Matrix multiplication with NumPy / PyTorch semantics: 1-D operands (a vector is a row on the left and a
//! column on the right, its dimension removed from the result), 2-D, and batched with the batch dimensions
//! broadcast (`[B, M, K] @ [K, N]`, `[B, 1, M, K] @ [H, K, N]`).
//!
//! No operand is copied when its strides already describe a matrix the GEMM can read: a row-major matrix
//! with a row stride (leading dimension), or a transposed one (`x.t()`, `k.transpose(-2, -1)`), which
//! becomes a transpose flag. Broadcast batch dimensions become batch stride 0. Anything else (a matrix
//! with no unit stride) is made contiguous first.
use super::support::{f32_tensor, require_f32, same_device, unsupported_device};
use crate::error::{Error, Result};
use crate::layout::{broadcast_shapes, fmt_shape};
use crate::{Device, Tensor};

/// How the GEMM reads one operand's last two dimensions.
#[derive(Clone, Copy, Debug)]
pub(super) struct MatrixLayout {
    /// The matrix is stored transposed (column-major in the logical sense).
    pub(super) trans: bool,
    /// Elements between stored rows.
    pub(super) ld: usize,
}

/// The GEMM layout of a `rows`×`cols` matrix with strides `(sr, sc)`, if one exists without copying.
/// Dimensions of size 1 may have any stride; the leading dimension must cover the stored row.
pub(super) fn matrix_layout(rows: usize, cols: usize, sr: usize, sc: usize) -> Option<MatrixLayout> {
    // Row-major: unit stride along columns, rows `sr` apart.
    if (cols <= 1 || sc == 1) && (rows <= 1 || sr >= cols.max(1)) {
        let ld = if rows <= 1 { cols.max(1) } else { sr };
        return Some(MatrixLayout { trans: false, ld });
    }
    // Transposed: stored as a cols×rows row-major matrix with unit stride along the logical rows.
    if (rows <= 1 || sr == 1) && (cols <= 1 || sc >= rows.max(1)) {
        let ld = if cols <= 1 { rows.max(1) } else { sc };
        return Some(MatrixLayout { trans: true, ld });
    }
    None
}

/// An operand ready for the GEMM: possibly a contiguous copy, its matrix layout, and its stride along each
/// dimension of the broadcast batch shape (0 where it is broadcast).
struct Operand {
    tensor: Tensor,
    matrix: MatrixLayout,
    batch_strides: Vec<usize>,
}

fn prepare_operand(t: &Tensor, batch: &[usize]) -> Result<Operand> {
    let r = t.rank();
    let (rows, cols) = (t.shape()[r - 2], t.shape()[r - 1]);
    let (tensor, matrix) = match matrix_layout(rows, cols, t.strides()[r - 2], t.strides()[r - 1]) {
        Some(matrix) => (t.clone(), matrix),
        None => (t.contiguous()?, MatrixLayout { trans: false, ld: cols.max(1) }),
    };
    let own_batch = &tensor.shape()[..r - 2];
    let lead = batch.len() - own_batch.len();
    let batch_strides = (0..batch.len())
        .map(|i| if i < lead || own_batch[i - lead] == 1 { 0 } else { tensor.strides()[i - lead] })
        .collect();
    Ok(Operand { tensor, matrix, batch_strides })
}

impl Tensor {
    /// Matrix product with NumPy / PyTorch semantics (`torch.matmul`), batch dimensions broadcast.
    ///
    /// ```
    /// use engine::Tensor;
    /// let a = Tensor::from_vec(vec![1f32, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3])?;
    /// let b = Tensor::from_vec(vec![1f32, 0.0, 0.0, 1.0, 1.0, 1.0], &[3, 2])?;
    /// assert_eq!(a.matmul(&b)?.to_vec::<f32>()?, vec![4.0, 5.0, 10.0, 11.0]);
    /// // A transposed view goes to the GEMM as a transpose flag, without a copy.
    /// assert_eq!(a.matmul(&a.t()?)?.to_vec::<f32>()?, vec![14.0, 32.0, 32.0, 77.0]);
    /// // Batched [2, 2, 3] @ [3, 2] -> [2, 2, 2]; a vector on the right drops its dimension.
    /// let batched = Tensor::from_vec(vec![1f32; 12], &[2, 2, 3])?;
    /// assert_eq!(batched.matmul(&b)?.shape(), &[2, 2, 2]);
    /// assert_eq!(a.matmul(&Tensor::from_vec(vec![1f32; 3], &[3])?)?.to_vec::<f32>()?, vec![6.0, 15.0]);
    /// let err = a.matmul(&Tensor::from_vec(vec![0f32; 20], &[4, 5])?).unwrap_err();
    /// assert_eq!(err.to_string(), "matmul: lhs [2, 3] and rhs [4, 5] do not agree on the inner dimension");
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn matmul(&self, rhs: &Tensor) -> Result<Tensor> {
        const OP: &str = "matmul";
        require_f32(OP, "lhs", self)?;
        require_f32(OP, "rhs", rhs)?;
        let shapes = || format!("lhs {} and rhs {}", fmt_shape(self.shape()), fmt_shape(rhs.shape()));
        if self.rank() == 0 || rhs.rank() == 0 {
            return Err(Error::op(OP, format!("{}: both operands need at least one dimension", shapes())));
        }
        // A vector is a 1×K row on the left and a K×1 column on the right.
        let a = if self.rank() == 1 { self.unsqueeze(0)? } else { self.clone() };
        let b = if rhs.rank() == 1 { rhs.unsqueeze(-1)? } else { rhs.clone() };
        let (m, k) = (a.shape()[a.rank() - 2], a.shape()[a.rank() - 1]);
        let (k_b, n) = (b.shape()[b.rank() - 2], b.shape()[b.rank() - 1]);
        if k != k_b {
            return Err(Error::op(OP, format!("{} do not agree on the inner dimension", shapes())));
        }
        let batch = broadcast_shapes(OP, &a.shape()[..a.rank() - 2], &b.shape()[..b.rank() - 2])
            .map_err(|_| Error::op(OP, format!("{}: the batch dimensions cannot be broadcast together", shapes())))?;
        let mut out_shape = batch.clone();
        if self.rank() > 1 {
            out_shape.push(m);
        }
        if rhs.rank() > 1 {
            out_shape.push(n);
        }
        match same_device(OP, &[self, rhs])? {
            Device::Cpu => {
                let out = matmul_cpu(&a, &b, &batch, m, n, k)?;
                f32_tensor(out, &out_shape)
            }
            device => Err(unsupported_device(OP, device)),
        }
    }
}

/// Batch dimensions after dropping size-1 ones and merging neighbours that every operand steps through
/// evenly, as (size, stride of a, stride of b, stride of c).
fn coalesce_batch(batch: &[usize], sa: &[usize], sb: &[usize], sc: &[usize]) -> Vec<(usize, usize, usize, usize)> {
    let mut dims: Vec<(usize, usize, usize, usize)> = Vec::new();
    for i in 0..batch.len() {
        let n = batch[i];
        if n == 1 {
            continue;
        }
        if let Some(last) = dims.last_mut() {
            if last.1 == sa[i] * n && last.2 == sb[i] * n && last.3 == sc[i] * n {
                *last = (last.0 * n, sa[i], sb[i], sc[i]);
                continue;
            }
        }
        dims.push((n, sa[i], sb[i], sc[i]));
    }
    dims
}

/// CPU body: `a` is `[..batch_a, m, k]`, `b` is `[..batch_b, k, n]`, the result `[..batch, m, n]` contiguous.
fn matmul_cpu(a: &Tensor, b: &Tensor, batch: &[usize], m: usize, n: usize, k: usize) -> Result<Vec<f32>> {
    const OP: &str = "matmul";
    let batch_count: usize = batch.iter().product();
    if batch_count * m * n == 0 || k == 0 {
        return Ok(vec![0.0f32; batch_count * m * n]); // An empty sum is 0.
    }
    let a = prepare_operand(a, batch)?;
    let b = prepare_operand(b, batch)?;
    let mut c_strides = vec![0; batch.len()];
    let mut step = m * n;
    for i in (0..batch.len()).rev() {
        c_strides[i] = step;
        step *= batch[i];
    }
    let dims = coalesce_batch(batch, &a.batch_strides, &b.batch_strides, &c_strides);
    let a_data = a.tensor.storage_slice::<f32>(OP)?;
    let b_data = b.tensor.storage_slice::<f32>(OP)?;
    let (ma, mb) = (a.matrix, b.matrix);
    let (a_off, b_off) = (a.tensor.offset(), b.tensor.offset());

    // One product whose fresh output the GEMM writes without a zero fill first (sgemm_new).
    let Some(&(inner, inner_sa, inner_sb, inner_sc)) = dims.last() else {
        return Ok(kernels::sgemm_new(ma.trans, mb.trans, m, n, k, 1.0, &a_data[a_off..], ma.ld, &b_data[b_off..], mb.ld)?);
    };
    if dims.len() == 1 && inner_sb == 0 && !ma.trans && inner_sa == m * ma.ld {
        // [B, M, K] @ [K, N]: the batch's rows follow each other at the same stride, so it is one
        // (B·M)×K GEMM, which blocks far better than B small ones.
        return Ok(kernels::sgemm_new(false, mb.trans, inner * m, n, k, 1.0, &a_data[a_off..], ma.ld, &b_data[b_off..], mb.ld)?);
    }
    let mut c = vec![0.0f32; batch_count * m * n];
    // Outer batch dimensions (those that could not be merged) are walked here; the innermost one is a
    // single strided batched GEMM.
    let outer = &dims[..dims.len() - 1];
    let outer_count: usize = outer.iter().map(|d| d.0).product();
    let mut index = vec![0usize; outer.len()];
    for _ in 0..outer_count {
        let (mut oa, mut ob, mut oc) = (a_off, b_off, 0);
        for (i, d) in outer.iter().enumerate() {
            oa += index[i] * d.1;
            ob += index[i] * d.2;
            oc += index[i] * d.3;
        }
        kernels::sgemm_batched(
            inner,
            ma.trans,
            mb.trans,
            m,
            n,
            k,
            1.0,
            &a_data[oa..],
            ma.ld,
            inner_sa,
            &b_data[ob..],
            mb.ld,
            inner_sb,
            0.0,
            &mut c[oc..],
            n,
            inner_sc,
        )?;
        for i in (0..outer.len()).rev() {
            index[i] += 1;
            if index[i] < outer[i].0 {
                break;
            }
            index[i] = 0;
        }
    }
    Ok(c)
}
