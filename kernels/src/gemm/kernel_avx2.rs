//! AVX2+FMA microkernel: a 6×16 tile of C held in 12 ymm registers.
//!
//! Per k step: two ymm loads of B, six broadcasts of A, twelve FMAs. 12 accumulators + 2 B + 1 broadcast
//! fit the 16 ymm registers and cover the FMA latency on two ports (the layout BLIS/OpenBLAS use on
//! Haswell). Same blocking as the AVX-512 kernel: the kc×6 A micro-panel (9 KiB) stays in L1, the
//! kc×nc B block in L2.

use std::arch::x86_64::*;

use super::microkernel::MicroKernel;
use super::pack::{pack_a, pack_a_rows, pack_b};

const MR: usize = 6;
const NR: usize = 16;
const KC: usize = 384;

pub(crate) const SPEC: MicroKernel = MicroKernel {
    mr: MR,
    nr: NR,
    kc: KC,
    mc: 480,
    nc: 768,
    run: kernel_6x16,
    run_rows: kernel_6x16_rows,
    pack_a: pack_a::<MR>,
    pack_a_rows: pack_a_rows::<MR, KC>,
    pack_b: pack_b::<NR>,
};

/// k-major A panel: A(i, p) at `a[p*MR + i]`.
///
/// # Safety
/// See [`super::microkernel::MicroKernelFn`]; the CPU must support AVX2 and FMA.
unsafe fn kernel_6x16(kc: usize, a: *const f32, b: *const f32, c: *mut f32, ldc: usize, alpha: f32, beta: f32) {
    // SAFETY: forwarded contract; avx2/fma presence is the caller's guarantee.
    unsafe { tile::<1, MR>(kc, a, b, c, ldc, alpha, beta) }
}

/// Row-major A panel: A(i, p) at `a[i*KC + p]`.
///
/// # Safety
/// See [`super::microkernel::MicroKernelFn`]; the CPU must support AVX2 and FMA.
unsafe fn kernel_6x16_rows(kc: usize, a: *const f32, b: *const f32, c: *mut f32, ldc: usize, alpha: f32, beta: f32) {
    // SAFETY: forwarded contract; avx2/fma presence is the caller's guarantee.
    unsafe { tile::<KC, 1>(kc, a, b, c, ldc, alpha, beta) }
}

/// The tile, with A(i, p) at `a[i*A_ROW + p*A_STEP]`.
#[target_feature(enable = "avx2,fma")]
unsafe fn tile<const A_ROW: usize, const A_STEP: usize>(
    kc: usize,
    a: *const f32,
    b: *const f32,
    c: *mut f32,
    ldc: usize,
    alpha: f32,
    beta: f32,
) {
    let mut acc = [[_mm256_setzero_ps(); 2]; MR];
    let mut a = a;
    let mut b = b;
    for _ in 0..kc {
        // SAFETY: the packed panels hold kc steps of MR (A) and NR (B) values; we advance one step each turn.
        unsafe {
            let b0 = _mm256_loadu_ps(b);
            let b1 = _mm256_loadu_ps(b.add(8));
            for (i, row) in acc.iter_mut().enumerate() {
                let ai = _mm256_broadcast_ss(&*a.add(i * A_ROW));
                row[0] = _mm256_fmadd_ps(ai, b0, row[0]);
                row[1] = _mm256_fmadd_ps(ai, b1, row[1]);
            }
            a = a.add(A_STEP);
            b = b.add(NR);
        }
    }
    let alpha_v = _mm256_set1_ps(alpha);
    let beta_v = _mm256_set1_ps(beta);
    for (i, row) in acc.iter().enumerate() {
        // SAFETY: row i of the C tile is NR writable (and, when beta != 0, readable) floats at c + i*ldc.
        unsafe {
            let ci = c.add(i * ldc);
            let (mut r0, mut r1) = (_mm256_mul_ps(alpha_v, row[0]), _mm256_mul_ps(alpha_v, row[1]));
            if beta != 0.0 {
                r0 = _mm256_fmadd_ps(beta_v, _mm256_loadu_ps(ci), r0);
                r1 = _mm256_fmadd_ps(beta_v, _mm256_loadu_ps(ci.add(8)), r1);
            }
            _mm256_storeu_ps(ci, r0);
            _mm256_storeu_ps(ci.add(8), r1);
        }
    }
}
