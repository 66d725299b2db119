//! SGEMM: C = alpha·op(A)·op(B) + beta·C on row-major f32 matrices.
//!
//! The fast path is a Goto/BLIS blocked product (`driver`) over packed panels (`pack`) with a
//! register-blocked microkernel chosen once at run time (`microkernel`): AVX-512 12×32
//! (`kernel_avx512`), AVX2+FMA 6×16 (`kernel_avx2`) or portable `wide` 4×16 (`kernel_portable`).
//! Threads split C into one rectangle each on rayon's current pool. Products of at most 4096
//! multiply-adds take a plain loop (`small`); one-row products stream B without packing (`gemv`); below ~96³ they stay on one thread. The oracle
//! [`sgemm_naive`] (`naive`) sits beside them for the tests; `batched` spreads a batch over threads.

mod batched;
mod buffer;
mod driver;
mod gemv;
#[cfg(target_arch = "x86_64")]
mod kernel_avx2;
#[cfg(target_arch = "x86_64")]
mod kernel_avx512;
mod kernel_portable;
mod microkernel;
mod naive;
mod pack;
mod shape;
mod small;

#[doc(hidden)]
pub use microkernel::KernelKind;

use crate::error::{KernelError, KernelResult};
use shape::GemmShape;

/// At or below this many multiply-adds (m·n·k) the plain loop beats packing.
const SMALL_MAX_MNK: usize = 4096;
/// Below this many multiply-adds a product runs on one thread: a rayon fork/join costs microseconds.
pub(crate) const PARALLEL_MIN_MNK: usize = 96 * 96 * 96;

/// C = alpha·op(A)·op(B) + beta·C, row-major.
///
/// op(A) is m×k: A is stored m×k (row stride `lda >= k`) when `!trans_a`, k×m (`lda >= m`) when `trans_a`.
/// Likewise op(B) is k×n: B stored k×n or n×k with row stride `ldb`. C is m×n with `ldc >= n`.
/// `beta == 0` means C is not read (NaNs in C are overwritten). m, n or k may be 0 (k == 0: C = beta·C).
/// Runs on rayon's current pool; use `ThreadPool::install` to pin the thread count.
///
/// ```
/// // [1 2; 3 4] · [5 6; 7 8]
/// let a = [1.0, 2.0, 3.0, 4.0];
/// let b = [5.0, 6.0, 7.0, 8.0];
/// let mut c = [f32::NAN; 4];
/// kernels::sgemm(false, false, 2, 2, 2, 1.0, &a, 2, &b, 2, 0.0, &mut c, 2).unwrap();
/// assert_eq!(c, [19.0, 22.0, 43.0, 50.0]);
/// // A slice too short for the sizes is an error, not a panic.
/// assert!(kernels::sgemm(false, false, 2, 2, 2, 1.0, &a[..3], 2, &b, 2, 0.0, &mut c, 2).is_err());
/// ```
#[allow(clippy::too_many_arguments)]
pub fn sgemm(
    trans_a: bool,
    trans_b: bool,
    m: usize,
    n: usize,
    k: usize,
    alpha: f32,
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    beta: f32,
    c: &mut [f32],
    ldc: usize,
) -> KernelResult<()> {
    let s = GemmShape { trans_a, trans_b, m, n, k, lda, ldb, ldc };
    s.check("sgemm", a.len(), b.len(), c.len())?;
    gemm_checked(KernelKind::best(), &s, alpha, a, b, beta, c, true, true)
}

/// `alpha·op(A)·op(B)` as a new m×n row-major vector: [`sgemm`] with beta = 0 and ldc = n, except that
/// the output is not zero-filled first. A product's output is usually a fresh buffer the blocked path
/// overwrites completely, so filling it with zeros (a full pass of memory writes, ~5% of a GPT training
/// step) is wasted; the small and one-row paths, which accumulate into C, still get zeros.
///
/// ```
/// let a = [1.0, 2.0, 3.0, 4.0];
/// let b = [5.0, 6.0, 7.0, 8.0];
/// assert_eq!(kernels::sgemm_new(false, false, 2, 2, 2, 1.0, &a, 2, &b, 2).unwrap(), vec![19.0, 22.0, 43.0, 50.0]);
/// ```
#[allow(clippy::too_many_arguments)]
pub fn sgemm_new(
    trans_a: bool,
    trans_b: bool,
    m: usize,
    n: usize,
    k: usize,
    alpha: f32,
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
) -> KernelResult<Vec<f32>> {
    let len = m.checked_mul(n).ok_or_else(|| KernelError::new("sgemm", format!("m {m} x n {n} overflows")))?;
    let s = GemmShape { trans_a, trans_b, m, n, k, lda, ldb, ldc: n.max(1) };
    s.check("sgemm", a.len(), b.len(), len)?;
    let kind = KernelKind::best();
    let mnk = m.saturating_mul(n).saturating_mul(k);
    let blocked = len > 0 && k > 0 && alpha != 0.0 && mnk > SMALL_MAX_MNK && !gemv::applies(kind, &s);
    if !blocked {
        let mut c = vec![0.0; len];
        gemm_checked(kind, &s, alpha, a, b, 0.0, &mut c, true, true)?;
        return Ok(c);
    }
    let threads = if mnk >= PARALLEL_MIN_MNK { rayon::current_num_threads() } else { 1 };
    let mut c = Vec::with_capacity(len);
    // SAFETY: the capacity holds m·n = c_len() floats that only this call sees; beta = 0, so the blocked
    // product writes every one before reading it (gemm_blocked_raw's contract), and then they are all
    // initialised, so the length can cover them. A and B were checked above; m, n, k > 0.
    unsafe {
        driver::gemm_blocked_raw(&kind.spec(), &s, alpha, a, b, 0.0, c.as_mut_ptr(), threads);
        c.set_len(len);
    }
    Ok(c)
}

/// [`sgemm`] on the calling thread only: for kernels of this crate that already run one task per
/// thread (the fused attention's heads), where splitting each small product again would only add
/// fork/join overhead.
#[allow(clippy::too_many_arguments)]
pub(crate) fn sgemm_on_this_thread(
    trans_a: bool,
    trans_b: bool,
    m: usize,
    n: usize,
    k: usize,
    alpha: f32,
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    beta: f32,
    c: &mut [f32],
    ldc: usize,
) -> KernelResult<()> {
    let s = GemmShape { trans_a, trans_b, m, n, k, lda, ldb, ldc };
    s.check("sgemm", a.len(), b.len(), c.len())?;
    gemm_checked(KernelKind::best(), &s, alpha, a, b, beta, c, false, true)
}

/// [`sgemm`] over `batch` matrices: item t uses `a[t·stride_a..]`, `b[t·stride_b..]`, `c[t·stride_c..]`.
/// A stride of 0 for A or B uses the same matrix for every item (broadcasting); C items must not overlap.
///
/// ```
/// // Two 1×2 rows of A times one broadcast 2×1 column of B.
/// let a = [1.0, 2.0, 3.0, 4.0];
/// let b = [10.0, 1.0];
/// let mut c = [0.0; 2];
/// kernels::sgemm_batched(2, false, false, 1, 1, 2, 1.0, &a, 2, 2, &b, 1, 0, 0.0, &mut c, 1, 1).unwrap();
/// assert_eq!(c, [12.0, 34.0]);
/// ```
#[allow(clippy::too_many_arguments)]
pub fn sgemm_batched(
    batch: usize,
    trans_a: bool,
    trans_b: bool,
    m: usize,
    n: usize,
    k: usize,
    alpha: f32,
    a: &[f32],
    lda: usize,
    stride_a: usize,
    b: &[f32],
    ldb: usize,
    stride_b: usize,
    beta: f32,
    c: &mut [f32],
    ldc: usize,
    stride_c: usize,
) -> KernelResult<()> {
    let s = GemmShape { trans_a, trans_b, m, n, k, lda, ldb, ldc };
    batched::gemm_batched(KernelKind::best(), batch, &s, alpha, a, stride_a, b, stride_b, beta, c, stride_c)
}

/// The oracle: the same contract as [`sgemm`], computed by a plain triple loop accumulating in f64
/// (so its own error is negligible next to the f32 fast path it checks).
///
/// ```
/// let a = [1.0, 2.0, 3.0, 4.0];
/// let mut c = [1.0; 4];
/// // C = A^T·A + C
/// kernels::sgemm_naive(true, false, 2, 2, 2, 1.0, &a, 2, &a, 2, 1.0, &mut c, 2).unwrap();
/// assert_eq!(c, [11.0, 15.0, 15.0, 21.0]);
/// ```
#[allow(clippy::too_many_arguments)]
pub fn sgemm_naive(
    trans_a: bool,
    trans_b: bool,
    m: usize,
    n: usize,
    k: usize,
    alpha: f32,
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    beta: f32,
    c: &mut [f32],
    ldc: usize,
) -> KernelResult<()> {
    let s = GemmShape { trans_a, trans_b, m, n, k, lda, ldb, ldc };
    s.check("sgemm_naive", a.len(), b.len(), c.len())?;
    naive::naive_checked(&s, alpha, a, b, beta, c);
    Ok(())
}

/// [`sgemm`] with the microkernel forced, always through the blocked path (even for tiny sizes), so the
/// tests and benches can exercise each kernel on one machine. Errors if this CPU cannot run `kind`.
#[doc(hidden)]
#[allow(clippy::too_many_arguments)]
pub fn sgemm_with_kernel(
    kind: KernelKind,
    trans_a: bool,
    trans_b: bool,
    m: usize,
    n: usize,
    k: usize,
    alpha: f32,
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    beta: f32,
    c: &mut [f32],
    ldc: usize,
) -> KernelResult<()> {
    let s = GemmShape { trans_a, trans_b, m, n, k, lda, ldb, ldc };
    s.check("sgemm", a.len(), b.len(), c.len())?;
    gemm_checked(kind, &s, alpha, a, b, beta, c, true, false)
}

/// Runs a checked product: the trivial cases, the small path, or the blocked path with `kind`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm_checked(
    kind: KernelKind,
    s: &GemmShape,
    alpha: f32,
    a: &[f32],
    b: &[f32],
    beta: f32,
    c: &mut [f32],
    allow_parallel: bool,
    allow_small: bool,
) -> KernelResult<()> {
    if !kind.is_supported() {
        return Err(KernelError::new("sgemm", format!("the {kind:?} microkernel is not supported by this CPU")));
    }
    if s.m == 0 || s.n == 0 {
        return Ok(());
    }
    // No product to add: BLAS semantics leave A and B unread.
    if s.k == 0 || alpha == 0.0 {
        small::scale_c(s, beta, c);
        return Ok(());
    }
    let mnk = s.m.saturating_mul(s.n).saturating_mul(s.k);
    if allow_small && mnk <= SMALL_MAX_MNK {
        small::gemm_small(s, alpha, a, b, beta, c);
        return Ok(());
    }
    if gemv::applies(kind, s) {
        gemv::gemv_row(kind, s, alpha, a, b, beta, c, allow_parallel);
        return Ok(());
    }
    let threads = if allow_parallel && mnk >= PARALLEL_MIN_MNK { rayon::current_num_threads() } else { 1 };
    driver::gemm_blocked(&kind.spec(), s, alpha, a, b, beta, c, threads);
    Ok(())
}
