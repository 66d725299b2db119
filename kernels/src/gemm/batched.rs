//! Batched GEMM: the same product over `batch` matrices at fixed element strides.
//!
//! Many small matrices (attention heads) parallelise best across the batch, each product on one
//! thread; a few large ones parallelise best inside each product.

use rayon::prelude::*;

use super::microkernel::KernelKind;
use super::shape::GemmShape;
use super::{gemm_checked, PARALLEL_MIN_MNK};
use crate::error::{check_len, KernelError, KernelResult};

/// C pointer shared by batch items that write disjoint matrices.
#[derive(Clone, Copy)]
struct CPtr(*mut f32);
// SAFETY: batch items write disjoint C matrices (stride_c >= one matrix's footprint, checked below) and
// the `&mut [f32]` they came from stays borrowed for the whole parallel loop.
unsafe impl Send for CPtr {}
unsafe impl Sync for CPtr {}

impl CPtr {
    /// A method (not `.0`) so closures capture the whole Send+Sync wrapper, not the raw field.
    fn get(self) -> *mut f32 {
        self.0
    }
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm_batched(
    kind: KernelKind,
    batch: usize,
    s: &GemmShape,
    alpha: f32,
    a: &[f32],
    stride_a: usize,
    b: &[f32],
    stride_b: usize,
    beta: f32,
    c: &mut [f32],
    stride_c: usize,
) -> KernelResult<()> {
    const NAME: &str = "sgemm_batched";
    s.check_strides(NAME)?;
    if batch == 0 {
        return Ok(());
    }
    let (a_one, b_one, c_one) = (s.a_len(), s.b_len(), s.c_len());
    if batch > 1 && c_one > 0 && stride_c < c_one {
        return Err(KernelError::new(
            NAME,
            format!("stride_c = {stride_c} makes batch items overlap (one C spans {c_one} elements)"),
        ));
    }
    let span = |one: usize, stride: usize| if one == 0 { 0 } else { (batch - 1) * stride + one };
    check_len(NAME, "a", a.len(), span(a_one, stride_a))?;
    check_len(NAME, "b", b.len(), span(b_one, stride_b))?;
    check_len(NAME, "c", c.len(), span(c_one, stride_c))?;
    if c_one == 0 {
        return Ok(());
    }

    let threads = rayon::current_num_threads();
    let item_mnk = s.m.saturating_mul(s.n).saturating_mul(s.k);
    // Across the batch when there is enough items to share out evenly, or the items are too small to be
    // worth splitting; inside each product otherwise.
    let across = threads > 1 && batch > 1 && (batch >= 2 * threads || item_mnk < PARALLEL_MIN_MNK * threads);
    if across {
        let c_ptr = CPtr(c.as_mut_ptr());
        (0..batch).into_par_iter().try_for_each(|t| {
            let a_t = if a_one == 0 { &a[..0] } else { &a[t * stride_a..][..a_one] };
            let b_t = if b_one == 0 { &b[..0] } else { &b[t * stride_b..][..b_one] };
            // SAFETY: t·stride_c + c_one <= c.len() (checked above), and items' C ranges are disjoint
            // because stride_c >= c_one.
            let c_t = unsafe { std::slice::from_raw_parts_mut(c_ptr.get().add(t * stride_c), c_one) };
            gemm_checked(kind, s, alpha, a_t, b_t, beta, c_t, false, true)
        })
    } else {
        for t in 0..batch {
            let a_t = if a_one == 0 { &a[..0] } else { &a[t * stride_a..][..a_one] };
            let b_t = if b_one == 0 { &b[..0] } else { &b[t * stride_b..][..b_one] };
            let c_t = &mut c[t * stride_c..][..c_one];
            gemm_checked(kind, s, alpha, a_t, b_t, beta, c_t, true, true)?;
        }
        Ok(())
    }
}
