//! Portable microkernel: a 4×16 tile of C in eight `wide::f32x8` accumulators, for any target.
//!
//! `wide` lowers f32x8 to whatever the compile target has (two SSE registers on baseline x86-64, NEON on
//! aarch64), and `mul_add` to a fused FMA where the target enables it. 4×16 keeps 8 accumulators + 2 B +
//! 1 broadcast within 16 SSE/NEON-pair registers' worth of state.

use wide::f32x8;

use super::microkernel::MicroKernel;
use super::pack::{pack_a, pack_a_rows, pack_b};

const MR: usize = 4;
const NR: usize = 16;
const KC: usize = 384;

pub(crate) const SPEC: MicroKernel = MicroKernel {
    mr: MR,
    nr: NR,
    kc: KC,
    mc: 480,
    nc: 768,
    run: kernel_4x16,
    run_rows: kernel_4x16_rows,
    pack_a: pack_a::<MR>,
    pack_a_rows: pack_a_rows::<MR, KC>,
    pack_b: pack_b::<NR>,
};

/// k-major A panel: A(i, p) at `a[p*MR + i]`.
///
/// # Safety
/// See [`super::microkernel::MicroKernelFn`]; any CPU.
unsafe fn kernel_4x16(kc: usize, a: *const f32, b: *const f32, c: *mut f32, ldc: usize, alpha: f32, beta: f32) {
    // SAFETY: the caller guarantees the k-major A panel holds kc·MR floats.
    let a = unsafe { std::slice::from_raw_parts(a, kc * MR) };
    // SAFETY: forwarded contract.
    unsafe { tile::<1, MR>(kc, a, b, c, ldc, alpha, beta) }
}

/// Row-major A panel: A(i, p) at `a[i*KC + p]`.
///
/// # Safety
/// See [`super::microkernel::MicroKernelFn`]; any CPU.
unsafe fn kernel_4x16_rows(kc: usize, a: *const f32, b: *const f32, c: *mut f32, ldc: usize, alpha: f32, beta: f32) {
    // SAFETY: the caller guarantees the row-major A panel holds (MR-1)·KC + kc floats.
    let a = unsafe { std::slice::from_raw_parts(a, (MR - 1) * KC + kc) };
    // SAFETY: forwarded contract.
    unsafe { tile::<KC, 1>(kc, a, b, c, ldc, alpha, beta) }
}

/// The tile, with A(i, p) at `a[i*A_ROW + p*A_STEP]` (bounds-checked: `a` is a slice).
///
/// # Safety
/// `b` holds kc·NR floats; `c` as in [`super::microkernel::MicroKernelFn`].
unsafe fn tile<const A_ROW: usize, const A_STEP: usize>(
    kc: usize,
    a: &[f32],
    b: *const f32,
    c: *mut f32,
    ldc: usize,
    alpha: f32,
    beta: f32,
) {
    // SAFETY: the caller guarantees the packed B panel holds kc·NR floats.
    let b = unsafe { std::slice::from_raw_parts(b, kc * NR) };
    let mut acc = [[f32x8::ZERO; 2]; MR];
    for (p, bp) in b.chunks_exact(NR).enumerate() {
        let b0 = f32x8::from(<[f32; 8]>::try_from(&bp[..8]).unwrap_or_default());
        let b1 = f32x8::from(<[f32; 8]>::try_from(&bp[8..]).unwrap_or_default());
        for (i, row) in acc.iter_mut().enumerate() {
            let av = f32x8::splat(a[i * A_ROW + p * A_STEP]);
            row[0] = av.mul_add(b0, row[0]);
            row[1] = av.mul_add(b1, row[1]);
        }
    }
    for (i, row) in acc.iter().enumerate() {
        // SAFETY: row i of the C tile is NR writable (and, when beta != 0, readable) floats at c + i*ldc,
        // and nothing else touches them during the call.
        let ci = unsafe { std::slice::from_raw_parts_mut(c.add(i * ldc), NR) };
        for (half, v) in ci.chunks_exact_mut(8).zip(row) {
            let r = v.to_array();
            for (out, &x) in half.iter_mut().zip(&r) {
                *out = if beta == 0.0 { alpha * x } else { alpha * x + beta * *out };
            }
        }
    }
}
